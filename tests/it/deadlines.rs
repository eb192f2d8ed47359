//! Deadlines: a request carries its callers' timeouts down the call chain, and a service
//! that honours them drops work nobody waits for instead of doing it.

use crate::check::{seconds, simulate};

/// Clients give up after 1 s on a server loaded to 1.5× its capacity (10/s of Exp(100 ms)
/// work, 15/s arriving, up to 50 waiting, so a full queue means 5 s of wait). A FIFO
/// server that ignores deadlines spends its time on requests whose clients have gone:
/// nothing it serves is in time (goodput collapse). One that drops expired requests serves
/// only live ones, most of which finish in time: its goodput is most of its capacity.
#[test]
fn dropping_expired_work_keeps_goodput_under_overload() {
    let text = |drop: bool| {
        format!(
            r#"Topology(
                workload: [Open(name: "u", arrivals: Poisson(rate: "15/s"), to: "app", client: CallPolicy(timeout: "1s"))],
                nodes: {{ "app": Service(queue: 50, drop_expired: {drop}, steps: [Work(Exp(mean: "100ms"))]) }},
            )"#
        )
    };
    let ignoring = simulate(&text(false), 3, seconds(20_000.0), 100.0);
    let honouring = simulate(&text(true), 3, seconds(20_000.0), 100.0);
    let goodput = |report: &sim_core::Report| report.requests.completed as f64 / 19_900.0;
    let (wasted, kept) = (goodput(&ignoring), goodput(&honouring));
    eprintln!("goodput: ignoring {wasted}/s, honouring {kept}/s");
    assert!(wasted < 0.5, "ignoring deadlines, goodput {wasted}/s");
    assert!(kept > 5.0, "honouring deadlines, goodput {kept}/s of a capacity of 10/s");
    let expired = honouring.resilience.as_ref().unwrap().nodes["app"].expired;
    assert!(expired > 5_000, "expired requests dropped: {expired}");
    assert!(ignoring.resilience.as_ref().unwrap().nodes.get("app").is_none_or(|node| node.expired == 0));
}

/// A deadline passes down a chain: the client's 50 ms reaches the database behind the app,
/// which drops what waited past it; a service without `drop_expired` never drops.
#[test]
fn deadlines_pass_down_the_call_chain() {
    let text = r#"Topology(
        workload: [Open(name: "u", arrivals: Poisson(rate: "200/s"), to: "app", client: CallPolicy(timeout: "50ms"))],
        nodes: {
            "app": Service(workers: 100, steps: [Work(Exp(mean: "1ms")), Call("db")]),
            "db": Service(workers: 1, drop_expired: true, steps: [Work(Exp(mean: "5.5ms"))]),
        },
    )"#;
    let report = simulate(text, 5, seconds(200.0), 10.0);
    let nodes = &report.resilience.as_ref().unwrap().nodes;
    assert!(nodes["db"].expired > 100, "{:?}", nodes.get("db"));
    assert!(nodes.get("app").is_none_or(|node| node.expired == 0));
}
