//! The business calendar: which days are working days (工作日) in mainland China.
//!
//! Working-day clocks (complaint replies, meter checks, connection times) skip the public holidays
//! and count the make-up working days (调休上班), even when those fall on a Saturday or Sunday. The
//! State Council publishes each year's schedule in November of the year before (国务院办公厅关于
//! 部分节假日安排的通知), so the schedule is data: one file per year in `data/calendars/`, the
//! shipped years compiled in with `include_str!`, and an operator's directory for later years.
//!
//! A date in a year for which no schedule is loaded is an **error** (`calendar_missing`), never a
//! guess: a deadline computed from weekends alone would be wrong around every holiday.
//!
//! All dates are Beijing dates; see [`beijing`] for the time zone.

pub mod beijing;
pub(crate) mod datafile;

use crate::error::FieldError;
use crate::i18n::Text;
use datafile::Table;
use jiff::civil::{Date, Weekday};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The schedules shipped with the program: (file name, contents).
const BUILTIN: &[(&str, &str)] = &[("2026.toml", include_str!("../../../../data/calendars/2026.toml"))];

/// What kind of day a date is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// Monday to Friday outside a holiday: 工作日.
    Workday,
    /// Saturday or Sunday that is not a make-up working day: 周末.
    Weekend,
    /// A day off of a public holiday (法定节假日及调休放假), whatever the weekday.
    Holiday,
    /// A Saturday or Sunday that is a working day to make up for a holiday: 调休上班.
    MakeUpWorkday,
}

impl DayKind {
    pub fn is_working(self) -> bool {
        matches!(self, DayKind::Workday | DayKind::MakeUpWorkday)
    }
}

/// One public holiday of a year's schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Holiday {
    pub name: Text,
    /// First day off.
    pub from: Date,
    /// Last day off (inclusive).
    pub to: Date,
    /// Saturdays or Sundays worked to make up for this holiday.
    pub makeup_workdays: Vec<Date>,
}

/// One year's schedule, as read from `YEAR.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct YearSchedule {
    pub year: i16,
    /// The file it was read from (for error messages and for the operator).
    pub file: String,
    /// Where the schedule comes from (the State Council notice).
    pub source: String,
    /// Whether the file says it was checked against the official notice.
    pub verified: bool,
    pub holidays: Vec<Holiday>,
}

#[derive(Clone, Debug)]
struct SpecialDay {
    kind: DayKind,
    /// Index into `Calendar::years[year].holidays`.
    year: i16,
    holiday: usize,
}

/// A set of yearly schedules. Build it with [`Calendar::builtin`], [`Calendar::load_dir`] or
/// [`Calendar::add_file`].
#[derive(Clone, Debug, Default)]
pub struct Calendar {
    years: BTreeMap<i16, YearSchedule>,
    special: BTreeMap<Date, SpecialDay>,
}

fn date_err(field: &str, e: jiff::Error) -> FieldError {
    FieldError::new(field, "out_of_range", format!("日期超出范围：{e}"), format!("date out of range: {e}"))
}

impl Calendar {
    /// A calendar that knows no year: every question about a date is a `calendar_missing` error.
    pub fn empty() -> Calendar {
        Calendar::default()
    }

    /// The schedules shipped with the program (`data/calendars/*.toml`, compiled in).
    pub fn builtin() -> Calendar {
        let mut cal = Calendar::empty();
        for (name, text) in BUILTIN {
            // The shipped files are checked by the tests; a failure here is a build defect.
            cal.add_file(name, text).unwrap_or_else(|e| panic!("built-in calendar {name}: {e}"));
        }
        cal
    }

    /// The built-in schedules plus every `*.toml` file of an operator's directory (e.g.
    /// `/etc/bureau/calendars`). A file for a year that is built in replaces the built-in one, so an
    /// operator can correct a shipped year. This is the one function of the calendar that reads
    /// files; errors name the directory or the file and field.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Calendar, FieldError> {
        let mut cal = Calendar::builtin();
        for (name, text) in read_toml_dir(dir.as_ref())? {
            cal.add_file(&name, &text)?;
        }
        Ok(cal)
    }

    /// Adds (or replaces) one year's schedule from the text of a file named `file` (e.g.
    /// `2027.toml`). If the file name is a year, it must match the `year` inside.
    pub fn add_file(&mut self, file: &str, text: &str) -> Result<(), FieldError> {
        let schedule = parse_year(file, text)?;
        let mut years = self.years.clone();
        years.insert(schedule.year, schedule);
        let special = index(&years)?;
        self.years = years;
        self.special = special;
        Ok(())
    }

    /// The years that have a schedule, in order.
    pub fn years(&self) -> impl Iterator<Item = i16> + '_ {
        self.years.keys().copied()
    }

    pub fn schedule(&self, year: i16) -> Option<&YearSchedule> {
        self.years.get(&year)
    }

    fn require_year(&self, date: Date) -> Result<(), FieldError> {
        if self.years.contains_key(&date.year()) {
            return Ok(());
        }
        let y = date.year();
        let known: Vec<String> = self.years.keys().map(|y| y.to_string()).collect();
        Err(FieldError::new(
            "date",
            "calendar_missing",
            format!(
                "没有{y}年的节假日安排（{date}），无法计算工作日。请在节假日目录中添加 {y}.toml。已有年份：{}",
                known.join(", ")
            ),
            format!(
                "no holiday schedule for {y} ({date}), so working days cannot be counted; add {y}.toml to \
                 the calendar directory. Years known: {}",
                known.join(", ")
            ),
        ))
    }

    /// The kind of a date, or `calendar_missing` when its year has no schedule.
    pub fn day_kind(&self, date: Date) -> Result<DayKind, FieldError> {
        self.require_year(date)?;
        Ok(match self.special.get(&date) {
            Some(s) => s.kind,
            None if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) => DayKind::Weekend,
            None => DayKind::Workday,
        })
    }

    pub fn is_working_day(&self, date: Date) -> Result<bool, FieldError> {
        Ok(self.day_kind(date)?.is_working())
    }

    /// The holiday a date belongs to, as a day off or as a make-up working day.
    pub fn holiday_of(&self, date: Date) -> Option<&Holiday> {
        let s = self.special.get(&date)?;
        self.years.get(&s.year)?.holidays.get(s.holiday)
    }

    /// The first working day strictly after `date`.
    pub fn next_working_day(&self, date: Date) -> Result<Date, FieldError> {
        self.add_working_days(date, 1)
    }

    /// The `n`-th working day strictly after `start` (the start day itself is never counted, even
    /// when it is a working day). `n = 0` gives `start`. Example: from Wednesday 2026-09-30, the 1st
    /// working day is Thursday 2026-10-08 (the National Day days off come between).
    pub fn add_working_days(&self, start: Date, n: u32) -> Result<Date, FieldError> {
        self.require_year(start)?;
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d = d.tomorrow().map_err(|e| date_err("date", e))?;
            if self.is_working_day(d)? {
                left -= 1;
            }
        }
        Ok(d)
    }

    /// How many working days lie in `(from, to]`: after `from`, up to and including `to`. Zero when
    /// `to <= from`.
    pub fn working_days_between(&self, from: Date, to: Date) -> Result<u32, FieldError> {
        let mut n = 0;
        let mut d = from;
        while d < to {
            d = d.tomorrow().map_err(|e| date_err("date", e))?;
            if self.is_working_day(d)? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// The same Beijing time of day as `start`, on the `n`-th working day after the Beijing date of
    /// `start`. This is how "within N working days of acceptance" (N个工作日内) is read in this
    /// system: accepted Wednesday 2026-09-30 09:30, 5 working days → Tuesday 2026-10-13 09:30
    /// (Oct 8, 9, the make-up Saturday Oct 10, Oct 12, Oct 13).
    pub fn add_working_days_at(&self, start: Timestamp, n: u32) -> Result<Timestamp, FieldError> {
        let local = beijing::local(start);
        let day = self.add_working_days(local.date(), n)?;
        beijing::instant(day.to_datetime(local.time())).map_err(|e| date_err("date", e))
    }

    /// Working time between two instants: the part of `[from, to)` that falls on working days
    /// (whole days from Beijing midnight to midnight). Zero when `to <= from`.
    pub fn working_time_between(&self, from: Timestamp, to: Timestamp) -> Result<SignedDuration, FieldError> {
        let mut total = SignedDuration::ZERO;
        let mut t = from;
        while t < to {
            let day = beijing::date_of(t);
            let next = day.tomorrow().map_err(|e| date_err("date", e))?;
            let day_end = beijing::start_of(next).map_err(|e| date_err("date", e))?;
            let end = day_end.min(to);
            if self.is_working_day(day)? {
                total += end.duration_since(t);
            }
            t = end;
        }
        Ok(total)
    }

    /// The earliest instant at which `amount` of working time has passed since `from` (time on days
    /// off does not count). With `amount` zero, `from` itself.
    pub fn advance_working_time(
        &self,
        from: Timestamp,
        amount: SignedDuration,
    ) -> Result<Timestamp, FieldError> {
        let mut left = amount.max(SignedDuration::ZERO);
        let mut t = from;
        loop {
            if left.is_zero() {
                return Ok(t);
            }
            let day = beijing::date_of(t);
            let next = day.tomorrow().map_err(|e| date_err("date", e))?;
            let day_end = beijing::start_of(next).map_err(|e| date_err("date", e))?;
            if self.is_working_day(day)? {
                let room = day_end.duration_since(t);
                if left <= room {
                    return t.checked_add(left).map_err(|e| date_err("date", e));
                }
                left -= room;
            }
            t = day_end;
        }
    }
}

/// Reads every `*.toml` file of a directory, sorted by name.
pub(crate) fn read_toml_dir(dir: &Path) -> Result<Vec<(String, String)>, FieldError> {
    let shown = dir.display().to_string();
    let io = |e: std::io::Error| {
        FieldError::new(&shown, "io", format!("无法读取目录或文件：{e}"), format!("cannot read: {e}"))
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().and_then(|e| e.to_str()) == Some("toml") && path.is_file() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| {
                FieldError::new(
                    &path.display().to_string(),
                    "io",
                    format!("无法读取文件：{e}"),
                    format!("cannot read the file: {e}"),
                )
            })?;
            files.push((name, text));
        }
    }
    files.sort();
    Ok(files)
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// Parses and checks one year's file.
fn parse_year(file: &str, text: &str) -> Result<YearSchedule, FieldError> {
    let root_table = datafile::parse(file, text)?;
    let root = Table::root(file, &root_table);
    root.deny_unknown(&["year", "source", "verified", "holiday"])?;
    let year = root.int("year")?;
    let year: i16 = match i16::try_from(year) {
        Ok(y) if (1900..=2200).contains(&y) => y,
        _ => {
            return Err(root.error(
                "year",
                "invalid",
                format!("年份不合理：{year}"),
                format!("implausible year {year}"),
            ))
        }
    };
    let stem = file.rsplit(['/', '\\']).next().unwrap_or(file).trim_end_matches(".toml");
    if let Ok(named) = stem.parse::<i16>() {
        if named != year {
            return Err(root.error(
                "year",
                "mismatch",
                format!("文件名是{named}年，但 year = {year}"),
                format!("the file is named for {named} but says year = {year}"),
            ));
        }
    }
    let source = root.str("source")?.to_string();
    let verified = root.opt_bool("verified")?.unwrap_or(false);
    // A year's notice may move days at its edges: e.g. the 2019 New Year holiday began on
    // 2018-12-30 with a make-up day on 2018-12-29. Allow December of the year before and January
    // of the year after, nothing further.
    let lo = Date::new(year - 1, 12, 1).map_err(|e| date_err(&root.field("year"), e))?;
    let hi = Date::new(year + 1, 1, 31).map_err(|e| date_err(&root.field("year"), e))?;
    let mut seen: BTreeMap<Date, String> = BTreeMap::new();
    let mut holidays = Vec::new();
    for h in root.tables("holiday")? {
        h.deny_unknown(&["name_zh", "name_en", "from", "to", "makeup_workdays"])?;
        let name = Text::new(h.str("name_zh")?, h.str("name_en")?);
        let from = h.date("from")?;
        let to = h.date("to")?;
        let makeup = h.date_list("makeup_workdays")?;
        for (key, d) in
            [("from", from), ("to", to)].into_iter().chain(makeup.iter().map(|d| ("makeup_workdays", *d)))
        {
            if d < lo || d > hi {
                return Err(h.error(
                    key,
                    "out_of_range",
                    format!("{d} 不在 {lo} 至 {hi} 之内"),
                    format!("{d} is outside {lo} to {hi}"),
                ));
            }
        }
        if to < from {
            return Err(h.error(
                "to",
                "invalid",
                format!("结束日 {to} 早于开始日 {from}"),
                format!("{to} is before from = {from}"),
            ));
        }
        let span = from.until(to).map_err(|e| date_err(&h.field("to"), e))?.get_days();
        if span > 14 {
            return Err(h.error(
                "to",
                "invalid",
                format!("假期长达{}天，不合理", span + 1),
                format!("a holiday of {} days is implausible", span + 1),
            ));
        }
        let mut d = from;
        loop {
            if let Some(other) = seen.insert(d, h.name().to_string()) {
                return Err(h.error(
                    "from",
                    "duplicate",
                    format!("{d} 已在 {other} 中列出"),
                    format!("{d} is already listed in {other}"),
                ));
            }
            if d == to {
                break;
            }
            d = d.tomorrow().map_err(|e| date_err(&h.field("to"), e))?;
        }
        for (i, m) in makeup.iter().enumerate() {
            let key = format!("makeup_workdays[{i}]");
            if !is_weekend(*m) {
                return Err(h.error(
                    &key,
                    "invalid",
                    format!("调休上班日 {m} 是{}，应为周六或周日", weekday_zh(m.weekday())),
                    format!(
                        "make-up working day {m} is a {:?}; it must be a Saturday or Sunday",
                        m.weekday()
                    ),
                ));
            }
            if let Some(other) = seen.insert(*m, h.name().to_string()) {
                return Err(h.error(
                    &key,
                    "duplicate",
                    format!("{m} 已在 {other} 中列出"),
                    format!("{m} is already listed in {other}"),
                ));
            }
        }
        holidays.push(Holiday { name, from, to, makeup_workdays: makeup });
    }
    Ok(YearSchedule { year, file: file.to_string(), source, verified, holidays })
}

fn weekday_zh(w: Weekday) -> &'static str {
    match w {
        Weekday::Monday => "周一",
        Weekday::Tuesday => "周二",
        Weekday::Wednesday => "周三",
        Weekday::Thursday => "周四",
        Weekday::Friday => "周五",
        Weekday::Saturday => "周六",
        Weekday::Sunday => "周日",
    }
}

/// Builds the date index of all schedules; two files that disagree about a date are an error.
fn index(years: &BTreeMap<i16, YearSchedule>) -> Result<BTreeMap<Date, SpecialDay>, FieldError> {
    let mut special: BTreeMap<Date, SpecialDay> = BTreeMap::new();
    for (year, sched) in years {
        for (i, h) in sched.holidays.iter().enumerate() {
            let mut days: Vec<(Date, DayKind)> =
                h.makeup_workdays.iter().map(|d| (*d, DayKind::MakeUpWorkday)).collect();
            let mut d = h.from;
            while d <= h.to {
                days.push((d, DayKind::Holiday));
                d = d.tomorrow().map_err(|e| date_err(&sched.file, e))?;
            }
            for (d, kind) in days {
                if let Some(prev) = special.get(&d) {
                    if prev.kind != kind {
                        let other = &years[&prev.year].file;
                        return Err(FieldError::new(
                            &format!("{}: holiday[{i}]", sched.file),
                            "conflict",
                            format!("{d} 在 {other} 与 {} 中的安排不一致", sched.file),
                            format!("{d} is listed differently in {other} and {}", sched.file),
                        ));
                    }
                    continue;
                }
                special.insert(d, SpecialDay { kind, year: *year, holiday: i });
            }
        }
    }
    Ok(special)
}

#[cfg(test)]
mod tests;
