//! The letters to authorised consultants before their listing is deleted, in German or
//! English. Pure: the words only; queuing and sending happen elsewhere.

use chrono::NaiveDate;

use super::notice::Language;

/// A letter's subject line and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub body: String,
}

fn date(d: NaiveDate, lang: Language) -> String {
    match lang {
        Language::De => d.format("%d.%m.%Y").to_string(),
        Language::En => d.format("%-d %B %Y").to_string(),
    }
}

/// Reminder `n` of `of` before the listing is deleted on `due`.
pub fn reminder(
    lang: Language,
    name: &str,
    n: usize,
    of: usize,
    authorised_on: NaiveDate,
    due: NaiveDate,
) -> Letter {
    let (start, due) = (date(authorised_on, lang), date(due, lang));
    match lang {
        Language::De => Letter {
            subject: format!("Erinnerung {n} von {of}: Ihre Autorisierung läuft am {due} ab"),
            body: format!(
                "Guten Tag {name},\n\nIhre letzte Autorisierung oder Re-Autorisierung war am {start}. Bitte nehmen Sie \
                 bis zum {due} an einem Erfahrungsaustausch teil; sonst wird Ihr Eintrag in der Beraterliste an \
                 diesem Tag gelöscht.\n"
            ),
        },
        Language::En => Letter {
            subject: format!("Reminder {n} of {of}: your authorisation expires on {due}"),
            body: format!(
                "Dear {name},\n\nYour last authorisation or re-authorisation was on {start}. Please attend an \
                 Erfahrungsaustausch (experience exchange) by {due}; otherwise your entry in the list of \
                 consultants will be deleted on that day.\n"
            ),
        },
    }
}

/// The one notice to a consultant whose authorisation had lapsed before consentd knew them.
pub fn lapsed(lang: Language, name: &str, authorised_on: NaiveDate, due: NaiveDate) -> Letter {
    let (start, due) = (date(authorised_on, lang), date(due, lang));
    match lang {
        Language::De => Letter {
            subject: format!("Ihre Autorisierung ist abgelaufen – Frist bis {due}"),
            body: format!(
                "Guten Tag {name},\n\nIhre Autorisierung als Beraterin oder Berater der Offensive Mittelstand ist \
                 abgelaufen (letzte Autorisierung am {start}). Wenn Sie bis zum {due} an einem Erfahrungsaustausch \
                 teilnehmen, bleibt Ihr Eintrag in der Beraterliste bestehen; sonst wird er an diesem Tag gelöscht.\n"
            ),
        },
        Language::En => Letter {
            subject: format!("Your authorisation has expired – deadline {due}"),
            body: format!(
                "Dear {name},\n\nYour authorisation as a consultant of Offensive Mittelstand has expired (last \
                 authorisation on {start}). If you attend an Erfahrungsaustausch (experience exchange) by {due}, \
                 your entry in the list of consultants stays; otherwise it will be deleted on that day.\n"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn letters_are_in_the_language_asked_for_with_its_date_format() {
        let de = reminder(
            Language::De,
            "Berta",
            3,
            3,
            d("2025-01-15"),
            d("2027-06-15"),
        );
        assert_eq!(
            de.subject,
            "Erinnerung 3 von 3: Ihre Autorisierung läuft am 15.06.2027 ab"
        );
        assert!(de.body.starts_with("Guten Tag Berta") && de.body.contains("15.01.2025"));
        let en = reminder(
            Language::En,
            "Berta",
            3,
            3,
            d("2025-01-15"),
            d("2027-06-15"),
        );
        assert_eq!(
            en.subject,
            "Reminder 3 of 3: your authorisation expires on 15 June 2027"
        );
        assert!(en.body.starts_with("Dear Berta") && en.body.contains("15 January 2025"));
        let lapsed_en = lapsed(Language::En, "Lena", d("2024-01-10"), d("2027-09-20"));
        assert!(
            lapsed_en.subject.contains("expired") && lapsed_en.body.contains("20 September 2027")
        );
        assert!(
            lapsed(Language::De, "Lena", d("2024-01-10"), d("2027-09-20"))
                .subject
                .contains("abgelaufen")
        );
    }
}
