//! Trace replay speed and memory: a CSV trace of 10^7 requests (gap_us, class, key, client;
//! about 20 bytes a line) written to `target/`, then (1) read and checked on its own, as
//! attaching a trace does, and (2) replayed into M/M/1 at ρ = 0.9, beside the same M/M/1
//! with Poisson arrivals drawn in memory. Peak memory (VmHWM) is read after a 10^6-line and
//! a 10^7-line replay: it does not grow with the trace's length. A measurement, not a test:
//! `cargo bench -p archsim-benches --bench trace` (`-- --quick`: 10^6 lines, one repetition).

use sim_core::trace::TraceFeed;
use sim_core::{parse_topology, RunConfig, Simulation, StopCondition};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug)]
struct FileTrace(PathBuf);

impl TraceFeed for FileTrace {
    fn open(&self) -> Result<Box<dyn Read + Send + Sync>, String> {
        Ok(Box::new(std::fs::File::open(&self.0).map_err(|error| error.to_string())?))
    }
}

/// Writes `lines` Poisson arrivals at 900/s (gaps in whole microseconds) with a class mix,
/// Zipf-like keys and clients, from a fixed seed.
fn write_trace(path: &Path, lines: u64) {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    out.write_all(b"gap_us,class,key,client\n").unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..lines {
        let gap_us = (-(1.0 - next()).ln() * 1e6 / 900.0).round() as u64;
        let class = if next() < 0.9 { "read" } else { "write" };
        let key = (1.0 / (next() + 1e-6)) as u64 % 100_000;
        let client = (next() * 1000.0) as u64;
        writeln!(out, "{gap_us},{class},{key},{client}").unwrap();
    }
    out.flush().unwrap();
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}

const MM1: &str = r#"Topology(
    workload: [ARRIVALS],
    nodes: { "server": Service(workers: 1, steps: [Work(Exp(mean: "1ms"))]) },
)"#;

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let repetitions = if quick { 1 } else { 3 };
    let sizes: &[u64] = if quick { &[1_000_000] } else { &[1_000_000, 10_000_000] };
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/trace-bench"));
    std::fs::create_dir_all(&dir).unwrap();
    println!("{:<28} {:>10} {:>12} {:>16} {:>14}", "case", "lines", "median (s)", "requests/s", "peak RSS MiB");
    for &lines in sizes {
        let path = dir.join(format!("poisson-{lines}.csv"));
        if std::fs::metadata(&path).is_err() {
            write_trace(&path, lines);
        }
        let bytes = std::fs::metadata(&path).unwrap().len();
        let traced =
            MM1.replace("ARRIVALS", r#"Trace(name: "log", file: "t.csv", classes: ["read", "write"], to: "server")"#);
        let mut topology = parse_topology(&traced).unwrap();
        let feed: Arc<dyn TraceFeed> = Arc::new(FileTrace(path.clone()));
        let median = |mut times: Vec<f64>| {
            times.sort_by(f64::total_cmp);
            times[times.len() / 2]
        };
        // (1) Reading and checking the whole file, as attaching it does.
        let mut times = Vec::new();
        for _ in 0..repetitions {
            let start = Instant::now();
            let summary = topology.attach_trace(0, Arc::clone(&feed)).unwrap();
            times.push(start.elapsed().as_secs_f64());
            assert_eq!(summary.records, lines);
        }
        let read_s = median(times);
        println!(
            "{:<28} {lines:>10} {read_s:>12.3} {:>16.0} {:>14.0}   ({:.0} MB/s)",
            "read and check (attach)",
            lines as f64 / read_s,
            peak_rss_mib(),
            bytes as f64 / read_s / 1e6
        );
        // (2) Replaying it into M/M/1, against Poisson arrivals drawn in memory.
        let poisson = parse_topology(&MM1.replace(
            "ARRIVALS",
            r#"Open(name: "log", arrivals: Poisson(rate: "900/s"), classes: {"read": 0.9, "write": 0.1}, keys: Zipf(n: 100000, s: 1.0), clients: 1000, to: "server")"#,
        ))
        .unwrap();
        for (case, model) in [("replay into M/M/1 (ρ 0.9)", &topology), ("Poisson into M/M/1 (ρ 0.9)", &poisson)] {
            let mut times = Vec::new();
            for _ in 0..repetitions {
                let config =
                    RunConfig { seed: 1, stop: StopCondition::Requests { count: lines }, warmup_ns: 0, drain: false };
                let start = Instant::now();
                let mut simulation = Simulation::new(model, config);
                simulation.run_to_end();
                let report = simulation.report();
                times.push(start.elapsed().as_secs_f64());
                assert_eq!(report.requests.generated, lines);
            }
            let run_s = median(times);
            println!("{case:<28} {lines:>10} {run_s:>12.3} {:>16.0} {:>14.0}", lines as f64 / run_s, peak_rss_mib());
        }
    }
}
