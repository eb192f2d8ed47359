//! Databases: writes go to the primary and commit a new version of their key; replicas
//! apply commits in order after a replication lag; reads go where the read policy says, and
//! a read on a replica that has not yet applied the key's latest commit is a stale read.

use super::{ComponentState, Simulation};
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
    pub replicas: Vec<ReplicaLog>,
    /// Per server (0 is the primary).
    pub counters: Vec<ServerCounters>,
    next_replica: u32,
    /// Most commits waiting to apply on one replica at any time (replication backlog).
    pub max_backlog: usize,
}

impl DatabaseState {
    pub fn new(config: &DatabaseConfig) -> Self {
        Self {
            replicas: (0..config.replicas).map(|_| ReplicaLog::default()).collect(),
            counters: vec![ServerCounters::default(); 1 + config.replicas as usize],
            next_replica: 0,
            max_backlog: 0,
        }
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

    /// A query arrives: writes to the primary, reads by the read policy; then it waits for
    /// a connection of that server.
    pub(crate) fn database_arrive(&mut self, frame: u32) {
        let node = self.frames[frame].node;
        let config = database_config(self.topology, node);
        let class = self.requests[self.frames[frame].request].class as usize;
        let is_write = config.write_classes.get(class).copied().unwrap_or(false);
        let server = if is_write || config.replicas == 0 {
            0
        } else {
            match config.read_policy {
                ReadPolicy::PrimaryOnly => 0,
                ReadPolicy::RoundRobin => {
                    let replicas = config.replicas;
                    let state = self.database_state(node);
                    let replica = state.next_replica;
                    state.next_replica = (replica + 1) % replicas;
                    1 + replica
                }
                ReadPolicy::LeastLoaded => {
                    // Fewest queries in the server (running or waiting); ties to the server
                    // after the last start, so equal servers share.
                    let count = 1 + config.replicas;
                    let state = self.database_state(node);
                    let start = state.next_replica;
                    state.next_replica = (start + 1) % count;
                    let servers = self.services[node as usize].as_ref().expect("database servers");
                    let load = |server: u32| {
                        let instance = &servers.instances[server as usize];
                        instance.occupied as usize + instance.queue.len()
                    };
                    (0..count).map(|offset| (start + offset) % count).min_by_key(|s| load(*s)).unwrap_or(0)
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
            for replica in 0..config.replicas as usize {
                let lag = if lag_sampler == NONE { 0 } else { self.sample_service(node, lag_sampler) };
                let state = self.database_state(node);
                let log = &mut state.replicas[replica];
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
        let version = if server == 0 {
            latest
        } else {
            let log = &mut state.replicas[server - 1];
            while let Some(&(sequence, apply_ns)) = log.pending.front() {
                if apply_ns > now {
                    break;
                }
                log.applied = sequence;
                log.pending.pop_front();
            }
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
