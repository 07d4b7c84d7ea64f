//! The grid through the API: the feeder tree, switch operations, trouble calls and outages,
//! switching plans for planned work, and reliability statistics.

use super::register::bad_json;
use crate::auth::ApiStaff;
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::AppState;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use bureau_app::grid::{ops, outage, plans, stats};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

fn json<T: serde::Serialize>(v: &T) -> Json<Value> {
    Json(serde_json::to_value(v).unwrap_or(Value::Null))
}

/// The feeder tree of the caller's bureau with the current switch states and energisation.
#[utoipa::path(get, path = "/api/v1/grid/tree", tag = "grid", security(("bearer" = [])),
    responses((status = 200, description = "nodes in tree order: id, name, kind, depth, via, via_kind, via_open, energised, customers", body = Object),
              (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn tree(State(state): State<AppState>, ApiStaff(user): ApiStaff) -> ApiResult<Json<Value>> {
    let a = &user.actor;
    ops::feeder_tree(&state.store, &state.grid, a, &a.bureau_id)
        .await
        .map(|t| json(&t))
        .map_err(|e| ApiError::new(e, user.lang))
}

#[derive(Deserialize, ToSchema)]
pub struct SwitchRequest {
    /// The switching device (branch id).
    pub branch: String,
    /// `true` to open (分闸), `false` to close (合闸).
    pub open: bool,
}

/// Opens or closes a switching device; the operation is recorded with who and when, and the
/// energisation traced again.
#[utoipa::path(post, path = "/api/v1/grid/switch", tag = "grid", request_body = SwitchRequest, security(("bearer" = [])),
    responses((status = 200, description = "the operation and the load points lost or restored", body = Object),
              (status = 409, description = "already in that state", body = ErrorResponse), (status = 422, body = ErrorResponse),
              (status = 403, body = ErrorResponse)))]
pub async fn switch(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: Result<Json<SwitchRequest>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(r) = body.map_err(|e| bad_json(e, user.lang))?;
    let a = &user.actor;
    ops::operate(
        &state.store,
        &state.grid,
        a,
        &a.bureau_id,
        r.branch.trim(),
        r.open,
        "manual",
        None,
        ops::now(),
    )
    .await
    .map(|x| json(&x))
    .map_err(|e| ApiError::new(e, user.lang))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct OpsParams {
    pub branch: Option<String>,
    pub limit: Option<u32>,
}

/// Recorded switch operations, newest first.
#[utoipa::path(get, path = "/api/v1/grid/switch-ops", tag = "grid", params(OpsParams), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 401, body = ErrorResponse)))]
pub async fn switch_ops(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Query(p): Query<OpsParams>,
) -> ApiResult<Json<Value>> {
    let a = &user.actor;
    a.require_any(bureau_app::grid::READERS).map_err(|e| ApiError::new(e, user.lang))?;
    let ops = state
        .store
        .switch_ops(&a.scope, p.branch.as_deref(), p.limit.unwrap_or(50).clamp(1, 1000))
        .await
        .map_err(|e| ApiError::new(e.into(), user.lang))?;
    Ok(json(&ops))
}

#[derive(Deserialize, ToSchema)]
pub struct CallRequest {
    pub customer_id: Option<String>,
    pub load_id: Option<String>,
    /// `api`, `ami` (a last gasp) or `work_order`.
    pub source: String,
    /// Unix seconds; now when absent.
    pub at: Option<i64>,
    pub note: Option<String>,
    /// The caller's own id (work order number, meter event id), for idempotency.
    pub id: Option<String>,
}

/// Reports a trouble call (or an AMI last gasp, or a fault-repair order): it is grouped with the
/// other open calls and the outage it belongs to is returned.
#[utoipa::path(post, path = "/api/v1/outages/calls", tag = "outages", request_body = CallRequest, security(("bearer" = [])),
    responses((status = 201, description = "the call and its outage", body = Object), (status = 409, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
pub async fn report_call(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: Result<Json<CallRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(r) = body.map_err(|e| bad_json(e, user.lang))?;
    let a = &user.actor;
    let input = outage::CallInput {
        customer_id: r.customer_id,
        load_id: r.load_id,
        source: r.source,
        at: r.at,
        note: r.note,
        id: r.id,
    };
    outage::report_call(&state.store, &state.grid, a, &a.bureau_id, input, ops::now())
        .await
        .map(|x| (StatusCode::CREATED, json(&x)))
        .map_err(|e| ApiError::new(e, user.lang))
}

/// Outages not yet closed, newest first.
#[utoipa::path(get, path = "/api/v1/outages", tag = "outages", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 401, body = ErrorResponse)))]
pub async fn active(State(state): State<AppState>, ApiStaff(user): ApiStaff) -> ApiResult<Json<Value>> {
    outage::active(&state.store, &user.actor).await.map(|x| json(&x)).map_err(|e| ApiError::new(e, user.lang))
}

#[derive(Deserialize, ToSchema)]
pub struct DeclareRequest {
    /// The device found open.
    pub device: String,
    /// `fault` (default), `fault_external`, `planned`, `temporary`, `limit_system_shortage`, `limit_network`.
    pub class: Option<String>,
    pub started_at: Option<i64>,
    pub crew: Option<String>,
    pub etr: Option<i64>,
    pub cause: Option<String>,
}

/// Records a confirmed outage at a device (e.g. a breaker trip seen by SCADA).
#[utoipa::path(post, path = "/api/v1/outages", tag = "outages", request_body = DeclareRequest, security(("bearer" = [])),
    responses((status = 201, body = Object), (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn declare(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: Result<Json<DeclareRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(r) = body.map_err(|e| bad_json(e, user.lang))?;
    let a = &user.actor;
    let input = outage::DeclareInput {
        device: r.device,
        class: r.class,
        started_at: r.started_at,
        crew: r.crew,
        etr: r.etr,
        cause: r.cause,
        plan_id: None,
    };
    outage::declare(&state.store, &state.grid, a, &a.bureau_id, input, ops::now())
        .await
        .map(|x| (StatusCode::CREATED, json(&x)))
        .map_err(|e| ApiError::new(e, user.lang))
}

/// One outage with its load points, calls and history.
#[utoipa::path(get, path = "/api/v1/outages/{id}", tag = "outages", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = ErrorResponse)))]
pub async fn get_outage(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    outage::record(&state.store, &user.actor, &id)
        .await
        .map(|x| json(&x))
        .map_err(|e| ApiError::new(e, user.lang))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct ConfirmRequest {
    pub device: Option<String>,
    pub crew: Option<String>,
    pub etr: Option<i64>,
    pub cause: Option<String>,
    pub class: Option<String>,
}

/// Predicted → confirmed; affected customers are told through the outbox.
#[utoipa::path(post, path = "/api/v1/outages/{id}/confirm", tag = "outages", params(("id" = String, Path)),
    request_body = ConfirmRequest, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 409, description = "not predicted", body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
pub async fn confirm(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
    body: Result<Json<ConfirmRequest>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(r) = body.map_err(|e| bad_json(e, user.lang))?;
    let input =
        outage::ConfirmInput { device: r.device, crew: r.crew, etr: r.etr, cause: r.cause, class: r.class };
    outage::confirm(&state.store, &state.grid, &user.actor, &id, input, ops::now())
        .await
        .map(|x| json(&x))
        .map_err(|e| ApiError::new(e, user.lang))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct EtrRequest {
    pub crew: Option<String>,
    pub etr: Option<i64>,
}

/// Sets the crew and the estimated restoration time.
#[utoipa::path(post, path = "/api/v1/outages/{id}/etr", tag = "outages", params(("id" = String, Path)),
    request_body = EtrRequest, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn etr(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
    body: Result<Json<EtrRequest>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(r) = body.map_err(|e| bad_json(e, user.lang))?;
    outage::update(&state.store, &user.actor, &id, r.crew, r.etr, ops::now())
        .await
        .map(|x| json(&x))
        .map_err(|e| ApiError::new(e, user.lang))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct RestoreRequest {
    /// The load points restored now; all when empty.
    #[serde(default)]
    pub loads: Vec<String>,
    pub at: Option<i64>,
}

/// Restores some or all load points: confirmed → partly restored → restored.
#[utoipa::path(post, path = "/api/v1/outages/{id}/restore", tag = "outages", params(("id" = String, Path)),
    request_body = RestoreRequest, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn restore(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
    body: Result<Json<RestoreRequest>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(r) = body.map_err(|e| bad_json(e, user.lang))?;
    outage::restore(&state.store, &user.actor, &id, &r.loads, r.at.unwrap_or_else(ops::now))
        .await
        .map(|x| json(&x))
        .map_err(|e| ApiError::new(e, user.lang))
}

/// Restored → closed.
#[utoipa::path(post, path = "/api/v1/outages/{id}/close", tag = "outages", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 409, body = ErrorResponse)))]
pub async fn close(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    outage::close(&state.store, &user.actor, &id, ops::now())
        .await
        .map(|x| json(&x))
        .map_err(|e| ApiError::new(e, user.lang))
}

#[derive(Deserialize, ToSchema)]
pub struct CallbackRequest {
    pub call_id: String,
    /// `restored`, `still_out` or `no_answer`.
    pub result: String,
}

/// Records a call-back after restoration; `still_out` opens a nested outage at the caller's load point.
#[utoipa::path(post, path = "/api/v1/outages/{id}/callbacks", tag = "outages", params(("id" = String, Path)),
    request_body = CallbackRequest, security(("bearer" = [])),
    responses((status = 200, description = "the nested outage, or null", body = Object), (status = 409, body = ErrorResponse),
              (status = 422, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn callback(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
    body: Result<Json<CallbackRequest>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(r) = body.map_err(|e| bad_json(e, user.lang))?;
    outage::callback(&state.store, &user.actor, &id, r.call_id.trim(), r.result.trim(), ops::now())
        .await
        .map(|x| json(&x))
        .map_err(|e| ApiError::new(e, user.lang))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct PeriodParams {
    /// First day, `YYYY-MM-DD` (local time).
    pub from: String,
    /// Day after the last, `YYYY-MM-DD`.
    pub to: String,
}

/// Reliability statistics of the caller's bureau for a period: per bureau, substation and feeder,
/// IEEE 1366 and DL/T 836 (MV users and LV customers), planned and fault apart, MED by 2.5β.
#[utoipa::path(get, path = "/api/v1/reliability", tag = "reliability", params(PeriodParams), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn reliability(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Query(p): Query<PeriodParams>,
) -> ApiResult<Json<Value>> {
    let a = &user.actor;
    stats::statistics(&state.store, &state.grid, a, &a.bureau_id, &p.from, &p.to, ops::now())
        .await
        .map(|x| json(&x))
        .map_err(|e| ApiError::new(e, user.lang))
}

#[derive(Deserialize, ToSchema)]
pub struct PlanRequest {
    /// The branch to work on (a line section, a transformer, a device).
    pub work_branch: String,
    /// Start and end of the work, Unix seconds.
    pub starts_at: i64,
    pub ends_at: i64,
    /// Capacity limit per feeder (head branch id → kW).
    #[serde(default)]
    pub feeder_limits_kw: std::collections::HashMap<String, f64>,
}

/// Plans planned work without outages: which devices to open, which tie to close, and who is still
/// affected. The plan is recorded.
#[utoipa::path(post, path = "/api/v1/grid/plans", tag = "grid", request_body = PlanRequest, security(("bearer" = [])),
    responses((status = 201, body = Object), (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn create_plan(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: Result<Json<PlanRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(r) = body.map_err(|e| bad_json(e, user.lang))?;
    let a = &user.actor;
    let input = plans::PlanInput {
        work_branch: r.work_branch,
        starts_at: r.starts_at,
        ends_at: r.ends_at,
        feeder_limits_kw: r.feeder_limits_kw,
    };
    plans::create(&state.store, &state.grid, a, &a.bureau_id, input, ops::now())
        .await
        .map(|x| (StatusCode::CREATED, json(&x)))
        .map_err(|e| ApiError::new(e, user.lang))
}

/// Recorded switching plans, latest first.
#[utoipa::path(get, path = "/api/v1/grid/plans", tag = "grid", security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 401, body = ErrorResponse)))]
pub async fn list_plans(State(state): State<AppState>, ApiStaff(user): ApiStaff) -> ApiResult<Json<Value>> {
    plans::list(&state.store, &user.actor).await.map(|x| json(&x)).map_err(|e| ApiError::new(e, user.lang))
}

/// One plan with the customers still affected.
#[utoipa::path(get, path = "/api/v1/grid/plans/{id}", tag = "grid", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 404, body = ErrorResponse)))]
pub async fn get_plan(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    plans::get(&state.store, &user.actor, &id)
        .await
        .map(|x| json(&x))
        .map_err(|e| ApiError::new(e, user.lang))
}

/// Sends the 7-day advance notice to the customers still affected, through the outbox.
#[utoipa::path(post, path = "/api/v1/grid/plans/{id}/notify", tag = "grid", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn notify_plan(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    plans::notify(&state.store, &user.actor, &id, ops::now())
        .await
        .map(|x| json(&x))
        .map_err(|e| ApiError::new(e, user.lang))
}

/// Executes the plan: its switching steps are operated and recorded, and the interruption of the
/// customers still affected is recorded as a planned outage.
#[utoipa::path(post, path = "/api/v1/grid/plans/{id}/execute", tag = "grid", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 409, body = ErrorResponse)))]
pub async fn execute_plan(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    plans::execute(&state.store, &state.grid, &user.actor, &id, ops::now())
        .await
        .map(|x| json(&x))
        .map_err(|e| ApiError::new(e, user.lang))
}

/// After the work: operates the plan's switch-back steps (ties opened, isolation points and shed
/// switches closed) and restores the plan's planned interruption.
#[utoipa::path(post, path = "/api/v1/grid/plans/{id}/switch-back", tag = "grid", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 409, body = ErrorResponse)))]
pub async fn switch_back_plan(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    plans::switch_back(&state.store, &state.grid, &user.actor, &id, ops::now())
        .await
        .map(|x| json(&x))
        .map_err(|e| ApiError::new(e, user.lang))
}

/// One AMI meter event (also accepted as a JSON array, or as CSV). The schema of the body only: the
/// handler reads `bureau_app::grid::ami::MeterEventInput`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct MeterEventBody {
    /// The head-end's event id, for idempotency.
    pub id: Option<String>,
    pub meter_id: Option<String>,
    /// The meter's account (户号); its supply point is the load point.
    pub customer_id: Option<String>,
    /// The load point, when no account is given.
    pub load_id: Option<String>,
    /// `on` (power present) or `off` (last gasp).
    pub state: String,
    /// Unix seconds; now when absent.
    pub at: Option<i64>,
}

#[derive(serde::Serialize, ToSchema)]
pub struct AmiReport {
    pub rows: u64,
    pub new: u64,
    pub duplicates: u64,
    pub rejected: Vec<super::dto::RejectedRow>,
    /// Trouble calls filed from last gasps.
    pub calls: u64,
    /// Load points of confirmed outages restored by meters back on: outage_id, load_id, at.
    #[schema(value_type = Vec<Object>)]
    pub restored: Vec<Value>,
}

/// AMI meter events from a head-end system: `off` (a last gasp) becomes a trouble call; `on` moves
/// predictions below the meter and restores the load points a confirmed outage still holds. The body
/// is one event or an array of them (JSON), or CSV (`Content-Type: text/csv`) with the columns
/// `id,meter_id,customer_id,load_id,state,at` (`at` in Unix seconds or RFC 3339). Good events are
/// kept, each rejected one is listed with its line (JSON: its position, from 1), field and reason;
/// a resent event changes nothing.
#[utoipa::path(post, path = "/api/v1/ami/events", tag = "outages", request_body = Vec<MeterEventBody>,
    security(("bearer" = [])),
    responses((status = 200, body = AmiReport), (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn meter_events(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<AmiReport>> {
    use bureau_app::grid::ami;
    let csv = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv"));
    let err = |e: bureau_app::AppError| ApiError::new(e, user.lang);
    let rows = if csv {
        ami::read_csv(&body).map_err(err)?
    } else {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            Many(Vec<ami::MeterEventInput>),
            One(ami::MeterEventInput),
        }
        let parsed: OneOrMany = serde_json::from_slice(&body).map_err(|e| {
            err(bureau_app::AppError::Invalid(vec![bureau_domain::error::FieldError::invalid(
                "body",
                format!("请求内容不是有效的电表事件JSON：{e}"),
                format!("the body is not meter events in JSON: {e}"),
            )]))
        })?;
        let list = match parsed {
            OneOrMany::Many(v) => v,
            OneOrMany::One(e) => vec![e],
        };
        list.into_iter().enumerate().map(|(i, e)| (i as u64 + 1, Ok(e))).collect()
    };
    let a = &user.actor;
    let r = ami::record_events(&state.store, &state.grid, a, &a.bureau_id, rows, ops::now())
        .await
        .map_err(err)?;
    Ok(Json(AmiReport {
        rows: r.rows,
        new: r.new,
        duplicates: r.duplicates,
        rejected: r
            .rejected
            .iter()
            .map(|x| super::dto::RejectedRow {
                line: x.line,
                field: x.field.clone(),
                code: x.code.clone(),
                message: x.message.get(user.lang).to_string(),
            })
            .collect(),
        calls: r.calls,
        restored: r.restored.iter().map(|x| serde_json::to_value(x).unwrap_or(Value::Null)).collect(),
    }))
}

/// The stored capacity limits of the feeders (by head branch), used by every ring-transfer plan.
#[utoipa::path(get, path = "/api/v1/grid/feeder-limits", tag = "grid", security(("bearer" = [])),
    responses((status = 200, description = "bureau_id, branch_id, capacity_kw, updated_at, updated_by", body = Object),
              (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn feeder_limits(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
) -> ApiResult<Json<Value>> {
    let a = &user.actor;
    bureau_app::grid::limits::feeder_limits(&state.store, a, &a.bureau_id)
        .await
        .map(|x| json(&x))
        .map_err(|e| ApiError::new(e, user.lang))
}

#[derive(Deserialize, ToSchema)]
pub struct FeederLimitRequest {
    /// The feeder's capacity, kW (> 0).
    pub capacity_kw: f64,
}

/// Sets the capacity of the feeder whose head branch (the branch leaving the source) is `branch`.
#[utoipa::path(put, path = "/api/v1/grid/feeder-limits/{branch}", tag = "grid", params(("branch" = String, Path)),
    request_body = FeederLimitRequest, security(("bearer" = [])),
    responses((status = 200, body = Object), (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn set_feeder_limit(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(branch): Path<String>,
    body: Result<Json<FeederLimitRequest>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(r) = body.map_err(|e| bad_json(e, user.lang))?;
    let a = &user.actor;
    bureau_app::grid::limits::set_feeder_limit(
        &state.store,
        &state.grid,
        a,
        &a.bureau_id,
        branch.trim(),
        r.capacity_kw,
        ops::now(),
    )
    .await
    .map(|x| json(&x))
    .map_err(|e| ApiError::new(e, user.lang))
}

/// Removes a feeder's limit (it becomes unlimited).
#[utoipa::path(delete, path = "/api/v1/grid/feeder-limits/{branch}", tag = "grid", params(("branch" = String, Path)),
    security(("bearer" = [])),
    responses((status = 204), (status = 404, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn remove_feeder_limit(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(branch): Path<String>,
) -> ApiResult<StatusCode> {
    let a = &user.actor;
    bureau_app::grid::limits::remove_feeder_limit(&state.store, a, &a.bureau_id, branch.trim())
        .await
        .map(|_| StatusCode::NO_CONTENT)
        .map_err(|e| ApiError::new(e, user.lang))
}
