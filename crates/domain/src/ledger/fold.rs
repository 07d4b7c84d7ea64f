//! Deriving balances from entries: one pure fold over a customer's entries in posting order.

use super::{BillId, Entry, EntryId, EntryKind};
use crate::calendar::beijing;
use crate::late_fee;
use crate::money::Fen;
use crate::tariff::calc::BillPeriod;
use jiff::civil::Date;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// What part of a bill an allocation settles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationTarget {
    /// The electricity charge (电费本金), adjustments included.
    Charge,
    /// The bill's late fee (违约金).
    LateFee,
}

/// Money moved onto a bill: from the payment (or negative adjustment) `source`, at `at` (when the
/// money met the bill: the payment's time, or the charge's time for a prepayment). A negative
/// amount is money released from the bill back to credit by a downward adjustment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Allocation {
    pub source: EntryId,
    pub at: Timestamp,
    pub target: AllocationTarget,
    pub amount: Fen,
}

/// A bill as the entries leave it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BillState {
    pub bill: BillId,
    pub period: BillPeriod,
    pub due: Date,
    /// When the charge was posted.
    pub charged_at: Timestamp,
    /// The charge with its adjustments (应收电费).
    pub charged: Fen,
    pub late_fees: Fen,
    pub paid_charge: Fen,
    pub paid_late_fee: Fen,
    pub allocations: Vec<Allocation>,
}

impl BillState {
    /// The electricity charge still unpaid.
    pub fn charge_open(&self) -> Fen {
        self.charged - self.paid_charge
    }

    pub fn late_fee_open(&self) -> Fen {
        self.late_fees - self.paid_late_fee
    }

    /// Everything still unpaid on the bill.
    pub fn open(&self) -> Fen {
        self.charge_open() + self.late_fee_open()
    }

    pub fn is_open(&self) -> bool {
        self.open() > Fen::ZERO
    }

    /// Unpaid after its due date: arrears (欠费) on `day`.
    pub fn is_overdue(&self, day: Date) -> bool {
        self.is_open() && day > self.due
    }

    /// The charge collected up to and including `at` (allocations to the charge, net of releases).
    pub fn charge_collected_by(&self, at: Timestamp) -> Fen {
        self.allocations
            .iter()
            .filter(|a| a.target == AllocationTarget::Charge && a.at <= at)
            .map(|a| a.amount)
            .sum()
    }

    /// The payments against the charge, by Beijing date, for [`late_fee::quote_with_payments`]:
    /// the late fee of Art. 98 runs on the unpaid charge only. Releases (negative allocations) are
    /// taken off the latest payments, and the total is capped at the charge, so the list is always
    /// one the late-fee module accepts.
    pub fn late_fee_payments(&self) -> Vec<late_fee::Payment> {
        let mut pays: Vec<late_fee::Payment> = Vec::new();
        let mut released = Fen::ZERO;
        for a in self.allocations.iter().filter(|a| a.target == AllocationTarget::Charge) {
            if a.amount > Fen::ZERO {
                pays.push(late_fee::Payment { date: beijing::date_of(a.at), amount: a.amount });
            } else {
                released -= a.amount;
            }
        }
        let total: Fen = pays.iter().map(|p| p.amount).sum();
        let kept = (total - released).min(self.charged).max(Fen::ZERO);
        let mut excess = total - kept;
        while excess > Fen::ZERO {
            let Some(last) = pays.last_mut() else { break };
            let take = last.amount.min(excess);
            last.amount -= take;
            excess -= take;
            if last.amount == Fen::ZERO {
                pays.pop();
            }
        }
        pays
    }

    /// The Art. 98 late fee on this bill's unpaid charge counted on `on` (see [`late_fee`]), with
    /// the arrears belonging to the year of the due date (the late-fee module's default reading,
    /// \[R\] there).
    pub fn late_fee_quote(
        &self,
        rules: &late_fee::LateFeeRules,
        class: late_fee::LateFeeClass,
        on: Date,
    ) -> late_fee::LateFeeQuote {
        let arrears = self.charged.max(Fen::ZERO);
        let pays = self.late_fee_payments();
        let year = self.due.year();
        late_fee::quote_with_payments(rules, class, year, self.due, arrears, &pays, on)
            .unwrap_or_else(|_| late_fee::quote_with(rules, class, year, self.due, on, Fen::ZERO))
    }

    /// The late fee still to post on this bill on `on`: the quote less the late fees already
    /// posted (never negative). The app posts it as a [`EntryKind::LateFee`] entry, normally when
    /// the arrears are paid, so that the fee is charged once.
    pub fn late_fee_to_post(
        &self,
        rules: &late_fee::LateFeeRules,
        class: late_fee::LateFeeClass,
        on: Date,
    ) -> Fen {
        (self.late_fee_quote(rules, class, on).fee - self.late_fees).max(Fen::ZERO)
    }
}

/// Money held for the customer, by where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CreditLot {
    pub source: EntryId,
    pub at: Timestamp,
    pub amount: Fen,
}

/// A customer's position, derived by [`fold`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LedgerState {
    /// Bills in settlement order: oldest due date first, then billing month, then posting order.
    pub bills: Vec<BillState>,
    /// Prepaid or overpaid money not yet used (预存/余额), oldest first.
    pub credit_lots: Vec<CreditLot>,
    /// Debits not on any bill (a positive adjustment without a bill, a refund beyond the credit).
    pub unbilled: Fen,
    /// (reversed entry, reversal entry) pairs.
    pub reversed: Vec<(EntryId, EntryId)>,
    /// Entries the fold could not apply: a late fee or adjustment on an unknown bill, a second
    /// charge for the same bill, a reversal of an unknown entry, of a reversal, or of an entry
    /// already reversed. The checks before posting refuse these; listing them keeps the fold total.
    pub ignored: Vec<EntryId>,
}

impl LedgerState {
    /// Unused credit (预存电费余额).
    pub fn credit(&self) -> Fen {
        self.credit_lots.iter().map(|l| l.amount).sum()
    }

    /// Everything unpaid: open bills (charges and late fees) and unbilled debits.
    pub fn owed(&self) -> Fen {
        self.bills.iter().map(BillState::open).sum::<Fen>() + self.unbilled
    }

    /// The net balance: positive when the customer owes, negative when in credit.
    pub fn balance(&self) -> Fen {
        self.owed() - self.credit()
    }

    /// Arrears (欠费) on `day`: what is unpaid on bills whose due date has passed.
    pub fn arrears_on(&self, day: Date) -> Fen {
        self.bills.iter().filter(|b| b.is_overdue(day)).map(BillState::open).sum()
    }

    /// The due date of the oldest bill overdue on `day`.
    pub fn oldest_overdue(&self, day: Date) -> Option<Date> {
        self.bills.iter().filter(|b| b.is_overdue(day)).map(|b| b.due).min()
    }

    pub fn bill(&self, id: &BillId) -> Option<&BillState> {
        self.bills.iter().find(|b| &b.bill == id)
    }

    pub fn open_bills(&self) -> impl Iterator<Item = &BillState> {
        self.bills.iter().filter(|b| b.is_open())
    }

    fn take_credit(&mut self, want: Fen, mut sink: impl FnMut(&EntryId, Fen)) -> Fen {
        let mut got = Fen::ZERO;
        while got < want {
            let Some(lot) = self.credit_lots.first_mut() else { break };
            let take = lot.amount.min(want - got);
            lot.amount -= take;
            got += take;
            sink(&lot.source, take);
            if lot.amount == Fen::ZERO {
                self.credit_lots.remove(0);
            }
        }
        got
    }

    /// Applies credit to open bills, oldest first (charge, then late fee), then to unbilled debits.
    fn settle(&mut self, at: Timestamp) {
        for i in 0..self.bills.len() {
            if self.credit_lots.is_empty() {
                return;
            }
            for target in [AllocationTarget::Charge, AllocationTarget::LateFee] {
                let open = match target {
                    AllocationTarget::Charge => self.bills[i].charge_open(),
                    AllocationTarget::LateFee => self.bills[i].late_fee_open(),
                };
                if open <= Fen::ZERO {
                    continue;
                }
                let mut allocs = Vec::new();
                let got = self.take_credit(open, |source, amount| {
                    allocs.push(Allocation { source: source.clone(), at, target, amount });
                });
                let bill = &mut self.bills[i];
                match target {
                    AllocationTarget::Charge => bill.paid_charge += got,
                    AllocationTarget::LateFee => bill.paid_late_fee += got,
                }
                bill.allocations.extend(allocs);
            }
        }
        if self.unbilled > Fen::ZERO {
            let want = self.unbilled;
            let got = self.take_credit(want, |_, _| {});
            self.unbilled -= got;
        }
    }

    /// A bill paid beyond its (lowered) charge gives the surplus back to credit.
    fn release_overpaid(&mut self, i: usize, source: &EntryId, at: Timestamp) {
        let bill = &mut self.bills[i];
        let surplus = bill.paid_charge - bill.charged.max(Fen::ZERO);
        let negative_charge = (-bill.charged).max(Fen::ZERO);
        let release = surplus.max(Fen::ZERO) + negative_charge;
        if release > Fen::ZERO {
            bill.paid_charge -= release;
            bill.allocations.push(Allocation {
                source: source.clone(),
                at,
                target: AllocationTarget::Charge,
                amount: -release,
            });
            self.credit_lots.push(CreditLot { source: source.clone(), at, amount: release });
        }
    }

    fn apply<'e>(&mut self, e: &'e Entry, bill_ids: &mut HashSet<&'e BillId>) -> bool {
        let pos = |s: &LedgerState, id: &BillId| s.bills.iter().position(|b| &b.bill == id);
        match &e.kind {
            EntryKind::Charge { bill, period, due, amount } => {
                if !bill_ids.insert(bill) {
                    return false;
                }
                let state = BillState {
                    bill: bill.clone(),
                    period: *period,
                    due: *due,
                    charged_at: e.at,
                    charged: *amount,
                    late_fees: Fen::ZERO,
                    paid_charge: Fen::ZERO,
                    paid_late_fee: Fen::ZERO,
                    allocations: Vec::new(),
                };
                // After every bill with the same or an earlier key: equal keys keep posting order.
                let key = |b: &BillState| (b.due, b.period);
                let at = self.bills.partition_point(|b| key(b) <= key(&state));
                self.bills.insert(at, state);
                self.release_overpaid(at, &e.id, e.at);
            }
            EntryKind::Payment { amount, .. } => {
                self.credit_lots.push(CreditLot { source: e.id.clone(), at: e.at, amount: *amount });
            }
            EntryKind::LateFee { bill, amount } => {
                let Some(i) = pos(self, bill) else { return false };
                self.bills[i].late_fees += *amount;
            }
            EntryKind::Adjustment { bill: Some(bill), amount } => {
                let Some(i) = pos(self, bill) else { return false };
                self.bills[i].charged += *amount;
                self.release_overpaid(i, &e.id, e.at);
            }
            EntryKind::Adjustment { bill: None, amount } => {
                if *amount < Fen::ZERO {
                    self.credit_lots.push(CreditLot { source: e.id.clone(), at: e.at, amount: -*amount });
                } else {
                    self.unbilled += *amount;
                }
            }
            EntryKind::Refund { amount } => {
                // Refunds pay back the newest credit first, leaving older prepayments in place.
                let mut want = *amount;
                while want > Fen::ZERO {
                    let Some(lot) = self.credit_lots.last_mut() else { break };
                    let take = lot.amount.min(want);
                    lot.amount -= take;
                    want -= take;
                    if lot.amount == Fen::ZERO {
                        self.credit_lots.pop();
                    }
                }
                self.unbilled += want;
            }
            EntryKind::Reversal { .. } => return false,
        }
        self.settle(e.at);
        true
    }
}

/// The entries a reversal cancels: `(reversed, reversal)` for every valid reversal, and the
/// reversals that cancel nothing.
fn reversals(entries: &[Entry]) -> (Vec<(EntryId, EntryId)>, Vec<EntryId>) {
    // Most ledgers have no reversal: then there is nothing to pair, and no map of every entry to
    // build (a bank file folds a year of entries for every line; docs/performance.md, issue 4).
    if !entries.iter().any(|e| matches!(e.kind, EntryKind::Reversal { .. })) {
        return (Vec::new(), Vec::new());
    }
    let mut seen: HashMap<&EntryId, &EntryKind> = HashMap::new();
    let mut done: HashSet<&EntryId> = HashSet::new();
    let mut pairs = Vec::new();
    let mut bad = Vec::new();
    for e in entries {
        if let EntryKind::Reversal { of, .. } = &e.kind {
            match seen.get(of) {
                Some(EntryKind::Reversal { .. }) | None => bad.push(e.id.clone()),
                Some(_) if done.contains(of) => bad.push(e.id.clone()),
                Some(_) => {
                    done.insert(of);
                    pairs.push((of.clone(), e.id.clone()));
                }
            }
        }
        seen.entry(&e.id).or_insert(&e.kind);
    }
    (pairs, bad)
}

/// Derives a customer's position from all their entries, in posting order.
pub fn fold(entries: &[Entry]) -> LedgerState {
    let (reversed, mut ignored) = reversals(entries);
    let skip: HashSet<&EntryId> = reversed.iter().flat_map(|(a, b)| [a, b]).collect();
    let mut state = LedgerState::default();
    let mut bills = HashSet::new();
    for e in entries {
        if skip.contains(&e.id) || matches!(e.kind, EntryKind::Reversal { .. }) {
            continue;
        }
        if !state.apply(e, &mut bills) {
            ignored.push(e.id.clone());
        }
    }
    state.reversed = reversed;
    state.ignored = ignored;
    state
}

/// The position as the ledger showed it at `as_of`: only entries posted at or before it count
/// (a reversal posted later does not yet cancel anything).
pub fn fold_until(entries: &[Entry], as_of: Timestamp) -> LedgerState {
    let upto: Vec<Entry> = entries.iter().filter(|e| e.at <= as_of).cloned().collect();
    fold(&upto)
}
