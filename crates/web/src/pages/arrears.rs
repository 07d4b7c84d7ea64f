//! Fee-collection pages: the staff's arrears cases with their next step and deadline, the
//! disconnection and reconnection orders with their deadlines (with "run today's pass" and "done"
//! buttons), and the managers' collection reports (rate by month, department and book, aged
//! receivables, customers in arrears) with CSV links to the API.

use super::{error_page, here, render, view, UserView};
use crate::auth::PageStaff;
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bureau_app::arrears::{self, CaseView, OrderView};
use bureau_app::collection::{self, AgingReport, ArrearsRow, GroupBy, RateReport};
use bureau_app::AppError;
use bureau_domain::arrears::ArrearsRules;
use bureau_domain::calendar::beijing;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/arrears", get(cases_page))
        .route("/arrears/run", post(run_post))
        .route("/arrears/done", post(done_post))
        .route("/collection", get(collection_page))
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("nav.arrears", "欠费停复电", "Arrears"),
    ("nav.collection", "电费回收", "Fee collection"),
    ("arr.title", "欠费催收、停电与复电", "Arrears: reminders, disconnection, reconnection"),
    ("arr.run", "执行今日催费流程", "Run today's pass"),
    ("arr.cases", "在途欠费案例", "Open cases"),
    ("arr.customer", "户号", "Account"),
    ("arr.name", "户名", "Name"),
    ("arr.arrears", "欠费（元）", "Arrears (yuan)"),
    ("arr.oldest_due", "最早应缴日", "Oldest due date"),
    ("arr.next", "下一步", "Next step"),
    ("arr.not_before", "最早执行", "Not before"),
    ("arr.deadline", "时限", "Deadline"),
    ("arr.steps", "已办步骤", "Steps taken"),
    ("arr.orders", "停电/复电工单", "Disconnection and reconnection orders"),
    ("arr.order", "工单", "Order"),
    ("arr.disconnect", "停电", "Disconnect"),
    ("arr.reconnect", "复电", "Reconnect"),
    ("arr.issued", "派发时间", "Issued"),
    ("arr.planned_cut", "通知停电时间", "Announced cut"),
    ("arr.done", "完成", "Done"),
    ("arr.mark_done", "回单（已执行）", "Report done"),
    ("arr.late", "已超时", "Late"),
    ("arr.none", "暂无", "None"),
    (
        "arr.ran",
        "已执行：新开案例 {opened}，办理步骤 {taken}，结案 {closed}",
        "Done: {opened} cases opened, {taken} steps taken, {closed} closed",
    ),
    ("col.title", "电费回收报表", "Fee collection reports"),
    ("col.from", "起始月份", "From month"),
    ("col.to", "截止月份", "To month"),
    ("col.on", "统计日", "As of"),
    ("col.show", "查询", "Show"),
    ("col.by_month", "按月回收率（当月/累计）", "Collection rate by month (monthly / cumulative)"),
    ("col.by_department", "按供电所/营业所", "By office"),
    ("col.by_book", "按抄表段", "By reading book"),
    ("col.month", "月份", "Month"),
    ("col.group", "单位/抄表段", "Unit / book"),
    ("col.billed", "应收（元）", "Billed (yuan)"),
    ("col.collected", "实收（元）", "Collected (yuan)"),
    ("col.outstanding", "未收（元）", "Outstanding (yuan)"),
    ("col.bills", "笔数", "Bills"),
    ("col.rate", "回收率 %", "Rate %"),
    ("col.cumulative", "累计回收率 %", "Cumulative %"),
    ("col.total", "合计", "Total"),
    ("col.unassigned", "（未分配）", "(unassigned)"),
    ("col.aging", "应收账款账龄", "Aged receivables"),
    ("col.bucket", "账龄", "Age"),
    ("col.amount", "金额（元）", "Amount (yuan)"),
    ("col.credit", "预收电费", "Prepaid credit"),
    ("col.in_arrears", "欠费客户", "Customers in arrears"),
    ("col.days", "逾期天数", "Days overdue"),
    ("col.csv", "导出CSV", "Export CSV"),
];

fn error_text(errs: &[bureau_domain::error::FieldError], lang: bureau_domain::i18n::Lang) -> String {
    errs.iter().map(|f| format!("{}: {}", f.field, f.message(lang))).collect::<Vec<_>>().join("; ")
}

#[derive(Template)]
#[template(path = "arrears.html")]
struct CasesPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    cases: Vec<CaseView>,
    orders: Vec<OrderView>,
    message: Option<String>,
}

#[derive(Deserialize, Default)]
struct CasesQuery {
    #[serde(default)]
    ran: Option<String>,
}

/// `2026-03-18T09:00:00+08:00` → `2026-03-18 09:00`.
fn short(s: &str) -> String {
    s.get(..16).unwrap_or(s).replace('T', " ")
}

async fn cases_page(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Query(q): Query<CasesQuery>,
) -> Response {
    match arrears::cases(&state.store, &user.actor, jiff::Timestamp::now()).await {
        Ok((cases, orders)) => render(
            CasesPage {
                t: Tr::new(user.lang),
                user: view(&user),
                here: here(&uri),
                cases,
                orders,
                message: q.ran,
            },
            StatusCode::OK,
        ),
        Err(e) => error_page(&e, user.lang),
    }
}

async fn run_post(State(state): State<AppState>, PageStaff(user): PageStaff) -> Response {
    let r =
        arrears::run_pass(&state.store, &user.actor, ArrearsRules::builtin(), jiff::Timestamp::now()).await;
    match r {
        Ok(r) => {
            let t = Tr::new(user.lang);
            let msg = t
                .t("arr.ran")
                .replace("{opened}", &r.opened.to_string())
                .replace("{taken}", &r.taken.len().to_string())
                .replace("{closed}", &r.closed.to_string());
            Redirect::to(&format!("/arrears?ran={}", crate::auth::urlencode(&msg))).into_response()
        }
        Err(e) => error_page(&e, user.lang),
    }
}

#[derive(Deserialize)]
struct DoneForm {
    customer_id: String,
    order: String,
}

async fn done_post(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    Form(f): Form<DoneForm>,
) -> Response {
    let r = arrears::complete_order(
        &state.store,
        &user.actor,
        ArrearsRules::builtin(),
        &f.customer_id,
        &f.order,
        jiff::Timestamp::now(),
    )
    .await;
    match r {
        Ok(_) => Redirect::to("/arrears").into_response(),
        Err(e) => error_page(&e, user.lang),
    }
}

#[derive(Template)]
#[template(path = "collection.html")]
struct CollectionPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    from: String,
    to: String,
    on: String,
    months: Option<RateReport>,
    /// (title key, group, report): by department, by book.
    groups: Vec<(&'static str, &'static str, RateReport)>,
    aging: Option<AgingReport>,
    in_arrears: Vec<ArrearsRow>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct CollectionQuery {
    from: Option<String>,
    to: Option<String>,
    on: Option<String>,
}

async fn collection_page(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Query(q): Query<CollectionQuery>,
) -> Response {
    let t = Tr::new(user.lang);
    let today = beijing::date_of(jiff::Timestamp::now());
    let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let to = nonempty(q.to).unwrap_or_else(|| today.strftime("%Y-%m").to_string());
    let from = nonempty(q.from).unwrap_or_else(|| format!("{}-01", today.year()));
    let on = nonempty(q.on).unwrap_or_else(|| today.to_string());
    let mut page = CollectionPage {
        t,
        user: view(&user),
        here: here(&uri),
        from: from.clone(),
        to: to.clone(),
        on: on.clone(),
        months: None,
        groups: Vec::new(),
        aging: None,
        in_arrears: Vec::new(),
        error: None,
    };
    let a = &user.actor;
    let s = &state.store;
    let result: Result<(), AppError> = async {
        let (f, t_) = collection::parse_months(&from, Some(&to)).map_err(AppError::Invalid)?;
        let day = crate::api::arrears::date_or_today("on", Some(&on))?;
        let cut = collection::default_cut_off(t_);
        page.months = Some(collection::collection_rates(s, a, f, t_, GroupBy::Month, cut).await?);
        let d = collection::collection_rates(s, a, f, t_, GroupBy::Department, cut).await?;
        page.groups.push(("col.by_department", "department", d));
        let b = collection::collection_rates(s, a, f, t_, GroupBy::Book, cut).await?;
        page.groups.push(("col.by_book", "book", b));
        page.aging = Some(collection::aged_receivables(s, a, day).await?);
        page.in_arrears = collection::customers_in_arrears(s, a, day).await?;
        page.in_arrears.truncate(200);
        Ok(())
    }
    .await;
    match result {
        Ok(()) => render(page, StatusCode::OK),
        Err(AppError::Invalid(errs)) => {
            page.error = Some(error_text(&errs, user.lang));
            render(page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => error_page(&e, user.lang),
    }
}

impl CasesPage {
    fn when(&self, s: Option<&String>) -> String {
        s.map(|s| short(s)).unwrap_or_default()
    }

    fn at(&self, s: &str) -> String {
        short(s)
    }
}

impl CollectionPage {
    fn group_name(&self, key: &str, name: &str) -> String {
        if key.is_empty() {
            self.t.t("col.unassigned").to_string()
        } else if name.is_empty() {
            key.to_string()
        } else {
            format!("{key} {name}")
        }
    }
}
