//! The deletion report (Löschprotokoll) and the deletion concept (Löschkonzept) as PDFs for
//! filing, laid out by [`super::notice_pdf::render_document`].
//!
//! The report is built from the deletion log only, so it never holds deleted content; it
//! names subjects by the log's keyed pseudonym. Equal input gives equal bytes: the only time
//! in it is the generation time passed in, shown to the minute, so two runs started at the
//! same (simulated) time produce the same file.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::notice_pdf::{FilingBlock, FilingDocument, FilingTable, PageNumbering, render_document};
use crate::app::App;
use crate::clock::berlin_day_start;
use crate::domain::retention::{Period, RetentionRule};
use crate::store::retention::{self as store, DeletionLogEntry, Hold, Pause};

/// Everything that goes into a deletion report.
#[derive(Debug, Clone)]
pub struct DeletionReport {
    /// First and last day (Europe/Berlin).
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub generated_at: DateTime<Utc>,
    /// Ledger head (sequence number, SHA-256) when the report was made.
    pub ledger_head: (i64, String),
    /// In ledger order.
    pub entries: Vec<DeletionLogEntry>,
    /// Holds that existed on at least one day of the range ([`hold_overlaps`]).
    pub holds: Vec<Hold>,
    /// Pauses of automated deletion overlapping the range ([`pause_overlaps`]).
    pub pauses: Vec<Pause>,
    /// Readable names for actors (`user:ID` → e-mail); others are shown as stored.
    pub actors: BTreeMap<String, String>,
}

/// Whether a hold existed at some moment of [start, end): set before the range ends, and
/// neither released nor past its last day before the range starts. Holds set inside the
/// range are therefore included too.
pub fn hold_overlaps(h: &Hold, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    let ended_by_date = h
        .ends_on
        .and_then(|d| d.succ_opt())
        .and_then(berlin_day_start);
    let ended = match (h.released_at, ended_by_date) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    h.created_at < end && ended.is_none_or(|e| e > start)
}

/// Whether automated deletion was paused at some moment of [start, end).
pub fn pause_overlaps(p: &Pause, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    p.paused_at < end && p.resumed_at.is_none_or(|r| r > start)
}

/// Gathers the report for the Berlin days `from`..=`to` and renders it.
pub async fn deletion_report(app: &App, from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<u8>> {
    let (Some(start), Some(end)) = (
        berlin_day_start(from),
        to.succ_opt().and_then(berlin_day_start),
    ) else {
        anyhow::bail!("dates out of range");
    };
    // The head first: every entry listed is then covered by it (entries only grow).
    let ledger_head = crate::store::ledger::head(&app.db).await?;
    let entries = crate::retention::admin::report(app, from, to).await?;
    let holds: Vec<Hold> = store::holds(&app.db)
        .await?
        .into_iter()
        .filter(|h| hold_overlaps(h, start, end))
        .collect();
    let pauses: Vec<Pause> = store::pauses(&app.db)
        .await?
        .into_iter()
        .filter(|p| pause_overlaps(p, start, end))
        .collect();
    let actors = crate::store::users::list(&app.db)
        .await?
        .into_iter()
        .map(|u| (format!("user:{}", u.id), u.email))
        .collect();
    let entries = entries
        .iter()
        .filter(|e| e.ledger_seq <= ledger_head.0)
        .cloned()
        .collect();
    let report = DeletionReport {
        from,
        to,
        generated_at: app.clock.now(),
        ledger_head,
        entries,
        holds,
        pauses,
        actors,
    };
    // Layout is CPU work; keep it off the async workers.
    let bytes = tokio::task::spawn_blocking(move || render_deletion_report(&report)).await?;
    anyhow::ensure!(!bytes.is_empty(), "the PDF could not be written");
    Ok(bytes)
}

fn date_de(d: NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

fn minute_utc(t: DateTime<Utc>) -> String {
    t.format("%d.%m.%Y %H:%M UTC").to_string()
}

/// The pseudonym shortened for the table: 16 hex characters identify it well enough to
/// find it in the full CSV or JSON report.
fn short_pseudonym(p: Option<&str>) -> String {
    match p {
        Some(p) if p.chars().count() > 16 => format!("{}…", p.chars().take(16).collect::<String>()),
        Some(p) if !p.is_empty() => p.to_owned(),
        _ => "–".to_owned(),
    }
}

/// The tables a target names (`subjects: name, email; consent_records: …` → `subjects,
/// consent_records`); the full target is in the summary.
fn short_target(target: &str) -> String {
    let mut tables: Vec<&str> = Vec::new();
    for part in target.split(';') {
        let table = part.split(':').next().unwrap_or_default().trim();
        if !table.is_empty() && !tables.contains(&table) {
            tables.push(table);
        }
    }
    tables.join(", ")
}

fn scope_de(scope: &str) -> &str {
    match scope {
        "subject" => "Person",
        "workshop" => "Workshop",
        "category" => "Datenart",
        other => other,
    }
}

fn table(headers: &[&str], widths: &[f32], rows: Vec<Vec<String>>) -> FilingBlock {
    FilingBlock::Table(FilingTable {
        headers: headers.iter().map(|h| (*h).to_owned()).collect(),
        widths: widths.to_vec(),
        rows,
    })
}

fn facts(rows: &[(&str, String)]) -> Vec<(String, String)> {
    rows.iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// Lays out the deletion report. Pure: equal input, equal bytes.
pub fn render_deletion_report(r: &DeletionReport) -> Vec<u8> {
    let actor = |a: &str| -> String {
        if let Some(name) = r.actors.get(a) {
            return name.clone();
        }
        match a.split_once(':') {
            Some(("token", name)) => format!("API-Token {name}"),
            _ if a == "cli" => "Kommandozeile".to_owned(),
            _ => a.to_owned(),
        }
    };
    let range = format!("{} – {}", date_de(r.from), date_de(r.to));
    let (head_seq, head_sha) = (&r.ledger_head.0, r.ledger_head.1.trim());
    let rows_total: i64 = r.entries.iter().map(|e| e.rows_affected).sum();

    let mut body = Vec::new();

    // Summary per category, rule version and target.
    body.push(FilingBlock::Section(
        "Zusammenfassung je Datenart und Regel".into(),
    ));
    if r.entries.is_empty() {
        body.push(FilingBlock::Note(
            "Im Zeitraum wurde nichts gelöscht oder anonymisiert.".into(),
        ));
    } else {
        let mut groups: BTreeMap<(&str, i64, &str), (usize, i64)> = BTreeMap::new();
        for e in &r.entries {
            let g = groups
                .entry((e.category.as_str(), e.rule_version, e.target.as_str()))
                .or_default();
            g.0 += 1;
            g.1 += e.rows_affected;
        }
        let mut rows: Vec<Vec<String>> = groups
            .iter()
            .map(|((category, version, target), (count, affected))| {
                vec![
                    (*category).to_owned(),
                    format!("v{version}"),
                    count.to_string(),
                    affected.to_string(),
                    (*target).to_owned(),
                ]
            })
            .collect();
        rows.push(vec![
            "Summe".into(),
            String::new(),
            r.entries.len().to_string(),
            rows_total.to_string(),
            String::new(),
        ]);
        body.push(table(
            &[
                "Datenart",
                "Regel",
                "Einträge",
                "betroffene Zeilen",
                "Ziel (Tabellen: Spalten)",
            ],
            &[0.24, 0.08, 0.10, 0.13, 0.45],
            rows,
        ));
    }

    body.push(FilingBlock::Section(
        "Sperren (Art. 18 DSGVO, Rechtsstreit)".into(),
    ));
    body.push(FilingBlock::Note(
        "Alle Sperren, die im Zeitraum an mindestens einem Tag bestanden – auch die im Zeitraum gesetzten.".into(),
    ));
    if r.holds.is_empty() {
        body.push(FilingBlock::Note("Keine.".into()));
    } else {
        let rows = r
            .holds
            .iter()
            .map(|h| {
                let end = match (&h.released_at, h.ends_on) {
                    (Some(at), _) => format!(
                        "aufgehoben {} von {}",
                        minute_utc(*at),
                        actor(h.released_by.as_deref().unwrap_or("–"))
                    ),
                    (None, Some(d)) => format!("bis {}", date_de(d)),
                    (None, None) => "unbefristet".to_owned(),
                };
                vec![
                    format!("{}: {}", scope_de(&h.scope), h.target),
                    h.reason.clone(),
                    format!("{} von {}", minute_utc(h.created_at), actor(&h.created_by)),
                    end,
                ]
            })
            .collect();
        body.push(table(
            &["Umfang", "Grund", "gesetzt", "Ende"],
            &[0.24, 0.30, 0.23, 0.23],
            rows,
        ));
    }

    body.push(FilingBlock::Section(
        "Angehaltenes automatisches Löschen".into(),
    ));
    if r.pauses.is_empty() {
        body.push(FilingBlock::Note(
            "Im Zeitraum war das automatische Löschen nicht angehalten.".into(),
        ));
    } else {
        let rows = r
            .pauses
            .iter()
            .map(|p| {
                vec![
                    format!("{} von {}", minute_utc(p.paused_at), actor(&p.paused_by)),
                    match (&p.resumed_at, &p.resumed_by) {
                        (Some(at), by) => {
                            format!(
                                "{} von {}",
                                minute_utc(*at),
                                actor(by.as_deref().unwrap_or("–"))
                            )
                        }
                        (None, _) => "noch angehalten".to_owned(),
                    },
                    p.reason.clone(),
                ]
            })
            .collect();
        body.push(table(
            &["angehalten", "fortgesetzt", "Grund"],
            &[0.28, 0.28, 0.44],
            rows,
        ));
    }

    body.push(FilingBlock::Section("Einträge des Löschprotokolls".into()));
    if r.entries.is_empty() {
        body.push(FilingBlock::Note("Keine.".into()));
    } else {
        body.push(FilingBlock::Note(
            "Zeiten in UTC. Pseudonym: die ersten 16 Zeichen des Schlüssel-Hashes der Person (vollständig im CSV- oder JSON-Bericht). Ziel: die betroffenen Tabellen; die Spalten stehen in der Zusammenfassung.".into(),
        ));
        let rows = r
            .entries
            .iter()
            .map(|e| {
                vec![
                    e.executed_at.format("%d.%m.%Y %H:%M:%S").to_string(),
                    e.category.clone(),
                    format!("v{}", e.rule_version),
                    format!("{}\n{}", date_de(e.start_on), date_de(e.due_on)),
                    short_pseudonym(e.subject_pseudonym.as_deref()),
                    short_target(&e.target),
                    e.rows_affected.to_string(),
                    e.ledger_seq.to_string(),
                ]
            })
            .collect();
        body.push(table(
            &[
                "Ausgeführt\n(UTC)",
                "Datenart",
                "Regel",
                "Start /\nfällig",
                "Pseudonym",
                "Ziel",
                "Zeilen",
                "Ledger\nNr.",
            ],
            // Narrow columns hold only short words: a cell never wraps narrower than 60 pt.
            &[0.125, 0.145, 0.07, 0.115, 0.14, 0.23, 0.08, 0.095],
            rows,
        ));
    }

    let hash_prefix: String = head_sha.chars().take(16).collect();
    let doc = FilingDocument {
        title: "Löschprotokoll / Deletion report".into(),
        intro: vec![
            "Was im Zeitraum nach welcher Löschregel gelöscht oder anonymisiert wurde – aus dem Löschprotokoll, das nie gelöschte Inhalte enthält.".into(),
        ],
        facts: facts(&[
            ("Zeitraum", format!("{range} (Tage in Europe/Berlin)")),
            ("Erstellt", minute_utc(r.generated_at)),
            ("Einträge", r.entries.len().to_string()),
            ("Betroffene Zeilen", rows_total.to_string()),
            ("Ledger-Kopf", format!("Nr. {head_seq}")),
            ("SHA-256", head_sha.to_owned()),
        ]),
        body,
        header_left: "Löschprotokoll / Deletion report".into(),
        header_right: range.clone(),
        footer_left: format!("Ledger-Kopf Nr. {head_seq} · SHA-256 {hash_prefix}…"),
        author: "consentd".into(),
        subject: format!("Löschprotokoll {} bis {}", r.from, r.to),
        keywords: vec![
            format!("ledger-seq:{head_seq}"),
            format!("ledger-sha256:{head_sha}"),
        ],
        identifier: format!("loeschprotokoll/{}/{}", r.from, r.to),
        date: r.generated_at,
        page_numbering: PageNumbering::German,
    };
    render_document(&doc)
}

// ---------------------------------------------------------------------------------
// Deletion concept
// ---------------------------------------------------------------------------------

/// The kebab-case name a value has in the policy files (`workshop-ended`).
fn file_name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn start_de(name: &str) -> String {
    match name {
        "workshop-ended" => "Ende des Workshops (letzter Tag)",
        "consent-withdrawn" => "Widerruf der Einwilligung",
        "processing-ended" => {
            "Ende der Verarbeitung (alle Einwilligungen widerrufen, abgelaufen oder gelöscht)"
        }
        "record-created" => "Erfassung des Datensatzes",
        "last-reauthorisation" => "letzte Autorisierung oder Re-Autorisierung",
        "session-last-seen" => "letzte Nutzung der Sitzung",
        "token-ended" => "Widerruf oder Ablauf des API-Tokens",
        "account-disabled" => "Deaktivierung des Kontos",
        "message-finished" => "Versand oder Aufgabe der Nachricht",
        other => other,
    }
    .to_owned()
}

fn action_de(name: &str) -> String {
    match name {
        "delete" => "löschen",
        "anonymise" => "anonymisieren",
        "tombstone" => "personenbezogene Daten löschen; die Hashes im Ledger bleiben (Nachweis)",
        other => other,
    }
    .to_owned()
}

fn period_de(p: &Period) -> String {
    let unit = |n: u32, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    if p.years > 0 {
        parts.push(unit(p.years, "Jahr", "Jahre"));
    }
    if p.months > 0 {
        parts.push(unit(p.months, "Monat", "Monate"));
    }
    if p.days > 0 {
        parts.push(unit(p.days, "Tag", "Tage"));
    }
    if parts.is_empty() {
        "sofort".to_owned()
    } else {
        parts.join(" ")
    }
}

fn rule_period_de(r: &RetentionRule) -> String {
    format!(
        "{} ({}){}",
        period_de(&r.period),
        r.period,
        if r.from_year_end {
            ", gezählt ab Ende des Kalenderjahres"
        } else {
            ""
        }
    )
}

/// Approximate length in days, only to order the Löschklassen.
fn approx_days(p: &Period) -> u64 {
    u64::from(p.years) * 366 + u64::from(p.months) * 31 + u64::from(p.days)
}

/// Lays out the deletion concept for the rules. `enforced`: the categories the engine
/// deletes today. `as_of`: the day shown as "Stand".
pub fn render_concept(rules: &[RetentionRule], enforced: &[&str], as_of: NaiveDate) -> Vec<u8> {
    // Löschklassen: start event × period (× counted from year end), ordered by start, then
    // by length.
    let mut classes: Vec<(String, Period, bool)> = rules
        .iter()
        .map(|r| (file_name_of(&r.start), r.period, r.from_year_end))
        .collect();
    classes.sort_by(|a, b| {
        (start_de(&a.0), approx_days(&a.1), a.2, a.1.to_string()).cmp(&(
            start_de(&b.0),
            approx_days(&b.1),
            b.2,
            b.1.to_string(),
        ))
    });
    classes.dedup();
    let class_of = |r: &RetentionRule| {
        let key = (file_name_of(&r.start), r.period, r.from_year_end);
        classes
            .iter()
            .position(|c| *c == key)
            .map(|i| format!("LK {}", i + 1))
            .unwrap_or_default()
    };
    let is_enforced = |r: &RetentionRule| enforced.contains(&r.category.as_str());
    let held_elsewhere =
        |r: &RetentionRule| crate::retention::HELD_ELSEWHERE.contains(&r.category.as_str());

    let mut body = vec![
        FilingBlock::Section("Grundsätze".into()),
        FilingBlock::Markdown(
            "Jede Datenart hat genau eine Löschregel: einen **Startzeitpunkt** und eine \
             **Regellöschfrist**. Startzeitpunkt und Frist zusammen bilden die **Löschklasse**.\n\n\
             - Ausnahmen (Sperre nach Art. 18 DSGVO, Rechtsstreit) setzen die Löschung befristet \
             und dokumentiert aus.\n\
             - Das automatische Löschen kann mit Begründung angehalten werden.\n\
             - Jede Löschung steht im Löschprotokoll, verkettet im Ledger; das Protokoll enthält \
             nie die gelöschten Inhalte.\n"
                .into(),
        ),
        FilingBlock::Section("Übersicht der Datenarten".into()),
        table(
            &["Datenart", "Bezeichnung", "Klasse", "Aktion", "automatisch"],
            &[0.23, 0.36, 0.085, 0.185, 0.14],
            rules
                .iter()
                .map(|r| {
                    vec![
                        r.category.clone(),
                        r.title.de.clone(),
                        class_of(r),
                        action_de(&file_name_of(&r.action)),
                        if is_enforced(r) {
                            "ja"
                        } else if held_elsewhere(r) {
                            "keine Daten in consentd"
                        } else {
                            "noch nicht"
                        }
                        .to_owned(),
                    ]
                })
                .collect(),
        ),
        FilingBlock::Section("Matrix der Löschklassen".into()),
        FilingBlock::Note(
            "Je Zeile eine Löschklasse: Startzeitpunkt × Regellöschfrist, mit den Datenarten, die ihr folgen."
                .into(),
        ),
        table(
            &["Löschklasse", "Startzeitpunkt", "Regellöschfrist", "Datenarten"],
            &[0.14, 0.30, 0.26, 0.30],
            classes
                .iter()
                .enumerate()
                .map(|(i, (start, period, year_end))| {
                    let members: Vec<&str> = rules
                        .iter()
                        .filter(|r| {
                            file_name_of(&r.start) == *start
                                && r.period == *period
                                && r.from_year_end == *year_end
                        })
                        .map(|r| r.category.as_str())
                        .collect();
                    vec![
                        format!("LK {}", i + 1),
                        start_de(start),
                        format!(
                            "{} ({period}){}",
                            period_de(period),
                            if *year_end { ", ab Ende des Kalenderjahres" } else { "" }
                        ),
                        members.join("\n"),
                    ]
                })
                .collect(),
        ),
        FilingBlock::Section("Löschregeln".into()),
    ];
    for r in rules {
        body.push(FilingBlock::Heading(r.title.de.clone()));
        let mut rows = vec![
            ("Datenart", r.category.clone()),
            ("Regelversion", r.version.to_string()),
            ("Startzeitpunkt", start_de(&file_name_of(&r.start))),
            ("Regellöschfrist", rule_period_de(r)),
            ("Löschklasse", class_of(r)),
            ("Aktion", action_de(&file_name_of(&r.action))),
            ("Rechtsgrundlage", r.legal_basis.clone()),
        ];
        if !r.reminders.is_empty() {
            let before: Vec<String> = r.reminders.iter().map(period_de).collect();
            rows.push((
                "Erinnerungen",
                format!("{} vor Fristende", before.join(", ")),
            ));
        }
        rows.push((
            "Durchsetzung",
            if is_enforced(r) {
                "automatisch durch consentd".to_owned()
            } else if held_elsewhere(r) {
                "consentd hält keine solchen Daten; die Regel gilt für die Systeme der Veranstalter, \
                 die Widerrufe aus consentd erfahren"
                    .to_owned()
            } else {
                "noch nicht automatisch (Regel festgelegt; durchgesetzt, sobald die Daten in consentd liegen)"
                    .to_owned()
            },
        ));
        body.push(FilingBlock::Facts(facts(&rows)));
    }

    let enforced_count = rules.iter().filter(|r| is_enforced(r)).count();
    let date = as_of
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_default();
    let doc = FilingDocument {
        title: "Löschkonzept / Deletion concept".into(),
        intro: vec!["nach DIN 66398 und SDM-Baustein 60 („Löschen und Vernichten“)".into()],
        facts: facts(&[
            ("Stand", date_de(as_of)),
            ("Datenarten", rules.len().to_string()),
            ("Löschklassen", classes.len().to_string()),
            (
                "Durchsetzung",
                format!("{enforced_count} von {} automatisch", rules.len()),
            ),
        ]),
        body,
        header_left: "Löschkonzept / Deletion concept".into(),
        header_right: format!("Stand {}", date_de(as_of)),
        footer_left: "consentd · Löschregeln aus policies/retention.toml".into(),
        author: "consentd".into(),
        subject: "Löschkonzept nach DIN 66398".into(),
        keywords: rules
            .iter()
            .map(|r| format!("{}:v{}", r.category, r.version))
            .collect(),
        identifier: format!("loeschkonzept/{as_of}"),
        date,
        page_numbering: PageNumbering::German,
    };
    render_document(&doc)
}

/// The deletion concept of the loaded rules, as of today.
pub async fn concept(app: &App) -> anyhow::Result<Vec<u8>> {
    let rules = app.policies.retention.clone();
    let today = app.clock.today_berlin();
    let bytes = tokio::task::spawn_blocking(move || {
        render_concept(&rules, crate::retention::ENFORCED, today)
    })
    .await?;
    anyhow::ensure!(!bytes.is_empty(), "the PDF could not be written");
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn hold(created: &str, ends_on: Option<&str>, released: Option<&str>) -> Hold {
        Hold {
            id: "h".into(),
            scope: "subject".into(),
            target: "s".into(),
            reason: "Rechtsstreit".into(),
            created_by: "cli".into(),
            created_at: t(created),
            ends_on: ends_on.map(d),
            released_at: released.map(t),
            released_by: released.map(|_| "cli".into()),
        }
    }

    #[test]
    fn holds_count_when_they_existed_on_a_day_of_the_range() {
        // The range 2030-01-01..=2030-01-31 (Berlin).
        let start = berlin_day_start(d("2030-01-01")).unwrap();
        let end = berlin_day_start(d("2030-02-01")).unwrap();
        let cases = [
            (hold("2029-06-01T10:00:00Z", None, None), true),
            (hold("2030-01-15T10:00:00Z", None, None), true),
            (hold("2030-02-01T10:00:00Z", None, None), false),
            (
                hold("2029-06-01T10:00:00Z", Some("2029-12-31"), None),
                false,
            ),
            (hold("2029-06-01T10:00:00Z", Some("2030-01-01"), None), true),
            (
                hold("2029-06-01T10:00:00Z", None, Some("2029-12-30T10:00:00Z")),
                false,
            ),
            (
                hold("2029-06-01T10:00:00Z", None, Some("2030-01-02T10:00:00Z")),
                true,
            ),
            (
                hold("2030-01-10T10:00:00Z", None, Some("2030-01-10T11:00:00Z")),
                true,
            ),
        ];
        for (i, (h, expected)) in cases.iter().enumerate() {
            assert_eq!(hold_overlaps(h, start, end), *expected, "case {i}");
        }
        let pause = |at: &str, resumed: Option<&str>| Pause {
            id: "p".into(),
            reason: "Migration".into(),
            paused_by: "cli".into(),
            paused_at: t(at),
            resumed_at: resumed.map(t),
            resumed_by: resumed.map(|_| "cli".into()),
        };
        assert!(pause_overlaps(
            &pause("2029-12-01T00:00:00Z", None),
            start,
            end
        ));
        assert!(!pause_overlaps(
            &pause("2029-12-01T00:00:00Z", Some("2029-12-02T00:00:00Z")),
            start,
            end
        ));
        assert!(!pause_overlaps(
            &pause("2030-02-01T00:00:00Z", None),
            start,
            end
        ));
    }

    #[test]
    fn shortened_cells() {
        assert_eq!(
            short_target("subjects: name, email; consent_records: ip_truncated (anonymised)"),
            "subjects, consent_records"
        );
        assert_eq!(short_target("login_failures: row"), "login_failures");
        assert_eq!(
            short_pseudonym(Some(&"ab".repeat(32))),
            format!("{}…", "ab".repeat(8))
        );
        assert_eq!(short_pseudonym(None), "–");
        assert_eq!(
            period_de(&Period::parse("P1Y6M").unwrap()),
            "1 Jahr 6 Monate"
        );
        assert_eq!(period_de(&Period::parse("P0D").unwrap()), "sofort");
    }

    fn big_report(n: usize) -> DeletionReport {
        let categories = [
            (
                "teilnehmende-kontaktdaten",
                "subjects: name, email, organisation, salt; consent_records: ip_truncated, user_agent (anonymised)",
            ),
            ("sitzungen", "staff_sessions: row"),
            ("anmelde-fehlversuche", "login_failures: row"),
        ];
        let entries = (0..n)
            .map(|i| {
                let (category, target) = categories[i % categories.len()];
                DeletionLogEntry {
                    id: format!("d{i}"),
                    row_key: None,
                    replay_of: None,
                    sealed: None,
                    executed_at: t("2030-01-02T10:00:00Z") + chrono::TimeDelta::seconds(i as i64),
                    category: category.into(),
                    rule_version: 1,
                    start_on: d("2026-03-15"),
                    due_on: d("2029-12-31"),
                    subject_pseudonym: Some(format!("{i:064x}")),
                    target: target.into(),
                    rows_affected: 2,
                    ledger_seq: 100 + i as i64,
                }
            })
            .collect();
        DeletionReport {
            from: d("2030-01-01"),
            to: d("2030-01-31"),
            generated_at: t("2030-02-01T08:00:00Z"),
            ledger_head: (100 + n as i64, "f".repeat(64)),
            entries,
            holds: vec![hold("2029-06-01T10:00:00Z", None, None)],
            pauses: Vec::new(),
            actors: BTreeMap::new(),
        }
    }

    #[test]
    fn a_large_report_renders_quickly_and_deterministically() {
        let report = big_report(3000);
        let started = std::time::Instant::now();
        let first = render_deletion_report(&report);
        let took = started.elapsed();
        assert!(first.starts_with(b"%PDF"));
        // Generous for unoptimised builds; a release build takes a fraction of this.
        assert!(took.as_secs() < 60, "3000 entries took {took:?}");
        assert_eq!(
            first,
            render_deletion_report(&report),
            "same input, same bytes"
        );
        let mut later = report.clone();
        later.generated_at += chrono::TimeDelta::minutes(1);
        assert_ne!(first, render_deletion_report(&later));
    }
}
