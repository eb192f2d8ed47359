//! # sim-py: archsim for Python
//!
//! The extension module `archsim._native`, built into a wheel by maturin. It exposes checked
//! topologies and their runs, sweeps, paired comparisons, capacity searches and live runs;
//! the Python package (`python/archsim`) wraps them in documented, typed classes and turns
//! the results into DataFrames. Values cross as JSON text, so a report from Python is the
//! command line's report byte for byte.
//!
//! **Boundary:** no simulation logic lives here: everything is `sim-core`'s and
//! `sim-batch`'s. Long work runs with the GIL released, on other threads, and stops cleanly
//! on Ctrl-C (`interrupt.rs`).

mod batch;
mod interrupt;
mod live;
mod options;
mod topology;

use pyo3::prelude::*;

/// The native half of the `archsim` package.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<topology::Topology>()?;
    module.add_class::<live::LiveRun>()?;
    module.add_function(wrap_pyfunction!(topology::check, module)?)?;
    module.add_function(wrap_pyfunction!(batch::sweep, module)?)?;
    module.add_function(wrap_pyfunction!(batch::compare, module)?)?;
    module.add_function(wrap_pyfunction!(batch::capacity, module)?)?;
    module.add_function(wrap_pyfunction!(options::duration_s, module)?)?;
    module.add_function(wrap_pyfunction!(options::report_table, module)?)?;
    module.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    module.add("MAX_REPLICATIONS", sim_batch::replicate::MAX_REPLICATIONS)?;
    module.add("MAX_POINTS", sim_batch::sweep::MAX_POINTS)?;
    Ok(())
}
