//! The counter (营业厅收费) for clerks: find a customer, see the open bills with the late fee to
//! date, take a payment (cash or card), then a printable receipt; and the late-fee trial
//! calculation (违约金试算). Every rule is in `bureau_app::payments` and the domain.

use super::{error_page, here, render, view, UserView};
use crate::api::payments::{
    account_view, late_fee_rules, late_fee_view, receipt_view, AccountView, LateFeeQuoteView, ReceiptView,
};
use crate::auth::PageStaff;
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bureau_app::payments;
use bureau_app::AppError;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/counter", get(counter))
        .route("/counter/pay", post(pay))
        .route("/counter/receipts/{id}/{entry}", get(receipt))
        .route("/counter/late-fee", get(late_fee))
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("nav.counter", "营业厅收费", "Counter"),
    ("nav.latefee", "违约金试算", "Late fee"),
    ("counter.title", "营业厅收费", "Counter payments"),
    ("counter.find", "户号或户名", "Account number or name"),
    ("counter.search", "查询", "Find"),
    ("counter.balance", "余额（正数为欠费）", "Balance (positive: owed)"),
    ("counter.credit", "预存余额", "Credit"),
    ("counter.arrears", "欠费", "Arrears"),
    ("counter.late_fee", "违约金（截至今日）", "Late fee to date"),
    ("counter.to_clear", "结清应缴", "To clear"),
    ("counter.bill", "电费年月", "Billing month"),
    ("counter.due", "缴费截止日", "Due"),
    ("counter.charged", "应收电费", "Charged"),
    ("counter.paid", "已缴", "Paid"),
    ("counter.open", "未缴", "Open"),
    ("counter.days", "逾期天数", "Days overdue"),
    ("counter.no_open", "没有未缴账单", "No open bills"),
    ("counter.amount", "收款金额（元）", "Amount (yuan)"),
    ("counter.method", "付款方式", "Method"),
    ("counter.cash", "现金", "Cash"),
    ("counter.card", "刷卡", "Card"),
    ("counter.take", "收费并打印凭证", "Take payment and print receipt"),
    ("counter.entries", "账务明细", "Ledger"),
    ("counter.when", "时间", "When"),
    ("counter.kind", "类型", "Kind"),
    ("counter.reason", "摘要", "Reason"),
    ("counter.amount_col", "金额", "Amount"),
    ("counter.reversed", "已冲正", "reversed"),
    ("receipt.title", "收费凭证", "Payment receipt"),
    ("receipt.no", "凭证号", "Receipt no."),
    ("receipt.account", "户号", "Account"),
    ("receipt.name", "户名", "Name"),
    ("receipt.at", "收费时间", "Received"),
    ("receipt.by", "收费员", "Clerk"),
    ("receipt.amount", "实收金额（元）", "Amount received (yuan)"),
    ("receipt.charge", "电费", "Electricity"),
    ("receipt.late_fee", "违约金", "Late fee"),
    ("receipt.open_after", "尚欠", "Still open"),
    ("receipt.to_credit", "转预存", "Kept as credit"),
    ("receipt.balance_after", "收费后余额（正数为欠费）", "Balance after (positive: owed)"),
    ("receipt.print", "打印", "Print"),
    ("receipt.back", "返回收费", "Back to the counter"),
    (
        "receipt.duplicate",
        "此凭证为重复提交的同一笔缴费，未重复收费。",
        "This is the same payment submitted again; nothing was charged twice.",
    ),
    ("latefee.title", "违约金试算", "Late-fee trial calculation"),
    ("latefee.class", "用户类别", "Customer class"),
    ("latefee.residential", "居民", "Residential"),
    ("latefee.other", "其他", "Other"),
    ("latefee.due", "缴费截止日", "Due date"),
    ("latefee.on", "缴费日", "Payment day"),
    ("latefee.arrears", "欠费金额（元）", "Arrears (yuan)"),
    ("latefee.submit", "试算", "Calculate"),
    ("latefee.days", "逾期天数", "Days overdue"),
    ("latefee.fee", "违约金（元）", "Late fee (yuan)"),
    ("latefee.rate", "日费率（‰）", "Rate per day (‰)"),
    ("latefee.minimum", "不足1元按1元收取", "Under 1 yuan is charged as 1 yuan"),
    ("latefee.rule", "依据", "Rule"),
];

#[derive(Deserialize, Default)]
struct CounterQuery {
    q: Option<String>,
}

#[derive(Template)]
#[template(path = "counter.html")]
struct CounterPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    q: String,
    matches: Vec<(String, String, String)>,
    account: Option<AccountView>,
    amount: String,
    key: String,
    errors: Vec<String>,
}

async fn counter_view(
    state: &AppState,
    user: &crate::auth::StaffUser,
    uri: &Uri,
    q: String,
    amount: Option<String>,
    errors: Vec<String>,
    status: StatusCode,
) -> Response {
    let t = Tr::new(user.lang);
    let q = q.trim().to_string();
    let mut matches = Vec::new();
    let mut account = None;
    if !q.is_empty() {
        match payments::customer_account(&state.store, &user.actor, late_fee_rules(), &q, None).await {
            Ok(a) => account = Some(account_view(&a)),
            Err(AppError::NotFound { .. }) => {
                matches = state
                    .store
                    .search_customers(&user.actor.scope, &q, 20)
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| (c.id.as_str().to_string(), c.name, c.address))
                    .collect();
            }
            Err(e) => return error_page(&e, user.lang),
        }
    }
    let amount = amount.unwrap_or_else(|| account.as_ref().map(|a| a.to_clear.clone()).unwrap_or_default());
    // One key per rendering of the form: a double click or a resent form posts once.
    let key = bureau_app::outbox::new_id("counter-");
    render(
        CounterPage { t, user: view(user), here: here(uri), q, matches, account, amount, key, errors },
        status,
    )
}

async fn counter(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Query(p): Query<CounterQuery>,
) -> Response {
    counter_view(&state, &user, &uri, p.q.unwrap_or_default(), None, Vec::new(), StatusCode::OK).await
}

#[derive(Deserialize, Default)]
struct PayForm {
    #[serde(default)]
    account_no: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    idempotency_key: String,
    method: Option<String>,
}

async fn pay(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Form(f): Form<PayForm>,
) -> Response {
    let form = payments::PaymentForm {
        account_no: f.account_no.clone(),
        amount: f.amount.clone(),
        idempotency_key: f.idempotency_key,
        method: f.method,
    };
    match payments::take_payment(&state.store, &user.actor, late_fee_rules(), &form).await {
        Ok(r) => {
            let to = format!("/counter/receipts/{}/{}", r.customer_id, r.payment.id);
            (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
        }
        Err(AppError::Invalid(errs)) => {
            let msgs = errs.iter().map(|e| format!("{}: {}", e.field, e.message(user.lang))).collect();
            counter_view(
                &state,
                &user,
                &uri,
                f.account_no,
                Some(f.amount),
                msgs,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(AppError::Conflict(e)) => {
            let msgs = vec![format!("{}: {}", e.field, e.message(user.lang))];
            counter_view(&state, &user, &uri, f.account_no, Some(f.amount), msgs, StatusCode::CONFLICT).await
        }
        Err(e) => error_page(&e, user.lang),
    }
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    r: ReceiptView,
}

async fn receipt(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Path((id, entry)): Path<(String, String)>,
) -> Response {
    match payments::payment_receipt(&state.store, &user.actor, late_fee_rules(), &id, &entry).await {
        Ok(r) => render(
            ReceiptPage {
                t: Tr::new(user.lang),
                user: view(&user),
                here: here(&uri),
                r: receipt_view(&r.receipt, &r.account),
            },
            StatusCode::OK,
        ),
        Err(e) => error_page(&e, user.lang),
    }
}

#[derive(Deserialize, Default)]
struct LateFeeForm {
    class: Option<String>,
    due: Option<String>,
    on: Option<String>,
    arrears: Option<String>,
}

#[derive(Template)]
#[template(path = "late_fee.html")]
struct LateFeePage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    class: String,
    due: String,
    on: String,
    arrears: String,
    quote: Option<LateFeeQuoteView>,
    errors: Vec<String>,
}

async fn late_fee(PageStaff(user): PageStaff, uri: Uri, Query(f): Query<LateFeeForm>) -> Response {
    let today = bureau_domain::calendar::beijing::date_of(jiff::Timestamp::now()).to_string();
    let class = f.class.unwrap_or_else(|| "residential".into());
    let due = f.due.unwrap_or_default();
    let on = f.on.unwrap_or(today);
    let mut quote = None;
    let mut errors = Vec::new();
    if let Some(arrears) = &f.arrears {
        match payments::late_fee_quote(late_fee_rules(), &class, &due, &on, arrears) {
            Ok(q) => quote = Some(late_fee_view(&q, user.lang)),
            Err(AppError::Invalid(errs)) => {
                errors = errs.iter().map(|e| format!("{}: {}", e.field, e.message(user.lang))).collect()
            }
            Err(e) => return error_page(&e, user.lang),
        }
    }
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let arrears = f.arrears.unwrap_or_default();
    render(
        LateFeePage {
            t: Tr::new(user.lang),
            user: view(&user),
            here: here(&uri),
            class,
            due,
            on,
            arrears,
            quote,
            errors,
        },
        status,
    )
}
