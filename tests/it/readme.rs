//! The README's sample outputs are what the commands print today: each sample's lines (but
//! its `...`) must be lines of the command's output, in the same order, so a change to the
//! engine or the report that moves a figure fails here until the README is updated.

use crate::check::{repo_root, run_cli};

/// (the README's words just before the sample, the command that prints it, whether the
/// sample is the output's opening, line for line, rather than lines found in it in order).
const SAMPLES: &[(&str, &[&str], bool)] = &[
    ("The table output opens with the seed", &["run", "topologies/three-tier.ron"], true),
    ("is named with the stretch, even when the run as", &["run", "topologies/flash-sale-autoscaling.ron"], false),
    (
        "below the table) and its bottleneck (the part named most often, with its mean offered load):",
        &["compare", "experiments/models/monolith.ron", "experiments/models/services.ron"],
        false,
    ),
];

/// The lines of the first fenced block after `marker`, without the fences.
fn sample_after(readme: &str, marker: &str) -> Vec<String> {
    let start = readme.find(marker).unwrap_or_else(|| panic!("the README no longer says {marker:?}"));
    let mut lines = readme[start..].lines().skip_while(|line| !line.starts_with("```")).skip(1);
    let sample: Vec<String> = lines.by_ref().take_while(|line| !line.starts_with("```")).map(String::from).collect();
    assert!(!sample.is_empty(), "no sample after {marker:?}");
    sample
}

#[test]
fn the_readme_samples_are_what_the_commands_print() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for (marker, command, opening) in SAMPLES {
        let args: Vec<String> =
            command
                .iter()
                .map(|arg| {
                    if arg.ends_with(".ron") {
                        root.join(arg).to_string_lossy().into_owned()
                    } else {
                        arg.to_string()
                    }
                })
                .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (status, stdout, stderr) = run_cli(&args);
        assert_eq!(status, 0, "{command:?}: {stderr}");
        let printed: Vec<&str> = stdout.lines().collect();
        let sample = sample_after(&readme, marker);
        let mut from = 0;
        for (index, line) in sample.iter().filter(|line| line.as_str() != "...").enumerate() {
            let found = if *opening {
                (printed.get(index) == Some(&line.as_str())).then_some(index)
            } else {
                printed[from..].iter().position(|printed| printed == line).map(|at| from + at)
            };
            let Some(at) = found else {
                panic!(
                    "the README's sample after {marker:?} says\n    {line}\nwhich `archsim {}` does not print{}:\n{stdout}",
                    command.join(" "),
                    if *opening { " at that line" } else { " after the sample's lines before it" }
                )
            };
            from = at + 1;
        }
    }
}
