//! Outage prediction on `data/grid-examples/two-feeders`.
//! Candidate chains (nearest device first): LP1: F1, CB1; LP2: F2, CB1; LP3: F3, CB1; LP4: F4, CB2;
//! LP5: F5, CB2. Customers: LP1 100, LP2 50, LP3 80, LP4 60, LP5 40; below CB1 230.

use bureau_grid::predict::{Call, Evidence, PredictedOutage, PredictionRules};
use bureau_grid::{csvio, Network};

fn example() -> Network {
    csvio::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/grid-examples/two-feeders")).unwrap()
}

fn calls(spec: &[(&str, i64)]) -> Vec<Call> {
    spec.iter()
        .enumerate()
        .map(|(k, &(load, min))| Call { id: format!("c{k}"), load: load.into(), time_s: min * 60 })
        .collect()
}

fn devices(p: &[PredictedOutage]) -> Vec<String> {
    p.iter()
        .map(|o| o.device.clone().unwrap_or_else(|| format!("load:{}", o.load.clone().unwrap())))
        .collect()
}

#[test]
fn enough_calls_predict_the_lateral_fuse() {
    let net = example();
    let p = net
        .predict_outages(
            &calls(&[("LP1", 0), ("LP1", 5), ("LP1", 9)]),
            &Evidence::default(),
            &Default::default(),
        )
        .unwrap();
    assert_eq!(devices(&p), ["F1"]);
    assert_eq!(p[0].customers, 100);
    assert_eq!(p[0].calls, ["c0", "c1", "c2"]);
    assert_eq!(p[0].first_call_s, 0);
}

#[test]
fn single_calls_stay_service_outages() {
    // F1: 1 call of 100 customers (1 % < 10 %), F2: 1 of 50; CB1: 2 unexplained calls < 3, 2/230 < 10 %.
    let net = example();
    let p = net
        .predict_outages(&calls(&[("LP1", 0), ("LP2", 1)]), &Evidence::default(), &Default::default())
        .unwrap();
    assert_eq!(devices(&p), ["load:LP1", "load:LP2"]);
}

#[test]
fn two_predicted_fuses_roll_up_to_the_breaker_and_a_live_meter_moves_it_down() {
    let net = example();
    let c = calls(&[("LP1", 0), ("LP1", 1), ("LP1", 2), ("LP2", 3), ("LP2", 4), ("LP2", 5)]);
    let p = net.predict_outages(&c, &Evidence::default(), &Default::default()).unwrap();
    assert_eq!(devices(&p), ["CB1"]);
    assert_eq!(p[0].calls.len(), 6);
    assert_eq!(p[0].customers, 230);
    // LP3's meter answers: CB1 is closed; the calls regroup at F1 and F2.
    let ev = Evidence { meters_on: vec!["LP3".into()], ..Default::default() };
    let p = net.predict_outages(&c, &ev, &Default::default()).unwrap();
    let mut d = devices(&p);
    d.sort();
    assert_eq!(d, ["F1", "F2"]);
    // With three needed to roll up, the two fuses stay.
    let rules = PredictionRules { rollup_children: 3, ..Default::default() };
    let p = net.predict_outages(&c, &Evidence::default(), &rules).unwrap();
    assert_eq!(devices(&p), ["F1", "F2"]);
}

#[test]
fn a_live_meter_at_the_callers_load_point_leaves_a_service_outage() {
    let net = example();
    let ev = Evidence { meters_on: vec!["LP1".into()], ..Default::default() };
    let p =
        net.predict_outages(&calls(&[("LP1", 0), ("LP1", 1), ("LP1", 2)]), &ev, &Default::default()).unwrap();
    assert_eq!(devices(&p), ["load:LP1"]);
}

#[test]
fn time_window_splits_groups_and_share_rule() {
    let net = example();
    let c = calls(&[("LP1", 0), ("LP1", 20), ("LP1", 40), ("LP1", 100), ("LP1", 110), ("LP1", 120)]);
    let p = net.predict_outages(&c, &Evidence::default(), &Default::default()).unwrap();
    assert_eq!(devices(&p), ["F1", "F1"]);
    assert_eq!(p[1].first_call_s, 100 * 60);
    // Share: 4 calls of LP5's 40 customers = 10 % even when 10 calls would be needed.
    let rules = PredictionRules::from_toml("min_calls = 10\nmin_share = 0.1\n").unwrap();
    assert_eq!(rules.rollup_children, 2);
    let p = net
        .predict_outages(
            &calls(&[("LP5", 0), ("LP5", 1), ("LP5", 2), ("LP5", 3)]),
            &Evidence::default(),
            &rules,
        )
        .unwrap();
    assert_eq!(devices(&p), ["F5"]);
    let p = net
        .predict_outages(&calls(&[("LP5", 0), ("LP5", 1), ("LP5", 2)]), &Evidence::default(), &rules)
        .unwrap();
    assert_eq!(devices(&p), ["load:LP5"]);
    assert!(PredictionRules::from_toml("bogus = 1").is_err());
}

#[test]
fn a_device_known_closed_is_never_predicted() {
    let net = example();
    let ev = Evidence { known_closed: vec!["F1".into()], ..Default::default() };
    let p =
        net.predict_outages(&calls(&[("LP1", 0), ("LP1", 1), ("LP1", 2)]), &ev, &Default::default()).unwrap();
    assert_eq!(devices(&p), ["CB1"]);
    assert!(net.predict_outages(&calls(&[("nope", 0)]), &Evidence::default(), &Default::default()).is_err());
}
