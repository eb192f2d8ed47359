//! `archsim capacity FILE --slo "p99<200ms"`: the largest arrival rate (or, with `--param`,
//! the boundary value of any parameter) at which an SLO still holds, found by bracketing and
//! bisection on replicated runs, with the range where the intervals cannot tell.

use crate::cli::{BatchArgs, OutputFormat};
use crate::failure::Failure;
use sim_batch::capacity::{default_param, search, start_value, topology_at, CapacityResult, Direction, SearchSpec};
use sim_batch::metrics::{significant, Slo};
use sim_batch::replicate::replicate;
use sim_batch::stats::{summarize, Summary};
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
    let replications = args.replications_or(5)?;
    let seeds = args.seeds(replications);
    let pool = args.pool()?;
    let spec =
        SearchSpec { param: &param, slo: &slo, replications, start, integer, precision: precision.unwrap_or(0.01) };
    let result = search(&spec, |value| -> Result<Option<Summary>, String> {
        let topology = topology_at(&text, &param, value).map_err(|error| format!("error: {error}\n"))?;
        let config = args.config(&topology)?;
        let runs = pool
            .install(|| replicate(&topology, config, &seeds, std::slice::from_ref(&slo.metric)))
            .map_err(|error| format!("error: {error}\n"))?;
        Ok(summarize(runs.column(0)))
    })?;
    let text = match args.format {
        OutputFormat::Json => serde_json::to_string_pretty(&result).expect("a result serializes") + "\n",
        OutputFormat::Table => table(&result, &slo),
    };
    stdout.write_all(text.as_bytes()).map_err(|error| Failure::cannot_write("the search", error))
}

fn table(result: &CapacityResult, slo: &Slo) -> String {
    let mut out = format!(
        "capacity search over {} for SLO {} ({} replications per value)\n\n",
        result.param, result.slo, result.replications
    );
    out.push_str(&format!("{:>14}  {:<22}  verdict\n", "value", slo.metric.name));
    for probe in &result.probes {
        let metric = match probe.metric {
            Some(Summary { mean, half_width: Some(half_width), .. }) => slo.metric.format_interval(mean, half_width),
            Some(summary) => slo.metric.format(summary.mean),
            None => "-".into(),
        };
        let verdict = match probe.sure {
            Some(true) => "holds",
            Some(false) => "fails",
            None if probe.holds => "holds on the mean (interval straddles)",
            None => "fails on the mean (interval straddles)",
        };
        out.push_str(&format!("{:>14}  {metric:<22}  {verdict}\n", significant(probe.value)));
    }
    out.push('\n');
    match result.capacity {
        Some(capacity) => {
            out.push_str(&format!(
                "{} {} at which {} holds: {}\n",
                if result.direction == Some(Direction::Smallest) { "smallest" } else { "largest" },
                result.param,
                result.slo,
                significant(capacity)
            ));
            if let Some([low, high]) = result.uncertain_between {
                out.push_str(&format!(
                    "uncertainty: the 95% intervals cannot tell between {} and {}\n",
                    significant(low),
                    significant(high)
                ));
            }
        }
        None => out.push_str(&format!("no boundary found: {}\n", result.note.as_deref().unwrap_or(""))),
    }
    out
}
