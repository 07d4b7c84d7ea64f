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

/// The late-fee parameters in force (an operator's file given at start, else the built-in one).
pub fn late_fee_rules() -> &'static LateFeeRules {
    payments::late_fee_rules()
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
    /// The approving manager's user name and password (a different person from the caller).
    #[serde(default)]
    pub approver: String,
    #[serde(default)]
    pub approver_password: String,
}

#[derive(Serialize, ToSchema)]
pub struct RefundView {
    pub refund: EntryView,
    pub account: AccountView,
}

/// Pays back credit (退费): at most the credit, only on the ledger version it was decided on (a
/// resent request answers 409 instead of refunding twice), and only with the approval of a second
/// staff member with the manager role, who re-enters their password.
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
        approver: b.approver,
        approver_password: b.approver_password,
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

#[derive(Deserialize, IntoParams)]
pub struct BankBatchQuery {
    /// The bank's code, e.g. `ICBC` (part of every line's idempotency key).
    #[serde(default)]
    pub bank: String,
    /// The file's name, kept in the record of batches.
    #[serde(default)]
    pub file_name: String,
}

/// One line of the result file.
#[derive(Serialize, ToSchema)]
pub struct BankBatchLineView {
    pub line: usize,
    pub account_no: String,
    pub amount: String,
    pub bank_ref: String,
    /// `posted`, `duplicate` (posted before: no money moved) or `rejected`.
    pub status: String,
    /// The error code when rejected (the first error's).
    pub code: String,
    /// Every error of the line (`field: reason`), in the caller's language.
    pub message: String,
    /// The payment entry (posted now, or before for a duplicate).
    pub entry: Option<String>,
}

/// What a bank file gave: counts and one result per input line, in input order.
#[derive(Serialize, ToSchema)]
pub struct BankBatchView {
    pub batch_id: String,
    pub bank: String,
    pub file_name: String,
    pub lines: u64,
    pub posted: u64,
    pub duplicate: u64,
    pub rejected: u64,
    /// Yuan posted by this upload.
    pub posted_amount: String,
    pub results: Vec<BankBatchLineView>,
}

pub fn bank_batch_view(r: &payments::BankBatchResult, lang: Lang) -> BankBatchView {
    let s = &r.summary;
    BankBatchView {
        batch_id: s.batch_id.clone(),
        bank: s.bank.clone(),
        file_name: s.file_name.clone(),
        lines: s.lines,
        posted: s.posted,
        duplicate: s.duplicate,
        rejected: s.rejected,
        posted_amount: s.posted_amount.to_string(),
        results: r
            .results
            .iter()
            .map(|l| BankBatchLineView {
                line: l.line,
                account_no: l.account_no.clone(),
                amount: l.amount.clone(),
                bank_ref: l.bank_ref.clone(),
                status: l.status.code().into(),
                code: l.code.clone(),
                message: l.message.get(lang).into(),
                entry: l.entry.as_ref().map(|e| e.0.clone()),
            })
            .collect(),
    }
}

/// The largest bank file taken in one upload (about a million lines).
pub const BANK_FILE_LIMIT: usize = 128 << 20;

/// Posts a bank batch file (银行批量代扣/代收, UTF-8 CSV in the body; columns `account_no, amount,
/// paid_at, bank_ref, mode[, note]` or their Chinese names). Every line is answered in input order:
/// `posted`, `duplicate` (its `bank_ref` was posted before — a file sent twice, also concurrently,
/// posts once) or `rejected` with the field and reason. The answer is the result file (text/csv),
/// or JSON with `Accept: application/json`; the counts are also in the `X-Bank-Batch-*` headers. A bad
/// header line refuses the whole file (422).
#[utoipa::path(post, path = "/api/v1/payments/bank-batch", tag = "payments", params(BankBatchQuery),
    request_body(content = String, content_type = "text/csv"), security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv", body = String, description = "the result file"),
        (status = 200, body = BankBatchView, description = "with Accept: application/json"),
        (status = 403, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn bank_batch(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    headers: HeaderMap,
    Query(q): Query<BankBatchQuery>,
    body: axum::body::Bytes,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let lang = user.lang;
    let text = std::str::from_utf8(&body).map_err(|e| {
        ApiError::new(
            AppError::Invalid(vec![FieldError::invalid(
                "file",
                format!("文件不是 UTF-8 编码（第 {} 字节）", e.valid_up_to()),
                format!("the file is not UTF-8 (byte {})", e.valid_up_to()),
            )]),
            lang,
        )
    })?;
    let input = payments::BankBatchInput { bank: &q.bank, file_name: q.file_name.trim(), text, chunk: 0 };
    let r = payments::post_bank_batch(&state.store, &user.actor, late_fee_rules(), &input)
        .await
        .map_err(|e| ApiError::new(e, lang))?;
    let wants_json = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let s = &r.summary;
    let counts = [
        ("x-bank-batch-id", s.batch_id.clone()),
        ("x-bank-batch-posted", s.posted.to_string()),
        ("x-bank-batch-duplicate", s.duplicate.to_string()),
        ("x-bank-batch-rejected", s.rejected.to_string()),
        ("x-bank-batch-posted-amount", s.posted_amount.to_string()),
    ];
    let mut response = if wants_json {
        Json(bank_batch_view(&r, lang)).into_response()
    } else {
        (
            [(axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            bureau_domain::ledger::bank_file::format_results(&r.results, lang),
        )
            .into_response()
    };
    for (name, value) in counts {
        if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, v);
        }
    }
    Ok(response)
}

/// A bank file posted before.
#[derive(Serialize, ToSchema)]
pub struct BankBatchRecordView {
    pub batch_id: String,
    pub bank: String,
    pub file_name: String,
    pub posted_by: String,
    /// RFC 3339, Beijing time.
    pub started_at: String,
    pub finished_at: String,
    pub lines: u64,
    pub posted: u64,
    pub duplicate: u64,
    pub rejected: u64,
    pub posted_amount: String,
    /// The result file can be downloaded (`GET /api/v1/payments/bank-batches/{id}/result`): false
    /// for batches posted before the files were kept.
    pub has_result: bool,
}

pub fn bank_batch_record_view(b: &bureau_store::BankBatchRecord) -> BankBatchRecordView {
    let at = |s: i64| jiff::Timestamp::from_second(s).map(format_rfc3339).unwrap_or_default();
    BankBatchRecordView {
        batch_id: b.batch_id.clone(),
        bank: b.bank.clone(),
        file_name: b.file_name.clone(),
        posted_by: b.posted_by.clone(),
        started_at: at(b.started_at),
        finished_at: at(b.finished_at),
        lines: b.lines,
        posted: b.posted,
        duplicate: b.duplicate,
        rejected: b.rejected,
        posted_amount: b.posted_amount.to_string(),
        has_result: b.has_result,
    }
}

#[derive(Deserialize, IntoParams)]
pub struct LimitQuery {
    /// At most this many (default 50).
    pub limit: Option<u32>,
}

/// The bank files posted, newest first.
#[utoipa::path(get, path = "/api/v1/payments/bank-batches", tag = "payments", params(LimitQuery),
    security(("bearer" = [])), responses((status = 200, body = [BankBatchRecordView]), (status = 403, body = ErrorResponse)))]
pub async fn bank_batches(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Query(q): Query<LimitQuery>,
) -> ApiResult<Json<Vec<BankBatchRecordView>>> {
    let list = payments::bank_batches(&state.store, &user.actor, q.limit.unwrap_or(50))
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(list.iter().map(bank_batch_record_view).collect()))
}

/// A result file as a CSV download named after its batch.
pub fn result_download(batch_id: &str, csv: String) -> axum::response::Response {
    use axum::response::IntoResponse;
    let name: String = batch_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}-result.csv\"")),
        ],
        csv,
    )
        .into_response()
}

/// The result file of a bank file posted before (one line per input line, as answered when it was
/// posted; in the `Accept-Language` of the request). A batch outside the caller's bureaus is 404,
/// as one that does not exist.
#[utoipa::path(get, path = "/api/v1/payments/bank-batches/{id}/result", tag = "payments",
    params(("id" = String, Path, description = "The batch id")),
    security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub async fn bank_batch_result(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
) -> ApiResult<axum::response::Response> {
    let csv = payments::bank_batch_result(&state.store, &user.actor, &id, user.lang)
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(result_download(&id, csv))
}
