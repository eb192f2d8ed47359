//! Snapshot tests: every file in `topologies/` runs as is, and its JSON report must equal
//! the committed one in `tests/snapshots/`. Bless changes with `UPDATE_EXPECT=1`.

use crate::check::{assert_conserved, example_topologies, first_difference, repo_root, run_cli};

#[test]
fn every_example_topology_matches_its_snapshot() {
    let paths = example_topologies();
    assert!(paths.len() >= 3);
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut mismatches = Vec::new();
    for path in paths {
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let (status, stdout, stderr) = run_cli(&["run", path.to_str().unwrap(), "--format", "json"]);
        assert_eq!(status, 0, "{name}: {stderr}");
        let report: sim_core::Report = serde_json::from_str(&stdout).unwrap();
        assert_conserved(&report);
        let snapshot = repo_root().join("tests/snapshots").join(format!("{name}.json"));
        if update {
            std::fs::write(&snapshot, &stdout).unwrap();
        } else {
            let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
            if let Some(difference) = first_difference(&expected, &stdout) {
                mismatches.push(format!("{name}: {difference}"));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "reports differ from tests/snapshots (rerun with UPDATE_EXPECT=1 if the change is intended):\n{}",
        mismatches.join("\n")
    );
}

/// One case on its own, for debugging: `cargo test --profile checked -p archsim-tests smoke -- --nocapture`
/// (20000 requests at 0.9/s outlast the file's 10000 s warm-up; 2000 would measure nothing).
#[test]
fn smoke() {
    let (status, stdout, stderr) =
        run_cli(&["run", repo_root().join("topologies/mm1.ron").to_str().unwrap(), "--requests", "20000"]);
    assert_eq!(status, 0, "{stderr}");
    assert!(stdout.starts_with("seed 1  stop: 20000 requests"), "{stdout}");
}
