//! The command-line grammar (clap) and the `check` command's description of a topology.

use clap::{Parser, Subcommand, ValueEnum};
use sim_core::budget::{budget_to_raise_to, estimate_events, round_for_words, DEFAULT_MAX_EVENTS};
use sim_core::topology::DEFAULT_DURATION_NS;
use sim_core::topology::{Arrivals, FaultKind, NodeKind, StopCondition, Topology};
use sim_core::units::{parse_duration, Duration, NS_PER_S};
use sim_core::{RunConfig, RunProblem};
use std::fmt::Write;
use std::path::PathBuf;

/// archsim: a deterministic discrete-event simulator of backend architectures.
#[derive(Debug, Parser)]
#[command(name = "archsim", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate a topology and print its report.
    Run(RunArgs),
    /// Validate a topology and print what it contains.
    Check {
        /// The topology file (RON).
        file: PathBuf,
    },
    /// Print a topology as a Graphviz DOT graph.
    Graph {
        /// The topology file (RON).
        file: PathBuf,
    },
    /// Run an experiment: sweeps and replications in parallel, with intervals and plots.
    Experiment(ExperimentArgs),
    /// Compare two designs over paired replications with common random numbers.
    Compare {
        /// Design A (RON topology).
        a: PathBuf,
        /// Design B (RON topology).
        b: PathBuf,
        #[command(flatten)]
        batch: BatchArgs,
        /// Metrics to compare (repeatable), such as p99 or nodes.db.utilization.
        #[arg(long)]
        metric: Vec<String>,
        /// Also draw both designs' latency CDFs (SVG and PNG) into this directory.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Find the largest load (or the boundary of another parameter) at which an SLO holds.
    Capacity {
        /// The topology file (RON).
        file: PathBuf,
        /// The objective, such as "p99<200ms" or "availability>=99.9%".
        #[arg(long)]
        slo: String,
        /// The parameter to search, such as nodes.app.instances, or `load`: a factor on every
        /// open workload's traffic (default: the only workload's rate, else `load`).
        #[arg(long)]
        param: Option<String>,
        /// Relative width at which the search stops (default 0.01).
        #[arg(long)]
        precision: Option<f64>,
        #[command(flatten)]
        batch: BatchArgs,
    },
    /// The analytic view: visit ratios, utilization, bottleneck, M/M/c waits; --simulate compares.
    Analyze {
        /// The topology file (RON).
        file: PathBuf,
        /// Also simulate (replications) and flag where model and simulation disagree.
        #[arg(long)]
        simulate: bool,
        #[command(flatten)]
        batch: BatchArgs,
    },
    /// Write a topology from OpenTelemetry traces (OTLP JSON) of a running system.
    Calibrate {
        /// Trace files: OTLP JSON, one ExportTraceServiceRequest per line (the Collector's file
        /// exporter) or one per file.
        #[arg(required = true)]
        traces: Vec<PathBuf>,
        /// Where to write the topology (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// What traces do not carry: instances, workers, queues, balancers per node (RON
        /// `Deployment(nodes: {...})`).
        #[arg(long)]
        deployment: Option<PathBuf>,
    },
    /// Combine the output directories of an experiment's shards into one.
    Merge {
        /// The shards' output directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write the combined results.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct ExperimentArgs {
    /// The experiment file (RON `Experiment(...)`).
    pub spec: PathBuf,
    /// Where to write results.csv, summary.csv, summary.json, plots/ and points/.
    #[arg(long)]
    pub out: PathBuf,
    /// Parallel runs (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Continue a stopped run in --out, keeping its finished points.
    #[arg(long)]
    pub resume: bool,
    /// Run only share I of N (I from 0): the points whose index is I modulo N.
    #[arg(long, value_parser = shard_arg)]
    pub shard: Option<crate::experiment::Shard>,
    /// The most events one run of the experiment may be expected to process (default 2e9).
    #[arg(long, value_parser = event_count_arg)]
    pub max_events: Option<u64>,
}

fn shard_arg(text: &str) -> Result<crate::experiment::Shard, String> {
    crate::experiment::parse_shard(text)
}

/// The run parameters every simulating command can override.
#[derive(Debug, Default, clap::Args)]
pub struct RunOverrides {
    /// Seed: a run's master seed (default: the file's, or 1); for batch commands, the base
    /// seed every replication's seed derives from.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated time to run, such as 60s or 10min.
    #[arg(long, value_parser = duration_arg, conflicts_with = "requests")]
    pub duration: Option<Duration>,
    /// Create this many requests, then let the system drain (such as 100000 or 1e6).
    #[arg(long, value_parser = request_count_arg)]
    pub requests: Option<u64>,
    /// Initial period excluded from the statistics, such as 5s.
    #[arg(long, value_parser = duration_arg)]
    pub warmup: Option<Duration>,
    /// With --duration (or the file's duration): stop creating requests at the duration,
    /// then let those in flight finish and count them.
    #[arg(long)]
    pub drain: bool,
    /// The most events one run may be expected to process (default 2e9, a few minutes);
    /// a run estimated above it is refused before it starts.
    #[arg(long, value_parser = event_count_arg)]
    pub max_events: Option<u64>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The topology file (RON).
    pub file: PathBuf,
    #[command(flatten)]
    pub run: RunOverrides,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Write the report to this file (complete or not at all) instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A chaos scenario file (RON `Scenario(...)`) replacing the topology's own scenario.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Report the share of requests answered within each of these latencies, such as
    /// 50ms,200ms (replacing the file's `latency_thresholds`; latency SLOs add theirs).
    #[arg(long, value_parser = duration_arg, value_delimiter = ',')]
    pub latency_thresholds: Vec<Duration>,
    /// Write every request the workloads create to this file, as a CSV trace that a
    /// `Trace` workload replays (time_s, workload, class, key, client, region).
    #[arg(long, value_name = "FILE")]
    pub record_arrivals: Option<PathBuf>,
    /// Multiply every open workload's traffic by this factor (2: twice the file's rates;
    /// a trace replays that much faster; closed workloads keep their users).
    #[arg(long, value_name = "FACTOR")]
    pub load: Option<f64>,
}

impl RunArgs {
    /// Scales the topology's open traffic by `--load`, refusing a factor that cannot apply.
    pub fn apply_load(&self, topology: &mut Topology) -> Result<(), String> {
        match self.load {
            Some(factor) => topology.scale_open_load(factor).map_err(|message| {
                format!("error: --load {factor}: {message}\n  help: give --load a factor such as 1.5\n")
            }),
            None => Ok(()),
        }
    }

    /// Puts the command line's latency thresholds in the topology, refusing a zero.
    pub fn apply_thresholds(&self, topology: &mut Topology) -> Result<(), String> {
        if self.latency_thresholds.is_empty() {
            return Ok(());
        }
        if self.latency_thresholds.iter().any(|threshold| threshold.ns == 0) {
            return Err("error: a latency threshold of 0s\n  help: give positive latencies, such as --latency-thresholds 50ms,200ms\n".into());
        }
        let mut thresholds: Vec<u64> = self.latency_thresholds.iter().map(|threshold| threshold.ns).collect();
        thresholds.sort_unstable();
        thresholds.dedup();
        topology.run.latency_thresholds_ns = thresholds;
        Ok(())
    }
}

/// Options of the commands that run replications (`compare`, `capacity`, `analyze`).
#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// Replications per design or value (default 10 for compare, 5 for capacity and analyze).
    #[arg(long)]
    pub replications: Option<u32>,
    #[command(flatten)]
    pub run: RunOverrides,
    /// Parallel runs (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

impl RunOverrides {
    /// The topology's run parameters with these overrides, unchecked.
    pub fn apply(&self, topology: &Topology) -> RunConfig {
        let mut config = RunConfig::from_topology(topology);
        if let Some(seed) = self.seed {
            config.seed = seed;
        }
        if let Some(duration) = self.duration {
            config.stop = StopCondition::Duration { ns: duration.ns };
        }
        if let Some(count) = self.requests {
            config.stop = StopCondition::Requests { count };
        }
        if let Some(warmup) = self.warmup {
            config.warmup_ns = warmup.ns;
        }
        config.drain |= self.drain;
        config
    }

    /// The run parameters for a topology, refusing what cannot run (the help names the flags),
    /// or what would run far longer than the event budget allows.
    pub fn config(&self, topology: &Topology) -> Result<RunConfig, String> {
        let config = self.apply(topology);
        match config.problem(topology) {
            None => within_budget(topology, config, self.max_events.unwrap_or(DEFAULT_MAX_EVENTS)),
            Some(RunProblem::NothingToRun) => Err(
                "error: a run of 0 requests or 0 seconds measures nothing\n  help: give --requests 1 or more, or a --duration above 0\n".into(),
            ),
            Some(RunProblem::WarmupNotShorter { warmup_s, run_s }) => Err(format!(
                "error: the warm-up ({warmup_s}s, {}) is not shorter than the run ({run_s}s, {})\n  help: shorten --warmup, \
                 or lengthen the run with --duration (or stop by count with --requests); a file whose run gives \
                 neither `duration` nor `requests` runs for {}s\n",
                if self.warmup.is_some() { "from --warmup" } else { "the file's `warmup`" },
                if self.duration.is_some() { "from --duration" } else { "the file's run" },
                DEFAULT_DURATION_NS / NS_PER_S
            )),
            Some(RunProblem::TraceNotAttached) => {
                let (workload, file) = topology.unattached_trace().unwrap_or_default();
                Err(format!("error: workload \"{workload}\" replays the trace \"{file}\", which was not read\n"))
            }
            Some(RunProblem::TooManyWindows { run_s, window_s, most }) => Err(format!(
                "error: a {run_s}s run in windows of {window_s}s makes more than {most} time-series windows (for this many nodes)\n  help: widen the scenario's window or shorten --duration\n"
            )),
        }
    }
}

impl BatchArgs {
    /// The run parameters for a topology: its own, overridden by these options.
    pub fn config(&self, topology: &Topology) -> Result<RunConfig, String> {
        self.run.config(topology)
    }

    /// The replication count (`default` when not given), at least 2 for an interval.
    pub fn replications_or(&self, default: u32) -> Result<u32, String> {
        match self.replications.unwrap_or(default) {
            0 | 1 => Err("error: --replications must be at least 2 for an interval\n".into()),
            replications if replications > sim_batch::replicate::MAX_REPLICATIONS => Err(format!(
                "error: --replications {replications} is over the limit of {}\n  help: use fewer replications\n",
                sim_batch::replicate::MAX_REPLICATIONS
            )),
            replications => Ok(replications),
        }
    }

    /// The seed of each replication: the same for every design or value compared
    /// (common random numbers).
    pub fn seeds(&self, replications: u32) -> Vec<u64> {
        sim_batch::seeds::common_seeds(self.run.seed.unwrap_or(sim_batch::seeds::DEFAULT_BASE_SEED), replications)
    }

    /// A thread pool of `--jobs` threads.
    pub fn pool(&self) -> Result<rayon::ThreadPool, String> {
        crate::experiment::thread_pool(self.jobs)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A readable table.
    Table,
    /// JSON with the documented schema.
    Json,
}

/// Refuses a run expected to process more than `max_events` events.
pub fn within_budget(topology: &Topology, config: RunConfig, max_events: u64) -> Result<RunConfig, String> {
    let estimate = estimate_events(topology, &config);
    if estimate.events <= max_events as f64 {
        return Ok(config);
    }
    let raise = match budget_to_raise_to(estimate.events) {
        Some((budget, time)) => format!(", or raise the budget with --max-events {budget} ({time} of one core)"),
        None => " (no budget covers it: that is more events than a run can count)".into(),
    };
    Err(format!(
        "error: this run would process about {} events, more than the budget of {}\n  \
         most come from {}\n  \
         help: the default budget, 2e9 events, is a few minutes of computing; shorten the run or lower \
         the rates{raise}\n",
        round_for_words(estimate.events),
        round_for_words(max_events as f64),
        estimate.main_source,
    ))
}

/// An event count, in digits or in scientific notation (`5e9`).
fn event_count_arg(text: &str) -> Result<u64, String> {
    let value: f64 = text.trim().parse().map_err(|_| format!("\"{text}\" is not a number of events"))?;
    if !(value >= 1.0 && value < u64::MAX as f64) {
        return Err(format!("\"{text}\" is not a number of events between 1 and 1.8e19"));
    }
    Ok(value as u64)
}

/// A request count: a whole number, in scientific notation too (`1e6`).
fn request_count_arg(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if let Ok(count) = text.parse::<u64>() {
        return Ok(count);
    }
    match text.parse::<f64>() {
        Ok(value) if value >= 0.0 && value < u64::MAX as f64 && value.fract() == 0.0 => Ok(value as u64),
        Ok(value) if value >= u64::MAX as f64 => {
            Err(format!("\"{text}\" is more requests than a run can count (at most 1.8e19)"))
        }
        _ => Err(format!("\"{text}\" is not a whole number of requests; give one such as 100000 or 1e6")),
    }
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

/// "1 worker", "4 workers".
fn counted(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// What `archsim check` prints: the nodes, edges, classes and run parameters.
pub fn describe(topology: &Topology) -> String {
    let mut out = String::from("ok: the topology is valid\n\nworkloads\n");
    for source in &topology.sources {
        let entry = &topology.nodes[source.entry_node].name;
        let how = match &source.arrivals {
            Arrivals::Closed { users, .. } => format!("closed, {users} users"),
            Arrivals::Profile { steps, period_ns } => {
                let rate = |rate_per_s: f64| sim_batch::metrics::significant_to(rate_per_s, 6);
                let mut text = String::from("open, profile");
                for (index, (start_ns, rate_per_s)) in steps.iter().enumerate() {
                    match index {
                        0 => text += &format!(" {}/s", rate(*rate_per_s)),
                        _ => text += &format!(" → {}/s at {}", rate(*rate_per_s), Duration::from_ns(*start_ns)),
                    }
                }
                if let Some(period_ns) = period_ns {
                    let mean = source.arrivals.mean_rate_per_s().unwrap_or(0.0);
                    text += &format!(", every {} (mean rate {}/s)", Duration::from_ns(*period_ns), rate(mean));
                }
                text
            }
            other => format!(
                "open, mean rate {}/s",
                sim_batch::metrics::significant_to(other.mean_rate_per_s().unwrap_or(0.0), 6)
            ),
        };
        let _ = writeln!(out, "  {} ({how}) → \"{entry}\"", source.name);
    }
    let _ = writeln!(out, "\nnodes");
    for (index, node) in topology.nodes.iter().enumerate() {
        let id = sim_core::ids::NodeId::new(index as u32);
        let region = if node.region == sim_core::topology::NONE {
            String::new()
        } else {
            format!(", region {}", topology.regions.names[node.region as usize])
        };
        let detail = match &node.kind {
            NodeKind::Service(s) => format!(
                "{}: {}{} × {}, queue {}, {:?}{}{region}{}",
                match s.role {
                    sim_core::topology::ServiceRole::ApiGateway => "API gateway",
                    _ => "service",
                },
                counted(s.instances as usize, "instance"),
                s.autoscaling.map_or(String::new(), |a| format!(" (autoscaled {}..{})", a.min, a.max)),
                counted(s.workers as usize, "worker"),
                s.queue_capacity.map_or("unbounded".to_string(), |q| q.to_string()),
                s.discipline,
                s.timeout_ns.map_or(String::new(), |t| format!(", timeout {}", Duration::from_ns(t))),
                topology.host_of(id).map_or(String::new(), |host| format!(", on host {}", host.name))
            ),
            NodeKind::LoadBalancer(b) if b.role == sim_core::topology::BalancerRole::LoadBalancer => {
                format!("load balancer: {} over {}{region}", b.algorithm, counted(b.targets.len(), "target instance"))
            }
            _ => sim_core::topology::node_summary(topology, id),
        };
        let _ = writeln!(out, "  {:<16} {detail}", node.name);
    }
    let _ = writeln!(out, "\nedges");
    let mut seen = Vec::new();
    for edge in &topology.edges {
        if seen.contains(&(edge.from, edge.to, edge.kind)) {
            continue;
        }
        seen.push((edge.from, edge.to, edge.kind));
        let _ = writeln!(
            out,
            "  {} → {} ({:?}{})",
            topology.nodes[edge.from].name,
            topology.nodes[edge.to].name,
            edge.kind,
            if edge.certain { "" } else { ", probabilistic" }
        );
    }
    if let Some(scenario) = &topology.scenario {
        let _ = writeln!(out, "\nscenario (window {})", Duration::from_ns(scenario.window_ns));
        for fault in &scenario.faults {
            let start = Duration::from_ns(fault.start_ns);
            if let FaultKind::Load { factor } = fault.kind {
                let _ = writeln!(out, "  load: open arrival rates × {factor} from {start} (until the next step)");
                continue;
            }
            let end = fault.end_ns.map_or("the end".to_string(), |ns| Duration::from_ns(ns).to_string());
            let _ = writeln!(out, "  {} from {start} to {end}", fault.kind.label());
        }
        for slo in &scenario.slos {
            let _ = writeln!(out, "  SLO {}", slo.label());
        }
    }
    let _ = writeln!(out, "\nclasses: {}", topology.classes.join(", "));
    let stop = match topology.run.stop {
        StopCondition::Duration { ns } => format!("duration {}", Duration::from_ns(ns)),
        StopCondition::Requests { count } => format!("{count} requests"),
    };
    let _ =
        writeln!(out, "run: {stop}, warm-up {}, seed {}", Duration::from_ns(topology.run.warmup_ns), topology.run.seed);
    // The file is valid, but run as it stands (no flags) its warm-up would cover the run: a
    // file without `duration` or `requests` runs for the default.
    if matches!(RunConfig::from_topology(topology).problem(topology), Some(RunProblem::WarmupNotShorter { .. })) {
        let _ = writeln!(
            out,
            "note: the warm-up is not shorter than the run, which `archsim run` refuses: give the file's run a \
             longer `duration` or a `requests` count, or run it with --duration or --requests"
        );
    }
    out
}
