//! Parallel speed-up of `archsim experiment`: the same 24-run experiment with `--jobs 1` and
//! `--jobs 2`, whole command (runs, files and plots), best and median of 5. A measurement, not
//! a test: `cargo bench -p archsim-benches --bench parallel` (add `-- --quick` for one
//! repetition). The outputs of both are compared byte for byte as a sanity check.

use std::path::{Path, PathBuf};
use std::time::Instant;

fn run(spec: &Path, out: &Path, jobs: usize) -> f64 {
    let _ = std::fs::remove_dir_all(out);
    let args =
        ["archsim", "experiment", spec.to_str().unwrap(), "--out", out.to_str().unwrap(), "--jobs", &jobs.to_string()];
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let start = Instant::now();
    let status = archsim_cli::run(args, &mut stdout, &mut stderr);
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(status, 0, "{}", String::from_utf8_lossy(&stderr));
    elapsed
}

fn main() {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let repetitions = if quick { 1 } else { 5 };
    let spec = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/models/parallel.ron"));
    let scratch = std::env::temp_dir().join(format!("archsim-bench-parallel-{}", std::process::id()));
    let outs: Vec<PathBuf> = (1..=2).map(|jobs| scratch.join(format!("jobs{jobs}"))).collect();
    let mut medians = Vec::new();
    println!("{:<8} {:>10} {:>12}", "jobs", "best (s)", "median (s)");
    for (jobs, out) in (1..=2).zip(&outs) {
        let mut times: Vec<f64> = (0..repetitions).map(|_| run(spec, out, jobs)).collect();
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!("{jobs:<8} {:>10.3} {median:>12.3}", times[0]);
        medians.push(median);
    }
    let results = |out: &Path| std::fs::read(out.join("summary.csv")).unwrap();
    assert_eq!(results(&outs[0]), results(&outs[1]), "--jobs 1 and --jobs 2 wrote different summaries");
    println!("speed-up of --jobs 2 over --jobs 1 (medians): {:.2}×", medians[0] / medians[1]);
    let _ = std::fs::remove_dir_all(&scratch);
}
