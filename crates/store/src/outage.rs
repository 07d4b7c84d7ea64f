//! Grid operations and outages: switch operations, trouble calls, outage events with the load points
//! they cut off, their state history, and switching plans for planned work.

use crate::{Scope, StoreResult};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A switch operation (开关操作), recorded with who and when. Append-only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwitchOp {
    pub id: String,
    pub bureau_id: String,
    pub branch_id: String,
    pub open: bool,
    pub at: i64,
    pub by_staff: String,
    /// `manual`, `outage` or `plan`.
    pub reason: String,
    pub ref_id: Option<String>,
}

/// An outage event (停电事件).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outage {
    pub id: String,
    pub bureau_id: String,
    /// An `OutageClass` code of the grid crate: `fault`, `planned`, ...
    pub class: String,
    /// `predicted`, `confirmed`, `partly_restored`, `restored`, `closed` or `merged`.
    pub state: String,
    /// The (predicted or confirmed) open device.
    pub device: Option<String>,
    /// The load point of a service-level outage (no device).
    pub load_point: Option<String>,
    pub started_at: i64,
    pub confirmed_at: Option<i64>,
    pub restored_at: Option<i64>,
    pub closed_at: Option<i64>,
    /// Estimated restoration time.
    pub etr: Option<i64>,
    pub crew: Option<String>,
    pub cause: String,
    /// Low-voltage customers and medium-voltage users (台区 and 10 kV customers) affected.
    pub customers: i64,
    pub mv_users: i64,
    pub calls: i64,
    pub plan_id: Option<String>,
    pub created_by: String,
}

/// A load point cut off by an outage, restored at its own time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutagePoint {
    pub outage_id: String,
    pub load_id: String,
    pub customers: i64,
    pub out_at: i64,
    pub restored_at: Option<i64>,
}

/// One step of an outage's history. Append-only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutageLogEntry {
    pub outage_id: String,
    pub seq: i64,
    pub at: i64,
    pub by_staff: String,
    pub state: String,
    pub note: String,
}

/// A trouble call (报修/停电电话), an AMI last gasp or a fault-repair work order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TroubleCall {
    pub id: String,
    pub bureau_id: String,
    /// `api`, `ami` or `work_order`.
    pub source: String,
    pub customer_id: Option<String>,
    pub load_id: String,
    pub at: i64,
    pub note: String,
    pub outage_id: Option<String>,
    pub callback_at: Option<i64>,
    pub callback_result: Option<String>,
}

/// A switching plan for planned work (检修转供方案), with its execution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SwitchingPlanRow {
    pub id: String,
    pub bureau_id: String,
    pub work_branch: String,
    pub starts_at: i64,
    pub ends_at: i64,
    /// `planned`, `notified`, `executed` or `cancelled`.
    pub state: String,
    /// The plan of the grid crate, as JSON.
    pub plan_json: String,
    /// Customers still without supply during the work.
    pub affected: i64,
    pub created_by: String,
    pub created_at: i64,
    pub notified_at: Option<i64>,
    pub executed_at: Option<i64>,
    pub executed_by: Option<String>,
}

/// An outage with its load points, for statistics.
/// One outage's share of a regrouping, written by [`OutageStore::save_outages`].
#[derive(Clone, Debug, PartialEq)]
pub struct OutageSave {
    /// Inserted, or updated in full.
    pub outage: Outage,
    /// The outage's load points, replacing the stored ones; `None` leaves them as they are.
    pub points: Option<Vec<OutagePoint>>,
    /// Appended to the outage's log; its `seq` is assigned by the store.
    pub log: OutageLogEntry,
    /// Calls that now belong to this outage (wherever they were before); only the ones that move
    /// need to be named.
    pub attach: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutageWithPoints {
    pub outage: Outage,
    pub points: Vec<OutagePoint>,
}

#[async_trait]
pub trait OutageStore {
    /// Records a switch operation and sets the branch's current state, in one transaction.
    async fn record_switch_op(&self, op: &SwitchOp) -> StoreResult<()>;
    /// Operations of the bureaus in scope, newest first; of one branch when given.
    async fn switch_ops(
        &self,
        scope: &Scope,
        branch_id: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<SwitchOp>>;

    async fn insert_trouble_calls(&self, calls: &[TroubleCall]) -> StoreResult<Vec<String>>;
    /// Calls of a bureau since `since` that are not attached to a confirmed or later outage:
    /// unassigned ones and those of predicted outages (the working set of prediction).
    async fn open_trouble_calls(&self, bureau_id: &str, since: i64) -> StoreResult<Vec<TroubleCall>>;
    async fn calls_of_outage(&self, outage_id: &str) -> StoreResult<Vec<TroubleCall>>;
    /// Attaches calls to an outage.
    async fn attach_calls(&self, outage_id: &str, call_ids: &[String]) -> StoreResult<()>;
    async fn record_callback(&self, call_id: &str, at: i64, result: &str) -> StoreResult<()>;

    /// Writes an outage (insert or full update) with its load points (replacing the stored ones) and
    /// appends a log entry, in one transaction. The entry's `seq` is assigned by the store.
    async fn save_outage(
        &self,
        outage: &Outage,
        points: &[OutagePoint],
        log: &OutageLogEntry,
    ) -> StoreResult<()>;
    /// Writes several outages as [`OutageStore::save_outage`] does, each with the calls it gains,
    /// all in one transaction (a regrouping of the open calls is stored at once or not at all).
    async fn save_outages(&self, saves: &[OutageSave]) -> StoreResult<()>;
    async fn get_outage(&self, scope: &Scope, id: &str) -> StoreResult<Outage>;
    async fn outage_points(&self, outage_id: &str) -> StoreResult<Vec<OutagePoint>>;
    async fn outage_log(&self, outage_id: &str) -> StoreResult<Vec<OutageLogEntry>>;
    /// Outages not closed or merged, newest first.
    async fn active_outages(&self, scope: &Scope) -> StoreResult<Vec<Outage>>;
    /// Outages that began in `[from, to)` with their load points (merged ones left out).
    async fn outages_between(&self, scope: &Scope, from: i64, to: i64) -> StoreResult<Vec<OutageWithPoints>>;
    /// Inserts many finished outages at once (generators, imports of history); existing ids are kept.
    async fn insert_outage_history(&self, outages: &[OutageWithPoints]) -> StoreResult<u64>;

    /// Customers supplied at these load points (the register's `supply_point`), in account order.
    async fn customers_at(
        &self,
        scope: &Scope,
        load_ids: &[String],
    ) -> StoreResult<Vec<bureau_domain::register::Customer>>;

    async fn save_plan(&self, plan: &SwitchingPlanRow) -> StoreResult<()>;
    async fn get_plan(&self, scope: &Scope, id: &str) -> StoreResult<SwitchingPlanRow>;
    async fn list_plans(&self, scope: &Scope, limit: u32) -> StoreResult<Vec<SwitchingPlanRow>>;
}
