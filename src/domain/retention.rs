//! Retention in DIN 66398 terms: each data category (Datenart) has exactly one deletion rule
//! (Löschregel) = one start event (Startzeitpunkt) + one period (Regellöschfrist), optionally
//! counted from the end of the calendar year, and an action. Pure date arithmetic, no IO.

use chrono::{Datelike, Days, Months, NaiveDate, TimeDelta};
use serde::{Deserialize, Serialize};

use super::notice::Localized;

/// An ISO 8601 period of whole years, months and days (`P3Y`, `P29M`, `P30D`, `P1Y6M`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Period {
    pub years: u32,
    pub months: u32,
    pub days: u32,
}

impl Period {
    /// The longest period a rule may name: no retention rule keeps data for a century, and
    /// bounding it keeps the date arithmetic far from overflowing.
    pub const MAX_YEARS: u32 = 100;

    pub fn parse(s: &str) -> Result<Period, String> {
        let rest = s
            .trim()
            .strip_prefix('P')
            .ok_or_else(|| format!("`{s}` is not an ISO 8601 period such as P3Y or P29M"))?;
        if rest.is_empty() || rest.contains('T') {
            return Err(format!(
                "`{s}`: use years, months and days only (e.g. P3Y, P29M, P30D)"
            ));
        }
        let mut period = Period {
            years: 0,
            months: 0,
            days: 0,
        };
        let mut number = String::new();
        let mut last_unit = 0;
        for c in rest.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let value: u32 = number
                .parse()
                .map_err(|_| format!("`{s}`: a number must come before `{c}`"))?;
            number.clear();
            let order = match c {
                'Y' => {
                    period.years = value;
                    1
                }
                'M' => {
                    period.months = value;
                    2
                }
                'W' => {
                    period.days = value.saturating_mul(7);
                    3
                }
                'D' => {
                    period.days = period.days.saturating_add(value);
                    4
                }
                other => return Err(format!("`{s}`: unknown unit `{other}`")),
            };
            if order <= last_unit {
                return Err(format!(
                    "`{s}`: units must appear once, in the order Y, M, W, D"
                ));
            }
            last_unit = order;
        }
        if !number.is_empty() {
            return Err(format!("`{s}`: a number without unit at the end"));
        }
        let max = u64::from(Self::MAX_YEARS);
        if u64::from(period.years) * 12 + u64::from(period.months) > max * 12
            || u64::from(period.days) > max * 366
        {
            return Err(format!("`{s}`: longer than {} years", Self::MAX_YEARS));
        }
        Ok(period)
    }

    /// `date` + this period (month ends clamp: 31 Jan + P1M = 28/29 Feb); the last
    /// representable day if that is beyond it.
    pub fn after(&self, date: NaiveDate) -> NaiveDate {
        date.checked_add_months(Months::new(self.total_months()))
            .and_then(|d| d.checked_add_days(Days::new(u64::from(self.days))))
            .unwrap_or(NaiveDate::MAX)
    }

    /// `date` − this period; the first representable day if that is before it.
    pub fn before(&self, date: NaiveDate) -> NaiveDate {
        date.checked_sub_months(Months::new(self.total_months()))
            .and_then(|d| d.checked_sub_days(Days::new(u64::from(self.days))))
            .unwrap_or(NaiveDate::MIN)
    }

    fn total_months(&self) -> u32 {
        self.years.saturating_mul(12).saturating_add(self.months)
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "P")?;
        if self.years > 0 {
            write!(f, "{}Y", self.years)?;
        }
        if self.months > 0 {
            write!(f, "{}M", self.months)?;
        }
        if self.days > 0 || (self.years == 0 && self.months == 0) {
            write!(f, "{}D", self.days)?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Period::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What starts the clock. Always something consentd records, never a date set by hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartEvent {
    /// The last day of the workshop the data belongs to.
    WorkshopEnded,
    /// The participant withdrew the consent (or the last optional consent of a record).
    ConsentWithdrawn,
    /// Processing ended: all consents of a record withdrawn, expired or erased, or the
    /// workshop's own data deleted.
    ProcessingEnded,
    /// The row was written.
    RecordCreated,
    /// The consultant's last authorisation or re-authorisation.
    LastReauthorisation,
    /// A session was last used.
    SessionLastSeen,
    /// An API token was revoked or expired.
    TokenEnded,
    /// A staff account was disabled.
    AccountDisabled,
    /// A message left the outbox (sent or given up).
    MessageFinished,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// The rows go.
    Delete,
    /// Personal fields are removed; what remains cannot identify anyone.
    Anonymise,
    /// Personal data goes; the hashes the ledger needs stay (consent proofs).
    Tombstone,
}

/// One Löschregel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetentionRule {
    /// The data category (Datenart) it governs; exactly one rule per category.
    pub category: String,
    pub title: Localized,
    /// Bumped whenever the rule changes; deletion log entries name it.
    pub version: u32,
    pub start: StartEvent,
    pub period: Period,
    /// Count from the end of the calendar year of the start event ("drei Jahre nach Ende
    /// des Kalenderjahres").
    pub from_year_end: bool,
    pub action: Action,
    /// Why the data may be kept that long (Art. 6 / Art. 17(3) …), in words.
    pub legal_basis: String,
    /// Reminders before the deadline (e.g. P3M: three months before).
    pub reminders: Vec<Period>,
}

impl RetentionRule {
    /// The day from which the data must be gone. Counted from the end of the year, the
    /// period runs from the first day of the next one: "drei Jahre nach Ende des
    /// Kalenderjahres" 2027 ends with 31 December 2030, the last day a claim can be brought
    /// (§ 199 BGB), so the data goes on 1 January 2031, not on that last day.
    pub fn due(&self, start: NaiveDate) -> NaiveDate {
        let from = if self.from_year_end {
            NaiveDate::from_ymd_opt(start.year(), 12, 31)
                .and_then(|end| end.succ_opt())
                .unwrap_or(NaiveDate::MAX)
        } else {
            start
        };
        self.period.after(from)
    }

    /// The latest start day whose data is due by `as_of` (`None` if none can be), so that a
    /// store can select due rows with `start <= cutoff` instead of reading every row.
    pub fn latest_start_due_by(&self, as_of: NaiveDate) -> Option<NaiveDate> {
        // `due` never decreases as `start` grows, and is never before `start`: search days.
        let (mut low, mut high) = (as_of.checked_sub_days(Days::new(200 * 366))?, as_of);
        if self.due(low) > as_of {
            return None;
        }
        while low < high {
            let days = (high - low).num_days();
            let mid = low + TimeDelta::days((days + 1) / 2);
            if self.due(mid) <= as_of {
                low = mid;
            } else {
                high = mid - TimeDelta::days(1);
            }
        }
        Some(low)
    }

    /// Whether data that started on `start` must be gone on `today`.
    pub fn is_due(&self, start: NaiveDate, today: NaiveDate) -> bool {
        self.due(start) <= today
    }

    /// The days reminders go out, earliest first.
    pub fn reminder_dates(&self, start: NaiveDate) -> Vec<NaiveDate> {
        let due = self.due(start);
        let mut dates: Vec<NaiveDate> = self.reminders.iter().map(|r| r.before(due)).collect();
        dates.sort();
        dates
    }

    /// The Löschklasse: the abstract start point with the standard period.
    pub fn deletion_class(&self) -> String {
        format!(
            "{:?} + {}{}",
            self.start,
            self.period,
            if self.from_year_end {
                " (ab Jahresende)"
            } else {
                ""
            }
        )
    }
}

/// When the processing a consent proof documents ended (start event `processing-ended`):
/// the later of the workshop's last day and the day of the record's last event (a
/// withdrawal, expiry or erasure). Asked only once no purpose is given any more: while one
/// is, the processing goes on and the proof is not due at all.
pub fn processing_ended(workshop_ended: NaiveDate, last_event: Option<NaiveDate>) -> NaiveDate {
    last_event.map_or(workshop_ended, |day| day.max(workshop_ended))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processing_ends_with_the_workshop_or_the_last_event_whichever_is_later() {
        let ended = d("2024-05-03");
        assert_eq!(processing_ended(ended, None), ended);
        // Recorded before the workshop ended (refusals, acknowledgements): its end.
        assert_eq!(processing_ended(ended, Some(d("2024-05-01"))), ended);
        // Withdrawn later: the clock starts at the withdrawal.
        assert_eq!(
            processing_ended(ended, Some(d("2025-02-10"))),
            d("2025-02-10")
        );
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn cutoff_is_the_latest_due_start() {
        // Against the definition, day by day, for periods with month ends and year ends.
        for (period, year_end) in [
            ("P3Y", true),
            ("P29M", false),
            ("P1D", false),
            ("P1M", false),
            ("P0D", false),
        ] {
            let r = rule(period, year_end);
            for as_of in [
                "2027-02-28",
                "2027-03-31",
                "2028-02-29",
                "2030-12-31",
                "2031-01-01",
            ] {
                let as_of = d(as_of);
                let cutoff = r.latest_start_due_by(as_of).unwrap();
                assert!(r.due(cutoff) <= as_of, "{period} {as_of}");
                assert!(
                    r.due(cutoff + TimeDelta::days(1)) > as_of,
                    "{period} {as_of}"
                );
            }
        }
    }

    fn rule(period: &str, from_year_end: bool) -> RetentionRule {
        RetentionRule {
            category: "x".into(),
            title: Localized {
                de: "x".into(),
                en: None,
            },
            version: 1,
            start: StartEvent::WorkshopEnded,
            period: Period::parse(period).unwrap(),
            from_year_end,
            action: Action::Delete,
            legal_basis: "x".into(),
            reminders: vec![],
        }
    }

    #[test]
    fn periods_parse_and_print() {
        assert_eq!(
            Period::parse("P3Y").unwrap(),
            Period {
                years: 3,
                months: 0,
                days: 0
            }
        );
        assert_eq!(
            Period::parse("P1Y6M2W1D").unwrap(),
            Period {
                years: 1,
                months: 6,
                days: 15
            }
        );
        assert_eq!(Period::parse("P29M").unwrap().to_string(), "P29M");
        for bad in ["3Y", "P", "PT1H", "P1D1Y", "P1X", "P1", "PY"] {
            assert!(Period::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn due_dates() {
        // Three years after the end of the calendar year in which the workshop took place.
        // The data is kept through 31 December 2030 and goes the next day.
        assert_eq!(rule("P3Y", true).due(d("2027-03-16")), d("2031-01-01"));
        assert_eq!(rule("P3Y", true).due(d("2027-12-31")), d("2031-01-01"));
        assert_eq!(rule("P3Y", true).due(d("2028-01-01")), d("2032-01-01"));
        // 29 months after the last re-authorisation.
        assert_eq!(rule("P29M", false).due(d("2025-01-31")), d("2027-06-30"));
        assert!(!rule("P30D", false).is_due(d("2027-01-01"), d("2027-01-30")));
        assert!(rule("P30D", false).is_due(d("2027-01-01"), d("2027-01-31")));
    }

    #[test]
    fn reminders_before_the_deadline() {
        let mut r = rule("P29M", false);
        r.reminders = vec![Period::parse("P3M").unwrap(), Period::parse("P1M").unwrap()];
        // The third letter at 26 months, then three months' grace.
        assert_eq!(
            r.reminder_dates(d("2025-01-15")),
            [d("2027-03-15"), d("2027-05-15")]
        );
    }

    /// `retention.toml` with `P700000000W` overflowed while parsing, `P400000000Y` when the
    /// due date was computed (a panic at startup on debug builds, a wrong date on release
    /// builds). Found while checking the `policy_file` fuzz target's harness.
    #[test]
    fn huge_periods_are_refused_and_dates_saturate() {
        for huge in ["P700000000W", "P400000000Y", "P101Y", "P1201M", "P36601D"] {
            assert!(Period::parse(huge).is_err(), "{huge} accepted");
        }
        assert!(Period::parse("P100Y").is_ok());
        let r = rule("P100Y", true);
        assert_eq!(r.due(d("2026-05-01")), d("2127-01-01"));
        let beyond = Period {
            years: u32::MAX,
            months: u32::MAX,
            days: u32::MAX,
        };
        assert_eq!(beyond.after(d("2026-05-01")), NaiveDate::MAX);
        assert_eq!(beyond.before(d("2026-05-01")), NaiveDate::MIN);
        let days = Period::parse("P30D").unwrap();
        assert_eq!(days.after(NaiveDate::MAX), NaiveDate::MAX);
        assert_eq!(days.before(NaiveDate::MIN), NaiveDate::MIN);
    }
}
