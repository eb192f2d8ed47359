//! The report's network section: bytes per link, per region pair and to the clients,
//! the links with a bandwidth (utilization and queueing), a CDN's bytes from the edge
//! against the origin, and the egress cost.

use crate::model::Simulation;
use crate::topology::NodeKind;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// What the clients are called where a link names its ends.
pub const CLIENTS: &str = "(clients)";

/// What the network carried in the measured period (present when the topology gives sizes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkReport {
    /// Every byte sent, requests and answers, on every link.
    pub total_bytes: u64,
    /// Bytes from the clients (ingress) and answered to them (egress).
    pub internet: InternetReport,
    /// Per caller–callee pair that carried a message, in file order of the caller.
    pub links: Vec<LinkReport>,
    /// The links and region pairs with a bandwidth, one entry per direction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bandwidth: Vec<PipeReport>,
    /// Bytes from one region to another.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region_pairs: Vec<RegionPairReport>,
    /// Bytes between two availability zones of one region.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inter_zone_bytes: u64,
    /// Per CDN: the bytes it answered against those it fetched from its origin.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub cdn: IndexMap<String, CdnBytesReport>,
    /// What the bytes leaving a region cost, when the file gives egress prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_cost: Option<EgressCostReport>,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// Bytes to and from the clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InternetReport {
    /// Bytes of the requests the clients sent.
    pub ingress_bytes: u64,
    /// Bytes of the answers the clients got.
    pub egress_bytes: u64,
}

/// One caller–callee pair: the requests it carried one way and the answers back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkReport {
    /// The caller, `(clients)` for a workload's clients.
    pub from: String,
    /// The callee.
    pub to: String,
    /// Requests sent (attempts and retries each count).
    pub requests: u64,
    /// Their bytes.
    pub request_bytes: u64,
    /// Answers, errors included (an error carries no bytes).
    pub responses: u64,
    /// Their bytes.
    pub response_bytes: u64,
}

/// One direction of a link with a bandwidth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipeReport {
    /// `from → to`: two nodes, or two regions.
    pub name: String,
    /// Capacity, bits per second.
    pub bandwidth_bit_s: f64,
    /// Messages sent over it.
    pub messages: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Bits sent per second of measured time.
    pub throughput_bit_s: f64,
    /// Transmission time over measured time; 1 or more cannot keep up.
    pub offered_load: f64,
    /// The share of time it was sending (at most 1).
    pub utilization: f64,
    /// Mean time a message waited for the ones before it, ms.
    pub mean_wait_ms: f64,
    /// Longest wait, ms.
    pub max_wait_ms: f64,
}

/// Bytes from one region to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionPairReport {
    /// The sending region.
    pub from: String,
    /// The receiving region.
    pub to: String,
    /// Bytes sent.
    pub bytes: u64,
}

/// A CDN's answers: bytes served, and the part fetched from its origin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CdnBytesReport {
    /// Bytes of its answers.
    pub served_bytes: u64,
    /// Bytes its origin answered it (misses and refreshes).
    pub origin_bytes: u64,
    /// 1 − origin / served: the share of bytes the edge saved the origin.
    pub edge_share: Option<f64>,
}

/// The egress cost of the measured period, in the file's currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EgressCostReport {
    /// Answers to the clients.
    pub internet: f64,
    /// Between regions.
    pub inter_region: f64,
    /// Between zones of a region.
    pub inter_zone: f64,
    /// The sum, which the report's cost total includes.
    pub total: f64,
}

impl Simulation<'_> {
    /// The network section, when the topology gives sizes.
    pub(super) fn network_report(&self, measured_ns: f64) -> Option<NetworkReport> {
        let topology = self.kernel.topology;
        let network = &topology.network;
        if !network.enabled {
            return None;
        }
        let traffic = &self.kernel.traffic;
        let name = |node: crate::ids::NodeId| {
            if node.is_none() {
                CLIENTS.to_string()
            } else {
                topology.nodes[node].name.clone()
            }
        };
        let mut links = traffic.links.clone();
        // The clients first, then callers and callees in file order.
        links.sort_by_key(|link| (link.from.raw().wrapping_add(1), link.to.raw()));
        let links: Vec<LinkReport> = links
            .iter()
            .map(|link| LinkReport {
                from: name(link.from),
                to: name(link.to),
                requests: link.requests,
                request_bytes: link.request_bytes,
                responses: link.responses,
                response_bytes: link.response_bytes,
            })
            .collect();
        let total_bytes = links.iter().map(|link| link.request_bytes + link.response_bytes).sum();
        let measured_s = measured_ns / 1e9;
        let bandwidth = network
            .pipes
            .iter()
            .zip(&traffic.pipes)
            .map(|(pipe, state)| {
                let offered_load = state.busy_ns as f64 / measured_ns;
                PipeReport {
                    name: pipe.name.clone(),
                    bandwidth_bit_s: pipe.bit_per_s,
                    messages: state.messages,
                    bytes: state.bytes,
                    throughput_bit_s: state.bytes as f64 * 8.0 / measured_s,
                    offered_load,
                    utilization: offered_load.min(1.0),
                    mean_wait_ms: if state.messages == 0 {
                        0.0
                    } else {
                        state.wait_ns as f64 / state.messages as f64 / 1e6
                    },
                    max_wait_ms: state.max_wait_ns as f64 / 1e6,
                }
            })
            .collect();
        let regions = &topology.regions.names;
        let mut region_pairs = Vec::new();
        for (a, from) in regions.iter().enumerate() {
            for (b, to) in regions.iter().enumerate() {
                let bytes = traffic.region_bytes[a * regions.len() + b];
                if bytes > 0 {
                    region_pairs.push(RegionPairReport { from: from.clone(), to: to.clone(), bytes });
                }
            }
        }
        let cdn = topology
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(index, node)| {
                let NodeKind::Cdn(config) = &node.kind else { return None };
                let raw = index as u32;
                let served_bytes = traffic.links.iter().filter(|l| l.to.raw() == raw).map(|l| l.response_bytes).sum();
                let origin_bytes = traffic
                    .links
                    .iter()
                    .filter(|l| l.from.raw() == raw && l.to == config.origin)
                    .map(|l| l.response_bytes)
                    .sum::<u64>();
                let edge_share = (served_bytes > 0).then(|| 1.0 - origin_bytes as f64 / served_bytes as f64);
                Some((node.name.clone(), CdnBytesReport { served_bytes, origin_bytes, edge_share }))
            })
            .collect();
        let inter_region_bytes: u64 = traffic.region_bytes.iter().sum();
        let prices = network.egress;
        let egress_cost = (prices != Default::default()).then(|| {
            let gb = |bytes: u64| bytes as f64 / 1e9;
            let internet = gb(traffic.internet_egress_bytes) * prices.internet_per_gb;
            let inter_region = gb(inter_region_bytes) * prices.inter_region_per_gb;
            let inter_zone = gb(traffic.inter_zone_bytes) * prices.inter_zone_per_gb;
            EgressCostReport { internet, inter_region, inter_zone, total: internet + inter_region + inter_zone }
        });
        Some(NetworkReport {
            total_bytes,
            internet: InternetReport {
                ingress_bytes: traffic.internet_ingress_bytes,
                egress_bytes: traffic.internet_egress_bytes,
            },
            links,
            bandwidth,
            region_pairs,
            inter_zone_bytes: traffic.inter_zone_bytes,
            cdn,
            egress_cost,
        })
    }
}

/// The instability lines of links that cannot keep up.
pub(super) fn saturated_links(network: &NetworkReport) -> impl Iterator<Item = String> + '_ {
    network.bandwidth.iter().filter(|pipe| pipe.offered_load >= 1.0).map(|pipe| {
        format!(
            "link {} is offered {:.2} of its {} bandwidth: messages queue for it without end; \
             give it more bandwidth or send fewer bytes",
            pipe.name,
            pipe.offered_load,
            format_bandwidth(pipe.bandwidth_bit_s)
        )
    })
}

/// `1e9` → `1 Gbit/s`.
pub fn format_bandwidth(bit_per_s: f64) -> String {
    let units = [(1e12, "Tbit/s"), (1e9, "Gbit/s"), (1e6, "Mbit/s"), (1e3, "kbit/s")];
    for (scale, unit) in units {
        if bit_per_s >= scale {
            return format!("{} {unit}", super::table::trim(bit_per_s / scale));
        }
    }
    format!("{bit_per_s} bit/s")
}

/// The table's network section.
pub(super) fn network_lines(out: &mut String, network: &NetworkReport, currency: Option<&str>) {
    use std::fmt::Write;
    let _ = writeln!(
        out,
        "\nnetwork: {} sent; the clients sent {} and got {}",
        format_bytes(network.total_bytes),
        format_bytes(network.internet.ingress_bytes),
        format_bytes(network.internet.egress_bytes)
    );
    for link in &network.links {
        let _ = writeln!(
            out,
            "  {} → {}: {} requests, {}; {} answers, {}",
            link.from,
            link.to,
            link.requests,
            format_bytes(link.request_bytes),
            link.responses,
            format_bytes(link.response_bytes)
        );
    }
    for pipe in &network.bandwidth {
        let _ = writeln!(
            out,
            "  bandwidth {}: {}, {:.1}% busy (offered {:.3}), waits {:.3} ms on average, {:.3} ms at most",
            pipe.name,
            format_bandwidth(pipe.bandwidth_bit_s),
            pipe.utilization * 100.0,
            pipe.offered_load,
            pipe.mean_wait_ms,
            pipe.max_wait_ms
        );
    }
    for pair in &network.region_pairs {
        let _ = writeln!(out, "  region {} → {}: {}", pair.from, pair.to, format_bytes(pair.bytes));
    }
    if network.inter_zone_bytes > 0 {
        let _ = writeln!(out, "  between zones: {}", format_bytes(network.inter_zone_bytes));
    }
    for (name, cdn) in &network.cdn {
        let share = cdn.edge_share.map_or(String::new(), |share| format!(" ({:.1}% from the edge)", share * 100.0));
        let _ = writeln!(
            out,
            "  cdn {name}: served {}, {} of it from the origin{share}",
            format_bytes(cdn.served_bytes),
            format_bytes(cdn.origin_bytes)
        );
    }
    if let Some(cost) = &network.egress_cost {
        let unit = currency.map_or(String::new(), |currency| format!(" {currency}"));
        let _ = writeln!(
            out,
            "  egress cost {:.4}{unit}: internet {:.4}, between regions {:.4}, between zones {:.4}",
            cost.total, cost.internet, cost.inter_region, cost.inter_zone
        );
    }
}

/// `1234567` → `1.235 MB` (powers of 1000).
pub fn format_bytes(bytes: u64) -> String {
    let units = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")];
    for (scale, unit) in units {
        if bytes as f64 >= scale {
            return format!("{} {unit}", super::table::trim(bytes as f64 / scale));
        }
    }
    format!("{bytes} B")
}
