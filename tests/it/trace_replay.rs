//! Trace replay: a recorded run replays to the same report; speed, loops, offsets and load
//! steps move the clock exactly; JSON Lines reads like CSV; a bad line is an error naming its
//! file and line, with exit status 2.

use crate::check::{assert_conserved, repo_root, run_cli};
use std::path::{Path, PathBuf};

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("archsim-trace-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn report(args: &[&str]) -> serde_json::Value {
    let (status, stdout, stderr) = run_cli(args);
    assert_eq!(status, 0, "archsim {args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// The report without what describes a workload's arrival process rather than what the
/// system did: a trace's kind and its measured mean rate, and the event count (an MMPP's
/// state changes are events of their own, which its replay does not need).
fn without_workload_kinds(mut report: serde_json::Value) -> serde_json::Value {
    report["events"] = serde_json::Value::Null;
    for (_, workload) in report["workloads"].as_object_mut().unwrap() {
        workload["kind"] = serde_json::Value::Null;
        workload["mean_rate_per_s"] = serde_json::Value::Null;
    }
    // The warning on a bursty (MMPP) workload's run-to-run spread is about how the arrivals
    // are drawn; a replay of them draws none.
    if let Some(warnings) = report.get_mut("warnings").and_then(|warnings| warnings.as_array_mut()) {
        warnings.retain(|warning| !warning.as_str().is_some_and(|text| text.contains(" is bursty (")));
        if warnings.is_empty() {
            report.as_object_mut().unwrap().remove("warnings");
        }
    }
    report
}

const SERVICES: &str = r#"
    nodes: {
        "lb": LoadBalancer(algorithm: RoundRobin, backends: ["app"]),
        "app": Service(instances: 2, workers: 2, steps: [Work(Exp(mean: "4ms")), Call("cache")]),
        "cache": Cache(capacity: 200, backend: "db", hit: Exp(mean: "300us"), writes: ["write"], write_policy: Invalidate),
        "db": Database(replicas: 1, connections: 8, read: LogNormal(mean: "6ms", sd: "3ms"),
                       write: LogNormal(mean: "9ms", sd: "4ms"), writes: ["write"], replication_lag: Exp(mean: "20ms")),
    },
    regions: (
        placement: {"eu": ["lb", "app", "cache", "db"], "us": []},
        latency: [("eu", "us", Exp(mean: "40ms"))],
    ),
"#;

/// Message sizes with a bandwidth on one link: a replay must carry the recorded sizes.
const SIZES: &str = r#"
    sizes: {"read": (request: Constant("300B"), response: LogNormal(mean: "30KB", sd: "20KB")),
            "write": (request: Exp(mean: "4KB"), response: Constant("200B"))},
    links: [(from: "app", to: "cache", bandwidth: "100Mbit/s")],
"#;

#[test]
fn a_recorded_run_replays_to_the_same_report() {
    for (name, extra, header) in [
        ("roundtrip", "", "gap_s,workload,class,key,client,region\n"),
        ("roundtrip-sizes", SIZES, "gap_s,workload,class,key,client,region,size,response_size\n"),
    ] {
        recorded_run_replays(name, extra, header);
    }
}

fn recorded_run_replays(name: &str, extra: &str, header: &str) {
    let dir = scratch(name);
    let synthetic = write(
        &dir,
        "synthetic.ron",
        &format!(
            r#"Topology(
    workload: [
        Open(name: "web", arrivals: Poisson(rate: "300/s"), classes: {{"read": 0.8, "write": 0.2}},
             keys: Zipf(n: 5000, s: 1.0), clients: 100, to: "lb", region: "eu"),
        Open(name: "mobile", arrivals: Mmpp(states: [(rate: "50/s", mean_duration: "2s"), (rate: "400/s", mean_duration: "500ms")]),
             classes: {{"read": 0.5, "write": 0.5}}, keys: Uniform(n: 800), clients: 7, to: "lb", region: "us"),
    ],
    {SERVICES}
    {extra}
)"#
        ),
    );
    let replayed = write(
        &dir,
        "replayed.ron",
        &format!(
            r#"Topology(
    workload: [
        Trace(name: "web", file: "arrivals.csv", workload: "web", classes: ["read", "write"], to: "lb", region: "eu"),
        Trace(name: "mobile", file: "arrivals.csv", workload: "mobile", classes: ["read", "write"], to: "lb", region: "us"),
    ],
    {SERVICES}
    {extra}
)"#
        ),
    );
    let arrivals = dir.join("arrivals.csv").to_string_lossy().into_owned();
    let common = ["--duration", "30s", "--warmup", "5s", "--seed", "11", "--format", "json"];
    let original = report(&[&["run", &synthetic, "--record-arrivals", &arrivals][..], &common[..]].concat());
    let trace = std::fs::read_to_string(&arrivals).unwrap();
    assert!(trace.starts_with(header), "{}", &trace[..80]);
    if !extra.is_empty() {
        assert!(original["network"]["total_bytes"].as_u64().unwrap() > 0, "{}", original["network"]);
    }
    let lines = trace.lines().count() as u64 - 1;
    let generated: u64 =
        ["web", "mobile"].iter().map(|w| original["workloads"][w]["generated"].as_u64().unwrap()).sum();
    assert_eq!(lines, generated, "one line per request created");
    let again = report(&[&["run", &replayed][..], &common[..]].concat());
    assert_conserved(&serde_json::from_value(again.clone()).unwrap());
    assert_eq!(again["workloads"]["web"]["kind"], "trace");
    assert_eq!(
        without_workload_kinds(original),
        without_workload_kinds(again),
        "the replay of a recorded run differs from the run"
    );
    // A request-count run replays the same way.
    let counted = ["--requests", "4000", "--seed", "5", "--format", "json"];
    let original = report(&[&["run", &synthetic, "--record-arrivals", &arrivals][..], &counted[..]].concat());
    let again = report(&[&["run", &replayed][..], &counted[..]].concat());
    assert_eq!(without_workload_kinds(original), without_workload_kinds(again));
}

/// A trace of `n` requests `gap_ms` apart, with times from an arbitrary (epoch) origin.
fn even_trace(n: u64, gap_ms: u64) -> String {
    let mut text = String::from("time_ms,class,key\n");
    for i in 0..n {
        text.push_str(&format!(
            "{},{},{}\n",
            1_764_590_000_000 + i * gap_ms,
            if i % 4 == 0 { "write" } else { "read" },
            i % 97
        ));
    }
    text
}

fn replay_topology(dir: &Path, options: &str, scenario: &str) -> String {
    write(
        dir,
        "replay.ron",
        &format!(
            r#"Topology(
    workload: [Trace(name: "log", file: "even.csv", classes: ["read", "write"], to: "app"{options})],
    nodes: {{ "app": Service(workers: 4, steps: [Work(Exp(mean: "2ms"))]) }},
    {scenario}
)"#
        ),
    )
}

#[test]
fn speed_loop_and_offset_move_the_trace_clock_exactly() {
    let dir = scratch("clock");
    write(&dir, "even.csv", &even_trace(1000, 10)); // 10 s at 100/s, lines at 0, 10 ms, … 9.99 s
    let generated = |options: &str, scenario: &str, duration: &str| {
        let file = replay_topology(&dir, options, scenario);
        let report = report(&["run", &file, "--duration", duration, "--format", "json"]);
        assert_conserved(&serde_json::from_value(report.clone()).unwrap());
        report["workloads"]["log"]["generated"].as_u64().unwrap()
    };
    // Played once: every line, and nothing more however long the run.
    assert_eq!(generated("", "", "30s"), 1000);
    // The lines at 0, 10 ms, …, 4.99 s fall within 4.999 s (a run takes the events at its end).
    assert_eq!(generated("", "", "4999ms"), 500);
    // Twice as fast: 5 ms apart, the whole trace in 5 s; looping, 2000 lines in 10 s.
    assert_eq!(generated(", speed: 2.0", "", "5s"), 1000);
    assert_eq!(generated(", speed: 2.0, loop: true", "", "9999ms"), 2000);
    // Looping at speed 1: the next pass starts one mean gap (10 ms) after the last line.
    assert_eq!(generated(", loop: true", "", "24999ms"), 2500);
    // An offset of 2.5 s skips 250 lines; the rest play from the start.
    assert_eq!(generated(r#", offset: "2500ms""#, "", "30s"), 750);
    assert_eq!(generated(r#", offset: "2500ms""#, "", "999ms"), 100);
    // A load step of 3× at 2 s plays the rest of the trace three times as fast:
    // 200 lines before 2 s, then the remaining 800 in 8/3 s.
    let surge = r#"scenario: Scenario(faults: [Load(factor: 3.0, at: "2s")]),"#;
    assert_eq!(generated("", surge, "3999ms"), 200 + 600);
    assert_eq!(generated("", surge, "4667ms"), 1000);
    // A load of 0 pauses the trace where it is; 1 plays on from there.
    let pause = r#"scenario: Scenario(faults: [Load(factor: 0.0, at: "1s"), Load(factor: 1.0, at: "6s")]),"#;
    assert_eq!(generated("", pause, "7999ms"), 100 + 200);
}

#[test]
fn json_lines_replay_like_csv() {
    let dir = scratch("jsonl");
    write(&dir, "even.csv", &even_trace(2000, 3));
    let mut jsonl = String::new();
    for (i, line) in even_trace(2000, 3).lines().skip(1).enumerate() {
        let fields: Vec<&str> = line.split(',').collect();
        // Times as numbers and as strings, keys as numbers, an unknown field ignored.
        let time = if i % 2 == 0 { fields[0].to_string() } else { format!("\"{}\"", fields[0]) };
        jsonl.push_str(&format!(
            "{{\"time_ms\": {time}, \"class\": \"{}\", \"key\": {}, \"status\": 200}}\n",
            fields[1], fields[2]
        ));
        if i == 10 {
            jsonl.push('\n'); // blank lines are skipped
        }
    }
    write(&dir, "even.jsonl", &jsonl);
    let csv_file = replay_topology(&dir, "", "");
    let csv = report(&["run", &csv_file, "--seed", "2", "--format", "json"]);
    let text = std::fs::read_to_string(&csv_file).unwrap().replace("even.csv", "even.jsonl");
    let json_file = write(&dir, "replay-jsonl.ron", &text);
    let json = report(&["run", &json_file, "--seed", "2", "--format", "json"]);
    assert_eq!(csv, json);
    assert_eq!(json["workloads"]["log"]["generated"], 2000);
}

#[test]
fn a_bad_trace_line_is_an_error_naming_its_line() {
    let dir = scratch("bad");
    let cases: &[(&str, &str, &[&str])] = &[
        ("time_s,class\n0.1,read\n0.2,reed\n", "even.csv:3", &["class \"reed\"", "classes (now \"read\", \"write\")"]),
        ("time_s,class\n0.2,read\n0.1,read\n", "even.csv:3", &["the time goes back", "sort the trace by time"]),
        ("time_s,key\n0.1,7\n0.2,x\n", "even.csv:3", &["key \"x\" is not a whole number"]),
        ("time_s,key\n0.1,7\n1e3,8\n", "even.csv:3", &["\"1e3\" is not a time"]),
        ("when,key\n0.1,7\n", "even.csv:1", &["the header names no time column", "time_s"]),
        ("time_s,gap_s\n0.1,0.1\n", "even.csv:1", &["two time columns"]),
        ("time_s,key\n0.1,7\n0.2,8,9\n", "even.csv:3", &["fields", "as many fields as the header"]),
        ("time_s,region\n0.1,eu\n", "even.csv:2", &["region \"eu\"", "the topology has no regions"]),
        ("time_s,client\n0.1,4294967296\n", "even.csv:2", &["client 4294967296 is too large"]),
        ("time_s\n", "even.csv", &["no lines to replay"]),
    ];
    let file = replay_topology(&dir, "", "");
    for (trace, place, needles) in cases {
        write(&dir, "even.csv", trace);
        let (status, stdout, stderr) = run_cli(&["run", &file]);
        assert_eq!(status, 2, "{trace:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains(place), "{trace:?} should be located at {place}: {stderr}");
        for needle in *needles {
            assert!(stderr.contains(needle), "{trace:?} should say {needle:?}: {stderr}");
        }
    }
    let _ = std::fs::remove_file(dir.join("even.csv"));
    let (status, _, stderr) = run_cli(&["run", &file]);
    assert_eq!(status, 2);
    assert!(stderr.contains("cannot read trace \"even.csv\""), "{stderr}");
    // The JSON Lines reader names its lines too.
    write(&dir, "bad.jsonl", "{\"time_s\": 0.1}\n{\"time_s\": 0.2, \"key\": -3}\n");
    let text = std::fs::read_to_string(&file).unwrap().replace("even.csv", "bad.jsonl");
    let json_file = write(&dir, "bad-jsonl.ron", &text);
    let (status, _, stderr) = run_cli(&["run", &json_file]);
    assert_eq!(status, 2);
    assert!(stderr.contains("bad.jsonl:2"), "{stderr}");
}

#[test]
fn a_trace_topology_is_checked_before_its_file_is_read() {
    let dir = scratch("spec");
    let cases: &[(&str, &str)] = &[
        (r#", speed: 0.0"#, "has speed 0"),
        (r#", speed: -1.0"#, "has speed -1"),
        (r#", clients: 0"#, "has 0 clients"),
    ];
    for (options, needle) in cases {
        let file = replay_topology(&dir, options, "");
        let (status, _, stderr) = run_cli(&["check", &file]);
        assert_eq!(status, 2, "{options}: {stderr}");
        assert!(stderr.contains(needle), "{options} should say {needle:?}: {stderr}");
    }
    let file = write(
        &dir,
        "twice.ron",
        r#"Topology(
    workload: [Trace(name: "log", file: "even.csv", classes: ["read", "read"], to: "app")],
    nodes: { "app": Service(workers: 1, steps: [Work(Exp(mean: "2ms"))]) },
)"#,
    );
    let (status, _, stderr) = run_cli(&["check", &file]);
    assert_eq!(status, 2);
    assert!(stderr.contains("lists class \"read\" twice"), "{stderr}");
}

#[test]
fn a_replay_takes_the_trace_class_mix_into_the_analytic_view() {
    let dir = scratch("analyze");
    write(&dir, "even.csv", &even_trace(1000, 10));
    let file = replay_topology(&dir, ", speed: 2.0", "");
    let (status, stdout, stderr) = run_cli(&["check", &file]);
    assert_eq!(status, 0, "{stderr}");
    // 999 gaps over 9.99 s is 100/s, replayed twice as fast.
    assert!(stdout.contains("log (open, mean rate 200/s)"), "{stdout}");
}

/// The analytic view takes a trace at its mean rate, and again at its busiest 5 s: the shop's
/// morning peak, half busy on average, has bursts its app pool cannot keep up with while they
/// last, as the simulation's failing windows show; an evenly spaced trace has no peak line.
#[test]
fn the_view_finds_a_traces_busiest_seconds_and_only_a_real_burst() {
    let example = repo_root().join("topologies/trace-replay.ron");
    let (status, stdout, stderr) = run_cli(&["analyze", example.to_str().unwrap(), "--format", "json"]);
    assert_eq!(status, 0, "{stderr}");
    let view: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let analysis = &view["analysis"];
    let (mean, peak) = (analysis["arrival_rate_per_s"].as_f64().unwrap(), &analysis["peak"]);
    let when = peak["when"][0].as_str().unwrap();
    assert!(when.starts_with("\"shoppers\" at ") && when.contains("in the trace's busiest 5s, from "), "{when}");
    // Bursts of 2.5× the 90/s it rises to: over 2.5 times the mean rate of about 73/s.
    assert!(peak["arrival_rate_per_s"].as_f64().unwrap() > 2.5 * mean, "{peak} against {mean}");
    assert!(peak["load"].as_f64().unwrap() > 1.0, "{peak}");
    let (status, stdout, _) = run_cli(&["analyze", example.to_str().unwrap()]);
    assert_eq!(status, 0);
    assert!(stdout.contains("cannot keep up while the peak lasts"), "{stdout}");

    let dir = scratch("peak");
    write(&dir, "even.csv", &even_trace(2000, 10));
    let file = replay_topology(&dir, "", "");
    let (status, stdout, stderr) = run_cli(&["analyze", &file, "--format", "json"]);
    assert_eq!(status, 0, "{stderr}");
    let view: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(view["analysis"]["peak"].is_null(), "{stdout}");
}
