//! Validation of regions: the placement of nodes and the latency matrix between regions,
//! and availability zones inside them.

use super::{suggest, Compiler, Validator};
use crate::error::{SpecError, SpecErrorKind};
use crate::spec::RawRegions;
use crate::topology::{Regions, NONE};

impl Validator<'_> {
    /// The regions and each node's region (`NONE` for nodes not placed, or without regions).
    pub(super) fn regions(&self, compiler: &mut Compiler) -> Result<(Regions, Vec<u32>), SpecError> {
        let mut node_regions = vec![NONE; self.raw.nodes.len()];
        let Some(raw) = &self.raw.regions else {
            for (name, node) in &self.raw.nodes {
                if let Some(region) = node.region() {
                    return Err(self
                        .error(
                            SpecErrorKind::UnknownName,
                            format!("node \"{name}\" is in region \"{region}\", but the topology has no regions"),
                            &["nodes", &format!("\"{name}\""), "region"],
                        )
                        .with_help("add regions: (placement: {\"us\": [...]}, latency: [...]) to the topology"));
                }
            }
            return Ok((Regions::default(), node_regions));
        };
        if raw.placement.is_empty() {
            return Err(self
                .error(SpecErrorKind::InvalidValue, "regions has no placement".into(), &["regions", "placement"])
                .with_help(
                    "name each region with the nodes in it: placement: {\"us\": [\"app-us\"], \"eu\": [\"app-eu\"]}",
                ));
        }
        let names: Vec<String> = raw.placement.keys().cloned().collect();
        for (region_index, (region, members)) in raw.placement.iter().enumerate() {
            for member in members {
                let node =
                    self.node_id(member, &["regions", &format!("\"{region}\"")], &format!("region \"{region}\""))?;
                if node_regions[node] != NONE {
                    return Err(self
                        .error(
                            SpecErrorKind::InvalidValue,
                            format!("node \"{member}\" is placed in two regions"),
                            &["regions", &format!("\"{member}\"")],
                        )
                        .with_help("place each node in one region; give each region its own copy of the node"));
                }
                node_regions[node] = region_index as u32;
            }
        }
        // A node may also say its region itself.
        for (index, (name, node)) in self.raw.nodes.iter().enumerate() {
            if let Some(region) = node.region() {
                let anchors = ["nodes", &format!("\"{name}\""), "region"];
                let id = names.iter().position(|n| n == region).ok_or_else(|| {
                    self.error(
                        SpecErrorKind::UnknownName,
                        format!("node \"{name}\" is in region \"{region}\", which is not defined"),
                        &anchors,
                    )
                    .with_help(suggest(region, &names.iter().map(String::as_str).collect::<Vec<_>>()))
                })? as u32;
                if node_regions[index] != NONE && node_regions[index] != id {
                    return Err(self
                        .error(
                            SpecErrorKind::InvalidValue,
                            format!("node \"{name}\" says region \"{region}\" but is placed in another"),
                            &anchors,
                        )
                        .with_help("keep one of the two"));
                }
                node_regions[index] = id;
            }
        }
        let n = names.len();
        let local = match &raw.local {
            Some(spec) => self.sampler(spec, compiler, &["regions", "local"])?,
            None => NONE,
        };
        let mut samplers = vec![NONE; n * n];
        let mut mean_latency_s = vec![f64::INFINITY; n * n];
        for region in 0..n {
            samplers[region * n + region] = local;
            mean_latency_s[region * n + region] =
                if local == NONE { 0.0 } else { compiler.samplers[local as usize].mean_s() };
        }
        for (from, to, spec) in &raw.latency {
            let anchors = ["regions", "latency", &format!("\"{from}\"")];
            let a = self.region_id_in(&names, from, &anchors)? as usize;
            let b = self.region_id_in(&names, to, &anchors)? as usize;
            if a == b {
                return Err(self
                    .error(SpecErrorKind::InvalidValue, format!("a latency from region \"{from}\" to itself"), &anchors)
                    .with_help("latency inside a region is regions.local"));
            }
            if samplers[a * n + b] != NONE && samplers[a * n + b] != local {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("the latency between \"{from}\" and \"{to}\" is given twice"),
                        &anchors,
                    )
                    .with_help("give each pair of regions once; it applies both ways"));
            }
            let sampler = self.sampler(spec, compiler, &anchors)?;
            let mean = compiler.samplers[sampler as usize].mean_s();
            samplers[a * n + b] = sampler;
            samplers[b * n + a] = sampler;
            mean_latency_s[a * n + b] = mean;
            mean_latency_s[b * n + a] = mean;
        }
        for a in 0..n {
            for b in 0..n {
                if a != b && samplers[a * n + b] == NONE {
                    return Err(self
                        .error(
                            SpecErrorKind::InvalidValue,
                            format!("no latency is given between regions \"{}\" and \"{}\"", names[a], names[b]),
                            &["regions", "latency"],
                        )
                        .with_help(format!(
                            "add (\"{}\", \"{}\", Normal(mean: \"80ms\", sd: \"5ms\")) to regions.latency",
                            names[a], names[b]
                        )));
                }
            }
        }
        let zone_sampler = match &raw.zone_latency {
            Some(spec) => self.sampler(spec, compiler, &["regions", "zone_latency"])?,
            None => local,
        };
        let (zones, node_zones) = self.zones(raw, &node_regions)?;
        Ok((Regions { names, samplers, mean_latency_s, zones, node_zones, zone_sampler }, node_regions))
    }

    /// The zone names and each node's zone: a zone's nodes are placed, all in one region.
    fn zones(&self, raw: &RawRegions, node_regions: &[u32]) -> Result<(Vec<String>, Vec<u32>), SpecError> {
        let mut node_zones = vec![NONE; self.raw.nodes.len()];
        if raw.zones.is_empty() {
            if raw.zone_latency.is_some() {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        "regions gives a zone latency but no zones".into(),
                        &["regions", "zone_latency"],
                    )
                    .with_help(
                        "place nodes in zones: zones: {\"us-east-1a\": [\"app-a\"], \"us-east-1b\": [\"app-b\"]}",
                    ));
            }
            return Ok((Vec::new(), node_zones));
        }
        for (zone_index, (zone, members)) in raw.zones.iter().enumerate() {
            let anchors = ["zones", &format!("\"{zone}\"")];
            let mut region = NONE;
            for member in members {
                let node = self.node_id(member, &anchors, &format!("zone \"{zone}\""))?;
                if node_zones[node] != NONE {
                    return Err(self
                        .error(
                            SpecErrorKind::InvalidValue,
                            format!("node \"{member}\" is placed in two zones"),
                            &["zones", &format!("\"{member}\"")],
                        )
                        .with_help("place each node in one zone; give each zone its own copy of the node"));
                }
                let member_region = node_regions[node];
                if member_region == NONE {
                    return Err(self
                        .error(
                            SpecErrorKind::InvalidValue,
                            format!("node \"{member}\" is in zone \"{zone}\" but in no region"),
                            &["zones", &format!("\"{member}\"")],
                        )
                        .with_help("a zone is inside a region: place the node in the zone's region too"));
                }
                if region != NONE && region != member_region {
                    return Err(self
                        .error(
                            SpecErrorKind::InvalidValue,
                            format!("zone \"{zone}\" has nodes in two regions"),
                            &["zones", &format!("\"{member}\"")],
                        )
                        .with_help("a zone is inside one region: place all its nodes in the same region"));
                }
                region = member_region;
                node_zones[node] = zone_index as u32;
            }
        }
        Ok((raw.zones.keys().cloned().collect(), node_zones))
    }

    /// The id of a region named in the file.
    pub(super) fn region_id(&self, regions: &Regions, name: &str, anchors: &[&str]) -> Result<u32, SpecError> {
        self.region_id_in(&regions.names, name, anchors)
    }

    fn region_id_in(&self, names: &[String], name: &str, anchors: &[&str]) -> Result<u32, SpecError> {
        names.iter().position(|n| n == name).map(|i| i as u32).ok_or_else(|| {
            let help = if names.is_empty() {
                "add regions: (placement: {...}, latency: [...]) to the topology".to_string()
            } else {
                suggest(name, &names.iter().map(String::as_str).collect::<Vec<_>>())
            };
            self.error(SpecErrorKind::UnknownName, format!("region \"{name}\" is not defined"), anchors).with_help(help)
        })
    }
}
