//! What a customer's bill needs besides its readings and history: the staff resolutions of held
//! readings (异常处理) and a meter exchanged inside the period (换表). Loaded once per chunk
//! (`ExceptionStore::billing_extras`) and sliced per customer here.

use bureau_domain::reading::{ExceptionKind, ResolutionAction};
use bureau_domain::register::Meter;
use bureau_store::{BillingExtras, ExceptionResolution, Reading};

/// One customer's extras.
#[derive(Clone, Copy, Debug, Default)]
pub struct CustomerExtras<'a> {
    /// The latest resolution of the period and of the month before (at most one each).
    pub resolutions: &'a [ExceptionResolution],
    /// Meters of the customer removed since the first day of the month before the period.
    pub removed_meters: &'a [Meter],
}

impl<'a> CustomerExtras<'a> {
    /// The slice of `all` (sorted by customer) that belongs to `customer_id`.
    pub fn of(all: &'a BillingExtras, customer_id: &str) -> CustomerExtras<'a> {
        let r0 = all.resolutions.partition_point(|r| r.customer_id.as_str() < customer_id);
        let r1 = all.resolutions.partition_point(|r| r.customer_id.as_str() <= customer_id);
        let m0 = all.removed_meters.partition_point(|m| m.customer_id.as_str() < customer_id);
        let m1 = all.removed_meters.partition_point(|m| m.customer_id.as_str() <= customer_id);
        CustomerExtras { resolutions: &all.resolutions[r0..r1], removed_meters: &all.removed_meters[m0..m1] }
    }

    /// The kind of exception staff confirmed as real for `period`, if the latest resolution of the
    /// period is a confirmation.
    pub fn confirmed(&self, period: &str) -> Option<ExceptionKind> {
        self.resolutions
            .iter()
            .find(|r| r.period == period && r.action == ResolutionAction::Confirm)
            .map(|r| r.kind)
    }

    /// `readings` of one meter with the corrected or estimated readings of the resolutions laid
    /// over them: a resolution's reading replaces the reading of the same meter and day, or joins
    /// them when there was none (a missing reading). Date order.
    pub fn overlay(&self, readings: &[Reading], meter_id: &str) -> Vec<Reading> {
        let mut out: Vec<Reading> = readings.iter().filter(|r| r.meter_id == meter_id).cloned().collect();
        for r in self.resolutions.iter().filter_map(|x| x.reading.as_ref()).filter(|r| r.meter_id == meter_id)
        {
            out.retain(|o| o.read_on != r.read_on);
            out.push(r.clone());
        }
        out.sort_by(|a, b| a.read_on.cmp(&b.read_on));
        out
    }
}

/// The extras of a loaded chunk's customers (one key-range read of resolutions and one of removed
/// meters; nothing when the chunk has no customer to bill).
pub async fn load(
    store: &bureau_store::DynStore,
    chunk: &bureau_store::BillingChunk,
    period: &str,
) -> bureau_store::StoreResult<BillingExtras> {
    match (chunk.accounts.first(), chunk.accounts.last()) {
        (Some(lo), Some(hi)) => store.billing_extras(&lo.customer_id, &hi.customer_id, period).await,
        _ => Ok(BillingExtras::default()),
    }
}
