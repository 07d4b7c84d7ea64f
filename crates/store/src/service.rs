//! Work orders (工单) of the 95598 service centre, their audit trail and deadlines, the repair duty
//! roster and the knowledge base.
//!
//! A work order row is the current *projection* of the order; what happened is its event trail,
//! which is only ever appended to. A transition writes the next event and the new projection in one
//! transaction, and only if the row still has the version the transition was computed from: two
//! agents acting on one order at once never lose a transition — the second is told (a
//! `work_orders_version` constraint error) and recomputes from what the first did.

use crate::{NewOutboxMessage, Scope, StoreResult};
use async_trait::async_trait;
use bureau_domain::register::ServiceArea;
use bureau_domain::service::{
    Action, Channel, ComplaintGrade, OrderKind, PauseReason, Satisfaction, Stage, Status, SubType,
};
use serde::{Deserialize, Serialize};

/// The constraint named when a transition finds the order changed since it was read.
pub const VERSION_CONFLICT: &str = "work_orders_version";

/// A work order as stored. Instants are Unix seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrder {
    pub id: String,
    /// The account (户号), when the caller is a known customer.
    pub customer_id: Option<String>,
    pub bureau_id: String,
    pub kind: OrderKind,
    pub subtype: Option<SubType>,
    pub grade: Option<ComplaintGrade>,
    pub channel: Channel,
    pub area: ServiceArea,
    /// The caller said they would go above the bureau (越级倾向).
    pub escalation_intent: bool,
    /// Counted as an escalated order (越级): came through 12398 or 12345.
    pub escalated: bool,
    pub caller_name: String,
    pub caller_phone: String,
    pub address: String,
    /// A key for the matter, for repeat detection.
    pub matter: Option<String>,
    pub description: String,
    pub status: Status,
    pub paused_reason: Option<PauseReason>,
    pub paused_since: Option<i64>,
    /// The number of events in the trail.
    pub version: i64,
    pub accepted_at: i64,
    pub accepted_by: String,
    /// The unit handling it.
    pub department_id: Option<String>,
    /// The staff member (crew) who took it.
    pub taken_by: Option<String>,
    /// The service-level rule set in force at acceptance.
    pub rule_set: String,
    /// The earliest deadline not yet met, and its stage.
    pub next_due_at: Option<i64>,
    pub next_due_stage: Option<Stage>,
    /// An earlier closed order on the same matter (a repeat, 重复).
    pub repeat_of: Option<String>,
    /// An earlier open order on the same matter (a duplicate, linked to it).
    pub duplicate_of: Option<String>,
    pub repeat_count: i64,
    pub satisfaction: Option<Satisfaction>,
    pub reopened: i64,
    pub updated_at: i64,
    /// When archived.
    pub closed_at: Option<i64>,
}

/// One entry of an order's audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEvent {
    /// 1, 2, 3... in order.
    pub seq: i64,
    pub at: i64,
    /// Staff id, or `system`.
    pub actor: String,
    pub event: Action,
    pub from_status: Status,
    pub to_status: Status,
    /// JSON: the event's data (satisfaction, pause reason, the repair reply, a note).
    pub detail: Option<String>,
}

/// A stage's time limit and when it was met.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDeadline {
    pub stage: Stage,
    pub due_at: i64,
    pub done_at: Option<i64>,
}

/// A transition: the event to append and the projection after it (`order.version` is
/// `expected_version + 1`), with the deadlines that changed.
#[derive(Clone, Debug)]
pub struct Transition {
    pub order: WorkOrder,
    pub expected_version: i64,
    pub event: OrderEvent,
    pub deadlines: Vec<OrderDeadline>,
}

/// Which orders to list.
#[derive(Clone, Debug)]
pub struct OrderQuery {
    pub scope: Scope,
    /// Only orders not archived.
    pub open_only: bool,
    pub customer_id: Option<String>,
    pub caller_phone: Option<String>,
    pub kind: Option<OrderKind>,
    pub status: Option<Status>,
    pub taken_by: Option<String>,
    /// Accepted at or after.
    pub accepted_from: Option<i64>,
    /// Sort by the next deadline (the queue), else newest first.
    pub by_due: bool,
    pub limit: u32,
}

impl OrderQuery {
    /// Every order in the scope, newest first, up to 100.
    pub fn new(scope: Scope) -> OrderQuery {
        OrderQuery {
            scope,
            open_only: false,
            customer_id: None,
            caller_phone: None,
            kind: None,
            status: None,
            taken_by: None,
            accepted_from: None,
            by_due: false,
            limit: 100,
        }
    }
}

/// Deadlines met and missed in one group of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineTally {
    /// `YYYY-MM` (Beijing time) of acceptance.
    pub month: String,
    pub kind: OrderKind,
    pub department_id: Option<String>,
    pub stage: Stage,
    /// Deadlines whose time has come (met, or due before the report's `now`).
    pub due: i64,
    /// Met on time.
    pub met: i64,
}

/// Someone on repair duty (抢修值班).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutyShift {
    pub id: String,
    pub bureau_id: String,
    pub staff_id: String,
    /// `leader` (on-duty production leader), `crew` or `supervisor`.
    pub duty: String,
    /// Escalation step: 0 at once, 1 after the take timeout, 2 after twice that...
    pub level: i64,
    pub crew_name: Option<String>,
    pub vehicle: Option<String>,
    pub starts_at: i64,
    pub ends_at: i64,
    /// The staff member's phone from the register, read with the shift (not stored on it): what
    /// a dispatch SMS is sent to.
    #[serde(default)]
    pub phone: Option<String>,
}

/// An answer in the knowledge base (知识库).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnowledgeArticle {
    pub id: String,
    pub kind: Option<OrderKind>,
    pub subtype: Option<SubType>,
    pub title: String,
    pub body: String,
    pub tags: String,
    pub updated_at: i64,
    pub updated_by: String,
}

#[async_trait]
pub trait ServiceStore {
    /// Stores a newly accepted order with its deadlines and the notifications it causes (the duty
    /// roster paged about a fault repair), all in one transaction: a crash leaves either all of
    /// them or none. A notification whose key is already in the outbox is not stored again; any
    /// other failure writes nothing at all.
    async fn create_work_order(
        &self,
        order: &WorkOrder,
        deadlines: &[OrderDeadline],
        notifications: &[NewOutboxMessage],
    ) -> StoreResult<()>;
    /// Appends the event and writes the new projection, if the order is still at
    /// `expected_version`; otherwise `Constraint { constraint: VERSION_CONFLICT }` and nothing
    /// changes.
    async fn transition_work_order(&self, t: &Transition) -> StoreResult<()>;
    async fn get_work_order(&self, id: &str) -> StoreResult<WorkOrder>;
    async fn work_order_events(&self, id: &str) -> StoreResult<Vec<OrderEvent>>;
    async fn work_order_deadlines(&self, id: &str) -> StoreResult<Vec<OrderDeadline>>;
    async fn list_work_orders(&self, q: &OrderQuery) -> StoreResult<Vec<WorkOrder>>;
    /// Open orders whose next deadline falls before `before` (breach warnings), soonest first.
    async fn orders_due_before(&self, scope: &Scope, before: i64, limit: u32) -> StoreResult<Vec<WorkOrder>>;
    /// Deadlines of orders accepted in `[from, to)`, tallied by month, kind, department and stage;
    /// a deadline counts as due once met or once `now` has passed it.
    async fn deadline_report(
        &self,
        scope: &Scope,
        from: i64,
        to: i64,
        now: i64,
    ) -> StoreResult<Vec<DeadlineTally>>;

    async fn upsert_duty(&self, shifts: &[DutyShift]) -> StoreResult<u64>;
    /// Shifts of a bureau covering the instant `at`, by level then duty.
    async fn on_duty(&self, bureau_id: &str, at: i64) -> StoreResult<Vec<DutyShift>>;

    async fn upsert_articles(&self, articles: &[KnowledgeArticle]) -> StoreResult<u64>;
    /// Articles whose title, body or tags contain every word of `q`.
    async fn search_articles(
        &self,
        q: &str,
        kind: Option<OrderKind>,
        limit: u32,
    ) -> StoreResult<Vec<KnowledgeArticle>>;
}
