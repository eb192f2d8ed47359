//! Validation of the network: message sizes per class, bandwidths on links and between
//! regions, egress prices.

use super::{suggest, Compiler, Validator};
use crate::error::SpecError;
use crate::topology::{EgressPrices, Network, Pipe, Regions, NONE};

impl Validator<'_> {
    /// The checked network; `classes` are the workloads' classes.
    pub(super) fn network(
        &self,
        compiler: &mut Compiler,
        classes: &[String],
        regions: &Regions,
        node_regions: &[u32],
    ) -> Result<Network, SpecError> {
        let raw = self.raw;
        let enabled = !raw.sizes.is_empty();
        let mut class_sizes = vec![(NONE, NONE); classes.len()];
        for (class, sizes) in &raw.sizes {
            let path = format!("sizes.{class}");
            let Some(id) = classes.iter().position(|c| c == class) else {
                let known: Vec<&str> = classes.iter().map(String::as_str).collect();
                return Err(self.invalid_at(
                    &path,
                    format!("sizes names class \"{class}\", which no workload has"),
                    &["sizes", &format!("\"{class}\"")],
                    &suggest(class, &known),
                ));
            };
            let mut sampler = |spec: &Option<crate::spec::SizeSpec>, part: &str| match spec {
                Some(spec) => self.sampler(&spec.as_dist(), compiler, &["sizes", &format!("\"{class}\""), part]),
                None => Ok(NONE),
            };
            class_sizes[id] = (sampler(&sizes.request, "request")?, sampler(&sizes.response, "response")?);
        }
        let n = raw.nodes.len();
        let mut node_sizes = Vec::new();
        for (name, sizes) in &raw.node_sizes {
            if !enabled {
                return Err(self.no_sizes(&format!("node_sizes.{name}"), &["node_sizes"]));
            }
            let node = self.node_id(name, &["node_sizes"], "node_sizes")?;
            if node_sizes.is_empty() {
                node_sizes = vec![(NONE, NONE); n];
            }
            let mut sampler = |spec: &Option<crate::spec::SizeSpec>, part: &str| match spec {
                Some(spec) => self.sampler(&spec.as_dist(), compiler, &["node_sizes", &format!("\"{name}\""), part]),
                None => Ok(NONE),
            };
            node_sizes[node.index()] = (sampler(&sizes.request, "request")?, sampler(&sizes.response, "response")?);
        }
        let mut pipes = Vec::new();
        let mut pair_pipes = Vec::new();
        let mut pipe = |name: String, bandwidth: crate::units::Bandwidth| {
            pipes.push(Pipe { name, bit_per_s: bandwidth.bit_per_s, ns_per_byte: 8e9 / bandwidth.bit_per_s });
            pipes.len() as u32 - 1
        };
        for (index, link) in raw.links.iter().enumerate() {
            let Some(bandwidth) = link.bandwidth else { continue };
            if !enabled {
                return Err(self.no_sizes(&format!("links.{index}.bandwidth"), &["links", "bandwidth"]));
            }
            let from = self.node_id(&link.from, &["links", "from"], "a link")?;
            let to = self.node_id(&link.to, &["links", "to"], "a link")?;
            if pair_pipes.is_empty() {
                pair_pipes = vec![NONE; n * n];
            }
            pair_pipes[from.index() * n + to.index()] = pipe(format!("{} → {}", link.from, link.to), bandwidth);
            // The answers go back over the other direction, a pipe of its own (full duplex),
            // unless the file gives that direction as a link of its own.
            let back = to.index() * n + from.index();
            let given_back = raw.links.iter().any(|other| other.from == link.to && other.to == link.from);
            if !given_back {
                pair_pipes[back] = pipe(format!("{} → {}", link.to, link.from), bandwidth);
            }
        }
        if let Some(raw_regions) = &raw.regions {
            let regions_count = regions.names.len();
            let mut region_pipes = vec![NONE; regions_count * regions_count];
            for (index, (a, b, bandwidth)) in raw_regions.bandwidth.iter().enumerate() {
                let path = format!("regions.bandwidth.{index}");
                if !enabled {
                    return Err(self.no_sizes(&path, &["regions", "bandwidth"]));
                }
                let anchors = ["regions", "bandwidth", &format!("\"{a}\"")];
                let (a_id, b_id) = (self.region_id(regions, a, &anchors)?, self.region_id(regions, b, &anchors)?);
                let (a_id, b_id) = (a_id as usize, b_id as usize);
                if a_id == b_id || region_pipes[a_id * regions_count + b_id] != NONE {
                    return Err(self.invalid_at(
                        &path,
                        format!("the bandwidth between \"{a}\" and \"{b}\" is not a pair of two regions given once"),
                        &anchors,
                        "give each pair of distinct regions once; it applies to each direction",
                    ));
                }
                region_pipes[a_id * regions_count + b_id] = pipe(format!("{a} → {b}"), *bandwidth);
                region_pipes[b_id * regions_count + a_id] = pipe(format!("{b} → {a}"), *bandwidth);
            }
            if !raw_regions.bandwidth.is_empty() {
                if pair_pipes.is_empty() {
                    pair_pipes = vec![NONE; n * n];
                }
                for from in 0..n {
                    for to in 0..n {
                        let (a, b) = (node_regions[from], node_regions[to]);
                        if a == NONE || b == NONE || a == b || pair_pipes[from * n + to] != NONE {
                            continue;
                        }
                        pair_pipes[from * n + to] = region_pipes[a as usize * regions_count + b as usize];
                    }
                }
            }
        }
        let egress = match &raw.egress {
            None => EgressPrices::default(),
            Some(egress) => {
                if !enabled {
                    return Err(self.no_sizes("egress", &["egress"]));
                }
                let prices = [
                    ("internet_per_gb", egress.internet_per_gb),
                    ("inter_region_per_gb", egress.inter_region_per_gb),
                    ("inter_zone_per_gb", egress.inter_zone_per_gb),
                ];
                for (name, price) in prices {
                    if !price.is_finite() || price < 0.0 {
                        return Err(self.invalid_at(
                            &format!("egress.{name}"),
                            format!("egress {name} is {price}"),
                            &["egress", name],
                            "a price per GB is zero or positive, such as 0.09",
                        ));
                    }
                }
                EgressPrices {
                    internet_per_gb: egress.internet_per_gb,
                    inter_region_per_gb: egress.inter_region_per_gb,
                    inter_zone_per_gb: egress.inter_zone_per_gb,
                }
            }
        };
        Ok(Network { enabled, class_sizes, node_sizes, pipes, pair_pipes, egress })
    }

    /// A bandwidth or a price per GB in a file whose messages have no size.
    fn no_sizes(&self, path: &str, anchors: &[&str]) -> SpecError {
        self.invalid_at(
            path,
            "a bandwidth or an egress price needs message sizes, and the file gives none".into(),
            anchors,
            "give each class its sizes: sizes: {\"default\": (request: Constant(\"1KB\"), response: Exp(mean: \"40KB\"))}",
        )
    }
}
