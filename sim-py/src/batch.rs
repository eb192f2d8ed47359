//! Batch work from Python, with `sim-batch`'s seeds, statistics and verdicts: a sweep over
//! points (each a topology already edited), a paired comparison and a capacity search. Runs
//! go in parallel on a rayon pool, with the GIL released, and stop on Ctrl-C.

use crate::interrupt::{detached, one_run, pool, Control};
use crate::options::{batch_error, raise, RunOptions};
use crate::topology::Topology;
use pyo3::prelude::*;
use rayon::prelude::*;
use serde::Serialize;
use sim_batch::capacity::{
    default_param, evaluation, probe_metrics, search, slo_verdict, start_value, table, topology_at, Evaluation,
    SearchSpec, LOAD_PARAM,
};
use sim_batch::compare::{compare_runs, compared_metrics, ComparedVerdicts, MetricComparison, DEFAULT_METRICS};
use sim_batch::metrics::{read_all, MetricDef, Slo};
use sim_batch::replicate::RunVerdicts;
use sim_batch::seeds::{common_seeds, run_seed, Seeds, DEFAULT_BASE_SEED};
use sim_batch::stats::{summarize, Summary, CONFIDENCE};
use sim_core::RunConfig;

/// Metric values per run, `values[run][metric]`.
type Values = Vec<Vec<Option<f64>>>;

fn metric_defs(names: Option<Vec<String>>, default: &[&str]) -> PyResult<Vec<MetricDef>> {
    let names = names.unwrap_or_else(|| default.iter().map(|name| name.to_string()).collect());
    names
        .iter()
        .map(|name| MetricDef::parse(name).map_err(|error| batch_error(&error, "see the README's list of metrics")))
        .collect()
}

fn at_least_two(replications: u32) -> PyResult<u32> {
    if replications < 2 {
        return Err(raise(&crate::options::problem(
            &format!("{replications} replications give no interval"),
            "ask for at least 2 replications",
        )));
    }
    Ok(replications)
}

/// Runs `topology` once per seed (in parallel) and reads the metrics; `None` when cancelled.
fn replicate(
    topology: &sim_core::Topology,
    config: RunConfig,
    seeds: &[u64],
    metrics: &[MetricDef],
    control: &Control,
) -> Result<Option<Values>, sim_batch::BatchError> {
    Ok(replicate_with_verdicts(topology, config, seeds, metrics, control)?.map(|(values, _)| values))
}

/// As `replicate`, with each run's verdicts (stability, bottleneck) beside its values.
fn replicate_with_verdicts(
    topology: &sim_core::Topology,
    config: RunConfig,
    seeds: &[u64],
    metrics: &[MetricDef],
    control: &Control,
) -> Result<Option<(Values, Vec<RunVerdicts>)>, sim_batch::BatchError> {
    // Every run's outcome, then the first error in seed order (as the command line reports it).
    type Run = Option<(Vec<Option<f64>>, RunVerdicts)>;
    let runs: Vec<Result<Run, sim_batch::BatchError>> = seeds
        .par_iter()
        .map(|seed| match one_run(topology, RunConfig { seed: *seed, ..config }, control) {
            Some(Ok(report)) => read_all(metrics, &report).map(|values| Some((values, RunVerdicts::of(&report)))),
            Some(Err(refused)) => Err(refused),
            None => Ok(None),
        })
        .collect();
    let runs: Vec<Run> = runs.into_iter().collect::<Result<_, _>>()?;
    Ok(runs.into_iter().collect::<Option<Vec<_>>>().map(|runs| runs.into_iter().unzip()))
}

/// One point of a sweep: its warm-up, each replication's seed and values, and the summary
/// of each metric.
#[derive(Serialize)]
struct PointResult {
    point: usize,
    warmup_s: f64,
    warmup_trusted: Option<bool>,
    seeds: Vec<u64>,
    values: Values,
    summaries: Vec<Option<Summary>>,
    /// With an SLO: `true` when its interval surely holds, `false` surely fails, `None` unsure.
    slo_sure: Option<bool>,
    /// With an SLO: whether it holds on the mean.
    slo_holds: Option<bool>,
}

#[derive(Serialize)]
struct SweepResult {
    metrics: Vec<String>,
    labels: Vec<String>,
    /// Per metric, the factor from its stored unit to the unit of its label (1000 for ms).
    scales: Vec<f64>,
    confidence: f64,
    slo: Option<String>,
    points: Vec<PointResult>,
}

/// Runs every point `replications` times; run r of point p has seed `run_seed(seed, seeds, p,
/// r)`, as in `archsim experiment`, so the same spec gives the same numbers. With
/// `detect_warmup`, each point's warm-up comes from MSER-5 on a pilot run, as the
/// experiment's `warmup: Mser5`. Returns JSON.
#[pyfunction]
#[pyo3(signature = (points, options, metrics = None, replications = 5, common_seeds = false, detect_warmup = false, slo = None, jobs = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn sweep(
    py: Python<'_>,
    points: Vec<PyRef<'_, Topology>>,
    options: RunOptions,
    metrics: Option<Vec<String>>,
    replications: u32,
    common_seeds: bool,
    detect_warmup: bool,
    slo: Option<&str>,
    jobs: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<String> {
    if replications == 0 {
        return Err(raise(&crate::options::problem("0 replications run nothing", "ask for 1 or more replications")));
    }
    let mut metrics = metric_defs(metrics, &["mean", "p50", "p99", "throughput", "availability"])?;
    let slo = slo
        .map(|text| {
            Slo::parse(text)
                .map_err(|error| batch_error(&error, "write the SLO like \"p99<200ms\" or \"availability>=99.9%\""))
        })
        .transpose()?;
    // The SLO's metric is recorded too, as an experiment with an SLO records it.
    let slo_index = slo.as_ref().map(|slo| match metrics.iter().position(|m| m.name == slo.metric.name) {
        Some(index) => index,
        None => {
            metrics.push(slo.metric.clone());
            metrics.len() - 1
        }
    });
    let mut runnable = Vec::with_capacity(points.len());
    for point in &points {
        let prepared = options.prepare(&point.checked)?;
        let topology = prepared.unwrap_or_else(|| (*point.checked).clone());
        let config = options.config(&topology)?;
        if detect_warmup && matches!(config.stop, sim_core::StopCondition::Requests { .. }) {
            return Err(raise(&crate::options::problem(
                "MSER-5 needs a run of fixed length; this one stops after a number of requests",
                "give a duration, or a warm-up in seconds",
            )));
        }
        runnable.push((topology, config));
    }
    let base = options.seed.unwrap_or(1);
    let seeds = if common_seeds { Seeds::Common } else { Seeds::Independent };
    let pool = pool(jobs)?;
    let outcome = detached(py, progress.as_ref(), |control| {
        pool.install(|| {
            runnable
                .par_iter()
                .enumerate()
                .map(|(point, (topology, config))| {
                    let mut config = *config;
                    let mut warmup_trusted = None;
                    if detect_warmup {
                        if control.cancelled() {
                            return Ok(None);
                        }
                        let pilot = run_seed(base, seeds, point, u32::MAX);
                        let detected = sim_batch::replicate::detect_warmup(topology, config, pilot)
                            .expect("runs that stop by count are refused before");
                        config.warmup_ns = detected.warmup_ns;
                        warmup_trusted = Some(detected.trusted);
                        control.run_done();
                    }
                    let run_seeds: Vec<u64> = (0..replications).map(|r| run_seed(base, seeds, point, r)).collect();
                    let Some(values) = replicate(topology, config, &run_seeds, &metrics, control)
                        .map_err(|error| error.at(&format!("point {point}")))?
                    else {
                        return Ok(None);
                    };
                    let summaries: Vec<Option<Summary>> =
                        (0..metrics.len()).map(|m| summarize(values.iter().map(|run| run[m]))).collect();
                    let (slo_sure, slo_holds) = match (&slo, slo_index) {
                        (Some(slo), Some(index)) => (
                            slo_verdict(slo, summaries[index]),
                            summaries[index].map(|summary| slo.holds(summary.mean)),
                        ),
                        _ => (None, None),
                    };
                    Ok(Some(PointResult {
                        point,
                        warmup_s: config.warmup_ns as f64 / 1e9,
                        warmup_trusted,
                        seeds: run_seeds,
                        values,
                        summaries,
                        slo_sure,
                        slo_holds,
                    }))
                })
                .collect::<Result<Vec<Option<PointResult>>, sim_batch::BatchError>>()
        })
    })?;
    let points = outcome.map_err(|error| batch_error(&error, "see the README's list of metrics"))?;
    let result = SweepResult {
        metrics: metrics.iter().map(|metric| metric.name.clone()).collect(),
        labels: metrics.iter().map(MetricDef::label).collect(),
        scales: metrics.iter().map(MetricDef::display_scale).collect(),
        confidence: CONFIDENCE,
        slo: slo.map(|slo| slo.text),
        points: points.into_iter().flatten().collect(),
    };
    Ok(serde_json::to_string(&result).expect("a sweep serializes"))
}

#[derive(Serialize)]
struct Comparison {
    a: String,
    b: String,
    replications: usize,
    confidence: f64,
    metrics: Vec<MetricComparison>,
    verdicts: ComparedVerdicts,
}

/// Compares A and B on common random numbers (replication r of both shares a seed, as in
/// `archsim compare`): returns the JSON `archsim compare --format json` prints and its table.
#[pyfunction]
#[pyo3(signature = (a, b, options, metrics = None, replications = 10, jobs = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn compare(
    py: Python<'_>,
    a: PyRef<'_, Topology>,
    b: PyRef<'_, Topology>,
    options: RunOptions,
    metrics: Option<Vec<String>>,
    replications: u32,
    jobs: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<(String, String)> {
    let metrics = metric_defs(metrics, DEFAULT_METRICS)?;
    let replications = at_least_two(replications)?;
    let prepared_a = options.prepare(&a.checked)?;
    let prepared_b = options.prepare(&b.checked)?;
    let topology_a = prepared_a.as_ref().unwrap_or(&a.checked);
    let topology_b = prepared_b.as_ref().unwrap_or(&b.checked);
    let config_a = options.config(topology_a)?;
    let config_b = options.config(topology_b)?;
    let seeds = common_seeds(options.seed.unwrap_or(DEFAULT_BASE_SEED), replications);
    let read = compared_metrics(&metrics);
    let pool = pool(jobs)?;
    let outcome = detached(py, progress.as_ref(), |control| {
        pool.install(|| {
            rayon::join(
                || replicate_with_verdicts(topology_a, config_a, &seeds, &read, control),
                || replicate_with_verdicts(topology_b, config_b, &seeds, &read, control),
            )
        })
    })?;
    let ((values_a, verdicts_a), (values_b, verdicts_b)) = match outcome {
        (Ok(Some(a)), Ok(Some(b))) => (a, b),
        (Err(error), _) => return Err(batch_error(&error.at("A"), "see the README's list of metrics")),
        (_, Err(error)) => return Err(batch_error(&error.at("B"), "see the README's list of metrics")),
        _ => return Err(pyo3::exceptions::PyKeyboardInterrupt::new_err("the comparison was stopped")),
    };
    let comparison = Comparison {
        a: a.name().to_string(),
        b: b.name().to_string(),
        replications: replications as usize,
        confidence: CONFIDENCE,
        metrics: compare_runs(&metrics, &values_a, &values_b),
        verdicts: ComparedVerdicts::over(&verdicts_a, &verdicts_b),
    };
    let text = sim_batch::compare::table(
        &comparison.a,
        &comparison.b,
        comparison.replications,
        &metrics,
        &comparison.metrics,
        &comparison.verdicts,
    );
    Ok((serde_json::to_string(&comparison).expect("a comparison serializes"), text))
}

/// The boundary of an SLO over a parameter (by default the only open workload's rate), by
/// bracketing and bisection on replicated runs, as `archsim capacity`: returns the JSON
/// `archsim capacity --format json` prints and its table.
#[pyfunction]
#[pyo3(signature = (topology, slo, options, param = None, replications = 5, precision = 0.01, jobs = None, progress = None))]
#[allow(clippy::too_many_arguments)]
pub fn capacity(
    py: Python<'_>,
    topology: PyRef<'_, Topology>,
    slo: &str,
    options: RunOptions,
    param: Option<String>,
    replications: u32,
    precision: f64,
    jobs: Option<usize>,
    progress: Option<Bound<'_, PyAny>>,
) -> PyResult<(String, String)> {
    let slo = Slo::parse(slo)
        .map_err(|error| batch_error(&error, "write the SLO like \"p99<200ms\" or \"availability>=99.9%\""))?;
    let replications = at_least_two(replications)?;
    if !(precision > 0.0 && precision < 1.0) {
        return Err(raise(&crate::options::problem(
            &format!("precision={precision} is not a relative width between 0 and 1"),
            "give a precision such as 0.01 (1%)",
        )));
    }
    let param = match param {
        Some(param) => param,
        None => {
            default_param(&topology.checked).map_err(|error| batch_error(&error, "name the parameter with param="))?
        }
    };
    let text = topology.text().to_string();
    let (start, integer) = start_value(&text, &param)
        .map_err(|error| batch_error(&error, "give param= a path of a number the file sets"))?
        .ok_or_else(|| {
            raise(&crate::options::problem(
                &format!("{} does not set \"{param}\"", topology.name()),
                "write the value in the file, or give param= a field the file sets",
            ))
        })?;
    // A value's topology: the parameter set in the text, the traces already read, and the
    // topology's own load factor unless the search is over the load.
    let (checked, load) = (std::sync::Arc::clone(&topology.checked), topology.load());
    let at_value = |value: f64| -> Result<sim_core::Topology, sim_batch::BatchError> {
        let mut at = topology_at(&text, &param, value)?;
        at.share_traces_from(&checked);
        if param != LOAD_PARAM && load != 1.0 {
            at.scale_open_load(load).map_err(|problem| sim_batch::BatchError::Parameter { problem })?;
        }
        Ok(at)
    };
    // Every value's topology is checked, and its run parameters too, before any run.
    at_value(start)
        .map_err(|error| batch_error(&error, "give param= a path of a number the file sets"))
        .and_then(|at_start| options.prepare(&at_start).map(|p| p.unwrap_or(at_start)))
        .and_then(|at_start| options.config(&at_start))?;
    let seeds = common_seeds(options.seed.unwrap_or(DEFAULT_BASE_SEED), replications);
    let pool = pool(jobs)?;
    let spec = SearchSpec { param: &param, slo: &slo, replications, start, integer, precision };
    let outcome = detached(py, progress.as_ref(), |control| {
        pool.install(|| {
            search(&spec, |value| -> Result<Evaluation, Stop> {
                let at = at_value(value).map_err(Stop::Batch)?;
                let at = match options.prepare(&at) {
                    Ok(prepared) => prepared.unwrap_or(at),
                    Err(error) => return Err(Stop::Python(error.to_string())),
                };
                let config = options.config(&at).map_err(|error| Stop::Python(error.to_string()))?;
                match replicate_with_verdicts(&at, config, &seeds, &probe_metrics(&slo), control).map_err(|error| {
                    Stop::Batch(error.at(&format!("{param} = {}", sim_batch::metrics::significant(value))))
                })? {
                    Some((values, verdicts)) => {
                        let unstable_runs = verdicts.iter().filter(|run| !run.instability.is_empty()).count() as u32;
                        Ok(evaluation(&slo, &values, unstable_runs))
                    }
                    None => Err(Stop::Cancelled),
                }
            })
        })
    })?;
    let result = match outcome {
        Ok(result) => result,
        Err(Stop::Batch(error)) => return Err(batch_error(&error, "check the parameter and the SLO")),
        Err(Stop::Python(message)) => return Err(raise(&crate::options::problem(&message, "check the run options"))),
        Err(Stop::Cancelled) => return Err(pyo3::exceptions::PyKeyboardInterrupt::new_err("the search was stopped")),
    };
    let text = table(&result, &slo);
    Ok((serde_json::to_string(&result).expect("a search serializes"), text))
}

/// Why a capacity search stopped early.
enum Stop {
    Batch(sim_batch::BatchError),
    Python(String),
    Cancelled,
}
