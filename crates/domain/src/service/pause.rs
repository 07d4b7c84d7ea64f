//! Stopping the clock (挂起) while the order waits for the customer or a third party.
//!
//! Pausing is the help-desk feature users ask for most (osTicket #3034, open since 2016; Odoo's
//! "excluding stages"; Zammad's pending states: service-rules.md §3). No State Grid text on how a
//! pause moves a 95598 deadline was found, so the rule below is **our design choice**:
//!
//! **The clock stops during a pause and the time that was left is carried over.** When a pause
//! starts at `p` before the deadline `due`, the time left is measured from `p` to `due`; when it
//! ends at `r`, the new deadline is the instant at which that much time has passed again after `r`.
//!
//! - Elapsed clocks measure wall-clock time, so the deadline moves by exactly the paused duration.
//! - Working-day clocks measure **working time**: the part of an interval that falls on working
//!   days (midnight to midnight, Beijing time). A pause over a weekend or a holiday therefore moves
//!   nothing (the clock was not running anyway); a pause from Friday 17:00 to Monday 09:00 moves the
//!   deadline by 7 + 9 = 16 working hours. This agrees with the reading of "N working days" as the
//!   same time of day on the N-th working day: an unpaused clock that starts on a working day
//!   consumes exactly N × 24 working hours.
//!   Rejected alternatives: moving by the wall-clock pause (a pause over a golden week would add
//!   7 days of credit the clock never had), or adding one working day per working day touched (a
//!   one-hour pause would cost a whole day).
//! - A pause that starts at or after the (already moved) deadline does not count: the deadline had
//!   passed. Time paused before the clock started (before acceptance) does not count.
//! - Overlapping pauses are merged, so overlapping time is not counted twice.

use crate::calendar::Calendar;
use crate::error::FieldError;
use crate::service::sla::{Clock, StageDeadline};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

/// Why the clock stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// 等待客户: the customer is not available, must supply documents, asked for a later visit.
    WaitingForCustomer,
    /// 等待第三方: another party (the government, a property manager, the customer's electrician).
    WaitingForThirdParty,
}

/// A closed interval during which the clock stood still. An ongoing pause has no end yet: to see
/// where the deadline would be if it ended now, close it at "now".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Pause {
    #[serde(serialize_with = "crate::calendar::beijing::serialize")]
    pub from: Timestamp,
    #[serde(serialize_with = "crate::calendar::beijing::serialize")]
    pub to: Timestamp,
}

/// A deadline moved by pauses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moved {
    pub due: Timestamp,
    /// The clock time the pauses took: wall-clock for elapsed clocks, working time for
    /// working-day clocks.
    pub paused: SignedDuration,
}

/// Sorts, checks and merges pauses. Errors name `pauses[i]` (in the caller's order).
pub fn merge(pauses: &[Pause]) -> Result<Vec<Pause>, FieldError> {
    for (i, p) in pauses.iter().enumerate() {
        if p.to < p.from {
            return Err(FieldError::new(
                &format!("pauses[{i}].to"),
                "invalid",
                "挂起的结束时间早于开始时间",
                "a pause ends before it starts",
            ));
        }
    }
    let mut sorted: Vec<Pause> = pauses.to_vec();
    sorted.sort_by_key(|p| p.from);
    let mut merged: Vec<Pause> = Vec::with_capacity(sorted.len());
    for p in sorted {
        match merged.last_mut() {
            Some(last) if p.from <= last.to => last.to = last.to.max(p.to),
            _ => merged.push(p),
        }
    }
    Ok(merged)
}

/// Moves the deadline `due` of a clock that started at `start` by the pauses (see the module doc).
pub fn apply_pauses(
    clock: Clock,
    start: Timestamp,
    due: Timestamp,
    pauses: &[Pause],
    calendar: &Calendar,
) -> Result<Moved, FieldError> {
    let measure = |a: Timestamp, b: Timestamp| -> Result<SignedDuration, FieldError> {
        if clock.is_working_days() {
            calendar.working_time_between(a, b)
        } else {
            Ok(if b > a { b.duration_since(a) } else { SignedDuration::ZERO })
        }
    };
    let advance = |t: Timestamp, d: SignedDuration| -> Result<Timestamp, FieldError> {
        if clock.is_working_days() {
            calendar.advance_working_time(t, d)
        } else {
            t.checked_add(d).map_err(|e| {
                FieldError::new(
                    "pauses",
                    "out_of_range",
                    format!("时间超出范围：{e}"),
                    format!("time out of range: {e}"),
                )
            })
        }
    };
    let mut due = due;
    let mut paused = SignedDuration::ZERO;
    for p in merge(pauses)? {
        let from = p.from.max(start);
        if p.to <= from {
            continue; // entirely before the clock started
        }
        if from >= due {
            break; // the deadline had already passed; later pauses start later still
        }
        let left = measure(from, due)?;
        paused += measure(from, p.to)?;
        due = advance(p.to, left)?;
    }
    Ok(Moved { due, paused })
}

/// Moves every stage deadline of an order by its pauses. Each stage is moved on its own clock
/// from acceptance; a stage that starts after another (restoration after arrival) is moved by
/// the pauses before its own deadline, which for elapsed clocks is the same shift as its anchor's
/// plus any pause in between.
pub fn apply_pauses_to_all(
    stages: &[StageDeadline],
    accepted: Timestamp,
    pauses: &[Pause],
    calendar: &Calendar,
) -> Result<Vec<StageDeadline>, FieldError> {
    stages
        .iter()
        .map(|d| {
            let moved = apply_pauses(d.clock, accepted, d.due, pauses, calendar)?;
            Ok(StageDeadline { due: moved.due, ..d.clone() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::beijing::format_rfc3339;
    use crate::service::sla::RuleBook;
    use crate::service::taxonomy::OrderKind;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn p(a: &str, b: &str) -> Pause {
        Pause { from: ts(a), to: ts(b) }
    }

    const ELAPSED: Clock = Clock::Elapsed { minutes: 24 * 60 };
    const FIVE_WD: Clock = Clock::WorkingDays { days: 5 };

    #[test]
    fn elapsed_clock_moves_by_the_paused_duration() {
        let cal = Calendar::builtin();
        let start = ts("2026-03-02T10:00:00+08:00");
        let due = ts("2026-03-03T10:00:00+08:00");
        // Paused 2 h 30 min in the afternoon: due 12:30 the next day.
        let m = apply_pauses(
            ELAPSED,
            start,
            due,
            &[p("2026-03-02T14:00:00+08:00", "2026-03-02T16:30:00+08:00")],
            &cal,
        )
        .unwrap();
        assert_eq!(format_rfc3339(m.due), "2026-03-03T12:30:00+08:00");
        assert_eq!(m.paused, SignedDuration::from_mins(150));
        // Two overlapping pauses count once: 14:00–16:00 and 15:00–17:00 = 3 h.
        let m = apply_pauses(
            ELAPSED,
            start,
            due,
            &[
                p("2026-03-02T15:00:00+08:00", "2026-03-02T17:00:00+08:00"),
                p("2026-03-02T14:00:00+08:00", "2026-03-02T16:00:00+08:00"),
            ],
            &cal,
        )
        .unwrap();
        assert_eq!(format_rfc3339(m.due), "2026-03-03T13:00:00+08:00");
        // A pause that begins after the deadline changes nothing.
        let m = apply_pauses(
            ELAPSED,
            start,
            due,
            &[p("2026-03-03T11:00:00+08:00", "2026-03-03T15:00:00+08:00")],
            &cal,
        )
        .unwrap();
        assert_eq!(m.due, due);
        // A pause that begins before the deadline and would have missed it still counts in full;
        // a second pause that begins after the original deadline but before the moved one counts.
        let m = apply_pauses(
            ELAPSED,
            start,
            due,
            &[
                p("2026-03-03T09:00:00+08:00", "2026-03-03T11:00:00+08:00"),
                p("2026-03-03T11:30:00+08:00", "2026-03-03T12:00:00+08:00"),
            ],
            &cal,
        )
        .unwrap();
        assert_eq!(format_rfc3339(m.due), "2026-03-03T12:30:00+08:00");
        // Time paused before acceptance does not count.
        let m = apply_pauses(
            ELAPSED,
            start,
            due,
            &[p("2026-03-02T08:00:00+08:00", "2026-03-02T11:00:00+08:00")],
            &cal,
        )
        .unwrap();
        assert_eq!(format_rfc3339(m.due), "2026-03-03T11:00:00+08:00");
    }

    #[test]
    fn working_day_clock_counts_only_paused_working_time() {
        let cal = Calendar::builtin();
        // Complaint accepted Mon 2 Mar 2026 10:00, reply in 5 working days: Mon 9 Mar 10:00.
        let start = ts("2026-03-02T10:00:00+08:00");
        let due = cal.add_working_days_at(start, 5).unwrap();
        assert_eq!(format_rfc3339(due), "2026-03-09T10:00:00+08:00");
        // Waiting for the customer Fri 6 Mar 17:00 → Mon 9 Mar 09:00: 7 h (Fri) + 9 h (Mon) of
        // working time. Left when the pause began: 7 h (Fri) + 10 h (Mon to 10:00) = 17 h. From
        // Mon 09:00: 15 h to Monday midnight, then the last 2 h on Tuesday → Tue 10 Mar 02:00.
        let m = apply_pauses(
            FIVE_WD,
            start,
            due,
            &[p("2026-03-06T17:00:00+08:00", "2026-03-09T09:00:00+08:00")],
            &cal,
        )
        .unwrap();
        assert_eq!(m.paused, SignedDuration::from_hours(16));
        assert_eq!(format_rfc3339(m.due), "2026-03-10T02:00:00+08:00");
        // A pause over the weekend only moves nothing.
        let m = apply_pauses(
            FIVE_WD,
            start,
            due,
            &[p("2026-03-07T08:00:00+08:00", "2026-03-08T20:00:00+08:00")],
            &cal,
        )
        .unwrap();
        assert_eq!((m.due, m.paused), (due, SignedDuration::ZERO));
        // One hour on a working day moves it one hour.
        let m = apply_pauses(
            FIVE_WD,
            start,
            due,
            &[p("2026-03-03T14:00:00+08:00", "2026-03-03T15:00:00+08:00")],
            &cal,
        )
        .unwrap();
        assert_eq!(format_rfc3339(m.due), "2026-03-09T11:00:00+08:00");
    }

    #[test]
    fn a_pause_into_golden_week_carries_the_remaining_working_time_over() {
        let cal = Calendar::builtin();
        let b = RuleBook::builtin();
        // Complaint accepted Thu 24 Sep 2026 09:30; reply due 5 working days later: Sep 28, 29, 30,
        // Oct 8, 9 → Fri 9 Oct 09:30.
        let accepted = ts("2026-09-24T09:30:00+08:00");
        let d = b.deadlines(OrderKind::Complaint, None, None, accepted).unwrap();
        assert_eq!(format_rfc3339(d[1].due), "2026-10-09T09:30:00+08:00");
        // Paused Tue 29 Sep 12:00 → Thu 8 Oct 12:00 (waiting for the customer, who was away).
        // Working time paused: Sep 29 12 h + Sep 30 24 h + Oct 8 12 h = 48 h. Left at the pause:
        // Sep 29 12 h + Sep 30 24 h + Oct 8 24 h + Oct 9 9.5 h = 69.5 h. From Oct 8 12:00: Oct 8
        // 12 h, Oct 9 24 h, Oct 10 (make-up Saturday) 24 h, then 9.5 h on Mon 12 Oct → 09:30.
        let pauses = [p("2026-09-29T12:00:00+08:00", "2026-10-08T12:00:00+08:00")];
        let moved = apply_pauses_to_all(&d, accepted, &pauses, &cal).unwrap();
        assert_eq!(format_rfc3339(moved[1].due), "2026-10-12T09:30:00+08:00");
        // The contact stage (24 h elapsed, due Fri 25 Sep 09:30) was due before the pause: unmoved.
        assert_eq!(moved[0].due, d[0].due);
        // The call-back (1 working day after the reply deadline) moves with it: Tue 13 Oct.
        assert_eq!(format_rfc3339(moved[2].due), "2026-10-13T09:30:00+08:00");
    }

    #[test]
    fn bad_pauses_are_refused() {
        let cal = Calendar::builtin();
        let t = ts("2026-03-02T10:00:00+08:00");
        let e = apply_pauses(
            ELAPSED,
            t,
            t,
            &[
                p("2026-03-02T09:00:00+08:00", "2026-03-02T11:00:00+08:00"),
                p("2026-03-02T12:00:00+08:00", "2026-03-02T11:00:00+08:00"),
            ],
            &cal,
        )
        .unwrap_err();
        assert_eq!(e.field, "pauses[1].to");
        assert_eq!(merge(&[]).unwrap(), []);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn base() -> Timestamp {
        "2026-03-02T10:00:00+08:00".parse().unwrap()
    }

    fn pauses() -> impl Strategy<Value = Vec<Pause>> {
        prop::collection::vec((0i64..20 * 24 * 60, 0i64..3 * 24 * 60), 0..5).prop_map(|v| {
            v.into_iter()
                .map(|(start, len)| {
                    let from = base().checked_add(SignedDuration::from_mins(start)).unwrap();
                    Pause { from, to: from.checked_add(SignedDuration::from_mins(len)).unwrap() }
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn pauses_never_bring_a_deadline_forward_and_the_clock_time_is_kept(ps in pauses(), days in 1u32..10, elapsed in any::<bool>()) {
            let cal = Calendar::builtin();
            let clock = if elapsed { Clock::Elapsed { minutes: days * 24 * 60 } } else { Clock::WorkingDays { days } };
            let due = clock.due(base(), &cal).unwrap();
            let moved = apply_pauses(clock, base(), due, &ps, &cal).unwrap();
            prop_assert!(moved.due >= due);
            // The clock time that ran outside pauses equals the limit: measure it.
            let merged = merge(&ps).unwrap();
            let measure = |a: Timestamp, b: Timestamp| if elapsed { b.duration_since(a).max(SignedDuration::ZERO) } else { cal.working_time_between(a, b).unwrap() };
            let mut paused = SignedDuration::ZERO;
            for p in &merged {
                let (a, b) = (p.from.max(base()), p.to.min(moved.due));
                if a < b {
                    paused += measure(a, b);
                }
            }
            prop_assert_eq!(measure(base(), moved.due) - paused, measure(base(), due));
            prop_assert_eq!(paused, moved.paused);
        }
    }
}
