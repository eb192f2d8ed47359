//! The analytic view of a cache's defences against a hot key's stampede, with what the
//! simulation measured at the cache: single-flight (`coalesce`) sends the backend one fetch
//! per expiry, not every miss, and a read joined to a fetch under way waits for what is left
//! of it, E[D²]/2E[D] of the fetch's time D (a reader lands in a fetch with odds in
//! proportion to its length, then waits half of it on average); stale-while-revalidate's
//! background refreshes load the backend and keep the readers waiting for nothing.

use crate::check::{seconds, simulate, Estimate};
use sim_core::analysis::{analyze, analyze_measured, CacheMeasure};
use sim_core::report::ComponentSection;
use sim_core::Report;

/// One very hot key (Zipf s = 2 over 2000 keys, 60% of the reads) behind a cache whose
/// entries live 1 s, and a database query of 200 ms to rebuild it.
fn design(defence: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "readers", arrivals: Poisson(rate: "2000/s"), keys: Zipf(n: 2000, s: 2.0), to: "app")],
            nodes: {{
                "app": Service(instances: 4, workers: 64, steps: [Work(Exp(mean: "2ms")), Call("cache")]),
                "cache": Cache(capacity: 20000, ttl: "1s", ttl_jitter: 0.2, {defence}, hit: Exp(mean: "300us"), backend: "db"),
                "db": Database(connections: 64, read: LogNormal(mean: "200ms", sd: "50ms"), write: Constant("10ms")),
            }},
        )"#
    )
}

/// The cache's measure in one run: hits per read, reads joined to a fetch, refreshes per read.
fn measure(report: &Report) -> CacheMeasure {
    let Some(ComponentSection::Cache(cache)) = &report.nodes["cache"].component else { panic!("no cache section") };
    let reads = (cache.hits + cache.misses) as f64;
    CacheMeasure {
        hit_ratio: cache.hits as f64 / reads,
        coalesced_share: cache.coalesced as f64 / reads,
        refreshes_per_read: cache.revalidations as f64 / reads,
    }
}

#[test]
fn the_view_sends_the_backend_only_the_fetches_a_cache_makes() {
    for defence in ["coalesce: true", r#"stale_while_revalidate: "5s""#] {
        let text = design(defence);
        let topology = sim_core::parse_topology(&text).unwrap();
        let reports: Vec<Report> = (1..=10).map(|seed| simulate(&text, seed, seconds(60.0), 3.0)).collect();
        let measures: Vec<CacheMeasure> = reports.iter().map(measure).collect();
        let mean = |field: fn(&CacheMeasure) -> f64| measures.iter().map(field).sum::<f64>() / measures.len() as f64;
        let measured = CacheMeasure {
            hit_ratio: mean(|m| m.hit_ratio),
            coalesced_share: mean(|m| m.coalesced_share),
            refreshes_per_read: mean(|m| m.refreshes_per_read),
        };
        let analysis = analyze_measured(&topology, &[None, Some(measured), None]).unwrap();
        let db_busy = Estimate::from(&reports.iter().map(|r| r.nodes["db"].utilization).collect::<Vec<_>>());
        // The database's load is the fetches' and refreshes' rate × 200 ms over 64
        // connections: only the measured rates' noise between them.
        db_busy.assert_near(&format!("{defence}: db utilization"), analysis.nodes[2].utilization.unwrap(), 0.005, 0.05);
        let sojourn = |r: &Report| r.nodes["cache"].mean_sojourn_s.unwrap();
        let cache_s = Estimate::from(&reports.iter().map(sojourn).collect::<Vec<_>>());
        // An approximation: a fetch's readers are taken as Poisson over it. 5% of the time.
        let predicted_s = analysis.nodes[1].sojourn_s.unwrap();
        cache_s.assert_near(&format!("{defence}: cache sojourn"), predicted_s, 0.05 * predicted_s, 0.1);
        // With the hit ratio alone every miss would query the database: with coalescing,
        // some 7 times the fetches, past what its 64 connections can do.
        let hit_only = analyze(&topology, &[None, Some(measured.hit_ratio), None]).unwrap();
        let db_hit_only = hit_only.nodes[2].utilization.unwrap();
        if defence.starts_with("coalesce") {
            assert!(measured.coalesced_share > 0.1, "{measured:?}");
            assert!(db_hit_only > 1.0 && db_busy.mean < 0.3, "{db_hit_only} against {db_busy:?}");
            assert!(analysis.notes.iter().all(|note| !note.contains("saturation")), "{:?}", analysis.notes);
        } else {
            assert!(measured.refreshes_per_read > 0.0, "{measured:?}");
            // The refreshes are the backend's load: without them, it has almost none.
            assert!(db_hit_only < 0.5 * db_busy.mean, "{db_hit_only} against {db_busy:?}");
        }
        let caveat = analysis.nodes[1].caveat.as_deref().unwrap();
        let said = if defence.starts_with("coalesce") { "single-flight" } else { "background refreshes" };
        assert!(caveat.contains(said), "{caveat}");
    }
}

/// A shard router behind a cache gets the keys the cache lets through: an LRU cache keeps the
/// hot keys, so each key's reads miss with e^(−pT), T fitted to the hit ratio (Che's
/// approximation, which also gives the hit ratio here: LRU, no TTL), and the shard holding
/// the hottest key is no longer the busiest by as much. Without the cache the same shards
/// take the requests' own keys.
#[test]
fn a_shard_router_behind_a_cache_gets_the_keys_it_misses() {
    let design = |entry: &str| {
        format!(
            r#"Topology(
                workload: [Open(name: "readers", arrivals: Poisson(rate: "2000/s"), keys: Zipf(n: 10000, s: 1.1), to: "{entry}")],
                nodes: {{
                    "cache": Cache(capacity: 500, eviction: Lru, hit: Constant("100us"), backend: "shards"),
                    "shards": Sharded(partitioning: HashModulo, shards: ["s0", "s1", "s2", "s3"]),
                    "s0": Service(workers: 8, steps: [Work(Exp(mean: "10ms"))]),
                    "s1": Service(workers: 8, steps: [Work(Exp(mean: "10ms"))]),
                    "s2": Service(workers: 8, steps: [Work(Exp(mean: "10ms"))]),
                    "s3": Service(workers: 8, steps: [Work(Exp(mean: "10ms"))]),
                }},
            )"#
        )
    };
    let text = design("cache");
    let topology = sim_core::parse_topology(&text).unwrap();
    let view = analyze(&topology, &[None; 6]).unwrap();
    let direct = analyze(&sim_core::parse_topology(&design("shards")).unwrap(), &[None; 6]).unwrap();
    let reports: Vec<Report> = (1..=8).map(|seed| simulate(&text, seed, seconds(40.0), 5.0)).collect();
    let utilization = |i: usize| view.nodes[i].utilization.unwrap();
    let rate = |analysis: &sim_core::analysis::Analysis, i: usize| analysis.nodes[i].arrival_rate_per_s;
    let share = |analysis: &sim_core::analysis::Analysis, i: usize| {
        rate(analysis, 2 + i) / (2..6).map(|j| rate(analysis, j)).sum::<f64>()
    };
    // The shard that holds the hottest key takes the largest share of the requests.
    let hot = (0..4).max_by(|a, b| share(&direct, *a).total_cmp(&share(&direct, *b))).unwrap();
    let misses_per_s: f64 = (2..6).map(|j| rate(&view, j)).sum();
    for (i, shard) in ["s0", "s1", "s2", "s3"].iter().enumerate() {
        let busy = Estimate::from(&reports.iter().map(|r| r.nodes[*shard].utilization).collect::<Vec<_>>());
        // Che's hit ratio and the miss shares are approximations: 3% of the utilization.
        busy.assert_near(&format!("{shard} utilization"), utilization(2 + i), 0.03 * utilization(2 + i), 0.05);
        if i == hot {
            // Of the misses it takes only about what the others take: the requests' own
            // shares would put it far above what it does.
            let by_requests = misses_per_s * share(&direct, i) * 0.010 / 8.0;
            assert!(
                share(&direct, i) > 0.3 && share(&view, i) < 0.27,
                "{shard}: {} {}",
                share(&direct, i),
                share(&view, i)
            );
            assert!(by_requests > busy.mean + 3.0 * busy.half_width, "{by_requests} against {busy:?}");
        }
    }
    let caveat = view.nodes[1].caveat.as_deref().unwrap();
    assert!(caveat.contains("as \"cache\" lets them through"), "{caveat}");
    assert!(direct.nodes[1].caveat.as_deref().is_none_or(|caveat| !caveat.contains("lets them through")));
}

/// Che's approximation over a billion Zipf keys (s = 0.9) for an LRU cache of 20 000: the
/// view sums over the keys in groups of nearly equal popularity (before, past 10⁷ keys it
/// had no prediction, and at 10⁷ took 18 s). Che's approximation is within about 0.01 of
/// LRU under independent references at this size (Fricker, Robert & Roberts 2012).
#[test]
fn che_predicts_an_lru_cache_over_a_billion_keys() {
    let text = r#"Topology(
        workload: [Open(name: "readers", arrivals: Poisson(rate: "2000/s"), keys: Zipf(n: 1000000000, s: 0.9), to: "cache")],
        nodes: {
            "cache": Cache(capacity: 20000, eviction: Lru, hit: Exp(mean: "300us"), backend: "db"),
            "db": Database(connections: 64, read: Exp(mean: "2ms"), write: Constant("10ms")),
        },
    )"#;
    let topology = sim_core::parse_topology(text).unwrap();
    let predicted = analyze(&topology, &[None, None]).unwrap().nodes[0].hit_ratio.expect("Che's prediction");
    // The cache fills in about 12 s of misses; 40 s of warm-up, 60 s measured.
    let measured: Vec<f64> =
        (1..=8).map(|seed| measure(&simulate(text, seed, seconds(100.0), 40.0)).hit_ratio).collect();
    Estimate::from(&measured).assert_near("LRU hit ratio over 10⁹ keys", predicted, 0.01, 0.05);
}

/// A view given fewer measured hit ratios than nodes (none at all, as the run's budget and
/// its verdicts on users beside open workloads ask for it) takes the model's for the rest.
#[test]
fn a_view_given_no_measures_takes_the_models_hit_ratios() {
    let text = std::fs::read_to_string(crate::check::repo_root().join("topologies/read-heavy-feed.ron")).unwrap();
    let topology = sim_core::parse_topology(&text).unwrap();
    let full = analyze(&topology, &vec![None; topology.nodes.len()]).unwrap();
    assert_eq!(analyze(&topology, &[]).unwrap(), full);
    assert_eq!(analyze(&topology, &[None]).unwrap(), full);
}
