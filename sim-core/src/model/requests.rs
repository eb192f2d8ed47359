//! Requests (one per user action) and frames (one per visit of a request to a node: the
//! call stack of a request is a chain of frames linked by `parent`).

use crate::ids::{CallId, FanOutId, FrameId, InstanceId, NodeId, RequestId};

/// How a frame, and in the end a request, was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Outcome {
    /// Answered successfully.
    Completed,
    /// Rejected because a node's queue was full.
    QueueFull,
    /// Rejected at the source because the in-flight limit was reached.
    InFlightLimit,
    /// A node's timeout expired.
    Timeout,
    /// The request visited more nodes than the hop limit allows.
    HopLimit,
    /// A rate limiter refused it.
    RateLimited,
    /// A serverless function was at its concurrency limit.
    Throttled,
    /// A gateway has no route for its class.
    NoRoute,
    /// The node (or instance) was down: the connection was refused.
    Unavailable,
    /// The node crashed while it held the request.
    Crashed,
    /// The node answered with an injected error.
    Error,
    /// A network partition cut the caller off.
    Unreachable,
    /// The caller's circuit breaker was open.
    CircuitOpen,
    /// The node shed load: its queue was past the threshold.
    Shed,
    /// The request's deadline had passed when the node would have served it.
    DeadlineExceeded,
    /// A bulkhead around the call was full, and so was its waiting line.
    BulkheadFull,
    /// The instance held as many requests as its adaptive concurrency limit.
    ConcurrencyLimited,
}

impl Outcome {
    /// Every outcome, in declaration order, so that `ALL[o as usize] == o` (a table indexed
    /// by outcome has `ALL.len()` entries).
    pub const ALL: [Outcome; 17] = [
        Outcome::Completed,
        Outcome::QueueFull,
        Outcome::InFlightLimit,
        Outcome::Timeout,
        Outcome::HopLimit,
        Outcome::RateLimited,
        Outcome::Throttled,
        Outcome::NoRoute,
        Outcome::Unavailable,
        Outcome::Crashed,
        Outcome::Error,
        Outcome::Unreachable,
        Outcome::CircuitOpen,
        Outcome::Shed,
        Outcome::DeadlineExceeded,
        Outcome::BulkheadFull,
        Outcome::ConcurrencyLimited,
    ];

    /// The terminal state this outcome counts as.
    pub fn terminal(self) -> Terminal {
        match self {
            Outcome::Completed => Terminal::Completed,
            Outcome::QueueFull
            | Outcome::InFlightLimit
            | Outcome::RateLimited
            | Outcome::Throttled
            | Outcome::CircuitOpen
            | Outcome::Shed
            | Outcome::BulkheadFull
            | Outcome::ConcurrencyLimited => Terminal::Rejected,
            Outcome::Timeout | Outcome::DeadlineExceeded => Terminal::TimedOut,
            Outcome::HopLimit
            | Outcome::NoRoute
            | Outcome::Unavailable
            | Outcome::Crashed
            | Outcome::Error
            | Outcome::Unreachable => Terminal::Failed,
        }
    }

    /// The reason as reports print it.
    pub fn reason(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::QueueFull => "queue_full",
            Outcome::InFlightLimit => "in_flight_limit",
            Outcome::Timeout => "timeout",
            Outcome::HopLimit => "hop_limit",
            Outcome::RateLimited => "rate_limited",
            Outcome::Throttled => "throttled",
            Outcome::NoRoute => "no_route",
            Outcome::Unavailable => "unavailable",
            Outcome::Crashed => "crashed",
            Outcome::Error => "error",
            Outcome::Unreachable => "unreachable",
            Outcome::CircuitOpen => "circuit_open",
            Outcome::Shed => "shed",
            Outcome::DeadlineExceeded => "deadline_exceeded",
            Outcome::BulkheadFull => "bulkhead_full",
            Outcome::ConcurrencyLimited => "concurrency_limited",
        }
    }

    /// Whether a fault caused it (a crash, an outage, an injected error, a partition).
    pub fn is_fault(self) -> bool {
        matches!(self, Outcome::Unavailable | Outcome::Crashed | Outcome::Error | Outcome::Unreachable)
    }

    /// Whether a caller's retry policy retries it. A request that cannot succeed is not
    /// retried, nor one a breaker refused further down: the dependency behind it is failing
    /// and its breaker is still open, so a retry would only be refused again. (The caller's
    /// own breaker refuses before an attempt is made, which ends the call without a retry.)
    pub fn is_retryable(self) -> bool {
        !matches!(self, Outcome::Completed | Outcome::HopLimit | Outcome::NoRoute | Outcome::CircuitOpen)
    }
}

/// The terminal states a request can end in (besides still being in flight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// Answered successfully.
    Completed,
    /// Failed with an error.
    Failed,
    /// A timeout expired.
    TimedOut,
    /// Rejected (queue full, shed, rate limited, in-flight limit).
    Rejected,
}

/// A request created by a workload.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    pub created_ns: u64,
    pub source: u32,
    /// The closed-workload user that issued it, or `NONE`.
    pub user: u32,
    /// Its client: the workload in the high 32 bits, the client (or closed user) within the
    /// workload in the low 32, so workloads never share a client's rate-limit bucket or hash.
    pub client: u64,
    pub key: u64,
    pub class: u16,
    /// Frames of this request still alive (answered or not).
    pub live_frames: u32,
    /// The client has its answer.
    pub answered: bool,
    /// Created after the warm-up: counted in the statistics.
    pub measured: bool,
    /// The region its client is in (`NONE` without regions).
    pub region: u32,
    /// The version of the key's value the last read along its path returned.
    pub read_version: u64,
    /// A database committed this request's write.
    pub committed: bool,
    /// The work its Work steps demanded so far, wherever they ran, in ns.
    pub demand_ns: u64,
    /// For the work of a queue or log message: that node (else `NONE`), and which message.
    pub job_node: NodeId,
    pub job: u32,
    pub job_tag: u32,
    /// What its messages carry.
    pub sizes: MessageSizes,
}

/// The bytes a request's messages carry: the request on each hop out, a successful
/// answer on each hop back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MessageSizes {
    pub request_bytes: u64,
    pub response_bytes: u64,
}

/// One visit of a request to a node.
#[derive(Debug, Clone, Default)]
pub(crate) struct Frame {
    pub request: RequestId,
    /// The frame waiting for this one's answer, or `NONE` when the client is.
    pub parent: FrameId,
    pub node: NodeId,
    /// The instance serving it, `NONE` until chosen.
    pub instance: InstanceId,
    /// Next instruction of the node's program.
    pub pc: u32,
    /// Answers still awaited from calls.
    pub pending: u32,
    /// The first error among the answers received.
    pub outcome: Option<(Outcome, NodeId)>,
    /// Bumped on each reuse of the slot, so stale timeouts are recognised.
    pub generation: u32,
    pub arrived_ns: u64,
    /// When it took a worker (FIFO) or was admitted (PS).
    pub started_ns: u64,
    /// The work its Work steps demanded at this node so far, in ns.
    pub demand_ns: u64,
    /// Latency sampler for the answer's trip back, or `NONE`.
    pub reply_link: u32,
    /// Load balancers: the target index chosen (for a frame a balancer passed on, its
    /// target among that balancer's).
    pub balancer_target: u32,
    /// The zero-hop balancer that passed this frame on to its node instead of calling it
    /// (`NONE` for none): the frame is that balancer's visit too, which ends when the frame
    /// answers (see `Kernel::pass_on`).
    pub via: NodeId,
    /// When the frame reached that balancer.
    pub via_arrived_ns: u64,
    /// Node visits so far along this request's path.
    pub hops: u32,
    /// The answer has been sent (normally, or by a timeout).
    pub answered: bool,
    /// It holds a worker (FIFO) or a slot (PS) of its instance.
    pub admitted: bool,
    /// The caller's call record it is an attempt of (its answer goes there), or `NONE`.
    pub call: CallId,
    /// Which attempt of that call it is.
    pub call_attempt: u8,
    /// Its instance crashed under it: it holds nothing and ends at its next event.
    pub killed: bool,
    /// The slot holds a frame (false once freed).
    pub live: bool,
    /// Served by the node's new version (a canary or blue-green fault).
    pub new_version: bool,
    /// Its instance's paused time when its Work step's end was scheduled, in ns (pauses).
    pub pause_mark_ns: u64,
    /// When its callers stop waiting for it (the tightest timeout above it), `u64::MAX`
    /// for never.
    pub deadline_ns: u64,
    /// The quorum call it is a member of (its answer goes there), or `NONE`.
    pub fanout: FanOutId,
    /// That quorum's generation when it was called.
    pub fanout_generation: u32,
    /// A quorum or hedged call no longer needs it: it stops its Work step (`working`) or
    /// at its next step.
    pub cancelled: bool,
    /// It is in a Work step holding a worker of a FIFO or priority service (its `WorkDone`
    /// is due).
    pub working: bool,
    /// The last frame it called, with that frame's generation (the one it waits for when
    /// one answer is owed), so a cancellation can follow the call chain down.
    pub last_child: (FrameId, u32),
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    /// `ALL` is in declaration order with no gap, so a table indexed by `Outcome as usize`
    /// has a cell for each, and their report names are distinct.
    #[test]
    fn all_outcomes_index_themselves() {
        for (index, outcome) in Outcome::ALL.iter().enumerate() {
            assert_eq!(*outcome as usize, index);
        }
        let mut reasons: Vec<&str> = Outcome::ALL.iter().map(|o| o.reason()).collect();
        reasons.sort_unstable();
        reasons.dedup();
        assert_eq!(reasons.len(), Outcome::ALL.len());
    }
}
