//! Trouble calls that arrive from elsewhere in the program: a fault-repair work order (故障报修) of the
//! 95598 service centre becomes a trouble call at the caller's supply point, so that an agent's call
//! joins the predicted outage on the dispatcher's board.
//!
//! The hand-over is durable: accepting the order writes a message on the internal outbox channel
//! [`CHANNEL`] (key `wo:<order>:grid_call`, built by [`trouble_call_notice`]) in the order's own
//! transaction, and the grid intake worker ([`worker`]), which runs
//! beside the web server and shares its live model, delivers it by reporting the call. The call's id
//! is the order's id, so a redelivery after a crash finds the call already there and does nothing.
//! An order without an account, or whose customer has no supply point on the grid, cannot be placed
//! on the model: its message is given up with the reason in the outbox record.

use super::ops::GridCache;
use super::outage::{self, CallInput};
use crate::access::Actor;
use crate::error::{AppError, AppResult};
use crate::outbox::{self, Adapter, DeliveryError, Notification, Outbox, OutboxConfig};
use bureau_domain::org::Role;
use bureau_store::{DynStore, OutboxMessage, Scope, WorkOrder};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The internal outbox channel of trouble calls for the grid; never sent to a webhook
/// (`bureau_store::INTERNAL_CHANNELS`).
pub const CHANNEL: &str = bureau_store::GRID_INTAKE_CHANNEL;

/// What the hand-over carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CallHandOver {
    pub order_id: String,
    pub bureau_id: String,
    pub customer_id: String,
    /// The agent who accepted the order.
    pub staff_id: String,
    /// When the order was accepted (Unix seconds): the time of the call.
    pub at: i64,
    pub note: String,
}

/// The hand-over message of a fault-repair order, or `None` when the order names no customer (it
/// cannot be placed on the grid) or is not a fault repair.
pub fn trouble_call_notice(order: &WorkOrder) -> Option<Notification> {
    if order.kind != bureau_domain::service::OrderKind::FaultRepair {
        return None;
    }
    let customer_id = order.customer_id.clone()?;
    let h = CallHandOver {
        order_id: order.id.clone(),
        bureau_id: order.bureau_id.clone(),
        customer_id,
        staff_id: order.accepted_by.clone(),
        at: order.accepted_at,
        note: order.description.chars().take(200).collect(),
    };
    let data = serde_json::to_value(&h).expect("a hand-over serialises");
    Some(
        Notification::new(
            format!("wo:{}:grid_call", order.id),
            CHANNEL,
            &order.bureau_id,
            "trouble call",
            "",
        )
        .with_data(data),
    )
}

/// Enqueues the hand-over of a fault-repair order (see [`trouble_call_notice`]).
pub async fn hand_over(store: &DynStore, order: &WorkOrder, now: i64) -> AppResult<()> {
    if let Some(n) = trouble_call_notice(order) {
        outbox::enqueue_at(store, n, now).await?;
    }
    Ok(())
}

/// Reports the call of one hand-over. A call already reported (a redelivery) is success.
pub async fn report(
    store: &DynStore,
    cache: &GridCache,
    h: &CallHandOver,
    now: i64,
) -> AppResult<outage::CallOutcome> {
    let actor = Actor {
        staff_id: h.staff_id.clone(),
        name: h.staff_id.clone(),
        roles: vec![Role::Agent],
        bureau_id: h.bureau_id.clone(),
        scope: Scope::Bureaus(vec![h.bureau_id.clone()]),
    };
    let input = CallInput {
        customer_id: Some(h.customer_id.clone()),
        load_id: None,
        source: "work_order".into(),
        at: Some(h.at.min(now)),
        note: Some(h.note.clone()),
        id: Some(h.order_id.clone()),
    };
    outage::report_call(store, cache, &actor, &h.bureau_id, input, now).await
}

/// Delivers hand-overs into the live model of the server.
pub struct GridIntake {
    store: DynStore,
    cache: Arc<GridCache>,
}

impl GridIntake {
    pub fn new(store: DynStore, cache: Arc<GridCache>) -> GridIntake {
        GridIntake { store, cache }
    }
}

#[async_trait::async_trait]
impl Adapter for GridIntake {
    async fn deliver(&self, msg: &OutboxMessage) -> Result<(), DeliveryError> {
        let h: CallHandOver = msg
            .data
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .ok_or_else(|| DeliveryError::permanent("the hand-over carries no call"))?;
        match report(&self.store, &self.cache, &h, crate::auth::now_unix()).await {
            Ok(o) => {
                tracing::info!(order = %h.order_id, load = %o.call.load_id,
                    outage = o.outage.as_ref().map(|o| o.id.as_str()).unwrap_or("-"), "work order became a trouble call");
                Ok(())
            }
            Err(AppError::Conflict(e)) if e.code == "duplicate" => Ok(()),
            Err(AppError::Store(e)) => Err(DeliveryError::retry(e.to_string())),
            Err(e) => Err(DeliveryError::permanent(e.to_string())),
        }
    }
}

/// The grid intake worker: an outbox worker for [`CHANNEL`] alone, sharing the server's live model.
/// Polls every `BUREAU_GRID_INTAKE_POLL_MS` (default 500 ms); a database error is retried after 5 s,
/// doubling up to 5 minutes.
pub fn worker(store: DynStore, cache: Arc<GridCache>) -> Outbox {
    let poll = std::env::var("BUREAU_GRID_INTAKE_POLL_MS")
        .ok()
        .and_then(|m| m.trim().parse::<u64>().ok())
        .filter(|m| *m > 0)
        .unwrap_or(500);
    let cfg = OutboxConfig {
        backoff_secs: 5,
        backoff_max_secs: 300,
        poll: Duration::from_millis(poll),
        ..OutboxConfig::default()
    };
    Outbox::new(store.clone(), cfg)
        .expect("no webhooks to check")
        .with_adapter(CHANNEL, Arc::new(GridIntake::new(store, cache)))
}
