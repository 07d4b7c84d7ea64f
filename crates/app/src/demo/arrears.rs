//! Arrears cases for the demo: the customers the payment history left owing go through the real
//! arrears workflow (`crate::arrears`) day by day over the last weeks, so that `/arrears` shows
//! cases at every stage: reminded, notice served, disconnected, paid and waiting for reconnection,
//! reconnected.
//!
//! Each demo day takes the same per-customer step as the daily pass (at 08:00 Beijing, or now on
//! the last day). The customers' stories differ by a hash of the account number, so that every
//! stage is on show: the bureau started chasing some only two or five days ago (reminded; notice
//! served), others from the start of the window; of those cut off (the crew carries a disconnection
//! out an hour after the announced cut) some pay in full two days later (reconnected three hours
//! after the order, case closed), some pay today (reconnection ordered, within its 24 hours), the
//! rest still owe. Deterministic by the seed, and idempotent: steps are unique per case, the
//! payment key is `demo:<account>:reconnection`, a finished order is not finished again.

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
const DAYS: i64 = 45;
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

/// How a customer in arrears goes through the demo's weeks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Story {
    /// Cut off, pays in full two days later: reconnected, case closed.
    Reconnected,
    /// Cut off, pays in full today: the reconnection order is open, within its 24 hours.
    PaysToday,
    /// Cut off, still owing.
    CutOff,
    /// Chased from two days ago: the reminders.
    Reminded,
    /// Chased from five days ago: reminders and the written notice.
    Noticed,
}

impl Story {
    fn of(seed: u64, id: &str) -> Story {
        match hash(seed, id) % 5 {
            0 => Story::Reconnected,
            1 => Story::PaysToday,
            2 => Story::CutOff,
            3 => Story::Reminded,
            _ => Story::Noticed,
        }
    }

    /// How many days before today the bureau started chasing the account.
    fn days(self) -> i64 {
        match self {
            Story::Reminded => 1,
            Story::Noticed => 4,
            _ => DAYS,
        }
    }
}

/// When the customer pays in full on `day`, by their story.
async fn payment_day(
    store: &DynStore,
    story: Story,
    id: &str,
    day: Date,
    now: Timestamp,
) -> AppResult<Option<Timestamp>> {
    if !matches!(story, Story::Reconnected | Story::PaysToday) {
        return Ok(None);
    }
    let cases = store.arrears_cases_of(id).await?;
    let Some(open) = cases.iter().find(|c| c.closed_at.is_none()) else { return Ok(None) };
    let cut = open.steps.iter().find(|s| s.step == DISCONNECT).and_then(|s| s.done_at);
    let Some(cut) = cut.and_then(|s| Timestamp::from_second(s).ok()) else { return Ok(None) };
    let today = beijing::date_of(now);
    let (pay_day, at) = match story {
        Story::Reconnected => {
            let d = beijing::date_of(cut).saturating_add(jiff::Span::new().days(2));
            (d, beijing::instant(d.at(11, 0, 0, 0)).unwrap_or(Timestamp::MAX))
        }
        // Today, an hour before now (not before the cut).
        _ => (today, (now - SignedDuration::from_hours(1)).max(cut + SignedDuration::from_secs(60))),
    };
    Ok((pay_day == day).then_some(at).filter(|a| *a <= now))
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
    let customers: Vec<(Customer, Story)> = in_arrears(store, today, now)
        .await?
        .into_iter()
        .map(|c| {
            let story = Story::of(opts.seed, c.id.as_str());
            (c, story)
        })
        .collect();
    let mut taken = 0u64;
    let mut day = today.saturating_sub(jiff::Span::new().days(DAYS));
    while day <= today {
        let at = pass_instant(day).min(now);
        for (c, story) in &customers {
            let id = c.id.as_str();
            if day < today.saturating_sub(jiff::Span::new().days(story.days())) {
                continue;
            }
            let r = run_for_customer(store, &Actor::system(), rules, id, at).await?;
            taken += r.taken.len() as u64;
            crews(store, rules, id, &r.taken, now).await?;
            if let Some(paid_at) = payment_day(store, *story, id, day, now).await? {
                let steps = pay_in_full(store, rules, c, paid_at).await?;
                taken += steps.len() as u64;
                // A reconnection ordered today is still the crew's to do.
                if *story == Story::Reconnected {
                    crews(store, rules, id, &steps, now).await?;
                }
            }
        }
        day = match day.tomorrow() {
            Ok(d) => d,
            Err(_) => break,
        };
    }
    Ok(taken)
}
