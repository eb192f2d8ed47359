//! The command line: JSON schema keys, table header, `--out` writes, `check` and `graph`.

use crate::check::{repo_root, run_cli};

fn path(name: &str) -> String {
    repo_root().join("topologies").join(name).to_str().unwrap().to_string()
}

#[test]
fn json_report_has_every_documented_key() {
    let (status, stdout, _) = run_cli(&["run", &path("three-tier.ron"), "--duration", "10s", "--format", "json"]);
    assert_eq!(status, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for key in ["seed", "sim_time_s", "events", "unstable", "throughput_per_s"] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
    let requests = ["generated", "completed", "failed", "timed_out", "rejected", "in_flight"];
    let latency = ["mean", "p50", "p90", "p99", "p999", "max"];
    for key in requests {
        assert!(json["requests"][key].is_u64(), "requests.{key}");
    }
    for key in latency {
        assert!(json["latency_s"][key].is_f64(), "latency_s.{key}");
    }
    for class in ["read", "write"] {
        for key in requests {
            assert!(json["classes"][class]["requests"][key].is_u64(), "classes.{class}.requests.{key}");
        }
        for key in latency {
            assert!(json["classes"][class]["latency_s"][key].is_f64(), "classes.{class}.latency_s.{key}");
        }
    }
    for node in ["lb", "app", "db"] {
        for key in [
            "kind",
            "arrivals",
            "completions",
            "utilization",
            "mean_queue_length",
            "mean_wait_s",
            "mean_sojourn_s",
            "drops",
        ] {
            assert!(json["nodes"][node].get(key).is_some(), "nodes.{node}.{key}");
        }
    }
    assert_eq!(json["nodes"]["lb"]["kind"], "load_balancer");
}

#[test]
fn table_opens_with_seed_and_run_parameters() {
    let (status, stdout, _) =
        run_cli(&["run", &path("three-tier.ron"), "--seed", "7", "--duration", "3s", "--warmup", "1s"]);
    assert_eq!(status, 0);
    assert!(stdout.starts_with("seed 7  stop: duration 3s  warm-up: 1s"), "{stdout}");
    assert!(stdout.contains("nodes"));
}

#[test]
fn out_writes_the_whole_report_to_a_file() {
    let directory = std::env::temp_dir().join(format!("archsim-out-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let out = directory.join("report.json");
    let (status, stdout, _) = run_cli(&[
        "run",
        &path("mm1.ron"),
        "--requests",
        "1000",
        "--warmup",
        "0s",
        "--format",
        "json",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(status, 0);
    assert!(stdout.is_empty());
    let written = std::fs::read_to_string(&out).unwrap();
    let (_, direct, _) =
        run_cli(&["run", &path("mm1.ron"), "--requests", "1000", "--warmup", "0s", "--format", "json"]);
    assert_eq!(written, direct);
    let leftovers: Vec<_> = std::fs::read_dir(&directory).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "a temporary file was left behind");
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn check_and_graph_describe_the_topology() {
    let (status, stdout, _) = run_cli(&["check", &path("microservices.ron")]);
    assert_eq!(status, 0);
    assert!(stdout.contains("gateway"), "{stdout}");
    assert!(stdout.contains("classes: browse, order, login"), "{stdout}");
    let (status, stdout, _) = run_cli(&["check", &path("flash-sale-autoscaling.ron")]);
    assert_eq!(status, 0);
    assert!(stdout.contains("shop             service: 3 instances (autoscaled 3..30) × 8 workers"), "{stdout}");
    assert!(stdout.contains("db               service: 1 instance × 200 workers"), "{stdout}");
    let (status, dot, _) = run_cli(&["graph", &path("three-tier.ron")]);
    assert_eq!(status, 0);
    assert!(dot.starts_with("digraph archsim {"));
    assert!(dot.contains("\"lb\" -> \"app\""));
    assert!(dot.contains("\"app\" -> \"db\""));
}

/// Exit status 2 is bad input; 1 is a run whose output could not be written (here, into a
/// directory that does not exist), and nothing is left half-written.
#[test]
fn a_failed_write_exits_with_1_and_bad_input_with_2() {
    let missing = std::env::temp_dir().join(format!("archsim-no-such-dir-{}", std::process::id()));
    let out = missing.join("report.json");
    let (status, _, stderr) =
        run_cli(&["run", &path("mm1.ron"), "--requests", "100", "--warmup", "0s", "--out", out.to_str().unwrap()]);
    assert_eq!(status, 1, "{stderr}");
    assert!(stderr.starts_with("error: cannot write "), "{stderr}");
    assert!(!missing.exists());
    let (status, _, stderr) = run_cli(&["run", &path("mm1.ron"), "--requests", "0x"]);
    assert_eq!(status, 2, "{stderr}");
}

/// `--out` replaces regular files only: through a symbolic link it replaces the file the link
/// points to and keeps the link; a FIFO, a directory or a dangling link is refused before the
/// run, with exit status 2, and left as it was. Inputs must be regular files too: a FIFO or
/// `/dev/zero` is refused at once instead of blocking or reading for ever.
#[cfg(unix)]
#[test]
fn out_replaces_regular_files_only_and_inputs_must_be_regular_files() {
    use std::os::unix::fs::FileTypeExt;
    let directory = std::env::temp_dir().join(format!("archsim-special-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    let real = directory.join("real.json");
    std::fs::write(&real, "old").unwrap();
    let link = directory.join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let run_to = |out: &std::path::Path| {
        run_cli(&["run", &path("mm1.ron"), "--requests", "50", "--warmup", "0s", "--out", out.to_str().unwrap()])
    };
    let (status, _, stderr) = run_to(&link);
    assert_eq!(status, 0, "{stderr}");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link was replaced");
    assert!(std::fs::read_to_string(&real).unwrap().starts_with("seed 1"));

    let fifo = directory.join("fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let dangling = directory.join("dangling.json");
    std::os::unix::fs::symlink(directory.join("nothing"), &dangling).unwrap();
    for (out, what) in [(&fifo, "a FIFO"), (&directory, "a directory"), (&dangling, "a symbolic link to nothing")] {
        let (status, stdout, stderr) = run_to(out);
        assert_eq!((status, stdout.as_str()), (2, ""), "{stderr}");
        assert!(stderr.contains(&format!("it is {what}, not a regular file")), "{stderr}");
    }
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced");

    for input in [fifo.to_str().unwrap(), "/dev/zero"] {
        let (status, _, stderr) = run_cli(&["check", input]);
        assert_eq!(status, 2, "{stderr}");
        assert!(stderr.contains("it is not a regular file"), "{stderr}");
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

/// A run estimated far beyond the event budget (a billion requests a second) is refused before
/// it starts, naming where the events come from and the flag that raises the budget; within
/// the budget it runs.
#[test]
fn a_run_beyond_the_event_budget_is_refused_before_it_starts() {
    let directory = std::env::temp_dir().join(format!("archsim-budget-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let huge = directory.join("huge.ron");
    std::fs::write(
        &huge,
        r#"Topology(
            workload: [Open(name: "users", arrivals: Poisson(rate: "1000000000/s"), to: "app")],
            nodes: { "app": Service(workers: 4, steps: [Work(Exp(mean: "1ns"))]) },
            run: (duration: "1s"),
        )"#,
    )
    .unwrap();
    let huge = huge.to_str().unwrap();
    let (status, stdout, stderr) = run_cli(&["run", huge]);
    assert_eq!((status, stdout.as_str()), (2, ""), "{stderr}");
    assert!(
        stderr.starts_with("error: this run would process about 4.0e9 events, more than the budget of 2.0e9"),
        "{stderr}"
    );
    assert!(stderr.contains("most come from workload \"users\": 1.0e9 requests"), "{stderr}");
    assert!(stderr.contains("--max-events 4.8e9"), "{stderr}");
    let (status, _, stderr) = run_cli(&["run", huge, "--duration", "10us", "--max-events", "1e5"]);
    assert_eq!(status, 0, "{stderr}");
    std::fs::remove_dir_all(&directory).unwrap();
}

#[test]
fn latency_thresholds_from_the_command_line_give_the_share_within_each() {
    let (status, stdout, _) = run_cli(&[
        "run",
        &path("mm1.ron"),
        "--requests",
        "20000",
        "--latency-thresholds",
        "1s,100ms,1s",
        "--format",
        "json",
    ]);
    assert_eq!(status, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let within = json["latency_s"]["within"].as_object().expect("a within map");
    assert_eq!(within.keys().collect::<Vec<_>>(), ["100ms", "1s"], "ascending, each once");
    let (fast, slow) = (within["100ms"].as_f64().unwrap(), within["1s"].as_f64().unwrap());
    assert!(0.0 < fast && fast < slow && slow <= 1.0, "{fast} {slow}");
    let (status, table, _) =
        run_cli(&["run", &path("mm1.ron"), "--requests", "2000", "--warmup", "0s", "--latency-thresholds", "250ms"]);
    assert_eq!(status, 0);
    assert!(table.contains("within 250ms: ") && table.contains("% of finished"), "{table}");
    let (status, _, stderr) = run_cli(&["run", &path("mm1.ron"), "--latency-thresholds", "0s"]);
    assert_eq!(status, 2, "{stderr}");
    assert!(stderr.contains("latency threshold of 0s"), "{stderr}");
}

#[test]
fn the_table_shows_slos_faults_lost_work_and_the_roles_after_a_failover() {
    let (status, table, _) = run_cli(&["run", &path("db-failover.ron")]);
    assert_eq!(status, 0);
    for expected in [
        "\nSLOs\n",
        "availability >= 99.9%        VIOLATED",
        "violated 20s-26s",
        "\nfaults\n  crash db (1 of 3 instances): 20s to the end",
        "lost work: 745 requests failed by faults, 17 committed writes lost",
        "failover db: 1 promotions, 17 writes lost, primary at the end: server 1",
        "within 100ms: 100.00% of completed (96.59% of finished)",
    ] {
        assert!(table.contains(expected), "missing {expected:?} in\n{table}");
    }
    let (_, json, _) = run_cli(&["run", &path("db-failover.ron"), "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let roles: Vec<&str> = json["nodes"]["db"]["database"]["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|server| server["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["replica-0", "primary", "replica-2"], "roles at the end, after server 1 was promoted");
}

#[test]
fn cost_names_the_files_currency_and_gives_a_rate_per_hour() {
    let (status, json, _) = run_cli(&["run", &path("read-heavy-feed.ron"), "--format", "json"]);
    assert_eq!(status, 0);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let cost = &json["cost"];
    assert_eq!(cost["currency"], "USD");
    // Per instance-hour: lb 0.025, 3 app instances × 0.17, cache 0.20, 3 database servers
    // × 0.48; nothing is priced per request.
    let per_hour = cost["per_hour"].as_f64().unwrap();
    assert!((per_hour - 2.175).abs() < 1e-9, "{per_hour}");
    let (_, table, _) = run_cli(&["run", &path("read-heavy-feed.ron")]);
    assert!(table.contains("USD over the measured period (2.1750 USD per hour)"), "{table}");
}

/// `--load 2` doubles the traffic: three-tier's 800/s Poisson over 20 s creates about 32 000
/// requests (a Poisson count's sd is 179, so within 1%); the JSON report equals that of the
/// file with its rate doubled, byte for byte; a factor that cannot apply exits with 2.
#[test]
fn load_multiplies_the_traffic() {
    let args = ["--duration", "20s", "--warmup", "0s", "--format", "json"];
    let (status, doubled, stderr) =
        run_cli(&[&["run", &path("three-tier.ron"), "--load", "2"][..], &args[..]].concat());
    assert_eq!(status, 0, "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&doubled).unwrap();
    let generated = json["requests"]["generated"].as_u64().unwrap() as f64;
    assert!((generated - 32_000.0).abs() < 320.0, "{generated}");
    let text = std::fs::read_to_string(path("three-tier.ron")).unwrap().replace("\"800/s\"", "\"1600/s\"");
    let file = std::env::temp_dir().join(format!("archsim-load-{}.ron", std::process::id()));
    std::fs::write(&file, text).unwrap();
    let (_, edited, _) = run_cli(&[&["run", file.to_str().unwrap()][..], &args[..]].concat());
    let _ = std::fs::remove_file(&file);
    assert_eq!(doubled, edited);
    for bad in ["--load=0", "--load=-1", "--load=nan"] {
        let (status, _, stderr) = run_cli(&["run", &path("three-tier.ron"), bad]);
        assert_eq!(status, 2, "{bad}: {stderr}");
        assert!(stderr.contains("give a positive number"), "{bad}: {stderr}");
    }
}

/// A file whose run gives a warm-up but no stop leaves the run's length to the command
/// line: with `--requests` it runs (the warm-up is a time, the stop a count), and without
/// a flag the 60 s default is too short for it, which is refused with exit status 2 and the
/// default named, not reported against a duration the file does not write; `check` notes it.
#[test]
fn a_warmup_without_a_stop_in_the_file_takes_the_command_lines_stop() {
    let file = std::env::temp_dir().join(format!("archsim-warmup-only-{}.ron", std::process::id()));
    std::fs::write(
        &file,
        r#"Topology(
    workload: [Open(name: "users", arrivals: Poisson(rate: "5/s"), to: "app")],
    nodes: {"app": Service(steps: [Work(Exp(mean: "100ms"))])},
    run: (warmup: "100s"),
)"#,
    )
    .unwrap();
    let file_path = file.to_str().unwrap();
    let (status, stdout, stderr) = run_cli(&["run", file_path, "--requests", "2000"]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.starts_with("seed 1  stop: 2000 requests, then drain  warm-up: 100s"), "{stdout}");
    let (status, stdout, stderr) = run_cli(&["run", file_path]);
    assert_eq!((status, stdout.as_str()), (2, ""), "{stderr}");
    assert!(
        stderr.starts_with(
            "error: the warm-up (100s, the file's `warmup`) is not shorter than the run (60s, the file's run)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("runs for 60s"), "{stderr}");
    let (status, _, stderr) = run_cli(&["run", file_path, "--duration", "200s"]);
    assert_eq!(status, 0, "{stderr}");
    // `check` passes the file (it is valid) and says what `run` without flags would refuse.
    let (status, stdout, stderr) = run_cli(&["check", file_path]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.contains("note: the warm-up is not shorter than the run, which `archsim run` refuses"), "{stdout}");
    let (_, stdout, _) = run_cli(&["check", &path("mm1.ron")]);
    assert!(!stdout.contains("note: the warm-up"), "{stdout}");
    std::fs::remove_file(&file).unwrap();
}
