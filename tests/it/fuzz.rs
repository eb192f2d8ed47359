//! A deterministic mutational fuzzer over archsim's text front ends: topologies, scenarios,
//! experiment files and the path editor of sweeps. Inputs are the example topologies and scenarios, mutated by byte flips,
//! cuts, duplications, splices between files, extreme numbers and RON tokens. Each mutant must
//! be refused with an error located inside the text, or accepted and then run (within a small
//! event budget) without a panic, with every request in exactly one state and the model's
//! bookkeeping intact. The same seed gives the same mutants, so a failure is replayed exactly;
//! failing inputs are written to `target/fuzz-failures/` to become test files.
//!
//! `ARCHSIM_FUZZ_RUNS=200000` runs a long campaign (default 1000 mutants, about ten seconds).

use crate::check::{repo_root, run_guarded};
use sim_core::budget::estimate_events;
use sim_core::params::{get_parameter, set_parameter, ParamValue};
use sim_core::{RunConfig, StopCondition};
use std::panic::AssertUnwindSafe;

/// SplitMix64: the fuzzer's own generator, so its mutants never change with the engine's.
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Text a mutation may insert: RON punctuation, names, and values at and past every limit.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "\"",
    "r#\"",
    "\"#",
    "//",
    "/*",
    "*/",
    "0",
    "-1",
    "1e308",
    "-0",
    "NaN",
    "inf",
    "18446744073709551615",
    "4294967296",
    "0.0",
    "1e-300",
    "\"0s\"",
    "\"1ns\"",
    "\"0/s\"",
    "\"1e-20/h\"",
    "\"1e12/s\"",
    "\"100000000h\"",
    "\"-5ms\"",
    "\"1 parsec\"",
    "Exp(mean: \"0s\")",
    "Constant(\"0s\")",
    "Poisson(rate: \"1e-12/s\")",
    "Zipf(n: 0, s: 0.0)",
    "Work(Constant(\"0s\"))",
    "Call(\"app\")",
    "Forward(\"app\")",
    "Some(",
    "None",
    "true",
    "false",
    "\u{0}",
    "é",
    "\u{feff}",
    "#![enable(implicit_some)]",
    "\n",
    "    ",
];

/// Numbers a mutation may put in place of a number of the text.
const NUMBERS: &[&str] =
    &["0", "1", "-1", "0.5", "1e308", "1e-308", "4294967295", "4294967296", "18446744073709551616", "NaN", "100000"];

/// One mutant of `base`, drawing on `corpus` for splices.
fn mutate(mutator: &mut Mutator, base: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut text = base.to_vec();
    // Mostly one mutation, so that many mutants still parse and run.
    let mutations = if mutator.below(4) == 0 { 2 + mutator.below(3) } else { 1 };
    for _ in 0..mutations {
        let at = mutator.below(text.len() + 1);
        // Numbers most often: they keep the text well formed and probe every limit.
        let kind = [0, 1, 2, 3, 3, 4, 4, 4, 4, 4, 4, 5, 6][mutator.below(13)];
        match kind {
            0 if !text.is_empty() => {
                let i = mutator.below(text.len());
                text[i] ^= 1 << mutator.below(8);
            }
            1 => {
                let end = (at + 1 + mutator.below(40)).min(text.len());
                text.drain(at.min(end)..end);
            }
            2 => {
                let end = (at + 1 + mutator.below(80)).min(text.len());
                let piece = text[at.min(end)..end].to_vec();
                let to = mutator.below(text.len() + 1);
                text.splice(to..to, piece);
            }
            3 => {
                let token = TOKENS[mutator.below(TOKENS.len())].as_bytes();
                text.splice(at..at, token.iter().copied());
            }
            4 => {
                // Replace the number at or after `at` with an extreme one.
                if let Some(start) = text[at..].iter().position(u8::is_ascii_digit).map(|p| p + at) {
                    let end = text[start..]
                        .iter()
                        .position(|b| !b.is_ascii_digit() && *b != b'.')
                        .map_or(text.len(), |p| p + start);
                    let number = NUMBERS[mutator.below(NUMBERS.len())].as_bytes();
                    text.splice(start..end, number.iter().copied());
                }
            }
            5 => {
                let other = &corpus[mutator.below(corpus.len())];
                let from = mutator.below(other.len());
                let end = (from + 1 + mutator.below(200)).min(other.len());
                text.splice(at..at, other[from..end].iter().copied());
            }
            _ => text.truncate(at),
        }
    }
    text
}

/// The `.ron` files of `dirs` (relative to the repository), sorted.
fn files(dirs: &[&str], keep: impl Fn(&str) -> bool) -> Vec<Vec<u8>> {
    let root = repo_root();
    let mut files = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        let mut paths: Vec<_> = entries.map(|entry| entry.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".ron") && keep(&name) {
                files.push(std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// What one mutant did wrong, if anything.
fn check_mutant(text: &[u8], seed: u64) -> Result<&'static str, String> {
    let topology = match sim_core::parse_topology_bytes(text) {
        Err(error) => {
            let lines = text.split(|b| *b == b'\n').count();
            for one in error.all() {
                if let Some(position) = one.position {
                    if position.line == 0 || position.line > lines || position.column == 0 {
                        return Err(format!("error placed at {position:?}, outside the text's {lines} lines: {one}"));
                    }
                }
                if one.message.is_empty() {
                    return Err("an error without a message".into());
                }
            }
            return Ok("refused");
        }
        Ok(topology) => topology,
    };
    // Accepted: the path editor reads and edits it, and it runs, briefly.
    if let Ok(source) = std::str::from_utf8(text) {
        for path in ["run.seed", "nodes", "workload", "scenario.window"] {
            let _ = get_parameter(source, path);
            let _ = set_parameter(source, path, &ParamValue::Number(3.0));
        }
    }
    let stop = match topology.run.stop {
        StopCondition::Requests { count } => StopCondition::Requests { count: count.min(500) },
        StopCondition::Duration { ns } => StopCondition::Duration { ns: ns.min(5_000_000_000) },
    };
    let config = RunConfig { seed, stop, warmup_ns: topology.run.warmup_ns.min(stop_ns(stop) / 2), drain: false };
    run_briefly(&topology, config)
}

/// Runs an accepted mutant if it is short: its bookkeeping must be clean and its requests
/// must add up.
fn run_briefly(topology: &sim_core::Topology, config: RunConfig) -> Result<&'static str, String> {
    if config.problem(topology).is_some() || estimate_events(topology, &config).events > 60_000.0 {
        return Ok("accepted, too long to run");
    }
    let (report, violations) = run_guarded(topology, config);
    if !violations.is_clean() {
        return Err(format!("broken bookkeeping: {violations:?}"));
    }
    let r = &report.requests;
    if r.generated != r.completed + r.failed + r.timed_out + r.rejected + r.in_flight {
        return Err(format!("requests do not add up: {r:?}"));
    }
    Ok("ran")
}

fn stop_ns(stop: StopCondition) -> u64 {
    match stop {
        StopCondition::Duration { ns } => ns,
        StopCondition::Requests { .. } => u64::MAX,
    }
}

fn fuzz_runs() -> u64 {
    std::env::var("ARCHSIM_FUZZ_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000)
}

/// What one mutated scenario did wrong, if anything: applied to the three-tier example, it is
/// refused with a located error or runs cleanly.
fn check_scenario_mutant(text: &[u8], seed: u64) -> Result<&'static str, String> {
    let base = std::fs::read_to_string(repo_root().join("topologies/three-tier.ron")).unwrap();
    let mut topology = sim_core::parse_topology(&base).unwrap();
    let Ok(source) = std::str::from_utf8(text) else { return Ok("refused") };
    if let Err(error) = sim_core::topology::apply_scenario(&mut topology, source) {
        let lines = source.lines().count().max(1);
        return match error.position {
            Some(position) if position.line == 0 || position.line > lines + 1 => {
                Err(format!("scenario error placed at {position:?}, outside its {lines} lines: {error}"))
            }
            _ => Ok("refused"),
        };
    }
    let config = RunConfig { seed, stop: StopCondition::Duration { ns: 20_000_000_000 }, warmup_ns: 0, drain: false };
    run_briefly(&topology, config)
}

/// What one mutated experiment file did wrong, if anything: `archsim experiment`'s checks
/// (every point's topology, run length, plots, metrics) refuse it with a located message, or
/// accept it; nothing panics. `dir` holds the file (experiments name topologies by path).
fn check_experiment_mutant(text: &[u8], dir: &std::path::Path, run: u64) -> Result<&'static str, String> {
    let path = dir.join(format!("mutant-{}.ron", run % 4));
    std::fs::write(&path, text).unwrap();
    match archsim_cli::experiment::validate(&path, 1_000_000) {
        Ok(_) => Ok("accepted"),
        Err(message) if message.starts_with("error: ") && message.ends_with('\n') => Ok("refused"),
        Err(message) => Err(format!("an error that is not a rendered message: {message:?}")),
    }
}

#[test]
fn mutated_experiments_are_refused_with_a_message_or_accepted() {
    let experiments = files(&["experiments"], |name| !name.ends_with(".scenario.ron"));
    let corpus = [files(&["tests/data/invalid", "topologies"], |_| true), experiments.clone()].concat();
    // The example experiments name their topologies relative to themselves: the mutants are
    // written where `../topologies` and `models/` lead to the same files.
    let root = repo_root();
    let top = std::env::temp_dir().join(format!("archsim-fuzz-experiments-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&top);
    let scratch = top.join("experiments");
    std::fs::create_dir_all(&scratch).unwrap();
    for (from, to) in [
        (root.join("topologies"), top.join("topologies")),
        (root.join("experiments/models"), scratch.join("models")),
        (root.join("experiments/db-slowdown.scenario.ron"), scratch.join("db-slowdown.scenario.ron")),
    ] {
        #[cfg(unix)]
        std::os::unix::fs::symlink(&from, &to).unwrap();
        #[cfg(not(unix))]
        let _ = (from, to);
    }
    let mut mutator = Mutator(0x0e8b_e21e_0017);
    // Each experiment checks all its points: fewer mutants than topologies.
    let runs = fuzz_runs() / 25;
    let (mut refused, mut accepted) = (0u64, 0u64);
    let mut failures = Vec::new();
    for run in 0..runs {
        let base = &experiments[mutator.below(experiments.len())];
        let mutant = mutate(&mut mutator, base, &corpus);
        match std::panic::catch_unwind(AssertUnwindSafe(|| check_experiment_mutant(&mutant, &scratch, run))) {
            Ok(Ok("refused")) => refused += 1,
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(problem)) => failures.push(format!("run {run}: {problem}")),
            Err(_) => {
                let kept = repo_root().join(format!("target/fuzz-failures/experiment-{run}.ron"));
                std::fs::create_dir_all(kept.parent().unwrap()).unwrap();
                std::fs::write(&kept, &mutant).unwrap();
                failures.push(format!("run {run} panicked ({})", kept.display()));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&top);
    eprintln!("fuzzer: {runs} experiment mutants: {refused} refused, {accepted} accepted");
    assert!(failures.is_empty(), "{} of {runs} experiment mutants failed:\n{}", failures.len(), failures.join("\n"));
    assert!(refused > runs / 10 && accepted > runs / 20, "refused {refused}, accepted {accepted}");
}

#[test]
fn mutated_inputs_are_refused_with_a_located_error_or_run_cleanly() {
    // Mutants start from valid topologies and scenarios; splices draw on every file,
    // invalid cases and experiments included.
    let topologies = files(&["topologies", "benches/models"], |_| true);
    let scenarios = files(&["experiments"], |name| name.ends_with(".scenario.ron"));
    let corpus = [files(&["tests/data/invalid", "experiments"], |_| true), topologies.clone()].concat();
    assert!(topologies.len() >= 15 && !scenarios.is_empty() && corpus.len() > 50);
    let mut mutator = Mutator(0x00a5_c0ff_ee00);
    let (mut refused, mut ran, mut skipped) = (0u64, 0u64, 0u64);
    let mut failures = Vec::new();
    let failure_dir = repo_root().join("target/fuzz-failures");
    for run in 0..fuzz_runs() {
        // One mutant in eight is a scenario.
        let scenario = run % 8 == 7;
        let bases = if scenario { &scenarios } else { &topologies };
        let base = &bases[mutator.below(bases.len())];
        let mutant = mutate(&mut mutator, base, &corpus);
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            if scenario {
                check_scenario_mutant(&mutant, run)
            } else {
                check_mutant(&mutant, run)
            }
        }));
        let problem = match outcome {
            Ok(Ok("refused")) => {
                refused += 1;
                None
            }
            Ok(Ok("ran")) => {
                ran += 1;
                None
            }
            Ok(Ok(_)) => {
                skipped += 1;
                None
            }
            Ok(Err(problem)) => Some(problem),
            Err(panic) => Some(format!(
                "panicked: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or(panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        };
        if let Some(problem) = problem {
            std::fs::create_dir_all(&failure_dir).unwrap();
            let path = failure_dir.join(format!("mutant-{run}.ron"));
            std::fs::write(&path, &mutant).unwrap();
            failures.push(format!("run {run} ({}): {problem}", path.display()));
        }
    }
    eprintln!("fuzzer: {} mutants: {refused} refused, {ran} ran, {skipped} accepted but too long to run", fuzz_runs());
    assert!(failures.is_empty(), "{} of {} mutants failed:\n{}", failures.len(), fuzz_runs(), failures.join("\n"));
    // A fuzzer whose mutants all fail to parse, or all parse, tests little.
    assert!(refused > fuzz_runs() / 10 && ran > fuzz_runs() / 20, "refused {refused}, ran {ran}");
}
