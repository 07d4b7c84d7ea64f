//! RELRAD worked by hand on `data/grid-examples/two-feeders`.
//!
//! ```text
//!  S1 ─CB1─ B1 ─L1(2km)─ B2 ─D1─ B3 ─L2(3km)─ B4 ─D2─ B5 ─L3(1km)─ B6 ─T1(N.O.)─ C4
//!                         │                   │                    │
//!                        F1                  F2                   F3
//!                         B7─L4(1km)─LP1      B8─L5(0.5km)─LP2     B9─L6(1km)─B10─TX3─LP3
//!
//!  S2 ─CB2─ C1 ─L7(2km)─ C2 ─D3─ C3 ─L9(1km)─ C4
//!                        │        │
//!                       F4       F5
//!                        C5─L8(0.5km)─LP4    LP5
//! ```
//! Lines fail 0.1 /km·yr; main lines repair 4 h, laterals 2 h; TX3 0.02 /yr, 10 h; D2 0.01 /yr, 4 h;
//! switching 1 h. Customers LP1..LP5 = 100, 50, 80, 60, 40; avg kW 200, 100, 150, 120, 80.
//!
//! Sections (bounded by switching devices): A = {B1,B2}, B = {B3,B4}, C = {B5,B6}, F1 = {B7,LP1},
//! F2 = {B8,LP2}, F3 = {B9,B10,LP3}; D = {C1,C2}, E = {C3,C4}, F4 = {C5,LP4}, F5 = {LP5}.
//!
//! | failure          | λ    | r  | clears | zone | LP1      | LP2      | LP3      | LP4     | LP5     |
//! |------------------|------|----|--------|------|----------|----------|----------|---------|---------|
//! | L1               | 0.2  | 4  | CB1    | A    | 4 (F1 lat. hangs below zone, no tie) | 1 (backfeed T1) | 1 (T1) | – | – |
//! | L2               | 0.3  | 4  | CB1    | B    | 1 (upstream) | 4 (F2 lateral, no tie) | 1 (T1) | – | – |
//! | D2 (switch)      | 0.01 | 4  | CB1    | B+C  | 1        | 4        | 4 (T1 end B6 is in the zone) | – | – |
//! | L3               | 0.1  | 4  | CB1    | C    | 1        | 1        | 4 (T1 end in zone) | – | – |
//! | L4               | 0.1  | 2  | F1     | F1   | 2        |          |          |         |         |
//! | L5               | 0.05 | 2  | F2     | F2   |          | 2        |          |         |         |
//! | L6               | 0.1  | 2  | F3     | F3   |          |          | 2        |         |         |
//! | TX3              | 0.02 | 10 | F3     | F3   |          |          | 10       |         |         |
//! | L7               | 0.2  | 4  | CB2    | D    |          |          |          | 4 (F4 lat.) | 1 (D3 part backfed by T1) |
//! | L9               | 0.1  | 4  | CB2    | E    |          |          |          | 1 (upstream) | 4 (F5, no tie) |
//! | L8               | 0.05 | 2  | F4     | F4   |          |          |          | 2       |         |
//!
//! LP1: λ = .2+.3+.01+.1+.1 = 0.71;  U = .8+.3+.01+.1+.2 = 1.41;  r = 1.985915…
//! LP2: λ = .2+.3+.01+.1+.05 = 0.66; U = .2+1.2+.04+.1+.1 = 1.64; r = 2.484848…
//! LP3: λ = .2+.3+.01+.1+.1+.02 = 0.73; U = .2+.3+.04+.4+.2+.2 = 1.34; r = 1.835616…
//! LP4: λ = .2+.1+.05 = 0.35;  U = .8+.1+.1 = 1.0;  r = 2.857142…
//! LP5: λ = .2+.1 = 0.3;       U = .2+.4 = 0.6;     r = 2.0
//! SAIFI = (71+33+58.4+21+12)/330 = 195.4/330;  SAIDI = (141+82+107.2+60+24)/330 = 414.2/330
//! ENS = (1.41·200 + 1.64·100 + 1.34·150 + 1.0·120 + 0.6·80)/1000 = 0.815 MWh
//!
//! Without T1: L1 → LP2, LP3 wait 4 h (+0.6 h each); L2 → LP3 +0.9 h; L7 → LP5 +0.6 h.
//! SAIDI = (141 + 50·2.24 + 80·2.84 + 60 + 40·1.2)/330 = 588.2/330.

use bureau_grid::relrad::{Change, ReliabilityReport};
use bureau_grid::{csvio, Branch, BranchKind, Network};

fn example() -> Network {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/grid-examples/two-feeders");
    csvio::read_dir(dir).expect("example model is valid")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn assert_lp(rep: &ReliabilityReport, id: &str, lambda: f64, u: f64) {
    let lp = rep.load_points[id];
    assert!(close(lp.lambda, lambda), "{id} λ = {} expected {lambda}", lp.lambda);
    assert!(close(lp.u, u), "{id} U = {} expected {u}", lp.u);
    assert!(close(lp.r, u / lambda), "{id} r = {} expected {}", lp.r, u / lambda);
}

#[test]
fn hand_worked_load_points() {
    let rep = example().reliability();
    assert_eq!(rep.load_points.len(), 5);
    assert_lp(&rep, "LP1", 0.71, 1.41);
    assert_lp(&rep, "LP2", 0.66, 1.64);
    assert_lp(&rep, "LP3", 0.73, 1.34);
    assert_lp(&rep, "LP4", 0.35, 1.0);
    assert_lp(&rep, "LP5", 0.3, 0.6);
}

#[test]
fn hand_worked_system_indices() {
    let rep = example().reliability();
    assert!(close(rep.saifi, 195.4 / 330.0), "saifi {}", rep.saifi);
    assert!(close(rep.saidi, 414.2 / 330.0), "saidi {}", rep.saidi);
    assert!(close(rep.caidi, 414.2 / 195.4), "caidi {}", rep.caidi);
    assert!(close(rep.asai, 1.0 - 414.2 / 330.0 / 8760.0), "asai {}", rep.asai);
    assert!(close(rep.ens_mwh, 0.815), "ens {}", rep.ens_mwh);
}

#[test]
fn report_serialises_with_the_agreed_keys() {
    let rep = example().reliability();
    let v = serde_json::to_value(&rep).unwrap();
    let obj = v.as_object().unwrap();
    let mut keys: Vec<&str> = obj.keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["asai", "caidi", "ens_mwh", "load_points", "saidi", "saifi"]);
    let lp = v["load_points"]["LP5"].as_object().unwrap();
    let mut keys: Vec<&str> = lp.keys().map(|k| k.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["lambda", "r", "u"]);
    assert!(close(v["load_points"]["LP5"]["r"].as_f64().unwrap(), 2.0));
}

#[test]
fn what_if_removing_the_tie() {
    let net = example();
    let w = net.what_if(&Change::Remove("T1".into())).unwrap();
    assert!(close(w.before.saidi, 414.2 / 330.0));
    assert!(close(w.after.saidi, 588.2 / 330.0), "after {}", w.after.saidi);
    assert!(close(w.d_saidi, 174.0 / 330.0));
    assert!(close(w.d_saifi, 0.0), "a tie changes durations, not frequencies");
    assert_lp(&w.after, "LP3", 0.73, 2.84);
    assert_lp(&w.after, "LP5", 0.3, 1.2);
}

#[test]
fn what_if_adding_a_tie_to_the_fused_lateral() {
    // A new normally-open tie from LP2's lateral (B8) to feeder 2 (C1). Faults on L2 and D2 then let
    // LP2 be backfed: U(LP2) falls by 0.3·3 + 0.01·3 = 0.93 h. L5 (behind F2, in LP2's zone) still waits.
    let net = example();
    let tie = Branch {
        normal_open: true,
        open: true,
        ..Branch::new("T2", "B8", "C1", BranchKind::LoadBreakSwitch)
    };
    let w = net.what_if(&Change::Add(tie)).unwrap();
    assert_lp(&w.after, "LP2", 0.66, 1.64 - 0.93);
    assert!(close(w.d_saidi, -0.93 * 50.0 / 330.0));
}

#[test]
fn what_if_inserting_a_disconnector_on_l2() {
    // Split L2 (3 km) at 1/3 with a disconnector: L2 = B3→X (1 km), L2_2 = X_2→B4 (2 km).
    // A fault on the first km (0.1/yr) now lets everything below X be backfed... but F2's lateral hangs
    // off B4, below X: for the first part, zone = {B3, X}; LP2 (F2 lateral) hangs below through the new
    // switch and the part contains T1 → 1 h instead of 4 h: −0.1·3 = −0.3 h.
    // A fault on the second part (0.2/yr) has zone {X_2, B4}: LP2 still waits 4 h, LP3 1 h as before.
    let net = example();
    let dev = Branch::new("DX", "", "", BranchKind::Disconnector);
    let w = net
        .what_if(&Change::InsertSwitch {
            line: "L2".into(),
            fraction: 1.0 / 3.0,
            bus: "X".into(),
            device: dev,
        })
        .unwrap();
    assert_lp(&w.after, "LP2", 0.66, 1.64 - 0.3);
    assert_lp(&w.after, "LP1", 0.71, 1.41);
    assert_lp(&w.after, "LP3", 0.73, 1.34);
}

#[test]
fn chained_backfeed_and_no_protection() {
    // S ─L0─ A ─D1─ B ─DB─ LB         No protective device: any fault trips the source.
    //          └D4─ F ─DF─ LF
    // ties (N.O.): T2 = B─F, T = F─E;  feeder 2: S2 ─L9─ E.
    // Fault on L0 (λ 1, r 5): zone {S, A}; parts below: {B, LB} and {F, LF}. {F, LF} is backfed through T
    // (E is fed by S2); {B, LB} only through T2 into F, restored in turn: a chain. Both wait 1 h.
    // L9 fails too (λ 0.5) but feeder 2 has no loads and T is open: no effect.
    use bureau_grid::relrad::Change;
    use bureau_grid::{Node, NodeKind, Params};
    let nodes = vec![
        Node::new("S", NodeKind::Source),
        Node::new("S2", NodeKind::Source),
        Node::new("A", NodeKind::Bus),
        Node::new("B", NodeKind::Bus),
        Node::new("F", NodeKind::Bus),
        Node::new("E", NodeKind::Bus),
        Node::load("LB", 10, 10.0, 20.0),
        Node::load("LF", 10, 10.0, 20.0),
    ];
    let line = |id: &str, f: &str, t: &str, rate: f64| Branch {
        length_km: 1.0,
        failure_rate: rate,
        repair_h: 5.0,
        ..Branch::new(id, f, t, BranchKind::Line)
    };
    let sw = |id: &str, f: &str, t: &str| Branch::new(id, f, t, BranchKind::Disconnector);
    let branches = vec![
        line("L0", "S", "A", 1.0),
        sw("D1", "A", "B"),
        sw("D4", "A", "F"),
        sw("DB", "B", "LB"),
        sw("DF", "F", "LF"),
        Branch { normal_open: true, open: true, ..sw("T", "F", "E") },
        Branch { normal_open: true, open: true, ..sw("T2", "B", "F") },
        line("L9", "S2", "E", 0.5),
    ];
    let net = Network::new(nodes, branches, Params::default()).unwrap();
    let rep = net.reliability();
    assert_lp(&rep, "LB", 1.0, 1.0);
    assert_lp(&rep, "LF", 1.0, 1.0);
    // Without T nothing can be backfed: both wait the repair.
    let rep = net.with_change(&Change::Remove("T".into())).unwrap().reliability();
    assert_lp(&rep, "LB", 1.0, 5.0);
    assert_lp(&rep, "LF", 1.0, 5.0);
    // Switching slower than the repair: everything waits the repair time.
    let (n, b, _) = net.into_parts();
    let slow = Network::new(n, b, Params { switching_h: 9.0, hours_per_year: 8760.0 }).unwrap();
    let rep = slow.reliability();
    assert_lp(&rep, "LB", 1.0, 5.0);
}
