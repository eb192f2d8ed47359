//! The services deadlocked at the end of a run: every worker is held by a request that
//! waits, through its calls, on a visit queued at a service that cannot take it, itself or
//! another one so held. Nothing they hold finishes until a timeout gives up on a call (and
//! without one, never). It arises where a service's calls come back to it
//! (`Topology::self_waits`).

use super::node::Node;
use super::Simulation;
use crate::ids::{FrameId, NodeId};

/// Rounds of the fixed point before giving up on an answer (none is then given). A round
/// frees the callers of the visits the last one freed, so the rounds a run takes are about
/// the depth of its requests' chains of calls; each is a pass over every visit.
const MOST_ROUNDS: usize = 64;

/// A service deadlocked at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Deadlock {
    pub node: NodeId,
    /// Its instances deadlocked, and the workers they hold.
    pub instances: u32,
    pub held_workers: u32,
    /// Its instances in all.
    pub of_instances: u32,
}

impl Deadlock {
    /// `its 16 workers`, or `the 8 workers of 1 of its 2 instances`.
    pub fn workers_text(&self) -> String {
        if self.instances >= self.of_instances {
            format!("its {} workers", self.held_workers)
        } else {
            format!("the {} workers of {} of its {} instances", self.held_workers, self.instances, self.of_instances)
        }
    }
}

impl Simulation<'_> {
    /// The services with instances whose workers were all held by deadlocked requests at
    /// the end, in node order.
    ///
    /// The greatest set of stuck visits: a visit waiting on calls is stuck when one of its
    /// calls' visits is; a visit queued at a service's instance (a FIFO or priority queue,
    /// every worker busy) when every visit holding one of that instance's workers is. Taken
    /// from everything waiting or queued, and shrunk until it holds.
    pub(crate) fn deadlocked_services(&self) -> Vec<Deadlock> {
        let frames = &self.kernel.frames;
        let slots = frames.slots() as usize;
        // The full instances: (node, instance) and the visits queued there.
        let mut queues: Vec<(usize, usize, Vec<FrameId>)> = Vec::new();
        for (node, model) in self.nodes.iter().enumerate() {
            let Node::Service(service) = model else { continue };
            if !service.config.discipline.holds_workers() {
                continue;
            }
            for (index, instance) in service.instances.iter().enumerate() {
                if instance.occupied >= service.config.workers && !instance.queue.is_empty() {
                    queues.push((node, index, instance.queue.iter().collect()));
                }
            }
        }
        if queues.is_empty() {
            return Vec::new();
        }
        // The caller of each live visit, when it is alive and of the same request (a caller
        // that gave up may be gone, its slot reused).
        let caller: Vec<Option<usize>> = (0..slots)
            .map(|frame| {
                let record = &frames[FrameId::new(frame as u32)];
                let parent = record.parent;
                (record.live && !parent.is_none() && frames[parent].live && frames[parent].request == record.request)
                    .then(|| parent.index())
            })
            .collect();
        // The visits waiting on calls: the stuck ones among them are shrunk each round.
        let waiting: Vec<bool> = (0..slots)
            .map(|frame| {
                let record = &frames[FrameId::new(frame as u32)];
                record.live && record.pending > 0 && !record.killed
            })
            .collect();
        let mut stuck = waiting.clone();
        for (_, _, queued) in &queues {
            for frame in queued {
                stuck[frame.index()] = true;
            }
        }
        // The visits holding each full instance's workers, found through each node's
        // instances' places in `queues`.
        let mut queue_at: Vec<Vec<Option<usize>>> = vec![Vec::new(); self.nodes.len()];
        for (queue, &(node, instance, _)) in queues.iter().enumerate() {
            let places = &mut queue_at[node];
            if places.len() <= instance {
                places.resize(instance + 1, None);
            }
            places[instance] = Some(queue);
        }
        let mut holders: Vec<Vec<usize>> = vec![Vec::new(); queues.len()];
        for frame in 0..slots {
            let record = &frames[FrameId::new(frame as u32)];
            if !(record.live && record.admitted && !record.killed) || record.node.is_none() {
                continue;
            }
            let place = queue_at[record.node].get(record.instance.index()).copied().flatten();
            if let Some(queue) = place {
                holders[queue].push(frame);
            }
        }
        let mut waits_on_stuck = vec![false; slots];
        for _ in 0..MOST_ROUNDS {
            let mut changed = false;
            waits_on_stuck.iter_mut().for_each(|flag| *flag = false);
            for frame in 0..slots {
                if let (true, Some(parent)) = (stuck[frame], caller[frame]) {
                    waits_on_stuck[parent] = true;
                }
            }
            for frame in 0..slots {
                if stuck[frame] && waiting[frame] && !waits_on_stuck[frame] {
                    stuck[frame] = false;
                    changed = true;
                }
            }
            for ((_, _, queued), held) in queues.iter().zip(&holders) {
                let queue_stuck = queued.iter().any(|frame| stuck[frame.index()]);
                if queue_stuck && !held.iter().all(|&frame| stuck[frame]) {
                    queued.iter().for_each(|frame| stuck[frame.index()] = false);
                    changed = true;
                }
            }
            if changed {
                continue;
            }
            let mut deadlocks: Vec<Deadlock> = Vec::new();
            for ((node, _, queued), held) in queues.iter().zip(&holders) {
                if !queued.iter().any(|frame| stuck[frame.index()]) {
                    continue;
                }
                let node = NodeId::new(*node as u32);
                if deadlocks.last().is_none_or(|last| last.node != node) {
                    let Node::Service(service) = &self.nodes[node] else { continue };
                    let of_instances = service.instances.iter().filter(|instance| instance.in_rotation).count();
                    deadlocks.push(Deadlock { node, instances: 0, held_workers: 0, of_instances: of_instances as u32 });
                }
                if let Some(last) = deadlocks.last_mut() {
                    last.instances += 1;
                    last.held_workers += held.len() as u32;
                }
            }
            return deadlocks;
        }
        Vec::new()
    }
}
