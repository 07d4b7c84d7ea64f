//! Billing through the API: bill quotes (电费试算), the bill run, bills and their correction (退补),
//! the reading exceptions queue and reading imports.

use super::dto::ImportReport;
use super::register::bad_json;
use crate::auth::ApiStaff;
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::Json;
use bureau_app::billing;
use bureau_domain::tariff::{BillPeriod, QuoteRequest, TariffBook};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use utoipa::ToSchema;

/// The tariff catalogue shipped with the program.
pub fn tariffs() -> &'static TariffBook {
    static BOOK: OnceLock<TariffBook> = OnceLock::new();
    BOOK.get_or_init(TariffBook::builtin)
}

/// The quantities of a quote; decimal numbers as strings or numbers.
#[derive(Deserialize, ToSchema)]
pub struct QuoteBody {
    /// Tariff id, e.g. `hlj-residential`.
    pub tariff: String,
    /// `YYYY-MM`.
    pub period: String,
    #[schema(value_type = String)]
    pub kwh: Decimal,
    #[schema(value_type = Option<String>)]
    pub critical_kwh: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub peak_kwh: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub flat_kwh: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub valley_kwh: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub capacity_kva: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub max_demand_kw: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub kvarh: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub pf_standard: Option<Decimal>,
    #[schema(value_type = Option<String>)]
    pub ytd_kwh: Option<Decimal>,
}

impl From<QuoteBody> for QuoteRequest {
    fn from(b: QuoteBody) -> Self {
        QuoteRequest {
            tariff: b.tariff,
            period: b.period,
            kwh: b.kwh,
            critical_kwh: b.critical_kwh,
            peak_kwh: b.peak_kwh,
            flat_kwh: b.flat_kwh,
            valley_kwh: b.valley_kwh,
            capacity_kva: b.capacity_kva,
            max_demand_kw: b.max_demand_kw,
            kvarh: b.kvarh,
            pf_standard: b.pf_standard,
            ytd_kwh: b.ytd_kwh,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct QuoteLine {
    pub code: String,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    /// Yuan, two decimals.
    pub amount: String,
}

/// `{"tariff", "period", "lines": [...], "total": "169.50"}`, as `bureau bill quote --json` prints.
#[derive(Serialize, ToSchema)]
pub struct Quote {
    pub tariff: String,
    pub period: String,
    pub lines: Vec<QuoteLine>,
    pub total: String,
}

/// Bill trial calculation (电费试算): a month's bill for the quantities given; nothing is stored.
#[utoipa::path(post, path = "/api/v1/bills/quote", tag = "billing", request_body = QuoteBody, security(("bearer" = [])),
    responses((status = 200, body = Quote), (status = 422, body = ErrorResponse), (status = 401, body = ErrorResponse)))]
pub async fn quote(
    ApiStaff(user): ApiStaff,
    body: Result<Json<QuoteBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Quote>> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let q = billing::quote(tariffs(), &b.into(), user.lang).map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(Quote {
        tariff: q.tariff,
        period: q.period.to_string(),
        lines: q
            .lines
            .into_iter()
            .map(|l| QuoteLine {
                code: l.code,
                description: l.description,
                quantity: l.quantity.to_string(),
                unit_price: l.unit_price.to_string(),
                amount: l.amount.to_string(),
            })
            .collect(),
        total: q.total.to_string(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct RunBody {
    /// `YYYY-MM`.
    pub period: String,
    /// Only this reading book.
    pub book: Option<String>,
    /// Estimate missing readings from the previous period (供电营业规则 Art. 83).
    #[serde(default)]
    pub estimate_missing: bool,
    /// Customers per chunk (one read pass and one write transaction each), 1 to 100000; 5000 when
    /// absent.
    pub chunk: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct RunSummary {
    pub period: String,
    pub customers: u64,
    /// Bills this run issued.
    pub bills: u64,
    pub kwh: String,
    pub total: String,
    /// New exceptions this run recorded.
    pub exceptions: u64,
    pub estimates: u64,
    /// The period after the run.
    pub period_bills: u64,
    pub period_kwh: String,
    pub period_total: String,
    pub open_exceptions: u64,
}

impl From<&billing::RunSummary> for RunSummary {
    fn from(s: &billing::RunSummary) -> Self {
        RunSummary {
            period: s.period.clone(),
            customers: s.customers,
            bills: s.bills,
            kwh: s.kwh.normalize().to_string(),
            total: s.total.to_string(),
            exceptions: s.exceptions,
            estimates: s.estimates,
            period_bills: s.period_totals.bills,
            period_kwh: s.period_totals.kwh.normalize().to_string(),
            period_total: s.period_totals.total.to_string(),
            open_exceptions: s.period_totals.open_exceptions,
        }
    }
}

/// A bill run started from the web: it runs in the background; poll it until `state` is no
/// longer `running`.
#[derive(Serialize, ToSchema)]
pub struct RunJob {
    pub id: String,
    pub period: String,
    pub book: Option<String>,
    /// `running`, `done` or `failed`.
    pub state: String,
    pub started_by: String,
    /// Unix seconds.
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// Customers computed so far, of those without a bill when the run started.
    pub customers_done: u64,
    pub customers_total: u64,
    /// How many times a server took the job over from a process that stopped (killed, crashed).
    pub takeovers: u64,
    /// Live bills and open exceptions of the period (read from the database as the run writes).
    pub period_bills: u64,
    pub open_exceptions: u64,
    /// The run's summary once done.
    pub summary: Option<RunSummary>,
    /// Why it failed.
    pub error: Option<String>,
}

impl RunJob {
    pub async fn new(
        state: &AppState,
        user: &crate::auth::StaffUser,
        j: &billing::jobs::JobStatus,
    ) -> Result<RunJob, ApiError> {
        let totals = state
            .store
            .period_totals(&user.actor.scope, &j.period)
            .await
            .map_err(|e| ApiError::new(e.into(), user.lang))?;
        Ok(RunJob {
            id: j.id.clone(),
            period: j.period.clone(),
            book: j.book_id.clone(),
            state: match j.state {
                billing::jobs::JobState::Running => "running",
                billing::jobs::JobState::Done => "done",
                billing::jobs::JobState::Failed => "failed",
            }
            .into(),
            started_by: j.started_by.clone(),
            started_at: j.started_at,
            finished_at: j.finished_at,
            customers_done: j.customers_done,
            customers_total: j.customers_total,
            takeovers: j.takeovers,
            period_bills: totals.bills,
            open_exceptions: totals.open_exceptions,
            summary: j.summary.as_ref().map(RunSummary::from),
            error: j.error.as_ref().map(|t| t.get(user.lang).to_string()),
        })
    }
}

/// Starts the period's bill run in the background (idempotent: a second run issues nothing new)
/// and answers the job to poll; refused (409) while a run of the period is in progress. Counter
/// clerks and managers.
#[utoipa::path(post, path = "/api/v1/bill-runs", tag = "billing", request_body = RunBody, security(("bearer" = [])),
    responses((status = 202, body = RunJob), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse),
              (status = 403, body = ErrorResponse)))]
pub async fn run(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: Result<Json<RunBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(axum::http::StatusCode, Json<RunJob>)> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let period = BillPeriod::parse("period", &b.period).map_err(|e| ApiError::new(e.into(), user.lang))?;
    let mut opts = billing::RunOptions::new(period, jiff::Zoned::now().date());
    opts.book_id = b.book.filter(|s| !s.trim().is_empty());
    opts.estimate_missing = b.estimate_missing;
    if let Some(chunk) = b.chunk {
        if !(1..=100_000).contains(&chunk) {
            let e = bureau_domain::error::FieldError::new(
                "chunk",
                "range",
                "每批客户数应在 1 到 100000 之间",
                "customers per chunk must be between 1 and 100000",
            );
            return Err(ApiError::new(bureau_app::AppError::Invalid(vec![e]), user.lang));
        }
        opts.chunk = chunk;
    }
    let job = state
        .bill_runs
        .start(&state.store, &user.actor, tariffs(), opts)
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(RunJob::new(&state, &user, &job).await?)))
}

/// A bill run job: its progress, and its summary once done.
#[utoipa::path(get, path = "/api/v1/bill-runs/jobs/{id}", tag = "billing",
    params(("id" = String, Path, description = "job id")), security(("bearer" = [])),
    responses((status = 200, body = RunJob), (status = 404, body = ErrorResponse)))]
pub async fn run_job(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
) -> ApiResult<Json<RunJob>> {
    let job =
        state.bill_runs.get(&state.store, &id).await.map_err(|e| ApiError::new(e, user.lang))?.ok_or_else(
            || ApiError::new(bureau_app::AppError::not_found("bill run", id.clone()), user.lang),
        )?;
    Ok(Json(RunJob::new(&state, &user, &job).await?))
}

#[derive(Serialize, ToSchema)]
pub struct BillLine {
    pub line_no: i64,
    pub code: String,
    pub description: String,
    pub quantity: String,
    pub unit: String,
    pub unit_price: String,
    pub amount: String,
    /// The tier (第几档) of a tier line.
    pub tier: Option<i64>,
    /// kWh counted in this tier so far in the counter period.
    pub ytd_kwh: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Bill {
    pub customer_id: String,
    pub period: String,
    pub revision: i64,
    /// `draft`, `issued`, `partly_paid`, `paid`, `overdue` or `cancelled`.
    pub state: String,
    pub tariff_id: String,
    pub start_on: String,
    pub end_on: String,
    pub meter_id: String,
    pub multiplier: i64,
    pub prev_read_on: Option<String>,
    pub curr_read_on: String,
    pub prev_reading: String,
    pub curr_reading: String,
    pub estimated: bool,
    pub kwh: String,
    pub total: String,
    /// Government funds contained in the total.
    pub funds: String,
    pub paid: String,
    pub issued_on: Option<String>,
    pub due_on: Option<String>,
    pub cancel_reason: Option<String>,
    pub lines: Vec<BillLine>,
}

impl Bill {
    pub fn new(b: &bureau_store::StoredBill, lang: bureau_domain::i18n::Lang) -> Bill {
        Bill {
            customer_id: b.customer_id.clone(),
            period: b.period.clone(),
            revision: b.revision,
            state: b.state.code().into(),
            tariff_id: b.tariff_id.clone(),
            start_on: b.start_on.clone(),
            end_on: b.end_on.clone(),
            meter_id: b.meter_id.clone(),
            multiplier: b.multiplier,
            prev_read_on: b.prev_read_on.clone(),
            curr_read_on: b.curr_read_on.clone(),
            prev_reading: b.prev_total.to_string(),
            curr_reading: b.curr_total.to_string(),
            estimated: b.estimated,
            kwh: b.kwh.normalize().to_string(),
            total: b.total.to_string(),
            funds: b.funds.to_string(),
            paid: b.paid.to_string(),
            issued_on: b.issued_on.clone(),
            due_on: b.due_on.clone(),
            cancel_reason: b.cancel_reason.clone(),
            lines: b
                .lines
                .iter()
                .map(|l| BillLine {
                    line_no: l.line_no,
                    code: l.code.clone(),
                    description: l.description.get(lang).to_string(),
                    quantity: l.quantity.to_string(),
                    unit: l.unit.clone(),
                    unit_price: l.unit_price.to_string(),
                    amount: l.amount.to_string(),
                    tier: l.tier,
                    ytd_kwh: l.ytd_kwh.map(|d| d.to_string()),
                })
                .collect(),
        }
    }
}

/// A customer's bills, newest first, every revision (cancelled ones too).
#[utoipa::path(get, path = "/api/v1/customers/{id}/bills", tag = "billing",
    params(("id" = String, Path, description = "account number")), security(("bearer" = [])),
    responses((status = 200, body = Vec<Bill>), (status = 404, body = ErrorResponse)))]
pub async fn bills_of(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<Bill>>> {
    let bills = billing::bills_of(&state.store, &user.actor, &id, 24)
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(bills.iter().map(|b| Bill::new(b, user.lang)).collect()))
}

/// One bill: the live revision of a customer's period.
#[utoipa::path(get, path = "/api/v1/customers/{id}/bills/{period}", tag = "billing",
    params(("id" = String, Path, description = "account number"), ("period" = String, Path, description = "YYYY-MM")),
    security(("bearer" = [])),
    responses((status = 200, body = Bill), (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn get_bill(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path((id, period)): Path<(String, String)>,
) -> ApiResult<Json<Bill>> {
    let (_, b) = billing::bill(&state.store, &user.actor, &id, &period, None)
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(Bill::new(&b, user.lang)))
}

#[derive(Deserialize, ToSchema)]
pub struct CancelBody {
    /// Why (kept on the cancelled revision).
    pub reason: String,
    /// Issue the next revision recomputed from the current readings (退补); default true.
    pub rebill: Option<bool>,
}

/// Cancel-and-rebill (退补): cancels the live revision and issues the next one recomputed from the
/// readings as they are now. Answers the new revision, or `null` when only cancelled.
#[utoipa::path(post, path = "/api/v1/customers/{id}/bills/{period}/cancel", tag = "billing",
    params(("id" = String, Path, description = "account number"), ("period" = String, Path, description = "YYYY-MM")),
    request_body = CancelBody, security(("bearer" = [])),
    responses((status = 200, body = Option<Bill>), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
pub async fn cancel(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path((id, period)): Path<(String, String)>,
    body: Result<Json<CancelBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Option<Bill>>> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let new = billing::cancel_and_rebill(
        &state.store,
        &user.actor,
        tariffs(),
        &id,
        &period,
        &b.reason,
        b.rebill.unwrap_or(true),
        jiff::Zoned::now().date(),
    )
    .await
    .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(new.as_ref().map(|b| Bill::new(b, user.lang))))
}

#[derive(Deserialize, ToSchema)]
pub struct ReissueBody {
    /// Why (kept on the ledger's adjustment).
    pub reason: String,
}

/// Reissues a period whose bill was cancelled without a rebill (作废后重新发行): the next revision,
/// computed from the readings as they are now, and the ledger adjustment of its total. 409 when
/// the period has a live bill.
#[utoipa::path(post, path = "/api/v1/customers/{id}/bills/{period}/reissue", tag = "billing",
    params(("id" = String, Path, description = "account number"), ("period" = String, Path, description = "YYYY-MM")),
    request_body = ReissueBody, security(("bearer" = [])),
    responses((status = 200, body = Bill), (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse),
              (status = 422, body = ErrorResponse)))]
pub async fn reissue(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Path((id, period)): Path<(String, String)>,
    body: Result<Json<ReissueBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Bill>> {
    let Json(b) = body.map_err(|e| bad_json(e, user.lang))?;
    let new = billing::reissue(
        &state.store,
        &user.actor,
        tariffs(),
        &id,
        &period,
        &b.reason,
        jiff::Zoned::now().date(),
    )
    .await
    .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(Bill::new(&new, user.lang)))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ExceptionParams {
    /// `YYYY-MM`.
    pub period: String,
    /// Accounts after this one (paging).
    pub after: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ReadingException {
    pub customer_id: String,
    pub period: String,
    /// `rollover`, `reverse`, `zero`, `jump`, `missing`, `over_estimate`, `tou_mismatch`, `unbillable`.
    pub kind: String,
    pub kind_name: String,
    pub meter_id: Option<String>,
    pub read_on: Option<String>,
    pub detail: String,
}

/// The reading exceptions queue (抄表异常) of a period: customers held instead of billed.
#[utoipa::path(get, path = "/api/v1/reading-exceptions", tag = "billing", params(ExceptionParams), security(("bearer" = [])),
    responses((status = 200, body = Vec<ReadingException>), (status = 422, body = ErrorResponse)))]
pub async fn exceptions(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    Query(p): Query<ExceptionParams>,
) -> ApiResult<Json<Vec<ReadingException>>> {
    let list =
        billing::exceptions(&state.store, &user.actor, &p.period, p.after.as_deref(), p.limit.unwrap_or(100))
            .await
            .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(
        list.iter()
            .map(|e| ReadingException {
                customer_id: e.customer_id.clone(),
                period: e.period.clone(),
                kind: e.kind.code().into(),
                kind_name: e.kind.name(user.lang).into(),
                meter_id: e.meter_id.clone(),
                read_on: e.read_on.clone(),
                detail: e.detail.get(user.lang).into(),
            })
            .collect(),
    ))
}

/// Imports readings (CSV: customer_id, meter_id, read_on, total [, peak, flat, valley, max_demand,
/// kvarh, kind, source]); manual books and AMI daily freezes alike. Each rejected row is listed.
#[utoipa::path(post, path = "/api/v1/readings", tag = "billing",
    request_body(content = String, content_type = "text/csv"), security(("bearer" = [])),
    responses((status = 200, body = ImportReport), (status = 422, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn import_readings(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    body: axum::body::Bytes,
) -> ApiResult<Json<ImportReport>> {
    let report = billing::readings::import_readings(&state.store, &user.actor, body.as_ref())
        .await
        .map_err(|e| ApiError::new(e, user.lang))?;
    Ok(Json(ImportReport::new(&report, user.lang)))
}
