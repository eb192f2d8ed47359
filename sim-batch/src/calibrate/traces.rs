//! From spans to what each node did: the trees of each trace walked from their roots, a
//! service's visits grouped by request class and by the pattern of calls they made (calls
//! that overlap in time ran in parallel), its own time (the span minus the time spent
//! waiting on calls), the time each leaf took to answer, and the network time between a
//! client span and the server span it caused.

use std::collections::BTreeMap;

use super::otlp::{Span, SpanKind, SpanSet};

/// How far a call may stick out of its caller's span before it counts as clock skew: times
/// rounded to microseconds (Jaeger's) make a child end up to 1 µs after its parent.
const SKEW_TOLERANCE_NS: u64 = 1_000;

/// What the traces say, node by node.
#[derive(Debug, Default)]
pub struct Observations {
    /// The nodes, in the order first seen.
    pub nodes: Vec<NodeObservations>,
    /// The entry nodes: root requests per node and class, with their start times.
    pub entries: Vec<Entry>,
    /// One-way network times between a caller and a traced callee, ns.
    pub links: BTreeMap<(usize, usize), Vec<u64>>,
    /// One-way times between a root client span (a load generator's) and its server, ns.
    pub client_ns: Vec<u64>,
    /// What could not be used, counted.
    pub warnings: Warnings,
    /// Spans read.
    pub spans: u64,
    /// Traces with a root span.
    pub traces: u64,
    /// First and last span times, ns since the epoch.
    pub range_ns: (u64, u64),
}

/// Counts of what the traces got wrong.
#[derive(Debug, Default)]
pub struct Warnings {
    /// Traces without any root span (a partial export).
    pub traces_without_root: u64,
    /// Spans whose parent is not in their trace.
    pub orphan_spans: u64,
    /// Calls that began before their caller's span or ended after it (clock skew); clamped.
    pub skewed_calls: u64,
    /// Server spans longer than the client span that caused them (clock skew).
    pub skewed_servers: u64,
    /// Consumer spans under a producer: asynchronous work that the written model leaves out.
    pub async_consumers: u64,
    /// Spans whose ids or times could not be read, with the first reason.
    pub unreadable: (u64, Option<String>),
    /// Root spans of a client kind with no traced server under them.
    pub client_only_roots: u64,
}

/// Root requests arriving at one node.
#[derive(Debug)]
pub struct Entry {
    /// The node they arrive at.
    pub node: usize,
    /// Requests per class, in the order first seen.
    pub classes: Vec<(String, u64)>,
    /// Start times of the root spans, ns since the epoch.
    pub starts_ns: Vec<u64>,
}

/// One node: a traced service, or a leaf seen only through its callers' client spans.
#[derive(Debug)]
pub struct NodeObservations {
    /// Its name (`service.name`, or the peer a client span names).
    pub name: String,
    /// Whether any server span of it was seen (else it is a leaf: a database, a cache).
    pub traced: bool,
    /// Its visits per request class, in the order first seen.
    pub classes: Vec<ClassObservations>,
}

/// A node's visits for one request class.
#[derive(Debug)]
pub struct ClassObservations {
    /// The class.
    pub class: String,
    /// The patterns of calls made, in the order first seen.
    pub patterns: Vec<Pattern>,
}

impl ClassObservations {
    /// Visits of every pattern.
    pub fn visits(&self) -> usize {
        self.patterns.iter().map(|p| p.own_ns.len()).sum()
    }
}

/// The visits that made the same calls in the same order.
#[derive(Debug)]
pub struct Pattern {
    /// Groups of calls in order; the calls of a group ran at once.
    pub groups: Vec<Vec<usize>>,
    /// Each visit's own time (a leaf's: its answer time as the caller saw it), ns.
    pub own_ns: Vec<u64>,
}

/// A call made by a span: to a traced server span, or to a leaf.
struct Call {
    callee: usize,
    start_ns: u64,
    end_ns: u64,
    server: Option<usize>,
}

/// The spans of one trace, with their children.
struct Tree<'a> {
    spans: Vec<&'a Span>,
    children: Vec<Vec<usize>>,
}

impl Observations {
    /// Walks every trace of `set`.
    pub fn from_spans(set: &SpanSet) -> Self {
        let mut observations = Observations { spans: set.spans.len() as u64, ..Observations::default() };
        observations.warnings.unreadable = set.unreadable.clone();
        if let (Some(first), Some(last)) =
            (set.spans.iter().map(|s| s.start_ns).min(), set.spans.iter().map(|s| s.end_ns).max())
        {
            observations.range_ns = (first, last);
        }
        let mut order: Vec<usize> = (0..set.spans.len()).collect();
        order.sort_by_key(|&i| (set.spans[i].trace_id, set.spans[i].start_ns, i));
        for trace in order.chunk_by(|&a, &b| set.spans[a].trace_id == set.spans[b].trace_id) {
            let (tree, orphans) = Tree::new(trace.iter().map(|&i| &set.spans[i]).collect());
            let roots: Vec<usize> = (0..tree.spans.len()).filter(|&i| tree.spans[i].parent_id == 0).collect();
            if roots.is_empty() {
                observations.warnings.traces_without_root += 1;
                continue;
            }
            observations.warnings.orphan_spans += orphans;
            observations.traces += 1;
            for root in roots {
                observations.root(set, &tree, root);
            }
        }
        for entry in &mut observations.entries {
            entry.starts_ns.sort_unstable();
        }
        observations
    }

    fn root(&mut self, set: &SpanSet, tree: &Tree, root: usize) {
        let span = tree.spans[root];
        let server = match span.kind {
            SpanKind::Client | SpanKind::Producer => {
                let Some(server) = tree.children[root].iter().copied().find(|&c| is_server(tree.spans[c])) else {
                    self.warnings.client_only_roots += 1;
                    return;
                };
                let inner = tree.spans[server].duration_ns();
                if inner > span.duration_ns() {
                    self.warnings.skewed_servers += 1;
                }
                self.client_ns.push(span.duration_ns().saturating_sub(inner) / 2);
                server
            }
            _ => root,
        };
        let class = class_of(tree.spans[server]).or_else(|| class_of(span)).unwrap_or_default();
        let node = self.node(&set.services[tree.spans[server].service as usize], true);
        let entry = match self.entries.iter().position(|e| e.node == node) {
            Some(i) => i,
            None => {
                self.entries.push(Entry { node, classes: Vec::new(), starts_ns: Vec::new() });
                self.entries.len() - 1
            }
        };
        let entry = &mut self.entries[entry];
        entry.starts_ns.push(span.start_ns);
        match entry.classes.iter_mut().find(|(c, _)| *c == class) {
            Some((_, n)) => *n += 1,
            None => entry.classes.push((class.clone(), 1)),
        }
        self.visit(set, tree, server, node, &class);
    }

    /// Records one visit of `node` by the server span `index`, and the calls it made.
    fn visit(&mut self, set: &SpanSet, tree: &Tree, index: usize, node: usize, class: &str) {
        let span = tree.spans[index];
        let mut calls = Vec::new();
        self.calls(set, tree, index, span.service, &mut calls);
        calls.sort_by_key(|c| (c.start_ns, c.end_ns));
        let (from, to) = (span.start_ns, span.end_ns.max(span.start_ns));
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let (mut waited_ns, mut group_end_ns, mut covered_to_ns) = (0u64, 0u64, from);
        for call in &mut calls {
            if call.start_ns < from || call.end_ns > to {
                // Beyond a microsecond, the resolution of Jaeger's times, it is clock skew.
                if call.start_ns + SKEW_TOLERANCE_NS < from || call.end_ns > to + SKEW_TOLERANCE_NS {
                    self.warnings.skewed_calls += 1;
                }
                call.start_ns = call.start_ns.clamp(from, to);
                call.end_ns = call.end_ns.clamp(call.start_ns, to);
            }
            match groups.last_mut() {
                // Calls at once are one group, in the order their nodes were first seen, so
                // that the same calls make the same pattern whichever answered first.
                Some(group) if call.start_ns < group_end_ns => {
                    let at = group.partition_point(|&n| n < call.callee);
                    group.insert(at, call.callee);
                }
                _ => groups.push(vec![call.callee]),
            }
            group_end_ns = group_end_ns.max(call.end_ns);
            // The union of the call intervals: the time the span spent waiting.
            let start = call.start_ns.max(covered_to_ns);
            if call.end_ns > start {
                waited_ns += call.end_ns - start;
                covered_to_ns = call.end_ns;
            }
        }
        let own_ns = (to - from).saturating_sub(waited_ns);
        self.record(node, class, groups, own_ns);
        for call in &calls {
            match call.server {
                Some(server) => {
                    let inner = tree.spans[server].duration_ns();
                    let outer = call.end_ns - call.start_ns;
                    if inner > outer {
                        self.warnings.skewed_servers += 1;
                    }
                    self.links.entry((node, call.callee)).or_default().push(outer.saturating_sub(inner) / 2);
                    self.visit(set, tree, server, call.callee, class);
                }
                None => self.record(call.callee, class, Vec::new(), call.end_ns - call.start_ns),
            }
        }
    }

    /// The calls under span `index`, looking through the service's own internal spans.
    fn calls(&mut self, set: &SpanSet, tree: &Tree, index: usize, service: u32, calls: &mut Vec<Call>) {
        for &child in &tree.children[index] {
            let span = tree.spans[child];
            match span.kind {
                SpanKind::Internal if span.service == service => self.calls(set, tree, child, service, calls),
                SpanKind::Client | SpanKind::Producer | SpanKind::Internal => {
                    let mut server = tree.children[child].iter().copied().find(|&c| is_server(tree.spans[c]));
                    if span.kind == SpanKind::Producer && server.is_some() {
                        // A message: the consumer's work runs on its own time, not the caller's.
                        self.warnings.async_consumers += 1;
                        server = None;
                    }
                    let callee = match server {
                        Some(server) => self.node(&set.services[tree.spans[server].service as usize], true),
                        None => self.node(&leaf_name(span), false),
                    };
                    calls.push(Call { callee, start_ns: span.start_ns, end_ns: span.end_ns, server });
                }
                SpanKind::Server | SpanKind::Consumer => {
                    // A traced server called without a client span of the caller's own.
                    let callee = self.node(&set.services[span.service as usize], true);
                    calls.push(Call { callee, start_ns: span.start_ns, end_ns: span.end_ns, server: Some(child) });
                }
            }
        }
    }

    fn record(&mut self, node: usize, class: &str, groups: Vec<Vec<usize>>, own_ns: u64) {
        let node = &mut self.nodes[node];
        let class = match node.classes.iter().position(|c| c.class == class) {
            Some(i) => &mut node.classes[i],
            None => {
                node.classes.push(ClassObservations { class: class.to_string(), patterns: Vec::new() });
                node.classes.last_mut().expect("just pushed")
            }
        };
        match class.patterns.iter_mut().find(|p| p.groups == groups) {
            Some(pattern) => pattern.own_ns.push(own_ns),
            None => class.patterns.push(Pattern { groups, own_ns: vec![own_ns] }),
        }
    }

    /// The node named `name`, added when new; `traced` marks one that has server spans.
    fn node(&mut self, name: &str, traced: bool) -> usize {
        let index = match self.nodes.iter().position(|n| n.name == name) {
            Some(i) => i,
            None => {
                self.nodes.push(NodeObservations { name: name.to_string(), traced, classes: Vec::new() });
                self.nodes.len() - 1
            }
        };
        self.nodes[index].traced |= traced;
        index
    }
}

impl<'a> Tree<'a> {
    /// `spans` are one trace's; spans whose parent is missing (orphans, counted) are left out.
    fn new(spans: Vec<&'a Span>) -> (Self, u64) {
        let mut orphans = 0;
        let mut by_id: Vec<(u64, usize)> = spans.iter().enumerate().map(|(i, s)| (s.span_id, i)).collect();
        by_id.sort_unstable();
        let mut children = vec![Vec::new(); spans.len()];
        for (i, span) in spans.iter().enumerate() {
            if span.parent_id == 0 {
                continue;
            }
            match by_id.binary_search_by_key(&span.parent_id, |&(id, _)| id) {
                Ok(at) => children[by_id[at].1].push(i),
                Err(_) => orphans += 1,
            }
        }
        (Tree { spans, children }, orphans)
    }
}

fn is_server(span: &Span) -> bool {
    matches!(span.kind, SpanKind::Server | SpanKind::Consumer)
}

/// A root span's request class: method and route (`GET /item/{key}`), the route, or the name.
fn class_of(span: &Span) -> Option<String> {
    match (&span.method, &span.route) {
        (Some(method), Some(route)) if !route.starts_with(method.as_str()) => Some(format!("{method} {route}")),
        (_, Some(route)) => Some(route.clone()),
        _ if span.name.is_empty() => None,
        _ => Some(span.name.clone()),
    }
}

/// The node a client span without a traced server calls: its peer, or else its name.
fn leaf_name(span: &Span) -> String {
    span.peer.clone().unwrap_or_else(|| span.name.clone())
}
