//! The arrears workflow's record (欠费停复电): cases and the steps taken in them, including the
//! disconnection and reconnection work orders with their deadlines.
//!
//! Why a small table of its own rather than the 95598 work orders: those orders take their
//! deadlines from the service-level rule sets (stages, working-time clocks, pauses), while a
//! disconnection is due at the time the written notice announced and a reconnection 24 elapsed
//! hours after full payment (`bureau_domain::arrears`). Keeping these orders as steps of the
//! arrears case puts every deadline of the workflow in one table, next to the notices they
//! follow from. Instants are Unix seconds.

use crate::{Scope, StoreResult};
use async_trait::async_trait;
use serde::Serialize;

/// One spell of arrears of one customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArrearsCaseRow {
    pub customer_id: String,
    /// 1, 2, ... per customer.
    pub case_no: i64,
    pub bureau_id: String,
    pub opened_at: i64,
    /// Due date (YYYY-MM-DD) of the oldest overdue bill when last seen.
    pub oldest_due: String,
    /// Arrears in fen when last seen.
    pub arrears_fen: i64,
    /// The next step's code (`bureau_domain::arrears::Step::code`).
    pub next_step: String,
    /// Not before this instant.
    pub next_at: Option<i64>,
    /// The next step's limit, when the rules set one.
    pub deadline: Option<i64>,
    pub closed_at: Option<i64>,
    pub updated_at: i64,
    /// Steps taken, oldest first (filled by the list queries).
    pub steps: Vec<ArrearsStepRow>,
}

/// A step taken in a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArrearsStepRow {
    pub customer_id: String,
    pub case_no: i64,
    /// `reminder-N`, `notice-N`, `final-N`, `disconnect`, `reconnect`, `paid`, `withdrawn`.
    pub step: String,
    /// When it was (or is scheduled to be) done.
    pub at: i64,
    /// Staff id, or `system` for the daily pass.
    pub by_staff: String,
    /// Notices: the cut they announce.
    pub planned_cut_at: Option<i64>,
    /// Work orders: their deadline.
    pub due_at: Option<i64>,
    /// Work orders: when carried out, and by whom.
    pub done_at: Option<i64>,
    pub done_by: Option<String>,
    pub detail: Option<String>,
}

/// The projection of a case after a pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseUpdate {
    pub oldest_due: String,
    pub arrears_fen: i64,
    pub next_step: String,
    pub next_at: Option<i64>,
    pub deadline: Option<i64>,
    pub closed_at: Option<i64>,
    pub updated_at: i64,
}

/// A daily pass that finished (the one `bureau serve` schedules), one per Beijing day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArrearsPassRow {
    /// YYYY-MM-DD, Beijing.
    pub day: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub customers: i64,
    pub opened: i64,
    pub taken: i64,
    pub closed: i64,
}

#[async_trait]
pub trait ArrearsStore {
    /// The customer's open case, opening a new one (next case number) when there is none.
    async fn open_arrears_case(
        &self,
        customer_id: &str,
        bureau_id: &str,
        now: i64,
        update: &CaseUpdate,
    ) -> StoreResult<ArrearsCaseRow>;
    /// Records a step; `false` (and nothing written) when the case has that step already.
    async fn record_arrears_step(&self, step: &ArrearsStepRow) -> StoreResult<bool>;
    /// Writes a case's projection (and closes it when `closed_at` is set).
    async fn update_arrears_case(
        &self,
        customer_id: &str,
        case_no: i64,
        update: &CaseUpdate,
    ) -> StoreResult<()>;
    /// Marks a work order step done; `false` when it was done already or does not exist.
    async fn complete_arrears_order(
        &self,
        customer_id: &str,
        case_no: i64,
        step: &str,
        done_at: i64,
        done_by: &str,
    ) -> StoreResult<bool>;
    /// Cases in the scope with their steps: open ones only, or every case, in account order.
    async fn arrears_cases(
        &self,
        scope: &Scope,
        open_only: bool,
        limit: u32,
    ) -> StoreResult<Vec<ArrearsCaseRow>>;
    /// A customer's cases with their steps, newest first.
    async fn arrears_cases_of(&self, customer_id: &str) -> StoreResult<Vec<ArrearsCaseRow>>;
    /// Which of these customers have an open case (each once, in account order); any number of
    /// ids. A bank file asks this for each chunk it posted, to follow up the paid cases only.
    async fn customers_with_open_case(&self, customer_ids: &[String]) -> StoreResult<Vec<String>>;
    /// Records the finished pass of a day; `false` (and the first record kept) when the day has
    /// one already.
    async fn record_arrears_pass(&self, pass: &ArrearsPassRow) -> StoreResult<bool>;
    /// The finished pass of `day` (YYYY-MM-DD), if any.
    async fn arrears_pass(&self, day: &str) -> StoreResult<Option<ArrearsPassRow>>;
}
