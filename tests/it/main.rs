//! archsim's integration tests: one binary, one module per family.
//!
//! `check` is the only place the tests touch the engine and CLI APIs.

mod analytic_variability;
mod bulkheads;
mod cache_variants;
mod calibrate;
mod catalogue;
mod catalogue_theory;
mod chaos;
mod check;
mod cli;
mod clients;
mod concurrency_limits;
mod deadlines;
mod determinism;
mod distributions;
mod experiments;
mod fuzz;
mod geography;
mod hosts;
mod invalid;
mod live;
mod log_consumers;
mod network;
mod overload;
mod packet_loss;
mod pass_on;
mod pauses;
mod priorities;
mod quorum;
mod quorum_store;
mod rate_limiters;
mod readme;
mod reliability;
mod replication;
mod resharding;
mod run_length;
mod serverless;
mod snapshots;
mod swarm;
mod theory;
mod trace_replay;
mod transient_overload;
mod verdicts;
mod web;
mod zones;
