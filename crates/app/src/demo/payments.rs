//! Payments for the demo's bill history, so that the counter, the portal and the collection
//! reports show a realistic county: about 98–99 % of the money collected, most customers paying
//! before the due date, some late (with their Art. 98 late fees posted by the real rule), a few
//! prepaying (credit carried to the next bills) and a few in arrears.
//!
//! Deterministic (behaviour by a hash of the account number and the seed) and idempotent: every
//! payment's key is `demo:<account>:<period>`, so a rerun posts nothing twice.

use super::DemoOptions;
use crate::error::AppResult;
use crate::payments::{payment_entries, NewPayment};
use bureau_domain::calendar::beijing;
use bureau_domain::late_fee::LateFeeClass;
use bureau_domain::ledger::{fold, Channel, Entry, EntryId, EntryKind, IdempotencyKey};
use bureau_domain::money::Fen;
use bureau_store::{DynStore, EntryGroup, Scope};

/// Customers read and posted per transaction.
const PAGE: u32 = 1000;

fn hash(seed: u64, text: &str) -> u64 {
    // FNV-1a: stable across machines and releases, unlike the standard library's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// How a customer pays.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Habit {
    OnTime,
    Late,
    Prepays,
    /// Stops paying for the last two bills.
    Arrears,
}

fn habit(h: u64) -> Habit {
    match h % 1000 {
        0..=9 => Habit::Arrears,
        10..=29 => Habit::Late,
        30..=49 => Habit::Prepays,
        _ => Habit::OnTime,
    }
}

/// Posts the payments of every customer's billed months; returns how many were posted.
pub async fn history(store: &DynStore, opts: &DemoOptions) -> AppResult<u64> {
    let rules = crate::payments::late_fee_rules();
    let now = jiff::Timestamp::now();
    let mut after: Option<String> = None;
    let mut posted = 0;
    loop {
        let page = store.ledgers_page(&Scope::All, after.as_deref(), PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer_id.clone());
        let ids: Vec<String> = page.iter().map(|l| l.customer_id.clone()).collect();
        let mut groups = Vec::new();
        for (ledger, id) in page.iter().zip(&ids) {
            let customer = store.get_customer(&Scope::All, id).await?;
            let class = LateFeeClass::from(customer.class);
            let h = hash(opts.seed, id);
            let habit = habit(h);
            let charges: Vec<&Entry> =
                ledger.entries.iter().filter(|e| matches!(e.kind, EntryKind::Charge { .. })).collect();
            let mut all = ledger.entries.clone();
            let mut new = Vec::new();
            for (i, c) in charges.iter().enumerate() {
                let EntryKind::Charge { bill, period, due, .. } = &c.kind else { continue };
                if habit == Habit::Arrears && i + 2 >= charges.len() {
                    break;
                }
                let key_text = format!("demo:{id}:{period}");
                if all
                    .iter()
                    .any(|e| matches!(&e.kind, EntryKind::Payment { key, .. } if key.as_str() == key_text))
                {
                    continue;
                }
                let spread = hash(h, &key_text);
                let issued = beijing::date_of(c.at);
                let day = match habit {
                    Habit::Late => due.saturating_add(jiff::Span::new().days(3 + (spread % 40) as i64)),
                    _ => {
                        let window = (*due - issued).get_days().max(1) as u64;
                        issued.saturating_add(jiff::Span::new().days(1 + (spread % window) as i64))
                    }
                };
                let Ok(at) = beijing::instant(day.at(9 + (spread % 8) as i8, (spread % 60) as i8, 0, 0))
                else {
                    continue;
                };
                if at > now {
                    continue;
                }
                let upto: Vec<Entry> = all.iter().filter(|e| e.at <= at).cloned().collect();
                let state = fold(&upto);
                let Some(b) = state.bill(bill) else { continue };
                let fee = if b.is_overdue(day) { b.late_fee_to_post(rules, class, day) } else { Fen::ZERO };
                let mut amount = b.open() + fee;
                if habit == Habit::Prepays {
                    // Round up to the next 100 yuan: the rest is kept as credit for the next bill.
                    amount = Fen((amount.0 / 10_000 + 1) * 10_000);
                }
                if amount <= Fen::ZERO {
                    continue;
                }
                let p = NewPayment {
                    customer: customer.clone(),
                    amount,
                    key: IdempotencyKey::parse("key", &key_text)?,
                    channel: if spread.is_multiple_of(3) { Channel::BankWithhold } else { Channel::Counter },
                    by: "demo".into(),
                    reason: "缴费".into(),
                    at,
                };
                let id = EntryId(format!("pay-demo-{period}"));
                let entries = payment_entries(&upto, rules, class, &p, id);
                all.extend(entries.iter().cloned());
                all.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
                new.extend(entries);
            }
            if !new.is_empty() {
                posted += new.iter().filter(|e| matches!(e.kind, EntryKind::Payment { .. })).count() as u64;
                groups.push(EntryGroup {
                    customer_id: id.clone(),
                    expected_version: ledger.version,
                    entries: new,
                    settle_through: None,
                });
            }
        }
        store.post_entry_groups(&groups).await?;
    }
    Ok(posted)
}
