//! Progress of a long `archsim run` on a terminal: after two seconds, the simulated time (or
//! requests created), the share done and an estimate of the time left, on one line of
//! standard error, rewritten in place and cleared at the end.

use sim_core::{Simulation, StopCondition};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Real time before the first progress line.
const QUIET_FOR: Duration = Duration::from_secs(2);
/// Real time between progress lines.
const EVERY: Duration = Duration::from_millis(500);
/// Real time one slice of the run aims at.
const SLICE: Duration = Duration::from_millis(50);

/// Runs `simulation` to the end, with progress on `stderr` when it is a terminal (running
/// in slices of simulated time changes nothing in the report).
pub fn run(simulation: &mut Simulation, stderr: &mut dyn Write) {
    if !std::io::stderr().is_terminal() {
        simulation.run_to_end();
        return;
    }
    let started = Instant::now();
    let mut last_shown: Option<Instant> = None;
    // Slices of simulated time, doubled or halved to take about `SLICE` of real time each.
    let mut slice_ns: u64 = 1_000_000;
    loop {
        let before = Instant::now();
        if simulation.run_until(simulation.now_ns().saturating_add(slice_ns)) {
            break;
        }
        let took = before.elapsed();
        if took < SLICE / 2 {
            slice_ns = slice_ns.saturating_mul(2);
        } else if took > SLICE * 2 {
            slice_ns = (slice_ns / 2).max(1);
        }
        let elapsed = started.elapsed();
        if elapsed >= QUIET_FOR && last_shown.is_none_or(|shown| shown.elapsed() >= EVERY) {
            let _ = write!(stderr, "\r{:<72}", line(simulation, elapsed));
            let _ = stderr.flush();
            last_shown = Some(Instant::now());
        }
    }
    if last_shown.is_some() {
        let _ = write!(stderr, "\r{:72}\r", "");
    }
}

fn line(simulation: &Simulation, elapsed: Duration) -> String {
    let done = simulation.progress().clamp(0.0, 1.0);
    let left = if done > 0.0 { elapsed.as_secs_f64() * (1.0 - done) / done } else { f64::INFINITY };
    let at = match simulation.config().stop {
        StopCondition::Duration { .. } => format!("simulated {:.1}s", simulation.now_ns() as f64 / 1e9),
        StopCondition::Requests { .. } => format!("at {:.1}s simulated", simulation.now_ns() as f64 / 1e9),
    };
    if left.is_finite() {
        format!("  {at}, {:.0}% done, about {:.0}s left", done * 100.0, left.ceil())
    } else {
        format!("  {at}")
    }
}
