//! 95598 pages: the agent's intake screen (caller lookup with open orders, the screen pop, the
//! intake form, the queue by due time with breach warnings, the knowledge base), an order's page
//! with its deadlines, trail and actions, and the crew's mobile page (take, arrive, restore, reply).

use super::{error_page, here, render, view, UserView};
use crate::auth::PageStaff;
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bureau_app::service::{self as svc, knowledge, ActRequest, Intake};
use bureau_app::AppError;
use bureau_store::{KnowledgeArticle, OrderQuery, WorkOrder};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/service", get(intake_page).post(intake_post))
        .route("/service/orders/{id}", get(order_page))
        .route("/service/orders/{id}/act", post(act_post))
        .route("/crew", get(crew_page))
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("nav.service", "95598受理", "95598 intake"),
    ("nav.crew", "抢修工单", "Repair jobs"),
    ("svc.lookup", "客户查询（户号/电话/地址）", "Caller lookup (account, phone, address)"),
    ("svc.search", "查询", "Search"),
    ("svc.call", "来电", "Incoming call"),
    ("svc.open_orders", "在途工单", "Open orders"),
    ("svc.new", "受理新工单", "Accept a new order"),
    ("svc.kind", "业务类型", "Kind"),
    ("svc.subtype", "子类", "Sub-type"),
    ("svc.channel", "渠道", "Channel"),
    ("svc.customer", "户号", "Account"),
    ("svc.area", "供电区域", "Service area"),
    ("svc.phone", "来电号码", "Caller's phone"),
    ("svc.caller", "联系人", "Caller"),
    ("svc.address", "地址", "Address"),
    ("svc.description", "诉求内容", "What the caller says"),
    ("svc.escalation", "有越级投诉倾向", "Caller intends to escalate (越级)"),
    ("svc.accept", "受理", "Accept"),
    ("svc.queue", "工单队列（按时限排序）", "Queue (nearest deadline first)"),
    ("svc.due", "下一时限", "Next deadline"),
    ("svc.status", "状态", "Status"),
    ("svc.overdue", "已超时", "Overdue"),
    ("svc.soon", "即将超时", "Due soon"),
    ("svc.knowledge", "知识库", "Knowledge base"),
    ("svc.order", "工单", "Work order"),
    ("svc.deadlines", "时限", "Deadlines"),
    ("svc.stage", "环节", "Stage"),
    ("svc.done", "完成", "Done"),
    ("svc.trail", "处理记录", "Audit trail"),
    ("svc.actions", "操作", "Actions"),
    ("svc.satisfaction", "满意度", "Satisfaction"),
    ("svc.reason", "挂起原因", "Pause reason"),
    ("svc.fault_cause", "故障原因", "Fault cause"),
    ("svc.ownership", "产权归属", "Asset ownership"),
    ("svc.record", "抢修记录", "Repair record"),
    ("svc.note", "备注", "Note"),
    ("svc.escalated", "越级（12398/12345）", "Escalated (12398/12345)"),
    ("svc.repeat", "重复/关联工单", "Repeat / linked order"),
    ("svc.bills", "近期电费", "Recent bills"),
    ("svc.period", "电费年月", "Period"),
    ("svc.kwh", "电量（千瓦时）", "kWh"),
    ("svc.amount", "电费（元）", "Amount (yuan)"),
    ("svc.paid", "已缴（元）", "Paid (yuan)"),
    ("svc.bill_state", "状态", "State"),
    ("svc.due_on", "缴费截止", "Due"),
    ("svc.no_bills", "暂无电费账单", "No bills yet"),
    ("svc.balance", "账户余额", "Account"),
    ("svc.owed", "应缴", "Owed"),
    ("svc.arrears", "欠费", "Arrears"),
    ("svc.credit", "预存", "Credit"),
    ("svc.to_clear", "今日结清应缴", "To settle today"),
    ("crew.title", "我的抢修工单", "My repair jobs"),
    ("crew.waiting", "待接单", "Waiting to be taken"),
    ("crew.none", "暂无工单", "No jobs"),
];

fn t3339(secs: Option<i64>) -> String {
    secs.map(super::beijing_short).unwrap_or_default()
}

/// A row of a list: the order and how close its next deadline is.
pub struct Row {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub address: String,
    pub phone: String,
    pub description: String,
    pub due: String,
    /// `overdue`, `soon` or empty.
    pub urgency: &'static str,
}

fn rows(orders: &[WorkOrder], lang: bureau_domain::i18n::Lang, now: i64) -> Vec<Row> {
    orders
        .iter()
        .map(|o| Row {
            id: o.id.clone(),
            kind: o.kind.name(lang).to_string(),
            status: o.status.name(lang).to_string(),
            address: o.address.clone(),
            phone: o.caller_phone.clone(),
            description: o.description.clone(),
            due: o
                .next_due_stage
                .map(|s| format!("{} {}", s.name(lang), t3339(o.next_due_at)))
                .unwrap_or_default(),
            urgency: match o.next_due_at {
                Some(d) if d < now => "overdue",
                Some(d) if d < now + 30 * 60 => "soon",
                _ => "",
            },
        })
        .collect()
}

/// A caller found by the lookup, as the intake screen shows them.
struct Caller {
    id: String,
    name: String,
    address: String,
    phone: String,
    open: Vec<Row>,
    /// (period, kWh, total, paid, state, due date)
    bills: Vec<(String, String, String, String, String, String)>,
    /// (balance, arrears, credit, to clear today), in yuan; `None` for a phone number alone.
    account: Option<(String, String, String, String)>,
    in_arrears: bool,
}

#[derive(Template)]
#[template(path = "service_intake.html")]
struct IntakePage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    q: String,
    call: Option<String>,
    found: Vec<Caller>,
    queue: Vec<Row>,
    articles: Vec<KnowledgeArticle>,
    kinds: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
    form: IntakeForm,
    errors: Vec<String>,
}

#[derive(Deserialize, Default, Clone)]
struct IntakeForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    subtype: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    customer_id: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    caller_name: String,
    #[serde(default)]
    caller_phone: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    escalation_intent: Option<String>,
}

#[derive(Deserialize, Default)]
struct IntakeQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    kb: String,
}

async fn intake_screen(
    state: &AppState,
    user: &crate::auth::StaffUser,
    uri: &Uri,
    q: &str,
    kb: &str,
    form: IntakeForm,
    errors: Vec<String>,
) -> Result<IntakePage, AppError> {
    let lang = user.lang;
    let now = bureau_app::auth::now_unix();
    let call = svc::screen_pop::latest(&state.store, &user.actor).await?.map(|c| c.phone);
    let q = if q.is_empty() { call.clone().unwrap_or_default() } else { q.to_string() };
    let mut found = Vec::new();
    if !q.trim().is_empty() {
        let l = svc::lookup(&state.store, &user.actor, &q).await?;
        for m in &l.customers {
            let a = &m.account;
            found.push(Caller {
                id: m.customer.id.as_str().to_string(),
                name: m.customer.name.clone(),
                address: m.customer.address.clone(),
                phone: m.customer.phone.clone().unwrap_or_default(),
                open: rows(&m.open_orders, lang, now),
                bills: m
                    .recent_bills
                    .iter()
                    .map(|b| {
                        (
                            b.period.clone(),
                            b.kwh.normalize().to_string(),
                            b.total.to_string(),
                            b.paid.to_string(),
                            b.state.name(lang).to_string(),
                            b.due_on.clone().unwrap_or_default(),
                        )
                    })
                    .collect(),
                account: Some((
                    a.balance.to_string(),
                    a.arrears.to_string(),
                    a.credit.to_string(),
                    a.to_clear.to_string(),
                )),
                in_arrears: a.arrears > bureau_domain::money::Fen::ZERO,
            });
        }
        if !l.orders_from_phone.is_empty() {
            found.push(Caller {
                id: String::new(),
                name: q.clone(),
                address: String::new(),
                phone: q.clone(),
                open: rows(&l.orders_from_phone, lang, now),
                bills: Vec::new(),
                account: None,
                in_arrears: false,
            });
        }
    }
    let mut oq = OrderQuery::new(user.actor.scope.clone());
    oq.open_only = true;
    oq.by_due = true;
    oq.limit = 50;
    let queue = rows(&svc::queue(&state.store, &user.actor, oq).await?, lang, now);
    let articles = if kb.trim().is_empty() {
        Vec::new()
    } else {
        knowledge::search(&state.store, &user.actor, kb, None, 10).await?
    };
    let mut form = form;
    if form.caller_phone.is_empty() {
        form.caller_phone = call.clone().unwrap_or_default();
    }
    Ok(IntakePage {
        t: Tr::new(lang),
        user: view(user),
        here: here(uri),
        q,
        call,
        found,
        queue,
        articles,
        kinds: bureau_domain::service::OrderKind::ALL.iter().map(|k| (k.code(), k.name(lang))).collect(),
        channels: bureau_domain::service::Channel::ALL.iter().map(|c| (c.code(), c.name(lang))).collect(),
        form,
        errors,
    })
}

async fn intake_page(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Query(q): Query<IntakeQuery>,
) -> Response {
    match intake_screen(&state, &user, &uri, &q.q, &q.kb, IntakeForm::default(), Vec::new()).await {
        Ok(p) => render(p, StatusCode::OK),
        Err(e) => error_page(&e, user.lang),
    }
}

async fn intake_post(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Form(f): Form<IntakeForm>,
) -> Response {
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let intake = Intake {
        kind: f.kind.clone(),
        subtype: opt(&f.subtype),
        channel: opt(&f.channel),
        customer_id: opt(&f.customer_id),
        area: opt(&f.area),
        escalation_intent: f.escalation_intent.is_some(),
        caller_name: f.caller_name.clone(),
        caller_phone: f.caller_phone.clone(),
        address: f.address.clone(),
        description: f.description.clone(),
        ..Intake::default()
    };
    match svc::accept(&state.store, &user.actor, &intake, bureau_app::auth::now_unix()).await {
        Ok(a) => Redirect::to(&format!("/service/orders/{}", a.order.id)).into_response(),
        Err(AppError::Invalid(errs)) => {
            let errors = errs.iter().map(|e| format!("{}: {}", e.field, e.message(user.lang))).collect();
            match intake_screen(&state, &user, &uri, "", "", f, errors).await {
                Ok(p) => render(p, StatusCode::UNPROCESSABLE_ENTITY),
                Err(e) => error_page(&e, user.lang),
            }
        }
        Err(e) => error_page(&e, user.lang),
    }
}

#[derive(Template)]
#[template(path = "service_order.html")]
struct OrderPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    o: WorkOrder,
    kind: String,
    status: String,
    deadlines: Vec<(String, String, String, &'static str)>,
    events: Vec<(i64, String, String, String, String)>,
    allowed: Vec<&'static str>,
    errors: Vec<String>,
    back: String,
}

async fn order_view(
    state: &AppState,
    user: &crate::auth::StaffUser,
    uri: &Uri,
    id: &str,
    errors: Vec<String>,
    back: &str,
) -> Result<OrderPage, AppError> {
    let lang = user.lang;
    let v = svc::view(&state.store, &user.actor, id).await?;
    let now = bureau_app::auth::now_unix();
    Ok(OrderPage {
        t: Tr::new(lang),
        user: view(user),
        here: here(uri),
        kind: format!(
            "{}{}",
            v.order.kind.name(lang),
            v.order.subtype.map(|s| format!(" / {}", s.name(lang))).unwrap_or_default()
        ),
        status: v.order.status.name(lang).to_string(),
        deadlines: v
            .deadlines
            .iter()
            .map(|d| {
                let mark = match d.done_at {
                    Some(done) if done <= d.due_at => "met",
                    Some(_) => "late",
                    None if d.due_at < now => "overdue",
                    None => "",
                };
                (d.stage.name(lang).to_string(), t3339(Some(d.due_at)), t3339(d.done_at), mark)
            })
            .collect(),
        events: v
            .events
            .iter()
            .map(|e| {
                (
                    e.seq,
                    t3339(Some(e.at)),
                    e.actor.clone(),
                    e.event.name(lang).to_string(),
                    e.detail.clone().unwrap_or_default(),
                )
            })
            .collect(),
        allowed: v.allowed,
        o: v.order,
        errors,
        back: back.to_string(),
    })
}

async fn order_page(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Path(id): Path<String>,
) -> Response {
    match order_view(&state, &user, &uri, &id, Vec::new(), "").await {
        Ok(p) => render(p, StatusCode::OK),
        Err(e) => error_page(&e, user.lang),
    }
}

#[derive(Deserialize, Default)]
struct ActForm {
    event: String,
    #[serde(default)]
    satisfaction: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    fault_cause: String,
    #[serde(default)]
    asset_ownership: String,
    #[serde(default)]
    repair_record: String,
    #[serde(default)]
    note: String,
    /// Where to go afterwards (`/crew` from the crew page).
    #[serde(default)]
    back: String,
}

async fn act_post(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Path(id): Path<String>,
    Form(f): Form<ActForm>,
) -> Response {
    let opt = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let req = ActRequest {
        event: f.event.clone(),
        satisfaction: opt(&f.satisfaction),
        reason: opt(&f.reason),
        department_id: None,
        fault_cause: opt(&f.fault_cause),
        asset_ownership: opt(&f.asset_ownership),
        repair_record: opt(&f.repair_record),
        note: opt(&f.note),
    };
    let back = if f.back == "/crew" { "/crew".to_string() } else { format!("/service/orders/{id}") };
    match svc::act(&state.store, &user.actor, &id, &req, bureau_app::auth::now_unix()).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(AppError::Invalid(errs)) => {
            let errors = errs.iter().map(|e| format!("{}: {}", e.field, e.message(user.lang))).collect();
            match order_view(&state, &user, &uri, &id, errors, &f.back).await {
                Ok(p) => render(p, StatusCode::UNPROCESSABLE_ENTITY),
                Err(e) => error_page(&e, user.lang),
            }
        }
        Err(e) => error_page(&e, user.lang),
    }
}

#[derive(Template)]
#[template(path = "service_crew.html")]
struct CrewPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    mine: Vec<(Row, Vec<&'static str>)>,
    waiting: Vec<Row>,
}

async fn crew_page(State(state): State<AppState>, PageStaff(user): PageStaff, uri: Uri) -> Response {
    let lang = user.lang;
    let now = bureau_app::auth::now_unix();
    let result = async {
        let mut q = OrderQuery::new(user.actor.scope.clone());
        q.open_only = true;
        q.by_due = true;
        q.taken_by = Some(user.actor.staff_id.clone());
        let mine_orders = svc::queue(&state.store, &user.actor, q).await?;
        let mut mine = Vec::new();
        for o in &mine_orders {
            let v = svc::view(&state.store, &user.actor, &o.id).await?;
            let r = rows(std::slice::from_ref(o), lang, now).remove(0);
            mine.push((r, v.allowed.into_iter().filter(|a| *a != "call_back" && *a != "archive").collect()));
        }
        let mut w = OrderQuery::new(user.actor.scope.clone());
        w.open_only = true;
        w.by_due = true;
        w.kind = Some(bureau_domain::service::OrderKind::FaultRepair);
        w.status = Some(bureau_domain::service::Status::Dispatched);
        let waiting = rows(&svc::queue(&state.store, &user.actor, w).await?, lang, now);
        Ok::<_, AppError>((mine, waiting))
    }
    .await;
    match result {
        Ok((mine, waiting)) => render(
            CrewPage { t: Tr::new(lang), user: view(&user), here: here(&uri), mine, waiting },
            StatusCode::OK,
        ),
        Err(e) => error_page(&e, lang),
    }
}
