//! The analytic view's verdicts in words, as `archsim analyze` prints them and the page shows
//! them: the bottleneck and the rate at which it saturates, the view at a varying workload's
//! peak, and the predicted mean response.

use crate::metrics::significant;
use sim_core::analysis::{Analysis, ClassResponse};
use sim_core::topology::Topology;

/// Milliseconds to 4 significant digits; below the simulation's 1 ns resolution, 0 (an
/// Erlang C wait of 10⁻¹⁴ s reads as what it is); `∞` when unbounded, `-` for none.
pub fn ms(seconds: Option<f64>) -> String {
    match seconds {
        Some(value) if value.is_finite() && value.abs() < 1e-9 => "0".into(),
        Some(value) if value.is_finite() => significant(value * 1e3),
        Some(_) => "∞".into(),
        None => "-".into(),
    }
}

/// A utilization to 3 decimals; `∞` where requests come round without end (a loop that a
/// timed call's retries make grow).
pub fn utilization(value: f64) -> String {
    // Not a number only where a saturated view's holding is unbounded: as busy as infinite.
    if value.is_infinite() || value.is_nan() {
        "∞".into()
    } else {
        format!("{value:.3}")
    }
}

/// How far the offered load may grow before the bottleneck saturates, in the words of
/// `archsim run`'s bottleneck line (", 3.48× headroom"), or how far past saturation it is
/// (", 0.85× what is offered now: past saturation"); nothing when nothing is offered. A
/// view with waits (`steady`) at a factor of 1 to rounding is closed users keeping the
/// bottleneck busy (their rate can only approach its capacity): at saturation, not past it.
fn headroom(saturation_per_s: f64, offered_per_s: f64, steady: bool) -> String {
    if offered_per_s <= 0.0 {
        return String::new();
    }
    let factor = saturation_per_s / offered_per_s;
    if factor > 1.0 {
        format!(", {}", sim_core::report::headroom_text(factor))
    } else if steady && factor > 1.0 - 1e-6 {
        ", no headroom: the closed users keep it busy".into()
    } else {
        format!(", {factor:.2}× what is offered now: past saturation")
    }
}

/// `bottleneck: "app" at utilization 0.720; it saturates at about 1111 req/s offered, 1.39×
/// headroom (same mix, current holding times)`, a host's, or none.
pub fn bottleneck_line(analysis: &Analysis) -> String {
    match (analysis.bottleneck, analysis.saturation_rate_per_s) {
        (Some(bottleneck), Some(rate)) => {
            let node = &analysis.nodes[bottleneck];
            let (part, utilization) = match &analysis.bottleneck_part {
                Some(name) => (
                    format!(" {name}"),
                    node.parts.iter().find(|part| &part.name == name).map_or(0.0, |part| part.utilization),
                ),
                None => (String::new(), node.utilization.unwrap_or(0.0)),
            };
            let refusing = node.refused.filter(|refused| *refused >= REFUSED_SHOWN);
            if let (None, Some(refused)) = (&analysis.bottleneck_part, refusing) {
                // Judged by what it is offered, as the run judges it: it is busy with less.
                let offered = if refused < 1.0 { utilization / (1.0 - refused) } else { f64::INFINITY };
                return format!(
                    "bottleneck: \"{}\" offered {} its capacity (busy {utilization:.3}: what finds no place is refused); it saturates at about {} req/s offered{} (same mix, current holding times)",
                    node.name,
                    if offered.is_finite() { format!("{offered:.3}×") } else { "∞×".into() },
                    significant(rate),
                    headroom(rate, analysis.arrival_rate_per_s, analysis.response_s.is_some())
                );
            }
            if utilization.is_infinite() {
                return format!(
                    "bottleneck: \"{}\"{part} at utilization ∞ (its requests come round without end): it saturates at any load",
                    node.name
                );
            }
            format!(
                "bottleneck: \"{}\"{part} at utilization {:.3}; it saturates at about {} req/s offered{} (same mix, current holding times)",
                node.name,
                utilization,
                significant(rate),
                headroom(rate, analysis.arrival_rate_per_s, analysis.response_s.is_some())
            )
        }
        (None, Some(rate)) if analysis.bottleneck_host.is_some() => {
            let host = &analysis.hosts[analysis.bottleneck_host.unwrap_or_default()];
            format!(
                "bottleneck: host \"{}\" ({} cores{}) at utilization {:.3}; it saturates at about {} req/s offered{} (same mix)",
                host.name,
                host.cores,
                if host.machines > 1 { format!(" × {} machines", host.machines) } else { String::new() },
                host.utilization,
                significant(rate),
                headroom(rate, analysis.arrival_rate_per_s, analysis.response_s.is_some())
            )
        }
        (None, Some(rate)) if analysis.bottleneck_bandwidth.is_some() => {
            let pipe = &analysis.bandwidth[analysis.bottleneck_bandwidth.unwrap_or_default()];
            format!(
                "bottleneck: the bandwidth of \"{}\" ({}) at utilization {:.3}; it saturates at about {} req/s offered{} (same mix and sizes)",
                pipe.name,
                sim_core::report::format_bandwidth(pipe.bandwidth_bit_s),
                pipe.utilization,
                significant(rate),
                headroom(rate, analysis.arrival_rate_per_s, analysis.response_s.is_some())
            )
        }
        _ => "bottleneck: none (no node queues for workers)".into(),
    }
}

/// `at the peak (1500 req/s offered: "fans" at 1500/s from 40s to 70s): "events" group
/// mailer is offered 3.05× its capacity: it cannot keep up while the peak lasts`, when a
/// workload varies.
pub fn peak_line(analysis: &Analysis) -> Option<String> {
    let peak = analysis.peak.as_ref()?;
    let verdict = match (&peak.bottleneck, peak.load) {
        (Some(name), Some(load)) if load >= 1.0 => {
            format!("{name} is offered {load:.2}× its capacity: it cannot keep up while the peak lasts")
        }
        (Some(name), Some(load)) => format!("{name} is the bottleneck at utilization {load:.3}: it keeps up"),
        _ => "no node queues for workers".to_string(),
    };
    let verdict = match peak.scaled.as_slice() {
        [] => verdict,
        scaled => format!("{verdict}, once autoscaling has scaled {}", scaled.join(" and ")),
    };
    // Until then, what the instances it had must take.
    let verdict = match &peak.before_scaling {
        Some(before) => format!(
            "{verdict}; until then (a reading every {}, then {} on average to provision) {} is offered {:.2}× its capacity: a backlog builds by about {} requests a second (start with more instances, or scale on an earlier signal)",
            seconds_text(before.interval_s),
            seconds_text(before.provisioning_s),
            before.bottleneck,
            before.load,
            significant(before.excess_per_s)
        ),
        None => verdict,
    };
    let verdict = match peak.served_levels.as_slice() {
        [] => verdict,
        served => format!("{verdict}; {}", served.join("; ")),
    };
    Some(format!(
        "at the peak ({} req/s offered: {}): {verdict}",
        significant(peak.arrival_rate_per_s),
        peak.when.join("; ")
    ))
}

/// A duration in seconds as `15s` or `2.5s`.
fn seconds_text(seconds: f64) -> String {
    format!("{}s", significant(seconds))
}

/// Refusals under `REFUSED_SHOWN` go unsaid: a queue of 1000 places at 80% load refuses
/// one request in 10⁹⁰.
const REFUSED_SHOWN: f64 = 1e-4;

/// Per node that turns requests away for want of a place, `refused: "api" turns away 12.2%
/// of its arrivals (...)` with the node's index, and the share of requests that complete,
/// where any is refused, with none.
pub fn refusal_lines(analysis: &Analysis) -> Vec<(Option<usize>, String)> {
    let mut lines: Vec<(Option<usize>, String)> = (analysis.nodes.iter().enumerate())
        .filter_map(|(index, node)| {
            let refused = node.refused.filter(|refused| *refused >= REFUSED_SHOWN)?;
            let why = if node.kind == "function" {
                "every container of its concurrency busy"
            } else {
                "every worker busy and every place in its queue taken"
            };
            Some((
                Some(index),
                format!("refused: \"{}\" turns away {} of its arrivals ({why})", node.name, percent(refused)),
            ))
        })
        .collect();
    if let Some(share) = analysis.completed_share.filter(|share| 1.0 - share >= REFUSED_SHOWN) {
        lines.push((
            None,
            format!("predicted share of requests completed: {} (the rest refused on their way)", percent(share)),
        ));
    }
    lines
}

/// A share as a percentage to 2 decimals, `12.17%`.
pub fn percent(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

/// `predicted mean end-to-end response: 23.4 ms` (`-` when saturated).
pub fn response_line(analysis: &Analysis) -> String {
    format!("predicted mean end-to-end response: {} ms", ms(analysis.response_s))
}

/// Per open workload of several classes, `by class of "shoppers": "browse" 18.2 ms,
/// "checkout" 9.1 ms`, each class's figure followed by what `beside` gives for it (a
/// simulation's measure, or nothing).
pub fn class_response_lines(analysis: &Analysis, mut beside: impl FnMut(&ClassResponse) -> String) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut workload = None;
    for class in &analysis.class_response_s {
        let figure = format!("\"{}\" {} ms{}", class.class, ms(class.response_s), beside(class));
        if workload == Some(class.workload) {
            let line = lines.last_mut().expect("a line for the workload");
            line.push_str(", ");
            line.push_str(&figure);
        } else {
            lines.push(format!("by class of \"{}\": {figure}", class.workload_name));
            workload = Some(class.workload);
        }
    }
    lines
}

/// Per timed call whose steady state is metastable, `metastable: ...` with the callee's
/// load in a retry storm (none when no call is so).
pub fn metastable_lines(analysis: &Analysis) -> Vec<String> {
    (analysis.calls.iter())
        .filter_map(|call| {
            let (load, node) = (call.storm_load?, call.storm_node.as_ref()?);
            Some(format!(
                "metastable: were calls {} to time out (a slowdown, a burst), their retries would offer \"{node}\" {load:.2}× what it can do: a retry storm that outlasts its cause",
                call.name
            ))
        })
        .collect()
}

/// Per service that can wait on itself (`Topology::self_waits`), `can deadlock: ...` with
/// the way its calls come back to it: the view takes its workers as never all held by such
/// calls, which a run can show otherwise well below the saturation it gives.
pub fn self_wait_lines(topology: &Topology) -> Vec<String> {
    (topology.self_waits().iter())
        .map(|wait| {
            format!(
                "can deadlock: \"{}\"'s workers hold calls that can come back to it ({}); were they all held so, the calls that came back would queue behind them until a timeout gave up, below the saturation above (run it to see how often its workers are all busy)",
                topology.nodes[wait.node].name,
                wait.path_text(topology)
            )
        })
        .collect()
}
