//! Embeds every topology of `topologies/` in the page, so a new example appears without a
//! list to keep in step, and the trace files of `topologies/traces/` that examples replay.

use std::fmt::Write;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let folder = manifest_dir.join("../topologies");
    println!("cargo:rerun-if-changed={}", folder.display());
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&folder)
        .expect("topologies/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "ron"))
        .collect();
    // By name, so `retry-storm` comes before `retry-storm-budget`.
    paths.sort_by(|a, b| a.file_stem().cmp(&b.file_stem()));
    let mut code = String::from(
        "/// (name, RON text) of each example, sorted by name.\npub const EXAMPLES: &[(&str, &str)] = &[\n",
    );
    for path in &paths {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_stem().and_then(|s| s.to_str()).expect("a UTF-8 file name");
        let absolute = path.canonicalize().expect("an existing file");
        let _ = writeln!(code, "    ({name:?}, include_str!({:?})),", absolute.display().to_string());
    }
    code.push_str("];\n");
    // The trace files the examples replay, by their path relative to `topologies/`.
    let traces = folder.join("traces");
    println!("cargo:rerun-if-changed={}", traces.display());
    let mut trace_paths: Vec<PathBuf> = std::fs::read_dir(&traces)
        .map(|entries| entries.map(|entry| entry.expect("a directory entry").path()).collect())
        .unwrap_or_default();
    trace_paths.sort();
    code.push_str("/// (path relative to `topologies/`, bytes) of each trace the examples replay.\npub const TRACES: &[(&str, &[u8])] = &[\n");
    for path in &trace_paths {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().and_then(|s| s.to_str()).expect("a UTF-8 file name");
        let absolute = path.canonicalize().expect("an existing file");
        let _ = writeln!(code, "    (\"traces/{name}\", include_bytes!({:?})),", absolute.display().to_string());
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("examples.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
