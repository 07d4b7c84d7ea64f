//! Billing pages: the bill quote (电费试算), the bill run with its exceptions queue, and the
//! printable A4 bill (Chinese or English, by the page language).

use super::{error_page, here, render, view, UserView};
use crate::api::billing::tariffs;
use crate::auth::PageStaff;
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use bureau_app::billing;
use bureau_domain::error::FieldError;
use bureau_domain::tariff::{BillPeriod, Quote, QuoteRequest};
use rust_decimal::Decimal;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/billing/quote", get(quote_page))
        .route("/billing/run", get(run_page).post(run_post))
        .route("/billing/run/jobs/{id}", get(run_job_json))
        .route("/customers/{id}/bills/{period}", get(bill_page))
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("nav.quote", "电费试算", "Bill quote"),
    ("nav.billrun", "电费发行", "Bill run"),
    ("quote.title", "电费试算", "Bill trial calculation"),
    ("quote.tariff", "电价", "Tariff"),
    ("quote.period", "电费年月", "Billing month"),
    ("quote.kwh", "总电量 (kWh)", "Total kWh"),
    ("quote.peak", "峰段电量 (kWh)", "Peak kWh"),
    ("quote.flat", "平段电量 (kWh)", "Flat kWh"),
    ("quote.valley", "谷段电量 (kWh)", "Valley kWh"),
    ("quote.capacity", "合同容量 (kVA)", "Contracted capacity (kVA)"),
    ("quote.demand", "最大需量 (kW)", "Maximum demand (kW)"),
    ("quote.kvarh", "无功电量 (kvarh)", "Reactive energy (kvarh)"),
    ("quote.submit", "试算", "Calculate"),
    ("quote.optional", "可选", "optional"),
    ("bill.item", "项目", "Item"),
    ("bill.quantity", "数量", "Quantity"),
    ("bill.price", "单价", "Unit price"),
    ("bill.amount", "金额（元）", "Amount (yuan)"),
    ("bill.total", "合计", "Total"),
    ("bill.title", "电费通知单", "Electricity bill"),
    ("bill.account", "户号", "Account"),
    ("bill.name", "户名", "Name"),
    ("bill.address", "用电地址", "Supply address"),
    ("bill.period", "电费年月", "Billing month"),
    ("bill.days", "计费期间", "Billing period"),
    ("bill.meter", "电能表", "Meter"),
    ("bill.multiplier", "倍率", "Multiplier"),
    ("bill.prev", "上次示数", "Previous reading"),
    ("bill.curr", "本次示数", "Current reading"),
    ("bill.kwh", "用电量 (kWh)", "Consumption (kWh)"),
    ("bill.tariff", "电价", "Tariff"),
    ("bill.tier_ytd", "本档累计", "Tier to date"),
    ("bill.funds", "其中政府性基金及附加", "of which government funds"),
    ("bill.issued", "出账日期", "Issued"),
    ("bill.due", "缴费截止日", "Due by"),
    ("bill.state", "状态", "State"),
    ("bill.estimated", "估抄（按上期电量估算，下次抄表时结算）", "Estimated reading (from the previous period, settled at the next reading)"),
    ("bill.revision", "版本", "Revision"),
    ("bill.cancelled", "已作废", "Cancelled"),
    ("bill.print", "打印", "Print"),
    ("bill.list", "电费账单", "Bills"),
    ("bill.none", "暂无账单", "No bills yet"),
    ("bill.footer", "请于截止日前缴清电费；逾期将按《供电营业规则》计收电费违约金。", "Please pay by the due date; late payment incurs a late fee under the Rules of Electricity Supply Business."),
    ("run.title", "电费发行", "Bill run"),
    ("run.book", "抄表段（空为全部）", "Reading book (empty for all)"),
    ("run.estimate", "漏抄户按上期电量估抄", "Estimate missing readings from the previous period"),
    ("run.submit", "计算并发行", "Compute and issue"),
    ("run.issued", "本次出账", "Issued by this run"),
    ("run.period_totals", "本期合计", "Period totals"),
    ("run.bills", "账单", "Bills"),
    ("run.exceptions", "异常", "Exceptions"),
    ("run.open_exceptions", "待处理异常", "Open exceptions"),
    ("run.history", "发行记录", "Runs"),
    ("run.progress", "发行进度", "Progress"),
    ("run.customers", "户", "customers"),
    ("run.running", "正在后台发行，本页自动刷新", "Running in the background; this page updates itself"),
    ("run.exceptions_link", "处理异常", "Resolve exceptions"),
    ("run.started", "开始", "Started"),
    ("run.by", "操作人", "By"),
    ("run.jobs", "后台发行任务", "Background runs"),
    ("run.state", "状态", "State"),
    ("run.state.running", "进行中", "running"),
    ("run.state.done", "已完成", "done"),
    ("run.state.failed", "失败", "failed"),
    ("run.state.taken_over", "中断（进程停止，任务被接管）", "interrupted (its process stopped; the job was taken over)"),
    ("run.finished", "结束", "Finished"),
    ("run.takeovers", "接管次数", "Taken over"),
    ("run.jobs_none", "暂无后台发行任务", "No background runs yet"),
    ("exc.title", "抄表异常", "Reading exceptions"),
    ("exc.kind", "类型", "Kind"),
    ("exc.detail", "说明", "Detail"),
    ("exc.none", "本期没有待处理异常", "No open exceptions this period"),
];

fn last_month() -> String {
    let d = jiff::Zoned::now().date().first_of_month().yesterday().expect("a date after year -9999");
    format!("{:04}-{:02}", d.year(), d.month())
}

#[derive(Deserialize, Default)]
struct QuoteForm {
    tariff: Option<String>,
    period: Option<String>,
    kwh: Option<String>,
    peak_kwh: Option<String>,
    flat_kwh: Option<String>,
    valley_kwh: Option<String>,
    capacity_kva: Option<String>,
    max_demand_kw: Option<String>,
    kvarh: Option<String>,
}

#[derive(Template)]
#[template(path = "bill_quote.html")]
struct QuotePage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    tariffs: Vec<(String, String)>,
    tariff: String,
    period: String,
    kwh: String,
    peak_kwh: String,
    flat_kwh: String,
    valley_kwh: String,
    capacity_kva: String,
    max_demand_kw: String,
    kvarh: String,
    quote: Option<Quote>,
    errors: Vec<String>,
}

fn opt_dec(field: &str, v: &Option<String>) -> Result<Option<Decimal>, FieldError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => t
            .parse::<Decimal>()
            .map(Some)
            .map_err(|_| FieldError::invalid(field, format!("应为数字：{t}"), format!("not a number: {t}"))),
    }
}

fn to_request(f: &QuoteForm) -> Result<QuoteRequest, FieldError> {
    Ok(QuoteRequest {
        tariff: f.tariff.clone().unwrap_or_default(),
        period: f.period.clone().unwrap_or_default(),
        kwh: opt_dec("kwh", &f.kwh)?.ok_or_else(|| FieldError::required("kwh"))?,
        critical_kwh: None,
        peak_kwh: opt_dec("peak_kwh", &f.peak_kwh)?,
        flat_kwh: opt_dec("flat_kwh", &f.flat_kwh)?,
        valley_kwh: opt_dec("valley_kwh", &f.valley_kwh)?,
        capacity_kva: opt_dec("capacity_kva", &f.capacity_kva)?,
        max_demand_kw: opt_dec("max_demand_kw", &f.max_demand_kw)?,
        kvarh: opt_dec("kvarh", &f.kvarh)?,
        pf_standard: None,
        ytd_kwh: None,
    })
}

async fn quote_page(PageStaff(user): PageStaff, uri: Uri, Query(f): Query<QuoteForm>) -> Response {
    let t = Tr::new(user.lang);
    let mut quote = None;
    let mut errors = Vec::new();
    if f.kwh.is_some() {
        match to_request(&f).and_then(|r| bureau_domain::tariff::quote(tariffs(), &r, user.lang)) {
            Ok(q) => quote = Some(q),
            Err(e) => errors.push(format!("{}: {}", e.field, e.message(user.lang))),
        }
    }
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    render(
        QuotePage {
            t,
            user: view(&user),
            here: here(&uri),
            tariffs: tariffs().tariffs().map(|x| (x.id.clone(), x.name(user.lang).to_string())).collect(),
            tariff: f.tariff.clone().unwrap_or_else(|| "hlj-residential".into()),
            period: f.period.clone().unwrap_or_else(last_month),
            kwh: s(&f.kwh),
            peak_kwh: s(&f.peak_kwh),
            flat_kwh: s(&f.flat_kwh),
            valley_kwh: s(&f.valley_kwh),
            capacity_kva: s(&f.capacity_kva),
            max_demand_kw: s(&f.max_demand_kw),
            kvarh: s(&f.kvarh),
            quote,
            errors,
        },
        status,
    )
}

#[derive(Deserialize, Default)]
struct RunForm {
    job: Option<String>,
    period: Option<String>,
    book: Option<String>,
    estimate_missing: Option<String>,
}

#[derive(Template)]
#[template(path = "bill_run.html")]
struct RunPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    period: String,
    book: String,
    summary: Option<billing::RunSummary>,
    error: Option<String>,
    /// The latest run records, each with the key of its state and its end in Beijing time.
    runs: Vec<(bureau_store::BillRunRecord, &'static str, String)>,
    exceptions: Vec<(String, String, String)>,
    /// A background run this page follows.
    job: Option<billing::jobs::JobStatus>,
    /// The latest background runs, newest first.
    jobs: Vec<JobRow>,
}

/// A background run as the run page lists it.
struct JobRow {
    id: String,
    period: String,
    book_id: Option<String>,
    state_key: &'static str,
    started_by: String,
    started_at: String,
    finished_at: String,
    customers_done: u64,
    customers_total: u64,
    takeovers: u64,
}

impl JobRow {
    fn of(j: billing::jobs::JobStatus) -> JobRow {
        use billing::jobs::JobState;
        JobRow {
            state_key: match j.state {
                JobState::Running => "run.state.running",
                JobState::Done => "run.state.done",
                JobState::Failed => "run.state.failed",
            },
            started_at: super::beijing_minute(j.started_at),
            finished_at: j.finished_at.map(super::beijing_minute).unwrap_or_default(),
            id: j.id,
            period: j.period,
            book_id: j.book_id,
            started_by: j.started_by,
            customers_done: j.customers_done,
            customers_total: j.customers_total,
            takeovers: j.takeovers,
        }
    }
}

#[allow(clippy::too_many_arguments)] // the page's parts
async fn run_view(
    state: &AppState,
    user: &crate::auth::StaffUser,
    uri: &Uri,
    period: String,
    book: String,
    summary: Option<billing::RunSummary>,
    error: Option<String>,
    job: Option<billing::jobs::JobStatus>,
) -> Response {
    let runs = state.store.list_bill_runs(20).await.unwrap_or_default().into_iter().map(|r| {
        let key = match r.ended {
            None => "run.state.running",
            Some(bureau_store::BillRunEnd::Finished) => "run.state.done",
            Some(bureau_store::BillRunEnd::TakenOver) => "run.state.taken_over",
        };
        let finished = r.finished_at.map(super::beijing_minute).unwrap_or_default();
        (r, key, finished)
    });
    let runs = runs.collect();
    let jobs = state
        .bill_runs
        .list(&state.store, 10)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(JobRow::of)
        .collect();
    let exceptions = billing::exceptions(&state.store, &user.actor, &period, None, 200)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.customer_id, e.kind.name(user.lang).to_string(), e.detail.get(user.lang).to_string()))
        .collect();
    render(
        RunPage {
            t: Tr::new(user.lang),
            user: view(user),
            here: here(uri),
            period,
            book,
            summary,
            error,
            runs,
            exceptions,
            job,
            jobs,
        },
        StatusCode::OK,
    )
}

async fn run_page(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Query(f): Query<RunForm>,
) -> Response {
    let period = f.period.filter(|p| BillPeriod::parse("period", p).is_ok()).unwrap_or_else(last_month);
    let job = match f.job.as_deref() {
        Some(id) => match state.bill_runs.get(&state.store, id).await {
            Ok(j) => j,
            Err(e) => return error_page(&e, user.lang),
        },
        None => None,
    };
    let summary = job.as_ref().and_then(|j| j.summary.clone());
    let error = job.as_ref().and_then(|j| j.error.as_ref()).map(|t| t.get(user.lang).to_string());
    run_view(&state, &user, &uri, period, f.book.unwrap_or_default(), summary, error, job).await
}

/// The progress of a background run, for the run page to poll.
async fn run_job_json(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    Path(id): Path<String>,
) -> Response {
    use axum::response::IntoResponse;
    let job = match state.bill_runs.get(&state.store, &id).await {
        Ok(j) => j,
        Err(e) => return error_page(&e, user.lang),
    };
    match job {
        Some(j) => match crate::api::billing::RunJob::new(&state, &user, &j).await {
            Ok(v) => axum::Json(v).into_response(),
            Err(e) => e.into_response(),
        },
        None => error_page(&bureau_app::AppError::not_found("bill run", id), user.lang),
    }
}

async fn run_post(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Form(f): Form<RunForm>,
) -> Response {
    let text = f.period.clone().unwrap_or_default();
    let book = f.book.clone().unwrap_or_default();
    let period = match BillPeriod::parse("period", &text) {
        Ok(p) => p,
        Err(e) => {
            let msg = format!("{}: {}", e.field, e.message(user.lang));
            return run_view(&state, &user, &uri, last_month(), book, None, Some(msg), None).await;
        }
    };
    let mut opts = billing::RunOptions::new(period, jiff::Zoned::now().date());
    opts.book_id = Some(book.trim().to_string()).filter(|b| !b.is_empty());
    opts.estimate_missing = f.estimate_missing.is_some();
    match state.bill_runs.start(&state.store, &user.actor, tariffs(), opts).await {
        Ok(job) => {
            use axum::response::IntoResponse;
            let to = format!(
                "/billing/run?period={}&job={}",
                crate::auth::urlencode(&text),
                crate::auth::urlencode(&job.id)
            );
            axum::response::Redirect::to(&to).into_response()
        }
        Err(bureau_app::AppError::Conflict(e)) => {
            let msg = format!("{}: {}", e.field, e.message(user.lang));
            run_view(&state, &user, &uri, text, book, None, Some(msg), None).await
        }
        Err(bureau_app::AppError::Invalid(errs)) => {
            let msg = errs
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message(user.lang)))
                .collect::<Vec<_>>()
                .join("; ");
            run_view(&state, &user, &uri, text, book, None, Some(msg), None).await
        }
        Err(e) => error_page(&e, user.lang),
    }
}

#[derive(Deserialize)]
struct RevisionParam {
    revision: Option<i64>,
}

#[derive(Template)]
#[template(path = "bill.html")]
struct BillPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    customer: bureau_domain::register::Customer,
    bill: bureau_store::StoredBill,
    tariff_name: String,
    state_name: String,
    /// Where the bill's "all bills" link goes.
    list_href: String,
}

async fn bill_page(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Path((id, period)): Path<(String, String)>,
    Query(q): Query<RevisionParam>,
) -> Response {
    match billing::bill(&state.store, &user.actor, &id, &period, q.revision).await {
        Ok((customer, bill)) => {
            let tariff_name = tariffs()
                .get(&bill.tariff_id)
                .map_or(bill.tariff_id.clone(), |t| t.name(user.lang).to_string());
            let state_name = bill.state.name(user.lang).to_string();
            let list_href = format!("/customers/{}/bills", bill.customer_id);
            render(
                BillPage {
                    t: Tr::new(user.lang),
                    user: view(&user),
                    here: here(&uri),
                    customer,
                    bill,
                    tariff_name,
                    state_name,
                    list_href,
                },
                StatusCode::OK,
            )
        }
        Err(e) => error_page(&e, user.lang),
    }
}
