//! Writing files so that nothing is half-written: into a temporary file beside the target,
//! flushed to disk, then renamed over it in one step. Only regular files are replaced: a
//! symbolic link is written through (the file it points to is replaced, the link kept), and a
//! directory, FIFO, socket or device is refused.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Where writing `path` lands: `path` itself, or the file a symbolic link at `path` points to.
/// Refuses anything but a regular file or a new name.
pub fn destination(path: &Path) -> std::io::Result<PathBuf> {
    let refuse = |what: &str| {
        Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("it is {what}, not a regular file; archsim only replaces regular files"),
        ))
    };
    let target = match std::fs::symlink_metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(path.to_path_buf()),
        Err(error) => return Err(error),
        Ok(metadata) if metadata.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(target) => target,
            Err(_) => return refuse("a symbolic link to nothing"),
        },
        Ok(_) => path.to_path_buf(),
    };
    let file_type = std::fs::metadata(&target)?.file_type();
    if file_type.is_file() {
        return Ok(target);
    }
    refuse(describe(&file_type))
}

#[cfg(unix)]
fn describe(file_type: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    match () {
        _ if file_type.is_dir() => "a directory",
        _ if file_type.is_fifo() => "a FIFO",
        _ if file_type.is_socket() => "a socket",
        _ if file_type.is_block_device() || file_type.is_char_device() => "a device",
        _ => "not a regular file",
    }
}

#[cfg(not(unix))]
fn describe(file_type: &std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Writes `bytes` to `path` (see `destination`) all at once or not at all.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let path = destination(path)?;
    let directory = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| std::io::Error::other("the output path names no file"))?;
    let temporary = directory.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}
