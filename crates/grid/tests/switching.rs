//! Ring-transfer plans on `data/grid-examples/two-feeders`.
//! Feeder 2 (head CB2) carries LP4 + LP5 = 250 + 160 = 410 kW peak; LP2 is 180 kW, LP3 300 kW.

use std::collections::HashMap;

use bureau_grid::switching::{Action, Purpose, SwitchingPlan, TransferOptions};
use bureau_grid::{csvio, Network};

fn example() -> Network {
    csvio::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/grid-examples/two-feeders")).unwrap()
}

fn limit(kw: f64) -> TransferOptions {
    TransferOptions { feeder_limits_kw: HashMap::from([("CB2".to_string(), kw)]) }
}

/// Applies the plan to a copy and returns it.
fn apply(net: &Network, plan: &SwitchingPlan) -> Network {
    let mut sim = net.clone();
    for s in &plan.steps {
        sim.set_open(&s.branch, s.action == Action::Open).unwrap();
    }
    sim
}

#[test]
fn work_on_l2_isolates_and_transfers_the_far_end() {
    // Zone {B3, B4}: open D1 (upstream), D2 and F2; the part beyond D2 (LP3) goes over T1 to feeder 2;
    // LP2's lateral hangs off the zone with no tie and stays off.
    let net = example();
    let plan = net.plan_transfer("L2", &TransferOptions::default()).unwrap();
    let mut zone = plan.work_zone.clone();
    zone.sort();
    assert_eq!(zone, ["B3", "B4"]);
    let steps: Vec<(&str, Action, Purpose)> =
        plan.steps.iter().map(|s| (s.branch.as_str(), s.action, s.purpose)).collect();
    assert_eq!(steps[0], ("D1", Action::Open, Purpose::Isolate));
    let mut iso: Vec<&str> = steps[1..3].iter().map(|s| s.0).collect();
    iso.sort();
    assert_eq!(iso, ["D2", "F2"]);
    assert_eq!(steps[3], ("T1", Action::Close, Purpose::Transfer));
    assert_eq!(steps.len(), 4);
    assert_eq!(plan.customers_transferred, 80);
    assert_eq!(plan.customers_unsupplied, 50);
    assert_eq!(plan.unsupplied_loads, ["LP2"]);
    assert_eq!(plan.transfers[0].feeder, "CB2");
    let sim = apply(&net, &plan);
    assert!(sim.is_energised("LP3").unwrap() && !sim.is_energised("LP2").unwrap());
    assert!(!sim.is_energised("B3").unwrap() && !sim.is_energised("B4").unwrap());
    assert!(sim.is_energised("LP1").unwrap() && sim.is_energised("LP5").unwrap());
    // Switching back: the tie opens first, then the isolation points close, nearest the source first;
    // every switch is back in its state before the plan and every load point is energised again.
    let back: Vec<(&str, Action)> = plan.switch_back.iter().map(|s| (s.branch.as_str(), s.action)).collect();
    assert_eq!(back[..2], [("T1", Action::Open), ("D1", Action::Close)]);
    let mut rest: Vec<&str> = back[2..].iter().map(|s| s.0).collect();
    rest.sort();
    assert_eq!(rest, ["D2", "F2"]);
    assert!(plan.switch_back.iter().all(|s| s.purpose == Purpose::SwitchBack));
    let mut after = sim.clone();
    for s in &plan.switch_back {
        after.set_open(&s.branch, s.action == Action::Open).unwrap();
    }
    for b in net.branches() {
        assert_eq!(after.branch(&b.id).unwrap().open, b.open, "{}", b.id);
    }
    assert!(["LP1", "LP2", "LP3", "LP5"].iter().all(|l| after.is_energised(l).unwrap()));
}

#[test]
fn capacity_limit_blocks_or_sheds() {
    let net = example();
    // 600 kW: 190 kW free < 300 kW of LP3; shedding F3 would keep nobody: no transfer.
    let plan = net.plan_transfer("L2", &limit(600.0)).unwrap();
    assert!(plan.transfers.is_empty());
    assert_eq!(plan.customers_unsupplied, 130);
    // Work on L1: the whole part beyond D1 (LP2 + LP3 = 480 kW, 130 customers) fits 890 kW but not 760:
    // then open D2 (or F2) and keep LP3 (80 customers, 300 kW) rather than F3 (LP2, 50 customers).
    let plan = net.plan_transfer("L1", &limit(890.0)).unwrap();
    assert_eq!(plan.customers_transferred, 130);
    assert!(plan.transfers[0].shed.is_none());
    let plan = net.plan_transfer("L1", &limit(760.0)).unwrap();
    assert_eq!(plan.customers_transferred, 80);
    let shed = plan.transfers[0].shed.clone().unwrap();
    assert!(shed == "D2" || shed == "F2", "{shed}");
    assert!(plan.steps.iter().any(|s| s.purpose == Purpose::Shed && s.branch == shed));
    let sim = apply(&net, &plan);
    assert!(sim.is_energised("LP3").unwrap());
    assert!(!sim.is_energised("LP2").unwrap() && !sim.is_energised("LP1").unwrap());
    // CB1 isolates the zone {B1, B2} from the source side.
    assert_eq!(plan.steps[0].branch, "CB1");
    let mut unsupplied = plan.unsupplied_loads.clone();
    unsupplied.sort();
    assert_eq!(unsupplied, ["LP1", "LP2"]);
}

#[test]
fn unknown_branch_is_an_error() {
    assert!(example().plan_transfer("nope", &TransferOptions::default()).is_err());
}
