//! archsim's batch layer: everything between one simulation and an answer backed by several,
//! as a library with no I/O, so the command line, the browser page and the Python package
//! share it.
//!
//! ```text
//!  Topology ──replicate(seeds)──▶ metric values per run ──stats──▶ mean ± 95% interval
//!     │                                                            │
//!     ├── sweep: axes → points (params edit the RON text)          ├── compare: B − A, paired
//!     └── warm-up: MSER-5 on a pilot run                           └── capacity: bracket + bisect
//! ```
//!
//! Seeds come from [`seeds::run_seed`], so a run's seed depends only on (base seed, point,
//! replication): results do not depend on the thread count. With the `parallel` feature (on
//! by default) replications run on the current rayon pool; without it, one after another.
//! Errors are [`BatchError`]s that name what is wrong; callers render them.

#![warn(missing_docs)]

pub mod analysis;
pub mod calibrate;
pub mod capacity;
pub mod compare;
pub mod diagnostics;
mod error;
pub mod metrics;
pub mod replicate;
pub mod seeds;
pub mod session;
pub mod stats;
pub mod sweep;
pub mod table;

pub use error::BatchError;

/// What batch functions return.
pub type Result<T> = std::result::Result<T, BatchError>;
