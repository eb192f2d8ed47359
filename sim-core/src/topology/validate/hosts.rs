//! Validation of hosts: machines with cores, and the services whose Work shares them.

use super::Validator;
use crate::error::{SpecError, SpecErrorKind};
use crate::topology::{Discipline, Host, Node, NodeKind, NONE};

/// Most cores a machine may have.
const MAX_CORES: u32 = 100_000;

impl Validator<'_> {
    /// The hosts, and each node's host (`NONE` for none). Only services and databases run
    /// Work on a host, and only when their workers hold a request for its Work (FIFO or
    /// priority): a processor-sharing service already shares its own cores.
    pub(super) fn hosts(&self, nodes: &[Node]) -> Result<(Vec<Host>, Vec<u32>), SpecError> {
        let mut node_hosts = vec![NONE; nodes.len()];
        let mut hosts = Vec::with_capacity(self.raw.hosts.len());
        let mut first_machine = 0u32;
        for (host_index, (name, raw)) in self.raw.hosts.iter().enumerate() {
            let quoted = format!("\"{name}\"");
            if raw.cores == 0 || raw.cores > MAX_CORES {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("host {quoted} has {} cores", raw.cores),
                        &["hosts", &quoted, "cores"],
                    )
                    .with_help(format!("give each machine 1 to {MAX_CORES} cores")));
            }
            if raw.machines == 0 || raw.machines > super::MAX_INSTANCES {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("host {quoted} has {} machines", raw.machines),
                        &["hosts", &quoted, "machines"],
                    )
                    .with_help(format!("give 1 to {} machines", super::MAX_INSTANCES)));
            }
            if !(raw.per_machine_hour.is_finite() && (0.0..=1e12).contains(&raw.per_machine_hour)) {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!(
                            "host {quoted} has a per_machine_hour price of {}",
                            crate::params::format_number(raw.per_machine_hour)
                        ),
                        &["hosts", &quoted, "per_machine_hour"],
                    )
                    .with_help("give a price from 0 to 1e12, in any currency (all prices of a file in the same one)"));
            }
            if raw.nodes.is_empty() {
                return Err(self
                    .error(SpecErrorKind::InvalidValue, format!("host {quoted} runs no nodes"), &["hosts", &quoted])
                    .with_help("place services on it: Host(cores: 2, nodes: [\"app\"]), or remove it"));
            }
            let mut placed = Vec::with_capacity(raw.nodes.len());
            for member in &raw.nodes {
                let anchors = ["hosts", &quoted, "nodes"];
                let node = self.node_id(member, &anchors, &format!("host {quoted}"))?;
                let member_quoted = format!("\"{member}\"");
                let anchors = ["hosts", &quoted, &member_quoted];
                let servers = match &nodes[node].kind {
                    NodeKind::Service(service) => service,
                    NodeKind::Database(database) => &database.servers,
                    other => {
                        return Err(self
                            .error(
                                SpecErrorKind::InvalidValue,
                                format!("host {quoted} runs node {member_quoted} ({}), which has no workers to run Work on it", other.label()),
                                &anchors,
                            )
                            .with_help("place services, gateways and databases on hosts: their Work steps use its cores"));
                    }
                };
                if servers.discipline == Discipline::ProcessorSharing {
                    return Err(self
                        .error(
                            SpecErrorKind::InvalidValue,
                            format!("host {quoted} runs node {member_quoted}, which shares its own workers (ProcessorSharing)"),
                            &anchors,
                        )
                        .with_help("a service on a host holds a worker per request and shares the host's cores: give it discipline Fifo, or leave it off the host"));
                }
                if node_hosts[node] != NONE {
                    return Err(self
                        .error(SpecErrorKind::InvalidValue, format!("node {member_quoted} is placed on two hosts"), &anchors)
                        .with_help("place each node on one host; a host with machines: n spreads its instances over n machines"));
                }
                node_hosts[node] = host_index as u32;
                placed.push(node);
            }
            hosts.push(Host {
                name: name.clone(),
                cores: raw.cores,
                machines: raw.machines,
                first_machine,
                nodes: placed,
                per_machine_hour: raw.per_machine_hour,
            });
            first_machine += raw.machines;
        }
        Ok((hosts, node_hosts))
    }
}
