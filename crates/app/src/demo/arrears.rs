//! Arrears cases for the demo: the customers the payment history left owing go through the real
//! arrears workflow (`crate::arrears`) day by day over the last weeks, so that `/arrears` shows
//! cases at every stage: reminded, notice served, disconnected, paid and waiting for reconnection,
//! reconnected.
//!
//! Each demo day takes the same per-customer step as the daily pass (at 08:00 Beijing, or now on
//! the last day); the demo's crews carry out a disconnection an hour after the announced cut and a
//! reconnection three hours after it is ordered; about half of the customers cut off pay in full two
//! days later at 11:00, at the counter, and get their reconnection order from the payment hook.
//! Deterministic by the seed, and idempotent: steps are unique per case, the payment key is
//! `demo:<account>:reconnection`, a finished order is not finished again.

use super::DemoOptions;
use crate::access::Actor;
use crate::arrears::{after_payment, pass_instant, run_for_customer, DISCONNECT, RECONNECT};
use crate::error::AppResult;
use crate::payments::{late_fee_rules, load_account, post_payment, NewPayment};
use bureau_domain::arrears::ArrearsRules;
use bureau_domain::calendar::beijing;
use bureau_domain::ledger::{fold_until, Channel, IdempotencyKey};
use bureau_domain::money::Fen;
use bureau_domain::register::Customer;
use bureau_store::{DynStore, Scope};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

/// How many days of the workflow the demo plays: enough for the oldest unpaid bills to reach the
/// cut (more than 30 days overdue) and the reconnection.
const DAYS: i64 = 75;
/// The demo crew that carries out the orders.
const CREW: &str = "crew";

fn hash(seed: u64, text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.rotate_left(17);
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The customers owing on overdue bills today.
async fn in_arrears(store: &DynStore, today: Date, now: Timestamp) -> AppResult<Vec<Customer>> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.ledgers_page(&Scope::All, after.as_deref(), 1000).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer_id.clone());
        for l in &page {
            let state = fold_until(&l.entries, now);
            if state.arrears_on(today) > Fen::ZERO && state.oldest_overdue(today).is_some() {
                out.push(store.get_customer(&Scope::All, &l.customer_id).await?);
            }
        }
    }
    Ok(out)
}

/// A crew reports an order done at `at` (nothing when it is done already), and the case moves on.
async fn carry_out(
    store: &DynStore,
    rules: &ArrearsRules,
    id: &str,
    case_no: i64,
    order: &str,
    at: Timestamp,
) -> AppResult<()> {
    if store.complete_arrears_order(id, case_no, order, at.as_second(), CREW).await? {
        run_for_customer(store, &Actor::system(), rules, id, at).await?;
    }
    Ok(())
}

/// The crews' reports for the orders among `taken`: a disconnection an hour after the announced
/// cut, a reconnection three hours after the order; none later than `now`.
async fn crews(
    store: &DynStore,
    rules: &ArrearsRules,
    id: &str,
    taken: &[crate::arrears::Taken],
    now: Timestamp,
) -> AppResult<()> {
    for t in taken {
        let ordered = Timestamp::from_second(t.at).unwrap_or(now);
        let done_at = match t.step.as_str() {
            DISCONNECT => {
                let cases = store.arrears_cases_of(id).await?;
                let cut = cases
                    .iter()
                    .filter(|c| c.case_no == t.case_no)
                    .flat_map(|c| c.steps.iter())
                    .find(|s| s.step == DISCONNECT)
                    .and_then(|s| s.planned_cut_at)
                    .and_then(|s| Timestamp::from_second(s).ok())
                    .unwrap_or(ordered);
                cut.max(ordered) + SignedDuration::from_hours(1)
            }
            RECONNECT => ordered + SignedDuration::from_hours(3),
            _ => continue,
        };
        if done_at <= now {
            carry_out(store, rules, id, t.case_no, &t.step, done_at).await?;
        }
    }
    Ok(())
}

/// When the customer pays in full on `day`: half of those cut off, two days after the cut, 11:00.
async fn payment_day(
    store: &DynStore,
    opts: &DemoOptions,
    id: &str,
    day: Date,
    now: Timestamp,
) -> AppResult<Option<Timestamp>> {
    if !hash(opts.seed, id).is_multiple_of(2) {
        return Ok(None);
    }
    let cases = store.arrears_cases_of(id).await?;
    let Some(open) = cases.iter().find(|c| c.closed_at.is_none()) else { return Ok(None) };
    let cut = open.steps.iter().find(|s| s.step == DISCONNECT).and_then(|s| s.done_at);
    let Some(cut) = cut.and_then(|s| Timestamp::from_second(s).ok()) else { return Ok(None) };
    let pay_day = beijing::date_of(cut).saturating_add(jiff::Span::new().days(2));
    let at = beijing::instant(day.at(11, 0, 0, 0)).unwrap_or(Timestamp::MAX);
    Ok((pay_day == day && at <= now).then_some(at))
}

/// The customer clears the account at the counter at `at`; the payment hook orders the
/// reconnection. Returns the steps taken.
async fn pay_in_full(
    store: &DynStore,
    rules: &ArrearsRules,
    customer: &Customer,
    at: Timestamp,
) -> AppResult<Vec<crate::arrears::Taken>> {
    let fees = late_fee_rules();
    let account = load_account(store, customer.clone(), fees, beijing::date_of(at)).await?;
    if account.to_clear <= Fen::ZERO {
        return Ok(Vec::new());
    }
    let id = customer.id.as_str();
    let payment = NewPayment {
        customer: customer.clone(),
        amount: account.to_clear,
        key: IdempotencyKey::parse("key", &format!("demo:{id}:reconnection"))?,
        channel: Channel::Counter,
        by: "clerk".into(),
        reason: "柜台缴费（现金）".into(),
        at: crate::payments::ledger_instant(at),
    };
    let paid = post_payment(store, fees, payment).await?;
    Ok(after_payment(store, rules, "clerk", customer, paid.payment.at).await?.taken)
}

/// Plays the arrears workflow over the last [`DAYS`] days for the customers in arrears; returns how
/// many steps were taken.
pub async fn history(store: &DynStore, opts: &DemoOptions) -> AppResult<u64> {
    let rules = ArrearsRules::builtin();
    let now = Timestamp::now();
    let today = beijing::date_of(now);
    let customers = in_arrears(store, today, now).await?;
    let mut taken = 0u64;
    let mut day = today.saturating_sub(jiff::Span::new().days(DAYS));
    while day <= today {
        let at = pass_instant(day).min(now);
        for c in &customers {
            let id = c.id.as_str();
            let r = run_for_customer(store, &Actor::system(), rules, id, at).await?;
            taken += r.taken.len() as u64;
            crews(store, rules, id, &r.taken, now).await?;
            if let Some(paid_at) = payment_day(store, opts, id, day, now).await? {
                let steps = pay_in_full(store, rules, c, paid_at).await?;
                taken += steps.len() as u64;
                crews(store, rules, id, &steps, now).await?;
            }
        }
        day = match day.tomorrow() {
            Ok(d) => d,
            Err(_) => break,
        };
    }
    Ok(taken)
}
