//! Hand-worked cases against the 2026 schedule (国务院办公厅关于2026年部分节假日安排的通知,
//! 2025-11-04; see data/calendars/2026.toml).

use super::*;
use jiff::civil::date;

fn cal() -> Calendar {
    Calendar::builtin()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn builtin_2026_is_verified_and_complete() {
    let c = cal();
    assert_eq!(c.years().collect::<Vec<_>>(), vec![2026]);
    let s = c.schedule(2026).unwrap();
    assert!(s.verified);
    assert_eq!(s.holidays.len(), 7);
    // 2026 has 365 days: 104 weekend days (Jan 1 is a Thursday, so 52 Sat + 52 Sun); the notice
    // adds 6 make-up working days. Days off: New Year 3, Spring 9, Qingming 3, Labour 5, Dragon
    // Boat 3, Mid-Autumn 3, National 7 = 33, of which 14 fall on weekends.
    let mut working = 0;
    let mut d = date(2026, 1, 1);
    while d.year() == 2026 {
        if c.is_working_day(d).unwrap() {
            working += 1;
        }
        d = d.tomorrow().unwrap();
    }
    let weekend_days_off = {
        let mut n = 0;
        for h in &s.holidays {
            let mut d = h.from;
            while d <= h.to {
                if is_weekend(d) {
                    n += 1;
                }
                d = d.tomorrow().unwrap();
            }
        }
        n
    };
    // Weekend days inside holidays: Jan 3; Feb 15, 21, 22; Apr 4, 5; May 2, 3; Jun 20, 21;
    // Sep 26, 27; Oct 3, 4.
    assert_eq!(weekend_days_off, 14);
    assert_eq!(working, 365 - 104 - (33 - 14) + 6);
    assert_eq!(working, 248);
}

#[test]
fn day_kinds_around_national_day() {
    let c = cal();
    assert_eq!(c.day_kind(date(2026, 9, 30)).unwrap(), DayKind::Workday);
    assert_eq!(c.day_kind(date(2026, 10, 1)).unwrap(), DayKind::Holiday);
    assert_eq!(c.day_kind(date(2026, 10, 3)).unwrap(), DayKind::Holiday); // a Saturday inside the holiday
    assert_eq!(c.day_kind(date(2026, 10, 7)).unwrap(), DayKind::Holiday); // a Wednesday
    assert_eq!(c.day_kind(date(2026, 10, 8)).unwrap(), DayKind::Workday);
    assert_eq!(c.day_kind(date(2026, 10, 10)).unwrap(), DayKind::MakeUpWorkday); // Saturday
    assert_eq!(c.day_kind(date(2026, 10, 11)).unwrap(), DayKind::Weekend);
    assert_eq!(c.day_kind(date(2026, 9, 20)).unwrap(), DayKind::MakeUpWorkday); // Sunday
    assert_eq!(c.day_kind(date(2026, 9, 19)).unwrap(), DayKind::Weekend);
    assert_eq!(c.holiday_of(date(2026, 9, 20)).unwrap().name.zh, "国庆节");
    assert_eq!(c.holiday_of(date(2026, 2, 15)).unwrap().name.en, "Spring Festival");
    assert!(c.holiday_of(date(2026, 3, 3)).is_none());
}

#[test]
fn every_listed_make_up_day_is_a_working_weekend_day() {
    let c = cal();
    for d in [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ] {
        assert!(is_weekend(d), "{d}");
        assert!(c.is_working_day(d).unwrap(), "{d}");
    }
}

#[test]
fn adding_working_days_skips_golden_week_and_counts_make_up_saturday() {
    let c = cal();
    // Wed 30 Sep + 1 → Thu 8 Oct (1–7 Oct off).
    assert_eq!(c.add_working_days(date(2026, 9, 30), 1).unwrap(), date(2026, 10, 8));
    // + 3 → Sat 10 Oct, a make-up working day.
    assert_eq!(c.add_working_days(date(2026, 9, 30), 3).unwrap(), date(2026, 10, 10));
    // + 5 → Tue 13 Oct (8, 9, 10, 12, 13; Sun 11 is off).
    assert_eq!(c.add_working_days(date(2026, 9, 30), 5).unwrap(), date(2026, 10, 13));
    // From a holiday day: Fri 2 Oct + 1 → Thu 8 Oct.
    assert_eq!(c.add_working_days(date(2026, 10, 2), 1).unwrap(), date(2026, 10, 8));
    // Fri 18 Sep + 1 → Sun 20 Sep (make-up day), + 2 → Mon 21 Sep.
    assert_eq!(c.add_working_days(date(2026, 9, 18), 1).unwrap(), date(2026, 9, 20));
    assert_eq!(c.add_working_days(date(2026, 9, 18), 2).unwrap(), date(2026, 9, 21));
    // An ordinary weekend: Fri 6 Mar + 1 → Mon 9 Mar.
    assert_eq!(c.add_working_days(date(2026, 3, 6), 1).unwrap(), date(2026, 3, 9));
    assert_eq!(c.next_working_day(date(2026, 3, 7)).unwrap(), date(2026, 3, 9));
    // Spring Festival: Fri 13 Feb + 1 → Sat 14 Feb (make-up), + 2 → Tue 24 Feb.
    assert_eq!(c.add_working_days(date(2026, 2, 13), 2).unwrap(), date(2026, 2, 24));
    assert_eq!(c.add_working_days(date(2026, 3, 6), 0).unwrap(), date(2026, 3, 6));
    assert_eq!(c.working_days_between(date(2026, 9, 30), date(2026, 10, 13)).unwrap(), 5);
    assert_eq!(c.working_days_between(date(2026, 10, 13), date(2026, 9, 30)).unwrap(), 0);
}

#[test]
fn same_time_of_day_on_the_nth_working_day() {
    let c = cal();
    let t = c.add_working_days_at(ts("2026-09-30T09:30:00+08:00"), 5).unwrap();
    assert_eq!(beijing::format_rfc3339(t), "2026-10-13T09:30:00+08:00");
    // Accepted at 23:50 Beijing time (15:50 UTC): the Beijing date counts, not the UTC date.
    let t = c.add_working_days_at(ts("2026-09-18T15:50:00Z"), 1).unwrap();
    assert_eq!(beijing::format_rfc3339(t), "2026-09-20T23:50:00+08:00");
    // 00:10 Beijing on Sat 19 Sep is still the 18th in UTC; the 1st working day after Sat 19 is
    // Sun 20 (make-up), at 00:10.
    let t = c.add_working_days_at(ts("2026-09-18T16:10:00Z"), 1).unwrap();
    assert_eq!(beijing::format_rfc3339(t), "2026-09-20T00:10:00+08:00");
}

#[test]
fn working_time_skips_days_off() {
    let c = cal();
    // Fri 18 Sep 20:00 → Mon 21 Sep 02:00: Fri 4 h + Sat 0 + Sun (make-up) 24 h + Mon 2 h.
    let w = c.working_time_between(ts("2026-09-18T20:00:00+08:00"), ts("2026-09-21T02:00:00+08:00")).unwrap();
    assert_eq!(w, SignedDuration::from_hours(30));
    // Across golden week: Wed 30 Sep 12:00 → Thu 8 Oct 12:00 = 12 h + 12 h.
    let w = c.working_time_between(ts("2026-09-30T12:00:00+08:00"), ts("2026-10-08T12:00:00+08:00")).unwrap();
    assert_eq!(w, SignedDuration::from_hours(24));
    let t = c.advance_working_time(ts("2026-09-30T12:00:00+08:00"), SignedDuration::from_hours(24)).unwrap();
    assert_eq!(beijing::format_rfc3339(t), "2026-10-08T12:00:00+08:00");
    // Starting on a day off, the clock begins at the next working midnight.
    let t = c.advance_working_time(ts("2026-10-03T15:00:00+08:00"), SignedDuration::from_hours(1)).unwrap();
    assert_eq!(beijing::format_rfc3339(t), "2026-10-08T01:00:00+08:00");
    assert_eq!(
        c.advance_working_time(ts("2026-10-03T15:00:00+08:00"), SignedDuration::ZERO).unwrap(),
        ts("2026-10-03T15:00:00+08:00")
    );
}

#[test]
fn a_year_without_data_is_an_error_not_a_guess() {
    let c = cal();
    let e = c.is_working_day(date(2027, 3, 1)).unwrap_err();
    assert_eq!(e.code, "calendar_missing");
    assert_eq!(e.field, "date");
    assert!(e.message.en.contains("2027.toml"), "{}", e.message.en);
    // Counting off the end of the data stops with the same error.
    assert_eq!(c.add_working_days(date(2026, 12, 30), 5).unwrap_err().code, "calendar_missing");
    assert_eq!(Calendar::empty().is_working_day(date(2026, 3, 2)).unwrap_err().code, "calendar_missing");
}

const Y2027: &str = r#"
year = 2027
source = "test data, not the real 2027 schedule"
verified = false
[[holiday]]
name_zh = "元旦"
name_en = "New Year's Day"
from = "2027-01-01"
to = 2027-01-03
"#;

#[test]
fn an_operator_file_adds_a_year() {
    let mut c = cal();
    c.add_file("2027.toml", Y2027).unwrap();
    assert!(!c.schedule(2027).unwrap().verified);
    assert_eq!(c.day_kind(date(2027, 1, 1)).unwrap(), DayKind::Holiday);
    assert_eq!(c.day_kind(date(2027, 1, 4)).unwrap(), DayKind::Workday);
    // Thu 31 Dec 2026 + 1 → Mon 4 Jan 2027.
    assert_eq!(c.add_working_days(date(2026, 12, 31), 1).unwrap(), date(2027, 1, 4));
}

#[test]
fn load_dir_reads_an_operators_directory() {
    let dir = std::env::temp_dir().join(format!("bureau-cal-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("2027.toml"), Y2027).unwrap();
    std::fs::write(dir.join("README.txt"), "ignored").unwrap();
    let c = Calendar::load_dir(&dir).unwrap();
    assert_eq!(c.years().collect::<Vec<_>>(), vec![2026, 2027]);
    std::fs::write(dir.join("2028.toml"), "year = 2028\nsource = \"x\"\n[[holiday]]\nname_zh = \"a\"\nname_en = \"b\"\nfrom = 2028-05-01\nto = 2028-04-30\n").unwrap();
    let e = Calendar::load_dir(&dir).unwrap_err();
    assert_eq!(e.field, "2028.toml: holiday[0].to");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(Calendar::load_dir(&dir).unwrap_err().code, "io");
}

fn bad(file: &str, text: &str) -> FieldError {
    let mut c = cal();
    let e = c.add_file(file, text).unwrap_err();
    // A failed file leaves the calendar as it was.
    assert_eq!(c.years().collect::<Vec<_>>(), vec![2026]);
    e
}

#[test]
fn errors_name_the_file_and_the_field() {
    let e = bad("2027.toml", "year = 2028\nsource = \"x\"\n");
    assert_eq!((e.field.as_str(), e.code), ("2027.toml: year", "mismatch"));
    let e = bad("2027.toml", "year = 2027\n");
    assert_eq!((e.field.as_str(), e.code), ("2027.toml: source", "required"));
    let e = bad("2027.toml", "year = 2027\nsource = \"x\"\nsorce = 1\n");
    assert_eq!((e.field.as_str(), e.code), ("2027.toml: sorce", "unknown"));
    let e = bad("2027.toml", "year = 2027\nsource = \"x\n");
    assert_eq!((e.field.as_str(), e.code), ("2027.toml", "syntax"));
    let head = "year = 2027\nsource = \"x\"\n[[holiday]]\nname_zh = \"a\"\nname_en = \"b\"\n";
    let e = bad("2027.toml", &format!("{head}from = 2027-13-01\nto = 2027-01-02\n"));
    assert_eq!(e.field, "2027.toml", "an impossible TOML date is a syntax error: {e}");
    let e = bad("2027.toml", &format!("{head}from = \"2027-02-30\"\nto = 2027-03-02\n"));
    assert_eq!((e.field.as_str(), e.code), ("2027.toml: holiday[0].from", "invalid"));
    // A make-up working day must be a Saturday or Sunday: Mon 4 Jan 2027 is not.
    let e = bad(
        "2027.toml",
        &format!("{head}from = 2027-01-01\nto = 2027-01-03\nmakeup_workdays = [2027-01-04]\n"),
    );
    assert_eq!((e.field.as_str(), e.code), ("2027.toml: holiday[0].makeup_workdays[0]", "invalid"));
    // A date outside the year's reach.
    let e = bad(
        "2027.toml",
        &format!("{head}from = 2027-03-01\nto = 2027-03-02\nmakeup_workdays = [2028-06-03]\n"),
    );
    assert_eq!(e.code, "out_of_range");
    // The same day in two holidays.
    let two = format!("{head}from = 2027-05-01\nto = 2027-05-03\n[[holiday]]\nname_zh = \"c\"\nname_en = \"d\"\nfrom = 2027-05-03\nto = 2027-05-04\n");
    let e = bad("2027.toml", &two);
    assert_eq!((e.field.as_str(), e.code), ("2027.toml: holiday[1].from", "duplicate"));
}

#[test]
fn two_files_that_disagree_about_a_date_are_refused() {
    let mut c = cal();
    // A 2027 notice may start its New Year days off in December 2026 (as the 2019 notice did with
    // 2018-12-30); the later file then decides 2026-12-31.
    let ok = "year = 2027\nsource = \"x\"\n[[holiday]]\nname_zh = \"元旦\"\nname_en = \"New Year\"\nfrom = 2026-12-31\nto = 2027-01-02\n";
    c.add_file("2027.toml", ok).unwrap();
    assert_eq!(c.day_kind(date(2026, 12, 31)).unwrap(), DayKind::Holiday);
    // Replacing the 2027 file drops its days.
    let plain = "year = 2027\nsource = \"x\"\n";
    c.add_file("2027.toml", plain).unwrap();
    assert_eq!(c.day_kind(date(2026, 12, 31)).unwrap(), DayKind::Workday);
    // Two files that disagree: one says Sat 19 Dec 2026 is a day off, the other a make-up day.
    let mut c2 = Calendar::empty();
    c2.add_file("a.toml", "year = 2026\nsource = \"x\"\n[[holiday]]\nname_zh = \"x\"\nname_en = \"x\"\nfrom = 2026-12-19\nto = 2026-12-19\n").unwrap();
    let e = c2
        .add_file("2027.toml", "year = 2027\nsource = \"x\"\n[[holiday]]\nname_zh = \"y\"\nname_en = \"y\"\nfrom = 2026-12-20\nto = 2026-12-20\nmakeup_workdays = [2026-12-19]\n")
        .unwrap_err();
    assert_eq!((e.field.as_str(), e.code), ("2027.toml: holiday[0]", "conflict"));
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Instants in 2026, Beijing time, at minute resolution (the calendar knows only 2026).
    fn instant_2026() -> impl Strategy<Value = Timestamp> {
        (0i64..(365 * 24 * 60 - 1)).prop_map(|m| {
            beijing::start_of(date(2026, 1, 1)).unwrap().checked_add(SignedDuration::from_mins(m)).unwrap()
        })
    }

    proptest! {
        #[test]
        fn nth_working_day_is_a_working_day_after_the_start(day in 0i32..300, n in 1u32..30) {
            let c = Calendar::builtin();
            let start = date(2026, 1, 1).checked_add(jiff::Span::new().days(day)).unwrap();
            let end = c.add_working_days(start, n).unwrap();
            prop_assert!(end > start);
            prop_assert!(c.is_working_day(end).unwrap());
            prop_assert_eq!(c.working_days_between(start, end).unwrap(), n);
        }

        #[test]
        fn advancing_working_time_is_the_inverse_of_measuring_it(t in instant_2026(), mins in 0i64..(20 * 24 * 60)) {
            let c = Calendar::builtin();
            let d = SignedDuration::from_mins(mins);
            if let Ok(end) = c.advance_working_time(t, d) {
                prop_assert!(end >= t);
                prop_assert_eq!(c.working_time_between(t, end).unwrap(), d);
            }
        }

        #[test]
        fn on_a_working_day_n_working_days_is_n_times_24_working_hours(t in instant_2026(), n in 1u32..20) {
            let c = Calendar::builtin();
            prop_assume!(c.is_working_day(beijing::date_of(t)).unwrap());
            if let Ok(due) = c.add_working_days_at(t, n) {
                prop_assert_eq!(c.working_time_between(t, due).unwrap(), SignedDuration::from_hours(24 * i64::from(n)));
            }
        }
    }
}
