//! Paired comparison of two designs on common random numbers: replication r of A and of B
//! share a seed, so their workloads draw the same arrivals, and each metric's difference
//! B − A gets a 95% interval over the pairs and a plain verdict.

use crate::metrics::{significant_to, MetricDef, Unit};
use crate::replicate::{replicate, Cdf, Replicated, RunVerdicts};
use crate::stats::{summarize, Summary};
use crate::Result;
use serde::Serialize;
use sim_core::{RunConfig, Topology};

/// The metrics compared when none are named.
pub const DEFAULT_METRICS: &[&str] = &["mean", "p50", "p99", "throughput", "availability", "cost"];

/// One metric's comparison.
#[derive(Debug, Clone, Serialize)]
pub struct MetricComparison {
    /// The metric's name as given.
    pub metric: String,
    /// A over its replications.
    pub a: Option<Summary>,
    /// B over its replications.
    pub b: Option<Summary>,
    /// B − A over the replications where both have a value.
    pub difference: Option<Summary>,
    /// "B lowers p99 by 31 ms ± 4 ms", or why there is no difference to tell.
    pub verdict: String,
    /// For a latency quantile, the runs of each design with fewer requests than it needs
    /// (`MetricDef::sample_count`), when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub too_few: Option<TooFewRequests>,
}

/// Runs whose quantile rests on fewer requests than it needs: with a handful beyond it, the
/// slowest few requests decide it (a "p99" of 50 requests is their maximum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TooFewRequests {
    /// The fewest requests that estimate the quantile (ten beyond it: 1000 for a p99).
    pub needed: u64,
    /// A's runs with fewer.
    pub a: usize,
    /// B's runs with fewer.
    pub b: usize,
}

/// What a paired comparison finds.
#[derive(Debug, Clone)]
pub struct PairedComparison {
    /// One entry per metric, in the order asked.
    pub metrics: Vec<MetricComparison>,
    /// The first replication's latency CDF of A and of B (same seed).
    pub first_cdf: (Cdf, Cdf),
    /// A's and B's verdicts over their replications.
    pub verdicts: ComparedVerdicts,
}

/// A's and B's verdicts, as `archsim compare --format json` gives them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparedVerdicts {
    /// A's.
    pub a: DesignVerdicts,
    /// B's.
    pub b: DesignVerdicts,
}

impl ComparedVerdicts {
    /// The verdicts of A's and B's runs.
    pub fn over(a: &[RunVerdicts], b: &[RunVerdicts]) -> ComparedVerdicts {
        ComparedVerdicts { a: DesignVerdicts::over(a), b: DesignVerdicts::over(b) }
    }
}

/// A design's verdicts over its replications: how many runs could not keep up, and what its
/// bottleneck was.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesignVerdicts {
    /// Replications run.
    pub runs: usize,
    /// Replications whose report says the run could not keep up.
    pub unstable_runs: usize,
    /// The first instability line of the first unstable run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instability: Option<String>,
    /// The part named bottleneck most often (the first named on a tie), as `"node"` or
    /// `"node" part`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bottleneck: Option<String>,
    /// In how many replications it was the bottleneck.
    pub bottleneck_runs: usize,
    /// Its mean offered load over those replications (1 or more: it cannot keep up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bottleneck_offered_load: Option<f64>,
    /// Replications whose report warns that its figures may mislead (a cache still filling).
    #[serde(skip_serializing_if = "is_zero")]
    pub warned_runs: usize,
    /// The first warning of the first such replication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl DesignVerdicts {
    /// The verdicts of a design's replications, in seed order.
    pub fn over(runs: &[RunVerdicts]) -> DesignVerdicts {
        let unstable: Vec<&RunVerdicts> = runs.iter().filter(|run| !run.instability.is_empty()).collect();
        // Names in order of first appearance, so a tie goes to the earliest.
        let mut tally: Vec<(&str, usize, f64)> = Vec::new();
        for (name, load) in runs.iter().filter_map(|run| run.bottleneck.as_ref()) {
            match tally.iter_mut().find(|(seen, ..)| seen == name) {
                Some(entry) => {
                    entry.1 += 1;
                    entry.2 += load;
                }
                None => tally.push((name, 1, *load)),
            }
        }
        let most = tally.iter().copied().fold(None, |best: Option<(&str, usize, f64)>, entry| match best {
            Some(best) if best.1 >= entry.1 => Some(best),
            _ => Some(entry),
        });
        let warned: Vec<&RunVerdicts> = runs.iter().filter(|run| !run.warnings.is_empty()).collect();
        DesignVerdicts {
            warned_runs: warned.len(),
            warning: warned.first().and_then(|run| run.warnings.first().cloned()),
            runs: runs.len(),
            unstable_runs: unstable.len(),
            instability: unstable.first().and_then(|run| run.instability.first().cloned()),
            bottleneck: most.map(|(name, ..)| name.to_string()),
            bottleneck_runs: most.map_or(0, |(_, count, _)| count),
            bottleneck_offered_load: most.map(|(_, count, total)| total / count as f64),
        }
    }

    /// `UNSTABLE in 3 of 10` or `stable in 10 of 10`.
    pub fn stability_text(&self) -> String {
        match self.unstable_runs {
            0 => format!("stable in {} of {}", self.runs, self.runs),
            unstable => format!("UNSTABLE in {unstable} of {}", self.runs),
        }
    }

    /// `"db" server 1 (replica-1) at 0.91× (in 7 of 10)`, or `-`.
    pub fn bottleneck_text(&self) -> String {
        let Some(name) = &self.bottleneck else { return "-".into() };
        let load = self.bottleneck_offered_load.unwrap_or(0.0);
        let mut text = format!("{name} at {}×", significant_to(load, 3));
        if self.bottleneck_runs < self.runs {
            text += &format!(" (in {} of {})", self.bottleneck_runs, self.runs);
        }
        text
    }
}

/// Runs A and B once per seed each (both sides at once with the `parallel` feature) and
/// compares every metric pairwise.
pub fn compare(
    a: (&Topology, RunConfig),
    b: (&Topology, RunConfig),
    seeds: &[u64],
    metrics: &[MetricDef],
) -> Result<PairedComparison> {
    let read = compared_metrics(metrics);
    let run_a = || replicate(a.0, a.1, seeds, &read);
    let run_b = || replicate(b.0, b.1, seeds, &read);
    #[cfg(feature = "parallel")]
    let (outcome_a, outcome_b) = rayon::join(run_a, run_b);
    #[cfg(not(feature = "parallel"))]
    let (outcome_a, outcome_b) = (run_a(), run_b());
    let (runs_a, runs_b): (Replicated, Replicated) =
        (outcome_a.map_err(|e| e.at("A"))?, outcome_b.map_err(|e| e.at("B"))?);
    let metrics = compare_runs(metrics, &runs_a.values, &runs_b.values);
    let verdicts = ComparedVerdicts::over(&runs_a.verdicts, &runs_b.verdicts);
    Ok(PairedComparison { metrics, first_cdf: (runs_a.first_cdf, runs_b.first_cdf), verdicts })
}

/// What each run must be read for to compare `metrics`: those, then for each latency
/// quantile among them, in order, the count of requests it rests on.
pub fn compared_metrics(metrics: &[MetricDef]) -> Vec<MetricDef> {
    let counts = metrics.iter().filter_map(|metric| metric.sample_count().map(|(count, _)| count));
    metrics.iter().cloned().chain(counts).collect()
}

/// Compares runs already made: `values_a[r][m]` and `values_b[r][m]` are metric `m` of
/// replication `r` of A and of B, run on the same seed, read for `compared_metrics(metrics)`
/// (rows holding only `metrics` compare the same, without the check of a quantile's count).
pub fn compare_runs(
    metrics: &[MetricDef],
    values_a: &[Vec<Option<f64>>],
    values_b: &[Vec<Option<f64>>],
) -> Vec<MetricComparison> {
    let column = |values: &[Vec<Option<f64>>], index: usize| values.iter().map(|run| run[index]).collect::<Vec<_>>();
    // Where each quantile's count is in a row (after the metrics, in their order), and the
    // fewest requests it needs.
    let counts: Vec<Option<(usize, u64)>> = metrics
        .iter()
        .scan(metrics.len(), |next, metric| {
            Some(metric.sample_count().map(|(_, needed)| {
                *next += 1;
                (*next - 1, needed)
            }))
        })
        .collect();
    metrics
        .iter()
        .zip(&counts)
        .enumerate()
        .map(|(index, (metric, count))| {
            let (column_a, column_b) = (column(values_a, index), column(values_b, index));
            let difference = summarize(column_a.iter().zip(&column_b).map(|(a, b)| Some((*b)? - (*a)?)));
            let too_few = count.and_then(|(at, needed)| {
                let short = |values: &[Vec<Option<f64>>]| {
                    values
                        .iter()
                        .filter(|run| run.get(at).is_some_and(|count| count.unwrap_or(0.0) < needed as f64))
                        .count()
                };
                let (a, b) = (short(values_a), short(values_b));
                (a + b > 0).then_some(TooFewRequests { needed, a, b })
            });
            let mut verdict = verdict(metric, difference);
            if let Some(TooFewRequests { needed, a, b }) = too_few {
                let runs = values_a.len();
                verdict += &format!(
                    " (from too few requests: under {needed} completed in {a} of {runs} runs of A, {b} of {runs} of B)"
                );
            }
            MetricComparison {
                metric: metric.name.clone(),
                a: summarize(column_a),
                b: summarize(column_b),
                difference,
                verdict,
                too_few,
            }
        })
        .collect()
}

/// A summary as a table shows it: `31.2 ± 0.4 ms`, the mean alone without an interval, `-`
/// without values.
pub fn format_summary(metric: &MetricDef, summary: Option<Summary>) -> String {
    match summary {
        Some(Summary { mean, half_width: Some(half_width), .. }) => metric.format_interval(mean, half_width),
        Some(summary) => metric.format(summary.mean),
        None => "-".into(),
    }
}

/// The sentence for a paired difference: "B lowers p99 by 31 ms ± 4 ms".
pub fn verdict(metric: &MetricDef, difference: Option<Summary>) -> String {
    let Some(difference) = difference else { return "no values to compare".into() };
    let Some(half_width) = difference.half_width else { return "too few replications for an interval".into() };
    if difference.mean.abs() <= half_width {
        return format!(
            "no significant difference ({} ± {})",
            signed(metric, difference.mean),
            magnitude(metric, half_width, 2)
        );
    }
    let direction = if difference.mean < 0.0 { "lowers" } else { "raises" };
    format!(
        "B {direction} {} by {} ± {}",
        metric.name,
        magnitude(metric, difference.mean.abs(), 3),
        magnitude(metric, half_width, 2)
    )
}

/// The comparison as `archsim compare` prints it: the designs, then per metric A and B with
/// their intervals and the verdict, in aligned columns; then whether each kept up, its
/// bottleneck, and the first instability of a design that did not.
pub fn table(
    a: &str,
    b: &str,
    replications: usize,
    metrics: &[MetricDef],
    rows: &[MetricComparison],
    verdicts: &ComparedVerdicts,
) -> String {
    let mut out =
        format!("A: {a}\nB: {b}\n{replications} paired replications (common random numbers), 95% intervals\n\n");
    let mut cells = vec![["metric".to_string(), "A".into(), "B".into(), "verdict".into()]];
    for (metric, row) in metrics.iter().zip(rows) {
        cells.push([
            metric.name.clone(),
            format_summary(metric, row.a),
            format_summary(metric, row.b),
            row.verdict.clone(),
        ]);
    }
    cells.extend(verdict_rows(verdicts));
    out.push_str(&crate::table::aligned(&cells));
    // The same warning in as many runs of both designs is said once.
    let (a_design, b_design) = (&verdicts.a, &verdicts.b);
    let shared_warning = a_design.warning.is_some()
        && a_design.warning == b_design.warning
        && (a_design.warned_runs, a_design.runs) == (b_design.warned_runs, b_design.runs);
    for (label, verdicts) in [("A", a_design), ("B", b_design)] {
        if let Some(line) = &verdicts.instability {
            out.push_str(&format!("{label} unstable: {line}\n"));
        }
    }
    for (label, verdicts) in [("A", a_design), ("B", b_design)] {
        if let Some(line) = &verdicts.warning {
            let label = if shared_warning { "A and B" } else { label };
            out.push_str(&format!("{label} warning (in {} of {}): {line}\n", verdicts.warned_runs, verdicts.runs));
            if shared_warning {
                break;
            }
        }
    }
    out
}

/// The rows a comparison's table ends with: `stability` (whether each design kept up in its
/// replications) and `bottleneck` (the part named most often and its offered load), as
/// [label, A, B, verdict].
pub fn verdict_rows(verdicts: &ComparedVerdicts) -> [[String; 4]; 2] {
    let ComparedVerdicts { a, b } = verdicts;
    let keeps_up = match (a.unstable_runs > 0, b.unstable_runs > 0) {
        (true, false) => "only B keeps up",
        (false, true) => "only A keeps up",
        (true, true) => "neither keeps up",
        (false, false) => "both keep up",
    };
    let offered = |verdicts: &DesignVerdicts| verdicts.bottleneck_offered_load.unwrap_or(0.0);
    let loaded = match (&a.bottleneck, &b.bottleneck) {
        (Some(_), Some(_)) if offered(b) < offered(a) => "B's is less loaded",
        (Some(_), Some(_)) if offered(b) > offered(a) => "B's is more loaded",
        (Some(_), Some(_)) => "as loaded",
        _ => "",
    };
    [
        ["stability".into(), a.stability_text(), b.stability_text(), keeps_up.into()],
        ["bottleneck".into(), a.bottleneck_text(), b.bottleneck_text(), loaded.into()],
    ]
}

/// A difference in the metric's unit; a difference of shares is in percentage points.
fn magnitude(metric: &MetricDef, value: f64, digits: i32) -> String {
    match metric.unit {
        Unit::Share => format!("{} points", significant_to(value * 100.0, digits)),
        _ => metric.format_digits(value, digits),
    }
}

fn signed(metric: &MetricDef, value: f64) -> String {
    let sign = if value < 0.0 { "−" } else { "+" };
    format!("{sign}{}", magnitude(metric, value.abs(), 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quantile read from fewer requests than it needs is flagged beside its verdict, per
    /// design; a mean never is, and neither is a quantile with enough, or rows without the
    /// counts.
    #[test]
    fn a_quantile_from_too_few_requests_is_flagged() {
        let metrics: Vec<MetricDef> =
            ["mean", "p99", "p50"].iter().map(|name| MetricDef::parse(name).unwrap()).collect();
        let read = compared_metrics(&metrics);
        let names: Vec<&str> = read.iter().map(|metric| metric.name.as_str()).collect();
        assert_eq!(names, ["mean", "p99", "p50", "requests.completed", "requests.completed"]);
        // mean, p99, p50, then the p99's and the p50's counts.
        let run =
            |value: f64, completed: f64| vec![Some(value), Some(value), Some(value), Some(completed), Some(completed)];
        let a = [run(1.0, 5000.0), run(1.1, 800.0), run(1.2, 5000.0)];
        let b = [run(2.0, 900.0), run(2.1, 600.0), run(2.2, 5000.0)];
        let rows = compare_runs(&metrics, &a, &b);
        assert_eq!(rows[0].too_few, None);
        assert_eq!(rows[1].too_few, Some(TooFewRequests { needed: 1000, a: 1, b: 2 }));
        assert!(
            rows[1].verdict.ends_with("(from too few requests: under 1000 completed in 1 of 3 runs of A, 2 of 3 of B)"),
            "{}",
            rows[1].verdict
        );
        assert_eq!(rows[2].too_few, None, "a p50 needs 20");
        let bare: Vec<Vec<Option<f64>>> = a.iter().map(|run| run[..3].to_vec()).collect();
        assert!(compare_runs(&metrics, &bare, &bare).iter().all(|row| row.too_few.is_none()));
    }

    /// The bottleneck is the part named most often (a tie goes to the first named), its load
    /// the mean over the runs that named it; the first unstable run's first line is kept.
    #[test]
    fn design_verdicts_tally_the_replications() {
        let run = |instability: &[&str], bottleneck: Option<(&str, f64)>| RunVerdicts {
            instability: instability.iter().map(|line| line.to_string()).collect(),
            bottleneck: bottleneck.map(|(name, load)| (name.to_string(), load)),
            warnings: instability.iter().skip(1).map(|line| format!("warned: {line}")).collect(),
        };
        let runs = [
            run(&[], Some(("\"db\"", 0.9))),
            run(&["\"app\" is offered 1.1×", "more"], Some(("\"app\"", 1.1))),
            run(&[], Some(("\"app\"", 0.9))),
            run(&[], Some(("\"db\"", 0.95))),
            run(&[], None),
        ];
        let verdicts = DesignVerdicts::over(&runs);
        assert_eq!((verdicts.runs, verdicts.unstable_runs), (5, 1));
        assert_eq!(verdicts.instability.as_deref(), Some("\"app\" is offered 1.1×"));
        assert_eq!((verdicts.warned_runs, verdicts.warning.as_deref()), (1, Some("warned: more")));
        assert_eq!((verdicts.bottleneck.as_deref(), verdicts.bottleneck_runs), (Some("\"db\""), 2));
        assert!((verdicts.bottleneck_offered_load.unwrap() - 0.925).abs() < 1e-12);
        assert_eq!(verdicts.stability_text(), "UNSTABLE in 1 of 5");
        assert_eq!(verdicts.bottleneck_text(), "\"db\" at 0.925× (in 2 of 5)");
        let none = DesignVerdicts::over(&[run(&[], None)]);
        assert_eq!((none.stability_text(), none.bottleneck_text()), ("stable in 1 of 1".to_string(), "-".to_string()));
    }

    #[test]
    fn verdicts_read_plainly() {
        let p99 = MetricDef::parse("p99").unwrap();
        let summary = |mean, half_width| Some(Summary { n: 10, mean, sd: Some(1.0), half_width: Some(half_width) });
        assert_eq!(verdict(&p99, summary(-0.031, 0.004)), "B lowers p99 by 31 ms ± 4 ms");
        assert_eq!(verdict(&p99, summary(0.002, 0.004)), "no significant difference (+2 ms ± 4 ms)");
        let availability = MetricDef::parse("availability").unwrap();
        assert_eq!(verdict(&availability, summary(0.0125, 0.002)), "B raises availability by 1.25 points ± 0.2 points");
    }

    /// A warning both designs give in as many runs is said once, for both; different ones
    /// (or in different counts of runs) each with its design.
    #[test]
    fn a_warning_both_designs_give_is_said_once() {
        let design = |warning: &str, warned_runs: usize| DesignVerdicts {
            runs: 4,
            unstable_runs: 0,
            instability: None,
            bottleneck: None,
            bottleneck_runs: 0,
            bottleneck_offered_load: None,
            warned_runs,
            warning: Some(warning.to_string()),
        };
        let print =
            |a: DesignVerdicts, b: DesignVerdicts| table("a.ron", "b.ron", 4, &[], &[], &ComparedVerdicts { a, b });
        let same = print(design("cold cache", 4), design("cold cache", 4));
        assert!(same.contains("A and B warning (in 4 of 4): cold cache\n"), "{same}");
        assert_eq!(same.matches("cold cache").count(), 1, "{same}");
        let counts = print(design("cold cache", 4), design("cold cache", 2));
        assert!(counts.contains("A warning (in 4 of 4)") && counts.contains("B warning (in 2 of 4)"), "{counts}");
        let texts = print(design("cold cache", 4), design("in flight", 4));
        assert!(
            texts.contains("A warning (in 4 of 4): cold") && texts.contains("B warning (in 4 of 4): in"),
            "{texts}"
        );
    }
}
