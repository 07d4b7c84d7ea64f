//! Grid data beside the model: AMI meter events, feeder capacity limits, the reliability parameters
//! of a bureau as dated data, and the version of each bureau's model (moved on by a model import).

use crate::StoreResult;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A meter event from an AMI head-end system: `on` (power present: a ping answered, a power-up
/// message) or `off` (a last gasp). Append-only; the id makes a resent event harmless.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeterEvent {
    pub id: String,
    pub bureau_id: String,
    /// The load point (台区 or 10 kV customer) that supplies the meter.
    pub load_id: String,
    pub customer_id: Option<String>,
    pub meter_id: Option<String>,
    /// `on` or `off`.
    pub state: String,
    pub at: i64,
    pub received_at: i64,
}

/// The capacity of a feeder, keyed by its head branch (the branch leaving the source).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeederLimit {
    pub bureau_id: String,
    pub branch_id: String,
    pub capacity_kw: f64,
    pub updated_at: i64,
    pub updated_by: String,
}

/// The reliability parameters of a bureau's model (`params.toml`), in force from a date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridParamsRow {
    pub bureau_id: String,
    /// `YYYY-MM-DD`.
    pub effective_from: String,
    pub switching_h: f64,
    pub hours_per_year: f64,
    /// Where they came from (the file imported, `api`, ...).
    pub source: String,
    pub created_at: i64,
}

#[async_trait]
pub trait GridDataStore {
    /// Stores meter events; an event whose id is already stored is skipped. Returns how many were new.
    async fn insert_meter_events(&self, events: &[MeterEvent]) -> StoreResult<u64>;
    /// A bureau's meter events at or after `since`, oldest first.
    async fn meter_events_since(&self, bureau_id: &str, since: i64) -> StoreResult<Vec<MeterEvent>>;

    /// Sets (or replaces) a feeder's limit.
    async fn set_feeder_limit(&self, limit: &FeederLimit) -> StoreResult<()>;
    /// Removes a feeder's limit; false when there was none.
    async fn delete_feeder_limit(&self, bureau_id: &str, branch_id: &str) -> StoreResult<bool>;
    async fn feeder_limits(&self, bureau_id: &str) -> StoreResult<Vec<FeederLimit>>;

    /// Stores parameters in force from a date (replacing those of the same date); false when the
    /// same values were already stored for that date.
    async fn upsert_grid_params(&self, row: &GridParamsRow) -> StoreResult<bool>;
    /// Every dated set of a bureau, oldest first.
    async fn grid_params(&self, bureau_id: &str) -> StoreResult<Vec<GridParamsRow>>;

    /// The version of a bureau's model: 0 before any import, moved on by every import that wrote.
    async fn grid_model_version(&self, bureau_id: &str) -> StoreResult<i64>;
}
