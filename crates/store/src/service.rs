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
    /// The `seq` of the latest event in the trail: 0 when just accepted (the acceptance is seq 0),
    /// one more for each transition.
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
    /// 0 for the acceptance (written with the order), then 1, 2, 3... in order.
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
    /// The planned end.
    pub ends_at: i64,
    /// When and by whom the shift was put on the roster (`None` for rows from before 0012).
    #[serde(default)]
    pub created_at: Option<i64>,
    #[serde(default)]
    pub created_by: Option<String>,
    /// A shift ended early (or called off before it began): the planned times stay as they were,
    /// and the shift no longer counts from `ended_at` on.
    #[serde(default)]
    pub ended_at: Option<i64>,
    #[serde(default)]
    pub ended_by: Option<String>,
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
    /// 1 when added, one more for each edit or the retirement; every revision is kept
    /// ([`ServiceStore::article_revisions`]).
    #[serde(default = "first_revision")]
    pub revision: i64,
    /// Retired answers are no longer found by the search; they stay with their history.
    #[serde(default)]
    pub retired_at: Option<i64>,
}

fn first_revision() -> i64 {
    1
}

/// One revision of a knowledge-base answer, as it read after the change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleRevision {
    pub revision: i64,
    /// `add`, `edit` or `retire`.
    pub change: String,
    pub at: i64,
    pub by: String,
    pub kind: Option<OrderKind>,
    pub subtype: Option<SubType>,
    pub title: String,
    pub body: String,
    pub tags: String,
}

/// The constraint named when an answer was changed by someone else since it was read.
pub const ARTICLE_CONFLICT: &str = "knowledge_articles_revision";

/// An earlier order of a caller, as repeat detection needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PastOrder {
    pub id: String,
    pub kind: OrderKind,
    pub subtype: Option<SubType>,
    pub matter: Option<String>,
    pub accepted_at: i64,
    pub closed_at: Option<i64>,
}

/// What intake reads about a caller, in one statement: the customer (when an account number was
/// given and it is in scope) and their orders accepted since a time, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerHistory {
    pub customer: Option<bureau_domain::register::Customer>,
    pub orders: Vec<PastOrder>,
}

/// The latest call the phone system reported ringing at an agent (the screen pop).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingCall {
    /// The staff member the call rang at.
    pub agent_id: String,
    pub phone: String,
    pub at: i64,
    /// Who posted it (the phone system's login).
    pub posted_by: String,
}

#[async_trait]
pub trait ServiceStore {
    /// Stores a newly accepted order with its deadlines, the first entry of its trail (the
    /// acceptance, seq 0: `accepted_by`, `accepted_at` and the channel) and the notifications it
    /// causes (the duty roster paged about a fault repair), all in one transaction: a crash leaves
    /// either all of them or none. A notification whose key is already in the outbox is not stored again; any
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
    /// Intake's read, one statement: the customer `customer_id` in `scope` (if given) with their
    /// orders accepted at or after `since`; without an account number, the orders from
    /// `caller_phone`. At most `limit` orders, newest first.
    async fn caller_history(
        &self,
        scope: &Scope,
        customer_id: Option<&str>,
        caller_phone: &str,
        since: i64,
        limit: u32,
    ) -> StoreResult<CallerHistory>;
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
    /// Shifts of a bureau covering the instant `at` and not ended before it, by level then duty.
    /// May answer from a cache of a few seconds ([`ROSTER_CACHE_SECS`]) that every roster change
    /// made through this store clears at once; a change made by another process shows within
    /// that time.
    async fn on_duty(&self, bureau_id: &str, at: i64) -> StoreResult<Vec<DutyShift>>;
    /// Shifts of a bureau that overlap `[from, to)`, ended ones included, by start then level.
    async fn roster(&self, bureau_id: &str, from: i64, to: i64) -> StoreResult<Vec<DutyShift>>;
    async fn get_shift(&self, id: &str) -> StoreResult<DutyShift>;
    /// Adds a shift (its `created_at`/`created_by` set); an id already on the roster, or an
    /// unknown staff member or bureau, is a constraint error and changes nothing.
    async fn add_shift(&self, shift: &DutyShift) -> StoreResult<()>;
    /// Ends a shift at `at` (before its planned end) unless it was already ended:
    /// `NotFound`, or `Constraint { constraint: "duty_roster_ended" }` and nothing changes.
    async fn end_shift(&self, id: &str, at: i64, by: &str) -> StoreResult<()>;

    /// Adds the answers not yet in the base (by id), each with its first revision; an id already
    /// there is left as it is (edits go through [`ServiceStore::revise_article`]).
    async fn upsert_articles(&self, articles: &[KnowledgeArticle]) -> StoreResult<u64>;
    async fn get_article(&self, id: &str) -> StoreResult<KnowledgeArticle>;
    /// Every answer (retired ones too when asked), by title.
    async fn list_articles(&self, include_retired: bool, limit: u32) -> StoreResult<Vec<KnowledgeArticle>>;
    /// Writes the next revision of an answer (`article.revision` is the one it was read at; the
    /// stored one becomes one more), appending it to the history: `change` is `edit` or `retire`
    /// (`retire` keeps the text and sets `retired_at`). Someone else's change in between is a
    /// [`ARTICLE_CONFLICT`] constraint error and nothing changes; so is any change to a retired
    /// answer.
    async fn revise_article(&self, article: &KnowledgeArticle, change: &str)
        -> StoreResult<KnowledgeArticle>;
    /// Every revision of an answer, oldest first.
    async fn article_revisions(&self, id: &str) -> StoreResult<Vec<ArticleRevision>>;
    /// Articles not retired whose title, body or tags contain every word of `q`.
    async fn search_articles(
        &self,
        q: &str,
        kind: Option<OrderKind>,
        limit: u32,
    ) -> StoreResult<Vec<KnowledgeArticle>>;

    /// Records a call ringing at an agent (the phone system's screen pop); it replaces that
    /// agent's previous one. An unknown agent is a constraint error.
    async fn record_call(&self, call: &IncomingCall) -> StoreResult<()>;
    /// The latest call that rang at an agent.
    async fn latest_call(&self, agent_id: &str) -> StoreResult<Option<IncomingCall>>;
}

/// How long [`ServiceStore::on_duty`] may answer from memory, in seconds.
pub const ROSTER_CACHE_SECS: i64 = 2;
