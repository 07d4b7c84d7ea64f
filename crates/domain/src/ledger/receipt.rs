//! The payment receipt (收费凭证): what one payment settled, derived from the ledger.

use super::{AllocationTarget, BillId, Channel, Entry, EntryId, EntryKind, LedgerState};
use crate::money::Fen;
use crate::tariff::calc::BillPeriod;
use jiff::Timestamp;
use serde::Serialize;

/// One bill settled (in part) by the payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptLine {
    pub bill: BillId,
    pub period: BillPeriod,
    /// Applied to the electricity charge.
    pub charge: Fen,
    /// Applied to the late fee.
    pub late_fee: Fen,
    /// Still open on the bill.
    pub open_after: Fen,
}

/// A printable receipt of one payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Receipt {
    pub entry: EntryId,
    pub at: Timestamp,
    pub by: String,
    pub channel: Channel,
    pub amount: Fen,
    /// The bills it settled, oldest first.
    pub lines: Vec<ReceiptLine>,
    /// Kept as prepaid credit (预存).
    pub to_credit: Fen,
    /// The customer's balance after it (positive: still owed; negative: in credit).
    pub balance_after: Fen,
}

/// The receipt of `payment` from `state`, the fold of the customer's entries up to and including
/// the payment (so that later entries have not yet used its credit). Lines plus credit then add up
/// to the amount. `None` when `payment` is not a payment, or was reversed.
pub fn receipt(state: &LedgerState, payment: &Entry) -> Option<Receipt> {
    let EntryKind::Payment { amount, .. } = &payment.kind else { return None };
    if state.reversed.iter().any(|(r, _)| r == &payment.id) {
        return None;
    }
    let mut lines = Vec::new();
    for b in &state.bills {
        let mut line = ReceiptLine {
            bill: b.bill.clone(),
            period: b.period,
            charge: Fen::ZERO,
            late_fee: Fen::ZERO,
            open_after: b.open(),
        };
        for a in b.allocations.iter().filter(|a| a.source == payment.id) {
            match a.target {
                AllocationTarget::Charge => line.charge += a.amount,
                AllocationTarget::LateFee => line.late_fee += a.amount,
            }
        }
        if line.charge != Fen::ZERO || line.late_fee != Fen::ZERO {
            lines.push(line);
        }
    }
    let to_credit = state.credit_lots.iter().filter(|l| l.source == payment.id).map(|l| l.amount).sum();
    Some(Receipt {
        entry: payment.id.clone(),
        at: payment.at,
        by: payment.by.clone(),
        channel: payment.channel,
        amount: *amount,
        lines,
        to_credit,
        balance_after: state.balance(),
    })
}
