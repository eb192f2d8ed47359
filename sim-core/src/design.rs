//! The edits the page's design canvas makes to a topology's text (add a node or a
//! workload, connect two boxes, remove a node, read and set a node's fields), made in the
//! text itself so its comments and layout stay; and a sketch of a text that reads but does
//! not check yet (names, kinds and the names each one refers to), which the canvas draws
//! while a design is half built.

use crate::params::{container, get_parameter, set_parameter, unquote, Container, ParamValue};

/// The kinds a canvas can add, with the text a new one starts with.
pub const NODE_TEMPLATES: [(&str, &str); 12] = [
    ("service", "Service(instances: 2, workers: 8, steps: [Work(Exp(mean: \"5ms\"))])"),
    ("load_balancer", "LoadBalancer(algorithm: LeastConnections, backends: [])"),
    ("api_gateway", "Gateway(routes: {}, latency: Constant(\"1ms\"))"),
    ("rate_limiter", "RateLimiter(limit: TokenBucket(rate: \"1000/s\", burst: 100), next: \"\")"),
    ("cache", "Cache(capacity: 10000, eviction: Lru, ttl: \"60s\", hit: Constant(\"500us\"), backend: \"\")"),
    ("cdn", "Cdn(capacity: 100000, eviction: Lru, ttl: \"5m\", hit: Constant(\"1ms\"), origin: \"\")"),
    ("database", "Database(replicas: 1, connections: 16, read: Exp(mean: \"2ms\"), write: Exp(mean: \"5ms\"))"),
    ("sharded", "Sharded(partitioning: HashModulo, shards: [])"),
    ("work_queue", "WorkQueue(consumers: 4, handler: \"\")"),
    ("log", "Log(partitions: 4, groups: [])"),
    ("function", "Function(concurrency: 100, cold_start: Constant(\"300ms\"), keep_alive: \"10m\", steps: [Work(Exp(mean: \"20ms\"))])"),
    ("service_ps", "Service(workers: 4, discipline: ProcessorSharing, steps: [Work(Exp(mean: \"5ms\"))])"),
];

/// A new design: one workload and nothing for it to call yet.
pub const EMPTY_DESIGN: &str =
    "Topology(\n    workload: [],\n    nodes: {},\n    run: (duration: \"60s\", seed: 1),\n)\n";

/// What the canvas needs of a text that reads but may not check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sketch {
    /// The workloads, in file order.
    pub workloads: Vec<SketchBox>,
    /// The nodes, in file order.
    pub nodes: Vec<SketchBox>,
}

/// A workload or a node of a sketch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SketchBox {
    /// Its name.
    pub name: String,
    /// `workload`, or the node's kind as written (`Service`, `LoadBalancer`, …).
    pub kind: String,
    /// The nodes it names (calls, backends, origin, `to`), each once, in order.
    pub targets: Vec<String>,
}

/// The sketch of `source`: its workloads and nodes, each with the other nodes its text names.
pub fn sketch(source: &str) -> Result<Sketch, String> {
    let nodes = container(source, "nodes")?.filter(|c| c.open == b'{');
    let node_names: Vec<String> = nodes.iter().flat_map(|c| c.items.iter().map(|item| item.name.clone())).collect();
    let targets = |text: &str, own: &str| -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for quoted in quoted_strings(text) {
            if quoted != own && node_names.contains(&quoted) && !found.contains(&quoted) {
                found.push(quoted);
            }
        }
        found
    };
    let mut sketch = Sketch { workloads: Vec::new(), nodes: Vec::new() };
    if let Some(list) = container(source, "workload")?.filter(|c| c.open == b'[') {
        for item in &list.items {
            let text = &source[item.span.0..item.span.1];
            let to = get_parameter(text, "to").ok().flatten().and_then(|to| unquote(&to)).unwrap_or_default();
            let targets = if node_names.contains(&to) { vec![to] } else { Vec::new() };
            sketch.workloads.push(SketchBox { name: item.name.clone(), kind: "workload".into(), targets });
        }
    }
    for item in nodes.iter().flat_map(|c| c.items.iter()) {
        let text = &source[item.span.0..item.span.1];
        let kind = text.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default().to_string();
        sketch.nodes.push(SketchBox { name: item.name.clone(), kind, targets: targets(text, &item.name) });
    }
    Ok(sketch)
}

/// Adds a node of `kind` (one of [`NODE_TEMPLATES`]) under a name not yet taken; returns
/// the new text and the name.
pub fn add_node(source: &str, kind: &str) -> Result<(String, String), String> {
    let Some((_, template)) = NODE_TEMPLATES.iter().find(|(name, _)| *name == kind) else {
        let kinds: Vec<&str> = NODE_TEMPLATES.iter().map(|(name, _)| *name).collect();
        return Err(format!("no component kind \"{kind}\"; the kinds are {}", kinds.join(", ")));
    };
    let nodes = container(source, "nodes")?
        .filter(|c| c.open == b'{')
        .ok_or("the topology has no nodes: { ... } map to add to")?;
    let stem = kind.trim_end_matches("_ps").replace('_', "-");
    let name = unused_name(&stem, &nodes);
    let text = insert_item(source, &nodes, &format!("\"{name}\": {template}"), true);
    Ok((text, name))
}

/// Adds an open workload of 100 requests per second, sent to `to` (may be empty).
pub fn add_workload(source: &str, to: &str) -> Result<(String, String), String> {
    let list = container(source, "workload")?
        .filter(|c| c.open == b'[')
        .ok_or("the topology has no workload: [ ... ] list to add to")?;
    let name = unused_name("users", &list);
    let item = format!("Open(name: \"{name}\", arrivals: Poisson(rate: \"100/s\"), to: {})", quote(to));
    Ok((insert_item(source, &list, &item, true), name))
}

/// Connects `from` (a workload or a node) to node `to`: a workload sends to it, a service or
/// a function calls it (one more `Call` step), a balancer or shard router takes it as one
/// more backend or shard, and a cache, CDN, rate limiter, queue or gateway sends to it
/// (its backend, origin, next, handler or default route).
pub fn connect(source: &str, from: &str, to: &str) -> Result<String, String> {
    if from == to {
        return Err(format!("\"{from}\" cannot call itself"));
    }
    let sketch = sketch(source)?;
    if !sketch.nodes.iter().any(|node| node.name == to) {
        return Err(format!("there is no node \"{to}\" to connect to"));
    }
    if sketch.workloads.iter().any(|workload| workload.name == from) {
        return set_parameter(source, &format!("workload.{from}.to"), &ParamValue::Text(quote(to)));
    }
    let Some(node) = sketch.nodes.iter().find(|node| node.name == from) else {
        return Err(format!("there is no workload or node \"{from}\""));
    };
    let base = format!("nodes.{from}");
    let append = |field: &str, item: String| -> Result<String, String> {
        let path = format!("{base}.{field}");
        match container(source, &path)?.filter(|c| c.open == b'[') {
            Some(list) => Ok(insert_item(source, &list, &item, false)),
            None => set_parameter(source, &path, &ParamValue::Text(format!("[{item}]"))),
        }
    };
    let set = |field: &str| set_parameter(source, &format!("{base}.{field}"), &ParamValue::Text(quote(to)));
    match node.kind.as_str() {
        "Service" | "Function" => append("steps", format!("Call({})", quote(to))),
        "LoadBalancer" => append("backends", quote(to)),
        "Sharded" => append("shards", quote(to)),
        "Cache" => set("backend"),
        "Cdn" => set("origin"),
        "RateLimiter" => set("next"),
        "WorkQueue" => set("handler"),
        "Gateway" => set("otherwise"),
        "Log" => Err(format!(
            "a log's consumer groups name their handlers: add Group(name: \"g\", handler: \"{to}\") to its groups"
        )),
        "Database" => Err("a database calls nothing; connect from its callers to it".into()),
        other => Err(format!("cannot connect a {other} node")),
    }
}

/// Removes node `name` (what names it elsewhere stays, and the check then says where).
pub fn remove_node(source: &str, name: &str) -> Result<String, String> {
    let nodes = container(source, "nodes")?.filter(|c| c.open == b'{').ok_or("the topology has no nodes")?;
    let item = nodes.items.iter().find(|item| item.name == name).ok_or(format!("there is no node \"{name}\""))?;
    Ok(remove_item(source, item.start, item.span.1))
}

/// Removes workload `name`.
pub fn remove_workload(source: &str, name: &str) -> Result<String, String> {
    let list = container(source, "workload")?.filter(|c| c.open == b'[').ok_or("the topology has no workloads")?;
    let item = list.items.iter().find(|item| item.name == name).ok_or(format!("there is no workload \"{name}\""))?;
    Ok(remove_item(source, item.start, item.span.1))
}

/// A node's fields as written: `(field, value text)` in file order.
pub fn node_fields(source: &str, name: &str) -> Result<Vec<(String, String)>, String> {
    let node = container(source, &format!("nodes.{name}"))?
        .filter(|c| c.open == b'(')
        .ok_or(format!("there is no node \"{name}\" with fields"))?;
    Ok(node.items.iter().map(|item| (item.name.clone(), source[item.span.0..item.span.1].to_string())).collect())
}

/// Sets (or adds) one field of node `name` to `value`, RON text as typed (a quantity such as
/// `3s` keeps its quotes when the field had them).
pub fn set_node_field(source: &str, name: &str, field: &str, value: &str) -> Result<String, String> {
    let field = field.trim();
    if field.is_empty() || !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("\"{field}\" is not a field name"));
    }
    set_parameter(source, &format!("nodes.{name}.{field}"), &ParamValue::Text(value.trim().to_string()))
}

fn unused_name(stem: &str, container: &Container) -> String {
    let taken = |name: &str| container.items.iter().any(|item| item.name == name);
    if !taken(stem) {
        return stem.to_string();
    }
    (2..).map(|n| format!("{stem}-{n}")).find(|name| !taken(name)).expect("some number is free")
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The double-quoted strings of `text` (outside comments), unescaped.
fn quoted_strings(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'/' if bytes.get(at + 1) == Some(&b'/') => {
                at = text[at..].find('\n').map_or(bytes.len(), |i| at + i);
            }
            b'"' => {
                let mut end = at + 1;
                while end < bytes.len() && bytes[end] != b'"' {
                    end += if bytes[end] == b'\\' { 2 } else { 1 };
                }
                if let Some(string) = unquote(&text[at..(end + 1).min(bytes.len())]) {
                    found.push(string);
                }
                at = end + 1;
            }
            _ => at += 1,
        }
    }
    found
}

/// The indentation of the line `at` is on.
fn indentation_at(source: &str, at: usize) -> &str {
    let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = &source[line_start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// Inserts `item` as the container's last item, on a line of its own indented as the items
/// before it (or one step in from the container's line), with a trailing comma. A container
/// written on one line stays on one, except an empty `block` (the nodes, the workloads),
/// which opens onto lines of its own.
fn insert_item(source: &str, container: &Container, item: &str, block: bool) -> String {
    let mut out = String::with_capacity(source.len() + item.len() + 16);
    let one_line = !source[container.open_at..container.span.1].contains('\n');
    if one_line && !(block && container.items.is_empty()) {
        // A container on one line stays on one: `[a]` becomes `[a, item]`.
        let at = container.items.last().map_or(container.open_at + 1, |last| last.span.1);
        let rest = &source[at..];
        let trailing_comma = container.items.last().is_some() && rest.trim_start().starts_with(',');
        let at = if trailing_comma { at + rest.find(',').expect("a comma follows") + 1 } else { at };
        out.push_str(&source[..at]);
        match (container.items.is_empty(), trailing_comma) {
            (true, _) => out.push_str(item),
            (false, true) => {
                out.push(' ');
                out.push_str(item);
                out.push(',');
            }
            (false, false) => {
                out.push_str(", ");
                out.push_str(item);
            }
        }
        out.push_str(&source[at..]);
        return out;
    }
    match container.items.last() {
        Some(last) => {
            let indent = indentation_at(source, last.start);
            let after = &source[last.span.1..];
            let comma = after.trim_start().starts_with(',');
            let at = if comma { last.span.1 + after.find(',').expect("a comma follows") + 1 } else { last.span.1 };
            out.push_str(&source[..last.span.1]);
            if comma {
                out.push_str(&source[last.span.1..at]);
            } else {
                out.push(',');
            }
            out.push('\n');
            out.push_str(indent);
            out.push_str(item);
            out.push(',');
            out.push_str(&source[at..]);
        }
        None => {
            let indent = indentation_at(source, container.open_at);
            let close = container.span.1 - 1;
            out.push_str(&source[..=container.open_at]);
            out.push('\n');
            out.push_str(indent);
            out.push_str("    ");
            out.push_str(item);
            out.push_str(",\n");
            out.push_str(indent);
            out.push_str(&source[close..]);
        }
    }
    out
}

/// Removes the item from `start` to `end` with its trailing comma, and its line when
/// nothing else is on it.
fn remove_item(source: &str, start: usize, end: usize) -> String {
    let after = &source[end..];
    let mut cut_end =
        if after.trim_start().starts_with(',') { end + after.find(',').expect("a comma") + 1 } else { end };
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let mut cut_start = start;
    if source[line_start..start].trim().is_empty() {
        let rest = &source[cut_end..];
        let line_rest = rest.find('\n').map_or(rest.len(), |i| i);
        if rest[..line_rest].trim().is_empty() {
            cut_start = line_start;
            cut_end += (line_rest + 1).min(rest.len());
        }
    }
    format!("{}{}", &source[..cut_start], &source[cut_end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"// A shop.
Topology(
    workload: [
        Open(name: "users", arrivals: Poisson(rate: "50/s"), to: "app"), // the clients
    ],
    nodes: {
        // the app
        "app": Service(workers: 2, steps: [Work(Exp(mean: "5ms"))]),
    },
)
"#;

    #[test]
    fn a_node_is_added_on_a_line_of_its_own_and_the_comments_stay() {
        let (text, name) = add_node(TEXT, "database").unwrap();
        assert_eq!(name, "database");
        assert!(text.contains("        \"database\": Database(replicas: 1,"), "{text}");
        assert!(text.contains("// the app") && text.contains("// the clients") && text.starts_with("// A shop."));
        let (again, second) = add_node(&text, "database").unwrap();
        assert_eq!(second, "database-2");
        let connected = connect(&connect(&again, "app", "database").unwrap(), "app", "database-2").unwrap();
        assert!(connected.contains(r#"steps: [Work(Exp(mean: "5ms")), Call("database"), Call("database-2")]"#));
        crate::parse_topology(&connected).unwrap();
    }

    #[test]
    fn connecting_follows_the_kind_of_the_caller() {
        let (text, lb) = add_node(TEXT, "load_balancer").unwrap();
        let text = connect(&text, "users", &lb).unwrap();
        let text = connect(&text, &lb, "app").unwrap();
        assert!(text.contains(r#"to: "load-balancer")"#), "{text}");
        assert!(text.contains(r#"backends: ["app"]"#), "{text}");
        let (text, cache) = add_node(&text, "cache").unwrap();
        let text = connect(&text, &cache, "app").unwrap();
        assert!(text.contains(r#"backend: "app")"#), "{text}");
        assert!(connect(&text, "app", "app").is_err());
        assert!(connect(&text, "app", "nowhere").unwrap_err().contains("no node"));
        let sketch = sketch(&text).unwrap();
        assert_eq!(sketch.workloads[0].targets, ["load-balancer"]);
        assert_eq!(
            sketch.nodes.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>(),
            ["Service", "LoadBalancer", "Cache"]
        );
        assert_eq!(sketch.nodes[2].targets, ["app"]);
    }

    #[test]
    fn an_empty_design_takes_its_first_workload_and_node() {
        let (text, app) = add_node(EMPTY_DESIGN, "service").unwrap();
        let (text, users) = add_workload(&text, &app).unwrap();
        assert_eq!(users, "users");
        assert!(text.contains("    workload: [\n        Open(name: \"users\""), "{text}");
        assert!(text.contains("    nodes: {\n        \"service\": Service("), "{text}");
        let topology = crate::parse_topology(&text).unwrap();
        assert_eq!(topology.nodes[0].name, "service");
        let text = remove_workload(&remove_node(&text, "service").unwrap(), "users").unwrap();
        assert_eq!(sketch(&text).unwrap(), Sketch { workloads: Vec::new(), nodes: Vec::new() });
    }

    #[test]
    fn fields_are_read_and_set_in_place() {
        let fields = node_fields(TEXT, "app").unwrap();
        assert_eq!(fields[0], ("workers".to_string(), "2".to_string()));
        let text = set_node_field(TEXT, "app", "workers", "16").unwrap();
        assert!(text.contains("Service(workers: 16, steps"), "{text}");
        let text = set_node_field(&text, "app", "timeout", "\"2s\"").unwrap();
        assert!(text.contains("timeout: \"2s\""), "{text}");
        let text = set_node_field(&text, "app", "timeout", "3s").unwrap();
        assert!(text.contains("timeout: \"3s\""), "{text}");
        assert!(set_node_field(&text, "app", "bad field", "1").is_err());
        let removed = remove_node(&text, "app").unwrap();
        assert!(!removed.contains("\"app\": Service") && removed.contains("// the app"), "{removed}");
    }

    /// Every kind the palette offers checks once it is connected in front of a service.
    #[test]
    fn every_template_checks_once_connected() {
        for (kind, _) in NODE_TEMPLATES {
            let (text, app) = add_node(EMPTY_DESIGN, "service").unwrap();
            let (text, node) = add_node(&text, kind).unwrap();
            let (text, _) = add_workload(&text, &node).unwrap();
            let text = match kind {
                "log" => set_node_field(&text, &node, "groups", &format!("[Group(name: \"g\", handler: \"{app}\")]"))
                    .unwrap(),
                "database" => text,
                _ => connect(&text, &node, &app).unwrap(),
            };
            if let Err(error) = crate::parse_topology(&text) {
                panic!("{kind}: {error}\n{text}");
            }
        }
    }
}
