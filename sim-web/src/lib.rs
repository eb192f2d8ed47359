//! # sim-web: archsim in the browser
//!
//! wasm-bindgen bindings over `sim-core` for the static page in `www/`: the built-in example
//! topologies, a check of the editor's text with the error's line and column, and a live run
//! that the page advances in slices, and the statistics of comparing two designs (from
//! `sim-batch`). Values cross to JavaScript as JSON text.
//!
//! **Boundary:** no simulation logic lives here; a run in the page is `sim-core`'s run, so
//! its report is byte for byte `archsim run --format json`'s.

pub mod compare;
pub mod design;
pub mod examples;
pub mod layout;
pub mod outline;
pub mod traces;

use sim_batch::session::{self, Overrides, Session};
use wasm_bindgen::prelude::*;

/// The example topologies as JSON: `[{name, title, text}]`.
#[wasm_bindgen]
pub fn examples() -> String {
    serde_json::to_string(&examples::all()).expect("examples serialize")
}

/// Checks a topology's text: `{ok: true, outline}` or `{ok: false, problem}` as JSON.
#[wasm_bindgen]
pub fn inspect(text: &str) -> String {
    let value = match outline::outline(text) {
        Ok(outline) => serde_json::json!({ "ok": true, "outline": outline }),
        // A text that reads but does not check is still drawn, as a sketch, so a design
        // can be built on the canvas through its unfinished states.
        Err(problem) => match sim_core::design::sketch(text) {
            Ok(sketch) => {
                serde_json::json!({ "ok": false, "problem": problem, "sketch": layout::sketch_layout(&sketch) })
            }
            Err(_) => serde_json::json!({ "ok": false, "problem": problem }),
        },
    };
    value.to_string()
}

/// The seeds of a comparison's paired replications, as a JSON array of decimal texts (so that
/// all 64 bits are exact): replication r of A and of B share seed r, as in `archsim compare
/// --seed SEED`. An empty `seed` means the CLI's default; a failure throws the problem.
#[wasm_bindgen]
pub fn compare_seeds(seed: &str, replications: u32) -> Result<String, JsValue> {
    let seeds = session::parse_seed(seed).and_then(|seed| compare::seeds(seed, replications)).map_err(problem_to_js)?;
    let texts: Vec<String> = seeds.iter().map(u64::to_string).collect();
    Ok(serde_json::to_string(&texts).expect("seeds serialize"))
}

/// Compares the reports of A's and B's replications (two JSON arrays of reports, paired by
/// position): per metric, each design's mean with its 95% interval, the difference B − A and
/// the verdict, as `archsim compare` gives them. A failure throws the problem.
#[wasm_bindgen]
pub fn compare_reports(a_reports: &str, b_reports: &str) -> Result<String, JsValue> {
    let parse = |text: &str| {
        serde_json::from_str::<Vec<sim_core::Report>>(text).map_err(|error| {
            problem_to_js(session::run_problem(&format!("the reports do not read: {error}"), "pass archsim reports"))
        })
    };
    let view = compare::compare_reports(&parse(a_reports)?, &parse(b_reports)?).map_err(problem_to_js)?;
    Ok(serde_json::to_string(&view).expect("a comparison serializes"))
}

fn problem_to_js(problem: session::Problem) -> JsValue {
    JsValue::from_str(&serde_json::to_string(&problem).expect("problems serialize"))
}

/// A run in the page.
#[wasm_bindgen]
pub struct LiveRun {
    session: Session,
}

#[wasm_bindgen]
impl LiveRun {
    /// Starts a run of `text`. An empty `seed` (decimal text, so that all 64 bits are exact)
    /// or a negative `duration_s`, `requests` or `warmup_s` keeps the file's; a failure
    /// throws the problem as JSON text.
    #[wasm_bindgen(constructor)]
    pub fn new(
        text: &str,
        seed: &str,
        duration_s: f64,
        requests: f64,
        warmup_s: f64,
        window_s: f64,
    ) -> Result<LiveRun, JsValue> {
        let overrides = Overrides {
            seed: session::parse_seed(seed).map_err(problem_to_js)?,
            duration_s: (duration_s >= 0.0).then_some(duration_s),
            requests: (requests >= 0.0).then_some(requests as u64),
            warmup_s: (warmup_s >= 0.0).then_some(warmup_s),
            ..Overrides::default()
        };
        let topology = traces::parse_with_traces(text).map_err(problem_to_js)?;
        Session::start_checked(topology, overrides, Some(window_s))
            .map(|session| LiveRun { session })
            .map_err(problem_to_js)
    }

    /// Advances to `limit_s` seconds of simulated time; returns whether the run is over.
    pub fn advance_to(&mut self, limit_s: f64) -> bool {
        self.session.advance_to(limit_s)
    }

    /// Handles what is due now without advancing the clock (a fault injected while paused).
    pub fn settle(&mut self) -> bool {
        self.session.settle()
    }

    /// Simulated time now, in seconds.
    pub fn now_s(&self) -> f64 {
        self.session.now_s()
    }

    /// How far the run is, from 0 to 1.
    pub fn progress(&self) -> f64 {
        self.session.progress()
    }

    /// Whether the run is over.
    pub fn finished(&self) -> bool {
        self.session.is_finished()
    }

    /// The windows closed since the last call, as a JSON array.
    pub fn new_windows(&mut self) -> String {
        serde_json::to_string(&self.session.new_windows()).expect("windows serialize")
    }

    /// The faults so far, as a JSON array.
    pub fn faults(&self) -> String {
        serde_json::to_string(&self.session.faults()).expect("faults serialize")
    }

    /// Starts a fault (`crash`, `slow` with a factor, `errors` with a probability) on a node;
    /// returns its number for `heal`, or -1 when it cannot start.
    pub fn inject(&mut self, node: &str, kind: &str, amount: f64) -> i32 {
        session::injection(kind, amount)
            .and_then(|injection| self.session.inject(node, injection))
            .map_or(-1, |fault| fault as i32)
    }

    /// Ends an injected fault.
    pub fn heal(&mut self, fault: u32) {
        self.session.heal(fault)
    }

    /// Sets the factor on the open workloads' arrival rates.
    pub fn set_load_factor(&mut self, factor: f64) {
        self.session.set_load_factor(factor)
    }

    /// The faults and load steps injected so far as a scenario file for `archsim run --scenario`.
    pub fn injected_scenario(&self) -> Option<String> {
        self.session.injected_scenario()
    }

    /// The report as `archsim run --format json` prints it, once the run is over.
    pub fn report_json(&self) -> Option<String> {
        self.session.report_json()
    }

    /// The report as `archsim run` prints it, once the run is over.
    pub fn report_table(&self) -> Option<String> {
        self.session.report_table()
    }

    /// Each component's figures in words, as JSON `[[node, figures], …]`: the lines of the
    /// table's `components` section, once the run is over.
    pub fn component_details(&self) -> Option<String> {
        self.session
            .component_details()
            .map(|details| serde_json::to_string(&details).expect("pairs of strings serialize"))
    }
}
