//! The arrears workflow (欠费催收、停电与复电) as rules: what comes next for a customer in arrears,
//! and by when.
//!
//! The procedure, with the parameters dated in `data/arrears/arrears.toml` (sources and their
//! verification status are listed there, value by value):
//!
//! 1. **Reminders** (催费通知) on set days after the due date. 电力供应与使用条例 (1996) Art. 39:
//!    supply is stopped only after the customer was reminded (经催交仍未交付电费).
//! 2. **Written disconnection notice** (停电通知书), served only after the reminders: residential
//!    customers 7 days before the cut (国家电网公司供电服务"十项承诺" 2011), other customers 3 days
//!    before; 供电营业规则 (1996) Art. 67: delivered 3 to 7 days before the cut, and for an
//!    important customer (重要用户) sent to the electricity administration as well. The cut may not
//!    come before the arrears are more than 30 days overdue (条例 Art. 39).
//! 3. **Final reminder** shortly before the cut: other customers 1 hour before, residential
//!    customers 30 minutes before (Art. 67's general rule).
//! 4. **Disconnection work order** (停电工单) at the planned time of the notice.
//! 5. **Reconnection** (复电) within 24 hours of full payment (十项承诺 2011), as a work order whose
//!    deadline is computed here.
//!
//! Payment in full before the cut withdraws the notice and cancels any order. Time is elapsed time
//! in Beijing time, not working time (reference/service-rules.md §5: reconnection runs on an
//! elapsed clock). Everything here is pure: the app reads the case from its records, asks
//! [`next_action`], and records what it did.

mod rules;
#[cfg(test)]
mod tests;

pub use rules::{ArrearsFileError, ArrearsRules, ArrearsVersion};

use crate::calendar::beijing;
use crate::error::FieldError;
use crate::i18n::Text;
use crate::money::Fen;
use crate::register::CustomerClass;
use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Span, Timestamp};
use serde::{Deserialize, Serialize};

/// The two notice classes: residential customers get the longer notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeClass {
    /// 居民用户
    Residential,
    /// 其他用户 (non-residential)
    Other,
}

impl From<CustomerClass> for NoticeClass {
    fn from(c: CustomerClass) -> NoticeClass {
        match c {
            CustomerClass::Residential => NoticeClass::Residential,
            _ => NoticeClass::Other,
        }
    }
}

/// A disconnection notice as served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// When it reached the customer (送达).
    pub served_at: Timestamp,
    /// The cut-off time it announces.
    pub planned_cut_at: Timestamp,
}

/// What the records say about one customer's arrears case. The app fills it from the ledger
/// (arrears and the oldest overdue due date, [`crate::ledger::LedgerState`]) and from the notices
/// and work orders of the current case (a case ends when supply is restored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrearsCase {
    pub class: NoticeClass,
    /// 重要用户: the notice is also sent to the electricity administration.
    pub important: bool,
    /// Unpaid after the due date, late fees included.
    pub arrears: Fen,
    /// Due date of the oldest bill still unpaid; `None` when nothing is overdue.
    pub oldest_overdue_due: Option<Date>,
    /// Reminders sent in this case, oldest first.
    pub reminders_sent: Vec<Timestamp>,
    /// The latest notice served in this case.
    pub notice: Option<Notice>,
    /// The final reminder for that notice.
    pub final_reminder_sent_at: Option<Timestamp>,
    pub disconnection_ordered_at: Option<Timestamp>,
    pub disconnected_at: Option<Timestamp>,
    /// When the arrears (with late fees) were paid in full.
    pub paid_in_full_at: Option<Timestamp>,
    pub reconnection_ordered_at: Option<Timestamp>,
    pub reconnected_at: Option<Timestamp>,
}

impl ArrearsCase {
    /// A case with nothing done yet.
    pub fn new(class: NoticeClass, arrears: Fen, oldest_overdue_due: Option<Date>) -> ArrearsCase {
        ArrearsCase {
            class,
            important: false,
            arrears,
            oldest_overdue_due,
            reminders_sent: Vec::new(),
            notice: None,
            final_reminder_sent_at: None,
            disconnection_ordered_at: None,
            disconnected_at: None,
            paid_in_full_at: None,
            reconnection_ordered_at: None,
            reconnected_at: None,
        }
    }
}

/// The next step of a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Nothing is overdue, or the case is closed.
    Idle,
    /// Send reminder number `number` (1-based).
    SendReminder { number: usize },
    /// Serve a written disconnection notice announcing `planned_cut_at` (if served at
    /// `not_before`; recompute with [`planned_cut`] for the actual serving time).
    ServeNotice { planned_cut_at: Timestamp, copy_to_authority: bool },
    /// Tell the customer again before the cut.
    SendFinalReminder { planned_cut_at: Timestamp },
    /// Issue the disconnection work order.
    OrderDisconnection,
    /// The disconnection order is with the crew.
    AwaitDisconnection,
    /// Paid in full before the cut: withdraw the notice and cancel any order.
    CancelDisconnection,
    /// Disconnected and still owing.
    AwaitPayment,
    /// Paid in full after the cut: issue the reconnection work order.
    OrderReconnection,
    /// The reconnection order is with the crew.
    AwaitReconnection,
}

impl Step {
    pub fn code(&self) -> &'static str {
        match self {
            Step::Idle => "idle",
            Step::SendReminder { .. } => "send_reminder",
            Step::ServeNotice { .. } => "serve_notice",
            Step::SendFinalReminder { .. } => "send_final_reminder",
            Step::OrderDisconnection => "order_disconnection",
            Step::AwaitDisconnection => "await_disconnection",
            Step::CancelDisconnection => "cancel_disconnection",
            Step::AwaitPayment => "await_payment",
            Step::OrderReconnection => "order_reconnection",
            Step::AwaitReconnection => "await_reconnection",
        }
    }

    pub fn label(&self) -> Text {
        let (zh, en) = match self {
            Step::Idle => ("无需处理", "nothing to do"),
            Step::SendReminder { .. } => ("发送催费通知", "send a payment reminder"),
            Step::ServeNotice { .. } => ("送达停电通知书", "serve the disconnection notice"),
            Step::SendFinalReminder { .. } => ("停电前再次通知", "remind before the cut"),
            Step::OrderDisconnection => ("派发停电工单", "issue the disconnection order"),
            Step::AwaitDisconnection => ("等待停电执行", "disconnection under way"),
            Step::CancelDisconnection => ("撤销停电（已结清）", "cancel the disconnection (paid)"),
            Step::AwaitPayment => ("已停电，等待缴费", "disconnected, awaiting payment"),
            Step::OrderReconnection => ("派发复电工单", "issue the reconnection order"),
            Step::AwaitReconnection => ("等待复电", "reconnection under way"),
        };
        Text::new(zh, en)
    }
}

/// The next step, when it may be taken and by when it must be done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NextAction {
    pub step: Step,
    /// Not before this instant (act now when `now >= not_before`).
    #[serde(serialize_with = "beijing::serialize")]
    pub not_before: Timestamp,
    /// The limit of the step, when the rules set one (the cut for a final reminder, 24 h after
    /// payment for a reconnection).
    pub deadline: Option<Timestamp>,
    /// True when `now` is past the deadline.
    pub late: bool,
    /// The rule set used.
    pub rule: Text,
    pub unverified: bool,
}

fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(Span::new().days(n)).unwrap_or(if n < 0 { Date::MIN } else { Date::MAX })
}

fn at_hour(d: Date, hour: i8) -> Timestamp {
    let t = Time::new(hour.clamp(0, 23), 0, 0, 0).unwrap_or(Time::midnight());
    beijing::instant(d.to_datetime(t)).unwrap_or(Timestamp::MAX)
}

fn plus(ts: Timestamp, d: SignedDuration) -> Timestamp {
    ts.checked_add(d).unwrap_or(if d.is_negative() { Timestamp::MIN } else { Timestamp::MAX })
}

/// Days overdue on `on` of a bill due on `due` (0 on the due date and before).
pub fn overdue_days(due: Date, on: Date) -> i64 {
    (on - due).get_days().max(0) as i64
}

/// The first instant supply may be cut for a bill due on `due`: the start of the first day on which
/// it is more than `overdue_days_before_disconnection` days overdue (条例 Art. 39: "超过30日").
pub fn disconnection_allowed_from(v: &ArrearsVersion, due: Date) -> Timestamp {
    beijing::start_of(add_days(due, v.overdue_days_before_disconnection + 1)).unwrap_or(Timestamp::MAX)
}

/// When reminder `index` (0-based) is due for a bill due on `due`.
pub fn reminder_at(v: &ArrearsVersion, due: Date, index: usize) -> Option<Timestamp> {
    v.reminder_days_after_due.get(index).map(|d| at_hour(add_days(due, *d), v.reminder_hour))
}

/// How many days before the cut the notice must be served. Days are counted by Beijing date: a
/// notice served on 8 April announces a cut on 15 April at the earliest when 7 days are required,
/// whatever the hour (our reading of "提前7天送达" \[R\]; the final reminder is timed in minutes).
pub fn notice_days(v: &ArrearsVersion, class: NoticeClass) -> i64 {
    match class {
        NoticeClass::Residential => v.residential_notice_days,
        NoticeClass::Other => v.other_notice_days,
    }
}

/// The latest cut a notice served at `served_at` can announce: the end of the cut hours on the
/// `notice_max_days`-th day after serving (Art. 67: served 3 to 7 days before the cut). After it,
/// an unused notice is stale and a new one is served.
pub fn latest_cut(v: &ArrearsVersion, served_at: Timestamp) -> Timestamp {
    cut_hours_end(v, add_days(beijing::date_of(served_at), v.notice_max_days))
}

fn cut_hours_end(v: &ArrearsVersion, day: Date) -> Timestamp {
    if v.cut_until_hour >= 24 {
        beijing::start_of(add_days(day, 1)).unwrap_or(Timestamp::MAX)
    } else {
        at_hour(day, v.cut_until_hour)
    }
}

/// How long before the cut the final reminder is sent.
pub fn final_reminder_lead(v: &ArrearsVersion, class: NoticeClass) -> SignedDuration {
    let minutes = match class {
        NoticeClass::Residential => v.residential_final_reminder_minutes,
        NoticeClass::Other => v.other_final_reminder_minutes,
    };
    SignedDuration::from_mins(minutes)
}

/// Moves an instant forward into the cut hours (`cut_from_hour` to `cut_until_hour` Beijing time,
/// both ends included).
pub fn into_cut_hours(v: &ArrearsVersion, ts: Timestamp) -> Timestamp {
    let day = beijing::date_of(ts);
    let from = at_hour(day, v.cut_from_hour);
    if ts < from {
        from
    } else if ts > cut_hours_end(v, day) {
        at_hour(add_days(day, 1), v.cut_from_hour)
    } else {
        ts
    }
}

/// The earliest cut a notice served at `served_at` can announce: the notice days after serving,
/// after the 30 days of Art. 39, inside the cut hours.
pub fn planned_cut(v: &ArrearsVersion, class: NoticeClass, due: Date, served_at: Timestamp) -> Timestamp {
    let after_notice = beijing::start_of(add_days(beijing::date_of(served_at), notice_days(v, class)))
        .unwrap_or(Timestamp::MAX);
    into_cut_hours(v, after_notice.max(disconnection_allowed_from(v, due)))
}

/// When the final reminder is to be sent for a cut at `planned_cut_at`.
pub fn final_reminder_at(v: &ArrearsVersion, class: NoticeClass, planned_cut_at: Timestamp) -> Timestamp {
    plus(planned_cut_at, -final_reminder_lead(v, class))
}

/// The reconnection deadline: `reconnect_within_hours` (24) after full payment.
pub fn reconnection_deadline(v: &ArrearsVersion, paid_in_full_at: Timestamp) -> Timestamp {
    plus(paid_in_full_at, SignedDuration::from_hours(v.reconnect_within_hours))
}

/// Checks a notice before it is served: the announced cut is at least the notice period and at
/// most `notice_max_days` after serving, after the 30 days of Art. 39, and inside the cut hours.
/// Errors name the field `planned_cut_at`.
pub fn check_notice(
    v: &ArrearsVersion,
    class: NoticeClass,
    due: Date,
    notice: &Notice,
) -> Result<(), FieldError> {
    let earliest = planned_cut(v, class, due, notice.served_at);
    let latest = latest_cut(v, notice.served_at);
    let cut = notice.planned_cut_at;
    let show = beijing::format_rfc3339;
    if cut < earliest {
        return Err(FieldError::new(
            "planned_cut_at",
            "too_early",
            format!("停电时间不得早于 {}", show(earliest)),
            format!("the cut may not be before {}", show(earliest)),
        ));
    }
    if cut > latest {
        return Err(FieldError::new(
            "planned_cut_at",
            "too_late",
            format!("停电通知书应在停电前{}天内送达，停电时间不得晚于 {}", v.notice_max_days, show(latest)),
            format!(
                "the notice is served at most {} days before the cut: the cut may not be after {}",
                v.notice_max_days,
                show(latest)
            ),
        ));
    }
    if into_cut_hours(v, cut) != cut {
        return Err(FieldError::new(
            "planned_cut_at",
            "outside_hours",
            format!("停电时间应在 {}:00 至 {}:00 之间", v.cut_from_hour, v.cut_until_hour),
            format!("the cut must be between {}:00 and {}:00", v.cut_from_hour, v.cut_until_hour),
        ));
    }
    Ok(())
}

/// The next step of `case` at `now`, with the parameters in force on that (Beijing) day. Fails
/// only when no parameters are in force.
pub fn next_action(
    rules: &ArrearsRules,
    case: &ArrearsCase,
    now: Timestamp,
) -> Result<NextAction, FieldError> {
    let today = beijing::date_of(now);
    let v = rules.version_on(today).ok_or_else(|| {
        FieldError::new(
            "arrears_rules",
            "unknown",
            format!("{today} 没有生效的欠费停复电参数"),
            format!("no arrears parameters in force on {today}"),
        )
    })?;
    let act = |step: Step, not_before: Timestamp, deadline: Option<Timestamp>| NextAction {
        step,
        not_before,
        deadline,
        late: deadline.is_some_and(|d| now > d),
        rule: v.rule.clone(),
        unverified: v.unverified,
    };
    let owing = case.arrears > Fen::ZERO;

    // Disconnected: reconnection within 24 h of full payment.
    if case.disconnected_at.is_some() {
        if case.reconnected_at.is_some() {
            return Ok(act(Step::Idle, now, None));
        }
        return Ok(match case.paid_in_full_at {
            Some(paid) if !owing => {
                let deadline = reconnection_deadline(v, paid);
                if case.reconnection_ordered_at.is_none() {
                    act(Step::OrderReconnection, paid, Some(deadline))
                } else {
                    act(Step::AwaitReconnection, paid, Some(deadline))
                }
            }
            _ => act(Step::AwaitPayment, now, None),
        });
    }

    let Some(due) = case.oldest_overdue_due.filter(|_| owing) else {
        // Nothing overdue: withdraw whatever is pending.
        let pending = case.notice.is_some() || case.disconnection_ordered_at.is_some();
        let step = if pending { Step::CancelDisconnection } else { Step::Idle };
        return Ok(act(step, now, None));
    };

    if case.disconnection_ordered_at.is_some() {
        return Ok(act(Step::AwaitDisconnection, now, None));
    }

    // Reminders first.
    let sent = case.reminders_sent.len();
    if let Some(at) = reminder_at(v, due, sent) {
        let after_last = case.reminders_sent.last().copied().unwrap_or(Timestamp::MIN);
        return Ok(act(Step::SendReminder { number: sent + 1 }, at.max(after_last), None));
    }

    // A notice in force: final reminder, then the order, before the notice goes stale.
    if let Some(n) = case.notice {
        let stale_at = latest_cut(v, n.served_at);
        let lead = final_reminder_lead(v, case.class);
        let reminded = lead.is_zero() || case.final_reminder_sent_at.is_some();
        let lapsed = if reminded { now > stale_at.max(n.planned_cut_at) } else { now > n.planned_cut_at }
            // A part payment can leave only newer arrears, not yet 30 days overdue at the cut.
            || n.planned_cut_at < disconnection_allowed_from(v, due);
        if !lapsed {
            if !reminded {
                let at = final_reminder_at(v, case.class, n.planned_cut_at);
                return Ok(act(
                    Step::SendFinalReminder { planned_cut_at: n.planned_cut_at },
                    at,
                    Some(n.planned_cut_at),
                ));
            }
            return Ok(act(Step::OrderDisconnection, n.planned_cut_at, Some(stale_at.max(n.planned_cut_at))));
        }
        // The notice lapsed unused: a new one is needed.
    }

    // Serve the notice so that the cut can fall on the first day allowed.
    let first_cut_day = beijing::date_of(disconnection_allowed_from(v, due));
    let earliest_serve = at_hour(add_days(first_cut_day, -notice_days(v, case.class)), v.reminder_hour);
    let after_reminders = case.reminders_sent.last().copied().unwrap_or(Timestamp::MIN);
    let not_before = earliest_serve.max(after_reminders);
    let served = not_before.max(now);
    Ok(act(
        Step::ServeNotice {
            planned_cut_at: planned_cut(v, case.class, due, served),
            copy_to_authority: case.important && v.copy_important_to_authority,
        },
        not_before,
        None,
    ))
}
