//! The late-fee trial calculation (违约金试算) for the counter, the API and the CLI: the fee on an
//! amount of arrears due on one day and paid on another, by `bureau_domain::late_fee` (供电营业规则
//! Art. 98, dated parameters in data/late-fees). Nothing is stored.

use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_domain::late_fee::{quote_with, LateFeeClass, LateFeeQuote, LateFeeRules};
use bureau_domain::money::Fen;
use jiff::civil::Date;
use serde::Serialize;

/// A trial calculation and what it was asked.
#[derive(Clone, Debug, Serialize)]
pub struct LateFeeTrial {
    pub class: LateFeeClass,
    pub due: Date,
    pub on: Date,
    pub arrears: Fen,
    #[serde(flatten)]
    pub quote: LateFeeQuote,
}

fn date(field: &str, text: &str) -> Result<Date, FieldError> {
    let t = bureau_domain::error::required(field, text)?;
    t.parse().map_err(|_| {
        FieldError::invalid(
            field,
            format!("日期格式应为 YYYY-MM-DD：{t}"),
            format!("a date is written YYYY-MM-DD: {t}"),
        )
    })
}

/// Checks every input (all errors at once) and quotes. The arrears belong to the year of the due
/// date (the late-fee module's reading).
pub fn late_fee_quote(
    rules: &LateFeeRules,
    class: &str,
    due: &str,
    on: &str,
    arrears: &str,
) -> AppResult<LateFeeTrial> {
    let mut errors = Vec::new();
    let class = LateFeeClass::parse(class).map_err(|e| errors.push(e)).ok();
    let due = date("due", due).map_err(|e| errors.push(e)).ok();
    let on = date("on", on).map_err(|e| errors.push(e)).ok();
    let arrears = bureau_domain::ledger::parse_amount("arrears", arrears, &Default::default())
        .map_err(|e| errors.push(e))
        .ok();
    if let (Some(d), Some(o)) = (due, on) {
        if o < d {
            errors.push(FieldError::invalid(
                "on",
                format!("缴费日 {o} 早于到期日 {d}"),
                format!("the payment day {o} is before the due date {d}"),
            ));
        }
    }
    let (Some(class), Some(due), Some(on), Some(arrears), true) =
        (class, due, on, arrears, errors.is_empty())
    else {
        return Err(AppError::Invalid(errors));
    };
    let quote = quote_with(rules, class, due.year(), due, on, arrears);
    Ok(LateFeeTrial { class, due, on, arrears, quote })
}
