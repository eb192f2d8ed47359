//! The browser UI's Rust side, natively: the built-in examples, the layered drawing, and the
//! live session the page drives (its report is the CLI's report).

use crate::check::repo_root;
use sim_batch::session::{injection, parse_seed, Overrides, Session};
use sim_web::outline::outline;

#[test]
fn every_topology_file_is_a_built_in_example() {
    let mut files: Vec<String> = std::fs::read_dir(repo_root().join("topologies"))
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".ron").map(str::to_string)
        })
        .collect();
    files.sort();
    let examples = sim_web::examples::all();
    let names: Vec<&str> = examples.iter().map(|e| e.name).collect();
    assert_eq!(names, files);
    for example in &examples {
        assert!(!example.title.is_empty(), "{} has no header comment", example.name);
        assert!(outline(example.text).is_ok(), "{} does not check", example.name);
    }
}

#[test]
fn the_drawing_is_layered_from_clients_to_data_stores() {
    let text = std::fs::read_to_string(repo_root().join("topologies/three-tier.ron")).unwrap();
    let layout = outline(&text).unwrap().layout;
    let layer = |name: &str| layout.vertices.iter().find(|v| v.name == name).unwrap().layer;
    assert_eq!([layer("users"), layer("lb"), layer("app"), layer("db")], [0, 1, 2, 3]);
    assert_eq!(layout.layers, 4);
    // A chain stays on one row: every arrow is straight.
    assert!(layout.vertices.iter().all(|v| v.row == 0), "{:?}", layout.vertices);
    // Each shard's database is level with the shard's cache in front of it: a callee sits
    // on its caller's row where the order allows.
    let text = std::fs::read_to_string(repo_root().join("topologies/resharding.ron")).unwrap();
    let layout = outline(&text).unwrap().layout;
    let row = |name: &str| layout.vertices.iter().find(|v| v.name == name).unwrap().row;
    for shard in 0..4 {
        assert_eq!(row(&format!("db-{shard}")), row(&format!("shard-{shard}")), "db-{shard} is level with its cache");
    }
    for example in sim_web::examples::all() {
        let layout = outline(example.text).unwrap().layout;
        let mut places: Vec<(u32, u32)> = layout.vertices.iter().map(|v| (v.layer, v.row)).collect();
        places.sort();
        places.dedup();
        assert_eq!(places.len(), layout.vertices.len(), "{}: two boxes in one place", example.name);
        // Arrows go rightwards, except inside a cycle (a feedback loop or a self-call).
        let reaches = |start: u32, goal: u32| {
            let (mut seen, mut stack) = (vec![start], vec![start]);
            while let Some(at) = stack.pop() {
                for arrow in layout.arrows.iter().filter(|a| a.from == at) {
                    if !seen.contains(&arrow.to) {
                        seen.push(arrow.to);
                        stack.push(arrow.to);
                    }
                }
            }
            seen.contains(&goal)
        };
        for arrow in &layout.arrows {
            let (from, to) = (&layout.vertices[arrow.from as usize], &layout.vertices[arrow.to as usize]);
            let in_cycle = arrow.from == arrow.to || reaches(arrow.to, arrow.from);
            assert!(to.layer > from.layer || in_cycle, "{}: {} → {} goes left", example.name, from.name, to.name);
        }
    }
}

#[test]
fn each_region_and_zone_has_a_band_of_rows_of_its_own() {
    let mut with_regions = 0;
    for example in sim_web::examples::all() {
        let layout = outline(example.text).unwrap().layout;
        if layout.vertices.iter().all(|v| v.region.is_none()) {
            continue;
        }
        with_regions += 1;
        // The rows of each (region, zone) lane, and of each region, form ranges that no other
        // lane's or region's rows fall into, so a shape can enclose each.
        let rows = |same: &dyn Fn(&sim_web::layout::Vertex) -> bool| {
            let rows: Vec<u32> = layout.vertices.iter().filter(|v| same(v)).map(|v| v.row).collect();
            (*rows.iter().min().unwrap(), *rows.iter().max().unwrap())
        };
        for a in &layout.vertices {
            let region = rows(&|v| v.region == a.region);
            let zone = rows(&|v| v.region == a.region && v.zone == a.zone);
            for b in &layout.vertices {
                let band = if b.region != a.region {
                    region
                } else if b.zone != a.zone {
                    zone
                } else {
                    continue;
                };
                assert!(b.row < band.0 || b.row > band.1, "{}: {} inside {}'s band", example.name, b.name, a.name);
            }
        }
    }
    assert!(with_regions >= 4, "the examples place {with_regions} topologies in regions");
}

#[test]
fn replicas_edges_and_partitions_are_named_under_their_box() {
    let caption = |example: &str, node: &str| {
        let text = std::fs::read_to_string(repo_root().join(format!("topologies/{example}.ron"))).unwrap();
        let layout = outline(&text).unwrap().layout;
        let vertex = layout.vertices.into_iter().find(|v| v.name == node).unwrap();
        vertex.parts.map(|parts| (parts.kind, parts.count, parts.caption))
    };
    assert_eq!(caption("read-heavy-feed", "db"), Some(("replicas", 3, "primary + 2 replicas".to_string())));
    assert_eq!(caption("three-tier", "db"), None);
    assert_eq!(caption("global-cdn", "cdn"), Some(("edges", 2, "edges in us-east, eu-west".to_string())));
    let (kind, _, words) = caption("activity-stream", "activity").unwrap();
    assert_eq!(kind, "partitions");
    assert!(words.ends_with(" partitions"), "{words}");
}

#[test]
fn a_broken_topology_names_its_line_and_column() {
    let problem = outline("Topology(\n  nodes: {\n    \"app\": Servce(workers: 1),\n  },\n)").unwrap_err();
    assert_eq!((problem.line, problem.column.is_some()), (Some(3), true), "{problem:?}");
    assert!(problem.message.contains("Servce"), "{}", problem.message);
}

#[test]
fn a_session_reports_what_the_cli_reports_and_refuses_bad_parameters() {
    let path = repo_root().join("topologies/three-tier.ron");
    let text = std::fs::read_to_string(&path).unwrap();
    let overrides = Overrides { seed: Some(9), duration_s: Some(12.0), requests: None, ..Overrides::default() };
    let mut session = Session::start(&text, overrides, 0.5).unwrap();
    assert_eq!(session.report_json(), None, "no report before the end");
    let mut limit_s = 0.0;
    while !session.advance_to(limit_s) {
        limit_s += 0.7;
    }
    assert_eq!(session.new_windows().len(), 24);
    let (status, cli, _) =
        crate::check::run_cli(&["run", path.to_str().unwrap(), "--format", "json", "--seed", "9", "--duration", "12s"]);
    assert_eq!(status, 0);
    assert_eq!(session.report_json().unwrap(), cli);

    let short = Overrides { duration_s: Some(3.0), ..Overrides::default() };
    let problem = Session::start(&text, short, 1.0).err().unwrap();
    assert!(
        problem.message.contains("warm-up (5s, the file's `warmup`) is not shorter than the run (3s, as given)"),
        "{}",
        problem.message
    );
    assert!(problem.help.is_some());
    let zero = Overrides { requests: Some(0), ..Overrides::default() };
    assert!(Session::start(&text, zero, 1.0).is_err());

    let mut session = Session::start(&text, Overrides::default(), 1.0).unwrap();
    assert_eq!(session.inject("nowhere", injection("crash", 0.0).unwrap()), None);
    assert_eq!(injection("melt", 0.0), None);
    assert_eq!(session.inject("app", injection("slow", 0.0).unwrap()), None, "a factor of 0 is refused");
    assert_eq!(session.inject("app", injection("errors", 1.5).unwrap()), None, "a probability above 1 is refused");
    session.advance_to(7.5);
    assert!(session.inject("app", injection("slow", 5.0).unwrap()).is_some());
    assert!(session.faults().is_empty(), "a fault starts when the run next handles events");
    assert!(!session.settle());
    let faults = session.faults();
    assert_eq!((faults.len(), faults[0].label, faults[0].start_s, faults[0].end_s), (1, "slow", 7.5, None));
    assert_eq!(session.now_s(), 7.5, "settling does not advance the clock");
}

#[test]
fn seeds_typed_in_the_page_are_read_exactly_or_refused() {
    let accepted: [(&str, Option<u64>); 4] = [
        ("", None),
        ("  42 ", Some(42)),
        ("9007199254740993", Some((1 << 53) + 1)),
        ("18446744073709551615", Some(u64::MAX)),
    ];
    for (text, seed) in accepted {
        assert_eq!(parse_seed(text).unwrap(), seed, "{text:?}");
    }
    for text in ["-1", "1e3", "4.5", "abc", "18446744073709551616"] {
        let problem = parse_seed(text).unwrap_err();
        assert!(problem.message.contains(text) && problem.message.contains("whole number"), "{}", problem.message);
        assert!(problem.help.is_some());
    }
    // The outline carries the file's seed as text, so JavaScript gets it exactly.
    let text = std::fs::read_to_string(repo_root().join("topologies/three-tier.ron")).unwrap();
    let json = serde_json::to_value(outline(&text).unwrap()).unwrap();
    assert!(json["seed"].is_string(), "{}", json["seed"]);
}

/// The page's comparison (its runs made one by one, like the page's, then `sim-batch`'s
/// statistics) gives exactly what `archsim compare --format json` gives for the same designs,
/// seed, run length and replications: the same means, intervals, differences and verdicts.
#[test]
fn the_pages_comparison_is_archsim_compares() {
    let path = |name: &str| repo_root().join("topologies").join(name).to_str().unwrap().to_string();
    let (a_path, b_path) = (path("three-tier.ron"), path("microservices.ron"));
    let replications = 3;
    let seeds = sim_web::compare::seeds(Some(5), replications).unwrap();
    let reports = |file: &str| -> Vec<sim_core::Report> {
        let text = std::fs::read_to_string(file).unwrap();
        seeds
            .iter()
            .map(|seed| {
                let overrides =
                    Overrides { seed: Some(*seed), duration_s: Some(20.0), requests: None, ..Overrides::default() };
                let mut session = Session::start(&text, overrides, 1.0).unwrap();
                while !session.advance_to(session.now_s() + 3.0) {}
                serde_json::from_str(&session.report_json().unwrap()).unwrap()
            })
            .collect()
    };
    let page = sim_web::compare::compare_reports(&reports(&a_path), &reports(&b_path)).unwrap();
    let (status, stdout, stderr) = crate::check::run_cli(&[
        "compare",
        &a_path,
        &b_path,
        "--seed",
        "5",
        "--duration",
        "20s",
        "--replications",
        "3",
        "--format",
        "json",
    ]);
    assert_eq!(status, 0, "{stderr}");
    let cli: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let page = serde_json::to_value(&page).unwrap();
    assert_eq!(page["replications"], cli["replications"]);
    let cli_metrics = cli["metrics"].as_array().unwrap();
    let page_metrics = page["metrics"].as_array().unwrap();
    assert_eq!(page_metrics.len(), cli_metrics.len());
    for (page_row, cli_row) in page_metrics.iter().zip(cli_metrics) {
        for key in ["metric", "a", "b", "difference", "verdict"] {
            assert_eq!(page_row[key], cli_row[key], "{key} of {}", cli_row["metric"]);
        }
    }
    assert!(page_metrics.iter().any(|row| row["verdict"].as_str().unwrap().starts_with("B raises")), "{page:#}");
    // Too few replications for an interval are refused with the fix.
    assert!(sim_web::compare::seeds(None, 1).unwrap_err().help.unwrap().contains("at least 2"));
}
