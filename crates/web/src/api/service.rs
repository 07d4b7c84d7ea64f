//! The 95598 service centre through the API: work orders (accept, act, queue, warnings), service-level
//! deadlines, the "% of deadlines met" report, the duty roster, the knowledge base, the caller
//! lookup and the phone system's screen pop.

use super::register::{bad_json, bad_query};
use crate::auth::ApiStaff;
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use bureau_app::service::{self as svc, dispatch, knowledge};
use bureau_domain::error::FieldError;
use bureau_domain::org::Role;
use bureau_store::OrderQuery;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use utoipa::{IntoParams, ToSchema};

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;
type QueryOf<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

fn now() -> i64 {
    bureau_app::auth::now_unix()
}

/// A call to accept (受理).
#[derive(Deserialize, ToSchema)]
pub struct IntakeBody {
    /// fault_repair, complaint, report, opinion, consultation or service_request.
    pub kind: String,
    /// A sub-type of the kind (e.g. complaint: service, business, outage, supply_quality, grid_construction).
    pub subtype: Option<String>,
    /// Complaints: special, major, important, ordinary (default).
    pub grade: Option<String>,
    /// phone (default), counter, portal, app, hotline12398, hotline12345.
    pub channel: Option<String>,
    pub customer_id: Option<String>,
    /// urban, rural or remote (from the customer when known).
    pub area: Option<String>,
    #[serde(default)]
    pub escalation_intent: bool,
    #[serde(default)]
    pub caller_name: String,
    #[serde(default)]
    pub caller_phone: String,
    #[serde(default)]
    pub address: String,
    pub matter: Option<String>,
    #[serde(default)]
    pub description: String,
    pub department_id: Option<String>,
    pub bureau_id: Option<String>,
}

impl From<IntakeBody> for svc::Intake {
    fn from(b: IntakeBody) -> svc::Intake {
        svc::Intake {
            kind: b.kind,
            subtype: b.subtype,
            grade: b.grade,
            channel: b.channel,
            customer_id: b.customer_id,
            area: b.area,
            escalation_intent: b.escalation_intent,
            caller_name: b.caller_name,
            caller_phone: b.caller_phone,
            address: b.address,
            matter: b.matter,
            description: b.description,
            department_id: b.department_id,
            bureau_id: b.bureau_id,
        }
    }
}

/// An action on an order.
#[derive(Deserialize, ToSchema)]
pub struct ActBody {
    /// dispatch, take, arrive, restore, handle, reply, call_back, archive, pause, resume, reopen.
    pub event: String,
    /// call_back: satisfied, fairly_satisfied, dissatisfied.
    pub satisfaction: Option<String>,
    /// pause: waiting_for_customer, waiting_for_third_party.
    pub reason: Option<String>,
    /// dispatch: the handling unit.
    pub department_id: Option<String>,
    /// Fault-repair reply (回单): fault cause, asset ownership, repair record.
    pub fault_cause: Option<String>,
    pub asset_ownership: Option<String>,
    pub repair_record: Option<String>,
    pub note: Option<String>,
}

impl From<ActBody> for svc::ActRequest {
    fn from(b: ActBody) -> svc::ActRequest {
        svc::ActRequest {
            event: b.event,
            satisfaction: b.satisfaction,
            reason: b.reason,
            department_id: b.department_id,
            fault_cause: b.fault_cause,
            asset_ownership: b.asset_ownership,
            repair_record: b.repair_record,
            note: b.note,
        }
    }
}

fn json<T: serde::Serialize>(v: &T) -> Json<Value> {
    Json(serde_json::to_value(v).unwrap_or(Value::Null))
}

/// Accepts a work order: deadlines from the rule set in force, repeat/duplicate links, and for a
/// fault repair the duty roster notified through the outbox. Answers `{order, deadlines, repeats, notified}`.
#[utoipa::path(post, path = "/api/v1/work-orders", tag = "service", request_body = IntakeBody, security(("bearer" = [])),
    responses((status = 201, body = Object, description = "{order, deadlines, repeats, notified}"),
              (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn accept(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: JsonBody<IntakeBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let a = svc::accept(&state.store, &user.actor, &b.into(), now())
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok((StatusCode::CREATED, json(&a)))
}

#[derive(Deserialize, IntoParams)]
pub struct QueueParams {
    /// Only open orders (default true).
    pub open: Option<bool>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub customer_id: Option<String>,
    pub phone: Option<String>,
    /// Orders taken by this staff member (`me` for the caller).
    pub taken_by: Option<String>,
    /// `due` (default: the nearest deadline first) or `new`.
    pub sort: Option<String>,
    pub limit: Option<u32>,
}

/// The queue: orders of the caller's bureaus, the nearest deadline first.
#[utoipa::path(get, path = "/api/v1/work-orders", tag = "service", params(QueueParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "array of work orders"), (status = 422, body = ErrorResponse)))]
pub async fn queue(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    p: QueryOf<QueueParams>,
) -> ApiResult<Json<Value>> {
    let Query(p) = p.map_err(|e| bad_query(e, user.lang))?;
    let err = |e: FieldError| ApiError::new(e.into(), user.lang);
    let mut q = OrderQuery::new(user.actor.scope.clone());
    q.open_only = p.open.unwrap_or(true);
    q.kind = p
        .kind
        .as_deref()
        .filter(|k| !k.is_empty())
        .map(bureau_domain::service::OrderKind::parse)
        .transpose()
        .map_err(err)?;
    q.status = p
        .status
        .as_deref()
        .filter(|k| !k.is_empty())
        .map(bureau_domain::service::Status::parse)
        .transpose()
        .map_err(err)?;
    q.customer_id = p.customer_id.filter(|c| !c.is_empty());
    q.caller_phone = p.phone.filter(|c| !c.is_empty());
    q.taken_by =
        p.taken_by.filter(|c| !c.is_empty()).map(|t| if t == "me" { user.actor.staff_id.clone() } else { t });
    q.by_due = match p.sort.as_deref() {
        None | Some("due") => true,
        Some("new") => false,
        Some(other) => {
            return Err(err(FieldError::invalid(
                "sort",
                format!("排序“{other}”无效，应为 due 或 new"),
                format!("sort '{other}' is unknown; use due or new"),
            )))
        }
    };
    q.limit = p.limit.unwrap_or(100).clamp(1, 1000);
    let rows = svc::queue(&state.store, &user.actor, q).await.map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&rows))
}

/// One order with its deadlines, its audit trail and the actions allowed now.
#[utoipa::path(get, path = "/api/v1/work-orders/{id}", tag = "service", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "{order, deadlines, events, allowed}"), (status = 404, body = ErrorResponse)))]
pub async fn get_order(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let v = svc::view(&state.store, &user.actor, &id).await.map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&v))
}

/// Moves an order on (dispatch, take, arrive, restore, handle, reply, call_back, archive, pause,
/// resume, reopen). An action out of order is a 422 naming `event` and what is allowed.
#[utoipa::path(post, path = "/api/v1/work-orders/{id}/events", tag = "service", params(("id" = String, Path)),
    request_body = ActBody, security(("bearer" = [])),
    responses((status = 200, body = Object, description = "the order after the action"), (status = 422, body = ErrorResponse),
              (status = 409, body = ErrorResponse), (status = 404, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn act(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
    body: JsonBody<ActBody>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let v = svc::act(&state.store, &user.actor, &id, &b.into(), now())
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&v))
}

#[derive(Deserialize, IntoParams)]
pub struct WarningParams {
    /// Warn this many minutes before a deadline (default 30).
    pub within_minutes: Option<i64>,
    pub limit: Option<u32>,
}

/// Breach warnings: open orders whose next deadline is within the warning time or past.
#[utoipa::path(get, path = "/api/v1/work-orders/warnings", tag = "service", params(WarningParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "array of work orders, soonest first")))]
pub async fn warnings(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    p: QueryOf<WarningParams>,
) -> ApiResult<Json<Value>> {
    let Query(p) = p.map_err(|e| bad_query(e, user.lang))?;
    let within = p.within_minutes.unwrap_or(30).clamp(0, 7 * 24 * 60) * 60;
    let rows = svc::warnings(&state.store, &user.actor, now(), within, p.limit.unwrap_or(100))
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&rows))
}

#[derive(Deserialize, IntoParams)]
pub struct DeadlineParams {
    pub kind: String,
    pub subtype: Option<String>,
    pub area: Option<String>,
    pub channel: Option<String>,
    /// RFC 3339, e.g. 2026-09-30T16:00:00+08:00.
    pub accepted: String,
}

/// Each stage's due time for an order accepted at `accepted` (the same as `bureau sla deadlines --json`).
#[utoipa::path(get, path = "/api/v1/sla/deadlines", tag = "service", params(DeadlineParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "the schedule: rule set, stages with RFC 3339 due times"),
              (status = 422, body = ErrorResponse)))]
pub async fn sla_deadlines(ApiStaff(user): ApiStaff, p: QueryOf<DeadlineParams>) -> ApiResult<Json<Value>> {
    let Query(p) = p.map_err(|e| bad_query(e, user.lang))?;
    let s =
        svc::deadlines(&p.kind, p.subtype.as_deref(), p.area.as_deref(), p.channel.as_deref(), &p.accepted)
            .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&s))
}

#[derive(Deserialize, IntoParams)]
pub struct ReportParams {
    /// First month, YYYY-MM.
    pub from: String,
    /// Last month, YYYY-MM (default: `from`).
    pub to: Option<String>,
    /// json (default) or csv.
    pub format: Option<String>,
}

/// "% of deadlines met" by month, kind, department and stage; `format=csv` exports it.
#[utoipa::path(get, path = "/api/v1/service/report", tag = "service", params(ReportParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "rows {month, kind, department_id, stage, due, met, percent_met}"),
              (status = 422, body = ErrorResponse)))]
pub async fn report(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    p: QueryOf<ReportParams>,
) -> ApiResult<axum::response::Response> {
    let Query(p) = p.map_err(|e| bad_query(e, user.lang))?;
    let e = |e| ApiError::new(e, user.lang);
    let from = svc::month_start("from", &p.from).map_err(e)?;
    let last = p.to.clone().unwrap_or_else(|| p.from.clone());
    let to_start = svc::month_start("to", &last).map_err(e)?;
    let to = jiff::Timestamp::from_second(to_start)
        .ok()
        .map(bureau_domain::calendar::beijing::date_of)
        .and_then(|d| d.checked_add(jiff::Span::new().months(1)).ok())
        .and_then(|d| bureau_domain::calendar::beijing::start_of(d).ok())
        .map_or(to_start, |t| t.as_second());
    let rows = svc::report(&state.store, &user.actor, from, to, now()).await.map_err(e)?;
    match p.format.as_deref() {
        None | Some("json") => Ok(json(&rows).into_response()),
        Some("csv") => {
            let mut out = Vec::new();
            svc::report_csv(&rows, &mut out).map_err(|io| {
                e(bureau_app::AppError::Store(bureau_store::StoreError::Database(io.to_string())))
            })?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"deadlines-met.csv\""),
                ],
                out,
            )
                .into_response())
        }
        Some(other) => Err(e(FieldError::invalid(
            "format",
            format!("格式“{other}”无效，应为 json 或 csv"),
            format!("format '{other}' is unknown; use json or csv"),
        )
        .into())),
    }
}

/// A shift on the duty roster.
#[derive(Deserialize, ToSchema)]
pub struct ShiftBody {
    pub id: Option<String>,
    pub bureau_id: Option<String>,
    pub staff_id: String,
    /// leader, crew or supervisor.
    pub duty: String,
    /// Escalation step: 0 notified at once, 1 after the take timeout, 2 after twice it.
    #[serde(default)]
    pub level: i64,
    pub crew_name: Option<String>,
    pub vehicle: Option<String>,
    /// RFC 3339.
    pub starts_at: String,
    pub ends_at: String,
}

/// Puts shifts on the repair duty roster.
#[utoipa::path(post, path = "/api/v1/duty-roster", tag = "service", request_body = Vec<ShiftBody>, security(("bearer" = [])),
    responses((status = 200, body = Object, description = "{written}"), (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn set_roster(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: JsonBody<Vec<ShiftBody>>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let shifts: Vec<dispatch::ShiftInput> = b
        .into_iter()
        .map(|s| dispatch::ShiftInput {
            id: s.id,
            bureau_id: s.bureau_id,
            staff_id: s.staff_id,
            duty: s.duty,
            level: s.level,
            crew_name: s.crew_name,
            vehicle: s.vehicle,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
        })
        .collect();
    let n = dispatch::set_roster(&state.store, &user.actor, &shifts)
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(serde_json::json!({ "written": n })))
}

/// Who is on repair duty now in the caller's bureau.
#[utoipa::path(get, path = "/api/v1/duty-roster", tag = "service", security(("bearer" = [])),
    responses((status = 200, body = Object, description = "array of shifts")))]
pub async fn on_duty(State(state): State<AppState>, ApiStaff(user): ApiStaff) -> ApiResult<Json<Value>> {
    let rows =
        dispatch::on_duty(&state.store, &user.actor, now()).await.map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&rows))
}

#[derive(Deserialize, IntoParams)]
pub struct KnowledgeParams {
    #[serde(default)]
    pub q: String,
    pub kind: Option<String>,
    pub limit: Option<u32>,
}

/// Searches the knowledge base: every word in the title, body or tags.
#[utoipa::path(get, path = "/api/v1/knowledge", tag = "service", params(KnowledgeParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "array of articles")))]
pub async fn search_knowledge(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    p: QueryOf<KnowledgeParams>,
) -> ApiResult<Json<Value>> {
    let Query(p) = p.map_err(|e| bad_query(e, user.lang))?;
    let rows = knowledge::search(&state.store, &user.actor, &p.q, p.kind.as_deref(), p.limit.unwrap_or(20))
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&rows))
}

#[derive(Deserialize, IntoParams)]
pub struct LookupParams {
    /// Account number, phone number or part of an address.
    #[serde(default)]
    pub q: String,
}

/// The intake screen's lookup: matching customers with their open orders, and the open orders
/// from this phone number.
#[utoipa::path(get, path = "/api/v1/service/lookup", tag = "service", params(LookupParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "{query, customers: [{customer, open_orders}], orders_from_phone}")))]
pub async fn lookup(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    p: QueryOf<LookupParams>,
) -> ApiResult<Json<Value>> {
    let Query(p) = p.map_err(|e| bad_query(e, user.lang))?;
    let l = svc::lookup(&state.store, &user.actor, &p.q).await.map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&l))
}

/// An incoming call, posted by the phone system.
#[derive(Deserialize, ToSchema)]
pub struct IncomingCall {
    /// The caller's number.
    pub phone: String,
    /// The agent (login) the call is ringing at; default: the caller of this endpoint.
    pub agent: Option<String>,
}

/// The latest incoming call per agent, for the intake screen to pick up.
fn calls() -> &'static Mutex<HashMap<String, (i64, String)>> {
    static CALLS: std::sync::OnceLock<Mutex<HashMap<String, (i64, String)>>> = std::sync::OnceLock::new();
    CALLS.get_or_init(Mutex::default)
}

/// Screen pop: the phone system posts an incoming call's number; the answer is the lookup for that
/// number, and the agent's intake screen shows it (GET this path).
#[utoipa::path(post, path = "/api/v1/service/screen-pop", tag = "service", request_body = IncomingCall, security(("bearer" = [])),
    responses((status = 200, body = Object, description = "the lookup for the number"), (status = 422, body = ErrorResponse)))]
pub async fn screen_pop(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: JsonBody<IncomingCall>,
) -> ApiResult<Json<Value>> {
    let Json(c) = body.map_err(|e| bad_json(e, user.lang))?;
    user.actor
        .require_any(&[Role::Agent, Role::Dispatcher, Role::Manager])
        .map_err(|e| ApiError::new(e, user.lang))?;
    let phone = c.phone.trim().to_string();
    if phone.is_empty() || !phone.chars().all(|ch| ch.is_ascii_digit() || ch == '-' || ch == '+') {
        return Err(ApiError::new(
            FieldError::invalid("phone", "来电号码无效", "the caller's number is not a phone number").into(),
            user.lang,
        ));
    }
    let agent = c.agent.filter(|a| !a.is_empty()).unwrap_or_else(|| user.actor.staff_id.clone());
    let l = svc::lookup(&state.store, &user.actor, &phone).await.map_err(|e| ApiError::new(e, user.lang))?;
    calls().lock().unwrap_or_else(|p| p.into_inner()).insert(agent, (now(), phone));
    Ok(json(&l))
}

/// The latest call that rang at the caller (the intake screen polls this).
#[utoipa::path(get, path = "/api/v1/service/screen-pop", tag = "service", security(("bearer" = [])),
    responses((status = 200, body = Object, description = "{phone, at} or null")))]
pub async fn my_call(ApiStaff(user): ApiStaff) -> ApiResult<Json<Value>> {
    let got = calls().lock().unwrap_or_else(|p| p.into_inner()).get(&user.actor.staff_id).cloned();
    Ok(Json(match got {
        Some((at, phone)) => serde_json::json!({ "phone": phone, "at": at }),
        None => Value::Null,
    }))
}

/// The number of the latest call that rang at `agent`, for the intake page.
pub fn latest_call(agent: &str) -> Option<String> {
    calls().lock().unwrap_or_else(|p| p.into_inner()).get(agent).map(|(_, phone)| phone.clone())
}
