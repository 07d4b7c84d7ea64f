//! The notification outbox page for managers (通知发件箱): the latest messages (SMS to customers,
//! notices to the duty roster, hand-overs to the grid) with their delivery state, attempts and last
//! error, and a warning when no gateway delivers some of them, so that a bureau running without
//! `BUREAU_WEBHOOK_URL` sees that its SMS are only recorded, never sent.

use super::{error_page, here, render, view, UserView};
use crate::auth::PageStaff;
use crate::i18n::Tr;
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use bureau_app::outbox::worker::OutboxConfig;
use bureau_store::{OutboxMessage, OutboxStatus};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/service/outbox", get(outbox_page))
}

/// (key, 中文, English)
pub const TEXTS: &[(&str, &str, &str)] = &[
    ("nav.outbox", "发件箱", "Outbox"),
    ("outbox.title", "通知发件箱", "Notification outbox"),
    ("outbox.status", "状态", "Status"),
    ("outbox.all", "全部", "all"),
    ("outbox.show", "查看", "Show"),
    ("outbox.created", "生成时间", "Created"),
    ("outbox.channel", "渠道", "Channel"),
    ("outbox.recipient", "接收方", "Recipient"),
    ("outbox.subject", "内容", "Subject"),
    ("outbox.attempts", "尝试次数", "Attempts"),
    ("outbox.due", "下次发送", "Next attempt"),
    ("outbox.sent", "发出时间", "Sent"),
    ("outbox.error", "最近错误", "Last error"),
    ("outbox.none", "没有符合条件的通知", "No messages match"),
    (
        "outbox.no_gateway",
        "未配置通知网关（BUREAU_WEBHOOK_URL）：短信和值班通知只记录在发件箱中，不会发出。",
        "No notification gateway is configured (BUREAU_WEBHOOK_URL): SMS and duty notices are recorded in the outbox but never sent.",
    ),
    (
        "outbox.undelivered",
        "以下渠道没有网关，其通知不会发出：",
        "These channels have no gateway, and their messages are not sent:",
    ),
    ("outbox.st.pending", "待发送", "pending"),
    ("outbox.st.sending", "发送中", "sending"),
    ("outbox.st.sent", "已发送", "sent"),
    ("outbox.st.dead", "发送失败", "failed"),
    ("outbox.st.cancelled", "已撤回", "withdrawn"),
];

const STATUSES: [OutboxStatus; 5] = [
    OutboxStatus::Pending,
    OutboxStatus::Sending,
    OutboxStatus::Sent,
    OutboxStatus::Dead,
    OutboxStatus::Cancelled,
];

fn status_key(s: OutboxStatus) -> &'static str {
    match s {
        OutboxStatus::Pending => "outbox.st.pending",
        OutboxStatus::Sending => "outbox.st.sending",
        OutboxStatus::Sent => "outbox.st.sent",
        OutboxStatus::Dead => "outbox.st.dead",
        OutboxStatus::Cancelled => "outbox.st.cancelled",
    }
}

#[derive(Deserialize)]
struct OutboxForm {
    status: Option<String>,
}

struct Row {
    created: String,
    channel: String,
    recipient: String,
    subject: String,
    status: &'static str,
    attempts: String,
    due: String,
    sent: String,
    error: String,
}

impl Row {
    fn of(m: OutboxMessage) -> Row {
        Row {
            created: super::beijing_minute(m.created_at),
            status: status_key(m.status),
            attempts: format!("{} / {}", m.attempts, m.max_attempts),
            due: if m.status == OutboxStatus::Pending {
                super::beijing_minute(m.due_at)
            } else {
                String::new()
            },
            sent: m.sent_at.map(super::beijing_minute).unwrap_or_default(),
            error: m.last_error.unwrap_or_default(),
            channel: m.channel,
            recipient: m.recipient,
            subject: m.subject,
        }
    }
}

#[derive(Template)]
#[template(path = "service_outbox.html")]
struct OutboxPage {
    t: Tr,
    user: Option<UserView>,
    here: String,
    /// The status shown ("" for all) and the choices as (code, label key).
    status: String,
    statuses: Vec<(&'static str, &'static str)>,
    no_gateway: bool,
    undelivered: Vec<String>,
    rows: Vec<Row>,
}

async fn outbox_page(
    State(state): State<AppState>,
    PageStaff(user): PageStaff,
    uri: Uri,
    Query(f): Query<OutboxForm>,
) -> Response {
    // An unknown status in the address shows all messages rather than an error page.
    let status = f.status.as_deref().and_then(OutboxStatus::parse);
    let cfg = match OutboxConfig::from_env() {
        Ok(c) => c,
        Err(e) => return error_page(&bureau_app::AppError::Invalid(vec![e]), user.lang),
    };
    let review = match bureau_app::outbox::review(&state.store, &user.actor, &cfg, status, 200).await {
        Ok(r) => r,
        Err(e) => return error_page(&e, user.lang),
    };
    render(
        OutboxPage {
            t: Tr::new(user.lang),
            user: view(&user),
            here: here(&uri),
            status: status.map(|s| s.code().to_string()).unwrap_or_default(),
            statuses: STATUSES.iter().map(|s| (s.code(), status_key(*s))).collect(),
            no_gateway: review.no_gateway,
            undelivered: review.undelivered_channels,
            rows: review.messages.into_iter().map(Row::of).collect(),
        },
        StatusCode::OK,
    )
}
