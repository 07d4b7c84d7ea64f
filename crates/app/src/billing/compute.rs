//! One customer's bill for a period, from what the store loaded: pick the period's opening and
//! closing readings, check them (domain `reading`), compute the bill (domain `tariff`) and turn it
//! into the stored bill, or into exceptions when it must be held. Pure: no I/O, so that a chunk is
//! computed on several threads.

use bureau_domain::bill::BillState;
use bureau_domain::i18n::Text;
use bureau_domain::reading::{self, ExceptionKind, Held, MeterSpec, ReadingRules, Registers};
use bureau_domain::tariff::{calculate, BillInput, BillPeriod, TariffBook, TierCounter, TouKwh};
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

fn registers(r: &Reading) -> Registers {
    Registers {
        total: r.total,
        peak: r.peak,
        flat: r.flat,
        valley: r.valley,
        max_demand: r.max_demand,
        kvarh: r.kvarh,
    }
}

fn month_of(period: BillPeriod, back: i32) -> BillPeriod {
    let idx = i32::from(period.year) * 12 + i32::from(period.month) - 1 - back;
    BillPeriod { year: (idx / 12) as i16, month: (idx % 12 + 1) as i8 }
}

fn day_in(p: BillPeriod, day: i64) -> Date {
    Date::new(p.year, p.month, day.clamp(1, 28) as i8).expect("day 1..=28 exists in every month")
}

fn in_month(r: &Reading, p: BillPeriod) -> bool {
    let prefix = p.to_string();
    r.read_on.len() == 10 && r.read_on.starts_with(&prefix)
}

/// The reading that closes a month: the latest on or before the reading day, else the first one
/// after it (a late round), within the calendar month of the period.
fn closing(readings: &[Reading], p: BillPeriod, read_day: Date) -> Option<&Reading> {
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

/// Bills one customer. `readings` are the customer's readings of the period and the month before
/// (any meter), oldest first; `history` their live bills of the last twelve months, newest first.
pub fn bill_account(
    ctx: &Ctx,
    account: &BillingAccount,
    readings: &[Reading],
    history: &[BillHistory],
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
    let mine: Vec<Reading> = readings.iter().filter(|r| r.meter_id == meter.meter_id).cloned().collect();
    let spec = MeterSpec { multiplier: meter.multiplier, digits: meter.digits };

    // Opening: the previous month's closing reading, or the meter's initial reading when it was
    // installed since.
    let open_day = day_in(prev_p, day);
    let opening: Reading = match closing(&mine, prev_p, open_day) {
        Some(r) => r.clone(),
        None if meter.installed_on > open_day => Reading {
            customer_id: account.customer_id.clone(),
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
        },
        None => {
            return hold.one(
                Held {
                    kind: ExceptionKind::Missing,
                    detail: Text::new(
                        format!("缺少上期（{prev_p}）抄表示数"),
                        format!("no reading for the previous period ({prev_p})"),
                    ),
                },
                None,
            )
        }
    };

    let close_day = day_in(ctx.period, day);
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
            match (ctx.estimate_missing, last_kwh) {
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
    let used = match reading::consumption(
        spec,
        &registers(&opening),
        opening.kind == ReadingKind::Estimated,
        &registers(&closing_reading),
    ) {
        Ok(c) => c,
        Err(held) => return hold.one(held, read_on),
    };
    let recent: Vec<Decimal> = history.iter().take(3).map(|h| h.kwh).collect();
    if let Err(held) = reading::check_history(ctx.rules, used.kwh, &recent) {
        return hold.one(held, read_on);
    }

    let (Ok(start), Ok(close)) = (opening.read_on.parse::<Date>(), closing_reading.read_on.parse::<Date>())
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
    let has_tou_prices = tariff.versions.iter().any(|v| v.energy.has_tou());
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
        kvarh: if tariff.is_residential() { None } else { used.kvarh },
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
    let lines = calc
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| StoredBillLine {
            line_no: i as i64 + 1,
            code: l.code.clone(),
            description: l.description.clone(),
            quantity: l.quantity,
            unit: l.unit.to_string(),
            unit_price: l.unit_price,
            amount: l.amount,
            tier: l.tier.map(i64::from),
            ytd_kwh: l.ytd_kwh,
        })
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
        kwh: used.kwh,
        ytd_kwh: calc.ytd_kwh_after,
        total: calc.total,
        funds: calc.funds_total,
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
