//! Capacity search: the largest arrival rate (or the boundary value of any parameter) at
//! which an SLO still holds, by bracketing (doubling or halving from the file's value) and
//! bisection on replicated runs, with the range where the intervals cannot tell.

use crate::metrics::{MetricDef, Slo};
use crate::stats::{summarize, Summary};
use crate::{BatchError, Result};
use serde::Serialize;
use sim_core::params::{get_parameter, set_parameter, split_quantity, ParamValue};
use sim_core::topology::Arrivals;
use sim_core::Topology;

/// Most bisection probes a search makes.
const MAX_PROBES: usize = 40;

/// One evaluated value.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// The parameter's value.
    pub value: f64,
    /// The SLO's metric over the replications.
    pub metric: Option<Summary>,
    /// The SLO on the mean alone.
    pub holds: bool,
    /// On the interval: `true` surely holds, `false` surely fails, `null` cannot tell.
    pub sure: Option<bool>,
    /// Replications that were UNSTABLE (a queue, a consumer group or a node falling behind
    /// without bound): in more than half of them the value fails whatever its metric, since
    /// the system cannot sustain it; in all of them it surely fails.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unstable_runs: u32,
    /// Replications that completed too few requests to estimate the SLO's quantile (fewer
    /// than 10 beyond it: 1000 for a p99): the value has no verdict, and the search goes
    /// no further that way.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub too_few_runs: u32,
}

impl Probe {
    /// Whether the value was judged: some run measured the metric, and every run completed
    /// enough requests to estimate it; or most of its `replications` fell behind, which fails
    /// it whatever its metric (a retry storm may complete nothing at all).
    fn valued(&self, replications: u32) -> bool {
        self.metric.is_some() && self.too_few_runs == 0 || most_fell_behind(self.unstable_runs, replications)
    }
}

/// Whether most of a value's `replications` fell behind (`unstable_runs`): the value cannot
/// be sustained, whatever its metric.
fn most_fell_behind(unstable_runs: u32, replications: u32) -> bool {
    2 * unstable_runs > replications
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// What the replications at one value give: the SLO metric's summary, and how many of the
/// runs were unstable.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evaluation {
    /// The SLO metric over the replications (`None` when no run had a value).
    pub metric: Option<Summary>,
    /// Replications whose report was UNSTABLE.
    pub unstable_runs: u32,
    /// Replications with too few requests to estimate the SLO's quantile
    /// (`MetricDef::sample_count`): the value gets no verdict.
    pub too_few_runs: u32,
}

impl From<Option<Summary>> for Evaluation {
    fn from(metric: Option<Summary>) -> Self {
        Evaluation { metric, unstable_runs: 0, too_few_runs: 0 }
    }
}

/// The metrics a probe reads from each run: the SLO's, and for a latency quantile the count
/// of requests it is estimated from.
pub fn probe_metrics(slo: &Slo) -> Vec<MetricDef> {
    let mut metrics = vec![slo.metric.clone()];
    metrics.extend(slo.metric.sample_count().map(|(count, _)| count));
    metrics
}

/// A probe's evaluation from each run's values of `probe_metrics` and the runs that were
/// UNSTABLE.
pub fn evaluation(slo: &Slo, runs: &[Vec<Option<f64>>], unstable_runs: u32) -> Evaluation {
    let too_few_runs = match slo.metric.sample_count() {
        Some((_, needed)) => {
            runs.iter().filter(|run| run.get(1).copied().flatten().unwrap_or(0.0) < needed as f64).count() as u32
        }
        None => 0,
    };
    Evaluation { metric: summarize(runs.iter().map(|run| run[0])), unstable_runs, too_few_runs }
}

/// Which side of the boundary the SLO holds on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// It holds below the boundary (a load): the answer is the largest value.
    Largest,
    /// It holds above it (instances, workers): the answer is the smallest value.
    Smallest,
}

/// What a capacity search finds.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityResult {
    /// The parameter searched over.
    pub param: String,
    /// The SLO as written.
    pub slo: String,
    /// Replications per probe.
    pub replications: u32,
    /// Which side the SLO holds on; `None` when no boundary was found.
    pub direction: Option<Direction>,
    /// The boundary value at which the SLO still holds (on the mean), if one was found.
    pub capacity: Option<f64>,
    /// The range in which the intervals straddle the threshold: [sure holds, sure fails].
    pub uncertain_between: Option<[f64; 2]>,
    /// Every value tried, in increasing order.
    pub probes: Vec<Probe>,
    /// Why there is no boundary, when there is none.
    pub note: Option<String>,
}

/// The SLO's verdict on an interval: `Some(true)` when the whole interval meets it,
/// `Some(false)` when none of it does, `None` when it straddles the threshold or there is no
/// value (a single run counts as an interval of width 0).
pub fn slo_verdict(slo: &Slo, summary: Option<Summary>) -> Option<bool> {
    let summary = summary?;
    let half_width = summary.half_width.unwrap_or(0.0);
    let (low, high) = (summary.mean - half_width, summary.mean + half_width);
    match (slo.holds(low), slo.holds(high)) {
        (true, true) => Some(true),
        (false, false) => Some(false),
        _ => None,
    }
}

/// The parameter that scales every open workload's traffic by a factor, from 1 (the file's
/// rates): `Topology::scale_open_load`.
pub const LOAD_PARAM: &str = "load";

/// The default parameter: the rate of the topology's only open workload with a fixed rate,
/// else, when it has other open workloads (several, or bursty, profiled or replayed ones),
/// the load factor on all of them.
pub fn default_param(topology: &Topology) -> Result<String> {
    let fixed: Vec<&sim_core::topology::Source> = topology
        .sources
        .iter()
        .filter(|source| matches!(source.arrivals, Arrivals::Poisson { .. } | Arrivals::Constant { .. }))
        .collect();
    let open = topology.sources.iter().filter(|source| !matches!(source.arrivals, Arrivals::Closed { .. })).count();
    match fixed.as_slice() {
        [source] if open == 1 => Ok(format!("workload.{}.arrivals.rate", source.name)),
        _ if open > 0 => Ok(LOAD_PARAM.into()),
        _ => Err(BatchError::NoSearchParameter {
            problem: "no workload has an arrival rate to search over (every workload is closed)".into(),
            help: "name the parameter with --param, such as --param workload.NAME.users or nodes.app.instances".into(),
        }),
    }
}

/// Where a search over `param` starts: the value the topology text gives, and whether the
/// parameter is a whole number (searched in whole steps). `None` when the text does not set it.
pub fn start_value(text: &str, param: &str) -> Result<Option<(f64, bool)>> {
    if param == LOAD_PARAM {
        return Ok(Some((1.0, false)));
    }
    let current = get_parameter(text, param).map_err(|problem| BatchError::Parameter { problem })?;
    let Some(current) = current else { return Ok(None) };
    let (start, integer) = match split_quantity(&current) {
        Some((number, _)) => (number, false),
        None => match current.trim().parse::<f64>() {
            Ok(number) => (number, !current.contains('.')),
            Err(_) => {
                return Err(BatchError::Parameter {
                    problem: format!("\"{param}\" is {current}, not a number to search over"),
                })
            }
        },
    };
    if start.is_nan() || start <= 0.0 {
        return Err(BatchError::Parameter {
            problem: format!("\"{param}\" is {current}; the search starts from a positive value"),
        });
    }
    Ok(Some((start, integer)))
}

/// The topology with `param` set to `value` (with `load`, every open workload's traffic
/// scaled by it), checked.
pub fn topology_at(text: &str, param: &str, value: f64) -> Result<Topology> {
    if param == LOAD_PARAM {
        let mut topology = sim_core::parse_topology(text).map_err(|error| BatchError::EditedTopology {
            edit: format!("{param} = {value}"),
            error: Box::new(error),
        })?;
        topology.scale_open_load(value).map_err(|problem| BatchError::Parameter { problem })?;
        return Ok(topology);
    }
    let edited =
        set_parameter(text, param, &ParamValue::Number(value)).map_err(|problem| BatchError::Parameter { problem })?;
    sim_core::parse_topology(&edited)
        .map_err(|error| BatchError::EditedTopology { edit: format!("{param} = {value}"), error: Box::new(error) })
}

/// Whether more of `param` is more load (`Some(true)`: an arrival rate, the load factor, a
/// closed workload's users), more capacity (`Some(false)`: instances, workers, connections,
/// consumers, replicas, concurrency), or neither that the name says (`None`).
/// The search looks first on the side where the SLO's verdict should change.
pub fn more_is_load(param: &str) -> Option<bool> {
    match param.rsplit('.').next().unwrap_or(param) {
        LOAD_PARAM | "rate" | "users" => Some(true),
        "instances" | "workers" | "connections" | "consumers" | "replicas" | "concurrency" => Some(false),
        _ => None,
    }
}

/// How to search.
#[derive(Debug, Clone)]
pub struct SearchSpec<'a> {
    /// The parameter's name, for the result.
    pub param: &'a str,
    /// The SLO.
    pub slo: &'a Slo,
    /// Replications per probe, for the result.
    pub replications: u32,
    /// The first value.
    pub start: f64,
    /// Whether values are whole numbers.
    pub integer: bool,
    /// Relative width at which bisection stops (whole numbers stop at a width of 1).
    pub precision: f64,
}

/// Searches for the boundary; `evaluate(value)` runs the replications at a value and gives the
/// SLO metric's summary and the unstable runs. Each value is evaluated at most once.
pub fn search<E, T: Into<Evaluation>>(
    spec: &SearchSpec,
    mut evaluate: impl FnMut(f64) -> std::result::Result<T, E>,
) -> std::result::Result<CapacityResult, E> {
    let (start, integer, precision, slo) = (spec.start, spec.integer, spec.precision, spec.slo);
    let mut probes: Vec<Probe> = Vec::new();
    // (holds on the mean, holds on the interval, judged, has a value at all).
    let mut probe_at = |value: f64| -> std::result::Result<(bool, Option<bool>, bool, bool), E> {
        if let Some(probe) = probes.iter().find(|probe| probe.value == value) {
            return Ok((probe.holds, probe.sure, probe.valued(spec.replications), probe.metric.is_some()));
        }
        let Evaluation { metric, unstable_runs, too_few_runs } = evaluate(value)?.into();
        let kept_up = !most_fell_behind(unstable_runs, spec.replications);
        let estimated = too_few_runs == 0;
        let holds = kept_up && estimated && metric.is_some_and(|summary| slo.holds(summary.mean));
        let sure = match unstable_runs {
            all if all >= spec.replications => Some(false),
            _ if !estimated => None,
            0 => slo_verdict(slo, metric),
            // Some runs unstable: the metric's interval may still say it surely fails, but
            // not that it surely holds.
            _ if kept_up => slo_verdict(slo, metric).filter(|sure| !*sure),
            _ => None,
        };
        let probe = Probe { value, metric, holds, sure, unstable_runs, too_few_runs };
        let valued = probe.valued(spec.replications);
        probes.push(probe);
        Ok((holds, sure, valued, metric.is_some()))
    };
    let round = |value: f64| if integer { value.round().max(1.0) } else { value };
    // Bracket: from the current value, double or halve until the verdict changes.
    let (holds_at_start, _, valued_at_start, measured_at_start) = probe_at(start)?;
    let mut bracket = None;
    // Toward where the verdict should change first, when the parameter says which way that is.
    let (up, down) = ((2.0, 7), (0.5, 12));
    let order = match (more_is_load(spec.param), holds_at_start) {
        (Some(true), false) | (Some(false), true) => [down, up],
        _ => [up, down],
    };
    for (factor, limit) in order {
        if !valued_at_start {
            break;
        }
        let mut last = (start, holds_at_start);
        for _ in 0..limit {
            let next = round(last.0 * factor);
            if next == last.0 {
                break;
            }
            let (holds, _, valued, _) = probe_at(next)?;
            if !valued {
                // Nothing measured there (no request completed, as at a rate so low that none
                // arrives), or too few to estimate a quantile: not a failure of the SLO, and
                // no boundary the runs could tell lies beyond it.
                break;
            }
            if holds != last.1 {
                bracket = Some((last, (next, holds)));
                break;
            }
            last = (next, holds);
        }
        if bracket.is_some() {
            break;
        }
    }
    let mut result = CapacityResult {
        param: spec.param.to_string(),
        slo: slo.text.clone(),
        replications: spec.replications,
        direction: None,
        capacity: None,
        uncertain_between: None,
        probes: Vec::new(),
        note: None,
    };
    match bracket {
        None if !valued_at_start && measured_at_start => {
            result.note = Some(format!(
                "too few requests complete at the starting value {} to estimate the {}, so the SLO cannot be \
                 judged there; lengthen the runs (--duration or --requests)",
                crate::metrics::significant(start),
                slo.metric.name
            ))
        }
        None if !valued_at_start => {
            result.note = Some(format!(
                "nothing completed at the starting value {}, so the SLO cannot be judged there; start the search \
                 from a value where requests complete",
                crate::metrics::significant(start)
            ))
        }
        None => result.note = Some(no_boundary_note(holds_at_start)),
        Some(((a, a_holds), (b, _))) => {
            let (first_good, first_bad) = if a_holds { (a, b) } else { (b, a) };
            let (mut good, mut bad) = (first_good, first_bad);
            result.direction = Some(if good < bad { Direction::Largest } else { Direction::Smallest });
            for _ in 0..MAX_PROBES {
                let middle = round((good + bad) / 2.0);
                if !wider_than(good, bad, integer, precision) || middle == good || middle == bad {
                    break;
                }
                if probe_at(middle)?.0 {
                    good = middle;
                } else {
                    bad = middle;
                }
            }
            result.capacity = Some(good);
            // Narrow the range where the intervals cannot tell: from the boundary outwards
            // to the nearest value that surely holds, and to the nearest that surely fails.
            for (mut inside, mut outside, wanted) in [(good, first_good, Some(true)), (bad, first_bad, Some(false))] {
                if probe_at(outside)?.1 != wanted || probe_at(inside)?.1 == wanted {
                    continue;
                }
                for _ in 0..8 {
                    let middle = round((inside + outside) / 2.0);
                    if !wider_than(inside, outside, integer, precision * 2.0) || middle == inside || middle == outside {
                        break;
                    }
                    if probe_at(middle)?.1 == wanted {
                        outside = middle;
                    } else {
                        inside = middle;
                    }
                }
            }
        }
    }
    result.probes = probes;
    result.probes.sort_by(|x, y| x.value.total_cmp(&y.value));
    if result.note.is_some() && valued_at_start {
        let (low, high) = result.probes.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), probe| {
            (low.min(probe.value), high.max(probe.value))
        });
        result.note = Some(format!(
            "{} ({} to {})",
            no_boundary_note(holds_at_start),
            crate::metrics::significant(low),
            crate::metrics::significant(high)
        ));
    }
    if result.capacity.is_some() {
        let increasing = result.direction == Some(Direction::Largest);
        let sure_good = result.probes.iter().filter(|p| p.sure == Some(true)).map(|p| p.value);
        let sure_bad = result.probes.iter().filter(|p| p.sure == Some(false)).map(|p| p.value);
        let (low, high) = if increasing {
            (sure_good.fold(f64::NAN, f64::max), sure_bad.fold(f64::NAN, f64::min))
        } else {
            (sure_bad.fold(f64::NAN, f64::max), sure_good.fold(f64::NAN, f64::min))
        };
        // A range only when some value in it straddles: a surely holding value next to a
        // surely failing one (adjacent integers, or a bracket at the search's precision) is a
        // boundary the intervals decide.
        let straddled =
            result.probes.iter().any(|probe| probe.sure.is_none() && probe.value > low && probe.value < high);
        if low.is_finite() && high.is_finite() && straddled {
            result.uncertain_between = Some([low, high]);
        }
    }
    Ok(result)
}

/// The value next to `capacity` on the failing side, when both are sure: `capacity` surely
/// holds and that value surely fails.
fn decided_neighbour(result: &CapacityResult, capacity: f64) -> Option<f64> {
    let position = result.probes.iter().position(|probe| probe.value == capacity)?;
    if result.probes[position].sure != Some(true) {
        return None;
    }
    let neighbour = match result.direction? {
        Direction::Largest => result.probes.get(position + 1)?,
        Direction::Smallest => result.probes.get(position.checked_sub(1)?)?,
    };
    (neighbour.sure == Some(false)).then_some(neighbour.value)
}

fn no_boundary_note(holds: bool) -> String {
    format!("the SLO {} at every value tried", if holds { "holds" } else { "fails" })
}

/// Whether the bracket is still wider than the wanted precision (relative, or one unit).
fn wider_than(good: f64, bad: f64, integer: bool, precision: f64) -> bool {
    let width = (good - bad).abs();
    if integer {
        width > 1.0
    } else {
        width > precision * good.abs().max(bad.abs())
    }
}

/// The search as `archsim capacity` prints it: every value tried with the SLO's metric and
/// verdict, then the boundary and the range the intervals cannot tell.
pub fn table(result: &CapacityResult, slo: &Slo) -> String {
    let mut out = format!(
        "capacity search over {} for SLO {} ({} replications per value)\n\n",
        result.param, result.slo, result.replications
    );
    out.push_str(&format!("{:>14}  {:<22}  verdict\n", "value", slo.metric.name));
    for probe in &result.probes {
        let metric = match probe.metric {
            Some(Summary { mean, half_width: Some(half_width), .. }) => slo.metric.format_interval(mean, half_width),
            Some(summary) => slo.metric.format(summary.mean),
            None => "-".into(),
        };
        let (unstable, replications) = (probe.unstable_runs, result.replications);
        let verdict = if most_fell_behind(unstable, replications) {
            format!("fails: UNSTABLE in {unstable} of {replications}")
        } else if probe.too_few_runs > 0 {
            format!("no verdict: too few requests in {} of {replications}", probe.too_few_runs)
        } else {
            // The metric's own verdict (a run that did not keep up takes "surely" from a hold,
            // which the count beside it says).
            let verdict = match slo_verdict(slo, probe.metric) {
                Some(true) => "holds",
                Some(false) => "fails",
                None if probe.holds => "holds on the mean (interval straddles)",
                None => "fails on the mean (interval straddles)",
            };
            match unstable {
                0 => verdict.to_string(),
                _ => format!("{verdict}, but UNSTABLE in {unstable} of {replications}"),
            }
        };
        out.push_str(&format!("{:>14}  {metric:<22}  {verdict}\n", crate::metrics::significant(probe.value)));
    }
    if result.probes.iter().any(|probe| probe.unstable_runs > 0) {
        out.push_str(
            "\nUNSTABLE: in those runs a queue, a consumer group or a node fell behind without bound \
             (archsim run says where); a value where most runs do fails, whatever its metric\n",
        );
    }
    if let Some((_, needed)) = slo.metric.sample_count().filter(|_| result.probes.iter().any(|p| p.too_few_runs > 0)) {
        out.push_str(&format!(
            "\ntoo few requests: a run needs {needed} completed to estimate the {} (10 beyond it); the search \
             goes no further where runs have fewer (lengthen the runs to search there)\n",
            slo.metric.name
        ));
    }
    out.push('\n');
    match result.capacity {
        Some(capacity) => {
            out.push_str(&format!(
                "{} {} at which {} holds: {}\n",
                if result.direction == Some(Direction::Smallest) { "smallest" } else { "largest" },
                result.param,
                result.slo,
                crate::metrics::significant(capacity)
            ));
            if let Some([low, high]) = result.uncertain_between {
                out.push_str(&format!(
                    "uncertainty: the 95% intervals cannot tell between {} and {}\n",
                    crate::metrics::significant(low),
                    crate::metrics::significant(high)
                ));
            } else if let Some(beyond) = decided_neighbour(result, capacity) {
                out.push_str(&format!(
                    "certainty: the 95% intervals decide it: {} surely holds and {} surely fails\n",
                    crate::metrics::significant(capacity),
                    crate::metrics::significant(beyond)
                ));
            }
        }
        None => {
            out.push_str(&format!("no boundary found: {}\n", result.note.as_deref().unwrap_or("")));
            if let Some(hint) = floor_hint(result, slo) {
                out.push_str(&hint);
            }
        }
    }
    out
}

/// When a search over the traffic fails even at its lightest load, and not by falling behind:
/// what fails there is the design's own path, not queueing, so no load meets the SLO.
fn floor_hint(result: &CapacityResult, slo: &Slo) -> Option<String> {
    let over_traffic = result.param == LOAD_PARAM || result.param.ends_with(".arrivals.rate");
    let lightest = result.probes.iter().find(|probe| probe.valued(result.replications))?;
    let metric = lightest.metric?;
    let fails_everywhere = result.probes.iter().all(|probe| !probe.holds);
    if !over_traffic || !fails_everywhere || lightest.unstable_runs > 0 {
        return None;
    }
    Some(format!(
        "at the lightest load tried ({}) the {} is already {}: that is the design's own path (its work, calls, \
         network and faults), not queueing, so no load meets {}; shorten the path or relax the objective\n",
        crate::metrics::significant(lightest.value),
        slo.metric.name,
        slo.metric.format(metric.mean),
        result.slo
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A metric known exactly (no noise, so every interval is a point): M/M/1 mean response
    /// 1/(μ − λ) with μ = 100/s; `mean<50ms` holds up to λ = 80/s.
    #[test]
    fn bisection_finds_a_known_boundary_from_either_side() {
        let slo = Slo::parse("mean<50ms").unwrap();
        let summary = |mean| Some(Summary { n: 5, mean, sd: Some(0.0), half_width: Some(0.0) });
        for start in [10.0, 300.0] {
            let spec =
                SearchSpec { param: "rate", slo: &slo, replications: 5, start, integer: false, precision: 0.001 };
            let result =
                search::<(), _>(&spec, |rate| Ok(summary(if rate < 100.0 { 1.0 / (100.0 - rate) } else { 9.0 })));
            let capacity = result.unwrap().capacity.unwrap();
            assert!((capacity - 80.0).abs() < 0.1, "from {start}: {capacity}");
        }
        let spec =
            SearchSpec { param: "rate", slo: &slo, replications: 5, start: 1.0, integer: false, precision: 0.01 };
        let never = search::<(), _>(&spec, |_| Ok(summary(1.0))).unwrap();
        assert_eq!(never.capacity, None);
        assert!(never.note.unwrap().starts_with("the SLO fails at every value tried ("));
    }

    /// A load searched from where the SLO fails halves first, and a capacity searched from
    /// where it holds halves first too: no probe goes the way the verdict cannot change (each
    /// of those probes is a set of runs, and runs at many times the load are the slowest).
    #[test]
    fn the_search_looks_first_where_the_verdict_changes() {
        let slo = Slo::parse("mean<50ms").unwrap();
        let summary = |mean| Some(Summary { n: 5, mean, sd: Some(0.0), half_width: Some(0.0) });
        // (parameter, start, the boundary, whether no probe passes above the start or below)
        let cases = [
            ("workload.users.arrivals.rate", 300.0, 80.0, true),
            ("workload.users.users", 8.0, 40.0, false),
            ("nodes.app.instances", 4.0, 10.0, false),
            ("nodes.app.instances", 64.0, 10.0, true),
        ];
        for (param, start, boundary, at_most_start) in cases {
            let integer = param.ends_with("instances");
            let holds = |value: f64| if integer { value >= boundary } else { value <= boundary };
            let spec = SearchSpec { param, slo: &slo, replications: 5, start, integer, precision: 0.01 };
            let result = search::<(), _>(&spec, |value| Ok(summary(if holds(value) { 0.01 } else { 0.09 }))).unwrap();
            assert!(result.capacity.is_some(), "{param} from {start}: {result:?}");
            let on_its_side = |value: f64| if at_most_start { value <= start } else { value >= start };
            assert!(
                result.probes.iter().all(|probe| on_its_side(probe.value)),
                "{param} from {start}: {:?}",
                result.probes
            );
        }
        assert_eq!(more_is_load("nodes.db.connections"), Some(false));
        assert_eq!(more_is_load("nodes.cache.capacity"), None);
    }

    /// Below some rate nothing completes in the run (no value): those probes are not failures,
    /// so a search that starts overloaded still finds the boundary instead of halving down to
    /// a rate where no request arrives and calling that the capacity.
    #[test]
    fn probes_where_nothing_completed_are_not_failures() {
        let slo = Slo::parse("mean<50ms").unwrap();
        let spec =
            SearchSpec { param: "rate", slo: &slo, replications: 5, start: 300.0, integer: false, precision: 0.01 };
        let result = search::<(), _>(&spec, |rate| {
            Ok((rate >= 5.0).then(|| Summary {
                n: 5,
                mean: if rate < 100.0 { 1.0 / (100.0 - rate) } else { 9.0 },
                sd: Some(0.0),
                half_width: Some(0.0),
            }))
        })
        .unwrap();
        let capacity = result.capacity.unwrap();
        assert!((capacity - 80.0).abs() < 1.0, "{capacity}");
        // From a start where nothing completes, the search does not take the rates where
        // requests first complete for a boundary (it reported 0.1167 req/s so).
        let from_nothing = SearchSpec { start: 1.0, ..spec };
        let result = search::<(), _>(&from_nothing, |rate| {
            Ok((rate >= 5.0).then_some(Summary { n: 5, mean: 0.01, sd: Some(0.0), half_width: Some(0.0) }))
        })
        .unwrap();
        assert_eq!(result.capacity, None);
        assert!(result.note.unwrap().starts_with("nothing completed at the starting value 1"));
        // Overloaded everywhere down to where nothing completes: no boundary, not a tiny one.
        let overloaded = search::<(), _>(&spec, |rate| {
            Ok((rate >= 5.0).then_some(Summary { n: 5, mean: 9.0, sd: Some(0.0), half_width: Some(0.0) }))
        })
        .unwrap();
        assert_eq!(overloaded.capacity, None);
    }

    /// Where a surely holding value sits next to a surely failing one, the intervals decide
    /// the boundary: no range is reported as one they cannot tell (the table said "cannot
    /// tell between 1 and 2" of instances where 1 surely failed and 2 surely held). A value
    /// whose interval straddles the threshold between them makes the range.
    #[test]
    fn a_range_is_uncertain_only_where_an_interval_straddles() {
        let slo = Slo::parse("mean<50ms").unwrap();
        let spec =
            SearchSpec { param: "instances", slo: &slo, replications: 5, start: 4.0, integer: true, precision: 0.01 };
        let interval = |mean, half_width| Some(Summary { n: 5, mean, sd: Some(0.0), half_width: Some(half_width) });
        let decided = search::<(), _>(&spec, |n| Ok(interval(if n >= 2.0 { 0.035 } else { 1.5 }, 0.001))).unwrap();
        assert_eq!(
            (decided.direction, decided.capacity, decided.uncertain_between),
            (Some(Direction::Smallest), Some(2.0), None)
        );
        let text = table(&decided, &slo);
        assert!(text.contains("certainty: the 95% intervals decide it: 2 surely holds and 1 surely fails"), "{text}");
        assert!(!text.contains("cannot tell"), "{text}");
        // 3 instances hold on the mean, but their interval reaches past 50 ms.
        let straddling = search::<(), _>(&spec, |n| {
            Ok(match n as u32 {
                0..=2 => interval(0.2, 0.001),
                3 => interval(0.045, 0.01),
                _ => interval(0.035, 0.001),
            })
        })
        .unwrap();
        assert_eq!((straddling.capacity, straddling.uncertain_between), (Some(3.0), Some([2.0, 4.0])));
        let text = table(&straddling, &slo);
        assert!(text.contains("uncertainty: the 95% intervals cannot tell between 2 and 4"), "{text}");
        assert!(!text.contains("\ncertainty: "), "{text}");
    }

    /// A value where most runs are unstable cannot be sustained: it fails whatever its
    /// metric (an asynchronous consumer falling behind leaves the producers' latency as it
    /// is), so the boundary is where the runs stop keeping up; one unstable run of five
    /// keeps the metric's verdict but not a sure hold.
    #[test]
    fn a_value_most_runs_cannot_sustain_fails_whatever_its_metric() {
        let slo = Slo::parse("p99<200ms").unwrap();
        let spec =
            SearchSpec { param: "load", slo: &slo, replications: 5, start: 1.0, integer: false, precision: 0.01 };
        let fine = Some(Summary { n: 5, mean: 0.05, sd: Some(0.0), half_width: Some(0.001) });
        let result = search::<(), _>(&spec, |load| {
            let unstable_runs = if load > 1.5 {
                5
            } else if load > 1.4 {
                1
            } else {
                0
            };
            Ok(Evaluation { metric: fine, unstable_runs, too_few_runs: 0 })
        })
        .unwrap();
        let capacity = result.capacity.unwrap();
        assert!((1.48..=1.5).contains(&capacity), "{capacity}");
        let text = table(&result, &slo);
        assert!(text.contains("fails: UNSTABLE in 5 of 5"), "{text}");
        assert!(text.contains("holds, but UNSTABLE in 1 of 5"), "{text}");
        assert!(text.contains("\nUNSTABLE: in those runs"), "{text}");
        let sure: Vec<(f64, Option<bool>)> = result.probes.iter().map(|p| (p.value, p.sure)).collect();
        assert!(sure.iter().all(|(load, sure)| *load <= 1.4 || *sure != Some(true)), "{sure:?}");
    }

    /// A value where every run fell behind fails even when nothing completed there to measure
    /// (a retry storm times out every attempt): the search brackets against it, not past it.
    #[test]
    fn a_value_where_nothing_completes_and_runs_fall_behind_fails() {
        let slo = Slo::parse("p99<200ms").unwrap();
        let spec =
            SearchSpec { param: "rate", slo: &slo, replications: 5, start: 30.0, integer: false, precision: 0.01 };
        let fine = Some(Summary { n: 5, mean: 0.05, sd: Some(0.0), half_width: Some(0.001) });
        let result = search::<(), _>(&spec, |rate| {
            Ok(if rate > 45.0 {
                Evaluation { metric: None, unstable_runs: 5, too_few_runs: 5 }
            } else {
                Evaluation { metric: fine, unstable_runs: 0, too_few_runs: 0 }
            })
        })
        .unwrap();
        let capacity = result.capacity.unwrap();
        assert!((44.5..=45.0).contains(&capacity), "{capacity}: {:?}", result.note);
    }

    /// A quantile from too few requests is no verdict: a p99 needs 1000 a run. A latency
    /// floor above the SLO (it fails at every load judged, and not by falling behind) is
    /// named as such, and the search does not descend to loads where runs are too short;
    /// with every load judged it finds the boundary as before.
    #[test]
    fn too_few_requests_give_no_verdict_and_stop_the_search() {
        let slo = Slo::parse("p99<150ms").unwrap();
        let spec =
            SearchSpec { param: "load", slo: &slo, replications: 2, start: 1.0, integer: false, precision: 0.01 };
        // 4000 requests a run at load 1; a p99 of 180 ms whatever the load.
        let runs_at = |load: f64, p99: f64| vec![vec![Some(p99), Some(4000.0 * load)]; 2];
        let floor = search::<(), _>(&spec, |load| Ok(evaluation(&slo, &runs_at(load, 0.18), 0))).unwrap();
        assert_eq!(floor.capacity, None);
        let lowest = floor.probes.first().unwrap();
        assert_eq!((lowest.value, lowest.too_few_runs), (0.125, 2), "{:?}", floor.probes);
        assert!(floor.probes[1..].iter().all(|probe| probe.too_few_runs == 0 && probe.sure == Some(false)));
        let text = table(&floor, &slo);
        assert!(text.contains("no verdict: too few requests in 2 of 2"), "{text}");
        assert!(text.contains("a run needs 1000 completed to estimate the p99"), "{text}");
        assert!(text.contains("at the lightest load tried (0.25) the p99 is already 180 ms"), "{text}");

        // Holds below load 3: the boundary, and no floor hint.
        let boundary =
            search::<(), _>(&spec, |load| Ok(evaluation(&slo, &runs_at(load, if load < 3.0 { 0.1 } else { 0.3 }), 0)))
                .unwrap();
        let capacity = boundary.capacity.unwrap();
        assert!((2.97..3.0).contains(&capacity), "{capacity}");
        assert!(!table(&boundary, &slo).contains("lightest load"));

        // Too few at the start: said so, not "nothing completed".
        let short = search::<(), _>(&spec, |load| Ok(evaluation(&slo, &runs_at(load / 10.0, 0.1), 0))).unwrap();
        assert!(short.note.unwrap().starts_with("too few requests complete at the starting value 1"));
    }
}
