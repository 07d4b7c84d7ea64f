//! The settled prefix of a ledger: the entries a payment's decision may leave out.
//!
//! A payment is decided on what is open: the open bills (its late fees, [`late_fees_with_payment`],
//! and its allocation, oldest first) and the credit. After a year, most of a ledger is months that
//! were charged and paid in full; they fold to closed bills that no later entry touches. Reading
//! only the tail after them would make a bank file read one entry a customer instead of 23
//! (docs/performance.md, issue 4: a throw-away build reading only the tail of this benchmark's
//! synthetic ledgers posted 16,800–18,100 payments/s where main posts 11,100–13,900).
//! The store keeps the end of this prefix as each ledger's settled mark (`bureau_store::SettledMark`,
//! migration 0019), which its triggers clear when a new entry would make it untrue, and a bank file
//! reads only the entries after it (`bureau_app::payments::next_mark`, which also moves it).
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
use std::collections::HashMap;

/// The length of the longest settled prefix of `entries` (in posting order); 0 when none is.
///
/// One pass finds, for every entry, the last position that refers to it; a fold per candidate
/// prefix, from the longest down, checks what is open. Meant for the moment a boundary is set, not
/// for every read.
pub fn settled_prefix(entries: &[Entry]) -> usize {
    // The last position of an entry on each bill (its charge, late fees, adjustments) and of the
    // reversal of each entry.
    let mut last_on_bill: HashMap<&BillId, usize> = HashMap::new();
    let mut reversed_at: HashMap<&EntryId, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        match &e.kind {
            EntryKind::Charge { bill, .. }
            | EntryKind::LateFee { bill, .. }
            | EntryKind::Adjustment { bill: Some(bill), .. } => {
                last_on_bill.insert(bill, i);
            }
            EntryKind::Reversal { of, .. } => {
                reversed_at.insert(of, i);
            }
            EntryKind::Payment { .. }
            | EntryKind::Refund { .. }
            | EntryKind::Adjustment { bill: None, .. } => {}
        }
    }
    // free_of_refs[k]: no entry from position k on refers to a bill charged, or an entry posted,
    // before k. (A late fee or adjustment before its bill's charge refers to nothing: the fold
    // ignores it whether or not the charge comes later.)
    let mut free_of_refs = Vec::with_capacity(entries.len() + 1);
    let mut reach = 0usize;
    free_of_refs.push(true);
    for (i, e) in entries.iter().enumerate() {
        if let EntryKind::Charge { bill, .. } = &e.kind {
            reach = reach.max(last_on_bill[bill]);
        }
        if let Some(&r) = reversed_at.get(&e.id) {
            reach = reach.max(r);
        }
        free_of_refs.push(reach <= i);
    }
    (1..=entries.len()).rev().find(|&k| free_of_refs[k] && folds_to_nothing_open(&entries[..k])).unwrap_or(0)
}

fn folds_to_nothing_open(prefix: &[Entry]) -> bool {
    let s = fold(prefix);
    s.credit_lots.is_empty()
        && s.unbilled == Fen::ZERO
        && s.bills.iter().all(|b| b.charge_open() == Fen::ZERO && b.late_fee_open() == Fen::ZERO)
}
