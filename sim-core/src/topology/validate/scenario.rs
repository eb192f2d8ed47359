//! Validation of chaos scenarios, written inside a topology or in a file of their own: the
//! faults (crashes, hangs, slowdowns, errors, packet loss, partitions, zone and region
//! outages, load steps, chaos monkeys, pauses, deployments), their windows, the SLOs and the
//! time-series window, checked against a checked topology so that `apply_scenario` can add
//! one from its own file.

use super::resilience::positive;
use super::{suggest, syntax_help};
use crate::dist::{DistSpec, Sampler};
use crate::error::{locate, locate_from, Position, SpecError, SpecErrorKind};
use crate::ids::NodeId;
use crate::spec::*;
use crate::topology::*;
use crate::units::{Duration, NS_PER_S};

/// Most faults a scenario may list.
pub const MAX_FAULTS: usize = 10_000;
/// Most time-series windows a run may close (the window sets how many). The windows kept
/// are bounded apart from this (`model::series_store`): this bounds the time spent.
pub const MAX_WINDOWS: u64 = 10_000_000;
/// Most window closings of a run, counting one per node and one for the system: windows ×
/// (nodes + 1), some tens of nanoseconds each.
pub const MAX_WINDOW_CELLS: u64 = 20_000_000;

/// Most windows the time series of a topology with `nodes` nodes may close.
pub fn max_windows(nodes: usize) -> u64 {
    MAX_WINDOWS.min(MAX_WINDOW_CELLS / (nodes as u64 + 1))
}

/// Parses a scenario file and puts it in `topology` in place of the one it had.
pub fn apply_scenario(topology: &mut Topology, source: &str) -> Result<(), SpecError> {
    let options = ron::Options::default().with_default_extension(
        ron::extensions::Extensions::IMPLICIT_SOME | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES,
    );
    let raw: RawScenario = options.from_str(source).map_err(|error| {
        let position = Position { line: error.span.start.line, column: error.span.start.col };
        let message = error.code.to_string();
        let mut spec_error = SpecError::new(SpecErrorKind::Syntax, message.clone()).at(Some(position));
        spec_error.help = syntax_help(&message)
            .or_else(|| Some("a scenario file holds Scenario(faults: [...], slos: [...], window: \"1s\")".into()));
        spec_error
    })?;
    let (scenario, samplers) = ScenarioChecker { source, prefix: &[], path: "", topology, scope: None }.check(&raw)?;
    topology.samplers.extend(samplers);
    topology.scenario = Some(scenario);
    Ok(())
}

/// Checks a raw scenario against a checked topology.
#[derive(Clone, Copy)]
pub(super) struct ScenarioChecker<'a> {
    pub source: &'a str,
    /// Anchors leading to the scenario in the source (`["scenario"]` inside a topology).
    pub prefix: &'a [&'a str],
    /// The path of the scenario's value in the source (`scenario.` inside a topology, empty in
    /// a scenario file of its own).
    pub path: &'a str,
    pub topology: &'a Topology,
    /// While one fault is checked: where its text starts, so its errors are located inside it
    /// (not at the first fault of the same kind).
    pub scope: Option<usize>,
}

impl ScenarioChecker<'_> {
    fn anchors<'b>(&'b self, more: &[&'b str]) -> Vec<&'b str> {
        let mut all = self.prefix.to_vec();
        all.extend_from_slice(more);
        all
    }

    /// Where an error about `anchors` is: inside the fault being checked, or from the start.
    fn locate(&self, anchors: &[&str]) -> Option<Position> {
        match self.scope {
            Some(start) => locate_from(self.source, start, anchors),
            None => locate(self.source, &self.anchors(anchors)),
        }
    }

    fn error(&self, message: String, anchors: &[&str], help: impl Into<String>) -> SpecError {
        SpecError::new(SpecErrorKind::InvalidValue, message).at(self.locate(anchors)).with_help(help)
    }

    fn node(&self, name: &str, anchors: &[&str]) -> Result<NodeId, SpecError> {
        self.topology.node_id(name).ok_or_else(|| {
            let known: Vec<&str> = self.topology.nodes.iter().map(|n| n.name.as_str()).collect();
            let quoted = format!("\"{name}\"");
            let mut all = anchors.to_vec();
            all.push(&quoted);
            SpecError::new(
                SpecErrorKind::UnknownName,
                format!("the scenario names node \"{name}\", which is not defined"),
            )
            .at(self.locate(&all))
            .with_help(suggest(name, &known))
        })
    }

    fn region(&self, name: &str, anchors: &[&str]) -> Result<u32, SpecError> {
        let names = &self.topology.regions.names;
        names.iter().position(|r| r == name).map(|r| r as u32).ok_or_else(|| {
            let quoted = format!("\"{name}\"");
            let mut all = anchors.to_vec();
            all.push(&quoted);
            let help = if names.is_empty() {
                "the topology has no regions; add regions: (placement: {...}) or name nodes instead".to_string()
            } else {
                suggest(name, &names.iter().map(String::as_str).collect::<Vec<_>>())
            };
            SpecError::new(
                SpecErrorKind::UnknownName,
                format!("the scenario names region \"{name}\", which is not defined"),
            )
            .at(self.locate(&all))
            .with_help(help)
        })
    }

    /// A service node; `fixed_size` refuses an autoscaled one.
    fn service(&self, name: &str, anchors: &[&str], what: &str, fixed_size: bool) -> Result<NodeId, SpecError> {
        let node = self.node(name, anchors)?;
        match &self.topology.nodes[node].kind {
            NodeKind::Service(service) if service.autoscaling.is_none() || !fixed_size => Ok(node),
            NodeKind::Service(_) => Err(self.error(
                format!("{what} of \"{name}\", which is autoscaled"),
                anchors,
                "deploy a service with a fixed number of instances, or remove its autoscaling",
            )),
            kind => Err(self.error(
                format!("{what} of \"{name}\", which is a {}", kind.label()),
                anchors,
                "versions and deployments apply to services (and gateways)",
            )),
        }
    }

    /// A chaos monkey's cold spares: each node a service of fixed size with more instances
    /// than spares.
    fn check_spares(&self, names: &[String], ids: &[NodeId], spares: u32) -> Result<(), SpecError> {
        for (name, &id) in names.iter().zip(ids) {
            let node = &self.topology.nodes[id];
            let NodeKind::Service(service) = &node.kind else {
                return Err(self.error(
                    format!("cold spares of \"{name}\", which is a {}", node.kind.label()),
                    &["ChaosMonkey", "spares"],
                    "spares apply to services (and gateways); leave spares out, or list only services",
                ));
            };
            if service.autoscaling.is_some() {
                return Err(self.error(
                    format!("cold spares of \"{name}\", which is autoscaled"),
                    &["ChaosMonkey", "spares"],
                    "give the service a fixed number of instances, or leave spares out",
                ));
            }
            if spares >= service.instances {
                return Err(self.error(
                    format!("{spares} cold spares of \"{name}\", which has {} instances", service.instances),
                    &["ChaosMonkey", "spares"],
                    format!(
                        "the spares are the last instances, so give at most {}, or give the service more instances",
                        service.instances - 1
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The service a pause or hang names, and how many of its instances it takes (all
    /// without `instances`).
    fn paused_instances(&self, name: &str, instances: Option<u32>, fault: &str) -> Result<(NodeId, u32), SpecError> {
        let id = self.node(name, &[fault, "node"])?;
        let NodeKind::Service(service) = &self.topology.nodes[id].kind else {
            return Err(self.error(
                format!(
                    "a {} of \"{name}\", which is a {}",
                    fault.to_lowercase(),
                    self.topology.nodes[id].kind.label()
                ),
                &[fault, name],
                "pauses and hangs apply to services (and gateways): their instances hold the work",
            ));
        };
        let available = service.max_instances();
        match instances {
            Some(n) if n == 0 || n > available => Err(self.error(
                format!("a {} of {n} instances of \"{name}\", which has {available}", fault.to_lowercase()),
                &[fault, "instances"],
                format!("give between 1 and {available}, or leave it out for them all"),
            )),
            Some(n) => Ok((id, n)),
            None => Ok((id, available)),
        }
    }

    fn probability(&self, value: f64, anchors: &[&str], what: &str) -> Result<f64, SpecError> {
        if value.is_finite() && (0.0..=1.0).contains(&value) {
            Ok(value)
        } else {
            Err(self.error(format!("{what} of {value}"), anchors, "give a probability between 0 and 1"))
        }
    }

    fn factor(&self, value: f64, anchors: &[&str]) -> Result<f64, SpecError> {
        if value.is_finite() && value > 0.0 && value <= MAX_SERVICE_FACTOR {
            Ok(value)
        } else {
            Err(self.error(
                format!("a service-time factor of {value}"),
                anchors,
                format!("give a factor above 0 and at most {MAX_SERVICE_FACTOR} (2 doubles every service time, 0.5 halves it)"),
            ))
        }
    }

    fn sampler(&self, spec: &DistSpec, samplers: &mut Vec<Sampler>, anchors: &[&str]) -> Result<u32, SpecError> {
        let sampler = spec
            .compile()
            .map_err(|message| SpecError::new(SpecErrorKind::InvalidValue, message).at(self.locate(anchors)))?;
        samplers.push(sampler);
        Ok((self.topology.samplers.len() + samplers.len() - 1) as u32)
    }

    /// The scenario, and the samplers it adds to the topology's.
    pub fn check(&self, raw: &RawScenario) -> Result<(Scenario, Vec<Sampler>), SpecError> {
        let window_ns =
            positive(self.source, raw.window, NS_PER_S, "the time-series window", &self.anchors(&["window"]))?;
        if let crate::topology::StopCondition::Duration { ns } = self.topology.run.stop {
            let most = max_windows(self.topology.nodes.len());
            if ns / window_ns > most {
                return Err(self.error(
                    format!("a window of {} makes {} windows over the run", Duration { ns: window_ns }, ns / window_ns),
                    &["window"],
                    format!(
                        "give a window that makes at most {most} windows (a run closes at most \
                         {MAX_WINDOW_CELLS} windows × (nodes + 1))"
                    ),
                ));
            }
        }
        if raw.faults.len() > MAX_FAULTS {
            return Err(self.error(
                format!("the scenario has {} faults", raw.faults.len()),
                &["faults"],
                format!("list at most {MAX_FAULTS}; use ChaosMonkey for many random failures"),
            ));
        }
        let mut samplers = Vec::new();
        let mut faults = Vec::with_capacity(raw.faults.len());
        // Each fault is checked on its own and located inside its own text; every fault's
        // mistakes are reported.
        let mut errors = Vec::new();
        let spans = crate::params::item_spans(self.source, &format!("{}faults", self.path));
        for (index, raw_fault) in raw.faults.iter().enumerate() {
            let within = ScenarioChecker { scope: spans.get(index).map(|(start, _)| *start), ..*self };
            match within.fault(raw_fault, &mut samplers) {
                Ok(fault) => faults.push(fault),
                Err(error) => errors.push(error),
            }
        }
        if let Some(errors) = SpecError::gather(errors) {
            return Err(errors);
        }
        let mut slos = Vec::with_capacity(raw.slos.len());
        for slo in &raw.slos {
            slos.push(match slo {
                RawSlo::Latency { quantile, below } => {
                    if !(quantile.is_finite() && *quantile > 0.0 && *quantile < 1.0) {
                        return Err(self.error(
                            format!("a latency SLO on quantile {quantile}"),
                            &["slos", "Latency"],
                            "give a quantile between 0 and 1, such as 0.99 for p99",
                        ));
                    }
                    Slo::Latency { quantile: *quantile, below_ns: below.ns }
                }
                RawSlo::Availability { at_least } => {
                    if !(at_least.is_finite() && *at_least > 0.0 && *at_least <= 1.0) {
                        return Err(self.error(
                            format!("an availability SLO of {at_least}"),
                            &["slos", "Availability"],
                            "give a share between 0 and 1, such as 0.999 for three nines",
                        ));
                    }
                    Slo::Availability { at_least: *at_least }
                }
            });
        }
        Ok((Scenario { window_ns, faults, slos }, samplers))
    }

    fn window(&self, at: Duration, until: Option<Duration>, anchors: &[&str]) -> Result<(u64, Option<u64>), SpecError> {
        if let Some(until) = until {
            if until.ns <= at.ns {
                return Err(self.error(
                    format!("a fault that ends at {until}, not after it starts at {at}"),
                    anchors,
                    "give an `until` later than `at`, or leave it out to last to the end",
                ));
            }
        }
        Ok((at.ns, until.map(|u| u.ns)))
    }

    fn fault(&self, raw: &RawFault, samplers: &mut Vec<Sampler>) -> Result<Fault, SpecError> {
        let fault = |kind, (start_ns, end_ns)| Ok(Fault { kind, start_ns, end_ns });
        match raw {
            RawFault::Crash { node, at, until, instances } => {
                let anchors = ["Crash", "node"];
                let id = self.node(node, &anchors)?;
                let kind = &self.topology.nodes[id].kind;
                let available = kind.servers().map_or(1, |s| s.max_instances());
                let count = match instances {
                    Some(n) if kind.servers().is_none() => {
                        return Err(self.error(
                            format!("a crash of {n} instances of \"{node}\", a {} without instances", kind.label()),
                            &["Crash", "instances"],
                            "leave out instances: the whole node crashes",
                        ))
                    }
                    Some(n) if *n == 0 || *n > available => {
                        return Err(self.error(
                            format!("a crash of {n} instances of \"{node}\", which has {available}"),
                            &["Crash", "instances"],
                            format!("give between 1 and {available}, or leave it out to crash them all"),
                        ))
                    }
                    Some(n) => *n,
                    None => available,
                };
                fault(FaultKind::Crash { node: id, instances: count }, self.window(*at, *until, &["Crash"])?)
            }
            RawFault::Slow { node, at, until, factor, add } => {
                let id = self.node(node, &["Slow", "node"])?;
                let factor = self.factor(*factor, &["Slow", "factor"])?;
                let add_sampler = match add {
                    Some(spec) => self.sampler(spec, samplers, &["Slow", "add"])?,
                    None => NONE,
                };
                fault(FaultKind::Slow { node: id, factor, add_sampler }, self.window(*at, *until, &["Slow"])?)
            }
            RawFault::Errors { node, at, until, probability } => {
                let id = self.node(node, &["Errors", "node"])?;
                let probability = self.probability(*probability, &["Errors", "probability"], "an error probability")?;
                fault(FaultKind::Errors { node: id, probability }, self.window(*at, *until, &["Errors"])?)
            }
            RawFault::PacketLoss { node, at, until, loss, retransmit } => {
                let id = self.node(node, &["PacketLoss", "node"])?;
                if !(*loss > 0.0 && *loss < 1.0) {
                    return Err(self.error(
                        format!("a packet loss of {loss}"),
                        &["PacketLoss", "loss"],
                        "give a probability above 0 and below 1, such as 0.01; a link that carries nothing is a Partition",
                    ));
                }
                let retransmit_ns = retransmit.map_or(200_000_000, |d| d.ns);
                if retransmit_ns == 0 {
                    return Err(self.error(
                        "a retransmission timeout of 0".into(),
                        &["PacketLoss", "retransmit"],
                        "give a positive time, such as \"200ms\", or leave it out for 200 ms",
                    ));
                }
                fault(
                    FaultKind::PacketLoss { node: id, loss: *loss, retransmit_ns },
                    self.window(*at, *until, &["PacketLoss"])?,
                )
            }
            RawFault::Partition { between, and, at, until, timeout } => {
                let mut node_side = vec![0u8; self.topology.nodes.len()];
                let mut region_side = vec![0u8; self.topology.regions.names.len()];
                for (side, names, field) in [(1u8, between, "between"), (2u8, and, "and")] {
                    if names.is_empty() {
                        return Err(self.error(
                            format!("a partition with nothing on its `{field}` side"),
                            &["Partition", field],
                            "list node or region names on both sides",
                        ));
                    }
                    for name in names {
                        let anchors = ["Partition", field];
                        let members: Vec<NodeId> = if let Some(id) = self.topology.node_id(name) {
                            vec![id]
                        } else {
                            let region = self.region(name, &anchors).map_err(|_| {
                                let mut known: Vec<&str> =
                                    self.topology.nodes.iter().map(|n| n.name.as_str()).collect();
                                known.extend(self.topology.regions.names.iter().map(String::as_str));
                                self.error(
                                    format!("the partition names \"{name}\", which is neither a node nor a region"),
                                    &anchors,
                                    suggest(name, &known),
                                )
                            })?;
                            region_side[region as usize] = side;
                            (0..self.topology.nodes.len() as u32)
                                .map(NodeId::new)
                                .filter(|n| self.topology.nodes[*n].region == region)
                                .collect()
                        };
                        for member in members {
                            if node_side[member] != 0 && node_side[member] != side {
                                return Err(self.error(
                                    format!(
                                        "node \"{}\" is on both sides of a partition",
                                        self.topology.nodes[member].name
                                    ),
                                    &anchors,
                                    "put each node on one side only",
                                ));
                            }
                            node_side[member] = side;
                        }
                    }
                }
                let timeout_ns = positive(
                    self.source,
                    *timeout,
                    NS_PER_S,
                    "the partition timeout",
                    &self.anchors(&["Partition", "timeout"]),
                )?;
                let label = format!("{} | {}", between.join(", "), and.join(", "));
                fault(
                    FaultKind::Partition { node_side, region_side, timeout_ns, label },
                    self.window(*at, *until, &["Partition"])?,
                )
            }
            RawFault::RegionOutage { region, at, until } => {
                let id = self.region(region, &["RegionOutage", "region"])?;
                let nodes = (0..self.topology.nodes.len() as u32)
                    .map(NodeId::new)
                    .filter(|n| match &self.topology.nodes[*n].kind {
                        // A database with servers in several regions loses those in this one.
                        NodeKind::Database(database) if !database.server_regions.is_empty() => {
                            database.server_regions.contains(&id)
                        }
                        _ => self.topology.nodes[*n].region == id,
                    })
                    .collect::<Vec<_>>();
                if nodes.is_empty() {
                    return Err(self.error(
                        format!("an outage of region \"{region}\", which has no nodes"),
                        &["RegionOutage", "region"],
                        "place nodes in the region, or name another",
                    ));
                }
                fault(FaultKind::RegionOutage { region: id, nodes }, self.window(*at, *until, &["RegionOutage"])?)
            }
            RawFault::ZoneOutage { zone, at, until } => {
                let zones = &self.topology.regions.zones;
                let Some(id) = zones.iter().position(|z| z == zone) else {
                    let help = if zones.is_empty() {
                        "the topology has no zones; add zones: {\"us-east-1a\": [...]} to its regions".to_string()
                    } else {
                        suggest(zone, &zones.iter().map(String::as_str).collect::<Vec<_>>())
                    };
                    return Err(SpecError::new(
                        SpecErrorKind::UnknownName,
                        format!("the scenario names zone \"{zone}\", which is not defined"),
                    )
                    .at(self.locate(&["ZoneOutage", "zone"]))
                    .with_help(help));
                };
                let nodes = (0..self.topology.nodes.len() as u32)
                    .map(NodeId::new)
                    .filter(|n| self.topology.regions.node_zones[n.index()] == id as u32)
                    .collect::<Vec<_>>();
                fault(FaultKind::ZoneOutage { zone: id as u32, nodes }, self.window(*at, *until, &["ZoneOutage"])?)
            }
            RawFault::Pause { node, at, until, instances } => {
                let (id, count) = self.paused_instances(node, *instances, "Pause")?;
                fault(FaultKind::Pause { node: id, instances: count }, self.window(*at, Some(*until), &["Pause"])?)
            }
            RawFault::Hang { node, at, until, instances } => {
                let (id, count) = self.paused_instances(node, *instances, "Hang")?;
                fault(FaultKind::Hang { node: id, instances: count }, self.window(*at, *until, &["Hang"])?)
            }
            RawFault::Pauses { nodes, every, pause, at, until } => {
                if nodes.is_empty() {
                    return Err(self.error(
                        "pauses on no nodes".into(),
                        &["Pauses", "nodes"],
                        "list the services whose instances pause",
                    ));
                }
                let ids = nodes
                    .iter()
                    .map(|n| self.paused_instances(n, None, "Pauses").map(|(id, _)| id))
                    .collect::<Result<Vec<_>, _>>()?;
                let every_sampler = self.sampler(every, samplers, &["Pauses", "every"])?;
                let pause_sampler = self.sampler(pause, samplers, &["Pauses", "pause"])?;
                let all = self.topology.samplers.iter().chain(samplers.iter()).collect::<Vec<_>>();
                if all[every_sampler as usize].mean_s() <= 0.0 {
                    return Err(self.error(
                        "pauses whose mean time between pauses is 0".into(),
                        &["Pauses", "every"],
                        "give a positive mean, such as Exp(mean: \"10s\")",
                    ));
                }
                fault(
                    FaultKind::Pauses { nodes: ids, every_sampler, pause_sampler },
                    self.window(at.unwrap_or_default(), *until, &["Pauses"])?,
                )
            }
            RawFault::ChaosMonkey { nodes, mtbf, mttr, at, until, crews, quorum, spares, detection, takeover } => {
                if nodes.is_empty() {
                    return Err(self.error(
                        "a chaos monkey with no nodes".into(),
                        &["ChaosMonkey", "nodes"],
                        "list the nodes whose instances it fails",
                    ));
                }
                let ids =
                    nodes.iter().map(|n| self.node(n, &["ChaosMonkey", "nodes"])).collect::<Result<Vec<_>, _>>()?;
                let mtbf_sampler = self.sampler(mtbf, samplers, &["ChaosMonkey", "mtbf"])?;
                let mttr_sampler = self.sampler(mttr, samplers, &["ChaosMonkey", "mttr"])?;
                let all = self.topology.samplers.iter().chain(samplers.iter()).collect::<Vec<_>>();
                if all[mtbf_sampler as usize].mean_s() <= 0.0 {
                    return Err(self.error(
                        "a chaos monkey whose mean time between failures is 0".into(),
                        &["ChaosMonkey", "mtbf"],
                        "give a positive mean, such as Exp(mean: \"60s\")",
                    ));
                }
                if *crews == Some(0) {
                    return Err(self.error(
                        "a chaos monkey with 0 repair crews".into(),
                        &["ChaosMonkey", "crews"],
                        "give at least 1 crew, or leave it out for repairs without a limit",
                    ));
                }
                let spares = spares.unwrap_or(0);
                if spares > 0 {
                    self.check_spares(nodes, &ids, spares)?;
                }
                if let Some(k) = quorum {
                    let smallest = ids
                        .iter()
                        .map(|id| self.topology.nodes[*id].kind.servers().map_or(1, |s| s.max_instances()))
                        .min()
                        .unwrap_or(1)
                        - spares;
                    if *k == 0 || *k > smallest {
                        let serving = if spares > 0 { " serving (its spares aside)" } else { "" };
                        return Err(self.error(
                            format!("a quorum of {k} where a node has {smallest} instances{serving}"),
                            &["ChaosMonkey", "quorum"],
                            format!("give a quorum between 1 and {smallest}"),
                        ));
                    }
                }
                fault(
                    FaultKind::ChaosMonkey {
                        nodes: ids,
                        mtbf_sampler,
                        mttr_sampler,
                        crews: crews.unwrap_or(0),
                        quorum: quorum.unwrap_or(0),
                        spares,
                        detection_ns: detection.map_or(0, |d| d.ns),
                        takeover_ns: takeover.map_or(0, |d| d.ns),
                    },
                    self.window(at.unwrap_or_default(), *until, &["ChaosMonkey"])?,
                )
            }
            RawFault::RollingDeploy { node, at, batch, each } => {
                let id = self.service(node, &["RollingDeploy", "node"], "a rolling deployment", true)?;
                let instances = self.topology.nodes[id].kind.instances();
                if *batch == 0 || *batch >= instances {
                    return Err(self.error(
                        format!("a rolling deployment of \"{node}\" {batch} at a time; it has {instances} instances"),
                        &["RollingDeploy", "batch"],
                        "take out at least 1 and fewer than all instances at a time (a service needs 2 or more)",
                    ));
                }
                if each.ns == 0 {
                    return Err(self.error(
                        "each is 0".into(),
                        &["RollingDeploy", "each"],
                        "give a positive duration, such as \"100ms\", or leave it out for the default",
                    ));
                }
                let each_ns = each.ns;
                let batches = instances.div_ceil(*batch) as u64;
                let end_ns = at.ns + batches * each_ns;
                fault(FaultKind::RollingDeploy { node: id, batch: *batch, each_ns }, (at.ns, Some(end_ns)))
            }
            RawFault::BlueGreen { node, at, until, factor, errors } => {
                let id = self.service(node, &["BlueGreen", "node"], "a blue-green switch", false)?;
                let factor = self.factor(*factor, &["BlueGreen", "factor"])?;
                let errors = self.probability(*errors, &["BlueGreen", "errors"], "an error probability")?;
                fault(
                    FaultKind::Version { node: id, share: 1.0, factor, errors, rollout: Rollout::BlueGreen },
                    self.window(*at, *until, &["BlueGreen"])?,
                )
            }
            RawFault::Load { factor, at } => {
                if !(factor.is_finite() && (0.0..=MAX_LOAD_FACTOR).contains(factor)) {
                    return Err(self.error(
                        format!("a load factor of {factor}"),
                        &["Load", "factor"],
                        format!(
                            "give a factor from 0 to {MAX_LOAD_FACTOR} (2 doubles the open arrival rates, 1 restores them)"
                        ),
                    ));
                }
                fault(FaultKind::Load { factor: *factor }, (at.ns, None))
            }
            RawFault::Canary { node, at, until, share, factor, errors } => {
                let id = self.service(node, &["Canary", "node"], "a canary", false)?;
                let share = self.probability(*share, &["Canary", "share"], "a canary share")?;
                let factor = self.factor(*factor, &["Canary", "factor"])?;
                let errors = self.probability(*errors, &["Canary", "errors"], "an error probability")?;
                fault(
                    FaultKind::Version { node: id, share, factor, errors, rollout: Rollout::Canary },
                    self.window(*at, *until, &["Canary"])?,
                )
            }
        }
    }
}
