//! Node models: each kind of node is a model that owns its checked config and its state and
//! implements `Model`; the simulation keeps one `Node` per topology node and dispatches to
//! it statically (`Node` is an enum, every `match` over it names every kind).
//!
//! ```text
//!   Simulation ──event──▶ Node::arrive / reply / timer / job_done ──▶ CacheModel::arrive(kernel, frame)
//!                                                                      │ uses
//!                                                                      ▼
//!                                          Kernel: frames, requests, events, stats, streams
//! ```

use super::balancer::BalancerModel;
use super::cache::{CacheModel, CdnModel};
use super::database::DatabaseModel;
use super::function::FunctionModel;
use super::kernel::Kernel;
use super::limiter::LimiterModel;
use super::log::LogModel;
use super::program;
use super::queue::QueueModel;
use super::requests::Outcome;
use super::service::ServiceModel;
use crate::ids::{FrameId, InstanceId, MessageId, NodeId};
use crate::report::ComponentFigures;
use crate::topology::{NodeKind, Topology};

/// A node's private timer, carried by `Event::Timer` with the node it belongs to. Small and
/// `Copy`, so the event list stays closed and allocation-free.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Timer {
    /// A delay of the node for a frame ends: a cache lookup, a cold start, a shaping delay,
    /// a balancer's processing, a publish or an append.
    Resume { frame: FrameId },
    /// The earliest processor-sharing job of an instance may be done (if `epoch` is current).
    PsDone { instance: InstanceId, epoch: u32 },
    /// A work-queue message's visibility timeout expires (if `generation` still matches).
    Visibility { message: MessageId, generation: u32 },
    /// An idle function container's keep-alive ends (if `generation` still matches).
    ContainerExpire { container: InstanceId, generation: u32 },
    /// A database's failover promotes a replica.
    Promote,
    /// A shard router takes resharding step `step`.
    Reshard { step: u32 },
    /// A log's consumer group starts (`end`: ends) rebalancing for its change `step`.
    Rebalance { group: u32, step: u32, end: bool },
    /// A log's consumer group tries the message its consumer of `partition` holds again.
    Redeliver { group: u32, partition: u32 },
}

/// The measured period a report covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    /// When the run ended (or now, for a report during a run), in ns.
    pub end_ns: u64,
    /// The measured time: from the end of the warm-up to `end_ns`, in ns.
    pub measured_ns: f64,
    /// The measured time while the workloads generated requests, in ns (arrival rates are
    /// measured over it, so a draining run does not dilute them).
    pub generating_ns: f64,
}

/// What every node model does. The kernel is passed in, never stored, so a model reaches
/// the rest of the run only through it.
pub(crate) trait Model {
    /// A frame that passed the fault gate enters the node.
    fn arrive(&mut self, kernel: &mut Kernel, frame: FrameId);

    /// Every callee `frame` waited for has answered (its first failure, if any, is in
    /// `frame.outcome`).
    fn reply(&mut self, kernel: &mut Kernel, frame: FrameId);

    /// One of the node's own timers fires.
    fn timer(&mut self, kernel: &mut Kernel, timer: Timer);

    /// `frame`'s visit ends: the node frees what it held (a worker, a container, a place).
    fn release(&mut self, kernel: &mut Kernel, frame: FrameId);

    /// The warm-up ends at `now`: forget what was counted, keep the state.
    fn reset(&mut self, now: u64);

    /// The node's own report figures over the measured `span`.
    fn figures(&self, topology: &Topology, span: Span) -> ComponentFigures;

    /// Ends `frame`'s visit with `outcome`: answers, counts, releases, frees.
    fn finish(&mut self, kernel: &mut Kernel, frame: FrameId, outcome: Outcome, cause: NodeId) {
        kernel.end_visit(frame, outcome, cause);
        self.release(kernel, frame);
        kernel.free_frame(frame);
    }
}

/// An event a model cannot take: counted as broken bookkeeping (see `InvariantViolations`).
#[cold]
pub(crate) fn misrouted(kernel: &mut Kernel) {
    kernel.invariants.misrouted_events += 1;
}

/// The model of one topology node.
pub(crate) enum Node<'t> {
    Service(ServiceModel<'t>),
    LoadBalancer(BalancerModel<'t>),
    Cache(CacheModel<'t>),
    Cdn(CdnModel<'t>),
    Database(DatabaseModel<'t>),
    RateLimiter(LimiterModel<'t>),
    WorkQueue(QueueModel<'t>),
    Log(LogModel<'t>),
    Function(FunctionModel<'t>),
}

/// Runs `$body` with `$model` bound to whichever model `$node` holds.
macro_rules! with_model {
    ($node:expr, $model:ident => $body:expr) => {
        match $node {
            Node::Service($model) => $body,
            Node::LoadBalancer($model) => $body,
            Node::Cache($model) => $body,
            Node::Cdn($model) => $body,
            Node::Database($model) => $body,
            Node::RateLimiter($model) => $body,
            Node::WorkQueue($model) => $body,
            Node::Log($model) => $body,
            Node::Function($model) => $body,
        }
    };
}

impl<'t> Node<'t> {
    /// The model of node `node` of `topology`, at the start of a run.
    pub fn new(topology: &'t Topology, node: NodeId) -> Self {
        match &topology.nodes[node].kind {
            NodeKind::Service(config) => {
                Node::Service(ServiceModel::new(node, config, topology.priority_levels, topology.host_of(node)))
            }
            NodeKind::LoadBalancer(config) => Node::LoadBalancer(BalancerModel::new(topology, node, config)),
            NodeKind::Cache(config) => Node::Cache(CacheModel::new(topology, node, config)),
            NodeKind::Cdn(config) => Node::Cdn(CdnModel::new(topology, node, config)),
            NodeKind::Database(config) => {
                Node::Database(DatabaseModel::new(node, config, topology.host_of(node), &topology.regions))
            }
            NodeKind::RateLimiter(config) => Node::RateLimiter(LimiterModel::new(node, config)),
            NodeKind::WorkQueue(config) => Node::WorkQueue(QueueModel::new(node, config)),
            NodeKind::Log(config) => Node::Log(LogModel::new(node, config)),
            NodeKind::Function(config) => Node::Function(FunctionModel::new(node, config)),
        }
    }

    /// Always in line: otherwise every arrival passes through a call frame of its own that
    /// only picks the model (some 20 instructions of saved and restored registers).
    #[inline(always)]
    pub fn arrive(&mut self, kernel: &mut Kernel, frame: FrameId) {
        with_model!(self, model => model.arrive(kernel, frame))
    }

    #[inline]
    pub fn reply(&mut self, kernel: &mut Kernel, frame: FrameId) {
        with_model!(self, model => model.reply(kernel, frame))
    }

    #[inline]
    pub fn timer(&mut self, kernel: &mut Kernel, timer: Timer) {
        with_model!(self, model => model.timer(kernel, timer))
    }

    pub fn reset(&mut self, now: u64) {
        with_model!(self, model => model.reset(now))
    }

    pub fn figures(&self, topology: &Topology, span: Span) -> ComponentFigures {
        with_model!(self, model => model.figures(topology, span))
    }

    /// Runs `frame`'s program from its program counter (nodes with programs only).
    #[inline]
    pub fn run_program(&mut self, kernel: &mut Kernel, frame: FrameId) {
        match self {
            Node::Service(model) => program::run(model, kernel, frame),
            Node::Database(model) => program::run(model, kernel, frame),
            Node::Function(model) => program::run(model, kernel, frame),
            Node::LoadBalancer(_)
            | Node::Cache(_)
            | Node::Cdn(_)
            | Node::RateLimiter(_)
            | Node::WorkQueue(_)
            | Node::Log(_) => misrouted(kernel),
        }
    }

    /// The handler of message `job` (delivery `tag`) of this queue or log answered.
    pub fn job_done(&mut self, kernel: &mut Kernel, job: u32, tag: u32, outcome: Outcome, read_version: u64) {
        match self {
            Node::WorkQueue(model) => model.job_done(kernel, MessageId::new(job), tag, outcome),
            Node::Log(model) => model.job_done(kernel, job, tag, outcome),
            Node::Cache(model) => model.revalidated(kernel, job, outcome, read_version),
            Node::Service(_)
            | Node::LoadBalancer(_)
            | Node::Cdn(_)
            | Node::Database(_)
            | Node::RateLimiter(_)
            | Node::Function(_) => misrouted(kernel),
        }
    }

    /// The servers of a node that has instances with workers (a service, a gateway, a
    /// database's primary and replicas).
    #[inline]
    pub fn servers(&self) -> Option<&ServiceModel<'t>> {
        match self {
            Node::Service(model) => Some(model),
            Node::Database(model) => Some(&model.servers),
            Node::LoadBalancer(_)
            | Node::Cache(_)
            | Node::Cdn(_)
            | Node::RateLimiter(_)
            | Node::WorkQueue(_)
            | Node::Log(_)
            | Node::Function(_) => None,
        }
    }

    /// As `servers`, to change them.
    #[inline]
    pub fn servers_mut(&mut self) -> Option<&mut ServiceModel<'t>> {
        match self {
            Node::Service(model) => Some(model),
            Node::Database(model) => Some(&mut model.servers),
            Node::LoadBalancer(_)
            | Node::Cache(_)
            | Node::Cdn(_)
            | Node::RateLimiter(_)
            | Node::WorkQueue(_)
            | Node::Log(_)
            | Node::Function(_) => None,
        }
    }

    /// Whether the node holds work no frame carries: messages a work queue stores (ready or
    /// awaiting acknowledgement), or a log's records some consumer group has yet to process.
    pub fn holds_messages(&self) -> bool {
        self.messages_held() > 0
    }

    /// Messages a queue stores or a log's consumer groups have yet to read (0 for other
    /// nodes).
    pub fn messages_held(&self) -> u64 {
        match self {
            Node::WorkQueue(model) => model.stored() as u64,
            Node::Log(model) => model.groups.iter().map(|group| group.lag).sum(),
            Node::Service(_)
            | Node::LoadBalancer(_)
            | Node::Cache(_)
            | Node::Cdn(_)
            | Node::Database(_)
            | Node::RateLimiter(_)
            | Node::Function(_) => 0,
        }
    }

    /// Requests a balancer counts as sent and not yet answered (0 for other nodes).
    pub fn outstanding(&self) -> u64 {
        match self {
            Node::LoadBalancer(model) => model.outstanding.iter().map(|&n| n as u64).sum(),
            Node::Service(_)
            | Node::Cache(_)
            | Node::Cdn(_)
            | Node::Database(_)
            | Node::RateLimiter(_)
            | Node::WorkQueue(_)
            | Node::Log(_)
            | Node::Function(_) => 0,
        }
    }

    /// The node (without instances) crashed: what it held in memory is gone.
    pub fn lose_memory(&mut self, kernel: &mut Kernel) {
        match self {
            Node::Cache(model) => model.store.clear(),
            Node::Cdn(model) => model.edges.iter_mut().for_each(|edge| edge.clear()),
            Node::Function(model) => model.lose_containers(kernel),
            // Queues and logs are durable; the others hold nothing but the frames in them.
            Node::Service(_)
            | Node::LoadBalancer(_)
            | Node::Database(_)
            | Node::RateLimiter(_)
            | Node::WorkQueue(_)
            | Node::Log(_) => {}
        }
    }

    /// The node (without instances) is back from a crash.
    pub fn recovered(&mut self, kernel: &mut Kernel) {
        match self {
            Node::WorkQueue(model) => model.dispatch(kernel),
            Node::Service(_)
            | Node::LoadBalancer(_)
            | Node::Cache(_)
            | Node::Cdn(_)
            | Node::Database(_)
            | Node::RateLimiter(_)
            | Node::Log(_)
            | Node::Function(_) => {}
        }
    }
}
