//! The government-fund remittance report (政府性基金及附加解缴报表) for finance: per fund and rate the
//! kWh subject to it and the amount to remit, per tariff, per month, and the reconciliation against
//! the bills' own funds.
//!
//! The store sums the live bills of the months by tariff and consumption dates (one GROUP BY, no
//! per-bill read or write); the domain prices the groups with the tariff book
//! (`bureau_domain::tariff::remittance`, which documents the basis and the rounding). The report is
//! scoped to the actor's bureaus like the other billing reports, and open to the same roles as the
//! fee-collection reports (managers and counter clerks).

use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_domain::tariff::remittance::{remittance, FundBase};
use bureau_domain::tariff::{BillPeriod, TariffBook};
use bureau_store::{DynStore, StoreError};
use std::io::Write;

pub use bureau_domain::tariff::remittance::Remittance;

/// Roles that see the report: those of the fee-collection reports.
pub const REPORT_ROLES: &[bureau_domain::org::Role] = crate::collection::REPORT_ROLES;

/// Reads the report's months: `period` (`YYYY-MM`, required) and `to` (default `period`), `to` not
/// before `period`. Every bad field is named.
pub fn parse_periods(period: &str, to: Option<&str>) -> Result<(BillPeriod, BillPeriod), Vec<FieldError>> {
    let to = to.map(str::trim).filter(|s| !s.is_empty());
    let f = BillPeriod::parse("period", period);
    let t = BillPeriod::parse("to", to.unwrap_or(period));
    match (f, t) {
        (Ok(f), Ok(t)) if t < f => Err(vec![FieldError::invalid(
            "to",
            format!("截止月份 {t} 早于起始月份 {f}"),
            format!("the last month {t} is before the first {f}"),
        )]),
        (Ok(f), Ok(t)) => Ok((f, t)),
        (f, t) => {
            let errs: Vec<FieldError> = [f.err(), t.err()].into_iter().flatten().collect();
            // A bad `period` also makes the default `to` bad: name the field the user wrote.
            if to.is_none() {
                Err(errs.into_iter().filter(|e| e.field == "period").collect())
            } else {
                Err(errs)
            }
        }
    }
}

/// The remittance report of the live bills of `from..=to` in the actor's scope, priced with
/// `tariffs` (the book the bills were run with).
pub async fn fund_remittance(
    store: &DynStore,
    actor: &Actor,
    tariffs: &TariffBook,
    from: BillPeriod,
    to: BillPeriod,
) -> AppResult<Remittance> {
    actor.require_any(REPORT_ROLES)?;
    let groups = store.bill_fund_groups(&actor.scope, &from.to_string(), &to.to_string()).await?;
    let corrupt = |what: &str, v: &str| AppError::Store(StoreError::Corrupt(format!("bills.{what}: {v}")));
    let mut bases = Vec::with_capacity(groups.len());
    for g in groups {
        bases.push(FundBase {
            period: BillPeriod::parse("period", &g.period).map_err(|_| corrupt("period", &g.period))?,
            start: g.start_on.parse().map_err(|_| corrupt("start_on", &g.start_on))?,
            end: g.end_on.parse().map_err(|_| corrupt("end_on", &g.end_on))?,
            tariff_id: g.tariff_id,
            bills: g.bills,
            kwh: g.kwh,
            billed_funds: g.funds,
        });
    }
    remittance(tariffs, from, to, &bases)
        .map_err(|e| AppError::Store(StoreError::Corrupt(format!("{}: {}", e.field, e.message.en))))
}

/// The report's months as one label: `2026-03`, or `2026-01~2026-03`.
pub fn months_label(r: &Remittance) -> String {
    if r.from == r.to {
        r.from.to_string()
    } else {
        format!("{}~{}", r.from, r.to)
    }
}

/// Quotes a field when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The report as one CSV table (UTF-8, money in yuan with two decimals), a `row` column saying
/// what each line is:
/// `row,period,fund_code,fund_name_zh,fund_name_en,rate,tariff_id,version_from,bills,kwh,amount,billed_funds,difference,note`.
/// - `fund`: one fund at one rate, every tariff (what is remitted);
/// - `tariff_fund`: one fund of one tariff version;
/// - `tariff`: a tariff's bills, its funds, the bills' own funds and the rounding difference;
/// - `month`: the same per billing month;
/// - `unpriced`: bills the report could not price, with the reason in `note`;
/// - `total`: every live bill; `billed_funds` counts the unpriced bills too, `difference` only the
///   priced ones.
pub fn remittance_csv(r: &Remittance, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "row,period,fund_code,fund_name_zh,fund_name_en,rate,tariff_id,version_from,bills,kwh,amount,billed_funds,difference,note"
    )?;
    let months = months_label(r);
    let unverified = |u: bool| if u { "费率未核实 rate unverified" } else { "" };
    for f in &r.funds {
        writeln!(
            out,
            "fund,{months},{},{},{},{},,,,{},{},,,{}",
            field(&f.code),
            field(&f.name_zh),
            field(&f.name_en),
            f.rate,
            f.kwh,
            f.amount,
            unverified(f.unverified)
        )?;
    }
    for t in &r.tariffs {
        for f in &t.funds {
            writeln!(
                out,
                "tariff_fund,{months},{},{},{},{},{},{},,{},{},,,{}",
                field(&f.code),
                field(&f.name_zh),
                field(&f.name_en),
                f.rate,
                field(&t.tariff_id),
                f.version_from,
                f.kwh,
                f.amount,
                unverified(f.unverified)
            )?;
        }
    }
    for t in &r.tariffs {
        writeln!(
            out,
            "tariff,{months},,,,,{},,{},{},{},{},{},{}",
            field(&t.tariff_id),
            t.bills,
            t.kwh,
            t.amount,
            t.billed_funds,
            t.difference,
            field(&t.name_zh)
        )?;
    }
    for m in &r.months {
        writeln!(
            out,
            "month,{},,,,,,,{},{},{},{},{},",
            m.period, m.bills, m.kwh, m.amount, m.billed_funds, m.difference
        )?;
    }
    for u in &r.unpriced {
        writeln!(
            out,
            "unpriced,{},,,,,{},,{},{},,{},,{}",
            u.period,
            field(&u.tariff_id),
            u.bills,
            u.kwh,
            u.billed_funds,
            field(&format!("{}~{}: {} / {}", u.start, u.end, u.reason.zh, u.reason.en))
        )?;
    }
    writeln!(
        out,
        "total,{months},,,,,,,{},{},{},{},{},{}",
        r.bills,
        r.kwh,
        r.amount,
        r.billed_funds,
        r.difference,
        if r.unpriced.is_empty() {
            String::new()
        } else {
            field(&format!(
                "其中未能计价的账单基金 {0} / of which unpriced bills' funds {0}",
                r.unpriced_funds
            ))
        }
    )
}
