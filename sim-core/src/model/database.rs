//! Databases: writes go to the primary and commit a new version of their key; replicas
//! apply commits in order after a replication lag; reads go where the read policy says, and
//! a read on a replica that has not yet applied the key's latest commit is a stale read.

use super::kernel::Kernel;
use super::keymap::ForgettingMap;
use super::node::{misrouted, Model, Span, Timer};
use super::program::{self, Program};
use super::requests::Outcome;
use super::service::ServiceModel;
use super::Event;
use crate::ids::{FrameId, InstanceId, NodeId};
use crate::report::{ComponentFigures, ComponentSection, DatabaseReport, ServerReport};
use crate::topology::{DatabaseConfig, Host, ReadPolicy, RegionalLink, Regions, Topology, NONE};
use std::collections::VecDeque;

/// A replica's view of the primary's commit log.
#[derive(Debug, Default)]
pub(crate) struct ReplicaLog {
    /// Commits shipped but not yet applied: (commit sequence number, when it applies).
    pending: VecDeque<(u64, u64)>,
    /// Every commit up to this sequence number is applied.
    applied: u64,
    /// When the last shipped commit applies (replication applies in commit order).
    last_apply_ns: u64,
    /// Commits the primary had not yet shipped here when it crashed: they arrive if it
    /// comes back, and are lost if this replica is promoted.
    stranded: Vec<(u64, u64)>,
}

/// Counters of one database server (after the warm-up).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ServerCounters {
    pub reads: u64,
    pub writes: u64,
    pub stale_reads: u64,
}

/// A database: its servers (a service model whose instances are the primary and the
/// replicas, connections as workers) and the replication between them.
#[derive(Debug)]
pub(crate) struct DatabaseModel<'t> {
    pub node: NodeId,
    pub config: &'t DatabaseConfig,
    /// The primary and the replicas, as instances of a service.
    pub servers: ServiceModel<'t>,
    /// Per server: its replication log (unused while it is the primary).
    pub logs: Vec<ReplicaLog>,
    /// Per server (0 is the first primary).
    pub counters: Vec<ServerCounters>,
    next_replica: u32,
    /// Most commits waiting to apply on one replica at any time (replication backlog): shipped
    /// and not yet due there.
    pub max_backlog: usize,
    /// The server that takes writes.
    pub primary: u32,
    /// A failover is scheduled.
    failover_pending: bool,
    /// Per server: it was the primary once and lost the role.
    demoted: Vec<bool>,
    /// Replicas promoted (after the warm-up).
    pub promotions: u64,
    /// Committed writes lost because the promoted replica had not applied them.
    pub lost_writes: u64,
    /// Read-your-writes: when each client's last write committed (those past the window
    /// forgotten when it holds many).
    last_write_ns: ForgettingMap<u64>,
    /// Reads sent to the primary because their client wrote within the window.
    pub sticky_reads: u64,
    /// Apply times of one write on each replica, reused (semi-synchronous answers).
    apply_times: Vec<u64>,
    /// Per caller region, per server: how near the server's region is (0 for the caller's
    /// own, then by mean latency); empty when every server is in the node's region.
    region_ranks: Vec<u32>,
}

impl<'t> DatabaseModel<'t> {
    pub fn new(node: NodeId, config: &'t DatabaseConfig, host: Option<&'t Host>, regions: &Regions) -> Self {
        let servers = 1 + config.replicas as usize;
        Self {
            node,
            config,
            servers: ServiceModel::new(node, &config.servers, 1, host),
            logs: (0..servers).map(|_| ReplicaLog::default()).collect(),
            counters: vec![ServerCounters::default(); servers],
            next_replica: 0,
            max_backlog: 0,
            primary: 0,
            failover_pending: false,
            demoted: vec![false; servers],
            promotions: 0,
            lost_writes: 0,
            last_write_ns: ForgettingMap::default(),
            sticky_reads: 0,
            apply_times: Vec::with_capacity(config.replicas as usize),
            region_ranks: config.region_ranks(regions),
        }
    }
}

/// Applies the commits of `log` that are due by `now`.
fn apply_due(log: &mut ReplicaLog, now: u64) {
    while let Some(&(sequence, apply_ns)) = log.pending.front() {
        if apply_ns > now {
            break;
        }
        log.applied = sequence;
        log.pending.pop_front();
    }
}

impl DatabaseModel<'_> {
    /// A query arrives: writes to the primary, reads by the read policy (around servers
    /// the driver knows are down); then, once across to that server's region when the
    /// caller is in another, it waits for a connection of that server.
    fn route(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let config = self.config;
        // A caller in a region calls a database with servers in several over a regional
        // link, which names the caller's region (`regional_links.rs`).
        let regional = kernel.topology.regional_link(kernel.frames[frame].reply_link);
        let class = kernel.requests[kernel.frames[frame].request].class as usize;
        let is_write = config.write_classes.get(class).copied().unwrap_or(false);
        let count = 1 + config.replicas;
        let primary = self.primary;
        let sticky = !is_write
            && config.read_your_writes_ns.is_some_and(|window_ns| {
                let client = kernel.requests[kernel.frames[frame].request].client;
                let now = kernel.events.now_ns();
                self.last_write_ns.get(&client).is_some_and(|&written_ns| now - written_ns < window_ns)
            });
        if sticky && kernel.is_measured(kernel.frames[frame].arrived_ns) {
            self.sticky_reads += 1;
        }
        let server = if is_write || config.replicas == 0 || sticky {
            primary
        } else {
            match config.read_policy {
                ReadPolicy::PrimaryOnly => primary,
                ReadPolicy::Nearest => {
                    let caller_region = regional.map_or(kernel.topology.nodes[self.node].region, |r| r.from_region);
                    self.nearest(caller_region)
                }
                ReadPolicy::Random => {
                    let servers = &self.servers;
                    let usable = |server: &u32| *server != primary && servers.instances[*server as usize].down == 0;
                    let up = (0..count).filter(usable).count() as u64;
                    let stream = kernel.routing_stream(self.node);
                    if up > 0 {
                        let nth = stream.below(up) as usize;
                        (0..count).filter(usable).nth(nth).expect("the nth replica up")
                    } else {
                        // No replica is up: the read goes to one all the same (and is refused).
                        let nth = stream.below(config.replicas as u64) as usize;
                        (0..count).filter(|s| *s != primary).nth(nth).expect("the nth replica")
                    }
                }
                ReadPolicy::LeastConnections => {
                    // Fewest queries in the replica; ties to the replica after the last
                    // pick, so equal replicas share.
                    let start = self.next_replica;
                    let servers = &self.servers;
                    let load = |server: u32| {
                        let instance = &servers.instances[server as usize];
                        instance.occupied as usize + instance.queue.len()
                    };
                    let usable = |server: u32| server != primary && servers.instances[server as usize].down == 0;
                    let replicas = (0..count).map(|offset| (start + offset) % count).filter(|s| *s != primary);
                    let pick = replicas.clone().filter(|s| usable(*s)).min_by_key(|s| load(*s));
                    // No replica is up: the read goes to one all the same (and is refused).
                    let server = pick.or_else(|| replicas.clone().next()).unwrap_or(primary);
                    self.next_replica = (server + 1) % count;
                    server
                }
                ReadPolicy::RoundRobin => {
                    let start = self.next_replica;
                    let servers = &self.servers;
                    let usable = |server: u32| server != primary && servers.instances[server as usize].down == 0;
                    let pick = (0..count).map(|offset| (start + offset) % count).find(|s| usable(*s));
                    match pick {
                        Some(server) => {
                            self.next_replica = (server + 1) % count;
                            server
                        }
                        None => {
                            // No replica is up: the read goes to a replica all the same
                            // (and is refused), as the driver has nowhere else to send it.
                            let server =
                                (start..start + count).map(|s| s % count).find(|s| *s != primary).unwrap_or(primary);
                            self.next_replica = (server + 1) % count;
                            server
                        }
                    }
                }
                ReadPolicy::LeastLoaded => {
                    // Fewest queries in the server (running or waiting); ties to the server
                    // after the last start, so equal servers share.
                    let state_start = self.next_replica;
                    let servers = &self.servers;
                    let load = |server: u32| {
                        let instance = &servers.instances[server as usize];
                        instance.occupied as usize + instance.queue.len()
                    };
                    let up = |server: u32| servers.instances[server as usize].down == 0;
                    let pick = (0..count)
                        .map(|offset| (state_start + offset) % count)
                        .filter(|s| up(*s))
                        .min_by_key(|s| load(*s))
                        .unwrap_or(primary);
                    self.next_replica = (state_start + 1) % count;
                    pick
                }
            }
        };
        kernel.frames[frame].instance = InstanceId::new(server);
        match regional {
            Some(regional) => self.cross_to_server(kernel, frame, regional),
            None => self.servers.arrive(kernel, frame),
        }
    }

    /// The query crosses from the caller's region to its server's, and the answer will come
    /// back; over the caller's own link when the server is in the node's region. Out of
    /// line: most databases are in one region.
    #[inline(never)]
    fn cross_to_server(&mut self, kernel: &mut Kernel, frame: FrameId, regional: RegionalLink) {
        let server_region = self.config.server_regions[kernel.frames[frame].instance.index()];
        let (there, back) = kernel.topology.crossing_to_server(regional, self.node.index(), server_region);
        kernel.frames[frame].reply_link = back;
        if kernel.faults.enabled {
            if let Some(timeout_ns) = kernel.partition_between_regions(regional.from_region, server_region, self.node) {
                kernel.events.schedule_in(timeout_ns, Event::Unreachable { frame });
                return;
            }
        }
        if there == NONE {
            self.servers.arrive(kernel, frame);
            return;
        }
        let delay_ns = kernel.sample_network(there);
        kernel.events.schedule_in(delay_ns, Event::timer(self.node, Timer::Resume { frame }));
    }

    /// The query that crossed to its server's region arrives there.
    #[inline(never)]
    fn arrive_across(&mut self, kernel: &mut Kernel, frame: FrameId) {
        kernel.frames[frame].arrived_ns = kernel.events.now_ns();
        self.servers.arrive(kernel, frame);
    }

    /// A read's server under `Nearest`: the nearest to `caller_region` of the servers up,
    /// a replica before the primary in one region, in turn among equals; with none up, the
    /// nearest all the same (which refuses it).
    fn nearest(&mut self, caller_region: u32) -> u32 {
        let count = 1 + self.config.replicas;
        let ranks = &self.region_ranks[(caller_region * count) as usize..][..count as usize];
        let (primary, start, servers) = (self.primary, self.next_replica, &self.servers);
        let nearness = |server: &u32| (ranks[*server as usize], *server == primary);
        let in_turn = (0..count).map(|offset| (start + offset) % count);
        let server = in_turn
            .clone()
            .filter(|server| servers.instances[*server as usize].down == 0)
            .min_by_key(nearness)
            .or_else(|| in_turn.min_by_key(nearness))
            .unwrap_or(primary);
        self.next_replica = (server + 1) % count;
        server
    }

    /// A query finishes on its server: a write commits and ships to the replicas (noting
    /// when each replica up applies it, in `apply_times`); a read reports the version it saw.
    /// Returns whether it was a write.
    fn complete(&mut self, kernel: &mut Kernel, frame: FrameId) -> bool {
        let now = kernel.events.now_ns();
        let (node, config) = (self.node, self.config);
        let request = kernel.frames[frame].request;
        let (key, class) = (kernel.requests[request].key, kernel.requests[request].class as usize);
        let server = kernel.frames[frame].instance.index();
        let measured = kernel.is_measured(kernel.frames[frame].arrived_ns);
        if config.write_classes.get(class).copied().unwrap_or(false) {
            let lag_sampler = config.lag_sampler;
            let sequence = kernel.commit_write(node, key);
            kernel.requests[request].committed = true;
            kernel.requests[request].read_version = sequence;
            let primary = self.primary as usize;
            self.apply_times.clear();
            for replica in (0..=config.replicas as usize).filter(|s| *s != primary) {
                let lag = if lag_sampler == NONE { 0 } else { kernel.sample_service(node, lag_sampler) };
                // A replica in another region: the commit crosses to it, and its
                // acknowledgement back (drawn from this node's own stream).
                let (there, back) = match config.server_regions.as_slice() {
                    [] => (0, 0),
                    regions => {
                        let (from, to) = (regions[primary], regions[replica]);
                        let crossing = |kernel: &mut Kernel, sampler: u32| {
                            if sampler == NONE {
                                0
                            } else {
                                kernel.sample_service(node, sampler)
                            }
                        };
                        let topology = kernel.topology;
                        let there = crossing(kernel, topology.regions.sampler(from, to));
                        (there, crossing(kernel, topology.regions.sampler(to, from)))
                    }
                };
                let log = &mut self.logs[replica];
                // What is due applies first (as a read there would apply it), so the log holds
                // only the commits still on their way: a replica that few reads or none reach
                // (a crashed old primary, one behind a policy that reads elsewhere) neither
                // grows its log for ever nor counts as a backlog the commits it has applied.
                apply_due(log, now);
                log.last_apply_ns = log.last_apply_ns.max(now + lag + there);
                log.pending.push_back((sequence, log.last_apply_ns));
                self.max_backlog = self.max_backlog.max(log.pending.len());
                if self.servers.instances[replica].down == 0 {
                    self.apply_times.push(log.last_apply_ns + back);
                }
            }
            if let Some(window_ns) = config.read_your_writes_ns {
                let past = |&written_ns: &u64| now - written_ns >= window_ns;
                self.last_write_ns.insert(kernel.requests[request].client, now, past);
            }
            if measured {
                self.counters[server].writes += 1;
            }
            return true;
        }
        let latest = kernel.latest_version(self.node, key);
        let version = if server == self.primary as usize {
            latest
        } else {
            let log = &mut self.logs[server];
            apply_due(log, now);
            // A commit of this key not yet applied here: the replica returns an older value.
            if latest > log.applied {
                log.applied
            } else {
                latest
            }
        };
        if measured {
            self.counters[server].reads += 1;
            self.counters[server].stale_reads += (version < latest) as u64;
        }
        kernel.requests[request].read_version = version;
        false
    }

    /// A database server went down: if it is the primary and the database fails over, a
    /// replica is promoted after the detection and promotion delays.
    pub(crate) fn primary_down(&mut self, kernel: &mut Kernel, server: InstanceId) {
        let (config, node) = (self.config, self.node);
        let failover = config.failover;
        let now = kernel.events.now_ns();
        if server.raw() != self.primary {
            return;
        }
        for log in &mut self.logs {
            apply_due(log, now);
            log.stranded.extend(log.pending.drain(..));
        }
        let Some(failover) = failover else { return };
        if self.failover_pending || config.replicas == 0 {
            return;
        }
        self.failover_pending = true;
        kernel.events.schedule_in(failover.detection_ns + failover.promotion_ns, Event::timer(node, Timer::Promote));
    }

    /// The failover: the live replica with the most commits received before the primary
    /// died becomes the primary; the commits still in flight to it when the primary died
    /// never arrive, and are lost.
    fn promote(&mut self, kernel: &mut Kernel) {
        let now = kernel.events.now_ns();
        let measured = kernel.measuring;
        let servers = &self.servers;
        let down: Vec<bool> = servers.instances.iter().map(|i| i.down > 0).collect();
        self.failover_pending = false;
        if !down[self.primary as usize] {
            return; // the primary came back before it was declared dead
        }
        let primary = self.primary as usize;
        let mut best: Option<usize> = None;
        for server in (0..self.logs.len()).filter(|s| *s != primary && !down[*s]) {
            apply_due(&mut self.logs[server], now);
            if best.is_none_or(|b| self.logs[server].applied > self.logs[b].applied) {
                best = Some(server);
            }
        }
        let Some(chosen) = best else { return };
        // The dead primary's unshipped commits are gone with it.
        let lost = self.logs[chosen].stranded.len() as u64;
        for log in &mut self.logs {
            log.stranded.clear();
        }
        self.demoted[primary] = true;
        self.primary = chosen as u32;
        if measured {
            self.promotions += 1;
            self.lost_writes += lost;
        }
    }

    /// A database server is back: a former primary rejoins as a replica, resynchronised.
    pub(crate) fn server_back(&mut self, kernel: &mut Kernel, server: InstanceId) {
        let now = kernel.events.now_ns();
        let sequence = kernel.commit_sequence;
        if server.raw() == self.primary {
            // The primary is back before any promotion: it ships what it had not shipped.
            for log in &mut self.logs {
                for (sequence, _) in log.stranded.drain(..) {
                    log.pending.push_back((sequence, now));
                }
                log.last_apply_ns = log.last_apply_ns.max(now);
            }
            return;
        }
        if self.demoted[server.index()] {
            self.demoted[server.index()] = false;
            let log = &mut self.logs[server.index()];
            log.pending.clear();
            log.applied = sequence;
            log.last_apply_ns = now;
        }
    }
}

impl Model for DatabaseModel<'_> {
    fn arrive(&mut self, kernel: &mut Kernel, frame: FrameId) {
        self.route(kernel, frame);
    }

    fn reply(&mut self, kernel: &mut Kernel, frame: FrameId) {
        program::reply(self, kernel, frame);
    }

    fn timer(&mut self, kernel: &mut Kernel, timer: Timer) {
        match timer {
            Timer::PsDone { .. } => self.servers.timer(kernel, timer),
            Timer::Promote => self.promote(kernel),
            // A semi-synchronous write's acknowledgements are in (unless its server crashed
            // meanwhile: the crash answered it, and it only needs freeing).
            Timer::Resume { frame } if kernel.frames[frame].killed => kernel.free_frame(frame),
            // A query that crossed to its server's region arrives there.
            Timer::Resume { frame } if !kernel.frames[frame].admitted => self.arrive_across(kernel, frame),
            Timer::Resume { frame } => self.finish(kernel, frame, Outcome::Completed, self.node),
            Timer::Visibility { .. }
            | Timer::ContainerExpire { .. }
            | Timer::Reshard { .. }
            | Timer::Rebalance { .. }
            | Timer::Redeliver { .. } => misrouted(kernel),
        }
    }

    fn release(&mut self, kernel: &mut Kernel, frame: FrameId) {
        self.servers.release(kernel, frame);
    }

    fn reset(&mut self, now: u64) {
        self.servers.reset(now);
        self.counters.iter_mut().for_each(|c| *c = Default::default());
        self.max_backlog = 0;
        self.promotions = 0;
        self.lost_writes = 0;
        self.sticky_reads = 0;
    }

    fn figures(&self, _topology: &Topology, _span: Span) -> ComponentFigures {
        ComponentFigures::section(self.report())
    }
}

impl Program for DatabaseModel<'_> {
    fn work(&mut self, kernel: &mut Kernel, frame: FrameId, work_ns: u64) {
        self.servers.work(kernel, frame, work_ns);
    }

    fn respond(&mut self, kernel: &mut Kernel, frame: FrameId) {
        let is_write = self.complete(kernel, frame);
        let acks = self.config.acks as usize;
        if acks > 0 && is_write {
            // Semi-synchronous: the write holds its connection until its acks-th replica
            // has applied it, or until the timeout (MySQL's fallback to asynchronous); a
            // synchronous write without enough replicas up waits until a caller gives up.
            let now = kernel.events.now_ns();
            let acked_ns = (self.apply_times.len() >= acks).then(|| {
                self.apply_times.select_nth_unstable(acks - 1);
                self.apply_times[acks - 1]
            });
            let limit_ns = self.config.ack_timeout_ns.map(|timeout| now.saturating_add(timeout));
            let Some(answer_ns) = acked_ns.into_iter().chain(limit_ns).min() else { return };
            if answer_ns > now {
                let node = self.node;
                kernel.events.schedule_in(answer_ns - now, Event::timer(node, Timer::Resume { frame }));
                return;
            }
        }
        self.finish(kernel, frame, Outcome::Completed, self.node);
    }
}

impl DatabaseModel<'_> {
    /// The database's report section: reads, writes and stale reads per server and in all.
    pub(crate) fn report(&self) -> ComponentSection {
        let servers: Vec<ServerReport> = self
            .counters
            .iter()
            .enumerate()
            .map(|(index, c)| ServerReport {
                // Roles at the end of the run: after a failover, the promoted replica is
                // the primary and the old primary a replica.
                role: if index == self.primary as usize { "primary".into() } else { format!("replica-{index}") },
                reads: c.reads,
                writes: c.writes,
                stale_reads: c.stale_reads,
            })
            .collect();
        let reads: u64 = servers.iter().map(|s| s.reads).sum();
        let stale_reads: u64 = servers.iter().map(|s| s.stale_reads).sum();
        ComponentSection::Database(DatabaseReport {
            reads,
            writes: servers.iter().map(|s| s.writes).sum(),
            stale_reads,
            stale_read_ratio: (reads > 0).then(|| stale_reads as f64 / reads as f64),
            max_replication_backlog: self.max_backlog as u64,
            sticky_reads: self.sticky_reads,
            servers,
        })
    }

    /// Its promotions, the writes lost with them, and the server that is primary at the end.
    pub(crate) fn failover_report(&self) -> crate::report::FailoverReport {
        crate::report::FailoverReport {
            promotions: self.promotions,
            lost_writes: self.lost_writes,
            primary_at_end: self.primary,
        }
    }
}
