//! `archsim calibrate`: topologies written from OpenTelemetry traces. Synthetic traces of a
//! known system (made here, deterministically) give back its structure, its rates and its
//! times, and the calibrated model predicts the traces' own mean latency; a sample of the
//! real stack's traces gives a committed topology; bad traces and deployment files are
//! refused with their place, or counted.

use std::fmt::Write;
use std::path::PathBuf;

use sim_batch::calibrate::{calibrate, Input};
use sim_core::rng::{Purpose, RandomStream};

use crate::check::{self, repo_root, run_cli, Estimate};

/// One span of a synthetic trace.
struct Span {
    service: &'static str,
    trace: u128,
    id: u64,
    parent: u64,
    name: String,
    kind: u8,
    start_ns: u64,
    end_ns: u64,
    attributes: Vec<(&'static str, String)>,
}

/// Synthetic traces of a known system, with what it is known to be.
struct Synthetic {
    spans: Vec<Span>,
    /// Root client spans' durations, seconds: the latency a user saw.
    latencies_s: Vec<f64>,
    /// Root start times, ns.
    starts_ns: Vec<u64>,
    reads: u64,
    reads_to_db: u64,
}

const CLIENT_NET_NS: u64 = 300_000;
const LINK_NET_NS: u64 = 100_000;

/// `requests` Poisson arrivals at 200/s from a load generator (`loadgen`, client spans) to
/// `gateway`: 70% `GET /a` (own time Exp(2 ms) then `users` (a traced service, Exp(3 ms) own
/// time, 100 µs each way) and `redis` (a leaf, Exp(0.5 ms)) at once, then `postgresql`
/// (Exp(8 ms)) with probability 0.4); 30% `POST /b` (own time 1 ms, then `postgresql`).
/// Nothing queues: every node has room for every request.
fn synthetic(requests: usize) -> Synthetic {
    let mut random = RandomStream::derive(7, "synthetic-traces", Purpose::ServiceTimes);
    let random = &mut random;
    let mut out =
        Synthetic { spans: Vec::new(), latencies_s: Vec::new(), starts_ns: Vec::new(), reads: 0, reads_to_db: 0 };
    let mut at_ns = 1_700_000_000_000_000_000u64;
    let mut next_id = 1u64;
    let mut id = || {
        next_id += 1;
        next_id
    };
    for r in 0..requests {
        at_ns += exp(random, 5_000_000.0);
        let trace = 0xabc0_0000_0000_0000_0000_0000_0000_0000u128 + r as u128;
        let read = random.below(10) < 7;
        let choice = random.below(10);
        let (root, server) = (id(), id());
        let server_start = at_ns + CLIENT_NET_NS;
        let mut t = server_start;
        let mut children = Vec::new();
        let (method, route) = if read { ("GET", "/a") } else { ("POST", "/b") };
        if read {
            out.reads += 1;
            t += exp(random, 2_000_000.0);
            // users and redis at once
            let users_client = id();
            let users_own = exp(random, 3_000_000.0);
            let users_end = t + 2 * LINK_NET_NS + users_own;
            let users_server = id();
            children.push(span("gateway", trace, users_client, server, "GET users", 3, t, users_end, vec![]));
            children.push(span(
                "users",
                trace,
                users_server,
                users_client,
                "GET /user",
                2,
                t + LINK_NET_NS,
                users_end - LINK_NET_NS,
                vec![],
            ));
            let redis_end = t + exp(random, 500_000.0);
            children.push(span(
                "gateway",
                trace,
                id(),
                server,
                "GET",
                3,
                t,
                redis_end,
                vec![("db.system", "redis".into())],
            ));
            t = users_end.max(redis_end);
            if choice < 4 {
                out.reads_to_db += 1;
                let end = t + exp(random, 8_000_000.0);
                children.push(database_call(trace, id(), server, "SELECT", t, end));
                t = end;
            }
        } else {
            t += 1_000_000;
            let end = t + exp(random, 8_000_000.0);
            children.push(database_call(trace, id(), server, "UPDATE", t, end));
            t = end;
        }
        let attributes = vec![("http.request.method", method.to_string()), ("http.route", route.to_string())];
        out.spans.push(span(
            "loadgen",
            trace,
            root,
            0,
            format!("{method} {route}"),
            3,
            at_ns,
            t + CLIENT_NET_NS,
            vec![],
        ));
        out.spans.push(span(
            "gateway",
            trace,
            server,
            root,
            format!("{method} {route}"),
            2,
            server_start,
            t,
            attributes,
        ));
        out.spans.extend(children);
        out.latencies_s.push((t + CLIENT_NET_NS - at_ns) as f64 / 1e9);
        out.starts_ns.push(at_ns);
    }
    out
}

/// The gateway's client span of a PostgreSQL query.
fn database_call(trace: u128, id: u64, parent: u64, name: &str, start_ns: u64, end_ns: u64) -> Span {
    span("gateway", trace, id, parent, name, 3, start_ns, end_ns, vec![("db.system", "postgresql".into())])
}

/// An exponential draw with the given mean, at least 1 ns.
fn exp(random: &mut RandomStream, mean_ns: f64) -> u64 {
    (-random.open01().ln() * mean_ns) as u64 + 1
}

#[allow(clippy::too_many_arguments)]
fn span(
    service: &'static str,
    trace: u128,
    id: u64,
    parent: u64,
    name: impl Into<String>,
    kind: u8,
    start_ns: u64,
    end_ns: u64,
    attributes: Vec<(&'static str, String)>,
) -> Span {
    Span { service, trace, id, parent, name: name.into(), kind, start_ns, end_ns, attributes }
}

/// The spans as OTLP JSON lines: one ExportTraceServiceRequest per `per_line` spans, each
/// span under its own service's resource.
fn otlp(spans: &[Span], per_line: usize) -> String {
    let mut text = String::new();
    for chunk in spans.chunks(per_line) {
        let resources: Vec<serde_json::Value> = chunk
            .iter()
            .map(|s| {
                let attributes: Vec<serde_json::Value> = s
                    .attributes
                    .iter()
                    .map(|(k, v)| serde_json::json!({"key": k, "value": {"stringValue": v}}))
                    .collect();
                serde_json::json!({
                    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": s.service}}]},
                    "scopeSpans": [{"scope": {"name": "test"}, "spans": [{
                        "traceId": format!("{:032x}", s.trace),
                        "spanId": format!("{:016x}", s.id),
                        "parentSpanId": if s.parent == 0 { String::new() } else { format!("{:016x}", s.parent) },
                        "name": s.name,
                        "kind": s.kind,
                        "startTimeUnixNano": s.start_ns.to_string(),
                        "endTimeUnixNano": s.end_ns.to_string(),
                        "attributes": attributes,
                    }]}],
                })
            })
            .collect();
        writeln!(text, "{}", serde_json::json!({ "resourceSpans": resources })).unwrap();
    }
    text
}

fn calibrated(text: &str) -> String {
    let calibration = calibrate(&[Input { name: "traces.jsonl", text }], None)
        .unwrap_or_else(|error| panic!("calibration failed: {error}"));
    assert!(calibration.warnings.is_empty(), "{:?}", calibration.warnings);
    calibration.topology
}

#[test]
fn calibration_gives_back_the_structure_rates_and_network_times_of_known_traces() {
    let traces = synthetic(3000);
    let topology = calibrated(&otlp(&traces.spans, 50));
    // The structure: users and redis at once, postgresql after them in some visits only.
    assert!(topology.contains(r#"Parallel(["users", "redis"]),"#), "{topology}");
    assert!(topology.contains(r#""gateway": Service("#) && topology.contains(r#""users": Service("#));
    assert!(topology.contains(r#"to: "gateway","#), "{topology}");
    // The rate: (n − 1) / (last − first), to 6 significant digits.
    let n = traces.starts_ns.len();
    let rate = (n - 1) as f64 / ((traces.starts_ns[n - 1] - traces.starts_ns[0]) as f64 / 1e9);
    let written = number_after(&topology, "arrivals: Poisson(rate: \"");
    assert!((written / rate - 1.0).abs() < 1e-5, "rate {written} against {rate}");
    // The class mix and the share of reads that went on to the database, exactly as counted.
    let reads = traces.reads as f64 / n as f64;
    assert!((number_after(&topology, "\"GET /a\": ") / reads - 1.0).abs() < 1e-5, "{topology}");
    let to_db = traces.reads_to_db as f64 / traces.reads as f64;
    let choose: Vec<f64> = topology
        .match_indices("                                (")
        .map(|(at, _)| number_after(&topology[at..], "("))
        .collect();
    assert!(choose.iter().any(|p| (p / to_db - 1.0).abs() < 1e-5), "{choose:?} against {to_db}");
    // Network times: exactly the constant one-way delays the traces were made with.
    assert!(topology.contains(r#"Link(from: "gateway", to: "users", latency: Constant("100us")),"#), "{topology}");
    assert!(topology.contains(r#"latency: Constant("300us"),"#), "{topology}");
    // POST's own time was exactly 1 ms.
    assert!(topology.contains(r#"Work(Constant("1ms")),"#), "{topology}");
}

#[test]
fn a_calibrated_model_predicts_the_mean_latency_of_the_traces_it_came_from() {
    // The traces' mean end-to-end latency (root client spans) with its 99% interval, against
    // the calibrated model's over independent replications. Nothing queues in the traced
    // system, so the model's mean is the sum of its histograms' means: its only error
    // besides sampling is the histograms' (uniform within quantile bins), bounded here by 1%.
    let traces = synthetic(4000);
    let topology = calibrated(&otlp(&traces.spans, 100));
    let traced = Estimate::from(&traces.latencies_s);
    let simulated = check::replicate(&topology, 10, check::requests(20_000), 0.0, |report| {
        report.latency_s.mean.expect("completions")
    });
    eprintln!(
        "traced mean {:.6} ± {:.6} s; simulated {:.6} ± {:.6} s",
        traced.mean, traced.half_width, simulated.mean, simulated.half_width
    );
    let allowed = traced.half_width + simulated.half_width + 0.01 * traced.mean;
    assert!(
        (simulated.mean - traced.mean).abs() <= allowed,
        "simulated {} against traced {} (allowed {allowed})",
        simulated.mean,
        traced.mean
    );
    assert!(traced.half_width < 0.05 * traced.mean, "too few traces for the check to mean something");
}

fn number_after(text: &str, anchor: &str) -> f64 {
    let at = text.find(anchor).unwrap_or_else(|| panic!("no {anchor:?} in\n{text}")) + anchor.len();
    let digits: String = text[at..].chars().take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e').collect();
    digits.parse().unwrap_or_else(|_| panic!("no number after {anchor:?}: {digits:?}"))
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("archsim-calibrate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_cli_writes_a_topology_that_runs_and_reports_its_deployment() {
    let traces = scratch("run.jsonl", &otlp(&synthetic(400).spans, 40));
    let deployment = scratch(
        "run-deploy.ron",
        "Deployment(nodes: {\"gateway\": (instances: 3, workers: 4, balancer: RoundRobin), \"postgresql\": (workers: 20)}, \
         hosts: {\"vm\": (cores: 2, nodes: [\"gateway\", \"redis\"])})",
    );
    let out = traces.with_file_name("run-model.ron");
    let (status, stdout, stderr) = run_cli(&[
        "calibrate",
        traces.to_str().unwrap(),
        "--deployment",
        deployment.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("4 nodes: gateway, users, redis, postgresql"), "{stderr}");
    let model = std::fs::read_to_string(&out).unwrap();
    assert!(model.contains(r#""gateway-lb": LoadBalancer(algorithm: RoundRobin, backends: ["gateway"]),"#), "{model}");
    assert!(model.contains("instances: 3, // deployment file") && model.contains("workers: 20, // deployment file"));
    assert!(model.contains(r#"to: "gateway-lb","#));
    assert!(model.contains(r#""vm": (cores: 2, nodes: ["gateway", "redis"]),"#), "{model}");
    // Callers of a balanced node call its balancer; links follow.
    let report = check::simulate(&model, 1, check::requests(2000), 0.0);
    assert_eq!(report.requests.completed, 2000);
    assert!(report.hosts["vm"].utilization > 0.0);
    let (status, _, stderr) = run_cli(&["check", out.to_str().unwrap()]);
    assert_eq!(status, 0, "{stderr}");
}

#[test]
fn the_real_stacks_traces_give_the_committed_topology() {
    // A sample of the real stack's calibration traces (validation/real-stack): the load
    // generator's client spans and the app's spans, as they were written.
    let dir = repo_root().join("tests/data/traces");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(p).unwrap()))
        .collect();
    let inputs: Vec<Input> = texts.iter().map(|(name, text)| Input { name, text }).collect();
    let deployment = std::fs::read_to_string(repo_root().join("validation/real-stack/deploy/base.ron")).unwrap();
    let calibration = calibrate(&inputs, Some(Input { name: "base.ron", text: &deployment })).unwrap();
    let expected_path = dir.join("real-stack.expected.ron");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&expected_path, &calibration.topology).unwrap();
    }
    let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
    if let Some(difference) = check::first_difference(&expected, &calibration.topology) {
        panic!("the calibrated topology changed (UPDATE_EXPECT=1 to bless):\n{difference}");
    }
    // Every request of the sample reached the app, which reads Redis, and PostgreSQL on a miss.
    for needle in [r#"Call("redis"),"#, r#"Call("postgresql"),"#, r#""GET /item/{key}""#, r#""POST /item/{key}""#] {
        assert!(calibration.topology.contains(needle), "{needle}");
    }
    let report = check::simulate(&calibration.topology, 1, check::requests(3000), 0.0);
    assert_eq!(report.requests.completed, 3000);
}

/// Bad traces: each is refused with the file, line and column and a fix (exit 2), or used
/// with what was wrong counted.
#[test]
fn bad_traces_are_refused_with_their_place_or_counted() {
    let good = otlp(&synthetic(200).spans, 20);
    // Cut short: the last line ends inside a value.
    let cut = &good[..good.len() - 40];
    let (status, _, stderr) = run_cli(&["calibrate", scratch("cut.jsonl", cut).to_str().unwrap()]);
    assert_eq!(status, 2);
    assert!(stderr.contains("cut.jsonl:") && stderr.contains("not OTLP JSON"), "{stderr}");
    assert!(stderr.contains("cut short"), "{stderr}");
    // Not JSON at all.
    let (status, _, stderr) = run_cli(&["calibrate", scratch("text.jsonl", "service,start\n").to_str().unwrap()]);
    assert_eq!(status, 2);
    assert!(stderr.contains("text.jsonl:1:1: not OTLP JSON"), "{stderr}");
    // Empty.
    let (status, _, stderr) = run_cli(&["calibrate", scratch("empty.jsonl", "\n").to_str().unwrap()]);
    assert_eq!(status, 2);
    assert!(stderr.contains("holds no trace data"), "{stderr}");
    // One request: no rate can be measured.
    let one = otlp(&synthetic(1).spans, 10);
    let (status, _, stderr) = run_cli(&["calibrate", scratch("one.jsonl", &one).to_str().unwrap()]);
    assert_eq!(status, 2);
    assert!(stderr.contains("too few requests"), "{stderr}");
    // Files that together pass one file's limit, which every file is read whole within
    // (sparse files: nothing is written to the disk), are refused before any is read.
    let halves: Vec<PathBuf> = ["half-1.jsonl", "half-2.jsonl"].iter().map(|name| scratch(name, "")).collect();
    for half in &halves {
        std::fs::File::options().write(true).open(half).unwrap().set_len(1200 * 1024 * 1024).unwrap();
    }
    let (status, _, stderr) = run_cli(&["calibrate", halves[0].to_str().unwrap(), halves[1].to_str().unwrap()]);
    halves.iter().for_each(|half| std::fs::remove_file(half).unwrap());
    assert_eq!(status, 2);
    assert!(stderr.starts_with("error: the 2 trace files hold 2400 MiB together, more than the limit"), "{stderr}");

    // Orphans, skew and traces without a root are counted, and the rest is used.
    let mut traces = synthetic(300);
    traces.spans.retain(|s| !(s.trace % 50 == 7 && s.parent == 0)); // 6 traces lose their root
    let skewed = traces.spans.iter().position(|s| s.name == "UPDATE").unwrap();
    traces.spans[skewed].end_ns += 1_000_000_000; // a child outlasting its parent by 1 s
    let orphan = traces.spans.iter().position(|s| s.name == "SELECT").unwrap();
    traces.spans[orphan].parent = 0xdead; // a parent that is not in the trace
    let calibration = calibrate(&[Input { name: "bad.jsonl", text: &otlp(&traces.spans, 30) }], None).unwrap();
    let warnings = calibration.warnings.join("\n");
    assert!(warnings.contains("6 traces without a root span"), "{warnings}");
    assert!(warnings.contains("1 spans whose parent is not in their trace"), "{warnings}");
    assert!(warnings.contains("1 calls began before or ended after their caller's span"), "{warnings}");
    assert!(calibration.topology.contains("// warning: 6 traces without a root span"));
    check::simulate(&calibration.topology, 1, check::requests(500), 0.0);
}

#[test]
fn bad_deployment_files_are_refused_with_their_place() {
    let traces = scratch("deploy-traces.jsonl", &otlp(&synthetic(100).spans, 20));
    let cases = [
        (
            "Deployment(nodes: {\n  \"gateway\": (instances: 2),\n  \"nginx\": (workers: 4),\n})",
            "3:3: node \"nginx\" is not in the traces",
            "gateway",
        ),
        ("Deployment(nodes: {\"gateway\": (replicas: 2)})", "deploy-1.ron:1:", "fields: instances, workers"),
        ("Deployment(nodes: {\"gateway\": (workers: 0)})", "no instances or no workers", "give at least 1"),
        ("Deployment(nodes: {\"gateway\": (balancer: Fastest)})", "1:", "LeastConnections"),
        (
            "Deployment(\n  hosts: {\"vm\": (cores: 2, nodes: [\"app\"])},\n)",
            "2:11: host \"vm\" runs node \"app\"",
            "gateway",
        ),
        ("Deployment(hosts: {\"vm\": (cores: 0, nodes: [\"gateway\"])})", "no cores", "at least 1 core"),
    ];
    for (i, (text, message, help)) in cases.iter().enumerate() {
        let deployment = scratch(&format!("deploy-{i}.ron"), text);
        let (status, _, stderr) =
            run_cli(&["calibrate", traces.to_str().unwrap(), "--deployment", deployment.to_str().unwrap()]);
        assert_eq!(status, 2, "{text}: {stderr}");
        assert!(stderr.contains(message) && stderr.contains(help), "{text}:\n{stderr}");
    }
}

/// The spans as a Jaeger JSON document (times in microseconds, kinds in tags, parents in
/// references), as the Jaeger UI downloads it.
fn jaeger(spans: &[Span]) -> String {
    let services: Vec<&str> = {
        let mut names: Vec<&str> = spans.iter().map(|s| s.service).collect();
        names.sort_unstable();
        names.dedup();
        names
    };
    let mut traces: Vec<u128> = spans.iter().map(|s| s.trace).collect();
    traces.dedup();
    let data: Vec<serde_json::Value> = traces
        .iter()
        .map(|&trace| {
            let spans: Vec<serde_json::Value> = spans
                .iter()
                .filter(|s| s.trace == trace)
                .map(|s| {
                    let kind = match s.kind {
                        2 => "server",
                        3 => "client",
                        _ => "internal",
                    };
                    let mut tags = vec![serde_json::json!({"key": "span.kind", "type": "string", "value": kind})];
                    tags.extend(
                        s.attributes.iter().map(|(k, v)| serde_json::json!({"key": k, "type": "string", "value": v})),
                    );
                    let references: Vec<serde_json::Value> = if s.parent == 0 {
                        vec![]
                    } else {
                        vec![serde_json::json!({"refType": "CHILD_OF", "traceID": format!("{trace:032x}"), "spanID": format!("{:016x}", s.parent)})]
                    };
                    serde_json::json!({
                        "traceID": format!("{trace:032x}"),
                        "spanID": format!("{:016x}", s.id),
                        "operationName": s.name,
                        "references": references,
                        "startTime": s.start_ns / 1000,
                        "duration": (s.end_ns - s.start_ns) / 1000,
                        "tags": tags,
                        "processID": format!("p{}", services.iter().position(|n| *n == s.service).unwrap()),
                    })
                })
                .collect();
            let processes: serde_json::Map<String, serde_json::Value> = services
                .iter()
                .enumerate()
                .map(|(i, name)| (format!("p{i}"), serde_json::json!({"serviceName": name, "tags": []})))
                .collect();
            serde_json::json!({"traceID": format!("{trace:032x}"), "spans": spans, "processes": processes})
        })
        .collect();
    serde_json::json!({ "data": data }).to_string()
}

#[test]
fn jaeger_json_gives_the_same_structure_and_rates() {
    let traces = synthetic(500);
    let from_otlp = calibrated(&otlp(&traces.spans, 50));
    let from_jaeger = calibrated(&jaeger(&traces.spans));
    for needle in [r#"Parallel(["users", "redis"]),"#, r#"latency: Constant("300us"),"#] {
        assert!(from_jaeger.contains(needle), "{needle} in\n{from_jaeger}");
    }
    // The link's 100 µs each way, to Jaeger's microsecond (a child rounded to end after its
    // parent is clamped into it, which takes a microsecond off a round trip).
    let link = &from_jaeger[from_jaeger.find(r#"Link(from: "gateway", to: "users""#).expect("the link")..];
    let link = &link[..link.find("])").unwrap()];
    for bin in link.split("Bin(").skip(1) {
        assert!(bin.starts_with(r#"from: "99"#) || bin.starts_with(r#"from: "100us""#), "{link}");
    }
    // The class mix and the call patterns' frequencies do not depend on the time unit.
    let mix = |text: &str| number_after(text, "\"GET /a\": ");
    assert_eq!(mix(&from_otlp), mix(&from_jaeger));
    let rate = |text: &str| number_after(text, "arrivals: Poisson(rate: \"");
    assert!((rate(&from_otlp) / rate(&from_jaeger) - 1.0).abs() < 1e-3);
}
