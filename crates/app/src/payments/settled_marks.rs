//! Settled marks (结清标记): where each ledger's settled prefix ends, so that a payment reads only
//! the entries after it.
//!
//! The rule is `bureau_domain::ledger::settled_prefix` (a prefix that folds to nothing open and
//! that no later entry refers to decides no payment); the store keeps each mark on the ledger's
//! version row and its triggers clear a mark that a new entry would make untrue (migration 0019).
//! Marks are set in two places:
//! - a bank file sets them as it posts ([`next_mark`], carried by the posting's `EntryGroup`), so
//!   that a customer's next payment reads only what is still open;
//! - [`mark_settled_ledgers`] (`bureau ledger settle`) walks every ledger once, for a database
//!   that has none yet (one made before migration 0019, or by paths that do not set them: the
//!   counter, the bill run).
//!
//! A mark only ever saves reading: a ledger without one is read whole, with the same decisions.

use crate::access::Actor;
use crate::error::AppResult;
use bureau_domain::ledger::{settled_prefix, Entry};
use bureau_domain::org::Role;
use bureau_store::{DynStore, LedgerMark, Scope, SettledMark};
use serde::Serialize;

/// The mark to set with `new` entries posted on a ledger whose entries after `mark` will then be
/// `after` (those read, with the new ones, in posting order): the end of the longest settled
/// prefix of `after`, when there is one. `None` keeps the mark the database has (the triggers keep
/// it true): also when a new entry sorts at or before it, since its insert clears the mark and the
/// entries before it were not read.
pub fn next_mark(mark: Option<&SettledMark>, after: &[Entry], new: &[Entry]) -> Option<SettledMark> {
    if let Some(m) = mark {
        if new.iter().any(|e| !m.is_before(e)) {
            return None;
        }
    }
    match settled_prefix(after) {
        0 => None,
        k => Some(SettledMark::at(&after[k - 1])),
    }
}

/// Ledgers read and marked per transaction by [`mark_settled_ledgers`].
const PAGE: u32 = 2_000;

/// What [`mark_settled_ledgers`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MarkSummary {
    /// Ledgers read.
    pub ledgers: u64,
    /// Marks set (a ledger that moved between its read and its mark is left for the next run).
    pub marked: u64,
    /// Entries now left out of a payment's read.
    pub settled_entries: u64,
}

/// Sets the settled mark of every ledger in the actor's bureaus, a page of ledgers at a time, each
/// only if its version is still the one read. Idempotent; safe beside postings (a ledger that
/// moved keeps what the triggers left).
pub async fn mark_settled_ledgers(store: &DynStore, actor: &Actor) -> AppResult<MarkSummary> {
    actor.require_any(&[Role::Admin, Role::Manager])?;
    let scope: &Scope = &actor.scope;
    let mut summary = MarkSummary::default();
    let mut after: Option<String> = None;
    loop {
        let mut page = store.ledgers_page(scope, after.as_deref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer_id.clone());
        summary.ledgers += page.len() as u64;
        let mut marks = Vec::new();
        for ledger in &mut page {
            // Posting order as the marks compare it (ids byte by byte), whatever the database's
            // collation sorted the page in.
            ledger.entries.sort_by(bureau_domain::ledger::posting_order);
            let k = settled_prefix(&ledger.entries);
            if k > 0 {
                summary.settled_entries += k as u64;
                marks.push(LedgerMark {
                    customer_id: ledger.customer_id.clone(),
                    version: ledger.version,
                    mark: SettledMark::at(&ledger.entries[k - 1]),
                });
            }
        }
        summary.marked += store.mark_settled(&marks).await?;
    }
    Ok(summary)
}
