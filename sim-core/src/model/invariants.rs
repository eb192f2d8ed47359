//! Always-on checks of the model's own bookkeeping. They are counted, never a panic on the
//! hot path: a run with a bookkeeping error still ends and reports, and the test profile
//! (debug assertions on) fails it at the end of the run; the swarm asserts every count is 0.

/// How often the model found its own bookkeeping broken; every field is 0 in a correct run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InvariantViolations {
    /// A frame slot freed when it was already free.
    pub frames_freed_twice: u64,
    /// A count (frames of a request, answers owed, requests in a node, requests in flight, a
    /// balancer's outstanding requests) taken below zero.
    pub counter_underflows: u64,
    /// An event scheduled before the current time.
    pub events_in_the_past: u64,
    /// Requests a balancer still counted as outstanding after every frame had ended.
    pub balancer_outstanding_left: u64,
    /// An event a node's model cannot take (a timer of another kind, a reply to a node that
    /// calls nobody): the kernel routed it to the wrong node.
    pub misrouted_events: u64,
}

impl InvariantViolations {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        *self == Self::default()
    }
}

/// Takes one from `counter`; at zero it stays there and the underflow is counted.
#[inline]
pub(crate) fn decrement<T>(counter: &mut T, underflows: &mut u64)
where
    T: Copy + PartialEq + From<u8> + std::ops::Sub<Output = T>,
{
    if *counter == T::from(0) {
        *underflows += 1;
    } else {
        *counter = *counter - T::from(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_taken_below_zero_stays_at_zero_and_is_counted() {
        let (mut count, mut underflows) = (1u32, 0u64);
        decrement(&mut count, &mut underflows);
        assert_eq!((count, underflows), (0, 0));
        decrement(&mut count, &mut underflows);
        assert_eq!((count, underflows), (0, 1));
        let violations = InvariantViolations { counter_underflows: underflows, ..Default::default() };
        assert!(!violations.is_clean());
        assert!(InvariantViolations::default().is_clean());
    }
}
