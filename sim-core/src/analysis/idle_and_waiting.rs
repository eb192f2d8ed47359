//! Many instances fed by one least-connections balancer: the Markov chain of the idle
//! workers and the waiting requests, for Poisson arrivals and exponential holding times.
//!
//! Past the few instances whose sorted counts `shortest_queue.rs` solves exactly, one pool of
//! all the workers is a lower bound far below the runs (32 single-worker instances at 0.9
//! wait 2.82 holding times in a hundred, one pool 1.43): a request that waits stays at its
//! instance, where only that instance's workers can take it, while a worker may fall idle at
//! another. This chain follows just that. Its state is the idle workers I and the waiting
//! requests Q. An arrival takes an idle worker when there is one (the least held instance
//! has one whenever any does), else waits. The waiting requests are taken as spread one an
//! instance over the instances with every worker busy, as least connections spreads them
//! (F = N − min(I, N) such instances, holes one an instance), so D = min(Q, F) instances
//! have a line: an answer at one of them takes the next request from it, any other frees a
//! worker. Checked against runs (10 replications, 99% intervals), it is a few percent low
//! (it leaves out how unevenly the lines stand): 12 single-worker instances at 0.9 wait
//! 0.742 holding times against 0.771 ± 0.012, 32 at 0.9 0.285 against 0.288 ± 0.005, 16 of
//! 2 workers at 0.95 0.519 against 0.541 ± 0.018; and with 2 places an instance, 12 at 0.9
//! offered refuse 0.73% against 0.77 ± 0.03%.
//!
//! Levels are Q, phases I: a level is entered from below only at I = 0 (the arrival that
//! finds every worker busy), which `single_entry_qbd.rs` solves in time linear in the
//! phases a level.

use std::collections::BTreeMap;

use super::loss::{Refusals, Room};
use super::single_entry_qbd::{self, Moves, SingleEntry};

/// The most phases (idle workers, from none to all: instances × workers + 1).
const MOST_PHASES: usize = 1 << 16;

/// The mean wait at one of `instances` instances of `workers` workers fed `rate_per_s` for
/// them all by least connections, with exponential holding times of mean `holding_s`;
/// `None` at or past saturation, past `MOST_PHASES` or `single_entry_qbd::MOST_WORK`, or
/// where the chain's figures do not come out finite (a load so light that every worker
/// busy is too rare for a double: no request waits).
pub(super) fn wait_s(instances: u32, workers: u32, rate_per_s: f64, holding_s: f64) -> Option<f64> {
    let offered = rate_per_s * holding_s;
    let usable = instances >= 1 && workers >= 1 && holding_s > 0.0 && holding_s.is_finite();
    if !(usable && offered > 0.0 && offered < f64::from(instances) * f64::from(workers)) {
        return None;
    }
    Chain::new(instances, workers, rate_per_s, holding_s, None)?.solve().map(|refusals| refusals.wait_s)
}

/// The share refused and the wait of the arrivals taken at one of `instances` instances,
/// each of `room`, fed `rate_per_s` for them all by least connections (which refuses a
/// request when every instance is full: every worker busy and N × places waiting), with
/// exponential holding times of mean `holding_s`. The chain is finite, so it holds at any
/// load. `None` past `MOST_PHASES` or `single_entry_qbd::MOST_WORK`, or where its figures
/// do not come out finite.
pub(super) fn room_refusals(instances: u32, room: Room, rate_per_s: f64, holding_s: f64) -> Option<Refusals> {
    let usable = instances >= 1 && room.servers >= 1 && holding_s > 0.0 && holding_s.is_finite();
    if !(usable && rate_per_s > 0.0 && rate_per_s.is_finite()) {
        return None;
    }
    let top = usize::try_from(room.places.checked_mul(u64::from(instances))?).ok()?;
    Chain::new(instances, room.servers, rate_per_s, holding_s, Some(top))?.solve()
}

/// The chain's sizes and rates.
struct Chain {
    instances: usize,
    workers: usize,
    rate_per_s: f64,
    service_per_s: f64,
    /// The most requests that may wait, where instances have a room.
    top: Option<usize>,
}

impl Chain {
    fn new(instances: u32, workers: u32, rate_per_s: f64, holding_s: f64, top: Option<usize>) -> Option<Self> {
        let (instances, workers) = (instances as usize, workers as usize);
        let phases = instances.checked_mul(workers)?.checked_add(1)?;
        (phases <= MOST_PHASES).then_some(Self { instances, workers, rate_per_s, service_per_s: 1.0 / holding_s, top })
    }

    /// The instances with a line when `idle` workers are idle and `waiting` requests wait:
    /// as many as wait, up to those with every worker busy (idle workers one an instance).
    fn lines(&self, idle: usize, waiting: usize) -> usize {
        waiting.min(self.instances - idle.min(self.instances))
    }

    /// The mean wait of the arrivals taken, and the share refused.
    fn solve(&self) -> Option<Refusals> {
        let solved = single_entry_qbd::solve(self)?;
        // The top level's first phase: every worker busy and the lines full.
        let refused = solved.top_exit;
        let taken = self.rate_per_s * (1.0 - refused);
        let wait_s = if taken > 0.0 { solved.mean_excess(0) / taken } else { 0.0 };
        (wait_s.is_finite() && refused.is_finite()).then_some(Refusals { refused, wait_s })
    }
}

impl SingleEntry for Chain {
    fn phases(&self) -> usize {
        self.instances * self.workers + 1
    }

    /// Every worker busy.
    fn exit(&self) -> usize {
        0
    }

    fn up_rate(&self) -> f64 {
        self.rate_per_s
    }

    fn entry(&self) -> &[(usize, f64)] {
        &[(0, 1.0)]
    }

    /// At `waiting` requests waiting and `idle` workers idle: an arrival takes an idle
    /// worker (the phase below), an answer at an instance with a line takes the next
    /// request from it (the level below), any other frees its worker (the phase above).
    fn moves(&self, waiting: usize, idle: usize) -> Moves {
        let lined = self.lines(idle, waiting) * self.workers;
        let busy = self.instances * self.workers - idle;
        Moves {
            to_lower_phase: if idle > 0 { self.rate_per_s } else { 0.0 },
            to_higher_phase: (busy - lined) as f64 * self.service_per_s,
            down: lined as f64 * self.service_per_s,
        }
    }

    /// Every instance with every worker busy has a line from N waiting up.
    fn repeating(&self) -> usize {
        self.instances
    }

    fn top(&self) -> Option<usize> {
        self.top
    }
}

/// Solved chains by their inputs: instances, workers, places (`u64::MAX` unbounded), and
/// the bits of the rate and the holding time.
type SolvedKey = (u32, u32, u64, u64, u64);

/// Chains solved once per input, for the fixed points and searches that ask again at the
/// same load (kept per thread).
#[derive(Debug, Default)]
pub(super) struct Solved {
    answers: std::cell::RefCell<BTreeMap<SolvedKey, Option<Refusals>>>,
}

impl Solved {
    /// `wait_s`, solved once per input.
    pub fn wait_s(&self, instances: u32, workers: u32, rate_per_s: f64, holding_s: f64) -> Option<f64> {
        let key = (instances, workers, u64::MAX, rate_per_s.to_bits(), holding_s.to_bits());
        let solve =
            || wait_s(instances, workers, rate_per_s, holding_s).map(|wait_s| Refusals { refused: 0.0, wait_s });
        super::shortest_queue::once(&self.answers, key, solve).map(|refusals| refusals.wait_s)
    }

    /// `room_refusals`, solved once per input.
    pub fn room_refusals(&self, instances: u32, room: Room, rate_per_s: f64, holding_s: f64) -> Option<Refusals> {
        let key = (instances, room.servers, room.places.min(u64::MAX - 1), rate_per_s.to_bits(), holding_s.to_bits());
        super::shortest_queue::once(&self.answers, key, || room_refusals(instances, room, rate_per_s, holding_s))
    }
}

thread_local! {
    /// This thread's solved chains.
    pub(super) static SOLVED: Solved = Solved::default();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Erlang's C formula's wait for one pool of `servers`.
    fn pool_wait_s(servers: u32, rate_per_s: f64, holding_s: f64) -> f64 {
        let offered = rate_per_s * holding_s;
        let (mut term, mut sum) = (1.0, 1.0);
        for k in 1..servers {
            term *= offered / f64::from(k);
            sum += term;
        }
        let last = term * offered / f64::from(servers) / (1.0 - offered / f64::from(servers));
        let waits = last / (sum + last);
        waits * holding_s / (f64::from(servers) - offered)
    }

    #[test]
    fn one_instance_is_mmc() {
        // One instance has one line: the chain is M/M/c's exactly.
        for (workers, load) in [(1, 0.5), (1, 0.9), (4, 0.8), (8, 0.95)] {
            let rate = load * f64::from(workers);
            let wait = wait_s(1, workers, rate, 1.0).unwrap();
            let pool = pool_wait_s(workers, rate, 1.0);
            assert!((wait / pool - 1.0).abs() < 1e-9, "{workers} workers at {load}: {wait} against {pool}");
        }
    }

    #[test]
    fn many_instances_wait_between_one_pool_and_separate_queues() {
        // 32 single-worker instances at 0.9: one pool 0.143 holding times, a random split's
        // M/M/1 9.0; the runs 0.282 ± 0.014.
        let (instances, rate) = (32, 0.9 * 32.0);
        let wait = wait_s(instances, 1, rate, 1.0).unwrap();
        assert!(wait > pool_wait_s(instances, rate, 1.0) && wait < 9.0, "{wait}");
        assert!((wait - 0.2845).abs() < 1e-3, "{wait}");
    }

    #[test]
    fn no_places_refuse_as_erlang_b() {
        // Without places an arrival is refused only when every worker is busy: Erlang B over
        // all the workers, which least connections makes exact.
        let (instances, workers, offered) = (6u32, 2u32, 10.0);
        let refusals = room_refusals(instances, Room { servers: workers, places: 0 }, offered, 1.0).unwrap();
        let servers = instances * workers;
        let mut erlang_b = 1.0;
        for k in 1..=servers {
            erlang_b = offered * erlang_b / (f64::from(k) + offered * erlang_b);
        }
        assert!((refusals.refused - erlang_b).abs() < 1e-12, "{} against {erlang_b}", refusals.refused);
        assert_eq!(refusals.wait_s, 0.0);
    }

    #[test]
    fn a_deep_room_is_the_unbounded_chain() {
        let (instances, rate) = (12, 0.8 * 12.0);
        let unbounded = wait_s(instances, 1, rate, 1.0).unwrap();
        let room = room_refusals(instances, Room { servers: 1, places: 200 }, rate, 1.0).unwrap();
        assert!(room.refused < 1e-12, "{}", room.refused);
        assert!((room.wait_s / unbounded - 1.0).abs() < 1e-9, "{} against {unbounded}", room.wait_s);
    }

    #[test]
    fn saturation_and_size_give_none() {
        assert!(wait_s(10, 1, 10.0, 1.0).is_none());
        assert!(wait_s(100_000, 1, 1.0, 1.0).is_none());
        // A room holds at any load.
        let over = room_refusals(12, Room { servers: 1, places: 3 }, 1.1 * 12.0, 1.0).unwrap();
        assert!(over.refused > 0.09 && over.refused < 0.1, "{}", over.refused);
    }
}
