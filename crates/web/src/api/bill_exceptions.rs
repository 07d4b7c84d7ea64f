//! Clearing the reading exceptions queue (异常处理) through the API: the queue with each
//! exception's resolution in force, a customer's exceptions and resolutions of a period, and
//! resolving one (confirm, correct, estimate; optionally billing the customer at once).

use super::billing::{tariffs, Bill};
use super::register::bad_json;
use crate::auth::ApiStaff;
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use bureau_app::billing::exceptions::{self, ResolveDraft};
use bureau_domain::i18n::Lang;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A resolution as recorded: who, when, why, and the reading it put beside the original.
#[derive(Serialize, ToSchema)]
pub struct Resolution {
    pub customer_id: String,
    pub period: String,
    pub seq: i64,
    /// `confirm`, `correct` or `estimate`.
    pub action: String,
    pub action_name: String,
    /// The exception kind it cleared.
    pub kind: String,
    pub meter_id: Option<String>,
    pub read_on: Option<String>,
    /// `actual` (a correction) or `estimated`.
    pub reading_kind: Option<String>,
    /// The corrected or estimated register value (before the multiplier).
    pub total: Option<String>,
    pub reason: String,
    pub resolved_by: String,
    /// Unix seconds.
    pub resolved_at: i64,
}

impl Resolution {
    pub fn new(r: &bureau_store::ExceptionResolution, lang: Lang) -> Resolution {
        Resolution {
            customer_id: r.customer_id.clone(),
            period: r.period.clone(),
            seq: r.seq,
            action: r.action.code().into(),
            action_name: r.action.name(lang).into(),
            kind: r.kind.code().into(),
            meter_id: r.reading.as_ref().map(|x| x.meter_id.clone()),
            read_on: r.reading.as_ref().map(|x| x.read_on.clone()),
            reading_kind: r.reading.as_ref().map(|x| x.kind.code().to_string()),
            total: r.reading.as_ref().map(|x| x.total.to_string()),
            reason: r.reason.clone(),
            resolved_by: r.resolved_by.clone(),
            resolved_at: r.resolved_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct QueueItem {
    pub customer_id: String,
    pub period: String,
    pub kind: String,
    pub kind_name: String,
    pub meter_id: Option<String>,
    pub read_on: Option<String>,
    pub detail: String,
    /// The resolution in force (resolved, waiting for the next bill run), if any.
    pub resolution: Option<Resolution>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct QueueParams {
    /// `YYYY-MM`.
    pub period: String,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// The exceptions queue of a period: open exceptions (customers without a bill) with the
/// resolution in force of each.
#[utoipa::path(get, path = "/api/v1/reading-exceptions/queue", tag = "billing", params(QueueParams),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<QueueItem>), (status = 422, body = ErrorResponse)))]
pub async fn queue(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Query(p): Query<QueueParams>,
) -> ApiResult<Json<Vec<QueueItem>>> {
    let items =
        exceptions::queue(&state.store, &user.actor, &p.period, p.after.as_deref(), p.limit.unwrap_or(100))
            .await
            .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(
        items
            .iter()
            .map(|i| QueueItem {
                customer_id: i.exception.customer_id.clone(),
                period: i.exception.period.clone(),
                kind: i.exception.kind.code().into(),
                kind_name: i.exception.kind.name(user.lang).into(),
                meter_id: i.exception.meter_id.clone(),
                read_on: i.exception.read_on.clone(),
                detail: i.exception.detail.get(user.lang).into(),
                resolution: i.resolution.as_ref().map(|r| Resolution::new(r, user.lang)),
            })
            .collect(),
    ))
}

/// What staff send to resolve an exception; register values and dates as strings.
#[derive(Deserialize, ToSchema)]
pub struct ResolveBody {
    /// `confirm` (the reading is real), `correct` (a corrected reading, kept beside the original)
    /// or `estimate` (from the previous period, 供电营业规则 Art. 83).
    pub action: String,
    /// Which exception (kind code); default the latest of the period.
    pub kind: Option<String>,
    /// Why (recorded with who and when).
    pub reason: String,
    /// A correction's register values (before the multiplier).
    pub total: Option<String>,
    pub peak: Option<String>,
    pub flat: Option<String>,
    pub valley: Option<String>,
    pub max_demand: Option<String>,
    pub kvarh: Option<String>,
    /// The corrected reading's day when the exception names none (a missing reading).
    pub read_on: Option<String>,
    /// Bill the customer for the period now (default); false leaves it to the next bill run.
    pub bill_now: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct Resolved {
    pub resolution: Resolution,
    /// The bill issued (when billed now).
    pub bill: Option<Bill>,
}

/// Resolves a customer's held reading for a period. Counter clerks and managers.
#[utoipa::path(post, path = "/api/v1/customers/{id}/exceptions/{period}/resolve", tag = "billing",
    params(("id" = String, Path, description = "account number"), ("period" = String, Path, description = "YYYY-MM")),
    request_body = ResolveBody, security(("bearer" = [])),
    responses((status = 200, body = Resolved), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse),
              (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn resolve(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path((id, period)): Path<(String, String)>,
    body: Result<Json<ResolveBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Resolved>> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let draft = ResolveDraft {
        action: b.action,
        kind: b.kind,
        reason: b.reason,
        total: b.total,
        peak: b.peak,
        flat: b.flat,
        valley: b.valley,
        max_demand: b.max_demand,
        kvarh: b.kvarh,
        read_on: b.read_on,
        bill_now: b.bill_now.unwrap_or(true),
    };
    let r = exceptions::resolve(
        &state.store,
        &user.actor,
        tariffs(),
        &id,
        &period,
        &draft,
        jiff::Zoned::now().date(),
    )
    .await
    .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(Resolved {
        resolution: Resolution::new(&r.resolution, user.lang),
        bill: r.bill.as_ref().map(|b| Bill::new(b, user.lang)),
    }))
}

/// Every resolution of a customer's period, oldest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/exceptions/{period}/resolutions", tag = "billing",
    params(("id" = String, Path, description = "account number"), ("period" = String, Path, description = "YYYY-MM")),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<Resolution>), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn resolutions(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path((id, period)): Path<(String, String)>,
) -> ApiResult<Json<Vec<Resolution>>> {
    let list = exceptions::history(&state.store, &user.actor, &id, &period)
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(list.iter().map(|r| Resolution::new(r, user.lang)).collect()))
}
