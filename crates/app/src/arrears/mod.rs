//! The arrears workflow (催费、停电、复电) as a daily pass over the ledger.
//!
//! For every customer in scope the pass folds the ledger, opens a case when bills are overdue, asks
//! `bureau_domain::arrears::next_action` what comes next, and takes that step: a reminder, the
//! written disconnection notice (with the final reminder scheduled before the cut), the
//! disconnection work order at the announced time, the withdrawal when the arrears are paid before
//! the cut, and after the cut, once paid in full, the reconnection work order due 24 hours after
//! the payment. Every step is a row of `arrears_steps` (who, when, deadline) and every message to
//! the customer goes through the notification outbox.
//!
//! Running the pass twice changes nothing the second time:
//! - a step is recorded under its name in the case (`reminder-2`, `notice-1`, `disconnect`, ...),
//!   which the database keeps unique, and its message under the key
//!   `arrears:<customer>:<case>:<step>`, which the outbox keeps unique;
//! - a case sends the customer at most one new message a day (a customer first seen long overdue
//!   gets reminder 1 today, reminder 2 tomorrow, the notice the day after, not all at once).
//!
//! Messages are enqueued before their step is recorded, so a pass killed between the two sends
//! nothing twice (the key) and loses nothing (the next pass records the step and re-enqueues, a
//! no-op). A pass acts on every step due before the end of its Beijing day; a message due later
//! that day is enqueued with that time (`not_before`), so the outbox delivers it on time.

mod notify;
pub mod schedule;

use crate::access::Actor;
use crate::error::{AppError, AppResult};
use crate::outbox;
use bureau_domain::arrears::{self as rules, ArrearsCase, ArrearsRules, NextAction, NoticeClass, Step};
use bureau_domain::calendar::beijing;
use bureau_domain::error::FieldError;
use bureau_domain::ledger::{fold_until, Entry, EntryKind};
use bureau_domain::money::Fen;
use bureau_domain::org::Role;
use bureau_domain::register::Customer;
use bureau_store::{ArrearsCaseRow, ArrearsStepRow, CaseUpdate, DynStore};
use jiff::civil::Date;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::HashMap;

/// Roles that run the pass and see the cases: fee-collection staff (the counter) and managers.
pub const ARREARS_ROLES: &[Role] = &[Role::Manager, Role::CounterClerk];
/// Roles that report a work order done: the crews, and the staff above.
pub const ORDER_ROLES: &[Role] = &[Role::RepairCrew, Role::Manager, Role::CounterClerk];

const PAGE: u32 = 500;

async fn customer_in_scope(store: &DynStore, actor: &Actor, customer_id: &str) -> AppResult<Customer> {
    let c = store
        .get_customer(&actor.scope, customer_id)
        .await
        .map_err(|e| AppError::or_not_found(e, "customer", customer_id))?;
    actor.require_bureau(&c.bureau_id)?;
    Ok(c)
}

/// The disconnection work order's step name.
pub const DISCONNECT: &str = "disconnect";
/// The reconnection work order's step name.
pub const RECONNECT: &str = "reconnect";

/// A step the pass took.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Taken {
    pub customer_id: String,
    pub case_no: i64,
    pub step: String,
    /// When it is done (a message may be scheduled later the same day).
    pub at: i64,
    pub due_at: Option<i64>,
}

/// What a pass did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PassReport {
    pub customers: u64,
    pub opened: u64,
    pub closed: u64,
    pub taken: Vec<Taken>,
}

fn secs(t: Timestamp) -> i64 {
    t.as_second()
}

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap_or(Timestamp::MIN)
}

/// The end of the Beijing day of `now`: the pass acts on everything due before it.
fn horizon(now: Timestamp) -> Timestamp {
    beijing::date_of(now).tomorrow().ok().and_then(|d| beijing::start_of(d).ok()).unwrap_or(Timestamp::MAX)
}

/// The instant a pass "on" a day runs at: 08:00 Beijing, before the reminders' hour, so that the
/// day's messages go out at their hour.
pub fn pass_instant(on: Date) -> Timestamp {
    beijing::instant(on.at(8, 0, 0, 0)).unwrap_or(Timestamp::MIN)
}

fn step_no(step: &str, prefix: &str) -> Option<usize> {
    step.strip_prefix(prefix).and_then(|n| n.parse().ok())
}

fn find<'a>(row: &'a ArrearsCaseRow, name: &str) -> Option<&'a ArrearsStepRow> {
    row.steps.iter().find(|s| s.step == name)
}

/// The latest notice of the case, by number.
fn latest_notice(row: &ArrearsCaseRow) -> Option<(usize, &ArrearsStepRow)> {
    row.steps.iter().filter_map(|s| step_no(&s.step, "notice-").map(|n| (n, s))).max_by_key(|(n, _)| *n)
}

/// When the arrears were paid in full: the last entry that lowered what is owed (a payment or a
/// credit) by `now`. The 24-hour reconnection clock starts there, not at the pass.
fn paid_in_full_at(entries: &[Entry], now: Timestamp) -> Option<Timestamp> {
    entries
        .iter()
        .filter(|e| e.at <= now)
        .filter(|e| match &e.kind {
            EntryKind::Payment { .. } => true,
            EntryKind::Adjustment { amount, .. } => *amount < Fen::ZERO,
            _ => false,
        })
        .map(|e| e.at)
        .max()
}

/// The domain's view of a case from its record and the ledger.
fn case_of(
    row: &ArrearsCaseRow,
    class: NoticeClass,
    arrears: Fen,
    oldest_due: Option<Date>,
    entries: &[Entry],
    now: Timestamp,
) -> ArrearsCase {
    let mut c = ArrearsCase::new(class, arrears, oldest_due);
    let mut reminders: Vec<(usize, i64)> =
        row.steps.iter().filter_map(|s| step_no(&s.step, "reminder-").map(|n| (n, s.at))).collect();
    reminders.sort();
    c.reminders_sent = reminders.into_iter().map(|(_, at)| ts(at)).collect();
    if let Some((n, s)) = latest_notice(row) {
        c.notice =
            Some(rules::Notice { served_at: ts(s.at), planned_cut_at: ts(s.planned_cut_at.unwrap_or(s.at)) });
        c.final_reminder_sent_at = find(row, &format!("final-{n}")).map(|f| ts(f.at));
    }
    if let Some(d) = find(row, DISCONNECT) {
        c.disconnection_ordered_at = Some(ts(d.at));
        c.disconnected_at = d.done_at.map(ts);
    }
    if let Some(r) = find(row, RECONNECT) {
        c.reconnection_ordered_at = Some(ts(r.at));
        c.reconnected_at = r.done_at.map(ts);
    }
    if c.disconnected_at.is_some() && arrears <= Fen::ZERO {
        c.paid_in_full_at = find(row, "paid").map(|p| ts(p.at)).or_else(|| paid_in_full_at(entries, now));
    }
    c
}

fn update_of(action: &NextAction, oldest_due: Option<Date>, arrears: Fen, now: Timestamp) -> CaseUpdate {
    CaseUpdate {
        oldest_due: oldest_due.map(|d| d.to_string()).unwrap_or_default(),
        arrears_fen: arrears.0,
        next_step: action.step.code().to_string(),
        next_at: Some(secs(action.not_before)),
        deadline: action.deadline.map(secs),
        closed_at: None,
        updated_at: secs(now),
    }
}

/// What every customer's turn of a pass shares.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    store: &'a DynStore,
    rules: &'a ArrearsRules,
    /// Who the steps are recorded as.
    by: &'a str,
}

/// One customer's turn in the pass: opens, advances or closes their case. At most one message step
/// a day; work-order steps whenever due.
async fn advance(
    ctx: Ctx<'_>,
    customer: &Customer,
    entries: &[Entry],
    open: Option<ArrearsCaseRow>,
    now: Timestamp,
    report: &mut PassReport,
) -> AppResult<()> {
    let Ctx { store, rules: rules_, by } = ctx;
    let today = beijing::date_of(now);
    let state = fold_until(entries, now);
    let arrears = state.arrears_on(today);
    let oldest_due = state.oldest_overdue(today);
    let class = NoticeClass::from(customer.class);
    let id = customer.id.as_str();

    let mut row = match open {
        Some(r) => r,
        None if arrears > Fen::ZERO && oldest_due.is_some() => {
            let blank = ArrearsCase::new(class, arrears, oldest_due);
            let first = rules::next_action(rules_, &blank, now)?;
            let r = store
                .open_arrears_case(
                    id,
                    &customer.bureau_id,
                    secs(now),
                    &update_of(&first, oldest_due, arrears, now),
                )
                .await?;
            report.opened += 1;
            r
        }
        None => return Ok(()),
    };

    let messaged_today = |row: &ArrearsCaseRow| {
        row.steps.iter().any(|s| {
            (s.step.starts_with("reminder-") || s.step.starts_with("notice-"))
                && beijing::date_of(ts(s.at)) == today
        })
    };
    let until = horizon(now);
    // A few steps can fall due together (an order, then nothing more): loop until the next one is
    // later, waits for someone else, or is a message on a day that already had one.
    for _ in 0..4 {
        let case = case_of(&row, class, arrears, oldest_due, entries, now);
        let action = rules::next_action(rules_, &case, now)?;
        if action.not_before >= until {
            break;
        }
        let v = rules_.version_on(today).ok_or_else(|| AppError::Invalid(vec![no_rules(today)]))?;
        let step_row = |step: String, at: Timestamp| ArrearsStepRow {
            customer_id: id.to_string(),
            case_no: row.case_no,
            step,
            at: secs(at),
            by_staff: by.to_string(),
            planned_cut_at: None,
            due_at: None,
            done_at: None,
            done_by: None,
            detail: None,
        };
        let mut steps: Vec<(ArrearsStepRow, Option<outbox::Notification>)> = Vec::new();
        let mut close = false;
        match &action.step {
            Step::Idle => close = true,
            Step::SendReminder { number } => {
                if messaged_today(&row) {
                    break;
                }
                let at = action.not_before.max(now);
                let s = step_row(format!("reminder-{number}"), at);
                let n = notify::reminder(customer, &s, arrears, oldest_due);
                steps.push((s, Some(n)));
            }
            Step::ServeNotice { planned_cut_at, copy_to_authority } => {
                if messaged_today(&row) {
                    break;
                }
                let n = latest_notice(&row).map_or(1, |(n, _)| n + 1);
                let at = action.not_before.max(now);
                let mut s = step_row(format!("notice-{n}"), at);
                s.planned_cut_at = Some(secs(*planned_cut_at));
                if *copy_to_authority {
                    s.detail = Some("copy_to_authority".into());
                }
                let msg = notify::notice(customer, &s, arrears);
                steps.push((s, Some(msg)));
                // The final reminder before the cut, scheduled now so that it goes out on time
                // whatever hour the pass runs at.
                let final_at = rules::final_reminder_at(v, class, *planned_cut_at).max(at);
                let mut f = step_row(format!("final-{n}"), final_at);
                f.planned_cut_at = Some(secs(*planned_cut_at));
                let msg = notify::final_reminder(customer, &f, arrears);
                steps.push((f, Some(msg)));
            }
            Step::SendFinalReminder { planned_cut_at } => {
                let n = latest_notice(&row).map_or(1, |(n, _)| n);
                let mut f = step_row(format!("final-{n}"), action.not_before.max(now));
                f.planned_cut_at = Some(secs(*planned_cut_at));
                let msg = notify::final_reminder(customer, &f, arrears);
                steps.push((f, Some(msg)));
            }
            Step::OrderDisconnection => {
                let mut s = step_row(DISCONNECT.into(), now);
                s.planned_cut_at = case.notice.map(|n| secs(n.planned_cut_at));
                s.due_at = Some(secs(action.deadline.unwrap_or(action.not_before)));
                steps.push((s, None));
            }
            Step::CancelDisconnection => {
                outbox::cancel(store, &format!("arrears:{id}:{}:", row.case_no)).await?;
                let s = step_row("withdrawn".into(), now);
                let msg = case.notice.map(|_| notify::withdrawn(customer, &s));
                steps.push((s, msg));
                close = true;
            }
            Step::OrderReconnection => {
                let paid = case.paid_in_full_at.unwrap_or(now);
                steps.push((step_row("paid".into(), paid), None));
                let mut s = step_row(RECONNECT.into(), now);
                s.due_at = action.deadline.map(secs);
                let msg = notify::reconnection(customer, &s);
                steps.push((s, Some(msg)));
            }
            Step::AwaitDisconnection | Step::AwaitPayment | Step::AwaitReconnection => break,
        }
        for (s, msg) in steps {
            if let Some(mut m) = msg {
                m.not_before = Some(s.at);
                outbox::enqueue_at(store, m, secs(now)).await?;
            }
            if store.record_arrears_step(&s).await? {
                report.taken.push(Taken {
                    customer_id: s.customer_id.clone(),
                    case_no: s.case_no,
                    step: s.step.clone(),
                    at: s.at,
                    due_at: s.due_at,
                });
            }
            if !row.steps.iter().any(|x| x.step == s.step) {
                row.steps.push(s);
            }
        }
        if close {
            let mut u = update_of(&action, oldest_due, arrears, now);
            u.next_step = Step::Idle.code().into();
            u.next_at = None;
            u.deadline = None;
            u.closed_at = Some(secs(now));
            store.update_arrears_case(id, row.case_no, &u).await?;
            report.closed += 1;
            return Ok(());
        }
    }
    let case = case_of(&row, class, arrears, oldest_due, entries, now);
    let action = rules::next_action(rules_, &case, now)?;
    store.update_arrears_case(id, row.case_no, &update_of(&action, oldest_due, arrears, now)).await?;
    Ok(())
}

fn no_rules(day: Date) -> FieldError {
    FieldError::new(
        "arrears_rules",
        "unknown",
        format!("{day} 没有生效的欠费停复电参数"),
        format!("no arrears parameters in force on {day}"),
    )
}

/// The daily pass over every customer in the actor's scope, at `now`.
pub async fn run_pass(
    store: &DynStore,
    actor: &Actor,
    rules_: &ArrearsRules,
    now: Timestamp,
) -> AppResult<PassReport> {
    actor.require_any(ARREARS_ROLES)?;
    let open: Vec<ArrearsCaseRow> = store.arrears_cases(&actor.scope, true, u32::MAX / 2).await?;
    let mut open: HashMap<String, ArrearsCaseRow> =
        open.into_iter().map(|c| (c.customer_id.clone(), c)).collect();
    let mut report = PassReport::default();
    let mut after: Option<String> = None;
    loop {
        let customers = store.list_customers(&actor.scope, after.as_deref(), PAGE).await?;
        let Some(last) = customers.last() else { break };
        after = Some(last.id.as_str().to_string());
        let ids: Vec<String> = customers.iter().map(|c| c.id.as_str().to_string()).collect();
        let ledgers = store.ledgers_of(&ids).await?;
        for (c, l) in customers.iter().zip(ledgers) {
            if l.entries.is_empty() {
                continue;
            }
            report.customers += 1;
            let case = open.remove(c.id.as_str());
            advance(Ctx { store, rules: rules_, by: &actor.staff_id }, c, &l.entries, case, now, &mut report)
                .await?;
        }
        if ids.len() < PAGE as usize {
            break;
        }
    }
    Ok(report)
}

/// The pass for one customer (after a payment at the counter, or after a crew reports an order
/// done), so that a reconnection order is issued at once rather than at the next daily pass.
pub async fn run_for_customer(
    store: &DynStore,
    actor: &Actor,
    rules_: &ArrearsRules,
    customer_id: &str,
    now: Timestamp,
) -> AppResult<PassReport> {
    actor.require_any(ORDER_ROLES)?;
    let customer = customer_in_scope(store, actor, customer_id).await?;
    let ledger = store.ledger_of(customer_id).await?;
    let open = store.arrears_cases_of(customer_id).await?.into_iter().find(|c| c.closed_at.is_none());
    let mut report = PassReport::default();
    if !ledger.entries.is_empty() {
        report.customers = 1;
        let ctx = Ctx { store, rules: rules_, by: &actor.staff_id };
        advance(ctx, &customer, &ledger.entries, open, now, &mut report).await?;
    }
    Ok(report)
}

/// Right after a payment (at the counter, through the API): when the customer has an open case and
/// the payment cleared the arrears, the case moves on at once instead of at the next daily pass. A
/// disconnected customer gets the reconnection order, due 24 hours after the payment; a customer
/// with a notice served but not yet cut off gets the notice withdrawn, so no crew cuts off a paid
/// account. Nothing is done for a customer without an open case or still in arrears (the daily
/// pass handles those). The steps are recorded as taken by `by` (the clerk who took the payment).
pub async fn after_payment(
    store: &DynStore,
    rules_: &ArrearsRules,
    by: &str,
    customer: &Customer,
    at: Timestamp,
) -> AppResult<PassReport> {
    let mut report = PassReport::default();
    let id = customer.id.as_str();
    let Some(open) = store.arrears_cases_of(id).await?.into_iter().find(|c| c.closed_at.is_none()) else {
        return Ok(report);
    };
    let ledger = store.ledger_of(id).await?;
    let still_owed = fold_until(&ledger.entries, at).arrears_on(beijing::date_of(at));
    if still_owed > Fen::ZERO {
        return Ok(report);
    }
    report.customers = 1;
    advance(Ctx { store, rules: rules_, by }, customer, &ledger.entries, Some(open), at, &mut report).await?;
    Ok(report)
}

/// A crew reports a disconnection or reconnection order carried out at `at`. The case moves on at
/// once (a reconnection closes it).
pub async fn complete_order(
    store: &DynStore,
    actor: &Actor,
    rules_: &ArrearsRules,
    customer_id: &str,
    order: &str,
    at: Timestamp,
) -> AppResult<ArrearsCaseRow> {
    actor.require_any(ORDER_ROLES)?;
    if order != DISCONNECT && order != RECONNECT {
        return Err(FieldError::invalid(
            "order",
            format!("工单“{order}”无效，应为 disconnect 或 reconnect"),
            format!("order '{order}' is unknown; use disconnect or reconnect"),
        )
        .into());
    }
    customer_in_scope(store, actor, customer_id).await?;
    let case = store
        .arrears_cases_of(customer_id)
        .await?
        .into_iter()
        .find(|c| c.closed_at.is_none())
        .ok_or_else(|| AppError::NotFound { what: "arrears_case", id: customer_id.to_string() })?;
    let done =
        store.complete_arrears_order(customer_id, case.case_no, order, secs(at), &actor.staff_id).await?;
    if !done {
        return Err(AppError::Conflict(FieldError::new(
            "order",
            "not_open",
            format!("户号{customer_id}没有待执行的{order}工单"),
            format!("account {customer_id} has no open {order} order"),
        )));
    }
    run_for_customer(store, actor, rules_, customer_id, at).await?;
    let cases = store.arrears_cases_of(customer_id).await?;
    cases
        .into_iter()
        .find(|c| c.case_no == case.case_no)
        .ok_or_else(|| AppError::not_found("arrears_case", customer_id))
}

use bureau_domain::i18n::Text;

/// A case as the fee-collection staff's list shows it.
#[derive(Clone, Debug, Serialize)]
pub struct CaseView {
    pub customer_id: String,
    pub name: String,
    pub class: String,
    pub case_no: i64,
    pub arrears: Fen,
    pub oldest_due: String,
    pub next_step: String,
    pub next_step_zh: String,
    pub next_step_en: String,
    pub next_at: Option<String>,
    pub deadline: Option<String>,
    pub late: bool,
    pub steps: Vec<ArrearsStepRow>,
}

/// A disconnection or reconnection order with its deadline.
#[derive(Clone, Debug, Serialize)]
pub struct OrderView {
    pub customer_id: String,
    pub name: String,
    pub address: String,
    pub case_no: i64,
    /// `disconnect` or `reconnect`.
    pub order: String,
    pub issued_at: String,
    pub planned_cut_at: Option<String>,
    pub due_at: Option<String>,
    pub done_at: Option<String>,
    pub late: bool,
}

fn show(s: i64) -> String {
    beijing::format_rfc3339(ts(s))
}

fn label(code: &str) -> Text {
    let step = match code {
        "send_reminder" => Step::SendReminder { number: 1 },
        "serve_notice" => {
            Step::ServeNotice { planned_cut_at: Timestamp::UNIX_EPOCH, copy_to_authority: false }
        }
        "send_final_reminder" => Step::SendFinalReminder { planned_cut_at: Timestamp::UNIX_EPOCH },
        "order_disconnection" => Step::OrderDisconnection,
        "await_disconnection" => Step::AwaitDisconnection,
        "cancel_disconnection" => Step::CancelDisconnection,
        "await_payment" => Step::AwaitPayment,
        "order_reconnection" => Step::OrderReconnection,
        "await_reconnection" => Step::AwaitReconnection,
        _ => Step::Idle,
    };
    step.label()
}

/// The open cases with their next step and deadline, and the work orders (open ones first, each
/// with its deadline), as of `now`.
pub async fn cases(
    store: &DynStore,
    actor: &Actor,
    now: Timestamp,
) -> AppResult<(Vec<CaseView>, Vec<OrderView>)> {
    actor.require_any(ORDER_ROLES)?;
    let rows = store.arrears_cases(&actor.scope, true, 10_000).await?;
    let mut names: HashMap<String, Customer> = HashMap::new();
    for r in &rows {
        if !names.contains_key(&r.customer_id) {
            if let Ok(c) = store.get_customer(&actor.scope, &r.customer_id).await {
                names.insert(r.customer_id.clone(), c);
            }
        }
    }
    let now_s = secs(now);
    let mut cases = Vec::new();
    let mut orders = Vec::new();
    for r in rows {
        let c = names.get(&r.customer_id);
        for s in r.steps.iter().filter(|s| s.step == DISCONNECT || s.step == RECONNECT) {
            orders.push(OrderView {
                customer_id: r.customer_id.clone(),
                name: c.map(|c| c.name.clone()).unwrap_or_default(),
                address: c.map(|c| c.address.clone()).unwrap_or_default(),
                case_no: r.case_no,
                order: s.step.clone(),
                issued_at: show(s.at),
                planned_cut_at: s.planned_cut_at.map(show),
                due_at: s.due_at.map(show),
                done_at: s.done_at.map(show),
                late: s.done_at.is_none() && s.due_at.is_some_and(|d| d < now_s),
            });
        }
        let l = label(&r.next_step);
        cases.push(CaseView {
            customer_id: r.customer_id.clone(),
            name: c.map(|c| c.name.clone()).unwrap_or_default(),
            class: c.map(|c| c.class.code().to_string()).unwrap_or_default(),
            case_no: r.case_no,
            arrears: Fen(r.arrears_fen),
            oldest_due: r.oldest_due.clone(),
            next_step: r.next_step.clone(),
            next_step_zh: l.zh.clone(),
            next_step_en: l.en.clone(),
            next_at: r.next_at.map(show),
            deadline: r.deadline.map(show),
            late: r.deadline.is_some_and(|d| d < now_s),
            steps: r.steps,
        });
    }
    orders.sort_by(|a, b| (a.done_at.is_some(), &a.due_at).cmp(&(b.done_at.is_some(), &b.due_at)));
    Ok((cases, orders))
}
