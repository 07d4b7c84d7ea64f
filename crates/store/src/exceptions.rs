//! Clearing the reading exceptions queue (异常处理): staff resolutions of held readings, and what
//! the bill computation needs of them.
//!
//! A resolution is a row of its own (who, when, why, and for a correction or an estimate the
//! register values), numbered per customer and period; the latest one of a period is the one in
//! force. The original reading stays as it was read: the computation lays the resolution's values
//! over it. Resolutions of the month before the period are loaded too, because that month's
//! closing reading opens the period.

use crate::{Reading, ReadingException, StoreResult};
use async_trait::async_trait;
use bureau_domain::reading::{ExceptionKind, ResolutionAction};
use bureau_domain::register::Meter;
use serde::Serialize;

/// One resolution of a customer's held reading for a period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExceptionResolution {
    pub customer_id: String,
    /// `YYYY-MM`.
    pub period: String,
    /// 1, 2, … per customer and period; the store assigns it.
    pub seq: i64,
    pub action: ResolutionAction,
    /// The exception kind it cleared.
    pub kind: ExceptionKind,
    /// The corrected or estimated reading (its meter and date name the reading it stands for);
    /// `None` for a confirmation.
    pub reading: Option<Reading>,
    pub reason: String,
    pub resolved_by: String,
    pub resolved_at: i64,
}

/// What the bill computation needs besides a chunk: the resolutions in force and the meters
/// taken out since the month before the period (a meter exchanged inside the period is billed
/// with the new one).
#[derive(Clone, Debug, Default)]
pub struct BillingExtras {
    /// The latest resolution per customer and period (the period and the month before), in
    /// (customer, period) order.
    pub resolutions: Vec<ExceptionResolution>,
    /// Meters removed on or after the first day of the month before the period, in (customer,
    /// removal date) order.
    pub removed_meters: Vec<Meter>,
}

#[async_trait]
pub trait ExceptionStore {
    /// The extras of the customers `from..=to` (account order) for `period`.
    async fn billing_extras(&self, from: &str, to: &str, period: &str) -> StoreResult<BillingExtras>;
    /// Stores a resolution under the next number of its customer and period; returns the number.
    async fn save_resolution(&self, resolution: &ExceptionResolution) -> StoreResult<i64>;
    /// Stores a resolution (as `save_resolution`) and issues the bill it allows, with the bill's
    /// ledger charges, in ONE transaction: a crash leaves both or neither, never a resolved
    /// exception without its bill. A bill of the same revision already present (a bill run wrote it
    /// meanwhile) is kept and its charges not posted again; the answer says whether `bill` was added.
    async fn resolve_and_bill(
        &self,
        resolution: &ExceptionResolution,
        bill: &crate::StoredBill,
        charges: &[crate::CustomerEntry],
    ) -> StoreResult<(i64, bool)>;
    /// Every resolution of a customer's period, oldest first.
    async fn resolutions_of(&self, customer_id: &str, period: &str) -> StoreResult<Vec<ExceptionResolution>>;
    /// Every exception recorded for a customer's period, open or not, by kind.
    async fn exceptions_of(&self, customer_id: &str, period: &str) -> StoreResult<Vec<ReadingException>>;
}
