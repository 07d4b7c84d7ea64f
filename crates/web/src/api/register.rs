//! The register through the API: customer search and records, reading books, staff, organisation,
//! CSV import and export.

use super::dto::*;
use crate::auth::ApiStaff;
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use bureau_app::register as reg;
use bureau_app::AppError;
use bureau_domain::error::FieldError;
use bureau_domain::i18n::Lang;
use serde::Deserialize;

/// A query string that did not parse (e.g. `limit=abc`): 422 naming the problem.
pub fn bad_query(e: axum::extract::rejection::QueryRejection, lang: Lang) -> ApiError {
    let text = e.body_text();
    ApiError::new(
        AppError::Invalid(vec![FieldError::invalid(
            "query",
            format!("查询参数不正确：{text}"),
            format!("bad query parameters: {text}"),
        )]),
        lang,
    )
}

/// A JSON body that did not parse: 422 naming the problem, never a bare 400 text.
pub fn bad_json(e: axum::extract::rejection::JsonRejection, lang: Lang) -> ApiError {
    let text = e.body_text();
    ApiError::new(
        AppError::Invalid(vec![FieldError::invalid(
            "body",
            format!("请求内容不是有效的JSON：{text}"),
            format!("the body is not valid JSON: {text}"),
        )]),
        lang,
    )
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct SearchParams {
    /// Account number, or part of a name, phone number or address. Empty finds nothing.
    #[serde(default)]
    pub q: String,
    /// At most this many (1–200, default 20).
    pub limit: Option<u32>,
}

/// The counter's search: by account number, name, phone or address.
#[utoipa::path(get, path = "/api/v1/customers", tag = "register", params(SearchParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<Customer>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn search_customers(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    p: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<Customer>>> {
    let Query(p) = p.map_err(|e| bad_query(e, user.lang))?;
    let found = reg::search_customers(&state.store, &user.actor, &p.q, p.limit.unwrap_or(20))
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(found.iter().map(Customer::from).collect()))
}

/// Opens a new account.
#[utoipa::path(post, path = "/api/v1/customers", tag = "register", request_body = NewCustomer, security(("bearer" = [])),
    responses((status = 201, body = Customer), (status = 409, description = "the account exists", body = ErrorResponse),
              (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn create_customer(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: Result<Json<NewCustomer>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<Customer>)> {
    let Json(new) = body.map_err(|e| bad_json(e, user.lang))?;
    let c = reg::create_customer(&state.store, &user.actor, &new.into())
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok((StatusCode::CREATED, Json(Customer::from(&c))))
}

/// One customer with meters (and their exchange history), contracts and latest readings.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "register", params(("id" = String, Path, description = "account number")),
    security(("bearer" = [])),
    responses((status = 200, body = CustomerRecord), (status = 404, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
pub async fn get_customer(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
) -> ApiResult<Json<CustomerRecord>> {
    let r = reg::customer_record(&state.store, &user.actor, &id)
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(CustomerRecord {
        customer: Customer::from(&r.customer),
        meters: r.meters.iter().map(Meter::from).collect(),
        contracts: r.contracts.iter().map(Contract::from).collect(),
        readings: r.readings.iter().map(Reading::from).collect(),
    }))
}

/// Exchanges the customer's active meter (换表): the old meter ends with its final reading, the new one
/// starts; both stay in the history.
#[utoipa::path(post, path = "/api/v1/customers/{id}/meter-exchange", tag = "register",
    params(("id" = String, Path, description = "account number")), request_body = MeterExchange, security(("bearer" = [])),
    responses((status = 201, body = Meter), (status = 422, body = ErrorResponse), (status = 404, body = ErrorResponse),
              (status = 403, body = ErrorResponse)))]
pub async fn exchange_meter(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
    body: Result<Json<MeterExchange>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<Meter>)> {
    let Json(x) = body.map_err(|e| bad_json(e, user.lang))?;
    let m = reg::exchange_meter(&state.store, &user.actor, &id, &x.into())
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok((StatusCode::CREATED, Json(Meter::from(&m))))
}

/// Reading books (抄表段) of the bureaus the caller may see.
#[utoipa::path(get, path = "/api/v1/books", tag = "register", security(("bearer" = [])),
    responses((status = 200, body = Vec<ReadingBook>), (status = 401, body = ErrorResponse)))]
pub async fn list_books(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
) -> ApiResult<Json<Vec<ReadingBook>>> {
    user.actor.require_any(reg::READERS).map_err(|e| ApiError::new(e, user.lang))?;
    let books =
        state.store.list_books(&user.actor.scope).await.map_err(|e| ApiError::new(e.into(), user.lang))?;
    Ok(Json(books.iter().map(ReadingBook::from).collect()))
}

/// Staff of the bureaus the caller may see (administrators and managers).
#[utoipa::path(get, path = "/api/v1/staff", tag = "register", security(("bearer" = [])),
    responses((status = 200, body = Vec<StaffMember>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn list_staff(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
) -> ApiResult<Json<Vec<StaffMember>>> {
    user.actor.require_any(&[bureau_domain::org::Role::Manager]).map_err(|e| ApiError::new(e, user.lang))?;
    let staff =
        state.store.list_staff(&user.actor.scope).await.map_err(|e| ApiError::new(e.into(), user.lang))?;
    Ok(Json(staff.iter().map(StaffMember::from).collect()))
}

/// The organisation tree (every unit; names are not confidential).
#[utoipa::path(get, path = "/api/v1/org-units", tag = "register", security(("bearer" = [])),
    responses((status = 200, body = Vec<OrgUnit>), (status = 401, body = ErrorResponse)))]
pub async fn list_org_units(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
) -> ApiResult<Json<Vec<OrgUnit>>> {
    let units = state.store.list_org_units().await.map_err(|e| ApiError::new(e.into(), user.lang))?;
    Ok(Json(units.iter().map(OrgUnit::from).collect()))
}

fn kind_error(kind: &str, lang: Lang, known: &[&str]) -> ApiError {
    ApiError::new(
        AppError::Invalid(vec![FieldError::invalid(
            "kind",
            format!("不支持的数据类型“{kind}”，可用：{}", known.join(", ")),
            format!("unknown kind '{kind}'; known: {}", known.join(", ")),
        )]),
        lang,
    )
}

/// Imports a CSV file (UTF-8 with a header row) of `org`, `staff`, `books`, `customers`, `meters`
/// or `contracts`. Good rows are kept; each rejected row is listed with its line, field and reason.
#[utoipa::path(post, path = "/api/v1/import/{kind}", tag = "register",
    params(("kind" = String, Path, description = "org | staff | books | customers | meters | contracts")),
    request_body(content = String, content_type = "text/csv"), security(("bearer" = [])),
    responses((status = 200, body = ImportReport), (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn import_csv(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(kind): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<ImportReport>> {
    let Some(k) = reg::ImportKind::parse(&kind) else {
        let known: Vec<&str> = reg::ImportKind::ALL.iter().map(|k| k.code()).collect();
        return Err(kind_error(&kind, user.lang, &known));
    };
    let report = reg::import(&state.store, &user.actor, k, body.as_ref())
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(ImportReport::new(&report, user.lang)))
}

/// Exports `customers` or `books` as CSV, in the columns the import reads.
#[utoipa::path(get, path = "/api/v1/export/{kind}", tag = "register",
    params(("kind" = String, Path, description = "customers | books")), security(("bearer" = [])),
    responses((status = 200, content_type = "text/csv", body = String), (status = 422, body = ErrorResponse)))]
pub async fn export_csv(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(kind): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let Some(k) = reg::ExportKind::parse(&kind) else {
        return Err(kind_error(&kind, user.lang, &["customers", "books"]));
    };
    let mut out = Vec::new();
    reg::export(&state.store, &user.actor, k, &mut out).await.map_err(|e| ApiError::new(e, user.lang))?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out))
}
