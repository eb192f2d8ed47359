//! Writing the calibrated topology as RON a user can read and edit: each number with a
//! comment that says where it came from, empirical times as histograms.

use std::fmt::Write;

use super::deployment::{Deployment, NodeDeployment};
use super::traces::{NodeObservations, Observations, Pattern};

/// Workers written for a node the deployment file does not give: enough that it never
/// queues, which is what a trace of a delay says.
pub const UNLIMITED_WORKERS: u32 = 1000;

/// The probabilities at which a histogram's bin edges are cut: every 5%, finer in the tail
/// so that p99 and beyond keep their shape.
const EDGES: [f64; 26] = [
    0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90,
    0.95, 0.975, 0.99, 0.995, 0.999, 0.9995, 1.0,
];

/// The topology text for `observations`, with `header` lines first as comments.
pub fn topology(observations: &Observations, deployment: &Deployment, header: &[String]) -> String {
    let mut out = String::new();
    for line in header {
        let _ = writeln!(out, "// {line}");
    }
    out.push_str("Topology(\n    workload: [\n");
    for (i, entry) in observations.entries.iter().enumerate() {
        let node = &observations.nodes[entry.node].name;
        let n = entry.starts_ns.len();
        let span_s = (entry.starts_ns[n - 1] - entry.starts_ns[0]) as f64 / 1e9;
        let rate = (n - 1) as f64 / span_s;
        let gaps: Vec<f64> = entry.starts_ns.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let (mean, sd) = mean_sd(&gaps);
        let name = if observations.entries.len() == 1 { "traced".to_string() } else { format!("traced-{}", i + 1) };
        let _ = writeln!(out, "        // {n} root spans over {span_s:.2} s: {rate:.3}/s; the gaps' coefficient of variation is {:.2} (1 for Poisson).", sd / mean);
        let _ = writeln!(out, "        Open(\n            name: \"{name}\",");
        let _ = writeln!(out, "            arrivals: Poisson(rate: \"{}/s\"),", round_sig(rate, 6));
        let total: u64 = entry.classes.iter().map(|(_, c)| c).sum();
        let classes: Vec<String> = entry
            .classes
            .iter()
            .map(|(class, count)| format!("{}: {}", quote(class), round_sig(*count as f64 / total as f64, 6)))
            .collect();
        let _ =
            writeln!(out, "            // classes from the root spans' method and route: {}", counts(&entry.classes));
        let _ = writeln!(out, "            classes: {{{}}},", classes.join(", "));
        let _ = writeln!(out, "            to: {},", quote(&target(node, deployment)));
        if !observations.client_ns.is_empty() {
            let _ = writeln!(
                out,
                "            // half of each root client span less its server span ({} samples)",
                observations.client_ns.len()
            );
            let _ = writeln!(out, "            latency: {},", histogram(&observations.client_ns, "            "));
        }
        out.push_str("        ),\n");
    }
    out.push_str("    ],\n    nodes: {\n");
    for node in &observations.nodes {
        let deployed = deployment.nodes.get(&node.name);
        if let Some(algorithm) = deployed.and_then(|d| d.balancer) {
            let _ = writeln!(out, "        // from the deployment file");
            let _ = writeln!(
                out,
                "        {}: LoadBalancer(algorithm: {}, backends: [{}]),",
                quote(&balancer_name(&node.name)),
                algorithm.name(),
                quote(&node.name)
            );
        }
        service(&mut out, observations, node, deployed, deployment);
    }
    out.push_str("    },\n");
    if !deployment.hosts.is_empty() {
        out.push_str("    // from the deployment file: the nodes' own time is CPU work sharing the hosts' cores\n");
        out.push_str("    hosts: {\n");
        for (name, host) in &deployment.hosts {
            let machines = host.machines.map_or(String::new(), |machines| format!("machines: {machines}, "));
            let nodes: Vec<String> = host.nodes.iter().map(|node| quote(node)).collect();
            let _ = writeln!(
                out,
                "        {}: (cores: {}, {machines}nodes: [{}]),",
                quote(name),
                host.cores,
                nodes.join(", ")
            );
        }
        out.push_str("    },\n");
    }
    if !observations.links.is_empty() {
        out.push_str("    links: [\n");
        for (&(from, to), samples) in &observations.links {
            let _ =
                writeln!(out, "        // half of each client span less its server span ({} samples)", samples.len());
            let to = target(&observations.nodes[to].name, deployment);
            let _ = writeln!(
                out,
                "        Link(from: {}, to: {}, latency: {}),",
                quote(&observations.nodes[from].name),
                quote(&to),
                histogram(samples, "        ")
            );
        }
        out.push_str("    ],\n");
    }
    out.push_str(")\n");
    out
}

fn service(
    out: &mut String,
    observations: &Observations,
    node: &NodeObservations,
    deployed: Option<&NodeDeployment>,
    deployment: &Deployment,
) {
    let visits: usize = node.classes.iter().map(|c| c.visits()).sum();
    let what = if node.traced {
        "own time = its server spans less the time they waited on calls"
    } else {
        "not traced itself: times are its callers' client spans"
    };
    let _ = writeln!(out, "        // {visits} visits; {what}.");
    let _ = writeln!(out, "        {}: Service(", quote(&node.name));
    let d = deployed.map(|d| (d.instances, d.workers, d.queue, d.timeout)).unwrap_or_default();
    if let Some(instances) = d.0 {
        let _ = writeln!(out, "            instances: {instances}, // deployment file");
    }
    match d.1 {
        Some(workers) => {
            let _ = writeln!(out, "            workers: {workers}, // deployment file");
        }
        None => {
            let _ = writeln!(
                out,
                "            workers: {UNLIMITED_WORKERS}, // not in the deployment file: as good as unlimited"
            );
        }
    }
    if let Some(queue) = d.2 {
        let _ = writeln!(out, "            queue: {queue}, // deployment file");
    }
    if let Some(timeout) = d.3 {
        let _ = writeln!(out, "            timeout: \"{timeout}\", // deployment file");
    }
    out.push_str("            steps: [\n                ByClass(\n                    branches: {\n");
    for class in &node.classes {
        let total = class.visits();
        let _ = writeln!(out, "                        {}: [", quote(&class.class));
        if class.patterns.len() == 1 {
            steps(out, observations, &class.patterns[0], deployment, "                            ");
        } else {
            out.push_str("                            Choose([\n");
            for pattern in &class.patterns {
                let n = pattern.own_ns.len();
                let _ = writeln!(
                    out,
                    "                                // {n} of {total} visits ({:.1}%)",
                    100.0 * n as f64 / total as f64
                );
                let _ = writeln!(out, "                                ({}, [", round_sig(n as f64 / total as f64, 6));
                steps(out, observations, pattern, deployment, "                                    ");
                out.push_str("                                ]),\n");
            }
            out.push_str("                            ]),\n");
        }
        out.push_str("                        ],\n");
    }
    out.push_str("                    },\n                ),\n            ],\n        ),\n");
}

fn steps(out: &mut String, observations: &Observations, pattern: &Pattern, deployment: &Deployment, indent: &str) {
    let (mean, _) = mean_sd(&pattern.own_ns.iter().map(|&ns| ns as f64).collect::<Vec<_>>());
    let _ = writeln!(out, "{indent}// {} samples, mean {}", pattern.own_ns.len(), duration(mean.round() as u64));
    let _ = writeln!(out, "{indent}Work({}),", histogram(&pattern.own_ns, indent));
    for group in &pattern.groups {
        let names: Vec<String> =
            group.iter().map(|&n| quote(&target(&observations.nodes[n].name, deployment))).collect();
        if names.len() == 1 {
            let _ = writeln!(out, "{indent}Call({}),", names[0]);
        } else {
            let _ = writeln!(out, "{indent}Parallel([{}]),", names.join(", "));
        }
    }
}

/// The node callers reach `node` through: its balancer when the deployment gives one.
fn target(node: &str, deployment: &Deployment) -> String {
    match deployment.nodes.get(node).and_then(|d| d.balancer) {
        Some(_) => balancer_name(node),
        None => node.to_string(),
    }
}

fn balancer_name(node: &str) -> String {
    format!("{node}-lb")
}

/// An empirical distribution as a histogram with bins cut at the quantiles in [`EDGES`], its
/// bins four to a line under `indent`.
pub fn histogram(samples: &[u64], indent: &str) -> String {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let (first, last) = (sorted[0], sorted[sorted.len() - 1]);
    if first == last {
        return format!("Constant(\"{}\")", duration(first));
    }
    let quantile = |p: f64| sorted[((p * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)];
    let mut bins = Vec::new();
    for pair in EDGES.windows(2) {
        let (from, to) = (quantile(pair[0]), quantile(pair[1]));
        let weight = pair[1] - pair[0];
        bins.push(format!(
            "Bin(from: \"{}\", to: \"{}\", weight: {})",
            duration(from),
            duration(to),
            round_sig(weight, 4)
        ));
    }
    let lines: Vec<String> = bins.chunks(4).map(|line| format!("{indent}    {},", line.join(", "))).collect();
    format!("Histogram([\n{}\n{indent}])", lines.join("\n"))
}

/// A duration to the microsecond (to the nanosecond below one), as text the file format reads.
pub fn duration(ns: u64) -> String {
    if ns >= 1_000_000 {
        let ms = format!("{:.3}", (ns as f64 / 1e3).round() / 1e3);
        format!("{}ms", ms.trim_end_matches('0').trim_end_matches('.'))
    } else if ns >= 1_000 {
        format!("{}us", (ns as f64 / 1e3).round() as u64)
    } else {
        format!("{ns}ns")
    }
}

fn round_sig(value: f64, digits: i32) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let scale = 10f64.powi(digits - 1 - value.abs().log10().floor() as i32);
    (value * scale).round() / scale
}

fn mean_sd(values: &[f64]) -> (f64, f64) {
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, var.sqrt())
}

fn counts(classes: &[(String, u64)]) -> String {
    classes.iter().map(|(c, n)| format!("{n} {c}")).collect::<Vec<_>>().join(", ")
}

/// A RON string literal.
fn quote(text: &str) -> String {
    format!("{text:?}")
}
