//! The Art. 15 access report as a PDF: the same content as the JSON export, for the person
//! and for the file.

use super::consent_record::Labels;
use super::notice_pdf::{FilingBlock, FilingDocument, FilingTable, PageNumbering, render_document};
use crate::domain::notice::{Language, LegalBasis};
use crate::subject_rights::SubjectExport;

fn table(headers: &[&str], widths: &[f32], rows: Vec<Vec<String>>) -> FilingBlock {
    FilingBlock::Table(FilingTable {
        headers: headers.iter().map(|h| (*h).to_owned()).collect(),
        widths: widths.to_vec(),
        rows,
    })
}

fn or_dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "–".to_owned())
}

/// The report is German: states, ways and times as the consent-record PDF writes them.
const DE: Labels = Labels { en: false };

/// A stored time (RFC 3339) as German Berlin time with its offset; as stored if it is not one.
fn when(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| DE.berlin(t.with_timezone(&chrono::Utc)))
        .unwrap_or_else(|_| at.to_owned())
}

fn when_or_dash(at: &Option<String>) -> String {
    at.as_deref().map_or_else(|| "–".to_owned(), when)
}

fn legal_basis(code: &str) -> String {
    LegalBasis::parse(code).map_or_else(|| code.to_owned(), |b| b.citation(Language::De).to_owned())
}

fn letter_state(state: &str) -> &str {
    match state {
        "queued" => "wartet",
        "sending" => "wird gesendet",
        "sent" => "gesendet",
        "failed" => "fehlgeschlagen",
        "cancelled" => "abgebrochen",
        other => other,
    }
}

fn hold_scope(scope: &str) -> &str {
    match scope {
        "subject" => "Person",
        "workshop" => "Veranstaltung",
        "category" => "Datenart",
        other => other,
    }
}

fn section(body: &mut Vec<FilingBlock>, title: &str, empty: bool, note: &str) -> bool {
    body.push(FilingBlock::Section(title.to_owned()));
    if empty {
        body.push(FilingBlock::Note(note.to_owned()));
    }
    !empty
}

pub fn render(e: &SubjectExport) -> Vec<u8> {
    let mut body = Vec::new();

    if section(
        &mut body,
        "Verantwortliche Stelle",
        e.controller.is_empty(),
        "Keine Angaben",
    ) {
        for c in &e.controller {
            body.push(FilingBlock::Facts(vec![
                ("Name".to_owned(), c.name.clone()),
                ("Anschrift".to_owned(), c.address.clone()),
                ("E-Mail".to_owned(), c.email.clone()),
                ("Datenschutzbeauftragte(r)".to_owned(), c.dpo.clone()),
            ]));
        }
    }

    if section(
        &mut body,
        "Gespeicherte Angaben zur Person",
        e.identity.is_empty(),
        "Keine",
    ) {
        body.push(table(
            &[
                "Kennung",
                "Name",
                "E-Mail",
                "Organisation",
                "Erfasst",
                "Gelöscht",
            ],
            &[1.9, 1.6, 2.0, 1.7, 1.5, 1.5],
            e.identity
                .iter()
                .map(|i| {
                    vec![
                        i.subject_id.clone(),
                        or_dash(&i.name),
                        or_dash(&i.email),
                        or_dash(&i.organisation),
                        when(&i.created_at),
                        when_or_dash(&i.erased_at),
                    ]
                })
                .collect(),
        ));
    }

    if section(
        &mut body,
        "Einwilligungen und ihr Verlauf",
        e.consents.is_empty(),
        "Keine",
    ) {
        for c in &e.consents {
            body.push(FilingBlock::Heading(format!(
                "{} ({} – {})",
                c.workshop.title, c.workshop.starts_on, c.workshop.ends_on
            )));
            body.push(FilingBlock::Facts(vec![
                ("Beleg-Nr.".to_owned(), c.receipt_id.clone()),
                ("Erfasst".to_owned(), when(&c.recorded_at)),
                ("Erfassungsweg".to_owned(), DE.method(&c.collection_method)),
                (
                    "Datenschutzhinweise".to_owned(),
                    format!(
                        "{} Fassung {} ({})",
                        c.notice.id, c.notice.version, c.notice.language
                    ),
                ),
                ("SHA-256 des Textes".to_owned(), c.notice.sha256.clone()),
                ("IP-Adresse (gekürzt)".to_owned(), or_dash(&c.ip_truncated)),
                ("Browser".to_owned(), or_dash(&c.user_agent)),
            ]));
            body.push(table(
                &["Zweck", "Rechtsgrundlage", "Stand", "Seit"],
                &[2.0, 1.6, 1.4, 2.0],
                c.purposes
                    .iter()
                    .map(|p| {
                        vec![
                            p.id.clone(),
                            legal_basis(&p.legal_basis),
                            DE.state(&p.state),
                            when(&p.since),
                        ]
                    })
                    .collect(),
            ));
            body.push(table(
                &["Zeitpunkt", "Zweck", "Ereignis", "Durch", "Ledger"],
                &[2.0, 1.6, 1.4, 1.2, 0.8],
                c.events
                    .iter()
                    .map(|ev| {
                        vec![
                            when(&ev.at),
                            ev.purpose.clone(),
                            DE.state(&ev.state),
                            DE.actor(&ev.actor),
                            ev.ledger_seq.to_string(),
                        ]
                    })
                    .collect(),
            ));
        }
    }

    if section(
        &mut body,
        "Berichtigungen",
        e.rectifications.is_empty(),
        "Keine",
    ) {
        body.push(table(
            &["Zeitpunkt", "Felder", "Ledger"],
            &[2.0, 3.0, 1.0],
            e.rectifications
                .iter()
                .map(|r| vec![when(&r.at), r.fields.clone(), r.ledger_seq.to_string()])
                .collect(),
        ));
    }

    if section(
        &mut body,
        "Teilnahme an Veranstaltungen",
        e.attendance.is_empty(),
        "Keine",
    ) {
        body.push(table(
            &["Veranstaltung", "Titel", "Erfasst"],
            &[2.0, 3.0, 2.0],
            e.attendance
                .iter()
                .map(|a| vec![a.workshop.clone(), a.title.clone(), when(&a.recorded_at)])
                .collect(),
        ));
    }

    if section(
        &mut body,
        "Nachrichten an die Person",
        e.reminders.is_empty(),
        "Keine",
    ) {
        body.push(table(
            &["Betreff", "Stand", "Erstellt", "Abgeschlossen"],
            &[3.0, 1.2, 2.0, 2.0],
            e.reminders
                .iter()
                .map(|m| {
                    vec![
                        m.subject.clone(),
                        letter_state(&m.state).to_owned(),
                        when(&m.created_at),
                        when_or_dash(&m.finished_at),
                    ]
                })
                .collect(),
        ));
    }

    if section(
        &mut body,
        "Liste autorisierter Berater",
        e.consultant.is_none(),
        "Nicht gelistet",
    ) {
        if let Some(c) = &e.consultant {
            body.push(FilingBlock::Facts(vec![
                ("Name".to_owned(), c.name.clone()),
                ("Gelistet seit".to_owned(), when(&c.listed_since)),
                (
                    "(Re-)Autorisierungen".to_owned(),
                    c.authorisations.join(", "),
                ),
            ]));
        }
    }

    if section(
        &mut body,
        "Sperrungen (Art. 18 DSGVO, Rechtsstreit)",
        e.holds.is_empty(),
        "Keine",
    ) {
        body.push(table(
            &["Bereich", "Ziel", "Grund", "Seit", "Bis", "Aufgehoben"],
            &[1.0, 1.6, 2.4, 1.5, 1.0, 1.5],
            e.holds
                .iter()
                .map(|h| {
                    vec![
                        hold_scope(&h.scope).to_owned(),
                        h.target.clone(),
                        h.reason.clone(),
                        when(&h.since),
                        or_dash(&h.ends_on),
                        when_or_dash(&h.released_at),
                    ]
                })
                .collect(),
        ));
    }

    if section(&mut body, "Löschungen", e.deletions.is_empty(), "Keine") {
        body.push(table(
            &["Datenart", "Regel", "Ausgeführt", "Was", "Zeilen"],
            &[1.8, 0.7, 1.8, 3.0, 0.7],
            e.deletions
                .iter()
                .map(|d| {
                    vec![
                        d.category.clone(),
                        format!("v{}", d.rule_version),
                        when(&d.executed_at),
                        d.target.clone(),
                        d.rows_affected.to_string(),
                    ]
                })
                .collect(),
        ));
    }

    if section(
        &mut body,
        "Protokollierte Vorgänge",
        e.audit.is_empty(),
        "Keine",
    ) {
        body.push(table(
            &["Zeitpunkt", "Vorgang", "Bezug"],
            &[2.0, 2.0, 3.0],
            e.audit
                .iter()
                .map(|a| vec![when(&a.at), a.action.clone(), or_dash(&a.target)])
                .collect(),
        ));
    }

    body.push(FilingBlock::Section(
        "Nicht in consentd gespeichert".to_owned(),
    ));
    body.push(FilingBlock::Markdown(
        e.held_elsewhere
            .iter()
            .map(|h| format!("- {h}\n"))
            .collect::<String>(),
    ));
    body.push(FilingBlock::Section(
        "Herkunft der Angaben (Tabellen)".to_owned(),
    ));
    body.push(table(
        &["Tabelle", "Abschnitt"],
        &[2.0, 4.0],
        // Tables that never hold data about participants are no source of this report.
        e.tables
            .iter()
            .filter(|(_, w)| !w.starts_with("not about participants"))
            .map(|(t, w)| vec![t.clone(), w.clone()])
            .collect(),
    ));

    let date = chrono::DateTime::parse_from_rfc3339(&e.generated_at)
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_default();
    let first_id = e
        .identity
        .first()
        .map(|i| i.subject_id.clone())
        .unwrap_or_default();
    render_document(&FilingDocument {
        title: "Auskunft nach Art. 15 DSGVO".to_owned(),
        intro: vec![
            "Alle Daten, die consentd zu der Person speichert (Art. 15 und 20 DSGVO).".to_owned(),
            "Dieselbe Auskunft gibt es als JSON-Datei zum Weiterverarbeiten (Art. 20 DSGVO): über denselben Link wie dieses PDF.".to_owned(),
        ],
        facts: vec![
            ("Erstellt".to_owned(), when(&e.generated_at)),
            (
                "Kennungen".to_owned(),
                e.identity
                    .iter()
                    .map(|i| i.subject_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
        ],
        body,
        header_left: "Auskunft nach Art. 15 DSGVO".to_owned(),
        header_right: e.generated_at.chars().take(10).collect(),
        footer_left: format!("Kennung {first_id}"),
        author: e
            .controller
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_default(),
        subject: "Auskunft".to_owned(),
        keywords: vec!["Art. 15 DSGVO".to_owned()],
        identifier: first_id,
        date,
        page_numbering: PageNumbering::German,
    })
}
