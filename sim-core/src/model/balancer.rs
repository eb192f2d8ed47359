//! Load balancers and shard routers: pick a backend among the targets in rotation by the
//! configured algorithm, forward the request after an optional processing delay, and pass
//! the answer back.

use super::invariants;
use super::requests::Outcome;
use super::{Event, Simulation};
use crate::report::ComponentSection;
use crate::rng::splitmix64;
use crate::topology::{Algorithm, LoadBalancerConfig, NodeKind, Topology, NONE};
use indexmap::IndexMap;

/// Run-time state of a load balancer.
#[derive(Debug)]
pub(crate) struct BalancerState {
    /// Requests this balancer has outstanding at each target.
    pub outstanding: Vec<u32>,
    /// Requests sent to each target (after the warm-up).
    pub routed: Vec<u64>,
    /// Target indices taking requests now (autoscaling moves instances in and out).
    rotation: Vec<u32>,
    /// Per target: whether it is in `rotation`.
    up: Vec<bool>,
    /// Per target: whether the health check passes it (always true without one).
    pub healthy: Vec<bool>,
    /// Health checking, for balancers that have it.
    pub health: Option<super::health::HealthState>,
    /// Round-robin position in `rotation` (also the starting point for breaking ties).
    next: u32,
    /// Smooth weighted round robin's running weights, per target.
    current_weights: Vec<i64>,
    /// Nearest routing: per client region, the targets in rotation in the nearest region
    /// that has any, and a round-robin position among them.
    nearest: Vec<(Vec<u32>, u32)>,
}

impl BalancerState {
    pub fn new(topology: &Topology, config: &LoadBalancerConfig) -> Self {
        let targets = config.targets.len();
        let mut state = Self {
            outstanding: vec![0; targets],
            routed: vec![0; targets],
            rotation: Vec::with_capacity(targets),
            up: vec![false; targets],
            healthy: vec![true; targets],
            health: config.health_check.map(|_| super::health::HealthState::new(targets)),
            next: 0,
            current_weights: vec![0; targets],
            nearest: Vec::new(),
        };
        // At the start, a service's first `instances` instances serve.
        state.rebuild_rotation(topology, config, |node, instance| {
            topology.nodes[node as usize].kind.servers().is_none_or(|service| instance < service.instances)
        });
        state
    }

    /// Recomputes which targets are in rotation; `serving(node, instance)` says whether a
    /// service instance takes requests (targets without an instance always do).
    pub fn rebuild_rotation(
        &mut self,
        topology: &Topology,
        config: &LoadBalancerConfig,
        serving: impl Fn(u32, u32) -> bool,
    ) {
        self.rotation.clear();
        for (index, (node, instance)) in config.targets.iter().enumerate() {
            let up = (*instance == NONE || serving(*node, *instance)) && self.healthy[index];
            self.up[index] = up;
            if up {
                self.rotation.push(index as u32);
            }
        }
        if self.rotation.is_empty() {
            // Every target failed its health check: fail open (as cloud balancers do) and
            // spread over the targets in service rather than over none.
            for (index, (node, instance)) in config.targets.iter().enumerate() {
                let up = *instance == NONE || serving(*node, *instance);
                self.up[index] = up;
                if up {
                    self.rotation.push(index as u32);
                }
            }
        }
        if config.algorithm == Algorithm::Nearest {
            let regions = &topology.regions;
            self.nearest = (0..regions.names.len().max(1) as u32)
                .map(|region| {
                    let order = if regions.names.is_empty() { vec![NONE] } else { regions.by_distance(region) };
                    let group = order
                        .iter()
                        .map(|r| {
                            self.rotation
                                .iter()
                                .copied()
                                .filter(|t| topology.nodes[config.targets[*t as usize].0 as usize].region == *r)
                                .collect::<Vec<u32>>()
                        })
                        .find(|group| !group.is_empty())
                        .unwrap_or_else(|| self.rotation.clone());
                    (group, 0)
                })
                .collect();
        }
    }
}

/// The configuration of load balancer `node`.
#[inline]
pub(crate) fn balancer_config(topology: &Topology, node: u32) -> &LoadBalancerConfig {
    match &topology.nodes[node as usize].kind {
        NodeKind::LoadBalancer(config) => config,
        _ => unreachable!("node {node} is not a load balancer"),
    }
}

impl Simulation<'_> {
    pub(crate) fn balancer_arrive(&mut self, frame: u32) {
        self.enter_component(frame);
        let node = self.frames[frame].node;
        let latency_sampler = balancer_config(self.topology, node).latency_sampler;
        if latency_sampler == NONE {
            self.balancer_forward(frame);
        } else {
            let delay = self.sample_service(node, latency_sampler);
            self.events.schedule_in(delay, Event::BalancerForward { frame });
        }
    }

    pub(crate) fn balancer_forward(&mut self, frame: u32) {
        let record = &self.frames[frame];
        let (node, request) = (record.node, record.request);
        if self.balancers[node as usize].as_ref().expect("balancer state").rotation.is_empty() {
            // No backend instance is in service (all drained by a deployment).
            self.finish_frame(frame, Outcome::Unavailable, node);
            return;
        }
        let target = self.pick_target(node, request);
        let (target_node, target_instance) = balancer_config(self.topology, node).targets[target as usize];
        let measured = self.is_measured(self.frames[frame].arrived_ns);
        let state = self.balancers[node as usize].as_mut().expect("balancer state");
        state.outstanding[target as usize] += 1;
        if measured {
            state.routed[target as usize] += 1;
        }
        self.frames[frame].balancer_target = target;
        let topology = self.topology;
        let config = balancer_config(topology, node);
        let client_region = self.requests[request].region;
        if config.algorithm == Algorithm::Nearest
            && topology.nodes[node as usize].region == NONE
            && client_region != NONE
        {
            // Global geo routing (DNS, anycast) places no box between the client and the
            // chosen region: the request crosses from the client's region to the target's.
            let link = topology.regions.sampler(client_region, topology.nodes[target_node as usize].region);
            self.call_node_over(frame, target_node, target_instance, link);
            return;
        }
        self.call_node(frame, target_node, target_instance);
    }

    pub(crate) fn balancer_reply(&mut self, frame: u32) {
        let record = &self.frames[frame];
        let (node, target) = (record.node, record.balancer_target);
        let (outcome, cause) = record.outcome.unwrap_or((Outcome::Completed, node));
        let outstanding =
            &mut self.balancers[node as usize].as_mut().expect("balancer state").outstanding[target as usize];
        invariants::decrement(outstanding, &mut self.invariants.counter_underflows);
        self.finish_frame(frame, outcome, cause);
    }

    /// Every balancer in front of `node` takes note that its instances changed.
    pub(crate) fn rotation_changed(&mut self, node: u32) {
        for index in 0..self.balancers_of[node as usize].len() {
            let balancer = self.balancers_of[node as usize][index];
            self.rebuild_balancer(balancer);
        }
    }

    /// Recomputes which of `balancer`'s targets are in rotation.
    pub(crate) fn rebuild_balancer(&mut self, balancer: u32) {
        let topology = self.topology;
        let config = balancer_config(topology, balancer);
        let services = &self.services;
        if let Some(state) = self.balancers[balancer as usize].as_mut() {
            state.rebuild_rotation(topology, config, |node, instance| {
                services[node as usize].as_ref().is_none_or(|s| s.in_rotation(instance))
            });
        }
    }

    fn pick_target(&mut self, node: u32, request: u32) -> u32 {
        let topology = self.topology;
        let config = balancer_config(topology, node);
        let key = self.requests[request].key;
        let (client, region) = (self.requests[request].client, self.requests[request].region);
        let state = self.balancers[node as usize].as_mut().expect("balancer state");
        let n = state.rotation.len() as u32;
        match config.algorithm {
            Algorithm::RoundRobin => {
                let position = state.next % n;
                state.next = (position + 1) % n;
                state.rotation[position as usize]
            }
            Algorithm::WeightedRoundRobin => {
                // Smooth weighted round robin (nginx): add each weight, take the largest,
                // subtract the total from it.
                let mut total = 0i64;
                let mut best = state.rotation[0] as usize;
                for &target in &state.rotation {
                    let weight = config.target_weights[target as usize] as i64;
                    total += weight;
                    state.current_weights[target as usize] += weight;
                    if state.current_weights[target as usize] > state.current_weights[best] {
                        best = target as usize;
                    }
                }
                state.current_weights[best] -= total;
                best as u32
            }
            Algorithm::Random => {
                let position = self.routing_stream(node).below(n as u64) as usize;
                self.balancers[node as usize].as_ref().expect("balancer state").rotation[position]
            }
            Algorithm::LeastConnections => {
                // Ties go to the first candidate after a rotating start, so idle targets
                // share the load rather than the first one taking it all.
                let start = state.next % n;
                state.next = (start + 1) % n;
                let mut best = state.rotation[start as usize];
                for offset in 1..n {
                    let candidate = state.rotation[((start + offset) % n) as usize];
                    if state.outstanding[candidate as usize] < state.outstanding[best as usize] {
                        best = candidate;
                    }
                }
                best
            }
            Algorithm::PowerOfTwoChoices => {
                if n == 1 {
                    return state.rotation[0];
                }
                let stream = self.routing_stream(node);
                let first = stream.below(n as u64) as u32;
                let second = (first + 1 + stream.below(n as u64 - 1) as u32) % n;
                let state = self.balancers[node as usize].as_ref().expect("balancer state");
                let (first, second) = (state.rotation[first as usize], state.rotation[second as usize]);
                if state.outstanding[second as usize] < state.outstanding[first as usize] {
                    second
                } else {
                    first
                }
            }
            Algorithm::HashClient => state.rotation[(splitmix64(client as u64) % n as u64) as usize],
            Algorithm::HashKey => state.rotation[(splitmix64(key) % n as u64) as usize],
            Algorithm::ConsistentHash { .. } => {
                // The first point clockwise from the key's hash whose target is in rotation.
                let point = splitmix64(key ^ 0x6b65_7973);
                let start = config.ring.partition_point(|(p, _)| *p < point);
                let ring_len = config.ring.len();
                (0..ring_len)
                    .map(|offset| config.ring[(start + offset) % ring_len].1)
                    .find(|target| state.up[*target as usize])
                    .unwrap_or(state.rotation[0])
            }
            Algorithm::ActivePassive => state.rotation[0],
            Algorithm::Nearest => {
                let entry = if region == NONE { 0 } else { region as usize };
                let (group, next) = &mut state.nearest[entry];
                let position = *next as usize % group.len();
                *next = (position + 1) as u32;
                group[position]
            }
        }
    }
}

impl BalancerState {
    /// The balancer's report section: requests sent to each target (`node` or `node#instance`).
    pub(crate) fn report(&self, topology: &Topology, node: u32) -> ComponentSection {
        let config = balancer_config(topology, node);
        let mut routed = IndexMap::new();
        for (target, (target_node, instance)) in config.targets.iter().enumerate() {
            let name = &topology.nodes[*target_node as usize].name;
            let label = if *instance == NONE { name.clone() } else { format!("{name}#{instance}") };
            routed.insert(label, self.routed[target]);
        }
        ComponentSection::Routed(routed)
    }

    /// What its health checks did, when it has them.
    pub(crate) fn health_report(&self) -> Option<crate::report::HealthCheckReport> {
        let health = self.health.as_ref()?;
        Some(crate::report::HealthCheckReport {
            probes: health.probes,
            marked_down: health.marked_down,
            marked_up: health.marked_up,
            unhealthy_at_end: self.healthy.iter().filter(|healthy| !**healthy).count() as u64,
        })
    }
}
