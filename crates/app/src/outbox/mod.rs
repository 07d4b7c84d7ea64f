//! Notifications through the outbox: a use case *enqueues* a message (in the database, next to its
//! business change); the delivery [`worker`] hands it to the channel's adapter (an HTTP webhook for an
//! SMS gateway or a phone system) and retries with exponential backoff until it is delivered or the
//! attempts run out.
//!
//! ```ignore
//! bureau_app::outbox::enqueue(&store, Notification::new(
//!     "bill:2026-10:0101234567:sms", "sms", "13800000000", "电费通知", "您10月电费…",
//! )).await?;
//! ```
//!
//! The message key makes enqueueing idempotent: a use case that runs twice (a retried request, a
//! resumed job) sends once. Keys are free text; by convention `<aggregate>:<id>:<purpose>[:<recipient>]`,
//! so that [`cancel`] can withdraw a family of pending messages by prefix.

pub mod adapter;
pub mod worker;

pub use adapter::{Adapter, DeliveryError, Webhook};
pub use worker::{backoff_secs, Outbox, OutboxConfig, RunReport, WebhookRoute};

use crate::error::{AppError, AppResult};
use bureau_domain::error::FieldError;
use bureau_store::{DynStore, Enqueued, NewOutboxMessage, OutboxMessage, OutboxQuery};

/// Attempts before a message is given up (dead), unless the notification says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i64 = 8;

/// A message to deliver.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Notification {
    /// Idempotency key; a second notification with the same key is not stored again.
    pub key: String,
    /// The channel (`sms`, `phone`, `webhook`, ...): which adapter delivers it.
    pub channel: String,
    /// Phone number, staff id or address on that channel.
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// Structured data passed on to the receiver as JSON.
    #[serde(default)]
    pub data: Option<serde_json::Value>,
    /// Not delivered before this instant (Unix seconds); `None` is at once.
    #[serde(default)]
    pub not_before: Option<i64>,
    /// Attempts before giving up; `None` is [`DEFAULT_MAX_ATTEMPTS`].
    #[serde(default)]
    pub max_attempts: Option<i64>,
}

impl Notification {
    pub fn new(
        key: impl Into<String>,
        channel: impl Into<String>,
        recipient: impl Into<String>,
        subject: impl Into<String>,
        body: impl Into<String>,
    ) -> Notification {
        Notification {
            key: key.into(),
            channel: channel.into(),
            recipient: recipient.into(),
            subject: subject.into(),
            body: body.into(),
            data: None,
            not_before: None,
            max_attempts: None,
        }
    }

    pub fn with_data(mut self, data: serde_json::Value) -> Notification {
        self.data = Some(data);
        self
    }

    pub fn not_before(mut self, at: i64) -> Notification {
        self.not_before = Some(at);
        self
    }

    /// Every problem with the notification, each naming its field.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.key.trim().is_empty() {
            errors.push(FieldError::required("key"));
        } else if self.key.chars().count() > 200 {
            errors.push(FieldError::invalid(
                "key",
                "消息键不能超过200个字符",
                "the key is longer than 200 characters",
            ));
        }
        if self.channel.is_empty() {
            errors.push(FieldError::required("channel"));
        } else if !valid_channel(&self.channel) {
            errors.push(FieldError::invalid(
                "channel",
                format!("渠道“{}”无效：只能用小写字母、数字和下划线", self.channel),
                format!("channel '{}' is invalid: use lower-case letters, digits and '_'", self.channel),
            ));
        }
        if self.recipient.trim().is_empty() {
            errors.push(FieldError::required("recipient"));
        }
        if self.subject.trim().is_empty() && self.body.trim().is_empty() {
            errors.push(FieldError::required("body"));
        }
        if let Some(n) = self.max_attempts {
            if !(1..=100).contains(&n) {
                errors.push(FieldError::invalid(
                    "max_attempts",
                    "尝试次数应在1到100之间",
                    "max_attempts must be between 1 and 100",
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// A channel name: what the worker's configuration and the webhook's JSON call it.
pub fn valid_channel(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A new application-generated id: a time prefix (so ids sort by creation) and 64 random bits.
pub fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).expect("operating system random source");
    let now = jiff::Timestamp::now();
    format!("{prefix}{:011x}{:016x}", now.as_millisecond(), u64::from_le_bytes(bytes))
}

/// Enqueues a notification for delivery now (or at `not_before`).
pub async fn enqueue(store: &DynStore, n: Notification) -> AppResult<Enqueued> {
    enqueue_at(store, n, crate::auth::now_unix()).await
}

/// [`enqueue`] with the time of enqueueing given (for tests and generators).
pub async fn enqueue_at(store: &DynStore, n: Notification, now: i64) -> AppResult<Enqueued> {
    let msg = message(n, now)?;
    Ok(store.enqueue(&msg).await?)
}

/// The row a notification becomes, checked, for a use case that writes it in its own transaction
/// (e.g. a work order with the duty roster's pages).
pub fn message(n: Notification, now: i64) -> AppResult<NewOutboxMessage> {
    n.validate().map_err(AppError::Invalid)?;
    let data = n.data.as_ref().map(|d| d.to_string());
    Ok(NewOutboxMessage {
        id: new_id("N"),
        key: n.key,
        channel: n.channel,
        recipient: n.recipient,
        subject: n.subject,
        body: n.body,
        data,
        created_at: now,
        due_at: n.not_before.unwrap_or(now).max(now),
        max_attempts: n.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS),
    })
}

/// Withdraws the pending messages whose key starts with `key_prefix` (e.g. the escalations of an
/// order that a crew has taken). Messages already being sent are not stopped.
pub async fn cancel(store: &DynStore, key_prefix: &str) -> AppResult<u64> {
    if key_prefix.trim().is_empty() {
        return Err(FieldError::required("key_prefix").into());
    }
    Ok(store.cancel_outbox(key_prefix).await?)
}

/// The record: messages matching a filter, newest first.
pub async fn list(store: &DynStore, q: &OutboxQuery) -> AppResult<Vec<OutboxMessage>> {
    Ok(store.list_outbox(q).await?)
}

/// What the managers' outbox page shows: the latest messages, and the channels among them that no
/// gateway delivers (no `BUREAU_WEBHOOK_URL` for them), whose messages wait in the outbox for good.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OutboxReview {
    pub messages: Vec<OutboxMessage>,
    /// No webhook at all is configured: nothing but the in-process channels is ever delivered.
    pub no_gateway: bool,
    /// Channels of the listed messages without a gateway, sorted.
    pub undelivered_channels: Vec<String>,
}

/// The outbox for managers (发件箱): the latest `limit` messages of a status (all when `None`),
/// newest first, checked against the delivery configuration `cfg`. Messages carry customers' phone
/// numbers and are not kept per bureau, so only managers and administrators see them.
pub async fn review(
    store: &DynStore,
    actor: &crate::access::Actor,
    cfg: &worker::OutboxConfig,
    status: Option<bureau_store::OutboxStatus>,
    limit: u32,
) -> AppResult<OutboxReview> {
    actor.require_any(&[bureau_domain::org::Role::Manager])?;
    let messages = store
        .list_outbox(&OutboxQuery { status, key_prefix: None, recipient: None, limit: limit.clamp(1, 1000) })
        .await?;
    let mut undelivered_channels: Vec<String> = messages
        .iter()
        .map(|m| m.channel.as_str())
        .filter(|ch| !cfg.delivers(ch))
        .map(str::to_string)
        .collect();
    undelivered_channels.sort();
    undelivered_channels.dedup();
    Ok(OutboxReview { messages, no_gateway: cfg.webhooks.is_empty(), undelivered_channels })
}
