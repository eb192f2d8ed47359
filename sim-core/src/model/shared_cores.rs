//! Egalitarian processor sharing over `cores` servers: each of n jobs in service progresses
//! at min(1, cores / n) of a core. Kept in virtual time (the work each job has received),
//! so a job's end is a fixed tag and only the first end is ever scheduled. A
//! processor-sharing service instance shares its workers this way, and a host machine its
//! cores among the Work steps of every service placed on it.

use crate::ids::FrameId;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// A job: its finish tag in virtual time, and its frame.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Job {
    finish_tag: f64,
    frame: FrameId,
}

impl Eq for Job {}

impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Job {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.finish_tag.total_cmp(&other.finish_tag).then(self.frame.cmp(&other.frame))
    }
}

/// Jobs sharing some cores.
#[derive(Debug, Default)]
pub(crate) struct SharedCores {
    /// Jobs in service, by finish tag.
    jobs: BinaryHeap<Reverse<Job>>,
    /// Virtual time: the work each job in service has received since the start, in ns.
    virtual_ns: f64,
    last_ns: u64,
    /// Bumped whenever the scheduled end is superseded: an end event carrying an older
    /// epoch is stale.
    pub epoch: u32,
}

/// Share of a core each of `jobs` jobs receives with `cores` cores.
#[inline]
pub(crate) fn share(jobs: usize, cores: u32) -> f64 {
    if jobs <= cores as usize {
        1.0
    } else {
        cores as f64 / jobs as f64
    }
}

impl SharedCores {
    /// Jobs in service.
    #[inline]
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Cores busy: the jobs, at most `cores`.
    #[inline]
    pub fn busy(&self, cores: u32) -> usize {
        self.jobs.len().min(cores as usize)
    }

    /// Moves virtual time to `now`; it stands still while `stopped` (a paused instance).
    #[inline]
    pub fn advance(&mut self, now: u64, cores: u32, stopped: bool) {
        if !self.jobs.is_empty() && !stopped {
            self.virtual_ns += (now - self.last_ns) as f64 * share(self.jobs.len(), cores);
        }
        self.last_ns = now;
    }

    /// Virtual time goes on from `now` (after a pause), without advancing.
    pub fn restart_at(&mut self, now: u64) {
        self.last_ns = now;
    }

    /// A job of `work_ns` starts (virtual time must be at now).
    #[inline]
    pub fn push(&mut self, frame: FrameId, work_ns: u64) {
        self.jobs.push(Reverse(Job { finish_tag: self.virtual_ns + work_ns as f64, frame }));
    }

    /// Supersedes the scheduled end; returns the delay to the first job's end from the
    /// last `advance` and the new epoch to schedule it with, or `None` with no job.
    #[inline]
    pub fn next_end(&mut self, cores: u32) -> Option<(u64, u32)> {
        self.epoch = self.epoch.wrapping_add(1);
        let Reverse(first) = self.jobs.peek()?;
        let rate = share(self.jobs.len(), cores);
        let remaining_ns = ((first.finish_tag - self.virtual_ns).max(0.0) / rate).ceil();
        Some((remaining_ns as u64, self.epoch))
    }

    /// Supersedes the scheduled end without scheduling another (a pause).
    pub fn stop(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// The first job ends (its end event came): its frame.
    #[inline]
    pub fn pop_first(&mut self) -> Option<FrameId> {
        let Reverse(job) = self.jobs.pop()?;
        self.virtual_ns = self.virtual_ns.max(job.finish_tag);
        Some(job.frame)
    }

    /// Removes `frame`'s job (cancelled or killed): the work it still needed, in ns, or
    /// `None` if it had no job (virtual time must be at now). Linear in the jobs: for
    /// crashes and cancellations, not for every event.
    pub fn remove(&mut self, frame: FrameId) -> Option<u64> {
        let Reverse(job) = *self.jobs.iter().find(|Reverse(job)| job.frame == frame)?;
        self.jobs.retain(|Reverse(other)| other.frame != frame);
        Some((job.finish_tag - self.virtual_ns).max(0.0) as u64)
    }

    /// Drops every job (a crash), superseding the scheduled end; returns how many there were.
    pub fn clear(&mut self) -> usize {
        self.epoch = self.epoch.wrapping_add(1);
        let jobs = self.jobs.len();
        self.jobs.clear();
        jobs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_cores_serve_two_jobs_at_full_speed_and_three_at_two_thirds() {
        let mut cores = SharedCores::default();
        cores.push(FrameId::new(0), 300);
        cores.push(FrameId::new(1), 600);
        assert_eq!(cores.next_end(2).map(|(delay, _)| delay), Some(300));
        cores.advance(100, 2, false);
        cores.push(FrameId::new(2), 100);
        // Three jobs on two cores: each at 2/3; the new one needs 100 ns of work: 150 ns.
        assert_eq!(cores.next_end(2).map(|(delay, _)| delay), Some(150));
        cores.advance(250, 2, false);
        assert_eq!(cores.pop_first(), Some(FrameId::new(2)));
        // Job 0 has had 100 + 100 of its 300 ns: 100 ns left at full speed.
        assert_eq!(cores.next_end(2).map(|(delay, _)| delay), Some(100));
        // Job 1 has had 200 ns of its 600.
        assert_eq!(cores.remove(FrameId::new(1)), Some(400));
        assert_eq!(cores.remove(FrameId::new(1)), None);
        assert_eq!(cores.len(), 1);
        let epoch = cores.epoch;
        assert_eq!(cores.clear(), 1);
        assert_ne!(cores.epoch, epoch);
        assert_eq!(cores.next_end(2), None);
    }
}
