//! A checked topology in Python: its text, the checked model, edits by parameter path (the
//! paths of experiments), and one run whose report is `archsim run --format json`'s.

use crate::interrupt::{detached, one_run_json};
use crate::options::{batch_error, problem, raise, spec_error, RunOptions};
use pyo3::prelude::*;
use sim_batch::capacity::LOAD_PARAM;
use sim_core::params::{get_parameter, set_parameter, ParamValue};
use std::sync::Arc;

/// A checked topology: the RON text and the model it describes.
#[pyclass(frozen, module = "archsim._native")]
pub struct Topology {
    text: String,
    /// The file's name (or `<topology>`).
    file: String,
    /// The edits made to the file's text, as `path = value`.
    edits: Vec<String>,
    /// The file's name with the edits, for messages and labels.
    name: String,
    /// The factor on every open workload's traffic (the parameter `load`), 1 as written.
    load: f64,
    pub(crate) checked: Arc<sim_core::Topology>,
}

/// Checks a topology's RON text; `name` is the file's name for messages.
#[pyfunction]
#[pyo3(signature = (text, name = None))]
pub fn check(text: String, name: Option<String>) -> PyResult<Topology> {
    let file = name.unwrap_or_else(|| "<topology>".into());
    let mut checked = sim_core::parse_topology(&text).map_err(|error| spec_error(&file, &text, &error))?;
    attach_traces(&mut checked, &file)?;
    Ok(Topology { text, name: file.clone(), file, edits: Vec::new(), load: 1.0, checked: Arc::new(checked) })
}

/// A trace file, opened afresh for each run.
#[derive(Debug)]
struct FileTrace(std::path::PathBuf);

impl sim_core::trace::TraceFeed for FileTrace {
    fn open(&self) -> Result<Box<dyn std::io::Read + Send + Sync>, String> {
        Ok(Box::new(std::fs::File::open(&self.0).map_err(|error| error.to_string())?))
    }
}

/// Attaches each trace workload's file, relative to the topology file `file` (or to the
/// working directory for a topology given as text).
fn attach_traces(topology: &mut sim_core::Topology, file: &str) -> PyResult<()> {
    let topology_path = std::path::Path::new(file);
    let directory = if topology_path.is_file() { topology_path.parent() } else { None };
    for (source, trace) in topology.trace_files() {
        let path = directory.unwrap_or(std::path::Path::new("")).join(&trace);
        let workload = topology.sources[source].name.clone();
        topology.attach_trace(source, Arc::new(FileTrace(path.clone()))).map_err(|error| {
            let place = if error.line > 0 { format!("{}:{}: ", path.display(), error.line) } else { String::new() };
            raise(&problem(&format!("{place}{} (the trace of workload \"{workload}\")", error.message), &error.help))
        })?;
    }
    Ok(())
}

/// A Python value as a parameter value: numbers as numbers, text as names or RON.
fn param_value(value: &Bound<'_, PyAny>) -> PyResult<ParamValue> {
    if value.is_instance_of::<pyo3::types::PyBool>() {
        return Ok(ParamValue::Text(if value.extract::<bool>()? { "true" } else { "false" }.into()));
    }
    if let Ok(number) = value.extract::<f64>() {
        return Ok(ParamValue::Number(number));
    }
    if let Ok(text) = value.extract::<String>() {
        return Ok(ParamValue::Text(text));
    }
    Err(raise(&problem(
        &format!("{} is not a parameter value", value.repr()?),
        "give a number, or text such as \"LeastConnections\" or \"800/s\"",
    )))
}

impl Topology {
    /// The factor on every open workload's traffic (the parameter `load`), 1 as written.
    pub(crate) fn load(&self) -> f64 {
        self.load
    }

    /// This topology with `params` set (each a path and a value), checked again.
    pub(crate) fn edited(&self, params: &[(String, ParamValue)]) -> PyResult<Topology> {
        let mut text = self.text.clone();
        let mut load = self.load;
        for (path, value) in params {
            if path == LOAD_PARAM {
                // Not in the text: a factor on the checked topology's open traffic.
                load = match value {
                    ParamValue::Number(factor) => *factor,
                    ParamValue::Text(text) => {
                        return Err(raise(&problem(
                            &format!("the load factor is {text}, not a number"),
                            "give a factor on the file's traffic, such as 2 for twice its rates",
                        )))
                    }
                };
                continue;
            }
            text = set_parameter(&text, path, value).map_err(|message| {
                raise(&problem(&message, "use a path of the file's values, such as nodes.app.instances"))
            })?;
        }
        let mut edits = self.edits.clone();
        edits.extend(params.iter().map(|(path, value)| format!("{path} = {value}")));
        let name = format!("{} with {}", self.file, edits.join(", "));
        let mut checked = sim_core::parse_topology(&text).map_err(|error| spec_error(&name, &text, &error))?;
        checked.share_traces_from(&self.checked);
        if checked.unattached_trace().is_some() {
            attach_traces(&mut checked, &self.file)?;
        }
        if load != 1.0 {
            checked.scale_open_load(load).map_err(|message| {
                raise(&problem(&format!("{name}: {message}"), "give a positive factor on the file's traffic"))
            })?;
        }
        Ok(Topology { text, file: self.file.clone(), edits, name, load, checked: Arc::new(checked) })
    }
}

#[pymethods]
impl Topology {
    /// The RON text.
    #[getter]
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The name used in messages (the file's, or `<topology>`).
    #[getter]
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The nodes' names, in file order.
    #[getter]
    fn nodes(&self) -> Vec<String> {
        self.checked.nodes.iter().map(|node| node.name.clone()).collect()
    }

    /// The workloads' names, in file order.
    #[getter]
    fn workloads(&self) -> Vec<String> {
        self.checked.sources.iter().map(|source| source.name.clone()).collect()
    }

    /// This topology with parameters set by path, as `[(path, value)]`.
    fn with_params(&self, params: Vec<(String, Bound<'_, PyAny>)>) -> PyResult<Topology> {
        let params: Vec<(String, ParamValue)> =
            params.into_iter().map(|(path, value)| Ok((path, param_value(&value)?))).collect::<PyResult<_>>()?;
        self.edited(&params)
    }

    /// The text of the value at a parameter path, `None` when the file does not set it.
    fn get(&self, path: &str) -> PyResult<Option<String>> {
        get_parameter(&self.text, path)
            .map_err(|message| raise(&problem(&message, "write a path like nodes.app.instances")))
    }

    /// The analytic view without simulating, as `archsim analyze --format json` gives it
    /// (its `analysis`), as JSON text.
    fn analyze(&self) -> PyResult<String> {
        let hit_ratios = vec![None; self.checked.nodes.len()];
        let analysis = sim_core::analysis::analyze(&self.checked, &hit_ratios)
            .map_err(|message| raise(&problem(&message, "check the topology with archsim check")))?;
        Ok(serde_json::to_string(&analysis).expect("an analysis serializes"))
    }

    /// The topology as a Graphviz DOT graph.
    fn to_dot(&self) -> String {
        sim_core::topology::to_dot(&self.checked)
    }

    /// The engine's own time for one run with the options, in seconds: the simulation made,
    /// run and its report written as JSON, timed inside the thread it runs on (a thread of
    /// its own, as `run` uses). For the benchmark of the package's overhead
    /// (`benches/python/bench.py`).
    fn engine_seconds(&self, options: RunOptions) -> PyResult<f64> {
        let prepared = options.prepare(&self.checked)?;
        let topology = prepared.as_ref().unwrap_or(&self.checked);
        let config = options.config(topology)?;
        let seconds = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let started = std::time::Instant::now();
                    let mut simulation = sim_core::Simulation::new(topology, config);
                    simulation.run_to_end();
                    std::hint::black_box(simulation.report().to_json());
                    started.elapsed().as_secs_f64()
                })
                .join()
        });
        seconds.map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("the run panicked"))
    }

    /// Runs once with the options (a dict of `RunOptions`' keys) and returns the report as
    /// JSON text, `archsim run --format json`'s bytes. The GIL is released while it runs.
    fn run(&self, py: Python<'_>, options: RunOptions) -> PyResult<String> {
        let prepared = options.prepare(&self.checked)?;
        let topology = prepared.as_ref().unwrap_or(&self.checked);
        let config = options.config(topology)?;
        let report = detached(py, None, |control| one_run_json(topology, config, control))?;
        // `detached` raises on an interrupt, so a run it returns has finished.
        match report {
            Some(Ok(json)) => Ok(json),
            Some(Err(refused)) => Err(batch_error(&refused, "lengthen the run or shorten the warm-up")),
            None => Err(pyo3::exceptions::PyKeyboardInterrupt::new_err("the run was stopped")),
        }
    }
}
