//! The archsim command line as a library: `run(args, stdout, stderr)` returns the exit
//! status, so the integration tests drive exactly what the binary does.

mod analyze;
mod calibrate;
mod capacity;
mod cli;
mod compare;
pub mod experiment;
mod failure;
mod input;
mod output;
mod progress;
mod traces;

use clap::Parser;
use cli::{Cli, Command, OutputFormat, RunArgs};
use sim_batch::diagnostics;
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

pub use failure::{Failure, EXIT_BAD_INPUT, EXIT_FAILED};

/// Exit status for a successful run.
pub const EXIT_OK: i32 = 0;

/// Runs the command line `args` (program name first) and returns the exit status.
pub fn run<I, T>(args: I, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let status = if error.use_stderr() { EXIT_BAD_INPUT } else { EXIT_OK };
            let text = error.render().to_string();
            let _ =
                if error.use_stderr() { stderr.write_all(text.as_bytes()) } else { stdout.write_all(text.as_bytes()) };
            return status;
        }
    };
    let result = match &cli.command {
        Command::Run(args) => run_command(args, stdout, stderr),
        Command::Check { file } => check_command(file, stdout),
        Command::Graph { file } => graph_command(file, stdout),
        Command::Experiment(args) => experiment::experiment_command(
            &experiment::ExperimentRequest {
                spec: &args.spec,
                out: &args.out,
                jobs: args.jobs,
                resume: args.resume,
                shard: args.shard,
                max_events: args.max_events.unwrap_or(sim_core::budget::DEFAULT_MAX_EVENTS),
            },
            stdout,
            stderr,
        ),
        Command::Calibrate { traces, out, deployment } => {
            calibrate::calibrate_command(traces, out.as_deref(), deployment.as_deref(), stdout, stderr)
        }
        Command::Merge { dirs, out } => experiment::merge_command(dirs, out, stdout),
        Command::Compare { a, b, batch, metric, plot } => {
            compare::compare_command(a, b, batch, metric, plot.as_deref(), stdout)
        }
        Command::Analyze { file, simulate, batch } => analyze::analyze_command(file, *simulate, batch, stdout),
        Command::Capacity { file, slo, param, precision, batch } => {
            capacity::capacity_command(file, slo, param.as_deref(), *precision, batch, stdout)
        }
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(failure) => {
            let _ = stderr.write_all(failure.message().as_bytes());
            failure.status()
        }
    }
}

/// Reads and validates a topology file; the error is rendered with the offending line.
pub(crate) fn load(path: &Path) -> Result<(String, sim_core::Topology), String> {
    let bytes = input::read_input(path)?;
    let mut topology =
        sim_core::parse_topology_bytes(&bytes).map_err(|error| diagnostics::render(path, &bytes, &error))?;
    traces::attach(&mut topology, path)?;
    Ok((String::from_utf8_lossy(&bytes).into_owned(), topology))
}

fn run_command(args: &RunArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> Result<(), Failure> {
    if let Some(path) = &args.out {
        // Refused before the run, not after it.
        output::destination(path).map_err(|error| format!("error: cannot write {}: {error}\n", path.display()))?;
    }
    let (_, mut topology) = load(&args.file)?;
    if let Some(path) = &args.scenario {
        let bytes = input::read_input(path)?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| format!("error: {} is not UTF-8 text\n  help: give a RON scenario file\n", path.display()))?;
        sim_core::topology::apply_scenario(&mut topology, text)
            .map_err(|error| diagnostics::render(path, &bytes, &error))?;
    }
    args.apply_thresholds(&mut topology)?;
    args.apply_load(&mut topology)?;
    let config = args.run.config(&topology)?;
    let recorder = match &args.record_arrivals {
        Some(path) => Some(
            traces::ArrivalRecorder::create(path, !topology.regions.names.is_empty(), topology.network.enabled)
                .map_err(|error| Failure::cannot_write(path.display(), error))?,
        ),
        None => None,
    };
    let mut simulation = sim_core::Simulation::new(&topology, config);
    if let Some(recorder) = recorder {
        simulation.record_arrivals(Box::new(recorder));
    }
    progress::run(&mut simulation, stderr);
    if let Some((what, help)) = simulation.nothing_measured(sim_core::RUN_FLAGS) {
        return Err(Failure::BadInput(format!("error: {what}\n  help: {help}\n")));
    }
    if let Some((workload, error)) = simulation.trace_failure() {
        return Err(Failure::BadInput(format!(
            "error: the trace of workload \"{workload}\" changed during the run: {error}\n  help: replay a file that is not being written\n"
        )));
    }
    if let (Some(sink), Some(path)) = (simulation.take_arrival_sink(), &args.record_arrivals) {
        sink.finish().map_err(|error| Failure::cannot_write(path.display(), error))?;
    }
    let report = simulation.report();
    let text = match args.format {
        OutputFormat::Table => report.to_table(),
        OutputFormat::Json => report.to_json(),
    };
    match &args.out {
        Some(path) => output::write_atomically(path, text.as_bytes())
            .map_err(|error| Failure::cannot_write(path.display(), error)),
        None => stdout.write_all(text.as_bytes()).map_err(|error| Failure::cannot_write("the report", error)),
    }
}

fn check_command(file: &Path, stdout: &mut dyn Write) -> Result<(), Failure> {
    let (_, topology) = load(file)?;
    let text = cli::describe(&topology);
    stdout.write_all(text.as_bytes()).map_err(|error| Failure::cannot_write("the description", error))
}

fn graph_command(file: &Path, stdout: &mut dyn Write) -> Result<(), Failure> {
    let (_, topology) = load(file)?;
    stdout
        .write_all(sim_core::topology::to_dot(&topology).as_bytes())
        .map_err(|error| Failure::cannot_write("the graph", error))
}
