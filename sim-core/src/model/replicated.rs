//! Leaderless replication behind a shard router (Dynamo, Cassandra): each key lives on the
//! first n shards of its preference list; the router, as coordinator, sends a read or write
//! to all n and answers after `read` (`write`) of them succeed, so its latency is an order
//! statistic of the replicas'. Versions are kept as the coordinator hears them: a replica
//! holds a write once it acknowledged it, and a read returns the newest version among the
//! answers it waited for, stale when older than the last write acknowledged before it
//! began. A refused write goes to the next shard on the ring with a hint (hinted handoff),
//! replayed to the replica as soon as it answers again.

use super::kernel::Kernel;
use super::keymap::KeyMap;
use super::requests::Outcome;
use crate::ids::{FrameId, NodeId};
use crate::report::QuorumReport;
use crate::rng::splitmix64;
use crate::topology::{Algorithm, LoadBalancerConfig, QuorumReplication};

/// Most shards one operation asks: its n replicas and as many substitutes.
pub(crate) const MAX_ASKED: usize = 2 * crate::topology::MAX_REPLICATION;

/// One read or write a coordinating frame runs.
#[derive(Debug, Clone)]
struct Operation {
    key: u64,
    write: bool,
    /// A write's version; a read's newest version heard so far.
    version: u64,
    /// A read: the key's last acknowledged version when it began.
    acknowledged_at_start: u64,
    /// Successes still needed, and failures that may still come.
    needed: u32,
    spare: u32,
    /// Its preference list (replicas, then substitutes), as target indices.
    order: [u32; MAX_ASKED],
    order_len: u8,
    /// Shards asked so far: the first `asked` of `order` (a refused one's substitute comes
    /// after the replicas).
    asked: u8,
    /// Per asked shard: it answered.
    answered: u32,
    /// Answers still owed.
    pending: u32,
    /// Answered to its caller.
    decided: bool,
    /// Its arrival was measured.
    measured: bool,
    first_failure: Option<(Outcome, NodeId)>,
}

/// Counters of a replicated store (after the warm-up).
#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    reads: u64,
    writes: u64,
    stale_reads: u64,
    failed: u64,
    hinted_writes: u64,
    hints_delivered: u64,
}

/// A shard router's leaderless replication.
#[derive(Debug)]
pub(crate) struct ReplicatedState<'t> {
    config: &'t QuorumReplication,
    /// Per target: the version of each key it holds.
    versions: Vec<KeyMap<u64>>,
    /// Per target: writes it refused that another shard keeps for it (key → version).
    hints: Vec<KeyMap<u64>>,
    /// Per key: the last version handed out, and the last acknowledged to a client.
    issued: KeyMap<u64>,
    acknowledged: KeyMap<u64>,
    /// The operation of each coordinating frame, by frame slot.
    operations: KeyMap<Operation>,
    counters: Counters,
}

impl<'t> ReplicatedState<'t> {
    pub fn new(config: &'t QuorumReplication, targets: usize) -> Self {
        Self {
            config,
            versions: (0..targets).map(|_| KeyMap::default()).collect(),
            hints: (0..targets).map(|_| KeyMap::default()).collect(),
            issued: KeyMap::default(),
            acknowledged: KeyMap::default(),
            operations: KeyMap::default(),
            counters: Counters::default(),
        }
    }

    /// `frame` (a request with `key`) starts its read or write: the shards to ask, in
    /// preference order, go to `ask`.
    pub fn start(
        &mut self,
        kernel: &mut Kernel,
        balancer: &LoadBalancerConfig,
        rotation: &[u32],
        frame: FrameId,
        ask: &mut Vec<u32>,
    ) {
        let request = &kernel.requests[kernel.frames[frame].request];
        let (key, class) = (request.key, request.class as usize);
        let write = self.config.write_classes.get(class).copied().unwrap_or(false);
        let mut order = [0u32; MAX_ASKED];
        let order_len = preference_list(balancer, rotation, key, &mut order);
        let version = if write {
            let issued = self.issued.entry(key).or_insert(0);
            *issued += 1;
            *issued
        } else {
            0
        };
        let n = self.config.n.min(order_len as u32);
        let needed = if write { self.config.write } else { self.config.read }.min(n);
        let operation = Operation {
            key,
            write,
            version,
            acknowledged_at_start: self.acknowledged.get(&key).copied().unwrap_or(0),
            needed,
            spare: n - needed,
            order,
            order_len: order_len as u8,
            asked: n as u8,
            answered: 0,
            pending: n,
            decided: false,
            measured: kernel.is_measured(kernel.frames[frame].arrived_ns),
            first_failure: None,
        };
        ask.clear();
        ask.extend_from_slice(&operation.order[..n as usize]);
        self.operations.insert(frame.raw() as u64, operation);
    }

    /// One of `frame`'s shards answered: which one (by `cause`, else the first still owed),
    /// and what the coordinator does next.
    pub fn answer(
        &mut self,
        balancer: &LoadBalancerConfig,
        frame: FrameId,
        (outcome, cause): (Outcome, NodeId),
        kernel_measuring: bool,
    ) -> (u32, Answer) {
        let Some(operation) = self.operations.get_mut(&(frame.raw() as u64)) else { return (0, Answer::Unknown) };
        operation.pending -= 1;
        let asked = operation.asked as usize;
        let owed = |index: usize| operation.answered & (1 << index) == 0;
        let index = (0..asked)
            .find(|&i| owed(i) && balancer.targets[operation.order[i] as usize].0 == cause)
            .or_else(|| (0..asked).find(|&i| owed(i)))
            .unwrap_or(0);
        operation.answered |= 1 << index;
        let target = operation.order[index] as usize;
        let key = operation.key;
        let answered_by = target as u32;
        let mut next = Answer::Wait;
        if outcome == Outcome::Completed {
            // A replica that answers is up: the hints other shards kept for it are replayed
            // to it first.
            if !self.hints[target].is_empty() {
                let (hints, versions) = (&mut self.hints[target], &mut self.versions[target]);
                for (hinted_key, hinted) in hints.drain(..) {
                    let held = versions.entry(hinted_key).or_insert(0);
                    *held = (*held).max(hinted);
                    self.counters.hints_delivered += kernel_measuring as u64;
                }
            }
            let held = self.versions[target].entry(key).or_insert(0);
            if operation.write {
                *held = (*held).max(operation.version);
            } else {
                operation.version = operation.version.max(*held);
            }
            if !operation.decided {
                operation.needed -= 1;
                if operation.needed == 0 {
                    next = Answer::decided(Outcome::Completed, NodeId::NONE);
                }
            }
        } else {
            operation.first_failure.get_or_insert((outcome, cause));
            let substitute = operation.write
                && self.config.hinted_handoff
                && index < self.config.n as usize
                && (operation.asked as usize) < operation.order_len as usize;
            if substitute {
                // The next shard on the ring keeps the write, and a hint for the replica.
                let substitute_index = operation.asked as usize;
                operation.asked += 1;
                operation.pending += 1;
                let hint = self.hints[target].entry(key).or_insert(0);
                *hint = (*hint).max(operation.version);
                self.counters.hinted_writes += operation.measured as u64;
                next = Answer::Ask(operation.order[substitute_index]);
            } else if !operation.decided {
                if operation.spare > 0 {
                    operation.spare -= 1;
                } else {
                    let (outcome, cause) = operation.first_failure.unwrap_or((outcome, cause));
                    next = Answer::decided(outcome, cause);
                }
            }
        }
        if let Answer::Decided { outcome, cause, .. } = next {
            operation.decided = true;
            let stale = !operation.write && operation.version < operation.acknowledged_at_start;
            next = Answer::Decided { outcome, cause, wrote: operation.write, stale };
            let counters = &mut self.counters;
            if operation.measured {
                if operation.write {
                    counters.writes += 1;
                } else {
                    counters.reads += 1;
                }
                counters.failed += (outcome != Outcome::Completed) as u64;
            }
            if outcome == Outcome::Completed {
                if operation.write {
                    let acknowledged = self.acknowledged.entry(key).or_insert(0);
                    *acknowledged = (*acknowledged).max(operation.version);
                } else if stale && operation.measured {
                    counters.stale_reads += 1;
                }
            }
        }
        (answered_by, next)
    }

    /// Whether `frame` has been answered and no shard owes it anything: its operation is
    /// over (and forgotten).
    pub fn finished(&mut self, frame: FrameId) -> bool {
        let Some(index) = self.operations.get_index_of(&(frame.raw() as u64)) else { return false };
        let over = self.operations[index].decided && self.operations[index].pending == 0;
        if over {
            self.operations.swap_remove_index(index);
        }
        over
    }

    pub fn reset(&mut self) {
        self.counters = Counters::default();
    }

    pub fn report(&self) -> QuorumReport {
        let c = &self.counters;
        QuorumReport {
            n: self.config.n,
            read_quorum: self.config.read,
            write_quorum: self.config.write,
            reads: c.reads,
            writes: c.writes,
            stale_reads: c.stale_reads,
            stale_read_ratio: (c.reads > 0).then(|| c.stale_reads as f64 / c.reads as f64),
            failed: c.failed,
            hinted_writes: c.hinted_writes,
            hints_delivered: c.hints_delivered,
        }
    }
}

/// What the coordinator does after an answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Answer {
    /// Nothing yet.
    Wait,
    /// Ask this target too (a substitute keeping a hint).
    Ask(u32),
    /// The operation is decided: answer the caller; whether it wrote, and whether a read
    /// returned an older version than the last write acknowledged before it began.
    Decided { outcome: Outcome, cause: NodeId, wrote: bool, stale: bool },
    /// Not an operation of this store (broken bookkeeping).
    Unknown,
}

impl Answer {
    /// A decision, before the operation's own figures are added.
    fn decided(outcome: Outcome, cause: NodeId) -> Self {
        Answer::Decided { outcome, cause, wrote: false, stale: false }
    }
}

/// The key's preference list into `order`: every shard once, from the key's place on the
/// ring (consistent hashing) or from hash % shards on; returns its length.
pub(crate) fn preference_list(
    balancer: &LoadBalancerConfig,
    rotation: &[u32],
    key: u64,
    order: &mut [u32; MAX_ASKED],
) -> usize {
    let limit = MAX_ASKED.min(rotation.len());
    let mut len = 0;
    // Adds a shard not yet listed; true once the list is full.
    let mut push = |target: u32, order: &mut [u32; MAX_ASKED]| {
        if !order[..len].contains(&target) {
            order[len] = target;
            len += 1;
        }
        len == limit
    };
    match balancer.algorithm {
        Algorithm::ConsistentHash { .. } => {
            let ring = &balancer.ring;
            let start = ring.partition_point(|(p, _)| *p < super::resharding::ring_point(key));
            for offset in 0..ring.len() {
                if push(ring[(start + offset) % ring.len()].1, order) {
                    break;
                }
            }
        }
        _ => {
            let start = (splitmix64(key) % rotation.len() as u64) as usize;
            for offset in 0..rotation.len() {
                if push(rotation[(start + offset) % rotation.len()], order) {
                    break;
                }
            }
        }
    }
    len
}
