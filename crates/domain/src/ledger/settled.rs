//! The settled prefix of a ledger: the entries a payment's decision may leave out.
//!
//! A payment is decided on what is open: the open bills (its late fees, [`late_fees_with_payment`],
//! and its allocation, oldest first) and the credit. After a year, most of a ledger is months that
//! were charged and paid in full; they fold to closed bills that no later entry touches. Reading
//! only the tail after them would make a bank file read one entry a customer instead of 23
//! (docs/performance.md, issue 4: a throw-away build reading only the tail of this benchmark's
//! synthetic ledgers posted 16,800–18,100 payments/s where main posts 11,100–13,900).
//! Nothing reads a ledger by this yet: the store would first have to keep the boundary true on
//! every write (an entry posted before it, or referring to a bill or entry before it, clears it).
//!
//! The prefix of the first `k` entries (in posting order) is settled when
//! - its fold leaves no bill with anything open (charge or late fee), no credit and no unbilled
//!   debit, and
//! - no later entry refers to it: no charge, late fee or adjustment on a bill charged in it, no
//!   reversal of an entry in it.
//!
//! Then folding the tail alone gives the same open bills, credit, unbilled debit and balance as
//! folding the whole ledger, so every decision taken on those is the same (the property test in
//! tests.rs, `a_settled_prefix_changes_no_decision`).
//!
//! [`late_fees_with_payment`]: super::late_fees_with_payment

use super::{fold, BillId, Entry, EntryId, EntryKind};
use crate::money::Fen;
use std::collections::HashSet;

/// The length of the longest settled prefix of `entries` (in posting order); 0 when none is.
///
/// Folds each candidate prefix from the longest down, so it costs up to one fold per entry: meant
/// for the moment a boundary is set, not for every read.
pub fn settled_prefix(entries: &[Entry]) -> usize {
    // Bills and entries referred to from position i on, gathered from the end.
    let mut bills_after: HashSet<&BillId> = HashSet::new();
    let mut entries_after: HashSet<&EntryId> = HashSet::new();
    let mut clear_of_refs = vec![false; entries.len() + 1];
    clear_of_refs[entries.len()] = true;
    for k in (0..entries.len()).rev() {
        match &entries[k].kind {
            EntryKind::Charge { bill, .. } | EntryKind::LateFee { bill, .. } => {
                bills_after.insert(bill);
            }
            EntryKind::Adjustment { bill: Some(bill), .. } => {
                bills_after.insert(bill);
            }
            EntryKind::Reversal { of, .. } => {
                entries_after.insert(of);
            }
            EntryKind::Payment { .. }
            | EntryKind::Refund { .. }
            | EntryKind::Adjustment { bill: None, .. } => {}
        }
        // The prefix of k entries is free of references when none of entries[k..] refers to a bill
        // or entry of entries[..k]; checked below against the prefix itself.
        clear_of_refs[k] = entries[..k].iter().all(|e| {
            !entries_after.contains(&e.id)
                && !matches!(&e.kind, EntryKind::Charge { bill, .. } if bills_after.contains(bill))
        });
    }
    (1..=entries.len()).rev().find(|&k| clear_of_refs[k] && folds_to_nothing_open(&entries[..k])).unwrap_or(0)
}

fn folds_to_nothing_open(prefix: &[Entry]) -> bool {
    let s = fold(prefix);
    s.credit_lots.is_empty()
        && s.unbilled == Fen::ZERO
        && s.bills.iter().all(|b| b.charge_open() == Fen::ZERO && b.late_fee_open() == Fen::ZERO)
}
