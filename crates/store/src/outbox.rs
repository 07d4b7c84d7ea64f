//! The notification outbox: messages a use case wants delivered (SMS, phone-system calls, webhooks),
//! written in the same database as the business change, delivered later by a worker.
//!
//! Delivery is at-least-once towards the receiving system, but this store makes sure that two workers
//! never hold the same message at once: a worker *claims* due messages under a lease (a random claim
//! token and an expiry); only the holder of the current token can mark the message sent or failed;
//! a lease that runs out (the worker died) makes the message claimable again.

use crate::StoreResult;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Where a message is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for `due_at` (a first attempt or a retry).
    Pending,
    /// Claimed by a worker whose lease has not run out.
    Sending,
    Sent,
    /// Gave up: the attempts ran out, or the receiver refused it for good.
    Dead,
    /// Withdrawn before it was sent (e.g. an escalation no longer needed).
    Cancelled,
}

impl OutboxStatus {
    pub fn code(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Dead => "dead",
            OutboxStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<OutboxStatus> {
        Some(match s {
            "pending" => OutboxStatus::Pending,
            "sending" => OutboxStatus::Sending,
            "sent" => OutboxStatus::Sent,
            "dead" => OutboxStatus::Dead,
            "cancelled" => OutboxStatus::Cancelled,
            _ => return None,
        })
    }
}

/// A message to enqueue. `key` makes enqueueing idempotent: a second message with the same key is
/// not stored again (the first one is returned).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOutboxMessage {
    /// Application-generated id.
    pub id: String,
    /// Idempotency key, unique across the outbox (e.g. `wo:W123:dispatch:crew07`).
    pub key: String,
    /// The channel whose adapter delivers it (`sms`, `phone`, `webhook`, ...).
    pub channel: String,
    /// Who receives it on that channel: a phone number, a staff id, an address.
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// Extra structured data for the receiver, as JSON text.
    pub data: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Not delivered before this instant (Unix seconds): now, or later for scheduled messages.
    pub due_at: i64,
    pub max_attempts: i64,
}

/// A stored message and its delivery record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: String,
    pub key: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub data: Option<String>,
    pub status: OutboxStatus,
    /// Delivery attempts started so far (a claim starts one).
    pub attempts: i64,
    pub max_attempts: i64,
    pub created_at: i64,
    /// Next attempt not before this instant.
    pub due_at: i64,
    /// The current claim's token and lease expiry, while `Sending`.
    #[serde(skip_serializing)]
    pub claim_token: Option<String>,
    pub lease_until: Option<i64>,
    pub sent_at: Option<i64>,
    pub last_error: Option<String>,
}

/// What `enqueue` did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Enqueued {
    pub id: String,
    /// False when a message with the same key already existed (nothing was written).
    pub created: bool,
}

/// The internal channel on which fault-repair orders are handed to the grid's outage intake.
pub const GRID_INTAKE_CHANNEL: &str = "grid_intake";

/// Channels whose messages are for the program's own workers, not for people: a claim for any
/// channel (`channels: None`, a webhook for every channel) never takes them.
pub const INTERNAL_CHANNELS: &[&str] = &[GRID_INTAKE_CHANNEL];

/// A claim request: up to `limit` messages due at `now` on one of `channels` (any channel but the
/// [`INTERNAL_CHANNELS`] when `None`), leased to `token` until `lease_until`.
#[derive(Clone, Debug)]
pub struct Claim<'a> {
    pub channels: Option<&'a [String]>,
    pub now: i64,
    pub token: &'a str,
    pub lease_until: i64,
    pub limit: u32,
}

/// A filter for the record.
#[derive(Clone, Debug, Default)]
pub struct OutboxQuery {
    pub status: Option<OutboxStatus>,
    /// Only messages whose key starts with this.
    pub key_prefix: Option<String>,
    pub recipient: Option<String>,
    pub limit: u32,
}

#[async_trait]
pub trait OutboxStore {
    /// Stores a message unless one with the same key exists.
    async fn enqueue(&self, msg: &NewOutboxMessage) -> StoreResult<Enqueued>;
    /// Stores many messages in one transaction (a notice to every customer of an outage); a message
    /// whose key is already stored is skipped. Returns how many were new.
    async fn enqueue_many(&self, msgs: &[NewOutboxMessage]) -> StoreResult<u64>;
    /// Leases due messages: pending ones whose `due_at` has come, and sending ones whose lease ran
    /// out. Each claimed message gets `attempts + 1`. Two concurrent claims never return the same
    /// message.
    async fn claim_outbox(&self, claim: &Claim<'_>) -> StoreResult<Vec<OutboxMessage>>;
    /// Marks a claimed message sent; false if the claim was lost (lease ran out and another worker
    /// took it), in which case nothing changes.
    async fn mark_outbox_sent(&self, id: &str, token: &str, now: i64) -> StoreResult<bool>;
    /// Marks many messages claimed under `token` sent, in one statement; returns the ids that were
    /// marked (a message whose claim was lost is left alone and not returned).
    async fn mark_outbox_sent_many(&self, ids: &[String], token: &str, now: i64) -> StoreResult<Vec<String>>;
    /// Records a failed attempt: back to pending until `retry_at`, or dead when `retry_at` is None.
    /// False if the claim was lost.
    async fn mark_outbox_failed(
        &self,
        id: &str,
        token: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> StoreResult<bool>;
    /// Cancels the pending messages whose key starts with `key_prefix`; returns how many.
    async fn cancel_outbox(&self, key_prefix: &str) -> StoreResult<u64>;
    async fn outbox_by_key(&self, key: &str) -> StoreResult<OutboxMessage>;
    /// Newest first.
    async fn list_outbox(&self, q: &OutboxQuery) -> StoreResult<Vec<OutboxMessage>>;
}
