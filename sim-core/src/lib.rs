//! # sim-core: the archsim simulation library
//!
//! A deterministic discrete-event simulator of backend architectures. A topology (RON text)
//! goes in with a seed; a report comes out. No I/O, no clocks, no threads: the same input
//! gives the same bytes natively and in WebAssembly.
//!
//! ```text
//!   RON text ──parse──▶ RawTopology ──validate──▶ Topology ──Simulation──▶ Report
//!   (spec.rs)            (serde)      (topology/)   (ids, programs)  (model/)    (report/)
//! ```
//!
//! ```
//! use sim_core::{parse_topology, RunConfig, Simulation, StopCondition};
//!
//! let topology = parse_topology(r#"Topology(
//!     workload: [Open(name: "users", arrivals: Poisson(rate: "50/s"), to: "app")],
//!     nodes: { "app": Service(workers: 2, steps: [Work(Exp(mean: "10ms"))]) },
//! )"#).unwrap();
//! let config = RunConfig { seed: 7, stop: StopCondition::Requests { count: 1_000 }, warmup_ns: 0, drain: false };
//! let mut simulation = Simulation::new(&topology, config);
//! simulation.run_to_end();
//! let report = simulation.report();
//! assert_eq!(report.requests.generated, 1_000);
//! assert_eq!(report.requests.completed, 1_000);
//! ```
#![warn(missing_docs)]

pub mod analysis;
pub mod budget;
pub mod design;
pub mod dist;
mod dist_cdf;
pub mod engine;
pub mod error;
mod float_to_int;
pub mod ids;
pub mod keys;
pub mod model;
pub mod params;
pub mod report;
pub mod rng;
pub mod spec;
pub mod topology;
pub mod trace;
pub mod units;
mod ziggurat;
mod ziggurat_layers;

pub use error::{Position, SpecError, SpecErrorKind};
pub use model::{Arrival, ArrivalSink, InvariantViolations, RunConfig, RunProblem, Simulation};
pub use report::{Report, RunFields, RUN_FLAGS};
pub use topology::{parse_topology, parse_topology_bytes, StopCondition, Topology};

/// Parses `source`, runs it with `config`, and returns the report.
pub fn simulate(topology: &Topology, config: RunConfig) -> Report {
    let mut simulation = Simulation::new(topology, config);
    simulation.run_to_end();
    simulation.report()
}
