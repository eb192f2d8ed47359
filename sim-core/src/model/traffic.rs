//! What the network carries: bytes per link (caller → callee, with the answers back), per
//! pair of regions, between zones and to and from the clients; and the links with a
//! bandwidth, where a message waits for those sent before it and then takes its size over
//! the bandwidth to send (a FIFO server per direction, by Lindley's recursion: a message's
//! start is the later of its sending and the end of the one before, so a pipe needs no
//! event of its own).

use super::keymap::KeyMap;
use crate::ids::NodeId;
use crate::rng::{Purpose, RandomStream};
use crate::topology::{Topology, NONE};

/// Counters of one caller–callee pair.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LinkTraffic {
    /// The caller (`NONE` for the clients) and the callee.
    pub from: NodeId,
    pub to: NodeId,
    pub requests: u64,
    pub request_bytes: u64,
    pub responses: u64,
    pub response_bytes: u64,
}

/// One direction of a link with a bandwidth.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PipeState {
    /// When the message last sent has left, ns.
    free_at_ns: u64,
    pub messages: u64,
    pub bytes: u64,
    /// Transmission time of the messages sent, ns.
    pub busy_ns: u64,
    /// Time messages waited for the ones before them, ns.
    pub wait_ns: u64,
    pub max_wait_ns: u64,
}

/// The network's counters for a run (empty when the topology gives no sizes).
#[derive(Debug, Default)]
pub(crate) struct Traffic {
    /// Index in `links` of each caller–callee pair that carried a message.
    link_index: KeyMap<u32>,
    pub links: Vec<LinkTraffic>,
    pub pipes: Vec<PipeState>,
    /// Bytes from region a to region b, at `a * regions + b`.
    pub region_bytes: Vec<u64>,
    /// Bytes between two zones of one region.
    pub inter_zone_bytes: u64,
    /// Bytes from the clients, and answered to them.
    pub internet_ingress_bytes: u64,
    pub internet_egress_bytes: u64,
    /// Per node with sizes of its own: the stream its messages' sizes are drawn from.
    node_streams: Vec<RandomStream>,
}

impl Traffic {
    pub fn new(topology: &Topology, seed: u64) -> Self {
        if !topology.network.enabled {
            return Self::default();
        }
        let regions = topology.regions.names.len();
        let node_streams = match topology.network.node_sizes.is_empty() {
            true => Vec::new(),
            false => topology.nodes.iter().map(|node| RandomStream::derive(seed, &node.name, Purpose::Sizes)).collect(),
        };
        Self {
            pipes: vec![PipeState::default(); topology.network.pipes.len()],
            region_bytes: vec![0; regions * regions],
            node_streams,
            ..Self::default()
        }
    }

    /// The size of a message to `callee` (or of its answer) whose class gives
    /// `class_bytes`: the callee's own size when the file gives it one.
    #[inline]
    pub fn message_bytes(&mut self, topology: &Topology, callee: NodeId, answer: bool, class_bytes: u64) -> u64 {
        match topology.network.node_size_sampler(callee, answer) {
            NONE => class_bytes,
            sampler => topology.samplers[sampler as usize].sample_ns(&mut self.node_streams[callee.index()]),
        }
    }

    /// The warm-up is over: counting starts again (a pipe keeps what it is sending).
    pub fn reset(&mut self) {
        for link in &mut self.links {
            *link = LinkTraffic { from: link.from, to: link.to, ..LinkTraffic::default() };
        }
        for pipe in &mut self.pipes {
            *pipe = PipeState { free_at_ns: pipe.free_at_ns, ..PipeState::default() };
        }
        self.region_bytes.fill(0);
        self.inter_zone_bytes = 0;
        self.internet_ingress_bytes = 0;
        self.internet_egress_bytes = 0;
    }

    /// A message of `bytes` from `sender` to `receiver` (either `NONE` for the clients) at
    /// `now_ns`, on the link from `caller` to `callee` (`answer`: it is the callee's
    /// answer). Returns the time it waits for the link and takes to send, ns.
    pub fn carry(
        &mut self,
        topology: &Topology,
        caller: NodeId,
        callee: NodeId,
        answer: bool,
        bytes: u64,
        now_ns: u64,
    ) -> u64 {
        let key = (u64::from(caller.raw()) << 32) | u64::from(callee.raw());
        let next = self.links.len() as u32;
        let index = *self.link_index.entry(key).or_insert(next) as usize;
        if index == self.links.len() {
            self.links.push(LinkTraffic { from: caller, to: callee, ..LinkTraffic::default() });
        }
        let link = &mut self.links[index];
        let (sender, receiver) = if answer { (callee, caller) } else { (caller, callee) };
        if answer {
            link.responses += 1;
            link.response_bytes += bytes;
        } else {
            link.requests += 1;
            link.request_bytes += bytes;
        }
        if bytes == 0 {
            return 0;
        }
        let nodes = &topology.nodes;
        if sender.is_none() {
            self.internet_ingress_bytes += bytes;
        } else if receiver.is_none() {
            self.internet_egress_bytes += bytes;
        } else {
            let (a, b) = (nodes[sender].region, nodes[receiver].region);
            if a != NONE && b != NONE {
                let regions = &topology.regions;
                if a != b {
                    self.region_bytes[a as usize * regions.names.len() + b as usize] += bytes;
                } else {
                    let zone = |node: NodeId| regions.node_zones.get(node.index()).copied().unwrap_or(NONE);
                    let (za, zb) = (zone(sender), zone(receiver));
                    if za != zb && za != NONE && zb != NONE {
                        self.inter_zone_bytes += bytes;
                    }
                }
            }
        }
        let pipe = topology.network.pipe(sender, receiver, nodes.len());
        if pipe == NONE {
            return 0;
        }
        let ns_per_byte = topology.network.pipes[pipe as usize].ns_per_byte;
        let state = &mut self.pipes[pipe as usize];
        let transmit_ns = (bytes as f64 * ns_per_byte).round() as u64;
        let start_ns = state.free_at_ns.max(now_ns);
        let wait_ns = start_ns - now_ns;
        state.free_at_ns = start_ns + transmit_ns;
        state.messages += 1;
        state.bytes += bytes;
        state.busy_ns += transmit_ns;
        state.wait_ns += wait_ns;
        state.max_wait_ns = state.max_wait_ns.max(wait_ns);
        wait_ns + transmit_ns
    }
}
