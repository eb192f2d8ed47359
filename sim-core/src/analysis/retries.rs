//! Timeouts and retries in the analytic view. An attempt of a call under a policy with a
//! timeout τ times out with p = P(T > τ), T its answer time (the callee's wait and holding
//! time, as M/M/c pictures them, and the trips there and back); a timed-out attempt is
//! retried after its backoff, up to r times and as far as the retry budget lets it, and the
//! callee works on every attempt all the same (nothing cancels it). So the callee is called
//! A = Σ_{k≤r} (pq)^k times per call (q: the share of timeouts the budget lets retry), and
//! the caller waits A·E[min(T, τ)] plus the backoffs. p rises with the load A brings: the
//! view iterates A → load → p → A from A = 1, which climbs to the least fixed point, or to
//! saturation when there is none (a retry storm at the offered load).
//!
//! Beside the steady state, the view says when it is only metastable: if a slowdown made
//! every attempt time out, the retries (at most r per call, or the budget's) would offer the
//! callee more than it can do, so the timeouts would go on after their cause ended.

use super::answers::Answer;
use super::order_statistics::{self, Shaped};
use super::{erlang_c, Analysis, Given, NodeAnalysis};
use crate::topology::{Jitter, NodeKind, Topology};

/// Rounds of A → load → p before taking the last (a fixed point where the curve is tangent
/// is approached slowly), noted.
const MAX_ROUNDS: usize = 400;
/// Bisection steps for the load at which the retries' fixed point stops existing (to 2^-16
/// of the bracket).
const SATURATION_STEPS: usize = 16;
/// Rounds of the fixed point a bisection step takes.
const BISECTION_ROUNDS: usize = 60;

/// Per call policy (index in `Topology::call_policies`): what the view takes of its timeouts
/// and retries. Empty: no call is timed.
#[derive(Debug, Clone, Default)]
pub(super) struct Amplification {
    /// Attempts per call.
    attempts: Vec<f64>,
    /// The caller's time on an attempt (its share of the backoffs included) over the
    /// untimed answer's mean.
    time_factor: Vec<f64>,
    /// A node's call that succeeds: its mean latency (earlier attempts and backoffs
    /// included) per attempt (the callee's visits count every attempt) over the untimed
    /// answer's mean. A request one of whose calls fails fails too, so those that complete
    /// saw their calls succeed.
    succeeded_factor: Vec<f64>,
}

impl Amplification {
    pub(super) fn attempts(&self, policy: u32) -> f64 {
        self.attempts.get(policy as usize).copied().unwrap_or(1.0)
    }

    pub(super) fn time_factor(&self, policy: u32) -> f64 {
        self.time_factor.get(policy as usize).copied().unwrap_or(1.0)
    }

    pub(super) fn succeeded_factor(&self, policy: u32) -> f64 {
        self.succeeded_factor.get(policy as usize).copied().unwrap_or(1.0)
    }
}

/// What `analyze_open_at` works out of a call policy's calls: how often they are made (first
/// attempts) and an attempt's mean answer time, untimed (the callee's response and the
/// trips); infinite past saturation.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CallFigures {
    pub calls_per_s: f64,
    pub answer_s: f64,
}

/// A timed call policy in the view.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CallAnalysis {
    /// "caller -> callee", as the report names it (the caller a workload or a node).
    pub name: String,
    /// Calls per second (first attempts).
    pub calls_per_s: f64,
    /// The attempt's timeout, in seconds.
    pub timeout_s: f64,
    /// Share of attempts that time out.
    pub timeout_share: f64,
    /// Attempts per call, retries included.
    pub attempts_per_call: f64,
    /// Whether the retry budget refuses some of the retries the timeouts ask for.
    pub budget_limited: bool,
    /// The busiest node the calls reach first: its utilization if every attempt timed out
    /// and the policy retried all it can (the other callers' load as it is), when that is 1
    /// or more: the steady state is then metastable.
    pub storm_load: Option<f64>,
    /// That node.
    pub storm_node: Option<String>,
}

/// One timed policy's figures at an attempt's answer-time distribution.
struct Timed {
    timeout_share: f64,
    /// Share of timeouts the budget lets retry.
    retried: f64,
    attempts: f64,
    /// Mean time the caller spends on a call: every attempt (each to its answer or its
    /// timeout) and the backoffs between them.
    call_s: f64,
    /// Mean latency of a call that succeeds.
    succeeded_s: f64,
}

/// The view with the timed calls' retries at their fixed point (`analyze_open_at` with the
/// attempts and times each round's view gives), the calls' figures and notes added.
pub(super) fn analyze_open(topology: &Topology, given: &Given) -> Result<Analysis, String> {
    let timed = timed_policies(topology);
    if timed.is_empty() {
        return super::analyze_open_at(topology, given, &Amplification::default()).map(|(view, _)| view);
    }
    let (mut view, figures, converged) = fixed_point(topology, given, &timed, MAX_ROUNDS)?;
    let untimed = super::analyze_open_at(topology, given, &Amplification::default())?.0;
    let saturated = view.response_s.is_none();
    let mut storms = Vec::new();
    for &policy in &timed {
        let edge = &topology.call_policies[policy as usize];
        let call = figures[policy as usize];
        let timed_figures = timed_call(topology, &view, policy, call);
        let storm = storm_load(topology, &view, policy, &timed_figures, call);
        view.calls.push(CallAnalysis {
            name: topology.call_policy_name(policy as usize),
            calls_per_s: call.calls_per_s,
            timeout_s: edge.policy.timeout_ns.unwrap_or(0) as f64 / 1e9,
            timeout_share: timed_figures.timeout_share,
            attempts_per_call: timed_figures.attempts,
            budget_limited: timed_figures.retried < 1.0,
            storm_load: storm.map(|(_, load, _)| load),
            storm_node: storm.map(|(node, ..)| topology.nodes[node].name.clone()),
        });
        storms.push(storm);
        // A workload's clients see a call's latency when it succeeds.
        if edge.caller.is_none() && !saturated {
            let source = edge.source as usize;
            // Its classes' responses were its attempts': each takes the workload's change.
            let change = view.workload_response_s[source].map(|attempt_s| timed_figures.succeeded_s / attempt_s);
            for class in view.class_response_s.iter_mut().filter(|class| class.workload == source) {
                class.response_s = class.response_s.zip(change.filter(|c| c.is_finite())).map(|(s, c)| s * c);
            }
            view.workload_response_s[source] = Some(timed_figures.succeeded_s);
        }
    }
    if !saturated {
        view.response_s = mean_response_s(topology, &view);
    }
    notes(topology, &mut view, &untimed, &timed, &storms, converged);
    Ok(view)
}

/// The policies with a timeout, by index.
fn timed_policies(topology: &Topology) -> Vec<u32> {
    topology.timed_call_policies().map(|policy| policy as u32).collect()
}

/// Moves the view's saturation rate to where the timed calls' retries leave no steady state,
/// for open workloads on fixed instances (a closed workload's users, an autoscaler's count,
/// move with the load in ways the factor does not follow).
pub(super) fn refine_saturation(topology: &Topology, given: &Given, view: &mut Analysis) -> Result<(), String> {
    let timed = timed_policies(topology);
    let fixed = topology
        .nodes
        .iter()
        .all(|node| !matches!(&node.kind, NodeKind::Service(service) if service.autoscaling.is_some()));
    let open =
        topology.sources.iter().all(|source| !matches!(source.arrivals, crate::topology::Arrivals::Closed { .. }));
    if !timed.is_empty() && fixed && open {
        view.saturation_rate_per_s = saturation_rate_per_s(topology, given, &timed, view)?;
    }
    Ok(())
}

/// Rounds of A → load → p from A = 1: the view, each policy's call figures, and whether it
/// settled.
fn fixed_point(
    topology: &Topology,
    given: &Given,
    timed: &[u32],
    rounds: usize,
) -> Result<(Analysis, Vec<CallFigures>, bool), String> {
    let policies = topology.call_policies.len();
    let mut amplification = Amplification {
        attempts: vec![1.0; policies],
        time_factor: vec![1.0; policies],
        succeeded_factor: vec![1.0; policies],
    };
    for _ in 0..rounds {
        let (view, figures) = super::analyze_open_at(topology, given, &amplification)?;
        let mut next = amplification.clone();
        for &policy in timed {
            let call = figures[policy as usize];
            let timed = timed_call(topology, &view, policy, call);
            let i = policy as usize;
            next.attempts[i] = timed.attempts;
            let answered = call.answer_s > 0.0 && call.answer_s.is_finite();
            next.time_factor[i] = if answered { timed.call_s / timed.attempts / call.answer_s } else { 1.0 };
            // (A workload's clients' calls take theirs once settled: `analyze_open`.)
            let by_node = !topology.call_policies[i].caller.is_none();
            next.succeeded_factor[i] = if answered && by_node && timed.succeeded_s.is_finite() {
                timed.succeeded_s / timed.attempts / call.answer_s
            } else {
                1.0
            };
        }
        let settled = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(a, b)| (a - b).abs() <= 1e-10 * a.abs().max(1.0));
        if settled(&next.attempts, &amplification.attempts)
            && settled(&next.time_factor, &amplification.time_factor)
            && settled(&next.succeeded_factor, &amplification.succeeded_factor)
        {
            return Ok((view, figures, true));
        }
        amplification = next;
    }
    let (view, figures) = super::analyze_open_at(topology, given, &amplification)?;
    Ok((view, figures, false))
}

/// A policy's timeouts and retries at the view's answer times.
fn timed_call(topology: &Topology, view: &Analysis, policy: u32, call: CallFigures) -> Timed {
    let spec = topology.call_policies[policy as usize].policy;
    let timeout_s = spec.timeout_ns.unwrap_or(u64::MAX) as f64 / 1e9;
    let retry = spec.retry;
    let retries = retry.map_or(0, |retry| retry.retries);
    let backoff_s = |k: u32| {
        let Some(retry) = retry else { return 0.0 };
        let base = retry.backoff_before_jitter_ns(k) as f64 / 1e9;
        match retry.jitter {
            Jitter::None => base,
            Jitter::Full => base / 2.0,
            Jitter::Equal => 0.75 * base,
        }
    };
    let (p, within_s) = if call.answer_s.is_finite() {
        let answer = AnswerTime::of(topology, view, policy, call.answer_s);
        (answer.tail(timeout_s), answer.mean_within_s(timeout_s))
    } else {
        (1.0, timeout_s)
    };
    let allowed = retry.and_then(|retry| budget_retries_per_call(retry, call.calls_per_s));
    let retries_at = |q: f64| (1..=retries).map(|k| (p * q).powi(k as i32)).sum::<f64>();
    let retried = match allowed {
        Some(allowed) if retries_at(1.0) > allowed => {
            let (mut low, mut high) = (0.0, 1.0);
            for _ in 0..60 {
                let mid = 0.5 * (low + high);
                if retries_at(mid) > allowed {
                    high = mid;
                } else {
                    low = mid;
                }
            }
            low
        }
        _ => 1.0,
    };
    let reach = |k: u32| (p * retried).powi(k as i32);
    let attempts = (0..=retries).map(reach).sum::<f64>();
    let backoffs_s = (1..=retries).map(|k| reach(k) * backoff_s(k)).sum::<f64>();
    // A call that succeeds at attempt k waited out k timeouts and backoffs first.
    let succeeded = (1.0 - p) * attempts;
    let succeeded_s = if succeeded > 0.0 {
        let mut before_s = 0.0;
        let mut waited = 0.0;
        for k in 0..=retries {
            if k > 0 {
                before_s += timeout_s + backoff_s(k);
            }
            waited += reach(k) * (1.0 - p) * before_s;
        }
        waited / succeeded + (within_s - timeout_s * p) / (1.0 - p)
    } else {
        f64::INFINITY
    };
    Timed { timeout_share: p, retried, attempts, call_s: attempts * within_s + backoffs_s, succeeded_s }
}

/// Retries per call a policy's budget allows in the long run at `calls_per_s`: `ratio` per
/// call and `min_per_second` in all (`None` without a budget).
fn budget_retries_per_call(retry: crate::topology::RetryPolicy, calls_per_s: f64) -> Option<f64> {
    let budget = retry.budget?;
    Some(budget.ratio + if calls_per_s > 0.0 { budget.min_per_s / calls_per_s } else { 0.0 })
}

/// An attempt's answer time as the view pictures it: a fixed part (trips, what the callee
/// hands on) and, at a node with workers, its wait (none with probability 1 − C, else
/// exponential: M/M/c's, C Erlang's) and holding time (fitted to its mean and c²), or where
/// a worker is held for one Work step alone, that step's own law after a wait met with the
/// odds that keep its second moment (`order_statistics::Shaped`); a balancer's targets' in
/// their shares; exponential where neither applies.
struct AnswerTime<'t> {
    fixed_s: f64,
    mean_s: f64,
    /// (share, the variable part's law).
    parts: Vec<(f64, PartTime<'t>)>,
}

/// The part of an attempt's answer time past its fixed part, at one node.
enum PartTime<'t> {
    /// P(wait), mean wait of those who wait, holding time.
    Fitted { waits: f64, theta: f64, hold: Answer },
    /// The wait and the work's own law.
    Shaped(Shaped<'t>),
}

impl PartTime<'_> {
    fn mean_s(&self) -> f64 {
        match self {
            PartTime::Fitted { waits, theta, hold } => waits * theta + hold.mean_s,
            PartTime::Shaped(shaped) => shaped.mean_s,
        }
    }

    /// P(part > t), t ≥ 0.
    fn tail(&self, t: f64) -> f64 {
        match self {
            PartTime::Fitted { waits, theta, hold } => {
                (1.0 - waits) * hold.tail(t) + waits * hold.tail_after_wait(*theta, t)
            }
            PartTime::Shaped(shaped) => shaped.tail(t),
        }
    }

    /// E[(part − t)⁺], t ≥ 0.
    fn excess(&self, t: f64) -> f64 {
        match self {
            PartTime::Fitted { waits, theta, hold } => {
                (1.0 - waits) * hold.excess(t) + waits * hold.excess_after_wait(*theta, t)
            }
            PartTime::Shaped(shaped) => shaped.excess(t),
        }
    }
}

impl<'t> AnswerTime<'t> {
    fn of(topology: &'t Topology, view: &Analysis, policy: u32, answer_s: f64) -> AnswerTime<'t> {
        let queue = |node: &NodeAnalysis| -> Option<PartTime<'t>> {
            let (instances, workers) = node.servers?;
            let wait_s = node.wait_s?;
            let offered = node.arrival_rate_per_s / f64::from(instances) * node.holding_s;
            if let Some(paths) = node.work_paths.as_ref() {
                let draws = order_statistics::resolve(topology, paths);
                let work_ns: f64 = draws.iter().map(|(odds, draw)| odds * draw.map_or(0.0, |d| d.mean_s() * 1e9)).sum();
                if work_ns > 0.0 && node.holding_s > 0.0 && wait_s.is_finite() {
                    let scale = node.holding_s / work_ns;
                    let waits = order_statistics::waiting_odds(&draws, scale, workers, offered);
                    let mean_s = wait_s + node.holding_s;
                    return Some(PartTime::Shaped(Shaped::owning(mean_s, draws, scale, wait_s, waits)));
                }
            }
            let waits = if wait_s > 0.0 { erlang_c(workers, offered)?.max(1e-12) } else { 0.0 };
            let hold = Answer { mean_s: node.holding_s, scv: node.holding_scv.unwrap_or(1.0) };
            Some(PartTime::Fitted { waits, theta: if waits > 0.0 { wait_s / waits } else { 0.0 }, hold })
        };
        // (In the shares of those with workers, which the answers come from.)
        let (reached, _) = reached(topology, view, policy);
        let total: f64 = reached.iter().map(|&i| view.nodes[i].arrival_rate_per_s).sum();
        let parts: Option<Vec<(f64, PartTime)>> = (total > 0.0)
            .then(|| {
                (reached.iter())
                    .map(|&i| Some((view.nodes[i].arrival_rate_per_s / total, queue(&view.nodes[i])?)))
                    .collect()
            })
            .flatten();
        let parts = parts.unwrap_or_default();
        let variable_s: f64 = parts.iter().map(|(share, part)| share * part.mean_s()).sum();
        AnswerTime { fixed_s: (answer_s - variable_s).max(0.0), mean_s: answer_s, parts }
    }

    /// P(T > t).
    fn tail(&self, t: f64) -> f64 {
        if self.parts.is_empty() {
            return if self.mean_s > 0.0 { libm::exp(-t / self.mean_s) } else { f64::from(u8::from(t < 0.0)) };
        }
        let t = t - self.fixed_s;
        if t < 0.0 {
            return 1.0;
        }
        self.parts.iter().map(|(share, part)| share * part.tail(t)).sum::<f64>().clamp(0.0, 1.0)
    }

    /// E[min(T, t)] = E[T] − ∫ₜ^∞ P(T > u) du, the integral in closed form: T's fixed part
    /// shifts it, and each part's is its holding time's overshoot of what is left of t,
    /// after a wait or not (`Answer::excess_after_wait`), or its shaped law's, integrated.
    fn mean_within_s(&self, t: f64) -> f64 {
        // Past the timeout's tail the mean is left as it is (its share below 10⁻¹²).
        if self.tail(t) < 1e-12 {
            return self.mean_s;
        }
        let beyond_s = if self.parts.is_empty() {
            self.mean_s * libm::exp(-t / self.mean_s)
        } else {
            let left = t - self.fixed_s;
            self.parts.iter().map(|(share, part)| share * part.excess(left)).sum()
        };
        (self.mean_s - beyond_s).clamp(0.0, t.min(self.mean_s))
    }
}

/// The nodes with workers that a policy's attempts reach first (its callee, or a balancer's
/// targets), and the arrivals per second of all it may reach, those without workers too.
fn reached(topology: &Topology, view: &Analysis, policy: u32) -> (Vec<usize>, f64) {
    let callee = topology.call_policies[policy as usize].callee.index();
    let mut nodes: Vec<usize> = match &topology.nodes[callee].kind {
        NodeKind::LoadBalancer(balancer) => balancer.targets.iter().map(|(target, _)| target.index()).collect(),
        _ => vec![callee],
    };
    nodes.dedup();
    let total_per_s: f64 = nodes.iter().map(|&i| view.nodes[i].arrival_rate_per_s).sum();
    nodes.retain(|&i| view.nodes[i].utilization.is_some() && total_per_s > 0.0);
    (nodes, total_per_s)
}

/// The busiest reached node's utilization if every attempt of this policy's calls timed out
/// and it retried all it may (the other callers' load as it is), when that is 1 or more:
/// (the node, its load, the retries per call it has room for: fewer keep it below 1).
fn storm_load(
    topology: &Topology,
    view: &Analysis,
    policy: u32,
    timed: &Timed,
    call: CallFigures,
) -> Option<(usize, f64, f64)> {
    let spec = topology.call_policies[policy as usize].policy;
    let retry = spec.retry.filter(|retry| retry.retries > 0)?;
    // A breaker sheds the calls once they fail, and a service that drops expired requests
    // does not work on the abandoned attempts: either can end a storm.
    let drops_expired =
        |i: usize| matches!(&topology.nodes[i].kind, NodeKind::Service(service) if service.drop_expired);
    if spec.breaker.is_some() || timed.timeout_share >= 1.0 {
        return None;
    }
    let most = budget_retries_per_call(retry, call.calls_per_s)
        .map_or(f64::from(retry.retries), |allowed| allowed.min(f64::from(retry.retries)));
    let attempts_per_s = call.calls_per_s * timed.attempts;
    let mut worst: Option<(usize, f64, f64)> = None;
    let (reached, total_per_s) = reached(topology, view, policy);
    for i in reached {
        // The attempts' share of its arrivals.
        let share = (attempts_per_s / total_per_s).min(1.0);
        if drops_expired(i) {
            continue;
        }
        let utilization = view.nodes[i].utilization.unwrap_or(0.0);
        let per_call = utilization * share / timed.attempts;
        let storm = utilization * (1.0 - share) + per_call * (1.0 + most);
        // Retries per call that keep it below 1.
        let room = (1.0 - utilization * (1.0 - share)) / per_call - 1.0;
        if storm >= 1.0 && worst.is_none_or(|(_, load, _)| storm > load) {
            worst = Some((i, storm, room));
        }
    }
    worst
}

/// The mean response over the open workloads, each weighted by its rate.
fn mean_response_s(topology: &Topology, view: &Analysis) -> Option<f64> {
    let (mut sum, mut total) = (0.0, 0.0);
    for (source, response) in topology.sources.iter().zip(&view.workload_response_s) {
        let Some(rate) = source.arrivals.mean_rate_per_s() else { continue };
        sum += rate * (*response)?;
        total += rate;
    }
    (total > 0.0).then(|| sum / total)
}

/// What the view says of the timed calls: their timeouts and retries, a storm at the offered
/// load, a metastable steady state and what would end it.
fn notes(
    topology: &Topology,
    view: &mut Analysis,
    untimed: &Analysis,
    timed: &[u32],
    storms: &[Option<(usize, f64, f64)>],
    converged: bool,
) {
    let mut notes = Vec::new();
    if view.response_s.is_none() && untimed.response_s.is_some() {
        let busiest = super::peak::bottleneck_name(untimed).unwrap_or_default();
        let before = untimed.bottleneck.and_then(|i| untimed.nodes[i].utilization).unwrap_or(0.0);
        notes.push(format!(
            "without retries {busiest} would be {before:.3} busy, but the answers pass the timeouts of calls {} often enough that the retries push it past saturation: no steady state (a retry storm). Fewer retries, a retry budget or longer timeouts",
            most_timed_out(&view.calls)
        ));
    }
    for ((&policy, call), storm) in timed.iter().zip(&view.calls).zip(storms) {
        let edge = &topology.call_policies[policy as usize];
        let timeout = crate::units::Duration::from_ns(edge.policy.timeout_ns.unwrap_or(0));
        if view.response_s.is_none() {
            continue;
        }
        // (A storm needs retries.)
        if let (Some((_, _, room)), Some(spec)) = (*storm, edge.policy.retry) {
            let mut fixes = vec![match room.ceil() as i64 - 1 {
                n if n <= 0 => "no retries".to_string(),
                1 => "at most 1 retry".to_string(),
                n => format!("at most {n} retries"),
            }];
            let min_per_s = spec.budget.map_or(crate::topology::DEFAULT_MIN_RETRIES_PER_S, |budget| budget.min_per_s);
            let ratio = room - min_per_s / call.calls_per_s.max(1e-300);
            if ratio > 0.0 {
                fixes.push(format!(
                    "a retry budget with ratio below {} (and min_per_second {})",
                    super::rate_text(ratio),
                    super::rate_text(min_per_s)
                ));
            }
            fixes.push("a circuit breaker".into());
            notes.push(format!(
                "calls {} (timeout {timeout}) would recover from the retry storm the metastable line describes with {}",
                call.name,
                join_or(&fixes)
            ));
        }
    }
    let clustered = timed.iter().zip(&view.calls).any(|(&policy, call)| {
        let retries = topology.call_policies[policy as usize].policy.retry.map_or(0, |retry| retry.retries);
        retries > 0 && call.timeout_share >= 1e-4
    });
    if clustered && view.response_s.is_some() {
        notes.push(
            "timed calls: an attempt's answer time is the callee's wait (M/M/c's) and holding time, each attempt independent of the last; \
             but timeouts cluster (a retry lands in the congestion that timed out the attempt before), so the simulation's timeouts and retries can be several times these"
                .into(),
        );
    }
    if !converged {
        notes.push(
            "the timed calls' retries had not settled after 400 rounds: their figures are the last round's".into(),
        );
    }
    view.notes.extend(notes);
}

/// Most timed calls a note names; past them, their number.
const MOST_NAMED_CALLS: usize = 3;

/// The names of the calls that time out most (all of them when few), in the file's order,
/// and how many others there are: "a -> b, c -> d, e -> f (and 296 others)".
fn most_timed_out(calls: &[CallAnalysis]) -> String {
    let mut chosen: Vec<usize> = (0..calls.len()).collect();
    chosen.sort_by(|&a, &b| calls[b].timeout_share.total_cmp(&calls[a].timeout_share));
    chosen.truncate(MOST_NAMED_CALLS);
    chosen.sort_unstable();
    let names: Vec<&str> = chosen.iter().map(|&i| calls[i].name.as_str()).collect();
    match calls.len() - chosen.len() {
        0 => names.join(", "),
        others => format!("{} (and {others} others)", names.join(", ")),
    }
}

fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{}, or {last}", init.join(", ")),
    }
}

/// The open load at which the retries' fixed point stops existing (their extra load grows
/// with the load, so this is below where the bottleneck's utilization would reach 1 at the
/// current attempts): bisected on the load's factor.
fn saturation_rate_per_s(
    topology: &Topology,
    given: &Given,
    timed: &[u32],
    view: &Analysis,
) -> Result<Option<f64>, String> {
    let Some(linear) = view.saturation_rate_per_s else { return Ok(None) };
    if view.arrival_rate_per_s <= 0.0 {
        return Ok(Some(linear));
    }
    let holds = |factor: f64| -> Result<bool, String> {
        let mut scaled = topology.clone();
        if scaled.scale_open_load(factor).is_err() {
            return Ok(false);
        }
        // Still climbing after the rounds a bisection step takes: at the boundary's edge,
        // taken as holding.
        Ok(fixed_point(&scaled, given, timed, BISECTION_ROUNDS)?.0.response_s.is_some())
    };
    // Below saturation the retries only grow with the load, so the linear rate bounds it
    // above; past it, the offered load does.
    let (mut low, mut high) =
        if view.response_s.is_some() { (1.0, linear / view.arrival_rate_per_s) } else { (0.0, 1.0) };
    if low >= high {
        return Ok(Some(linear));
    }
    for _ in 0..SATURATION_STEPS {
        let mid = 0.5 * (low + high);
        if holds(mid)? {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok(Some(low * view.arrival_rate_per_s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, timeout_share: f64) -> CallAnalysis {
        CallAnalysis {
            name: name.into(),
            calls_per_s: 1.0,
            timeout_s: 0.1,
            timeout_share,
            attempts_per_call: 1.0,
            budget_limited: false,
            storm_load: None,
            storm_node: None,
        }
    }

    /// A note names every call when they are few, else the three that time out most, in the
    /// file's order, and counts the rest.
    #[test]
    fn a_note_names_the_calls_that_time_out_most() {
        let few = [call("a -> b", 0.1), call("b -> c", 0.5)];
        assert_eq!(most_timed_out(&few), "a -> b, b -> c");
        let many =
            [call("a -> b", 0.1), call("b -> c", 0.5), call("c -> d", 0.0), call("d -> e", 0.9), call("e -> f", 0.3)];
        assert_eq!(most_timed_out(&many), "b -> c, d -> e, e -> f (and 2 others)");
    }
}
