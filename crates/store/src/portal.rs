//! The customer portal and the automatic bill query (自动电费查询系统): customer passwords, one-time
//! login codes, the SMS/IVR gateways allowed to query, and the reads the portal makes for one
//! customer. Every read here takes the customer's account number from the caller's login, never
//! from the request.

use crate::{Outage, StoreResult, StoredBill};
use async_trait::async_trait;
use serde::Serialize;

/// A one-time login code (短信验证码) waiting to be used. Only its SHA-256 is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginCode {
    pub customer_id: String,
    pub code_hash: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What happened to a one-time code offered at login.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeCheck {
    /// It matched and is now used up.
    Accepted,
    /// It did not match; the wrong guess was counted.
    Wrong,
    /// No live code: none was sent, it expired, or too many wrong guesses killed it.
    NoCode,
}

/// A gateway (SMS centre, IVR) allowed to ask the plain-text bill query for one bureau.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueryGateway {
    pub id: String,
    pub bureau_id: String,
    pub name: String,
    #[serde(skip)]
    pub token_hash: String,
    pub created_at: i64,
    pub created_by: String,
    pub active: bool,
}

/// The automatic bill query's answer: the newest live bill and the ledger balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillQuery {
    pub latest: Option<StoredBill>,
    /// Positive when owed, negative in credit: the sum of the ledger's live entries (the same sum
    /// as [`crate::LedgerStore::ledger_balances_of`]).
    pub balance: bureau_domain::money::Fen,
}

#[async_trait]
pub trait PortalStore {
    /// Sets (or replaces) a customer's portal password; `set_by` is `customer` or a staff id.
    async fn set_customer_password(
        &self,
        customer_id: &str,
        password_hash: &str,
        at: i64,
        set_by: &str,
    ) -> StoreResult<()>;
    /// The customer's password hash; `NotFound` when none is set.
    async fn customer_password(&self, customer_id: &str) -> StoreResult<String>;
    /// Stores a new code for the customer, replacing any earlier one (and its wrong-guess count).
    async fn put_login_code(&self, code: &LoginCode) -> StoreResult<()>;
    /// Uses the customer's code if `code_hash` matches, is not expired at `now` and has had fewer
    /// than `max_attempts` wrong guesses; a wrong guess is counted. One statement each, so that two
    /// processes cannot both use one code or guess past the limit.
    async fn check_login_code(
        &self,
        customer_id: &str,
        code_hash: &str,
        now: i64,
        max_attempts: i64,
    ) -> StoreResult<CodeCheck>;
    async fn save_gateway(&self, gateway: &QueryGateway) -> StoreResult<()>;
    /// The active gateway with this token hash.
    async fn gateway_by_token(&self, token_hash: &str) -> StoreResult<QueryGateway>;
    /// The customer's newest live bill, without lines: the bill query's one indexed read.
    async fn latest_bill(&self, customer_id: &str) -> StoreResult<Option<StoredBill>>;
    /// The bill query in one statement: newest live bill (without lines) and the ledger balance.
    async fn bill_query(&self, customer_id: &str) -> StoreResult<BillQuery>;
    /// The customer's live bills, newest first, without lines.
    async fn live_bills(&self, customer_id: &str, limit: u32) -> StoreResult<Vec<StoredBill>>;
    /// Outages that cut off the supply point `load_id` and were out at or after `since`, newest
    /// first.
    async fn outages_at_point(&self, load_id: &str, since: i64, limit: u32) -> StoreResult<Vec<Outage>>;
}
