//! Settling an estimate (估抄结算) at the actual reading that follows it.
//!
//! 供电营业规则 (1996) Art. 83 lets the bureau bill a meter it could not read on the previous
//! period's consumption "待下次抄表时结算" — to be settled at the next reading. When the actual
//! reading is above the estimate, the register advance from the estimate bills the rest by itself.
//! When it is below, the estimate billed `over` kWh too many: the next bill credits them. The credit
//! is the difference between the estimated bill and that same bill recomputed with `over` kWh less,
//! line by line (so a tier line gives back at its own tier's price and the tier counter of the
//! estimated period is corrected), and the period itself has no consumption of its own (the
//! register has not yet reached the estimated value). Only when the actual reading is below even
//! the reading the estimate started from is the meter really going backwards: that is held.
//!
//! kWh are not all an estimate gets wrong. An estimate reads no maximum demand and does not advance
//! the reactive register ([`super::estimate`]), so the estimated bill put a two-part customer's
//! basic charge (基本电费) on capacity instead of demand and assessed the power factor (功率因数调整电费,
//! 〔83〕水电财字第215号) at 1.00, a rebate. The actual reading is the first measurement of the two
//! months together, so at it the estimated bill is recomputed with what it shows ([`settle`]):
//! - the maximum demand read is the estimated month's too: nobody read (and reset) the demand
//!   register at the estimate, so the reading holds the highest demand of both months [R];
//! - the reactive energy read since the reading before the estimate is shared between the two
//!   months in proportion to their kWh ([`split_kvarh`]): neither month was measured alone, and the
//!   share gives each month the power factor of the two together, the only one measured.
//!
//! The bill of the actual reading carries the difference, line by line, and assesses its own
//! month on its own share of the reactive energy.

use super::{ExceptionKind, Held, MeterSpec, Registers};
use crate::i18n::Text;
use crate::money::Fen;
use crate::tariff::{calculate, BillInput, BillLine, Tariff};
use rust_decimal::Decimal;
use serde::Serialize;

/// The settlement of an estimate: lines to add to the next bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrueUp {
    /// kWh the estimate billed too many (zero when the actual reading was not below it).
    pub over_kwh: Decimal,
    /// One line per line of the estimated bill that changes by quantity, two (given back, charged
    /// again) per line that changes price (code `trueup_<code>`).
    pub lines: Vec<BillLine>,
    /// The sum of `lines` (negative or zero for kWh alone; demand and power factor may add).
    pub amount: Fen,
    /// The change of the government funds contained in it (negative or zero: funds go with kWh).
    pub funds: Fen,
}

/// kWh (after the multiplier) by which an estimated reading exceeds the actual one that followed
/// it; `None` when the actual reading is not below the estimate.
pub fn over_estimate_kwh(meter: MeterSpec, estimate: &Registers, actual: &Registers) -> Option<Decimal> {
    (actual.total < estimate.total)
        .then(|| ((estimate.total - actual.total) * Decimal::from(meter.multiplier)).normalize())
}

/// The true-up of an estimated bill: `estimated` is the input that bill was computed with (its
/// `kwh` the estimated consumption), `over_kwh` what the estimate exceeded the actual reading by.
pub fn true_up(tariff: &Tariff, estimated: &BillInput, over_kwh: Decimal) -> Result<TrueUp, Held> {
    let actual = BillInput { kwh: estimated.kwh - over_kwh, tou: None, ..estimated.clone() };
    settle(tariff, estimated, &actual)
}

/// Shares the reactive energy `kvarh_both` read over an estimated month and the month after it
/// between the two in proportion to their kWh (`kwh_estimated` the estimated month's as settled,
/// `kwh_after` the next month's): (estimated month's share, next month's share). Both months then
/// have the power factor of the two together. With no kWh at all the next month keeps it all.
pub fn split_kvarh(kvarh_both: Decimal, kwh_estimated: Decimal, kwh_after: Decimal) -> (Decimal, Decimal) {
    let kwh_both = kwh_estimated + kwh_after;
    if kwh_both <= Decimal::ZERO || kwh_estimated <= Decimal::ZERO {
        return (Decimal::ZERO, kvarh_both);
    }
    let estimated = kvarh_both * kwh_estimated / kwh_both;
    (estimated, kvarh_both - estimated)
}

/// The true-up of an estimated bill against the same period recomputed from what the actual
/// reading showed: `billed` is the input the estimated bill was computed with, `actual` the same
/// period with its kWh as settled (fewer when the estimate was over), and the maximum demand and
/// reactive energy share the actual reading gives it (see the module documentation).
///
/// A line whose price is unchanged gives back (or adds) the difference of quantity and amount; a
/// line whose price changed (the power-factor percentage, a demand price) is given back whole and
/// charged again at the new price, so that every line reads as quantity × price.
pub fn settle(tariff: &Tariff, billed: &BillInput, actual: &BillInput) -> Result<TrueUp, Held> {
    let over_kwh = billed.kwh - actual.kwh;
    if actual.kwh < Decimal::ZERO {
        return Err(Held {
            kind: ExceptionKind::Reverse,
            detail: Text::new(
                format!(
                    "实抄示数低于估抄前的示数：估抄电量 {} kWh，实抄少 {} kWh",
                    billed.kwh.normalize(),
                    over_kwh.normalize()
                ),
                format!(
                    "the actual reading is below the reading the estimate started from: estimated {} kWh, {} kWh less read",
                    billed.kwh.normalize(),
                    over_kwh.normalize()
                ),
            ),
        });
    }
    let refused = |e: crate::error::FieldError| Held {
        kind: ExceptionKind::Unbillable,
        detail: Text::new(
            format!("估抄结算无法计算（{}）：{}", e.field, e.message.zh),
            format!("the true-up of the estimate cannot be computed ({}): {}", e.field, e.message.en),
        ),
    };
    let was_calc = calculate(tariff, billed).map_err(refused)?;
    let now_calc = calculate(tariff, actual).map_err(refused)?;
    let key = |l: &BillLine| (l.code.clone(), l.version_from);
    let mut lines = Vec::new();
    // Every line of either computation, in the estimated bill's order, then any line only the
    // recomputation has.
    let mut keys: Vec<_> = was_calc.lines.iter().map(key).collect();
    for l in &now_calc.lines {
        if !keys.contains(&key(l)) {
            keys.push(key(l));
        }
    }
    let describe = |base: &BillLine, quantity: Decimal, amount: Fen, unit_price: Decimal| BillLine {
        code: format!("trueup_{}", base.code),
        description: Text::new(
            format!("估抄结算 {}：{}", billed.period, base.description.zh),
            format!("True-up of the {} estimate: {}", billed.period, base.description.en),
        ),
        quantity: quantity.normalize(),
        unit: base.unit,
        unit_price,
        amount,
        tier: base.tier,
        ytd_kwh: None,
        version_from: base.version_from,
        days: base.days,
    };
    for k in keys {
        let was = was_calc.lines.iter().find(|l| key(l) == k);
        let now = now_calc.lines.iter().find(|l| key(l) == k);
        match (was, now) {
            (Some(w), Some(n)) if w.unit_price != n.unit_price => {
                lines.push(describe(w, -w.quantity, -w.amount, w.unit_price));
                lines.push(describe(n, n.quantity, n.amount, n.unit_price));
            }
            _ => {
                let q = now.map_or(Decimal::ZERO, |l| l.quantity) - was.map_or(Decimal::ZERO, |l| l.quantity);
                let amount = now.map_or(Fen::ZERO, |l| l.amount) - was.map_or(Fen::ZERO, |l| l.amount);
                if q.is_zero() && amount == Fen::ZERO {
                    continue;
                }
                let base = was.or(now).expect("the key came from one of them");
                lines.push(describe(base, q, amount, base.unit_price));
            }
        }
    }
    let amount = lines.iter().map(|l| l.amount).sum();
    Ok(TrueUp { over_kwh, lines, amount, funds: now_calc.funds_total - was_calc.funds_total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tariff::{BillPeriod, TariffBook};
    use rust_decimal_macros::dec;

    fn input(tariff: &str, kwh: Decimal) -> (Tariff, BillInput) {
        let book = TariffBook::builtin();
        let t = book.get(tariff).unwrap().clone();
        (t, BillInput::month(BillPeriod::parse("period", "2026-03").unwrap(), kwh))
    }

    #[test]
    fn over_estimate_after_the_multiplier() {
        let m = MeterSpec { multiplier: 30, digits: 6 };
        let r = |t: Decimal| Registers { total: t, ..Default::default() };
        assert_eq!(over_estimate_kwh(m, &r(dec!(1250)), &r(dec!(1248.5))), Some(dec!(45)));
        assert_eq!(over_estimate_kwh(m, &r(dec!(1250)), &r(dec!(1250))), None);
        assert_eq!(over_estimate_kwh(m, &r(dec!(1250)), &r(dec!(1300))), None);
    }

    #[test]
    fn monthly_tiers_give_back_from_the_top_tier_down() {
        // March was estimated at 200 kWh: 170 × 0.51 = 86.70 and 30 × 0.56 = 16.80, 103.50 yuan.
        // April's actual reading is 50 kWh below the estimate: March really used 150 kWh, 150 ×
        // 0.51 = 76.50. The credit: tier 2 gives back its 30 kWh (−16.80) and tier 1 20 kWh
        // (−10.20): −27.00 yuan, 103.50 − 27.00 = 76.50.
        let (t, est) = input("hlj-residential", dec!(200));
        let u = true_up(&t, &est, dec!(50)).unwrap();
        let got: Vec<(&str, Decimal, Decimal, i64)> =
            u.lines.iter().map(|l| (l.code.as_str(), l.quantity, l.unit_price, l.amount.0)).collect();
        assert_eq!(
            got,
            vec![
                ("trueup_energy_tier_1", dec!(-20), dec!(0.51), -1020),
                ("trueup_energy_tier_2", dec!(-30), dec!(0.56), -1680)
            ]
        );
        assert_eq!(u.amount, Fen(-2700));
        // Funds contained: (0.001 + 0.0062 + 0.0005 + …) per kWh on 50 kWh less; never positive.
        assert!(u.funds <= Fen::ZERO);
    }

    #[test]
    fn within_one_tier_is_one_line() {
        // Estimated 120 kWh, 20 too many: −20 × 0.51 = −10.20.
        let (t, est) = input("hlj-residential", dec!(120));
        let u = true_up(&t, &est, dec!(20)).unwrap();
        assert_eq!(u.lines.len(), 1);
        assert_eq!((u.lines[0].quantity, u.amount), (dec!(-20), Fen(-1020)));
    }

    #[test]
    fn annual_counters_are_corrected_from_the_counter_before_the_estimate() {
        // Annual tiers: the estimated bill started with 2,000 kWh already counted this year and
        // estimated 100 kWh, crossing the 2,040 kWh boundary at 40 kWh. 70 kWh too many: the bill
        // should have been 30 kWh, all in tier 1: tier 2 gives back 60 kWh and tier 1 10 kWh.
        let (t, mut est) = input("hlj-residential-annual", dec!(100));
        est.ytd_kwh = dec!(2000);
        let u = true_up(&t, &est, dec!(70)).unwrap();
        let got: Vec<(&str, Decimal)> = u.lines.iter().map(|l| (l.code.as_str(), l.quantity)).collect();
        assert_eq!(got, vec![("trueup_energy_tier_1", dec!(-10)), ("trueup_energy_tier_2", dec!(-60))]);
        let price = |code: &str| u.lines.iter().find(|l| l.code == code).unwrap().unit_price;
        let expect = Fen::round_half_up(dec!(-10) * price("trueup_energy_tier_1"))
            + Fen::round_half_up(dec!(-60) * price("trueup_energy_tier_2"));
        assert_eq!(u.amount, expect);
    }

    #[test]
    fn reactive_energy_is_shared_in_proportion_to_kwh() {
        // 10,500 kvarh over 10,000 + 11,000 kWh: 5,000 and 5,500, both months 21:10.5 = 2:1.
        assert_eq!(split_kvarh(dec!(10500), dec!(10000), dec!(11000)), (dec!(5000), dec!(5500)));
        // The next month without kWh (an over-estimate): the estimated month has it all.
        assert_eq!(split_kvarh(dec!(3000), dec!(6000), dec!(0)), (dec!(3000), dec!(0)));
        // No kWh in the estimated month as settled: the next month keeps it all.
        assert_eq!(split_kvarh(dec!(300), dec!(0), dec!(900)), (dec!(0), dec!(300)));
        // The two shares always add up to what was read.
        let (a, b) = split_kvarh(dec!(1000), dec!(1), dec!(2));
        assert_eq!(a + b, dec!(1000));
    }

    #[test]
    fn below_the_reading_before_the_estimate_is_held() {
        let (t, est) = input("hlj-residential", dec!(40));
        let h = true_up(&t, &est, dec!(41)).unwrap_err();
        assert_eq!(h.kind, ExceptionKind::Reverse);
        // Exactly the estimate: the estimated period used nothing.
        let u = true_up(&t, &est, dec!(40)).unwrap();
        assert_eq!(u.amount, Fen(-2040));
    }
}
