//! `archsim capacity FILE --slo "p99<200ms"`: the largest arrival rate (or, with `--param`,
//! the boundary value of any parameter) at which an SLO still holds, found by bracketing and
//! bisection on replicated runs, with the range where the intervals cannot tell.

use crate::cli::{BatchArgs, OutputFormat};
use crate::experiment::metrics::{significant, Slo};
use crate::experiment::runner::replicate;
use crate::experiment::stats::{summarize, Summary};
use crate::experiment::store::slo_verdict;
use serde::Serialize;
use sim_core::params::{get_parameter, set_parameter, split_quantity, ParamValue};
use sim_core::topology::Arrivals;
use std::io::Write;
use std::path::Path;

/// Most probes a search makes.
const MAX_PROBES: usize = 40;

/// One evaluated value.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    pub value: f64,
    pub metric: Option<Summary>,
    /// The SLO on the mean alone.
    pub holds: bool,
    /// On the interval: `true` surely holds, `false` surely fails, `null` cannot tell.
    pub sure: Option<bool>,
}

/// Which side of the boundary the SLO holds on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// It holds below the boundary (a load): the answer is the largest value.
    Largest,
    /// It holds above it (instances, workers): the answer is the smallest value.
    Smallest,
}

/// What `capacity` finds.
#[derive(Debug, Clone, Serialize)]
pub struct CapacityResult {
    pub param: String,
    pub slo: String,
    pub replications: u32,
    /// Which side the SLO holds on; `None` when no boundary was found.
    pub direction: Option<Direction>,
    /// The boundary value at which the SLO still holds (on the mean), if one was found.
    pub capacity: Option<f64>,
    /// The range in which the intervals straddle the threshold: [sure holds, sure fails].
    pub uncertain_between: Option<[f64; 2]>,
    pub probes: Vec<Probe>,
    pub note: Option<String>,
}

/// The default parameter: the rate of the topology's only open workload with a fixed rate.
fn default_param(topology: &sim_core::Topology) -> Result<String, String> {
    let fixed: Vec<&sim_core::topology::Source> = topology
        .sources
        .iter()
        .filter(|source| matches!(source.arrivals, Arrivals::Poisson { .. } | Arrivals::Constant { .. }))
        .collect();
    match fixed.as_slice() {
        [source] => Ok(format!("workload.{}.arrivals.rate", source.name)),
        [] => Err("error: no workload has a fixed arrival rate to search over\n  help: name the parameter with --param, such as --param nodes.app.instances\n".into()),
        _ => Err("error: several workloads have an arrival rate\n  help: choose one with --param workload.NAME.arrivals.rate\n".into()),
    }
}

pub fn capacity_command(
    file: &Path,
    slo_text: &str,
    param: Option<&str>,
    precision: Option<f64>,
    args: &BatchArgs,
    stdout: &mut dyn Write,
) -> Result<(), String> {
    let (text, topology) = crate::load(file)?;
    let slo = Slo::parse(slo_text).map_err(|message| {
        format!("error: {message}\n  help: write the SLO like \"p99<200ms\" or \"availability>=99.9%\"\n")
    })?;
    let param = match param {
        Some(param) => param.to_string(),
        None => default_param(&topology)?,
    };
    let current = get_parameter(&text, &param)
        .map_err(|message| format!("error: --param {message}\n"))?
        .ok_or_else(|| format!("error: {} does not set \"{param}\"\n  help: write the value in the file, or give --param a field the file sets\n", file.display()))?;
    let (start, integer) = match split_quantity(&current) {
        Some((number, _)) => (number, false),
        None => match current.trim().parse::<f64>() {
            Ok(number) => (number, !current.contains('.')),
            Err(_) => return Err(format!("error: \"{param}\" is {current}, not a number to search over\n")),
        },
    };
    if start.is_nan() || start <= 0.0 {
        return Err(format!("error: \"{param}\" is {current}; the search starts from a positive value\n"));
    }
    let replications = args.replications_or(5)?;
    let seeds = args.seeds(replications);
    let pool = args.pool()?;
    let mut probes: Vec<Probe> = Vec::new();
    let mut probe_at = |value: f64| -> Result<(bool, Option<bool>), String> {
        if let Some(probe) = probes.iter().find(|probe| probe.value == value) {
            return Ok((probe.holds, probe.sure));
        }
        let edited = set_parameter(&text, &param, &ParamValue::Number(value))
            .map_err(|message| format!("error: {message}\n"))?;
        let topology =
            sim_core::parse_topology(&edited).map_err(|error| format!("error: at {param} = {value}: {error}\n"))?;
        let config = args.config(&topology)?;
        let (values, _) = pool
            .install(|| replicate(&topology, config, &seeds, std::slice::from_ref(&slo.metric)))
            .map_err(|message| format!("error: {message}\n"))?;
        let metric = summarize(values.iter().map(|run| run[0]));
        let holds = metric.is_some_and(|summary| slo.holds(summary.mean));
        let sure = slo_verdict(&slo, metric);
        probes.push(Probe { value, metric, holds, sure });
        Ok((holds, sure))
    };
    let mut evaluate = |value: f64| probe_at(value).map(|(holds, _)| holds);
    let round = |value: f64| if integer { value.round().max(1.0) } else { value };
    // Bracket: from the current value, double or halve until the verdict changes.
    let holds_at_start = evaluate(start)?;
    let mut bracket = None;
    for (factor, limit) in [(2.0, 7), (0.5, 12)] {
        let mut last = (start, holds_at_start);
        for _ in 0..limit {
            let next = round(last.0 * factor);
            if next == last.0 {
                break;
            }
            let holds = evaluate(next)?;
            if holds != last.1 {
                bracket = Some((last, (next, holds)));
                break;
            }
            last = (next, holds);
        }
        if bracket.is_some() {
            break;
        }
    }
    let mut result = CapacityResult {
        param: param.clone(),
        slo: slo.text.clone(),
        replications,
        direction: None,
        capacity: None,
        uncertain_between: None,
        probes: Vec::new(),
        note: None,
    };
    match bracket {
        None => {
            let tried = probes.iter().map(|probe| probe.value);
            let (low, high) =
                tried.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), v| (low.min(v), high.max(v)));
            result.note = Some(format!(
                "the SLO {} at every value tried ({} to {})",
                if holds_at_start { "holds" } else { "fails" },
                significant(low),
                significant(high)
            ));
        }
        Some(((a, a_holds), (b, _))) => {
            let (first_good, first_bad) = if a_holds { (a, b) } else { (b, a) };
            let (mut good, mut bad) = (first_good, first_bad);
            result.direction = Some(if good < bad { Direction::Largest } else { Direction::Smallest });
            let precision = precision.unwrap_or(0.01);
            for _ in 0..MAX_PROBES {
                let middle = round((good + bad) / 2.0);
                if !wider_than(good, bad, integer, precision) || middle == good || middle == bad {
                    break;
                }
                if evaluate(middle)? {
                    good = middle;
                } else {
                    bad = middle;
                }
            }
            result.capacity = Some(good);
            // Narrow the range where the intervals cannot tell: from the boundary outwards
            // to the nearest value that surely holds, and to the nearest that surely fails.
            for (mut inside, mut outside, wanted) in [(good, first_good, Some(true)), (bad, first_bad, Some(false))] {
                if probe_at(outside)?.1 != wanted || probe_at(inside)?.1 == wanted {
                    continue;
                }
                for _ in 0..8 {
                    let middle = round((inside + outside) / 2.0);
                    if !wider_than(inside, outside, integer, precision * 2.0) || middle == inside || middle == outside {
                        break;
                    }
                    if probe_at(middle)?.1 == wanted {
                        outside = middle;
                    } else {
                        inside = middle;
                    }
                }
            }
        }
    }
    result.probes = probes;
    result.probes.sort_by(|x, y| x.value.total_cmp(&y.value));
    if result.capacity.is_some() {
        let increasing = result.direction == Some(Direction::Largest);
        let sure_good = result.probes.iter().filter(|p| p.sure == Some(true)).map(|p| p.value);
        let sure_bad = result.probes.iter().filter(|p| p.sure == Some(false)).map(|p| p.value);
        let (low, high) = if increasing {
            (sure_good.fold(f64::NAN, f64::max), sure_bad.fold(f64::NAN, f64::min))
        } else {
            (sure_bad.fold(f64::NAN, f64::max), sure_good.fold(f64::NAN, f64::min))
        };
        if low.is_finite() && high.is_finite() {
            result.uncertain_between = Some([low, high]);
        }
    }
    let text = match args.format {
        OutputFormat::Json => serde_json::to_string_pretty(&result).expect("a result serializes") + "\n",
        OutputFormat::Table => table(&result, &slo),
    };
    stdout.write_all(text.as_bytes()).map_err(|error| format!("error: {error}\n"))
}

/// Whether the bracket is still wider than the wanted precision (relative, or one unit).
fn wider_than(good: f64, bad: f64, integer: bool, precision: f64) -> bool {
    let width = (good - bad).abs();
    if integer {
        width > 1.0
    } else {
        width > precision * good.abs().max(bad.abs())
    }
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
