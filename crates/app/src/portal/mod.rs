//! The customer's own view (网上营业厅 and the automatic bill query, 自动电费查询系统): logins for
//! customers, their bills, consumption on the tier ladder, outages at their supply point and their
//! service orders, and the plain-text query for SMS/IVR gateways.
//!
//! Every read takes the customer from the [`CustomerSession`] of the login, never from the request:
//! a period or an order id in a request is only looked up among the session customer's own rows,
//! and anything else is "not found".

pub mod limit;
pub mod login;
pub mod query;

use crate::error::{AppError, AppResult};
use crate::payments::{load_account, Account};
use bureau_domain::i18n::Lang;
use bureau_domain::ledger::{Channel, EntryKind};
use bureau_domain::money::Fen;
use bureau_domain::register::Customer;
use bureau_domain::tariff::ladder::{position, TierPosition};
use bureau_domain::tariff::{BillPeriod, TariffBook};
use bureau_store::{
    BillQuery, DynStore, OrderEvent, OrderQuery, Outage, Scope, StoreError, StoredBill, WorkOrder,
};
use rust_decimal::Decimal;
use serde::Serialize;

pub use limit::{Limit, PortalLimits, RateLimiter};
pub use login::{
    customer_for_token, login_code, login_password, request_code, set_own_password, set_password_by_staff,
    CODE_MAX_ATTEMPTS, CUSTOMER_SESSION_SECONDS,
};

/// The logged-in customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerSession {
    pub customer_id: String,
    pub bureau_id: String,
    pub name: String,
    pub supply_point: Option<String>,
    pub lang: Lang,
}

impl CustomerSession {
    fn scope(&self) -> Scope {
        Scope::Bureaus(vec![self.bureau_id.clone()])
    }
}

/// The customer's register record (name, address, phone as registered).
pub async fn customer(store: &DynStore, who: &CustomerSession) -> AppResult<Customer> {
    store
        .get_customer(&who.scope(), &who.customer_id)
        .await
        .map_err(|e| AppError::or_not_found(e, "customer", &who.customer_id))
}

/// Live bills, newest first, without lines.
pub async fn bills(store: &DynStore, who: &CustomerSession, limit: u32) -> AppResult<Vec<StoredBill>> {
    Ok(store.live_bills(&who.customer_id, limit.clamp(1, 120)).await?)
}

/// The newest live bill, if any.
pub async fn latest_bill(store: &DynStore, who: &CustomerSession) -> AppResult<Option<StoredBill>> {
    Ok(store.latest_bill(&who.customer_id).await?)
}

/// One bill of the customer with its lines (the live revision, else the latest).
pub async fn bill(store: &DynStore, who: &CustomerSession, period: &str) -> AppResult<StoredBill> {
    BillPeriod::parse("period", period)?;
    store
        .get_bill(&who.customer_id, period, None)
        .await
        .map_err(|e| AppError::or_not_found(e, "bill", period))
}

/// One month of the consumption chart.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MonthUse {
    /// `YYYY-MM`.
    pub period: String,
    pub kwh: Decimal,
    /// The bill's total, yuan.
    pub total: bureau_domain::money::Fen,
    pub tariff_id: String,
    /// Where the month (or the tier year to date) stands on the tariff's ladder; `None` for tariffs
    /// without tiers.
    pub tier: Option<TierPosition>,
}

/// The months billed (up to `months`, oldest first) with their tier positions.
pub async fn consumption(
    store: &DynStore,
    who: &CustomerSession,
    tariffs: &TariffBook,
    months: u32,
) -> AppResult<Vec<MonthUse>> {
    let mut bills = store.live_bills(&who.customer_id, months.clamp(1, 36)).await?;
    bills.reverse();
    Ok(bills
        .into_iter()
        .map(|b| {
            let tier = tier_of(tariffs, &b);
            MonthUse { period: b.period, kwh: b.kwh, total: b.total, tariff_id: b.tariff_id, tier }
        })
        .collect())
}

/// The tier position of a bill: the month's kWh on a monthly ladder, the year to date on an annual.
pub fn tier_of(tariffs: &TariffBook, b: &StoredBill) -> Option<TierPosition> {
    let tariff = tariffs.get(&b.tariff_id)?;
    let day = jiff::civil::Date::strptime("%Y-%m-%d", &b.end_on).ok()?;
    let tiers = tariff.version_on(day)?.tiers.as_ref()?;
    let counter = match tiers.counter {
        bureau_domain::tariff::TierCounter::Monthly => b.kwh,
        bureau_domain::tariff::TierCounter::Annual { .. } => b.ytd_kwh.unwrap_or(b.kwh),
    };
    Some(position(tiers, counter))
}

/// Outages that reached the customer's supply point in the last year, newest first.
pub async fn outages(store: &DynStore, who: &CustomerSession) -> AppResult<Vec<Outage>> {
    let Some(point) = &who.supply_point else { return Ok(Vec::new()) };
    let since = crate::auth::now_unix() - 366 * 86_400;
    Ok(store.outages_at_point(point, since, 50).await?)
}

/// The customer's service orders (95598), newest first.
pub async fn orders(store: &DynStore, who: &CustomerSession) -> AppResult<Vec<WorkOrder>> {
    let mut q = OrderQuery::new(who.scope());
    q.customer_id = Some(who.customer_id.clone());
    q.limit = 50;
    Ok(store.list_work_orders(&q).await?)
}

/// The automatic bill query: newest bill and ledger balance in one read.
pub async fn bill_query(store: &DynStore, who: &CustomerSession) -> AppResult<BillQuery> {
    Ok(store.bill_query(&who.customer_id).await?)
}

/// The customer's account folded from the ledger (open bills with the late fee to today, arrears,
/// credit, balance): the same fold the counter sees.
pub async fn account(store: &DynStore, who: &CustomerSession) -> AppResult<Account> {
    let c = customer(store, who).await?;
    let today = bureau_domain::calendar::beijing::date_of(jiff::Timestamp::now());
    load_account(store, c, crate::payments::late_fee_rules(), today).await
}

/// A payment as the customer sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentLine {
    pub entry_id: String,
    pub at: jiff::Timestamp,
    pub channel: Channel,
    /// Yuan received (positive).
    pub amount: Fen,
    /// Cancelled by a reversal (冲正).
    pub reversed: bool,
}

/// The payments of an account, newest first.
pub fn payments_of(account: &Account) -> Vec<PaymentLine> {
    let reversed: std::collections::HashSet<&str> = account
        .entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Reversal { of, .. } => Some(of.0.as_str()),
            _ => None,
        })
        .collect();
    let mut out: Vec<PaymentLine> = account
        .entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Payment { amount, .. } => Some(PaymentLine {
                entry_id: e.id.0.clone(),
                at: e.at,
                channel: e.channel,
                amount: *amount,
                reversed: reversed.contains(e.id.0.as_str()),
            }),
            _ => None,
        })
        .collect();
    out.reverse();
    out
}

/// One of the customer's service orders with its trail; another customer's order is "not found".
pub async fn order(
    store: &DynStore,
    who: &CustomerSession,
    id: &str,
) -> AppResult<(WorkOrder, Vec<OrderEvent>)> {
    let o = match store.get_work_order(id).await {
        Ok(o) if o.customer_id.as_deref() == Some(who.customer_id.as_str()) => o,
        Ok(_) | Err(StoreError::NotFound) => return Err(AppError::not_found("work order", id)),
        Err(e) => return Err(e.into()),
    };
    let events = store.work_order_events(id).await?;
    Ok((o, events))
}
