//! Meter reading (抄表): from two register readings to the quantities of a bill, and the checks
//! that send a suspicious reading to the exceptions queue (抄表异常) instead of onto a bill.
//!
//! Rules, each cited where it is coded:
//! - consumption is the register advance times the meter's multiplier (倍率): a transformer-rated
//!   meter registers secondary energy and the CT×PT ratio product restores the primary kWh;
//! - a register that passes 10^digits restarts from zero (翻转/走字满度): the advance is then
//!   `current + 10^digits − previous`. A reading below the previous one is either such a rollover
//!   or a reverse reading; both are held for a person to confirm, with the rollover's advance shown;
//! - zero consumption, and consumption far from the customer's recent history, are held for review
//!   (pre-bill edits: the First Quartile benchmark finds 76 % of billing exceptions there);
//! - a meter that cannot be read is estimated from the previous period (供电营业规则 (1996)
//!   Art. 83: 因用户原因连续不能如期抄到计费电能表读数时, 供电企业可按上期用电量估算, 待下次抄表时
//!   结算); the estimated register value is stored as a reading of kind `estimated`, so that the next
//!   actual reading's advance trues the two periods up by itself. When the actual reading is below
//!   the estimate, the estimate billed too much: that is held for a cancel-and-rebill (退补).
//!
//! The thresholds of the history check are [`ReadingRules`], configurable and unverified against
//! any official figure (they are this program's defaults, not a regulation).

pub mod exchange;
pub mod trueup;

use crate::error::FieldError;
use crate::i18n::Text;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

crate::org::coded_enum!(
    /// Why a reading was held instead of billed.
    ExceptionKind, "kind" {
        /// 示数翻转: the register passed its full scale (10^digits) and restarted.
        Rollover = "rollover", "示数翻转", "Register rollover";
        /// 示数倒走: the reading is below the previous one and is not a plausible rollover.
        Reverse = "reverse", "示数倒走", "Reverse reading";
        /// 零电量: no consumption over the period.
        Zero = "zero", "零电量", "Zero consumption";
        /// 电量突变: consumption far from the customer's recent history.
        Jump = "jump", "电量突变", "Consumption far from history";
        /// 漏抄: no reading for the period (an estimate was made when possible).
        Missing = "missing", "漏抄", "Missing reading";
        /// 估抄多计: the actual reading is below an earlier estimate; needs a cancel-and-rebill.
        OverEstimate = "over_estimate", "估抄多计", "Actual reading below the estimate";
        /// 分时示数不符: the time-of-use registers do not add up to the total.
        TouMismatch = "tou_mismatch", "分时示数不符", "Time-of-use registers do not add up";
        /// 无法计费: no active meter, contract or tariff, or the calculation refused the input.
        Unbillable = "unbillable", "无法计费", "Cannot be billed";
    }
);

crate::org::coded_enum!(
    /// How staff clear a held reading (异常处理). Each is recorded with who, when and why; nothing
    /// stored is edited in place.
    ResolutionAction, "action" {
        /// 确认属实: the reading is real (a rollover, an empty house, a new load); bill it as it is.
        Confirm = "confirm", "确认属实", "Confirm as real";
        /// 更正示数: a corrected reading, kept beside the original.
        Correct = "correct", "更正示数", "Correct the reading";
        /// 估抄: estimate from the previous period (供电营业规则 (1996) Art. 83), trued up at the
        /// next actual reading.
        Estimate = "estimate", "估抄", "Estimate";
    }
);

impl ResolutionAction {
    /// Whether this action can clear an exception of `kind`. A reverse register or a time-of-use
    /// mismatch cannot be "confirmed" (there is nothing real to bill); an exception of the register
    /// itself (`unbillable`: no meter, contract or tariff) is cleared by fixing the register, not
    /// the reading.
    pub fn clears(self, kind: ExceptionKind) -> Result<(), FieldError> {
        use ExceptionKind as K;
        let ok = match self {
            ResolutionAction::Confirm => matches!(kind, K::Rollover | K::Zero | K::Jump),
            ResolutionAction::Correct | ResolutionAction::Estimate => !matches!(kind, K::Unbillable),
        };
        if ok {
            return Ok(());
        }
        Err(FieldError::invalid(
            "action",
            format!("“{}”不能用于处理“{}”", self.name_zh(), kind.name_zh()),
            format!("'{}' cannot clear '{}'", self.name_en(), kind.name_en()),
        ))
    }
}

/// Thresholds of the history check. Program defaults, not regulation: keep them configurable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReadingRules {
    /// Consumption more than `jump_factor` × the recent average, or less than the average divided by
    /// it, is a jump.
    pub jump_factor: Decimal,
    /// Differences smaller than this many kWh are never a jump (a household going from 10 to 40 kWh
    /// is not news).
    pub jump_min_kwh: Decimal,
}

impl Default for ReadingRules {
    fn default() -> Self {
        ReadingRules { jump_factor: Decimal::from(3), jump_min_kwh: Decimal::from(200) }
    }
}

/// Register values of one reading, before the multiplier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Registers {
    pub total: Decimal,
    pub peak: Option<Decimal>,
    pub flat: Option<Decimal>,
    pub valley: Option<Decimal>,
    /// The maximum-demand register is a reading of the period, not a cumulative counter.
    pub max_demand: Option<Decimal>,
    pub kvarh: Option<Decimal>,
}

/// The meter's constants that the reading needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MeterSpec {
    pub multiplier: i64,
    pub digits: i64,
}

/// A reading held for review, with its reason in both languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Held {
    pub kind: ExceptionKind,
    pub detail: Text,
}

impl Held {
    fn new(kind: ExceptionKind, zh: String, en: String) -> Held {
        Held { kind, detail: Text::new(zh, en) }
    }
}

/// The quantities of a period, after the multiplier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Consumption {
    pub kwh: Decimal,
    pub peak_kwh: Option<Decimal>,
    pub flat_kwh: Option<Decimal>,
    pub valley_kwh: Option<Decimal>,
    pub max_demand_kw: Option<Decimal>,
    pub kvarh: Option<Decimal>,
}

/// Full scale of a register with `digits` integer digits.
fn full_scale(digits: i64) -> Decimal {
    Decimal::from(10i64.pow(digits.clamp(1, 15) as u32))
}

/// Register advance of one register, `None` when it went backwards.
fn advance(prev: Decimal, curr: Decimal) -> Option<Decimal> {
    (curr >= prev).then(|| curr - prev)
}

/// Consumption between two readings of the same meter, or why it must be held.
///
/// `prev_estimated` says the previous reading was an estimate (Art. 83): a current reading below it
/// is then an over-estimate to settle by rebill, not a reverse meter.
pub fn consumption(
    meter: MeterSpec,
    prev: &Registers,
    prev_estimated: bool,
    curr: &Registers,
) -> Result<Consumption, Held> {
    let m = Decimal::from(meter.multiplier);
    let Some(adv) = advance(prev.total, curr.total) else {
        if prev_estimated {
            return Err(Held::new(
                ExceptionKind::OverEstimate,
                format!("实抄示数 {} 低于上期估抄示数 {}，需退补", curr.total, prev.total),
                format!("actual reading {} is below the estimated {}; rebill needed", curr.total, prev.total),
            ));
        }
        // A rollover is plausible when the wrapped advance is under half the scale; otherwise the
        // register went backwards.
        let scale = full_scale(meter.digits);
        let wrapped = curr.total + scale - prev.total;
        if curr.total < scale && prev.total < scale && wrapped < scale / Decimal::TWO {
            return Err(Held::new(
                ExceptionKind::Rollover,
                format!(
                    "{}位表示数由 {} 翻转至 {}，翻转电量 {} kWh，待确认",
                    meter.digits,
                    prev.total,
                    curr.total,
                    (wrapped * m).normalize()
                ),
                format!(
                    "{}-digit register rolled over from {} to {}: {} kWh to confirm",
                    meter.digits,
                    prev.total,
                    curr.total,
                    (wrapped * m).normalize()
                ),
            ));
        }
        return Err(Held::new(
            ExceptionKind::Reverse,
            format!("示数倒走：上期 {}，本期 {}", prev.total, curr.total),
            format!("reading went backwards: previous {}, current {}", prev.total, curr.total),
        ));
    };
    let kwh = adv * m;
    let tou = |p: Option<Decimal>, c: Option<Decimal>| match (p, c) {
        (Some(p), Some(c)) => advance(p, c).map(|a| Some(a * m)).ok_or(()),
        _ => Ok(None),
    };
    let split = (tou(prev.peak, curr.peak), tou(prev.flat, curr.flat), tou(prev.valley, curr.valley));
    let (peak_kwh, flat_kwh, valley_kwh) = match split {
        (Ok(p), Ok(f), Ok(v)) => (p, f, v),
        _ => {
            return Err(Held::new(
                ExceptionKind::TouMismatch,
                "分时示数倒走".into(),
                "a time-of-use register went backwards".into(),
            ))
        }
    };
    if let (Some(p), Some(f), Some(v)) = (peak_kwh, flat_kwh, valley_kwh) {
        if p + f + v != kwh {
            return Err(Held::new(
                ExceptionKind::TouMismatch,
                format!("峰平谷电量之和 {} 与总电量 {} 不符", (p + f + v).normalize(), kwh.normalize()),
                format!(
                    "peak + flat + valley = {} kWh, total {} kWh",
                    (p + f + v).normalize(),
                    kwh.normalize()
                ),
            ));
        }
    }
    let kvarh = match (prev.kvarh, curr.kvarh) {
        (Some(p), Some(c)) => Some(
            advance(p, c).ok_or_else(|| {
                Held::new(
                    ExceptionKind::Reverse,
                    "无功示数倒走".into(),
                    "the reactive register went backwards".into(),
                )
            })? * m,
        ),
        _ => None,
    };
    Ok(Consumption {
        kwh: kwh.normalize(),
        peak_kwh: peak_kwh.map(|d| d.normalize()),
        flat_kwh: flat_kwh.map(|d| d.normalize()),
        valley_kwh: valley_kwh.map(|d| d.normalize()),
        max_demand_kw: curr.max_demand.map(|d| (d * m).normalize()),
        kvarh: kvarh.map(|d| d.normalize()),
    })
}

/// Consumption after a person confirmed that the register rolled over (the exception kind
/// `rollover` resolved by "confirm"): every register below its previous value is taken to have
/// passed full scale once, so its advance is `current + 10^digits − previous`. Anything else is
/// checked as by [`consumption`].
pub fn consumption_after_rollover(
    meter: MeterSpec,
    prev: &Registers,
    curr: &Registers,
) -> Result<Consumption, Held> {
    let scale = full_scale(meter.digits);
    let shift = |p: Decimal, c: Decimal| if c < p { p - scale } else { p };
    let shift_opt = |p: Option<Decimal>, c: Option<Decimal>| match (p, c) {
        (Some(p), Some(c)) => Some(shift(p, c)),
        _ => p,
    };
    let unwrapped = Registers {
        total: shift(prev.total, curr.total),
        peak: shift_opt(prev.peak, curr.peak),
        flat: shift_opt(prev.flat, curr.flat),
        valley: shift_opt(prev.valley, curr.valley),
        max_demand: prev.max_demand,
        kvarh: shift_opt(prev.kvarh, curr.kvarh),
    };
    consumption(meter, &unwrapped, false, curr)
}

/// The pre-bill check of a period's consumption against the customer's recent monthly kWh
/// (newest first, at most a few periods; empty for a new customer).
pub fn check_history(rules: &ReadingRules, kwh: Decimal, history: &[Decimal]) -> Result<(), Held> {
    if kwh.is_zero() {
        return Err(Held::new(ExceptionKind::Zero, "本期零电量".into(), "no consumption this period".into()));
    }
    if history.is_empty() {
        return Ok(());
    }
    let avg = history.iter().copied().sum::<Decimal>() / Decimal::from(history.len() as i64);
    let far_above = kwh > avg * rules.jump_factor && kwh - avg >= rules.jump_min_kwh;
    let far_below = kwh * rules.jump_factor < avg && avg - kwh >= rules.jump_min_kwh;
    if far_above || far_below {
        let avg = avg.round_dp(0);
        return Err(Held::new(
            ExceptionKind::Jump,
            format!("本期 {} kWh，近期月均 {avg} kWh", kwh.normalize()),
            format!("{} kWh this period against a recent average of {avg} kWh", kwh.normalize()),
        ));
    }
    Ok(())
}

/// The history check with the season in view: consumption far from the recent months is still
/// not a jump when it is close to the same month of the previous year (winter heating, summer
/// cooling, irrigation seasons would otherwise be held every year as they start). "Close" is the
/// same band as the recent check (`jump_factor`, `jump_min_kwh`) around last year's figure. A zero
/// is always held. `same_month_last_year` is `None` when there is no bill of that month.
pub fn check_history_seasonal(
    rules: &ReadingRules,
    kwh: Decimal,
    recent: &[Decimal],
    same_month_last_year: Option<Decimal>,
) -> Result<(), Held> {
    let held = match check_history(rules, kwh, recent) {
        Ok(()) => return Ok(()),
        Err(h) if h.kind != ExceptionKind::Jump => return Err(h),
        Err(h) => h,
    };
    match same_month_last_year {
        Some(last) if last > Decimal::ZERO && check_history(rules, kwh, &[last]).is_ok() => Ok(()),
        Some(last) => Err(Held::new(
            ExceptionKind::Jump,
            format!("{}；去年同月 {} kWh", held.detail.zh, last.normalize()),
            format!("{}; {} kWh in the same month last year", held.detail.en, last.normalize()),
        )),
        None => Err(held),
    }
}

/// An estimated reading (估抄) for a meter that could not be read: the previous register values
/// advanced by the previous period's consumption (供电营业规则 (1996) Art. 83, "按上期用电量估算").
///
/// `last_kwh` is the previous period's kWh (after the multiplier); the advance is divided back by
/// the multiplier and rounded half-up to the register's resolution of 0.01. A register that would
/// pass full scale wraps. Time-of-use registers advance in the proportion of the previous reading's
/// registers; the demand register is not estimated.
pub fn estimate(meter: MeterSpec, prev: &Registers, last_kwh: Decimal) -> Result<Registers, FieldError> {
    if last_kwh.is_sign_negative() {
        return Err(FieldError::invalid("kwh", "上期电量不能为负", "the previous kWh is negative"));
    }
    let m = Decimal::from(meter.multiplier.max(1));
    let adv = (last_kwh / m).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let scale = full_scale(meter.digits);
    let wrap = |v: Decimal| if v >= scale { v - scale } else { v };
    let total = wrap(prev.total + adv);
    let (peak, flat, valley) = match (prev.peak, prev.flat, prev.valley) {
        (Some(p), Some(f), Some(v)) if !(p + f + v).is_zero() => {
            let sum = p + f + v;
            let r = |x: Decimal| {
                (adv * x / sum)
                    .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
            };
            let (ap, av) = (r(p), r(v));
            (Some(wrap(p + ap)), Some(wrap(f + adv - ap - av)), Some(wrap(v + av)))
        }
        _ => (prev.peak, prev.flat, prev.valley),
    };
    Ok(Registers { total, peak, flat, valley, max_demand: None, kvarh: prev.kvarh })
}

#[cfg(test)]
mod tests;
