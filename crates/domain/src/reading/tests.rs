use super::*;
use rust_decimal_macros::dec;

const DIRECT: MeterSpec = MeterSpec { multiplier: 1, digits: 6 };

fn regs(total: Decimal) -> Registers {
    Registers { total, ..Default::default() }
}

#[test]
fn advance_times_multiplier() {
    let m = MeterSpec { multiplier: 30, digits: 6 };
    let c = consumption(m, &regs(dec!(1200.5)), false, &regs(dec!(1250.5))).unwrap();
    assert_eq!(c.kwh, dec!(1500));
    let c = consumption(DIRECT, &regs(dec!(100)), false, &regs(dec!(100))).unwrap();
    assert_eq!(c.kwh, Decimal::ZERO);
}

#[test]
fn rollover_uses_the_digits_and_is_held_with_its_advance() {
    // A 5-digit register from 99,950 to 30: 80 units through zero.
    let m = MeterSpec { multiplier: 1, digits: 5 };
    let h = consumption(m, &regs(dec!(99950)), false, &regs(dec!(30))).unwrap_err();
    assert_eq!(h.kind, ExceptionKind::Rollover);
    assert!(h.detail.en.contains("80 kWh"), "{}", h.detail.en);
    // The same figures on a 6-digit register cannot be a rollover: 900,080 units is no month.
    let h = consumption(DIRECT, &regs(dec!(99950)), false, &regs(dec!(30))).unwrap_err();
    assert_eq!(h.kind, ExceptionKind::Reverse);
    // A small step back is a reverse reading.
    let h = consumption(DIRECT, &regs(dec!(5000)), false, &regs(dec!(4990))).unwrap_err();
    assert_eq!(h.kind, ExceptionKind::Reverse);
}

#[test]
fn below_an_estimate_is_an_over_estimate_not_a_reverse() {
    let h = consumption(DIRECT, &regs(dec!(5200)), true, &regs(dec!(5150))).unwrap_err();
    assert_eq!(h.kind, ExceptionKind::OverEstimate);
    // Above the estimate the advance trues up by itself: (5400 − 5200) after an estimate from 5000.
    let c = consumption(DIRECT, &regs(dec!(5200)), true, &regs(dec!(5400))).unwrap();
    assert_eq!(c.kwh, dec!(200));
}

#[test]
fn time_of_use_registers_must_add_up() {
    let prev = Registers {
        total: dec!(1000),
        peak: Some(dec!(300)),
        flat: Some(dec!(450)),
        valley: Some(dec!(250)),
        ..Default::default()
    };
    let mut curr = Registers {
        total: dec!(1100),
        peak: Some(dec!(330)),
        flat: Some(dec!(500)),
        valley: Some(dec!(270)),
        max_demand: Some(dec!(1.25)),
        kvarh: None,
    };
    let m = MeterSpec { multiplier: 40, digits: 6 };
    let c = consumption(m, &prev, false, &curr).unwrap();
    assert_eq!(
        (c.kwh, c.peak_kwh, c.flat_kwh, c.valley_kwh),
        (dec!(4000), Some(dec!(1200)), Some(dec!(2000)), Some(dec!(800)))
    );
    assert_eq!(c.max_demand_kw, Some(dec!(50)));
    curr.valley = Some(dec!(271));
    assert_eq!(consumption(m, &prev, false, &curr).unwrap_err().kind, ExceptionKind::TouMismatch);
}

#[test]
fn zero_and_jumps_are_held() {
    let rules = ReadingRules::default();
    let hist = [dec!(150), dec!(170), dec!(130)];
    assert_eq!(check_history(&rules, Decimal::ZERO, &hist).unwrap_err().kind, ExceptionKind::Zero);
    assert!(check_history(&rules, dec!(300), &hist).is_ok());
    // 3 × 150 = 450 and 200 kWh above: 651 is a jump, 450 is not.
    assert!(check_history(&rules, dec!(450), &hist).is_ok());
    assert_eq!(check_history(&rules, dec!(651), &hist).unwrap_err().kind, ExceptionKind::Jump);
    // A household from 10 to 40 kWh is not news (under jump_min_kwh).
    assert!(check_history(&rules, dec!(40), &[dec!(10)]).is_ok());
    // Far below a factory's history.
    assert_eq!(check_history(&rules, dec!(1000), &[dec!(50000)]).unwrap_err().kind, ExceptionKind::Jump);
    // No history: nothing to compare.
    assert!(check_history(&rules, dec!(99999), &[]).is_ok());
}

#[test]
fn estimate_repeats_the_previous_period_and_trues_up_next_time() {
    let m = MeterSpec { multiplier: 30, digits: 6 };
    let prev = Registers {
        total: dec!(1000),
        peak: Some(dec!(300)),
        flat: Some(dec!(500)),
        valley: Some(dec!(200)),
        max_demand: Some(dec!(3)),
        kvarh: None,
    };
    // Last period 1,500 kWh = 50 units.
    let e = estimate(m, &prev, dec!(1500)).unwrap();
    assert_eq!(e.total, dec!(1050));
    assert_eq!((e.peak, e.flat, e.valley), (Some(dec!(315)), Some(dec!(525)), Some(dec!(210))));
    assert_eq!(e.max_demand, None);
    // The estimate is itself a consistent reading.
    assert_eq!(consumption(m, &prev, false, &e).unwrap().kwh, dec!(1500));
    // Next actual 1,080: 30 units billed on top of the estimate; the two periods add up to 80.
    let c = consumption(m, &e, true, &regs(dec!(1080))).unwrap();
    assert_eq!(c.kwh + dec!(1500), dec!(80) * dec!(30));
    // Wraps past full scale.
    let e = estimate(MeterSpec { multiplier: 1, digits: 4 }, &regs(dec!(9990)), dec!(25)).unwrap();
    assert_eq!(e.total, dec!(15));
}

#[test]
fn a_seasonal_rise_like_last_years_is_not_a_jump() {
    let rules = ReadingRules::default();
    // Autumn months of 150, 160, 140 kWh (average 150); December with electric heating: 900 kWh.
    // Against the recent months alone that is a jump (900 > 3 × 150 and 750 kWh more) …
    let autumn = [dec!(150), dec!(160), dec!(140)];
    assert_eq!(check_history(&rules, dec!(900), &autumn).unwrap_err().kind, ExceptionKind::Jump);
    // … but last December was 820 kWh: 900 is within 3 × 820, not held.
    assert!(check_history_seasonal(&rules, dec!(900), &autumn, Some(dec!(820))).is_ok());
    // Last December 200 kWh: 900 > 3 × 200 and 700 kWh more: still a jump, and the detail says so.
    let h = check_history_seasonal(&rules, dec!(900), &autumn, Some(dec!(200))).unwrap_err();
    assert_eq!(h.kind, ExceptionKind::Jump);
    assert!(h.detail.en.contains("200 kWh in the same month last year"), "{}", h.detail.en);
    // No bill of last December: the recent check decides.
    assert_eq!(
        check_history_seasonal(&rules, dec!(900), &autumn, None).unwrap_err().kind,
        ExceptionKind::Jump
    );
    // A zero is held whatever last year was.
    assert_eq!(
        check_history_seasonal(&rules, Decimal::ZERO, &autumn, Some(dec!(0))).unwrap_err().kind,
        ExceptionKind::Zero
    );
    // A drop like last year's (an irrigation well idle in winter: 40 kWh after 600s, last year 30).
    let summer = [dec!(600), dec!(650), dec!(620)];
    assert!(check_history_seasonal(&rules, dec!(40), &summer, Some(dec!(30))).is_ok());
}
