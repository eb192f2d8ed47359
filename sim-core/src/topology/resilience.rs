//! Checked resilience mechanisms and chaos scenarios: call policies, health checks,
//! failover, faults on a timeline, SLOs.

use crate::ids::NodeId;

pub use crate::spec::RawJitter as Jitter;

/// What a caller does around each call to one callee.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallPolicy {
    /// Per-attempt timeout in ns.
    pub timeout_ns: Option<u64>,
    /// Retries.
    pub retry: Option<RetryPolicy>,
    /// Circuit breaker.
    pub breaker: Option<BreakerPolicy>,
    /// Hedge after this many ns without an answer.
    pub hedge_after_ns: Option<u64>,
    /// Cancel a hedged call's other attempt once one succeeds.
    pub cancel_losers: bool,
}

/// Retries with exponential backoff.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Backoff before the first retry, in ns.
    pub backoff_ns: u64,
    /// Growth per retry.
    pub multiplier: f64,
    /// Cap on the backoff, in ns.
    pub max_backoff_ns: u64,
    /// Randomisation.
    pub jitter: Jitter,
    /// Cap on retries as a share of calls.
    pub budget: Option<RetryBudget>,
}

impl RetryPolicy {
    /// The backoff before retry number `retry` (1 for the first), before jitter, in ns.
    pub fn backoff_before_jitter_ns(&self, retry: u32) -> u64 {
        let growth = self.multiplier.powi(retry.saturating_sub(1).min(64) as i32);
        (self.backoff_ns as f64 * growth).min(self.max_backoff_ns as f64) as u64
    }
}

/// Retries a budget grants per second when the file gives no `min_per_second`.
pub const DEFAULT_MIN_RETRIES_PER_S: f64 = 10.0;

/// A retry budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryBudget {
    /// Retry tokens deposited per call.
    pub ratio: f64,
    /// Tokens granted per second.
    pub min_per_s: f64,
    /// Most tokens kept.
    pub burst: f64,
}

/// A circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerPolicy {
    /// Consecutive failures that open it.
    pub failures: u32,
    /// Time it stays open, in ns.
    pub open_ns: u64,
    /// Trial calls when half-open.
    pub probes: u32,
}

/// A load balancer's health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthCheck {
    /// Time between probes, in ns.
    pub interval_ns: u64,
    /// Failed probes in a row that take an instance out.
    pub unhealthy: u32,
    /// Passed probes in a row that put it back.
    pub healthy: u32,
}

/// A database's automatic failover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failover {
    /// From the primary's crash to its being declared dead, in ns.
    pub detection_ns: u64,
    /// From then to the replica serving as primary, in ns.
    pub promotion_ns: u64,
}

/// The largest service-time factor a slowdown or a new version may have.
pub const MAX_SERVICE_FACTOR: f64 = 1e6;
/// The largest factor a load step may put on the open arrival rates.
pub const MAX_LOAD_FACTOR: f64 = 1e3;

/// A checked scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Time-series window in ns.
    pub window_ns: u64,
    /// The faults.
    pub faults: Vec<Fault>,
    /// The SLOs.
    pub slos: Vec<Slo>,
}

/// A fault on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// What it does.
    pub kind: FaultKind,
    /// When it starts, in ns.
    pub start_ns: u64,
    /// When it ends, in ns; `None` for never.
    pub end_ns: Option<u64>,
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Crash a node, or its first `instances` instances.
    Crash {
        /// Node id.
        node: NodeId,
        /// Instances crashed (all when the node has no instances).
        instances: u32,
    },
    /// Slow a node.
    Slow {
        /// Node id.
        node: NodeId,
        /// Service-time multiplier.
        factor: f64,
        /// Extra arrival latency sampler, or `NONE`.
        add_sampler: u32,
    },
    /// Errors with a probability.
    Errors {
        /// Node id.
        node: NodeId,
        /// Probability per request.
        probability: f64,
    },
    /// Messages to and from a node are lost and retransmitted.
    PacketLoss {
        /// Node id.
        node: NodeId,
        /// Probability that one transmission is lost.
        loss: f64,
        /// First retransmission timeout in ns, doubling with each loss.
        retransmit_ns: u64,
    },
    /// A network partition.
    Partition {
        /// Per node: 0 on neither side, 1 or 2 on a side.
        node_side: Vec<u8>,
        /// Per region: 0, 1 or 2 (clients of a workload in that region).
        region_side: Vec<u8>,
        /// Connect timeout in ns.
        timeout_ns: u64,
        /// The sides as written, for the report.
        label: String,
    },
    /// Every node of a region crashes.
    RegionOutage {
        /// Region id.
        region: u32,
        /// Its nodes.
        nodes: Vec<NodeId>,
    },
    /// Every node of an availability zone crashes.
    ZoneOutage {
        /// Zone id.
        zone: u32,
        /// Its nodes.
        nodes: Vec<NodeId>,
    },
    /// The first `instances` instances of a service stop and then go on (preemptive-resume).
    Pause {
        /// Service node id.
        node: NodeId,
        /// Instances paused.
        instances: u32,
    },
    /// Recurring pauses of every instance of the services.
    Pauses {
        /// Service node ids.
        nodes: Vec<NodeId>,
        /// Time-between-pauses sampler.
        every_sampler: u32,
        /// Pause-duration sampler.
        pause_sampler: u32,
    },
    /// The first `instances` instances of a service accept work and never answer; at the
    /// end they restart.
    Hang {
        /// Service node id.
        node: NodeId,
        /// Instances hung.
        instances: u32,
    },
    /// Random failures of every instance of the nodes.
    ChaosMonkey {
        /// Node ids.
        nodes: Vec<NodeId>,
        /// Time-between-failures sampler.
        mtbf_sampler: u32,
        /// Time-to-repair sampler.
        mttr_sampler: u32,
        /// Repairs under way at once, 0 for no limit.
        crews: u32,
        /// The k of a k-of-n group per node, 0 for none.
        quorum: u32,
        /// Cold spares per node (its last instances), 0 for none.
        spares: u32,
        /// Time from a failure to its detection, in ns: the repair and a spare start then.
        detection_ns: u64,
        /// Time a cold spare takes to start serving, in ns.
        takeover_ns: u64,
    },
    /// A rolling deployment.
    RollingDeploy {
        /// Service node id.
        node: NodeId,
        /// Instances out at once.
        batch: u32,
        /// Time each batch is out, in ns.
        each_ns: u64,
    },
    /// From its start on, the open workloads' arrival rates are multiplied by `factor`.
    Load {
        /// Multiplier of the open workloads' arrival rates.
        factor: f64,
    },
    /// A new version taking a share of the requests (1 for a blue-green switch).
    Version {
        /// Service node id.
        node: NodeId,
        /// Share of requests.
        share: f64,
        /// Service-time multiplier.
        factor: f64,
        /// Error probability.
        errors: f64,
        /// A blue-green switch or a canary.
        rollout: Rollout,
    },
}

/// How a new version of a service reaches its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rollout {
    /// Every request at once (and back, if it ends).
    BlueGreen,
    /// A share of the requests.
    Canary,
}

impl Rollout {
    /// The fault's name as reports print it.
    pub fn label(self) -> &'static str {
        match self {
            Rollout::BlueGreen => "blue_green",
            Rollout::Canary => "canary",
        }
    }
}

impl FaultKind {
    /// The fault's name as reports print it.
    pub fn label(&self) -> &'static str {
        match self {
            FaultKind::Crash { .. } => "crash",
            FaultKind::Slow { .. } => "slow",
            FaultKind::Errors { .. } => "errors",
            FaultKind::PacketLoss { .. } => "packet_loss",
            FaultKind::Partition { .. } => "partition",
            FaultKind::RegionOutage { .. } => "region_outage",
            FaultKind::ZoneOutage { .. } => "zone_outage",
            FaultKind::ChaosMonkey { .. } => "chaos_monkey",
            FaultKind::Pause { .. } => "pause",
            FaultKind::Pauses { .. } => "pauses",
            FaultKind::Hang { .. } => "hang",
            FaultKind::RollingDeploy { .. } => "rolling_deploy",
            FaultKind::Version { rollout, .. } => rollout.label(),
            FaultKind::Load { .. } => "load",
        }
    }
}

/// A service-level objective.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Slo {
    /// A latency quantile below a bound.
    Latency {
        /// The quantile, in (0, 1).
        quantile: f64,
        /// The bound in ns.
        below_ns: u64,
    },
    /// Availability at least this.
    Availability {
        /// The bound, in (0, 1].
        at_least: f64,
    },
}

impl Slo {
    /// The SLO as reports print it, such as `p99 < 200ms`.
    pub fn label(&self) -> String {
        match self {
            Slo::Latency { quantile, below_ns } => {
                let percent = quantile * 100.0;
                let name = format!("{percent}").replace('.', "");
                format!("p{name} < {}", crate::units::Duration { ns: *below_ns })
            }
            Slo::Availability { at_least } => format!("availability >= {}%", at_least * 100.0),
        }
    }
}
