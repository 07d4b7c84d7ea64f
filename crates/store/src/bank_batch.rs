//! Bank batch files (银行批量代扣/代收): what posting a file needs beyond the ledger calls, and the
//! record of the files posted.
//!
//! The payments of a file are ordinary ledger entries (keyed `bank:<bank>:<bank_ref>`, so a file
//! sent twice posts once, see [`crate::LedgerStore`]); a file of a hundred thousand lines is read
//! and posted in chunks, so the lookups here take many ids at once instead of one query per line.

use crate::{CustomerEntry, Scope, StoreResult};
use async_trait::async_trait;
use bureau_domain::money::Fen;
use bureau_domain::register::Customer;
use serde::Serialize;

/// One bank file posted: who sent it through, when, and what its lines gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BankBatchRecord {
    pub batch_id: String,
    /// The bureau of the staff member who posted it (`''` for the system and for batches posted
    /// before migration 0017): staff see the batches of the bureaus in their scope.
    pub bureau_id: String,
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
    /// Its result file was kept (false for batches posted before migration 0017).
    pub has_result: bool,
}

/// The per-line result file of a batch (`bureau_domain::ledger::bank_file::format_results`), as it
/// was written when the batch was posted, in Chinese and in English.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BankBatchResultFile {
    pub zh: String,
    pub en: String,
}

#[async_trait]
pub trait BankBatchStore {
    /// The customers with these account numbers (those that do not exist are left out), in account
    /// order; any number of ids.
    async fn customers_by_ids(&self, ids: &[String]) -> StoreResult<Vec<Customer>>;
    /// The entries posted with any of these idempotency keys; any number of keys.
    async fn entries_with_keys(&self, keys: &[String]) -> StoreResult<Vec<CustomerEntry>>;
    /// Records a posted batch with its result file (in both languages).
    async fn save_bank_batch(&self, batch: &BankBatchRecord, result: &BankBatchResultFile)
        -> StoreResult<()>;
    /// The most recent batches of the bureaus in the scope first.
    async fn list_bank_batches(&self, scope: &Scope, limit: u32) -> StoreResult<Vec<BankBatchRecord>>;
    /// A batch and its result file, if the batch exists (whatever the scope: the caller checks it).
    /// The file texts are `None` for batches posted before migration 0017.
    async fn bank_batch_result(
        &self,
        batch_id: &str,
    ) -> StoreResult<Option<(BankBatchRecord, Option<BankBatchResultFile>)>>;
}
