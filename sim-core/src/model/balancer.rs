//! Load balancers: pick a backend instance by the configured algorithm, forward the
//! request after an optional processing delay, and pass the answer back.

use super::requests::Outcome;
use super::{Event, Simulation};
use crate::rng::splitmix64;
use crate::topology::{Algorithm, LoadBalancerConfig, NodeKind, Topology, NONE};

/// Run-time state of a load balancer.
#[derive(Debug)]
pub(crate) struct BalancerState {
    /// Requests this balancer has outstanding at each target.
    pub outstanding: Vec<u32>,
    /// Round-robin position (also the starting point for breaking ties).
    next: u32,
    /// Smooth weighted round robin's running weights.
    current_weights: Vec<i64>,
}

impl BalancerState {
    pub fn new(config: &LoadBalancerConfig) -> Self {
        Self { outstanding: vec![0; config.targets.len()], next: 0, current_weights: vec![0; config.targets.len()] }
    }
}

/// The configuration of load balancer `node`.
#[inline]
fn balancer_config(topology: &Topology, node: u32) -> &LoadBalancerConfig {
    match &topology.nodes[node as usize].kind {
        NodeKind::LoadBalancer(config) => config,
        NodeKind::Service(_) => unreachable!("node {node} is not a load balancer"),
    }
}

impl Simulation<'_> {
    pub(crate) fn balancer_arrive(&mut self, frame: u32) {
        let now = self.events.now_ns();
        let node = self.frames[frame].node;
        let stats = &mut self.node_stats[node as usize];
        stats.advance(now);
        stats.in_system_now += 1;
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
        let (node, request, hops) = (record.node, record.request, record.hops);
        let target = self.pick_target(node, request);
        let topology = self.topology;
        let config = balancer_config(topology, node);
        let (target_node, target_instance) = config.targets[target as usize];
        self.balancers[node as usize].as_mut().expect("balancer state").outstanding[target as usize] += 1;
        self.frames[frame].balancer_target = target;
        self.frames[frame].pending = 1;
        let link = topology.link(node, target_node);
        let child = self.new_frame(request, frame, target_node, target_instance, link, hops + 1);
        self.send_frame(child, link);
    }

    pub(crate) fn balancer_reply(&mut self, frame: u32) {
        let record = &self.frames[frame];
        let (node, target) = (record.node, record.balancer_target);
        let (outcome, cause) = record.outcome.unwrap_or((Outcome::Completed, node));
        self.balancers[node as usize].as_mut().expect("balancer state").outstanding[target as usize] -= 1;
        self.finish_frame(frame, outcome, cause);
    }

    fn pick_target(&mut self, node: u32, request: u32) -> u32 {
        let topology = self.topology;
        let config = balancer_config(topology, node);
        let n = config.targets.len() as u32;
        match config.algorithm {
            Algorithm::RoundRobin => {
                let state = self.balancers[node as usize].as_mut().expect("balancer state");
                let target = state.next;
                state.next = (state.next + 1) % n;
                target
            }
            Algorithm::WeightedRoundRobin => {
                // Smooth weighted round robin (nginx): add each weight, take the largest,
                // subtract the total from it.
                let state = self.balancers[node as usize].as_mut().expect("balancer state");
                let total: i64 = config.target_weights.iter().map(|w| *w as i64).sum();
                let mut best = 0;
                for (index, weight) in config.target_weights.iter().enumerate() {
                    state.current_weights[index] += *weight as i64;
                    if state.current_weights[index] > state.current_weights[best] {
                        best = index;
                    }
                }
                state.current_weights[best] -= total;
                best as u32
            }
            Algorithm::Random => self.routing_stream(node).below(n as u64) as u32,
            Algorithm::LeastConnections => {
                // Ties go to the first candidate after a rotating start, so idle targets
                // share the load rather than the first one taking it all.
                let state = self.balancers[node as usize].as_mut().expect("balancer state");
                let start = state.next;
                state.next = (state.next + 1) % n;
                let mut best = start;
                for offset in 1..n {
                    let candidate = (start + offset) % n;
                    if state.outstanding[candidate as usize] < state.outstanding[best as usize] {
                        best = candidate;
                    }
                }
                best
            }
            Algorithm::PowerOfTwoChoices => {
                if n == 1 {
                    return 0;
                }
                let stream = self.routing_stream(node);
                let first = stream.below(n as u64) as u32;
                let second = (first + 1 + stream.below(n as u64 - 1) as u32) % n;
                let state = self.balancers[node as usize].as_ref().expect("balancer state");
                if state.outstanding[second as usize] < state.outstanding[first as usize] {
                    second
                } else {
                    first
                }
            }
            Algorithm::HashClient => (splitmix64(self.requests[request].client as u64) % n as u64) as u32,
            Algorithm::HashKey => (splitmix64(self.requests[request].key) % n as u64) as u32,
        }
    }
}
