//! The customer portal (网上营业厅): login by password or one-time code, balance and latest bill with
//! the consumption chart, bills with a printable itemised bill, payments, outage notices for the
//! customer's supply point and their service orders. Chinese first, English switch, for phones.
//!
//! Every page reads the customer from the portal session ([`PageCustomer`]); no page takes a
//! customer id from the address.

use super::portal_chart;
use super::render;
use crate::api::billing::tariffs;
use crate::auth::{safe_next, urlencode};
use crate::customer_auth::{ClientIp, PageCustomer, CUSTOMER_COOKIE};
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bureau_app::portal::{self, CustomerSession, MonthUse, PaymentLine};
use bureau_app::AppError;
use bureau_domain::i18n::Lang;
use bureau_store::StoredBill;
use serde::Deserialize;

/// Every portal page, for the test that tries each with another customer's ids.
pub const PAGES: &[&str] = &[
    "/portal",
    "/portal/bills",
    "/portal/bills/{period}",
    "/portal/payments",
    "/portal/outages",
    "/portal/orders",
    "/portal/orders/{id}",
    "/portal/password",
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/portal/login", get(login_page).post(login_post))
        .route("/portal/code", post(code_post))
        .route("/portal/code-login", post(code_login_post))
        .route("/portal/logout", post(logout))
        .route("/portal", get(home))
        .route("/portal/bills", get(bills))
        .route("/portal/bills/{period}", get(bill))
        .route("/portal/payments", get(payments))
        .route("/portal/outages", get(outages))
        .route("/portal/orders", get(orders))
        .route("/portal/orders/{id}", get(order))
        .route("/portal/password", get(password_page).post(password_post))
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("portal.name", "网上营业厅", "Customer portal"),
    ("portal.login", "客户登录", "Customer login"),
    ("portal.account", "户号", "Account number"),
    ("portal.password", "密码", "Password"),
    ("portal.login_submit", "登录", "Log in"),
    ("portal.by_code", "没有密码？用短信验证码登录", "No password? Log in with a code by SMS"),
    ("portal.send_code", "发送验证码", "Send code"),
    ("portal.code", "验证码", "Code"),
    (
        "portal.code_sent",
        "如该户号登记了手机号码，验证码已发送，5分钟内有效。",
        "If the account has a registered phone, a code has been sent; it is valid for 5 minutes.",
    ),
    ("portal.code_submit", "验证码登录", "Log in with the code"),
    (
        "portal.no_phone",
        "未登记手机号码的用户请携带身份证件到营业厅设置密码。",
        "Customers without a registered phone can have a password set at a business office (bring your ID).",
    ),
    ("portal.logout", "退出", "Log out"),
    ("portal.home", "概览", "Overview"),
    ("portal.bills", "电费账单", "Bills"),
    ("portal.payments", "缴费记录", "Payments"),
    ("portal.outages", "停电信息", "Outages"),
    ("portal.orders", "服务工单", "Service requests"),
    ("portal.set_password", "设置密码", "Set password"),
    ("portal.balance", "账户余额", "Balance"),
    ("portal.owed", "应缴金额", "Amount owed"),
    ("portal.credit", "预存余额", "Credit"),
    ("portal.arrears", "欠费", "Arrears"),
    ("portal.late_fee", "违约金（计至今日）", "Late fee to date"),
    ("portal.to_clear", "今日结清需缴", "To clear today"),
    ("portal.latest", "最新账单", "Latest bill"),
    ("portal.open_bills", "未结清账单", "Open bills"),
    ("portal.days_overdue", "逾期天数", "Days overdue"),
    ("portal.consumption", "用电量与阶梯档位", "Consumption and tier"),
    (
        "portal.ladder_monthly",
        "月阶梯：每月用电量与档位上限比较",
        "Monthly tiers: each month's kWh is compared with the tier limits",
    ),
    (
        "portal.ladder_annual",
        "年阶梯：年度累计用电量与档位上限比较",
        "Annual tiers: the kWh of the tier year so far is compared with the tier limits",
    ),
    ("portal.no_tiers", "您的电价不分阶梯", "Your tariff has no tiers"),
    ("portal.to_next", "距下一档还有", "kWh before the next tier"),
    ("portal.no_payments", "暂无缴费记录", "No payments yet"),
    ("portal.paid_at", "缴费时间", "Paid at"),
    ("portal.channel", "渠道", "Channel"),
    ("portal.reversed", "已冲正", "Reversed"),
    ("portal.no_outages", "近一年您的供电点没有停电记录", "No outages at your supply point in the last year"),
    ("portal.outage_class", "类型", "Kind"),
    ("portal.outage_state", "状态", "State"),
    ("portal.outage_start", "停电时间", "Out since"),
    ("portal.outage_restored", "恢复时间", "Restored"),
    ("portal.outage_etr", "预计恢复", "Expected back"),
    ("portal.outage_cause", "原因", "Cause"),
    ("portal.no_orders", "暂无服务工单", "No service requests"),
    ("portal.order_kind", "类别", "Kind"),
    ("portal.order_status", "进度", "Status"),
    ("portal.order_accepted", "受理时间", "Accepted"),
    ("portal.order_content", "内容", "Request"),
    ("portal.new_password", "新密码（8至128个字符）", "New password (8 to 128 characters)"),
    (
        "portal.password_saved",
        "密码已设置，您在其他设备上的登录已全部退出。下次可用户号和密码登录。",
        "Password set; you have been logged out on every other device. Next time log in with your account number and password.",
    ),
    ("portal.save", "保存", "Save"),
    ("portal.view", "查看", "View"),
];

/// The customer as the layout shows them.
pub struct PortalUser {
    pub account: String,
    pub name: String,
}

fn pu(s: &CustomerSession) -> Option<PortalUser> {
    Some(PortalUser { account: s.customer_id.clone(), name: s.name.clone() })
}

/// Where the language switch returns to: the path only, so that a page never echoes its query.
fn here(uri: &Uri) -> String {
    urlencode(uri.path())
}

/// An error as a portal page (the layout without a customer), with `Retry-After` on a 429.
fn portal_error(e: &AppError, lang: Lang) -> Response {
    super::error_page(e, lang)
}

fn page_lang(headers: &HeaderMap, uri: &Uri) -> Lang {
    let mut req = axum::http::Request::new(());
    *req.headers_mut() = headers.clone();
    *req.uri_mut() = uri.clone();
    let (parts, _) = req.into_parts();
    crate::auth::request_lang(&parts)
}

fn cookie(token: &str, max_age: i64) -> String {
    format!("{CUSTOMER_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}")
}

fn portal_next(next: Option<&str>) -> String {
    let n = safe_next(next);
    if n.starts_with("/portal") {
        n
    } else {
        "/portal".into()
    }
}

#[derive(Template)]
#[template(path = "portal_login.html")]
struct LoginPage {
    t: Tr,
    user: Option<PortalUser>,
    here: String,
    next: String,
    account: String,
    error: Option<String>,
    code_sent: bool,
}

#[derive(Deserialize)]
struct NextParam {
    next: Option<String>,
}

async fn login_page(headers: HeaderMap, uri: Uri, Query(p): Query<NextParam>) -> Response {
    let t = Tr::new(page_lang(&headers, &uri));
    render(
        LoginPage {
            t,
            user: None,
            here: here(&uri),
            next: portal_next(p.next.as_deref()),
            account: String::new(),
            error: None,
            code_sent: false,
        },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// The login page again with the error; 429 keeps its status and `Retry-After`.
fn login_error(lang: Lang, uri: &Uri, f: &LoginForm, e: AppError, code_sent: bool) -> Response {
    let message = match &e {
        AppError::Invalid(errs) => {
            errs.iter().map(|x| x.message(lang).to_string()).collect::<Vec<_>>().join("; ")
        }
        AppError::Store(_) => return portal_error(&e, lang),
        other => crate::error::body_of(other, lang).message,
    };
    let status = crate::error::status_of(&e);
    let mut resp = render(
        LoginPage {
            t: Tr::new(lang),
            user: None,
            here: here(uri),
            next: portal_next(f.next.as_deref()),
            account: f.account.trim().to_string(),
            error: Some(message),
            code_sent,
        },
        status,
    );
    crate::error::add_retry_after(&e, &mut resp);
    resp
}

fn logged_in(token: &str, next: Option<&str>) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie(token, portal::CUSTOMER_SESSION_SECONDS)),
            (header::LOCATION, portal_next(next)),
        ],
    )
        .into_response()
}

async fn login_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    ClientIp(ip): ClientIp,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = page_lang(&headers, &uri);
    if let Err(e) = state.limits.login(f.account.trim(), &ip) {
        return login_error(lang, &uri, &f, e, false);
    }
    match portal::login_password(&state.store, &f.account, &f.password, lang).await {
        Ok(token) => {
            state.limits.login_succeeded(f.account.trim());
            logged_in(&token, f.next.as_deref())
        }
        Err(e) => login_error(lang, &uri, &f, e, false),
    }
}

async fn code_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    ClientIp(ip): ClientIp,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = page_lang(&headers, &uri);
    if let Err(e) = bureau_domain::register::AccountNo::parse("account", f.account.trim()) {
        return login_error(lang, &uri, &f, e.into(), false);
    }
    if let Err(e) = state.limits.code(f.account.trim(), &ip) {
        return login_error(lang, &uri, &f, e, false);
    }
    match portal::request_code(&state.store, &f.account, lang).await {
        Ok(()) => render(
            LoginPage {
                t: Tr::new(lang),
                user: None,
                here: here(&uri),
                next: portal_next(f.next.as_deref()),
                account: f.account.trim().to_string(),
                error: None,
                code_sent: true,
            },
            StatusCode::OK,
        ),
        Err(e) => login_error(lang, &uri, &f, e, false),
    }
}

async fn code_login_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    ClientIp(ip): ClientIp,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = page_lang(&headers, &uri);
    if let Err(e) = state.limits.login(f.account.trim(), &ip) {
        return login_error(lang, &uri, &f, e, true);
    }
    match portal::login_code(&state.store, &f.account, &f.code, lang).await {
        Ok(token) => {
            state.limits.login_succeeded(f.account.trim());
            logged_in(&token, f.next.as_deref())
        }
        Err(e) => login_error(lang, &uri, &f, e, true),
    }
}

async fn logout(State(state): State<AppState>, PageCustomer(user): PageCustomer) -> Response {
    state.customers.forget(&user.token);
    if let Err(e) = bureau_app::auth::logout(&state.store, &user.token).await {
        return portal_error(&e, user.lang());
    }
    (StatusCode::SEE_OTHER, [(header::SET_COOKIE, cookie("", 0)), (header::LOCATION, "/portal/login".into())])
        .into_response()
}

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage {
    t: Tr,
    user: Option<PortalUser>,
    here: String,
    account: bureau_app::payments::Account,
    latest: Option<StoredBill>,
    chart: String,
    gauge: Option<String>,
    ladder_note: &'static str,
    to_next: Option<String>,
}

async fn home(State(state): State<AppState>, PageCustomer(user): PageCustomer, uri: Uri) -> Response {
    let s = &user.session;
    let t = Tr::new(s.lang);
    let account = match portal::account(&state.store, s).await {
        Ok(a) => a,
        Err(e) => return portal_error(&e, s.lang),
    };
    let months: Vec<MonthUse> = match portal::consumption(&state.store, s, tariffs(), 24).await {
        Ok(m) => m,
        Err(e) => return portal_error(&e, s.lang),
    };
    let latest = match portal::latest_bill(&state.store, s).await {
        Ok(b) => b,
        Err(e) => return portal_error(&e, s.lang),
    };
    let last_tier = months.last().and_then(|m| m.tier.clone());
    let ladder_note = match last_tier.as_ref().map(|p| p.counter) {
        Some("annual") => t.t("portal.ladder_annual"),
        Some(_) => t.t("portal.ladder_monthly"),
        None => t.t("portal.no_tiers"),
    };
    render(
        HomePage {
            t,
            user: pu(s),
            here: here(&uri),
            account,
            latest,
            chart: portal_chart::bars(&months, s.lang),
            gauge: last_tier.as_ref().map(|p| portal_chart::gauge(p, s.lang)),
            ladder_note,
            to_next: last_tier.and_then(|p| p.to_next_kwh).map(|k| k.normalize().to_string()),
        },
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "portal_bills.html")]
struct BillsPage {
    t: Tr,
    user: Option<PortalUser>,
    here: String,
    bills: Vec<StoredBill>,
}

async fn bills(State(state): State<AppState>, PageCustomer(user): PageCustomer, uri: Uri) -> Response {
    let s = &user.session;
    match portal::bills(&state.store, s, 36).await {
        Ok(bills) => {
            render(BillsPage { t: Tr::new(s.lang), user: pu(s), here: here(&uri), bills }, StatusCode::OK)
        }
        Err(e) => portal_error(&e, s.lang),
    }
}

#[derive(Template)]
#[template(path = "portal_bill.html")]
struct BillPage {
    t: Tr,
    user: Option<PortalUser>,
    here: String,
    customer: bureau_domain::register::Customer,
    bill: StoredBill,
    tariff_name: String,
    state_name: String,
    /// Where the bill's "all bills" link goes.
    list_href: String,
}

async fn bill(
    State(state): State<AppState>,
    PageCustomer(user): PageCustomer,
    uri: Uri,
    Path(period): Path<String>,
) -> Response {
    let s = &user.session;
    let customer = match portal::customer(&state.store, s).await {
        Ok(c) => c,
        Err(e) => return portal_error(&e, s.lang),
    };
    match portal::bill(&state.store, s, &period).await {
        Ok(bill) => {
            let tariff_name =
                tariffs().get(&bill.tariff_id).map_or(bill.tariff_id.clone(), |x| x.name(s.lang).to_string());
            let state_name = bill.state.name(s.lang).to_string();
            render(
                BillPage {
                    t: Tr::new(s.lang),
                    user: pu(s),
                    here: here(&uri),
                    customer,
                    bill,
                    tariff_name,
                    state_name,
                    list_href: "/portal/bills".into(),
                },
                StatusCode::OK,
            )
        }
        Err(e) => portal_error(&e, s.lang),
    }
}

#[derive(Template)]
#[template(path = "portal_payments.html")]
struct PaymentsPage {
    t: Tr,
    user: Option<PortalUser>,
    here: String,
    payments: Vec<(String, String, PaymentLine)>,
}

async fn payments(State(state): State<AppState>, PageCustomer(user): PageCustomer, uri: Uri) -> Response {
    let s = &user.session;
    match portal::account(&state.store, s).await {
        Ok(a) => {
            let payments = portal::payments_of(&a)
                .into_iter()
                .map(|p| (super::beijing_minute(p.at.as_second()), p.channel.name(s.lang).to_string(), p))
                .collect();
            render(
                PaymentsPage { t: Tr::new(s.lang), user: pu(s), here: here(&uri), payments },
                StatusCode::OK,
            )
        }
        Err(e) => portal_error(&e, s.lang),
    }
}

/// An outage as the page shows it, in the customer's language.
struct OutageRow {
    start: String,
    restored: String,
    etr: String,
    class: String,
    state: String,
    cause: String,
}

#[derive(Template)]
#[template(path = "portal_outages.html")]
struct OutagesPage {
    t: Tr,
    user: Option<PortalUser>,
    here: String,
    outages: Vec<OutageRow>,
}

async fn outages(State(state): State<AppState>, PageCustomer(user): PageCustomer, uri: Uri) -> Response {
    let s = &user.session;
    match portal::outages(&state.store, s).await {
        Ok(list) => {
            let outages = list
                .into_iter()
                .map(|o| {
                    let (class, state, cause) = crate::api::portal::outage_names(&o, s.lang);
                    OutageRow {
                        start: super::beijing_minute(o.started_at),
                        restored: o.restored_at.map(super::beijing_minute).unwrap_or_default(),
                        etr: o.etr.map(super::beijing_minute).unwrap_or_default(),
                        class,
                        state,
                        cause,
                    }
                })
                .collect();
            render(OutagesPage { t: Tr::new(s.lang), user: pu(s), here: here(&uri), outages }, StatusCode::OK)
        }
        Err(e) => portal_error(&e, s.lang),
    }
}

#[derive(Template)]
#[template(path = "portal_orders.html")]
struct OrdersPage {
    t: Tr,
    user: Option<PortalUser>,
    here: String,
    orders: Vec<crate::api::portal::MyOrder>,
}

async fn orders(State(state): State<AppState>, PageCustomer(user): PageCustomer, uri: Uri) -> Response {
    let s = &user.session;
    match portal::orders(&state.store, s).await {
        Ok(list) => {
            let orders = list.iter().map(|o| crate::api::portal::order_detail(o, &[], s).order).collect();
            render(OrdersPage { t: Tr::new(s.lang), user: pu(s), here: here(&uri), orders }, StatusCode::OK)
        }
        Err(e) => portal_error(&e, s.lang),
    }
}

#[derive(Template)]
#[template(path = "portal_order.html")]
struct OrderPage {
    t: Tr,
    user: Option<PortalUser>,
    here: String,
    detail: crate::api::portal::MyOrderDetail,
}

async fn order(
    State(state): State<AppState>,
    PageCustomer(user): PageCustomer,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    let s = &user.session;
    match portal::order(&state.store, s, &id).await {
        Ok((o, events)) => {
            let detail = crate::api::portal::order_detail(&o, &events, s);
            render(OrderPage { t: Tr::new(s.lang), user: pu(s), here: here(&uri), detail }, StatusCode::OK)
        }
        Err(e) => portal_error(&e, s.lang),
    }
}

#[derive(Template)]
#[template(path = "portal_password.html")]
struct PasswordPage {
    t: Tr,
    user: Option<PortalUser>,
    here: String,
    error: Option<String>,
    saved: bool,
}

async fn password_page(PageCustomer(user): PageCustomer, uri: Uri) -> Response {
    let s = &user.session;
    render(
        PasswordPage { t: Tr::new(s.lang), user: pu(s), here: here(&uri), error: None, saved: false },
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn password_post(
    State(state): State<AppState>,
    PageCustomer(user): PageCustomer,
    uri: Uri,
    Form(f): Form<PasswordForm>,
) -> Response {
    let s = &user.session;
    let t = Tr::new(s.lang);
    match portal::set_own_password(&state.store, s, &user.token, &f.password).await {
        Ok(_) => {
            state.customers.forget_customer(&s.customer_id, &user.token);
            render(
                PasswordPage { t, user: pu(s), here: here(&uri), error: None, saved: true },
                StatusCode::OK,
            )
        }
        Err(AppError::Invalid(errs)) => {
            let msg = errs.iter().map(|e| e.message(s.lang).to_string()).collect::<Vec<_>>().join("; ");
            render(
                PasswordPage { t, user: pu(s), here: here(&uri), error: Some(msg), saved: false },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => portal_error(&e, s.lang),
    }
}
