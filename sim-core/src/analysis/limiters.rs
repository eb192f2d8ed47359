//! Rate limiters in the analytic view. The view passes every request through a limiter (a
//! refusal rate needs the arrivals' burstiness and, per client or key, how the traffic is
//! spread), but a limit below the traffic it is offered is plain from the means alone: a
//! global limit under the limiter's arrival rate, or a per-client limit under what each
//! client of a workload entering it sends. Those get a note with the share the limit
//! refuses at least, 1 − limit ÷ offered: over a long run a limit lets through its rate and
//! no more, whatever its burst (which only adds a burst's worth once), and less when the
//! arrivals' lulls leave a bucket full and its tokens go to waste.

use crate::topology::{Limit, NodeKind, Scope, Topology};

/// The sustained rate a limit lets through, per second.
fn sustained_rate_per_s(limit: &Limit) -> f64 {
    match *limit {
        Limit::TokenBucket { rate_per_s, .. } | Limit::LeakyBucket { rate_per_s, .. } => rate_per_s,
        Limit::FixedWindow { limit, window_ns } | Limit::SlidingWindow { limit, window_ns } => {
            f64::from(limit) / (window_ns.max(1) as f64 / 1e9)
        }
    }
}

/// Notes on the limiters whose limit is below what they are offered, given each node's
/// arrival rate in the view.
pub(super) fn limiter_notes(topology: &Topology, node_rate: &[f64]) -> Vec<String> {
    let mut notes = Vec::new();
    for (i, node) in topology.nodes.iter().enumerate() {
        let NodeKind::RateLimiter(limiter) = &node.kind else { continue };
        let limit_per_s = sustained_rate_per_s(&limiter.limit);
        let name = &node.name;
        match limiter.scope {
            Scope::Global if node_rate[i] > limit_per_s => notes.push(format!(
                "\"{name}\" is offered {}/s, above its limit of {}/s: it refuses at least {:.1}% of them (rate_limited), which the view lets through",
                super::rate_text(node_rate[i]),
                super::rate_text(limit_per_s),
                100.0 * (1.0 - limit_per_s / node_rate[i])
            )),
            Scope::PerClient => {
                for source in topology.sources.iter().filter(|source| source.entry_node.index() == i) {
                    let Some(rate) = source.arrivals.mean_rate_per_s() else { continue };
                    let per_client = rate / f64::from(source.clients.max(1));
                    if per_client > limit_per_s {
                        let clients = match source.clients {
                            1 => "its one client (give the workload `clients`)".to_string(),
                            n => format!("each of its {n} clients"),
                        };
                        notes.push(format!(
                            "\"{name}\": workload \"{}\" sends {}/s from {clients}, above the per-client limit of {}/s: it refuses at least {:.1}% of them (rate_limited), which the view lets through",
                            source.name,
                            super::rate_text(per_client),
                            super::rate_text(limit_per_s),
                            100.0 * (1.0 - limit_per_s / per_client)
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    notes
}
