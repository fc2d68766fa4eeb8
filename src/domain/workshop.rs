//! Workshops: the events participants consent for. A workshop uses one notice, and the
//! notice determines the controller.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::consent::FieldError;

/// URL-safe workshop identifier, as in `/w/{slug}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let slug = raw.trim();
        let ok = (2..=80).contains(&slug.len())
            && slug
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !slug.starts_with('-')
            && !slug.ends_with('-');
        if ok {
            Ok(Slug(slug.to_owned()))
        } else {
            Err(FieldError::new(
                "slug",
                "must be 2–80 characters of lowercase letters, digits and '-' \
                 (e.g. autorisierung-koeln-2027-03)",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The kinds of event the organisers run (see the minutes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
#[value(rename_all = "kebab-case")]
pub enum WorkshopKind {
    Authorisation,
    ReAuthorisation,
    Erfahrungsaustausch,
    Seminar,
    Other,
}

impl WorkshopKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkshopKind::Authorisation => "authorisation",
            WorkshopKind::ReAuthorisation => "re-authorisation",
            WorkshopKind::Erfahrungsaustausch => "erfahrungsaustausch",
            WorkshopKind::Seminar => "seminar",
            WorkshopKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    pub fn label_de(self) -> &'static str {
        match self {
            WorkshopKind::Authorisation => "Autorisierungsworkshop",
            WorkshopKind::ReAuthorisation => "Re-Autorisierungsworkshop",
            WorkshopKind::Erfahrungsaustausch => "Erfahrungsaustausch",
            WorkshopKind::Seminar => "Seminar",
            WorkshopKind::Other => "Veranstaltung",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            WorkshopKind::Authorisation => "Authorisation workshop",
            WorkshopKind::ReAuthorisation => "Re-authorisation workshop",
            WorkshopKind::Erfahrungsaustausch => "Experience exchange",
            WorkshopKind::Seminar => "Seminar",
            WorkshopKind::Other => "Event",
        }
    }
}

/// A validated workshop before it is stored.
#[derive(Clone, Debug)]
pub struct NewWorkshop {
    pub slug: Slug,
    pub title: String,
    pub kind: WorkshopKind,
    pub location: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub notice_id: String,
    pub controller_id: String,
}

/// Workshops lie in this century: a year outside it is a typing error ("27-03-01" is the
/// year 27), and retention dates counted from it would be meaningless.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;

impl NewWorkshop {
    pub fn check_dates(starts_on: NaiveDate, ends_on: NaiveDate) -> Result<(), FieldError> {
        for (field, date) in [("starts", starts_on), ("ends", ends_on)] {
            if !YEARS.contains(&date.year()) {
                return Err(FieldError::new(
                    field,
                    "must be a date in the years 2000 to 2099",
                ));
            }
        }
        if ends_on < starts_on {
            return Err(FieldError::new("ends", "must not be before the start date"));
        }
        Ok(())
    }

    pub fn parse_title(raw: &str) -> Result<String, FieldError> {
        let title = raw.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(FieldError::new("title", "must be 1–200 characters"));
        }
        if title.chars().any(char::is_control) {
            return Err(FieldError::new(
                "title",
                "must not contain control characters",
            ));
        }
        Ok(title.to_owned())
    }

    /// Empty means "no location".
    pub fn parse_location(raw: Option<&str>) -> Result<Option<String>, FieldError> {
        super::text::line(raw.unwrap_or(""), "location", 200)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(Slug::parse("autorisierung-koeln-2027").is_ok());
        for bad in ["A", "Köln", "-x", "x-", "a b", ""] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_must_be_ordered() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(NewWorkshop::check_dates(d("2027-01-02"), d("2027-01-01")).is_err());
        assert!(NewWorkshop::check_dates(d("2027-01-01"), d("2027-01-01")).is_ok());
        assert!(NewWorkshop::check_dates(d("0027-03-01"), d("2027-03-01")).is_err());
        assert!(NewWorkshop::check_dates(d("2027-03-01"), d("9999-12-31")).is_err());
    }

    #[test]
    fn titles_and_locations_are_plain_text() {
        assert!(NewWorkshop::parse_title("Köln\u{0}").is_err());
        assert!(NewWorkshop::parse_location(Some("Bonn\u{7}")).is_err());
        assert_eq!(NewWorkshop::parse_location(Some("  ")), Ok(None));
        assert_eq!(
            NewWorkshop::parse_location(Some(" Bonn ")),
            Ok(Some("Bonn".into()))
        );
    }
}
