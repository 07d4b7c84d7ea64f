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
use bureau_app::service::{self as svc, dispatch, knowledge, screen_pop};
use bureau_domain::error::FieldError;
use bureau_store::OrderQuery;
use serde::Deserialize;
use serde_json::Value;
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
    let shifts: Vec<dispatch::ShiftInput> = b.into_iter().map(shift_input).collect();
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

/// Screen pop: the phone system posts an incoming call's number; the answer is the lookup for that
/// number, and the agent's intake screen shows it (GET this path). The call is stored, so every
/// server process shows it and it survives a restart.
#[utoipa::path(post, path = "/api/v1/service/screen-pop", tag = "service", request_body = IncomingCall, security(("bearer" = [])),
    responses((status = 200, body = Object, description = "the lookup for the number"), (status = 422, body = ErrorResponse)))]
pub async fn screen_pop(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: JsonBody<IncomingCall>,
) -> ApiResult<Json<Value>> {
    let Json(c) = body.map_err(|e| bad_json(e, user.lang))?;
    let l = screen_pop::incoming(&state.store, &user.actor, &c.phone, c.agent.as_deref(), now())
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&l))
}

/// The latest call that rang at the caller (the intake screen polls this).
#[utoipa::path(get, path = "/api/v1/service/screen-pop", tag = "service", security(("bearer" = [])),
    responses((status = 200, body = Object, description = "{phone, at} or null")))]
pub async fn my_call(State(state): State<AppState>, ApiStaff(user): ApiStaff) -> ApiResult<Json<Value>> {
    let got = screen_pop::latest(&state.store, &user.actor).await.map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(match got {
        Some(c) => serde_json::json!({ "phone": c.phone, "at": c.at }),
        None => Value::Null,
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct RosterParams {
    /// RFC 3339; default a day ago.
    pub from: Option<String>,
    /// RFC 3339; default a week from now.
    pub to: Option<String>,
    /// Default: the caller's bureau.
    pub bureau_id: Option<String>,
}

fn shift_input(s: ShiftBody) -> dispatch::ShiftInput {
    dispatch::ShiftInput {
        id: s.id,
        bureau_id: s.bureau_id,
        staff_id: s.staff_id,
        duty: s.duty,
        level: s.level,
        crew_name: s.crew_name,
        vehicle: s.vehicle,
        starts_at: s.starts_at,
        ends_at: s.ends_at,
    }
}

/// The duty roster overlapping `[from, to)`: every shift with its leaders, crews, vehicles and
/// escalation level, ended ones included (with who ended them and when).
#[utoipa::path(get, path = "/api/v1/duty-roster/shifts", tag = "service", params(RosterParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "array of shifts"), (status = 422, body = ErrorResponse)))]
pub async fn roster(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    p: QueryOf<RosterParams>,
) -> ApiResult<Json<Value>> {
    let Query(p) = p.map_err(|e| bad_query(e, user.lang))?;
    let e = |e: bureau_app::AppError| ApiError::new(e, user.lang);
    let t = now();
    let when = |field: &str, v: &Option<String>, default: i64| match v.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => bureau_domain::calendar::beijing::parse_rfc3339(field, v).map(|t| t.as_second()),
        None => Ok(default),
    };
    let from = when("from", &p.from, t - 86_400).map_err(|x| e(x.into()))?;
    let to = when("to", &p.to, t + 7 * 86_400).map_err(|x| e(x.into()))?;
    let rows =
        dispatch::roster(&state.store, &user.actor, p.bureau_id.as_deref(), from, to).await.map_err(e)?;
    Ok(json(&rows))
}

/// Adds one shift to the roster (who added it and when are recorded); answers the shift.
#[utoipa::path(post, path = "/api/v1/duty-roster/shifts", tag = "service", request_body = ShiftBody, security(("bearer" = [])),
    responses((status = 201, body = Object, description = "the shift"), (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn add_shift(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: JsonBody<ShiftBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let s = dispatch::add_shift(&state.store, &user.actor, &shift_input(b), now())
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok((StatusCode::CREATED, json(&s)))
}

/// Ends a shift now (someone goes off duty early, or a planned shift is called off); the planned
/// times stay on the roster. A shift already over is a 409.
#[utoipa::path(post, path = "/api/v1/duty-roster/shifts/{id}/end", tag = "service", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "the shift"), (status = 409, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn end_shift(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let s = dispatch::end_shift(&state.store, &user.actor, &id, now())
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&s))
}

/// A knowledge-base answer as a manager writes it.
#[derive(Deserialize, ToSchema)]
pub struct ArticleBody {
    /// The kind of order it answers (empty: any).
    pub kind: Option<String>,
    pub subtype: Option<String>,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub tags: String,
    /// Edits: the revision the edit was made on (a change by someone else since is a 409).
    pub revision: Option<i64>,
}

impl ArticleBody {
    fn input(&self) -> knowledge::ArticleInput {
        knowledge::ArticleInput {
            kind: self.kind.clone(),
            subtype: self.subtype.clone(),
            title: self.title.clone(),
            body: self.body.clone(),
            tags: self.tags.clone(),
        }
    }
}

/// The revision a change was made on.
#[derive(Deserialize, ToSchema)]
pub struct RevisionBody {
    pub revision: i64,
}

#[derive(Deserialize, IntoParams)]
pub struct ArticleListParams {
    /// Include retired answers.
    #[serde(default)]
    pub retired: bool,
}

fn revision_required(lang: bureau_domain::i18n::Lang) -> ApiError {
    ApiError::new(FieldError::required("revision").into(), lang)
}

/// Every knowledge-base answer, by title (retired ones with `retired=true`).
#[utoipa::path(get, path = "/api/v1/knowledge/articles", tag = "service", params(ArticleListParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "array of articles")))]
pub async fn list_articles(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    p: QueryOf<ArticleListParams>,
) -> ApiResult<Json<Value>> {
    let Query(p) = p.map_err(|e| bad_query(e, user.lang))?;
    let rows = knowledge::list(&state.store, &user.actor, p.retired)
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&rows))
}

/// Adds an answer (managers); answers it at revision 1.
#[utoipa::path(post, path = "/api/v1/knowledge/articles", tag = "service", request_body = ArticleBody, security(("bearer" = [])),
    responses((status = 201, body = Object, description = "the article"), (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn add_article(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: JsonBody<ArticleBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let a = knowledge::add(&state.store, &user.actor, &b.input(), now())
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok((StatusCode::CREATED, json(&a)))
}

/// An answer with every revision of it.
#[utoipa::path(get, path = "/api/v1/knowledge/articles/{id}", tag = "service", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "{article, revisions}"), (status = 404, body = ErrorResponse)))]
pub async fn get_article(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let h =
        knowledge::history(&state.store, &user.actor, &id).await.map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&h))
}

/// Edits an answer: a new revision, the old ones kept. `revision` is the one the edit was made on.
#[utoipa::path(put, path = "/api/v1/knowledge/articles/{id}", tag = "service", params(("id" = String, Path)),
    request_body = ArticleBody, security(("bearer" = [])),
    responses((status = 200, body = Object, description = "the article"), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn edit_article(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
    body: JsonBody<ArticleBody>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let revision = b.revision.ok_or_else(|| revision_required(user.lang))?;
    let a = knowledge::edit(&state.store, &user.actor, &id, revision, &b.input(), now())
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&a))
}

/// Retires an answer: kept with its history, no longer found by the search.
#[utoipa::path(post, path = "/api/v1/knowledge/articles/{id}/retire", tag = "service", params(("id" = String, Path)),
    request_body = RevisionBody, security(("bearer" = [])),
    responses((status = 200, body = Object, description = "the article"), (status = 409, body = ErrorResponse)))]
pub async fn retire_article(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
    body: JsonBody<RevisionBody>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let a = knowledge::retire(&state.store, &user.actor, &id, b.revision, now())
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&a))
}
