//! Validation, CSV import/export and tracing.

use bureau_grid::csvio;
use bureau_grid::{Branch, BranchKind, GridError, ModelErrors, Network, Node, NodeKind, Params, Reason};

fn example_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/grid-examples/two-feeders").to_string()
}

fn example() -> Network {
    csvio::read_dir(example_dir()).unwrap()
}

fn read_err(nodes: &str, branches: &str, params: Option<&str>) -> ModelErrors {
    match csvio::read(nodes.as_bytes(), branches.as_bytes(), params) {
        Err(csvio::ImportError::Model(e)) => e,
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("model should be rejected"),
    }
}

fn find<'a>(errs: &'a ModelErrors, id: &str, field: &str) -> &'a bureau_grid::ModelError {
    errs.iter()
        .find(|e| e.id == id && e.field == field)
        .unwrap_or_else(|| panic!("no error for {id}.{field} in:\n{errs}"))
}

#[test]
fn kinds_have_codes_and_names() {
    for k in BranchKind::ALL {
        assert_eq!(BranchKind::parse(k.code()), Some(k));
        assert_eq!(BranchKind::parse(k.name_zh()), Some(k));
        assert_eq!(BranchKind::parse(k.name_en()), Some(k));
    }
    for k in NodeKind::ALL {
        assert_eq!(NodeKind::parse(k.code()), Some(k));
        assert_eq!(NodeKind::parse(k.name_zh()), Some(k));
        assert_eq!(NodeKind::parse(k.name_en()), Some(k));
    }
    assert_eq!(BranchKind::parse("断路器"), Some(BranchKind::Breaker));
    assert_eq!(BranchKind::parse("Load-break switch"), Some(BranchKind::LoadBreakSwitch));
    assert_eq!(BranchKind::Fuse.name_zh(), "熔断器");
    assert_eq!(NodeKind::parse("负荷点"), Some(NodeKind::Load));
    assert_eq!(BranchKind::parse("switch"), None);
    assert!(BranchKind::Recloser.is_protective() && !BranchKind::Disconnector.is_protective());
    assert!(BranchKind::Disconnector.is_switch() && !BranchKind::Line.is_switch());
}

#[test]
fn every_bad_element_is_reported_with_file_line_and_field() {
    let nodes = "id,kind,name,customers,avg_kw,peak_kw\n\
                 S,source,,0,0,0\n\
                 A,bus,,0,0,0\n\
                 A,bus,dup,0,0,0\n\
                 X,tower,,0,0,0\n\
                 L1,load,,10,-5,abc\n\
                 L2,load,,10,5,5\n";
    let branches = "id,from,to,kind,normal_open,length_km,failure_rate,repair_h\n\
                    B1,S,A,breaker,false,0,0,0\n\
                    B2,A,L1,line,false,-1,0.1,4\n\
                    B2,A,Q,line,false,1,0.1,4\n\
                    B3,A,L1,switch,maybe,1,-0.2,4\n";
    let errs = read_err(nodes, branches, None);
    let e = find(&errs, "A", "id");
    assert_eq!((e.file.as_str(), e.line), ("nodes.csv", Some(4)));
    assert_eq!(e.reason, Reason::DuplicateId { first: Some(3) });
    let e = find(&errs, "X", "kind");
    assert_eq!(e.reason, Reason::UnknownKind("tower".into()));
    assert_eq!(e.line, Some(5));
    assert_eq!(find(&errs, "L1", "avg_kw").reason, Reason::Negative(-5.0));
    assert_eq!(find(&errs, "L1", "peak_kw").reason, Reason::InvalidNumber("abc".into()));
    let e = find(&errs, "B2", "length_km");
    assert_eq!((e.file.as_str(), e.line), ("branches.csv", Some(3)));
    let e = find(&errs, "B2", "id");
    assert_eq!(e.line, Some(4));
    let e = find(&errs, "B2", "to");
    assert_eq!(e.reason, Reason::UnknownNode("Q".into()));
    assert!(e.message_en().contains("dangling branch"), "{}", e.message_en());
    assert!(e.message_zh().contains("悬空支路"), "{}", e.message_zh());
    assert_eq!(find(&errs, "B3", "kind").reason, Reason::UnknownKind("switch".into()));
    assert_eq!(find(&errs, "B3", "normal_open").reason, Reason::InvalidBool("maybe".into()));
    assert_eq!(find(&errs, "B3", "failure_rate").reason, Reason::Negative(-0.2));
    // L2 hangs in the air.
    let e = find(&errs, "L2", "id");
    assert_eq!(e.reason, Reason::Unreachable);
    assert_eq!(e.line, Some(7));
    // B3 parses as a line (unknown kind) and closes the loop A─L1─A: reported too.
    assert!(errs
        .iter()
        .any(|e| matches!(&e.reason, Reason::ClosedLoop(ids) if ids.contains(&"B3".to_string()))));
    // The text names the file, the line and the element.
    let text = errs.to_string();
    assert!(text.contains("nodes.csv:5: node 'X' field 'kind': unknown kind 'tower'"), "{text}");
    assert!(text.contains("未知类型"), "{text}");
}

#[test]
fn loop_through_closed_devices_is_rejected_and_named() {
    let nodes = vec![
        Node::new("S", NodeKind::Source),
        Node::new("A", NodeKind::Bus),
        Node::new("B", NodeKind::Bus),
        Node::load("L", 1, 1.0, 1.0),
    ];
    let mk = |id: &str, f: &str, t: &str| Branch::new(id, f, t, BranchKind::Disconnector);
    let branches = vec![mk("SA", "S", "A"), mk("AB", "A", "B"), mk("BL", "B", "L"), mk("LA", "L", "A")];
    let errs = Network::new(nodes.clone(), branches.clone(), Params::default()).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs}");
    let e = &errs.0[0];
    assert_eq!(e.file, "branches");
    let Reason::ClosedLoop(ids) = &e.reason else { panic!("{e}") };
    let mut ids = ids.clone();
    ids.sort();
    assert_eq!(ids, ["AB", "BL", "LA"]);
    // The same ring operated with one device normally open is fine.
    let mut ok = branches.clone();
    ok[3].normal_open = true;
    ok[3].open = true;
    assert!(Network::new(nodes.clone(), ok, Params::default()).is_ok());
    // Two sources joined through closed devices is a loop too.
    let mut nodes2 = nodes;
    nodes2.push(Node::new("S2", NodeKind::Source));
    let mut b2 = branches;
    b2[3].normal_open = true;
    b2.push(mk("S2B", "S2", "B"));
    let errs = Network::new(nodes2, b2, Params::default()).unwrap_err();
    assert!(matches!(errs.0[0].reason, Reason::ClosedLoop(_)), "{errs}");
}

#[test]
fn bad_params_and_missing_columns() {
    let nodes = "id,kind,name,customers,avg_kw\nS,source,,0,0\n";
    let branches = "id,from,to,kind,normal_open,length_km,failure_rate,repair_h\n";
    let errs = read_err(nodes, branches, Some("switching_h = -1\n"));
    let e = find(&errs, "", "peak_kw");
    assert_eq!(e.reason, Reason::MissingColumn);
    let e = find(&errs, "", "switching_h");
    assert_eq!(e.file, "params.toml");
    let errs = read_err("id,kind,name,customers,avg_kw,peak_kw\n", branches, Some("bogus = 1\n"));
    assert!(matches!(errs.0[0].reason, Reason::Syntax(_)), "{errs}");
}

#[test]
fn csv_round_trip() {
    let net = example();
    let dir = std::env::temp_dir().join(format!("bureau-grid-roundtrip-{}", std::process::id()));
    csvio::write_dir(&net, &dir).unwrap();
    let back = csvio::read_dir(&dir).unwrap();
    assert_eq!(net.nodes(), back.nodes());
    assert_eq!(net.branches(), back.branches());
    assert_eq!(net.params(), back.params());
    // Byte-identical second generation.
    let mut a = Vec::new();
    let mut b = Vec::new();
    csvio::write_branches(&net, &mut a).unwrap();
    csvio::write_branches(&back, &mut b).unwrap();
    assert_eq!(a, b);
    assert!(String::from_utf8(a)
        .unwrap()
        .starts_with("id,from,to,kind,normal_open,length_km,failure_rate,repair_h\n"));
    // The current state survives in the optional `open` column.
    let mut moved = back;
    moved.set_open("D1", true).unwrap();
    let mut buf = Vec::new();
    csvio::write_branches(&moved, &mut buf).unwrap();
    let mut nbuf = Vec::new();
    csvio::write_nodes(&moved, &mut nbuf).unwrap();
    let again = csvio::read(&nbuf[..], &buf[..], None).unwrap();
    assert!(again.branch("D1").unwrap().open && !again.branch("D1").unwrap().normal_open);
    assert!(!again.is_energised("LP2").unwrap());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn energised_set_and_switching() {
    let mut net = example();
    assert!(net.de_energised_loads().is_empty());
    // Opening D1 drops everything below it on feeder 1: B3..B6, B8..B10, LP2, LP3.
    let ch = net.set_open("D1", true).unwrap();
    let ids = |v: &[usize]| {
        let mut s: Vec<String> = v.iter().map(|&i| net_id(i)).collect();
        s.sort();
        s
    };
    fn net_id(i: usize) -> String {
        example().nodes()[i].id.clone()
    }
    assert_eq!(ids(&ch.loads_lost), ["LP2", "LP3"]);
    assert_eq!(ch.customers_lost, 130);
    assert_eq!(ch.de_energised.len(), 9);
    // Closing the tie restores them from feeder 2.
    let ch = net.set_open("T1", false).unwrap();
    assert_eq!(ids(&ch.loads_restored), ["LP2", "LP3"]);
    assert_eq!(ch.customers_restored, 130);
    assert!(net.is_energised("LP3").unwrap());
    let path = net.path_to_source("LP2").unwrap().unwrap();
    let p: Vec<&str> = path.nodes.iter().map(|&i| net.nodes()[i].id.as_str()).collect();
    assert_eq!(p, ["LP2", "B8", "B4", "B5", "B6", "C4", "C3", "C2", "C1", "S2"]);
    assert_eq!(path.branches.len(), p.len() - 1);
    // Close D1 too: a closed ring. Opening one device in the ring loses nothing.
    net.set_open("D1", false).unwrap();
    let ch = net.set_open("D2", true).unwrap();
    assert!(ch.de_energised.is_empty() && ch.energised.is_empty());
    // Same state twice: no change. Lines cannot be operated.
    assert_eq!(net.set_open("D2", true).unwrap(), Default::default());
    assert_eq!(net.set_open("L1", true).unwrap_err(), GridError::NotASwitch("L1".into()));
    assert_eq!(net.set_open("nope", true).unwrap_err(), GridError::UnknownBranch("nope".into()));
    // Opening CB1 now drops only B1, B2 and the F1 lateral (feeder 1 beyond D2 is fed by T1, but D2 is open,
    // and B3..B4 hang on D1 → B2: they go too).
    let ch = net.set_open("CB1", true).unwrap();
    assert_eq!(ids(&ch.loads_lost), ["LP1", "LP2"]);
    // A consistent state after any sequence equals a recomputation from scratch.
    let incremental = net.energised_mask().to_vec();
    net.recompute_energised();
    assert_eq!(incremental, net.energised_mask());
}

#[test]
fn downstream_of_a_device() {
    let net = example();
    let d = net.downstream("D2").unwrap();
    let mut loads: Vec<&str> = d.loads.iter().map(|&i| net.nodes()[i].id.as_str()).collect();
    loads.sort();
    assert_eq!(loads, ["LP3"]);
    assert_eq!(d.customers, 80);
    assert_eq!(d.nodes.len(), 5); // B5, B6, B9, B10, LP3 and nothing of feeder 2
    assert!((d.avg_kw - 150.0).abs() < 1e-12);
    let d = net.downstream("CB1").unwrap();
    assert_eq!(d.customers, 230);
    // The open tie feeds nothing; an unknown id is an error.
    assert_eq!(net.downstream("T1").unwrap().customers, 0);
    assert!(net.downstream("zzz").is_err());
    assert!(net.path_to_source("zzz").is_err());
}

#[test]
fn chinese_kind_names_bom_and_any_column_order() {
    let nodes =
        "\u{feff}name,id,kind,customers,avg_kw,peak_kw\n城关变,S,电源,,,\n东街台区,L,负荷点,120,80.5,150\n";
    let branches = "id,kind,from,to,normal_open,length_km,failure_rate,repair_h\n\
                    K,断路器,S,L,否,,,\n";
    let net = csvio::read(nodes.as_bytes(), branches.as_bytes(), Some("switching_h = 0.5\n")).unwrap();
    assert_eq!(net.node("S").unwrap().kind, NodeKind::Source);
    assert_eq!(net.node("L").unwrap().customers, 120);
    assert_eq!(net.branch("K").unwrap().kind, BranchKind::Breaker);
    assert_eq!(net.params().switching_h, 0.5);
    assert_eq!(net.params().hours_per_year, 8760.0);
    assert_eq!(net.total_customers(), 120);
}
