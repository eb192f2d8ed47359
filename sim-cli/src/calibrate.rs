//! `archsim calibrate`: reads trace files and a deployment file, and writes the topology
//! `sim_batch::calibrate` makes of them, with its warnings on stderr.

use std::io::Write;
use std::path::{Path, PathBuf};

use sim_batch::calibrate::{calibrate, Input};

use crate::failure::Failure;
use crate::{input, output};

pub fn calibrate_command(
    traces: &[PathBuf],
    out: Option<&Path>,
    deployment: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    if let Some(path) = out {
        output::destination(path).map_err(|error| format!("error: cannot write {}: {error}\n", path.display()))?;
    }
    // Every file is held at once: together they are held to one file's limit (a file that
    // cannot be read says so when it is read).
    let total_bytes: u64 = traces.iter().filter_map(|path| std::fs::metadata(path).ok()).map(|m| m.len()).sum();
    if traces.len() > 1 && total_bytes > input::MAX_TRACE_BYTES {
        return Err(Failure::BadInput(format!(
            "error: the {} trace files hold {} MiB together, more than the limit of {} MiB\n  help: calibrate from \
             fewer or smaller files: a few hundred requests per entry point make good histograms\n",
            traces.len(),
            total_bytes / (1024 * 1024),
            input::MAX_TRACE_BYTES / (1024 * 1024)
        )));
    }
    let mut texts = Vec::with_capacity(traces.len());
    for path in traces {
        texts.push((path.display().to_string(), text(path, input::MAX_TRACE_BYTES)?));
    }
    let deployment = match deployment {
        Some(path) => Some((path.display().to_string(), text(path, input::MAX_INPUT_BYTES)?)),
        None => None,
    };
    let inputs: Vec<Input> = texts.iter().map(|(name, text)| Input { name, text }).collect();
    let deployment = deployment.as_ref().map(|(name, text)| Input { name, text });
    let calibration = calibrate(&inputs, deployment).map_err(|error| format!("{error}\n"))?;
    let mut notes = format!("calibrated: {}\n", calibration.summary);
    for warning in &calibration.warnings {
        notes.push_str(&format!("warning: {warning}\n"));
    }
    let _ = stderr.write_all(notes.as_bytes());
    match out {
        Some(path) => output::write_atomically(path, calibration.topology.as_bytes())
            .map_err(|error| Failure::cannot_write(path.display(), error)),
        None => stdout
            .write_all(calibration.topology.as_bytes())
            .map_err(|error| Failure::cannot_write("the topology", error)),
    }
}

fn text(path: &Path, max_bytes: u64) -> Result<String, Failure> {
    let bytes = input::read_input_up_to(path, max_bytes)?;
    String::from_utf8(bytes).map_err(|_| {
        Failure::BadInput(format!("error: {} is not UTF-8 text\n  help: give OTLP JSON\n", path.display()))
    })
}
