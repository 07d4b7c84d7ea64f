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
use crate::outbox::worker::record_outcome;
use crate::outbox::{self, Adapter, DeliveryError, Notification, OutboxConfig, RunReport};
use bureau_domain::org::Role;
use bureau_store::{Claim, DynStore, OutboxMessage, Scope, WorkOrder};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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

/// The agent who accepted the order, as the one who reports its call.
fn agent(h: &CallHandOver) -> Actor {
    Actor {
        staff_id: h.staff_id.clone(),
        name: h.staff_id.clone(),
        roles: vec![Role::Agent],
        bureau_id: h.bureau_id.clone(),
        scope: Scope::Bureaus(vec![h.bureau_id.clone()]),
    }
}

fn call_input(h: &CallHandOver, now: i64) -> CallInput {
    CallInput {
        customer_id: Some(h.customer_id.clone()),
        load_id: None,
        source: "work_order".into(),
        at: Some(h.at.min(now)),
        note: Some(h.note.clone()),
        id: Some(h.order_id.clone()),
    }
}

/// Reports the call of one hand-over. A call already reported (a redelivery) is success.
pub async fn report(
    store: &DynStore,
    cache: &GridCache,
    h: &CallHandOver,
    now: i64,
) -> AppResult<outage::CallOutcome> {
    outage::report_call(store, cache, &agent(h), &h.bureau_id, call_input(h, now), now).await
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
        let h = hand_over_of(msg)?;
        match report(&self.store, &self.cache, &h, crate::auth::now_unix()).await {
            Ok(o) => {
                tracing::info!(order = %h.order_id, load = %o.call.load_id,
                    outage = o.outage.as_ref().map(|o| o.id.as_str()).unwrap_or("-"), "work order became a trouble call");
                Ok(())
            }
            Err(AppError::Conflict(e)) if e.code == "duplicate" => Ok(()),
            Err(e) => Err(delivery_error(e)),
        }
    }
}

/// How many hand-overs the worker claims and files at a time.
pub const BATCH: u32 = 500;

/// The grid intake worker: delivers the messages of [`CHANNEL`] alone, sharing the server's live
/// model, in batches: it claims up to [`BATCH`] due hand-overs under a lease, files each bureau's
/// share with one [`outage::report_calls`] (one grouping of the open calls per bureau and batch,
/// where delivering them one by one grouped them again for every call), and records each message's
/// outcome as the outbox worker does (sent; failed and retried with backoff; or given up with the
/// reason). A redelivered hand-over finds its call already stored and is simply marked sent.
///
/// Polls every `BUREAU_GRID_INTAKE_POLL_MS` (default 500 ms); a database error is retried after 5 s,
/// doubling up to 5 minutes.
pub fn worker(store: DynStore, cache: Arc<GridCache>) -> IntakeWorker {
    let poll = std::env::var("BUREAU_GRID_INTAKE_POLL_MS")
        .ok()
        .and_then(|m| m.trim().parse::<u64>().ok())
        .filter(|m| *m > 0)
        .unwrap_or(500);
    let cfg = OutboxConfig {
        backoff_secs: 5,
        backoff_max_secs: 300,
        poll: Duration::from_millis(poll),
        batch: BATCH,
        ..OutboxConfig::default()
    };
    IntakeWorker { store, cache, cfg }
}

/// See [`worker`].
#[derive(Clone)]
pub struct IntakeWorker {
    store: DynStore,
    cache: Arc<GridCache>,
    cfg: OutboxConfig,
}

impl IntakeWorker {
    /// Delivers every hand-over due at `now`, batch after batch, until none is left. The clock moves
    /// on from `now` between batches, so that a long backlog's later claims get a fresh lease.
    pub async fn run_once(&self, now: i64) -> AppResult<RunReport> {
        let started = std::time::Instant::now();
        let channels = [CHANNEL.to_string()];
        let mut total = RunReport::default();
        loop {
            let now = now + started.elapsed().as_secs() as i64;
            let token = outbox::new_id("C");
            let claimed = self
                .store
                .claim_outbox(&Claim {
                    channels: Some(&channels),
                    now,
                    token: &token,
                    lease_until: now + self.cfg.lease_secs,
                    limit: self.cfg.batch,
                })
                .await?;
            if claimed.is_empty() {
                return Ok(total);
            }
            let outcomes = deliver_batch(&self.store, &self.cache, &claimed, crate::auth::now_unix()).await;
            // The delivered ones are marked sent in one statement; failures one by one (each has
            // its own error and retry time, and they are few).
            let mut delivered = Vec::new();
            for (msg, outcome) in claimed.iter().zip(outcomes) {
                match outcome {
                    Ok(()) => delivered.push(msg.id.clone()),
                    Err(_) => {
                        total += record_outcome(&self.store, &self.cfg, msg, &token, now, outcome).await?
                    }
                }
            }
            if !delivered.is_empty() {
                let sent_at = crate::auth::now_unix().max(now);
                let marked = self.store.mark_outbox_sent_many(&delivered, &token, sent_at).await?;
                let (marked, lost) = (marked.len() as u64, (delivered.len() - marked.len()) as u64);
                // One line a batch: at a storm's hundreds of calls a second, a line per order
                // (formatted and written on the worker's thread) cost more than the filing.
                tracing::info!(orders = marked, "work orders became trouble calls");
                total += RunReport { claimed: marked + lost, sent: marked, lost, ..RunReport::default() };
                tracing::debug!(sent = marked, lost, "grid hand-overs marked sent");
            }
            if claimed.len() < self.cfg.batch as usize {
                return Ok(total);
            }
        }
    }

    /// Runs until the task is dropped or aborted: a pass every poll interval; an error (a database
    /// briefly unreachable) is logged and the next pass tries again.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                match self.run_once(crate::auth::now_unix()).await {
                    Ok(r) if r.claimed > 0 => tracing::debug!(?r, "grid intake pass"),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "grid intake pass failed"),
                }
                tokio::time::sleep(self.cfg.poll).await;
            }
        })
    }
}

/// The outcome of each of `msgs`, in order: the hand-overs are grouped by bureau and each bureau's
/// are reported together. A message without a readable hand-over, or whose call is refused, is given
/// up with the reason; a database error is retried; neither holds up the other messages.
pub async fn deliver_batch(
    store: &DynStore,
    cache: &GridCache,
    msgs: &[OutboxMessage],
    now: i64,
) -> Vec<Result<(), DeliveryError>> {
    let mut outcomes: Vec<Result<(), DeliveryError>> = Vec::with_capacity(msgs.len());
    let mut by_bureau: BTreeMap<String, Vec<(usize, CallHandOver)>> = BTreeMap::new();
    for (i, msg) in msgs.iter().enumerate() {
        match hand_over_of(msg) {
            Ok(h) => {
                by_bureau.entry(h.bureau_id.clone()).or_default().push((i, h));
                outcomes.push(Ok(()));
            }
            Err(e) => outcomes.push(Err(e)),
        }
    }
    for (bureau_id, items) in by_bureau {
        // The grouping's log names the agent of the batch's first order.
        let actor = agent(&items[0].1);
        let inputs = items.iter().map(|(_, h)| call_input(h, now)).collect();
        match outage::report_calls(store, cache, &actor, &bureau_id, inputs, now).await {
            Ok(results) => {
                for ((i, h), r) in items.iter().zip(results) {
                    outcomes[*i] = match r {
                        Ok(filed) => {
                            tracing::debug!(order = %h.order_id, filed, "work order became a trouble call");
                            Ok(())
                        }
                        Err(e) => Err(delivery_error(e)),
                    };
                }
            }
            Err(e) => {
                let e = delivery_error(e);
                for (i, _) in &items {
                    outcomes[*i] = Err(e.clone());
                }
            }
        }
    }
    outcomes
}

fn hand_over_of(msg: &OutboxMessage) -> Result<CallHandOver, DeliveryError> {
    msg.data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .ok_or_else(|| DeliveryError::permanent("the hand-over carries no call"))
}

/// A database error is worth another try; a refused call is not.
fn delivery_error(e: AppError) -> DeliveryError {
    match e {
        AppError::Store(e) => DeliveryError::retry(e.to_string()),
        e => DeliveryError::permanent(e.to_string()),
    }
}
