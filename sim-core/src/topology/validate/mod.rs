//! Parse, then validate: RON text → `RawTopology` → checked `Topology`, with every error
//! located in the file and given a fix.

mod balancers;
mod components;
mod concurrency;
mod hosts;
mod messaging;
mod network;
mod priorities;
mod regions;
mod resilience;
mod scenario;
mod services;
mod stores;
mod trace;
mod workloads;

pub use scenario::{apply_scenario, max_windows, MAX_WINDOWS, MAX_WINDOW_CELLS};

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
        let help = quoted_value_help(source, position, &message)
            .or_else(|| decimal_count_help(source, position, &message))
            .or_else(|| syntax_help(&message));
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

/// The fix for a quoted string, or a single value, where the place wants something else: a
/// duration where a distribution goes (`hit: "1ms"`), a quoted name (`eviction: "Lru"`), or
/// one item where a list goes (`writes: "write"`).
fn quoted_value_help(source: &str, position: Position, message: &str) -> Option<String> {
    let line = source.lines().nth(position.line.checked_sub(1)?)?;
    let rest: String = line.chars().skip(position.column.checked_sub(1)?).collect();
    let quoted = rest.trim_start().strip_prefix('"').and_then(|after| after.split('"').next())?;
    if message.contains("Expected opening `[`") {
        return Some(format!("this place takes a list: write [\"{quoted}\"]"));
    }
    if !message.contains("Expected identifier") {
        return None;
    }
    Some(if crate::units::parse_duration(quoted).is_ok() {
        format!(
            "this place takes a distribution, not a plain time: write Constant(\"{quoted}\"), or Exp(mean: \"{quoted}\") for one that varies"
        )
    } else {
        format!("this place takes a name, not a quoted string: write {quoted} without the quotes")
    })
}

/// The help for a number with a decimal point where a count goes (`workers: 2.5`): the
/// reader stops at the point, expecting what follows a whole number.
fn decimal_count_help(source: &str, position: Position, message: &str) -> Option<String> {
    if !message.contains("Expected comma") {
        return None;
    }
    let line = source.lines().nth(position.line.checked_sub(1)?)?;
    let at = position.column.checked_sub(1)?;
    let (before, after) = line.split_at(line.char_indices().nth(at)?.0);
    let whole = &before[before.trim_end_matches(|c: char| c.is_ascii_digit()).len()..];
    let fraction: String = after.strip_prefix('.')?.chars().take_while(char::is_ascii_digit).collect();
    (!whole.is_empty() && !fraction.is_empty()).then(|| {
        let above = whole.parse::<u64>().map_or_else(|_| String::new(), |n| format!(" or {}", n.saturating_add(1)));
        format!("this place takes a whole number: write {whole}{above}, not {whole}.{fraction}")
    })
}

fn syntax_help(message: &str) -> Option<String> {
    if message.contains("`until` in `Load`") {
        Some("a load step holds until the next one: end a surge with a second step, Load(factor: 1.0, at: ...)".into())
    } else if message.contains("Unexpected field") || message.contains("unknown field") {
        Some("check the spelling; the fields this place accepts are listed above".into())
    } else if message.contains("Unexpected missing field") || message.contains("missing field") {
        Some("add the missing field".into())
    } else if message.contains("no unit") || message.contains("no time unit") {
        Some("durations need a unit (\"4ms\") and rates a time base (\"800/s\")".into())
    } else if message.contains("Integer is out of bounds") {
        Some(
            "this place takes a whole number from 0 up (a count such as workers or instances: at most 4294967295)"
                .into(),
        )
    } else if message.contains("Expected integer") {
        Some("this place takes a whole number, without quotes".into())
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
        let kinds: Vec<&NodeKind> = nodes.iter().map(|node| &node.kind).collect();
        let (link_samplers, regional_links) = self.links(&mut compiler, &regions, &node_regions, &kinds)?;
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
            regional_links,
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
            let checker = scenario::ScenarioChecker {
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
        // Last, so that no other sampler's index (and network stream) moves.
        add_answer_samplers(&mut topology);
        Ok(topology)
    }

    fn sampler(&self, spec: &DistSpec, compiler: &mut Compiler, anchors: &[&str]) -> Result<u32, SpecError> {
        let sampler = spec.compile().map_err(|message| self.error(SpecErrorKind::InvalidValue, message, anchors))?;
        compiler.samplers.push(sampler);
        Ok(compiler.samplers.len() as u32 - 1)
    }

    /// The link table and its regional links (calls to a database with servers in several
    /// regions).
    fn links(
        &self,
        compiler: &mut Compiler,
        regions: &Regions,
        node_regions: &[u32],
        kinds: &[&NodeKind],
    ) -> Result<(Vec<u32>, Vec<RegionalLink>), SpecError> {
        let n = self.raw.nodes.len();
        // Without an explicit link, a call crosses the network between the two regions.
        let mut link_samplers = Vec::with_capacity(n * n);
        for from in 0..n {
            for to in 0..n {
                link_samplers.push(regions.node_sampler(from, to, node_regions[from], node_regions[to]));
            }
        }
        let regional_links = super::regional_links::mark_regional_links(&mut link_samplers, kinds, node_regions);
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
        Ok((link_samplers, regional_links))
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
        // Only a duration the file writes is held against its warm-up here: without one, the
        // run's length is the front end's to choose (`--requests`, `--duration`), and the
        // effective parameters are checked when the run is set up (`RunConfig::problem`).
        if let Some(duration) = run.duration {
            if warmup_ns >= duration.ns {
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
fn round_for_display(value: f64) -> String {
    let rounded = (value * 1e9).round() / 1e9;
    crate::params::format_number(if rounded.is_finite() { rounded } else { value })
}

/// For each workload with its own latency, the samplers of answers from each region other
/// than the entry node's: the crossing back to the entry's region (or, for an entry placed
/// in no region, the clients') and then the workload's latency, as a sum of the two.
fn add_answer_samplers(topology: &mut Topology) {
    let regions = topology.regions.names.len();
    for index in 0..topology.sources.len() {
        let source = &topology.sources[index];
        let entry_region = topology.nodes[source.entry_node].region;
        let home = if entry_region == NONE { source.region } else { entry_region };
        if !source.own_latency || regions == 0 || home == NONE {
            continue;
        }
        let own = source.latency_sampler;
        let mut answers = Vec::with_capacity(regions);
        for region in 0..regions as u32 {
            let crossing = topology.regions.sampler(region, home);
            if region == home || crossing == NONE {
                answers.push(own);
                continue;
            }
            let mut parts = vec![topology.samplers[crossing as usize].clone()];
            if own != NONE {
                parts.push(topology.samplers[own as usize].clone());
            }
            topology.samplers.push(Sampler::Sum(parts.into()));
            answers.push(topology.samplers.len() as u32 - 1);
        }
        topology.sources[index].answer_samplers = answers.into();
    }
}
