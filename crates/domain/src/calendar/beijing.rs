//! Beijing time (北京时间, UTC+8): the civil time of every date and deadline in this system.
//!
//! The IANA zone `Asia/Shanghai` has been UTC+8 with no daylight saving time since 1991 (the last
//! summer time in China ended on 1991-09-15). For every date a bureau's records can hold, that zone
//! is therefore exactly the fixed offset +08:00. We use the fixed offset rather than looking the zone
//! up: it needs no time-zone database (no file read, so the domain stays free of I/O) and gives the
//! same answer on every machine. A test checks the equivalence where the system database is present.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;

/// UTC+8, China Standard Time.
pub const OFFSET: Offset = Offset::constant(8);

/// The time zone of Beijing time as a jiff [`TimeZone`] (a fixed +08:00 offset, see the module doc).
pub fn time_zone() -> TimeZone {
    TimeZone::fixed(OFFSET)
}

/// The civil date and time in Beijing of an instant.
pub fn local(ts: Timestamp) -> DateTime {
    OFFSET.to_datetime(ts)
}

/// The Beijing calendar date of an instant.
pub fn date_of(ts: Timestamp) -> Date {
    local(ts).date()
}

/// The instant of a Beijing civil date and time. Fails only outside jiff's supported range
/// (years -9999 to 9999).
pub fn instant(dt: DateTime) -> Result<Timestamp, jiff::Error> {
    OFFSET.to_timestamp(dt)
}

/// Midnight at the start of a Beijing date.
pub fn start_of(date: Date) -> Result<Timestamp, jiff::Error> {
    instant(date.to_datetime(Time::midnight()))
}

/// RFC 3339 with the Beijing offset, e.g. `2026-10-09T09:30:00+08:00` (fractional seconds appear
/// only when they are not zero).
pub fn format_rfc3339(ts: Timestamp) -> String {
    ts.display_with_offset(OFFSET).to_string()
}

/// Reads an instant written in RFC 3339 with an offset (`2026-10-09T09:30:00+08:00`,
/// `2026-10-09T01:30:00Z`); the error names `field`. A time without an offset is refused rather
/// than guessed.
pub fn parse_rfc3339(field: &str, text: &str) -> Result<Timestamp, crate::error::FieldError> {
    text.trim().parse::<Timestamp>().map_err(|e| {
        crate::error::FieldError::invalid(
            field,
            format!("应为带时区偏移的 RFC 3339 时间，如 2026-10-09T09:30:00+08:00：{e}"),
            format!("expected an RFC 3339 time with an offset, e.g. 2026-10-09T09:30:00+08:00: {e}"),
        )
    })
}

/// Serde helper: `#[serde(serialize_with = "crate::calendar::beijing::serialize")]` writes a
/// timestamp as [`format_rfc3339`] does.
pub fn serialize<S: serde::Serializer>(ts: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_rfc3339(*ts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_the_beijing_offset() {
        let ts: Timestamp = "2026-10-09T01:30:00Z".parse().unwrap();
        assert_eq!(format_rfc3339(ts), "2026-10-09T09:30:00+08:00");
        let ts: Timestamp = "2026-10-08T16:00:00Z".parse().unwrap();
        assert_eq!(date_of(ts), jiff::civil::date(2026, 10, 9));
        assert_eq!(start_of(jiff::civil::date(2026, 10, 9)).unwrap(), ts);
    }

    #[test]
    fn parses_rfc3339_with_an_offset_only() {
        let t = parse_rfc3339("accepted", " 2026-10-09T09:30:00+08:00 ").unwrap();
        assert_eq!(t, "2026-10-09T01:30:00Z".parse::<Timestamp>().unwrap());
        let e = parse_rfc3339("accepted", "2026-10-09T09:30:00").unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("accepted", "invalid"));
    }

    #[test]
    fn fixed_offset_matches_asia_shanghai_when_the_system_knows_it() {
        // The system time-zone database may be absent (e.g. a minimal container); then there is
        // nothing to compare with.
        let Ok(tz) = TimeZone::get("Asia/Shanghai") else { return };
        for s in
            ["1992-07-01T00:00:00Z", "2011-10-13T04:00:00Z", "2026-02-15T16:00:00Z", "2026-10-01T00:00:00Z"]
        {
            let ts: Timestamp = s.parse().unwrap();
            assert_eq!(tz.to_offset(ts), OFFSET, "{s}");
        }
    }
}
