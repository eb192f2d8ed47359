//! Replicated runs: one topology run once per seed (in parallel with the `parallel`
//! feature), the metrics read from each report, more runs until an interval is narrow
//! enough, and the warm-up detected by MSER-5 on a pilot run.

use crate::metrics::{read_all, MetricDef};
use crate::stats::mser5;
use crate::Result;
use sim_core::{RunConfig, Simulation, StopCondition, Topology};

/// The most replications one design, value or point runs: past it the runs' values alone
/// take memory without bound (10⁸ asked of `compare` held a gigabyte within seconds),
/// and an interval is already 1% of one run's spread.
pub const MAX_REPLICATIONS: u32 = 10_000;

/// The most threads a batch command starts (`--jobs`, Python's `jobs=`): each has a stack
/// of its own, and a count such as 10⁸ would spend the machine's memory on them.
pub const MAX_JOBS: usize = 1024;

/// (quantile, latency in seconds) pairs of a latency CDF.
pub type Cdf = Vec<[f64; 2]>;

/// What replicated runs give: per run, one value per metric (`None` when the run had none);
/// and the first run's latency CDF.
#[derive(Debug, Clone, PartialEq)]
pub struct Replicated {
    /// `values[run][metric]`.
    pub values: Vec<Vec<Option<f64>>>,
    /// The first run's end-to-end latency CDF.
    pub first_cdf: Cdf,
    /// Each run's verdicts: whether it was unstable, and its bottleneck.
    pub verdicts: Vec<RunVerdicts>,
}

/// One run's verdicts, as its report gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct RunVerdicts {
    /// The report's instability lines (empty: the run kept up).
    pub instability: Vec<String>,
    /// The bottleneck as `"node"` or `"node" part`, and its offered load.
    pub bottleneck: Option<(String, f64)>,
    /// The report's warnings: what may make its figures mislead (a cache still filling).
    pub warnings: Vec<String>,
}

impl RunVerdicts {
    /// The verdicts of a report.
    pub fn of(report: &sim_core::Report) -> RunVerdicts {
        let bottleneck = report.bottleneck.as_ref().map(|bottleneck| {
            let name = match bottleneck.part.as_str() {
                "node" => format!("\"{}\"", bottleneck.node),
                "host" => format!("host \"{}\"", bottleneck.node),
                part => format!("\"{}\" {part}", bottleneck.node),
            };
            (name, bottleneck.offered_load)
        });
        RunVerdicts { instability: report.instability.clone(), bottleneck, warnings: report.warnings.clone() }
    }
}

impl Replicated {
    /// The values of metric `index` over the runs.
    pub fn column(&self, index: usize) -> Vec<Option<f64>> {
        self.values.iter().map(|run| run[index]).collect()
    }
}

/// A run's end-to-end latency CDF, sampled at every 0.5% and at 99.9% and 99.99%.
pub fn latency_cdf(simulation: &Simulation) -> Cdf {
    let latency = simulation.latency();
    let grid = (1..200).map(|i| i as f64 / 200.0).chain([0.999, 0.9999]);
    grid.filter_map(|q| latency.quantile_s(q).map(|value| [q, value])).collect()
}

/// Runs `topology` once per seed and reads the metrics of each run; refuses runs that
/// measured nothing (a request count the warm-up outlasts), whose every figure is empty.
pub fn replicate(topology: &Topology, config: RunConfig, seeds: &[u64], metrics: &[MetricDef]) -> Result<Replicated> {
    type Outcome = (Vec<Option<f64>>, Cdf, RunVerdicts);
    let run = |(index, seed): (usize, &u64)| -> Result<Outcome> {
        let mut simulation = Simulation::new(topology, RunConfig { seed: *seed, ..config });
        simulation.run_to_end();
        if let Some((what, help)) = simulation.nothing_measured(sim_core::RUN_FLAGS) {
            return Err(crate::BatchError::NothingMeasured { what, help });
        }
        let report = simulation.report();
        let values = read_all(metrics, &report)?;
        let cdf = if index == 0 { latency_cdf(&simulation) } else { Vec::new() };
        Ok((values, cdf, RunVerdicts::of(&report)))
    };
    // Every run's outcome, then the first error in seed order: collected in parallel straight
    // into a `Result`, the error reported would be whichever thread failed first.
    #[cfg(feature = "parallel")]
    let outcomes: Vec<Result<Outcome>> = {
        use rayon::prelude::*;
        seeds.par_iter().enumerate().map(run).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let outcomes: Vec<Result<Outcome>> = seeds.iter().enumerate().map(run).collect();
    let outcomes: Vec<Outcome> = outcomes.into_iter().collect::<Result<_>>()?;
    let first_cdf = outcomes.first().map(|(_, cdf, _)| cdf.clone()).unwrap_or_default();
    let (values, verdicts) = outcomes.into_iter().map(|(values, _, verdicts)| (values, verdicts)).unzip();
    Ok(Replicated { values, first_cdf, verdicts })
}

/// Replications toward a target: after `runs` runs whose interval has relative half-width
/// `relative`, how many runs in all to aim for (the half-width shrinks as 1/√n), at least
/// one more and at most `max`; `None` when the target `wanted` is met or the cap reached.
pub fn runs_for_target(runs: u32, relative: f64, wanted: f64, max: u32) -> Option<u32> {
    if relative <= wanted || runs >= max {
        return None;
    }
    let aim = if relative.is_finite() { (runs as f64 * (relative / wanted).powi(2)).ceil() as u32 } else { runs * 2 };
    Some(aim.clamp(runs + 1, max))
}

/// A warm-up found by MSER-5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectedWarmup {
    /// The warm-up, rounded up to whole milliseconds.
    pub warmup_ns: u64,
    /// False when the truncation point fell in the pilot's second half: run longer.
    pub trusted: bool,
}

/// MSER-5 on a pilot run with `seed`: the mean latency of the requests completed in each of up
/// to 1000 equal slices of the run is the output series; the truncation point is the warm-up.
/// `None` for a run that stops by request count (it has no fixed length to slice).
pub fn detect_warmup(topology: &Topology, config: RunConfig, seed: u64) -> Option<DetectedWarmup> {
    const SLICES: u64 = 1000;
    let StopCondition::Duration { ns: duration_ns } = config.stop else { return None };
    let mut simulation = Simulation::new(topology, RunConfig { seed, warmup_ns: 0, ..config });
    let slice_ns = (duration_ns / SLICES).max(1);
    let mut series = Vec::with_capacity(SLICES as usize);
    let mut slice_ends = Vec::with_capacity(SLICES as usize);
    let (mut count, mut sum_s) = (0u64, 0.0f64);
    let mut end_ns = 0;
    while end_ns < duration_ns {
        end_ns = (end_ns + slice_ns).min(duration_ns);
        let finished = simulation.run_until(end_ns);
        let latency = simulation.latency();
        if latency.count() > count {
            series.push((latency.sum_s() - sum_s) / (latency.count() - count) as f64);
            slice_ends.push(end_ns);
        }
        (count, sum_s) = (latency.count(), latency.sum_s());
        if finished {
            break;
        }
    }
    let truncation = mser5(&series);
    let warmup_ns = match truncation.observations {
        0 => 0,
        dropped => slice_ends[dropped - 1],
    };
    // Whole milliseconds, so the warm-up prints cleanly.
    Some(DetectedWarmup { warmup_ns: warmup_ns.div_ceil(1_000_000) * 1_000_000, trusted: truncation.trusted })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_aims_by_the_square_law_within_bounds() {
        assert_eq!(runs_for_target(10, 0.04, 0.05, 50), None);
        assert_eq!(runs_for_target(10, 0.10, 0.05, 50), Some(40));
        assert_eq!(runs_for_target(10, 0.051, 0.05, 50), Some(11));
        assert_eq!(runs_for_target(10, 1.0, 0.05, 50), Some(50));
        assert_eq!(runs_for_target(50, 1.0, 0.05, 50), None);
        assert_eq!(runs_for_target(5, f64::INFINITY, 0.05, 50), Some(10));
    }
}
