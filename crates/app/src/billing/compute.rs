//! One customer's bill for a period, from what the store loaded: pick the period's opening and
//! closing readings, check them (domain `reading`), compute the bill (domain `tariff`) and turn it
//! into the stored bill, or into exceptions when it must be held. Pure: no I/O, so that a chunk is
//! computed on several threads.

use super::extras::CustomerExtras;
use bureau_domain::bill::BillState;
use bureau_domain::i18n::Text;
use bureau_domain::reading::exchange::{exchanged_consumption, ExchangedConsumption, MeterPart};
use bureau_domain::reading::{self, ExceptionKind, Held, MeterSpec, ReadingRules, Registers};
use bureau_domain::register::Meter;
use bureau_domain::tariff::{calculate, BillInput, BillLine, BillPeriod, TariffBook, TierCounter, TouKwh};
use bureau_store::{
    BillHistory, BillingAccount, Reading, ReadingException, ReadingKind, StoredBill, StoredBillLine,
};
use jiff::civil::Date;
use rust_decimal::Decimal;

/// What the computation of a chunk needs besides the rows.
pub struct Ctx<'a> {
    pub tariffs: &'a TariffBook,
    pub rules: &'a ReadingRules,
    pub period: BillPeriod,
    /// The issue date of the bills (the run's day); due dates count from it.
    pub today: Date,
    pub now: i64,
    /// Estimate missing readings from the previous period (供电营业规则 Art. 83) and bill on them.
    pub estimate_missing: bool,
}

/// What became of one customer.
pub enum Outcome {
    Bill(Box<StoredBill>, Option<Reading>),
    Held(Vec<ReadingException>),
}

pub(super) fn registers(r: &Reading) -> Registers {
    Registers {
        total: r.total,
        peak: r.peak,
        flat: r.flat,
        valley: r.valley,
        max_demand: r.max_demand,
        kvarh: r.kvarh,
    }
}

pub(super) fn month_of(period: BillPeriod, back: i32) -> BillPeriod {
    let idx = i32::from(period.year) * 12 + i32::from(period.month) - 1 - back;
    BillPeriod { year: (idx / 12) as i16, month: (idx % 12 + 1) as i8 }
}

pub(super) fn day_in(p: BillPeriod, day: i64) -> Date {
    Date::new(p.year, p.month, day.clamp(1, 28) as i8).expect("day 1..=28 exists in every month")
}

fn in_month(r: &Reading, p: BillPeriod) -> bool {
    let prefix = p.to_string();
    r.read_on.len() == 10 && r.read_on.starts_with(&prefix)
}

/// The reading that closes a month: the latest on or before the reading day, else the first one
/// after it (a late round), within the calendar month of the period.
pub(super) fn closing(readings: &[Reading], p: BillPeriod, read_day: Date) -> Option<&Reading> {
    let day = read_day.to_string();
    let month: Vec<&Reading> = readings.iter().filter(|r| in_month(r, p)).collect();
    month.iter().rev().find(|r| r.read_on <= day).or_else(|| month.first()).copied()
}

struct Hold<'a> {
    ctx: &'a Ctx<'a>,
    account: &'a BillingAccount,
}

impl Hold<'_> {
    fn one(&self, held: Held, read_on: Option<&str>) -> Outcome {
        Outcome::Held(vec![self.exception(held, read_on)])
    }

    fn exception(&self, held: Held, read_on: Option<&str>) -> ReadingException {
        ReadingException {
            customer_id: self.account.customer_id.clone(),
            period: self.ctx.period.to_string(),
            kind: held.kind,
            bureau_id: self.account.bureau_id.clone(),
            meter_id: self.account.meter.as_ref().map(|m| m.meter_id.clone()),
            read_on: read_on.map(str::to_string),
            detail: held.detail,
            created_at: self.ctx.now,
        }
    }

    fn unbillable(&self, zh: String, en: String) -> Outcome {
        self.one(Held { kind: ExceptionKind::Unbillable, detail: Text::new(zh, en) }, None)
    }
}

/// The reading that opens a period for `meter`: the previous month's closing reading, or the
/// meter's initial reading when it was installed since.
pub(super) fn opening_of(
    customer_id: &str,
    meter: &Meter,
    mine: &[Reading],
    prev_p: BillPeriod,
    open_day: Date,
) -> Option<Reading> {
    match closing(mine, prev_p, open_day) {
        Some(r) => Some(r.clone()),
        None if meter.installed_on > open_day => Some(Reading {
            customer_id: customer_id.to_string(),
            meter_id: meter.meter_id.clone(),
            read_on: meter.installed_on.to_string(),
            kind: ReadingKind::Actual,
            source: "install".into(),
            total: meter.initial_reading,
            peak: None,
            flat: None,
            valley: None,
            max_demand: None,
            kvarh: None,
        }),
        None => None,
    }
}

/// A meter taken out inside the period (its removal after the opening day, on or before the
/// closing day): its part of the consumption is billed with the active meter's (换表).
struct OldMeter {
    meter: Meter,
    opening: Reading,
    final_reading: Decimal,
}

/// Bills one customer. `readings` are the customer's readings of the period and the month before
/// (any meter), oldest first; `history` their live bills of the last twelve months, newest first;
/// `extras` the staff resolutions and exchanged meters of the customer.
pub fn bill_account(
    ctx: &Ctx,
    account: &BillingAccount,
    readings: &[Reading],
    history: &[BillHistory],
    extras: CustomerExtras,
) -> Outcome {
    let hold = Hold { ctx, account };
    let Some(meter) = &account.meter else {
        return hold.unbillable("没有在用电能表".into(), "no active meter".into());
    };
    let Some(contract) = &account.contract else {
        return hold
            .unbillable("本期没有有效的供用电合同".into(), "no supply contract in force this period".into());
    };
    let Some(day) = account.reading_day else {
        return hold
            .unbillable("未编入抄表段，没有抄表例日".into(), "not in a reading book: no reading day".into());
    };
    let Some(tariff) = ctx.tariffs.get(&contract.tariff_id) else {
        return hold.unbillable(
            format!("合同电价 {} 不在电价目录中", contract.tariff_id),
            format!("the contract's tariff {} is not in the catalogue", contract.tariff_id),
        );
    };
    let prev_p = month_of(ctx.period, 1);
    let period_text = ctx.period.to_string();
    let mine = extras.overlay(readings, &meter.meter_id);
    let confirmed = extras.confirmed(&period_text);
    let spec = MeterSpec { multiplier: meter.multiplier, digits: meter.digits };
    let open_day = day_in(prev_p, day);
    let close_day = day_in(ctx.period, day);
    let missing_previous = || Held {
        kind: ExceptionKind::Missing,
        detail: Text::new(
            format!("缺少上期（{prev_p}）抄表示数"),
            format!("no reading for the previous period ({prev_p})"),
        ),
    };

    // Meters exchanged inside the period (换表), in the order they were taken out: each one's part,
    // from its opening (the previous reading, or its installation) to its final reading.
    let mut exchanged: Vec<&Meter> = extras
        .removed_meters
        .iter()
        .filter(|m| m.removed_on.is_some_and(|d| d > open_day && d <= close_day))
        .collect();
    exchanged.sort_by_key(|m| (m.removed_on, m.installed_on));
    let mut olds = Vec::with_capacity(exchanged.len());
    for m in exchanged {
        let old_mine = extras.overlay(readings, &m.meter_id);
        let Some(opening) = opening_of(&account.customer_id, m, &old_mine, prev_p, open_day) else {
            return hold.one(missing_previous(), None);
        };
        let Some(final_reading) = m.final_reading else {
            return hold.unbillable(
                format!("换下的电能表 {} 没有止码", m.meter_id),
                format!("the exchanged meter {} has no final reading", m.meter_id),
            );
        };
        olds.push(OldMeter { meter: m.clone(), opening, final_reading });
    }

    let Some(opening) = opening_of(&account.customer_id, meter, &mine, prev_p, open_day) else {
        return hold.one(missing_previous(), None);
    };

    let (closing_reading, estimate) = match closing(&mine, ctx.period, close_day) {
        Some(r) => (r.clone(), None),
        None => {
            let missing = Held {
                kind: ExceptionKind::Missing,
                detail: Text::new(
                    format!("本期（{}）未抄到示数", ctx.period),
                    format!("no reading for this period ({})", ctx.period),
                ),
            };
            let last_kwh = history.first().map(|h| h.kwh);
            match (ctx.estimate_missing && olds.is_empty(), last_kwh) {
                (true, Some(kwh)) => match reading::estimate(spec, &registers(&opening), kwh) {
                    Ok(regs) => {
                        let r = Reading {
                            customer_id: account.customer_id.clone(),
                            meter_id: meter.meter_id.clone(),
                            read_on: close_day.to_string(),
                            kind: ReadingKind::Estimated,
                            source: "estimate".into(),
                            total: regs.total,
                            peak: regs.peak,
                            flat: regs.flat,
                            valley: regs.valley,
                            max_demand: None,
                            kvarh: regs.kvarh,
                        };
                        (r.clone(), Some(r))
                    }
                    Err(_) => return hold.one(missing, None),
                },
                _ => return hold.one(missing, None),
            }
        }
    };
    let read_on = Some(closing_reading.read_on.as_str());
    let opening_estimated = opening.kind == ReadingKind::Estimated;
    // The first actual reading after an estimate settles the estimated month too (Art. 83, see
    // `reading::trueup`).
    let after_estimate = opening_estimated && olds.is_empty() && closing_reading.kind == ReadingKind::Actual;
    // An actual reading below the estimate before it: settled on this bill (Art. 83), see
    // `reading::trueup`.
    let over = match (opening_estimated, olds.is_empty()) {
        (true, true) => {
            reading::trueup::over_estimate_kwh(spec, &registers(&opening), &registers(&closing_reading))
        }
        _ => None,
    };
    let mut exchange_lines = Vec::new();
    let used = if !olds.is_empty() {
        let part = |m: &Meter, open: &Reading, close: Registers| MeterPart {
            meter: MeterSpec { multiplier: m.multiplier, digits: m.digits },
            opening: registers(open),
            opening_estimated: open.kind == ReadingKind::Estimated,
            closing: close,
        };
        let mut parts: Vec<MeterPart> = olds
            .iter()
            .map(|o| part(&o.meter, &o.opening, Registers { total: o.final_reading, ..Default::default() }))
            .collect();
        parts.push(part(meter, &opening, registers(&closing_reading)));
        match exchanged_consumption(&parts) {
            Ok(c) => {
                exchange_lines = exchange_info_lines(&olds, &opening, &closing_reading, meter, &c);
                c.total
            }
            Err(held) => return hold.one(held, read_on),
        }
    } else if over.is_some() {
        reading::Consumption {
            max_demand_kw: closing_reading.max_demand.map(|d| d * Decimal::from(meter.multiplier)),
            ..Default::default()
        }
    } else {
        let measured = if confirmed == Some(ExceptionKind::Rollover) {
            reading::consumption_after_rollover(spec, &registers(&opening), &registers(&closing_reading))
        } else {
            reading::consumption(spec, &registers(&opening), opening_estimated, &registers(&closing_reading))
        };
        match measured {
            Ok(c) => c,
            Err(held) => return hold.one(held, read_on),
        }
    };
    // A confirmed jump or zero, and a true-up (its own period has no consumption), skip the
    // history check.
    let history_checked =
        over.is_none() && !matches!(confirmed, Some(ExceptionKind::Jump | ExceptionKind::Zero));
    let recent: Vec<Decimal> = history.iter().take(3).map(|h| h.kwh).collect();
    if history_checked {
        let year_ago = month_of(ctx.period, 12).to_string();
        let last_year = history.iter().find(|h| h.period == year_ago).map(|h| h.kwh);
        if let Err(held) = reading::check_history_seasonal(ctx.rules, used.kwh, &recent, last_year) {
            return hold.one(held, read_on);
        }
    }

    let has_tou_prices = tariff.versions.iter().any(|v| v.energy.has_tou());
    let prev_text = prev_p.to_string();
    let estimated_bill = history.first().filter(|h| h.period == prev_text);
    // The estimated month's maximum demand and power factor are settled with its kWh, unless it
    // was priced by time-of-use period: the recomputation does not know that split, and only the
    // kWh are settled, as before (a limit of this program, not a rule).
    let estimate_tou_priced =
        has_tou_prices && opening.peak.is_some() && opening.flat.is_some() && opening.valley.is_some();
    let settles_parts = after_estimate && !estimate_tou_priced && !tariff.is_residential();
    // The reactive energy read since the reading the estimate started from (the estimate does not
    // advance the reactive register), shared with the estimated month.
    let reactive_read = match (opening.kvarh, closing_reading.kvarh) {
        (Some(p), Some(c)) if c >= p => Some(((c - p) * Decimal::from(meter.multiplier)).normalize()),
        _ => None,
    };
    let (kvarh_estimated, kvarh_own) = match (settles_parts, estimated_bill, reactive_read) {
        (true, Some(last), Some(both)) => {
            let settled_kwh = last.kwh - over.unwrap_or(Decimal::ZERO);
            let (estimated, own) = reading::trueup::split_kvarh(both, settled_kwh, used.kwh);
            (Some(estimated), Some(own))
        }
        _ => (None, used.kvarh),
    };
    let settles_estimate = over.is_some()
        || (settles_parts
            && estimated_bill.is_some()
            && (kvarh_estimated.is_some() || used.max_demand_kw.is_some()));

    let first_read_on = olds.first().map_or(&opening.read_on, |o| &o.opening.read_on);
    let (Ok(start), Ok(close)) = (first_read_on.parse::<Date>(), closing_reading.read_on.parse::<Date>())
    else {
        return hold.unbillable("抄表日期无效".into(), "a reading date is invalid".into());
    };
    let end = close.yesterday().unwrap_or(close).max(start);
    let tiers_annual = tariff.versions.last().and_then(|v| v.tiers.as_ref()).and_then(|t| match t.counter {
        TierCounter::Annual { reset_month } => Some(reset_month),
        TierCounter::Monthly => None,
    });
    let ytd_kwh = match tiers_annual {
        Some(reset) => {
            let year_start = ctx.period.tier_year_start(reset).to_string();
            history.iter().find(|h| h.period >= year_start).and_then(|h| h.ytd_kwh).unwrap_or(Decimal::ZERO)
        }
        None => Decimal::ZERO,
    };
    let tou = match (has_tou_prices, used.peak_kwh, used.flat_kwh, used.valley_kwh) {
        (true, Some(peak), Some(flat), Some(valley)) => {
            Some(TouKwh { critical: Decimal::ZERO, peak, flat, valley })
        }
        _ => None,
    };
    let input = BillInput {
        period: ctx.period,
        start,
        end,
        kwh: used.kwh,
        tou,
        capacity_kva: contract.capacity_kva,
        max_demand_kw: used.max_demand_kw,
        kvarh: if tariff.is_residential() { None } else { kvarh_own },
        pf_standard: if tariff.is_residential() { None } else { contract.pf_standard },
        ytd_kwh,
        basic_days: None,
    };
    let calc = match calculate(tariff, &input) {
        Ok(c) => c,
        Err(e) => {
            return hold.unbillable(
                format!("电费计算失败（{}）：{}", e.field, e.message.zh),
                format!("the bill calculation refused ({}): {}", e.field, e.message.en),
            )
        }
    };
    let (mut total, mut funds, mut ytd_after, mut kwh) =
        (calc.total, calc.funds_total, calc.ytd_kwh_after, used.kwh);
    let mut extra_lines: Vec<BillLine> = Vec::new();
    if settles_estimate {
        let over = over.unwrap_or(Decimal::ZERO);
        let Some(last) = estimated_bill else {
            return hold.one(
                Held {
                    kind: ExceptionKind::OverEstimate,
                    detail: Text::new(
                        format!("实抄示数低于上期估抄示数 {over} kWh，但没有上期（{prev_p}）账单可结算"),
                        format!("the actual reading is {over} kWh below the estimate, and there is no bill of {prev_p} to settle"),
                    ),
                },
                read_on,
            );
        };
        // The estimated bill as it was computed: no demand read (`reading::estimate` reads none),
        // so a two-part basic charge on capacity, and no reactive energy, so a power factor of 1.00.
        let estimated = BillInput {
            period: prev_p,
            start: prev_p.first_day(),
            end: prev_p.last_day(),
            kwh: last.kwh,
            tou: None,
            capacity_kva: contract.capacity_kva,
            max_demand_kw: None,
            kvarh: if settles_parts { opening.kvarh.map(|_| Decimal::ZERO) } else { None },
            pf_standard: if settles_parts { contract.pf_standard } else { None },
            ytd_kwh: last.ytd_kwh.map_or(Decimal::ZERO, |y| (y - last.kwh).max(Decimal::ZERO)),
            basic_days: None,
        };
        // The same month from the actual reading: its kWh as settled, the demand read and its
        // share of the reactive energy read.
        let actual = BillInput {
            kwh: last.kwh - over,
            max_demand_kw: if settles_parts { used.max_demand_kw } else { None },
            kvarh: kvarh_estimated.or(estimated.kvarh),
            ..estimated.clone()
        };
        let settled = match reading::trueup::settle(tariff, &estimated, &actual) {
            Ok(u) => u,
            Err(held) => return hold.one(held, read_on),
        };
        if !over.is_zero() {
            kwh = -over;
        }
        total += settled.amount;
        funds += settled.funds;
        // The annual counter gives back what the estimate counted, within the same tier year.
        if let Some(reset) = tiers_annual.filter(|_| !over.is_zero()) {
            if prev_p >= ctx.period.tier_year_start(reset) {
                ytd_after = ytd_after.map(|y| (y - over).max(Decimal::ZERO));
            }
        }
        extra_lines = settled.lines;
    }
    let lines = calc
        .lines
        .iter()
        .chain(&extra_lines)
        .map(|l| StoredBillLine {
            line_no: 0,
            code: l.code.clone(),
            description: l.description.clone(),
            quantity: l.quantity,
            unit: l.unit.to_string(),
            unit_price: l.unit_price,
            amount: l.amount,
            tier: l.tier.map(i64::from),
            ytd_kwh: l.ytd_kwh,
        })
        .chain(exchange_lines)
        .enumerate()
        .map(|(i, l)| StoredBillLine { line_no: i as i64 + 1, ..l })
        .collect();
    let due = ctx.today.saturating_add(jiff::Span::new().days(contract.due_days));
    let bill = StoredBill {
        customer_id: account.customer_id.clone(),
        period: ctx.period.to_string(),
        revision: 0,
        bureau_id: account.bureau_id.clone(),
        book_id: account.book_id.clone(),
        tariff_id: tariff.id.clone(),
        state: BillState::Issued,
        start_on: start.to_string(),
        end_on: end.to_string(),
        meter_id: meter.meter_id.clone(),
        multiplier: meter.multiplier,
        prev_read_on: Some(opening.read_on.clone()),
        curr_read_on: closing_reading.read_on.clone(),
        prev_total: opening.total,
        curr_total: closing_reading.total,
        estimated: closing_reading.kind == ReadingKind::Estimated,
        kwh,
        ytd_kwh: ytd_after,
        total,
        funds,
        paid: bureau_domain::money::Fen(0),
        issued_on: Some(ctx.today.to_string()),
        due_on: Some(due.to_string()),
        created_at: ctx.now,
        cancelled_at: None,
        cancel_reason: None,
        lines,
    };
    Outcome::Bill(Box::new(bill), estimate)
}

/// The meters of an exchanged period, as lines of no amount, so that the bill shows every register
/// advance and the kWh of each (the bill's own reading fields show the active meter).
fn exchange_info_lines(
    olds: &[OldMeter],
    new_opening: &Reading,
    new_closing: &Reading,
    new_meter: &Meter,
    c: &ExchangedConsumption,
) -> Vec<StoredBillLine> {
    let line = |code: &str, zh: String, en: String, kwh: Decimal| StoredBillLine {
        line_no: 0,
        code: code.into(),
        description: Text::new(zh, en),
        quantity: kwh,
        unit: "kWh".into(),
        unit_price: Decimal::ZERO,
        amount: bureau_domain::money::Fen(0),
        tier: None,
        ytd_kwh: None,
    };
    let mut lines: Vec<StoredBillLine> = olds
        .iter()
        .zip(&c.parts)
        .map(|(old, part)| {
            let m = &old.meter;
            let removed = m.removed_on.map(|d| d.to_string()).unwrap_or_default();
            line(
                "meter_old",
                format!(
                    "换表：旧表 {}（倍率 {}）{} 至 {} 拆表，示数 {} → {}，{} kWh",
                    m.meter_id,
                    m.multiplier,
                    old.opening.read_on,
                    removed,
                    old.opening.total,
                    old.final_reading,
                    part.kwh
                ),
                format!(
                    "Exchange: old meter {} (×{}) {} to removal on {}, {} → {}, {} kWh",
                    m.meter_id,
                    m.multiplier,
                    old.opening.read_on,
                    removed,
                    old.opening.total,
                    old.final_reading,
                    part.kwh
                ),
                part.kwh,
            )
        })
        .collect();
    let new_kwh = c.parts.last().map_or(Decimal::ZERO, |p| p.kwh);
    lines.push(line(
        "meter_new",
        format!(
            "换表：新表 {}（倍率 {}）{} 装表，示数 {} → {}，{} kWh",
            new_meter.meter_id,
            new_meter.multiplier,
            new_opening.read_on,
            new_opening.total,
            new_closing.total,
            new_kwh
        ),
        format!(
            "Exchange: new meter {} (×{}) installed {}, {} → {}, {} kWh",
            new_meter.meter_id,
            new_meter.multiplier,
            new_opening.read_on,
            new_opening.total,
            new_closing.total,
            new_kwh
        ),
        new_kwh,
    ));
    lines
}
