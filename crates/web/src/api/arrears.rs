//! The arrears workflow and the fee-collection reports through the API: the daily pass (for managers
//! who run it by hand), the open cases with their next step and deadline, the disconnection and
//! reconnection orders, a crew's report that an order was carried out; the collection rate by
//! month, department or book, aged receivables and the customers in arrears, each as JSON or CSV.

use super::register::{bad_json, bad_query};
use crate::auth::ApiStaff;
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use bureau_app::arrears;
use bureau_app::collection::{self, GroupBy};
use bureau_app::AppError;
use bureau_domain::arrears::ArrearsRules;
use bureau_domain::calendar::beijing;
use bureau_domain::error::FieldError;
use bureau_domain::i18n::Lang;
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

type JsonBody<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;
type QueryOf<T> = Result<Query<T>, axum::extract::rejection::QueryRejection>;

fn json<T: serde::Serialize>(v: &T) -> Json<Value> {
    Json(serde_json::to_value(v).unwrap_or(Value::Null))
}

/// A date field (`YYYY-MM-DD`), or today in Beijing when absent.
pub fn date_or_today(field: &str, text: Option<&str>) -> Result<jiff::civil::Date, FieldError> {
    match text.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(beijing::date_of(jiff::Timestamp::now())),
        Some(t) => t.parse().map_err(|_| {
            FieldError::invalid(
                field,
                format!("日期“{t}”无效，应为 YYYY-MM-DD"),
                format!("'{t}' is not a date (YYYY-MM-DD)"),
            )
        }),
    }
}

/// Answers JSON, or CSV with `format=csv`.
pub(crate) fn json_or_csv<T: serde::Serialize>(
    format: Option<&str>,
    value: &T,
    file: &str,
    csv: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
    lang: Lang,
) -> ApiResult<Response> {
    match format {
        None | Some("json") => Ok(json(value).into_response()),
        Some("csv") => {
            let mut out = Vec::new();
            csv(&mut out).map_err(|io| {
                ApiError::new(AppError::Store(bureau_store::StoreError::Database(io.to_string())), lang)
            })?;
            let disposition = format!("attachment; filename=\"{file}\"");
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                out,
            )
                .into_response())
        }
        Some(other) => Err(ApiError::new(
            FieldError::invalid(
                "format",
                format!("格式“{other}”无效，应为 json 或 csv"),
                format!("format '{other}' is unknown; use json or csv"),
            )
            .into(),
            lang,
        )),
    }
}

/// Runs the pass as of a day.
#[derive(Deserialize, ToSchema, Default)]
pub struct PassBody {
    /// YYYY-MM-DD: run as of 08:00 Beijing that day (messages due later that day are scheduled);
    /// absent: now.
    pub on: Option<String>,
}

/// The arrears pass (催费/停电/复电): opens cases, sends reminders and notices through the outbox,
/// issues disconnection and reconnection orders. Idempotent: a second run the same day issues nothing twice.
#[utoipa::path(post, path = "/api/v1/arrears/run", tag = "arrears", request_body = PassBody, security(("bearer" = [])),
    responses((status = 200, body = Object, description = "{customers, opened, closed, taken: [{customer_id, case_no, step, at, due_at}]}"),
              (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn run(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: JsonBody<PassBody>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let e = |e| ApiError::new(e, user.lang);
    let now = match b.on.as_deref() {
        Some(d) => arrears::pass_instant(date_or_today("on", Some(d)).map_err(|f| e(f.into()))?),
        None => jiff::Timestamp::now(),
    };
    let r = arrears::run_pass(&state.store, &user.actor, ArrearsRules::builtin(), now).await.map_err(e)?;
    Ok(json(&r))
}

/// The open arrears cases with their next step and deadline, and the disconnection/reconnection
/// orders with their deadlines (open ones first).
#[utoipa::path(get, path = "/api/v1/arrears/cases", tag = "arrears", security(("bearer" = [])),
    responses((status = 200, body = Object, description = "{cases: [...], orders: [...]}"),
              (status = 403, body = ErrorResponse)))]
pub async fn cases(State(state): State<AppState>, ApiStaff(user): ApiStaff) -> ApiResult<Json<Value>> {
    let (cases, orders) = arrears::cases(&state.store, &user.actor, jiff::Timestamp::now())
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(json(&serde_json::json!({"cases": cases, "orders": orders})))
}

/// When the order was carried out.
#[derive(Deserialize, ToSchema, Default)]
pub struct DoneBody {
    /// RFC 3339; absent: now.
    pub at: Option<String>,
}

/// A crew reports a `disconnect` or `reconnect` order carried out. A reconnection closes the case.
#[utoipa::path(post, path = "/api/v1/arrears/{customer_id}/orders/{order}/done", tag = "arrears", request_body = DoneBody,
    params(("customer_id" = String, Path), ("order" = String, Path, description = "disconnect or reconnect")),
    security(("bearer" = [])),
    responses((status = 200, body = Object, description = "the case with its steps"),
              (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn done(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path((customer_id, order)): Path<(String, String)>,
    body: JsonBody<DoneBody>,
) -> ApiResult<Json<Value>> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let e = |e| ApiError::new(e, user.lang);
    let at = match b.at.as_deref() {
        Some(t) => beijing::parse_rfc3339("at", t).map_err(|f| e(f.into()))?,
        None => jiff::Timestamp::now(),
    };
    let c =
        arrears::complete_order(&state.store, &user.actor, ArrearsRules::builtin(), &customer_id, &order, at)
            .await
            .map_err(e)?;
    Ok(json(&c))
}

#[derive(Deserialize, IntoParams)]
pub struct RateParams {
    /// First billing month, YYYY-MM.
    pub from: String,
    /// Last billing month, YYYY-MM (default: `from`).
    pub to: Option<String>,
    /// month (default), department or book.
    pub by: Option<String>,
    /// The books as they stood at the end of this day, YYYY-MM-DD (default: the last day of `to`).
    pub cutoff: Option<String>,
    /// json (default) or csv.
    pub format: Option<String>,
}

/// The collection rate (电费回收率) of the bills of the months, by month (monthly and cumulative),
/// department or reading book, from the ledger as it stood at the cut-off.
#[utoipa::path(get, path = "/api/v1/collection/rates", tag = "collection", params(RateParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "{from, to, by, cut_off, rows: [{key, name, billed, collected, outstanding, bills, percent, cumulative}], total}"),
              (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn rates(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    p: QueryOf<RateParams>,
) -> ApiResult<Response> {
    let Query(p) = p.map_err(|e| bad_query(e, user.lang))?;
    let lang = user.lang;
    let e = |e| ApiError::new(e, lang);
    let (from, to) =
        collection::parse_months(&p.from, p.to.as_deref()).map_err(|f| e(AppError::Invalid(f)))?;
    let by = GroupBy::parse(p.by.as_deref()).map_err(|f| e(f.into()))?;
    let cut_off = match p.cutoff.as_deref() {
        Some(d) => collection::end_of_day(date_or_today("cutoff", Some(d)).map_err(|f| e(f.into()))?),
        None => collection::default_cut_off(to),
    };
    let r =
        collection::collection_rates(&state.store, &user.actor, from, to, by, cut_off).await.map_err(e)?;
    json_or_csv(p.format.as_deref(), &r, "collection-rates.csv", |out| collection::rates_csv(&r, out), lang)
}

#[derive(Deserialize, IntoParams)]
pub struct DayParams {
    /// YYYY-MM-DD, the end of that day (default: today).
    pub on: Option<String>,
    /// json (default) or csv.
    pub format: Option<String>,
}

/// Aged receivables (应收账款账龄): open bills by days past due at the end of the day.
#[utoipa::path(get, path = "/api/v1/collection/aging", tag = "collection", params(DayParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "{on, buckets: [{label_zh, label_en, amount, bills}], total, late_fees, unbilled, credit}"),
              (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn aging(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    p: QueryOf<DayParams>,
) -> ApiResult<Response> {
    let Query(p) = p.map_err(|e| bad_query(e, user.lang))?;
    let lang = user.lang;
    let e = |e| ApiError::new(e, lang);
    let on = date_or_today("on", p.on.as_deref()).map_err(|f| e(f.into()))?;
    let r = collection::aged_receivables(&state.store, &user.actor, on).await.map_err(e)?;
    json_or_csv(p.format.as_deref(), &r, "aged-receivables.csv", |out| collection::aging_csv(&r, out), lang)
}

/// The customers in arrears (欠费客户) at the end of the day, largest arrears first.
#[utoipa::path(get, path = "/api/v1/collection/arrears", tag = "collection", params(DayParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "[{customer_id, name, address, phone, class, book_id, department, arrears, oldest_due, days_overdue, overdue_bills}]"),
              (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn in_arrears(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    p: QueryOf<DayParams>,
) -> ApiResult<Response> {
    let Query(p) = p.map_err(|e| bad_query(e, user.lang))?;
    let lang = user.lang;
    let e = |e| ApiError::new(e, lang);
    let on = date_or_today("on", p.on.as_deref()).map_err(|f| e(f.into()))?;
    let rows = collection::customers_in_arrears(&state.store, &user.actor, on).await.map_err(e)?;
    json_or_csv(
        p.format.as_deref(),
        &rows,
        "customers-in-arrears.csv",
        |out| collection::arrears_csv(&rows, out),
        lang,
    )
}
