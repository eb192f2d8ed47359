//! The checked network: each class's message sizes, the links and region pairs with a
//! bandwidth (pipes), and the egress prices.

use super::NONE;
use crate::ids::NodeId;

/// What the network carries and charges. Without `sizes` in the file it is off: no bytes
/// are counted and no message waits for a link.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// Sizes were given: messages carry bytes, and the report has a network section.
    pub enabled: bool,
    /// Per class id: the samplers of the request's and of the answer's size (bytes drawn as
    /// nanoseconds), `NONE` for 0 bytes.
    pub class_sizes: Vec<(u32, u32)>,
    /// Per node id: the samplers of the size of a request sent to it and of its answer,
    /// `NONE` to keep the class's; empty when no node has sizes of its own.
    pub node_sizes: Vec<(u32, u32)>,
    /// The links and region pairs with a bandwidth, one pipe per direction.
    pub pipes: Vec<Pipe>,
    /// Per ordered node pair (`from * nodes + to`): the pipe its messages go through, or
    /// `NONE`. Empty when there are no pipes.
    pub pair_pipes: Vec<u32>,
    /// Egress prices per GB (10⁹ bytes).
    pub egress: EgressPrices,
}

/// One direction of a link (or of the network between two regions) with a bandwidth.
#[derive(Debug, Clone)]
pub struct Pipe {
    /// What it joins, as the report names it: `"app → db"`, `"us → eu"`.
    pub name: String,
    /// Capacity in bits per second.
    pub bit_per_s: f64,
    /// Nanoseconds to send one byte.
    pub ns_per_byte: f64,
}

/// Prices per GB of bytes that leave a region.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct EgressPrices {
    /// Answers to the clients.
    pub internet_per_gb: f64,
    /// Between nodes in two regions.
    pub inter_region_per_gb: f64,
    /// Between two zones of one region.
    pub inter_zone_per_gb: f64,
}

impl Network {
    /// The sampler of the size of a message to `callee` (`answer`: of its answer) when the
    /// file gives that node sizes of its own; `NONE` where the class's size holds.
    #[inline]
    pub fn node_size_sampler(&self, callee: NodeId, answer: bool) -> u32 {
        if self.node_sizes.is_empty() || callee.is_none() {
            return NONE;
        }
        let (request, response) = self.node_sizes[callee.index()];
        if answer {
            response
        } else {
            request
        }
    }

    /// The samplers of the sizes of a request of `class` to `callee` and of its answer:
    /// the node's own where it has them, else the class's (`NONE` for no bytes).
    pub fn size_samplers(&self, class: usize, callee: NodeId) -> (u32, u32) {
        let (request, answer) = self.class_sizes.get(class).copied().unwrap_or((NONE, NONE));
        let or_class = |own: u32, of_class: u32| if own == NONE { of_class } else { own };
        (
            or_class(self.node_size_sampler(callee, false), request),
            or_class(self.node_size_sampler(callee, true), answer),
        )
    }

    /// The pipe that messages from `from` to `to` go through, or `NONE`.
    #[inline]
    pub fn pipe(&self, from: NodeId, to: NodeId, nodes: usize) -> u32 {
        if self.pair_pipes.is_empty() || from.is_none() || to.is_none() {
            return NONE;
        }
        self.pair_pipes[from.index() * nodes + to.index()]
    }
}
