//! The analytic view's cost as models grow: `analyze` (what `archsim analyze` and the
//! browser's prediction run) on generated binary trees of services, 5 request classes, at
//! 30, 300 and 2000 services (the node limit), plain and with a timeout and 2 retries on
//! every call (the timed calls' retry fixed point and saturation search), and at 300 timed
//! with the last service handing a fiftieth of its requests back to the root (a loop the
//! solves take block by block; a tenth, which the retries multiply past 1 per request, has
//! no steady state). A measurement,
//! not a test: `cargo bench -p archsim-benches --bench analysis` (`-- --quick` for one
//! repetition).

use sim_core::parse_topology;
use std::fmt::Write;
use std::time::Instant;

/// A binary tree of `services` services, each calling its two children in turn, entered by
/// 1 request per second in 5 classes; with `timed`, every call (and the client's) has a
/// timeout and retries, the timeout 4 ms per service below the callee (at least 20 ms): some
/// attempts time out, most do not.
fn tree(services: usize, timed: bool, looped: bool) -> String {
    let policy = |timeout: &str, retries: u32| {
        format!("CallPolicy(timeout: \"{timeout}\", retry: Retry(retries: {retries}, backoff: \"5ms\"))")
    };
    let below = |node: usize| {
        let (mut count, mut level) = (0, vec![node]);
        while !level.is_empty() {
            count += level.len();
            level = level.iter().flat_map(|&n| [2 * n + 1, 2 * n + 2]).filter(|&c| c < services).collect();
        }
        count
    };
    let timeout = |node: usize| format!("{}ms", (4 * below(node)).max(20));
    let client = if timed { format!(", client: {}", policy(&timeout(0), 1)) } else { String::new() };
    let mut text = format!(
        "Topology(workload: [Open(name: \"users\", arrivals: Poisson(rate: \"1/s\"), \
         classes: {{\"c0\": 0.2, \"c1\": 0.2, \"c2\": 0.2, \"c3\": 0.2, \"c4\": 0.2}}, to: \"s0\"{client})], nodes: {{\n"
    );
    for node in 0..services {
        let children: Vec<usize> = [2 * node + 1, 2 * node + 2].into_iter().filter(|&c| c < services).collect();
        let mut calls: String = children.iter().map(|c| format!(", Call(\"s{c}\")")).collect();
        if looped && node == services - 1 {
            calls.push_str(", Choose([(0.02, [Forward(\"s0\")])])");
        }
        let policies = if timed && !children.is_empty() {
            let each: Vec<String> = children.iter().map(|c| format!("\"s{c}\": {}", policy(&timeout(*c), 2))).collect();
            format!(", calls: {{{}}}", each.join(", "))
        } else {
            String::new()
        };
        writeln!(
            text,
            "\"s{node}\": Service(instances: 2, workers: 8, steps: [Work(Exp(mean: \"1ms\")){calls}]{policies}),"
        )
        .unwrap();
    }
    text.push_str("})\n");
    text
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let repetitions = if quick { 1 } else { 5 };
    println!("{:<22} {:>12} {:>12} {:>16}", "model", "best (s)", "median (s)", "median µs/node");
    // (services, timed, looped)
    let models = [(30, false, false), (300, false, false), (2000, false, false)].into_iter().chain([
        (30, true, false),
        (300, true, false),
        (2000, true, false),
        (300, true, true),
    ]);
    for (services, timed, looped) in models {
        let topology = parse_topology(&tree(services, timed, looped)).expect("benchmark model is valid");
        let mut times = Vec::new();
        for _ in 0..repetitions {
            let start = Instant::now();
            let view = sim_core::analysis::analyze(&topology, &vec![None; services]).expect("analyzable");
            times.push(start.elapsed().as_secs_f64());
            assert!(view.response_s.is_some(), "{services} services, timed {timed}, looped {looped}: below saturation");
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        let name = format!("tree-{services}{}{}", if timed { "-timed" } else { "" }, if looped { "-loop" } else { "" });
        println!("{name:<22} {:>12.4} {median:>12.4} {:>16.1}", times[0], median * 1e6 / services as f64);
    }
}
