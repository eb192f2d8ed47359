//! The report as readable text: the default output of `archsim run`.

use super::{BulkheadReport, ComponentSection, LatencyReport, NodeReport, Report, RequestsReport};
use std::fmt::Write;

pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    let stop = match (report.run.duration_s, report.run.requests) {
        (Some(duration), _) if report.run.drain => format!("duration {}s, then drain", trim(duration)),
        (Some(duration), _) => format!("duration {}s", trim(duration)),
        (None, Some(count)) => format!("{count} requests, then drain"),
        (None, None) => "unknown".into(),
    };
    let _ = writeln!(out, "seed {}  stop: {}  warm-up: {}s", report.seed, stop, trim(report.run.warmup_s));
    let _ = writeln!(out, "simulated {}s in {} events", trim(report.sim_time_s), report.events);
    if report.unstable {
        let _ = writeln!(out, "\nUNSTABLE:");
        for reason in &report.instability {
            let _ = writeln!(out, "  - {reason}");
        }
    }
    if !report.warnings.is_empty() {
        let _ = writeln!(out, "\nWARNING:");
        for warning in &report.warnings {
            let _ = writeln!(out, "  - {warning}");
        }
    }
    if let Some(bottleneck) = &report.bottleneck {
        bottleneck_line(&mut out, bottleneck);
    }
    if !report.overloads.is_empty() {
        let _ = writeln!(out, "\noverloaded for part of the run:");
        for overload in &report.overloads {
            let _ = writeln!(out, "  - {}", overload.summary);
        }
    }
    if !report.stale_reads.is_empty() {
        let _ = writeln!(out, "\nstale reads:");
        for line in &report.stale_reads {
            let _ = writeln!(out, "  - {line}");
        }
    }
    let _ = writeln!(out, "\nrequests (after warm-up)");
    requests_table(&mut out, &[("all", &report.requests)]);
    if let Some(availability) = report.availability {
        let _ = writeln!(
            out,
            "availability {:.4}%   throughput {}/s",
            availability * 100.0,
            throughput_text(report.throughput_per_s)
        );
    }
    let _ = writeln!(out, "\nend-to-end latency of completed requests");
    let mut latency_rows = vec![("all".to_string(), report.latency_s.clone())];
    if report.classes.len() > 1 {
        latency_rows.extend(report.classes.iter().map(|(name, class)| (name.clone(), class.latency_s.clone())));
    }
    if report.workloads.len() > 1 {
        latency_rows.extend(
            report.workloads.iter().map(|(name, workload)| (format!("workload {name}"), workload.latency_s.clone())),
        );
    }
    latency_table(&mut out, &latency_rows);
    within_lines(&mut out, report);
    if let (Some(mean), Some(p50), Some(p99)) = (report.slowdown.mean, report.slowdown.p50, report.slowdown.p99) {
        let _ =
            writeln!(out, "  slowdown (latency ÷ the request's own work): mean {mean:.2}, p50 {p50:.2}, p99 {p99:.2}");
    }
    if report.classes.len() > 1 {
        let _ = writeln!(out, "\nrequests by class");
        let rows: Vec<(&str, &RequestsReport)> =
            report.classes.iter().map(|(n, c)| (n.as_str(), &c.requests)).collect();
        requests_table(&mut out, &rows);
    }
    if !report.errors_by_reason.is_empty() {
        let _ = writeln!(out, "\nerrors by reason");
        for (reason, count) in &report.errors_by_reason {
            let _ = writeln!(out, "  {reason:<32} {count}");
        }
    }
    let _ = writeln!(out, "\nnodes");
    let name_width = report.nodes.keys().map(|n| n.len()).max().unwrap_or(4).max(4);
    let _ = writeln!(
        out,
        "  {:<name_width$}  {:<13} {:>10} {:>10} {:>8} {:>7} {:>8} {:>10} {:>10} {:>7} {:>10} {:>10} {:>8}",
        "node",
        "kind",
        "arrivals",
        "completed",
        "util",
        "offered",
        "queue",
        "in system",
        "wait",
        "P(wait)",
        "sojourn",
        "p99 sojourn",
        "drops"
    );
    for (name, node) in &report.nodes {
        let _ = writeln!(
            out,
            "  {:<name_width$}  {:<13} {:>10} {:>10} {:>7.1}% {:>7} {:>8.2} {:>10.2} {:>10} {:>7} {:>10} {:>10} {:>8}",
            name,
            node.kind,
            node.arrivals,
            node.completions,
            node.utilization * 100.0,
            node.offered_load.map_or("-".into(), |l| format!("{l:.3}")),
            node.mean_queue_length,
            node.mean_in_system,
            seconds(node.mean_wait_s),
            node.probability_of_waiting.map_or("-".into(), |p| format!("{:.1}%", p * 100.0)),
            seconds(node.mean_sojourn_s),
            seconds(node.sojourn_s.p99),
            node.drops
        );
    }
    if !report.hosts.is_empty() {
        let _ = writeln!(out, "\nhosts");
        for (name, host) in &report.hosts {
            let machines = if host.machines > 1 { format!("{} machines × ", host.machines) } else { String::new() };
            let spread = if host.machine_utilization.is_empty() {
                String::new()
            } else {
                let lowest = host.machine_utilization.iter().copied().fold(f64::INFINITY, f64::min);
                let highest = host.machine_utilization.iter().copied().fold(0.0, f64::max);
                format!(" (machines {:.1}% to {:.1}%)", lowest * 100.0, highest * 100.0)
            };
            let cost = if host.cost > 0.0 { format!("; cost {:.4}", host.cost) } else { String::new() };
            let _ = writeln!(
                out,
                "  {name}: {machines}{} cores, {:.1}% busy{spread}, offered {:.3}, {:.2} Work steps under way on average; runs {}{cost}",
                host.cores,
                host.utilization * 100.0,
                host.offered_load,
                host.mean_runnable,
                host.nodes.join(", ")
            );
        }
    }
    let details = component_details(report);
    if !details.is_empty() {
        let _ = writeln!(out, "\ncomponents");
        for (name, figures) in details {
            let _ = writeln!(out, "  {name}: {figures}");
        }
    }
    slo_lines(&mut out, report);
    fault_lines(&mut out, report);
    resilience_lines(&mut out, report);
    if report.cost.total > 0.0 {
        let unit = report.cost.currency.as_ref().map_or(String::new(), |currency| format!(" {currency}"));
        let _ = writeln!(
            out,
            "\ncost {:.4}{unit} over the measured period ({:.4}{unit} per hour), {}{unit} per million completed requests",
            report.cost.total,
            report.cost.per_hour,
            report.cost.per_million_requests.map_or("-".into(), |c| format!("{c:.4}"))
        );
    }
    if let Some(network) = &report.network {
        super::network::network_lines(&mut out, network, report.cost.currency.as_deref());
    }
    out
}

/// Per latency threshold: the share of completed requests answered within it, and of all
/// finished requests (a failed or rejected request did not meet it).
/// Each component's figures in words, as the table's `components` section gives them:
/// (node, figures), in the nodes' order (the page shows the same lines).
pub fn component_details(report: &Report) -> Vec<(String, String)> {
    let mut details: Vec<(String, String)> =
        report.nodes.iter().filter_map(|(name, node)| component_line(node).map(|line| (name.clone(), line))).collect();
    for (name, node) in &report.nodes {
        if let Some(limit) = &node.concurrency_limit {
            details.push((
                name.clone(),
                format!(
                    "concurrency limit ({}) {} at the end, between {} and {}; {} requests refused at the limit",
                    limit.algorithm,
                    limit.limit_at_end.map_or("-".to_string(), trim),
                    limit.lowest,
                    limit.highest,
                    limit.limited
                ),
            ));
        }
        for (callee, bulkhead) in &node.bulkheads {
            details.push((name.clone(), bulkhead_line(callee, bulkhead, node.workers)));
        }
        if let Some(quorum) = &node.quorum {
            details.push((name.clone(), format!(
                "quorum n {}, read {}, write {}: {} reads ({} stale, {}), {} writes, {} failed, {} writes hinted, {} hints delivered{}",
                quorum.n,
                quorum.read_quorum,
                quorum.write_quorum,
                quorum.reads,
                quorum.stale_reads,
                quorum.stale_read_ratio.map_or("-".to_string(), |r| format!("{:.2}%", r * 100.0)),
                quorum.writes,
                quorum.failed,
                quorum.hinted_writes,
                quorum.hints_delivered,
                // Fewer hints than hinted writes is no loss: a key's later write replaces its hint.
                if quorum.hints_delivered < quorum.hinted_writes { " (one per key and replica)" } else { "" }
            )));
        }
        for step in &node.reshards {
            let ms = |seconds: Option<f64>| seconds.map_or("-".to_string(), |s| format!("{:.1} ms", s * 1e3));
            let moved_share = if step.requests_routed > 0 {
                format!("{:.1}%", step.requests_moved as f64 / step.requests_routed as f64 * 100.0)
            } else {
                "-".to_string()
            };
            details.push((name.clone(), format!(
                "resharded at {} s from {} to {} shards: {:.1}% of keys moved, {moved_share} of {} requests since; mean {} in the 10 s before, {} in the 10 s after (max {})",
                trim(step.at_s),
                step.shards_before.len(),
                step.shards_after.len(),
                step.keys_moved_share * 100.0,
                step.requests_routed,
                ms(step.before.mean_s),
                ms(step.after.mean_s),
                ms(step.after.max_s)
            )));
        }
    }
    details
}

fn within_lines(out: &mut String, report: &Report) {
    let finished = report.requests.generated - report.requests.in_flight;
    for (threshold, share) in &report.latency_s.within {
        let mut line = format!("  within {threshold}: {:.2}% of completed", share * 100.0);
        if finished > 0 {
            let of_finished = share * report.requests.completed as f64 / finished as f64;
            let _ = write!(line, " ({:.2}% of finished)", of_finished * 100.0);
        }
        if report.classes.len() > 1 {
            let by_class: Vec<String> = report
                .classes
                .iter()
                .filter_map(|(name, class)| {
                    class.latency_s.within.get(threshold).map(|s| format!("{name} {:.2}%", s * 100.0))
                })
                .collect();
            let _ = write!(line, "; {}", by_class.join(", "));
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The scenario's SLOs: whether each held, its value, and the spans where it did not.
fn slo_lines(out: &mut String, report: &Report) {
    let Some(slos) = &report.slos else { return };
    if slos.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nSLOs");
    for slo in slos {
        let value = match slo.value {
            None => "-".to_string(),
            Some(value) if slo.slo.starts_with("availability") => format!("{:.4}%", value * 100.0),
            Some(value) => seconds(Some(value)),
        };
        let verdict = if slo.held { "held" } else { "VIOLATED" };
        let mut line = format!(
            "  {:<28} {verdict:<8} value {value}, held in {} of {} windows",
            slo.slo, slo.windows_held, slo.windows_evaluated
        );
        if !slo.violations.is_empty() {
            let spans: Vec<String> =
                slo.violations.iter().map(|[start, end]| format!("{}s-{}s", trim(*start), trim(*end))).collect();
            let _ = write!(line, "; violated {}", spans.join(", "));
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The scenario's faults as they happened.
fn fault_lines(out: &mut String, report: &Report) {
    let Some(faults) = &report.faults else { return };
    if faults.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nfaults");
    for fault in faults {
        let end = fault.end_s.map_or("the end".to_string(), |end| format!("{}s", trim(end)));
        let detail = if fault.detail.is_empty() { String::new() } else { format!(" ({})", fault.detail) };
        let _ = writeln!(out, "  {} {}{detail}: {}s to {end}", fault.kind, fault.target, trim(fault.start_s));
    }
    if report.faults_omitted > 0 {
        let _ = writeln!(out, "  and {} more, not listed (the first {} are)", report.faults_omitted, faults.len());
    }
}

/// A consumer group's failed messages and retries, when it had any: `12 failed (skipped
/// after their retries), 40 retried, `.
fn failed_text(failed: u64, retried: u64) -> String {
    match (failed, retried) {
        (0, 0) => String::new(),
        (0, retried) => format!("{retried} retried, "),
        (failed, 0) => format!("{failed} failed (skipped), "),
        (failed, retried) => format!("{failed} failed (skipped after their retries), {retried} retried, "),
    }
}

/// Lost work and what each resilience mechanism did.
fn resilience_lines(out: &mut String, report: &Report) {
    let Some(resilience) = &report.resilience else { return };
    let _ = writeln!(out, "\nresilience");
    let _ = writeln!(
        out,
        "  lost work: {} requests failed by faults, {} committed writes lost, {} messages lost",
        resilience.failed_by_faults, resilience.lost_writes, resilience.messages_lost
    );
    for (name, failover) in &resilience.failovers {
        let _ = writeln!(
            out,
            "  failover {name}: {} promotions, {} writes lost, primary at the end: server {}",
            failover.promotions, failover.lost_writes, failover.primary_at_end
        );
    }
    for (name, health) in &resilience.health_checks {
        let _ = writeln!(
            out,
            "  health checks {name}: {} probes, {} marked down, {} marked up, {} unhealthy at the end",
            health.probes, health.marked_down, health.marked_up, health.unhealthy_at_end
        );
    }
    for (edge, calls) in &resilience.calls {
        let amplification = calls.amplification.map_or("-".to_string(), |a| format!("{a:.2}x"));
        let _ = writeln!(
            out,
            "  calls {edge}: {} calls, {} attempts ({amplification}), {} retries, {} hedges, {} timeouts, {} short-circuited, breaker opened {} times ({}s open), {} budget exhausted, {} succeeded, {} failed",
            calls.calls,
            calls.attempts,
            calls.retries,
            calls.hedges,
            calls.timeouts,
            calls.short_circuited,
            calls.breaker_opened,
            trim(calls.breaker_open_s),
            calls.budget_exhausted,
            calls.succeeded,
            calls.failed
        );
    }
    for (name, node) in &resilience.nodes {
        let _ = write!(
            out,
            "  {name}: {} refused while down, {} failed in a crash, {} injected errors, {} served by a new version, {} shed",
            node.refused, node.crashed, node.injected_errors, node.new_version, node.shed
        );
        if node.cancelled > 0 {
            let _ = write!(out, ", {} losers cancelled", node.cancelled);
        }
        if node.expired > 0 {
            let _ = write!(out, ", {} dropped past their deadline", node.expired);
        }
        if node.pauses > 0 {
            let _ = write!(out, ", {} pauses", node.pauses);
        }
        if node.paused_s > 0.0 {
            let _ = write!(out, " ({}s paused)", trim(node.paused_s));
        }
        if node.stale_dns > 0 {
            let _ = write!(out, ", {} sent to a target out of rotation by a cached DNS answer", node.stale_dns);
        }
        if node.bypassed > 0 {
            let _ = write!(out, ", {} sent around it to its backend while it was down", node.bypassed);
        }
        if node.retransmits > 0 {
            let _ = write!(out, ", {} packets retransmitted", node.retransmits);
        }
        out.push('\n');
    }
    for (name, group) in &resilience.groups {
        let share = group.available_share.map_or("-".to_string(), |a| format!("{:.4}%", a * 100.0));
        let _ = writeln!(
            out,
            "  {name}: at least {} of {} instances up {share} of the time ({} down at the end)",
            group.quorum, group.instances, group.down_at_end
        );
    }
    for (nodes, crews) in &resilience.repair_crews {
        let _ = writeln!(
            out,
            "  repair crews for {nodes}: {}, {} failures waited for one, {} waiting at the end",
            crews.crews, crews.waited, crews.waiting_at_end
        );
    }
    for (name, standby) in &resilience.standby {
        let _ = writeln!(
            out,
            "  cold standby for {name}: {} spares, {} took over, {} failures found none ready, {} ready at the end",
            standby.spares, standby.takeovers, standby.without_spare, standby.ready_at_end
        );
    }
}

/// One line with what a component measured, `None` for plain services and balancers.
fn component_line(node: &NodeReport) -> Option<String> {
    let ratio = |r: Option<f64>| r.map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0));
    match node.component.as_ref()? {
        ComponentSection::Cache(cache) => {
            Some(format!(
            "hit ratio {}, {} hits, {} misses ({} expired), {} evictions, {} stale reads, {} entries",
            ratio(cache.hit_ratio),
            cache.hits,
            cache.misses,
            cache.expired,
            cache.evictions,
            cache.stale_reads,
            cache.entries
        ) + &if cache.coalesced > 0 {
            format!(", {} misses waited for a fetch under way", cache.coalesced)
        } else {
            String::new()
        } + &if cache.not_admitted > 0 {
            format!(", {} keys not admitted", cache.not_admitted)
        } else {
            String::new()
        } + &if cache.served_stale > 0 {
            format!(", {} hits served stale while {} refreshes ran", cache.served_stale, cache.revalidations)
        } else {
            String::new()
        } + &if cache.early_refreshes > 0 {
            format!(", {} refreshed early", cache.early_refreshes)
        } else {
            String::new()
        })
        }
        ComponentSection::Cdn(cdn) => {
        let edges: Vec<String> =
            cdn.edges.iter().map(|(region, edge)| format!("{region} {}", ratio(edge.hit_ratio))).collect();
            Some(format!("hit ratio {} ({})", ratio(cdn.total.hit_ratio), edges.join(", ")))
        }
        ComponentSection::Database(db) => {
        let servers: Vec<String> =
            db.servers.iter().map(|s| format!("{} {}r/{}w", s.role, s.reads, s.writes)).collect();
            Some(format!(
            "{} reads, {} writes, stale reads {} ({}); {}",
            db.reads,
            db.writes,
            db.stale_reads,
            ratio(db.stale_read_ratio),
            servers.join(", ")
        ) + &if db.sticky_reads > 0 {
            format!("; {} reads kept on the primary after their client's write", db.sticky_reads)
        } else {
            String::new()
        })
        }
        ComponentSection::RateLimiter(limiter) => {
            Some(format!(
            "{} admitted, {} rejected, {} delayed (mean {})",
            limiter.admitted,
            limiter.rejected,
            limiter.delayed,
            seconds(limiter.mean_delay_s)
        ))
        }
        ComponentSection::WorkQueue(queue) => {
            Some(format!(
            "{} published, {} acknowledged, {} rejected, {} dropped, {} redelivered, {} dead-lettered; depth mean {:.1} max {}; publish→processed mean {} p99 {}",
            queue.published,
            queue.acknowledged,
            queue.rejected,
            queue.dropped,
            queue.redeliveries,
            queue.dead_lettered,
            queue.mean_depth,
            queue.max_depth,
            seconds(queue.publish_to_processed_s.mean),
            seconds(queue.publish_to_processed_s.p99)
        ))
        }
        ComponentSection::Log(log) => {
        let groups: Vec<String> = log
            .groups
            .iter()
            .map(|(group, g)| {
                format!(
                    "{group}: {} processed, {}lag mean {:.1} max {}, {} lost, append→processed mean {}",
                    g.processed,
                    failed_text(g.failed, g.retried),
                    g.mean_lag,
                    g.max_lag,
                    g.lost,
                    seconds(g.publish_to_processed_s.mean)
                ) + &g
                    .rebalances
                    .iter()
                    .map(|r| {
                        format!(
                            ", rebalanced at {} s from {} to {} consumers: stopped {:.2} s, lag {} → {}",
                            trim(r.at_s),
                            r.consumers_before,
                            r.consumers_after,
                            r.paused_s,
                            r.lag_at_start,
                            r.lag_at_end.map_or("-".to_string(), |lag| lag.to_string())
                        )
                    })
                    .collect::<String>()
            })
            .collect();
            Some(format!("{} appended; {}", log.appended, groups.join("; ")))
        }
        ComponentSection::Function(function) => {
            Some(format!(
            "{} invocations, {} cold starts ({}), {} throttled, containers mean {:.1} max {}",
            function.invocations,
            function.cold_starts,
            ratio(function.cold_start_ratio),
            function.throttles,
            function.mean_containers,
            function.max_containers
        ) + &format!(", {:.3} GB-s billed", function.billed_gb_seconds)
            + &if function.provisioned > 0 {
                format!(", {} provisioned ({:.1} GB-s)", function.provisioned, function.provisioned_gb_seconds)
            } else {
                String::new()
            })
        }
        ComponentSection::Autoscaling(scaling) => {
            Some(format!(
            "instances mean {:.2}, {} at the end, {} scale-outs, {} scale-ins, {:.3} instance-hours",
            scaling.mean_instances,
            scaling.instances_at_end,
            scaling.scale_outs,
            scaling.scale_ins,
            node.instance_hours
        ))
        }
        ComponentSection::Routed(routed) if node.kind == "sharded" => {
            let shares: Vec<String> = routed.iter().map(|(shard, count)| format!("{shard} {count}")).collect();
            Some(format!("routed {}", shares.join(", ")))
        }
        // A load balancer's spread is in the JSON report; the table keeps to shard routers.
        ComponentSection::Routed(_) => None,
    }
}

/// The width of a table's first column: 12, or its longest label ("workload eu-redirects").
/// A bulkhead's figures in words, with the limit that would refuse under 0.1% of its calls
/// when it refused more (and when that is more calls than an instance has `workers`, that
/// the workers would run out first).
fn bulkhead_line(callee: &str, bulkhead: &BulkheadReport, workers: Option<u32>) -> String {
    let waiting = if bulkhead.queue > 0 { format!(" + {} waiting", bulkhead.queue) } else { String::new() };
    let share = bulkhead.refused_share.map_or("-".to_string(), |share| format!("{:.2}%", share * 100.0));
    let mut line = format!(
        "bulkhead to \"{callee}\" ({}{waiting} per instance): {} calls, {} waited (mean {}), {} refused ({share}); {:.1} in use on average, full {:.1}% of the time",
        bulkhead.limit,
        bulkhead.calls,
        bulkhead.waited,
        seconds(bulkhead.mean_wait_s),
        bulkhead.refused,
        bulkhead.mean_in_use,
        bulkhead.full_share * 100.0,
    );
    if let Some(limit) = bulkhead.limit_advised {
        line.push_str(&format!("; a limit of {limit} would refuse under 0.1% of these calls"));
        if let Some(workers) = workers.filter(|workers| limit >= *workers) {
            line.push_str(&format!(
                ", but an instance has {workers} workers: it would run out of workers first (add workers, or make \"{callee}\" faster)"
            ));
        }
    }
    line
}

fn label_width<'a>(labels: impl Iterator<Item = &'a str>) -> usize {
    labels.map(|label| label.chars().count()).fold(12, usize::max)
}

/// The bottleneck's line: the part, its load, where it saturates and what to change; or,
/// when it was deadlocked, the way its calls came back to it.
fn bottleneck_line(out: &mut String, bottleneck: &super::Bottleneck) {
    let part = if bottleneck.part == "node" { String::new() } else { format!(" {}", bottleneck.part) };
    let utilization = bottleneck.utilization.map_or(String::new(), |u| format!(" ({:.1}% busy)", u * 100.0));
    if bottleneck.deadlock.is_some() {
        let _ =
            writeln!(out, "\nbottleneck: \"{}\"{part} deadlocked{utilization}: {}", bottleneck.node, bottleneck.advice);
        return;
    }
    // Below saturation the advice is how to raise the ceiling, not a call to act.
    let (headroom, advice_lead) = if bottleneck.offered_load < 1.0 {
        (format!(", {}", headroom_text(1.0 / bottleneck.offered_load)), "to raise it, ")
    } else {
        (String::new(), "")
    };
    let _ = writeln!(
        out,
        "\nbottleneck: \"{}\"{part} at {:.2}× its capacity{utilization}; it saturates at {}/s of arrivals (now {}/s{headroom}): {advice_lead}{}",
        bottleneck.node,
        bottleneck.offered_load,
        format_rate(bottleneck.saturates_at_per_s),
        format_rate(bottleneck.saturates_at_per_s * bottleneck.offered_load),
        bottleneck.advice
    );
}

fn requests_table(out: &mut String, rows: &[(&str, &RequestsReport)]) {
    let width = label_width(rows.iter().map(|(name, _)| *name));
    let _ = writeln!(
        out,
        "  {:<width$} {:>11} {:>11} {:>9} {:>10} {:>9} {:>10}",
        "", "generated", "completed", "failed", "timed out", "rejected", "in flight"
    );
    for (name, r) in rows {
        let _ = writeln!(
            out,
            "  {:<width$} {:>11} {:>11} {:>9} {:>10} {:>9} {:>10}",
            name, r.generated, r.completed, r.failed, r.timed_out, r.rejected, r.in_flight
        );
    }
}

fn latency_table(out: &mut String, rows: &[(String, LatencyReport)]) {
    let width = label_width(rows.iter().map(|(name, _)| name.as_str()));
    let _ = writeln!(
        out,
        "  {:<width$} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "", "mean", "p50", "p90", "p99", "p99.9", "max"
    );
    for (name, l) in rows {
        let _ = writeln!(
            out,
            "  {:<width$} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
            name,
            seconds(l.mean),
            seconds(l.p50),
            seconds(l.p90),
            seconds(l.p99),
            seconds(l.p999),
            seconds(l.max)
        );
    }
}

/// A duration in seconds printed in a readable unit.
pub(super) fn seconds(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(s) if s >= 1.0 => format!("{s:.3}s"),
        Some(s) if s >= 1e-3 => format!("{:.3}ms", s * 1e3),
        Some(s) => format!("{:.1}us", s * 1e6),
    }
}

pub(super) fn trim(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// How many times today's load the bottleneck takes before it saturates, as the bottleneck
/// lines of `archsim run` and `archsim analyze` say it: "3.48× headroom", "34× headroom".
pub fn headroom_text(headroom: f64) -> String {
    if headroom >= 1e5 {
        // A node that is all but idle: the digits of 36161077501581× say nothing more.
        return format!("{headroom:.1e}× headroom");
    }
    let decimals = if headroom >= 10.0 { 0 } else { 2 };
    format!("{headroom:.decimals$}× headroom")
}

/// A run's throughput: two decimals, or three significant digits below 1/s (a run of one
/// request an hour is not "0.00/s").
fn throughput_text(per_s: f64) -> String {
    if per_s >= 1.0 || per_s <= 0.0 || !per_s.is_finite() {
        return format!("{per_s:.2}");
    }
    format_rate(per_s)
}

/// A rate per second with one decimal, or three significant digits below 1/s (a rate of
/// 0.9 an hour is 0.000250/s, not 0.0/s).
fn format_rate(per_s: f64) -> String {
    if per_s >= 1.0 || per_s <= 0.0 || !per_s.is_finite() {
        return format!("{per_s:.1}");
    }
    let decimals = (2 - libm::log10(per_s).floor() as i32).clamp(1, 12) as usize;
    format!("{per_s:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_figures_keep_their_significant_digits() {
        let cases: [(String, &str); 8] = [
            (throughput_text(839.844), "839.84"),
            (throughput_text(0.000277), "0.000277"),
            (throughput_text(0.0), "0.00"),
            (format_rate(0.0416), "0.0416"),
            (format_rate(1281.94), "1281.9"),
            (headroom_text(1.53), "1.53× headroom"),
            (headroom_text(412.4), "412× headroom"),
            (headroom_text(36161077501581.0), "3.6e13× headroom"),
        ];
        for (text, expected) in cases {
            assert_eq!(text, expected);
        }
    }
}
