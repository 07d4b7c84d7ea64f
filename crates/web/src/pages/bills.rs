//! A customer's bills (电费账单) for the counter, every revision newest first, with the corrections
//! a clerk starts from here: 退补 (cancel and recompute), 作废 (cancel only) and 作废后重新发行
//! (reissue a cancelled period). Which correction a period offers, and whether it is taken, is the
//! billing use cases' call; this page shows their answer and their refusal, in the user's language.

use super::{error_page, render, view, UserView};
use crate::api::billing::tariffs;
use crate::auth::{urlencode, PageStaff, StaffUser};
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bureau_app::billing::{self, Correction};
use bureau_app::AppError;
use bureau_domain::error::FieldError;
use bureau_domain::tariff::BillPeriod;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/bills", get(bills_page))
        .route("/customers/{id}/bills/{period}/cancel", post(cancel_post))
        .route("/customers/{id}/bills/{period}/reissue", post(reissue_post))
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("bills.action", "退补处理", "Correction"),
    ("bills.reason", "原因（必填）", "Reason (required)"),
    ("bills.rebill", "退补（重新计算）", "Cancel and recompute"),
    ("bills.cancel", "作废", "Cancel only"),
    ("bills.reissue", "重新发行", "Reissue"),
    (
        "bills.done.rebill",
        "已退补，按现有示数重新计算并发行新版本",
        "Cancelled and recomputed from the readings as they are now",
    ),
    ("bills.done.cancel", "已作废，本期暂无有效账单", "Cancelled; the period has no live bill now"),
    ("bills.done.reissue", "已重新发行", "Reissued"),
    ("customer.bills", "电费账单", "Bills"),
];

/// How many revisions the page lists (two years of monthly bills when nothing was corrected).
const LISTED: u32 = 24;

#[derive(Template)]
#[template(path = "bills.html")]
struct BillsPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    customer_id: String,
    rows: Vec<Row>,
    /// Some row offers a correction: the table has the column.
    corrections: bool,
    done: Option<String>,
    error: Option<Refusal>,
}

/// One revision as the list shows it, with the correction its period offers on its latest row.
struct Row {
    bill: bureau_store::StoredBill,
    can_cancel: bool,
    can_reissue: bool,
}

/// A correction refused: the period, the field named and the message in the user's language.
struct Refusal {
    period: String,
    field: String,
    message: String,
}

/// What the page was told after a correction went through (Post/Redirect/Get): a known code and a
/// period, never free text, so that a link cannot make the page say something else.
#[derive(Deserialize, Default)]
struct DoneQuery {
    done: Option<String>,
    period: Option<String>,
}

fn done_message(t: &Tr, q: &DoneQuery) -> Option<String> {
    let key = match q.done.as_deref()? {
        "rebill" => "bills.done.rebill",
        "cancel" => "bills.done.cancel",
        "reissue" => "bills.done.reissue",
        _ => return None,
    };
    let period = q.period.as_deref().filter(|p| BillPeriod::parse("period", p).is_ok())?;
    Some(format!("{period}: {}", t.t(key)))
}

async fn bills_page(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let done = done_message(&Tr::new(user.lang), &q);
    bills_view(&state, &user, id, done, None, StatusCode::OK).await
}

async fn bills_view(
    state: &AppState,
    user: &StaffUser,
    id: String,
    done: Option<String>,
    error: Option<Refusal>,
    status: StatusCode,
) -> Response {
    let bills = match billing::bills_of(&state.store, &user.actor, &id, LISTED).await {
        Ok(b) => b,
        Err(e) => return error_page(&e, user.lang),
    };
    // The list is newest first, the latest revision of each period first among its revisions:
    // that one carries the period's correction.
    let mut rows: Vec<Row> = Vec::with_capacity(bills.len());
    for bill in bills {
        let latest = rows.last().is_none_or(|r| r.bill.period != bill.period);
        let correction = if latest { billing::correction_for(&user.actor, &bill) } else { None };
        rows.push(Row {
            can_cancel: correction == Some(Correction::CancelOrRebill),
            can_reissue: correction == Some(Correction::Reissue),
            bill,
        });
    }
    let corrections = rows.iter().any(|r| r.can_cancel || r.can_reissue);
    render(
        BillsPage {
            t: Tr::new(user.lang),
            user: view(user),
            here: urlencode(&format!("/customers/{id}/bills")),
            customer_id: id,
            rows,
            corrections,
            done,
            error,
        },
        status,
    )
}

#[derive(Deserialize, Default)]
struct CancelForm {
    reason: Option<String>,
    /// `1` (the default, also when the form is sent with the Enter key): issue the recomputed
    /// revision (退补); `0`: cancel only (作废).
    rebill: Option<String>,
}

#[derive(Deserialize, Default)]
struct ReissueForm {
    reason: Option<String>,
}

/// Where a correction that went through sends the clerk: back to the list, told what happened.
fn after(id: &str, period: &str, done: &str) -> Response {
    Redirect::to(&format!("/customers/{}/bills?done={done}&period={}", urlencode(id), urlencode(period)))
        .into_response()
}

/// A refused correction: bad input and conflicts show the list again with the refusal beside it
/// and the use case's status; anything else (no right, no such customer) is the error page.
async fn refused(state: &AppState, user: &StaffUser, id: String, period: String, e: AppError) -> Response {
    match &e {
        AppError::Invalid(_) | AppError::Conflict(_) => {
            let body = crate::error::body_of(&e, user.lang);
            let refusal = Refusal { period, field: body.field.unwrap_or_default(), message: body.message };
            bills_view(state, user, id, None, Some(refusal), crate::error::status_of(&e)).await
        }
        _ => error_page(&e, user.lang),
    }
}

async fn cancel_post(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    Path((id, period)): Path<(String, String)>,
    Form(f): Form<CancelForm>,
) -> Response {
    let rebill = match f.rebill.as_deref().map(str::trim) {
        None | Some("" | "1") => true,
        Some("0") => false,
        Some(other) => {
            let e = FieldError::invalid(
                "rebill",
                format!("应为 1（退补）或 0（作废）：{other}"),
                format!("must be 1 (recompute) or 0 (cancel only): {other}"),
            );
            return refused(&state, &user, id, period, AppError::Invalid(vec![e])).await;
        }
    };
    let reason = f.reason.unwrap_or_default();
    let today = jiff::Zoned::now().date();
    match billing::cancel_and_rebill(
        &state.store,
        &user.actor,
        tariffs(),
        &id,
        &period,
        &reason,
        rebill,
        today,
    )
    .await
    {
        Ok(_) => after(&id, &period, if rebill { "rebill" } else { "cancel" }),
        Err(e) => refused(&state, &user, id, period, e).await,
    }
}

async fn reissue_post(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    Path((id, period)): Path<(String, String)>,
    Form(f): Form<ReissueForm>,
) -> Response {
    let reason = f.reason.unwrap_or_default();
    let today = jiff::Zoned::now().date();
    match billing::reissue(&state.store, &user.actor, tariffs(), &id, &period, &reason, today).await {
        Ok(_) => after(&id, &period, "reissue"),
        Err(e) => refused(&state, &user, id, period, e).await,
    }
}
