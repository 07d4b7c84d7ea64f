//! Hand-worked deadlines against the shipped rule sets and the 2026 holiday schedule.

use super::*;
use crate::service::taxonomy::SubType;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn book() -> RuleBook {
    RuleBook::builtin()
}

/// (stage code, due as RFC 3339 +08:00)
fn dues(stages: &[StageDeadline]) -> Vec<(&'static str, String)> {
    stages.iter().map(|d| (d.stage.code(), beijing::format_rfc3339(d.due))).collect()
}

fn q(
    kind: OrderKind,
    subtype: Option<SubType>,
    area: Option<ServiceArea>,
    channel: Option<Channel>,
    at: &str,
) -> DeadlineQuery {
    DeadlineQuery { kind, subtype, area, channel, accepted: ts(at) }
}

#[test]
fn fault_repair_accepted_at_23_50_on_a_holiday() {
    // Elapsed clocks ignore holidays and midnight: 23:50 + 5 min, + 45 min, then + 3 h from the
    // arrival deadline (current commitments: urban 45 min average, restoration 3 h average).
    let b = book();
    let d = b
        .deadlines(OrderKind::FaultRepair, None, Some(ServiceArea::Urban), ts("2026-10-01T23:50:00+08:00"))
        .unwrap();
    assert_eq!(
        dues(&d),
        [
            ("dispatch", "2026-10-01T23:55:00+08:00".to_string()),
            ("arrival", "2026-10-02T00:35:00+08:00".to_string()),
            ("restoration", "2026-10-02T03:35:00+08:00".to_string()),
        ]
    );
    assert_eq!(d[2].after, Some(Stage::Arrival));
    assert_eq!(d[0].basis, Basis::QuestionBank);
    let d = b
        .deadlines(OrderKind::FaultRepair, None, Some(ServiceArea::Rural), ts("2026-10-01T23:50:00+08:00"))
        .unwrap();
    assert_eq!(
        dues(&d)[1..],
        [
            ("arrival", "2026-10-02T01:20:00+08:00".into()),
            ("restoration", "2026-10-02T05:20:00+08:00".into())
        ]
    );
    // Remote: 2 h to arrive; the commitments give no restoration time for remote areas.
    let d = b
        .deadlines(OrderKind::FaultRepair, None, Some(ServiceArea::Remote), ts("2026-10-01T23:50:00+08:00"))
        .unwrap();
    assert_eq!(
        dues(&d),
        [("dispatch", "2026-10-01T23:55:00+08:00".into()), ("arrival", "2026-10-02T01:50:00+08:00".into())]
    );
}

#[test]
fn fault_repair_needs_the_area() {
    let e =
        book().deadlines(OrderKind::FaultRepair, None, None, ts("2026-03-02T10:00:00+08:00")).unwrap_err();
    assert_eq!((e.field.as_str(), e.code), ("area", "required"));
}

#[test]
fn complaint_across_national_day_golden_week() {
    // Accepted Wed 30 Sep 09:30. Contact: 24 h. Reply: 5 working days = Oct 8, 9, 10 (make-up
    // Saturday), 12, 13 → Tue 13 Oct 09:30. Call-back: 1 working day after the reply → Wed 14 Oct.
    let d = book().deadlines(OrderKind::Complaint, None, None, ts("2026-09-30T09:30:00+08:00")).unwrap();
    assert_eq!(
        dues(&d),
        [
            ("contact", "2026-10-01T09:30:00+08:00".to_string()),
            ("reply", "2026-10-13T09:30:00+08:00".to_string()),
            ("call_back", "2026-10-14T09:30:00+08:00".to_string()),
        ]
    );
    assert_eq!(d[1].clock, Clock::WorkingDays { days: 5 });
    assert_eq!(d[1].basis, Basis::Unverified);
}

#[test]
fn complaint_accepted_at_23_50_before_a_make_up_sunday() {
    // Fri 18 Sep 23:50. Reply: Sun 20 (make-up), Mon 21, Tue 22, Wed 23, Thu 24 → Thu 24 23:50.
    // Call-back 1 working day later: 25–27 Sep is Mid-Autumn → Mon 28 Sep 23:50.
    let d = book()
        .deadlines(OrderKind::Complaint, Some(SubType::Business), None, ts("2026-09-18T23:50:00+08:00"))
        .unwrap();
    assert_eq!(
        dues(&d),
        [
            ("contact", "2026-09-19T23:50:00+08:00".to_string()),
            ("reply", "2026-09-24T23:50:00+08:00".to_string()),
            ("call_back", "2026-09-28T23:50:00+08:00".to_string()),
        ]
    );
}

#[test]
fn escalated_channels_add_a_closing_deadline() {
    let b = book();
    // 12398: 10 working days from Wed 30 Sep: Oct 8, 9, 10, 12, 13, 14, 15, 16, 19, 20.
    let s = b
        .schedule(&q(
            OrderKind::Complaint,
            None,
            None,
            Some(Channel::Hotline12398),
            "2026-09-30T09:30:00+08:00",
        ))
        .unwrap();
    assert_eq!(dues(&s.stages).last().unwrap(), &("close", "2026-10-20T09:30:00+08:00".to_string()));
    assert_eq!(s.stages.len(), 4);
    // 12345: 7 calendar days. The report's own reply: 9 working days = Oct 8, 9, 10, 12, 13, 14,
    // 15, 16, 19.
    let s = b
        .schedule(&q(OrderKind::Report, None, None, Some(Channel::Hotline12345), "2026-09-30T09:30:00+08:00"))
        .unwrap();
    assert_eq!(
        dues(&s.stages),
        [("reply", "2026-10-19T09:30:00+08:00".into()), ("close", "2026-10-07T09:30:00+08:00".into())]
    );
    // Other channels: no closing stage.
    let s = b
        .schedule(&q(OrderKind::Complaint, None, None, Some(Channel::Counter), "2026-09-30T09:30:00+08:00"))
        .unwrap();
    assert!(s.stages.iter().all(|d| d.stage != Stage::Close));
}

#[test]
fn report_reply_in_9_working_days() {
    // Mon 27 Apr 2026 10:00: Apr 28, 29, 30, (May 1–5 off), May 6, 7, 8, 9 (make-up Sat), 11, 12.
    let d = book()
        .deadlines(OrderKind::Report, Some(SubType::PowerTheft), None, ts("2026-04-27T10:00:00+08:00"))
        .unwrap();
    assert_eq!(dues(&d), [("reply", "2026-05-12T10:00:00+08:00".into())]);
}

#[test]
fn service_requests_by_sub_type() {
    let b = book();
    // Reconnection: 24 h, then the reply 1 working day after the reconnection deadline.
    let d = b
        .deadlines(
            OrderKind::ServiceRequest,
            Some(SubType::Reconnection),
            None,
            ts("2026-09-30T17:00:00+08:00"),
        )
        .unwrap();
    assert_eq!(
        dues(&d),
        [("reconnection", "2026-10-01T17:00:00+08:00".into()), ("reply", "2026-10-08T17:00:00+08:00".into())]
    );
    // Meter abnormal: 4 working days from Fri 13 Feb 2026: Sat 14 (make-up), (15–23 Spring
    // Festival), Tue 24, Wed 25, Thu 26.
    let d = b
        .deadlines(
            OrderKind::ServiceRequest,
            Some(SubType::MeterAbnormal),
            None,
            ts("2026-02-13T08:00:00+08:00"),
        )
        .unwrap();
    assert_eq!(dues(&d), [("reply", "2026-02-26T08:00:00+08:00".into())]);
    // Appliance damage: on site within 24 h.
    let d = b
        .deadlines(
            OrderKind::ServiceRequest,
            Some(SubType::ApplianceDamage),
            None,
            ts("2026-02-16T08:00:00+08:00"),
        )
        .unwrap();
    assert_eq!(dues(&d), [("arrival", "2026-02-17T08:00:00+08:00".into())]);
}

#[test]
fn unknown_or_missing_rules_name_the_field() {
    let b = book();
    let at = ts("2026-03-02T10:00:00+08:00");
    let e = b.deadlines(OrderKind::ServiceRequest, None, None, at).unwrap_err();
    assert_eq!((e.field.as_str(), e.code), ("subtype", "required"));
    assert!(e.message.en.contains("reconnection"), "{}", e.message.en);
    let e = b.deadlines(OrderKind::ServiceRequest, Some(SubType::EvChargingBooking), None, at).unwrap_err();
    assert_eq!((e.field.as_str(), e.code), ("subtype", "no_rule"));
    assert!(e.message.en.contains("sgcc-current"), "{}", e.message.en);
    let e = b.deadlines(OrderKind::Opinion, None, None, at).unwrap_err();
    assert_eq!((e.field.as_str(), e.code), ("kind", "no_rule"));
    let e = b.deadlines(OrderKind::Complaint, Some(SubType::Reconnection), None, at).unwrap_err();
    assert_eq!((e.field.as_str(), e.code), ("subtype", "invalid"));
    let e = b.deadlines(OrderKind::Complaint, None, None, ts("2011-10-12T23:59:00+08:00")).unwrap_err();
    assert_eq!((e.field.as_str(), e.code), ("accepted", "no_rule_set"));
    // A working-day clock beyond the calendar's years.
    let e = b.deadlines(OrderKind::Complaint, None, None, ts("2026-12-30T10:00:00+08:00")).unwrap_err();
    assert_eq!(e.code, "calendar_missing");
}

#[test]
fn the_rule_set_is_chosen_by_the_time_of_acceptance() {
    let b = book();
    // Beijing midnight 2020-01-01 is 2019-12-31T16:00Z. One second before: the 2011 set, which
    // has only the arrival commitment; at midnight: the current set.
    let before = b
        .schedule(&q(OrderKind::FaultRepair, None, Some(ServiceArea::Urban), None, "2019-12-31T15:59:59Z"))
        .unwrap();
    assert_eq!(before.rule_set, "sgcc-2011");
    assert_eq!(dues(&before.stages), [("arrival", "2020-01-01T00:44:59+08:00".into())]);
    let after = b
        .schedule(&q(OrderKind::FaultRepair, None, Some(ServiceArea::Urban), None, "2019-12-31T16:00:00Z"))
        .unwrap();
    assert_eq!(after.rule_set, "sgcc-current");
    assert_eq!(after.stages.len(), 3);

    // Complaints under 2011 count working days too; give the book a (test) 2019 calendar:
    // National Day 1–7 Oct 2019 with make-up days Sun 29 Sep and Sat 12 Oct.
    let mut cal = Calendar::builtin();
    cal.add_file(
        "2019.toml",
        "year = 2019\nsource = \"test data\"\n[[holiday]]\nname_zh = \"国庆节\"\nname_en = \"National Day\"\n\
         from = 2019-10-01\nto = 2019-10-07\nmakeup_workdays = [2019-09-29, 2019-10-12]\n",
    )
    .unwrap();
    let b = book().with_calendar(cal);
    // Mon 30 Sep 2019 10:00. Contact: 1 working day → Tue 8 Oct. Reply: 7 working days → Oct 8, 9,
    // 10, 11, 12 (make-up Saturday), 14, 15.
    let s = b.schedule(&q(OrderKind::Complaint, None, None, None, "2019-09-30T10:00:00+08:00")).unwrap();
    assert_eq!(s.rule_set, "sgcc-2011");
    assert_eq!(
        dues(&s.stages),
        [("contact", "2019-10-08T10:00:00+08:00".into()), ("reply", "2019-10-15T10:00:00+08:00".into())]
    );
    // The same complaint in 2026 is under the current set: 24 h and 5 working days.
    let s = b.schedule(&q(OrderKind::Complaint, None, None, None, "2026-09-30T09:30:00+08:00")).unwrap();
    assert_eq!(s.rule_set, "sgcc-current");
    assert_eq!(s.stages[0].clock, Clock::Elapsed { minutes: 24 * 60 });
}

#[test]
fn json_output_for_the_cli() {
    let s = book()
        .schedule(&q(OrderKind::Complaint, Some(SubType::Service), None, None, "2026-09-30T01:30:00Z"))
        .unwrap();
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["rule_set"], "sgcc-current");
    assert_eq!(v["kind"], "complaint");
    assert_eq!(v["subtype"], "service");
    assert_eq!(v["accepted"], "2026-09-30T09:30:00+08:00");
    assert_eq!(v["effective_from"], "2020-01-01");
    assert_eq!(v["stages"][1]["stage"], "reply");
    assert_eq!(v["stages"][1]["due"], "2026-10-13T09:30:00+08:00");
    assert_eq!(v["stages"][1]["clock"], serde_json::json!({"type": "working_days", "days": 5}));
    assert_eq!(v["stages"][1]["basis"], "unverified");
    assert_eq!(v["stages"][0]["clock"], serde_json::json!({"type": "elapsed", "minutes": 1440}));
    assert_eq!(v["stages"][0]["name"]["zh"], "联系客户");
}

#[test]
fn every_builtin_combination_either_works_or_says_why() {
    let b = book();
    let areas = [None, Some(ServiceArea::Urban), Some(ServiceArea::Rural), Some(ServiceArea::Remote)];
    let channels = std::iter::once(None).chain(Channel::ALL.iter().copied().map(Some)).collect::<Vec<_>>();
    for at in ["2015-06-01T10:00:00+08:00", "2026-06-01T10:00:00+08:00"] {
        let mut ok = 0;
        for kind in OrderKind::ALL.iter().copied() {
            let subtypes =
                std::iter::once(None).chain(kind.subtypes().into_iter().map(Some)).collect::<Vec<_>>();
            for subtype in &subtypes {
                for area in areas {
                    for channel in &channels {
                        match b.schedule(&q(kind, *subtype, area, *channel, at)) {
                            Ok(s) => {
                                ok += 1;
                                assert!(!s.stages.is_empty());
                                assert!(s.stages.iter().all(|d| d.due > s.accepted));
                            }
                            // 2015 has no calendar: working-day clocks cannot be counted.
                            Err(e) => assert!(
                                ["required", "no_rule", "calendar_missing"].contains(&e.code),
                                "{kind:?} {subtype:?} {area:?} {channel:?}: {e}"
                            ),
                        }
                    }
                }
            }
        }
        assert!(ok > 0, "{at}");
    }
}

const MINI: &str = "id = \"bureau-2027\"\nname_zh = \"本局2027\"\nname_en = \"Bureau 2027\"\neffective_from = 2027-01-01\nsource = \"test\"\n";

fn bad(text: &str) -> FieldError {
    let mut b = book();
    let e = b.add_file("x.toml", text).unwrap_err();
    assert_eq!(b.sets().len(), 2, "a failed file leaves the book as it was");
    e
}

#[test]
fn rule_file_errors_name_the_file_and_field() {
    let rule = |body: &str| format!("{MINI}[[rule]]\nkind = \"complaint\"\n[[rule.stage]]\n{body}");
    let ok = "stage = \"reply\"\nclock = \"working_days\"\ndays = 5\nbasis = \"verified\"\nsource = \"s\"\n";
    let mut b = book();
    b.add_file("x.toml", &rule(ok)).unwrap();
    assert_eq!(b.sets().len(), 3);

    let e = bad(&rule(&ok.replace("reply", "answer")));
    assert_eq!((e.field.as_str(), e.code), ("x.toml: rule[0].stage[0].stage", "invalid"));
    assert!(e.message.en.contains("call_back"));
    let e = bad(&rule(&ok.replace("working_days", "fortnights")));
    assert_eq!(e.field, "x.toml: rule[0].stage[0].clock");
    let e = bad(&rule(&ok.replace("days = 5", "minutes = 5")));
    assert_eq!(e.field, "x.toml: rule[0].stage[0].minutes");
    let e = bad(&rule(&ok.replace("days = 5", "days = 0")));
    assert_eq!((e.field.as_str(), e.code), ("x.toml: rule[0].stage[0].days", "out_of_range"));
    let e = bad(&rule(&ok.replace("verified", "probably")));
    assert_eq!(e.field, "x.toml: rule[0].stage[0].basis");
    let e = bad(&rule(&format!("{ok}after = \"reply\"\n")));
    assert_eq!(e.field, "x.toml: rule[0].stage[0].after");
    let e = bad(&rule(&format!("{ok}colour = 1\n")));
    assert_eq!((e.field.as_str(), e.code), ("x.toml: rule[0].stage[0].colour", "unknown"));
    let e = bad(&format!("{MINI}[[rule]]\nkind = \"complaint\"\nsubtype = \"praise\"\n[[rule.stage]]\n{ok}"));
    assert_eq!((e.field.as_str(), e.code), ("x.toml: rule[0].subtype", "invalid"));
    let e = bad(&format!("{MINI}[[rule]]\nkind = \"complaints\"\n"));
    assert_eq!(e.field, "x.toml: rule[0].kind");
    let e = bad(&format!("{MINI}[[rule]]\nkind = \"complaint\"\n"));
    assert_eq!((e.field.as_str(), e.code), ("x.toml: rule[0].stage", "required"));
    let two = format!("{}[[rule]]\nkind = \"complaint\"\n[[rule.stage]]\n{ok}", rule(ok));
    let e = bad(&two);
    assert_eq!((e.field.as_str(), e.code), ("x.toml: rule[1].kind", "duplicate"));
    let e = bad(&rule(&format!("{ok}[[rule.stage]]\n{ok}")));
    assert_eq!((e.field.as_str(), e.code), ("x.toml: rule[0].stage[1].stage", "duplicate"));
    let e = bad(&MINI.replace("2027-01-01", "2020-01-01"));
    assert_eq!((e.field.as_str(), e.code), ("x.toml: effective_from", "duplicate"));
    let e = bad(&MINI.replace("2027-01-01", "\"January\""));
    assert_eq!(e.field, "x.toml: effective_from");
    // An `after` that names a stage this order does not have is reported when computing.
    let mut b = book();
    b.add_file("x.toml", &rule(&format!("{}after = \"arrival\"\n", ok.replace("reply", "call_back"))))
        .unwrap();
    let mut cal = Calendar::builtin();
    cal.add_file("2027.toml", "year = 2027\nsource = \"t\"\n").unwrap();
    let e = b
        .with_calendar(cal)
        .deadlines(OrderKind::Complaint, None, None, ts("2027-03-01T10:00:00+08:00"))
        .unwrap_err();
    assert_eq!(e.field, "x.toml: stage call_back.after");
}

#[test]
fn an_operator_directory_adds_and_replaces_sets() {
    let dir = std::env::temp_dir().join(format!("bureau-sla-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The bureau assesses complaints against the internal 4 working days: replace the current set
    // by one with the same id.
    let current = include_str!("../../../../../data/service-levels/sgcc-current.toml")
        .replace("days = 5\nbasis = \"unverified\"", "days = 4\nbasis = \"verified\"");
    std::fs::write(dir.join("sgcc-current.toml"), current).unwrap();
    let b = RuleBook::load_dir(&dir).unwrap();
    assert_eq!(b.sets().len(), 2);
    let d = b.deadlines(OrderKind::Complaint, None, None, ts("2026-09-30T09:30:00+08:00")).unwrap();
    assert_eq!(dues(&d)[1], ("reply", "2026-10-12T09:30:00+08:00".into()));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(RuleBook::load_dir(&dir).unwrap_err().code, "io");
}

#[test]
fn a_schedule_moved_by_pauses() {
    let b = book();
    // Fault repair, urban, accepted 23:50; the customer asked the crew to wait 30 min (00:10–00:40):
    // dispatch (due 23:55) is unmoved, arrival 00:35 → 01:05, restoration 03:35 → 04:05.
    let s = b
        .schedule(&q(
            OrderKind::FaultRepair,
            None,
            Some(ServiceArea::Urban),
            None,
            "2026-10-01T23:50:00+08:00",
        ))
        .unwrap();
    let p = crate::service::pause::Pause {
        from: ts("2026-10-02T00:10:00+08:00"),
        to: ts("2026-10-02T00:40:00+08:00"),
    };
    let moved = s.with_pauses(&[p], b.calendar()).unwrap();
    assert_eq!(
        dues(&moved.stages),
        [
            ("dispatch", "2026-10-01T23:55:00+08:00".to_string()),
            ("arrival", "2026-10-02T01:05:00+08:00".to_string()),
            ("restoration", "2026-10-02T04:05:00+08:00".to_string()),
        ]
    );
    assert_eq!(moved.rule_set, s.rule_set);
}
