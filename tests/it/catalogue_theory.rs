//! The catalogue's components against theory: cache hit ratios (Che's approximation for
//! LRU, the renewal formula for TTL), token buckets, load-balancing algorithms, work-queue
//! consumers as M/M/c, stale reads behind replication lag, cold starts, and shard shares
//! under Zipf keys. Each test states its formula and source; tolerances are 99 % confidence
//! intervals of independent replications (plus the stated accuracy of approximate formulas).

use crate::check::{replicate, requests, seconds, simulate};
use crate::theory::erlang_c;
use sim_core::keys::zipf_probabilities;
use sim_core::Report;

fn cache_hit_ratio(report: &Report, node: &str) -> f64 {
    report.nodes[node].component.as_ref().and_then(|c| c.cache()).expect("a cache").hit_ratio.expect("lookups")
}

fn cache_topology(keys: u64, exponent: f64, capacity: u64, extra: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "1000/s"), keys: Zipf(n: {keys}, s: {exponent}), to: "cache")],
            nodes: {{
                "cache": Cache(capacity: {capacity}, backend: "db"{extra}),
                "db": Service(workers: 1000, steps: [Work(Constant("1us"))]),
            }},
        )"#
    )
}

/// Che's approximation (H. Che, Y. Tung, Z. Wang, "Hierarchical Web caching systems:
/// modeling, design and experimental results", IEEE JSAC 20(7), 2002; its accuracy is shown
/// by C. Fricker, P. Robert, J. Roberts, "A versatile and accurate approximation for LRU
/// cache performance", ITC 24, 2012): under independent requests with key probabilities p_i,
/// the characteristic time T solves Σ (1 − e^(−p_i T)) = C and the hit ratio is
/// Σ p_i (1 − e^(−p_i T)). The approximation is within about 1 % for Zipf popularity; the
/// allowance below is that 0.01.
fn che_hit_ratio(probabilities: &[f64], capacity: f64) -> f64 {
    let filled = |t: f64| probabilities.iter().map(|p| 1.0 - (-p * t).exp()).sum::<f64>();
    let (mut low, mut high) = (0.0, 1.0);
    while filled(high) < capacity {
        high *= 2.0;
    }
    for _ in 0..200 {
        let middle = 0.5 * (low + high);
        if filled(middle) < capacity {
            low = middle;
        } else {
            high = middle;
        }
    }
    probabilities.iter().map(|p| p * (1.0 - (-p * low).exp())).sum()
}

#[test]
fn lru_hit_ratio_matches_che_approximation() {
    for (exponent, capacity) in [(0.8, 100), (1.0, 50), (1.0, 400), (1.2, 100)] {
        let keys = 2_000;
        let text = cache_topology(keys, exponent, capacity, "");
        let estimate = replicate(&text, 10, requests(100_000), 20.0, |r| cache_hit_ratio(r, "cache"));
        let che = che_hit_ratio(&zipf_probabilities(keys, exponent), capacity as f64);
        estimate.assert_near(&format!("LRU hit ratio, Zipf s={exponent}, C={capacity}"), che, 0.01, 0.01);
    }
}

/// The analytic view's Che hit ratio sums over the keys in groups of nearly equal
/// popularity past the 4096 most popular (`KeySampler::popularity_groups`) and finds T by
/// Newton's steps: it gives the key-by-key sum above to 10⁻⁷, from caches of a few keys to
/// nearly all of them, past the exact ranks and at s = 1.
#[test]
fn the_views_che_hit_ratio_is_the_key_by_key_sum() {
    for (keys, exponent) in [(1000u64, 0.8), (200_000, 0.9), (200_000, 1.0), (1_000_000, 0.7), (1_000_000, 1.2)] {
        let probabilities = zipf_probabilities(keys, exponent);
        for share in [0.0005, 0.05, 0.9, 0.999] {
            let capacity = (keys as f64 * share).round().max(1.0) as u64;
            let topology = sim_core::parse_topology(&cache_topology(keys, exponent, capacity, "")).unwrap();
            let view = sim_core::analysis::analyze(&topology, &[None, None]).unwrap();
            let grouped = view.nodes[0].hit_ratio.expect("Che's prediction");
            let reference = che_hit_ratio(&probabilities, capacity as f64);
            assert!(
                (grouped - reference).abs() < 1e-7,
                "n {keys}, s {exponent}, C {capacity}: {grouped} against {reference}"
            );
        }
    }
}

/// FIFO eviction under independent requests: an entry stays for the time C distinct misses
/// take, so it behaves as a TTL cache whose timer is not reset by hits. The approximation of
/// V. Martina, M. Garetto, E. Leonardi ("A unified approach to the performance analysis of
/// caching systems", IEEE INFOCOM 2014, §IV.B; the same as Dan & Towsley's for FIFO and
/// RANDOM): T solves Σ p_i T / (1 + p_i T) = C and the hit ratio is Σ p_i² T / (1 + p_i T).
/// Like Che's it is within about 1 % on Zipf popularity; the allowance is that 0.01. FIFO
/// must also stay below LRU's hit ratio, which the same popularity gives.
#[test]
fn fifo_hit_ratio_matches_the_martina_garetto_leonardi_approximation() {
    for (exponent, capacity) in [(0.8, 100), (1.0, 400), (1.2, 100)] {
        let keys = 2_000;
        let probabilities = zipf_probabilities(keys, exponent);
        let filled = |t: f64| probabilities.iter().map(|p| p * t / (1.0 + p * t)).sum::<f64>();
        let (mut low, mut high) = (0.0, 1.0);
        while filled(high) < capacity as f64 {
            high *= 2.0;
        }
        for _ in 0..200 {
            let middle = 0.5 * (low + high);
            if filled(middle) < capacity as f64 {
                low = middle;
            } else {
                high = middle;
            }
        }
        let theory: f64 = probabilities.iter().map(|p| p * p * low / (1.0 + p * low)).sum();
        assert!(theory < che_hit_ratio(&probabilities, capacity as f64) - 0.01, "FIFO below LRU");
        let text = cache_topology(keys, exponent, capacity, ", eviction: Fifo");
        let estimate = replicate(&text, 10, requests(100_000), 20.0, |r| cache_hit_ratio(r, "cache"));
        estimate.assert_near(&format!("FIFO hit ratio, Zipf s={exponent}, C={capacity}"), theory, 0.01, 0.01);
    }
}

/// A TTL cache whose entries live T from the miss that stored them (not refreshed by hits),
/// with room for every key: per key with Poisson rate λ_k, each miss starts a period of T in
/// which λ_k T hits are expected, so its hit ratio is λ_k T / (1 + λ_k T) (renewal-reward;
/// N. C. Fofack, P. Nain, G. Neglia, D. Towsley, "Analysis of TTL-based cache networks",
/// VALUETOOLS 2012). Overall: Σ p_k λ_k T / (1 + λ_k T).
#[test]
fn ttl_hit_ratio_matches_the_renewal_formula() {
    let (keys, exponent, rate, ttl_s) = (200u64, 0.9, 1000.0, 0.05);
    let text = cache_topology(keys, exponent, keys, r#", ttl: "50ms""#);
    let estimate = replicate(&text, 10, requests(100_000), 5.0, |r| cache_hit_ratio(r, "cache"));
    let theory: f64 = zipf_probabilities(keys, exponent)
        .iter()
        .map(|p| {
            let per_key = p * rate * ttl_s;
            p * per_key / (1.0 + per_key)
        })
        .sum();
    estimate.assert_covers("TTL hit ratio", theory, 0.01);
}

/// A sliding TTL (each hit renews the entry) with room for every key: a request finds its
/// key iff the previous request for it came less than T before, so per key with Poisson
/// rate λ_k the hit ratio is P(Exp(λ_k) < T) = 1 − e^(−λ_k T) (the TTL cache analysis of
/// Fofack et al., above, with the timer reset at every request). Overall:
/// Σ p_k (1 − e^(−λ_k T)), higher than the fixed TTL's Σ p_k λ_k T / (1 + λ_k T).
#[test]
fn sliding_ttl_hit_ratio_matches_the_exponential_gap() {
    let (keys, exponent, rate, ttl_s) = (200u64, 0.9, 1000.0, 0.05);
    let text = cache_topology(keys, exponent, keys, r#", ttl: "50ms", sliding_ttl: true"#);
    let estimate = replicate(&text, 20, requests(200_000), 5.0, |r| cache_hit_ratio(r, "cache"));
    let probabilities = zipf_probabilities(keys, exponent);
    let theory: f64 = probabilities.iter().map(|p| p * (1.0 - (-p * rate * ttl_s).exp())).sum();
    let fixed: f64 = probabilities.iter().map(|p| p * (p * rate * ttl_s) / (1.0 + p * rate * ttl_s)).sum();
    assert!(theory - fixed > 0.03, "the test tells sliding from fixed: {theory} against {fixed}");
    estimate.assert_covers("sliding TTL hit ratio", theory, 0.01);
}

fn limiter_topology(rate: f64, burst: u32) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate}/s"), to: "limiter")],
            nodes: {{
                "limiter": RateLimiter(limit: TokenBucket(rate: "100/s", burst: {burst}), next: "app"),
                "app": Service(workers: 100, steps: [Work(Constant("1ms"))]),
            }},
        )"#
    )
}

/// A token bucket of rate r admits min(λ, r) in the long run (it cannot admit more than it
/// refills; below r, a bucket of b tokens almost never runs dry). Over a run of length t the
/// admitted count is at most r·t + b.
#[test]
fn token_bucket_admits_min_of_offered_and_rate() {
    let duration_s = 200.0;
    for (offered, burst, expected) in [(200.0, 10, 100.0), (400.0, 10, 100.0), (50.0, 50, 50.0)] {
        let text = limiter_topology(offered, burst);
        let estimate = replicate(&text, 10, seconds(duration_s), 0.0, |r| {
            r.nodes["limiter"].component.as_ref().and_then(|c| c.rate_limiter()).unwrap().admitted as f64 / duration_s
        });
        // At saturation the burst admits up to b more than r·t over the run.
        let allowance = if offered > 100.0 { burst as f64 / duration_s } else { 0.0 };
        estimate.assert_near(&format!("token bucket admitted rate at λ={offered}/s"), expected, allowance, 0.02);
    }
}

fn balanced(algorithm: &str, servers: u32, load: f64) -> String {
    let rate = load * 1000.0 * servers as f64;
    format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "{rate}/s"), to: "lb")],
            nodes: {{
                "lb": LoadBalancer(algorithm: {algorithm}, backends: ["app"]),
                "app": Service(instances: {servers}, steps: [Work(Exp(mean: "1ms"))]),
            }},
        )"#
    )
}

/// Random splitting of a Poisson stream over n servers gives n independent M/M/1 queues of
/// rate λ/n (Poisson thinning; Kleinrock vol. 1 §3.2): W = 1/(μ − λ/n).
#[test]
fn random_balancing_is_independent_mm1_queues() {
    let text = balanced("Random", 10, 0.7);
    let estimate = replicate(&text, 10, requests(300_000), 2.0, |r| r.latency_s.mean.unwrap());
    estimate.assert_covers("random over 10 servers, ρ=0.7: W", 1.0 / (1000.0 - 700.0), 0.02);
}

/// Round robin over n servers hands each server every n-th arrival of a Poisson stream:
/// Erlang-n interarrivals of rate λ/n, an E_n/M/1 queue. GI/M/1 (Kleinrock vol. 1 §6.4):
/// W = 1/(μ(1 − σ)) where σ is the root in (0, 1) of σ = A*(μ − μσ), and for Erlang-k
/// interarrivals of rate λ', A*(s) = (kλ'/(kλ' + s))^k.
#[test]
fn round_robin_is_erlang_arrivals_to_each_server() {
    let (n, per_server, mu) = (10u32, 700.0, 1000.0);
    let sigma = erlang_n_sigma(n, per_server, mu);
    let text = balanced("RoundRobin", n, 0.7);
    let estimate = replicate(&text, 10, requests(300_000), 2.0, |r| r.latency_s.mean.unwrap());
    estimate.assert_covers("round robin over 10 servers, ρ=0.7: W", 1.0 / (mu * (1.0 - sigma)), 0.02);
}

/// σ of the E_n/M/1 queue that round robin over n servers of rate μ makes, each offered
/// `per_server`: the fixed point of σ = (nλ'/(nλ' + μ(1 − σ)))^n.
fn erlang_n_sigma(n: u32, per_server: f64, mu: f64) -> f64 {
    let phase_rate = n as f64 * per_server;
    let mut sigma: f64 = 0.5;
    for _ in 0..500 {
        sigma = (phase_rate / (phase_rate + mu * (1.0 - sigma))).powi(n as i32);
    }
    sigma
}

/// The supermarket model (M. Mitzenmacher, "The power of two choices in randomized load
/// balancing", IEEE TPDS 12(10), 2001): with d = 2 choices among n → ∞ servers at load λ
/// (μ = 1), the mean time in system is Σ_{i≥1} λ^(2^i − 2). The formula is the limit for
/// many servers; at n = 100 the finite-size gap is under 2 %, the allowance below.
#[test]
fn power_of_two_choices_matches_the_supermarket_model() {
    let load: f64 = 0.7;
    let limit: f64 = (1..8).map(|i| load.powi((1 << i) - 2)).sum::<f64>() / 1000.0;
    let text = balanced("PowerOfTwoChoices", 100, load);
    let estimate = replicate(&text, 10, requests(400_000), 1.0, |r| r.latency_s.mean.unwrap());
    estimate.assert_near("power of two choices over 100 servers, ρ=0.7: W", limit, 0.02 * limit, 0.02);
    // Join-the-shortest-queue (least connections) does at least as well as two choices and
    // no better than one central queue (M/M/100, Erlang C), which no dispatcher can beat.
    let least =
        replicate(&balanced("LeastConnections", 100, load), 10, requests(400_000), 1.0, |r| r.latency_s.mean.unwrap());
    let central = erlang_c(100, 70.0) / (100_000.0 - 70_000.0) + 1.0 / 1000.0;
    eprintln!(
        "least connections W {:.6} ± {:.6}; central queue {central:.6}; two choices {limit:.6}",
        least.mean, least.half_width
    );
    assert!(least.mean + least.half_width >= central && least.mean - least.half_width <= estimate.mean);
}

/// A work queue's consumers are the servers of an M/M/c queue whose customers are the
/// messages: publish-to-processed time is Wq + 1/μ with Wq = C(c, a)/(cμ − λ) (Erlang C,
/// Gross et al., Fundamentals of Queueing Theory §2.3).
#[test]
fn work_queue_consumers_are_an_mmc_queue() {
    let (consumers, rate, mu) = (4u32, 320.0, 100.0);
    let text = format!(
        r#"Topology(
            workload: [Open(name: "producers", arrivals: Poisson(rate: "{rate}/s"), to: "queue")],
            nodes: {{
                "queue": WorkQueue(consumers: {consumers}, handler: "worker"),
                "worker": Service(workers: 1000, steps: [Work(Exp(mean: "10ms"))]),
            }},
        )"#
    );
    let estimate = replicate(&text, 10, requests(200_000), 10.0, |r| {
        r.nodes["queue"].component.as_ref().and_then(|c| c.work_queue()).unwrap().publish_to_processed_s.mean.unwrap()
    });
    let offered = rate / mu;
    let theory = erlang_c(consumers, offered) / (consumers as f64 * mu - rate) + 1.0 / mu;
    estimate.assert_covers("work queue with 4 consumers, ρ=0.8: publish to processed", theory, 0.03);
}

/// With writes committed as a Poisson stream of rate w (the primary's departures, Burke's
/// theorem) and replicas applying each commit exactly L later, a read on a replica is stale
/// iff some write of its key committed in the last L: probability 1 − e^(−wL).
#[test]
fn stale_reads_follow_the_replication_lag() {
    let text = r#"Topology(
        workload: [Open(name: "users", arrivals: Poisson(rate: "100/s"), classes: {"read": 0.9, "write": 0.1}, to: "db")],
        nodes: {
            "db": Database(replicas: 2, connections: 100, read: Exp(mean: "2ms"), write: Exp(mean: "5ms"),
                           writes: ["write"], replication_lag: Constant("50ms")),
        },
    )"#;
    let estimate = replicate(text, 10, requests(200_000), 5.0, |r| {
        r.nodes["db"].component.as_ref().and_then(|c| c.database()).unwrap().stale_read_ratio.unwrap()
    });
    estimate.assert_covers("stale reads at w=10/s, L=50ms", 1.0 - (-10.0f64 * 0.05).exp(), 0.02);
}

/// A function whose invocations are short next to the gaps between them keeps one warm
/// container; an invocation is cold iff the gap since the last one ended exceeds the
/// keep-alive K. With Poisson arrivals of rate λ and duration s: P(cold) = e^(−λ(K + s)).
#[test]
fn cold_starts_follow_the_keep_alive() {
    let text = r#"Topology(
        workload: [Open(name: "events", arrivals: Poisson(rate: "10/s"), to: "fn")],
        nodes: {
            "fn": Function(concurrency: 100, cold_start: Constant("1us"), keep_alive: "100ms", steps: [Work(Constant("1us"))]),
        },
    )"#;
    let estimate = replicate(text, 10, requests(50_000), 1.0, |r| {
        r.nodes["fn"].component.as_ref().and_then(|c| c.function()).unwrap().cold_start_ratio.unwrap()
    });
    estimate.assert_covers("cold-start ratio at λ=10/s, K=100ms", (-10.0f64 * 0.100002).exp(), 0.02);
}

/// Sharding by hash(key) % n sends shard j the keys that hash to it, so its share of the
/// requests is the sum of those keys' Zipf probabilities; the hottest keys make a hot shard.
/// Each shard's count is binomial: the tolerance is 3.3 standard deviations (99.9 %).
#[test]
fn hot_keys_make_the_hot_shard_zipf_predicts() {
    let (keys, exponent, shards, total) = (1_000u64, 1.1, 8usize, 400_000u64);
    let names: Vec<String> = (0..shards).map(|i| format!("\"shard-{i}\"")).collect();
    let shard_nodes: String = (0..shards)
        .map(|i| format!("\"shard-{i}\": Service(workers: 100, steps: [Work(Constant(\"1us\"))]),"))
        .collect();
    let text = format!(
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "1000/s"), keys: Zipf(n: {keys}, s: {exponent}), to: "router")],
            nodes: {{ "router": Sharded(shards: [{}]), {shard_nodes} }},
        )"#,
        names.join(", ")
    );
    let report = simulate(&text, 3, requests(total), 0.0);
    let routed = report.nodes["router"].component.as_ref().and_then(|c| c.routed()).unwrap();
    let mut share = vec![0.0; shards];
    for (key, p) in zipf_probabilities(keys, exponent).iter().enumerate() {
        share[(sim_core::rng::splitmix64(key as u64) % shards as u64) as usize] += p;
    }
    let hottest = share.iter().cloned().fold(0.0, f64::max);
    assert!(hottest > 1.5 / shards as f64, "Zipf keys should make a hot shard: {share:?}");
    for (shard, p) in share.iter().enumerate() {
        let count = routed[&format!("shard-{shard}")] as f64;
        let expected = p * total as f64;
        let sd = (total as f64 * p * (1.0 - p)).sqrt();
        eprintln!("shard-{shard}: {count} routed, {expected:.0} expected (±{:.0})", 3.3 * sd);
        assert!((count - expected).abs() <= 3.3 * sd, "shard-{shard}: {count} vs {expected}");
    }
}

/// A database's reads over its replicas, one connection each: the read policies are the
/// balancers' algorithms again. 4 replicas, reads only at ρ = 0.7 per replica, Exp(1 ms).
fn replicated_reads(policy: &str) -> String {
    format!(
        r#"Topology(
            workload: [Open(name: "readers", arrivals: Poisson(rate: "2800/s"), to: "db")],
            nodes: {{
                "db": Database(replicas: 4, connections: 1, read: Exp(mean: "1ms"), write: Exp(mean: "1ms"),
                               writes: [], read_policy: {policy}),
            }},
        )"#
    )
}

/// `Random` splits the reads into independent M/M/1 queues (Poisson thinning): W =
/// 1/(μ − λ/n); `RoundRobin` gives each replica Erlang-n arrivals, E_n/M/1 (Kleinrock vol. 1
/// §6.4); `LeastConnections` (join the shortest queue) does better than both and no better
/// than one central queue of 4 servers (M/M/4, Erlang C). The primary takes no read.
#[test]
fn read_policies_match_their_queueing_models() {
    let (n, per_replica, mu) = (4u32, 700.0, 1000.0);
    let (phase_rate, sigma) = (n as f64 * per_replica, erlang_n_sigma(n, per_replica, mu));
    let mean_latency = |r: &Report| r.latency_s.mean.unwrap();
    let random = replicate(&replicated_reads("Random"), 10, requests(200_000), 2.0, mean_latency);
    random.assert_covers("random reads over 4 replicas, ρ=0.7: W", 1.0 / (mu - per_replica), 0.02);
    let round_robin = replicate(&replicated_reads("RoundRobin"), 10, requests(200_000), 2.0, mean_latency);
    round_robin.assert_covers("round-robin reads over 4 replicas, ρ=0.7: W", 1.0 / (mu * (1.0 - sigma)), 0.02);
    let least = replicate(&replicated_reads("LeastConnections"), 10, requests(200_000), 2.0, mean_latency);
    let central = erlang_c(n, phase_rate / mu) / (n as f64 * mu - phase_rate) + 1.0 / mu;
    eprintln!("least-connections reads W {:.6} ± {:.6}; central queue {central:.6}", least.mean, least.half_width);
    assert!(least.mean + least.half_width >= central, "no dispatcher beats one central queue");
    assert!(least.mean + least.half_width < round_robin.mean - round_robin.half_width, "JSQ beats round robin");
    let report = simulate(&replicated_reads("LeastConnections"), 1, requests(20_000), 0.0);
    let servers = &report.nodes["db"].per_instance;
    assert_eq!(servers[0].arrivals, 0, "the primary takes no read: {servers:?}");
    let shares: Vec<f64> = servers[1..].iter().map(|s| s.arrivals as f64 / 20_000.0).collect();
    assert!(shares.iter().all(|share| (share - 0.25).abs() < 0.02), "even shares: {shares:?}");
}
