//! Database replication modes and read routing against theory: a semi-synchronous write
//! answered at the k-th fastest replica (an order statistic), the timeout that ends the
//! wait, and read-your-writes routing as the chance of a write within the window.

use crate::check::{replicate, seconds, simulate};
use sim_core::Report;

fn database_topology(replication: &str, lag: &str, extra: &str, classes: &str, rate_per_s: f64) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), classes: {classes}, clients: 10, to: "db")],
            nodes: {{
                "db": Database(replicas: 3, connections: 64, read: Constant("2ms"), write: Constant("5ms"),
                               writes: ["write"], replication_lag: {lag}, replication: {replication}{extra}),
            }},
        )"#
    )
}

fn mean_sojourn_s(report: &Report) -> f64 {
    report.nodes["db"].mean_sojourn_s.unwrap()
}

/// A write waits for its k-th replica: with n replicas whose lags are independent Exp(m)
/// (writes 200 ms apart, so that in-order apply never binds), the k-th smallest of n has
/// mean m·(1/n + 1/(n−1) + … + 1/(n−k+1)) (Rényi's representation of exponential order
/// statistics), so the write's sojourn is its 5 ms plus that.
#[test]
fn a_semi_synchronous_write_waits_for_its_kth_fastest_replica() {
    let m = 0.010;
    for (replication, k) in [("SemiSync(acks: 1)", 1), ("SemiSync(acks: 2)", 2), ("Sync", 3)] {
        // Evenly spaced writes: a replica still applying the write before (200 ms earlier)
        // would hold the next one back (replicas apply in commit order), which Poisson gaps
        // make likely enough to move the mean by 2%.
        let text = database_topology(replication, r#"Some(Exp(mean: "10ms"))"#, "", r#"{"write": 1.0}"#, 5.0)
            .replace("Poisson(rate:", "Constant(rate:");
        let estimate = replicate(&text, 10, seconds(1000.0), 5.0, mean_sojourn_s);
        let order_statistic: f64 = (0..k).map(|i| 1.0 / (3 - i) as f64).sum::<f64>() * m;
        estimate.assert_covers(&format!("write sojourn with {replication}"), 0.005 + order_statistic, 0.03);
    }
    // Asynchronous writes are answered at their commit.
    let report = simulate(
        &database_topology("Async", r#"Some(Exp(mean: "10ms"))"#, "", r#"{"write": 1.0}"#, 5.0),
        1,
        seconds(100.0),
        0.0,
    );
    assert!((mean_sojourn_s(&report) - 0.005).abs() < 1e-9);
}

/// Replicas apply commits in order, so at a high write rate a write also waits for the
/// slower commits before it. With Poisson commits at λ and Exp(m) lags, a replica applies a
/// commit D after it with P(D ≤ x) = F(x)·exp(−λ∫ₓ^∞ (1 − F)) = (1 − e^(−x/m))·exp(−λm·e^(−x/m))
/// (Baccelli, Gelenbe and Plateau 1984): at λm = 1 its mean is 1.4288·m, not m. One replica
/// (`Sync`) makes the write's sojourn 5 ms + E[D] exactly; the analytic view adds the same.
#[test]
fn a_synchronous_write_waits_for_the_commits_before_it_to_apply() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), classes: {"write": 1.0}, to: "db")],
        nodes: {
            "db": Database(replicas: 1, connections: 64, read: Constant("2ms"), write: Constant("5ms"),
                           writes: ["write"], replication_lag: Exp(mean: "10ms"), replication: Sync),
        },
    )"#;
    let (m, rate) = (0.010, 100.0);
    // E[D] = ∫ (1 − P(D ≤ x)) dx, by the trapezoid rule to 30 m.
    let cdf = |x: f64| (1.0 - (-x / m).exp()) * (-rate * m * (-x / m).exp()).exp();
    let step = m / 10_000.0;
    let delay_s: f64 =
        (0..300_000).map(|i| step * (1.0 - 0.5 * (cdf(i as f64 * step) + cdf((i + 1) as f64 * step)))).sum();
    approx::assert_relative_eq!(delay_s, 0.014_288, max_relative = 1e-4);
    replicate(text, 10, seconds(200.0), 5.0, mean_sojourn_s).assert_covers(
        "write sojourn behind the commits before it",
        0.005 + delay_s,
        0.02,
    );
    let topology = sim_core::parse_topology(text).unwrap();
    let analysis = sim_core::analysis::analyze(&topology, &[None]).unwrap();
    // The view draws 20,000 lags to stand for their distribution: within 1.5%.
    approx::assert_relative_eq!(analysis.response_s.unwrap(), 0.005 + delay_s, max_relative = 0.015);
}

/// The analytic view's wait of a semi-synchronous or synchronous write for its
/// acknowledgements, with replicas that share the commit times: given the commits, each of
/// R replicas has applied one x after it with the same probability p = F(x)·Πⱼ F(x + aⱼ),
/// independently, and E[pᵐ] = F(x)ᵐ·exp(−λ∫ₓ^∞(1 − Fᵐ)) (the Poisson process's generating
/// functional), so P(k applied) is a binomial mixture. At 200 writes a second over 3
/// replicas of Exp(10 ms), for 1, 2 and 3 acknowledgements, the view (its F from 100,000
/// draws of the lag: within 0.5%) agrees with the simulation.
#[test]
fn the_analytic_view_holds_a_semi_synchronous_write_for_its_acknowledgements() {
    for (replication, acks) in [("SemiSync(acks: 1)", 1), ("SemiSync(acks: 2)", 2), ("Sync", 3)] {
        let text = database_topology(replication, r#"Some(Exp(mean: "10ms"))"#, "", r#"{"write": 1.0}"#, 200.0);
        let topology = sim_core::parse_topology(&text).unwrap();
        let predicted_s = sim_core::analysis::analyze(&topology, &[None]).unwrap().response_s.unwrap();
        let asynchronous = text.replace(replication, "Async");
        let topology = sim_core::parse_topology(&asynchronous).unwrap();
        assert_eq!(sim_core::analysis::analyze(&topology, &[None]).unwrap().response_s, Some(0.005));
        replicate(&text, 10, seconds(100.0), 5.0, mean_sojourn_s).assert_near(
            &format!("write sojourn, {acks} of 3 acknowledgements"),
            predicted_s,
            0.005 * predicted_s,
            0.02,
        );
    }
}

/// When the replicas are slower than the semi-synchronous timeout, each write is answered
/// at the timeout (MySQL's fallback to asynchronous), not later.
#[test]
fn a_semi_synchronous_write_gives_up_at_its_timeout() {
    let text = database_topology(
        r#"SemiSync(acks: 1, timeout: "100ms")"#,
        r#"Some(Constant("1s"))"#,
        "",
        r#"{"write": 1.0}"#,
        5.0,
    );
    let report = simulate(&text, 2, seconds(60.0), 0.0);
    assert!((mean_sojourn_s(&report) - 0.105).abs() < 1e-9, "{}", mean_sojourn_s(&report));
}

/// Read-your-writes keeps a client's reads on the primary for W after its write commits. A
/// client's commits are a Poisson process (its writes, shifted by the write's constant
/// time), so a read finds one within the last W with probability 1 − e^(−w·W): with 10
/// clients sharing 20% of 100/s, w = 2/s per client and W = 500 ms; with 20 000 clients
/// (whose last writes the database forgets once past the window, as it goes: it kept one
/// per client ever seen), w = 0.001/s and W = 1000 s. Both give 1 − e^(−1) = 0.632.
#[test]
fn read_your_writes_keeps_reads_on_the_primary_after_their_clients_write() {
    // (clients, the window, the run and its warm-up in seconds)
    for (clients, window, run_s, warmup_s) in [(10, "500ms", 300.0, 5.0), (20_000, "1000s", 4000.0, 2000.0)] {
        let text = database_topology(
            "Async",
            r#"Some(Exp(mean: "50ms"))"#,
            &format!(r#", read_your_writes: "{window}""#),
            r#"{"read": 0.8, "write": 0.2}"#,
            100.0,
        )
        .replace("clients: 10,", &format!("clients: {clients},"));
        let estimate = replicate(&text, 10, seconds(run_s), warmup_s, |r| {
            let db = r.nodes["db"].component.as_ref().and_then(|c| c.database()).unwrap();
            db.sticky_reads as f64 / db.reads as f64
        });
        estimate.assert_covers(
            &format!("share of reads kept on the primary, {clients} clients"),
            1.0 - (-1.0f64).exp(),
            0.02,
        );
    }
    // And those reads see their own writes: the stale share falls.
    let stale = |extra: &str| {
        let text =
            database_topology("Async", r#"Some(Exp(mean: "50ms"))"#, extra, r#"{"read": 0.8, "write": 0.2}"#, 100.0)
                .replace("clients: 10", "clients: 10, keys: Uniform(n: 20)");
        replicate(&text, 5, seconds(100.0), 5.0, |r| {
            r.nodes["db"].component.as_ref().and_then(|c| c.database()).unwrap().stale_read_ratio.unwrap()
        })
    };
    let without = stale("");
    let with = stale(r#", read_your_writes: "500ms""#);
    assert!(
        with.mean < 0.6 * without.mean,
        "stale share {} with read-your-writes, {} without",
        with.mean,
        without.mean
    );
}

/// The replication backlog counts the commits shipped to a replica and not yet due there:
/// with a constant lag L, those of the last L, a sliding count of the Poisson writes (mean
/// λL = 2 here, so its highest over 30 000 writes is about 9; P(N ≥ 13) = 2.6·10⁻⁷ a write).
/// With no read at all to apply them, the log kept every commit it had ever shipped, and
/// the backlog was the run's writes (and its memory grew with the run).
#[test]
fn the_replication_backlog_is_the_commits_still_on_their_way() {
    let text = database_topology("Async", r#"Some(Constant("20ms"))"#, "", r#"{"write": 1.0}"#, 100.0);
    let report = simulate(&text, 1, seconds(300.0), 0.0);
    let db = report.nodes["db"].component.as_ref().and_then(|c| c.database()).unwrap();
    assert!(db.writes > 29_000, "{} writes", db.writes);
    assert!((3..=12).contains(&db.max_replication_backlog), "backlog {}", db.max_replication_backlog);
}

fn cross_region_topology(replication: &str, classes: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "20/s"), classes: {classes}, clients: 10, to: "db")],
            nodes: {{
                "db": Database(replicas: 2, connections: 64, read: Constant("2ms"), write: Constant("5ms"),
                               writes: ["write"], replication_lag: Some(Constant("1ms")), replication: {replication},
                               replica_regions: ["us", "eu"]),
            }},
            regions: (placement: {{"us": ["db"], "eu": []}}, latency: [("us", "eu", Constant("40ms"))],
                      local: Constant("500us")),
        )"#
    )
}

/// A replica in another region gets each commit one region latency after its lag, and its
/// acknowledgement takes one more back: with constant times, a write that waits for the
/// remote replica (`Sync`) takes 5 ms + 1 ms + 40 ms + 40 ms, and one that waits for the
/// first (the local one) 5 ms + 1 ms + 0.5 ms + 0.5 ms, exactly.
#[test]
fn a_replica_in_another_region_acknowledges_a_round_trip_later() {
    for (replication, expected_s) in [("Sync", 0.086), ("SemiSync(acks: 1)", 0.007)] {
        let report = simulate(&cross_region_topology(replication, r#"{"write": 1.0}"#), 1, seconds(60.0), 1.0);
        let sojourn = mean_sojourn_s(&report);
        assert!((sojourn - expected_s).abs() < 1e-6, "{replication}: {sojourn}");
    }
}

/// Reads on the remote replica are stale while a commit of their key is on its way: with
/// one key, writes Poisson at w and a constant delay L = 1 ms lag + 40 ms crossing, a read
/// (served at time t) is stale when a write committed in (t − L, t]: 1 − e^(−wL). Reads go
/// round robin over the two replicas; the local one's L is 1.5 ms.
#[test]
fn reads_on_a_remote_replica_are_stale_for_a_crossing_after_each_write() {
    let text = cross_region_topology("Async", r#"{"write": 0.25, "read": 0.75}"#);
    let write_rate = 20.0 * 0.25;
    let stale = replicate(&text, 10, seconds(2000.0), 5.0, |r| {
        let database = r.nodes["db"].component.as_ref().and_then(|c| c.database()).unwrap();
        database.servers[2].stale_reads as f64 / database.servers[2].reads as f64
    });
    stale.assert_covers("stale share of the remote replica's reads", 1.0 - (-write_rate * 0.041f64).exp(), 0.05);
    let local = replicate(&text, 10, seconds(2000.0), 5.0, |r| {
        let database = r.nodes["db"].component.as_ref().and_then(|c| c.database()).unwrap();
        database.servers[1].stale_reads as f64 / database.servers[1].reads as f64
    });
    local.assert_covers("stale share of the local replica's reads", 1.0 - (-write_rate * 0.0015f64).exp(), 0.15);
}

/// Two regions 40 ms apart, each with its own API service calling one database whose
/// primary and first replica are in "us" and second replica in "eu": readers in each region
/// and writers in "eu". Every time is constant, so each workload's latency is exact: 0.5 ms
/// from the clients to the API and back, 1 ms of API work, and the database's query with
/// the trip to its server (0.5 ms each way within a region, 40 ms across).
fn nearest_topology(read_policy: &str, replica_regions: &str, scenario: &str) -> String {
    format!(
        r#"Topology(
            workload: [
                Open(name: "us-readers", arrivals: Poisson(rate: "20/s"), classes: {{"read": 1.0}}, to: "api-us", region: "us"),
                Open(name: "eu-readers", arrivals: Poisson(rate: "20/s"), classes: {{"read": 1.0}}, to: "api-eu", region: "eu"),
                Open(name: "eu-writers", arrivals: Poisson(rate: "5/s"), classes: {{"write": 1.0}}, to: "api-eu", region: "eu"),
            ],
            nodes: {{
                "api-us": Service(workers: 64, steps: [Work(Constant("1ms")), Call("db")]),
                "api-eu": Service(workers: 64, steps: [Work(Constant("1ms")), Call("db")]),
                "db": Database(replicas: 2, connections: 64, read: Constant("2ms"), write: Constant("5ms"),
                               writes: ["write"], replication_lag: Some(Constant("1ms")),
                               replica_regions: {replica_regions}, read_policy: {read_policy},
                               failover: Failover(detection: "1s", promotion: "0s")),
            }},
            regions: (placement: {{"us": ["api-us", "db"], "eu": ["api-eu"]}}, latency: [("us", "eu", Constant("40ms"))],
                      local: Constant("500us")),
            {scenario}
        )"#
    )
}

fn workload_latency_s(report: &Report, workload: &str) -> (f64, f64) {
    let latency = &report.workloads[workload].latency_s;
    (latency.mean.unwrap(), latency.max.unwrap())
}

/// `Nearest` reads each region's replica: 1 + 0.5 + 2 + 0.5 ms, plus the clients' 1 ms, in
/// both regions, and a write from "eu" crosses to the primary and back: 1 + 40 + 5 + 40 + 1.
/// Round robin over the replicas sends half the US reads across the ocean (84 ms), as a
/// driver with a replica list across regions does; before regional links it charged them
/// nothing.
#[test]
fn reads_go_to_the_nearest_replica_and_writes_cross_to_the_primary() {
    let report = simulate(&nearest_topology("Nearest", r#"["us", "eu"]"#, ""), 1, seconds(60.0), 1.0);
    for readers in ["us-readers", "eu-readers"] {
        let (mean, max) = workload_latency_s(&report, readers);
        assert!((mean - 0.005).abs() < 1e-9 && (max - 0.005).abs() < 1e-6, "{readers}: mean {mean}, max {max}");
    }
    let (mean, max) = workload_latency_s(&report, "eu-writers");
    assert!((mean - 0.087).abs() < 1e-9 && (max - 0.087).abs() < 1e-6, "eu-writers: mean {mean}, max {max}");
    let database = report.nodes["db"].component.as_ref().and_then(|c| c.database()).unwrap();
    let counted = |name: &str| report.workloads[name].requests.completed;
    assert_eq!(database.servers[0].reads, 0, "the primary takes no reads");
    assert_eq!(database.servers[1].reads, counted("us-readers"));
    assert_eq!(database.servers[2].reads, counted("eu-readers"));
    // The database's own sojourn is its servers' (2 ms reads, 5 ms writes), not the crossing.
    let (reads, writes) = (database.reads as f64, database.writes as f64);
    let servers_s = (reads * 0.002 + writes * 0.005) / (reads + writes);
    let sojourn_s = report.nodes["db"].mean_sojourn_s.unwrap();
    assert!((sojourn_s - servers_s).abs() < 1e-9, "{sojourn_s} against {servers_s}");

    let report = simulate(&nearest_topology("RoundRobin", r#"["us", "eu"]"#, ""), 1, seconds(60.0), 1.0);
    let (mean, max) = workload_latency_s(&report, "us-readers");
    assert!((max - 0.084).abs() < 1e-6, "a US read on the EU replica: {max}");
    assert!(mean > 0.03 && mean < 0.06, "about half the US reads cross: mean {mean}");
}

/// When its region has no server up, a `Nearest` read goes to the nearest region with one:
/// with the primary and the EU replica down (the first two servers), EU reads cross to the
/// US replica (84 ms) while US reads stay local; and once the EU replica is promoted after
/// a crash of the primary alone, writes from "eu" stay in "eu" (1 + 0.5 + 5 + 0.5 + 1 ms).
#[test]
fn a_nearest_read_crosses_when_its_region_has_no_server_up() {
    let crash = |instances: u32| {
        format!(r#"scenario: Scenario(faults: [Crash(node: "db", at: "0s", until: "1000s", instances: {instances})]),"#)
    };
    let report = simulate(&nearest_topology("Nearest", r#"["eu", "us"]"#, &crash(2)), 1, seconds(60.0), 1.0);
    let (mean, max) = workload_latency_s(&report, "eu-readers");
    assert!((mean - 0.084).abs() < 1e-9 && (max - 0.084).abs() < 1e-6, "eu-readers: mean {mean}, max {max}");
    let (mean, _) = workload_latency_s(&report, "us-readers");
    assert!((mean - 0.005).abs() < 1e-9, "us-readers: {mean}");

    let report = simulate(&nearest_topology("Nearest", r#"["eu", "us"]"#, &crash(1)), 1, seconds(60.0), 5.0);
    assert_eq!(report.resilience.as_ref().unwrap().failovers["db"].primary_at_end, 1);
    let (mean, max) = workload_latency_s(&report, "eu-writers");
    assert!((mean - 0.008).abs() < 1e-9 && (max - 0.008).abs() < 1e-6, "eu-writers: mean {mean}, max {max}");
}

/// The analytic view routes reads as the model does: under `Nearest`, each replica takes
/// its own region's reads (20/s each, the primary only the 5/s of writes), and the
/// predicted mean response is the exact one: (20 × 5 + 20 × 5 + 5 × 87) ÷ 45 ms.
#[test]
fn the_analytic_view_sends_each_regions_reads_to_its_nearest_replica() {
    let text = nearest_topology("Nearest", r#"["us", "eu"]"#, "");
    let topology = sim_core::parse_topology(&text).unwrap();
    let analysis = sim_core::analysis::analyze(&topology, &[None, None, None]).unwrap();
    let db = analysis.nodes.iter().find(|node| node.name == "db").unwrap();
    let rates: Vec<f64> = db.parts.iter().map(|part| part.arrival_rate_per_s).collect();
    approx::assert_relative_eq!(rates.as_slice(), [5.0, 20.0, 20.0].as_slice(), max_relative = 1e-9);
    let expected_s = (20.0 * 0.005 + 20.0 * 0.005 + 5.0 * 0.087) / 45.0;
    approx::assert_relative_eq!(analysis.response_s.unwrap(), expected_s, max_relative = 1e-9);
}

/// An outage of "us" takes down the servers there (the primary and the US replica) and not
/// the EU replica: EU readers keep reading in "eu" (5 ms), and once failover has promoted
/// the EU replica, EU writers write there (8 ms), while US readers, their API down, fail.
/// (The outage used to crash the whole database with its node's region.)
#[test]
fn a_region_outage_takes_down_only_a_databases_servers_in_the_region() {
    let scenario = r#"scenario: Scenario(faults: [RegionOutage(region: "us", at: "0s", until: "1000s")]),"#;
    let report = simulate(&nearest_topology("Nearest", r#"["us", "eu"]"#, scenario), 1, seconds(60.0), 5.0);
    for (workload, expected_s) in [("eu-readers", 0.005), ("eu-writers", 0.008)] {
        let requests = &report.workloads[workload].requests;
        assert_eq!(requests.completed, requests.generated, "{workload}: {requests:?}");
        let (mean, max) = workload_latency_s(&report, workload);
        assert!((mean - expected_s).abs() < 1e-9 && (max - expected_s).abs() < 1e-6, "{workload}: {mean}, {max}");
    }
    assert_eq!(report.workloads["us-readers"].requests.completed, 0);
    assert_eq!(report.resilience.as_ref().unwrap().failovers["db"].primary_at_end, 2);
}

/// A request handed on to the database by a front end in "eu" (a `Forward` step), whose
/// answer goes straight to the clients, still crosses to the primary in "us": 0.5 ms from
/// the clients, 1 ms of work, 40 ms across, the 5 ms write, and 40 ms back to the clients'
/// region (it was answered without the crossing there before the hand-off took the plain
/// link).
#[test]
fn a_query_handed_on_to_a_database_in_another_region_crosses_to_it() {
    let text = r#"Topology(
        workload: [Open(name: "writers", arrivals: Poisson(rate: "10/s"), classes: {"write": 1.0}, to: "front", region: "eu")],
        nodes: {
            "front": Service(workers: 64, steps: [Work(Constant("1ms")), Forward("db")]),
            "db": Database(replicas: 1, connections: 64, read: Constant("2ms"), write: Constant("5ms"),
                           writes: ["write"], replica_regions: ["eu"], read_policy: Nearest),
        },
        regions: (placement: {"us": ["db"], "eu": ["front"]}, latency: [("us", "eu", Constant("40ms"))],
                  local: Constant("500us")),
    )"#;
    let report = simulate(text, 1, seconds(30.0), 1.0);
    let (mean, max) = workload_latency_s(&report, "writers");
    assert!((mean - 0.0865).abs() < 1e-9 && (max - 0.0865).abs() < 1e-6, "writers: mean {mean}, max {max}");
}

/// A partition between the regions cuts each query off from a server across it, and only
/// from those: EU readers keep reading their replica (5 ms), EU writers fail as unreachable
/// after the connect timeout, and US readers are not touched. (The partition used to be
/// taken at the database node's region, cutting the EU readers off too.)
#[test]
fn a_partition_cuts_queries_off_from_the_servers_across_it() {
    let scenario = r#"scenario: Scenario(faults: [Partition(between: ["us"], and: ["eu"], at: "0s", until: "1000s", timeout: "2s")]),"#;
    let report = simulate(&nearest_topology("Nearest", r#"["us", "eu"]"#, scenario), 1, seconds(60.0), 5.0);
    for readers in ["us-readers", "eu-readers"] {
        let requests = &report.workloads[readers].requests;
        assert_eq!(requests.completed, requests.generated, "{readers}: {requests:?}");
        let (mean, _) = workload_latency_s(&report, readers);
        assert!((mean - 0.005).abs() < 1e-9, "{readers}: {mean}");
    }
    let writers = &report.workloads["eu-writers"].requests;
    assert_eq!(writers.completed, 0, "{writers:?}");
    assert!(writers.failed > 200, "{writers:?}");
    assert!(
        report.errors_by_reason.keys().any(|reason| reason.starts_with("unreachable")),
        "{:?}",
        report.errors_by_reason
    );
}
