//! Parse, then validate: RON text → `RawTopology` → checked `Topology`, with every error
//! located in the file and given a fix.

mod components;
mod concurrency;
mod hosts;
mod network;
mod priorities;
mod regions;
mod resilience;
mod trace;

pub use resilience::{apply_scenario, max_windows, MAX_WINDOWS, MAX_WINDOW_CELLS};

use super::graph::{check_call_cycles, Edge, EdgeKind};
use super::*;
use crate::dist::{cumulative_weights, DistSpec};
use crate::error::{locate, locate_path, Position, SpecError, SpecErrorKind};
use crate::ids::{InstanceId, NodeId};
use crate::keys::ZipfSampler;
use crate::spec::*;
use crate::units::NS_PER_S;

/// Default simulated duration when neither the file nor the caller says how long to run.
pub const DEFAULT_DURATION_NS: u64 = 60 * NS_PER_S;
/// Default cap on requests in flight at once.
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 100_000;
/// Default cap on node visits per request.
pub const DEFAULT_MAX_HOPS: u32 = 1_000;
/// Most instances a service may have.
pub const MAX_INSTANCES: u32 = 10_000;
/// Most workers an instance may have.
pub const MAX_WORKERS: u32 = 1_000_000;
/// Most nodes a topology may have (the link table is nodes × nodes).
pub const MAX_NODES: usize = 2_000;
/// Most users of a closed workload.
pub const MAX_USERS: u32 = 10_000_000;
/// Highest arrival rate: one request per nanosecond.
pub const MAX_RATE_PER_S: f64 = 1e9;

/// Parses and validates a topology file's text.
pub fn parse_topology(source: &str) -> Result<Topology, SpecError> {
    if source.contains('\0') {
        return Err(SpecError::new(SpecErrorKind::NotText, "the file is binary, not RON text")
            .at(Some(crate::error::position_of(source, source.find('\0').unwrap_or(0))))
            .with_help("give the path of a .ron topology file"));
    }
    if is_blank(source) {
        return Err(SpecError::new(SpecErrorKind::Empty, "the file is empty")
            .at(Some(Position { line: 1, column: 1 }))
            .with_help("a topology starts with `Topology(workload: [...], nodes: {...})`; see topologies/mm1.ron"));
    }
    let options = ron::Options::default().with_default_extension(
        ron::extensions::Extensions::IMPLICIT_SOME | ron::extensions::Extensions::UNWRAP_VARIANT_NEWTYPES,
    );
    let raw: RawTopology = options.from_str(source).map_err(|error| {
        let position = Position { line: error.span.start.line, column: error.span.start.col };
        let message = error.code.to_string();
        let help = syntax_help(&message);
        let mut spec_error = SpecError::new(SpecErrorKind::Syntax, message).at(Some(position));
        spec_error.help = help;
        spec_error
    })?;
    Validator { source, raw: &raw }.validate()
}

/// Parses and validates raw bytes, refusing what is not UTF-8 text.
pub fn parse_topology_bytes(bytes: &[u8]) -> Result<Topology, SpecError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_topology(text),
        Err(error) => {
            let valid = std::str::from_utf8(&bytes[..error.valid_up_to()]).unwrap_or("");
            Err(SpecError::new(SpecErrorKind::NotText, "the file is not UTF-8 text (is it a binary file?)")
                .at(Some(crate::error::position_of(valid, valid.len())))
                .with_help("give the path of a .ron topology file"))
        }
    }
}

fn is_blank(source: &str) -> bool {
    source.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with("//")
    }) && !source.contains("/*")
}

fn syntax_help(message: &str) -> Option<String> {
    if message.contains("`until` in `Load`") {
        Some("a load step holds until the next one: end a surge with a second step, Load(factor: 1.0, at: ...)".into())
    } else if message.contains("Unexpected field") || message.contains("unknown field") {
        Some("check the spelling; the fields this place accepts are listed above".into())
    } else if message.contains("Unexpected missing field") || message.contains("missing field") {
        Some("add the missing field".into())
    } else if message.contains("no unit") {
        Some("durations need a unit (\"4ms\") and rates a time base (\"800/s\")".into())
    } else if message.contains("Unexpected end") {
        Some("a bracket or parenthesis is not closed".into())
    } else if message.contains("variant") {
        Some("the names this place accepts are listed above".into())
    } else {
        None
    }
}

struct Validator<'a> {
    source: &'a str,
    raw: &'a RawTopology,
}

/// State while compiling node programs.
struct Compiler {
    samplers: Vec<Sampler>,
    code: Vec<Instr>,
    parallel_targets: Vec<NodeId>,
    class_tables: Vec<u32>,
    choose_tables: Vec<(f64, u32)>,
    edges: Vec<Edge>,
    call_policies: Vec<CallPolicyEdge>,
}

/// Where in the steps a call sits: which classes reach it and whether it is always taken.
#[derive(Clone)]
struct StepContext {
    node: NodeId,
    /// Which classes reach this step.
    classes: Vec<bool>,
    /// False inside a `Choose` branch.
    certain: bool,
}

impl Validator<'_> {
    /// Checks one node and compiles its program.
    #[allow(clippy::too_many_arguments)]
    fn node(
        &self,
        node_id: NodeId,
        name: &str,
        raw_node: &RawNode,
        classes: &[String],
        regions: &Regions,
        node_regions: &[u32],
        compiler: &mut Compiler,
    ) -> Result<Node, SpecError> {
        let key = format!("\"{name}\"");
        if name.is_empty() {
            return Err(self.error(SpecErrorKind::InvalidValue, "a node has an empty name".into(), &["nodes", "\"\""]));
        }
        let kind = match raw_node {
            RawNode::Service(service) => NodeKind::Service(self.service(node_id, name, service, classes, compiler)?),
            RawNode::LoadBalancer(balancer) => {
                NodeKind::LoadBalancer(self.load_balancer(node_id, name, &key, balancer, compiler)?)
            }
            RawNode::Cache(cache) => NodeKind::Cache(self.cache(node_id, &key, cache, classes, compiler)?),
            RawNode::Cdn(cdn) => NodeKind::Cdn(self.cdn(node_id, &key, cdn, regions, compiler)?),
            RawNode::Database(database) => NodeKind::Database(self.database(
                &key,
                database,
                classes,
                (regions, node_regions[node_id]),
                compiler,
            )?),
            RawNode::Sharded(sharded) => {
                NodeKind::LoadBalancer(self.sharded(node_id, &key, sharded, classes, compiler)?)
            }
            RawNode::RateLimiter(limiter) => {
                NodeKind::RateLimiter(self.rate_limiter(node_id, &key, limiter, compiler)?)
            }
            RawNode::Gateway(gateway) => NodeKind::Service(self.gateway(node_id, &key, gateway, classes, compiler)?),
            RawNode::WorkQueue(queue) => NodeKind::WorkQueue(self.work_queue(node_id, &key, queue, compiler)?),
            RawNode::Log(log) => NodeKind::Log(self.log(node_id, &key, log, compiler)?),
            RawNode::Function(function) => {
                NodeKind::Function(self.function(node_id, &key, function, classes, compiler)?)
            }
        };
        let cost = self.cost(&key, raw_node.cost())?;
        Ok(Node { name: name.to_string(), kind, region: node_regions[node_id], cost })
    }

    fn error(&self, kind: SpecErrorKind, message: String, anchors: &[&str]) -> SpecError {
        SpecError::new(kind, message).at(locate(self.source, anchors))
    }

    fn node_id(&self, name: &str, anchors: &[&str], what: &str) -> Result<NodeId, SpecError> {
        self.raw.nodes.get_index_of(name).map(|i| NodeId::new(i as u32)).ok_or_else(|| {
            let known: Vec<&str> = self.raw.nodes.keys().map(String::as_str).collect();
            let quoted = format!("\"{name}\"");
            let mut anchors = anchors.to_vec();
            anchors.push(&quoted);
            self.error(
                SpecErrorKind::UnknownName,
                format!("{what} refers to node \"{name}\", which is not defined"),
                &anchors,
            )
            .with_help(suggest(name, &known))
        })
    }

    fn validate(&self) -> Result<Topology, SpecError> {
        let raw = self.raw;
        if raw.workload.is_empty() {
            return Err(self
                .error(SpecErrorKind::InvalidValue, "the topology has no workload".into(), &["workload"])
                .with_help(
                    "add a source, such as Open(name: \"users\", arrivals: Poisson(rate: \"100/s\"), to: \"app\")",
                ));
        }
        if raw.nodes.is_empty() {
            return Err(self
                .error(SpecErrorKind::InvalidValue, "the topology has no nodes".into(), &["nodes"])
                .with_help("add a node, such as \"app\": Service(steps: [Work(Exp(mean: \"4ms\"))])"));
        }
        if raw.nodes.len() > MAX_NODES {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("the topology has {} nodes, more than the limit of {MAX_NODES}", raw.nodes.len()),
                    &["nodes"],
                )
                .with_help("group identical components into one node with several instances"));
        }
        let mut compiler = Compiler {
            samplers: Vec::new(),
            code: Vec::new(),
            parallel_targets: Vec::new(),
            class_tables: Vec::new(),
            choose_tables: Vec::new(),
            edges: Vec::new(),
            call_policies: Vec::new(),
        };
        let (regions, node_regions) = self.regions(&mut compiler)?;
        let (sources, classes) = self.sources(&mut compiler, &regions, &node_regions)?;
        let (class_levels, priority_levels) = self.priority_levels(&classes)?;
        let mesh_sampler = match &raw.mesh {
            Some(mesh) => self.sampler(&mesh.per_hop, &mut compiler, &["mesh", "per_hop"])?,
            None => NONE,
        };
        let mut nodes = Vec::with_capacity(raw.nodes.len());
        // Each node is checked on its own: a file with mistakes in several nodes gets them all.
        let mut node_errors = Vec::new();
        for (index, (name, raw_node)) in raw.nodes.iter().enumerate() {
            match self.node(NodeId::new(index as u32), name, raw_node, &classes, &regions, &node_regions, &mut compiler)
            {
                Ok(node) => nodes.push(node),
                Err(error) => node_errors.push(error),
            }
        }
        if let Some(errors) = SpecError::gather(node_errors) {
            return Err(errors);
        }
        // Balancer targets need every node's instance count, known only now.
        for node_index in 0..nodes.len() {
            if let NodeKind::LoadBalancer(balancer) = &nodes[node_index].kind {
                let backends: Vec<NodeId> = balancer.targets.iter().map(|(node, _)| *node).collect();
                let weights = balancer.target_weights.clone();
                let mut targets = Vec::new();
                let mut target_weights = Vec::new();
                for (backend, weight) in backends.iter().zip(weights) {
                    match &nodes[*backend].kind {
                        // A shard router's targets are whole shards, whatever they are.
                        _ if balancer.role == BalancerRole::ShardRouter => {
                            targets.push((*backend, InstanceId::NONE));
                            target_weights.push(weight);
                        }
                        // A service's instances are the balancer's targets (all it may ever
                        // have: autoscaling takes them in and out of rotation).
                        NodeKind::Service(service) => {
                            for instance in 0..service.max_instances() {
                                targets.push((*backend, InstanceId::new(instance)));
                                target_weights.push(weight);
                            }
                        }
                        // Other components pick their own server (a database its replica).
                        _ => {
                            targets.push((*backend, InstanceId::NONE));
                            target_weights.push(weight);
                        }
                    }
                }
                let ring = match balancer.algorithm {
                    Algorithm::ConsistentHash { virtual_nodes } => consistent_hash_ring(&targets, virtual_nodes),
                    _ => Vec::new(),
                };
                if let NodeKind::LoadBalancer(balancer) = &mut nodes[node_index].kind {
                    balancer.targets = targets;
                    balancer.target_weights = target_weights;
                    balancer.ring = ring;
                }
            }
        }
        let link_samplers = self.links(&mut compiler, &regions, &node_regions)?;
        let network = self.network(&mut compiler, &classes, &regions, &node_regions)?;
        let (hosts, node_hosts) = self.hosts(&nodes)?;
        check_call_cycles(&nodes, &compiler.edges, &classes).map_err(|cycle| {
            let first = format!("\"{}\"", cycle.nodes[0]);
            let last = cycle.nodes.last().expect("a cycle has a node");
            let path = cycle.nodes.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(" → ");
            // The caret goes on the call that closes the cycle, inside the last node's definition.
            let position = locate_path(self.source, &format!("nodes.{last}"), Some(&first))
                .or_else(|| locate(self.source, &["nodes", &first]));
            SpecError::new(
                SpecErrorKind::CallCycle,
                format!(
                    "requests of class \"{}\" call round a cycle for ever: {path} → {first} (closed at nodes.{last})",
                    cycle.class
                ),
            )
            .at(position)
            .with_help("break the cycle, or put the call that closes it inside Choose([(p, [...])]) with p < 1 so requests leave it")
        })?;
        let run = self.run()?;
        let limits = Limits {
            max_in_flight: raw.limits.max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT),
            max_hops: raw.limits.max_hops.unwrap_or(DEFAULT_MAX_HOPS),
        };
        if limits.max_in_flight == 0 || limits.max_hops == 0 {
            return Err(self.error(SpecErrorKind::InvalidValue, "limits must be at least 1".into(), &["limits"]));
        }
        if let Some(currency) = &raw.currency {
            if currency.is_empty()
                || currency.chars().count() > 16
                || currency.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("currency {currency:?} is not a currency name"),
                        &["currency"],
                    )
                    .with_help("name it in a word of at most 16 characters, such as \"USD\" or \"EUR\""));
            }
        }
        let mut topology = Topology {
            nodes,
            classes,
            class_levels,
            priority_levels,
            sources,
            samplers: compiler.samplers,
            code: compiler.code,
            parallel_targets: compiler.parallel_targets,
            class_tables: compiler.class_tables,
            choose_tables: compiler.choose_tables,
            link_samplers,
            network,
            edges: compiler.edges,
            run,
            limits,
            regions,
            hosts,
            node_hosts,
            accounts: self.raw.accounts.iter().map(|(name, account)| (name.clone(), account.concurrency)).collect(),
            mesh_sampler,
            call_policies: compiler.call_policies,
            scenario: None,
            currency: raw.currency.clone(),
        };
        if let Some(raw_scenario) = &raw.scenario {
            let checker = resilience::ScenarioChecker {
                source: self.source,
                prefix: &["scenario"],
                path: "scenario.",
                topology: &topology,
                scope: None,
            };
            let (scenario, samplers) = checker.check(raw_scenario)?;
            topology.samplers.extend(samplers);
            topology.scenario = Some(scenario);
        }
        Ok(topology)
    }

    fn sampler(&self, spec: &DistSpec, compiler: &mut Compiler, anchors: &[&str]) -> Result<u32, SpecError> {
        let sampler = spec.compile().map_err(|message| self.error(SpecErrorKind::InvalidValue, message, anchors))?;
        compiler.samplers.push(sampler);
        Ok(compiler.samplers.len() as u32 - 1)
    }

    fn sources(
        &self,
        compiler: &mut Compiler,
        regions: &Regions,
        node_regions: &[u32],
    ) -> Result<(Vec<Source>, Vec<String>), SpecError> {
        let mut classes: Vec<String> = Vec::new();
        let mut sources = Vec::new();
        for raw_source in &self.raw.workload {
            let trace_mix;
            let (name, mix, keys, to, latency, region, client) = match raw_source {
                RawWorkload::Open { name, classes, keys, to, latency, region, client, .. }
                | RawWorkload::Closed { name, classes, keys, to, latency, region, client, .. } => {
                    (name, classes, keys, to, latency, region, client)
                }
                RawWorkload::Trace { name, classes, keys, to, latency, region, client, .. } => {
                    trace_mix = Some(self.trace_classes(name, classes.as_deref())?);
                    (name, &trace_mix, keys, to, latency, region, client)
                }
            };
            let quoted = format!("\"{name}\"");
            let here = ["workload", quoted.as_str()];
            if sources.iter().any(|s: &Source| &s.name == name) {
                return Err(self
                    .error(SpecErrorKind::InvalidValue, format!("workload \"{name}\" is defined twice"), &here)
                    .with_help("give each workload its own name"));
            }
            let entry_node = self.node_id(to, &[here[0], here[1], "to"], &format!("workload \"{name}\""))?;
            let default_mix = indexmap::IndexMap::from([("default".to_string(), 1.0)]);
            let mix = mix.as_ref().unwrap_or(&default_mix);
            let total: f64 = mix.values().sum();
            if mix.is_empty() || (total - 1.0).abs() > 1e-6 || mix.values().any(|p| !(p.is_finite() && *p >= 0.0)) {
                return Err(self
                    .error(
                        SpecErrorKind::ClassMix,
                        format!("the class mix of workload \"{name}\" adds up to {}, not 1", round_for_display(total)),
                        &[here[0], here[1], "classes"],
                    )
                    .with_help("give each class a share between 0 and 1 so that the shares add up to 1, such as {\"read\": 0.9, \"write\": 0.1}"));
            }
            let mut class_ids = Vec::new();
            for class in mix.keys() {
                let id = match classes.iter().position(|c| c == class) {
                    Some(id) => id,
                    None => {
                        classes.push(class.clone());
                        classes.len() - 1
                    }
                };
                class_ids.push(id as u16);
            }
            let weights: Vec<f64> = mix.values().copied().collect();
            let class_cumulative = cumulative_weights(&weights, "class mix")
                .map_err(|m| self.error(SpecErrorKind::ClassMix, m, &[here[0], here[1], "classes"]))?;
            let keys = match keys {
                None => KeySampler::Single,
                Some(RawKeys::Uniform { n }) | Some(RawKeys::Zipf { n, .. }) if *n == 0 => {
                    return Err(self
                        .error(
                            SpecErrorKind::InvalidValue,
                            format!("workload \"{name}\" has a key space of 0 keys"),
                            &[here[0], here[1], "keys"],
                        )
                        .with_help("set n to the number of distinct keys, at least 1"));
                }
                Some(RawKeys::Uniform { n }) => KeySampler::Uniform { n: *n },
                Some(RawKeys::Zipf { n, s }) => {
                    if !(s.is_finite() && *s >= 0.0) {
                        return Err(self
                            .error(
                                SpecErrorKind::InvalidValue,
                                format!("workload \"{name}\" has Zipf exponent {s}"),
                                &[here[0], here[1], "keys"],
                            )
                            .with_help("the exponent s must be zero or positive; about 1 is typical"));
                    }
                    KeySampler::Zipf(ZipfSampler::new(*n, *s))
                }
            };
            let region = match region {
                Some(region) => self.region_id(regions, region, &[here[0], here[1], "region"])?,
                None => node_regions[entry_node],
            };
            let latency_sampler = match latency {
                Some(spec) => self.sampler(spec, compiler, &[here[0], here[1], "latency"])?,
                None => regions.sampler(region, node_regions[entry_node]),
            };
            // Open and trace workloads draw client ids among `clients`.
            if let RawWorkload::Open { clients: Some(0), .. } | RawWorkload::Trace { clients: Some(0), .. } = raw_source
            {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("workload \"{name}\" has 0 clients"),
                        &[here[0], here[1], "clients"],
                    )
                    .with_help("clients is the number of distinct client ids, at least 1"));
            }
            let (arrivals, clients) = match raw_source {
                RawWorkload::Open { arrivals, clients, .. } => (self.arrivals(name, arrivals)?, clients.unwrap_or(1)),
                RawWorkload::Closed { users, think, .. } => {
                    if *users > MAX_USERS {
                        return Err(self
                            .error(
                                SpecErrorKind::InvalidValue,
                                format!(
                                    "closed workload \"{name}\" has {users} users, more than the limit of {MAX_USERS}"
                                ),
                                &[here[0], here[1], "users"],
                            )
                            .with_help("use an open workload for very large populations"));
                    }
                    if *users == 0 {
                        return Err(self
                            .error(
                                SpecErrorKind::InvalidValue,
                                format!("closed workload \"{name}\" has 0 users"),
                                &[here[0], here[1], "users"],
                            )
                            .with_help("give it at least one user"));
                    }
                    let think_sampler = self.sampler(think, compiler, &[here[0], here[1], "think"])?;
                    (Arrivals::Closed { users: *users, think_sampler }, *users)
                }
                RawWorkload::Trace { clients, .. } => {
                    let clients = clients.unwrap_or(1);
                    let class_names = mix.keys().cloned().zip(class_ids.iter().copied()).collect();
                    let own_latency = latency.is_some();
                    let spec =
                        self.trace_spec(raw_source, class_names, regions, node_regions[entry_node], own_latency)?;
                    (Arrivals::Trace(Box::new(spec)), clients)
                }
            };
            let client_policy = match client {
                Some(raw_policy) => {
                    let policy = resilience::call_policy(self.source, raw_policy, &[here[0], here[1], "client"])?;
                    compiler.call_policies.push(CallPolicyEdge {
                        caller: NodeId::NONE,
                        source: sources.len() as u32,
                        callee: entry_node,
                        policy,
                    });
                    compiler.call_policies.len() as u32 - 1
                }
                None => NONE,
            };
            sources.push(Source {
                client_policy,
                name: name.clone(),
                arrivals,
                class_cumulative,
                class_ids: class_ids.into(),
                keys,
                clients,
                entry_node,
                latency_sampler,
                region,
            });
        }
        if classes.len() > u16::MAX as usize {
            return Err(SpecError::new(SpecErrorKind::InvalidValue, "more than 65535 request classes"));
        }
        Ok((sources, classes))
    }

    fn arrivals(&self, name: &str, arrivals: &RawArrivals) -> Result<Arrivals, SpecError> {
        let quoted = format!("\"{name}\"");
        let anchors = ["workload", quoted.as_str(), "arrivals"];
        let invalid = |message: String, help: &str| {
            self.error(SpecErrorKind::InvalidValue, message, &anchors).with_help(help.to_string())
        };
        let rates: Vec<f64> = match arrivals {
            RawArrivals::Poisson { rate } | RawArrivals::Constant { rate } => vec![rate.per_s],
            RawArrivals::Mmpp { states } => states.iter().map(|s| s.rate.per_s).collect(),
            RawArrivals::Profile { steps, .. } => steps.iter().map(|s| s.rate.per_s).collect(),
        };
        if let Some(rate) = rates.iter().find(|rate| **rate > MAX_RATE_PER_S) {
            return Err(invalid(
                format!("workload \"{name}\" has a rate of {rate}/s, more than one request per nanosecond"),
                "give a rate of at most 1000000000/s",
            ));
        }
        Ok(match arrivals {
            RawArrivals::Poisson { rate } | RawArrivals::Constant { rate } if rate.per_s <= 0.0 => {
                return Err(invalid(
                    format!("workload \"{name}\" has an arrival rate of 0"),
                    "give a positive rate, such as \"100/s\"",
                ));
            }
            RawArrivals::Poisson { rate } => Arrivals::Poisson { rate_per_s: rate.per_s },
            RawArrivals::Constant { rate } => Arrivals::Constant { rate_per_s: rate.per_s },
            RawArrivals::Mmpp { states } => {
                if states.is_empty() {
                    return Err(invalid(
                        format!("workload \"{name}\" has an Mmpp with no states"),
                        "list at least one (rate, mean_duration) state",
                    ));
                }
                if states.iter().any(|s| s.mean_duration.ns == 0) {
                    return Err(invalid(
                        format!("workload \"{name}\" has an Mmpp state with mean_duration 0"),
                        "each state must last a positive time",
                    ));
                }
                if states.iter().all(|s| s.rate.per_s == 0.0) {
                    return Err(invalid(
                        format!("workload \"{name}\" has an Mmpp whose rates are all 0"),
                        "give at least one state a positive rate",
                    ));
                }
                Arrivals::Mmpp { states: states.iter().map(|s| (s.rate.per_s, s.mean_duration.ns as f64)).collect() }
            }
            RawArrivals::Profile { steps, period } => {
                if steps.first().map(|s| s.at.ns) != Some(0) {
                    return Err(invalid(
                        format!("the rate profile of workload \"{name}\" does not start at \"0s\""),
                        "make the first step Step(at: \"0s\", rate: ...)",
                    ));
                }
                if steps.windows(2).any(|pair| pair[1].at <= pair[0].at) {
                    return Err(invalid(
                        format!("the rate profile of workload \"{name}\" has steps out of order"),
                        "list the steps by increasing time",
                    ));
                }
                if let Some(period) = period {
                    if period.ns <= steps.last().map_or(0, |s| s.at.ns) {
                        return Err(invalid(
                            format!("the rate profile of workload \"{name}\" has a period shorter than its steps"),
                            "the period must end after the last step starts",
                        ));
                    }
                }
                if steps.iter().all(|s| s.rate.per_s == 0.0) {
                    return Err(invalid(
                        format!("the rate profile of workload \"{name}\" is 0 everywhere"),
                        "give at least one step a positive rate",
                    ));
                }
                Arrivals::Profile {
                    steps: steps.iter().map(|s| (s.at.ns, s.rate.per_s)).collect(),
                    period_ns: period.map(|p| p.ns),
                }
            }
        })
    }

    fn service(
        &self,
        node_id: NodeId,
        name: &str,
        service: &RawService,
        classes: &[String],
        compiler: &mut Compiler,
    ) -> Result<ServiceConfig, SpecError> {
        let key = format!("\"{name}\"");
        if service.instances == 0 || service.workers == 0 {
            let field = if service.instances == 0 { "instances" } else { "workers" };
            return Err(self
                .error(SpecErrorKind::InvalidValue, format!("node \"{name}\" has 0 {field}"), &["nodes", &key, field])
                .with_help(format!("a service needs at least 1 {}", field.trim_end_matches('s'))));
        }
        if service.instances > MAX_INSTANCES || service.workers > MAX_WORKERS {
            let (field, value, limit) = if service.instances > MAX_INSTANCES {
                ("instances", service.instances, MAX_INSTANCES)
            } else {
                ("workers", service.workers, MAX_WORKERS)
            };
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("node \"{name}\" has {value} {field}, more than the limit of {limit}"),
                    &["nodes", &key, field],
                )
                .with_help(format!("model at most {limit} {field}; a larger pool behaves like one without queueing")));
        }
        if service.timeout == Some(crate::units::Duration::from_ns(0)) {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("node \"{name}\" has a timeout of 0"),
                    &["nodes", &key, "timeout"],
                )
                .with_help("give a positive timeout, or leave it out for none"));
        }
        let entry_pc = compiler.code.len() as u32;
        let context = StepContext { node: node_id, classes: vec![true; classes.len()], certain: true };
        self.steps(&service.steps, &key, classes, &context, compiler)?;
        compiler.code.push(Instr::Respond);
        let autoscaling = match &service.autoscaling {
            Some(autoscaling) => Some(self.autoscaling(&key, service.instances, autoscaling, compiler)?),
            None => None,
        };
        let mut call_policies = Vec::new();
        for (callee_name, raw_policy) in &service.calls {
            let callee = self.node_id(callee_name, &["nodes", &key, "calls"], &format!("node {key}'s call policy"))?;
            let calls_it = compiler
                .edges
                .iter()
                .any(|edge| edge.from == node_id && edge.to == callee && edge.kind == EdgeKind::Call);
            if !calls_it {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("node {key} has a call policy for \"{callee_name}\" but never calls it"),
                        &["nodes", &key, "calls", &format!("\"{callee_name}\"")],
                    )
                    .with_help("policies apply to Call and Parallel steps; add the call or remove the policy"));
            }
            let quoted = format!("\"{callee_name}\"");
            let policy = resilience::call_policy(self.source, raw_policy, &["nodes", &key, "calls", &quoted])?;
            compiler.call_policies.push(CallPolicyEdge { caller: node_id, source: NONE, callee, policy });
            call_policies.push((callee, compiler.call_policies.len() as u32 - 1));
        }
        let mut bulkheads = Vec::new();
        for (callee_name, bulkhead) in &service.bulkheads {
            let quoted = format!("\"{callee_name}\"");
            let anchors = ["nodes", &key, "bulkheads", &quoted];
            let callee = self.node_id(callee_name, &anchors, &format!("node {key}'s bulkhead"))?;
            let called = compiler.code[entry_pc as usize..].contains(&Instr::Call(callee));
            if !called {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("node {key} has a bulkhead for \"{callee_name}\" but no Call step to it"),
                        &anchors,
                    )
                    .with_help("bulkheads apply to Call steps; add the call or remove the bulkhead"));
            }
            if bulkhead.limit == 0 {
                return Err(self
                    .error(SpecErrorKind::InvalidValue, format!("node {key} has a bulkhead of 0 calls"), &anchors)
                    .with_help("allow at least 1 call at once, such as Bulkhead(limit: 4)"));
            }
            bulkheads.push((callee, bulkhead.limit, bulkhead.queue));
        }
        let quorum_targets = compiler.code[entry_pc as usize..].iter().filter_map(|instr| match instr {
            Instr::Quorum { start, len, .. } => Some(*start as usize..*start as usize + *len as usize),
            _ => None,
        });
        for range in quorum_targets {
            let targets = &compiler.parallel_targets[range];
            if let Some((callee, _)) = call_policies.iter().find(|(callee, _)| targets.contains(callee)) {
                let callee = &self.raw.nodes.get_index(callee.index()).expect("a node").0;
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("node {key} has a call policy for \"{callee}\", which it calls in a Quorum"),
                        &["nodes", &key, "calls", &format!("\"{callee}\"")],
                    )
                    .with_help("a quorum's calls take no policy yet: call the node with Call, or remove the policy"));
            }
        }
        if service.discipline == RawDiscipline::Priority && self.raw.priorities.is_empty() {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("node {key} serves by priority, but the topology gives no priorities"),
                    &["nodes", &key, "Priority"],
                )
                .with_help("add priorities: {\"checkout\": 1} to the topology (classes not listed have 0)"));
        }
        if service.shed_above == Some(0) {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("node {key} sheds above 0 waiting requests"),
                    &["nodes", &key, "shed_above"],
                )
                .with_help("give at least 1: requests are refused when that many already wait"));
        }
        let concurrency_limit = match &service.concurrency_limit {
            Some(raw) => Some(self.concurrency_limit(&key, raw, service.discipline)?),
            None => None,
        };
        Ok(ServiceConfig {
            concurrency_limit,
            call_policies,
            shed_above: service.shed_above,
            drop_expired: service.drop_expired,
            bulkheads,
            instances: service.instances,
            workers: service.workers,
            queue_capacity: service.queue,
            discipline: service.discipline,
            timeout_ns: service.timeout.map(|t| t.ns),
            entry_pc,
            autoscaling,
            role: ServiceRole::Service,
        })
    }

    /// The targets of a Parallel or Quorum step (`keyword`) as call edges, appended to
    /// `parallel_targets`; returns the index of the first.
    fn fan_out_targets(
        &self,
        targets: &[String],
        keyword: &str,
        key: &str,
        what: &str,
        context: &StepContext,
        compiler: &mut Compiler,
    ) -> Result<u32, SpecError> {
        let start = compiler.parallel_targets.len() as u32;
        for target in targets {
            let callee = self.node_id(target, &["nodes", key, keyword], what)?;
            compiler.edges.push(Edge {
                from: context.node,
                to: callee,
                kind: EdgeKind::Call,
                certain: context.certain,
                classes: context.classes.clone(),
            });
            compiler.parallel_targets.push(callee);
        }
        Ok(start)
    }

    fn steps(
        &self,
        steps: &[RawStep],
        key: &str,
        classes: &[String],
        context: &StepContext,
        compiler: &mut Compiler,
    ) -> Result<(), SpecError> {
        let what = format!("node {key}");
        for step in steps {
            match step {
                RawStep::Work(spec) => {
                    let sampler = self.sampler(spec, compiler, &["nodes", key, "Work"])?;
                    compiler.code.push(Instr::Work(sampler));
                }
                RawStep::Call(target) | RawStep::Forward(target) => {
                    let keyword = if matches!(step, RawStep::Call(_)) { "Call" } else { "Forward" };
                    let callee = self.node_id(target, &["nodes", key, keyword], &what)?;
                    let kind = if keyword == "Call" { EdgeKind::Call } else { EdgeKind::Forward };
                    compiler.edges.push(Edge {
                        from: context.node,
                        to: callee,
                        kind,
                        certain: context.certain,
                        classes: context.classes.clone(),
                    });
                    compiler.code.push(if keyword == "Call" { Instr::Call(callee) } else { Instr::Forward(callee) });
                }
                RawStep::Parallel(targets) => {
                    if targets.is_empty() {
                        return Err(self
                            .error(
                                SpecErrorKind::InvalidValue,
                                format!("node {key} has an empty Parallel"),
                                &["nodes", key, "Parallel"],
                            )
                            .with_help("list the nodes to call at once, such as Parallel([\"a\", \"b\"])"));
                    }
                    let start = self.fan_out_targets(targets, "Parallel", key, &what, context, compiler)?;
                    compiler.code.push(Instr::Parallel { start, len: targets.len() as u32 });
                }
                RawStep::Quorum { of, wait, losers } => {
                    if of.is_empty() || of.len() > MAX_QUORUM_TARGETS {
                        return Err(self
                            .error(
                                SpecErrorKind::InvalidValue,
                                format!("node {key} has a Quorum of {} nodes", of.len()),
                                &["nodes", key, "Quorum"],
                            )
                            .with_help(format!(
                                "call between 1 and {MAX_QUORUM_TARGETS} nodes, such as Quorum(of: [\"a\", \"b\", \"c\"], wait: 2)"
                            )));
                    }
                    if *wait == 0 || *wait as usize > of.len() {
                        return Err(self
                            .error(
                                SpecErrorKind::InvalidValue,
                                format!("node {key} waits for {wait} of {} answers", of.len()),
                                &["nodes", key, "wait"],
                            )
                            .with_help(format!("wait for between 1 (the first success) and {}", of.len())));
                    }
                    let start = self.fan_out_targets(of, "Quorum", key, &what, context, compiler)?;
                    compiler.code.push(Instr::Quorum {
                        start,
                        len: of.len() as u16,
                        wait: *wait as u16,
                        cancel: *losers == RawLosers::Cancel,
                    });
                }
                RawStep::ByClass { branches, otherwise } => {
                    for class in branches.keys() {
                        if !classes.contains(class) {
                            return Err(self
                                .error(
                                    SpecErrorKind::UnknownName,
                                    format!("node {key} has a branch for class \"{class}\", which no workload sends"),
                                    &["nodes", key, "ByClass", &format!("\"{class}\"")],
                                )
                                .with_help(suggest(class, &classes.iter().map(String::as_str).collect::<Vec<_>>())));
                        }
                    }
                    let table = compiler.class_tables.len() as u32;
                    compiler.class_tables.extend(std::iter::repeat_n(NONE, classes.len()));
                    compiler.code.push(Instr::ByClass { table });
                    let mut exits = Vec::new();
                    for (class, branch_steps) in branches {
                        let class_id = classes.iter().position(|c| c == class).expect("checked above");
                        compiler.class_tables[table as usize + class_id] = compiler.code.len() as u32;
                        let mut only = vec![false; classes.len()];
                        only[class_id] = context.classes[class_id];
                        let branch_context = StepContext { classes: only, ..context.clone() };
                        self.steps(branch_steps, key, classes, &branch_context, compiler)?;
                        exits.push(compiler.code.len());
                        compiler.code.push(Instr::Jump(NONE));
                    }
                    let otherwise_pc = compiler.code.len() as u32;
                    let mut rest = context.classes.clone();
                    for (class_id, slot) in rest.iter_mut().enumerate() {
                        if compiler.class_tables[table as usize + class_id] == NONE {
                            compiler.class_tables[table as usize + class_id] = otherwise_pc;
                        } else {
                            *slot = false;
                        }
                    }
                    self.steps(otherwise, key, classes, &StepContext { classes: rest, ..context.clone() }, compiler)?;
                    let end = compiler.code.len() as u32;
                    for exit in exits {
                        compiler.code[exit] = Instr::Jump(end);
                    }
                }
                RawStep::Choose(options) => {
                    let total: f64 = options.iter().map(|(p, _)| p).sum();
                    if options.is_empty()
                        || options.iter().any(|(p, _)| !(p.is_finite() && *p >= 0.0))
                        || total > 1.0 + 1e-9
                    {
                        return Err(self
                            .error(SpecErrorKind::InvalidValue, format!("node {key} has a Choose whose probabilities add up to {}", round_for_display(total)), &["nodes", key, "Choose"])
                            .with_help("give each option a probability between 0 and 1, adding up to at most 1 (the rest runs no steps)"));
                    }
                    let table = compiler.choose_tables.len() as u32;
                    let choose_pc = compiler.code.len();
                    compiler.code.push(Instr::Choose { table, len: options.len() as u32, otherwise: NONE });
                    let mut cumulative = 0.0;
                    let mut exits = Vec::new();
                    for (probability, option_steps) in options {
                        cumulative += probability;
                        compiler.choose_tables.push((cumulative, compiler.code.len() as u32));
                        let certain = context.certain && *probability >= 1.0;
                        self.steps(option_steps, key, classes, &StepContext { certain, ..context.clone() }, compiler)?;
                        exits.push(compiler.code.len());
                        compiler.code.push(Instr::Jump(NONE));
                    }
                    let end = compiler.code.len() as u32;
                    for exit in exits {
                        compiler.code[exit] = Instr::Jump(end);
                    }
                    compiler.code[choose_pc] = Instr::Choose { table, len: options.len() as u32, otherwise: end };
                }
            }
        }
        Ok(())
    }

    fn load_balancer(
        &self,
        node_id: NodeId,
        name: &str,
        key: &str,
        balancer: &RawLoadBalancer,
        compiler: &mut Compiler,
    ) -> Result<LoadBalancerConfig, SpecError> {
        if balancer.backends.is_empty() {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("load balancer \"{name}\" has no backends"),
                    &["nodes", key, "backends"],
                )
                .with_help("list the nodes it spreads traffic over, such as backends: [\"app\"]"));
        }
        let mut targets = Vec::new();
        for backend in &balancer.backends {
            let backend_id =
                self.node_id(backend, &["nodes", key, "backends"], &format!("load balancer \"{name}\""))?;
            compiler.edges.push(Edge {
                from: node_id,
                to: backend_id,
                kind: EdgeKind::Balance,
                certain: true,
                classes: vec![],
            });
            targets.push((backend_id, InstanceId::new(0)));
        }
        let target_weights = match (&balancer.weights, balancer.algorithm) {
            (Some(weights), RawAlgorithm::WeightedRoundRobin) => {
                if weights.len() != balancer.backends.len() || weights.contains(&0) {
                    return Err(self
                        .error(
                            SpecErrorKind::InvalidValue,
                            format!(
                                "load balancer \"{name}\" has {} weights for {} backends",
                                weights.len(),
                                balancer.backends.len()
                            ),
                            &["nodes", key, "weights"],
                        )
                        .with_help("give one positive weight per backend, in the same order"));
                }
                weights.clone()
            }
            (None, RawAlgorithm::WeightedRoundRobin) => {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("load balancer \"{name}\" is WeightedRoundRobin without weights"),
                        &["nodes", key, "WeightedRoundRobin"],
                    )
                    .with_help("add weights: [3, 1] with one weight per backend"));
            }
            (Some(_), _) => {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("load balancer \"{name}\" has weights but its algorithm ignores them"),
                        &["nodes", key, "weights"],
                    )
                    .with_help("use algorithm: WeightedRoundRobin, or remove the weights"));
            }
            (None, _) => vec![1; balancer.backends.len()],
        };
        let latency_sampler = match &balancer.latency {
            Some(spec) => self.sampler(spec, compiler, &["nodes", key, "latency"])?,
            None => NONE,
        };
        if let RawAlgorithm::ConsistentHash { virtual_nodes } = balancer.algorithm {
            self.check_virtual_nodes(key, virtual_nodes, "algorithm")?;
        }
        let health_check = match &balancer.health_check {
            Some(raw) => Some(self.health_check(key, raw)?),
            None => None,
        };
        if balancer.failback.is_some() && balancer.algorithm != RawAlgorithm::ActivePassive {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("load balancer \"{name}\" sets failback, which only ActivePassive uses"),
                    &["nodes", key, "failback"],
                )
                .with_help("use algorithm: ActivePassive, or remove failback"));
        }
        if balancer.dns_ttl.is_some_and(|ttl| ttl.ns == 0) {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("load balancer \"{name}\" caches DNS answers for 0 s"),
                    &["nodes", key, "dns_ttl"],
                )
                .with_help(
                    "give a positive time to live, such as \"60s\", or remove dns_ttl to route every request afresh",
                ));
        }
        Ok(LoadBalancerConfig {
            dns_ttl_ns: balancer.dns_ttl.map(|ttl| ttl.ns),
            failback: balancer.failback.unwrap_or(true),
            health_check,
            algorithm: balancer.algorithm,
            targets,
            target_weights,
            latency_sampler,
            ring: Vec::new(),
            role: BalancerRole::LoadBalancer,
            resharding: None,
            quorum: None,
        })
    }

    fn links(&self, compiler: &mut Compiler, regions: &Regions, node_regions: &[u32]) -> Result<Vec<u32>, SpecError> {
        let n = self.raw.nodes.len();
        // Without an explicit link, a call crosses the network between the two regions.
        let mut link_samplers = Vec::with_capacity(n * n);
        for from in 0..n {
            for to in 0..n {
                link_samplers.push(regions.node_sampler(from, to, node_regions[from], node_regions[to]));
            }
        }
        let mut explicit = vec![false; n * n];
        for link in &self.raw.links {
            let anchors = ["links", "from"];
            let from = self.node_id(&link.from, &anchors, "a link")?;
            let to = self.node_id(&link.to, &anchors, "a link")?;
            let slot = from.index() * n + to.index();
            if explicit[slot] {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("the link from \"{}\" to \"{}\" is given twice", link.from, link.to),
                        &["links", &format!("\"{}\"", link.from)],
                    )
                    .with_help("keep one Link per pair of nodes"));
            }
            explicit[slot] = true;
            if let Some(latency) = &link.latency {
                link_samplers[slot] = self.sampler(latency, compiler, &["links", &format!("\"{}\"", link.from)])?;
            }
        }
        Ok(link_samplers)
    }

    fn run(&self) -> Result<RunDefaults, SpecError> {
        let run = &self.raw.run;
        let stop = match (run.duration, run.requests) {
            (Some(_), Some(_)) => {
                return Err(self.error(SpecErrorKind::InvalidValue, "run gives both a duration and a request count".into(), &["run", "requests"])
                    .with_help("keep one: duration stops at a simulated time, requests stops creating requests after that many"));
            }
            (Some(duration), None) if duration.ns == 0 => {
                return Err(self
                    .error(SpecErrorKind::InvalidValue, "run duration is 0".into(), &["run", "duration"])
                    .with_help("give a positive duration, such as \"60s\""));
            }
            (Some(duration), None) => StopCondition::Duration { ns: duration.ns },
            (None, Some(0)) => {
                return Err(self
                    .error(SpecErrorKind::InvalidValue, "run requests is 0".into(), &["run", "requests"])
                    .with_help("give a positive request count"));
            }
            (None, Some(count)) => StopCondition::Requests { count },
            (None, None) => StopCondition::Duration { ns: DEFAULT_DURATION_NS },
        };
        let warmup_ns = run.warmup.map_or(0, |w| w.ns);
        if let StopCondition::Duration { ns } = stop {
            if warmup_ns >= ns {
                return Err(self
                    .error(SpecErrorKind::InvalidValue, "the warm-up is as long as the run".into(), &["run", "warmup"])
                    .with_help("make the warm-up shorter than the duration"));
            }
        }
        if run.latency_thresholds.iter().any(|threshold| threshold.ns == 0) {
            return Err(self
                .error(SpecErrorKind::InvalidValue, "a latency threshold of 0".into(), &["run", "latency_thresholds"])
                .with_help("give positive latencies, such as [\"50ms\", \"200ms\"]"));
        }
        let mut latency_thresholds_ns: Vec<u64> = run.latency_thresholds.iter().map(|threshold| threshold.ns).collect();
        latency_thresholds_ns.sort_unstable();
        latency_thresholds_ns.dedup();
        Ok(RunDefaults { stop, warmup_ns, seed: run.seed.unwrap_or(1), latency_thresholds_ns, drain: run.drain })
    }
}

/// The ring of consistent hashing: `virtual_nodes` points per target, sorted.
fn consistent_hash_ring(targets: &[(NodeId, InstanceId)], virtual_nodes: u32) -> Vec<(u64, u32)> {
    let mut ring = Vec::with_capacity(targets.len() * virtual_nodes as usize);
    for (index, (node, instance)) in targets.iter().enumerate() {
        for point in 0..virtual_nodes {
            let seed = ((node.raw() as u64) << 40) ^ ((instance.raw() as u64) << 20) ^ point as u64;
            ring.push((crate::rng::splitmix64(seed ^ 0x7269_6e67), index as u32));
        }
    }
    ring.sort_unstable();
    ring
}

/// "did you mean" help: the closest known name by edit distance, or the list of names.
fn suggest(name: &str, known: &[&str]) -> String {
    let closest = known.iter().min_by_key(|candidate| edit_distance(name, candidate));
    match closest {
        Some(candidate) if edit_distance(name, candidate) <= 2.max(name.len() / 3) => {
            format!("did you mean \"{candidate}\"?")
        }
        _ if known.is_empty() => "define it first".to_string(),
        _ => format!(
            "the names defined are: {}",
            known.iter().map(|k| format!("\"{k}\"")).collect::<Vec<_>>().join(", ")
        ),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// A sum such as 0.7 + 0.6 printed as 1.3, not 1.2999999999999998.
fn round_for_display(value: f64) -> f64 {
    (value * 1e9).round() / 1e9
}
