//! Bank batch files (银行批量代扣/代收): what posting a file needs beyond the ledger calls, and the
//! record of the files posted.
//!
//! The payments of a file are ordinary ledger entries (keyed `bank:<bank>:<bank_ref>`, so a file
//! sent twice posts once, see [`crate::LedgerStore`]); a file of a hundred thousand lines is read
//! and posted in chunks, so the lookups here take many ids at once instead of one query per line.

use crate::{CustomerEntry, StoreResult};
use async_trait::async_trait;
use bureau_domain::money::Fen;
use bureau_domain::register::Customer;
use serde::Serialize;

/// One bank file posted: who sent it through, when, and what its lines gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BankBatchRecord {
    pub batch_id: String,
    /// The bank's code (e.g. `ICBC`).
    pub bank: String,
    /// The uploaded file's name, as given (may be empty).
    pub file_name: String,
    /// The staff member (or `system`) who posted it.
    pub posted_by: String,
    /// Unix seconds.
    pub started_at: i64,
    pub finished_at: i64,
    pub lines: u64,
    pub posted: u64,
    pub duplicate: u64,
    pub rejected: u64,
    /// The money posted by this upload (duplicates moved nothing and are not counted).
    pub posted_amount: Fen,
}

#[async_trait]
pub trait BankBatchStore {
    /// The customers with these account numbers (those that do not exist are left out), in account
    /// order; any number of ids.
    async fn customers_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Customer>>;
    /// The entries posted with any of these idempotency keys; any number of keys.
    async fn entries_with_keys(&self, keys: &[String]) -> StoreResult<Vec<CustomerEntry>>;
    async fn save_bank_batch(&self, batch: &BankBatchRecord) -> StoreResult<()>;
    /// The most recent batches first.
    async fn list_bank_batches(&self, limit: u32) -> StoreResult<Vec<BankBatchRecord>>;
}
