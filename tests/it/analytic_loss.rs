//! The analytic view's nodes that refuse for want of a place (a service's bounded queue or
//! load shedding, a function's concurrency): each instance the M/M/c/K queue, its refusals
//! thinning what it sends on, the bottleneck judged by the load offered, the response over
//! the requests that complete and the share that do; and the view against runs.

use crate::check::{replicate, run_cli, seconds};
use sim_core::analysis::{analyze, Analysis};

fn view(text: &str) -> Analysis {
    let topology = sim_core::parse_topology(text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    analyze(&topology, &vec![None; topology.nodes.len()]).unwrap()
}

/// Poisson arrivals at `rate` to "s", whose node is `node` (exponential work of 1 s).
fn one_node(rate_per_s: f64, node: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "s")],
            nodes: {{ "s": {node} }},
        )"#
    )
}

/// M/M/c/K's count probabilities by their defining products (Gross et al., *Fundamentals
/// of Queueing Theory*, §2.5): p_n ∝ aⁿ/n! up to c, p_c·(a/c)^(n−c) beyond; the refused
/// share p_{c+K} and the admitted arrivals' mean wait L_q ÷ λ(1 − p_{c+K}).
fn mmck(servers: usize, places: usize, rate_per_s: f64, holding_s: f64) -> (f64, f64) {
    let offered = rate_per_s * holding_s;
    let mut weights = vec![1.0_f64];
    for n in 1..=servers + places {
        weights.push(weights[n - 1] * offered / n.min(servers) as f64);
    }
    let total: f64 = weights.iter().sum();
    let refused = weights[servers + places] / total;
    let queued: f64 = (servers..=servers + places).map(|n| (n - servers) as f64 * weights[n] / total).sum();
    (refused, queued / (rate_per_s * (1.0 - refused)))
}

/// Each room as the view takes it, exactly: Erlang's loss system (a service without a
/// queue, a function, whose containers are its servers), M/M/c/K with a queue, load
/// shedding as a queue of its threshold, and the tighter of a queue and a threshold. Its
/// busy share is what it admits, the bottleneck is judged by what it is offered (saturating
/// at c/h), the response is the admitted requests' and the completed share 1 − refused.
#[test]
fn a_room_is_the_m_m_c_k_queue() {
    #[rustfmt::skip]
    let cases = [
        // Erlang B(10, 8) = 0.121661 (Gross et al., Erlang B tables).
        ("no queue", 8.0, r#"Service(workers: 10, queue: 0, steps: [Work(Exp(mean: "1s"))])"#, 10, 0),
        ("function", 8.0, r#"Function(concurrency: 10, cold_start: Constant("0s"), keep_alive: "0s", steps: [Work(Exp(mean: "1s"))])"#, 10, 0),
        ("queue", 3.0, r#"Service(workers: 2, queue: 3, steps: [Work(Exp(mean: "1s"))])"#, 2, 3),
        ("shedding", 1.8, r#"Service(workers: 2, shed_above: 4, steps: [Work(Exp(mean: "1s"))])"#, 2, 4),
        ("both", 0.9, r#"Service(workers: 1, queue: 6, shed_above: 2, steps: [Work(Exp(mean: "1s"))])"#, 1, 2),
    ];
    for (name, rate, node, servers, places) in cases {
        let analysis = view(&one_node(rate, node));
        let s = &analysis.nodes[0];
        let (refused, wait_s) = mmck(servers, places, rate, 1.0);
        approx::assert_relative_eq!(s.refused.unwrap(), refused, max_relative = 1e-9);
        approx::assert_relative_eq!(s.wait_s.unwrap(), wait_s, max_relative = 1e-9, epsilon = 1e-12);
        approx::assert_relative_eq!(
            s.utilization.unwrap(),
            rate * (1.0 - refused) / servers as f64,
            max_relative = 1e-9
        );
        approx::assert_relative_eq!(analysis.response_s.unwrap(), wait_s + 1.0, max_relative = 1e-9);
        approx::assert_relative_eq!(analysis.completed_share.unwrap(), 1.0 - refused, max_relative = 1e-9);
        approx::assert_relative_eq!(analysis.saturation_rate_per_s.unwrap(), servers as f64, max_relative = 1e-9);
        assert_eq!(analysis.bottleneck, Some(0), "{name}");
        let line = sim_batch::analysis::bottleneck_line(&analysis);
        assert!(line.contains(&format!("offered {:.3}× its capacity", rate / servers as f64)), "{name}: {line}");
        if name == "no queue" {
            assert!((refused - 0.121_661).abs() < 1e-6, "{refused}");
        }
    }
}

/// Offered more than it can serve, a room still has a steady state: the view gives its
/// refusals and waits where an unbounded queue would have none.
#[test]
fn an_overloaded_room_keeps_a_steady_state() {
    let analysis = view(&one_node(3.0, r#"Service(workers: 2, queue: 3, steps: [Work(Exp(mean: "1s"))])"#));
    assert!(!analysis.saturated && analysis.response_s.is_some(), "{analysis:?}");
    // p_5 = 15.1875 / 40.5625 of the counts 1, 3, 4.5, 6.75, 10.125, 15.1875.
    approx::assert_relative_eq!(analysis.nodes[0].refused.unwrap(), 15.1875 / 40.5625, max_relative = 1e-12);
    let line = sim_batch::analysis::bottleneck_line(&analysis);
    assert!(line.contains("offered 1.500× its capacity") && line.contains("past saturation"), "{line}");
    let unbounded = view(&one_node(3.0, r#"Service(workers: 2, steps: [Work(Exp(mean: "1s"))])"#));
    assert!(unbounded.saturated && unbounded.response_s.is_none() && unbounded.nodes[0].refused.is_none());
}

/// A room that never fills (1000 places at half load) changes nothing: the wait is M/M/c's
/// and no refusal is said.
#[test]
fn a_room_that_never_fills_is_an_unbounded_queue() {
    let roomy = view(&one_node(1.0, r#"Service(workers: 2, queue: 1000, steps: [Work(Exp(mean: "1s"))])"#));
    let unbounded = view(&one_node(1.0, r#"Service(workers: 2, steps: [Work(Exp(mean: "1s"))])"#));
    approx::assert_relative_eq!(
        roomy.nodes[0].wait_s.unwrap(),
        unbounded.nodes[0].wait_s.unwrap(),
        max_relative = 1e-12
    );
    approx::assert_relative_eq!(roomy.response_s.unwrap(), unbounded.response_s.unwrap(), max_relative = 1e-12);
    assert!(roomy.nodes[0].refused.unwrap() < 1e-100);
    assert!(sim_batch::analysis::refusal_lines(&roomy).is_empty());
}

/// A refusing front sends on only what it takes: "back" gets λ(1 − B) and its waits follow
/// from that; a request completes if neither refuses it, (1 − B_front)(1 − p_back).
#[test]
fn refusals_thin_what_a_node_sends_on() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "8/s"), to: "front")],
        nodes: {
            "front": Service(workers: 10, queue: 0, steps: [Forward("back")]),
            "back": Service(workers: 1, queue: 4, steps: [Work(Exp(mean: "100ms"))]),
        },
    )"#;
    let analysis = view(text);
    // "front" holds a worker for no time: it never refuses. Give it work instead.
    assert!(analysis.nodes[0].refused.unwrap() < 1e-12, "{:?}", analysis.nodes[0]);
    let text = text.replace(r#"steps: [Forward("back")]"#, r#"steps: [Work(Exp(mean: "1s")), Forward("back")]"#);
    let analysis = view(&text);
    let (front, back) = (&analysis.nodes[0], &analysis.nodes[1]);
    let (front_refused, _) = mmck(10, 0, 8.0, 1.0);
    approx::assert_relative_eq!(front.refused.unwrap(), front_refused, max_relative = 1e-9);
    let back_rate = 8.0 * (1.0 - front_refused);
    approx::assert_relative_eq!(back.arrival_rate_per_s, back_rate, max_relative = 1e-9);
    let (back_refused, back_wait_s) = mmck(1, 4, back_rate, 0.1);
    approx::assert_relative_eq!(back.refused.unwrap(), back_refused, max_relative = 1e-9);
    approx::assert_relative_eq!(back.wait_s.unwrap(), back_wait_s, max_relative = 1e-9);
    approx::assert_relative_eq!(
        analysis.completed_share.unwrap(),
        (1.0 - front_refused) * (1.0 - back_refused),
        max_relative = 1e-9
    );
    // The completed requests' response: front's work (no wait), then back's admitted sojourn.
    approx::assert_relative_eq!(analysis.response_s.unwrap(), 1.0 + back_wait_s + 0.1, max_relative = 1e-9);
}

/// A caller holds its worker for a call the callee refuses only for the trip: its busy
/// share counts the refused calls' answers as immediate.
#[test]
fn a_refused_call_frees_its_callers_worker_at_once() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), to: "app")],
        nodes: {
            "app": Service(workers: 1000, steps: [Work(Constant("1ms")), Call("db")]),
            "db": Service(workers: 2, queue: 0, steps: [Work(Exp(mean: "20ms"))]),
        },
    )"#;
    let analysis = view(text);
    let (refused, _) = mmck(2, 0, 100.0, 0.02);
    approx::assert_relative_eq!(analysis.nodes[1].refused.unwrap(), refused, max_relative = 1e-9);
    approx::assert_relative_eq!(analysis.nodes[0].holding_s, 0.001 + (1.0 - refused) * 0.02, max_relative = 1e-9);
    // The completed requests waited for db's whole answer.
    approx::assert_relative_eq!(analysis.response_s.unwrap(), 0.021, max_relative = 1e-9);
}

/// Against runs: the refused share and the response of a queue of few places, exact, within
/// the runs' 99% interval, with exponential work (M/M/2/5) and with constant work on one
/// worker (M/D/1/4, its chain at departures: 9.14% refused, where M/M/1/4 said 16.0%); and a chain of two rooms, whose second gets exactly what the
/// first takes, λ(1 − B). The first's departures are not Poisson (a loss system cuts its
/// bursts off: they come smoother), so the second refuses fewer than M/M/c/K says and the
/// completed share is a little higher than the view's: within 2% here (0.772 in the view,
/// 0.783 ± 0.002 simulated).
#[test]
fn the_views_refusals_agree_with_runs() {
    let text = one_node(3.0, r#"Service(workers: 2, queue: 3, steps: [Work(Exp(mean: "1s"))])"#);
    let analysis = view(&text);
    let refused = |r: &sim_core::report::Report| r.requests.rejected as f64 / r.requests.generated as f64;
    replicate(&text, 10, seconds(20_000.0), 100.0, refused).assert_covers(
        "M/M/2/5 refused share",
        analysis.nodes[0].refused.unwrap(),
        0.02,
    );
    replicate(&text, 10, seconds(20_000.0), 100.0, |r| r.latency_s.mean.unwrap()).assert_covers(
        "M/M/2/5 response (s)",
        analysis.response_s.unwrap(),
        0.02,
    );
    let constant = one_node(0.9, r#"Service(workers: 1, queue: 3, steps: [Work(Constant("1s"))])"#);
    let analysis = view(&constant);
    let refused_share = analysis.nodes[0].refused.unwrap();
    assert!((refused_share - 0.0914).abs() < 5e-4, "{refused_share}");
    replicate(&constant, 10, seconds(20_000.0), 100.0, refused).assert_covers(
        "M/D/1/4 refused share",
        refused_share,
        0.05,
    );
    replicate(&constant, 10, seconds(20_000.0), 100.0, |r| r.latency_s.mean.unwrap()).assert_covers(
        "M/D/1/4 response (s)",
        analysis.response_s.unwrap(),
        0.02,
    );
    let chain = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "9/s"), to: "front")],
        nodes: {
            "front": Service(workers: 10, queue: 0, steps: [Work(Exp(mean: "1s")), Forward("back")]),
            "back": Service(workers: 1, queue: 4, steps: [Work(Exp(mean: "100ms"))]),
        },
    )"#;
    let analysis = view(chain);
    let measured_s = 20_000.0 - 100.0;
    replicate(chain, 10, seconds(20_000.0), 100.0, |r| r.nodes["back"].arrivals as f64 / measured_s).assert_covers(
        "chain: what the front sends on (req/s)",
        analysis.nodes[1].arrival_rate_per_s,
        0.02,
    );
    let completed = replicate(chain, 10, seconds(20_000.0), 100.0, |r| r.availability.unwrap());
    let predicted = analysis.completed_share.unwrap();
    assert!(
        predicted < completed.mean && (completed.mean - predicted) / completed.mean < 0.02,
        "chain completed share: view {predicted}, simulated {} ± {}",
        completed.mean,
        completed.half_width
    );
}

/// `analyze --simulate` puts each node's measured refusals and the completed share beside
/// the view's, and they agree on Erlang's loss system.
#[test]
fn analyze_simulate_checks_the_refusals() {
    let dir = std::env::temp_dir().join(format!("archsim-loss-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("loss.ron");
    let node =
        r#"Function(concurrency: 10, cold_start: Constant("0s"), keep_alive: "0s", steps: [Work(Exp(mean: "100ms"))])"#;
    std::fs::write(&path, one_node(80.0, node)).unwrap();
    let (status, stdout, stderr) =
        run_cli(&["analyze", path.to_str().unwrap(), "--simulate", "--duration", "2000s", "--replications", "5"]);
    assert_eq!(status, 0, "{stderr}");
    let line = |start: &str| stdout.lines().find(|line| line.starts_with(start)).unwrap_or_else(|| panic!("{stdout}"));
    let refused = line("refused: \"s\" turns away 12.17% of its arrivals");
    assert!(refused.contains("; simulated ") && refused.ends_with("(ok)"), "{refused}");
    let completed = line("predicted share of requests completed: 87.83%");
    assert!(completed.ends_with("(ok)"), "{completed}");
    // The function waits for nothing: its response is its work.
    assert!(stdout.contains("predicted mean end-to-end response: 100 ms"), "{stdout}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Instances only a least-connections balancer feeds: unbounded, their chain
/// (`shortest_queue.rs`), which waits more than one pool of all their workers (M/M/3,
/// Erlang C(3, 2.4) · h/(c − a): a request that waits stays at its instance) and far less
/// than 3 separate M/M/1 queues (200 ms), as the runs do; with places, the chain up to each
/// instance's room, whose refusals and wait the runs' 99% intervals cover.
#[test]
fn least_connections_instances_wait_as_their_chain_and_refuse_as_one_pool() {
    let text = |queue: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "48/s"), to: "lb")],
                nodes: {{
                    "lb": LoadBalancer(algorithm: LeastConnections, backends: ["s"]),
                    "s": Service(instances: 3, workers: 1, {queue} steps: [Work(Exp(mean: "50ms"))]),
                }},
            )"#
        )
    };
    let unbounded = text("");
    let analysis = view(&unbounded);
    let pooled_s = sim_core::analysis::mmc_wait_s(3, 48.0, 0.05).unwrap();
    let wait_s = analysis.nodes[1].wait_s.unwrap();
    assert!(pooled_s < wait_s && wait_s < 0.2, "{wait_s} against one pool's {pooled_s}");
    assert!(
        analysis.notes.iter().any(|note| note.contains("by least connections from \"lb\"")),
        "{:?}",
        analysis.notes
    );
    let simulated = replicate(&unbounded, 10, seconds(2000.0), 50.0, |r| r.nodes["s"].mean_wait_s.unwrap());
    assert!(
        (simulated.mean - wait_s).abs() <= simulated.half_width + 0.01 * (wait_s + 0.05),
        "view {wait_s}, least connections {} ± {}",
        simulated.mean,
        simulated.half_width
    );
    // With 2 places each, at 1.17× capacity: the chain up to each instance's room refuses
    // more than one pool's M/M/3/9 (a worker may sit idle while another instance has
    // requests waiting, so the instances are all full more often).
    let bounded_text = text("queue: 2,").replace("48/s", "70/s");
    let bounded = view(&bounded_text);
    let (pooled_refused, _) = mmck(3, 6, 70.0, 0.05);
    let refused = bounded.nodes[1].refused.unwrap();
    assert!(refused >= pooled_refused, "{refused} against one pool's {pooled_refused}");
    let share = |r: &sim_core::report::Report| r.requests.rejected as f64 / r.requests.generated as f64;
    replicate(&bounded_text, 10, seconds(20_000.0), 50.0, share).assert_covers("refused share", refused, 0.02);
    let waits = replicate(&bounded_text, 10, seconds(20_000.0), 50.0, |r| r.nodes["s"].mean_wait_s.unwrap());
    waits.assert_covers("wait of those taken (s)", bounded.nodes[1].wait_s.unwrap(), 0.02);
}
