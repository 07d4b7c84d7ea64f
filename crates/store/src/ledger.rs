//! The customer ledger (客户电费账): entries of money, one customer at a time.
//!
//! Entries are never updated or deleted: a mistake is cancelled by a reversal entry. Balances are
//! derived from the entries (`bureau_domain::ledger::fold` for the full position of one customer,
//! [`LedgerStore::ledger_balances`] for plain sums over many customers), never stored apart.
//!
//! Two guards live in the database itself:
//! - an idempotency key is posted once: a second posting of the same key writes nothing and gets
//!   the first posting back ([`Posted::Duplicate`]), also when two requests race;
//! - every customer's ledger has a version raised by every posting. [`LedgerStore::post_entries`]
//!   writes only when the version is still the one the caller read ([`Posted::Stale`] otherwise),
//!   so that a decision taken on the entries (a late fee, a refund out of credit, a reversal) can
//!   never be taken twice by two racing requests: the loser reads again and decides again.

use crate::{Scope, StoreResult};
use async_trait::async_trait;
use bureau_domain::ledger::Entry;
use bureau_domain::money::Fen;
use serde::Serialize;

/// A customer's entries in posting order, and the version they were read at.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CustomerLedger {
    pub customer_id: String,
    /// 0 for a customer with no entries yet.
    pub version: i64,
    pub entries: Vec<Entry>,
}

/// The last entry of a ledger's settled prefix (`bureau_domain::ledger::settled_prefix`), by its
/// key in posting order: the posting instant in Unix microseconds, then the entry id compared byte
/// by byte. Kept on the ledger's version row, so that a payment reads only the entries after it.
/// The database keeps it true: an entry posted at or before it, or on a bill or reversing an
/// entry at or before it, clears it (migration 0019's triggers), and it is only ever set with
/// the version it was computed at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SettledMark {
    pub at_us: i64,
    pub entry_id: String,
}

impl SettledMark {
    /// The mark at `e`: the prefix up to and including `e`.
    pub fn at(e: &Entry) -> SettledMark {
        SettledMark { at_us: e.at.as_microsecond(), entry_id: e.id.0.clone() }
    }

    /// Whether `e` sorts after the mark (is not part of the prefix it ends).
    pub fn is_before(&self, e: &Entry) -> bool {
        (self.at_us, self.entry_id.as_bytes()) < (e.at.as_microsecond(), e.id.0.as_bytes())
    }
}

/// A ledger without its settled prefix, for a payment's decision: the entries after the mark (all
/// of them when there is none) and the version they were read at. Folding `entries` gives the open
/// bills, credit and balance of the whole ledger (`bureau_domain::ledger::settled_prefix`), but not
/// its history: never show it as the ledger.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpenLedger {
    pub customer_id: String,
    pub version: i64,
    pub settled_through: Option<SettledMark>,
    pub entries: Vec<Entry>,
}

/// A mark to set on a ledger if it is still at `version` ([`LedgerStore::mark_settled`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerMark {
    pub customer_id: String,
    pub version: i64,
    pub mark: SettledMark,
}

/// An entry with the customer whose ledger holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CustomerEntry {
    pub customer_id: String,
    pub entry: Entry,
}

/// The outcome of [`LedgerStore::post_entries`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Posted {
    /// Every entry was written; the ledger is now at `version`.
    Done { version: i64 },
    /// An entry's idempotency key was posted before: nothing was written; here is that posting.
    Duplicate { prior: CustomerEntry },
    /// The ledger changed since the version the caller read: nothing was written.
    Stale,
}

/// What a customer's entries add up to (reversed entries and reversals left out). For reports over
/// many customers; the allocation to bills needs the full fold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LedgerBalance {
    pub customer_id: String,
    /// Bill charges, with their adjustments on bills.
    pub charged: Fen,
    pub late_fees: Fen,
    /// Adjustments without a bill (negative: credit given).
    pub unbilled_adjustments: Fen,
    /// Money received (positive).
    pub paid: Fen,
    /// Money paid back (positive).
    pub refunded: Fen,
    /// Positive when the customer owes, negative when in credit: charged + late fees + unbilled
    /// adjustments + refunded − paid.
    pub balance: Fen,
}

#[async_trait]
pub trait LedgerStore {
    /// A customer's entries in posting order (by posting instant, then entry id) and the ledger's
    /// version. A customer without entries has an empty ledger at version 0.
    async fn ledger_of(&self, customer_id: &str) -> StoreResult<CustomerLedger>;
    /// The ledgers of many customers at once, in account order after `after`, for reports and
    /// batch postings that fold many customers (customers without entries are left out).
    async fn ledgers_page(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<CustomerLedger>>;
    /// The ledgers of the given customers (those without entries come back empty, version 0), in
    /// the order asked.
    async fn ledgers_of(&self, customer_ids: &[String]) -> StoreResult<Vec<CustomerLedger>>;
    /// Posts `entries` to one customer's ledger in one transaction, if its version is still
    /// `expected_version`: see [`Posted`].
    async fn post_entries(
        &self,
        customer_id: &str,
        expected_version: i64,
        entries: &[Entry],
    ) -> StoreResult<Posted>;
    /// The open part of these customers' ledgers ([`OpenLedger`], one per id in the order asked): the
    /// version and settled mark read together, then the entries after the mark.
    async fn open_ledgers_of(&self, customer_ids: &[String]) -> StoreResult<Vec<OpenLedger>>;
    /// Sets each mark where the ledger is still at the given version (a ledger that moved is left
    /// as it is: its mark would be computed on entries no longer all of it); how many were set.
    async fn mark_settled(&self, marks: &[LedgerMark]) -> StoreResult<u64>;
    /// Posts many customers' entries in one transaction, each group like [`Self::post_entries`]:
    /// the outcomes in the order of the groups. A group that is stale or duplicate writes nothing
    /// and does not stop the others.
    async fn post_entry_groups(&self, groups: &[EntryGroup]) -> StoreResult<Vec<Posted>>;
    /// The entry posted with this idempotency key, if any.
    async fn entry_by_key(&self, key: &str) -> StoreResult<Option<CustomerEntry>>;
    /// Sums per customer, in account order after `after`, for reports (customers without entries
    /// are left out).
    async fn ledger_balances(
        &self,
        scope: &Scope,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<LedgerBalance>>;
    /// Sums for the given customers (those without entries are left out), in account order.
    async fn ledger_balances_of(&self, customer_ids: &[String]) -> StoreResult<Vec<LedgerBalance>>;
}

/// One customer's entries to post, for [`LedgerStore::post_entry_groups`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryGroup {
    pub customer_id: String,
    pub expected_version: i64,
    pub entries: Vec<Entry>,
    /// The settled mark to set once the entries are written (computed on the ledger at
    /// `expected_version` with them); `None` leaves the mark as the triggers left it.
    pub settle_through: Option<SettledMark>,
}
