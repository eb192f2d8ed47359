//! How much work a run is before it starts: an estimate of the events it will process (open
//! arrival rates × duration × node visits per request, from the analytic view, plus the clock
//! events of windows, health checks, autoscalers, MMPP states and chaos monkeys), so that a
//! run far beyond what a machine can do in minutes is refused with the reason instead of
//! running for hours.

use crate::analysis::VisitCounts;
use crate::model::RunConfig;
use crate::topology::{Arrivals, FaultKind, NodeKind, StopCondition, Topology};

/// The events a run may process unless the user raises the budget: a few minutes of one core
/// (the engine does about ten million events a second).
pub const DEFAULT_MAX_EVENTS: u64 = 2_000_000_000;

/// Events per node visit: its arrival, the end of its work, the answer.
const EVENTS_PER_VISIT: f64 = 3.0;

/// A run's expected events, and where most of them come from.
#[derive(Debug, Clone, PartialEq)]
pub struct EventEstimate {
    /// Events expected, rounded to nothing finer than the estimate deserves.
    pub events: f64,
    /// The largest contributor, in words ("workload \"users\": 1e9 requests/s × 60 s × 3 visits").
    pub main_source: String,
}

/// Estimates the events of running `topology` with `config`. A closed workload counts at
/// most the throughput its users can reach (`closed_rate_bound_per_s`).
pub fn estimate_events(topology: &Topology, config: &RunConfig) -> EventEstimate {
    let mut sources: Vec<(f64, f64, String)> = Vec::new(); // (requests per second, visits, name)
    let visit_counts = VisitCounts::of(topology);
    for (index, source) in topology.sources.iter().enumerate() {
        let rate_per_s = match &source.arrivals {
            Arrivals::Profile { steps, .. } => steps.iter().map(|(_, rate)| *rate).fold(0.0, f64::max),
            Arrivals::Closed { .. } => closed_rate_bound_per_s(topology, index),
            other => other.mean_rate_per_s().unwrap_or(0.0),
        };
        let mut previous = 0.0;
        let mut visits = 0.0;
        for (cumulative, class) in source.class_cumulative.iter().zip(&source.class_ids) {
            let per_class =
                visit_counts.per_request(source.entry_node, u32::from(*class)).unwrap_or(topology.nodes.len() as f64);
            visits += (cumulative - previous) * per_class;
            previous = *cumulative;
        }
        sources.push((rate_per_s, visits.max(1.0), source.name.clone()));
    }
    let total_rate: f64 = sources.iter().map(|(rate, _, _)| rate).sum();
    let span_s = match config.stop {
        StopCondition::Duration { ns } => ns as f64 / 1e9,
        StopCondition::Requests { count } if total_rate > 0.0 => count as f64 / total_rate,
        StopCondition::Requests { .. } => 0.0,
    };
    let mut parts: Vec<(f64, String)> = sources
        .iter()
        .map(|(rate, visits, name)| {
            let requests = match config.stop {
                StopCondition::Requests { count } => count as f64 * rate / total_rate.max(f64::MIN_POSITIVE),
                StopCondition::Duration { .. } => rate * span_s,
            };
            (
                requests * (visits * EVENTS_PER_VISIT + 1.0),
                format!(
                    "workload \"{name}\": {} requests of {} node visits each",
                    round_for_words(requests),
                    round_for_words(*visits)
                ),
            )
        })
        .collect();
    let every = |interval_ns: f64| if interval_ns > 0.0 { span_s * 1e9 / interval_ns } else { f64::INFINITY };
    for node in &topology.nodes {
        match &node.kind {
            NodeKind::LoadBalancer(balancer) => {
                if let Some(check) = balancer.health_check {
                    let targets = balancer.targets.len().max(1) as f64;
                    parts.push((
                        every(check.interval_ns as f64) * targets,
                        format!("the health checks of \"{}\" every {} ns", node.name, check.interval_ns),
                    ));
                }
            }
            NodeKind::Service(service) => {
                if let Some(autoscaling) = service.autoscaling {
                    parts.push((
                        every(autoscaling.interval_ns as f64),
                        format!("the autoscaler of \"{}\" every {} ns", node.name, autoscaling.interval_ns),
                    ));
                }
            }
            _ => {}
        }
    }
    for source in &topology.sources {
        if let Arrivals::Mmpp { states } = &source.arrivals {
            let mean_hold_ns = states.iter().map(|(_, hold)| hold).sum::<f64>() / states.len().max(1) as f64;
            parts.push((every(mean_hold_ns), format!("the MMPP state changes of \"{}\"", source.name)));
        }
        if let Arrivals::Closed { users, .. } = source.arrivals {
            // Each user's first request, created and arrived: a saturated network holds them
            // all waiting however few it answers.
            parts.push((
                2.0 * f64::from(users),
                format!("the first requests of the {users} users of \"{}\"", source.name),
            ));
        }
        if let Arrivals::Profile { steps, period_ns: Some(period) } = &source.arrivals {
            parts.push((
                every(*period as f64) * steps.len() as f64,
                format!("the rate profile of \"{}\" repeating every {period} ns", source.name),
            ));
        }
    }
    if let Some(scenario) = &topology.scenario {
        parts.push((every(scenario.window_ns as f64), format!("time-series windows of {} ns", scenario.window_ns)));
        for fault in &scenario.faults {
            if let FaultKind::ChaosMonkey { nodes, mtbf_sampler, .. } = &fault.kind {
                let instances: f64 = nodes.iter().map(|&node| topology.nodes[node].kind.instances() as f64).sum();
                let mtbf_ns = topology.samplers[*mtbf_sampler as usize].mean_s() * 1e9;
                parts.push((every(mtbf_ns) * instances * 2.0, "the chaos monkey's failures and repairs".into()));
            }
        }
    }
    let events: f64 = parts.iter().map(|(events, _)| events).sum();
    let main_source = parts.into_iter().max_by(|a, b| a.0.total_cmp(&b.0)).map_or_else(
        || "nothing".into(),
        |(events, what)| format!("{what} (about {} events)", round_for_words(events)),
    );
    EventEstimate { events, main_source }
}

/// The most requests a second that closed workload `index` can send, alone in the network:
/// its N users each wait their think time Z and at least the least response D between two
/// requests, and the network answers no faster than its bottleneck (the asymptotic bounds of
/// operational analysis, X ≤ min(N ÷ (Z + D), c_b ÷ D_b); Lazowska et al., *Quantitative
/// System Performance*, §5.3). D and the bottleneck come from the analytic view with the
/// workload at a trickle; where that view has no answer the bound is N ÷ Z, and with no think
/// time and no response either (the livelock check guards that) N a second.
fn closed_rate_bound_per_s(topology: &Topology, index: usize) -> f64 {
    let Arrivals::Closed { users, think_sampler } = topology.sources[index].arrivals else {
        return 0.0;
    };
    let users = f64::from(users);
    let think_s = topology.samplers[think_sampler as usize].mean_s();
    let trickle_per_s = users * 1e-9;
    let mut alone = topology.clone();
    for (other, source) in alone.sources.iter_mut().enumerate() {
        let rate_per_s = if other == index { trickle_per_s } else { 0.0 };
        source.arrivals = Arrivals::Poisson { rate_per_s };
    }
    let (least_response_s, saturation_per_s) = match crate::analysis::analyze(&alone, &[]) {
        Ok(view) => (
            view.workload_response_s[index].filter(|s| s.is_finite()).unwrap_or(0.0),
            view.saturation_rate_per_s.filter(|rate| rate.is_finite() && *rate > 0.0).unwrap_or(f64::INFINITY),
        ),
        Err(_) => (0.0, f64::INFINITY),
    };
    let cycle_s = think_s + least_response_s;
    let by_cycle_per_s = if cycle_s > 0.0 { users / cycle_s } else { users };
    by_cycle_per_s.min(saturation_per_s)
}

/// The budget that would take a run estimated at `events` (a fifth more, for the estimate's
/// error) and about how long it would compute, at ten million events a second, in words:
/// `Some(("4.8e10", "about 80 minutes"))`; `None` when no budget covers it (past 2^64 events).
pub fn budget_to_raise_to(events: f64) -> Option<(String, String)> {
    let budget = events * 1.2;
    if budget.is_nan() || budget >= u64::MAX as f64 {
        return None;
    }
    let seconds = budget / 1e7;
    let time = if seconds < 120.0 {
        format!("about {} seconds", seconds.ceil())
    } else if seconds < 2.0 * 3600.0 {
        format!("about {} minutes", (seconds / 60.0).round())
    } else if seconds < 2.0 * 86_400.0 {
        format!("about {} hours", (seconds / 3600.0).round())
    } else if seconds < 2.0 * 365.25 * 86_400.0 {
        format!("about {} days", (seconds / 86_400.0).round())
    } else {
        format!("about {} years", round_for_words(seconds / (365.25 * 86_400.0)))
    };
    Some((round_for_words(budget), time))
}

/// A figure to two significant digits, in words for a message: `3.2e9`, `120`, `0.5`.
pub fn round_for_words(value: f64) -> String {
    if !value.is_finite() {
        return "unbounded".into();
    }
    if value >= 1e5 {
        format!("{value:.1e}")
    } else if value >= 10.0 {
        format!("{}", value.round())
    } else {
        format!("{}", (value * 10.0).round() / 10.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::parse_topology;

    fn estimate(text: &str, stop: StopCondition) -> EventEstimate {
        let topology = parse_topology(text).unwrap();
        estimate_events(&topology, &RunConfig { seed: 1, stop, warmup_ns: 0, drain: false })
    }

    /// Runs `text` for `duration_ns` and checks the estimate against the events it took:
    /// within a factor of two, an estimate for a budget, not a measurement.
    fn assert_estimated(what: &str, text: &str, duration_ns: u64) {
        let topology = parse_topology(text).unwrap();
        let config =
            RunConfig { seed: 1, stop: StopCondition::Duration { ns: duration_ns }, warmup_ns: 0, drain: false };
        let estimate = estimate_events(&topology, &config);
        let mut simulation = crate::Simulation::new(&topology, config);
        simulation.run_to_end();
        let events = simulation.report().events as f64;
        assert!(estimate.events > events / 2.0 && estimate.events < events * 2.0, "{what}: {estimate:?} for {events}");
    }

    #[test]
    fn a_three_tier_run_costs_its_requests_times_their_visits() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../topologies/three-tier.ron")).unwrap();
        assert_estimated("three-tier", &text, 60_000_000_000);
    }

    /// Closed workloads against the simulation's own count: the users' think time, the
    /// least response and the bottleneck each bound the throughput in turn.
    #[test]
    fn closed_workloads_count_what_their_users_can_send() {
        let cases = [
            // (what bounds it, users, think, workers, service mean)
            ("think time", 10, "1s", 4, "10ms"),
            ("least response", 5, "1ms", 8, "50ms"),
            ("bottleneck", 100_000, "1s", 1, "10ms"),
            ("bottleneck, no think time", 50, "0s", 2, "5ms"),
        ];
        for (bound, users, think, workers, service) in cases {
            let think = if think == "0s" { "Constant(\"0s\")".to_string() } else { format!("Exp(mean: \"{think}\")") };
            let text = format!(
                r#"Topology(
                    workload: [Closed(name: "users", users: {users}, think: {think}, to: "app")],
                    nodes: {{ "app": Service(workers: {workers}, steps: [Work(Exp(mean: "{service}"))]) }},
                )"#
            );
            assert_estimated(bound, &text, 100_000_000_000);
        }
    }

    /// Users in front of a cache: the view of them alone, which measures no hit ratio, takes
    /// the model's (it indexed an empty list of measured ones and panicked).
    #[test]
    fn closed_workloads_in_front_of_a_cache_are_estimated() {
        let text = r#"Topology(
            workload: [Closed(name: "users", users: 50, think: Exp(mean: "100ms"), keys: Zipf(n: 10000, s: 1.0), to: "cache")],
            nodes: {
                "cache": Cache(backend: "db", capacity: 1000, hit: Constant("1ms")),
                "db": Service(workers: 8, steps: [Work(Exp(mean: "10ms"))]),
            },
        )"#;
        assert_estimated("users in front of a cache", text, 60_000_000_000);
    }

    /// The budget a refused run would need, with the time it would take, in words; none past
    /// what a run can count.
    #[test]
    fn the_budget_to_raise_to_says_how_long_it_would_compute() {
        let cases = [
            (1e8, Some(("1.2e8", "about 12 seconds"))),
            (4e10, Some(("4.8e10", "about 80 minutes"))),
            (4e11, Some(("4.8e11", "about 13 hours"))),
            (1e14, Some(("1.2e14", "about 139 days"))),
            (1e16, Some(("1.2e16", "about 38 years"))),
            (2e19, None),
            (f64::INFINITY, None),
        ];
        for (events, expected) in cases {
            let raised = budget_to_raise_to(events);
            assert_eq!(raised.as_ref().map(|(a, b)| (a.as_str(), b.as_str())), expected, "{events}");
        }
    }

    #[test]
    fn a_billion_requests_a_second_is_named_as_the_cost() {
        let estimate = estimate(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "1000000000/s"), to: "app")],
                nodes: { "app": Service(steps: [Work(Exp(mean: "1ns"))]) },
            )"#,
            StopCondition::Duration { ns: 1_000_000_000 },
        );
        assert!(estimate.events > DEFAULT_MAX_EVENTS as f64, "{estimate:?}");
        assert!(estimate.main_source.starts_with("workload \"users\": 1.0e9 requests"), "{}", estimate.main_source);
    }

    #[test]
    fn clock_events_count_too() {
        let estimate = estimate(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "1/s"), to: "lb")],
                nodes: {
                    "lb": LoadBalancer(backends: ["app"], health_check: HealthCheck(interval: "1ns")),
                    "app": Service(steps: [Work(Exp(mean: "1ms"))]),
                },
            )"#,
            StopCondition::Duration { ns: 60_000_000_000 },
        );
        assert!(estimate.events > 5e10, "{estimate:?}");
        assert!(estimate.main_source.starts_with("the health checks of \"lb\""), "{}", estimate.main_source);
    }
}
