//! Autoscaling (as the Kubernetes HPA): every interval the metric is read over the last
//! interval, the desired count is ceil(current × metric / target) within [min, max] (no
//! change within 10 % of the target), new instances join the load balancers' rotation after
//! a provisioning delay, and removed ones leave it at once and finish what they hold.

use super::kernel::Kernel;
use super::node::Node;
use super::service::ServiceModel;
use super::{invariants, Event, Simulation};
use crate::ids::{InstanceId, NodeId};
use crate::report::{AutoscalingReport, ComponentFigures, ComponentSection};
use crate::topology::{Metric, NodeKind, NONE};

/// Most points kept of the instance-count time series.
pub const MAX_SERIES_POINTS: usize = 10_000;

/// Run-time state of an autoscaler.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScalingState {
    provisioning: Vec<bool>,
    provisioning_count: u32,
    last_action_ns: Option<u64>,
    /// The node's figures at the last evaluation, to subtract from the next: offsets modulo
    /// 2^n, since `carry` takes the warm-up's figures off them when those reset.
    last_busy_area: u128,
    last_queue_area: u128,
    last_arrivals: u64,
    last_evaluation_ns: u64,
    /// Instances paid for (in rotation or provisioning) and since when.
    pub billed: u32,
    billed_last_ns: u64,
    /// Integral of billed instances over time, in instance·ns.
    pub billed_area: u128,
    /// Integral of instances serving over time (in rotation, or draining what they held
    /// after a scale-in), in instance·ns (utilization's base).
    pub serving_area: u128,
    serving: u32,
    /// Per instance: out of rotation after a scale-in but still finishing its work (paid for
    /// and serving until it is idle).
    draining: Vec<bool>,
    /// (time in ns, instances in rotation) at each change.
    pub series: Vec<(u64, u32)>,
    pub scale_outs: u64,
    pub scale_ins: u64,
}

impl ScalingState {
    pub fn new(instances: u32, max: u32) -> Self {
        Self {
            provisioning: vec![false; max as usize],
            draining: vec![false; max as usize],
            billed: instances,
            serving: instances,
            series: vec![(0, instances)],
            ..Self::default()
        }
    }

    fn advance(&mut self, now: u64) {
        let elapsed = (now - self.billed_last_ns) as u128;
        self.billed_area += self.billed as u128 * elapsed;
        self.serving_area += self.serving as u128 * elapsed;
        self.billed_last_ns = now;
    }

    /// Forgets what was measured during the warm-up.
    pub fn reset(&mut self, now: u64) {
        self.advance(now);
        self.billed_area = 0;
        self.serving_area = 0;
    }

    /// Carries over the warm-up's end what the node's figures (`busy_area`, `queue_area`,
    /// `arrivals`, about to be reset) hold of the interval under way, so the next evaluation
    /// still reads its whole interval: the autoscaler knows nothing of the warm-up.
    pub fn carry(&mut self, busy_area: u128, queue_area: u128, arrivals: u64) {
        self.last_busy_area = self.last_busy_area.wrapping_sub(busy_area);
        self.last_queue_area = self.last_queue_area.wrapping_sub(queue_area);
        self.last_arrivals = self.last_arrivals.wrapping_sub(arrivals);
    }

    /// Integrates up to `now` (for a report).
    pub fn areas_at(&self, now: u64) -> (u128, u128) {
        let elapsed = now.saturating_sub(self.billed_last_ns) as u128;
        (self.billed_area + self.billed as u128 * elapsed, self.serving_area + self.serving as u128 * elapsed)
    }

    /// Records `in_rotation` instances from `now` (after `advance(now)`).
    fn record(&mut self, now: u64, in_rotation: u32) {
        self.serving = in_rotation + self.draining.iter().filter(|d| **d).count() as u32;
        if self.series.len() < MAX_SERIES_POINTS {
            self.series.push((now, in_rotation));
        }
    }
}

impl Simulation<'_> {
    /// At the warm-up's end, before the node figures reset: every autoscaler keeps what its
    /// interval under way has measured.
    pub(crate) fn carry_autoscalers(&mut self) {
        for (node, stats) in self.nodes.iter_mut().zip(&self.kernel.node_stats) {
            if let Node::Service(ServiceModel { scaling: Some(scaling), .. }) = node {
                scaling.carry(stats.busy_area, stats.queue_area, stats.arrivals);
            }
        }
    }

    pub(crate) fn start_autoscalers(&mut self) {
        for (index, node) in self.topology.nodes.iter().enumerate() {
            if let NodeKind::Service(service) = &node.kind {
                if let Some(autoscaling) = service.autoscaling {
                    self.kernel
                        .events
                        .schedule_in(autoscaling.interval_ns, Event::Autoscale { node: NodeId::new(index as u32) });
                }
            }
        }
    }

    pub(crate) fn on_autoscale(&mut self, node: NodeId) {
        let now = self.kernel.events.now_ns();
        let Node::Service(servers) = &mut self.nodes[node] else {
            return super::node::misrouted(&mut self.kernel);
        };
        let Some(autoscaling) = servers.config.autoscaling else { return super::node::misrouted(&mut self.kernel) };
        let workers = servers.config.workers;
        let stats = &mut self.kernel.node_stats[node];
        stats.advance(now);
        let (busy_area, queue_area, arrivals) = (stats.busy_area, stats.queue_area, stats.arrivals);
        let current = servers.rotation.len() as u32;
        let scaling = servers.scaling.as_mut().expect("scaling state");
        let interval_ns = now.saturating_sub(scaling.last_evaluation_ns).max(1) as f64;
        let metric = match autoscaling.metric {
            Metric::Utilization => {
                busy_area.wrapping_sub(scaling.last_busy_area) as f64 / (interval_ns * (workers * current) as f64)
            }
            Metric::RequestsPerInstance => {
                arrivals.wrapping_sub(scaling.last_arrivals) as f64 / (interval_ns / 1e9) / current as f64
            }
            Metric::QueuePerInstance => {
                queue_area.wrapping_sub(scaling.last_queue_area) as f64 / interval_ns / current as f64
            }
        };
        scaling.last_busy_area = busy_area;
        scaling.last_queue_area = queue_area;
        scaling.last_arrivals = arrivals;
        scaling.last_evaluation_ns = now;
        let ratio = metric / autoscaling.target;
        let desired = if (ratio - 1.0).abs() <= 0.1 {
            current
        } else {
            ((current as f64 * ratio).ceil() as u32).clamp(autoscaling.min, autoscaling.max)
        };
        let cooled = scaling.last_action_ns.is_none_or(|last| now - last >= autoscaling.cooldown_ns);
        let planned = current + scaling.provisioning_count;
        if desired > planned && cooled {
            scaling.last_action_ns = Some(now);
            scaling.scale_outs += 1;
            scaling.advance(now);
            let mut to_add = desired - planned;
            let mut started = Vec::new();
            for instance in 0..servers.instances.len() {
                if to_add == 0 {
                    break;
                }
                if !servers.instances[instance].in_rotation
                    && !scaling.provisioning[instance]
                    && !scaling.draining[instance]
                {
                    scaling.provisioning[instance] = true;
                    scaling.provisioning_count += 1;
                    scaling.billed += 1;
                    started.push(InstanceId::new(instance as u32));
                    to_add -= 1;
                }
            }
            for instance in started {
                let delay = match autoscaling.provisioning_sampler {
                    NONE => 0,
                    sampler => self.kernel.sample_service(node, sampler),
                };
                self.kernel.events.schedule_in(delay, Event::InstanceReady { node, instance });
            }
        } else if desired < current && cooled {
            scaling.last_action_ns = Some(now);
            scaling.scale_ins += 1;
            scaling.advance(now);
            // The newest instances leave the rotation; they finish the work they hold, paid
            // for and counted as serving until they are idle (`instance_idle`).
            for _ in desired..current {
                let instance = servers.rotation.pop().expect("more instances than desired");
                let slot = &mut servers.instances[instance.index()];
                slot.in_rotation = false;
                if slot.holds_work() {
                    scaling.draining[instance.index()] = true;
                } else {
                    scaling.billed -= 1;
                }
            }
            scaling.record(now, desired);
            self.rotation_changed(node);
        }
        if self.kernel.may_generate() {
            self.kernel.events.schedule_in(autoscaling.interval_ns, Event::Autoscale { node });
        }
    }

    pub(crate) fn on_instance_ready(&mut self, node: NodeId, instance: InstanceId) {
        let now = self.kernel.events.now_ns();
        let Node::Service(servers) = &mut self.nodes[node] else {
            return super::node::misrouted(&mut self.kernel);
        };
        let scaling = servers.scaling.as_mut().expect("scaling state");
        scaling.advance(now);
        scaling.provisioning[instance.index()] = false;
        scaling.provisioning_count -= 1;
        servers.instances[instance.index()].in_rotation = true;
        servers.rotation.push(instance);
        servers.rotation.sort_unstable();
        let serving = servers.rotation.len() as u32;
        scaling.record(now, serving);
        self.rotation_changed(node);
    }
}

impl ServiceModel<'_> {
    /// An instance of `node` may have just become idle: one draining after a scale-in stops
    /// being paid for and counted as serving.
    pub(crate) fn instance_idle(&mut self, kernel: &mut Kernel, instance: InstanceId) {
        let now = kernel.events.now_ns();
        let slot = &self.instances[instance.index()];
        let Some(scaling) = self.scaling.as_mut() else { return };
        if !scaling.draining[instance.index()] || slot.holds_work() {
            return;
        }
        scaling.advance(now);
        scaling.draining[instance.index()] = false;
        invariants::decrement(&mut scaling.billed, &mut kernel.invariants.counter_underflows);
        invariants::decrement(&mut scaling.serving, &mut kernel.invariants.counter_underflows);
    }
}

impl ScalingState {
    /// The autoscaler's report section at `end_ns`, over `measured_ns` of measured time, for a
    /// service of `workers` workers per instance with `in_rotation` instances at the end. It is
    /// paid for as provisioned, and serves with the instances in rotation.
    pub(crate) fn report(&self, end_ns: u64, measured_ns: f64, workers: u32, in_rotation: usize) -> ComponentFigures {
        let (billed_area, serving_area) = self.areas_at(end_ns);
        let mean_instances = serving_area as f64 / measured_ns;
        ComponentFigures {
            section: Some(ComponentSection::Autoscaling(AutoscalingReport {
                instances_over_time: self.series.iter().map(|(t, n)| (*t as f64 / 1e9, *n)).collect(),
                mean_instances,
                instances_at_end: in_rotation as u32,
                scale_outs: self.scale_outs,
                scale_ins: self.scale_ins,
            })),
            instance_hours: Some(billed_area as f64 / 3.6e12),
            mean_servers: Some(mean_instances * workers as f64),
            extra_cost: 0.0,
            reshards: Vec::new(),
            quorum: None,
        }
    }
}
