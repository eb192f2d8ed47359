//! Trace files in the page: those the examples replay (embedded at build time) and those
//! the user picks, kept by name; a topology's trace workloads are given theirs when it is
//! checked or run.

use sim_batch::session::{run_problem, Problem};
use sim_core::trace::MemoryTrace;
use sim_core::{parse_topology, Topology};
use std::cell::RefCell;
use std::sync::Arc;
use wasm_bindgen::prelude::*;

thread_local! {
    /// The user's trace files, by file name.
    static PICKED: RefCell<Vec<(String, Arc<[u8]>)>> = const { RefCell::new(Vec::new()) };
}

/// Keeps a trace file the user picked (replacing one of the same name).
#[wasm_bindgen]
pub fn add_trace(name: &str, bytes: &[u8]) {
    PICKED.with(|picked| {
        let mut picked = picked.borrow_mut();
        picked.retain(|(kept, _)| kept != name);
        picked.push((name.to_string(), Arc::from(bytes)));
    });
}

/// The names of the trace files the user picked, as a JSON array.
#[wasm_bindgen]
pub fn trace_names() -> String {
    PICKED
        .with(|picked| serde_json::to_string(&picked.borrow().iter().map(|(name, _)| name).collect::<Vec<_>>()))
        .expect("names serialize")
}

/// The bytes for a trace workload's `file`: a picked file of that name (or of its last path
/// component), else an example's trace.
fn bytes_for(file: &str) -> Option<Arc<[u8]>> {
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    let picked = PICKED.with(|picked| {
        let picked = picked.borrow();
        let found =
            picked.iter().find(|(name, _)| name == file).or_else(|| picked.iter().find(|(name, _)| name == base));
        found.map(|(_, bytes)| Arc::clone(bytes))
    });
    picked.or_else(|| {
        let embedded = crate::examples::TRACES.iter().find(|(path, _)| *path == file.trim_start_matches("./"));
        embedded.map(|(_, bytes)| Arc::from(*bytes))
    })
}

/// Checks `text` and gives its trace workloads their files.
pub fn parse_with_traces(text: &str) -> Result<Topology, Problem> {
    let mut topology = parse_topology(text)?;
    for (source, file) in topology.trace_files() {
        let workload = topology.sources[source].name.clone();
        let Some(bytes) = bytes_for(&file) else {
            return Err(run_problem(
                &format!("workload \"{workload}\" replays the trace \"{file}\", which the page does not have"),
                "pick the trace file with \"Trace files\" in the run settings",
            ));
        };
        topology.attach_trace(source, Arc::new(MemoryTrace(bytes))).map_err(|error| {
            let place = if error.line > 0 { format!("{file} line {}", error.line) } else { file.clone() };
            run_problem(&format!("{place}: {} (the trace of workload \"{workload}\")", error.message), &error.help)
        })?;
    }
    Ok(topology)
}
