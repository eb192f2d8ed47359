//! Engine throughput: events per second and requests per second for M/M/1 (also observed in
//! 1 s windows, 1.1 million of them: the time series' cost), M/M/4, the peers' web model, the
//! three-tier example, least connections over 4 and over 1000 instances, and a 1000-worker
//! pool at 100000/s without and with a timeout on every request, a closed workload of 10^3
//! and of 10^6 users (as many pending wake-ups), at one million requests,
//! single-threaded. A measurement, not a test:
//! `cargo bench -p archsim-benches --bench engine` (add `-- --quick` for one repetition, and
//! model names such as `-- --quick mm1 mm4` to run only those).
//!
//! The same models run in SimPy with `benches/simpy/compare.py`, which prints the ratio.

use sim_core::{parse_topology, RunConfig, Simulation, StopCondition};
use std::time::Instant;

const REQUESTS: u64 = 1_000_000;

fn models() -> Vec<(&'static str, String)> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    vec![
        ("mm1", std::fs::read_to_string(format!("{root}/benches/models/mm1.ron")).unwrap()),
        ("mm1-observed", std::fs::read_to_string(format!("{root}/benches/models/mm1-observed.ron")).unwrap()),
        ("mm4", std::fs::read_to_string(format!("{root}/benches/models/mm4.ron")).unwrap()),
        ("web", std::fs::read_to_string(format!("{root}/benches/models/web.ron")).unwrap()),
        ("three-tier", std::fs::read_to_string(format!("{root}/topologies/three-tier.ron")).unwrap()),
        ("lc-4", std::fs::read_to_string(format!("{root}/benches/models/least-connections-4.ron")).unwrap()),
        ("lc-1000", std::fs::read_to_string(format!("{root}/benches/models/least-connections-1000.ron")).unwrap()),
        ("no-timeouts", std::fs::read_to_string(format!("{root}/benches/models/no-timeouts-100k.ron")).unwrap()),
        ("timeouts", std::fs::read_to_string(format!("{root}/benches/models/timeouts-100k.ron")).unwrap()),
        ("closed-1k", std::fs::read_to_string(format!("{root}/benches/models/closed-1k.ron")).unwrap()),
        ("closed-1m", std::fs::read_to_string(format!("{root}/benches/models/closed-1m.ron")).unwrap()),
    ]
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let repetitions = if quick { 1 } else { 5 };
    let only: Vec<String> = std::env::args().skip(1).filter(|arg| !arg.starts_with('-')).collect();
    println!("{:<12} {:>12} {:>12} {:>14} {:>14}", "model", "best (s)", "median (s)", "events/s", "requests/s");
    for (name, text) in models().into_iter().filter(|(name, _)| only.is_empty() || only.iter().any(|o| o == name)) {
        let topology = parse_topology(&text).expect("benchmark model is valid");
        let mut times = Vec::new();
        let mut events = 0;
        for _ in 0..repetitions {
            let config =
                RunConfig { seed: 1, stop: StopCondition::Requests { count: REQUESTS }, warmup_ns: 0, drain: false };
            let start = Instant::now();
            let mut simulation = Simulation::new(&topology, config);
            simulation.run_to_end();
            let report = simulation.report();
            times.push(start.elapsed().as_secs_f64());
            events = report.events;
            assert_eq!(report.requests.generated, REQUESTS);
        }
        times.sort_by(f64::total_cmp);
        let best = times[0];
        let median = times[times.len() / 2];
        println!(
            "{name:<12} {best:>12.4} {median:>12.4} {:>14.0} {:>14.0}",
            events as f64 / median,
            REQUESTS as f64 / median
        );
    }
}
