//! Trace files for the core: a trace workload's file opened beside the topology file, and
//! `--record-arrivals`, the arrivals of a run written as a trace (complete or not at all).

use sim_core::trace::{format_time_s, TraceError, TraceFeed};
use sim_core::{Arrival, ArrivalSink, Topology};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A trace file, opened afresh for each run.
#[derive(Debug)]
pub struct FileTrace(pub PathBuf);

impl TraceFeed for FileTrace {
    fn open(&self) -> Result<Box<dyn Read + Send + Sync>, String> {
        let metadata = std::fs::metadata(&self.0).map_err(|error| error.to_string())?;
        if !metadata.is_file() {
            return Err("it is not a regular file".into());
        }
        Ok(Box::new(std::fs::File::open(&self.0).map_err(|error| error.to_string())?))
    }
}

/// Attaches every trace workload's file, named relative to the topology file at
/// `topology_path`. A trace's bad line is an error naming the file, the line and the fix.
pub fn attach(topology: &mut Topology, topology_path: &Path) -> Result<(), String> {
    let directory = topology_path.parent().unwrap_or(Path::new(""));
    for (source, file) in topology.trace_files() {
        let path = directory.join(&file);
        topology
            .attach_trace(source, Arc::new(FileTrace(path.clone())))
            .map_err(|error| render(&path, &topology.sources[source].name, &error))?;
    }
    Ok(())
}

/// A trace error as the CLI prints it.
pub fn render(path: &Path, workload: &str, error: &TraceError) -> String {
    let place = if error.line > 0 { format!("{}:{}", path.display(), error.line) } else { path.display().to_string() };
    let mut text = format!("error: {}\n  --> {place} (the trace of workload \"{workload}\")\n", error.message);
    if !error.help.is_empty() {
        text.push_str(&format!("  help: {}\n", error.help));
    }
    text
}

/// Writes each arrival as a CSV line (`gap_s,workload,class,key,client[,region][,size,
/// response_size]`: the gap since the arrival before, exact to the nanosecond, so a replay
/// starts where the run did) into a temporary file beside the destination, renamed over it
/// when the run is over.
pub struct ArrivalRecorder {
    writer: BufWriter<std::fs::File>,
    temporary: PathBuf,
    destination: PathBuf,
    with_region: bool,
    with_sizes: bool,
    error: Option<std::io::Error>,
    /// The time of the arrival before, ns.
    last_ns: u64,
}

impl ArrivalRecorder {
    /// Starts the file for `path` (refused now, not after the run, when it cannot be
    /// written); `with_region` adds the region column, `with_sizes` the sizes' columns.
    pub fn create(path: &Path, with_region: bool, with_sizes: bool) -> std::io::Result<Self> {
        let destination = crate::output::destination(path)?;
        let directory = destination.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = destination.file_name().ok_or_else(|| std::io::Error::other("the path names no file"))?;
        let temporary = directory.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
        let mut writer = BufWriter::with_capacity(1 << 16, std::fs::File::create(&temporary)?);
        writer.write_all(b"gap_s,workload,class,key,client")?;
        if with_region {
            writer.write_all(b",region")?;
        }
        if with_sizes {
            writer.write_all(b",size,response_size")?;
        }
        writer.write_all(b"\n")?;
        Ok(Self { writer, temporary, destination, with_region, with_sizes, error: None, last_ns: 0 })
    }
}

impl ArrivalSink for ArrivalRecorder {
    fn arrival(&mut self, arrival: &Arrival<'_>) {
        if self.error.is_some() {
            return;
        }
        let written = write!(
            self.writer,
            "{},{},{},{},{}",
            format_time_s(arrival.time_ns - self.last_ns),
            csv_field(arrival.workload),
            csv_field(arrival.class),
            arrival.key,
            arrival.client
        )
        .and_then(|()| match self.with_region {
            true => write!(self.writer, ",{}", csv_field(arrival.region.unwrap_or(""))),
            false => Ok(()),
        })
        .and_then(|()| match (self.with_sizes, arrival.sizes) {
            (true, Some((request, response))) => writeln!(self.writer, ",{request},{response}"),
            (true, None) => writeln!(self.writer, ",,"),
            (false, _) => writeln!(self.writer),
        });
        if let Err(error) = written {
            self.error = Some(error);
        }
        self.last_ns = arrival.time_ns;
    }

    fn finish(mut self: Box<Self>) -> Result<(), String> {
        let result = match self.error.take() {
            Some(error) => Err(error),
            None => self
                .writer
                .flush()
                .and_then(|()| self.writer.get_ref().sync_all())
                .and_then(|()| std::fs::rename(&self.temporary, &self.destination)),
        };
        if result.is_err() {
            let _ = std::fs::remove_file(&self.temporary);
        }
        result.map_err(|error| error.to_string())
    }
}

impl Drop for ArrivalRecorder {
    /// A recorder dropped unfinished (the run failed) leaves no half-written file.
    fn drop(&mut self) {
        if self.temporary.exists() && !self.destination.exists() {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\"")).into()
    } else {
        text.into()
    }
}
