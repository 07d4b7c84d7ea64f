//! The daily arrears pass as `bureau serve` runs it: once a Beijing day at a configured time
//! (default 08:00, before the reminders' hour), and at start when the day's time has passed and its
//! pass has not finished yet (the server was down at that hour).
//!
//! A finished pass is recorded per day (`arrears_passes`); the pass is idempotent per day anyway,
//! so a pass killed half-way and run again, or two servers running the same day's pass, issue
//! nothing twice.

use super::{run_pass, PassReport};
use crate::access::Actor;
use crate::error::AppResult;
use bureau_domain::arrears::ArrearsRules;
use bureau_domain::calendar::beijing;
use bureau_domain::error::FieldError;
use bureau_store::{ArrearsPassRow, DynStore};
use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};

/// When the daily pass runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DailyPass {
    /// Beijing time of day.
    pub at: Time,
}

impl Default for DailyPass {
    fn default() -> Self {
        DailyPass { at: Time::constant(8, 0, 0, 0) }
    }
}

impl DailyPass {
    /// `HH:MM` (Beijing time), or `off` for no scheduled pass (`None`).
    pub fn parse(field: &str, text: &str) -> Result<Option<DailyPass>, FieldError> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let bad = || {
            FieldError::invalid(
                field,
                format!("每日欠费处理时间“{t}”无效，应为北京时间HH:MM（如08:00），或off（不自动运行）"),
                format!(
                    "daily arrears pass time '{t}' is invalid: use HH:MM Beijing time (e.g. 08:00), or off"
                ),
            )
        };
        let (h, m) = t.split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        let (Ok(hour), Ok(minute)) = (h.parse::<i8>(), m.parse::<i8>()) else { return Err(bad()) };
        let at = Time::new(hour, minute, 0, 0).map_err(|_| bad())?;
        Ok(Some(DailyPass { at }))
    }

    /// The instant of the pass on `day`.
    pub fn instant_on(&self, day: Date) -> Timestamp {
        beijing::instant(day.to_datetime(self.at)).unwrap_or(Timestamp::MAX)
    }

    /// The day whose pass is due at `now`: today once today's time has come, else none yet.
    pub fn due_day(&self, now: Timestamp) -> Option<Date> {
        let today = beijing::date_of(now);
        (now >= self.instant_on(today)).then_some(today)
    }

    /// The next scheduled instant after `now` (today's time if still ahead, else tomorrow's).
    pub fn next_after(&self, now: Timestamp) -> Timestamp {
        let today = beijing::date_of(now);
        let t = self.instant_on(today);
        if t > now {
            return t;
        }
        today.tomorrow().map_or(Timestamp::MAX, |d| self.instant_on(d))
    }
}

/// Runs the day's pass when it is due at `now` and has not finished yet; records it. `None` when
/// there was nothing to do.
pub async fn run_if_due(
    store: &DynStore,
    rules: &ArrearsRules,
    schedule: &DailyPass,
    now: Timestamp,
) -> AppResult<Option<PassReport>> {
    let Some(day) = schedule.due_day(now) else { return Ok(None) };
    let day_text = day.to_string();
    if store.arrears_pass(&day_text).await?.is_some() {
        return Ok(None);
    }
    let report = run_pass(store, &Actor::system(), rules, now).await?;
    let finished = Timestamp::now().max(now);
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    store
        .record_arrears_pass(&ArrearsPassRow {
            day: day_text,
            started_at: now.as_second(),
            finished_at: finished.as_second(),
            customers: count(report.customers),
            opened: count(report.opened),
            taken: count(report.taken.len() as u64),
            closed: count(report.closed),
        })
        .await?;
    Ok(Some(report))
}

/// The longest the scheduler sleeps before looking at the clock again (a suspended machine or a
/// clock set forward is noticed within this).
const MAX_SLEEP: SignedDuration = SignedDuration::from_mins(10);

/// Runs the schedule in the background: a catch-up pass at once if today's is due and missing,
/// then each day at its time. A failed pass is logged and tried again at the next wake-up.
pub fn spawn(
    store: DynStore,
    rules: &'static ArrearsRules,
    schedule: DailyPass,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let now = Timestamp::now();
            match run_if_due(&store, rules, &schedule, now).await {
                Ok(Some(r)) => tracing::info!(
                    customers = r.customers,
                    opened = r.opened,
                    steps = r.taken.len(),
                    closed = r.closed,
                    "daily arrears pass done"
                ),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "daily arrears pass failed; it is tried again later"),
            }
            let now = Timestamp::now();
            let wait =
                schedule.next_after(now).duration_since(now).clamp(SignedDuration::from_secs(1), MAX_SLEEP);
            tokio::time::sleep(wait.unsigned_abs()).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn bj(s: &str) -> Timestamp {
        beijing::parse_rfc3339("t", &format!("{s}:00+08:00")).unwrap()
    }

    #[test]
    fn parses_the_time_of_day() {
        assert_eq!(DailyPass::parse("t", "08:00").unwrap(), Some(DailyPass::default()));
        assert_eq!(DailyPass::parse("t", " 7:30 ").unwrap().unwrap().at, Time::constant(7, 30, 0, 0));
        assert_eq!(DailyPass::parse("t", "OFF").unwrap(), None);
        for bad in ["", "8", "24:00", "08:60", "08:5", "eight", "08:00:00", "-1:00"] {
            let e = DailyPass::parse("arrears_pass_at", bad).unwrap_err();
            assert_eq!(e.field, "arrears_pass_at", "{bad}");
        }
    }

    #[test]
    fn due_and_next_by_the_beijing_clock() {
        let s = DailyPass::default();
        // 00:30 Beijing is 16:30 UTC the day before: the Beijing day counts.
        assert_eq!(s.due_day(bj("2026-11-27T00:30")), None);
        assert_eq!(s.next_after(bj("2026-11-27T00:30")), bj("2026-11-27T08:00"));
        assert_eq!(s.due_day(bj("2026-11-27T08:00")), Some(date(2026, 11, 27)));
        assert_eq!(s.next_after(bj("2026-11-27T08:00")), bj("2026-11-28T08:00"));
        assert_eq!(s.due_day(bj("2026-11-27T23:59")), Some(date(2026, 11, 27)));
        // Year end.
        assert_eq!(s.next_after(bj("2026-12-31T09:00")), bj("2027-01-01T08:00"));
        let late = DailyPass { at: Time::constant(23, 30, 0, 0) };
        assert_eq!(late.due_day(bj("2026-11-27T23:00")), None);
        assert_eq!(late.next_after(bj("2026-11-27T23:00")), bj("2026-11-27T23:30"));
    }
}
