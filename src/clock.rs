//! The one clock all code reads the time from.
//!
//! With the `simulated-clock` feature, `CONSENTD_NOW` (RFC 3339) sets where the clock starts;
//! it then runs forward in real time, so events keep their order while tests and demos can
//! live months ahead. Without the feature the variable is refused, so a production binary can
//! never be told a false time.

use chrono::{DateTime, Datelike, NaiveDate, SubsecRound, Timelike, Utc};
use chrono_tz::Europe::Berlin;

pub const NOW_VAR: &str = "CONSENTD_NOW";

#[derive(Clone, Copy, Debug)]
pub struct Clock {
    /// Added to the system time; zero unless simulated.
    offset: chrono::TimeDelta,
}

impl Clock {
    pub fn system() -> Self {
        Clock {
            offset: chrono::TimeDelta::zero(),
        }
    }

    /// Reads `CONSENTD_NOW`. Errors when it is set but cannot be honoured.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_setting(
            std::env::var(NOW_VAR).ok().as_deref(),
            cfg!(feature = "simulated-clock"),
        )
    }

    fn from_setting(value: Option<&str>, simulation_built_in: bool) -> anyhow::Result<Self> {
        let Some(value) = value else {
            return Ok(Self::system());
        };
        if !simulation_built_in {
            anyhow::bail!(
                "{NOW_VAR} is set, but this binary was built without the `simulated-clock` feature; \
                 unset it (production) or build with `--features simulated-clock` (tests, demos)"
            );
        }
        let start = DateTime::parse_from_rfc3339(value.trim()).map_err(|e| {
            anyhow::anyhow!("{NOW_VAR} must be an RFC 3339 time such as 2027-01-31T09:00:00Z: {e}")
        })?;
        Ok(Clock {
            offset: start.with_timezone(&Utc) - Utc::now(),
        })
    }

    pub fn is_simulated(&self) -> bool {
        !self.offset.is_zero()
    }

    /// Current time in UTC, truncated to microseconds: the precision both databases keep,
    /// so a timestamp hashed into the ledger reads back identically.
    pub fn now(&self) -> DateTime<Utc> {
        (Utc::now() + self.offset).trunc_subsecs(6)
    }

    /// Today's date where the organisers are (Europe/Berlin); effective dates are Berlin dates.
    pub fn today_berlin(&self) -> NaiveDate {
        berlin_day(self.now())
    }
}

/// The Berlin date of a moment.
pub fn berlin_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Berlin).date_naive()
}

/// The moment Berlin day `day` starts, in UTC (`None` only past the calendar's end).
pub fn berlin_day_start(day: NaiveDate) -> Option<DateTime<Utc>> {
    day.and_hms_opt(0, 0, 0)?
        .and_local_timezone(Berlin)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// The one textual form of a time inside hashed payloads and JSON: UTC, microseconds, `Z`.
pub fn canonical_time(at: DateTime<Utc>) -> String {
    match canonical_time_ascii(at) {
        Some(text) => String::from_utf8(text.to_vec()).expect("ASCII digits"),
        // Years outside 0–9999 and leap seconds are rare enough to leave to chrono, which
        // defines the form.
        None => at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    }
}

/// [`canonical_time`] as its 27 ASCII bytes, for years 0–9999 outside leap seconds (`None`
/// otherwise). Written digit by digit: `verify` formats several times per ledger entry, and
/// chrono's `format` parses its pattern on every call.
pub fn canonical_time_ascii(at: DateTime<Utc>) -> Option<[u8; 27]> {
    let (year, nanos) = (at.year(), at.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        return None;
    }
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |end: usize, digits: usize, mut value: u32| {
        for position in (end - digits..end).rev() {
            text[position] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(4, 4, year as u32);
    put(7, 2, at.month());
    put(10, 2, at.day());
    put(13, 2, at.hour());
    put(16, 2, at.minute());
    put(19, 2, at.second());
    put(26, 6, nanos / 1000);
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_without_the_feature_refuses_a_simulated_time() {
        let err = Clock::from_setting(Some("2027-01-01T00:00:00Z"), false).unwrap_err();
        assert!(err.to_string().contains("simulated-clock"));
        assert!(!Clock::from_setting(None, false).unwrap().is_simulated());
    }

    #[test]
    fn simulated_time_starts_where_told_and_runs_on() {
        let clock = Clock::from_setting(Some("2027-01-31T09:00:00+01:00"), true).unwrap();
        let now = clock.now();
        assert!(clock.is_simulated());
        assert_eq!(canonical_time(now)[..16], *"2027-01-31T08:00");
        assert!(clock.now() >= now);
        assert_eq!(
            clock.today_berlin(),
            NaiveDate::from_ymd_opt(2027, 1, 31).unwrap()
        );
        assert!(Clock::from_setting(Some("morgen"), true).is_err());
    }

    #[test]
    fn canonical_time_is_chronos_format() {
        let chrono_form = |at: DateTime<Utc>| at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        let mut at = DateTime::parse_from_rfc3339("0000-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let end = DateTime::parse_from_rfc3339("9999-12-31T23:59:59.999999999Z")
            .unwrap()
            .to_utc();
        // About 100,000 steps of an irregular length (~36 days and a fraction of a second),
        // so every field's digits vary.
        let step = chrono::TimeDelta::nanoseconds(3_141_592_653_589_793);
        while at < end {
            assert_eq!(canonical_time(at), chrono_form(at));
            at += step;
        }
        for at in [
            end,
            DateTime::parse_from_rfc3339("2026-11-27T12:00:00.000001Z")
                .unwrap()
                .to_utc(),
            NaiveDate::from_ymd_opt(-1, 12, 31)
                .unwrap()
                .and_hms_opt(23, 59, 59)
                .unwrap()
                .and_utc(),
            NaiveDate::from_ymd_opt(10000, 1, 1)
                .unwrap()
                .and_hms_micro_opt(0, 0, 0, 500_000)
                .unwrap()
                .and_utc(),
            // A leap second (chrono keeps it as 1,000,000,000 + nanoseconds).
            NaiveDate::from_ymd_opt(2016, 12, 31)
                .unwrap()
                .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
                .unwrap()
                .and_utc(),
        ] {
            assert_eq!(canonical_time(at), chrono_form(at));
        }
    }

    #[test]
    fn berlin_date_differs_from_utc_date_late_in_the_evening() {
        let clock = Clock::from_setting(Some("2026-12-31T23:30:00Z"), true).unwrap();
        assert_eq!(
            clock.today_berlin(),
            NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()
        );
    }
}
