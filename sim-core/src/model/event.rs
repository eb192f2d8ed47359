//! Everything that can happen in a run: the event list's entries, 16 bytes each.

use super::node::Timer;
use super::requests::Outcome;
use crate::ids::{CallId, FanOutId, FrameId, InstanceId, NodeId, RequestId};

/// Everything that can happen. Ids are indices into the model's arenas and tables.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Event {
    /// An open workload creates a request.
    SourceArrival { source: u32, generation: u32 },
    /// An open workload's rate changes (MMPP state or profile step).
    SourceRateChange { source: u32 },
    /// A closed workload's user finishes thinking and sends a request.
    UserWake { source: u32, user: u32 },
    /// A frame reaches its node.
    FrameArrive { frame: FrameId },
    /// A FIFO frame's Work step ends.
    WorkDone { frame: FrameId },
    /// The first Work step to end on a host's machine ends (if `epoch` is still current).
    MachineDone { machine: u32, epoch: u32 },
    /// A callee's answer reaches its caller frame.
    Reply { parent: FrameId, outcome: Outcome, cause: NodeId },
    /// The answer reaches the client.
    ClientReply { request: RequestId, outcome: Outcome, cause: NodeId },
    /// A node's timeout for a frame expires (if `generation` still matches).
    Timeout { frame: FrameId, generation: u32 },
    /// The warm-up ends: statistics restart.
    WarmupEnd,
    /// One of a node's own timers (see `node::Timer`), made by `Event::timer`. The node's
    /// index is 16 bits (a topology has at most `MAX_NODES`, 2000), so that an event is 16
    /// bytes: it moves in two registers, not through memory.
    Timer { node: u16, timer: Timer },
    /// An autoscaler reads its metric.
    Autoscale { node: NodeId },
    /// A provisioned instance starts serving.
    InstanceReady { node: NodeId, instance: InstanceId },
    /// A scenario's fault starts.
    FaultStart { fault: u32 },
    /// A scenario's fault ends.
    FaultEnd { fault: u32 },
    /// The chaos monkey of `fault` fails an instance.
    MonkeyFail { fault: u32, node: NodeId, instance: InstanceId },
    /// The chaos monkey's failure recorded in report window `window` is repaired.
    MonkeyRepair { fault: u32, window: u32 },
    /// That failure is detected: its repair and a cold spare start.
    MonkeyDetect { fault: u32, window: u32 },
    /// A chaos monkey's cold spare has started and serves.
    SpareServing { fault: u32, node: NodeId, instance: InstanceId },
    /// Recurring pauses (`fault`) pause an instance.
    PauseStart { fault: u32, node: NodeId, instance: InstanceId },
    /// That pause ends.
    PauseEnd { fault: u32, node: NodeId, instance: InstanceId },
    /// A member of quorum call `fanout` answers it.
    FanOutReply { fanout: FanOutId, generation: u32, outcome: Outcome, cause: NodeId },
    /// A rolling deployment moves to its next batch.
    RollingStep { fault: u32, batch: u32 },
    /// A frame delayed by a Slow fault's added latency reaches its node.
    DelayedArrive { frame: FrameId },
    /// A frame sent across a partition fails when its connect timeout expires.
    Unreachable { frame: FrameId },
    /// A balancer probes its targets.
    HealthCheck { node: NodeId },
    /// An attempt's answer reaches its call.
    CallReply { call: CallId, attempt: u8, outcome: Outcome, cause: NodeId },
    /// A call's backoff ends: the next attempt goes.
    CallRetry { call: CallId, generation: u32 },
    /// A call's hedging delay ends.
    CallHedge { call: CallId, generation: u32 },
    /// A call's attempt times out (if the call's `generation` still matches).
    CallTimeout { call: CallId, attempt: u32, generation: u32 },
    /// A time-series window ends.
    WindowEnd,
    /// The backlog clock: a window of the backlog trends ends.
    BacklogSample,
    /// A draining duration run reached its duration: the workloads stop creating requests.
    StopGenerating,
}

impl Event {
    /// Node `node`'s `timer`.
    #[inline]
    pub(crate) fn timer(node: NodeId, timer: Timer) -> Event {
        const _: () = assert!(crate::topology::MAX_NODES <= u16::MAX as usize + 1);
        Event::Timer { node: node.index() as u16, timer }
    }
}

const _: () = assert!(std::mem::size_of::<Event>() == 16);
