//! Validation of the stores: databases (a primary, read replicas, replication and its
//! lag, failover, the query program) and sharded stores (the shard list, quorum replication).

use super::{Compiler, Validator, MAX_INSTANCES, MAX_WORKERS};
use crate::error::SpecError;
use crate::ids::{InstanceId, NodeId};
use crate::spec::*;
use crate::topology::graph::EdgeKind;
use crate::topology::*;

impl Validator<'_> {
    pub(super) fn database(
        &self,
        key: &str,
        database: &RawDatabase,
        classes: &[String],
        (regions, region): (&Regions, u32),
        compiler: &mut Compiler,
    ) -> Result<DatabaseConfig, SpecError> {
        let server_regions = if database.replica_regions.is_empty() {
            if database.read_policy == ReadPolicy::Nearest {
                return Err(self.invalid(
                    format!("database {key} reads from the nearest server, but all its servers are in one region"),
                    &["nodes", key, "read_policy"],
                    "place its replicas with replica_regions: [\"us-east\", \"eu-west\"] (one region per replica), or read with RoundRobin",
                ));
            }
            Vec::new()
        } else {
            let anchors = ["nodes", key, "replica_regions"];
            if database.replica_regions.len() != database.replicas as usize {
                return Err(self.invalid(
                    format!(
                        "database {key} has {} replicas but {} replica regions",
                        database.replicas,
                        database.replica_regions.len()
                    ),
                    &anchors,
                    "give one region per replica, in order, or leave replica_regions out",
                ));
            }
            if region == NONE {
                return Err(self.invalid(
                    format!("database {key} places its replicas in regions but is in none itself"),
                    &anchors,
                    "place the database (its primary) in a region: region: \"us-east\", or in regions.placement",
                ));
            }
            let mut server_regions = vec![region];
            for name in &database.replica_regions {
                server_regions.push(self.region_id(regions, name, &anchors)?);
            }
            server_regions
        };
        if database.connections == 0 || database.connections > MAX_WORKERS {
            return Err(self.invalid(
                format!("database {key} has {} connections", database.connections),
                &["nodes", key, "connections"],
                &format!("give between 1 and {MAX_WORKERS} connections per server"),
            ));
        }
        if database.replicas >= MAX_INSTANCES {
            return Err(self.invalid(
                format!("database {key} has {} replicas", database.replicas),
                &["nodes", key, "replicas"],
                &format!("give fewer than {MAX_INSTANCES} replicas"),
            ));
        }
        let write_classes = self.class_set(key, &database.writes, classes, "writes")?;
        let write = self.sampler(&database.write, compiler, &["nodes", key, "write"])?;
        let read = self.sampler(&database.read, compiler, &["nodes", key, "read"])?;
        let lag_sampler =
            self.optional_sampler(&database.replication_lag, compiler, &["nodes", key, "replication_lag"])?;
        let (acks, ack_timeout_ns) = match database.replication {
            crate::spec::RawReplication::Async => (0, None),
            crate::spec::RawReplication::Sync => (database.replicas, None),
            crate::spec::RawReplication::SemiSync { acks, timeout } => {
                if acks == 0 || acks > database.replicas {
                    return Err(self.invalid(
                        format!(
                            "database {key} waits for {acks} replica acknowledgements of its {}",
                            database.replicas
                        ),
                        &["nodes", key, "replication:"],
                        "give acks from 1 to the number of replicas (Sync waits for all, Async for none)",
                    ));
                }
                (acks, Some(timeout.map_or(10_000_000_000, |t| t.ns)))
            }
        };
        if database.read_your_writes.is_some_and(|window| window.ns == 0) {
            return Err(self.invalid(
                format!("database {key} has a read-your-writes window of 0 s"),
                &["nodes", key, "read_your_writes"],
                "give how long a client's reads stay on the primary after its write, such as \"5s\", or leave it out",
            ));
        }
        // The query program: a write or a read, by class.
        let table = compiler.class_tables.len() as u32;
        let entry_pc = compiler.code.len() as u32;
        compiler.code.push(Instr::ByClass { table });
        let write_pc = compiler.code.len() as u32;
        compiler.code.extend([Instr::Work(write), Instr::Respond]);
        let read_pc = compiler.code.len() as u32;
        compiler.code.extend([Instr::Work(read), Instr::Respond]);
        compiler.class_tables.extend(write_classes.iter().map(|w| if *w { write_pc } else { read_pc }));
        Ok(DatabaseConfig {
            servers: ServiceConfig {
                instances: 1 + database.replicas,
                workers: database.connections,
                queue_capacity: database.queue,
                discipline: Discipline::Fifo,
                timeout_ns: None,
                entry_pc,
                autoscaling: None,
                role: ServiceRole::Database,
                call_policies: Vec::new(),
                shed_above: None,
                drop_expired: false,
                bulkheads: Vec::new(),
                concurrency_limit: None,
            },
            failover: database.failover.as_ref().map(|raw| self.failover(raw)),
            acks,
            ack_timeout_ns,
            read_your_writes_ns: database.read_your_writes.map(|window| window.ns),
            replicas: database.replicas,
            write_classes,
            lag_sampler,
            read_policy: database.read_policy,
            server_regions,
        })
    }

    pub(super) fn sharded(
        &self,
        node: NodeId,
        key: &str,
        sharded: &RawSharded,
        classes: &[String],
        compiler: &mut Compiler,
    ) -> Result<LoadBalancerConfig, SpecError> {
        if sharded.shards.is_empty() {
            return Err(self.invalid(
                format!("sharded store {key} has no shards"),
                &["nodes", key, "shards"],
                "list the shard nodes, such as shards: [\"shard-0\", \"shard-1\"]",
            ));
        }
        let mut targets: Vec<(NodeId, InstanceId)> = Vec::new();
        let initial = self.shard_list(node, key, &sharded.shards, &["nodes", key, "shards"], &mut targets, compiler)?;
        let mut steps = Vec::with_capacity(sharded.reshard.len());
        let mut previous_ns = 0;
        for (index, step) in sharded.reshard.iter().enumerate() {
            let at = index.to_string();
            let anchors = ["nodes", key, "reshard", at.as_str()];
            if step.at.ns <= previous_ns {
                return Err(self.invalid_at(
                    &format!("nodes.{}.reshard.{index}", key.trim_matches('"')),
                    format!(
                        "sharded store {key} reshards at {} s, not after its previous shard list",
                        step.at.ns as f64 / 1e9
                    ),
                    &anchors,
                    "give each reshard step a later time than the one before, and the first one after 0",
                ));
            }
            previous_ns = step.at.ns;
            if step.shards.is_empty() {
                return Err(self.invalid_at(
                    &format!("nodes.{}.reshard.{index}", key.trim_matches('"')),
                    format!("sharded store {key} reshards to no shards"),
                    &anchors,
                    "list the shards the store has from then on, such as shards: [\"shard-0\", \"shard-1\"]",
                ));
            }
            let assigned = self.shard_list(node, key, &step.shards, &anchors, &mut targets, compiler)?;
            steps.push(ReshardStep { at_ns: step.at.ns, assigned });
        }
        // Every list marks every target: the later lists' new shards are targets too.
        let mut initial = initial;
        initial.resize(targets.len(), false);
        for step in &mut steps {
            step.assigned.resize(targets.len(), false);
        }
        let resharding = (!steps.is_empty()).then(|| Box::new(Resharding { initial, steps }));
        let quorum = self.quorum_replication(key, sharded, targets.len(), classes)?;
        let algorithm = match sharded.partitioning {
            RawPartitioning::HashModulo => Algorithm::HashKey,
            RawPartitioning::ConsistentHash { virtual_nodes } => {
                self.check_virtual_nodes(key, virtual_nodes, "partitioning")?;
                Algorithm::ConsistentHash { virtual_nodes }
            }
        };
        Ok(LoadBalancerConfig {
            algorithm,
            target_weights: vec![1; targets.len()],
            targets,
            latency_sampler: NONE,
            ring: Vec::new(),
            role: BalancerRole::ShardRouter,
            health_check: None,
            failback: true,
            dns_ttl_ns: None,
            resharding,
            quorum,
        })
    }

    /// A sharded store's leaderless replication, checked against its shards.
    pub(super) fn quorum_replication(
        &self,
        key: &str,
        sharded: &RawSharded,
        shards: usize,
        classes: &[String],
    ) -> Result<Option<Box<QuorumReplication>>, SpecError> {
        let Some(replication) = sharded.replication else {
            if !sharded.writes.is_empty() {
                return Err(self.invalid(
                    format!("sharded store {key} lists writes but has no replication"),
                    &["nodes", key, "writes"],
                    "writes tell a replicated store's reads from its writes: add replication: Quorum(n: 3, read: 2, write: 2), or leave writes out",
                ));
            }
            return Ok(None);
        };
        let anchors = ["nodes", key, "replication"];
        let n = replication.n;
        if n == 0 || n as usize > shards || n as usize > MAX_REPLICATION {
            return Err(self.invalid(
                format!("sharded store {key} keeps {n} replicas of each key on {shards} shards"),
                &anchors,
                &format!("give n between 1 and the number of shards (at most {MAX_REPLICATION})"),
            ));
        }
        for (field, quorum) in [("read", replication.read), ("write", replication.write)] {
            if quorum == 0 || quorum > n {
                return Err(self.invalid(
                    format!("sharded store {key} waits for {quorum} of {n} replicas to {field}"),
                    &["nodes", key, "replication", field],
                    &format!("give a {field} quorum between 1 and n ({n}); read + write > n makes every read see the last acknowledged write"),
                ));
            }
        }
        if !sharded.reshard.is_empty() {
            return Err(self.invalid(
                format!("sharded store {key} both replicates and reshards"),
                &["nodes", key, "reshard"],
                "resharding a replicated store is not modelled: drop one of replication and reshard",
            ));
        }
        Ok(Some(Box::new(QuorumReplication {
            n,
            read: replication.read,
            write: replication.write,
            hinted_handoff: replication.hinted_handoff,
            write_classes: self.class_set(key, &sharded.writes, classes, "writes")?,
        })))
    }

    /// Resolves one of a sharded store's shard lists, adding shards not seen before to
    /// `targets`; returns which targets the list names.
    pub(super) fn shard_list(
        &self,
        node: NodeId,
        key: &str,
        shards: &[String],
        anchors: &[&str],
        targets: &mut Vec<(NodeId, InstanceId)>,
        compiler: &mut Compiler,
    ) -> Result<Vec<bool>, SpecError> {
        let mut named = vec![false; targets.len()];
        for shard in shards {
            let id = self.node_id(shard, anchors, &format!("sharded store {key}"))?;
            let index = match targets.iter().position(|(t, _)| *t == id) {
                Some(index) => index,
                None => {
                    Self::edge(compiler, node, id, EdgeKind::Balance, vec![]);
                    targets.push((id, InstanceId::NONE));
                    named.push(false);
                    targets.len() - 1
                }
            };
            if named[index] {
                return Err(self.invalid(
                    format!("sharded store {key} lists shard \"{shard}\" twice"),
                    anchors,
                    "list each shard once",
                ));
            }
            named[index] = true;
        }
        Ok(named)
    }
}
