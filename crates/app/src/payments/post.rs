//! Taking a payment (缴费): idempotent by its key, allocated by the fold, with the late fees it
//! makes payable (`bureau_domain::ledger::late_fees_with_payment`) posted in the same transaction.

use super::account::{customer_in_scope, Account};
use super::{ledger_instant, COUNTER_ROLES};
use crate::access::Actor;
use crate::error::{AppError, AppResult};
use bureau_domain::calendar::beijing;
use bureau_domain::error::FieldError;
use bureau_domain::late_fee::{LateFeeClass, LateFeeRules};
use bureau_domain::ledger::{
    classify_submission, fold, fold_until, late_fees_with_payment, parse_amount, receipt, AmountLimits,
    Channel, Entry, EntryId, EntryKind, IdempotencyKey, PaymentRequest, PriorPayment, Receipt, Submission,
};
use bureau_domain::money::Fen;
use bureau_domain::register::{AccountNo, Customer};
use bureau_store::{DynStore, Posted};
use serde::{Deserialize, Serialize};

/// How many times a payment is decided again when another posting to the same ledger came first.
const ATTEMPTS: usize = 20;

/// A payment as a clerk or a client submits it: every field text until checked.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct PaymentForm {
    /// 户号.
    pub account_no: String,
    /// In yuan, e.g. `120.50`.
    pub amount: String,
    /// One per payment attempt (e.g. a UUID made when the form was opened): a resubmission with the
    /// same key posts nothing and answers as the first time.
    pub idempotency_key: String,
    /// `cash` or `card` at the counter (default `cash`).
    #[serde(default)]
    pub method: Option<String>,
}

/// A payment ready to post, after its checks.
#[derive(Clone, Debug)]
pub struct NewPayment {
    pub customer: Customer,
    pub amount: Fen,
    pub key: IdempotencyKey,
    pub channel: Channel,
    pub by: String,
    pub reason: String,
    /// When it was received (now at the counter; the bank's date for a batch file).
    pub at: jiff::Timestamp,
}

/// What a posted (or re-submitted) payment did.
#[derive(Clone, Debug, Serialize)]
pub struct PaymentResult {
    /// True when the key had been posted before: nothing new was written.
    pub duplicate: bool,
    pub customer_id: String,
    pub payment: Entry,
    /// Late fees posted with it (Art. 98), oldest bill first.
    pub late_fees: Vec<Entry>,
    pub receipt: Receipt,
    /// The account after it, counted to the payment's day.
    pub account: Account,
}

fn method_reason(method: Option<&str>) -> Result<&'static str, FieldError> {
    match method.map(str::trim).unwrap_or("cash") {
        "" | "cash" => Ok("柜台缴费（现金）"),
        "card" => Ok("柜台缴费（刷卡）"),
        other => Err(FieldError::invalid(
            "method",
            format!("无法识别的付款方式“{other}”，应为：cash（现金）、card（刷卡）"),
            format!("unknown payment method '{other}', expected cash or card"),
        )),
    }
}

/// A payment at the counter: checks every field (all errors at once), then posts.
pub async fn take_payment(
    store: &DynStore,
    actor: &Actor,
    rules: &LateFeeRules,
    form: &PaymentForm,
) -> AppResult<PaymentResult> {
    actor.require_any(COUNTER_ROLES)?;
    let limits = AmountLimits::default();
    let mut errors = Vec::new();
    let account = AccountNo::parse("account_no", &form.account_no).map_err(|e| errors.push(e)).ok();
    let amount = parse_amount("amount", &form.amount, &limits).map_err(|e| errors.push(e)).ok();
    let key =
        IdempotencyKey::parse("idempotency_key", &form.idempotency_key).map_err(|e| errors.push(e)).ok();
    let reason = method_reason(form.method.as_deref()).map_err(|e| errors.push(e)).ok();
    let (Some(account), Some(amount), Some(key), Some(reason), true) =
        (account, amount, key, reason, errors.is_empty())
    else {
        return Err(AppError::Invalid(errors));
    };
    let customer = match customer_in_scope(store, actor, account.as_str()).await {
        Ok(c) => c,
        Err(AppError::NotFound { .. }) | Err(AppError::Forbidden) => {
            return Err(unknown_account(account.as_str()).into());
        }
        Err(e) => return Err(e),
    };
    let payment = NewPayment {
        customer,
        amount,
        key,
        channel: Channel::Counter,
        by: actor.staff_id.clone(),
        reason: reason.to_string(),
        at: ledger_instant(jiff::Timestamp::now()),
    };
    let customer = payment.customer.clone();
    let result = post_payment(store, rules, payment).await?;
    // A payment that clears a disconnected customer's arrears orders the reconnection now (the
    // 24-hour clock runs from the payment). The payment stands whatever happens here; should this
    // fail, the next daily pass issues the order, with the same deadline.
    let arrears_rules = bureau_domain::arrears::ArrearsRules::builtin();
    if let Err(e) =
        crate::arrears::after_payment(store, arrears_rules, &actor.staff_id, &customer, result.payment.at)
            .await
    {
        tracing::warn!(account = %result.customer_id, error = %e, "arrears follow-up of a payment failed");
    }
    Ok(result)
}

pub(crate) fn unknown_account(account: &str) -> FieldError {
    FieldError::new(
        "account_no",
        "unknown",
        format!("没有这个户号：{account}"),
        format!("no such account number: {account}"),
    )
}

/// The ids of a payment's entries: the payment, and a late fee per bill named after it (so that a
/// re-submission finds the fees posted with the first one).
fn payment_id() -> String {
    crate::outbox::new_id("pay-")
}

fn fee_prefix(payment: &EntryId) -> String {
    format!("fee-{}-", payment.0.trim_start_matches("pay-"))
}

/// The entries to post for a payment on the ledger as `entries` show it: its late fees (one
/// microsecond before it, so the payment settles the charge and then the fee of the oldest bill
/// before it reaches a newer one) and the payment. Pure.
pub fn payment_entries(
    entries: &[Entry],
    rules: &LateFeeRules,
    class: LateFeeClass,
    p: &NewPayment,
    id: EntryId,
) -> Vec<Entry> {
    let state = fold(entries);
    let on = beijing::date_of(p.at);
    let prefix = fee_prefix(&id);
    let mut out: Vec<Entry> = late_fees_with_payment(&state, rules, class, on, p.amount)
        .into_iter()
        .map(|(bill, amount)| Entry {
            id: EntryId(format!("{prefix}{bill}")),
            at: p.at - jiff::SignedDuration::from_micros(1),
            by: p.by.clone(),
            channel: p.channel,
            reason: format!("{bill} 电费违约金"),
            kind: EntryKind::LateFee { bill, amount },
        })
        .collect();
    out.push(Entry {
        id,
        at: p.at,
        by: p.by.clone(),
        channel: p.channel,
        reason: p.reason.clone(),
        kind: EntryKind::Payment { amount: p.amount, key: p.key.clone() },
    });
    out
}

/// The answer for a payment already in the ledger (first time or a retry).
pub(crate) fn result_of(
    customer: Customer,
    version: i64,
    entries: Vec<Entry>,
    rules: &LateFeeRules,
    payment_id: &EntryId,
    duplicate: bool,
) -> AppResult<PaymentResult> {
    let Some(payment) = entries.iter().find(|e| &e.id == payment_id).cloned() else {
        return Err(AppError::not_found("payment", payment_id.0.clone()));
    };
    let reversed =
        entries.iter().any(|e| matches!(&e.kind, EntryKind::Reversal { of, .. } if of == payment_id));
    if reversed {
        return Err(AppError::Conflict(FieldError::new(
            "idempotency_key",
            "reversed",
            format!("这笔缴费 {} 已冲正；重新缴费请用新的幂等键", payment.id),
            format!("this payment {} was reversed; a new payment needs a new idempotency key", payment.id),
        )));
    }
    let prefix = fee_prefix(payment_id);
    let late_fees: Vec<Entry> = entries.iter().filter(|e| e.id.0.starts_with(&prefix)).cloned().collect();
    let state = fold_until(&entries, payment.at);
    let receipt = receipt(&state, &payment).ok_or_else(|| {
        AppError::Conflict(FieldError::new(
            "idempotency_key",
            "reversed",
            format!("这笔缴费 {} 已冲正", payment.id),
            format!("this payment {} was reversed", payment.id),
        ))
    })?;
    let customer_id = customer.id.as_str().to_string();
    let on = beijing::date_of(payment.at);
    let account = Account::from_entries(customer, version, entries, rules, on);
    Ok(PaymentResult { duplicate, customer_id, payment, late_fees, receipt, account })
}

/// Posts a checked payment: a key seen before answers as the first time (or a conflict when the
/// account or amount differ); otherwise the late fees and the payment are posted at the ledger
/// version they were decided on, deciding again if another posting came first.
pub async fn post_payment(store: &DynStore, rules: &LateFeeRules, p: NewPayment) -> AppResult<PaymentResult> {
    let account = p.customer.id.as_str().to_string();
    let class = LateFeeClass::from(p.customer.class);
    let id = EntryId(payment_id());
    for _ in 0..ATTEMPTS {
        if let Some(prior) = store.entry_by_key(p.key.as_str()).await? {
            return answer_duplicate(store, rules, &p, prior).await;
        }
        let ledger = store.ledger_of(&account).await?;
        let entries = payment_entries(&ledger.entries, rules, class, &p, id.clone());
        match store.post_entries(&account, ledger.version, &entries).await? {
            Posted::Done { version } => {
                let mut all = ledger.entries;
                all.extend(entries);
                return result_of(p.customer, version, all, rules, &id, false);
            }
            Posted::Duplicate { prior } => return answer_duplicate(store, rules, &p, prior).await,
            Posted::Stale => continue,
        }
    }
    Err(busy())
}

pub(crate) fn busy() -> AppError {
    AppError::Conflict(busy_error())
}

pub(crate) fn busy_error() -> FieldError {
    FieldError::new(
        "account_no",
        "busy",
        "该户账务正被频繁更新，请稍后重试",
        "the account is being updated by many postings at once; try again",
    )
}

async fn answer_duplicate(
    store: &DynStore,
    rules: &LateFeeRules,
    p: &NewPayment,
    prior: bureau_store::CustomerEntry,
) -> AppResult<PaymentResult> {
    let EntryKind::Payment { amount, key } = &prior.entry.kind else {
        return Err(AppError::Conflict(FieldError::new(
            "idempotency_key",
            "conflict",
            "幂等键已被其他记录使用",
            "the idempotency key is used by another entry",
        )));
    };
    let prior_payment = PriorPayment {
        key: key.clone(),
        entry: prior.entry.id.clone(),
        account: AccountNo::parse("account_no", &prior.customer_id)?,
        amount: *amount,
    };
    let req = PaymentRequest { key: p.key.clone(), account: p.customer.id.clone(), amount: p.amount };
    match classify_submission([&prior_payment], &req).map_err(AppError::Conflict)? {
        Submission::Duplicate { entry } => {
            let customer = p.customer.clone();
            let ledger = store.ledger_of(&prior.customer_id).await?;
            result_of(customer, ledger.version, ledger.entries, rules, &entry, true)
        }
        Submission::New => Err(busy()),
    }
}

/// The receipt of one payment (收费凭证), for the printable page.
pub async fn payment_receipt(
    store: &DynStore,
    actor: &Actor,
    rules: &LateFeeRules,
    customer_id: &str,
    entry_id: &str,
) -> AppResult<PaymentResult> {
    actor.require_any(COUNTER_ROLES)?;
    let customer = customer_in_scope(store, actor, customer_id).await?;
    let ledger = store.ledger_of(customer_id).await?;
    let id = EntryId(entry_id.to_string());
    match ledger.entries.iter().find(|e| e.id == id) {
        Some(Entry { kind: EntryKind::Payment { .. }, .. }) => {}
        _ => return Err(AppError::not_found("payment", entry_id)),
    }
    result_of(customer, ledger.version, ledger.entries, rules, &id, true)
}
