//! The reading exceptions page (抄表异常处理): a period's open exceptions, each with its
//! resolution in force and a form to confirm, correct or estimate it, and to bill the customer at
//! once or leave it to the next bill run.

use super::{error_page, here, render, view, UserView};
use crate::api::billing::tariffs;
use crate::auth::{urlencode, PageStaff};
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bureau_app::billing::exceptions::{self, QueueItem, ResolveDraft};
use bureau_app::AppError;
use bureau_domain::reading::ResolutionAction;
use bureau_domain::tariff::BillPeriod;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/billing/exceptions", get(queue_page))
        .route("/billing/exceptions/{id}/{period}/resolve", post(resolve_post))
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("nav.exceptions", "异常处理", "Exceptions"),
    ("excq.title", "抄表异常处理", "Reading exceptions"),
    ("excq.show", "查询", "Show"),
    ("excq.action", "处理方式", "Action"),
    ("excq.reason", "处理原因", "Reason"),
    ("excq.total", "更正示数（总）", "Corrected reading (total)"),
    ("excq.read_on", "抄表日期（漏抄时）", "Reading date (if missing)"),
    ("excq.bill_now", "立即出账", "Bill now"),
    ("excq.submit", "处理", "Resolve"),
    ("excq.resolved", "已处理，待出账", "Resolved, awaiting the bill run"),
    ("excq.by", "处理人", "By"),
    ("excq.done", "已处理", "Resolved"),
    ("excq.billed", "已出账，金额", "Billed, amount"),
    ("excq.reading", "读数", "Reading"),
];

#[derive(Deserialize, Default)]
struct QueueQuery {
    period: Option<String>,
    done: Option<String>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "bill_exceptions.html")]
struct QueuePage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    period: String,
    items: Vec<Row>,
    actions: Vec<(&'static str, &'static str)>,
    done: Option<String>,
    error: Option<String>,
}

/// One exception as the page shows it.
struct Row {
    customer_id: String,
    kind: &'static str,
    kind_name: &'static str,
    detail: String,
    /// The exception names no reading (a missing one): the form asks for the date.
    no_reading: bool,
    /// The resolution in force, described.
    resolution: Option<String>,
}

fn row(i: &QueueItem, t: &Tr) -> Row {
    let lang = t.lang;
    let resolution = i.resolution.as_ref().map(|r| {
        let reading =
            r.reading.as_ref().map(|x| format!(" ({} {})", t.t("excq.reading"), x.total)).unwrap_or_default();
        format!(
            "{}: {}{reading} · {} {} · {}",
            t.t("excq.resolved"),
            r.action.name(lang),
            t.t("excq.by"),
            r.resolved_by,
            r.reason
        )
    });
    Row {
        customer_id: i.exception.customer_id.clone(),
        kind: i.exception.kind.code(),
        kind_name: i.exception.kind.name(lang),
        detail: i.exception.detail.get(lang).to_string(),
        no_reading: i.exception.read_on.is_none(),
        resolution,
    }
}

fn last_month() -> String {
    let d = jiff::Zoned::now().date().first_of_month().yesterday().expect("a date after year -9999");
    format!("{:04}-{:02}", d.year(), d.month())
}

async fn queue_page(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Query(q): Query<QueueQuery>,
) -> Response {
    let period = q.period.filter(|p| BillPeriod::parse("period", p).is_ok()).unwrap_or_else(last_month);
    match exceptions::queue(&state.store, &user.actor, &period, None, 200).await {
        Ok(items) => render(
            QueuePage {
                items: items.iter().map(|i| row(i, &Tr::new(user.lang))).collect(),
                t: Tr::new(user.lang),
                user: view(&user),
                here: here(&uri),
                period,
                actions: ResolutionAction::ALL.iter().map(|a| (a.code(), a.name(user.lang))).collect(),
                done: q.done,
                error: q.error,
            },
            StatusCode::OK,
        ),
        Err(e) => error_page(&e, user.lang),
    }
}

#[derive(Deserialize, Default)]
struct ResolveForm {
    action: Option<String>,
    kind: Option<String>,
    reason: Option<String>,
    total: Option<String>,
    read_on: Option<String>,
    bill_now: Option<String>,
}

async fn resolve_post(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    Path((id, period)): Path<(String, String)>,
    Form(f): Form<ResolveForm>,
) -> Response {
    let draft = ResolveDraft {
        action: f.action.unwrap_or_default(),
        kind: f.kind,
        reason: f.reason.unwrap_or_default(),
        total: f.total,
        read_on: f.read_on,
        bill_now: f.bill_now.is_some(),
        ..Default::default()
    };
    let back = |key: &str, msg: &str| {
        Redirect::to(&format!("/billing/exceptions?period={}&{key}={}", urlencode(&period), urlencode(msg)))
            .into_response()
    };
    let lang = user.lang;
    match exceptions::resolve(
        &state.store,
        &user.actor,
        tariffs(),
        &id,
        &period,
        &draft,
        jiff::Zoned::now().date(),
    )
    .await
    {
        Ok(r) => {
            let t = Tr::new(lang);
            let msg = match &r.bill {
                Some(b) => format!("{id}: {} {}", t.t("excq.billed"), b.total),
                None => format!("{id}: {}", t.t("excq.resolved")),
            };
            back("done", &msg)
        }
        Err(AppError::Invalid(errs)) => {
            let msg = errs
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message(lang)))
                .collect::<Vec<_>>()
                .join("; ");
            back("error", &format!("{id}: {msg}"))
        }
        Err(AppError::Conflict(e)) => back("error", &format!("{id}: {}", e.message(lang))),
        Err(e) => error_page(&e, lang),
    }
}
