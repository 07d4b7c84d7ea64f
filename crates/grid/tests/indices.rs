//! Recorded-outage indices, worked by hand.
//!
//! Customers: G1 = 200 LV / 1 MV user, G2 = 300 LV / 1 MV, G3 = 500 LV / 2 MV (a 台区 plus a 10 kV
//! customer); served 1000 LV, 4 MV. Period 8760 h.
//!
//! | event | day | class                | minutes | groups  | LV N | r (h) |
//! |-------|-----|----------------------|---------|---------|------|-------|
//! | E1    | 0   | fault                | 90      | G1      | 200  | 1.5   |
//! | E2    | 1   | fault                | 3       | G2      | 300  | momentary (≤ 5 min), short (≤ 3 min) |
//! | E3    | 10  | planned              | 240     | G2, G3  | 800  | 4     |
//! | E4    | 20  | fault                | 30      | G1      | 200  | 0.5   |
//! | E5    | 20  | limit_system_shortage| 120, shed 50 % | G3 | 500 | 2 (DL/T: equivalent 1 h) |
//! | E6    | 30  | fault_external       | 60      | G1      | 200  | 1     |
//!
//! IEEE (LV): ΣN = 1900 → SAIFI 1.9; ΣrN = 300+3200+100+1000+200 = 4800 → SAIDI 4.8 h; CAIDI 4800/1900;
//! CN = 1000 → CAIFI 1.9, CTAIDI 4.8; MAIFI = 300/1000 = 0.3; sustained counts G1 3, G2 1, G3 2 →
//! CEMI-2 = 200/1000, CEMI-1 = 700/1000. Fault only: SAIFI 0.6, SAIDI 0.6; planned: SAIFI 1.3, SAIDI 4.2.
//!
//! DL/T 836 (MV users, E2 not counted): Σ h·users = 1.5·1 + 4·3 + 0.5·1 + (2·0.5)·2 + 1·1 = 17 →
//! AIHC-1 = 17/4 = 4.25 h/户; AITC-1 = (1+3+1+2+1)/4 = 2; RS-1 = (1 − 4.25/8760)·100;
//! RS-2 without E6: 16/4 = 4.0; RS-3 without E5: 15/4 = 3.75. Fault 3/4 h, 3/4 times; planned 14/4 h, 5/4.

use bureau_grid::indices::*;

fn g(id: &str, mv: u32, lv: u32) -> AffectedGroup {
    AffectedGroup { id: id.into(), mv_users: mv, lv_customers: lv }
}

fn ev(id: &str, day: i64, class: OutageClass, minutes: f64, shed: f64, groups: &[&str]) -> Interruption {
    let all = [g("G1", 1, 200), g("G2", 1, 300), g("G3", 2, 500)];
    Interruption {
        id: id.into(),
        start_s: day * 86_400 + 9 * 3600,
        duration_min: minutes,
        class,
        shed_fraction: shed,
        affected: groups.iter().map(|&n| all.iter().find(|x| x.id == n).unwrap().clone()).collect(),
    }
}

fn events() -> Vec<Interruption> {
    use OutageClass::*;
    vec![
        ev("E1", 0, Fault, 90.0, 1.0, &["G1"]),
        ev("E2", 1, Fault, 3.0, 1.0, &["G2"]),
        ev("E3", 10, Planned, 240.0, 1.0, &["G2", "G3"]),
        ev("E4", 20, Fault, 30.0, 1.0, &["G1"]),
        ev("E5", 20, LimitSystemShortage, 120.0, 0.5, &["G3"]),
        ev("E6", 30, FaultExternal, 60.0, 1.0, &["G1"]),
    ]
}

const SERVED: Population = Population { mv_users: 4, lv_customers: 1000 };

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn ieee_1366_indices() {
    let opts = IeeeOptions { cemi_n: 2, ..Default::default() };
    let r = ieee1366(&events(), SERVED, &opts);
    assert_eq!((r.sustained, r.momentary), (5, 1));
    assert!(close(r.saifi, 1.9), "{r:?}");
    assert!(close(r.saidi, 4.8));
    assert!(close(r.caidi, 4800.0 / 1900.0));
    assert!(close(r.caifi, 1.9));
    assert!(close(r.ctaidi, 4.8));
    assert!(close(r.asai, 1.0 - 4.8 / 8760.0));
    assert!(close(r.maifi, 0.3));
    assert!(close(r.cemi, 0.2));
    assert_eq!(r.customers_interrupted, 1000);
    let r1 = ieee1366(&events(), SERVED, &IeeeOptions { cemi_n: 1, ..Default::default() });
    assert!(close(r1.cemi, 0.7));
}

#[test]
fn ieee_planned_and_fault_are_separate() {
    let r = ieee1366_by_class(&events(), SERVED, &IeeeOptions::default());
    assert!(close(r.fault.saifi, 0.6) && close(r.fault.saidi, 0.6), "{:?}", r.fault);
    assert!(close(r.planned.saifi, 1.3) && close(r.planned.saidi, 4.2), "{:?}", r.planned);
    assert!(close(r.all.saidi, r.fault.saidi + r.planned.saidi));
    assert!(close(r.fault.maifi, 0.3) && close(r.planned.maifi, 0.0));
    // CAIFI with only G1 hit by sustained faults: 600 / 200.
    assert!(close(r.fault.caifi, 3.0));
}

#[test]
fn dlt_836_indices_on_mv_users() {
    let r = dlt836(&events(), SERVED, &DltOptions::default());
    assert_eq!(r.users, 4);
    assert!(close(r.aihc_1, 4.25), "{r:?}");
    assert!(close(r.aitc_1, 2.0));
    assert!(close(r.rs_1, (1.0 - 4.25 / 8760.0) * 100.0));
    assert!(close(r.rs_2, (1.0 - 4.0 / 8760.0) * 100.0));
    assert!(close(r.rs_3, (1.0 - 3.75 / 8760.0) * 100.0));
    assert!(close(r.aihc_fault, 0.75) && close(r.aitc_fault, 0.75));
    assert!(close(r.aihc_planned, 3.5) && close(r.aitc_planned, 1.25));
    assert!(r.rs_3 > r.rs_1 && r.rs_2 > r.rs_1);
}

#[test]
fn dlt_836_on_lv_customers_counts_households() {
    // LV: Σ h·N = 1.5·200 + 4·800 + 0.5·200 + 1·500 + 1·200 = 4300 → AIHC 4.3; AITC = 1900/1000.
    let opts = DltOptions { basis: Basis::LowVoltage, ..Default::default() };
    let r = dlt836(&events(), SERVED, &opts);
    assert!(close(r.aihc_1, 4.3), "{r:?}");
    assert!(close(r.aitc_1, 1.9));
    // A 4-minute interruption counts for DL/T (> 3 min) and is sustained for IEEE (> 5 min? no: momentary).
    let mut more = events();
    more.push(ev("E7", 40, OutageClass::Fault, 4.0, 1.0, &["G2"]));
    let r = dlt836(&more, SERVED, &opts);
    assert!(close(r.aitc_1, 2.2));
    assert_eq!(ieee1366(&more, SERVED, &IeeeOptions::default()).momentary, 2);
}

#[test]
fn two_and_a_half_beta_threshold() {
    // ln values 0, 1, 2 (zeros discarded): α = 1, β = sample std = sqrt((1 + 0 + 1)/2) = 1,
    // T_MED = e^(1 + 2.5) = e^3.5 ≈ 33.115.
    let e = std::f64::consts::E;
    let t = med_threshold([0.0, 1.0, e, 0.0, e * e]).unwrap();
    assert_eq!(t.days_used, 3);
    assert!(close(t.alpha, 1.0) && close(t.beta, 1.0), "{t:?}");
    assert!(close(t.t_med, 3.5f64.exp()));
    assert!(med_threshold([0.0, 2.0]).is_none());
    let next_year = [(5, 40.0), (6, 30.0), (7, 33.2)].into_iter().collect();
    assert_eq!(major_event_days(&next_year, t.t_med), vec![5, 7]);
}

#[test]
fn daily_saidi_and_indices_without_meds() {
    let daily = daily_saidi(&events(), SERVED, &IeeeOptions::default());
    // E2 is momentary; E4 and E5 share day 20.
    let expect = [(0, 0.3), (10, 3.2), (20, 1.1), (30, 0.2)];
    assert_eq!(daily.len(), expect.len());
    for (d, v) in expect {
        assert!(close(daily[&d], v), "day {d}: {}", daily[&d]);
    }
    // With a threshold of 1.0 h, days 10 and 20 are MEDs; without them SAIDI = 0.3 + 0.2.
    let meds = major_event_days(&daily, 1.0);
    assert_eq!(meds, vec![10, 20]);
    let rest = excluding_days(&events(), &meds);
    let r = ieee1366(&rest, SERVED, &IeeeOptions::default());
    assert!(close(r.saidi, 0.5));
}

#[test]
fn classes_parse_and_group() {
    for c in OutageClass::ALL {
        assert_eq!(OutageClass::parse(c.code()), Some(c));
        assert_eq!(OutageClass::parse(c.name_zh()), Some(c));
    }
    assert!(OutageClass::LimitNetwork.is_planned() && OutageClass::FaultExternal.is_fault());
}
