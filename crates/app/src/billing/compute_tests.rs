//! Hand-worked bills through `bill_account`: a meter exchanged inside the period, an estimate
//! settled by a lower actual reading, and held readings cleared by staff resolutions.

use super::compute::{bill_account, Ctx, Outcome};
use super::extras::CustomerExtras;
use bureau_domain::money::Fen;
use bureau_domain::reading::{ExceptionKind, ReadingRules, ResolutionAction};
use bureau_domain::register::{AccountNo, Contract, Meter};
use bureau_domain::tariff::{BillPeriod, TariffBook};
use bureau_store::{BillHistory, BillingAccount, ExceptionResolution, Reading, ReadingKind, StoredBill};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const ID: &str = "2300000001";

fn meter(id: &str, multiplier: i64, digits: i64, installed: &str) -> Meter {
    Meter {
        customer_id: AccountNo::parse("customer_id", ID).unwrap(),
        meter_id: id.into(),
        multiplier,
        digits,
        tou: false,
        installed_on: installed.parse().unwrap(),
        initial_reading: Decimal::ZERO,
        removed_on: None,
        final_reading: None,
    }
}

fn account(active: Meter) -> BillingAccount {
    BillingAccount {
        customer_id: ID.into(),
        bureau_id: "A".into(),
        book_id: Some("B1".into()),
        reading_day: Some(5),
        meter: Some(active),
        contract: Some(Contract {
            customer_id: AccountNo::parse("customer_id", ID).unwrap(),
            contract_id: "K1".into(),
            tariff_id: "hlj-residential".into(),
            capacity_kva: dec!(8),
            pf_standard: None,
            due_days: 15,
            effective_from: "2020-01-01".parse().unwrap(),
            effective_to: None,
        }),
    }
}

fn reading(meter: &str, on: &str, kind: ReadingKind, total: Decimal) -> Reading {
    Reading {
        customer_id: ID.into(),
        meter_id: meter.into(),
        read_on: on.into(),
        kind,
        source: "manual".into(),
        total,
        peak: None,
        flat: None,
        valley: None,
        max_demand: None,
        kvarh: None,
    }
}

fn actual(meter: &str, on: &str, total: Decimal) -> Reading {
    reading(meter, on, ReadingKind::Actual, total)
}

fn history(period: &str, kwh: Decimal) -> BillHistory {
    BillHistory { customer_id: ID.into(), period: period.into(), kwh, ytd_kwh: None }
}

fn run(
    period: &str,
    a: &BillingAccount,
    readings: &[Reading],
    hist: &[BillHistory],
    extras: CustomerExtras,
) -> Outcome {
    let tariffs = TariffBook::builtin();
    let rules = ReadingRules::default();
    let ctx = Ctx {
        tariffs: &tariffs,
        rules: &rules,
        period: BillPeriod::parse("period", period).unwrap(),
        today: "2026-06-06".parse().unwrap(),
        now: 1_780_000_000,
        estimate_missing: false,
    };
    bill_account(&ctx, a, readings, hist, extras)
}

fn billed(o: Outcome) -> StoredBill {
    match o {
        Outcome::Bill(b, _) => *b,
        Outcome::Held(e) => panic!("held: {:?}", e),
    }
}

fn held(o: Outcome) -> ExceptionKind {
    match o {
        Outcome::Bill(b, _) => panic!("billed: {:?}", b),
        Outcome::Held(e) => e[0].kind,
    }
}

fn lines_add_up(b: &StoredBill) {
    assert_eq!(b.lines.iter().map(|l| l.amount).sum::<Fen>(), b.total, "{:?}", b.lines);
}

#[test]
fn a_meter_exchanged_inside_the_period_bills_both_meters() {
    // Reading day the 5th. The old meter M1 read 1,000 on 5 March and was taken out on 20 March
    // at 1,100 (100 kWh); the new meter M2 went in at 0 and reads 61 on 5 April (61 kWh).
    // April's bill: 161 kWh, all in tier 1: 161 × 0.51 = 82.11 yuan.
    let mut old = meter("M1", 1, 6, "2015-01-01");
    old.removed_on = Some("2026-03-20".parse().unwrap());
    old.final_reading = Some(dec!(1100));
    let new = meter("M2", 1, 6, "2026-03-20");
    let readings = [actual("M1", "2026-03-05", dec!(1000)), actual("M2", "2026-04-05", dec!(61))];
    let removed = [old];
    let extras = CustomerExtras { resolutions: &[], removed_meters: &removed };
    let b = billed(run("2026-04", &account(new), &readings, &[history("2026-03", dec!(150))], extras));
    assert_eq!(b.kwh, dec!(161));
    assert_eq!(b.total, Fen(8211));
    assert_eq!(b.start_on, "2026-03-05", "the period starts at the old meter's opening reading");
    assert_eq!((b.meter_id.as_str(), b.prev_total, b.curr_total), ("M2", dec!(0), dec!(61)));
    let info: Vec<(&str, Decimal)> = b
        .lines
        .iter()
        .filter(|l| l.code.starts_with("meter_"))
        .map(|l| (l.code.as_str(), l.quantity))
        .collect();
    assert_eq!(info, vec![("meter_old", dec!(100)), ("meter_new", dec!(61))], "the bill shows both meters");
    assert!(b.lines.iter().find(|l| l.code == "meter_old").unwrap().description.zh.contains("1000 → 1100"));
    lines_add_up(&b);
}

#[test]
fn an_exchange_with_current_transformers_uses_each_multiplier() {
    // Old M1 ×40: 1,234.5 → 1,300.0 = 65.5 × 40 = 2,620 kWh; new M2 ×80: 0.8 → 12.3 = 11.5 × 80 =
    // 920 kWh; 3,540 kWh: 170 × 0.51 + 90 × 0.56 + 3,280 × 0.81 = 86.70 + 50.40 + 2,656.80 = 2,793.90.
    let mut old = meter("M1", 40, 6, "2015-01-01");
    old.removed_on = Some("2026-03-20".parse().unwrap());
    old.final_reading = Some(dec!(1300.0));
    let mut new = meter("M2", 80, 6, "2026-03-20");
    new.initial_reading = dec!(0.8);
    let readings = [actual("M1", "2026-03-05", dec!(1234.5)), actual("M2", "2026-04-05", dec!(12.3))];
    let removed = [old];
    let extras = CustomerExtras { resolutions: &[], removed_meters: &removed };
    let b = billed(run("2026-04", &account(new), &readings, &[history("2026-03", dec!(3000))], extras));
    assert_eq!(b.kwh, dec!(3540));
    assert_eq!(b.total, Fen(279_390));
    lines_add_up(&b);
}

#[test]
fn two_exchanges_in_one_period_bill_every_meter() {
    // Reading day the 5th. M1 (×1) read 1,000 on 5 March and was taken out on 12 March at 1,040:
    // 40 kWh. M2 (×1) went in on 12 March at 0 and was taken out again on 20 March at 30: 30 kWh.
    // M3 (×2) went in on 20 March at 5 and reads 50 on 5 April: 45 × 2 = 90 kWh. April's bill:
    // 40 + 30 + 90 = 160 kWh, all in tier 1: 160 × 0.51 = 81.60 yuan.
    let mut m1 = meter("M1", 1, 6, "2015-01-01");
    m1.removed_on = Some("2026-03-12".parse().unwrap());
    m1.final_reading = Some(dec!(1040));
    let mut m2 = meter("M2", 1, 6, "2026-03-12");
    m2.removed_on = Some("2026-03-20".parse().unwrap());
    m2.final_reading = Some(dec!(30));
    let mut m3 = meter("M3", 2, 6, "2026-03-20");
    m3.initial_reading = dec!(5);
    let readings = [actual("M1", "2026-03-05", dec!(1000)), actual("M3", "2026-04-05", dec!(50))];
    // Listed in no particular order: the parts follow the removal dates.
    let removed = [m2, m1];
    let extras = CustomerExtras { resolutions: &[], removed_meters: &removed };
    let b = billed(run("2026-04", &account(m3), &readings, &[history("2026-03", dec!(150))], extras));
    assert_eq!((b.kwh, b.total), (dec!(160), Fen(8160)));
    assert_eq!(b.start_on, "2026-03-05", "the period starts at the first meter's opening reading");
    assert_eq!((b.meter_id.as_str(), b.prev_total, b.curr_total), ("M3", dec!(5), dec!(50)));
    let info: Vec<(&str, Decimal)> = b
        .lines
        .iter()
        .filter(|l| l.code.starts_with("meter_"))
        .map(|l| (l.code.as_str(), l.quantity))
        .collect();
    assert_eq!(info, vec![("meter_old", dec!(40)), ("meter_old", dec!(30)), ("meter_new", dec!(90))]);
    let m2_line = &b.lines.iter().filter(|l| l.code == "meter_old").nth(1).unwrap().description.zh;
    assert!(m2_line.contains("M2") && m2_line.contains("0 → 30"), "{m2_line}");
    lines_add_up(&b);
}

#[test]
fn an_exchange_with_a_reverse_old_meter_is_held() {
    let mut old = meter("M1", 1, 6, "2015-01-01");
    old.removed_on = Some("2026-03-20".parse().unwrap());
    old.final_reading = Some(dec!(990));
    let readings = [actual("M1", "2026-03-05", dec!(1000)), actual("M2", "2026-04-05", dec!(61))];
    let removed = [old];
    let extras = CustomerExtras { resolutions: &[], removed_meters: &removed };
    let kind = held(run("2026-04", &account(meter("M2", 1, 6, "2026-03-20")), &readings, &[], extras));
    assert_eq!(kind, ExceptionKind::Reverse);
}

#[test]
fn an_actual_reading_below_the_estimate_is_credited_on_the_next_bill() {
    // March was estimated (估抄) at 1,200 from 1,000: 200 kWh billed, 103.50 yuan. April's actual
    // reading is 1,150, 50 below the estimate: March really used 150 kWh (76.50 yuan). April's
    // bill has no consumption of its own and gives back 27.00 yuan: tier 2's 30 kWh (−16.80) and
    // 20 kWh of tier 1 (−10.20).
    let m = meter("M1", 1, 6, "2015-01-01");
    let readings = [
        reading("M1", "2026-03-05", ReadingKind::Estimated, dec!(1200)),
        actual("M1", "2026-04-05", dec!(1150)),
    ];
    let hist = [history("2026-03", dec!(200)), history("2026-02", dec!(180))];
    let b = billed(run("2026-04", &account(m), &readings, &hist, CustomerExtras::default()));
    assert_eq!(b.kwh, dec!(-50));
    assert_eq!(b.total, Fen(-2700));
    let credit: Vec<(&str, Decimal, Fen)> = b
        .lines
        .iter()
        .filter(|l| l.code.starts_with("trueup_"))
        .map(|l| (l.code.as_str(), l.quantity, l.amount))
        .collect();
    assert_eq!(
        credit,
        vec![
            ("trueup_energy_tier_1", dec!(-20), Fen(-1020)),
            ("trueup_energy_tier_2", dec!(-30), Fen(-1680))
        ]
    );
    assert!(b.funds <= Fen::ZERO, "the funds contained go down with the kWh");
    lines_add_up(&b);
}

#[test]
fn an_over_estimate_without_the_estimated_bill_stays_held() {
    let m = meter("M1", 1, 6, "2015-01-01");
    let readings = [
        reading("M1", "2026-03-05", ReadingKind::Estimated, dec!(1200)),
        actual("M1", "2026-04-05", dec!(1150)),
    ];
    let kind = held(run(
        "2026-04",
        &account(m),
        &readings,
        &[history("2026-01", dec!(200))],
        CustomerExtras::default(),
    ));
    assert_eq!(kind, ExceptionKind::OverEstimate);
}

fn resolution(
    period: &str,
    action: ResolutionAction,
    kind: ExceptionKind,
    reading: Option<Reading>,
) -> ExceptionResolution {
    ExceptionResolution {
        customer_id: ID.into(),
        period: period.into(),
        seq: 1,
        action,
        kind,
        reading,
        reason: "现场核实".into(),
        resolved_by: "clerk".into(),
        resolved_at: 1_780_000_000,
    }
}

#[test]
fn a_confirmed_rollover_bills_through_zero() {
    // A 5-digit register from 99,950 to 30: held; confirmed, 80 kWh = 40.80 yuan.
    let m = meter("M1", 1, 5, "2015-01-01");
    let readings = [actual("M1", "2026-03-05", dec!(99950)), actual("M1", "2026-04-05", dec!(30))];
    let hist = [history("2026-03", dec!(90))];
    assert_eq!(
        held(run("2026-04", &account(m.clone()), &readings, &hist, CustomerExtras::default())),
        ExceptionKind::Rollover
    );
    let res = [resolution("2026-04", ResolutionAction::Confirm, ExceptionKind::Rollover, None)];
    let extras = CustomerExtras { resolutions: &res, removed_meters: &[] };
    let b = billed(run("2026-04", &account(m), &readings, &hist, extras));
    assert_eq!((b.kwh, b.total), (dec!(80), Fen(4080)));
}

#[test]
fn a_confirmed_jump_skips_the_history_check() {
    let m = meter("M1", 1, 6, "2015-01-01");
    let readings = [actual("M1", "2026-03-05", dec!(1000)), actual("M1", "2026-04-05", dec!(2000))];
    let hist = [history("2026-03", dec!(100)), history("2026-02", dec!(110))];
    assert_eq!(
        held(run("2026-04", &account(m.clone()), &readings, &hist, CustomerExtras::default())),
        ExceptionKind::Jump
    );
    let res = [resolution("2026-04", ResolutionAction::Confirm, ExceptionKind::Jump, None)];
    let extras = CustomerExtras { resolutions: &res, removed_meters: &[] };
    assert_eq!(billed(run("2026-04", &account(m), &readings, &hist, extras)).kwh, dec!(1000));
}

#[test]
fn a_correction_stands_beside_the_original_and_opens_the_next_period() {
    // April read 900 after March's 1,000 (a reverse); corrected to 1,100: 100 kWh. May reads
    // 1,180: its opening is the corrected April reading, 80 kWh.
    let m = meter("M1", 1, 6, "2015-01-01");
    let readings = [actual("M1", "2026-03-05", dec!(1000)), actual("M1", "2026-04-05", dec!(900))];
    let hist = [history("2026-03", dec!(100))];
    assert_eq!(
        held(run("2026-04", &account(m.clone()), &readings, &hist, CustomerExtras::default())),
        ExceptionKind::Reverse
    );
    let mut fixed = actual("M1", "2026-04-05", dec!(1100));
    fixed.source = "correct".into();
    let res = [resolution("2026-04", ResolutionAction::Correct, ExceptionKind::Reverse, Some(fixed))];
    let extras = CustomerExtras { resolutions: &res, removed_meters: &[] };
    let b = billed(run("2026-04", &account(m.clone()), &readings, &hist, extras));
    assert_eq!((b.kwh, b.curr_total), (dec!(100), dec!(1100)));
    let may = [actual("M1", "2026-04-05", dec!(900)), actual("M1", "2026-05-05", dec!(1180))];
    let hist = [history("2026-04", dec!(100))];
    let b = billed(run("2026-05", &account(m), &may, &hist, extras));
    assert_eq!((b.kwh, b.prev_total), (dec!(80), dec!(1100)));
}

#[test]
fn winter_heating_like_last_winter_is_billed_not_held() {
    // Autumn 150 kWh a month; December 900 kWh; last December 820 kWh: billed.
    let m = meter("M1", 1, 6, "2015-01-01");
    let readings = [actual("M1", "2026-11-05", dec!(5000)), actual("M1", "2026-12-05", dec!(5900))];
    let mut hist =
        vec![history("2026-11", dec!(150)), history("2026-10", dec!(160)), history("2026-09", dec!(140))];
    assert_eq!(
        held(run("2026-12", &account(m.clone()), &readings, &hist, CustomerExtras::default())),
        ExceptionKind::Jump
    );
    hist.push(history("2025-12", dec!(820)));
    let b = billed(run("2026-12", &account(m), &readings, &hist, CustomerExtras::default()));
    assert_eq!(b.kwh, dec!(900));
}

/// A two-part customer (example-two-part: energy 0.60 yuan/kWh, basic 20 yuan/kVA or 30 yuan/kW a
/// month, power-factor standard 0.90; funds 0.019 + 0.0062 + 0.0005 = 0.0257 yuan/kWh kept out of
/// the power-factor base) on 315 kVA, with a reactive register and a demand register.
fn two_part(m: Meter) -> BillingAccount {
    let mut a = account(m);
    let c = a.contract.as_mut().unwrap();
    c.tariff_id = "example-two-part".into();
    c.capacity_kva = dec!(315);
    a
}

fn with_registers(mut r: Reading, kvarh: Decimal, max_demand: Option<Decimal>) -> Reading {
    r.kvarh = Some(kvarh);
    r.max_demand = max_demand;
    r
}

type Row<'a> = (&'a str, Decimal, Decimal, Fen);

fn rows(b: &StoredBill) -> Vec<Row<'_>> {
    b.lines.iter().map(|l| (l.code.as_str(), l.quantity, l.unit_price, l.amount)).collect()
}

#[test]
fn the_reading_after_an_estimate_settles_its_demand_and_power_factor() {
    // October (read 5 September at 20,000, kvarh 8,000) could not be read: estimated at 30,000 on
    // September's 10,000 kWh; the estimate reads no demand and leaves the kvarh register at 8,000.
    // October's bill was: energy 10,000 × 0.60 = 6,000.00; basic on capacity 315 × 20 = 6,300.00;
    // no reactive energy, power factor 1.00: −0.75 % of (12,300.00 − funds 257.00) = −90.32.
    //
    // 5 November reads 41,000, kvarh 18,500, demand 200 kW: 21,000 kWh and 10,500 kvarh over both
    // months, power factor 21,000 / √(21,000² + 10,500²) = 0.894 → 0.89, +0.5 %. The kvarh go
    // 10,500 × 10,000 / 21,000 = 5,000 to October and 5,500 to November (both 0.89).
    //
    // November's own bill: energy 11,000 × 0.60 = 6,600.00; demand 200 × 30 = 6,000.00 (11,000 /
    // 315 kVA is under 260 kWh per kVA); funds 11,000 × 0.0257 = 282.70; +0.5 % of (12,600.00 −
    // 282.70 = 12,317.30) = 61.59; 12,661.59.
    // October settled: demand 200 × 30 = 6,000.00 instead of capacity 6,300.00; energy unchanged;
    // +0.5 % of (12,000.00 − 257.00 = 11,743.00) = 58.72 instead of −90.32. The true-up: −6,300.00
    // + 90.32 + 58.72 + 6,000.00 = −150.96. November's bill: 12,661.59 − 150.96 = 12,510.63.
    // (Before this settlement November carried all 10,500 kvarh against its 11,000 kWh, 0.72 and
    // +9 %, and October's rebate stood.)
    let m = meter("M1", 1, 6, "2015-01-01");
    let readings = [
        with_registers(reading("M1", "2026-10-05", ReadingKind::Estimated, dec!(30000)), dec!(8000), None),
        with_registers(actual("M1", "2026-11-05", dec!(41000)), dec!(18500), Some(dec!(200))),
    ];
    let hist = [history("2026-10", dec!(10000)), history("2026-09", dec!(10000))];
    let b = billed(run("2026-11", &two_part(m), &readings, &hist, CustomerExtras::default()));
    assert_eq!(
        rows(&b),
        vec![
            ("energy", dec!(11000), dec!(0.60), Fen(660_000)),
            ("basic_demand", dec!(200), dec!(30), Fen(600_000)),
            ("pf_adjustment", dec!(12317.30), dec!(0.005), Fen(6_159)),
            ("trueup_basic_capacity", dec!(-315), dec!(20), Fen(-630_000)),
            ("trueup_pf_adjustment", dec!(-12043), dec!(-0.0075), Fen(9_032)),
            ("trueup_pf_adjustment", dec!(11743), dec!(0.005), Fen(5_872)),
            ("trueup_basic_demand", dec!(200), dec!(30), Fen(600_000)),
        ]
    );
    assert_eq!((b.kwh, b.total, b.funds), (dec!(11000), Fen(1_251_063), Fen(28_270)));
    lines_add_up(&b);
}

#[test]
fn an_over_estimate_settles_its_demand_and_power_factor_with_its_kwh() {
    // As above, but 5 November reads only 26,000, kvarh 11,000, demand 200 kW: October really
    // used 6,000 kWh (4,000 under the estimate) and 3,000 kvarh, all of it (November has no kWh of
    // its own): 6,000 / √(6,000² + 3,000²) = 0.894 → 0.89, +0.5 %.
    // October settled: energy 6,000 × 0.60 = 3,600.00 (−2,400.00); demand 6,000.00 instead of
    // capacity 6,300.00; funds 6,000 × 0.0257 = 154.20; +0.5 % of (9,600.00 − 154.20 = 9,445.80)
    // = 47.23 instead of −90.32. True-up: −2,400.00 − 6,300.00 + 90.32 + 47.23 + 6,000.00 =
    // −2,562.45. November's own bill is its demand charge, 6,000.00 (no kWh, no power factor):
    // 3,437.55. Funds: 154.20 − 257.00 = −102.80. (Before, only the 2,400.00 of energy was given
    // back: 3,600.00.)
    let m = meter("M1", 1, 6, "2015-01-01");
    let readings = [
        with_registers(reading("M1", "2026-10-05", ReadingKind::Estimated, dec!(30000)), dec!(8000), None),
        with_registers(actual("M1", "2026-11-05", dec!(26000)), dec!(11000), Some(dec!(200))),
    ];
    let hist = [history("2026-10", dec!(10000)), history("2026-09", dec!(10000))];
    let b = billed(run("2026-11", &two_part(m), &readings, &hist, CustomerExtras::default()));
    assert_eq!(
        rows(&b),
        vec![
            ("basic_demand", dec!(200), dec!(30), Fen(600_000)),
            ("trueup_energy", dec!(-4000), dec!(0.60), Fen(-240_000)),
            ("trueup_basic_capacity", dec!(-315), dec!(20), Fen(-630_000)),
            ("trueup_pf_adjustment", dec!(-12043), dec!(-0.0075), Fen(9_032)),
            ("trueup_pf_adjustment", dec!(9445.8), dec!(0.005), Fen(4_723)),
            ("trueup_basic_demand", dec!(200), dec!(30), Fen(600_000)),
        ]
    );
    assert_eq!((b.kwh, b.total, b.funds), (dec!(-4000), Fen(343_755), Fen(-10_280)));
    lines_add_up(&b);
}
