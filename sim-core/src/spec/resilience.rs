//! The file format of chaos scenarios (faults on a timeline, SLOs, the time-series window)
//! and of the resilience mechanisms (call policies, health checks, failover).

use crate::dist::DistSpec;
use crate::units::Duration;
use serde::Deserialize;

/// Faults on simulated time, SLOs to check, and the time-series window. Written inside a
/// topology (`scenario: Scenario(...)`) or alone in a file given with `--scenario`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename = "Scenario")]
pub struct RawScenario {
    /// Width of a time-series window; default 1 s.
    #[serde(default)]
    pub window: Option<Duration>,
    /// The faults, in any order.
    #[serde(default)]
    pub faults: Vec<RawFault>,
    /// Service-level objectives, checked per window and over the whole run.
    #[serde(default)]
    pub slos: Vec<RawSlo>,
}

/// A fault on the timeline. `until` omitted: it lasts to the end of the run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Fault")]
pub enum RawFault {
    /// The node (or its first `instances` instances) stops: work in progress and waiting
    /// fails, and arrivals are refused until it recovers.
    Crash {
        /// The node.
        node: String,
        /// When it crashes.
        at: Duration,
        /// When it is back; default never.
        #[serde(default)]
        until: Option<Duration>,
        /// How many of its instances (the first ones); default all.
        #[serde(default)]
        instances: Option<u32>,
    },
    /// Every duration the node draws is multiplied by `factor`, and `add` is added to every
    /// arrival at it.
    Slow {
        /// The node.
        node: String,
        /// Start.
        at: Duration,
        /// End; default never.
        #[serde(default)]
        until: Option<Duration>,
        /// Multiplier of its service times; default 1.
        #[serde(default = "one")]
        factor: f64,
        /// Extra latency before each request reaches it; default none.
        #[serde(default)]
        add: Option<DistSpec>,
    },
    /// The node answers each arrival with an error with this probability.
    Errors {
        /// The node.
        node: String,
        /// Start.
        at: Duration,
        /// End; default never.
        #[serde(default)]
        until: Option<Duration>,
        /// Probability of an error per request.
        probability: f64,
    },
    /// Calls between the two sides fail as `unreachable` after `timeout`. Each side lists
    /// node names and region names (a region stands for its nodes and its clients).
    Partition {
        /// One side.
        between: Vec<String>,
        /// The other side.
        and: Vec<String>,
        /// Start.
        at: Duration,
        /// End; default never.
        #[serde(default)]
        until: Option<Duration>,
        /// How long a call across waits before failing (a connect timeout); default 1 s.
        #[serde(default)]
        timeout: Option<Duration>,
    },
    /// Every node placed in the region crashes.
    RegionOutage {
        /// The region.
        region: String,
        /// Start.
        at: Duration,
        /// End; default never.
        #[serde(default)]
        until: Option<Duration>,
    },
    /// Every node placed in the availability zone crashes (a zone's power or network).
    ZoneOutage {
        /// The zone.
        zone: String,
        /// Start.
        at: Duration,
        /// End; default never.
        #[serde(default)]
        until: Option<Duration>,
    },
    /// The service's instances (or its first `instances`) stop for a window and then go on
    /// where they stopped (a stop-the-world GC pause, a VM freeze): Work in progress waits
    /// and resumes (preemptive-resume), no queued request starts, and arrivals queue.
    Pause {
        /// A service.
        node: String,
        /// Start.
        at: Duration,
        /// End.
        until: Duration,
        /// How many of its instances (the first ones); default all.
        #[serde(default)]
        instances: Option<u32>,
    },
    /// Pauses again and again on each instance of the services (garbage collection): after
    /// a time drawn from `every`, an instance pauses for a time drawn from `pause`.
    Pauses {
        /// Services.
        nodes: Vec<String>,
        /// Time from the end of one pause to the start of the next.
        every: DistSpec,
        /// How long each pause lasts.
        pause: DistSpec,
        /// When it starts; default at once.
        #[serde(default)]
        at: Option<Duration>,
        /// When it stops pausing; default never.
        #[serde(default)]
        until: Option<Duration>,
    },
    /// The service's instances (or its first `instances`) accept requests and never answer
    /// them (a deadlock, a hung disk): only callers' timeouts see it. At `until` they
    /// restart: the requests they hold fail as in a crash.
    Hang {
        /// A service.
        node: String,
        /// Start.
        at: Duration,
        /// When it restarts; default never.
        #[serde(default)]
        until: Option<Duration>,
        /// How many of its instances (the first ones); default all.
        #[serde(default)]
        instances: Option<u32>,
    },
    /// Random failures: each instance of each node fails after a time drawn from `mtbf` and
    /// is repaired after a time drawn from `mttr`, again and again.
    ChaosMonkey {
        /// The nodes it attacks.
        nodes: Vec<String>,
        /// Time between failures (from a repair to the next failure).
        mtbf: DistSpec,
        /// Time to repair.
        mttr: DistSpec,
        /// When it starts; default at once.
        #[serde(default)]
        at: Option<Duration>,
        /// When it stops failing things; default never.
        #[serde(default)]
        until: Option<Duration>,
        /// Repairs under way at once, over all its nodes (repair crews); a failure waits in
        /// line for a free crew, and its repair time starts then. Default: no limit.
        #[serde(default)]
        crews: Option<u32>,
        /// k: the report gives the share of the measured time each node had at least k
        /// instances up (a k-of-n group); default none.
        #[serde(default)]
        quorum: Option<u32>,
        /// Cold standby: the last `spares` instances of each node wait out of rotation,
        /// without failing (nothing runs on them), until a failure is detected; then one
        /// takes the failed instance's place. A repaired instance fills a place still empty,
        /// or becomes a spare. Services only; default 0.
        #[serde(default)]
        spares: Option<u32>,
        /// Time from a failure to its detection; the repair starts then, and a spare is
        /// started then. Default 0.
        #[serde(default)]
        detection: Option<Duration>,
        /// Time a cold spare takes from its start to serving (its boot). Default 0.
        #[serde(default)]
        takeover: Option<Duration>,
    },
    /// Packets to and from the node are lost: each message (a request arriving, an answer
    /// leaving, a call it makes and its answer) is lost with probability `loss` per
    /// transmission, and each loss costs a retransmission timeout that doubles every time
    /// (TCP's exponential backoff), so a message lost k times arrives
    /// `retransmit` × (2^k − 1) late. Only timeouts and latency see it: nothing fails.
    PacketLoss {
        /// The node.
        node: String,
        /// Start.
        at: Duration,
        /// End; default never.
        #[serde(default)]
        until: Option<Duration>,
        /// Probability that one transmission of a message is lost, below 1.
        loss: f64,
        /// The first retransmission timeout; default 200 ms (Linux's minimum RTO).
        #[serde(default)]
        retransmit: Option<Duration>,
    },
    /// A rolling deployment: `batch` instances at a time leave the rotation (finishing the
    /// work they hold) for `each`, then come back and the next batch goes.
    RollingDeploy {
        /// A service.
        node: String,
        /// Start.
        at: Duration,
        /// Instances out at once; default 1.
        #[serde(default = "one_u32")]
        batch: u32,
        /// How long a batch is out.
        each: Duration,
    },
    /// A blue-green switch: from `at` every request goes to the new version, whose service
    /// times are multiplied by `factor` and which fails with probability `errors`.
    BlueGreen {
        /// A service.
        node: String,
        /// The switch.
        at: Duration,
        /// Switch back at this time; default never.
        #[serde(default)]
        until: Option<Duration>,
        /// The new version's service-time multiplier; default 1.
        #[serde(default = "one")]
        factor: f64,
        /// The new version's error probability; default 0.
        #[serde(default)]
        errors: f64,
    },
    /// A step in the load: from `at` on, every open workload's arrival rate is `factor` times
    /// the file's (0 stops them, 1 restores them); the latest step holds. A surge is two
    /// steps. Closed workloads keep their users and think times.
    Load {
        /// Multiplier of the open workloads' arrival rates.
        factor: f64,
        /// When the step happens.
        at: Duration,
    },
    /// A canary: a share of the node's requests goes to a new version with other parameters.
    Canary {
        /// A service.
        node: String,
        /// Start.
        at: Duration,
        /// End; default never.
        #[serde(default)]
        until: Option<Duration>,
        /// Share of requests the canary serves.
        share: f64,
        /// The canary's service-time multiplier; default 1.
        #[serde(default = "one")]
        factor: f64,
        /// The canary's error probability; default 0.
        #[serde(default)]
        errors: f64,
    },
}

fn one() -> f64 {
    1.0
}

fn one_u32() -> u32 {
    1
}

/// A service-level objective.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Slo")]
pub enum RawSlo {
    /// The `quantile` of end-to-end latency stays below `below`.
    Latency {
        /// For example 0.99.
        quantile: f64,
        /// The bound.
        below: Duration,
    },
    /// The share of finished requests that completed successfully is at least this.
    Availability {
        /// For example 0.999.
        at_least: f64,
    },
}

/// What a caller does around each call to a node: timeout, retries, circuit breaker, hedging.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename = "CallPolicy")]
pub struct RawCallPolicy {
    /// How long the caller waits for one attempt; default for ever.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Retries of failed attempts; default none.
    #[serde(default)]
    pub retry: Option<RawRetry>,
    /// A circuit breaker on this callee; default none.
    #[serde(default)]
    pub circuit_breaker: Option<RawCircuitBreaker>,
    /// Send a second attempt when the first has not answered after this long; default never.
    #[serde(default)]
    pub hedge_after: Option<Duration>,
    /// What happens to the other attempt of a hedged call once one succeeds: `Cancel` (as
    /// gRPC's hedging does: it stops at its next step, or never starts if still queued) or
    /// `Finish` (it runs on, wasted). Only with `hedge_after`; default `Cancel`.
    #[serde(default)]
    pub losers: Option<super::RawLosers>,
}

/// Retries with exponential backoff.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Retry")]
pub struct RawRetry {
    /// Retries after the first attempt; default 2.
    #[serde(default = "two")]
    pub retries: u32,
    /// Backoff before the first retry; default 25 ms (Envoy's base interval).
    #[serde(default)]
    pub backoff: Option<Duration>,
    /// Backoff growth per retry; default 2.
    #[serde(default = "two_f64")]
    pub multiplier: f64,
    /// Longest backoff; default 10 × `backoff`.
    #[serde(default)]
    pub max_backoff: Option<Duration>,
    /// Randomisation of the backoff; default Full.
    #[serde(default)]
    pub jitter: RawJitter,
    /// A cap on retries as a share of calls; default none.
    #[serde(default)]
    pub budget: Option<RawRetryBudget>,
}

fn two() -> u32 {
    2
}

fn two_f64() -> f64 {
    2.0
}

/// How a backoff b is randomised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename = "Jitter")]
pub enum RawJitter {
    /// Uniform on [0, b].
    #[default]
    Full,
    /// b/2 plus uniform on [0, b/2].
    Equal,
    /// Exactly b.
    None,
}

/// A retry budget (as Finagle's): each call deposits `ratio` of a retry, `min_per_second`
/// retries are granted per second, and a retry spends one; at most `burst` are saved.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Budget")]
pub struct RawRetryBudget {
    /// Retries allowed per call; default 0.2.
    #[serde(default)]
    pub ratio: Option<f64>,
    /// Retries allowed per second whatever the traffic; default 10.
    #[serde(default)]
    pub min_per_second: Option<f64>,
    /// Most retries saved up; default 100.
    #[serde(default)]
    pub burst: Option<f64>,
}

/// A circuit breaker: after `failures` failed calls in a row it opens and fails calls at
/// once for `open_for`, then lets `probes` trial calls through (half-open): if they all
/// succeed it closes, if one fails it opens again.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "CircuitBreaker")]
pub struct RawCircuitBreaker {
    /// Consecutive failures that open it; default 5.
    #[serde(default)]
    pub failures: Option<u32>,
    /// How long it stays open; default 10 s.
    #[serde(default)]
    pub open_for: Option<Duration>,
    /// Trial calls when half-open; default 1.
    #[serde(default)]
    pub probes: Option<u32>,
}

/// A load balancer's health check of each backend instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "HealthCheck")]
pub struct RawHealthCheck {
    /// Time between probes; default 10 s.
    #[serde(default)]
    pub interval: Option<Duration>,
    /// Failed probes in a row that take an instance out; default 3.
    #[serde(default)]
    pub unhealthy: Option<u32>,
    /// Passed probes in a row that put it back; default 1.
    #[serde(default)]
    pub healthy: Option<u32>,
}

/// A database's automatic failover: a replica is promoted when the primary is down.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename = "Failover")]
pub struct RawFailover {
    /// Time from the primary's crash until it is declared dead; default 10 s.
    #[serde(default)]
    pub detection: Option<Duration>,
    /// Time to promote the replica once it is declared; default 0.
    #[serde(default)]
    pub promotion: Option<Duration>,
}
