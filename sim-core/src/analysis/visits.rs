//! Visit ratios: each class's expected visits to every node, from the node programs'
//! routing probabilities (`v = e + vP`, solved as a linear system), with each visit's own
//! work, pure delays, synchronous calls and hand-offs, and caches' hit ratios by Che's
//! approximation.

use super::node_amounts::{nodes_of, NodeAmounts};
use super::routing::{solve, Routing};
use super::*;
use crate::keys::KeyGroup;

/// Expected effect of one visit to a node, for one class.
#[derive(Debug, Clone, Default)]
pub(super) struct VisitEffect {
    /// Own work per visit, in seconds (a worker held).
    pub work_s: f64,
    /// Its second moment, in seconds squared: over each path through the program's
    /// branches, the path's Work steps drawn independently (infinite when a step's
    /// distribution has no variance).
    pub work_m2_s2: f64,
    /// Per path through the program that ends (answers or hands the request on): its
    /// odds and its one Work step's sampler (`None`: no Work step), unless
    /// `several_work_steps`.
    pub work_paths: Vec<(f64, Option<u32>)>,
    /// A path does two Work steps or more: the work's law is a sum, which `work_paths`
    /// does not give.
    pub several_work_steps: bool,
    /// Pure delay per visit (no worker), in seconds.
    pub delay_s: f64,
    /// Expected synchronous calls to each node (the worker waits).
    pub calls: NodeAmounts,
    /// Expected hand-offs to each node (the worker is released).
    pub forwards: NodeAmounts,
    /// Messages a visit leaves for consumers, per node they call with them (a work queue's
    /// handler, each log group's): they load that node as calls do, and hold the consumer
    /// while it answers, but no request waits for them.
    pub messages: NodeAmounts,
    /// The nodes of `calls`, `forwards` and `messages`, ascending: what sums over a visit's
    /// callees run over (every other node's terms are 0).
    pub reached: Vec<usize>,
    /// Calls made at once (`Parallel`, `Quorum`): their targets are in `calls` too, as if
    /// waited for in turn; the fixed point replaces that sum by the wait for the group.
    pub groups: Vec<CallGroup>,
    /// Waits for a fetch from a node already under way (a cache's misses that single-flight
    /// joins to another's fetch), per visit: (the node, how often). They wait for what is
    /// left of the fetch, and do not load the node.
    pub shared_fetches: Vec<(usize, f64)>,
    /// A quorum-replicated store's (copies asked, answers waited for): its `forwards` are
    /// the copies, as if answered in turn; the fixed point takes the wait for the quorum.
    pub replicas: Option<(usize, usize)>,
}

impl VisitEffect {
    /// Visits this visit sends node `j` in all: calls, hand-offs and messages.
    pub(super) fn sends(&self, j: usize) -> f64 {
        self.calls[j] + self.forwards[j] + self.messages[j]
    }

    /// Whether a worker is held for the visit's own work alone: no calls, messages or
    /// calls made at once, and no wait for acknowledgements (`acks_s`, in seconds).
    pub(super) fn own_work_only(&self, acks_s: f64) -> bool {
        self.calls.iter().chain(self.messages.iter()).all(|(_, calls)| calls == 0.0)
            && self.groups.is_empty()
            && acks_s == 0.0
    }

    /// Calls `parallel_targets[start..start + len]` at once, `weight` times per visit,
    /// going on after `wait` answers: each target's visits, and the group.
    fn add_group(&mut self, topology: &Topology, weight: f64, start: u32, len: u32, wait: u32) {
        let targets = &topology.parallel_targets[start as usize..(start + len) as usize];
        for target in targets {
            self.calls[*target] += weight;
        }
        let targets = targets.iter().map(|target| target.index()).collect();
        self.groups.push(CallGroup { weight, targets, wait: wait as usize });
    }
}

/// Calls made at once, the caller going on once `wait` of them have answered.
#[derive(Debug, Clone)]
pub(super) struct CallGroup {
    /// How often per visit the group is called.
    pub weight: f64,
    /// The nodes called.
    pub targets: Vec<usize>,
    /// Answers waited for: all of them for `Parallel`.
    pub wait: usize,
}

/// Each target's share of a balancer's requests by its weights, n per request for a
/// replicated store; a resharding router's last shard list evenly.
pub(super) fn even_shares(balancer: &crate::topology::LoadBalancerConfig) -> Vec<f64> {
    if let Some(plan) = &balancer.resharding {
        let last = &plan.steps[plan.steps.len() - 1].assigned;
        let shards = last.iter().filter(|a| **a).count().max(1) as f64;
        return last.iter().map(|assigned| if *assigned { 1.0 / shards } else { 0.0 }).collect();
    }
    let copies = balancer.quorum.as_ref().map_or(1.0, |quorum| quorum.n as f64);
    let total: f64 = balancer.target_weights.iter().map(|w| *w as f64).sum();
    balancer.target_weights.iter().map(|weight| copies * *weight as f64 / total.max(1.0)).collect()
}

/// What a resharding router's figures are.
const RESHARDED: &str =
    "the steady state of its last shard list (a simulation also runs the lists before it, and the cold caches after each step)";

/// The Work a path through a program has done so far: its mean and second moment, and its
/// steps' count (2 standing for more) and the last one's sampler.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct PathWork {
    mean_s: f64,
    m2_s2: f64,
    steps: u8,
    sampler: Option<u32>,
}

impl PathWork {
    /// The path's work with an independent step of `sampler`, of the given mean and second
    /// moment, added.
    fn then(self, sampler: u32, mean_s: f64, m2_s2: f64) -> PathWork {
        PathWork {
            mean_s: self.mean_s + mean_s,
            m2_s2: self.m2_s2 + 2.0 * self.mean_s * mean_s + m2_s2,
            steps: (self.steps + 1).min(2),
            sampler: Some(sampler),
        }
    }

    /// Ends the path with odds `weight` in `effect`: its second moment, and its one step.
    fn end(self, weight: f64, effect: &mut VisitEffect) {
        if weight <= 0.0 {
            return;
        }
        effect.work_m2_s2 += weight * self.m2_s2;
        if self.steps > 1 {
            effect.several_work_steps = true;
        } else if let Some(path) = effect.work_paths.iter_mut().find(|(_, sampler)| *sampler == self.sampler) {
            path.0 += weight;
        } else {
            effect.work_paths.push((weight, self.sampler));
        }
    }
}

/// Walks a node program from `pc` with probability `weight`, adding its effect; `done` is
/// the work of the path that led there.
pub(super) fn walk(
    topology: &Topology,
    pc: u32,
    class: usize,
    weight: f64,
    effect: &mut VisitEffect,
    depth: u32,
    done: PathWork,
) -> Result<(), String> {
    if depth > 10_000 {
        return Err("a program loops".into());
    }
    let (mut pc, mut done) = (pc, done);
    loop {
        match topology.code[pc as usize] {
            Instr::Work(index) => {
                let sampler = &topology.samplers[index as usize];
                let mean_s = sampler.mean_s();
                effect.work_s += weight * mean_s;
                done = done.then(index, mean_s, sampler.second_moment_s2());
            }
            Instr::Call(node) => effect.calls[node] += weight,
            Instr::Parallel { start, len } => effect.add_group(topology, weight, start, len, len),
            // Every target is called (its visits counted, cancelled losers' work included);
            // the caller waits for the first `wait` answers.
            Instr::Quorum { start, len, wait, .. } => {
                effect.add_group(topology, weight, start, u32::from(len), u32::from(wait))
            }
            Instr::Forward(node) => {
                effect.forwards[node] += weight;
                done.end(weight, effect);
                return Ok(());
            }
            Instr::ByClass { table } => {
                pc = topology.class_tables[table as usize + class];
                continue;
            }
            Instr::Choose { table, len, otherwise } => {
                let mut previous = 0.0;
                for (cumulative, target) in &topology.choose_tables[table as usize..(table + len) as usize] {
                    walk(topology, *target, class, weight * (cumulative - previous), effect, depth + 1, done)?;
                    previous = *cumulative;
                }
                return walk(topology, otherwise, class, weight * (1.0 - previous), effect, depth + 1, done);
            }
            Instr::Jump(target) => {
                if target <= pc {
                    return Err("a program jumps backwards".into());
                }
                pc = target;
                continue;
            }
            Instr::Respond | Instr::NoRoute => {
                done.end(weight, effect);
                return Ok(());
            }
        }
        pc += 1;
    }
}

/// The effect of one visit of a class-`class` request to each node, and a caveat per node.
pub(super) fn effects(
    topology: &Topology,
    class: usize,
    caches: &[Option<super::CacheMeasure>],
    predicted_hits: &[Option<f64>],
    router_shares: &[Option<RouterKeys>],
) -> Result<(Vec<VisitEffect>, Vec<Option<String>>), String> {
    let n = topology.nodes.len();
    let mut effects = Vec::with_capacity(n);
    let mut caveats = vec![None; n];
    for (index, node) in topology.nodes.iter().enumerate() {
        let mut effect = VisitEffect::default();
        let mean = |sampler: u32| super::sampler_mean_s(topology, sampler);
        match &node.kind {
            NodeKind::Service(service) => {
                walk(topology, service.entry_pc, class, 1.0, &mut effect, 0, PathWork::default())
                    .map_err(|error| format!("node \"{}\": {error}", node.name))?
            }
            NodeKind::Database(database) => {
                walk(topology, database.servers.entry_pc, class, 1.0, &mut effect, 0, PathWork::default())
                    .map_err(|error| format!("node \"{}\": {error}", node.name))?;
                if database.replicas > 0 && database.read_policy == crate::topology::ReadPolicy::LeastLoaded {
                    caveats[index] = Some(
                        "least-loaded reads modelled as evening out the servers' utilization where the writes allow"
                            .into(),
                    );
                }
            }
            NodeKind::Function(function) => {
                walk(topology, function.entry_pc, class, 1.0, &mut effect, 0, PathWork::default())
                    .map_err(|error| format!("node \"{}\": {error}", node.name))?;
                caveats[index] = Some("cold starts are not in the model".into());
            }
            NodeKind::LoadBalancer(balancer) => {
                effect.delay_s = mean(balancer.latency_sampler);
                if balancer.algorithm == crate::topology::Algorithm::ActivePassive {
                    // Everything goes to the first backend while it serves.
                    if let Some((active, _)) = balancer.targets.first() {
                        effect.forwards[*active] += 1.0;
                    }
                } else {
                    // A shard router sends each key where the model does (its shards' shares of
                    // the keys drawn, n copies of each with a replicated store); without a known
                    // key popularity, and for a balancer, the shares follow the weights (a
                    // resharding router: its last shard list's, evenly).
                    let shares = match &router_shares[index] {
                        Some(keys) => keys.for_class(topology, class).to_vec(),
                        None => even_shares(balancer),
                    };
                    for ((target, _), share) in balancer.targets.iter().zip(shares) {
                        effect.forwards[*target] += share;
                    }
                    let behind_cache = router_shares[index].as_ref().and_then(|keys| keys.behind_cache.as_ref());
                    if balancer.resharding.is_some() {
                        caveats[index] = Some(RESHARDED.into());
                    } else if let Some((cache, _)) = behind_cache {
                        caveats[index] = Some(format!(
                            "the reads' keys as \"{}\" lets them through: a key misses with e^(−pT), T fitted to its hit ratio (Che's approximation), so its hot keys reach the shards less than their share",
                            topology.nodes[*cache].name
                        ));
                    } else if router_shares[index].is_none()
                        && balancer.role == crate::topology::BalancerRole::ShardRouter
                    {
                        caveats[index] = Some(
                            "keys taken as spread evenly over the shards (the workloads' key popularity is not one known distribution)"
                                .into(),
                        );
                    }
                    if let Some(quorum) = balancer.quorum.as_ref().filter(|quorum| quorum.n > 1) {
                        let writes = quorum.write_classes.get(class).copied().unwrap_or(false);
                        let wait = if writes { quorum.write } else { quorum.read };
                        effect.replicas = Some((quorum.n as usize, wait as usize));
                        // After the keys' caveat, when there is one.
                        let parallel = "replicas answer in parallel: the quorum waits for the k-th of independent answers, each a replica's own work law after its wait where it is held for one Work step alone (else fitted by two moments, or exponential)";
                        caveats[index] = Some(match caveats[index].take() {
                            Some(keys) if keys != parallel => format!("{keys}; {parallel}"),
                            _ => parallel.into(),
                        });
                    }
                }
            }
            NodeKind::Cache(cache) => {
                // Writes always reach the backend; reads only when they miss, and then not
                // when they wait for a fetch of their key already under way.
                let write = cache.write_classes.get(class).copied().unwrap_or(false);
                let predicted = predicted_hits[index];
                let measured = caches[index];
                let hit = if write { 0.0 } else { measured.map(|m| m.hit_ratio).or(predicted).unwrap_or(0.0) };
                let coalesced =
                    if write { 0.0 } else { measured.map_or(0.0, |m| m.coalesced_share.clamp(0.0, 1.0 - hit)) };
                effect.delay_s = hit * mean(cache.hit_sampler) + (1.0 - hit) * mean(cache.miss_sampler);
                effect.calls[cache.backend] += 1.0 - hit - coalesced;
                if coalesced > 0.0 {
                    effect.shared_fetches.push((cache.backend.index(), coalesced));
                }
                let refreshes = if write { 0.0 } else { measured.map_or(0.0, |m| m.refreshes_per_read) };
                effect.messages[cache.backend] += refreshes;
                caveats[index] = Some(match (measured, predicted) {
                    (Some(measured), _) => {
                        let mut said = "hit ratio taken from the simulation".to_string();
                        if measured.coalesced_share > 0.0 {
                            said += &format!(
                                "; {:.1}% of reads wait for a fetch of their key already under way (single-flight), for what is left of it, E[D²]/2E[D] of a fetch's time D",
                                100.0 * measured.coalesced_share
                            );
                        }
                        if measured.refreshes_per_read > 0.0 {
                            said += &format!(
                                "; {:.2} background refreshes per read load the backend, and no read waits for them",
                                measured.refreshes_per_read
                            );
                        }
                        said
                    }
                    (None, Some(predicted)) => format!(
                        "hit ratio {predicted:.3} from Che's approximation (LRU, independent references; invalidations by writes not counted)"
                    ),
                    (None, None) => {
                        "hit ratio unknown before simulating: every read assumed to miss (use --simulate)".into()
                    }
                });
            }
            NodeKind::Cdn(cdn) => {
                let hit = caches[index].map_or(0.0, |m| m.hit_ratio);
                effect.delay_s = mean(cdn.hit_sampler);
                effect.calls[cdn.origin] += 1.0 - hit;
                caveats[index] = Some(match caches[index] {
                    Some(_) => "hit ratio taken from the simulation".into(),
                    None => {
                        "hit ratio unknown before simulating: every request assumed to miss (use --simulate)".into()
                    }
                });
            }
            NodeKind::RateLimiter(limiter) => {
                effect.forwards[limiter.next] += 1.0;
                caveats[index] = Some("assumes every request passes the limit".into());
            }
            NodeKind::WorkQueue(queue) => {
                effect.delay_s = mean(queue.publish_sampler);
                effect.messages[queue.handler] += 1.0;
                caveats[index] = Some(format!(
                    "asynchronous: a consumer is held while \"{}\" handles its message; the messages' waits are not in the request path (redeliveries are not modelled)",
                    topology.nodes[queue.handler].name
                ));
            }
            NodeKind::Log(log) => {
                effect.delay_s = mean(log.append_sampler);
                for (_, handler) in &log.groups {
                    effect.messages[*handler] += 1.0;
                }
                caveats[index] = Some(
                    "asynchronous: each group's consumers are M/G/1 queues of their partitions (each partition's share that of the keys hashed to it, when the workloads' key popularity is known; the handler's answers exponential where their variance is not known); the messages' waits are not in the request path"
                        .into(),
                );
            }
        }
        effect.reached = nodes_of(&[&effect.calls, &effect.forwards, &effect.messages]);
        effects.push(effect);
    }
    Ok((effects, caveats))
}

/// Che's approximation of each cache node's hit ratio (`None` for other nodes, and for
/// caches it does not cover), worked out once per view: each is a sum over every key.
pub(super) fn predicted_hit_ratios(topology: &Topology) -> Vec<Option<f64>> {
    let mut groups: Option<Option<Vec<KeyGroup>>> = None;
    topology
        .nodes
        .iter()
        .map(|node| match &node.kind {
            NodeKind::Cache(cache) if cache.eviction == crate::topology::Eviction::Lru && cache.ttl_ns.is_none() => {
                let groups = groups.get_or_insert_with(|| key_groups(topology));
                che_hit_ratio(groups.as_deref()?, cache.capacity as f64)
            }
            _ => None,
        })
        .collect()
}

/// The keys' popularity in groups (`KeySampler::popularity_groups`), when every workload
/// draws its keys from one distribution.
fn key_groups(topology: &Topology) -> Option<Vec<KeyGroup>> {
    let mut keyed = topology.sources.iter().map(|source| &source.keys);
    let first = keyed.next()?;
    if keyed.any(|keys| keys != first) {
        return None;
    }
    Some(first.popularity_groups())
}

/// Che's approximation (Che, Tung & Wang 2002; Fricker, Robert & Roberts 2012) of an LRU
/// cache's hit ratio under independent references with key popularity `groups`: the
/// characteristic time T solves Σᵢ (1 − e^(−pᵢT)) = C, and the hit ratio is
/// Σᵢ pᵢ(1 − e^(−pᵢT)). Only for LRU caches without a TTL, fed by one key distribution.
pub(super) fn che_hit_ratio(groups: &[KeyGroup], capacity: f64) -> Option<f64> {
    let keys: f64 = groups.iter().map(|group| group.count).sum();
    if capacity >= keys {
        return Some(1.0);
    }
    let occupancy = |t: f64| {
        groups.iter().fold((0.0, 0.0), |(value, slope), group| {
            // 1 − e^(−pT) as −expm1(−pT): exact to the last digits where pT is tiny, as it
            // is for most keys of a large key space.
            let held = -libm::expm1(-group.probability * t);
            (value + group.count * held, slope + group.count * group.probability * (1.0 - held))
        })
    };
    let t = concave_root(occupancy, capacity)?;
    Some(groups.iter().map(|group| group.count * group.probability * -libm::expm1(-group.probability * t)).sum())
}

/// Most Newton steps `concave_root` takes (it needs about one per e-fold between its first
/// guess and the root, then a few more).
const MAX_NEWTON_STEPS: u32 = 400;

/// The t ≥ 0 at which `value_and_slope(t)`, increasing and concave with a value below
/// `target` at 0, reaches `target` (Che's characteristic time): Newton's method from 0.
/// On a concave function each tangent crosses `target` at or before the root, so the steps
/// climb to it without overshooting, and stop when a step no longer moves t. `None` when
/// the slope vanishes first (the target is out of reach).
fn concave_root(value_and_slope: impl Fn(f64) -> (f64, f64), target: f64) -> Option<f64> {
    let mut t = 0.0f64;
    for _ in 0..MAX_NEWTON_STEPS {
        let (value, slope) = value_and_slope(t);
        if value >= target {
            break;
        }
        let rising = slope > 0.0; // (false for NaN too)
        if !rising {
            return None;
        }
        let step = (target - value) / slope;
        let moves = step > t * 1e-15;
        if !moves {
            break;
        }
        t += step;
    }
    t.is_finite().then_some(t)
}

/// The probability of each key (key k has `p[k]`), when every workload draws its keys from
/// one distribution the model knows, of at most `max_keys` keys (and 10⁷).
pub(super) fn key_popularity(topology: &Topology, max_keys: u64) -> Option<Vec<f64>> {
    let mut keyed = topology.sources.iter().map(|source| &source.keys);
    let first = keyed.next()?;
    if keyed.any(|keys| keys != first) || first.key_count() > max_keys {
        return None;
    }
    first.popularity()
}

/// Most keys whose routes the analytic view follows one by one; past it, even shares.
pub(super) const MAX_ROUTED_KEYS: u64 = 2_000_000;

/// A shard router's shares of the requests each of its targets gets, from the keys.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RouterKeys {
    /// Of every request's keys (n per request with a replicated store).
    pub shares: Vec<f64>,
    /// When only a cache calls the router: (the cache, the shares of the keys its reads
    /// miss). A cache keeps its hot keys, so its misses spread over the shards unlike its
    /// reads; its writes all go through, with the requests' keys.
    pub behind_cache: Option<(usize, Vec<f64>)>,
}

impl RouterKeys {
    /// The shares a class-`class` request gets: its read misses' behind a cache it reads
    /// through, else every key's.
    pub fn for_class(&self, topology: &Topology, class: usize) -> &[f64] {
        match &self.behind_cache {
            Some((cache, misses)) => match &topology.nodes[*cache].kind {
                NodeKind::Cache(config) if !config.write_classes.get(class).copied().unwrap_or(false) => misses,
                _ => &self.shares,
            },
            None => &self.shares,
        }
    }
}

/// Per node, a shard router's (or a key-hashing balancer's) shares of its targets, from the key popularity and the
/// router's own hash or ring, as the model routes them with every shard up (a resharding
/// router: those of its last list): `None` for other nodes, or when the keys are not known.
/// Behind a cache whose hit ratio is known (`hit_ratio`, per node), also the shares of the
/// keys its reads miss, each key missing with e^(−pT) for T fitted to the hit ratio, as
/// Che's approximation of an LRU cache has it.
pub(super) fn router_key_shares(
    topology: &Topology,
    popularity: Option<&[f64]>,
    hit_ratio: impl Fn(usize) -> Option<f64>,
) -> Vec<Option<RouterKeys>> {
    let n = topology.nodes.len();
    // Each node's callers, to find the routers only a cache calls.
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for edge in &topology.edges {
        callers[edge.to.index()].push(edge.from.index());
    }
    let entered: Vec<bool> =
        (0..n).map(|i| topology.sources.iter().any(|source| source.entry_node.index() == i)).collect();
    topology
        .nodes
        .iter()
        .enumerate()
        .map(|(index, node)| {
            let NodeKind::LoadBalancer(balancer) = &node.kind else { return None };
            if !routes_by_key(balancer) {
                return None;
            }
            let popularity = popularity?;
            let shares = balancer_shares(balancer, popularity.iter().copied())?;
            let cache = match callers[index].as_slice() {
                [cache] if !entered[index] && matches!(topology.nodes[*cache].kind, NodeKind::Cache(_)) => Some(*cache),
                _ => None,
            };
            let behind_cache = cache.and_then(|cache| {
                let misses = miss_weights(popularity, hit_ratio(cache)?)?;
                Some((cache, balancer_shares(balancer, misses)?))
            });
            Some(RouterKeys { shares, behind_cache })
        })
        .collect()
}

/// Whether `balancer` sends each key where the model hashes it: a shard router, or a load
/// balancer by key hash or ring (over the instances of a node, unevenly under hot keys).
pub(super) fn routes_by_key(balancer: &crate::topology::LoadBalancerConfig) -> bool {
    balancer.role == crate::topology::BalancerRole::ShardRouter
        || (balancer.role == crate::topology::BalancerRole::LoadBalancer
            && matches!(
                balancer.algorithm,
                crate::topology::Algorithm::HashKey | crate::topology::Algorithm::ConsistentHash { .. }
            ))
}

/// A router's shares of its targets for keys of weights `weights` (key k has the k-th).
fn balancer_shares(
    balancer: &crate::topology::LoadBalancerConfig,
    weights: impl Iterator<Item = f64>,
) -> Option<Vec<f64>> {
    let targets = balancer.targets.len();
    // Every shard, or those of a resharding's last list.
    let up = match &balancer.resharding {
        Some(plan) => plan.steps[plan.steps.len() - 1].assigned.clone(),
        None => vec![true; targets],
    };
    let rotation: Vec<u32> = (0..targets as u32).filter(|target| up[*target as usize]).collect();
    if rotation.is_empty() {
        return None;
    }
    let mut shares = vec![0.0; targets];
    for (key, p) in weights.enumerate() {
        match &balancer.quorum {
            Some(quorum) => {
                let mut order = [0u32; crate::model::replicated::MAX_ASKED];
                let len = crate::model::replicated::preference_list(balancer, &rotation, key as u64, &mut order);
                for target in &order[..len.min(quorum.n as usize)] {
                    shares[*target as usize] += p;
                }
            }
            None => shares[crate::model::resharding::shard_of(balancer, &rotation, &up, key as u64) as usize] += p,
        }
    }
    Some(shares)
}

/// The weight of each key among a cache's read misses, normalised: p·e^(−pT), with T such
/// that Σ p(1 − e^(−pT)) is the hit ratio (Che's characteristic time); `None` when the
/// cache hits nothing (the misses are the reads) or everything.
fn miss_weights(popularity: &[f64], hit_ratio: f64) -> Option<impl Iterator<Item = f64> + '_> {
    if !(hit_ratio > 1e-9 && hit_ratio < 1.0 - 1e-9) {
        return None;
    }
    let hits = |t: f64| {
        popularity.iter().fold((0.0, 0.0), |(value, slope), p| {
            let kept = libm::exp(-p * t);
            (value + p * (1.0 - kept), slope + p * p * kept)
        })
    };
    let t = concave_root(hits, hit_ratio)?;
    let total: f64 = popularity.iter().map(|p| p * libm::exp(-p * t)).sum();
    (total > 0.0).then(|| popularity.iter().map(move |p| p * libm::exp(-p * t) / total))
}

/// Per class: each node's visit effects and arrival rate (requests per second) given the
/// arrival rates per (class, entry node) and the share of its arrivals each node takes (the
/// others refused, `loss.rs`: they send nothing on); and per node the first caveat of its
/// model.
#[allow(clippy::type_complexity)]
pub(super) fn class_visit_rates(
    topology: &Topology,
    class_entry_rates: &[Vec<f64>],
    caches: &[Option<super::CacheMeasure>],
    predicted_hits: &[Option<f64>],
    router_shares: &[Option<RouterKeys>],
    retry: &super::retries::Amplification,
    admitted: &[f64],
) -> Result<(Vec<Vec<VisitEffect>>, Vec<Vec<f64>>, Vec<Option<String>>), String> {
    let mut class_effects = Vec::with_capacity(class_entry_rates.len());
    let mut class_rates = Vec::with_capacity(class_entry_rates.len());
    let mut caveats = vec![None; topology.nodes.len()];
    for (class, entry_rates) in class_entry_rates.iter().enumerate() {
        let (mut effects, class_caveats) = effects(topology, class, caches, predicted_hits, router_shares)?;
        // A timed call's retries call the callee again.
        for edge in topology.call_policies.iter().filter(|edge| !edge.caller.is_none()) {
            let policy = topology.call_policy(edge.caller, edge.callee);
            effects[edge.caller.index()].calls[edge.callee.index()] *= retry.attempts(policy);
        }
        for (slot, caveat) in caveats.iter_mut().zip(class_caveats) {
            if slot.is_none() {
                *slot = caveat;
            }
        }
        // Messages count: their consumers' calls load the nodes as any other visit does.
        let routing = Routing::of(&effects, VisitEffect::sends).scaled(admitted);
        let rates =
            solve(&routing, entry_rates, true).ok_or("the routing sends requests around a loop they never leave")?;
        class_effects.push(effects);
        class_rates.push(rates);
    }
    Ok((class_effects, class_rates, caveats))
}

/// Node visits per request, summed over nodes (the entry's own visit included), by class and
/// entry node: what one request costs the simulation. Per class, one solve of
/// (I − P) x = 1 gives every entry's x at once (x = (I − P)⁻¹1, the visits a request
/// entering there makes), rather than one solve of v = e + vP per entry.
#[derive(Debug, Clone)]
pub struct VisitCounts {
    /// Per class, per entry node; `None` when the class's routing cannot be solved.
    per_class: Vec<Option<Vec<f64>>>,
}

impl VisitCounts {
    /// The visit counts of every class and entry of `topology`.
    pub fn of(topology: &Topology) -> VisitCounts {
        let n = topology.nodes.len();
        let predicted = predicted_hit_ratios(topology);
        // Even shares over a router's shards: the total visits are what counts here.
        let no_shares = vec![None; n];
        let per_class = (0..topology.classes.len())
            .map(|class| {
                let (effects, _) = effects(topology, class, &vec![None; n], &predicted, &no_shares).ok()?;
                let routing = Routing::of(&effects, VisitEffect::sends);
                solve(&routing, &vec![1.0; n], false)
            })
            .collect();
        VisitCounts { per_class }
    }

    /// Node visits per request entering at `entry` in class `class`; `None` when the
    /// routing cannot be solved.
    pub fn per_request(&self, entry: NodeId, class: u32) -> Option<f64> {
        self.per_class.get(class as usize)?.as_ref()?.get(entry.index()).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeySampler;

    /// Visits per request from each entry and class, by one solve per class: "a" calls "b"
    /// twice, "b" calls "c" half the time and hands a quarter of its requests back to "a"
    /// (a loop). From b: x_b = 1 + ½x_c + ¼x_a, x_a = 1 + 2x_b, x_c = 1, so x_b = 7/2 and
    /// x_a = 8; class "light" skips "c" (a ByClass branch): x_b = 1 + ¼(1 + 2x_b), x_b = 5/2.
    #[test]
    fn visit_counts_solve_every_entry_at_once() {
        let topology = crate::parse_topology(
            r#"Topology(
                workload: [
                    Open(name: "front", arrivals: Poisson(rate: "1/s"), to: "a"),
                    Open(name: "back", arrivals: Poisson(rate: "1/s"), classes: {"full": 0.5, "light": 0.5}, to: "b"),
                ],
                nodes: {
                    "a": Service(steps: [Work(Exp(mean: "1ms")), Call("b"), Call("b")]),
                    "b": Service(steps: [
                        Work(Exp(mean: "1ms")),
                        ByClass(branches: {"light": []}, otherwise: [Choose([(0.5, [Call("c")]), (0.5, [])])]),
                        Choose([(0.25, [Forward("a")]), (0.75, [])]),
                    ]),
                    "c": Service(steps: [Work(Exp(mean: "1ms"))]),
                },
            )"#,
        )
        .unwrap();
        let counts = VisitCounts::of(&topology);
        let class = |name: &str| topology.classes.iter().position(|c| c == name).unwrap() as u32;
        let node = |name: &str| NodeId::new(topology.nodes.iter().position(|n| n.name == name).unwrap() as u32);
        let near = |value: Option<f64>, expected: f64| assert!((value.unwrap() - expected).abs() < 1e-12, "{value:?}");
        near(counts.per_request(node("b"), class("full")), 3.5);
        near(counts.per_request(node("a"), class("full")), 8.0);
        near(counts.per_request(node("c"), class("full")), 1.0);
        near(counts.per_request(node("b"), class("light")), 2.5);
        near(counts.per_request(node("a"), class("light")), 6.0);
        assert_eq!(counts.per_request(node("a"), 9), None);
    }

    /// Uniform keys: T = −n ln(1 − C/n) and the hit ratio is C/n.
    #[test]
    fn uniform_keys_hit_in_proportion_to_the_capacity() {
        let groups = KeySampler::Uniform { n: 1_000_000_000 }.popularity_groups();
        for capacity in [1.0, 1e6, 5e8, 999_999_999.0] {
            let hit = che_hit_ratio(&groups, capacity).expect("reached");
            assert!((hit / (capacity / 1e9) - 1.0).abs() < 1e-9, "C {capacity}: {hit}");
        }
        assert_eq!(che_hit_ratio(&groups, 2e9), Some(1.0));
    }
}
