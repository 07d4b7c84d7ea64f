//! Bill history for the demo county: every generated month but the last is billed by the real bill
//! run, so that a newcomer finds a year of bills and can run the last month themselves
//! (`bureau bill run --period <last month>`). Idempotent like the run itself.

use super::{months_back, DemoOptions};
use crate::access::Actor;
use crate::billing::{run, RunOptions};
use crate::error::AppResult;
use bureau_domain::tariff::{BillPeriod, TariffBook};
use bureau_store::DynStore;

/// Bills the months before the last generated one; returns the bills issued.
pub async fn history(store: &DynStore, opts: &DemoOptions) -> AppResult<u64> {
    let tariffs = TariffBook::builtin();
    let mut bills = 0;
    // Readings k = 0..=months fall in the months from `first`; month k (k ≥ 1) closes a period.
    for back in 1..opts.months {
        let (y, m) = months_back(opts.through_year, opts.through_month, back);
        let period = BillPeriod::new("period", y, m)?;
        let mut ro = RunOptions::new(period, period.last_day());
        ro.chunk = 5000;
        let s = run(store, &Actor::system(), &tariffs, &ro, &|_| {}).await?;
        bills += s.bills;
    }
    Ok(bills)
}
