//! The deployment file: what traces do not carry (instance counts, workers, queues, the
//! balancer in front of a service), as RON:
//!
//! ```text
//! Deployment(
//!     nodes: {
//!         "app": (instances: 2, workers: 2, balancer: LeastConnections),
//!         "postgresql": (workers: 100),
//!     },
//!     hosts: {"vm": (cores: 2, nodes: ["app"])},
//! )
//! ```

use indexmap::IndexMap;
use serde::Deserialize;
use sim_core::units::Duration;

use super::CalibrateError;

/// How the traced system is deployed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename = "Deployment")]
pub struct Deployment {
    /// Per node name (as the traces name it: `service.name`, or a client span's peer).
    #[serde(default)]
    pub nodes: IndexMap<String, NodeDeployment>,
    /// Machines with cores, and the nodes on them whose own time is CPU work that shares
    /// the cores (written as the topology's `hosts`).
    #[serde(default)]
    pub hosts: IndexMap<String, HostDeployment>,
}

/// A host: its cores, machines, and the traced nodes placed on it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostDeployment {
    /// Cores per machine.
    pub cores: u32,
    /// Identical machines; default 1.
    #[serde(default)]
    pub machines: Option<u32>,
    /// The nodes placed on it.
    pub nodes: Vec<String>,
}

/// One node's deployment; what is left out keeps the written default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeDeployment {
    /// Instances (processes, pods); default 1.
    #[serde(default)]
    pub instances: Option<u32>,
    /// Workers per instance (threads, processes, connections): requests served at once.
    #[serde(default)]
    pub workers: Option<u32>,
    /// Requests that may wait per instance.
    #[serde(default)]
    pub queue: Option<u32>,
    /// The node's own timeout.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// A load balancer in front of the node, by algorithm (`RoundRobin`, `LeastConnections`, …).
    #[serde(default)]
    pub balancer: Option<Algorithm>,
}

/// The balancing algorithms a deployment may name (archsim's `LoadBalancer` algorithms).
#[derive(Debug, Clone, Copy, Deserialize)]
#[allow(missing_docs)]
pub enum Algorithm {
    RoundRobin,
    Random,
    LeastConnections,
    PowerOfTwoChoices,
}

impl Algorithm {
    /// The name the topology file uses.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RoundRobin => "RoundRobin",
            Algorithm::Random => "Random",
            Algorithm::LeastConnections => "LeastConnections",
            Algorithm::PowerOfTwoChoices => "PowerOfTwoChoices",
        }
    }
}

impl Deployment {
    /// Parses a deployment file; errors name the line and column.
    pub fn parse(file: &str, text: &str) -> Result<Self, CalibrateError> {
        let options = ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        options.from_str(text).map_err(|e: ron::error::SpannedError| {
            CalibrateError::new(
                file,
                Some((e.span.start.line, e.span.start.col)),
                &e.code.to_string(),
                "write it as Deployment(nodes: {\"app\": (instances: 2, workers: 8, balancer: LeastConnections)}, \
                 hosts: {\"vm\": (cores: 4, nodes: [\"app\"])}); a node's fields: instances, workers, queue, timeout, \
                 balancer; a host's: cores, machines, nodes",
            )
        })
    }

    /// Checks that every node named is one the traces show.
    pub fn check(&self, file: &str, text: &str, traced: &[&str]) -> Result<(), CalibrateError> {
        for name in self.nodes.keys() {
            if !traced.contains(&name.as_str()) {
                let at = text.find(&format!("\"{name}\"")).map(|offset| line_column(text, offset));
                return Err(CalibrateError::new(
                    file,
                    at,
                    &format!("node \"{name}\" is not in the traces"),
                    &format!("the traces show these nodes: {}", traced.join(", ")),
                ));
            }
            let node = &self.nodes[name];
            if node.instances == Some(0) || node.workers == Some(0) {
                let at = text.find(&format!("\"{name}\"")).map(|offset| line_column(text, offset));
                return Err(CalibrateError::new(
                    file,
                    at,
                    &format!("node \"{name}\" has no instances or no workers"),
                    "give at least 1",
                ));
            }
        }
        for (host, placed) in &self.hosts {
            let at = text.find(&format!("\"{host}\"")).map(|offset| line_column(text, offset));
            if let Some(name) = placed.nodes.iter().find(|name| !traced.contains(&name.as_str())) {
                return Err(CalibrateError::new(
                    file,
                    at,
                    &format!("host \"{host}\" runs node \"{name}\", which is not in the traces"),
                    &format!("the traces show these nodes: {}", traced.join(", ")),
                ));
            }
            if placed.cores == 0 || placed.machines == Some(0) || placed.nodes.is_empty() {
                return Err(CalibrateError::new(
                    file,
                    at,
                    &format!("host \"{host}\" has no cores, no machines or no nodes"),
                    "give at least 1 core and 1 machine, and the nodes it runs",
                ));
            }
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, column)
}
