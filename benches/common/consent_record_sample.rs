//! A typical consent-record PDF (about half a page of notice text, 3 purposes, 6 timeline
//! events, 4 ledger entries, a JWS of ~900 characters), shared by the PDF benchmarks.
#![allow(dead_code)] // each bench uses part of it

use chrono::{DateTime, Utc};
use consentd::pdf::consent_record::{
    ConsentRecordPdf, PdfController, PdfLanguage, PdfLedgerEntry, PdfNotice, PdfParticipant,
    PdfPurposeState, PdfSignature, PdfTimelineEvent, PdfWorkshop,
};

pub const NOTICE: &str = "# Datenschutzhinweise für Teilnehmende

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

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn hash(seed: u8) -> String {
    (0..32u8)
        .map(|i| {
            format!(
                "{:02x}",
                i.wrapping_mul(37).wrapping_add(seed.wrapping_mul(91))
            )
        })
        .collect()
}

fn event(at: &str, purpose: &str, state: &str, seq: i64) -> PdfTimelineEvent {
    PdfTimelineEvent {
        at: t(at),
        purpose: purpose.into(),
        state: state.into(),
        actor: "subject".into(),
        method: "web-form".into(),
        ledger_seq: seq,
    }
}

fn purpose(id: &str, title: &str, basis: &str, required: bool, state: &str) -> PdfPurposeState {
    PdfPurposeState {
        id: id.into(),
        title: title.into(),
        legal_basis: basis.into(),
        required,
        state: state.into(),
    }
}

pub fn typical() -> ConsentRecordPdf {
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
            sha256: hash(1),
            content_sha256: hash(2),
            markdown: NOTICE.into(),
        },
        purposes: vec![
            purpose(
                "workshop",
                "Durchführung des Workshops",
                "Art. 6 Abs. 1 lit. b DSGVO",
                true,
                "acknowledged",
            ),
            purpose(
                "photos",
                "Foto- und Filmaufnahmen für die Website",
                "Art. 6 Abs. 1 lit. a DSGVO",
                false,
                "withdrawn",
            ),
            purpose(
                "invitations",
                "Einladungen zu Erfahrungsaustauschen",
                "Art. 6 Abs. 1 lit. a DSGVO",
                false,
                "given",
            ),
        ],
        timeline: vec![
            event("2026-05-02T08:15:30Z", "workshop", "acknowledged", 101),
            event("2026-05-02T08:15:30Z", "photos", "given", 101),
            event("2026-05-02T08:15:30Z", "invitations", "refused", 101),
            event("2026-06-10T17:02:11Z", "photos", "withdrawn", 140),
            event("2026-11-03T09:30:00Z", "invitations", "given", 188),
            event("2026-12-01T10:00:00Z", "workshop", "expired", 201),
        ],
        ledger: [
            (101, "2026-05-02T08:15:31Z"),
            (140, "2026-06-10T17:02:12Z"),
            (188, "2026-11-03T09:30:01Z"),
            (201, "2026-12-01T10:00:01Z"),
        ]
        .iter()
        .map(|(seq, at)| PdfLedgerEntry {
            seq: *seq,
            kind: "consent.event".into(),
            recorded_at: t(at),
            entry_sha256: hash(*seq as u8),
        })
        .collect(),
        ledger_head: PdfLedgerEntry {
            seq: 250,
            kind: "retention.run".into(),
            recorded_at: t("2026-12-02T03:00:00Z"),
            entry_sha256: hash(250),
        },
        signature: PdfSignature {
            key_id: "k-2026-01".into(),
            algorithm: "EdDSA".into(),
            public_key: "q1w2e3r4t5z6u7i8o9p0a1s2d3f4g5h6j7k8l9y0x1c".into(),
            jws: format!(
                "eyJhbGciOiJFZERTQSIsImtpZCI6ImstMjAyNi0wMSJ9.{}.{}",
                "eyJ2ZXJzaW9uIjoiS0kt".repeat(38),
                "c2lnbmF0dXJlX2Jhc2U2NHVybA".repeat(3)
            ),
        },
        verify_url: "https://consent.example.org/api/v1/keys".into(),
    }
}
