//! The topology as the page draws it: workloads and nodes placed in layers from the clients
//! to the data stores (longest path over the graph with its cycles condensed), ordered within
//! each layer to keep edges from crossing (barycentre sweeps), in one horizontal lane per
//! region and zone so that the page can enclose each in a shape.

use petgraph::algo::condensation;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;
use sim_core::design::Sketch;
use sim_core::ids::NodeId;
use sim_core::topology::{node_summary, EdgeKind, NodeKind, Topology, NONE};

/// A box of the drawing: a workload or a node.
#[derive(Debug, Clone, Serialize)]
pub struct Vertex {
    /// The workload's or node's name.
    pub name: String,
    /// `workload`, or the node's kind as reports name it.
    pub kind: &'static str,
    /// The node's main parameters, in words.
    pub summary: String,
    /// The node's index in the simulation (`None` for workloads).
    pub node: Option<u32>,
    /// The host whose cores it shares, if it is placed on one.
    pub host: Option<String>,
    /// Its region, when the topology places it.
    pub region: Option<String>,
    /// Its availability zone, when the topology places it in one.
    pub zone: Option<String>,
    /// The instances it starts with (a database's servers, a CDN's edges; 1 for the rest).
    pub instances: u32,
    /// What it is made of, when it has parts worth drawing: a database's primary and
    /// replicas, a CDN's edges, a log's partitions.
    pub parts: Option<Parts>,
    /// Column, from 0 (the clients).
    pub layer: u32,
    /// Row within the column, from 0.
    pub row: u32,
}

impl Vertex {
    /// A workload's box, in region `region` if the topology places its clients.
    fn workload(name: &str, region: Option<String>) -> Self {
        Vertex {
            name: name.to_string(),
            kind: "workload",
            summary: String::new(),
            node: None,
            host: None,
            region,
            zone: None,
            instances: 1,
            parts: None,
            layer: 0,
            row: 0,
        }
    }
}

/// The parts of a node, as the page draws them (a stack of cards or a strip of cells) and
/// names them under its box.
#[derive(Debug, Clone, Serialize)]
pub struct Parts {
    /// `replicas`, `edges` or `partitions`.
    pub kind: &'static str,
    /// How many.
    pub count: u32,
    /// In words: "primary + 2 replicas (us, eu)", "edges in us, eu", "8 partitions".
    pub caption: String,
}

/// The parts of node `node` of `topology`, if it has some.
fn parts(topology: &Topology, node: &NodeKind) -> Option<Parts> {
    let region_names = |regions: &[u32]| -> String {
        regions
            .iter()
            .filter(|&&region| region != NONE)
            .map(|&region| topology.regions.names[region as usize].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match node {
        NodeKind::Database(database) if database.replicas > 0 => {
            let plural = if database.replicas == 1 { "" } else { "s" };
            let mut caption = format!("primary + {} replica{plural}", database.replicas);
            let placed = region_names(&database.server_regions);
            if !placed.is_empty() {
                caption.push_str(&format!(" ({placed})"));
            }
            Some(Parts { kind: "replicas", count: database.replicas + 1, caption })
        }
        NodeKind::Cdn(cdn) => {
            let count = cdn.edge_regions.len() as u32;
            let placed = region_names(&cdn.edge_regions);
            let caption = if placed.is_empty() {
                format!("{count} edge{}", if count == 1 { "" } else { "s" })
            } else {
                format!("edges in {placed}")
            };
            Some(Parts { kind: "edges", count, caption })
        }
        NodeKind::Log(log) => Some(Parts {
            kind: "partitions",
            count: log.partitions,
            caption: format!("{} partition{}", log.partitions, if log.partitions == 1 { "" } else { "s" }),
        }),
        _ => None,
    }
}

/// An arrow of the drawing, between two vertices (indices into `vertices`).
#[derive(Debug, Clone, Serialize)]
pub struct Arrow {
    /// From this vertex.
    pub from: u32,
    /// To this vertex.
    pub to: u32,
    /// `call`, `forward`, `balance`, `async` or `entry` (a workload's first hop).
    pub kind: &'static str,
}

/// The whole drawing.
#[derive(Debug, Clone, Serialize)]
pub struct Layout {
    /// Workloads first, then nodes in the topology's order.
    pub vertices: Vec<Vertex>,
    /// Each distinct arrow once.
    pub arrows: Vec<Arrow>,
    /// Number of layers.
    pub layers: u32,
}

/// Lays out `topology`.
pub fn layout(topology: &Topology) -> Layout {
    let sources = topology.sources.len() as u32;
    let mut vertices: Vec<Vertex> = topology
        .sources
        .iter()
        .map(|source| {
            let region = (source.region != NONE).then(|| topology.regions.names[source.region as usize].clone());
            Vertex::workload(&source.name, region)
        })
        .collect();
    let regions = &topology.regions;
    vertices.extend(topology.nodes.iter().enumerate().map(|(index, node)| {
        Vertex {
            name: node.name.clone(),
            kind: node.kind.label(),
            summary: node_summary(topology, NodeId::new(index as u32)),
            node: Some(index as u32),
            host: topology.host_of(NodeId::new(index as u32)).map(|host| host.name.clone()),
            region: (node.region != NONE).then(|| regions.names[node.region as usize].clone()),
            zone: regions
                .node_zones
                .get(index)
                .filter(|&&zone| zone != NONE)
                .map(|&zone| regions.zones[zone as usize].clone()),
            instances: node.kind.instances(),
            parts: parts(topology, &node.kind),
            layer: 0,
            row: 0,
        }
    }));
    let mut arrows: Vec<Arrow> = topology
        .sources
        .iter()
        .enumerate()
        .map(|(index, source)| Arrow { from: index as u32, to: sources + source.entry_node.raw(), kind: "entry" })
        .collect();
    for edge in &topology.edges {
        let kind = match edge.kind {
            EdgeKind::Call => "call",
            EdgeKind::Forward => "forward",
            EdgeKind::Balance => "balance",
            EdgeKind::Async => "async",
        };
        let arrow = Arrow { from: sources + edge.from.raw(), to: sources + edge.to.raw(), kind };
        if !arrows.iter().any(|a| a.from == arrow.from && a.to == arrow.to) {
            arrows.push(arrow);
        }
    }
    assign_layers(&mut vertices, &arrows, sources);
    let layers = vertices.iter().map(|v| v.layer + 1).max().unwrap_or(0);
    order_rows(&mut vertices, &arrows, layers);
    lanes(&mut vertices, layers);
    Layout { vertices, arrows, layers }
}

/// Moves each region's vertices, and within it each zone's, into a band of rows of its own
/// (regions and zones in the order they first appear), keeping the order of rows within each
/// layer; vertices with no region come first. Without regions nothing moves.
fn lanes(vertices: &mut [Vertex], layers: u32) {
    if vertices.iter().all(|v| v.region.is_none()) {
        return;
    }
    let mut keys: Vec<(Option<String>, Option<String>)> = Vec::new();
    let mut regions: Vec<Option<String>> = vec![None];
    for vertex in vertices.iter() {
        if !regions.contains(&vertex.region) {
            regions.push(vertex.region.clone());
        }
    }
    for region in &regions {
        let mut zones: Vec<Option<String>> = Vec::new();
        for vertex in vertices.iter().filter(|v| &v.region == region) {
            if !zones.contains(&vertex.zone) {
                zones.push(vertex.zone.clone());
            }
        }
        zones.sort_by_key(|zone| zone.is_some());
        keys.extend(zones.into_iter().map(|zone| (region.clone(), zone)));
    }
    let lane: Vec<usize> =
        vertices.iter().map(|v| keys.iter().position(|(r, z)| r == &v.region && z == &v.zone).unwrap_or(0)).collect();
    let mut height = vec![0u32; keys.len()];
    let mut rank = vec![0u32; vertices.len()];
    for layer in 0..layers {
        let mut in_layer: Vec<usize> = (0..vertices.len()).filter(|&i| vertices[i].layer == layer).collect();
        in_layer.sort_by_key(|&i| vertices[i].row);
        let mut counts = vec![0u32; keys.len()];
        for i in in_layer {
            rank[i] = counts[lane[i]];
            counts[lane[i]] += 1;
        }
        for (height, count) in height.iter_mut().zip(counts) {
            *height = (*height).max(count);
        }
    }
    let first_row: Vec<u32> = height.iter().scan(0, |next, h| Some(std::mem::replace(next, *next + h))).collect();
    for (i, vertex) in vertices.iter_mut().enumerate() {
        vertex.row = first_row[lane[i]] + rank[i];
    }
}

/// The drawing of a text that reads but does not check: its workloads and nodes, with an
/// arrow to each node a box's text names.
pub fn sketch_layout(sketch: &Sketch) -> Layout {
    let sources = sketch.workloads.len() as u32;
    let kind = |written: &str| match written {
        "Service" => "service",
        "LoadBalancer" => "load_balancer",
        "Cache" => "cache",
        "Cdn" => "cdn",
        "Database" => "database",
        "Sharded" => "sharded",
        "RateLimiter" => "rate_limiter",
        "Gateway" => "api_gateway",
        "WorkQueue" => "work_queue",
        "Log" => "log",
        "Function" => "function",
        _ => "node",
    };
    let mut vertices: Vec<Vertex> =
        sketch.workloads.iter().map(|workload| Vertex::workload(&workload.name, None)).collect();
    vertices.extend(sketch.nodes.iter().enumerate().map(|(index, node)| Vertex {
        name: node.name.clone(),
        kind: kind(&node.kind),
        summary: String::new(),
        node: Some(index as u32),
        host: None,
        region: None,
        zone: None,
        instances: 1,
        parts: None,
        layer: 0,
        row: 0,
    }));
    let index_of = |name: &str| sketch.nodes.iter().position(|node| node.name == name).map(|i| sources + i as u32);
    let mut arrows = Vec::new();
    for (from, workload) in sketch.workloads.iter().enumerate() {
        for target in workload.targets.iter().filter_map(|t| index_of(t)) {
            arrows.push(Arrow { from: from as u32, to: target, kind: "entry" });
        }
    }
    for (from, node) in sketch.nodes.iter().enumerate() {
        for target in node.targets.iter().filter_map(|t| index_of(t)) {
            arrows.push(Arrow { from: sources + from as u32, to: target, kind: "call" });
        }
    }
    assign_layers(&mut vertices, &arrows, sources);
    let layers = vertices.iter().map(|v| v.layer + 1).max().unwrap_or(0);
    order_rows(&mut vertices, &arrows, layers);
    Layout { vertices, arrows, layers }
}

/// Longest path from the workloads over the graph with each cycle condensed to one vertex, so
/// that a feedback loop does not stretch the drawing for ever.
fn assign_layers(vertices: &mut [Vertex], arrows: &[Arrow], sources: u32) {
    let mut graph = DiGraph::<u32, ()>::new();
    let indices: Vec<NodeIndex> = (0..vertices.len() as u32).map(|v| graph.add_node(v)).collect();
    for arrow in arrows {
        if arrow.from != arrow.to {
            graph.add_edge(indices[arrow.from as usize], indices[arrow.to as usize], ());
        }
    }
    let condensed = condensation(graph, true);
    // Condensation returns the components in reverse topological order.
    let order: Vec<NodeIndex> = condensed.node_indices().rev().collect();
    let mut depth = vec![0u32; condensed.node_count()];
    for component in &order {
        let is_source = condensed[*component].iter().any(|v| *v < sources);
        let here = if is_source { 0 } else { depth[component.index()] };
        depth[component.index()] = here;
        for edge in condensed.edges(*component) {
            let target = edge.target().index();
            depth[target] = depth[target].max(here + 1);
        }
    }
    for component in condensed.node_indices() {
        for vertex in &condensed[component] {
            vertices[*vertex as usize].layer = depth[component.index()];
        }
    }
}

/// Rows within each layer: down and up sweeps order each layer by the mean row of each
/// vertex's neighbours in the previous layer (ties kept in the topology's order); then each
/// vertex takes the row of its callers where that keeps the order.
fn order_rows(vertices: &mut [Vertex], arrows: &[Arrow], layers: u32) {
    let mut by_layer: Vec<Vec<u32>> = vec![Vec::new(); layers as usize];
    for (index, vertex) in vertices.iter().enumerate() {
        by_layer[vertex.layer as usize].push(index as u32);
    }
    let mut position = vec![0.0f64; vertices.len()];
    let place = |layer: &[u32], position: &mut [f64]| {
        for (row, vertex) in layer.iter().enumerate() {
            position[*vertex as usize] = row as f64;
        }
    };
    for layer in &by_layer {
        place(layer, &mut position);
    }
    for sweep in 0..4 {
        let downward = sweep % 2 == 0;
        let range: Vec<usize> =
            if downward { (1..by_layer.len()).collect() } else { (0..by_layer.len()).rev().collect() };
        for layer in range {
            let mut keyed: Vec<(f64, usize, u32)> = by_layer[layer]
                .iter()
                .enumerate()
                .map(|(row, vertex)| {
                    let neighbours: Vec<f64> = arrows
                        .iter()
                        .filter_map(|a| {
                            let (me, other) = if downward { (a.to, a.from) } else { (a.from, a.to) };
                            let other_layer = vertices[other as usize].layer as usize;
                            let adjacent = if downward { other_layer + 1 == layer } else { other_layer == layer + 1 };
                            (me == *vertex && adjacent).then(|| position[other as usize])
                        })
                        .collect();
                    let key = if neighbours.is_empty() {
                        position[*vertex as usize]
                    } else {
                        neighbours.iter().sum::<f64>() / neighbours.len() as f64
                    };
                    (key, row, *vertex)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            by_layer[layer] = keyed.into_iter().map(|(_, _, vertex)| vertex).collect();
            place(&by_layer[layer], &mut position);
        }
    }
    // Rows in that order, each vertex level with its callers where it can be (the mean of
    // their rows, rounded), else just below the vertex above it: a chain of boxes stays on
    // one row, with straight arrows.
    for layer in &by_layer {
        let mut next_free = 0u32;
        for vertex in layer {
            let callers: Vec<u32> = arrows
                .iter()
                .filter(|a| a.to == *vertex && vertices[a.from as usize].layer < vertices[*vertex as usize].layer)
                .map(|a| vertices[a.from as usize].row)
                .collect();
            let level = if callers.is_empty() {
                0
            } else {
                (callers.iter().map(|&row| f64::from(row)).sum::<f64>() / callers.len() as f64).round() as u32
            };
            let row = level.max(next_free);
            vertices[*vertex as usize].row = row;
            next_free = row + 1;
        }
    }
}
