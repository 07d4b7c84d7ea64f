//! The customer's JSON API (for the bureau's app and third-party apps) and the plain-text bill
//! query for SMS/IVR gateways.
//!
//! A customer logs in with account number and password (or a one-time code sent to the registered
//! phone) and sends `Authorization: Bearer <token>`. Every endpoint answers about the token's own
//! customer only; there is no customer id in any path or parameter. Staff tokens get 401 here, and
//! customer tokens get 401 on staff endpoints.

use super::billing::{tariffs, Bill};
use super::register::bad_json;
use super::session::RequestLang;
use crate::auth::{request_lang, ApiStaff};
use crate::customer_auth::{ApiCustomer, ClientIp};
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bureau_app::portal::{self, CustomerSession};
use bureau_app::AppError;
use bureau_domain::calendar::beijing::format_rfc3339;
use bureau_domain::i18n::Lang;
use bureau_store::StoredBill;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

fn at(ts: i64) -> String {
    jiff::Timestamp::from_second(ts).map(format_rfc3339).unwrap_or_default()
}

#[derive(Deserialize, ToSchema)]
pub struct CustomerLogin {
    /// Account number (户号).
    pub account: String,
    pub password: String,
    /// `zh` or `en`: the session's language.
    pub lang: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct CodeRequest {
    /// Account number (户号); the code goes to the phone registered on it.
    pub account: String,
    pub lang: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct CodeLogin {
    pub account: String,
    /// The six digits received by SMS.
    pub code: String,
    pub lang: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerToken {
    pub token: String,
    pub expires_in_seconds: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CodeSent {
    /// Always true: the answer does not say whether the account exists or has a phone.
    pub accepted: bool,
    pub expires_in_seconds: i64,
}

#[derive(Deserialize, ToSchema)]
pub struct NewPassword {
    /// 8 to 128 characters.
    pub password: String,
}

fn lang_or(l: &Option<String>, default: Lang) -> Lang {
    l.as_deref().and_then(Lang::parse).unwrap_or(default)
}

/// Customer login with account number and password. Rate-limited per account and per address
/// (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/v1/portal/login", tag = "portal", request_body = CustomerLogin,
    responses((status = 200, body = CustomerToken), (status = 422, body = ErrorResponse),
              (status = 429, body = ErrorResponse, description = "too many attempts; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    ClientIp(ip): ClientIp,
    body: JsonBody<CustomerLogin>,
) -> ApiResult<Json<CustomerToken>> {
    let Json(b) = body.map_err(|e| bad_json(e, lang))?;
    let lang = lang_or(&b.lang, lang);
    let err = |e| ApiError::new(e, lang);
    state.limits.login(b.account.trim(), &ip).map_err(err)?;
    let token = portal::login_password(&state.store, &b.account, &b.password, lang).await.map_err(err)?;
    state.limits.login_succeeded(b.account.trim());
    Ok(Json(CustomerToken { token, expires_in_seconds: portal::CUSTOMER_SESSION_SECONDS }))
}

/// Sends a one-time login code to the phone registered on the account (through the notification
/// outbox, channel `sms`). Rate-limited per account (one a minute) and per address.
#[utoipa::path(post, path = "/api/v1/portal/code", tag = "portal", request_body = CodeRequest,
    responses((status = 202, body = CodeSent), (status = 422, body = ErrorResponse),
              (status = 429, body = ErrorResponse, description = "too many requests; see Retry-After")))]
pub async fn request_code(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    ClientIp(ip): ClientIp,
    body: JsonBody<CodeRequest>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    let Json(b) = body.map_err(|e| bad_json(e, lang))?;
    let lang = lang_or(&b.lang, lang);
    let err = |e| ApiError::new(e, lang);
    bureau_domain::register::AccountNo::parse("account", b.account.trim()).map_err(|e| err(e.into()))?;
    state.limits.code(b.account.trim(), &ip).map_err(err)?;
    portal::request_code(&state.store, &b.account, lang).await.map_err(err)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(CodeSent { accepted: true, expires_in_seconds: portal::login::CODE_SECONDS }),
    ))
}

/// Customer login with the one-time code. Counts against the same limits as password logins; a
/// code dies after five wrong guesses.
#[utoipa::path(post, path = "/api/v1/portal/code-login", tag = "portal", request_body = CodeLogin,
    responses((status = 200, body = CustomerToken), (status = 422, body = ErrorResponse),
              (status = 429, body = ErrorResponse, description = "too many attempts; see Retry-After")))]
pub async fn code_login(
    State(state): State<AppState>,
    RequestLang(lang): RequestLang,
    ClientIp(ip): ClientIp,
    body: JsonBody<CodeLogin>,
) -> ApiResult<Json<CustomerToken>> {
    let Json(b) = body.map_err(|e| bad_json(e, lang))?;
    let lang = lang_or(&b.lang, lang);
    let err = |e| ApiError::new(e, lang);
    state.limits.login(b.account.trim(), &ip).map_err(err)?;
    let token = portal::login_code(&state.store, &b.account, &b.code, lang).await.map_err(err)?;
    state.limits.login_succeeded(b.account.trim());
    Ok(Json(CustomerToken { token, expires_in_seconds: portal::CUSTOMER_SESSION_SECONDS }))
}

/// Ends the customer session of the token used.
#[utoipa::path(post, path = "/api/v1/portal/logout", tag = "portal", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorResponse)))]
pub async fn logout(State(state): State<AppState>, ApiCustomer(user): ApiCustomer) -> ApiResult<StatusCode> {
    state.customers.forget(&user.token);
    bureau_app::auth::logout(&state.store, &user.token).await.map_err(|e| ApiError::new(e, user.lang()))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the customer's own password (for example after a first login with a one-time code).
#[utoipa::path(put, path = "/api/v1/portal/password", tag = "portal", request_body = NewPassword, security(("bearer" = [])),
    responses((status = 204), (status = 422, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
pub async fn set_password(
    State(state): State<AppState>,
    ApiCustomer(user): ApiCustomer,
    body: JsonBody<NewPassword>,
) -> ApiResult<StatusCode> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang()))?;
    portal::set_own_password(&state.store, &user.session, &user.token, &b.password)
        .await
        .map_err(|e| ApiError::new(e, user.lang()))?;
    state.customers.forget_customer(&user.session.customer_id, &user.token);
    Ok(StatusCode::NO_CONTENT)
}

/// A counter clerk sets or resets a customer's portal password (after checking identity).
#[utoipa::path(put, path = "/api/v1/customers/{id}/portal-password", tag = "portal", params(("id" = String, Path)),
    request_body = NewPassword, security(("bearer" = [])),
    responses((status = 204), (status = 422, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn staff_set_password(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
    body: JsonBody<NewPassword>,
) -> ApiResult<StatusCode> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    portal::set_password_by_staff(&state.store, &user.actor, &id, &b.password)
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    state.customers.forget_customer(id.trim(), "");
    Ok(StatusCode::NO_CONTENT)
}

/// A bill in a list: no lines. What is still owed on each bill is not here: payments live in the
/// ledger, not on the bill row, so `/api/v1/portal/account` (the ledger fold) answers that.
#[derive(Serialize, ToSchema)]
pub struct BillBrief {
    /// `YYYY-MM`.
    pub period: String,
    /// The bill revision's issue state (`issued`, or `cancelled` for a revision replaced by a
    /// correction); not a payment state.
    pub state: String,
    pub kwh: String,
    /// Yuan.
    pub total: String,
    pub due_on: Option<String>,
}

impl From<&StoredBill> for BillBrief {
    fn from(b: &StoredBill) -> Self {
        BillBrief {
            period: b.period.clone(),
            state: b.state.code().into(),
            kwh: b.kwh.normalize().to_string(),
            total: b.total.to_string(),
            due_on: b.due_on.clone(),
        }
    }
}

/// The bill query's answer: who, the latest bill and the balance.
#[derive(Serialize, ToSchema)]
pub struct Summary {
    pub account: String,
    pub name: String,
    pub latest_bill: Option<BillBrief>,
    /// Yuan; positive when owed, negative when in credit (预存), from the ledger.
    pub balance: String,
}

/// The automatic bill query: the latest bill and the ledger balance, one indexed read per request.
#[utoipa::path(get, path = "/api/v1/portal/summary", tag = "portal", security(("bearer" = [])),
    responses((status = 200, body = Summary), (status = 401, body = ErrorResponse)))]
pub async fn summary(
    State(state): State<AppState>,
    ApiCustomer(user): ApiCustomer,
) -> ApiResult<Json<Summary>> {
    let s = &user.session;
    let q = portal::bill_query(&state.store, s).await.map_err(|e| ApiError::new(e, s.lang))?;
    Ok(Json(Summary {
        account: s.customer_id.clone(),
        name: s.name.clone(),
        latest_bill: q.latest.as_ref().map(BillBrief::from),
        balance: q.balance.to_string(),
    }))
}

/// An open bill of the account, with the late fee to today.
#[derive(Serialize, ToSchema)]
pub struct OpenBill {
    pub period: String,
    pub due: String,
    pub charged: String,
    pub paid: String,
    pub open: String,
    pub days_overdue: i64,
    /// 电费违约金 accrued to today and not yet posted (供电营业规则 Art. 98).
    pub late_fee_to_date: String,
    /// What clears the bill today.
    pub to_clear: String,
}

/// The customer's account as the ledger has it.
#[derive(Serialize, ToSchema)]
pub struct MyAccount {
    /// The day late fees are counted to (Beijing).
    pub on: String,
    /// Positive when owed, negative in credit.
    pub balance: String,
    /// Unpaid on bills past their due date (欠费).
    pub arrears: String,
    /// Prepaid money not yet used (预存余额).
    pub credit: String,
    pub late_fee_to_date: String,
    /// What settles everything today.
    pub to_clear: String,
    pub open_bills: Vec<OpenBill>,
}

/// Balance, arrears, credit and open bills with the late fee to today, folded from the ledger.
#[utoipa::path(get, path = "/api/v1/portal/account", tag = "portal", security(("bearer" = [])),
    responses((status = 200, body = MyAccount), (status = 401, body = ErrorResponse)))]
pub async fn account(
    State(state): State<AppState>,
    ApiCustomer(user): ApiCustomer,
) -> ApiResult<Json<MyAccount>> {
    let s = &user.session;
    let a = portal::account(&state.store, s).await.map_err(|e| ApiError::new(e, s.lang))?;
    Ok(Json(MyAccount {
        on: a.on.to_string(),
        balance: a.balance.to_string(),
        arrears: a.arrears.to_string(),
        credit: a.credit.to_string(),
        late_fee_to_date: a.late_fee_to_date.to_string(),
        to_clear: a.to_clear.to_string(),
        open_bills: a
            .open_bills
            .iter()
            .map(|b| OpenBill {
                period: b.period.to_string(),
                due: b.due.to_string(),
                charged: b.charged.to_string(),
                paid: b.paid.to_string(),
                open: b.open.to_string(),
                days_overdue: b.days_overdue,
                late_fee_to_date: b.late_fee_to_date.to_string(),
                to_clear: b.to_clear.to_string(),
            })
            .collect(),
    }))
}

/// A payment received.
#[derive(Serialize, ToSchema)]
pub struct MyPayment {
    pub at: String,
    /// `counter`, `bank_withhold`, `wechat`, …
    pub channel: String,
    pub channel_name: String,
    pub amount: String,
    /// Cancelled by a reversal (冲正).
    pub reversed: bool,
}

/// The customer's payments, newest first.
#[utoipa::path(get, path = "/api/v1/portal/payments", tag = "portal", security(("bearer" = [])),
    responses((status = 200, body = [MyPayment]), (status = 401, body = ErrorResponse)))]
pub async fn payments(
    State(state): State<AppState>,
    ApiCustomer(user): ApiCustomer,
) -> ApiResult<Json<Vec<MyPayment>>> {
    let s = &user.session;
    let a = portal::account(&state.store, s).await.map_err(|e| ApiError::new(e, s.lang))?;
    Ok(Json(
        portal::payments_of(&a)
            .iter()
            .map(|p| MyPayment {
                at: format_rfc3339(p.at),
                channel: p.channel.code().into(),
                channel_name: p.channel.name(s.lang).into(),
                amount: p.amount.to_string(),
                reversed: p.reversed,
            })
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct LimitParam {
    /// How many (default 24, at most 120).
    pub limit: Option<u32>,
}

/// The customer's bills, newest first, without lines.
#[utoipa::path(get, path = "/api/v1/portal/bills", tag = "portal", params(LimitParam), security(("bearer" = [])),
    responses((status = 200, body = [BillBrief]), (status = 401, body = ErrorResponse)))]
pub async fn bills(
    State(state): State<AppState>,
    ApiCustomer(user): ApiCustomer,
    Query(p): Query<LimitParam>,
) -> ApiResult<Json<Vec<BillBrief>>> {
    let s = &user.session;
    let bills =
        portal::bills(&state.store, s, p.limit.unwrap_or(24)).await.map_err(|e| ApiError::new(e, s.lang))?;
    Ok(Json(bills.iter().map(BillBrief::from).collect()))
}

/// One of the customer's bills, itemised.
#[utoipa::path(get, path = "/api/v1/portal/bills/{period}", tag = "portal", params(("period" = String, Path, description = "YYYY-MM")),
    security(("bearer" = [])),
    responses((status = 200, body = Bill), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn bill(
    State(state): State<AppState>,
    ApiCustomer(user): ApiCustomer,
    Path(period): Path<String>,
) -> ApiResult<Json<Bill>> {
    let s = &user.session;
    let b = portal::bill(&state.store, s, &period).await.map_err(|e| ApiError::new(e, s.lang))?;
    Ok(Json(Bill::new(&b, s.lang)))
}

/// A month of the consumption chart, with the position on the tier ladder.
#[derive(Serialize, ToSchema)]
pub struct MonthUse {
    pub period: String,
    pub kwh: String,
    pub total: String,
    pub tariff_id: String,
    /// 第几档; absent for tariffs without tiers.
    pub tier: Option<u8>,
    /// `monthly` or `annual`: what is compared with the tier thresholds.
    pub counter: Option<String>,
    /// The kWh compared (the month's, or the tier year's to date).
    pub counter_kwh: Option<String>,
    /// kWh left before the next tier; absent on the top tier.
    pub to_next_kwh: Option<String>,
    pub thresholds: Vec<String>,
}

/// Monthly consumption (the bills of up to 24 months, oldest first) and the tier position of each.
#[utoipa::path(get, path = "/api/v1/portal/consumption", tag = "portal", security(("bearer" = [])),
    responses((status = 200, body = [MonthUse]), (status = 401, body = ErrorResponse)))]
pub async fn consumption(
    State(state): State<AppState>,
    ApiCustomer(user): ApiCustomer,
) -> ApiResult<Json<Vec<MonthUse>>> {
    let s = &user.session;
    let months =
        portal::consumption(&state.store, s, tariffs(), 24).await.map_err(|e| ApiError::new(e, s.lang))?;
    Ok(Json(
        months
            .iter()
            .map(|m| MonthUse {
                period: m.period.clone(),
                kwh: m.kwh.normalize().to_string(),
                total: m.total.to_string(),
                tariff_id: m.tariff_id.clone(),
                tier: m.tier.as_ref().map(|t| t.tier),
                counter: m.tier.as_ref().map(|t| t.counter.to_string()),
                counter_kwh: m.tier.as_ref().map(|t| t.counter_kwh.normalize().to_string()),
                to_next_kwh: m.tier.as_ref().and_then(|t| t.to_next_kwh).map(|k| k.normalize().to_string()),
                thresholds: m
                    .tier
                    .as_ref()
                    .map(|t| t.thresholds.iter().map(|k| k.normalize().to_string()).collect())
                    .unwrap_or_default(),
            })
            .collect(),
    ))
}

/// An outage that reached the customer's supply point.
#[derive(Serialize, ToSchema)]
pub struct OutageNotice {
    pub id: String,
    /// `fault`, `planned`, …
    pub class: String,
    /// `predicted`, `confirmed`, `restored`, `closed`, …
    pub state: String,
    pub started_at: String,
    pub restored_at: Option<String>,
    /// Estimated restoration time.
    pub etr: Option<String>,
    /// The cause as recorded: a code of `bureau_domain::outage_cause` (e.g. `tree`) or free text.
    pub cause: String,
    /// The kind, state and cause in the session's language.
    pub class_name: String,
    pub state_name: String,
    pub cause_name: String,
}

/// An outage's kind, state and cause as a customer reads them, in `lang`.
pub fn outage_names(o: &bureau_store::Outage, lang: Lang) -> (String, String, String) {
    let class = match bureau_grid::indices::OutageClass::parse(&o.class) {
        Some(c) if lang == Lang::Zh => c.name_zh().to_string(),
        Some(c) => c.name_en().to_string(),
        None => o.class.clone(),
    };
    let state = match (o.state.as_str(), lang) {
        ("predicted", Lang::Zh) => "核实中",
        ("predicted", Lang::En) => "Being checked",
        ("confirmed", Lang::Zh) => "停电中",
        ("confirmed", Lang::En) => "Out",
        ("partly_restored", Lang::Zh) => "部分恢复",
        ("partly_restored", Lang::En) => "Partly restored",
        ("restored" | "closed", Lang::Zh) => "已恢复",
        ("restored" | "closed", Lang::En) => "Restored",
        (other, _) => other,
    };
    let cause = bureau_domain::outage_cause::label(&o.cause).get(lang).to_string();
    (class, state.to_string(), cause)
}

impl OutageNotice {
    fn new(o: &bureau_store::Outage, lang: Lang) -> Self {
        let (class_name, state_name, cause_name) = outage_names(o, lang);
        OutageNotice {
            id: o.id.clone(),
            class: o.class.clone(),
            state: o.state.clone(),
            started_at: at(o.started_at),
            restored_at: o.restored_at.map(at),
            etr: o.etr.map(at),
            cause: o.cause.clone(),
            class_name,
            state_name,
            cause_name,
        }
    }
}

/// Outages at the customer's supply point in the last year, newest first.
#[utoipa::path(get, path = "/api/v1/portal/outages", tag = "portal", security(("bearer" = [])),
    responses((status = 200, body = [OutageNotice]), (status = 401, body = ErrorResponse)))]
pub async fn outages(
    State(state): State<AppState>,
    ApiCustomer(user): ApiCustomer,
) -> ApiResult<Json<Vec<OutageNotice>>> {
    let s = &user.session;
    let list = portal::outages(&state.store, s).await.map_err(|e| ApiError::new(e, s.lang))?;
    Ok(Json(list.iter().map(|o| OutageNotice::new(o, s.lang)).collect()))
}

/// A service order as its customer sees it (no staff names or internal notes).
#[derive(Serialize, ToSchema)]
pub struct MyOrder {
    pub id: String,
    pub kind: String,
    pub kind_name: String,
    pub status: String,
    pub status_name: String,
    pub accepted_at: String,
    pub description: String,
}

impl MyOrder {
    fn new(o: &bureau_store::WorkOrder, lang: Lang) -> MyOrder {
        MyOrder {
            id: o.id.clone(),
            kind: o.kind.code().into(),
            kind_name: o.kind.name(lang).into(),
            status: o.status.code().into(),
            status_name: o.status.name(lang).into(),
            accepted_at: at(o.accepted_at),
            description: o.description.clone(),
        }
    }
}

/// One step of an order's progress.
#[derive(Serialize, ToSchema)]
pub struct MyOrderStep {
    pub at: String,
    pub status: String,
    pub status_name: String,
}

#[derive(Serialize, ToSchema)]
pub struct MyOrderDetail {
    pub order: MyOrder,
    pub steps: Vec<MyOrderStep>,
}

/// The customer's service orders (95598), newest first.
#[utoipa::path(get, path = "/api/v1/portal/orders", tag = "portal", security(("bearer" = [])),
    responses((status = 200, body = [MyOrder]), (status = 401, body = ErrorResponse)))]
pub async fn orders(
    State(state): State<AppState>,
    ApiCustomer(user): ApiCustomer,
) -> ApiResult<Json<Vec<MyOrder>>> {
    let s = &user.session;
    let list = portal::orders(&state.store, s).await.map_err(|e| ApiError::new(e, s.lang))?;
    Ok(Json(list.iter().map(|o| MyOrder::new(o, s.lang)).collect()))
}

/// One of the customer's service orders with its progress; another customer's order is 404.
#[utoipa::path(get, path = "/api/v1/portal/orders/{id}", tag = "portal", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = MyOrderDetail), (status = 404, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
pub async fn order(
    State(state): State<AppState>,
    ApiCustomer(user): ApiCustomer,
    Path(id): Path<String>,
) -> ApiResult<Json<MyOrderDetail>> {
    let s = &user.session;
    let (o, events) = portal::order(&state.store, s, &id).await.map_err(|e| ApiError::new(e, s.lang))?;
    Ok(Json(order_detail(&o, &events, s)))
}

pub fn order_detail(
    o: &bureau_store::WorkOrder,
    events: &[bureau_store::OrderEvent],
    s: &CustomerSession,
) -> MyOrderDetail {
    // Acceptance is the first step; each event of the trail moves the order to a new status.
    let first = events.first().map_or(o.status, |e| e.from_status);
    let step = |when: i64, st: bureau_domain::service::Status| MyOrderStep {
        at: at(when),
        status: st.code().into(),
        status_name: st.name(s.lang).into(),
    };
    let mut steps = vec![step(o.accepted_at, first)];
    steps.extend(events.iter().map(|e| step(e.at, e.to_status)));
    MyOrderDetail { order: MyOrder::new(o, s.lang), steps }
}

#[derive(Deserialize, IntoParams)]
pub struct TextQuery {
    /// Account number (户号).
    #[serde(default)]
    pub account: String,
    /// The caller's phone number as the gateway received it; must be the one registered.
    #[serde(default)]
    pub phone: String,
    /// `zh` (default) or `en`.
    pub lang: Option<String>,
}

/// A gateway's bearer token, read before anything else.
pub struct GatewayToken(pub Option<String>, pub Lang);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for GatewayToken {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(|t| t.trim().to_string());
        Ok(GatewayToken(token, request_lang(parts)))
    }
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn text_error(e: &AppError, lang: Lang) -> Response {
    let mut resp = text(crate::error::status_of(e), crate::error::body_of(e, lang).message);
    crate::error::add_retry_after(e, &mut resp);
    resp
}

/// The automatic bill query for SMS/IVR gateways: one short line of plain text with the latest
/// bill. The gateway sends its bureau-issued token as `Authorization: Bearer`, and the caller's
/// phone must be the one registered on the account (else 404, the same as an unknown account).
#[utoipa::path(get, path = "/api/v1/query/bill", tag = "portal", params(TextQuery), security(("bearer" = [])),
    responses((status = 200, content_type = "text/plain", body = String,
               description = "户号0101000001（张**）：2026年10月电费169.50元，用电300度，缴费截止2026-11-15；本期未缴169.50元。"),
              (status = 401, content_type = "text/plain", body = String, description = "no or unknown gateway token"),
              (status = 404, content_type = "text/plain", body = String, description = "unknown account or phone not the registered one"),
              (status = 422, content_type = "text/plain", body = String, description = "malformed account or missing phone")))]
pub async fn text_query(
    State(state): State<AppState>,
    GatewayToken(token, header_lang): GatewayToken,
    q: Result<Query<TextQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return text_error(
            &AppError::Invalid(vec![bureau_domain::error::FieldError::invalid(
                "query",
                "查询参数无效",
                "the query parameters are invalid",
            )]),
            header_lang,
        );
    };
    let lang = lang_or(&q.lang, Lang::Zh);
    let Some(token) = token else { return text_error(&AppError::Unauthorized, lang) };
    let gateway = match portal::query::gateway_for_token(&state.store, &token).await {
        Ok(g) => g,
        Err(e) => return text_error(&e, lang),
    };
    match portal::query::bill_text(&state.store, &gateway, &q.account, &q.phone, lang).await {
        Ok(t) => text(StatusCode::OK, t),
        Err(AppError::NotFound { .. }) => text(
            StatusCode::NOT_FOUND,
            match lang {
                Lang::Zh => "未找到该户号，或来电号码不是该户登记的号码。".into(),
                Lang::En => "No such account, or the calling number is not the one registered on it.".into(),
            },
        ),
        Err(e) => text_error(&e, lang),
    }
}
