//! Cache variants against renewal theory and conservation: single-flight coalescing of a hot
//! key's misses, TTL jitter (which moves expiries but not the hit ratio), a fallback to the
//! backend while the cache is down, and the order of a write and its invalidation.

use crate::check::{assert_conserved, replicate, seconds, simulate};
use sim_core::Report;

fn cache(report: &Report) -> &sim_core::report::CacheReport {
    report.nodes["cache"].component.as_ref().and_then(|c| c.cache()).unwrap()
}

fn hot_key_topology(rate_per_s: f64, extra: &str) -> String {
    hot_key_with_ttl(rate_per_s, "50ms", "20ms", extra)
}

/// One hot key at Poisson rate λ, a fixed TTL T and a fetch taking D. With single-flight a
/// cycle is: the entry lives T, the first request after it expires comes Exp(λ) later and
/// fetches for D while every other request waits. So the backend sees one fetch per cycle of
/// mean length T + 1/λ + D (renewal-reward), and λD requests per cycle wait for it.
#[test]
fn single_flight_fetches_a_hot_key_once_per_expiry() {
    let (rate, ttl_s, fetch_s) = (200.0, 0.05, 0.02);
    let cycle_s = ttl_s + 1.0 / rate + fetch_s;
    let text = hot_key_topology(rate, ", coalesce: true");
    let duration_s = 200.0;
    let fetches =
        replicate(&text, 10, seconds(duration_s), 5.0, |r| r.nodes["db"].arrivals as f64 / (duration_s - 5.0));
    fetches.assert_covers("backend fetches per second with single-flight", 1.0 / cycle_s, 0.02);
    let waited = replicate(&text, 10, seconds(duration_s), 5.0, |r| cache(r).coalesced as f64 / (duration_s - 5.0));
    waited.assert_covers("misses that waited per second", rate * fetch_s / cycle_s, 0.03);
    // Without it every request during the fetch calls the backend too: a stampede.
    let stampede = replicate(&hot_key_topology(rate, ""), 10, seconds(duration_s), 5.0, |r| {
        r.nodes["db"].arrivals as f64 / (duration_s - 5.0)
    });
    assert!(stampede.mean > 3.0 * fetches.mean, "{} fetches/s without single-flight, {}", stampede.mean, fetches.mean);
}

/// A failed fetch fails the misses that waited for it: the counts still add up.
#[test]
fn a_failed_fetch_fails_its_waiters_and_the_counts_add_up() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "300/s"), to: "cache")],
        nodes: {
            "cache": Cache(capacity: 10, ttl: "50ms", backend: "db", coalesce: true),
            "db": Service(workers: 100, steps: [Work(Constant("20ms")), Call("disk")]),
            "disk": Service(workers: 100, steps: [Work(Constant("1us"))]),
        },
        scenario: Scenario(faults: [Errors(node: "disk", at: "0s", probability: 0.5)]),
    )"#;
    let report = simulate(text, 3, seconds(20.0), 0.0);
    assert_conserved(&report);
    // Each failed fetch fails its leader and the misses that waited for it: more requests
    // fail than the database failed fetches.
    let failed_fetches = report.resilience.as_ref().unwrap().nodes["disk"].injected_errors;
    assert!(report.requests.failed > failed_fetches + failed_fetches / 2, "{failed_fetches} {:?}", report.requests);
    assert!(report.requests.failed > 0 && cache(&report).coalesced > 0, "{:?}", report.requests);
}

fn uniform_keys_topology(jitter: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "1000/s"), keys: Uniform(n: 100), to: "cache")],
            nodes: {{
                "cache": Cache(capacity: 1000, ttl: "100ms"{jitter}, backend: "db"),
                "db": Service(workers: 100, steps: [Work(Constant("1us"))]),
            }},
        )"#
    )
}

/// With a fixed TTL each key's entry lives T, then the next request (Exp(λₖ) later) misses
/// and stores it again: the hit ratio is λₖE[T]/(1 + λₖE[T]) (renewal-reward), which depends
/// on the lifetime's mean only. A TTL jittered uniformly by ±50% keeps the mean, and so the
/// hit ratio: here λₖ = 10/s, T = 100 ms, so 1/2 either way.
#[test]
fn ttl_jitter_spreads_expiries_but_keeps_the_hit_ratio() {
    for jitter in ["", ", ttl_jitter: 0.5"] {
        let estimate =
            replicate(&uniform_keys_topology(jitter), 10, seconds(60.0), 5.0, |r| cache(r).hit_ratio.unwrap());
        estimate.assert_covers(&format!("hit ratio with ttl{jitter}"), 0.5, 0.01);
    }
}

/// While the cache is down, a cache with `fallback` sends its requests to the backend, so
/// none fail; without it each one fails.
#[test]
fn a_cache_with_fallback_sends_requests_around_it_while_it_is_down() {
    let with = |extra: &str| {
        let text = format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "200/s"), keys: Uniform(n: 50), to: "app")],
                nodes: {{
                    "app": Service(workers: 50, steps: [Call("cache")]),
                    "cache": Cache(capacity: 100, backend: "db"{extra}),
                    "db": Service(workers: 50, steps: [Work(Exp(mean: "5ms"))]),
                }},
                scenario: Scenario(faults: [Crash(node: "cache", at: "10s", until: "20s")]),
            )"#
        );
        let report = simulate(&text, 4, seconds(30.0), 0.0);
        assert_conserved(&report);
        report
    };
    let failing = with("");
    let falling_back = with(", fallback: true");
    let ten_seconds_of_requests = 2000.0;
    let failed = failing.requests.failed as f64;
    assert!((failed - ten_seconds_of_requests).abs() < 5.0 * ten_seconds_of_requests.sqrt(), "{failed} failed");
    assert_eq!(falling_back.requests.failed, 0);
    let bypassed = falling_back.resilience.as_ref().unwrap().nodes["cache"].bypassed as f64;
    assert!((bypassed - ten_seconds_of_requests).abs() < 5.0 * ten_seconds_of_requests.sqrt(), "{bypassed} bypassed");
    // Every request of the outage reached the database.
    let extra_db = falling_back.nodes["db"].arrivals as f64 - failing.nodes["db"].arrivals as f64;
    assert!((extra_db - bypassed).abs() < 0.1 * bypassed, "{extra_db} more database arrivals for {bypassed} bypassed");
}

fn write_order_topology(policy: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "2000/s"), classes: {{"read": 0.8, "write": 0.2}},
                            keys: Uniform(n: 20), to: "cache")],
            nodes: {{
                "cache": Cache(capacity: 100, backend: "db", writes: ["write"], write_policy: {policy}),
                "db": Database(connections: 64, read: Constant("2ms"), write: Constant("10ms"), writes: ["write"]),
            }},
        )"#
    )
}

/// "Delete, then write the database" leaves a window of the write's length in which a read
/// misses, reads the old row and stores it for good; "write, then delete" only lets hits on
/// the old entry through while the write is under way, and deletes whatever was refilled.
#[test]
fn invalidating_after_the_write_leaves_fewer_stale_reads() {
    let stale = |policy: &str| {
        replicate(&write_order_topology(policy), 5, seconds(20.0), 2.0, |r| {
            let c = cache(r);
            c.stale_reads as f64 / c.hits as f64
        })
    };
    let before = stale("Invalidate");
    let after = stale("InvalidateAfterWrite");
    eprintln!("stale share of hits: delete then write {:.4}, write then delete {:.4}", before.mean, after.mean);
    assert!(after.mean + after.half_width < before.mean - before.half_width, "{after:?} against {before:?}");
}

fn zipf_probabilities(keys: usize, exponent: f64) -> Vec<f64> {
    let weights: Vec<f64> = (1..=keys).map(|k| (k as f64).powf(-exponent)).collect();
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| w / total).collect()
}

/// Under independent requests (the IRM), a cache that keeps the C most requested keys (LFU
/// ranking every key by its count since the start, with frequency admission keeping a rarer
/// key out) converges on the C most popular keys: its hit ratio is the sum of their
/// probabilities, the most any cache of C entries can hold (Aho, Denning & Ullman 1971).
/// LRU holds less (Che's approximation).
#[test]
fn frequency_admission_with_lfu_holds_the_most_popular_keys() {
    let (keys, exponent, capacity) = (1000, 0.9, 100);
    let text = |eviction: &str, admission: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "2000/s"), keys: Zipf(n: {keys}, s: {exponent}), to: "cache")],
                nodes: {{
                    "cache": Cache(capacity: {capacity}, eviction: {eviction}{admission}, backend: "db"),
                    "db": Service(workers: 100, steps: [Work(Constant("1us"))]),
                }},
            )"#
        )
    };
    let best: f64 = zipf_probabilities(keys, exponent).iter().take(capacity).sum();
    let perfect =
        replicate(&text("Lfu", ", admission: Frequency"), 10, seconds(100.0), 20.0, |r| cache(r).hit_ratio.unwrap());
    perfect.assert_covers("perfect LFU hit ratio", best, 0.01);
    let lru = replicate(&text("Lru", ""), 5, seconds(50.0), 10.0, |r| cache(r).hit_ratio.unwrap());
    assert!(lru.mean < best - 0.05, "LRU {} against the top-{capacity} share {best}", lru.mean);
    // Admission in front of LRU keeps one-off keys out: better than LRU alone.
    let admitted =
        replicate(&text("Lru", ", admission: Frequency"), 5, seconds(50.0), 10.0, |r| cache(r).hit_ratio.unwrap());
    assert!(admitted.mean > lru.mean + 0.02, "LRU with admission {} against {}", admitted.mean, lru.mean);
}

fn hot_key_with_ttl(rate_per_s: f64, ttl: &str, fetch: &str, extra: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate_per_s}/s"), to: "cache")],
            nodes: {{
                "cache": Cache(capacity: 10, ttl: "{ttl}", backend: "db"{extra}),
                "db": Service(workers: 100, steps: [Work(Constant("{fetch}"))]),
            }},
        )"#
    )
}

/// Stale-while-revalidate on one hot key (Poisson λ, TTL T, fetch D, a window S with
/// λS ≫ 1): the entry lives T, the first read after it expires (Exp(λ) later) is answered
/// stale and starts one background refresh, which stores the key D later. A renewal cycle
/// of T + 1/λ + D with one fetch and 1 + λD stale answers (renewal-reward), and no read
/// ever waits for the backend after the first.
#[test]
fn stale_while_revalidate_refreshes_once_per_expiry_and_nobody_waits() {
    let (rate, ttl_s, fetch_s) = (200.0, 0.05, 0.02);
    let cycle_s = ttl_s + 1.0 / rate + fetch_s;
    let text = hot_key_with_ttl(rate, "50ms", "20ms", r#", stale_while_revalidate: "1s""#);
    let (duration_s, warmup_s) = (200.0, 5.0);
    let per_s = |count: u64| count as f64 / (duration_s - warmup_s);
    let fetches = replicate(&text, 10, seconds(duration_s), warmup_s, |r| per_s(r.nodes["db"].arrivals));
    fetches.assert_covers("background refreshes per second", 1.0 / cycle_s, 0.02);
    let stale = replicate(&text, 10, seconds(duration_s), warmup_s, |r| per_s(cache(r).served_stale));
    stale.assert_covers("stale answers per second", (1.0 + rate * fetch_s) / cycle_s, 0.02);
    let report = simulate(&text, 1, seconds(duration_s), warmup_s);
    assert_eq!(cache(&report).misses, 0, "{:?}", cache(&report));
    assert_eq!(cache(&report).revalidations, report.nodes["db"].arrivals);
    assert!(report.latency_s.max.unwrap() < 1e-9, "every read is answered from the cache at once");
    assert_conserved(&report);
}

/// Probabilistic early expiration (XFetch) with single-flight on one hot key: a read at t
/// before the expiry T refreshes with probability e^(−(T−t)/(δβ)), so the refreshing reads
/// are Poisson with intensity h(t) = λe^(−(T−t)/(δβ)) and the first comes before T with
/// probability p = 1 − e^(−H(T)), H(t) = ∫₀ᵗh. A cycle (fill to fill) is the first such read
/// plus D, or, with none, T + 1/λ + D: one fetch per cycle, a share p of them early
/// (renewal-reward over E[L] = E[t₁; t₁ < T] + pD + (1 − p)(T + 1/λ + D)).
#[test]
fn early_expiration_refreshes_before_expiry_as_xfetch_predicts() {
    let (rate, ttl_s, fetch_s, beta) = (20.0, 1.0, 0.05, 1.0);
    let scale = fetch_s * beta;
    let h = |t: f64| rate * (-(ttl_s - t) / scale).exp();
    let big_h = |t: f64| rate * scale * ((-(ttl_s - t) / scale).exp() - (-ttl_s / scale).exp());
    let p = 1.0 - (-big_h(ttl_s)).exp();
    // Simpson's rule for E[t₁; t₁ < T] = ∫₀ᵀ t h(t) e^(−H(t)) dt.
    let steps = 200_000;
    let width = ttl_s / steps as f64;
    let f = |t: f64| t * h(t) * (-big_h(t)).exp();
    let simpson: f64 = (0..=steps)
        .map(|i| {
            let weight = if i == 0 || i == steps {
                1.0
            } else if i % 2 == 1 {
                4.0
            } else {
                2.0
            };
            weight * f(i as f64 * width)
        })
        .sum::<f64>()
        * width
        / 3.0;
    let cycle_s = simpson + p * fetch_s + (1.0 - p) * (ttl_s + 1.0 / rate + fetch_s);
    let text = hot_key_with_ttl(rate, "1s", "50ms", ", coalesce: true, early_expiration: 1.0");
    let (duration_s, warmup_s) = (2000.0, 10.0);
    let per_s = |count: u64| count as f64 / (duration_s - warmup_s);
    let fetches = replicate(&text, 10, seconds(duration_s), warmup_s, |r| per_s(r.nodes["db"].arrivals));
    fetches.assert_covers("fetches per second with early expiration", 1.0 / cycle_s, 0.02);
    let early = replicate(&text, 10, seconds(duration_s), warmup_s, |r| per_s(cache(r).early_refreshes));
    early.assert_covers("early refreshes per second", p / cycle_s, 0.03);
    // Without it every cycle ends in an expiry: one fetch per T + 1/λ + D.
    let plain = hot_key_with_ttl(rate, "1s", "50ms", ", coalesce: true");
    let report = simulate(&plain, 1, seconds(200.0), 0.0);
    assert_eq!(cache(&report).early_refreshes, 0);
}

/// A cache's stale hits are told apart by cause, and the run says which fix applies: a
/// cache-aside in front of a database whose 2 replicas lag 30 ms, with every write through the
/// cache (`Invalidate`), has both entries stored stale (misses filled from a lagging replica)
/// and entries outdated by the write whose invalidation a miss raced. Reading from the
/// primary removes the first and only the first, `InvalidateAfterWrite` the second and only the
/// second, both together every stale hit. Writes that reach the database by another path are
/// named as the cause with the class to send through the cache. Every stale hit is counted
/// under one cause (the stored-stale ones are a part of the stale reads).
#[test]
fn stale_cache_hits_are_told_apart_by_cause() {
    let topology = |read_policy: &str, write_policy: &str, through_cache: bool| {
        let (writes, app_steps) = if through_cache {
            (
                r#"writes: ["write"], write_policy: "#.to_string() + write_policy + ",",
                r#"[Work(Exp(mean: "1ms")), Call("cache")]"#,
            )
        } else {
            (
                String::new(),
                r#"[Work(Exp(mean: "1ms")), ByClass(branches: {"write": [Call("db")]}, otherwise: [Call("cache")])]"#,
            )
        };
        format!(
            r#"Topology(
                workload: [Open(name: "users", arrivals: Poisson(rate: "2000/s"), classes: {{"read": 0.9, "write": 0.1}},
                                keys: Zipf(n: 20000, s: 0.9), to: "app")],
                nodes: {{
                    "app": Service(workers: 64, steps: {app_steps}),
                    "cache": Cache(capacity: 5000, hit: Exp(mean: "300us"), backend: "db", {writes}),
                    "db": Database(replicas: 2, connections: 40, read: Exp(mean: "4ms"), write: Exp(mean: "8ms"),
                                   writes: ["write"], replication_lag: Gamma(shape: 4.0, mean: "30ms"), read_policy: {read_policy}),
                }},
            )"#
        )
    };
    let stored_stale = "were stale when stored (its misses read \"db\"'s replicas, which lag its primary: fill from the primary (read_policy: PrimaryOnly)";
    let raced = "a read that missed while a write was under way stored the old value after the write dropped the key; write_policy: InvalidateAfterWrite";
    let bypassed = "by writes (\"write\") that reach the database without passing through it: send them through it (writes: [\"write\"])";
    /// Read policy, write policy, writes through the cache, causes named, causes not named.
    type Case<'a> = (&'a str, &'a str, bool, &'a [&'a str], &'a [&'a str]);
    let cases: [Case; 5] = [
        ("RoundRobin", "Invalidate", true, &[stored_stale, raced], &[bypassed]),
        ("PrimaryOnly", "Invalidate", true, &[raced], &[stored_stale, bypassed]),
        ("RoundRobin", "InvalidateAfterWrite", true, &[stored_stale], &[raced, bypassed]),
        ("PrimaryOnly", "InvalidateAfterWrite", true, &[], &[stored_stale, raced, bypassed]),
        ("PrimaryOnly", "Invalidate", false, &[bypassed], &[stored_stale, raced]),
    ];
    for (read_policy, write_policy, through_cache, named, not_named) in cases {
        let report = simulate(&topology(read_policy, write_policy, through_cache), 1, seconds(40.0), 5.0);
        assert_conserved(&report);
        let counts = cache(&report);
        assert!(counts.stale_when_stored <= counts.stale_reads, "{counts:?}");
        let lines = report.stale_reads.join("\n");
        let case = format!("{read_policy}, {write_policy}, through the cache: {through_cache}");
        for cause in named {
            assert!(lines.contains(cause), "{case}: {cause:?} missing from {lines:?} ({counts:?})");
        }
        for cause in not_named {
            assert!(!lines.contains(cause), "{case}: {cause:?} in {lines:?} ({counts:?})");
        }
        if named.is_empty() {
            assert_eq!(counts.stale_reads, 0, "{case}: {counts:?}");
            assert!(report.stale_reads.is_empty(), "{case}: {lines}");
        }
    }
}

/// A write outdates what was read where it committed, and nothing else. Writes go to the
/// orders database only: the cache over it (which they bypass) serves stale hits and is told
/// to take them, while a cache over the users database, a cache over a service that reads no
/// database, and the users database's own replica never see a stale read, though the same
/// keys are written all the time.
#[test]
fn a_write_outdates_only_what_reads_where_it_committed() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "2000/s"), classes: {"read": 0.8, "write": 0.2},
                        keys: Zipf(n: 2000, s: 0.9), to: "app")],
        nodes: {
            "app": Service(workers: 64, steps: [ByClass(branches: {"write": [Call("orders-db")]},
                           otherwise: [Call("orders-cache"), Call("user-cache"), Call("price-cache")])]),
            "orders-cache": Cache(capacity: 1000, hit: Exp(mean: "300us"), backend: "orders-db"),
            "user-cache": Cache(capacity: 1000, hit: Exp(mean: "300us"), backend: "users-db"),
            "price-cache": Cache(capacity: 1000, hit: Exp(mean: "300us"), backend: "pricer"),
            "pricer": Service(workers: 16, steps: [Work(Exp(mean: "2ms"))]),
            "orders-db": Database(connections: 40, read: Exp(mean: "2ms"), write: Exp(mean: "4ms"), writes: ["write"]),
            "users-db": Database(replicas: 1, connections: 40, read: Exp(mean: "2ms"), write: Exp(mean: "4ms"),
                                 writes: ["write"], replication_lag: Exp(mean: "50ms")),
        },
    )"#;
    let report = simulate(text, 1, seconds(30.0), 5.0);
    assert_conserved(&report);
    let stale = |name: &str| report.nodes[name].component.as_ref().and_then(|c| c.cache()).unwrap().stale_reads;
    assert!(stale("orders-cache") > 100, "orders-cache: {}", stale("orders-cache"));
    assert_eq!(stale("user-cache"), 0, "nothing is written to users-db");
    assert_eq!(stale("price-cache"), 0, "pricer reads no database");
    let users_db = report.nodes["users-db"].component.as_ref().and_then(|c| c.database()).unwrap();
    assert!(users_db.reads > 1000, "{users_db:?}");
    assert_eq!(users_db.stale_reads, 0, "its replica has every commit of users-db: there are none");
    let lines = report.stale_reads.join("\n");
    assert_eq!(report.stale_reads.len(), 1, "{lines}");
    assert!(
        lines.starts_with("\"orders-cache\"")
            && lines.contains("by writes (\"write\") that reach the database without passing through it"),
        "{lines}"
    );
}
