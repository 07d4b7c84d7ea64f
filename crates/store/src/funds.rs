//! What the government-fund remittance report (政府性基金及附加解缴) reads: the live bills summed by
//! billing month, tariff and consumption dates. The report prices each group with the tariff book
//! (`bureau_domain::tariff::remittance`); nothing per bill is read or written.

use crate::{Scope, StoreResult};
use async_trait::async_trait;
use bureau_domain::money::Fen;
use rust_decimal::Decimal;
use serde::Serialize;

/// Live bills of one billing month, tariff and consumption period, summed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BillFundGroup {
    /// `YYYY-MM`.
    pub period: String,
    pub tariff_id: String,
    /// First and last day of consumption, `YYYY-MM-DD`.
    pub start_on: String,
    pub end_on: String,
    pub bills: u64,
    /// The sum of the bills' kWh (a credit bill counts negative).
    pub kwh: Decimal,
    /// The sum of the bills' own government funds (`funds_fen`).
    pub funds: Fen,
}

#[async_trait]
pub trait FundStore {
    /// Live bills (a cancelled revision left out, its replacement counted) of the billing months
    /// `from..=to` (`YYYY-MM`) in the scope, summed by month, tariff, first and last day of
    /// consumption, in that order.
    async fn bill_fund_groups(&self, scope: &Scope, from: &str, to: &str) -> StoreResult<Vec<BillFundGroup>>;
}
