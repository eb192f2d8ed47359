//! Validation of services: instances, workers, queues and disciplines, and their steps
//! compiled into programs (Work, Call, FanOut, Choose, Forward and the rest).

use super::*;

impl Validator<'_> {
    pub(super) fn service(
        &self,
        node_id: NodeId,
        name: &str,
        service: &RawService,
        classes: &[String],
        compiler: &mut Compiler,
    ) -> Result<ServiceConfig, SpecError> {
        let key = format!("\"{name}\"");
        if service.instances == 0 || service.workers == 0 {
            let field = if service.instances == 0 { "instances" } else { "workers" };
            return Err(self
                .error(SpecErrorKind::InvalidValue, format!("node \"{name}\" has 0 {field}"), &["nodes", &key, field])
                .with_help(format!("a service needs at least 1 {}", field.trim_end_matches('s'))));
        }
        if service.instances > MAX_INSTANCES || service.workers > MAX_WORKERS {
            let (field, value, limit) = if service.instances > MAX_INSTANCES {
                ("instances", service.instances, MAX_INSTANCES)
            } else {
                ("workers", service.workers, MAX_WORKERS)
            };
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("node \"{name}\" has {value} {field}, more than the limit of {limit}"),
                    &["nodes", &key, field],
                )
                .with_help(format!("model at most {limit} {field}; a larger pool behaves like one without queueing")));
        }
        if service.timeout == Some(crate::units::Duration::from_ns(0)) {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("node \"{name}\" has a timeout of 0"),
                    &["nodes", &key, "timeout"],
                )
                .with_help("give a positive timeout, or leave it out for none"));
        }
        let entry_pc = compiler.code.len() as u32;
        let context = StepContext { node: node_id, classes: vec![true; classes.len()], certain: true };
        self.steps(&service.steps, &key, classes, &context, compiler)?;
        compiler.code.push(Instr::Respond);
        let autoscaling = match &service.autoscaling {
            Some(autoscaling) => Some(self.autoscaling(&key, service.instances, autoscaling, compiler)?),
            None => None,
        };
        let mut call_policies = Vec::new();
        for (callee_name, raw_policy) in &service.calls {
            let callee = self.node_id(callee_name, &["nodes", &key, "calls"], &format!("node {key}'s call policy"))?;
            let calls_it = compiler
                .edges
                .iter()
                .any(|edge| edge.from == node_id && edge.to == callee && edge.kind == EdgeKind::Call);
            if !calls_it {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("node {key} has a call policy for \"{callee_name}\" but never calls it"),
                        &["nodes", &key, "calls", &format!("\"{callee_name}\"")],
                    )
                    .with_help("policies apply to Call and Parallel steps; add the call or remove the policy"));
            }
            let quoted = format!("\"{callee_name}\"");
            let policy = resilience::call_policy(self.source, raw_policy, &["nodes", &key, "calls", &quoted])?;
            compiler.call_policies.push(CallPolicyEdge { caller: node_id, source: NONE, callee, policy });
            call_policies.push((callee, compiler.call_policies.len() as u32 - 1));
        }
        let mut bulkheads = Vec::new();
        for (callee_name, bulkhead) in &service.bulkheads {
            let quoted = format!("\"{callee_name}\"");
            let anchors = ["nodes", &key, "bulkheads", &quoted];
            let callee = self.node_id(callee_name, &anchors, &format!("node {key}'s bulkhead"))?;
            let called = compiler.code[entry_pc as usize..].contains(&Instr::Call(callee));
            if !called {
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("node {key} has a bulkhead for \"{callee_name}\" but no Call step to it"),
                        &anchors,
                    )
                    .with_help("bulkheads apply to Call steps; add the call or remove the bulkhead"));
            }
            if bulkhead.limit == 0 {
                return Err(self
                    .error(SpecErrorKind::InvalidValue, format!("node {key} has a bulkhead of 0 calls"), &anchors)
                    .with_help("allow at least 1 call at once, such as Bulkhead(limit: 4)"));
            }
            bulkheads.push((callee, bulkhead.limit, bulkhead.queue));
        }
        let quorum_targets = compiler.code[entry_pc as usize..].iter().filter_map(|instr| match instr {
            Instr::Quorum { start, len, .. } => Some(*start as usize..*start as usize + *len as usize),
            _ => None,
        });
        for range in quorum_targets {
            let targets = &compiler.parallel_targets[range];
            if let Some((callee, _)) = call_policies.iter().find(|(callee, _)| targets.contains(callee)) {
                let callee = &self.raw.nodes.get_index(callee.index()).expect("a node").0;
                return Err(self
                    .error(
                        SpecErrorKind::InvalidValue,
                        format!("node {key} has a call policy for \"{callee}\", which it calls in a Quorum"),
                        &["nodes", &key, "calls", &format!("\"{callee}\"")],
                    )
                    .with_help("a quorum's calls take no policy yet: call the node with Call, or remove the policy"));
            }
        }
        if service.discipline == RawDiscipline::Priority && self.raw.priorities.is_empty() {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("node {key} serves by priority, but the topology gives no priorities"),
                    &["nodes", &key, "Priority"],
                )
                .with_help("add priorities: {\"checkout\": 1} to the topology (classes not listed have 0)"));
        }
        if service.shed_above == Some(0) {
            return Err(self
                .error(
                    SpecErrorKind::InvalidValue,
                    format!("node {key} sheds above 0 waiting requests"),
                    &["nodes", &key, "shed_above"],
                )
                .with_help("give at least 1: requests are refused when that many already wait"));
        }
        let concurrency_limit = match &service.concurrency_limit {
            Some(raw) => Some(self.concurrency_limit(&key, raw, service.discipline)?),
            None => None,
        };
        Ok(ServiceConfig {
            concurrency_limit,
            call_policies,
            shed_above: service.shed_above,
            drop_expired: service.drop_expired,
            bulkheads,
            instances: service.instances,
            workers: service.workers,
            queue_capacity: service.queue,
            discipline: service.discipline,
            timeout_ns: service.timeout.map(|t| t.ns),
            entry_pc,
            autoscaling,
            role: ServiceRole::Service,
        })
    }

    /// The targets of a Parallel or Quorum step (`keyword`) as call edges, appended to
    /// `parallel_targets`; returns the index of the first.
    pub(super) fn fan_out_targets(
        &self,
        targets: &[String],
        keyword: &str,
        key: &str,
        what: &str,
        context: &StepContext,
        compiler: &mut Compiler,
    ) -> Result<u32, SpecError> {
        let start = compiler.parallel_targets.len() as u32;
        for target in targets {
            let callee = self.node_id(target, &["nodes", key, keyword], what)?;
            compiler.edges.push(Edge {
                from: context.node,
                to: callee,
                kind: EdgeKind::Call,
                certain: context.certain,
                classes: context.classes.clone(),
                fan_out: true,
            });
            compiler.parallel_targets.push(callee);
        }
        Ok(start)
    }

    pub(super) fn steps(
        &self,
        steps: &[RawStep],
        key: &str,
        classes: &[String],
        context: &StepContext,
        compiler: &mut Compiler,
    ) -> Result<(), SpecError> {
        let what = format!("node {key}");
        for step in steps {
            match step {
                RawStep::Work(spec) => {
                    let sampler = self.sampler(spec, compiler, &["nodes", key, "Work"])?;
                    compiler.code.push(Instr::Work(sampler));
                }
                RawStep::Call(target) | RawStep::Forward(target) => {
                    let keyword = if matches!(step, RawStep::Call(_)) { "Call" } else { "Forward" };
                    let callee = self.node_id(target, &["nodes", key, keyword], &what)?;
                    let kind = if keyword == "Call" { EdgeKind::Call } else { EdgeKind::Forward };
                    compiler.edges.push(Edge {
                        from: context.node,
                        to: callee,
                        kind,
                        certain: context.certain,
                        classes: context.classes.clone(),
                        fan_out: false,
                    });
                    compiler.code.push(if keyword == "Call" { Instr::Call(callee) } else { Instr::Forward(callee) });
                }
                RawStep::Parallel(targets) => {
                    if targets.is_empty() {
                        return Err(self
                            .error(
                                SpecErrorKind::InvalidValue,
                                format!("node {key} has an empty Parallel"),
                                &["nodes", key, "Parallel"],
                            )
                            .with_help("list the nodes to call at once, such as Parallel([\"a\", \"b\"])"));
                    }
                    let start = self.fan_out_targets(targets, "Parallel", key, &what, context, compiler)?;
                    compiler.code.push(Instr::Parallel { start, len: targets.len() as u32 });
                }
                RawStep::Quorum { of, wait, losers } => {
                    if of.is_empty() || of.len() > MAX_QUORUM_TARGETS {
                        return Err(self
                            .error(
                                SpecErrorKind::InvalidValue,
                                format!("node {key} has a Quorum of {} nodes", of.len()),
                                &["nodes", key, "Quorum"],
                            )
                            .with_help(format!(
                                "call between 1 and {MAX_QUORUM_TARGETS} nodes, such as Quorum(of: [\"a\", \"b\", \"c\"], wait: 2)"
                            )));
                    }
                    if *wait == 0 || *wait as usize > of.len() {
                        return Err(self
                            .error(
                                SpecErrorKind::InvalidValue,
                                format!("node {key} waits for {wait} of {} answers", of.len()),
                                &["nodes", key, "wait"],
                            )
                            .with_help(format!("wait for between 1 (the first success) and {}", of.len())));
                    }
                    let start = self.fan_out_targets(of, "Quorum", key, &what, context, compiler)?;
                    compiler.code.push(Instr::Quorum {
                        start,
                        len: of.len() as u16,
                        wait: *wait as u16,
                        cancel: *losers == RawLosers::Cancel,
                    });
                }
                RawStep::ByClass { branches, otherwise } => {
                    for class in branches.keys() {
                        if !classes.contains(class) {
                            return Err(self
                                .error(
                                    SpecErrorKind::UnknownName,
                                    format!("node {key} has a branch for class \"{class}\", which no workload sends"),
                                    &["nodes", key, "ByClass", &format!("\"{class}\"")],
                                )
                                .with_help(suggest(class, &classes.iter().map(String::as_str).collect::<Vec<_>>())));
                        }
                    }
                    let table = compiler.class_tables.len() as u32;
                    compiler.class_tables.extend(std::iter::repeat_n(NONE, classes.len()));
                    compiler.code.push(Instr::ByClass { table });
                    let mut exits = Vec::new();
                    for (class, branch_steps) in branches {
                        let class_id = classes.iter().position(|c| c == class).expect("checked above");
                        compiler.class_tables[table as usize + class_id] = compiler.code.len() as u32;
                        let mut only = vec![false; classes.len()];
                        only[class_id] = context.classes[class_id];
                        let branch_context = StepContext { classes: only, ..context.clone() };
                        self.steps(branch_steps, key, classes, &branch_context, compiler)?;
                        exits.push(compiler.code.len());
                        compiler.code.push(Instr::Jump(NONE));
                    }
                    let otherwise_pc = compiler.code.len() as u32;
                    let mut rest = context.classes.clone();
                    for (class_id, slot) in rest.iter_mut().enumerate() {
                        if compiler.class_tables[table as usize + class_id] == NONE {
                            compiler.class_tables[table as usize + class_id] = otherwise_pc;
                        } else {
                            *slot = false;
                        }
                    }
                    self.steps(otherwise, key, classes, &StepContext { classes: rest, ..context.clone() }, compiler)?;
                    let end = compiler.code.len() as u32;
                    for exit in exits {
                        compiler.code[exit] = Instr::Jump(end);
                    }
                }
                RawStep::Choose(options) => {
                    let total: f64 = options.iter().map(|(p, _)| p).sum();
                    if options.is_empty()
                        || options.iter().any(|(p, _)| !(p.is_finite() && *p >= 0.0))
                        || total > 1.0 + 1e-9
                    {
                        return Err(self
                            .error(SpecErrorKind::InvalidValue, format!("node {key} has a Choose whose probabilities add up to {}", round_for_display(total)), &["nodes", key, "Choose"])
                            .with_help("give each option a probability between 0 and 1, adding up to at most 1 (the rest runs no steps)"));
                    }
                    let table = compiler.choose_tables.len() as u32;
                    let choose_pc = compiler.code.len();
                    compiler.code.push(Instr::Choose { table, len: options.len() as u32, otherwise: NONE });
                    let mut cumulative = 0.0;
                    let mut exits = Vec::new();
                    for (probability, option_steps) in options {
                        cumulative += probability;
                        compiler.choose_tables.push((cumulative, compiler.code.len() as u32));
                        let certain = context.certain && *probability >= 1.0;
                        self.steps(option_steps, key, classes, &StepContext { certain, ..context.clone() }, compiler)?;
                        exits.push(compiler.code.len());
                        compiler.code.push(Instr::Jump(NONE));
                    }
                    let end = compiler.code.len() as u32;
                    for exit in exits {
                        compiler.code[exit] = Instr::Jump(end);
                    }
                    compiler.code[choose_pc] = Instr::Choose { table, len: options.len() as u32, otherwise: end };
                }
            }
        }
        Ok(())
    }
}
