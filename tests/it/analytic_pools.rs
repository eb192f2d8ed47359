//! A pool of workers held while it calls a smaller pool that only it calls, in the analytic
//! view (`held_pools.rs`): against the exact Markov chain of the pair, against the
//! simulation, and where it must not apply.

use crate::check::{replicate, requests};
use sim_core::analysis::{analyze, Analysis};
use std::collections::BTreeMap;

fn view(text: &str) -> Analysis {
    let topology = sim_core::parse_topology(text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    let nodes = topology.nodes.len();
    analyze(&topology, &vec![None; nodes]).unwrap()
}

/// Poisson arrivals at `rate_per_s` into "front" (`instances` × `workers`, Exp(`own_ms`)),
/// each visit then calling "back" (`servers` workers, Exp(`callee_ms`)) and waiting.
fn pair(rate_per_s: f64, instances: u32, workers: u32, servers: u32, own_ms: f64, callee_ms: f64) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "front")],
            nodes: {{
                "front": Service(instances: {instances}, workers: {workers}, steps: [Work(Exp(mean: "{own_ms}ms")), Call("back")]),
                "back": Service(workers: {servers}, steps: [Work(Exp(mean: "{callee_ms}ms"))]),
            }},
        )"#
    )
}

/// The pair's exact mean response (one instance): the continuous-time Markov chain in
/// (requests queued outside, workers in their own work, workers at the callee), truncated at
/// `QUEUED` queued (its mass there is checked negligible), by its balance equations with the
/// empty state's probability fixed, in a banded elimination with partial pivoting.
fn exact_response_s(rate_per_s: f64, workers: usize, servers: usize, own_s: f64, callee_s: f64) -> f64 {
    const QUEUED: usize = 1500;
    let mut states = Vec::new();
    for queued in 0..=QUEUED {
        for own in 0..=workers {
            for at_callee in 0..=workers - own {
                if queued == 0 || own + at_callee == workers {
                    states.push((queued, own, at_callee));
                }
            }
        }
    }
    let index: BTreeMap<(usize, usize, usize), usize> = states.iter().enumerate().map(|(i, &s)| (s, i)).collect();
    let n = states.len();
    // Row j: the flow into state j less the flow out of it.
    let mut rows: Vec<BTreeMap<usize, f64>> = vec![BTreeMap::new(); n];
    for (i, &(queued, own, at_callee)) in states.iter().enumerate() {
        let mut moves = Vec::new();
        if own + at_callee < workers {
            moves.push(((0, own + 1, at_callee), rate_per_s));
        } else if queued < QUEUED {
            moves.push(((queued + 1, own, at_callee), rate_per_s));
        }
        if own > 0 {
            moves.push(((queued, own - 1, at_callee + 1), own as f64 / own_s));
        }
        if at_callee > 0 {
            let next = if queued > 0 { (queued - 1, own + 1, at_callee - 1) } else { (0, own, at_callee - 1) };
            moves.push((next, at_callee.min(servers) as f64 / callee_s));
        }
        for (to, rate) in moves {
            *rows[index[&to]].entry(i).or_default() += rate;
            *rows[i].entry(i).or_default() -= rate;
        }
    }
    rows[0] = BTreeMap::from([(0, 1.0)]);
    let mut rhs = vec![0.0; n];
    rhs[0] = 1.0;
    let band = rows.iter().enumerate().flat_map(|(j, row)| row.keys().map(move |&i| i.abs_diff(j))).max().unwrap() + 1;
    for k in 0..n {
        let pivot_row = (k..n.min(k + band + 1))
            .max_by(|&a, &b| rows[a].get(&k).unwrap_or(&0.0).abs().total_cmp(&rows[b].get(&k).unwrap_or(&0.0).abs()))
            .unwrap();
        rows.swap(k, pivot_row);
        rhs.swap(k, pivot_row);
        let pivot_row = rows[k].clone();
        let pivot = pivot_row[&k];
        for r in k + 1..n.min(k + 2 * band + 1) {
            let Some(&factor) = rows[r].get(&k) else { continue };
            let factor = factor / pivot;
            for (&column, &value) in &pivot_row {
                *rows[r].entry(column).or_default() -= factor * value;
            }
            rows[r].remove(&k);
            rhs[r] -= factor * rhs[k];
        }
    }
    let mut p = vec![0.0; n];
    for k in (0..n).rev() {
        let known: f64 = rows[k].range(k + 1..).map(|(&column, value)| value * p[column]).sum();
        p[k] = (rhs[k] - known) / rows[k][&k];
    }
    let total: f64 = p.iter().sum();
    let edge: f64 = states.iter().zip(&p).filter(|(s, _)| s.0 == QUEUED).map(|(_, v)| v / total).sum();
    assert!(edge < 1e-12, "truncated at {QUEUED} queued with mass {edge} there");
    let in_system: f64 = states.iter().zip(&p).map(|(s, v)| (s.0 + s.1 + s.2) as f64 * v / total).sum();
    in_system / rate_per_s
}

/// X(n) of n tokens that each stay `own_s` away, then take `callee_s` of one of `servers`
/// (M/M/m//n by its birth-death weights, written out again here).
fn pair_throughput_per_s(tokens: usize, servers: usize, own_s: f64, callee_s: f64) -> f64 {
    let mut weights = vec![1.0f64];
    for k in 1..=tokens {
        weights.push(weights[k - 1] * (tokens - k + 1) as f64 / own_s * callee_s / k.min(servers) as f64);
    }
    let total: f64 = weights.iter().sum();
    weights.iter().enumerate().map(|(k, w)| w / total * k.min(servers) as f64 / callee_s).sum()
}

/// One instance of few workers is solved by the pair's chain itself (`held_pair_chain.rs`,
/// levels by requests in the system, phases by calls at the callee, the repeating levels'
/// rate matrix by logarithmic reduction): the same response as the chain written out here as
/// a plain truncated generator and solved by elimination, to 10⁻⁶, from light load to 97%
/// of what the pair can do (X(workers)). The flow-equivalent server it replaces was 19.7%
/// over at 85% (2 workers over 1) and 24% at 95% (4 over 1 or 2).
#[test]
fn one_pool_of_few_workers_is_its_exact_chain() {
    // (workers, servers, own ms, callee ms, load)
    let cases = [
        (2, 1, 2.0, 2.0, 0.6),
        (2, 1, 5.0, 2.0, 0.85),
        (4, 2, 2.0, 10.0, 0.85),
        (3, 2, 0.5, 2.0, 0.6),
        (8, 3, 2.0, 10.0, 0.85),
        (4, 1, 1.0, 10.0, 0.3),
        (4, 2, 10.0, 5.0, 0.95),
        (2, 1, 20.0, 15.0, 0.97),
        (12, 4, 8.0, 3.0, 0.9),
    ];
    for (workers, servers, own_ms, callee_ms, load) in cases {
        let (own_s, callee_s) = (own_ms / 1e3, callee_ms / 1e3);
        let rate = load * pair_throughput_per_s(workers, servers, own_s, callee_s);
        let text = pair(rate, 1, workers as u32, servers as u32, own_ms, callee_ms);
        let view = view(&text);
        assert!(view.notes.iter().any(|note| note.contains("as their Markov chain")), "{:?}", view.notes);
        let predicted = view.response_s.expect("a response below saturation");
        let exact = exact_response_s(rate, workers, servers, own_s, callee_s);
        let error = predicted / exact - 1.0;
        eprintln!(
            "{workers} over {servers} at {rate:.2}/s: exact {exact:.6} s, view {predicted:.6} s ({:+.2e})",
            error
        );
        assert!(error.abs() < 1e-6, "{text}\nexact {exact}, view {predicted}");
        assert!(view.nodes.iter().all(|node| node.utilization.is_none_or(|u| u < 1.0)), "{:?}", view.nodes);
    }
}

/// The chain takes a visit's own work as one exponential stage before its call. With the
/// work split around the call (10 ms before, 10 ms after, 2 workers over a callee of 1 of
/// 15 ms, 75% of X(2)), the three-stage chain (solved apart by Gauss–Seidel sweeps) gives
/// 78.68 ms and the view 80.91 ms, 2.8% over; the flow-equivalent server said 92.27. A run
/// must agree with the view within that 2.8% and its noise (the bound stated here is 4%).
#[test]
fn work_split_around_the_call_stays_close_to_a_run() {
    let rate = 0.75 * pair_throughput_per_s(2, 1, 0.020, 0.015);
    let text = format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate}/s"), to: "front")],
            nodes: {{
                "front": Service(workers: 2, steps: [Work(Exp(mean: "10ms")), Call("back"), Work(Exp(mean: "10ms"))]),
                "back": Service(workers: 1, steps: [Work(Exp(mean: "15ms"))]),
            }},
        )"#
    );
    let predicted = view(&text).response_s.expect("a response below saturation");
    assert!((predicted - 0.08091).abs() < 0.0001, "{predicted}");
    replicate(&text, 10, requests(200_000), 5.0, |report| report.latency_s.mean.unwrap()).assert_near(
        "2 workers over 1, work split around the call, response",
        predicted,
        0.04 * predicted,
        0.1,
    );
}

/// The chain the test above takes as exact is: a run of the first pair reproduces it.
#[test]
fn the_simulation_reproduces_the_exact_chain() {
    let text = pair(246.21, 1, 2, 1, 2.0, 2.0);
    let exact = exact_response_s(246.21, 2, 1, 0.002, 0.002);
    replicate(&text, 10, requests(200_000), 5.0, |report| report.latency_s.mean.unwrap()).assert_covers(
        "2 workers over 1, response",
        exact,
        0.02,
    );
}

/// Two instances of 2 workers over a callee of 1 at 85 req/s (85% of it busy): M/M/c for
/// each put the caller past saturation (1.44 busy), where a run has it at 0.68. The view
/// has the run's utilizations and the callee's wait (all four workers pooled); an instance's
/// wait is its own workers' flow-equivalent server beside the other's mean busy workers,
/// which over 40 random pairs of 2 to 4 instances came within 1.5% of a run's response at
/// the median and 19% at worst, here 16% under it: the bound stated is 20%.
#[test]
fn instances_over_a_smaller_pool_are_not_saturated_and_match_a_run() {
    let text = pair(85.0, 2, 2, 1, 1.0, 10.0);
    let view = view(&text);
    let (front, back) = (&view.nodes[0], &view.nodes[1]);
    let stop = requests(100_000);
    replicate(&text, 10, stop, 5.0, |report| report.nodes["front"].utilization).assert_near(
        "2×2 workers over 1, the caller's utilization",
        front.utilization.unwrap(),
        0.01,
        0.1,
    );
    replicate(&text, 10, stop, 5.0, |report| report.nodes["back"].wait_s.mean.unwrap()).assert_near(
        "2×2 workers over 1, the callee's wait",
        back.wait_s.unwrap(),
        0.05 * back.wait_s.unwrap(),
        0.1,
    );
    replicate(&text, 10, stop, 5.0, |report| report.latency_s.mean.unwrap()).assert_near(
        "2×2 workers over 1, response",
        view.response_s.unwrap(),
        0.2 * view.response_s.unwrap(),
        0.1,
    );
}

/// Where the pair is not alone, or a worker can be let go, the callees keep M/M/c: a callee
/// with as many workers as its caller (it never waits), a second caller, a node timeout, a
/// bulkhead, a callee of two instances, a caller whose two callees are both bounded by it.
#[test]
fn the_pair_is_only_taken_where_it_holds() {
    let front = |extra: &str, steps: &str| {
        format!(r#""front": Service(workers: 4, steps: [Work(Exp(mean: "1ms")), {steps}]{extra}),"#)
    };
    let back = r#""back": Service(workers: 2, steps: [Work(Exp(mean: "5ms"))]),"#;
    let cases = [
        (
            front("", r#"Call("back")"#),
            r#""back": Service(workers: 4, steps: [Work(Exp(mean: "5ms"))]),"#.to_string(),
            "users",
        ),
        (
            front("", r#"Call("back")"#),
            format!(r#"{back} "other": Service(workers: 4, steps: [Call("back")]),"#),
            "users, other",
        ),
        (front(r#", timeout: "1s""#, r#"Call("back")"#), back.to_string(), "users"),
        (front(r#", bulkheads: {"back": Bulkhead(limit: 3, queue: 8)}"#, r#"Call("back")"#), back.to_string(), "users"),
        (
            front("", r#"Call("back")"#),
            r#""back": Service(instances: 2, workers: 1, steps: [Work(Exp(mean: "5ms"))]),"#.to_string(),
            "users",
        ),
        (
            front("", r#"Call("back"), Call("store")"#),
            format!(r#"{back} "store": Service(workers: 2, steps: [Work(Exp(mean: "1ms"))]),"#),
            "users",
        ),
    ];
    for (front, callees, entries) in cases {
        let workloads: Vec<String> = entries
            .split(", ")
            .map(|name| {
                let to = if name == "users" { "front" } else { name };
                format!(r#"Open(name: "{name}", arrivals: Poisson(rate: "100/s"), to: "{to}")"#)
            })
            .collect();
        let text = format!("Topology(workload: [{}], nodes: {{ {front} {callees} }})", workloads.join(", "));
        let view = view(&text);
        assert!(view.notes.iter().all(|note| !note.contains("solved together")), "{text}\n{:?}", view.notes);
    }
    // And the plain pair is taken (the cases above differ from it in one thing each).
    let plain = format!(
        r#"Topology(workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), to: "front")], nodes: {{ {} {back} }})"#,
        front("", r#"Call("back")"#)
    );
    assert!(view(&plain).notes.iter().any(|note| note.contains("as their Markov chain")));
}
