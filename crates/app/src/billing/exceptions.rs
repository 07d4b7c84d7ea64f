//! Clearing the reading exceptions queue (异常处理).
//!
//! The bill run holds a suspicious reading as an exception instead of billing it. Staff resolve it
//! in one of three ways, each recorded with who, when and why (`ExceptionStore::save_resolution`):
//! - **confirm** the reading as real (a rollover, an empty house, a new load): the bill is computed
//!   from the reading as it is, without the check that held it;
//! - **correct** it: a corrected reading is stored beside the original (the reading row is never
//!   edited) and the bill is computed from it — it also opens the next period;
//! - **estimate** it from the previous period (供电营业规则 (1996) Art. 83), trued up at the next
//!   actual reading (`bureau_domain::reading::trueup`).
//!
//! Then either the customer is billed for the period at once, through the same computation as
//! the bill run (`bill_account`), or the next bill run picks the customer up (it still has no bill)
//! and applies the resolution. With "bill now" the resolution and the bill are written in one
//! transaction (`ExceptionStore::resolve_and_bill`), and the resolution is kept only if the bill can be
//! computed: a reading still held leaves nothing behind and says why.

use super::compute::{day_in, month_of, opening_of, registers};
use super::extras::CustomerExtras;
use super::{bill_account, Ctx, Outcome, BILLING_ROLES};
use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::bill::BillState;
use bureau_domain::error::FieldError;
use bureau_domain::reading::{self, ExceptionKind, MeterSpec, ReadingRules, ResolutionAction};
use bureau_domain::tariff::{BillPeriod, TariffBook};
use bureau_store::{
    BillingExtras, DynStore, ExceptionResolution, Reading, ReadingException, ReadingKind, StoreError,
    StoredBill,
};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A resolution as staff enter it (page form, API body, CLI flags); every field is text and is
/// checked here.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ResolveDraft {
    /// `confirm`, `correct` or `estimate` (or their Chinese / English names).
    pub action: String,
    /// Which exception of the period (its kind code); default: the latest recorded.
    #[serde(default)]
    pub kind: Option<String>,
    pub reason: String,
    /// A correction's register values (before the multiplier); `total` is required for one.
    #[serde(default)]
    pub total: Option<String>,
    #[serde(default)]
    pub peak: Option<String>,
    #[serde(default)]
    pub flat: Option<String>,
    #[serde(default)]
    pub valley: Option<String>,
    #[serde(default)]
    pub max_demand: Option<String>,
    #[serde(default)]
    pub kvarh: Option<String>,
    /// The day of the corrected reading when the exception names none (a missing reading);
    /// default: the book's reading day in the period.
    #[serde(default)]
    pub read_on: Option<String>,
    /// Bill the customer for the period now (else the next bill run does).
    #[serde(default)]
    pub bill_now: bool,
}

/// What a resolution did.
#[derive(Clone, Debug, Serialize)]
pub struct Resolved {
    pub resolution: ExceptionResolution,
    /// The bill issued, when billed now.
    pub bill: Option<StoredBill>,
}

/// An exception of the queue with the resolution in force, if any (resolved, waiting for a bill).
#[derive(Clone, Debug, Serialize)]
pub struct QueueItem {
    pub exception: ReadingException,
    pub resolution: Option<ExceptionResolution>,
}

fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// One customer's bill for a period through the bill run's computation (`bill_account`), with the
/// resolutions in force; `pending` is laid over them as the latest of its period (a resolution
/// being tried before it is saved).
pub(crate) async fn compute_one(
    store: &DynStore,
    actor: &Actor,
    tariffs: &TariffBook,
    customer_id: &str,
    period: BillPeriod,
    today: Date,
) -> AppResult<Outcome> {
    compute_with(store, actor, tariffs, customer_id, period, today, None).await
}

async fn compute_with(
    store: &DynStore,
    actor: &Actor,
    tariffs: &TariffBook,
    customer_id: &str,
    period: BillPeriod,
    today: Date,
    pending: Option<&ExceptionResolution>,
) -> AppResult<Outcome> {
    let p = period.to_string();
    let loaded = store.billing_account(&actor.scope, customer_id, &p).await?;
    let Some(account) = loaded.accounts.first() else {
        return Err(AppError::not_found("customer", customer_id));
    };
    let mut extras: BillingExtras = store.billing_extras(customer_id, customer_id, &p).await?;
    if let Some(x) = pending {
        extras.resolutions.retain(|r| r.period != x.period);
        extras.resolutions.push(x.clone());
        extras.resolutions.sort_by(|a, b| a.period.cmp(&b.period));
    }
    let rules = ReadingRules::default();
    let ctx = Ctx { tariffs, rules: &rules, period, today, now: now_unix(), estimate_missing: false };
    let x = CustomerExtras::of(&extras, customer_id);
    Ok(bill_account(&ctx, account, &loaded.readings, &loaded.history, x))
}

fn held_error(e: &ReadingException) -> AppError {
    AppError::Invalid(vec![FieldError::new("readings", "held", e.detail.zh.clone(), e.detail.en.clone())])
}

fn opt_text(v: &Option<String>) -> &str {
    v.as_deref().map(str::trim).unwrap_or("")
}

/// Resolves a held reading of `customer_id` for `period`: see the module documentation.
pub async fn resolve(
    store: &DynStore,
    actor: &Actor,
    tariffs: &TariffBook,
    customer_id: &str,
    period: &str,
    draft: &ResolveDraft,
    today: Date,
) -> AppResult<Resolved> {
    actor.require_any(BILLING_ROLES)?;
    let p = BillPeriod::parse("period", period)?;
    let period = p.to_string();
    let customer = store
        .get_customer(&actor.scope, customer_id)
        .await
        .map_err(|e| AppError::or_not_found(e, "customer", customer_id))?;
    actor.require_bureau(&customer.bureau_id)?;
    let customer_id = customer.id.as_str();
    let mut errors = Vec::new();
    let reason = bureau_domain::error::required("reason", &draft.reason).map(str::to_string);
    let action = ResolutionAction::parse(&draft.action);
    if let Err(e) = &reason {
        errors.push(e.clone());
    }
    if let Err(e) = &action {
        errors.push(e.clone());
    }
    let (Ok(reason), Ok(action)) = (reason, action) else {
        return Err(AppError::Invalid(errors));
    };

    match store.get_bill(customer_id, &period, None).await {
        Ok(b) if b.state != BillState::Cancelled => {
            return Err(AppError::Conflict(FieldError::new(
                "period",
                "billed",
                format!("{customer_id} 的 {period} 电费已出账，请用退补更正"),
                format!("{customer_id} is already billed for {period}: correct it by cancel-and-rebill"),
            )))
        }
        Ok(_) => {
            return Err(AppError::Conflict(FieldError::new(
                "period",
                "cancelled",
                format!("{customer_id} 的 {period} 账单已作废，不能再按异常处理出账"),
                format!("{customer_id}'s {period} bill was cancelled; it cannot be reissued from the exceptions queue"),
            )))
        }
        Err(StoreError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let recorded = store.exceptions_of(customer_id, &period).await?;
    let exception = match opt_text(&draft.kind) {
        "" => recorded.iter().max_by_key(|e| e.created_at),
        k => {
            let kind = ExceptionKind::parse(k)?;
            recorded.iter().find(|e| e.kind == kind)
        }
    };
    let Some(exception) = exception.cloned() else {
        return Err(AppError::Invalid(vec![FieldError::new(
            "kind",
            "none",
            format!("{customer_id} 在 {period} 没有这类抄表异常"),
            format!("{customer_id} has no such reading exception for {period}"),
        )]));
    };
    action.clears(exception.kind)?;

    let loaded = store.billing_account(&actor.scope, customer_id, &period).await?;
    let Some(account) = loaded.accounts.first() else {
        return Err(AppError::not_found("customer", customer_id));
    };
    let Some(meter) = account.meter.clone() else {
        return Err(AppError::Invalid(vec![FieldError::new(
            "meter",
            "none",
            "该户没有在用电能表，请先在档案中处理",
            "the customer has no active meter: fix the register first",
        )]));
    };
    let meter_id = exception.meter_id.clone().unwrap_or_else(|| meter.meter_id.clone());
    let day = account.reading_day.unwrap_or(28);
    let read_on = match (&exception.read_on, opt_text(&draft.read_on)) {
        (Some(d), _) => d.clone(),
        (None, "") => day_in(p, day).to_string(),
        (None, d) => bureau_domain::register::parse_date("read_on", d)?.to_string(),
    };
    let reading = match action {
        ResolutionAction::Confirm => None,
        ResolutionAction::Correct => {
            let field = |name: &str| -> &str {
                match name {
                    "customer_id" => customer_id,
                    "meter_id" => meter_id.as_str(),
                    "read_on" => read_on.as_str(),
                    "total" => opt_text(&draft.total),
                    "peak" => opt_text(&draft.peak),
                    "flat" => opt_text(&draft.flat),
                    "valley" => opt_text(&draft.valley),
                    "max_demand" => opt_text(&draft.max_demand),
                    "kvarh" => opt_text(&draft.kvarh),
                    _ => "",
                }
            };
            let mut r = super::readings::parse_row(&field)?;
            let meters = store.meters_of(customer_id).await?;
            super::readings::check_meter(&r, &meters)?;
            r.source = "correct".into();
            Some(r)
        }
        ResolutionAction::Estimate => {
            // From the reading that opens the period and the previous period's kWh (Art. 83).
            let prev_p = month_of(p, 1);
            let open_day = day_in(prev_p, day);
            let existing = store.billing_extras(customer_id, customer_id, &period).await?;
            let mine = CustomerExtras::of(&existing, customer_id).overlay(&loaded.readings, &meter.meter_id);
            let opening = opening_of(customer_id, &meter, &mine, prev_p, open_day);
            let last = loaded.history.first().filter(|h| h.period == prev_p.to_string());
            let (Some(opening), Some(last)) = (opening, last) else {
                return Err(AppError::Invalid(vec![FieldError::new(
                    "action",
                    "no_basis",
                    format!("没有上期（{prev_p}）的示数和电量，无法按上期电量估抄"),
                    format!("no reading and bill of the previous period ({prev_p}) to estimate from"),
                )]));
            };
            let spec = MeterSpec { multiplier: meter.multiplier, digits: meter.digits };
            let regs = reading::estimate(spec, &registers(&opening), last.kwh)?;
            Some(Reading {
                customer_id: customer_id.to_string(),
                meter_id: meter.meter_id.clone(),
                read_on: read_on.clone(),
                kind: ReadingKind::Estimated,
                source: "estimate".into(),
                total: regs.total,
                peak: regs.peak,
                flat: regs.flat,
                valley: regs.valley,
                max_demand: None,
                kvarh: regs.kvarh,
            })
        }
    };
    let mut resolution = ExceptionResolution {
        customer_id: customer_id.to_string(),
        period: period.clone(),
        seq: 0,
        action,
        kind: exception.kind,
        reading,
        reason,
        resolved_by: actor.staff_id.clone(),
        resolved_at: now_unix(),
    };
    if !draft.bill_now {
        resolution.seq = store.save_resolution(&resolution).await?;
        return Ok(Resolved { resolution, bill: None });
    }
    let bill = match compute_with(store, actor, tariffs, customer_id, p, today, Some(&resolution)).await? {
        Outcome::Bill(b, _) => *b,
        Outcome::Held(e) => return Err(held_error(&e[0])),
    };
    // The resolution and its bill (with its ledger charge) in one transaction.
    let charges = crate::payments::charges_for(std::slice::from_ref(&bill), &actor.staff_id);
    let (seq, added) = store.resolve_and_bill(&resolution, &bill, &charges).await?;
    resolution.seq = seq;
    if !added {
        // A bill run wrote it meanwhile: answer the bill that is there.
        let (_, live) = super::bill(store, actor, customer_id, &period, None).await?;
        return Ok(Resolved { resolution, bill: Some(live) });
    }
    Ok(Resolved { resolution, bill: Some(bill) })
}

/// The open exceptions of a period with the resolution in force of each (staff's queue).
pub async fn queue(
    store: &DynStore,
    actor: &Actor,
    period: &str,
    after: Option<&str>,
    limit: u32,
) -> AppResult<Vec<QueueItem>> {
    let list = super::exceptions(store, actor, period, after, limit).await?;
    let extras = match (list.first(), list.last()) {
        (Some(lo), Some(hi)) => store.billing_extras(&lo.customer_id, &hi.customer_id, period).await?,
        _ => BillingExtras::default(),
    };
    Ok(list
        .into_iter()
        .map(|e| {
            let resolution = extras
                .resolutions
                .iter()
                .find(|r| r.customer_id == e.customer_id && r.period == e.period)
                .cloned();
            QueueItem { exception: e, resolution }
        })
        .collect())
}

/// Every resolution of a customer's period, oldest first (the record of who did what).
pub async fn history(
    store: &DynStore,
    actor: &Actor,
    customer_id: &str,
    period: &str,
) -> AppResult<Vec<ExceptionResolution>> {
    BillPeriod::parse("period", period)?;
    let c = store
        .get_customer(&actor.scope, customer_id)
        .await
        .map_err(|e| AppError::or_not_found(e, "customer", customer_id))?;
    actor.require_bureau(&c.bureau_id)?;
    Ok(store.resolutions_of(customer_id, period).await?)
}
