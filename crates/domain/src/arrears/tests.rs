use super::rules::builtin_text;
use super::*;
use jiff::civil::date;
use proptest::prelude::*;

fn bj(y: i16, m: i8, d: i8, h: i8, min: i8) -> Timestamp {
    beijing::instant(date(y, m, d).at(h, min, 0, 0)).unwrap()
}

fn v() -> &'static ArrearsVersion {
    ArrearsRules::builtin().version_on(date(2026, 1, 1)).unwrap()
}

fn next(case: &ArrearsCase, now: Timestamp) -> NextAction {
    next_action(ArrearsRules::builtin(), case, now).unwrap()
}

#[test]
fn builtin_rules_load() {
    let r = ArrearsRules::parse("arrears.toml", builtin_text()).expect("builtin arrears rules load");
    assert_eq!(&r, ArrearsRules::builtin());
    let v = v();
    assert_eq!(v.overdue_days_before_disconnection, 30);
    assert_eq!((v.residential_notice_days, v.other_notice_days, v.notice_max_days), (7, 3, 7));
    assert_eq!((v.residential_final_reminder_minutes, v.other_final_reminder_minutes), (30, 60));
    assert_eq!(v.reconnect_within_hours, 24);
    assert!(v.unverified);
}

/// Residential, 200.00 due 15 March 2026 (hand-worked):
/// reminders 16 Mar 09:00 and 30 Mar 09:00; cut allowed from 15 Apr 00:00 (31 days overdue);
/// notice served from 8 Apr 09:00 for a cut on 15 Apr 09:00; final reminder 08:30.
#[test]
fn residential_case_step_by_step() {
    let due = date(2026, 3, 15);
    let mut c = ArrearsCase::new(NoticeClass::Residential, Fen(20000), Some(due));
    assert_eq!(disconnection_allowed_from(v(), due), bj(2026, 4, 15, 0, 0));
    assert_eq!(overdue_days(due, date(2026, 4, 15)), 31);

    let a = next(&c, bj(2026, 3, 16, 8, 0));
    assert_eq!((a.step, a.not_before), (Step::SendReminder { number: 1 }, bj(2026, 3, 16, 9, 0)));
    c.reminders_sent.push(bj(2026, 3, 16, 9, 5));
    let a = next(&c, bj(2026, 3, 17, 8, 0));
    assert_eq!((a.step, a.not_before), (Step::SendReminder { number: 2 }, bj(2026, 3, 30, 9, 0)));
    c.reminders_sent.push(bj(2026, 3, 30, 9, 0));

    let a = next(&c, bj(2026, 4, 1, 10, 0));
    assert_eq!(a.not_before, bj(2026, 4, 8, 9, 0));
    assert_eq!(a.step, Step::ServeNotice { planned_cut_at: bj(2026, 4, 15, 9, 0), copy_to_authority: false });
    // Served late in the afternoon of 8 April: still a cut on 15 April 09:00.
    let served = bj(2026, 4, 8, 16, 40);
    let cut = planned_cut(v(), c.class, due, served);
    assert_eq!(cut, bj(2026, 4, 15, 9, 0));
    c.notice = Some(Notice { served_at: served, planned_cut_at: cut });
    assert!(check_notice(v(), c.class, due, &c.notice.unwrap()).is_ok());

    let a = next(&c, bj(2026, 4, 10, 0, 0));
    assert_eq!(a.step, Step::SendFinalReminder { planned_cut_at: cut });
    assert_eq!((a.not_before, a.deadline), (bj(2026, 4, 15, 8, 30), Some(cut)));
    c.final_reminder_sent_at = Some(bj(2026, 4, 15, 8, 30));
    let a = next(&c, bj(2026, 4, 15, 8, 31));
    assert_eq!((a.step, a.not_before), (Step::OrderDisconnection, cut));
    c.disconnection_ordered_at = Some(bj(2026, 4, 15, 9, 0));
    assert_eq!(next(&c, bj(2026, 4, 15, 9, 10)).step, Step::AwaitDisconnection);
    c.disconnected_at = Some(bj(2026, 4, 15, 10, 0));
    assert_eq!(next(&c, bj(2026, 4, 15, 11, 0)).step, Step::AwaitPayment);

    // A partial payment does not bring the power back.
    c.arrears = Fen(5000);
    assert_eq!(next(&c, bj(2026, 4, 15, 12, 0)).step, Step::AwaitPayment);
    // Paid in full at 14:20: reconnection order, deadline 14:20 the next day.
    c.arrears = Fen::ZERO;
    c.oldest_overdue_due = None;
    c.paid_in_full_at = Some(bj(2026, 4, 15, 14, 20));
    let a = next(&c, bj(2026, 4, 15, 14, 21));
    assert_eq!((a.step, a.deadline, a.late), (Step::OrderReconnection, Some(bj(2026, 4, 16, 14, 20)), false));
    c.reconnection_ordered_at = Some(bj(2026, 4, 15, 14, 25));
    let a = next(&c, bj(2026, 4, 16, 14, 21));
    assert_eq!((a.step, a.late), (Step::AwaitReconnection, true));
    c.reconnected_at = Some(bj(2026, 4, 15, 18, 0));
    assert_eq!(next(&c, bj(2026, 4, 16, 0, 0)).step, Step::Idle);
}

/// Other customer, due 15 March: notice 3 days ahead (served from 12 Apr 09:00), final reminder one
/// hour before the 15 Apr 09:00 cut; an important customer's notice goes to the authority too.
#[test]
fn other_customers_three_days_and_one_hour() {
    let due = date(2026, 3, 15);
    let mut c = ArrearsCase::new(NoticeClass::Other, Fen(1_000_000), Some(due));
    c.important = true;
    c.reminders_sent = vec![bj(2026, 3, 16, 9, 0), bj(2026, 3, 30, 9, 0)];
    let a = next(&c, bj(2026, 4, 1, 10, 0));
    assert_eq!(a.not_before, bj(2026, 4, 12, 9, 0));
    assert_eq!(a.step, Step::ServeNotice { planned_cut_at: bj(2026, 4, 15, 9, 0), copy_to_authority: true });
    // Served on 20 April (late): cut 23 April 09:00.
    let served = bj(2026, 4, 20, 11, 0);
    let cut = planned_cut(v(), NoticeClass::Other, due, served);
    assert_eq!(cut, bj(2026, 4, 23, 9, 0));
    c.notice = Some(Notice { served_at: served, planned_cut_at: cut });
    let a = next(&c, bj(2026, 4, 21, 0, 0));
    assert_eq!(a.not_before, bj(2026, 4, 23, 8, 0));
    assert_eq!(final_reminder_at(v(), NoticeClass::Other, cut), bj(2026, 4, 23, 8, 0));
    assert_eq!(NoticeClass::from(CustomerClass::IndustrialCommercial), NoticeClass::Other);
}

#[test]
fn payment_before_the_cut_cancels_and_lapsed_notices_are_served_again() {
    let due = date(2026, 3, 15);
    let mut c = ArrearsCase::new(NoticeClass::Residential, Fen(20000), Some(due));
    c.reminders_sent = vec![bj(2026, 3, 16, 9, 0), bj(2026, 3, 30, 9, 0)];
    c.notice = Some(Notice { served_at: bj(2026, 4, 8, 9, 0), planned_cut_at: bj(2026, 4, 15, 9, 0) });
    // The final reminder was never sent and the cut time passed: a new notice.
    let a = next(&c, bj(2026, 4, 15, 9, 1));
    assert_eq!(a.step.code(), "serve_notice");
    assert_eq!(a.step, Step::ServeNotice { planned_cut_at: bj(2026, 4, 22, 9, 0), copy_to_authority: false });
    // Reminded but not cut within 7 days of serving (by the end of 15 Apr's cut hours): a new notice.
    c.final_reminder_sent_at = Some(bj(2026, 4, 15, 8, 30));
    assert_eq!(next(&c, bj(2026, 4, 15, 16, 59)).step, Step::OrderDisconnection);
    assert_eq!(next(&c, bj(2026, 4, 15, 17, 1)).step.code(), "serve_notice");
    // Part paid, leaving only the April bill (due 15 April): the notice no longer holds.
    let mut part = c.clone();
    part.oldest_overdue_due = Some(date(2026, 4, 15));
    let a = next(&part, bj(2026, 4, 16, 0, 0));
    assert_eq!(a.step, Step::ServeNotice { planned_cut_at: bj(2026, 5, 16, 9, 0), copy_to_authority: false });
    assert_eq!(a.not_before, bj(2026, 5, 9, 9, 0));
    // Paid in full: withdraw.
    c.arrears = Fen::ZERO;
    c.oldest_overdue_due = None;
    assert_eq!(next(&c, bj(2026, 4, 14, 0, 0)).step, Step::CancelDisconnection);
    // Nothing pending and nothing owed: idle.
    let idle = ArrearsCase::new(NoticeClass::Residential, Fen::ZERO, None);
    assert_eq!(next(&idle, bj(2026, 4, 14, 0, 0)).step, Step::Idle);
    assert_eq!(Step::Idle.label().zh, "无需处理");
}

#[test]
fn notices_are_checked() {
    let due = date(2026, 3, 15);
    let served = bj(2026, 4, 8, 9, 0);
    let check = |cut| {
        check_notice(v(), NoticeClass::Residential, due, &Notice { served_at: served, planned_cut_at: cut })
    };
    assert!(check(bj(2026, 4, 15, 9, 0)).is_ok());
    assert!(check(bj(2026, 4, 15, 17, 0)).is_ok());
    let e = check(bj(2026, 4, 14, 10, 0)).unwrap_err();
    assert_eq!((e.field.as_str(), e.code), ("planned_cut_at", "too_early"));
    assert!(e.message.zh.contains("2026-04-15T09:00:00+08:00"));
    assert_eq!(check(bj(2026, 4, 16, 9, 0)).unwrap_err().code, "too_late");
    assert_eq!(check(bj(2026, 4, 15, 17, 30)).unwrap_err().code, "too_late");
    // Other customers: 3 days, but never before 30 days overdue.
    let e = check_notice(
        v(),
        NoticeClass::Other,
        due,
        &Notice { served_at: bj(2026, 4, 1, 9, 0), planned_cut_at: bj(2026, 4, 4, 9, 0) },
    )
    .unwrap_err();
    assert_eq!(e.code, "too_early");
    let ok = Notice { served_at: bj(2026, 4, 12, 9, 0), planned_cut_at: bj(2026, 4, 15, 12, 0) };
    assert!(check_notice(v(), NoticeClass::Other, due, &ok).is_ok());
    let night = Notice { served_at: bj(2026, 4, 12, 9, 0), planned_cut_at: bj(2026, 4, 16, 20, 0) };
    assert_eq!(check_notice(v(), NoticeClass::Other, due, &night).unwrap_err().code, "outside_hours");
}

#[test]
fn bad_files_name_the_key() {
    let e = ArrearsRules::parse(
        "a.toml",
        &builtin_text().replace("reminder_days_after_due = [1, 15]", "reminder_days_after_due = [15, 1]"),
    )
    .unwrap_err();
    assert_eq!((e.file.as_str(), e.field.as_str()), ("a.toml", "versions[0].reminder_days_after_due"));
    let e =
        ArrearsRules::parse("a.toml", &builtin_text().replace("notice_max_days = 7", "notice_max_days = 5"))
            .unwrap_err();
    assert_eq!(e.field, "versions[0].notice_max_days");
    let e =
        ArrearsRules::parse("a.toml", &builtin_text().replace("cut_until_hour = 17", "cut_until_hour = 8"))
            .unwrap_err();
    assert_eq!(e.field, "versions[0].cut_until_hour");
    let e = ArrearsRules::parse(
        "a.toml",
        &builtin_text().replace("other_notice_days = 3", "other_notice_dayz = 3"),
    )
    .unwrap_err();
    assert_eq!(e.field, "versions[0].other_notice_dayz");
    let e = ArrearsRules::parse(
        "a.toml",
        &builtin_text().replace("reconnect_within_hours = 24", "reconnect_within_hours = 0"),
    )
    .unwrap_err();
    assert_eq!(e.field, "versions[0].reconnect_within_hours");
    // No parameters in force before the first version.
    let c = ArrearsCase::new(NoticeClass::Other, Fen(1), Some(date(1990, 1, 1)));
    assert_eq!(
        next_action(ArrearsRules::builtin(), &c, bj(1990, 3, 1, 0, 0)).unwrap_err().field,
        "arrears_rules"
    );
}

proptest! {
    /// A notice served when the workflow says it may be, for the cut it computes, passes the
    /// notice check; the cut is never before the 30 days nor inside the notice period.
    #[test]
    fn computed_notices_are_lawful(
        due_offset in 0i64..3000,
        wait_minutes in 0i64..(60 * 24 * 20),
        other in proptest::bool::ANY,
    ) {
        let class = if other { NoticeClass::Other } else { NoticeClass::Residential };
        let due = add_days(date(2020, 1, 1), due_offset);
        let mut c = ArrearsCase::new(class, Fen(100), Some(due));
        c.reminders_sent = (0..v().reminder_days_after_due.len())
            .map(|i| reminder_at(v(), due, i).unwrap())
            .collect();
        let a = next(&c, beijing::start_of(due).unwrap());
        prop_assert_eq!(a.step.code(), "serve_notice");
        let served = a.not_before + SignedDuration::from_mins(wait_minutes);
        let cut = planned_cut(v(), class, due, served);
        let n = Notice { served_at: served, planned_cut_at: cut };
        prop_assert!(check_notice(v(), class, due, &n).is_ok());
        prop_assert!(cut >= disconnection_allowed_from(v(), due));
        prop_assert!(overdue_days(due, beijing::date_of(cut)) > 30);
        prop_assert!(beijing::date_of(cut) >= add_days(beijing::date_of(served), notice_days(v(), class)));
        prop_assert!(final_reminder_at(v(), class, cut) < cut);
    }

    /// Reconnection is always due exactly 24 hours after full payment.
    #[test]
    fn reconnection_within_24_hours(secs in 0i64..400_000_000) {
        let paid = bj(2020, 1, 1, 0, 0) + SignedDuration::from_secs(secs);
        let mut c = ArrearsCase::new(NoticeClass::Residential, Fen::ZERO, None);
        c.disconnected_at = Some(paid - SignedDuration::from_hours(1));
        c.paid_in_full_at = Some(paid);
        let a = next(&c, paid);
        prop_assert_eq!(a.step, Step::OrderReconnection);
        prop_assert_eq!(a.deadline.unwrap().duration_since(paid), SignedDuration::from_hours(24));
    }
}
