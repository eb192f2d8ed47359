//! Validation of load balancers: backends resolved to their instances, weights, the
//! algorithm's settings, health checks, failback and DNS caching.

use super::*;

impl Validator<'_> {
    pub(super) fn load_balancer(
        &self,
        node_id: NodeId,
        name: &str,
        key: &str,
        balancer: &RawLoadBalancer,
        compiler: &mut Compiler,
    ) -> Result<LoadBalancerConfig, SpecError> {
        if balancer.backends.is_empty() {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("load balancer \"{name}\" has no backends"),
                    &["nodes", key, "backends"],
                )
                .with_help("list the nodes it spreads traffic over, such as backends: [\"app\"]"));
        }
        let mut targets = Vec::new();
        for backend in &balancer.backends {
            let backend_id =
                self.node_id(backend, &["nodes", key, "backends"], &format!("load balancer \"{name}\""))?;
            compiler.edges.push(Edge {
                from: node_id,
                to: backend_id,
                kind: EdgeKind::Balance,
                certain: true,
                classes: vec![],
                fan_out: false,
            });
            targets.push((backend_id, InstanceId::new(0)));
        }
        let target_weights = match (&balancer.weights, balancer.algorithm) {
            (Some(weights), RawAlgorithm::WeightedRoundRobin) => {
                if weights.len() != balancer.backends.len() || weights.contains(&0) {
                    return Err(self
                        .error(
                            SpecErrorKind::InvalidValue,
                            format!(
                                "load balancer \"{name}\" has {} weights for {} backends",
                                weights.len(),
                                balancer.backends.len()
                            ),
                            &["nodes", key, "weights"],
                        )
                        .with_help("give one positive weight per backend, in the same order"));
                }
                weights.clone()
            }
            (None, RawAlgorithm::WeightedRoundRobin) => {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("load balancer \"{name}\" is WeightedRoundRobin without weights"),
                        &["nodes", key, "WeightedRoundRobin"],
                    )
                    .with_help("add weights: [3, 1] with one weight per backend"));
            }
            (Some(_), _) => {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("load balancer \"{name}\" has weights but its algorithm ignores them"),
                        &["nodes", key, "weights"],
                    )
                    .with_help("use algorithm: WeightedRoundRobin, or remove the weights"));
            }
            (None, _) => vec![1; balancer.backends.len()],
        };
        let latency_sampler = match &balancer.latency {
            Some(spec) => self.sampler(spec, compiler, &["nodes", key, "latency"])?,
            None => NONE,
        };
        if let RawAlgorithm::ConsistentHash { virtual_nodes } = balancer.algorithm {
            self.check_virtual_nodes(key, virtual_nodes, "algorithm")?;
        }
        let health_check = match &balancer.health_check {
            Some(raw) => Some(self.health_check(key, raw)?),
            None => None,
        };
        if balancer.failback.is_some() && balancer.algorithm != RawAlgorithm::ActivePassive {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("load balancer \"{name}\" sets failback, which only ActivePassive uses"),
                    &["nodes", key, "failback"],
                )
                .with_help("use algorithm: ActivePassive, or remove failback"));
        }
        if balancer.dns_ttl.is_some_and(|ttl| ttl.ns == 0) {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("load balancer \"{name}\" caches DNS answers for 0 s"),
                    &["nodes", key, "dns_ttl"],
                )
                .with_help(
                    "give a positive time to live, such as \"60s\", or remove dns_ttl to route every request afresh",
                ));
        }
        Ok(LoadBalancerConfig {
            dns_ttl_ns: balancer.dns_ttl.map(|ttl| ttl.ns),
            failback: balancer.failback.unwrap_or(true),
            health_check,
            algorithm: balancer.algorithm,
            targets,
            target_weights,
            latency_sampler,
            ring: Vec::new(),
            role: BalancerRole::LoadBalancer,
            resharding: None,
            quorum: None,
        })
    }
}
