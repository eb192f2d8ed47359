//! The experiment's plots, drawn with plotters as SVG and PNG: a metric against a swept
//! parameter with 95% bands (one line per value of a second parameter), latency CDFs, and
//! time series with the fault windows shaded. The PNG text uses the bundled DejaVu Sans, so
//! the images are the same on every machine.

use super::points::Experiment;
use super::runner::PointRecord;
use super::spec::{AxisValue, PlotSpec};
use indexmap::IndexMap;
use plotters::coord::Shift;
use plotters::prelude::*;
use sim_batch::stats::Summary;
use sim_core::params::split_quantity;

const SIZE: (u32, u32) = (960, 600);

/// Tableau 10: distinct colours that stay readable on white and in print.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// One line of a plot: its legend and its (x, y, band low, band high) points.
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, f64, f64, f64)>,
}

/// Everything a plot shows, independent of the backend.
pub struct Figure {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub lines: Vec<Line>,
    /// Shaded x intervals (fault windows).
    pub shaded: Vec<(f64, f64)>,
    /// A horizontal reference line (an SLO threshold) and its legend.
    pub reference: Option<(f64, String)>,
}

/// The numeric value of an axis label ("800", "800/s", "10s").
pub fn numeric(label: &str) -> Option<f64> {
    label.parse().ok().or_else(|| split_quantity(&format!("\"{label}\"")).map(|(number, _)| number))
}

/// Checks, before running, that every metric plot gives each line one point per x.
pub fn check(experiment: &Experiment) -> Result<(), String> {
    for plot in &experiment.spec.plots {
        if let PlotSpec::Metric { x, series, .. } = plot {
            let x_index = experiment.axis_index(x).expect("checked with the spec");
            let series_index = series.as_ref().and_then(|name| experiment.axis_index(name));
            let mut seen: Vec<(String, String)> = Vec::new();
            for point in &experiment.points {
                let key =
                    (series_index.map_or(String::new(), |s| point.labels[s].clone()), point.labels[x_index].clone());
                if numeric(&key.1).is_none() {
                    return Err(format!("the plot against \"{x}\" has a value \"{}\" that is not a number", key.1));
                }
                if seen.contains(&key) {
                    return Err(format!(
                        "the plot of {} against \"{x}\" has several points at {x} = {}: another axis varies too",
                        match plot {
                            PlotSpec::Metric { metric, .. } => metric.as_str(),
                            _ => "",
                        },
                        key.1
                    ));
                }
                seen.push(key);
            }
        }
    }
    Ok(())
}

/// Draws every plot of the spec: (file name, bytes) of each SVG and PNG.
pub fn draw_all(
    experiment: &Experiment,
    records: &[PointRecord],
    summaries: &[Vec<Option<Summary>>],
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files = Vec::new();
    for plot in &experiment.spec.plots {
        let (stem, figure) = match plot {
            PlotSpec::Metric { metric, x, series, log_x } => {
                metric_figure(experiment, records, summaries, metric, x, series.as_deref(), *log_x)
            }
            PlotSpec::LatencyCdf { at } => {
                let chosen: Vec<&PointRecord> = records.iter().filter(|r| matches_at(experiment, r, at)).collect();
                (format!("latency-cdf{}", at_suffix(at)), cdf_figure(experiment, &chosen))
            }
            PlotSpec::Timeseries { metric, at } => {
                let chosen: Vec<&PointRecord> = records.iter().filter(|r| matches_at(experiment, r, at)).collect();
                timeseries_figure(experiment, &chosen, metric, at)
            }
        };
        let (svg, png) = render(&figure)?;
        files.push((format!("{stem}.svg"), svg));
        files.push((format!("{stem}.png"), png));
    }
    Ok(files)
}

/// Whether a point has the axis values a plot's `at` asks for.
fn matches_at(experiment: &Experiment, record: &PointRecord, at: &IndexMap<String, AxisValue>) -> bool {
    at.iter().all(|(name, value)| {
        experiment.axis_index(name).is_some_and(|index| record.params[index] == value.to_param().to_string())
    })
}

fn at_suffix(at: &IndexMap<String, AxisValue>) -> String {
    at.iter()
        .map(|(name, value)| format!("-{}_{}", file_part(name), file_part(&value.to_param().to_string())))
        .collect()
}

fn point_label(experiment: &Experiment, record: &PointRecord) -> String {
    if record.params.is_empty() {
        return "base".into();
    }
    experiment
        .axis_names()
        .iter()
        .zip(&record.params)
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn file_part(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect()
}

fn metric_figure(
    experiment: &Experiment,
    records: &[PointRecord],
    summaries: &[Vec<Option<Summary>>],
    metric_name: &str,
    x: &str,
    series: Option<&str>,
    log_x: bool,
) -> (String, Figure) {
    let metric_index = experiment.metrics.iter().position(|m| m.name == metric_name).expect("checked with the spec");
    let metric = &experiment.metrics[metric_index];
    let scale = metric.display_scale();
    let x_index = experiment.axis_index(x).expect("checked with the spec");
    let series_index = series.and_then(|name| experiment.axis_index(name));
    let mut lines: Vec<Line> = Vec::new();
    for (record, point_summaries) in records.iter().zip(summaries) {
        let Some(summary) = point_summaries[metric_index] else { continue };
        let Some(x_value) = numeric(&record.params[x_index]) else { continue };
        let label = match series_index {
            Some(s) => format!("{}={}", experiment.spec.axes[s].name, record.params[s]),
            None => metric.name.clone(),
        };
        let half_width = summary.half_width.unwrap_or(0.0);
        let point =
            (x_value, summary.mean * scale, (summary.mean - half_width) * scale, (summary.mean + half_width) * scale);
        match lines.iter_mut().find(|line| line.label == label) {
            Some(line) => line.points.push(point),
            None => lines.push(Line { label, points: vec![point] }),
        }
    }
    for line in &mut lines {
        line.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let axis = &experiment.spec.axes[x_index];
    let x_label = match &axis.unit {
        Some(unit) => format!("{x} ({unit})"),
        None => x.to_string(),
    };
    let reference = experiment
        .slo
        .as_ref()
        .filter(|slo| slo.metric.path == metric.path)
        .map(|slo| (slo.threshold * scale, format!("SLO {}", slo.text)));
    let stem = match series {
        Some(series) => format!("metric-{}-vs-{}-by-{}", file_part(metric_name), file_part(x), file_part(series)),
        None => format!("metric-{}-vs-{}", file_part(metric_name), file_part(x)),
    };
    let title = format!("{}: {} against {x} (mean, 95% band)", experiment.name, metric.name);
    (stem, Figure { title, x_label, y_label: metric.label(), log_x, lines, shaded: Vec::new(), reference })
}

fn cdf_figure(experiment: &Experiment, records: &[&PointRecord]) -> Figure {
    let lines = records
        .iter()
        .filter_map(|record| {
            let cdf = record.latency_cdf.as_ref()?;
            let points = cdf.iter().map(|[q, latency]| (latency * 1e3, *q, *q, *q)).collect();
            Some(Line { label: point_label(experiment, record), points })
        })
        .collect();
    Figure {
        title: format!("{}: end-to-end latency CDF (first replication of each point)", experiment.name),
        x_label: "latency (ms, log scale)".into(),
        y_label: "share of requests at or below".into(),
        log_x: true,
        lines,
        shaded: Vec::new(),
        reference: None,
    }
}

fn timeseries_figure(
    experiment: &Experiment,
    records: &[&PointRecord],
    metric: &str,
    at: &IndexMap<String, AxisValue>,
) -> (String, Figure) {
    let index = experiment
        .spec
        .plots
        .iter()
        .filter(|plot| matches!(plot, PlotSpec::Timeseries { .. }))
        .position(|plot| matches!(plot, PlotSpec::Timeseries { metric: m, .. } if m == metric))
        .expect("the plot is in the spec");
    let seconds = metric.ends_with("_s");
    let scale = if seconds { 1e3 } else { 1.0 };
    let mut shaded = Vec::new();
    let mut lines = Vec::new();
    for record in records {
        for window in record.fault_windows.iter().flatten() {
            if !shaded.contains(&(window[0], window[1])) {
                shaded.push((window[0], window[1]));
            }
        }
        if let Some(series) = record.timeseries.as_ref().and_then(|all| all.get(index)) {
            let points = series.iter().map(|[t, value]| (*t, value * scale, value * scale, value * scale)).collect();
            lines.push(Line { label: point_label(experiment, record), points });
        }
    }
    let y_label = if seconds { format!("{metric} (ms)") } else { metric.to_string() };
    let figure = Figure {
        title: format!("{}: {metric} per window (first replication; faults shaded)", experiment.name),
        x_label: "simulated time (s)".into(),
        y_label,
        log_x: false,
        lines,
        shaded,
        reference: None,
    };
    (format!("timeseries-{}{}", file_part(metric), at_suffix(at)), figure)
}

/// Draws one figure as (SVG, PNG) bytes.
pub fn render(figure: &Figure) -> Result<(Vec<u8>, Vec<u8>), String> {
    register_font();
    Ok((svg(figure)?, png(figure)?))
}

fn svg(figure: &Figure) -> Result<Vec<u8>, String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        draw(root, figure).map_err(|error| format!("error: cannot draw \"{}\": {error}\n", figure.title))?;
    }
    Ok(text.into_bytes())
}

/// Makes the bundled font the one plotters measures and draws text with.
fn register_font() {
    static FONT_ONCE: std::sync::Once = std::sync::Once::new();
    FONT_ONCE.call_once(|| {
        if plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_err() {
            unreachable!("the bundled font is a valid TrueType file");
        }
    });
}

fn png(figure: &Figure) -> Result<Vec<u8>, String> {
    let mut pixels = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        draw(root, figure).map_err(|error| format!("error: cannot draw \"{}\": {error}\n", figure.title))?;
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, SIZE.0, SIZE.1);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|error| format!("error: cannot encode a PNG: {error}\n"))?;
    writer.write_image_data(&pixels).map_err(|error| format!("error: cannot encode a PNG: {error}\n"))?;
    writer.finish().map_err(|error| format!("error: cannot encode a PNG: {error}\n"))?;
    Ok(bytes)
}

/// The data range of the figure, padded; x in log10 when the axis is logarithmic.
fn ranges(figure: &Figure) -> ((f64, f64), (f64, f64)) {
    let to_x = |x: f64| if figure.log_x { x.max(1e-9).log10() } else { x };
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for line in &figure.lines {
        for (x, y, low, high) in &line.points {
            x0 = x0.min(to_x(*x));
            x1 = x1.max(to_x(*x));
            y0 = y0.min(*low).min(*y);
            y1 = y1.max(*high).max(*y);
        }
    }
    for (start, end) in &figure.shaded {
        x0 = x0.min(to_x(*start));
        x1 = x1.max(to_x(*end));
    }
    if let Some((value, _)) = figure.reference {
        y0 = y0.min(value);
        y1 = y1.max(value);
    }
    if !x0.is_finite() {
        (x0, x1) = (0.0, 1.0);
    }
    if !y0.is_finite() {
        (y0, y1) = (0.0, 1.0);
    }
    if x1 <= x0 {
        (x0, x1) = (x0 - 0.5, x1 + 0.5);
    }
    let pad = (y1 - y0).abs().max(y1.abs() * 1e-3).max(1e-12) * 0.06;
    let y_low = if y0 >= 0.0 && y0 - pad < 0.0 { 0.0 } else { y0 - pad };
    ((x0, x1), (y_low, y1 + pad))
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    figure: &Figure,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let ((x0, x1), y_range) = ranges(figure);
    let mut builder = ChartBuilder::on(&root);
    builder.caption(&figure.title, ("sans-serif", 20)).margin(16).x_label_area_size(48).y_label_area_size(72);
    if figure.log_x {
        let chart = builder.build_cartesian_2d((10f64.powf(x0)..10f64.powf(x1)).log_scale(), y_range.0..y_range.1)?;
        fill(chart, figure, (10f64.powf(x0), 10f64.powf(x1)), y_range)?;
    } else {
        let chart = builder.build_cartesian_2d(x0..x1, y_range.0..y_range.1)?;
        fill(chart, figure, (x0, x1), y_range)?;
    }
    root.present()?;
    Ok(())
}

/// Draws the mesh, shading, bands, lines, reference line and legend on a chart of either x scale.
fn fill<'a, DB: DrawingBackend + 'a, X>(
    mut chart: ChartContext<'a, DB, Cartesian2d<X, plotters::coord::types::RangedCoordf64>>,
    figure: &Figure,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        // Few enough labels that a log axis's decades do not run into each other.
        .x_labels(if figure.log_x { 5 } else { 10 })
        .x_desc(figure.x_label.as_str())
        .y_desc(figure.y_label.as_str())
        .x_label_formatter(&|value: &f64| sim_batch::metrics::significant(*value))
        .y_label_formatter(&|value: &f64| sim_batch::metrics::significant(*value))
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for (start, end) in &figure.shaded {
        chart.draw_series(std::iter::once(Rectangle::new([(*start, y0), (*end, y1)], RED.mix(0.12).filled())))?;
    }
    if !figure.shaded.is_empty() {
        chart
            .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
            .label("fault window")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 20, y + 5)], RED.mix(0.25).filled()));
    }
    for (index, line) in figure.lines.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        let has_band = line.points.iter().any(|(_, y, low, high)| low < y || high > y);
        if has_band {
            let mut outline: Vec<(f64, f64)> = line.points.iter().map(|(x, _, _, high)| (*x, *high)).collect();
            outline.extend(line.points.iter().rev().map(|(x, _, low, _)| (*x, *low)));
            chart.draw_series(std::iter::once(Polygon::new(outline, color.mix(0.18).filled())))?;
        }
        let points: Vec<(f64, f64)> = line.points.iter().map(|(x, y, _, _)| (*x, *y)).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(line.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        if points.len() <= 40 {
            chart.draw_series(points.iter().map(|point| Circle::new(*point, 3, color.filled())))?;
        }
    }
    if let Some((value, label)) = &figure.reference {
        chart
            .draw_series(DashedLineSeries::new(vec![(x0, *value), (x1, *value)], 8, 5, BLACK.stroke_width(1)))?
            .label(label.as_str())
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()?;
    Ok(())
}
