//! `archsim analyze FILE [--simulate]`: the analytic view (visit ratios, load, utilization,
//! bottleneck, M/M/c waits) and, with `--simulate`, the simulated figures beside it, with the
//! nodes where the two disagree beyond noise flagged.

mod saturation;

use crate::cli::{BatchArgs, OutputFormat};
use crate::failure::Failure;
use saturation::Uncompared;
use serde::Serialize;
use sim_batch::analysis::ms;
use sim_batch::metrics::{significant, significant_to, MetricDef};
use sim_batch::replicate::replicate;
use sim_batch::stats::{summarize, Summary};
use sim_core::analysis::{analyze_measured, Analysis, CacheMeasure, NodeAnalysis, PipeAnalysis};
use sim_core::topology::NodeKind;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

/// A prediction disagrees with the simulation when it lies outside the simulated mean by more
/// than twice the 95% half-width, plus 1% of the mean, plus `floor` (a resolution below which
/// differences do not matter: 1% of the node's holding time for times, 0.005 for utilization).
/// Wider than that is not noise: the model's assumptions (Poisson arrivals, exponential
/// holding, even split, Poisson streams into bounded queues) do not hold there.
/// A node the model puts past saturation agrees with a simulation that keeps it at least this
/// busy (a little below 1: the warm-up's idle start, a queue bound refusing the excess).
const SATURATED_UTILIZATION: f64 = 0.9;

/// A work queue's messages' mean wait for a consumer in each run, L ÷ λ (Little's law) from
/// its mean depth and its arrivals over the measured time (the run's end, column 1, after
/// the warm-up), summarised over the runs.
fn messages_wait_s(runs: &sim_batch::replicate::Replicated, at: usize, warmup_ns: u64) -> Option<Summary> {
    let (depth, arrivals, end) = (runs.column(at), runs.column(at + 1), runs.column(1));
    let waits: Vec<Option<f64>> = (depth.iter().zip(&arrivals).zip(&end))
        .map(|((depth, arrivals), end)| {
            let measured_s = (*end)? - warmup_ns as f64 / 1e9;
            let rate = (*arrivals)? / measured_s;
            (measured_s > 0.0 && rate > 0.0).then(|| depth.unwrap_or(0.0) / rate)
        })
        .collect();
    summarize(waits)
}

/// The share of a node's arrivals it refused in each run: the `counters` columns from `at`
/// (a missing one counts none) over the arrivals in the column after them, summarised over
/// the runs; `None` where no run saw an arrival.
fn refused_share(runs: &sim_batch::replicate::Replicated, at: usize, counters: usize) -> Option<Summary> {
    let arrivals = runs.column(at + counters);
    let shares: Vec<Option<f64>> = (0..arrivals.len())
        .map(|run| {
            let arrivals = arrivals[run].filter(|arrivals| *arrivals > 0.0)?;
            let refused: f64 = (at..at + counters).map(|column| runs.column(column)[run].unwrap_or(0.0)).sum();
            Some(refused / arrivals)
        })
        .collect();
    summarize(shares)
}

/// A cache's counters the view reads: its reads (hits and misses), those single-flight
/// joined to a fetch under way, and its background refreshes.
const CACHE_COUNTERS: [&str; 4] = ["hits", "misses", "coalesced", "revalidations"];

/// The names of the `checks` (name, prediction, measure, floor) whose prediction and
/// measure disagree beyond noise; a check missing either is not judged.
fn disagreeing<const N: usize>(checks: [(&'static str, Option<f64>, Option<Summary>, f64); N]) -> Vec<&'static str> {
    checks
        .into_iter()
        .filter(|(_, predicted, measured, floor)| match (predicted, measured) {
            (Some(predicted), Some(measured)) => disagrees(*predicted, *measured, *floor),
            _ => false,
        })
        .map(|(what, ..)| what)
        .collect()
}

pub fn disagrees(prediction: f64, simulated: Summary, floor: f64) -> bool {
    let allowance = 2.0 * simulated.half_width.unwrap_or(0.0) + 0.01 * simulated.mean.abs() + floor;
    (prediction - simulated.mean).abs() > allowance
}

pub fn analyze_command(file: &Path, simulate: bool, args: &BatchArgs, stdout: &mut dyn Write) -> Result<(), Failure> {
    let (_, topology) = crate::load(file)?;
    let n = topology.nodes.len();
    let mut out = String::new();
    let simulated = if simulate {
        let replications = args.replications_or(5)?;
        let mut names = vec!["mean".to_string(), "sim_time_s".to_string(), "availability".to_string()];
        // Per node: the columns of its utilization, wait, sojourn and (caches) hit ratio, and
        // (logs) each consumer group's time from publish to processed.
        let mut node_columns = Vec::with_capacity(n);
        for node in &topology.nodes {
            let first = names.len();
            // A work queue's servers are its consumers, whose busy share the report gives in
            // its own section.
            let utilization = match node.kind {
                NodeKind::WorkQueue(_) => "work_queue.consumer_utilization",
                _ => "utilization",
            };
            for field in [utilization, "mean_wait_s", "mean_sojourn_s"] {
                names.push(format!("nodes.{}.{field}", node.name));
            }
            // A CDN's hit ratio over all its edges is its section's `total`.
            let section = match node.kind {
                NodeKind::Cache(_) => Some("cache"),
                NodeKind::Cdn(_) => Some("cdn.total"),
                _ => None,
            };
            let hit_ratio = section.map(|section| {
                names.push(format!("nodes.{}.{section}.hit_ratio", node.name));
                names.len() - 1
            });
            // A cache's reads that reach its backend: not those single-flight joins to a
            // fetch under way, and background refreshes beside them.
            let cache_counts = matches!(node.kind, NodeKind::Cache(_)).then(|| {
                for counter in CACHE_COUNTERS {
                    names.push(format!("nodes.{}.cache.{counter}", node.name));
                }
                names.len() - CACHE_COUNTERS.len()
            });
            // A group whose name a metric path cannot hold (a dot in it) goes unchecked.
            let groups: Vec<Option<usize>> = match &node.kind {
                NodeKind::Log(log) => log
                    .groups
                    .iter()
                    .map(|(group, _)| {
                        (!group.contains('.') && !node.name.contains('.')).then(|| {
                            names.push(format!("nodes.{}.log.groups.{group}.publish_to_processed_s.mean", node.name));
                            names.len() - 1
                        })
                    })
                    .collect(),
                _ => Vec::new(),
            };
            // A work queue's messages' wait, by Little's law from its mean depth and arrivals.
            let queue_counts = matches!(node.kind, NodeKind::WorkQueue(_)).then(|| {
                names.push(format!("nodes.{}.mean_queue_length", node.name));
                names.push(format!("nodes.{}.arrivals", node.name));
                names.len() - 2
            });
            // What a node that can refuse for want of a place refused, over its arrivals.
            let refusal_counters: &[&str] = match &node.kind {
                NodeKind::Service(service) if service.shed_above.is_some() => &["drops", "shed"],
                NodeKind::Service(_) => &["drops"],
                NodeKind::Function(_) => &["function.throttles"],
                _ => &[],
            };
            let refusals = (!refusal_counters.is_empty()).then(|| {
                let at = names.len();
                for counter in refusal_counters {
                    names.push(match *counter {
                        "shed" => format!("resilience.nodes.{}.shed", node.name),
                        counter => format!("nodes.{}.{counter}", node.name),
                    });
                }
                names.push(format!("nodes.{}.arrivals", node.name));
                (at, refusal_counters.len())
            });
            node_columns.push((first, hit_ratio, cache_counts, queue_counts, groups, refusals));
        }
        // Per timed call policy (as the view lists them): its attempts, timeouts and
        // attempts per call, where its name fits a metric path.
        let call_columns: Vec<Option<usize>> = timed_call_names(&topology)
            .iter()
            .map(|name| {
                (!name.contains('.')).then(|| {
                    for field in ["attempts", "timeouts", "amplification"] {
                        names.push(format!("resilience.calls.{name}.{field}"));
                    }
                    names.len() - 3
                })
            })
            .collect();
        // Per class of a workload of several classes, where no other workload has it (the
        // report's classes are over every workload), and its name fits a metric path: its
        // requests' mean latency.
        let class_first = names.len();
        let class_names = workload_classes(&topology);
        for class in &class_names {
            names.push(format!("classes.{class}.latency_s.mean"));
        }
        // Per direction of a link with a bandwidth: its busy share and its messages' wait.
        let pipe_first = names.len();
        for pipe in 0..topology.network.pipes.len() {
            names.push(format!("network.bandwidth.{pipe}.utilization"));
            names.push(format!("network.bandwidth.{pipe}.mean_wait_ms"));
        }
        let metrics: Vec<MetricDef> = names
            .iter()
            .map(|name| MetricDef::parse(name).map_err(|message| format!("error: {message}\n")))
            .collect::<Result<_, _>>()?;
        let config = args.config(&topology)?;
        let seeds = args.seeds(replications);
        let pool = args.pool()?;
        let runs = pool
            .install(|| replicate(&topology, config, &seeds, &metrics))
            .map_err(|message| format!("error: {message}\n"))?;
        let column = |index: usize| summarize(runs.column(index));
        let calls = call_columns
            .iter()
            .map(|at| {
                let Some(at) = *at else { return SimulatedCall::default() };
                let (attempts, timeouts) = (runs.column(at), runs.column(at + 1));
                let shares = attempts.iter().zip(&timeouts).map(|(attempts, timeouts)| {
                    let attempts = (*attempts).filter(|a| *a > 0.0)?;
                    Some(timeouts.unwrap_or(0.0) / attempts)
                });
                SimulatedCall {
                    timeout_share: summarize(shares),
                    attempts_per_call: column(at + 2),
                    disagrees: Vec::new(),
                }
            })
            .collect();
        let bandwidth = (0..topology.network.pipes.len())
            .map(|pipe| {
                let at = pipe_first + 2 * pipe;
                SimulatedPipe {
                    utilization: column(at),
                    wait_s: summarize(runs.column(at + 1).into_iter().map(|ms| ms.map(|ms| ms / 1e3))),
                    disagrees: Vec::new(),
                }
            })
            .collect();
        Some(Simulated {
            replications: replications as usize,
            mean_response_s: column(0),
            completed_share: column(2),
            classes: (class_names.into_iter().enumerate())
                .map(|(index, class)| SimulatedClass { class, response_s: column(class_first + index) })
                .collect(),
            calls,
            bandwidth,
            nodes: node_columns
                .iter()
                .map(|(first, hit_ratio, cache_counts, queue_counts, groups, refusals)| {
                    let hit_ratio = hit_ratio.and_then(column);
                    SimulatedNode {
                        refused: refusals.and_then(|(at, counters)| refused_share(&runs, at, counters)),
                        utilization: column(*first),
                        wait_s: match queue_counts {
                            Some(at) => messages_wait_s(&runs, *at, config.warmup_ns),
                            None => column(first + 1),
                        },
                        sojourn_s: column(first + 2),
                        hit_ratio,
                        cache: hit_ratio.map(|hit_ratio| {
                            let mean =
                                |offset: usize| cache_counts.and_then(|at| column(at + offset)).map_or(0.0, |s| s.mean);
                            let reads = mean(0) + mean(1);
                            let per_read = |count: f64| if reads > 0.0 { count / reads } else { 0.0 };
                            CacheMeasure {
                                hit_ratio: hit_ratio.mean,
                                coalesced_share: per_read(mean(2)),
                                refreshes_per_read: per_read(mean(3)),
                            }
                        }),
                        disagrees: Vec::new(),
                        not_compared: None,
                        groups: groups
                            .iter()
                            .map(|group| SimulatedGroup {
                                sojourn_s: group.and_then(column),
                                disagrees: Vec::new(),
                                not_compared: None,
                            })
                            .collect(),
                    }
                })
                .collect(),
        })
    } else {
        None
    };
    let caches: Vec<Option<CacheMeasure>> =
        (0..n).map(|i| simulated.as_ref().and_then(|simulated| simulated.nodes[i].cache)).collect();
    let analysis =
        analyze_measured(&topology, &caches).map_err(|message| format!("error: {}: {message}\n", file.display()))?;
    let simulated = simulated.map(|mut simulated| {
        let uncompared = saturation::uncompared(&topology, &analysis);
        for ((node, figures), uncompared) in analysis.nodes.iter().zip(&mut simulated.nodes).zip(uncompared) {
            figures.disagrees = match &uncompared {
                None => node_disagreements(node, figures),
                // Past saturation the simulation must show the node busy; it may show less
                // only with a queue bound or a timeout refusing the excess.
                Some(Uncompared::Saturated) => match figures.utilization {
                    Some(measured) if measured.mean < SATURATED_UTILIZATION => vec!["util"],
                    _ => Vec::new(),
                },
                Some(_) => Vec::new(),
            };
            figures.not_compared = uncompared.as_ref().map(Uncompared::describe);
            let groups = node.parts.iter().filter(|part| part.kind == "consumers");
            for (part, group) in groups.zip(&mut figures.groups) {
                let floor = 0.01 * part.holding_s + 1e-9;
                group.disagrees = match (group_sojourn_s(part), group.sojourn_s) {
                    (Some(predicted), Some(measured)) if disagrees(predicted, measured, floor) => vec!["sojourn"],
                    _ => Vec::new(),
                };
                // A saturated group's lag grows for as long as the run lasts: no mean to compare.
                group.not_compared = (part.utilization >= 1.0).then(|| Uncompared::Saturated.describe());
            }
        }
        for (pipe, figures) in analysis.bandwidth.iter().zip(&mut simulated.bandwidth) {
            figures.disagrees = pipe_disagreements(pipe, figures);
        }
        for (call, figures) in analysis.calls.iter().zip(&mut simulated.calls) {
            // Past saturation the view has no steady state to compare.
            if analysis.response_s.is_none() {
                continue;
            }
            let checks = [
                ("timed out", call.timeout_share, figures.timeout_share, 0.0001),
                ("attempts", call.attempts_per_call, figures.attempts_per_call, 0.0001),
            ];
            figures.disagrees = checks
                .into_iter()
                .filter(|(_, predicted, measured, floor)| measured.is_some_and(|m| disagrees(*predicted, m, *floor)))
                .map(|(what, ..)| what)
                .collect();
        }
        simulated
    });
    match args.format {
        OutputFormat::Json => {
            out = serde_json::to_string_pretty(&AnalyzeJson { analysis: &analysis, simulated: simulated.as_ref() })
                .expect("an analysis serializes")
                + "\n"
        }
        OutputFormat::Table => write_analysis(&mut out, &topology, &analysis, simulated.as_ref()),
    }
    stdout.write_all(out.as_bytes()).map_err(|error| Failure::cannot_write("the analysis", error))
}

/// What the simulation measured, for `--simulate`.
#[derive(Serialize)]
struct Simulated {
    replications: usize,
    mean_response_s: Option<Summary>,
    /// The share of the requests generated after the warm-up that completed.
    completed_share: Option<Summary>,
    /// Per class the view gives a response for (`workload_classes`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    classes: Vec<SimulatedClass>,
    /// Per node, in file order.
    nodes: Vec<SimulatedNode>,
    /// Per timed call policy, as the view lists them.
    calls: Vec<SimulatedCall>,
    /// Per direction of a link or region pair with a bandwidth, as the view lists them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bandwidth: Vec<SimulatedPipe>,
}

/// What the simulation measured of a request class: its completed requests' mean latency.
#[derive(Serialize)]
struct SimulatedClass {
    class: String,
    response_s: Option<Summary>,
}

/// The classes of the workloads of several classes that no other workload has and whose
/// names fit a metric path: those whose mean response a simulation measures as the view
/// gives it.
fn workload_classes(topology: &sim_core::topology::Topology) -> Vec<String> {
    let workloads_with =
        |class: u16| topology.sources.iter().filter(|source| source.class_ids.contains(&class)).count();
    (topology.sources.iter())
        .filter(|source| source.class_ids.len() > 1)
        .flat_map(|source| source.class_ids.iter())
        .filter(|&&class| workloads_with(class) == 1 && !topology.classes[usize::from(class)].contains('.'))
        .map(|&class| topology.classes[usize::from(class)].clone())
        .collect()
}

/// What the simulation measured of a direction of a link with a bandwidth.
#[derive(Serialize)]
struct SimulatedPipe {
    utilization: Option<Summary>,
    /// A message's mean wait behind those sent before it.
    wait_s: Option<Summary>,
    /// The predictions that disagree beyond noise: `util`, `wait`.
    disagrees: Vec<&'static str>,
}

/// Which of a link direction's predictions disagree with the simulation beyond noise: its
/// busy share, and its wait where the view has one (below saturation), with a floor of
/// 1% of a message's mean transmission time (its busy share over its messages per second).
fn pipe_disagreements(pipe: &PipeAnalysis, simulated: &SimulatedPipe) -> Vec<&'static str> {
    let transmission_s = if pipe.messages_per_s > 0.0 { pipe.utilization / pipe.messages_per_s } else { 0.0 };
    let checks = [
        ("util", Some(pipe.utilization), simulated.utilization, 0.005),
        ("wait", pipe.wait_s, simulated.wait_s, 0.01 * transmission_s + 1e-9),
    ];
    disagreeing(checks)
}

/// What the simulation measured of a timed call policy's calls.
#[derive(Serialize, Default)]
struct SimulatedCall {
    /// Share of attempts that timed out.
    timeout_share: Option<Summary>,
    attempts_per_call: Option<Summary>,
    /// The predictions that disagree beyond noise: `timed out`, `attempts`.
    disagrees: Vec<&'static str>,
}

/// "caller -> callee" of each call policy with a timeout, as the report and the view name
/// them, in the order of the policies.
fn timed_call_names(topology: &sim_core::topology::Topology) -> Vec<String> {
    topology.timed_call_policies().map(|policy| topology.call_policy_name(policy)).collect()
}

#[derive(Serialize)]
struct SimulatedNode {
    /// The share of its arrivals refused for want of a place (a full queue, shedding, a
    /// function's throttling), where it can refuse.
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<Summary>,
    utilization: Option<Summary>,
    wait_s: Option<Summary>,
    sojourn_s: Option<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hit_ratio: Option<Summary>,
    /// What the model takes from the simulation at a cache or CDN.
    #[serde(skip)]
    cache: Option<CacheMeasure>,
    /// The predictions that disagree beyond noise: `util`, `wait`, `sojourn`.
    disagrees: Vec<&'static str>,
    /// Why the figures are not compared, when the model has no steady state for them:
    /// `saturated` (then only its utilization is checked, against being busy), `behind "x"`
    /// or `waits on "x"` for a saturated node `x`.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_compared: Option<String>,
    /// A log's consumer groups, in file order (none for other nodes).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    groups: Vec<SimulatedGroup>,
}

/// What the simulation measured of a log's consumer group.
#[derive(Serialize)]
struct SimulatedGroup {
    /// Mean time from publish to processed: the wait for its consumer and the handling.
    sojourn_s: Option<Summary>,
    /// `sojourn` when the prediction disagrees beyond noise.
    disagrees: Vec<&'static str>,
    /// `saturated` when the model's consumers cannot keep up (its lag grows all run).
    #[serde(skip_serializing_if = "Option::is_none")]
    not_compared: Option<String>,
}

/// A consumer group's predicted time from publish to processed: its consumer's M/M/1 wait
/// and the handling (`None` when a consumer is saturated).
fn group_sojourn_s(part: &sim_core::analysis::PartAnalysis) -> Option<f64> {
    part.wait_s.map(|wait_s| wait_s + part.holding_s)
}

/// `analyze --format json`: the analytic view, and with `--simulate` the simulated figures.
#[derive(Serialize)]
struct AnalyzeJson<'a> {
    analysis: &'a Analysis,
    #[serde(skip_serializing_if = "Option::is_none")]
    simulated: Option<&'a Simulated>,
}

/// Which of a node's predictions disagree with the simulation beyond noise.
fn node_disagreements(node: &NodeAnalysis, simulated: &SimulatedNode) -> Vec<&'static str> {
    // Times get 1 ns more: the simulation's resolution (a pass-on node's 0 against a
    // prediction that differs from 0 by rounding is no disagreement).
    let checks = [
        ("util", node.utilization, simulated.utilization, 0.005),
        ("wait", node.wait_s, simulated.wait_s, 0.01 * node.holding_s + 1e-9),
        ("sojourn", node.sojourn_s, simulated.sojourn_s, 0.01 * node.holding_s + 1e-9),
        ("refused", node.refused, simulated.refused, 0.001),
    ];
    disagreeing(checks)
}

/// A simulated figure with its 95% half-width, times `scale`; `-` for none.
fn show(summary: Option<Summary>, scale: f64) -> String {
    match summary {
        Some(Summary { mean, half_width: Some(half_width), .. }) => {
            format!("{} ± {}", significant(mean * scale), significant_to(half_width * scale, 2))
        }
        Some(summary) => significant(summary.mean * scale),
        None => "-".into(),
    }
}

fn write_analysis(
    out: &mut String,
    topology: &sim_core::topology::Topology,
    analysis: &Analysis,
    simulated: Option<&Simulated>,
) {
    let exact_closed = analysis.notes.iter().any(|note| note.contains("exact mean value analysis"));
    let _ = writeln!(
        out,
        "analytic view ({}{}), {} req/s offered\n",
        if exact_closed && analysis.notes.iter().any(|note| note.contains("a mixed network")) {
            "mixed open and closed product-form network by exact MVA"
        } else if exact_closed {
            "closed product-form network by exact MVA"
        } else if analysis
            .nodes
            .iter()
            .any(|node| { node.holding_scv.is_some() || node.parts.iter().any(|part| part.holding_scv.is_some()) })
        {
            "open network of M/G/c nodes"
        } else {
            "open Jackson network of M/M/c nodes"
        },
        if analysis.notes.iter().any(|note| note.contains("approximate MVA")) {
            "; closed workloads by approximate MVA"
        } else {
            ""
        },
        significant(analysis.arrival_rate_per_s)
    );
    let mut rows: Vec<Vec<String>> =
        vec![["node", "kind", "visits", "rate/s", "servers", "hold ms", "util", "wait ms", "sojourn ms"]
            .map(String::from)
            .to_vec()];
    if simulated.is_some() {
        rows[0].extend(["sim util", "sim wait ms", "sim sojourn ms", "check"].map(String::from));
    }
    let mut flagged = false;
    let mut uncompared = false;
    for (i, node) in analysis.nodes.iter().enumerate() {
        let mut row = vec![
            node.name.clone(),
            node.kind.to_string(),
            significant(node.visits),
            significant(node.arrival_rate_per_s),
            node.servers.map_or("-".into(), |(instances, workers)| format!("{instances}×{workers}")),
            ms(Some(node.holding_s)),
            node.utilization.map_or("-".into(), sim_batch::analysis::utilization),
            if node.servers.is_some() && node.arrival_rate_per_s > 0.0 {
                ms(Some(node.wait_s.unwrap_or(f64::INFINITY)))
            } else {
                "-".into()
            },
            ms(node.sojourn_s),
        ];
        if let Some(simulated) = simulated {
            let figures = &simulated.nodes[i];
            row.push(show(figures.utilization.filter(|_| node.servers.is_some()), 1.0));
            row.push(show(figures.wait_s, 1e3));
            row.push(show(figures.sojourn_s, 1e3));
            if !figures.disagrees.is_empty() {
                row.push(format!("DISAGREES ({})", figures.disagrees.join(", ")));
                flagged = true;
            } else if let Some(reason) = &figures.not_compared {
                row.push(reason.clone());
                uncompared = true;
            } else {
                row.push("ok".into());
            }
        }
        rows.push(row);
        let width = rows[0].len();
        let mut groups = simulated.map(|simulated| simulated.nodes[i].groups.iter());
        for part in &node.parts {
            let group_sojourn_s = (part.kind == "consumers").then(|| group_sojourn_s(part));
            let mut row = vec![
                format!("  {}", part.name),
                part.kind.into(),
                "-".into(),
                significant(part.arrival_rate_per_s),
                format!("{}×{}", part.servers.0, part.servers.1),
                ms(Some(part.holding_s)),
                format!("{:.3}", part.utilization),
                if part.arrival_rate_per_s > 0.0 { ms(Some(part.wait_s.unwrap_or(f64::INFINITY))) } else { "-".into() },
                match group_sojourn_s {
                    Some(sojourn_s) if part.arrival_rate_per_s > 0.0 => ms(Some(sojourn_s.unwrap_or(f64::INFINITY))),
                    _ => "-".into(),
                },
            ];
            // A group's simulated time from publish to processed, and its check.
            if let Some(group) = group_sojourn_s.and(groups.as_mut().and_then(|groups| groups.next())) {
                row.extend(["-".into(), "-".into(), show(group.sojourn_s, 1e3)]);
                if let Some(reason) = &group.not_compared {
                    row.push(reason.clone());
                    uncompared = true;
                } else if group.disagrees.is_empty() {
                    row.push(if group.sojourn_s.is_some() { "ok".into() } else { "-".into() });
                } else {
                    row.push(format!("DISAGREES ({})", group.disagrees.join(", ")));
                    flagged = true;
                }
            }
            row.resize(width, "-".into());
            rows.push(row);
        }
    }
    out.push_str(&sim_batch::table::aligned(&rows));
    let _ = writeln!(out);
    if !analysis.calls.is_empty() {
        flagged |= write_calls(out, analysis, simulated);
    }
    let _ = writeln!(out, "{}", sim_batch::analysis::bottleneck_line(analysis));
    if let Some(line) = sim_batch::analysis::peak_line(analysis) {
        let _ = writeln!(out, "{line}");
    }
    for line in sim_batch::analysis::metastable_lines(analysis) {
        let _ = writeln!(out, "{line}");
    }
    for (node, line) in sim_batch::analysis::refusal_lines(analysis) {
        let _ = write!(out, "{line}");
        let (predicted, measured) = match node {
            Some(node) => (analysis.nodes[node].refused, simulated.and_then(|simulated| simulated.nodes[node].refused)),
            None => (analysis.completed_share, simulated.and_then(|simulated| simulated.completed_share)),
        };
        if let (Some(predicted), Some(measured)) = (predicted, measured) {
            let _ = write!(out, "; simulated {}%", show(Some(measured), 100.0));
            if disagrees(predicted, measured, 0.001) {
                let _ = write!(out, " (DISAGREES)");
                flagged = true;
            } else {
                let _ = write!(out, " (ok)");
            }
        }
        let _ = writeln!(out);
    }
    for line in sim_batch::analysis::self_wait_lines(topology) {
        let _ = writeln!(out, "{line}");
    }
    for host in &analysis.hosts {
        let _ = writeln!(
            out,
            "host \"{}\": {:.3} of its cores busy; Work on it takes {} its time on an idle core",
            host.name,
            host.utilization,
            host.stretch.map_or("unbounded (saturated)".to_string(), |stretch| format!("{stretch:.3}×"))
        );
    }
    for (index, pipe) in analysis.bandwidth.iter().enumerate() {
        let _ = write!(
            out,
            "bandwidth \"{}\" ({}): {} messages/s, {:.3} of it busy; a message waits {} behind those before it",
            pipe.name,
            sim_core::report::format_bandwidth(pipe.bandwidth_bit_s),
            significant(pipe.messages_per_s),
            pipe.utilization,
            pipe.wait_s
                .map_or("without end (saturated)".to_string(), |wait_s| format!("{} ms", significant(wait_s * 1e3)))
        );
        if let Some(figures) = simulated.and_then(|simulated| simulated.bandwidth.get(index)) {
            let _ =
                write!(out, "; simulated {} busy, {} ms", show(figures.utilization, 1.0), show(figures.wait_s, 1e3));
            if figures.disagrees.is_empty() {
                let _ = write!(out, " (ok)");
            } else {
                let _ = write!(out, " (DISAGREES: {})", figures.disagrees.join(", "));
                flagged = true;
            }
        }
        let _ = writeln!(out);
    }
    let _ = write!(out, "{}", sim_batch::analysis::response_line(analysis));
    if let Some(simulated) = simulated {
        if let Some(summary) = simulated.mean_response_s {
            let _ = write!(
                out,
                "; simulated {} ± {} ms",
                significant(summary.mean * 1e3),
                significant_to(summary.half_width.unwrap_or(0.0) * 1e3, 2)
            );
            if let Some(predicted) = analysis.response_s {
                if disagrees(predicted, summary, 0.0) {
                    let _ = write!(out, " (DISAGREES)");
                }
            }
        }
    }
    let _ = writeln!(out);
    let beside = |class: &sim_core::analysis::ClassResponse| {
        let measured = simulated
            .and_then(|simulated| simulated.classes.iter().find(|figures| figures.class == class.class))
            .and_then(|figures| figures.response_s);
        let Some(measured) = measured else { return String::new() };
        let verdict = match class.response_s {
            Some(predicted) if disagrees(predicted, measured, 0.0) => {
                flagged = true;
                "DISAGREES"
            }
            _ => "ok",
        };
        format!(" (simulated {} ms, {verdict})", show(Some(measured), 1e3))
    };
    for line in sim_batch::analysis::class_response_lines(analysis, beside) {
        let _ = writeln!(out, "{line}");
    }
    for node in &analysis.nodes {
        if let Some(caveat) = &node.caveat {
            let _ = writeln!(out, "note: \"{}\": {caveat}", node.name);
        }
    }
    for note in &analysis.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if uncompared {
        let _ = writeln!(
            out,
            "not compared: past saturation the model has no steady state; a node behind a saturated one gets only what it lets through, and a node that waits on one holds its requests for as long as its backlog takes (add servers there first, then analyze again)"
        );
    }
    if flagged {
        let _ = writeln!(
            out,
            "flagged nodes disagree beyond noise (more than 2 half-widths + 1%): the model's assumptions (Poisson arrivals, exponential holding times where the view cannot work out their variance, even split, Poisson streams into bounded queues) do not hold there"
        );
    }
}

/// The timed calls' table: each policy's timeout, calls, share of attempts timed out and
/// attempts per call, with the simulated figures beside them. Whether a row disagrees.
fn write_calls(out: &mut String, analysis: &Analysis, simulated: Option<&Simulated>) -> bool {
    let mut rows: Vec<Vec<String>> =
        vec![["call", "timeout", "calls/s", "timed out %", "attempts/call"].map(String::from).to_vec()];
    if simulated.is_some() {
        rows[0].extend(["sim timed out %", "sim attempts/call", "check"].map(String::from));
    }
    let saturated = analysis.response_s.is_none();
    let mut flagged = false;
    for (i, call) in analysis.calls.iter().enumerate() {
        let mut row = vec![
            call.name.clone(),
            ms(Some(call.timeout_s)) + " ms",
            significant(call.calls_per_s),
            format!("{:.3}", 100.0 * call.timeout_share),
            format!("{:.4}{}", call.attempts_per_call, if call.budget_limited { " (budget)" } else { "" }),
        ];
        if let Some(simulated) = simulated {
            let figures = &simulated.calls[i];
            row.push(show(figures.timeout_share, 100.0));
            row.push(show(figures.attempts_per_call, 1.0));
            row.push(if saturated {
                "saturated".into()
            } else if figures.disagrees.is_empty() {
                "ok".into()
            } else {
                flagged = true;
                format!("DISAGREES ({})", figures.disagrees.join(", "))
            });
        }
        rows.push(row);
    }
    out.push_str(&sim_batch::table::aligned(&rows));
    let _ = writeln!(out);
    flagged
}
