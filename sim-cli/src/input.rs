//! Reading the files a user names: regular files only (a FIFO or a device such as
//! `/dev/zero` would block or never end), and no larger than any model needs.

use std::io::Read;
use std::path::Path;

/// The largest input file read, in bytes: a topology of thousands of nodes is far smaller.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// The largest trace file read, in bytes: traces are data, far larger than a model.
pub const MAX_TRACE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// The bytes of the file at `path`, or the error to print (`error: cannot read ...`).
pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    read_input_up_to(path, MAX_INPUT_BYTES)
}

/// The bytes of the file at `path` when it holds at most `max_bytes`.
pub fn read_input_up_to(path: &Path, max_bytes: u64) -> Result<Vec<u8>, String> {
    let cannot = |why: String| format!("error: cannot read {}: {why}\n", path.display());
    let metadata = std::fs::metadata(path).map_err(|error| cannot(error.to_string()))?;
    if metadata.is_dir() {
        return Err(cannot("it is a directory".into()) + "  help: give a RON file\n");
    }
    if !metadata.is_file() {
        return Err(cannot("it is not a regular file (a FIFO, socket or device)".into())
            + "  help: save the text to a file and give its path\n");
    }
    let too_large = || {
        cannot(format!("it is larger than {} MiB", max_bytes / (1024 * 1024)))
            + "  help: a model's text is far smaller; check that this is the file you meant\n"
    };
    if metadata.len() > max_bytes {
        return Err(too_large());
    }
    let file = std::fs::File::open(path).map_err(|error| cannot(error.to_string()))?;
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // A file that grows while it is read stops at the cap too.
    file.take(max_bytes + 1).read_to_end(&mut bytes).map_err(|error| cannot(error.to_string()))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large());
    }
    Ok(bytes)
}
