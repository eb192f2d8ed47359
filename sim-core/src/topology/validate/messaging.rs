//! Validation of messaging: work queues (their handler, consumers and visibility timeout)
//! and partitioned logs (partitions and consumer groups).

use super::{Compiler, Validator, MAX_INSTANCES, MAX_WORKERS};
use crate::error::SpecError;
use crate::ids::NodeId;
use crate::spec::*;
use crate::topology::graph::EdgeKind;
use crate::topology::*;

/// Most retries of a failed message a consumer group may make.
const MAX_GROUP_RETRIES: u32 = 1000;

impl Validator<'_> {
    pub(super) fn work_queue(
        &self,
        node: NodeId,
        key: &str,
        queue: &RawWorkQueue,
        compiler: &mut Compiler,
    ) -> Result<WorkQueueConfig, SpecError> {
        let handler = self.node_id(&queue.handler, &["nodes", key, "handler"], &format!("work queue {key}"))?;
        if queue.consumers == 0 || queue.consumers > MAX_WORKERS {
            return Err(self.invalid(
                format!("work queue {key} has {} consumers", queue.consumers),
                &["nodes", key, "consumers"],
                &format!("give between 1 and {MAX_WORKERS} consumers"),
            ));
        }
        if queue.capacity == Some(0) {
            return Err(self.invalid(
                format!("work queue {key} has a capacity of 0"),
                &["nodes", key, "capacity"],
                "give a positive capacity, or leave it out for an unbounded queue",
            ));
        }
        if queue.when_full != WhenFull::Reject && queue.capacity.is_none() {
            return Err(self.invalid(
                format!("work queue {key} says when_full: {:?} but has no capacity", queue.when_full),
                &["nodes", key, "when_full"],
                "give a capacity, or leave when_full out",
            ));
        }
        if queue.max_deliveries == 0 {
            return Err(self.invalid(
                format!("work queue {key} has max_deliveries 0"),
                &["nodes", key, "max_deliveries"],
                "a message is delivered at least once: give at least 1",
            ));
        }
        if queue.visibility_timeout.is_some_and(|t| t.ns == 0) {
            return Err(self.invalid(
                format!("work queue {key} has a visibility_timeout of 0"),
                &["nodes", key, "visibility_timeout"],
                "give a positive timeout, or leave it out",
            ));
        }
        let publish_sampler = self.optional_sampler(&queue.publish, compiler, &["nodes", key, "publish"])?;
        Self::edge(compiler, node, handler, EdgeKind::Async, vec![]);
        Ok(WorkQueueConfig {
            capacity: queue.capacity,
            when_full: queue.when_full,
            consumers: queue.consumers,
            handler,
            publish_sampler,
            visibility_timeout_ns: queue.visibility_timeout.map(|t| t.ns),
            retry_delay_ns: queue.retry_delay.map_or(0, |t| t.ns),
            max_deliveries: queue.max_deliveries,
        })
    }

    pub(super) fn log(
        &self,
        node: NodeId,
        key: &str,
        log: &RawLog,
        compiler: &mut Compiler,
    ) -> Result<LogConfig, SpecError> {
        if log.partitions == 0 || log.partitions > MAX_INSTANCES {
            return Err(self.invalid(
                format!("log {key} has {} partitions", log.partitions),
                &["nodes", key, "partitions"],
                &format!("give between 1 and {MAX_INSTANCES} partitions"),
            ));
        }
        if log.groups.is_empty() {
            return Err(self.invalid(
                format!("log {key} has no consumer groups"),
                &["nodes", key, "groups"],
                "add a group: groups: [Group(name: \"indexer\", handler: \"indexer\")]",
            ));
        }
        let retention_ns = self.check_ttl(key, log.retention).map_err(|_| {
            self.invalid(
                format!("log {key} has a retention of 0"),
                &["nodes", key, "retention"],
                "give a positive retention, or leave it out",
            )
        })?;
        let mut groups: Vec<(String, NodeId)> = Vec::new();
        let mut group_consumers = Vec::new();
        let (mut group_changes, mut group_rebalance_ns, mut group_retries) = (Vec::new(), Vec::new(), Vec::new());
        let bare = key.trim_matches('"');
        for (group_index, group) in log.groups.iter().enumerate() {
            let consumers = group.consumers.unwrap_or(log.partitions);
            let quoted = format!("\"{}\"", group.name);
            let counts = std::iter::once((consumers, "consumers".to_string()))
                .chain(group.changes.iter().enumerate().map(|(i, c)| (c.consumers, format!("changes.{i}.consumers"))));
            for (count, field) in counts {
                if count == 0 || count > MAX_INSTANCES {
                    return Err(self.invalid_at(
                        &format!("nodes.{bare}.groups.{group_index}.{field}"),
                        format!("log {key}'s group {quoted} has {count} consumers"),
                        &["nodes", key, "groups", &quoted, "consumers"],
                        &format!("give between 1 and {MAX_INSTANCES} consumers, or leave it out for one per partition"),
                    ));
                }
            }
            let mut previous_ns = 0;
            for (index, change) in group.changes.iter().enumerate() {
                if change.at.ns <= previous_ns {
                    return Err(self.invalid_at(
                        &format!("nodes.{bare}.groups.{group_index}.changes.{index}"),
                        format!(
                            "log {key}'s group {quoted} changes at {} s, not after its previous change",
                            change.at.ns as f64 / 1e9
                        ),
                        &["nodes", key, "groups", &quoted, "changes"],
                        "give each change a later time than the one before, and the first one after 0",
                    ));
                }
                previous_ns = change.at.ns;
            }
            group_consumers.push(consumers);
            group_changes.push(group.changes.iter().map(|change| (change.at.ns, change.consumers)).collect());
            group_rebalance_ns.push(group.rebalance.map_or(0, |pause| pause.ns));
            if group.retries > MAX_GROUP_RETRIES {
                return Err(self.invalid_at(
                    &format!("nodes.{bare}.groups.{group_index}.retries"),
                    format!("log {key}'s group {quoted} retries a failed message {} times", group.retries),
                    &["nodes", key, "groups", &quoted, "retries"],
                    &format!("give at most {MAX_GROUP_RETRIES} retries (a message that fails that often is skipped)"),
                ));
            }
            group_retries.push((group.retries, group.retry_delay.map_or(0, |delay| delay.ns)));
            if groups.iter().any(|(name, _)| *name == group.name) {
                return Err(self.invalid(
                    format!("log {key} has two groups named \"{}\"", group.name),
                    &["nodes", key, "groups", &format!("\"{}\"", group.name)],
                    "give each consumer group its own name",
                ));
            }
            let handler = self.node_id(&group.handler, &["nodes", key, "groups", "handler"], &format!("log {key}"))?;
            Self::edge(compiler, node, handler, EdgeKind::Async, vec![]);
            groups.push((group.name.clone(), handler));
        }
        let append_sampler = self.optional_sampler(&log.append, compiler, &["nodes", key, "append"])?;
        Ok(LogConfig {
            partitions: log.partitions,
            retention_ns,
            groups,
            group_consumers,
            group_changes,
            group_rebalance_ns,
            group_retries,
            append_sampler,
        })
    }
}
