//! Reading the files a user names: regular files only (a FIFO or a device such as
//! `/dev/zero` would block or never end), and no larger than any model needs.

use std::io::Read;
use std::path::Path;

/// The largest input file read, in bytes: a topology of thousands of nodes is far smaller.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// The bytes of the file at `path`, or the error to print (`error: cannot read ...`).
pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
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
        cannot(format!("it is larger than {} MiB", MAX_INPUT_BYTES / (1024 * 1024)))
            + "  help: a model's text is far smaller; check that this is the file you meant\n"
    };
    if metadata.len() > MAX_INPUT_BYTES {
        return Err(too_large());
    }
    let file = std::fs::File::open(path).map_err(|error| cannot(error.to_string()))?;
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    // A file that grows while it is read stops at the cap too.
    file.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes).map_err(|error| cannot(error.to_string()))?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}
