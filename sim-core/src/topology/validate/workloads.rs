//! Validation of the workloads: open, closed and traced sources, their arrival processes,
//! class mixes, keys and clients, resolved to the entry nodes they send to.

use super::*;

impl Validator<'_> {
    pub(super) fn sources(
        &self,
        compiler: &mut Compiler,
        regions: &Regions,
        node_regions: &[u32],
    ) -> Result<(Vec<Source>, Vec<String>), SpecError> {
        let mut classes: Vec<String> = Vec::new();
        let mut sources = Vec::new();
        for raw_source in &self.raw.workload {
            let trace_mix;
            let (name, mix, keys, to, latency, region, client) = match raw_source {
                RawWorkload::Open { name, classes, keys, to, latency, region, client, .. }
                | RawWorkload::Closed { name, classes, keys, to, latency, region, client, .. } => {
                    (name, classes, keys, to, latency, region, client)
                }
                RawWorkload::Trace { name, classes, keys, to, latency, region, client, .. } => {
                    trace_mix = Some(self.trace_classes(name, classes.as_deref())?);
                    (name, &trace_mix, keys, to, latency, region, client)
                }
            };
            let quoted = format!("\"{name}\"");
            let here = ["workload", quoted.as_str()];
            if sources.iter().any(|s: &Source| &s.name == name) {
                return Err(self
                    .error(SpecErrorKind::InvalidValue, format!("workload \"{name}\" is defined twice"), &here)
                    .with_help("give each workload its own name"));
            }
            let entry_node = self.node_id(to, &[here[0], here[1], "to"], &format!("workload \"{name}\""))?;
            let default_mix = indexmap::IndexMap::from([("default".to_string(), 1.0)]);
            let mix = mix.as_ref().unwrap_or(&default_mix);
            let total: f64 = mix.values().sum();
            if mix.is_empty() || (total - 1.0).abs() > 1e-6 || mix.values().any(|p| !(p.is_finite() && *p >= 0.0)) {
                return Err(self
                    .error(
                        SpecErrorKind::ClassMix,
                        format!("the class mix of workload \"{name}\" adds up to {}, not 1", round_for_display(total)),
                        &[here[0], here[1], "classes"],
                    )
                    .with_help("give each class a share between 0 and 1 so that the shares add up to 1, such as {\"read\": 0.9, \"write\": 0.1}"));
            }
            let mut class_ids = Vec::new();
            for class in mix.keys() {
                let id = match classes.iter().position(|c| c == class) {
                    Some(id) => id,
                    None => {
                        classes.push(class.clone());
                        classes.len() - 1
                    }
                };
                class_ids.push(id as u16);
            }
            let weights: Vec<f64> = mix.values().copied().collect();
            let class_cumulative = cumulative_weights(&weights, "class mix")
                .map_err(|m| self.error(SpecErrorKind::ClassMix, m, &[here[0], here[1], "classes"]))?;
            let keys = match keys {
                None => KeySampler::Single,
                Some(RawKeys::Uniform { n }) | Some(RawKeys::Zipf { n, .. }) if *n == 0 => {
                    return Err(self
                        .error(
                            SpecErrorKind::InvalidValue,
                            format!("workload \"{name}\" has a key space of 0 keys"),
                            &[here[0], here[1], "keys"],
                        )
                        .with_help("set n to the number of distinct keys, at least 1"));
                }
                Some(RawKeys::Uniform { n }) => KeySampler::Uniform { n: *n },
                Some(RawKeys::Zipf { n, s }) => {
                    if !(s.is_finite() && *s >= 0.0) {
                        return Err(self
                            .error(
                                SpecErrorKind::InvalidValue,
                                format!("workload \"{name}\" has Zipf exponent {s}"),
                                &[here[0], here[1], "keys"],
                            )
                            .with_help("the exponent s must be zero or positive; about 1 is typical"));
                    }
                    KeySampler::Zipf(ZipfSampler::new(*n, *s))
                }
            };
            let region = match region {
                Some(region) => self.region_id(regions, region, &[here[0], here[1], "region"])?,
                None => node_regions[entry_node],
            };
            let latency_sampler = match latency {
                Some(spec) => self.sampler(spec, compiler, &[here[0], here[1], "latency"])?,
                None => regions.sampler(region, node_regions[entry_node]),
            };
            // Open and trace workloads draw client ids among `clients`.
            if let RawWorkload::Open { clients: Some(0), .. } | RawWorkload::Trace { clients: Some(0), .. } = raw_source
            {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("workload \"{name}\" has 0 clients"),
                        &[here[0], here[1], "clients"],
                    )
                    .with_help("clients is the number of distinct client ids, at least 1"));
            }
            let (arrivals, clients) = match raw_source {
                RawWorkload::Open { arrivals, clients, .. } => (self.arrivals(name, arrivals)?, clients.unwrap_or(1)),
                RawWorkload::Closed { users, think, .. } => {
                    if *users > MAX_USERS {
                        return Err(self
                            .error(
                                SpecErrorKind::InvalidValue,
                                format!(
                                    "closed workload \"{name}\" has {users} users, more than the limit of {MAX_USERS}"
                                ),
                                &[here[0], here[1], "users"],
                            )
                            .with_help("use an open workload for very large populations"));
                    }
                    if *users == 0 {
                        return Err(self
                            .error(
                                SpecErrorKind::InvalidValue,
                                format!("closed workload \"{name}\" has 0 users"),
                                &[here[0], here[1], "users"],
                            )
                            .with_help("give it at least one user"));
                    }
                    let think_sampler = self.sampler(think, compiler, &[here[0], here[1], "think"])?;
                    (Arrivals::Closed { users: *users, think_sampler }, *users)
                }
                RawWorkload::Trace { clients, .. } => {
                    let clients = clients.unwrap_or(1);
                    let class_names = mix.keys().cloned().zip(class_ids.iter().copied()).collect();
                    let own_latency = latency.is_some();
                    let spec =
                        self.trace_spec(raw_source, class_names, regions, node_regions[entry_node], own_latency)?;
                    (Arrivals::Trace(Box::new(spec)), clients)
                }
            };
            let client_policy = match client {
                Some(raw_policy) => {
                    let policy = resilience::call_policy(self.source, raw_policy, &[here[0], here[1], "client"])?;
                    compiler.call_policies.push(CallPolicyEdge {
                        caller: NodeId::NONE,
                        source: sources.len() as u32,
                        callee: entry_node,
                        policy,
                    });
                    compiler.call_policies.len() as u32 - 1
                }
                None => NONE,
            };
            sources.push(Source {
                client_policy,
                name: name.clone(),
                arrivals,
                class_cumulative,
                class_ids: class_ids.into(),
                keys,
                clients,
                entry_node,
                latency_sampler,
                own_latency: latency.is_some(),
                answer_samplers: Box::new([]),
                region,
            });
        }
        if classes.len() > u16::MAX as usize {
            return Err(SpecError::new(SpecErrorKind::InvalidValue, "more than 65535 request classes"));
        }
        Ok((sources, classes))
    }

    pub(super) fn arrivals(&self, name: &str, arrivals: &RawArrivals) -> Result<Arrivals, SpecError> {
        let quoted = format!("\"{name}\"");
        let anchors = ["workload", quoted.as_str(), "arrivals"];
        let invalid = |message: String, help: &str| {
            self.error(SpecErrorKind::InvalidValue, message, &anchors).with_help(help.to_string())
        };
        let rates: Vec<f64> = match arrivals {
            RawArrivals::Poisson { rate } | RawArrivals::Constant { rate } => vec![rate.per_s],
            RawArrivals::Mmpp { states } => states.iter().map(|s| s.rate.per_s).collect(),
            RawArrivals::Profile { steps, .. } => steps.iter().map(|s| s.rate.per_s).collect(),
        };
        if let Some(rate) = rates.iter().find(|rate| **rate > MAX_RATE_PER_S) {
            return Err(invalid(
                format!(
                    "workload \"{name}\" has a rate of {}/s, more than one request per nanosecond",
                    crate::params::format_number(*rate)
                ),
                "give a rate of at most 1000000000/s",
            ));
        }
        Ok(match arrivals {
            RawArrivals::Poisson { rate } | RawArrivals::Constant { rate } if rate.per_s <= 0.0 => {
                return Err(invalid(
                    format!("workload \"{name}\" has an arrival rate of 0"),
                    "give a positive rate, such as \"100/s\"",
                ));
            }
            RawArrivals::Poisson { rate } => Arrivals::Poisson { rate_per_s: rate.per_s },
            RawArrivals::Constant { rate } => Arrivals::Constant { rate_per_s: rate.per_s },
            RawArrivals::Mmpp { states } => {
                if states.is_empty() {
                    return Err(invalid(
                        format!("workload \"{name}\" has an Mmpp with no states"),
                        "list at least one (rate, mean_duration) state",
                    ));
                }
                if states.iter().any(|s| s.mean_duration.ns == 0) {
                    return Err(invalid(
                        format!("workload \"{name}\" has an Mmpp state with mean_duration 0"),
                        "each state must last a positive time",
                    ));
                }
                if states.iter().all(|s| s.rate.per_s == 0.0) {
                    return Err(invalid(
                        format!("workload \"{name}\" has an Mmpp whose rates are all 0"),
                        "give at least one state a positive rate",
                    ));
                }
                Arrivals::Mmpp { states: states.iter().map(|s| (s.rate.per_s, s.mean_duration.ns as f64)).collect() }
            }
            RawArrivals::Profile { steps, period } => {
                if steps.first().map(|s| s.at.ns) != Some(0) {
                    return Err(invalid(
                        format!("the rate profile of workload \"{name}\" does not start at \"0s\""),
                        "make the first step Step(at: \"0s\", rate: ...)",
                    ));
                }
                if steps.windows(2).any(|pair| pair[1].at <= pair[0].at) {
                    return Err(invalid(
                        format!("the rate profile of workload \"{name}\" has steps out of order"),
                        "list the steps by increasing time",
                    ));
                }
                if let Some(period) = period {
                    if period.ns <= steps.last().map_or(0, |s| s.at.ns) {
                        return Err(invalid(
                            format!("the rate profile of workload \"{name}\" has a period shorter than its steps"),
                            "the period must end after the last step starts",
                        ));
                    }
                }
                if steps.iter().all(|s| s.rate.per_s == 0.0) {
                    return Err(invalid(
                        format!("the rate profile of workload \"{name}\" is 0 everywhere"),
                        "give at least one step a positive rate",
                    ));
                }
                Arrivals::Profile {
                    steps: steps.iter().map(|s| (s.at.ns, s.rate.per_s)).collect(),
                    period_ns: period.map(|p| p.ns),
                }
            }
        })
    }
}
