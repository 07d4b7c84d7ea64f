//! The government-fund remittance report (政府性基金及附加解缴) through the API, as JSON or CSV.

use super::arrears::json_or_csv;
use super::billing::tariffs;
use super::register::bad_query;
use crate::auth::ApiStaff;
use crate::error::{ApiError, ErrorResponse};
use crate::AppState;
use axum::extract::{Query, State};
use axum::response::Response;
use bureau_app::remittance;
use bureau_app::AppError;
use bureau_domain::error::FieldError;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct FundParams {
    /// The (first) billing month, YYYY-MM.
    pub period: Option<String>,
    /// The last billing month, YYYY-MM (default: `period`).
    pub to: Option<String>,
    /// json (default) or csv.
    pub format: Option<String>,
}

/// The government funds and surcharges (政府性基金及附加) contained in the live bills of the months,
/// for remittance: per fund and rate (kWh subject to it, amount), per tariff and per month, with the
/// bills' own funds beside and the per-bill rounding difference. Managers and counter clerks; the
/// bills of the caller's bureaus.
#[utoipa::path(get, path = "/api/v1/billing/funds", tag = "billing", params(FundParams), security(("bearer" = [])),
    responses((status = 200, body = Object, description = "{from, to, funds: [{code, name_zh, name_en, rate, kwh, amount, unverified}], tariffs: [{tariff_id, name_zh, name_en, bills, kwh, amount, billed_funds, difference, funds}], months, unpriced, bills, kwh, amount, billed_funds, unpriced_funds, difference}; CSV with format=csv"),
              (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn funds(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    p: Result<Query<FundParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = p.map_err(|e| bad_query(e, user.lang))?;
    let lang = user.lang;
    let e = |e: AppError| ApiError::new(e, lang);
    let period = p.period.as_deref().map(str::trim).unwrap_or("");
    if period.is_empty() {
        return Err(e(FieldError::required("period").into()));
    }
    let (from, to) =
        remittance::parse_periods(period, p.to.as_deref()).map_err(|f| e(AppError::Invalid(f)))?;
    let r = remittance::fund_remittance(&state.store, &user.actor, tariffs(), from, to).await.map_err(e)?;
    let file = format!("funds-{}.csv", remittance::months_label(&r));
    json_or_csv(p.format.as_deref(), &r, &file, |out| remittance::remittance_csv(&r, out), lang)
}
