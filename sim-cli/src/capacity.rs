//! `archsim capacity FILE --slo "p99<200ms"`: the largest arrival rate (or, with `--param`,
//! the boundary value of any parameter) at which an SLO still holds, found by bracketing and
//! bisection on replicated runs, with the range where the intervals cannot tell.

use crate::cli::{BatchArgs, OutputFormat};
use crate::failure::Failure;
use sim_batch::capacity::{
    default_param, evaluation, probe_metrics, search, start_value, table, topology_at, Evaluation, SearchSpec,
    LOAD_PARAM,
};
use sim_batch::metrics::Slo;
use sim_batch::replicate::replicate;
use std::io::Write;
use std::path::Path;

pub fn capacity_command(
    file: &Path,
    slo_text: &str,
    param: Option<&str>,
    precision: Option<f64>,
    args: &BatchArgs,
    stdout: &mut dyn Write,
) -> Result<(), Failure> {
    let (text, topology) = crate::load(file)?;
    let slo = Slo::parse(slo_text).map_err(|message| {
        format!("error: {message}\n  help: write the SLO like \"p99<200ms\" or \"availability>=99.9%\"\n")
    })?;
    let param = match param {
        Some(param) => param.to_string(),
        None => default_param(&topology).map_err(|error| format!("error: {error}\n"))?,
    };
    let (start, integer) = start_value(&text, &param)
        .map_err(|error| format!("error: --param {error}\n"))?
        .ok_or_else(|| format!("error: {} does not set \"{param}\"\n  help: write the value in the file, or give --param a field the file sets\n", file.display()))?;
    let precision = precision.unwrap_or(0.01);
    if !(precision > 0.0 && precision < 1.0) {
        return Err(format!(
            "error: --precision {precision} is not a relative width between 0 and 1\n  help: give a precision such as 0.01 (1%)\n"
        )
        .into());
    }
    let replications = args.replications_or(5)?;
    let seeds = args.seeds(replications);
    let pool = args.pool()?;
    let spec = SearchSpec { param: &param, slo: &slo, replications, start, integer, precision };
    let result = search(&spec, |value| -> Result<Evaluation, String> {
        let mut at = topology_at(&text, &param, value).map_err(|error| format!("error: {error}\n"))?;
        at.share_traces_from(&topology);
        let topology = at;
        let config = args.config(&topology)?;
        let runs = pool.install(|| replicate(&topology, config, &seeds, &probe_metrics(&slo))).map_err(|error| {
            format!("error: {}\n", error.at(&format!("{param} = {}", sim_batch::metrics::significant(value))))
        })?;
        let unstable_runs = runs.verdicts.iter().filter(|run| !run.instability.is_empty()).count() as u32;
        Ok(evaluation(&slo, &runs.values, unstable_runs))
    })?;
    let text = match args.format {
        OutputFormat::Json => serde_json::to_string_pretty(&result).expect("a result serializes") + "\n",
        OutputFormat::Table => {
            table(&result, &slo)
                + &load_in_rates(&topology, &param, result.capacity)
                + &bursty_notes(&topology, args.config(&topology)?)
        }
    };
    stdout.write_all(text.as_bytes()).map_err(|error| Failure::cannot_write("the search", error))
}

/// A note per bursty workload whose bursts a run is too short to average out: each run's
/// mean rate then varies widely, and the verdicts near the boundary (and the runs found
/// unstable) follow the bursts the runs drew.
fn bursty_notes(topology: &sim_core::Topology, config: sim_core::RunConfig) -> String {
    let (measured_s, measured) = match config.stop {
        sim_core::StopCondition::Duration { ns } => {
            let measured_ns = ns.saturating_sub(config.warmup_ns);
            (measured_ns as f64 / 1e9, sim_core::units::Duration::from_ns(measured_ns).to_string())
        }
        sim_core::StopCondition::Requests { count } => {
            let total: f64 = topology.sources.iter().filter_map(|s| s.arrivals.mean_rate_per_s()).sum();
            let measured_s = count as f64 / total.max(f64::MIN_POSITIVE);
            (measured_s, format!("about {}", sim_core::topology::run_length_text(measured_s)))
        }
    };
    let mut notes = String::new();
    for source in &topology.sources {
        if let Some((spread, enough_s)) = source.arrivals.too_bursty_for(measured_s) {
            notes.push_str(&format!(
                "note: workload \"{}\" is bursty: over a run's {} measured its mean arrival rate varies by about \
                 ±{:.0}% from run to run, so the verdicts near the boundary, and runs found UNSTABLE, follow the \
                 bursts each run drew; measure for about {} (--duration) for ±{:.0}%\n",
                source.name,
                measured,
                spread * 100.0,
                sim_core::topology::run_length_text(enough_s),
                sim_core::topology::BURST_SPREAD * 100.0
            ));
        }
    }
    notes
}

/// For a search over `load`: the open workloads' rates at the factor found, which is what a
/// capacity plan needs ("35262/s in all (redirects 23250/s, ...), 7.75 times the file's rates").
fn load_in_rates(topology: &sim_core::Topology, param: &str, capacity: Option<f64>) -> String {
    let Some(factor) = capacity.filter(|_| param == LOAD_PARAM) else { return String::new() };
    let rates: Vec<(&str, f64, f64)> = topology
        .sources
        .iter()
        .filter_map(|source| {
            let (mean, peak) = (source.arrivals.mean_rate_per_s()?, source.arrivals.peak_rate_per_s()?);
            Some((source.name.as_str(), mean * factor, peak * factor))
        })
        .collect();
    let total: f64 = rates.iter().map(|(_, rate, _)| rate).sum();
    let each: Vec<String> = rates
        .iter()
        .map(|(name, rate, peak)| match peak > rate {
            true => format!(
                "{name} {}/s, {}/s at its peak",
                sim_batch::metrics::significant(*rate),
                sim_batch::metrics::significant(*peak)
            ),
            false => format!("{name} {}/s", sim_batch::metrics::significant(*rate)),
        })
        .collect();
    format!(
        "at that load the open workloads send {}/s in all ({}), {} times the file's rates\n",
        sim_batch::metrics::significant(total),
        each.join(", "),
        sim_batch::metrics::significant(factor)
    )
}
