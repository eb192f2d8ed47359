//! The command-line grammar (clap) and the `check` command's description of a topology.

use clap::{Parser, Subcommand, ValueEnum};
use sim_core::topology::{Arrivals, NodeKind, StopCondition, Topology};
use sim_core::units::{parse_duration, Duration};
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
        /// The parameter to search, such as nodes.app.instances (default: the arrival rate).
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
}

fn shard_arg(text: &str) -> Result<crate::experiment::Shard, String> {
    crate::experiment::parse_shard(text)
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The topology file (RON).
    pub file: PathBuf,
    /// Master seed (default: the file's, or 1).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated time to run, such as 60s or 10min.
    #[arg(long, value_parser = duration_arg, conflicts_with = "requests")]
    pub duration: Option<Duration>,
    /// Create this many requests, then let the system drain.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Initial period excluded from the statistics, such as 5s.
    #[arg(long, value_parser = duration_arg)]
    pub warmup: Option<Duration>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Write the report to this file (complete or not at all) instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A chaos scenario file (RON `Scenario(...)`) replacing the topology's own scenario.
    #[arg(long)]
    pub scenario: Option<PathBuf>,
}

/// Options of the commands that run replications (`compare`, `capacity`, `analyze`).
#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// Replications per design or value (default 10 for compare, 5 for capacity).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Base seed; replication r runs with the same derived seed everywhere.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated time per run, such as 60s.
    #[arg(long, value_parser = duration_arg, conflicts_with = "requests")]
    pub duration: Option<Duration>,
    /// Requests per run instead of a duration.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Initial period excluded from the statistics.
    #[arg(long, value_parser = duration_arg)]
    pub warmup: Option<Duration>,
    /// Parallel runs (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

impl BatchArgs {
    /// The run parameters for a topology: its own, overridden by these options.
    pub fn config(&self, topology: &Topology) -> Result<sim_core::RunConfig, String> {
        crate::run_config(topology, None, self.duration, self.requests, self.warmup)
    }

    /// A thread pool of `--jobs` threads.
    pub fn pool(&self) -> Result<rayon::ThreadPool, String> {
        let jobs = self.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .map_err(|error| format!("error: cannot start {jobs} threads: {error}\n"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A readable table.
    Table,
    /// JSON with the documented schema.
    Json,
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

/// What `archsim check` prints: the nodes, edges, classes and run parameters.
pub fn describe(topology: &Topology) -> String {
    let mut out = String::from("ok: the topology is valid\n\nworkloads\n");
    for source in &topology.sources {
        let entry = &topology.nodes[source.entry_node as usize].name;
        let how = match &source.arrivals {
            Arrivals::Closed { users, .. } => format!("closed, {users} users"),
            other => format!("open, mean rate {}/s", other.mean_rate_per_s().unwrap_or(0.0)),
        };
        let _ = writeln!(out, "  {} ({how}) → \"{entry}\"", source.name);
    }
    let _ = writeln!(out, "\nnodes");
    for node in &topology.nodes {
        let detail = match &node.kind {
            NodeKind::Service(s) => format!(
                "service: {} instance(s) × {} worker(s), queue {}, {:?}{}",
                s.instances,
                s.workers,
                s.queue_capacity.map_or("unbounded".to_string(), |q| q.to_string()),
                s.discipline,
                s.timeout_ns.map_or(String::new(), |t| format!(", timeout {}", Duration::from_ns(t)))
            ),
            NodeKind::LoadBalancer(b) if b.label == "load_balancer" => {
                format!("load balancer: {:?} over {} target instance(s)", b.algorithm, b.targets.len())
            }
            _ => sim_core::topology::node_summary(topology, node),
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
            topology.nodes[edge.from as usize].name,
            topology.nodes[edge.to as usize].name,
            edge.kind,
            if edge.certain { "" } else { ", probabilistic" }
        );
    }
    if let Some(scenario) = &topology.scenario {
        let _ = writeln!(out, "\nscenario (window {})", Duration::from_ns(scenario.window_ns));
        for fault in &scenario.faults {
            let end = fault.end_ns.map_or("the end".to_string(), |ns| Duration::from_ns(ns).to_string());
            let _ = writeln!(out, "  {} from {} to {end}", fault.kind.label(), Duration::from_ns(fault.start_ns));
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
    out
}
