//! The consent record ("Einwilligungsnachweis") of one participant as a PDF for legal review
//! and filing: who consented, when, to which exact notice text (version, language, hashes),
//! how, for which purposes, what happened since (timeline), where it sits in the ledger, and
//! the signed receipt with instructions to verify it offline.
//!
//! Pure: plain data in, bytes out, no IO and no clock. Laid out by
//! [`super::notice_pdf::render_document`], so equal input gives byte-identical output.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Berlin;

use super::notice_pdf::{FilingBlock, FilingDocument, FilingTable, PageNumbering, render_document};

/// The language of the record: the one the consent was given in. German unless English.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PdfLanguage {
    #[default]
    De,
    En,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfController {
    pub name: String,
    pub address: String,
    pub email: String,
    pub phone: Option<String>,
    /// Data-protection officer (name and/or contact).
    pub dpo: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfParticipant {
    pub subject_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub organisation: Option<String>,
    /// The personal data was erased (Art. 17); only the pseudonymous proof remains.
    pub erased: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfWorkshop {
    pub slug: String,
    pub title: String,
    pub location: Option<String>,
    pub starts_on: String,
    pub ends_on: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfNotice {
    pub id: String,
    pub version: i64,
    pub language: String,
    pub title: String,
    pub effective_on: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    /// SHA-256 of the notice text.
    pub sha256: String,
    /// SHA-256 of the version including its metadata.
    pub content_sha256: String,
    pub markdown: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfPurposeState {
    pub id: String,
    pub title: String,
    pub legal_basis: String,
    pub required: bool,
    /// `given`, `refused`, `withdrawn`, `acknowledged`, `expired`, `erased`, …
    pub state: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfTimelineEvent {
    pub at: DateTime<Utc>,
    pub purpose: String,
    pub state: String,
    pub actor: String,
    pub method: String,
    pub ledger_seq: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfLedgerEntry {
    pub seq: i64,
    pub kind: String,
    pub recorded_at: DateTime<Utc>,
    pub entry_sha256: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfSignature {
    pub key_id: String,
    /// `EdDSA`.
    pub algorithm: String,
    /// Ed25519 public key, base64url.
    pub public_key: String,
    /// The signed receipt as compact JWS.
    pub jws: String,
}

/// Everything that goes into the consent-record PDF.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentRecordPdf {
    pub language: PdfLanguage,
    pub controller: PdfController,
    pub participant: PdfParticipant,
    pub workshop: PdfWorkshop,
    pub record_id: String,
    pub receipt_id: String,
    pub recorded_at: DateTime<Utc>,
    pub collection_method: String,
    pub collector: Option<String>,
    pub notice: PdfNotice,
    pub purposes: Vec<PdfPurposeState>,
    /// Given, refused, withdrawn, re-consent, expired, erased — oldest first.
    pub timeline: Vec<PdfTimelineEvent>,
    /// The record's own ledger entries.
    pub ledger: Vec<PdfLedgerEntry>,
    /// The chain head when the PDF was made.
    pub ledger_head: PdfLedgerEntry,
    pub signature: PdfSignature,
    /// Where the public keys are published, e.g. `https://host/api/v1/keys`.
    pub verify_url: String,
}

/// The labels of one language (the Art. 15 report uses the German ones too).
pub(super) struct Labels {
    pub(super) en: bool,
}

impl Labels {
    fn pick(&self, de: &'static str, en: &'static str) -> &'static str {
        if self.en { en } else { de }
    }

    pub(super) fn state(&self, state: &str) -> String {
        let (de, en) = match state {
            "given" => ("erteilt", "given"),
            "refused" => ("verweigert", "refused"),
            "withdrawn" => ("widerrufen", "withdrawn"),
            "acknowledged" => ("zur Kenntnis genommen", "acknowledged"),
            "expired" => ("abgelaufen", "expired"),
            "erased" => ("gelöscht", "erased"),
            "reconsent_requested" => ("erneute Einwilligung erbeten", "asked to consent again"),
            "renewed" => ("erneut erteilt", "given again"),
            other => return other.to_owned(),
        };
        self.pick(de, en).to_owned()
    }

    pub(super) fn method(&self, method: &str) -> String {
        let (de, en) = match method {
            "web-form" => ("Webformular", "web form"),
            "api" => ("API", "API"),
            "receipt-link" => ("persönlicher Link", "personal link"),
            "service" => ("consentd", "consentd"),
            "paper" => ("Papierformular", "paper form"),
            "link" => ("Link in E-Mail", "link in e-mail"),
            other => return other.to_owned(),
        };
        self.pick(de, en).to_owned()
    }

    /// Who acted: the participant, the system or staff (shown as stored, e.g. `user:…`).
    pub(super) fn actor(&self, actor: &str) -> String {
        let (de, en) = match actor {
            "subject" => ("Person", "participant"),
            "system" | "scheduler" => ("System", "system"),
            "cli" => ("Kommandozeile", "command line"),
            other => return other.to_owned(),
        };
        self.pick(de, en).to_owned()
    }

    fn yes_required(&self, required: bool) -> &'static str {
        match required {
            true => self.pick("erforderlich", "required"),
            false => self.pick("freiwillig", "optional"),
        }
    }

    /// UTC without the zone, for columns whose header says UTC.
    pub(super) fn utc_short(&self, at: DateTime<Utc>) -> String {
        if self.en {
            at.format("%Y-%m-%d %H:%M:%S").to_string()
        } else {
            at.format("%d.%m.%Y %H:%M:%S").to_string()
        }
    }

    fn utc(&self, at: DateTime<Utc>) -> String {
        if self.en {
            at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        } else {
            at.format("%d.%m.%Y %H:%M:%S UTC").to_string()
        }
    }

    /// Berlin time with its offset, so that it is unambiguous also around the DST switch.
    pub(super) fn berlin(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&Berlin);
        if self.en {
            local.format("%Y-%m-%d %H:%M:%S %:z").to_string()
        } else {
            local.format("%d.%m.%Y %H:%M:%S %:z").to_string()
        }
    }

    /// Berlin time next to the UTC time: without the date when it is the same day.
    fn berlin_beside_utc(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&Berlin);
        if local.date_naive() == at.date_naive() {
            local.format("%H:%M:%S %:z").to_string()
        } else {
            self.berlin(at)
        }
    }

    fn both(&self, at: DateTime<Utc>) -> String {
        format!("{} ({} Europe/Berlin)", self.utc(at), self.berlin(at))
    }

    fn date(&self, s: &str) -> String {
        match chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
            Ok(d) if !self.en => d.format("%d.%m.%Y").to_string(),
            _ => s.trim().to_owned(),
        }
    }

    fn language(&self, code: &str) -> String {
        match (code.trim(), self.en) {
            ("de", false) => "Deutsch (de)".into(),
            ("en", false) => "Englisch (en)".into(),
            ("de", true) => "German (de)".into(),
            ("en", true) => "English (en)".into(),
            (other, _) => other.to_owned(),
        }
    }
}

fn row(label: &str, value: impl Into<String>) -> (String, String) {
    (label.to_owned(), value.into())
}

/// An optional value: absent or blank values are simply left out.
fn push_some(rows: &mut Vec<(String, String)>, label: &str, value: Option<&str>) {
    if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
        rows.push(row(label, v));
    }
}

/// The first 8 characters of an id, for the running header.
fn short(id: &str) -> String {
    let id = id.trim();
    if id.chars().count() > 8 {
        format!("{}…", id.chars().take(8).collect::<String>())
    } else {
        id.to_owned()
    }
}

/// Lays out the consent record. Pure: equal input, equal bytes.
pub fn render(doc: &ConsentRecordPdf) -> Vec<u8> {
    render_document(&document(doc))
}

/// The record as a document for filing: what [`render`] lays out.
pub fn document(doc: &ConsentRecordPdf) -> FilingDocument {
    let l = Labels {
        en: doc.language == PdfLanguage::En,
    };
    let title = l.pick("Einwilligungsnachweis", "Consent record");

    // -- parties: one table row, a column each, so that they take a few lines ------------
    let c = &doc.controller;
    let mut controller = vec![c.name.trim(), c.address.trim(), c.email.trim()];
    controller.extend(c.phone.as_deref().map(str::trim));
    let dpo = c
        .dpo
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            format!(
                "{}: {d}",
                l.pick("Datenschutzbeauftragte(r)", "Data-protection officer")
            )
        });
    let p = &doc.participant;
    let subject = format!(
        "{}: {}",
        l.pick("Personen-ID", "Subject id"),
        p.subject_id.trim()
    );
    let participant: Vec<String> = if p.erased {
        vec![
            l.pick(
                "Personenbezogene Daten gelöscht (Art. 17 DSGVO); erhalten ist nur der pseudonyme Nachweis.",
                "Personal data erased (Art. 17 GDPR); only the pseudonymous proof remains.",
            )
            .to_owned(),
            subject,
        ]
    } else {
        [&p.name, &p.email, &p.organisation]
            .into_iter()
            .filter_map(|v| v.as_deref().map(str::trim).filter(|v| !v.is_empty()))
            .map(str::to_owned)
            .chain([subject])
            .collect()
    };
    let w = &doc.workshop;
    let dates = if w.starts_on.trim() == w.ends_on.trim() {
        l.date(&w.starts_on)
    } else {
        format!("{} – {}", l.date(&w.starts_on), l.date(&w.ends_on))
    };
    let mut workshop = vec![w.title.trim().to_owned(), w.slug.trim().to_owned()];
    workshop.extend(w.location.as_deref().map(|s| s.trim().to_owned()));
    workshop.push(dates);

    let mut body = vec![FilingBlock::Table(FilingTable {
        headers: vec![
            l.pick("Verantwortlicher", "Controller").into(),
            l.pick("Teilnehmende Person", "Participant").into(),
            "Workshop".into(),
        ],
        widths: vec![0.4, 0.3, 0.3],
        rows: vec![vec![
            controller
                .into_iter()
                .map(str::to_owned)
                .chain(dpo)
                .collect::<Vec<_>>()
                .join("\n"),
            participant.join("\n"),
            workshop.join("\n"),
        ]],
    })];

    // -- the notice -------------------------------------------------------------------------
    let n = &doc.notice;
    body.push(FilingBlock::Section(
        l.pick(
            "Datenschutzhinweis, dem zugestimmt wurde",
            "Privacy notice agreed to",
        )
        .into(),
    ));
    let approval = match (&n.approved_by, n.approved_at) {
        (Some(by), Some(at)) if !by.trim().is_empty() => {
            format!("{} ({})", by.trim(), l.utc(at))
        }
        (_, Some(at)) => l.utc(at),
        (Some(by), None) if !by.trim().is_empty() => by.trim().to_owned(),
        _ => l
            .pick("keine Freigabe vermerkt", "no approval recorded")
            .into(),
    };
    body.push(FilingBlock::Facts(vec![
        row(
            l.pick("Hinweis", "Notice"),
            format!(
                "{} · {} {} · {} · {} {}",
                n.id.trim(),
                l.pick("Fassung", "version"),
                n.version,
                l.language(&n.language),
                l.pick("gültig ab", "effective"),
                l.date(&n.effective_on)
            ),
        ),
        row(l.pick("Freigegeben", "Approved"), approval),
        row(l.pick("SHA-256 Text", "SHA-256 text"), n.sha256.trim()),
        row(
            l.pick("SHA-256 Fassung", "SHA-256 version"),
            n.content_sha256.trim(),
        ),
    ]));
    body.push(FilingBlock::Markdown(n.markdown.clone()));

    // -- purposes, timeline, ledger ---------------------------------------------------------
    body.push(FilingBlock::Section(
        l.pick(
            "Zwecke, Verlauf und Ledger",
            "Purposes, timeline and ledger",
        )
        .into(),
    ));
    if doc.purposes.is_empty() {
        body.push(FilingBlock::Note(
            l.pick("Keine Zwecke.", "No purposes.").into(),
        ));
    } else {
        body.push(FilingBlock::Table(FilingTable {
            headers: vec![
                l.pick("Zweck", "Purpose").into(),
                l.pick("Rechtsgrundlage", "Legal basis").into(),
                l.pick("Art", "Type").into(),
                l.pick("Stand heute", "Current state").into(),
            ],
            widths: vec![0.38, 0.24, 0.13, 0.25],
            rows: doc
                .purposes
                .iter()
                .map(|p| {
                    vec![
                        p.title.clone(),
                        p.legal_basis.clone(),
                        l.yes_required(p.required).into(),
                        l.state(&p.state),
                    ]
                })
                .collect(),
        }));
    }

    if doc.timeline.is_empty() {
        body.push(FilingBlock::Note(
            l.pick("Keine Ereignisse.", "No events.").into(),
        ));
    } else {
        body.push(FilingBlock::Table(FilingTable {
            headers: vec![
                l.pick("Zeitpunkt (UTC)", "Time (UTC)").into(),
                "Europe/Berlin".into(),
                l.pick("Zweck", "Purpose").into(),
                l.pick("Ereignis", "Event").into(),
                l.pick("Weg, durch", "Method, by").into(),
                "Ledger".into(),
            ],
            // sized so that no word of a purpose title or state is wider than its column
            widths: vec![0.205, 0.165, 0.2, 0.16, 0.2, 0.07],
            rows: doc
                .timeline
                .iter()
                .map(|e| {
                    vec![
                        l.utc_short(e.at),
                        l.berlin_beside_utc(e.at),
                        e.purpose.clone(),
                        l.state(&e.state),
                        format!("{}, {}", l.method(&e.method), l.actor(&e.actor)),
                        e.ledger_seq.to_string(),
                    ]
                })
                .collect(),
        }));
    }

    let ledger_row = |e: &PdfLedgerEntry| {
        vec![
            e.seq.to_string(),
            format!("{}\n{}", e.kind, l.utc_short(e.recorded_at)),
            e.entry_sha256.trim().to_owned(),
        ]
    };
    let mut rows: Vec<Vec<String>> = doc.ledger.iter().map(ledger_row).collect();
    let mut head = ledger_row(&doc.ledger_head);
    head[0] = format!("{}\n({})", head[0], l.pick("Kopf", "head"));
    rows.push(head);
    body.push(FilingBlock::Table(FilingTable {
        headers: vec![
            l.pick("Nr.", "Seq").into(),
            l.pick("Art, Zeitpunkt (UTC)", "Kind, time (UTC)").into(),
            l.pick(
                "SHA-256 des Eintrags (Kopf: bei Erstellung dieses Nachweises)",
                "SHA-256 of the entry (head: when this record was made)",
            )
            .into(),
        ],
        // 64 hex digits at 8.5 pt need 343 pt: the hash column takes what the others leave
        widths: vec![0.065, 0.2, 0.735],
        rows,
    }));

    // -- signature and verification --------------------------------------------------------
    let s = &doc.signature;
    body.push(FilingBlock::Section(
        l.pick(
            "Signierter Beleg und Prüfung",
            "Signed receipt and verification",
        )
        .into(),
    ));
    body.push(FilingBlock::Facts(vec![row(
        l.pick("Öffentl. Schlüssel", "Public key"),
        s.public_key.trim(),
    )]));
    body.push(FilingBlock::Table(FilingTable {
        headers: vec![format!(
            "{} · {} {} · {}",
            l.pick("Beleg als JWS (kompakt)", "Receipt as JWS (compact)"),
            l.pick("Schlüssel-ID", "key id"),
            s.key_id.trim(),
            s.algorithm.trim()
        )],
        widths: vec![1.0],
        rows: vec![vec![s.jws.trim().to_owned()]],
    }));
    body.push(FilingBlock::Markdown(verify_text(&l, &doc.verify_url)));

    let receipt_short = short(&doc.receipt_id);
    let notice_sha: String = n.content_sha256.trim().chars().take(16).collect();
    FilingDocument {
        title: title.into(),
        intro: Vec::new(),
        facts: {
            let mut rows = vec![
                row(l.pick("Beleg-ID", "Receipt id"), doc.receipt_id.trim()),
                row(l.pick("Datensatz-ID", "Record id"), doc.record_id.trim()),
                row(l.pick("Erfasst am", "Recorded at"), l.both(doc.recorded_at)),
                row(
                    l.pick("Erhebungsweg", "Collected via"),
                    l.method(&doc.collection_method),
                ),
            ];
            push_some(
                &mut rows,
                l.pick("Erfasst durch", "Collected by"),
                doc.collector.as_deref(),
            );
            rows
        },
        body,
        header_left: format!("{title} · {receipt_short}"),
        header_right: l
            .pick(
                "Nachweis nach Art. 7 Abs. 1 DSGVO",
                "Proof under Art. 7(1) GDPR",
            )
            .into(),
        footer_left: format!("{} SHA-256 {notice_sha}…", l.pick("Hinweis", "Notice")),
        author: doc.controller.name.trim().to_owned(),
        subject: format!("{title} {}", doc.receipt_id.trim()),
        keywords: vec![
            format!("receipt:{}", doc.receipt_id.trim()),
            format!("notice-sha256:{}", n.sha256.trim()),
            format!("ledger-seq:{}", doc.ledger_head.seq),
        ],
        identifier: doc.receipt_id.clone(),
        date: doc.recorded_at,
        page_numbering: if l.en {
            PageNumbering::English
        } else {
            PageNumbering::German
        },
    }
}

/// How to verify: the signature offline with the published public key, and the ledger.
fn verify_text(l: &Labels, verify_url: &str) -> String {
    let url = verify_url.trim();
    if l.en {
        format!(
            "**How to verify:** the signature offline with `consentd verify-receipt FILE [--key FILE]` \
             (JWS in FILE, public key with the key id above from {url}); the ledger chain up to \
             the head above on the server with `consentd verify`.\n"
        )
    } else {
        format!(
            "**So wird geprüft:** die Signatur offline mit `consentd verify-receipt FILE [--key FILE]` \
             (JWS in FILE, öffentlicher Schlüssel mit der Schlüssel-ID oben von {url}); die Ledger-Kette \
             bis zum Kopf oben auf dem Server mit `consentd verify`.\n"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// About one page of notice text in German, with umlauts, ß, „“ and €.
    const NOTICE: &str = "# Datenschutzhinweise für Teilnehmende

Wir, die Offensive Mittelstand, verarbeiten Ihre personenbezogenen Daten, um den Workshop „Qualitätssicherung in der Beratung“ durchzuführen.

## Welche Daten wir verarbeiten

Name, E-Mail-Adresse, Organisation und – falls Sie es angeben – Ihre Funktion. Die Teilnahmegebühr von 45 € wird über unsere Buchhaltung abgerechnet; Bankdaten erhalten wir nur, wenn Sie per Überweisung zahlen.

## Zwecke und Rechtsgrundlagen

- Durchführung des Workshops und Teilnahmebescheinigung: Art. 6 Abs. 1 lit. b DSGVO (Vertrag).
- Foto- und Filmaufnahmen für unsere Website: nur mit Ihrer Einwilligung, Art. 6 Abs. 1 lit. a DSGVO.
- Einladungen zu späteren Erfahrungsaustauschen: nur mit Ihrer Einwilligung, Art. 6 Abs. 1 lit. a DSGVO.

## Wie lange wir speichern

Die Teilnahmedaten löschen wir drei Jahre nach dem Ende des Workshops, Abrechnungsdaten nach zehn Jahren. Den Nachweis einer Einwilligung und ihres Widerrufs bewahren wir auf, solange Ansprüche geltend gemacht werden können.

## Ihre Rechte

Auskunft, Berichtigung, Löschung, Einschränkung, Datenübertragbarkeit und Widerspruch. Eine Einwilligung können Sie jederzeit widerrufen – so einfach, wie Sie sie erteilt haben: mit einem Klick auf den Link in Ihrem Beleg.
";

    fn record() -> ConsentRecordPdf {
        // 64 hex digits, like the real ones (digits are the widest characters)
        let hash = |c: char| format!("{c}0{}", "9f8e7d6c5b4a3210".repeat(4))[..64].to_owned();
        ConsentRecordPdf {
            language: PdfLanguage::De,
            controller: PdfController {
                name: "Offensive Mittelstand – Gut für Deutschland".into(),
                address: "Kölner Straße 12, 53111 Bonn".into(),
                email: "datenschutz@example.org".into(),
                phone: Some("+49 228 123456".into()),
                dpo: Some("Dr. Jürgen Weiß, dsb@example.org".into()),
            },
            participant: PdfParticipant {
                subject_id: "sub_7f3a9c2e".into(),
                name: Some("Bärbel Groß".into()),
                email: Some("b.gross@example.org".into()),
                organisation: Some("Müller & Söhne GmbH".into()),
                erased: false,
            },
            workshop: PdfWorkshop {
                slug: "qs-2026-05".into(),
                title: "Qualitätssicherung in der Beratung".into(),
                location: Some("Bonn".into()),
                starts_on: "2026-05-20".into(),
                ends_on: "2026-05-21".into(),
            },
            record_id: "rec_01HZX3K9Q2".into(),
            receipt_id: "rcpt_5d1e8b07c4a2".into(),
            recorded_at: t("2026-05-02T08:15:30Z"),
            collection_method: "web-form".into(),
            collector: None,
            notice: PdfNotice {
                id: "om-workshop-teilnehmende".into(),
                version: 3,
                language: "de".into(),
                title: "Datenschutzhinweise für Teilnehmende".into(),
                effective_on: "2026-04-01".into(),
                approved_by: Some("token:kanzlei-a".into()),
                approved_at: Some(t("2026-03-20T14:00:00Z")),
                sha256: "3f7a".repeat(16),
                content_sha256: "9c1b".repeat(16),
                markdown: NOTICE.into(),
            },
            purposes: vec![
                PdfPurposeState {
                    id: "workshop".into(),
                    title: "Durchführung des Workshops".into(),
                    legal_basis: "Art. 6 Abs. 1 lit. b DSGVO".into(),
                    required: true,
                    state: "acknowledged".into(),
                },
                PdfPurposeState {
                    id: "photos".into(),
                    title: "Foto- und Filmaufnahmen für die Website".into(),
                    legal_basis: "Art. 6 Abs. 1 lit. a DSGVO".into(),
                    required: false,
                    state: "withdrawn".into(),
                },
                PdfPurposeState {
                    id: "invitations".into(),
                    title: "Einladungen zu Erfahrungsaustauschen".into(),
                    legal_basis: "Art. 6 Abs. 1 lit. a DSGVO".into(),
                    required: false,
                    state: "given".into(),
                },
            ],
            timeline: vec![
                ev("2026-05-02T08:15:30Z", "workshop", "acknowledged", 101),
                ev("2026-05-02T08:15:30Z", "photos", "given", 101),
                ev("2026-05-02T08:15:30Z", "invitations", "refused", 101),
                ev("2026-06-10T17:02:11Z", "photos", "withdrawn", 140),
                ev("2026-11-03T09:30:00Z", "invitations", "given", 188),
                ev("2026-12-01T10:00:00Z", "workshop", "expired", 201),
            ],
            ledger: [101, 140, 188, 201]
                .iter()
                .zip(['a', 'b', 'c', 'd'])
                .map(|(seq, c)| PdfLedgerEntry {
                    seq: *seq,
                    kind: "consent.event".into(),
                    recorded_at: t("2026-05-02T08:15:31Z"),
                    entry_sha256: hash(c),
                })
                .collect(),
            ledger_head: PdfLedgerEntry {
                seq: 250,
                kind: "retention.run".into(),
                recorded_at: t("2026-12-02T03:00:00Z"),
                entry_sha256: hash('e'),
            },
            signature: PdfSignature {
                key_id: "k-2026-01".into(),
                algorithm: "EdDSA".into(),
                public_key: "MCowBQYDK2VwAyEAq1w2e3r4t5z6u7i8o9p0a1s2d3f4g5h6j7k8".into(),
                jws: format!(
                    "eyJhbGciOiJFZERTQSIsImtpZCI6ImstMjAyNi0wMSJ9.{}.{}",
                    "eyJ2ZXJzaW9uIjoiS0kt".repeat(36),
                    "c2lnbmF0dXJl".repeat(7)
                ),
            },
            verify_url: "https://consent.example.org/api/v1/keys".into(),
        }
    }

    fn ev(at: &str, purpose: &str, state: &str, seq: i64) -> PdfTimelineEvent {
        PdfTimelineEvent {
            at: t(at),
            purpose: purpose.into(),
            state: state.into(),
            actor: "subject".into(),
            method: "web-form".into(),
            ledger_seq: seq,
        }
    }

    /// The text of a PDF as `pdftotext` reads it.
    fn pdf_text(bytes: &[u8]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("record.pdf");
        std::fs::write(&file, bytes).unwrap();
        let out = std::process::Command::new("pdftotext")
            .arg(&file)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils) is installed");
        assert!(out.status.success(), "pdftotext could not read it");
        String::from_utf8(out.stdout).unwrap()
    }

    fn flat(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    fn pages(bytes: &[u8]) -> usize {
        let s = String::from_utf8_lossy(bytes);
        s.matches("/Type /Page /").count()
    }

    #[test]
    fn same_input_same_bytes_one_char_changes_them() {
        let r = record();
        let a = render(&r);
        assert!(a.starts_with(b"%PDF-"));
        assert_eq!(a, render(&r));
        let mut changed = r.clone();
        changed.notice.markdown = changed.notice.markdown.replacen("drei", "vier", 1);
        assert_ne!(a, render(&changed));
    }

    #[test]
    fn text_hashes_times_and_states_can_be_read_back() {
        let r = record();
        let text = pdf_text(&render(&r));
        // the running header and footer interrupt text that continues on the next page
        let body: String = text
            .lines()
            .filter(|l| {
                ![
                    "Einwilligungsnachweis ·",
                    "Nachweis nach Art.",
                    "Hinweis SHA-256",
                    "Seite ",
                ]
                .iter()
                .any(|running| l.contains(running))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let flat_text = flat(&body);
        // every paragraph's words, in order (headings and list items are paragraphs too)
        for para in NOTICE.split('\n').filter(|p| !p.trim().is_empty()) {
            let words = flat(para.trim_start_matches(['#', '-', ' ']));
            assert!(flat_text.contains(&words), "notice text: {words}");
        }
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(compact.contains(&r.notice.sha256), "text hash");
        assert!(compact.contains(&r.notice.content_sha256), "content hash");
        assert!(
            compact.contains(&r.ledger_head.entry_sha256),
            "ledger head hash"
        );
        for state in [
            "zur Kenntnis genommen",
            "erteilt",
            "verweigert",
            "widerrufen",
            "abgelaufen",
        ] {
            assert!(flat_text.contains(state), "state {state}");
        }
        // 17:02 UTC on 10 June is 19:02 in Berlin (summer), 09:30 UTC on 3 Nov is 10:30
        assert!(flat_text.contains("10.06.2026 17:02:11"));
        assert!(flat_text.contains("10.06.2026 17:02:11 19:02:11 +02:00"));
        assert!(flat_text.contains("03.11.2026 09:30:00 10:30:00 +01:00"));
        assert!(flat(&text).contains("Seite 1 von 2"));
        assert!(flat_text.contains("Einwilligungsnachweis"));
        assert!(flat_text.contains("„Qualitätssicherung in der Beratung“"));
        assert!(flat_text.contains("Dr. Jürgen Weiß") && flat_text.contains("45 €"));
        assert!(flat_text.contains("Bärbel Groß") && flat_text.contains("Müller & Söhne GmbH"));
        assert!(flat_text.contains("consentd verify-receipt FILE [--key FILE]"));
        assert!(flat_text.contains("consentd verify"));
        // the JWS, wrapped over lines, is all there
        assert!(compact.contains(&r.signature.jws), "JWS");
    }

    #[test]
    fn erased_participant_shows_only_the_pseudonymous_proof() {
        let mut r = record();
        r.participant = PdfParticipant {
            subject_id: "sub_7f3a9c2e".into(),
            erased: true,
            ..Default::default()
        };
        let text = flat(&pdf_text(&render(&r)));
        assert!(text.contains("Daten gelöscht"));
        assert!(text.contains("sub_7f3a9c2e"));
        assert!(!text.contains("Bärbel"));
    }

    #[test]
    fn characters_outside_the_base_set_are_embedded_too() {
        let mut r = record();
        r.participant.name = Some("Ἀθηνᾶ Παπαδοπούλου".into());
        let text = flat(&pdf_text(&render(&r)));
        assert!(text.contains("Ἀθηνᾶ Παπαδοπούλου"), "{text}");
        // and the usual record still renders with the base subsets afterwards
        assert!(flat(&pdf_text(&render(&record()))).contains("Bärbel Groß"));
    }

    #[test]
    fn english_record_has_english_labels() {
        let mut r = record();
        r.language = PdfLanguage::En;
        let text = flat(&pdf_text(&render(&r)));
        for label in [
            "Consent record",
            "Controller",
            "Participant",
            "Purposes, timeline and ledger",
            "Current state",
            "Page 1 of",
            "withdrawn",
            "How to verify",
        ] {
            assert!(text.contains(label), "{label}");
        }
        assert!(!text.contains("Einwilligungsnachweis") && !text.contains("Seite 1"));
    }

    #[test]
    fn typical_record_is_two_pages_and_small() {
        let bytes = render(&record());
        assert_eq!(pages(&bytes), 2);
        assert!(bytes.len() <= 40 * 1024, "{} bytes", bytes.len());
    }
}
