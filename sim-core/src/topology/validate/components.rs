//! Validation of the catalogue's components: each raw spec checked, named ids resolved, and
//! the programs of databases and gateways compiled.

use super::{suggest, Compiler, StepContext, Validator, MAX_INSTANCES, MAX_WORKERS};
use crate::error::{SpecError, SpecErrorKind};
use crate::ids::NodeId;
use crate::spec::*;
use crate::topology::graph::{Edge, EdgeKind};
use crate::topology::*;

/// Most entries a cache may hold (its index is kept in memory).
pub const MAX_CACHE_CAPACITY: u64 = 100_000_000;

impl Validator<'_> {
    pub(super) fn invalid(&self, message: String, anchors: &[&str], help: &str) -> SpecError {
        self.error(SpecErrorKind::InvalidValue, message, anchors).with_help(help.to_string())
    }

    /// An invalid value located by its path (`nodes.router.reshard.1`), falling back to
    /// the anchors when the path is not found.
    pub(super) fn invalid_at(&self, path: &str, message: String, anchors: &[&str], help: &str) -> SpecError {
        match crate::error::locate_path(self.source, path, None) {
            Some(position) => SpecError::new(SpecErrorKind::InvalidValue, message).at(Some(position)).with_help(help),
            None => self.invalid(message, anchors, help),
        }
    }

    pub(super) fn optional_sampler(
        &self,
        spec: &Option<crate::dist::DistSpec>,
        compiler: &mut Compiler,
        anchors: &[&str],
    ) -> Result<u32, SpecError> {
        match spec {
            Some(spec) => self.sampler(spec, compiler, anchors),
            None => Ok(NONE),
        }
    }

    /// Per class, whether it is in `names` (classes no workload sends are refused).
    pub(super) fn class_set(
        &self,
        key: &str,
        names: &[String],
        classes: &[String],
        field: &str,
    ) -> Result<Vec<bool>, SpecError> {
        let mut set = vec![false; classes.len()];
        for name in names {
            match classes.iter().position(|c| c == name) {
                Some(id) => set[id] = true,
                None => {
                    return Err(self
                        .error(
                            SpecErrorKind::UnknownName,
                            format!("node {key} lists class \"{name}\" in {field}, which no workload sends"),
                            &["nodes", key, field, &format!("\"{name}\"")],
                        )
                        .with_help(suggest(name, &classes.iter().map(String::as_str).collect::<Vec<_>>())));
                }
            }
        }
        Ok(set)
    }

    pub(super) fn edge(compiler: &mut Compiler, from: NodeId, to: NodeId, kind: EdgeKind, classes: Vec<bool>) {
        compiler.edges.push(Edge { from, to, kind, certain: true, classes, fan_out: false });
    }

    pub(super) fn check_capacity(&self, key: &str, capacity: u64) -> Result<(), SpecError> {
        if capacity == 0 || capacity > MAX_CACHE_CAPACITY {
            return Err(self.invalid(
                format!("node {key} has a capacity of {capacity} entries"),
                &["nodes", key, "capacity"],
                &format!("give a capacity between 1 and {MAX_CACHE_CAPACITY} entries"),
            ));
        }
        Ok(())
    }

    pub(super) fn check_ttl(&self, key: &str, ttl: Option<crate::units::Duration>) -> Result<Option<u64>, SpecError> {
        match ttl {
            Some(ttl) if ttl.ns == 0 => Err(self.invalid(
                format!("node {key} has a ttl of 0"),
                &["nodes", key, "ttl"],
                "give a positive ttl, or leave it out for entries that never expire",
            )),
            other => Ok(other.map(|t| t.ns)),
        }
    }

    pub(super) fn check_virtual_nodes(&self, key: &str, virtual_nodes: u32, field: &str) -> Result<(), SpecError> {
        if virtual_nodes == 0 || virtual_nodes > 10_000 {
            return Err(self.invalid(
                format!("node {key} has {virtual_nodes} virtual nodes per target"),
                &["nodes", key, field],
                "give between 1 and 10000 virtual nodes; 100 to 200 spread keys evenly",
            ));
        }
        Ok(())
    }

    pub(super) fn cache(
        &self,
        node: NodeId,
        key: &str,
        cache: &RawCache,
        classes: &[String],
        compiler: &mut Compiler,
    ) -> Result<CacheConfig, SpecError> {
        self.check_capacity(key, cache.capacity)?;
        let ttl_ns = self.check_ttl(key, cache.ttl)?;
        if cache.sliding_ttl && ttl_ns.is_none() {
            return Err(self.invalid(
                format!("node {key} has a sliding ttl but no ttl"),
                &["nodes", key, "sliding_ttl"],
                "give a ttl (such as ttl: \"60s\") for hits to renew, or leave sliding_ttl out",
            ));
        }
        if !(cache.ttl_jitter.is_finite() && (0.0..1.0).contains(&cache.ttl_jitter)) {
            return Err(self.invalid(
                format!("node {key} has a ttl jitter of {}", cache.ttl_jitter),
                &["nodes", key, "ttl_jitter"],
                "give a share from 0 up to (not including) 1, such as 0.1 for lifetimes of ttl ± 10%",
            ));
        }
        if cache.ttl_jitter > 0.0 && ttl_ns.is_none() {
            return Err(self.invalid(
                format!("node {key} has a ttl jitter but no ttl"),
                &["nodes", key, "ttl_jitter"],
                "give a ttl (such as ttl: \"60s\") to jitter, or leave ttl_jitter out",
            ));
        }
        if (cache.stale_while_revalidate.is_some() || cache.early_expiration.is_some()) && ttl_ns.is_none() {
            let field =
                if cache.stale_while_revalidate.is_some() { "stale_while_revalidate" } else { "early_expiration" };
            return Err(self.invalid(
                format!("node {key} has {field} but no ttl: its entries never expire"),
                &["nodes", key, field],
                "give a ttl (such as ttl: \"60s\"), or leave the option out",
            ));
        }
        if cache.stale_while_revalidate.is_some_and(|window| window.ns == 0) {
            return Err(self.invalid(
                format!("node {key} serves stale entries for 0 s"),
                &["nodes", key, "stale_while_revalidate"],
                "give a positive window, such as stale_while_revalidate: \"30s\", or leave it out",
            ));
        }
        if let Some(beta) = cache.early_expiration {
            if !(beta.is_finite() && beta > 0.0) {
                return Err(self.invalid(
                    format!("node {key} has an early expiration β of {beta}"),
                    &["nodes", key, "early_expiration"],
                    "give a positive β, such as early_expiration: 1.0 (XFetch's default)",
                ));
            }
        }
        let backend = self.node_id(&cache.backend, &["nodes", key, "backend"], &format!("cache {key}"))?;
        let hit_sampler = self.optional_sampler(&cache.hit, compiler, &["nodes", key, "hit"])?;
        let miss_sampler = match &cache.miss {
            Some(spec) => self.sampler(spec, compiler, &["nodes", key, "miss"])?,
            None => hit_sampler,
        };
        let write_classes = self.class_set(key, &cache.writes, classes, "writes")?;
        Self::edge(compiler, node, backend, EdgeKind::Call, vec![]);
        Ok(CacheConfig {
            capacity: cache.capacity,
            eviction: cache.eviction,
            ttl_ns,
            sliding_ttl: cache.sliding_ttl,
            ttl_jitter: cache.ttl_jitter,
            coalesce: cache.coalesce,
            stale_while_revalidate_ns: cache.stale_while_revalidate.map_or(0, |window| window.ns),
            early_expiration_beta: cache.early_expiration,
            frequency_admission: cache.admission == crate::spec::RawAdmission::Frequency,
            fallback: cache.fallback,
            hit_sampler,
            miss_sampler,
            backend,
            write_classes,
            write_policy: cache.write_policy,
        })
    }

    pub(super) fn cdn(
        &self,
        node: NodeId,
        key: &str,
        cdn: &RawCdn,
        regions: &Regions,
        compiler: &mut Compiler,
    ) -> Result<CdnConfig, SpecError> {
        self.check_capacity(key, cdn.capacity)?;
        let ttl_ns = self.check_ttl(key, cdn.ttl)?;
        let origin = self.node_id(&cdn.origin, &["nodes", key, "origin"], &format!("CDN {key}"))?;
        let hit_sampler = self.optional_sampler(&cdn.hit, compiler, &["nodes", key, "hit"])?;
        let edge_regions: Vec<u32> = match &cdn.edges {
            Some(edges) => {
                if edges.is_empty() {
                    return Err(self.invalid(
                        format!("CDN {key} has no edges"),
                        &["nodes", key, "edges"],
                        "list the regions with an edge, or leave edges out for every region",
                    ));
                }
                let mut ids = Vec::new();
                for edge in edges {
                    let id = self.region_id(regions, edge, &["nodes", key, "edges", &format!("\"{edge}\"")])?;
                    if ids.contains(&id) {
                        return Err(self.invalid(
                            format!("CDN {key} lists region \"{edge}\" twice"),
                            &["nodes", key, "edges"],
                            "list each region once",
                        ));
                    }
                    ids.push(id);
                }
                ids
            }
            None if regions.names.is_empty() => vec![NONE],
            None => (0..regions.names.len() as u32).collect(),
        };
        // Each region's requests go to the edge nearest to it.
        let edge_of_region = (0..regions.names.len() as u32)
            .map(|region| {
                let order = regions.by_distance(region);
                let nearest = order.iter().find_map(|r| edge_regions.iter().position(|e| e == r));
                nearest.unwrap_or(0) as u32
            })
            .collect();
        Self::edge(compiler, node, origin, EdgeKind::Call, vec![]);
        Ok(CdnConfig {
            capacity: cdn.capacity,
            eviction: cdn.eviction,
            ttl_ns,
            hit_sampler,
            origin,
            edge_regions,
            edge_of_region,
        })
    }

    pub(super) fn rate_limiter(
        &self,
        node: NodeId,
        key: &str,
        limiter: &RawRateLimiter,
        compiler: &mut Compiler,
    ) -> Result<RateLimiterConfig, SpecError> {
        let next = self.node_id(&limiter.next, &["nodes", key, "next"], &format!("rate limiter {key}"))?;
        let limit = match limiter.limit {
            RawLimit::TokenBucket { rate, burst, interval } => {
                Limit::TokenBucket { rate_per_s: rate.per_s, burst, interval_ns: interval.map(|i| i.ns) }
            }
            RawLimit::LeakyBucket { rate, capacity } => Limit::LeakyBucket { rate_per_s: rate.per_s, capacity },
            RawLimit::FixedWindow { limit, window } => Limit::FixedWindow { limit, window_ns: window.ns },
            RawLimit::SlidingWindow { limit, window } => Limit::SlidingWindow { limit, window_ns: window.ns },
        };
        let here = ["nodes", key, "limit"];
        match limit {
            Limit::TokenBucket { rate_per_s: rate, burst: size, .. }
            | Limit::LeakyBucket { rate_per_s: rate, capacity: size } => {
                let field = if matches!(limit, Limit::TokenBucket { .. }) { "burst" } else { "capacity" };
                if rate.is_nan() || rate <= 0.0 || size == 0 {
                    return Err(self.invalid(
                        format!("rate limiter {key} has rate {rate}/s and {field} {size}"),
                        &here,
                        &format!("give a positive rate and a {field} of at least 1"),
                    ));
                }
            }
            Limit::FixedWindow { limit, window_ns } | Limit::SlidingWindow { limit, window_ns } => {
                if limit == 0 || window_ns == 0 {
                    return Err(self.invalid(
                        format!("rate limiter {key} admits {limit} requests per window of {window_ns} ns"),
                        &here,
                        "give a limit of at least 1 and a window above 0, such as limit: 100, window: \"1s\"",
                    ));
                }
            }
        }
        if let Limit::TokenBucket { interval_ns: Some(0), .. } = limit {
            return Err(self.invalid(
                format!("rate limiter {key} refills every 0 s"),
                &here,
                "give a positive interval, such as \"100ms\", or leave it out to refill continuously",
            ));
        }
        let size = match limit {
            Limit::TokenBucket { burst, .. } => burst,
            Limit::LeakyBucket { capacity, .. } => capacity,
            Limit::FixedWindow { limit, .. } | Limit::SlidingWindow { limit, .. } => limit,
        };
        if limiter.instances == 0 || limiter.instances > size || limiter.instances > MAX_INSTANCES {
            return Err(self.invalid(
                format!("rate limiter {key} has {} instances for a limit of size {size}", limiter.instances),
                &["nodes", key, "instances"],
                "give 1 or more instances, at most the burst (capacity, window limit): each instance enforces its share of it",
            ));
        }
        Self::edge(compiler, node, next, EdgeKind::Forward, vec![]);
        Ok(RateLimiterConfig { limit, scope: limiter.scope, instances: limiter.instances, next })
    }

    pub(super) fn gateway(
        &self,
        node: NodeId,
        key: &str,
        gateway: &RawGateway,
        classes: &[String],
        compiler: &mut Compiler,
    ) -> Result<ServiceConfig, SpecError> {
        if gateway.instances == 0
            || gateway.instances > MAX_INSTANCES
            || gateway.workers == 0
            || gateway.workers > MAX_WORKERS
        {
            return Err(self.invalid(
                format!("gateway {key} has {} instances of {} workers", gateway.instances, gateway.workers),
                &["nodes", key],
                &format!("give 1 to {MAX_INSTANCES} instances and 1 to {MAX_WORKERS} workers"),
            ));
        }
        if gateway.routes.is_empty() && gateway.otherwise.is_none() {
            return Err(self.invalid(
                format!("gateway {key} has no routes"),
                &["nodes", key, "routes"],
                "route each class to a service: routes: {\"read\": \"feed\"}",
            ));
        }
        let entry_pc = compiler.code.len() as u32;
        if let Some(spec) = &gateway.latency {
            let sampler = self.sampler(spec, compiler, &["nodes", key, "latency"])?;
            compiler.code.push(Instr::Work(sampler));
        }
        match &gateway.auth {
            Some(RawAuth::Work(spec)) => {
                let sampler = self.sampler(spec, compiler, &["nodes", key, "auth"])?;
                compiler.code.push(Instr::Work(sampler));
            }
            Some(RawAuth::Call(name)) => {
                let auth = self.node_id(name, &["nodes", key, "auth"], &format!("gateway {key}"))?;
                Self::edge(compiler, node, auth, EdgeKind::Call, vec![]);
                compiler.code.push(Instr::Call(auth));
            }
            None => {}
        }
        let table = compiler.class_tables.len() as u32;
        compiler.code.push(Instr::ByClass { table });
        let otherwise_pc = compiler.code.len() as u32;
        match &gateway.otherwise {
            Some(name) => {
                let target = self.node_id(name, &["nodes", key, "otherwise"], &format!("gateway {key}"))?;
                let unrouted = classes.iter().map(|c| !gateway.routes.contains_key(c)).collect();
                Self::edge(compiler, node, target, EdgeKind::Forward, unrouted);
                compiler.code.push(Instr::Forward(target));
            }
            None => compiler.code.push(Instr::NoRoute),
        }
        let mut table_entries = vec![otherwise_pc; classes.len()];
        for (class, target) in &gateway.routes {
            let class_set = self.class_set(key, std::slice::from_ref(class), classes, "routes")?;
            let class_id = class_set.iter().position(|c| *c).expect("one class");
            let target_id =
                self.node_id(target, &["nodes", key, "routes", &format!("\"{class}\"")], &format!("gateway {key}"))?;
            Self::edge(compiler, node, target_id, EdgeKind::Forward, class_set);
            table_entries[class_id] = compiler.code.len() as u32;
            compiler.code.push(Instr::Forward(target_id));
        }
        compiler.class_tables.extend(table_entries);
        Ok(ServiceConfig {
            instances: gateway.instances,
            workers: gateway.workers,
            queue_capacity: None,
            discipline: Discipline::Fifo,
            timeout_ns: None,
            entry_pc,
            autoscaling: None,
            role: ServiceRole::ApiGateway,
            call_policies: Vec::new(),
            shed_above: None,
            drop_expired: false,
            bulkheads: Vec::new(),
            concurrency_limit: None,
        })
    }

    pub(super) fn function(
        &self,
        node: NodeId,
        key: &str,
        function: &RawFunction,
        classes: &[String],
        compiler: &mut Compiler,
    ) -> Result<FunctionConfig, SpecError> {
        if function.concurrency == 0 || function.concurrency > MAX_WORKERS {
            return Err(self.invalid(
                format!("function {key} has a concurrency of {}", function.concurrency),
                &["nodes", key, "concurrency"],
                &format!("give between 1 and {MAX_WORKERS} concurrent containers"),
            ));
        }
        let cold_start_sampler = self.sampler(&function.cold_start, compiler, &["nodes", key, "cold_start"])?;
        if function.provisioned > function.concurrency {
            return Err(self.invalid(
                format!(
                    "function {key} has {} provisioned containers, more than its concurrency of {}",
                    function.provisioned, function.concurrency
                ),
                &["nodes", key, "provisioned"],
                "provisioned containers count toward the concurrency: give at most that many",
            ));
        }
        if function.memory_mb == 0 || function.memory_mb > 1_048_576 {
            return Err(self.invalid(
                format!("function {key} has {} MB of memory", function.memory_mb),
                &["nodes", key, "memory_mb"],
                "give the memory per container in MB, such as 512",
            ));
        }
        let account = match &function.account {
            None => NONE,
            Some(name) => match self.raw.accounts.get_index_of(name) {
                Some(index) => {
                    let concurrency = self.raw.accounts[index].concurrency;
                    if concurrency == 0 || function.provisioned > concurrency {
                        return Err(self.invalid(
                            format!("account \"{name}\" has a concurrency of {concurrency} for function {key} with {} provisioned", function.provisioned),
                            &["accounts", &format!("\"{name}\"")],
                            "give the account a concurrency of at least 1, and at least the provisioned containers of each function",
                        ));
                    }
                    index as u32
                }
                None => {
                    let known: Vec<&str> = self.raw.accounts.keys().map(String::as_str).collect();
                    return Err(self.invalid(
                        format!("function {key} names account \"{name}\", which is not defined"),
                        &["nodes", key, "account"],
                        &if known.is_empty() {
                            "define it at the top: accounts: {\"main\": (concurrency: 1000)}".to_string()
                        } else {
                            format!("name one of {}", known.join(", "))
                        },
                    ));
                }
            },
        };
        let billing = function.billing.unwrap_or(RawFunctionBilling {
            per_gb_second: 0.0,
            granularity: None,
            provisioned_per_gb_second: 0.0,
        });
        let granularity_ns = billing.granularity.map_or(1_000_000, |g| g.ns);
        if granularity_ns == 0
            || !(billing.per_gb_second.is_finite() && billing.per_gb_second >= 0.0)
            || !(billing.provisioned_per_gb_second.is_finite() && billing.provisioned_per_gb_second >= 0.0)
        {
            return Err(self.invalid(
                format!("function {key} has a billing granularity of {granularity_ns} ns or a negative price"),
                &["nodes", key, "billing"],
                "give prices of 0 or more and a granularity above 0, such as granularity: \"1ms\"",
            ));
        }
        let entry_pc = compiler.code.len() as u32;
        let context = StepContext { node, classes: vec![true; classes.len()], certain: true };
        self.steps(&function.steps, key, classes, &context, compiler)?;
        compiler.code.push(Instr::Respond);
        Ok(FunctionConfig {
            concurrency: function.concurrency,
            cold_start_sampler,
            keep_alive_ns: function.keep_alive.ns,
            entry_pc,
            memory_mb: function.memory_mb,
            provisioned: function.provisioned,
            account,
            per_gb_second: billing.per_gb_second,
            granularity_ns,
            provisioned_per_gb_second: billing.provisioned_per_gb_second,
        })
    }

    pub(super) fn autoscaling(
        &self,
        key: &str,
        instances: u32,
        autoscaling: &RawAutoscaling,
        compiler: &mut Compiler,
    ) -> Result<AutoscalingConfig, SpecError> {
        let anchors = ["nodes", key, "autoscaling"];
        if autoscaling.min == 0 || autoscaling.min > autoscaling.max || autoscaling.max > MAX_INSTANCES {
            return Err(self.invalid(
                format!("node {key} autoscales between {} and {} instances", autoscaling.min, autoscaling.max),
                &anchors,
                &format!("give 1 ≤ min ≤ max ≤ {MAX_INSTANCES}"),
            ));
        }
        if instances < autoscaling.min || instances > autoscaling.max {
            return Err(self.invalid(
                format!(
                    "node {key} starts with {instances} instances, outside its autoscaling range {}..={}",
                    autoscaling.min, autoscaling.max
                ),
                &["nodes", key, "instances"],
                "start with a number of instances between min and max",
            ));
        }
        let (metric, target) = match autoscaling.target {
            RawMetric::Utilization(target) => (Metric::Utilization, target),
            RawMetric::RequestsPerInstance(target) => (Metric::RequestsPerInstance, target),
            RawMetric::QueuePerInstance(target) => (Metric::QueuePerInstance, target),
        };
        if !(target > 0.0 && target.is_finite()) || (metric == Metric::Utilization && target > 1.0) {
            return Err(self.invalid(
                format!("node {key} has an autoscaling target of {target}"),
                &[anchors[0], anchors[1], "target"],
                "give a positive target; a utilization target is between 0 and 1, such as Utilization(0.6)",
            ));
        }
        let interval_ns = autoscaling.interval.map_or(15_000_000_000, |d| d.ns);
        if interval_ns == 0 {
            return Err(self.invalid(
                format!("node {key} has an autoscaling interval of 0"),
                &[anchors[0], anchors[1], "interval"],
                "give a positive interval, such as \"15s\"",
            ));
        }
        let provisioning_sampler =
            self.optional_sampler(&autoscaling.provisioning, compiler, &[anchors[0], anchors[1], "provisioning"])?;
        Ok(AutoscalingConfig {
            metric,
            target,
            min: autoscaling.min,
            max: autoscaling.max,
            interval_ns,
            cooldown_ns: autoscaling.cooldown.map_or(60_000_000_000, |d| d.ns),
            provisioning_sampler,
        })
    }

    pub(super) fn cost(&self, key: &str, cost: Option<&RawCost>) -> Result<Cost, SpecError> {
        /// The highest price accepted, per instance-hour or per request.
        const MAX_PRICE: f64 = 1e12;
        let Some(cost) = cost else { return Ok(Cost::default()) };
        for (value, field) in [(cost.per_instance_hour, "per_instance_hour"), (cost.per_request, "per_request")] {
            // Prices far above any real one would overflow the run's cost to infinity.
            if !(value.is_finite() && (0.0..=MAX_PRICE).contains(&value)) {
                return Err(self.invalid(
                    format!("node {key} has a {field} price of {}", crate::params::format_number(value)),
                    &["nodes", key, "cost", field],
                    &format!(
                        "give a price from 0 to {MAX_PRICE:e}, in any currency (all prices of a file in the same one)"
                    ),
                ));
            }
        }
        Ok(Cost { per_instance_hour: cost.per_instance_hour, per_request: cost.per_request })
    }
}
