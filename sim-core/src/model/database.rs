//! Databases: writes go to the primary and commit a new version of their key; replicas
//! apply commits in order after a replication lag; reads go where the read policy says, and
//! a read on a replica that has not yet applied the key's latest commit is a stale read.

use super::{ComponentState, Simulation};
use crate::report::{ComponentSection, DatabaseReport, ServerReport};
use crate::topology::{DatabaseConfig, NodeKind, ReadPolicy, Topology, NONE};
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

/// Run-time state of a database besides its servers' queues.
#[derive(Debug)]
pub(crate) struct DatabaseState {
    /// Per server: its replication log (unused while it is the primary).
    pub logs: Vec<ReplicaLog>,
    /// Per server (0 is the first primary).
    pub counters: Vec<ServerCounters>,
    next_replica: u32,
    /// Most commits waiting to apply on one replica at any time (replication backlog).
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
}

impl DatabaseState {
    pub fn new(config: &DatabaseConfig) -> Self {
        let servers = 1 + config.replicas as usize;
        Self {
            logs: (0..servers).map(|_| ReplicaLog::default()).collect(),
            counters: vec![ServerCounters::default(); servers],
            next_replica: 0,
            max_backlog: 0,
            primary: 0,
            failover_pending: false,
            demoted: vec![false; servers],
            promotions: 0,
            lost_writes: 0,
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

fn database_config(topology: &Topology, node: u32) -> &DatabaseConfig {
    match &topology.nodes[node as usize].kind {
        NodeKind::Database(config) => config,
        _ => unreachable!("node {node} is not a database"),
    }
}

impl Simulation<'_> {
    fn database_state(&mut self, node: u32) -> &mut DatabaseState {
        match &mut self.components[node as usize] {
            ComponentState::Database(state) => state,
            _ => unreachable!("node {node} is not a database"),
        }
    }

    /// A query arrives: writes to the primary, reads by the read policy (around servers
    /// the driver knows are down); then it waits for a connection of that server.
    pub(crate) fn database_arrive(&mut self, frame: u32) {
        let node = self.frames[frame].node;
        let config = database_config(self.topology, node);
        let class = self.requests[self.frames[frame].request].class as usize;
        let is_write = config.write_classes.get(class).copied().unwrap_or(false);
        let count = 1 + config.replicas;
        let primary = self.database_state(node).primary;
        let server = if is_write || config.replicas == 0 {
            primary
        } else {
            match config.read_policy {
                ReadPolicy::PrimaryOnly => primary,
                ReadPolicy::RoundRobin => {
                    let start = self.database_state(node).next_replica;
                    let servers = self.services[node as usize].as_ref().expect("database servers");
                    let usable = |server: u32| server != primary && servers.instances[server as usize].down == 0;
                    let pick = (0..count).map(|offset| (start + offset) % count).find(|s| usable(*s));
                    let state = self.database_state(node);
                    match pick {
                        Some(server) => {
                            state.next_replica = (server + 1) % count;
                            server
                        }
                        None => {
                            // No replica is up: the read goes to a replica all the same
                            // (and is refused), as the driver has nowhere else to send it.
                            let server =
                                (start..start + count).map(|s| s % count).find(|s| *s != primary).unwrap_or(primary);
                            state.next_replica = (server + 1) % count;
                            server
                        }
                    }
                }
                ReadPolicy::LeastLoaded => {
                    // Fewest queries in the server (running or waiting); ties to the server
                    // after the last start, so equal servers share.
                    let state_start = self.database_state(node).next_replica;
                    let servers = self.services[node as usize].as_ref().expect("database servers");
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
                    self.database_state(node).next_replica = (state_start + 1) % count;
                    pick
                }
            }
        };
        self.frames[frame].instance = server;
        self.service_arrive(frame);
    }

    /// A query finishes on its server: a write commits and ships to the replicas; a read
    /// reports the version it saw.
    pub(crate) fn database_complete(&mut self, frame: u32) {
        let now = self.events.now_ns();
        let node = self.frames[frame].node;
        let config = database_config(self.topology, node);
        let request = self.frames[frame].request;
        let (key, class) = (self.requests[request].key, self.requests[request].class as usize);
        let server = self.frames[frame].instance as usize;
        let measured = self.is_measured(self.frames[frame].arrived_ns);
        if config.write_classes.get(class).copied().unwrap_or(false) {
            let lag_sampler = config.lag_sampler;
            let sequence = self.commit_write(key);
            self.requests[request].committed = true;
            self.requests[request].read_version = sequence;
            let primary = self.database_state(node).primary as usize;
            for replica in (0..=config.replicas as usize).filter(|s| *s != primary) {
                let lag = if lag_sampler == NONE { 0 } else { self.sample_service(node, lag_sampler) };
                let state = self.database_state(node);
                let log = &mut state.logs[replica];
                log.last_apply_ns = log.last_apply_ns.max(now + lag);
                log.pending.push_back((sequence, log.last_apply_ns));
                state.max_backlog = state.max_backlog.max(log.pending.len());
            }
            if measured {
                self.database_state(node).counters[server].writes += 1;
            }
            return;
        }
        let latest = self.latest_version(key);
        let state = self.database_state(node);
        let version = if server == state.primary as usize {
            latest
        } else {
            let log = &mut state.logs[server];
            apply_due(log, now);
            // A commit of this key not yet applied here: the replica returns an older value.
            if latest > log.applied {
                log.applied
            } else {
                latest
            }
        };
        if measured {
            state.counters[server].reads += 1;
            state.counters[server].stale_reads += (version < latest) as u64;
        }
        self.requests[request].read_version = version;
    }
}

impl Simulation<'_> {
    /// A database server went down: if it is the primary and the database fails over, a
    /// replica is promoted after the detection and promotion delays.
    pub(crate) fn database_primary_down(&mut self, node: u32, server: u32) {
        let NodeKind::Database(config) = &self.topology.nodes[node as usize].kind else { return };
        let failover = config.failover;
        let now = self.events.now_ns();
        let state = self.database_state(node);
        if server != state.primary {
            return;
        }
        for log in &mut state.logs {
            apply_due(log, now);
            log.stranded.extend(log.pending.drain(..));
        }
        let Some(failover) = failover else { return };
        if state.failover_pending || config.replicas == 0 {
            return;
        }
        state.failover_pending = true;
        self.events.schedule_in(failover.detection_ns + failover.promotion_ns, super::Event::Promote { node });
    }

    /// The failover: the live replica with the most commits received before the primary
    /// died becomes the primary; the commits still in flight to it when the primary died
    /// never arrive, and are lost.
    pub(crate) fn on_promote(&mut self, node: u32) {
        let now = self.events.now_ns();
        let measured = self.measuring;
        let servers = self.services[node as usize].as_ref().expect("database servers");
        let down: Vec<bool> = servers.instances.iter().map(|i| i.down > 0).collect();
        let state = self.database_state(node);
        state.failover_pending = false;
        if !down[state.primary as usize] {
            return; // the primary came back before it was declared dead
        }
        let primary = state.primary as usize;
        let mut best: Option<usize> = None;
        for server in (0..state.logs.len()).filter(|s| *s != primary && !down[*s]) {
            apply_due(&mut state.logs[server], now);
            if best.is_none_or(|b| state.logs[server].applied > state.logs[b].applied) {
                best = Some(server);
            }
        }
        let Some(chosen) = best else { return };
        // The dead primary's unshipped commits are gone with it.
        let lost = state.logs[chosen].stranded.len() as u64;
        for log in &mut state.logs {
            log.stranded.clear();
        }
        state.demoted[primary] = true;
        state.primary = chosen as u32;
        if measured {
            state.promotions += 1;
            state.lost_writes += lost;
        }
    }

    /// A database server is back: a former primary rejoins as a replica, resynchronised.
    pub(crate) fn database_server_back(&mut self, node: u32, server: u32) {
        if !matches!(self.topology.nodes[node as usize].kind, NodeKind::Database(_)) {
            return;
        }
        let now = self.events.now_ns();
        let sequence = self.commit_sequence;
        let state = self.database_state(node);
        if server == state.primary {
            // The primary is back before any promotion: it ships what it had not shipped.
            for log in &mut state.logs {
                for (sequence, _) in log.stranded.drain(..) {
                    log.pending.push_back((sequence, now));
                }
                log.last_apply_ns = log.last_apply_ns.max(now);
            }
            return;
        }
        if state.demoted[server as usize] {
            state.demoted[server as usize] = false;
            let log = &mut state.logs[server as usize];
            log.pending.clear();
            log.applied = sequence;
            log.last_apply_ns = now;
        }
    }
}

impl DatabaseState {
    /// The database's report section: reads, writes and stale reads per server and in all.
    pub(crate) fn report(&self) -> ComponentSection {
        let servers: Vec<ServerReport> = self
            .counters
            .iter()
            .enumerate()
            .map(|(index, c)| ServerReport {
                role: if index == 0 { "primary".into() } else { format!("replica-{index}") },
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
