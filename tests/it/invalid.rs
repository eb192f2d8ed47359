//! Bad input: every file in `tests/data/invalid/` must be refused by `archsim check` with
//! exit status 2 and exactly the message in its `.expected` file (line, column, fix).
//! Bless changes with `UPDATE_EXPECT=1`.

use crate::check::{first_difference, repo_root, run_cli};

#[test]
fn invalid_topologies_are_refused_with_located_messages() {
    let directory = repo_root().join("tests/data/invalid");
    let mut paths: Vec<_> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e != "expected"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 10, "expected a folder full of invalid cases");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut mismatches = Vec::new();
    // Run from the repository root so the paths in messages are short and stable.
    for path in paths {
        let relative = path.strip_prefix(repo_root()).unwrap().to_str().unwrap().to_string();
        let (status, stdout, stderr) = run_cli(&["check", path.to_str().unwrap()]);
        assert_eq!(status, 2, "{relative} was accepted: {stdout}");
        assert!(stdout.is_empty());
        let message = stderr.replace(path.to_str().unwrap(), &relative);
        assert!(message.starts_with("error: "), "{relative}: {message}");
        let expected_path = path.with_extension("expected");
        if update {
            std::fs::write(&expected_path, &message).unwrap();
        } else {
            let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
            if let Some(difference) = first_difference(&expected, &message) {
                mismatches.push(format!("{relative}: {difference}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "messages differ (UPDATE_EXPECT=1 to bless):\n{}", mismatches.join("\n"));
}

#[test]
fn missing_files_and_bad_arguments_exit_with_2() {
    let (status, _, stderr) = run_cli(&["run", "no/such/file.ron"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("cannot read"));
    let (status, _, stderr) = run_cli(&["run", "x.ron", "--duration", "10 parsecs"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("unknown time unit"), "{stderr}");
    let (status, _, _) = run_cli(&["run", "x.ron", "--duration", "1s", "--requests", "5"]);
    assert_eq!(status, 2);
    // A run that would measure nothing is refused, not run with one request.
    let mm1 = repo_root().join("topologies/mm1.ron");
    for flags in [["--requests", "0"], ["--duration", "0s"]] {
        let (status, stdout, stderr) = run_cli(&["run", mm1.to_str().unwrap(), flags[0], flags[1]]);
        assert_eq!((status, stdout.as_str()), (2, ""), "{flags:?}");
        assert!(stderr.contains("measures nothing"), "{stderr}");
    }
}
