//! Payments through the API: the account at the counter, taking a payment (idempotent by its key),
//! the receipt, reversal (冲正) with a second staff member's approval, refunds of credit, the
//! late-fee trial calculation (违约金试算) and the bank batch file (代扣/代收).

use super::register::bad_json;
use crate::auth::ApiStaff;
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use bureau_app::payments::{self, Account, PaymentResult};
use bureau_app::AppError;
use bureau_domain::calendar::beijing::format_rfc3339;
use bureau_domain::error::FieldError;
use bureau_domain::i18n::Lang;
use bureau_domain::late_fee::LateFeeRules;
use bureau_domain::ledger::{Entry, EntryKind, Receipt};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

/// The late-fee parameters in force (the builtin dated file).
pub fn late_fee_rules() -> &'static LateFeeRules {
    LateFeeRules::builtin()
}

/// Money may come as a JSON string (`"120.50"`) or number (`120.5`); both are read as text and
/// checked by the domain (so `120.555` is refused, not rounded).
fn money_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum T {
        S(String),
        N(serde_json::Number),
    }
    Ok(match Option::<T>::deserialize(d)? {
        Some(T::S(s)) => s,
        Some(T::N(n)) => n.to_string(),
        None => String::new(),
    })
}

/// One ledger entry.
#[derive(Serialize, ToSchema)]
pub struct EntryView {
    pub id: String,
    /// RFC 3339, Beijing time.
    pub at: String,
    pub by: String,
    /// `counter`, `bank_withhold`, `bank_collect`, `billing`, …
    pub channel: String,
    pub reason: String,
    /// `charge`, `payment`, `late_fee`, `adjustment`, `refund` or `reversal`.
    pub kind: String,
    /// The entry's own amount in yuan (a payment's amount is positive here).
    pub amount: String,
    /// Its effect on what the customer owes (a payment is negative).
    pub effect: String,
    pub bill: Option<String>,
    pub reversal_of: Option<String>,
    pub approved_by: Option<String>,
    /// Cancelled by a later reversal.
    pub reversed: bool,
}

fn entry_view(e: &Entry, reversed: bool) -> EntryView {
    let (amount, bill, of, approver) = match &e.kind {
        EntryKind::Charge { bill, amount, .. } | EntryKind::LateFee { bill, amount } => {
            (amount.to_string(), Some(bill.0.clone()), None, None)
        }
        EntryKind::Payment { amount, .. } | EntryKind::Refund { amount } => {
            (amount.to_string(), None, None, None)
        }
        EntryKind::Adjustment { bill, amount } => {
            (amount.to_string(), bill.as_ref().map(|b| b.0.clone()), None, None)
        }
        EntryKind::Reversal { of, approved_by } => {
            ("0.00".into(), None, Some(of.0.clone()), Some(approved_by.clone()))
        }
    };
    EntryView {
        id: e.id.0.clone(),
        at: format_rfc3339(e.at),
        by: e.by.clone(),
        channel: e.channel.code().into(),
        reason: e.reason.clone(),
        kind: e.kind.code().into(),
        amount,
        effect: e.kind.signed_amount().to_string(),
        bill,
        reversal_of: of,
        approved_by: approver,
        reversed,
    }
}

#[derive(Serialize, ToSchema)]
pub struct OpenBill {
    pub bill: String,
    pub period: String,
    pub due: String,
    pub charged: String,
    /// Late fees already posted.
    pub late_fees: String,
    pub paid: String,
    pub open: String,
    pub days_overdue: i64,
    /// Accrued to the day asked and not yet posted (posted with the payment that reaches the bill).
    pub late_fee_to_date: String,
    pub to_clear: String,
}

/// A customer's account: balances folded from the ledger.
#[derive(Serialize, ToSchema)]
pub struct AccountView {
    pub account_no: String,
    pub name: String,
    pub address: String,
    /// `residential` or `other` (Art. 98 rates).
    pub late_fee_class: String,
    /// The day late fees are counted to.
    pub on: String,
    /// The ledger version (a refund is posted only on the version it was decided on).
    pub version: i64,
    /// Positive when owed, negative when in credit.
    pub balance: String,
    pub credit: String,
    /// Unpaid after the due date (欠费).
    pub arrears: String,
    pub late_fee_to_date: String,
    /// What settles everything on `on`.
    pub to_clear: String,
    pub open_bills: Vec<OpenBill>,
    /// Every entry, in posting order.
    pub entries: Vec<EntryView>,
}

pub fn account_view(a: &Account) -> AccountView {
    let reversed: std::collections::HashSet<&str> =
        a.state.reversed.iter().map(|(r, _)| r.0.as_str()).collect();
    AccountView {
        account_no: a.customer.id.as_str().into(),
        name: a.customer.name.clone(),
        address: a.customer.address.clone(),
        late_fee_class: match a.late_fee_class {
            bureau_domain::late_fee::LateFeeClass::Residential => "residential".into(),
            bureau_domain::late_fee::LateFeeClass::Other => "other".into(),
        },
        on: a.on.to_string(),
        version: a.version,
        balance: a.balance.to_string(),
        credit: a.credit.to_string(),
        arrears: a.arrears.to_string(),
        late_fee_to_date: a.late_fee_to_date.to_string(),
        to_clear: a.to_clear.to_string(),
        open_bills: a
            .open_bills
            .iter()
            .map(|b| OpenBill {
                bill: b.bill.0.clone(),
                period: b.period.to_string(),
                due: b.due.to_string(),
                charged: b.charged.to_string(),
                late_fees: b.late_fees.to_string(),
                paid: b.paid.to_string(),
                open: b.open.to_string(),
                days_overdue: b.days_overdue,
                late_fee_to_date: b.late_fee_to_date.to_string(),
                to_clear: b.to_clear.to_string(),
            })
            .collect(),
        entries: a.entries.iter().map(|e| entry_view(e, reversed.contains(e.id.0.as_str()))).collect(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptLineView {
    pub bill: String,
    pub period: String,
    pub charge: String,
    pub late_fee: String,
    pub open_after: String,
}

/// A payment receipt (收费凭证).
#[derive(Serialize, ToSchema)]
pub struct ReceiptView {
    pub entry: String,
    pub account_no: String,
    pub name: String,
    pub at: String,
    pub by: String,
    pub channel: String,
    pub amount: String,
    pub lines: Vec<ReceiptLineView>,
    /// Kept as prepaid credit (预存).
    pub to_credit: String,
    pub balance_after: String,
}

pub fn receipt_view(r: &Receipt, a: &Account) -> ReceiptView {
    ReceiptView {
        entry: r.entry.0.clone(),
        account_no: a.customer.id.as_str().into(),
        name: a.customer.name.clone(),
        at: format_rfc3339(r.at),
        by: r.by.clone(),
        channel: r.channel.code().into(),
        amount: r.amount.to_string(),
        lines: r
            .lines
            .iter()
            .map(|l| ReceiptLineView {
                bill: l.bill.0.clone(),
                period: l.period.to_string(),
                charge: l.charge.to_string(),
                late_fee: l.late_fee.to_string(),
                open_after: l.open_after.to_string(),
            })
            .collect(),
        to_credit: r.to_credit.to_string(),
        balance_after: r.balance_after.to_string(),
    }
}

/// What a payment did.
#[derive(Serialize, ToSchema)]
pub struct PaymentView {
    /// True when this key was posted before: nothing new was written, this is the first answer.
    pub duplicate: bool,
    pub payment: EntryView,
    /// Late fees posted with it (供电营业规则 Art. 98).
    pub late_fees: Vec<EntryView>,
    pub receipt: ReceiptView,
    /// The account after it.
    pub account: AccountView,
}

fn payment_view(r: &PaymentResult) -> PaymentView {
    PaymentView {
        duplicate: r.duplicate,
        payment: entry_view(&r.payment, false),
        late_fees: r.late_fees.iter().map(|e| entry_view(e, false)).collect(),
        receipt: receipt_view(&r.receipt, &r.account),
        account: account_view(&r.account),
    }
}

#[derive(Deserialize, IntoParams)]
pub struct OnParam {
    /// Count late fees to this day (YYYY-MM-DD); default today (Beijing).
    pub on: Option<String>,
}

fn parse_on(on: Option<&str>) -> Result<Option<jiff::civil::Date>, AppError> {
    match on.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| {
            AppError::Invalid(vec![FieldError::invalid(
                "on",
                format!("日期格式应为 YYYY-MM-DD：{t}"),
                format!("a date is written YYYY-MM-DD: {t}"),
            )])
        }),
    }
}

/// A customer's account (counter view): open bills with the late fee to date, credit, arrears,
/// balance and every ledger entry.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "payments",
    params(("id" = String, Path, description = "account number"), OnParam), security(("bearer" = [])),
    responses((status = 200, body = AccountView), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn account(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
    Query(p): Query<OnParam>,
) -> ApiResult<Json<AccountView>> {
    let lang = user.lang;
    let on = parse_on(p.on.as_deref()).map_err(|e| ApiError::new(e, lang))?;
    let a = payments::customer_account(&state.store, &user.actor, late_fee_rules(), &id, on)
        .await
        .map_err(|e| ApiError::new(e, lang))?;
    Ok(Json(account_view(&a)))
}

#[derive(Deserialize, ToSchema)]
pub struct PaymentBody {
    /// 户号.
    #[serde(default)]
    pub account_no: String,
    /// Yuan, a string (`"120.50"`) or a number; at most two decimals.
    #[serde(default, deserialize_with = "money_text")]
    #[schema(value_type = String)]
    pub amount: String,
    /// One per payment attempt; may also come as the `Idempotency-Key` header.
    #[serde(default)]
    pub idempotency_key: String,
    /// `cash` (default) or `card`.
    pub method: Option<String>,
}

/// Takes a payment at the counter. The same idempotency key posts once: a retry (also a concurrent
/// one) answers 200 with the first result and `duplicate: true`; the same key with another account
/// or amount answers 409. Late fees due on bills the payment reaches are posted with it.
#[utoipa::path(post, path = "/api/v1/payments", tag = "payments", request_body = PaymentBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "instead of idempotency_key in the body")),
    security(("bearer" = [])),
    responses((status = 201, body = PaymentView), (status = 200, body = PaymentView, description = "a duplicate"),
        (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn take_payment(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    headers: HeaderMap,
    body: JsonBody<PaymentBody>,
) -> ApiResult<(StatusCode, Json<PaymentView>)> {
    let lang = user.lang;
    let Json(b) = body.map_err(|e| bad_json(e, lang))?;
    let key = if b.idempotency_key.trim().is_empty() {
        headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
    } else {
        b.idempotency_key
    };
    let form = payments::PaymentForm {
        account_no: b.account_no,
        amount: b.amount,
        idempotency_key: key,
        method: b.method,
    };
    let r = payments::take_payment(&state.store, &user.actor, late_fee_rules(), &form)
        .await
        .map_err(|e| ApiError::new(e, lang))?;
    let status = if r.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(payment_view(&r))))
}

/// The receipt of a payment (收费凭证).
#[utoipa::path(get, path = "/api/v1/accounts/{id}/payments/{entry}/receipt", tag = "payments",
    params(("id" = String, Path, description = "account number"), ("entry" = String, Path, description = "payment entry id")),
    security(("bearer" = [])),
    responses((status = 200, body = ReceiptView), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
pub async fn receipt(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path((id, entry)): Path<(String, String)>,
) -> ApiResult<Json<ReceiptView>> {
    let r = payments::payment_receipt(&state.store, &user.actor, late_fee_rules(), &id, &entry)
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(receipt_view(&r.receipt, &r.account)))
}

#[derive(Deserialize, ToSchema)]
pub struct ReversalBody {
    #[serde(default)]
    pub account_no: String,
    /// The entry to reverse; a payment is reversed with the late fees posted with it.
    #[serde(default)]
    pub entry_id: String,
    #[serde(default)]
    pub reason: String,
    /// The approving manager's user name and password (a different person from the caller).
    #[serde(default)]
    pub approver: String,
    #[serde(default)]
    pub approver_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReversalView {
    pub reversals: Vec<EntryView>,
    pub account: AccountView,
}

/// Reverses a mistaken entry (冲正): needs a reason and the approval of a second staff member with
/// the manager role, who re-enters their password.
#[utoipa::path(post, path = "/api/v1/reversals", tag = "payments", request_body = ReversalBody, security(("bearer" = [])),
    responses((status = 201, body = ReversalView), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse),
        (status = 422, body = ErrorResponse)))]
pub async fn reverse(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: JsonBody<ReversalBody>,
) -> ApiResult<(StatusCode, Json<ReversalView>)> {
    let lang = user.lang;
    let Json(b) = body.map_err(|e| bad_json(e, lang))?;
    let form = payments::ReversalForm {
        account_no: b.account_no,
        entry_id: b.entry_id,
        reason: b.reason,
        approver: b.approver,
        approver_password: b.approver_password,
    };
    let r = payments::reverse_entry(&state.store, &user.actor, late_fee_rules(), &form)
        .await
        .map_err(|e| ApiError::new(e, lang))?;
    let view = ReversalView {
        reversals: r.reversals.iter().map(|e| entry_view(e, false)).collect(),
        account: account_view(&r.account),
    };
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize, ToSchema)]
pub struct RefundBody {
    #[serde(default)]
    pub account_no: String,
    #[serde(default, deserialize_with = "money_text")]
    #[schema(value_type = String)]
    pub amount: String,
    #[serde(default)]
    pub reason: String,
    /// The account's `version` when the refund was decided.
    pub version: i64,
}

#[derive(Serialize, ToSchema)]
pub struct RefundView {
    pub refund: EntryView,
    pub account: AccountView,
}

/// Pays back credit (退费): at most the credit, and only on the ledger version it was decided on
/// (a resent request answers 409 instead of refunding twice).
#[utoipa::path(post, path = "/api/v1/refunds", tag = "payments", request_body = RefundBody, security(("bearer" = [])),
    responses((status = 201, body = RefundView), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn refund(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: JsonBody<RefundBody>,
) -> ApiResult<(StatusCode, Json<RefundView>)> {
    let lang = user.lang;
    let Json(b) = body.map_err(|e| bad_json(e, lang))?;
    let form = payments::RefundForm {
        account_no: b.account_no,
        amount: b.amount,
        reason: b.reason,
        version: b.version,
    };
    let r = payments::refund_credit(&state.store, &user.actor, late_fee_rules(), &form)
        .await
        .map_err(|e| ApiError::new(e, lang))?;
    Ok((
        StatusCode::CREATED,
        Json(RefundView { refund: entry_view(&r.refund, false), account: account_view(&r.account) }),
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct LateFeeQuery {
    /// `residential` or `other`.
    #[serde(default)]
    pub class: String,
    /// Due date, YYYY-MM-DD.
    #[serde(default)]
    pub due: String,
    /// Day of payment, YYYY-MM-DD.
    #[serde(default)]
    pub on: String,
    /// Arrears in yuan.
    #[serde(default)]
    pub arrears: String,
}

#[derive(Serialize, ToSchema)]
pub struct LateFeeLineView {
    pub from: String,
    pub to: String,
    pub days: i64,
    pub arrears: String,
    /// Per mille per day.
    pub rate_per_mille: String,
    pub amount: String,
    pub rule: String,
}

/// `{"days": 15, "fee": "1.50", ...}`, as `bureau late-fee quote --json` prints.
#[derive(Serialize, ToSchema)]
pub struct LateFeeQuoteView {
    pub class: String,
    pub due: String,
    pub on: String,
    pub arrears: String,
    pub days: i64,
    pub fee: String,
    /// Before the 1-yuan minimum.
    pub accrued: String,
    pub minimum_applied: bool,
    /// A parameter used is marked unverified in its data file.
    pub unverified: bool,
    pub lines: Vec<LateFeeLineView>,
}

pub fn late_fee_view(q: &payments::LateFeeTrial, lang: Lang) -> LateFeeQuoteView {
    LateFeeQuoteView {
        class: match q.class {
            bureau_domain::late_fee::LateFeeClass::Residential => "residential".into(),
            bureau_domain::late_fee::LateFeeClass::Other => "other".into(),
        },
        due: q.due.to_string(),
        on: q.on.to_string(),
        arrears: q.arrears.to_string(),
        days: q.quote.days,
        fee: q.quote.fee.to_string(),
        accrued: q.quote.accrued.to_string(),
        minimum_applied: q.quote.minimum_applied,
        unverified: q.quote.unverified,
        lines: q
            .quote
            .lines
            .iter()
            .map(|l| LateFeeLineView {
                from: l.from.to_string(),
                to: l.to.to_string(),
                days: l.days,
                arrears: l.arrears.to_string(),
                rate_per_mille: l.rate_per_mille.to_string(),
                amount: l.amount.to_string(),
                rule: l.rule.get(lang).to_string(),
            })
            .collect(),
    }
}

/// Late-fee trial calculation (违约金试算, 供电营业规则 Art. 98): nothing is stored.
#[utoipa::path(get, path = "/api/v1/late-fees/quote", tag = "payments", params(LateFeeQuery), security(("bearer" = [])),
    responses((status = 200, body = LateFeeQuoteView), (status = 422, body = ErrorResponse)))]
pub async fn late_fee_quote(
    ApiStaff(user): ApiStaff,
    q: Result<Query<LateFeeQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<LateFeeQuoteView>> {
    let lang = user.lang;
    let Query(q) = q.map_err(|e| {
        ApiError::new(
            AppError::Invalid(vec![FieldError::invalid("query", e.body_text(), e.body_text())]),
            lang,
        )
    })?;
    let t = payments::late_fee_quote(late_fee_rules(), &q.class, &q.due, &q.on, &q.arrears)
        .map_err(|e| ApiError::new(e, lang))?;
    Ok(Json(late_fee_view(&t, lang)))
}
