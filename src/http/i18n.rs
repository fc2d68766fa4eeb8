//! The words of the participant pages, in German and English.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Berlin;

use crate::domain::consent::PurposeState;
use crate::domain::notice::Language;

pub struct Texts {
    pub lang: &'static str,
    pub skip_to_content: &'static str,
    pub controller: &'static str,
    pub dpo: &'static str,
    pub workshop_dates: &'static str,
    pub location: &'static str,
    pub notice_version: &'static str,
    pub effective_since: &'static str,
    pub form_heading: &'static str,
    pub name: &'static str,
    pub email: &'static str,
    pub organisation: &'static str,
    pub optional: &'static str,
    pub optional_purposes: &'static str,
    pub optional_hint: &'static str,
    pub required_purposes: &'static str,
    pub acknowledge: &'static str,
    pub submit: &'static str,
    pub receipt_heading: &'static str,
    pub receipt_saved: &'static str,
    pub receipt_keep_link: &'static str,
    pub receipt_id: &'static str,
    pub recorded_at: &'static str,
    pub your_choices: &'static str,
    pub withdraw: &'static str,
    pub withdraw_all: &'static str,
    pub withdrawn_notice: &'static str,
    pub nothing_to_withdraw: &'static str,
    pub history: &'static str,
    pub personal_link: &'static str,
    pub read_agreed_text: &'static str,
    pub your_documents: &'static str,
    pub download_record_pdf: &'static str,
    pub download_own_data: &'static str,
    pub reconsent_heading: &'static str,
    pub reconsent_intro: &'static str,
    pub changed: &'static str,
    pub renewed: &'static str,
    pub renewed_withdrawal: &'static str,
    pub errors_heading: &'static str,
    pub not_found: &'static str,
    pub stale_notice: &'static str,
    pub must_acknowledge: &'static str,
    pub form_outdated: &'static str,
    pub no_notice: &'static str,
    pub open_workshops: &'static str,
    pub no_open_workshops: &'static str,
    pub legal_basis: &'static str,
    pub other_language: (&'static str, &'static str),
}

pub const DE: Texts = Texts {
    lang: "de",
    skip_to_content: "Zum Inhalt springen",
    controller: "Verantwortlich",
    dpo: "Datenschutzbeauftragte/r",
    workshop_dates: "Termin",
    location: "Ort",
    notice_version: "Fassung",
    effective_since: "gültig seit",
    form_heading: "Ihre Angaben und Einwilligungen",
    name: "Name",
    email: "E-Mail-Adresse",
    organisation: "Organisation",
    optional: "freiwillig",
    optional_purposes: "Freiwillige Einwilligungen",
    optional_hint: "Jede Einwilligung ist freiwillig und unabhängig von der Teilnahme. Sie können sie jederzeit über Ihren persönlichen Link widerrufen.",
    required_purposes: "Für die Teilnahme erforderlich",
    acknowledge: "Ich habe die Datenschutzhinweise gelesen und zur Kenntnis genommen.",
    submit: "Absenden",
    receipt_heading: "Ihre Empfangsbestätigung",
    receipt_saved: "Ihre Angaben wurden gespeichert.",
    receipt_keep_link: "Bitte bewahren Sie diesen persönlichen Link auf: Damit sehen Sie Ihre Entscheidungen und können Einwilligungen jederzeit mit einem Klick widerrufen.",
    receipt_id: "Belegnummer",
    recorded_at: "Erfasst am",
    your_choices: "Ihre Entscheidungen",
    withdraw: "Widerrufen",
    withdraw_all: "Alle Einwilligungen widerrufen",
    withdrawn_notice: "Ihr Widerruf wurde gespeichert. Er gilt ab sofort; die Verarbeitung bis zum Widerruf bleibt rechtmäßig.",
    nothing_to_withdraw: "Es gibt keine erteilte Einwilligung, die widerrufen werden könnte.",
    history: "Verlauf",
    personal_link: "Persönlicher Link",
    read_agreed_text: "Den Wortlaut lesen, dem Sie zugestimmt haben",
    your_documents: "Ihre Unterlagen",
    download_record_pdf: "Einwilligungsnachweis als PDF (signiert)",
    download_own_data: "Ihre gespeicherten Daten (Art. 15 DSGVO)",
    reconsent_heading: "Die Datenschutzhinweise wurden geändert",
    reconsent_intro: "Einige Zwecke sind neu oder wurden wesentlich geändert. Ihre frühere Einwilligung gilt dafür nicht; bitte entscheiden Sie erneut. Es gilt jetzt",
    changed: "neu oder geändert",
    renewed: "Sie haben erneut entschieden:",
    renewed_withdrawal: "Ein Widerruf über diesen Link gilt auch für Ihre erneute Entscheidung.",
    errors_heading: "Bitte prüfen Sie Ihre Angaben",
    not_found: "Diese Seite gibt es nicht (mehr).",
    must_acknowledge: "Ohne diese Bestätigung können wir Ihre Anmeldung nicht speichern. Bitte setzen Sie das Häkchen bei:",
    form_outdated: "Das Formular ist nicht mehr aktuell. Bitte laden Sie die Seite neu und füllen Sie es noch einmal aus.",
    stale_notice: "Die Datenschutzhinweise haben sich geändert, während Sie das Formular ausgefüllt haben. Bitte lesen Sie die aktuelle Fassung und senden Sie das Formular erneut.",
    no_notice: "Für diese Veranstaltung sind derzeit keine gültigen Datenschutzhinweise hinterlegt.",
    open_workshops: "Aktuelle Veranstaltungen",
    no_open_workshops: "Derzeit sind keine Veranstaltungen eingetragen.",
    legal_basis: "Rechtsgrundlage",
    other_language: ("en", "English"),
};

pub const EN: Texts = Texts {
    lang: "en",
    skip_to_content: "Skip to content",
    controller: "Controller",
    dpo: "Data protection officer",
    workshop_dates: "Dates",
    location: "Location",
    notice_version: "Version",
    effective_since: "in force since",
    form_heading: "Your details and consents",
    name: "Name",
    email: "E-mail address",
    organisation: "Organisation",
    optional: "optional",
    optional_purposes: "Optional consents",
    optional_hint: "Each consent is voluntary and independent of taking part. You can withdraw it at any time through your personal link.",
    required_purposes: "Needed to take part",
    acknowledge: "I have read and taken note of the privacy notice.",
    submit: "Submit",
    receipt_heading: "Your receipt",
    receipt_saved: "Your details have been recorded.",
    receipt_keep_link: "Please keep this personal link: it shows your choices and lets you withdraw any consent with one click, at any time.",
    receipt_id: "Receipt number",
    recorded_at: "Recorded on",
    your_choices: "Your choices",
    withdraw: "Withdraw",
    withdraw_all: "Withdraw all consents",
    withdrawn_notice: "Your withdrawal has been recorded. It applies from now on; processing before it remains lawful.",
    nothing_to_withdraw: "There is no given consent left to withdraw.",
    history: "History",
    personal_link: "Personal link",
    read_agreed_text: "Read the exact text you agreed to",
    your_documents: "Your documents",
    download_record_pdf: "Consent record as PDF (signed)",
    download_own_data: "The data stored about you (Art. 15 GDPR)",
    reconsent_heading: "The privacy notice has changed",
    reconsent_intro: "Some purposes are new or have changed materially. Your earlier consent does not cover them; please decide again. Now in force:",
    changed: "new or changed",
    renewed: "You decided again:",
    renewed_withdrawal: "A withdrawal through this link also applies to the decision you made again.",
    errors_heading: "Please check your details",
    not_found: "This page does not exist (any more).",
    must_acknowledge: "We cannot save your registration without this confirmation. Please tick:",
    form_outdated: "The form is out of date. Please reload the page and fill it in again.",
    stale_notice: "The privacy notice changed while you were filling in the form. Please read the current version and submit the form again.",
    no_notice: "No privacy notice is currently in force for this event.",
    open_workshops: "Current events",
    no_open_workshops: "No events are listed at the moment.",
    legal_basis: "Legal basis",
    other_language: ("de", "Deutsch"),
};

pub fn texts(lang: Language) -> &'static Texts {
    match lang {
        Language::De => &DE,
        Language::En => &EN,
    }
}

pub fn state_label(state: PurposeState, lang: Language) -> &'static str {
    match (state, lang) {
        (PurposeState::Acknowledged, Language::De) => "zur Kenntnis genommen",
        (PurposeState::Given, Language::De) => "eingewilligt",
        (PurposeState::Refused, Language::De) => "nicht eingewilligt",
        (PurposeState::Withdrawn, Language::De) => "widerrufen",
        (PurposeState::Expired, Language::De) => "abgelaufen",
        (PurposeState::Erased, Language::De) => "gelöscht",
        (PurposeState::ReconsentRequested, Language::De) => "erneute Einwilligung erbeten",
        (PurposeState::ReconsentRequested, Language::En) => "asked to consent again",
        (PurposeState::Acknowledged, Language::En) => "acknowledged",
        (PurposeState::Given, Language::En) => "consent given",
        (PurposeState::Refused, Language::En) => "not given",
        (PurposeState::Withdrawn, Language::En) => "withdrawn",
        (PurposeState::Expired, Language::En) => "expired",
        (PurposeState::Erased, Language::En) => "erased",
    }
}

/// A time for people: Europe/Berlin, in the reader's language.
pub fn format_time(at: DateTime<Utc>, lang: Language) -> String {
    let local = at.with_timezone(&Berlin);
    match lang {
        Language::De => {
            // German readers know the zones as MEZ and MESZ, not CET and CEST.
            use chrono::Offset;
            let zone = if local.offset().fix().local_minus_utc() == 3600 {
                "MEZ"
            } else {
                "MESZ"
            };
            format!("{} Uhr ({zone})", local.format("%d.%m.%Y, %H:%M"))
        }
        Language::En => local.format("%-d %b %Y, %H:%M (%Z)").to_string(),
    }
}

pub fn format_date(date: NaiveDate, lang: Language) -> String {
    match lang {
        Language::De => date.format("%d.%m.%Y").to_string(),
        Language::En => date.format("%-d %b %Y").to_string(),
    }
}

/// The heading of an error page.
pub fn error_title(status: axum::http::StatusCode, lang: Language) -> &'static str {
    let de = lang == Language::De;
    match status.as_u16() {
        400 | 415 => {
            if de {
                "Anfrage nicht lesbar"
            } else {
                "Bad request"
            }
        }
        401 => {
            if de {
                "Anmeldung erforderlich"
            } else {
                "Sign-in required"
            }
        }
        403 | 405 => {
            if de {
                "Nicht möglich"
            } else {
                "Not allowed"
            }
        }
        404 => {
            if de {
                "Nicht gefunden"
            } else {
                "Not found"
            }
        }
        409 => {
            if de {
                "Nicht mehr aktuell"
            } else {
                "Out of date"
            }
        }
        413 => {
            if de {
                "Zu groß"
            } else {
                "Too large"
            }
        }
        422 => {
            if de {
                "Bitte prüfen Sie Ihre Angaben"
            } else {
                "Please check your details"
            }
        }
        429 => {
            if de {
                "Zu viele Anfragen"
            } else {
                "Too many requests"
            }
        }
        503 => {
            if de {
                "Vorübergehend nicht verfügbar"
            } else {
                "Temporarily unavailable"
            }
        }
        _ => {
            if de {
                "Fehler"
            } else {
                "Error"
            }
        }
    }
}

/// What an error page says, in German; English pages say the error's own message.
pub fn error_words_de(error: &crate::http::error::Error) -> String {
    use crate::http::error::Error;
    match error {
        Error::NotFound(_) => DE.not_found.into(),
        Error::Conflict {
            code: "no_notice_in_force",
            ..
        } => DE.no_notice.into(),
        Error::Conflict { message, .. } => format!(
            "Das ging nicht, weil sich der Stand inzwischen geändert hat ({message}). Bitte laden Sie die Seite neu."
        ),
        // The field and, where no German words are known for it, the API's own message.
        Error::Invalid(e) => format!(
            "{}: {}",
            e.field,
            field_problem(&e.message, Language::De).unwrap_or_else(|| e.message.clone())
        ),
        Error::Malformed { .. } | Error::UnsupportedMediaType => {
            "Die Anfrage konnte nicht gelesen werden. Bitte laden Sie die Seite neu und versuchen Sie es noch einmal.".into()
        }
        Error::PayloadTooLarge => "Die gesendeten Daten sind zu groß.".into(),
        Error::MethodNotAllowed => "Diese Seite lässt sich so nicht aufrufen.".into(),
        Error::Unauthorized => "Bitte melden Sie sich an.".into(),
        Error::Forbidden => "Ihre Rolle darf das nicht.".into(),
        Error::NotPermitted(reason) => not_permitted_de(reason).into(),
        Error::CsrfFailed => {
            "Diese Aktion kam nicht von dieser Seite oder ist abgelaufen. Bitte öffnen Sie die Seite neu und versuchen Sie es noch einmal.".into()
        }
        Error::RateLimited => "Zu viele Anfragen in kurzer Zeit. Bitte warten Sie einen Moment.".into(),
        Error::Unavailable(_) | Error::StorageFull => {
            "Der Dienst ist gerade nicht erreichbar; es wurde nichts gespeichert. Bitte versuchen Sie es in einigen Minuten noch einmal.".into()
        }
        Error::Internal(_) => "Ein interner Fehler ist aufgetreten; er wurde protokolliert.".into(),
    }
}

/// The rules behind `Error::NotPermitted`, in German.
pub fn not_permitted_de(reason: &str) -> &'static str {
    match reason {
        r if r.starts_with("the author of a version") => {
            "Wer eine Fassung verfasst hat, darf sie nicht prüfen (Vier-Augen-Prinzip)."
        }
        r if r.starts_with("the submitter of a version") => {
            "Wer eine Fassung eingereicht hat, darf sie nicht prüfen (Vier-Augen-Prinzip)."
        }
        r if r.starts_with("only a lawyer") => "Nur Jurist:innen dürfen eine Fassung prüfen.",
        _ => "Das ist nach den Regeln des Dienstes nicht erlaubt.",
    }
}

/// A field's problem in the reader's language. The domain speaks English (the API's
/// messages); `None` for a German reader when the message is not known here.
pub fn field_problem(message: &str, lang: Language) -> Option<String> {
    if lang == Language::En {
        return Some(message.to_owned());
    }
    field_problem_de(message)
}

fn field_problem_de(message: &str) -> Option<String> {
    if message == "is required" {
        return Some("fehlt".into());
    }
    if let Some(n) = message
        .strip_prefix("must be at most ")
        .and_then(|rest| rest.strip_suffix(" characters"))
    {
        return Some(format!("darf höchstens {n} Zeichen lang sein"));
    }
    if message.contains("control characters") {
        return Some("enthält unzulässige Steuerzeichen".into());
    }
    if message.contains("(no @)") {
        return Some("ist keine E-Mail-Adresse (das @ fehlt)".into());
    }
    if message.contains("e-mail address") {
        return Some("ist keine gültige E-Mail-Adresse".into());
    }
    if message.contains("needs a comment") {
        return Some("eine Entscheidung braucht einen Kommentar für den Prüfverlauf".into());
    }
    None
}

/// A refused step on a staff page, in German where the reason is one of the review rules or a
/// field's problem; other messages (states, names of things) as the API gives them.
pub fn staff_problem(error: &crate::http::error::Error, lang: Language) -> String {
    use crate::http::error::Error;
    match (error, lang) {
        (Error::NotPermitted(reason), Language::De) => not_permitted_de(reason).into(),
        (Error::Invalid(e), Language::De) if e.field == "comment" => {
            format!(
                "Kommentar: {}",
                field_problem(&e.message, lang).unwrap_or_else(|| e.message.clone())
            )
        }
        (other, _) => other.public_message(),
    }
}
