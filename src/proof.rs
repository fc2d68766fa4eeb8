//! A consent record's proof: the record with its events, notice and ledger entries, as a
//! signed receipt (JWS) and as the input of the consent-record PDF.

use chrono::{DateTime, Utc};

use crate::accounts::ActorNames;
use crate::app::App;
use crate::clock::canonical_time;
use crate::domain::ledger::LedgerEntry;
use crate::domain::notice::Language;
use crate::domain::receipt::{
    KANTARA_VERSION, PiiController, ReceiptClaims, ReceiptNotice, ReceiptProof,
    ReceiptPurposeState, Service, ServicePurpose,
};
use crate::http::submission::{Receipt, load_record};
use crate::pdf::consent_record::{
    ConsentRecordPdf, PdfController, PdfLanguage, PdfLedgerEntry, PdfNotice, PdfParticipant,
    PdfPurposeState, PdfSignature, PdfTimelineEvent, PdfWorkshop,
};
use crate::store::consents::ConsentRecord;
use crate::store::{ledger, notice_versions};

/// Everything a receipt or a consent-record PDF states about one record.
pub struct RecordProof {
    pub receipt: Receipt,
    /// The ledger entries about the record, oldest first.
    pub entries: Vec<LedgerEntry>,
    /// The chain head when the proof was loaded.
    pub head: LedgerEntry,
    /// Who approved the notice version, and when.
    pub approval: Option<(String, DateTime<Utc>)>,
}

/// What the proofs loaded at one moment share: the chain head and the names of staff
/// actors. Loaded once per request, or once for a whole export.
pub struct ProofContext {
    head: LedgerEntry,
    names: ActorNames,
}

impl ProofContext {
    pub async fn load(app: &App) -> anyhow::Result<ProofContext> {
        let (head_seq, _) = ledger::head(&app.db).await?;
        let head = ledger::entry(&app.db, head_seq)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the ledger head names a missing entry"))?;
        Ok(ProofContext {
            head,
            names: ActorNames::load(&app.db).await?,
        })
    }
}

impl RecordProof {
    pub async fn load(app: &App, record: ConsentRecord) -> anyhow::Result<RecordProof> {
        Self::of(app, load_record(app, record).await?).await
    }

    /// The proof of a receipt loaded already.
    pub async fn of(app: &App, receipt: Receipt) -> anyhow::Result<RecordProof> {
        Self::with(app, &ProofContext::load(app).await?, receipt).await
    }

    /// One of many proofs sharing `context` (a bulk export).
    pub async fn load_with(
        app: &App,
        context: &ProofContext,
        record: ConsentRecord,
    ) -> anyhow::Result<RecordProof> {
        Self::with(app, context, load_record(app, record).await?).await
    }

    async fn with(
        app: &App,
        context: &ProofContext,
        receipt: Receipt,
    ) -> anyhow::Result<RecordProof> {
        let entries = ledger::entries_about(&app.db, &receipt.record.id).await?;
        let approval = match notice_versions::get(
            &app.db,
            &receipt.record.notice_id,
            receipt.record.notice_version,
        )
        .await?
        {
            Some(row) => match (row.decided_by, row.decided_at) {
                (Some(actor), Some(at)) => Some((context.names.name(&actor), at)),
                _ => None,
            },
            None => None,
        };
        Ok(RecordProof {
            receipt,
            entries,
            head: context.head.clone(),
            approval,
        })
    }

    pub fn language(&self) -> Language {
        Language::parse(&self.receipt.record.notice_language).unwrap_or(Language::De)
    }

    /// The receipt's claims. Built from stored state only (no clock), so the same state
    /// always gives the same signed receipt.
    pub fn claims(&self, app: &App, base_url: &str) -> ReceiptClaims {
        let r = &self.receipt;
        let lang = self.language();
        let controller = r
            .notice
            .as_ref()
            .and_then(|n| app.policies.controller(&n.controller));
        let recorded = self.entries.iter().find(|e| e.seq == r.record.ledger_seq);
        let latest = self.entries.last();
        let purposes = r
            .version
            .as_ref()
            .map(|v| {
                v.purposes
                    .iter()
                    .map(|p| ServicePurpose {
                        purpose: p.title.get(lang).to_owned(),
                        purpose_category: vec![p.id.clone()],
                        consent_type: if p.required { "NOTICE" } else { "EXPLICIT" }.to_owned(),
                        pii_category: p.categories.clone(),
                        primary_purpose: p.required,
                        termination: if p.required {
                            "Storage periods as stated in the notice".to_owned()
                        } else {
                            "Withdrawal at any time through the personal link".to_owned()
                        },
                        third_party_disclosure: !v.recipients.is_empty(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        ReceiptClaims {
            version: KANTARA_VERSION.to_owned(),
            jurisdiction: "DE".to_owned(),
            consent_timestamp: r.record.recorded_at.timestamp(),
            collection_method: r.record.collection_method.clone(),
            consent_receipt_id: r.record.receipt_id.clone(),
            language: r.record.notice_language.clone(),
            pii_principal_id: r.record.subject_id.clone(),
            pii_controllers: controller
                .map(|c| {
                    vec![PiiController {
                        pii_controller: c.name.clone(),
                        contact: c.dpo.name.clone(),
                        address: c.address.clone(),
                        email: c.email.clone(),
                        phone: c.phone.clone().unwrap_or_default(),
                    }]
                })
                .unwrap_or_default(),
            policy_url: format!("{base_url}/api/v1/notices"),
            services: vec![Service {
                service: r.workshop.title.clone(),
                purposes,
            }],
            sensitive: false,
            spi_cat: Vec::new(),
            iat: r
                .events
                .iter()
                .map(|e| e.occurred_at)
                .max()
                .unwrap_or(r.record.recorded_at)
                .timestamp(),
            consentd: ReceiptProof {
                record_id: r.record.id.clone(),
                workshop: r.workshop.slug.clone(),
                notice: ReceiptNotice {
                    id: r.record.notice_id.clone(),
                    version: r.record.notice_version,
                    language: r.record.notice_language.clone(),
                    sha256: r.record.notice_sha256.clone(),
                    content_sha256: r.record.notice_content_sha256.clone(),
                },
                purposes: r
                    .current()
                    .iter()
                    .map(|(event, state)| ReceiptPurposeState {
                        id: event.purpose_id.clone(),
                        legal_basis: event.legal_basis.clone(),
                        state: state.as_str().to_owned(),
                        since: canonical_time(event.occurred_at),
                    })
                    .collect(),
                recorded_seq: r.record.ledger_seq,
                recorded_entry_sha256: recorded.map(|e| e.entry_sha256.clone()).unwrap_or_default(),
                latest_seq: latest.map(|e| e.seq).unwrap_or(r.record.ledger_seq),
                latest_entry_sha256: latest.map(|e| e.entry_sha256.clone()).unwrap_or_default(),
            },
        }
    }

    /// The receipt signed with this instance's key, as a compact JWS.
    pub fn signed_receipt(&self, app: &App, base_url: &str) -> String {
        app.signer.sign(&self.claims(app, base_url))
    }
}

impl RecordProof {
    /// The input of the consent-record PDF, with the signed receipt `jws`.
    pub fn pdf_input(&self, app: &App, base_url: &str, jws: &str) -> ConsentRecordPdf {
        let r = &self.receipt;
        let lang = self.language();
        let controller = app.policies.controller(&r.record.controller_id);
        let ledger_entry = |e: &LedgerEntry| PdfLedgerEntry {
            seq: e.seq,
            kind: e.kind.clone(),
            recorded_at: e.recorded_at,
            entry_sha256: e.entry_sha256.clone(),
        };
        let mut timeline: Vec<PdfTimelineEvent> = r
            .events
            .iter()
            .map(|e| PdfTimelineEvent {
                at: e.occurred_at,
                purpose: r.purpose_title(&e.purpose_id, lang),
                state: e.state.clone(),
                actor: e.actor.clone(),
                // Later events are not stored with a method; what is known is who acted:
                // the participant through the personal link, or the service itself.
                method: if e.ledger_seq == r.record.ledger_seq {
                    r.record.collection_method.clone()
                } else if e.actor == "subject" {
                    "receipt-link".to_owned()
                } else {
                    "service".to_owned()
                },
                ledger_seq: e.ledger_seq,
            })
            .collect();
        if let Some(renewal) = &r.renewed_by {
            timeline.push(PdfTimelineEvent {
                at: renewal.recorded_at,
                purpose: format!("{} {}", r.record.notice_id, renewal.notice_version),
                state: "re-consent".to_owned(),
                actor: "subject".to_owned(),
                method: renewal.collection_method.clone(),
                ledger_seq: renewal.ledger_seq,
            });
        }
        timeline.sort_by_key(|e| (e.ledger_seq, e.at));
        ConsentRecordPdf {
            language: match lang {
                Language::En => PdfLanguage::En,
                _ => PdfLanguage::De,
            },
            controller: controller
                .map(|c| PdfController {
                    name: c.name.clone(),
                    address: c.address.clone(),
                    email: c.email.clone(),
                    phone: c.phone.clone(),
                    dpo: Some(format!("{} <{}>", c.dpo.name, c.dpo.email)),
                })
                .unwrap_or_default(),
            participant: PdfParticipant {
                subject_id: r.record.subject_id.clone(),
                name: r.subject.as_ref().and_then(|s| s.name.clone()),
                email: r.subject.as_ref().and_then(|s| s.email.clone()),
                organisation: r.subject.as_ref().and_then(|s| s.organisation.clone()),
                erased: r.subject.as_ref().is_none_or(|s| s.erased_at.is_some()),
            },
            workshop: PdfWorkshop {
                slug: r.workshop.slug.clone(),
                title: r.workshop.title.clone(),
                location: r.workshop.location.clone(),
                starts_on: r.workshop.starts_on.format("%d.%m.%Y").to_string(),
                ends_on: r.workshop.ends_on.format("%d.%m.%Y").to_string(),
            },
            record_id: r.record.id.clone(),
            receipt_id: r.record.receipt_id.clone(),
            recorded_at: r.record.recorded_at,
            collection_method: r.record.collection_method.clone(),
            collector: r.record.collector.clone(),
            notice: PdfNotice {
                id: r.record.notice_id.clone(),
                version: r.record.notice_version,
                language: r.record.notice_language.clone(),
                title: r
                    .notice_text
                    .as_ref()
                    .map(|t| t.title.clone())
                    .unwrap_or_default(),
                effective_on: r
                    .notice_text
                    .as_ref()
                    .map(|t| t.effective_on.format("%d.%m.%Y").to_string())
                    .unwrap_or_default(),
                approved_by: self.approval.as_ref().map(|(who, _)| who.clone()),
                approved_at: self.approval.as_ref().map(|(_, at)| *at),
                sha256: r.record.notice_sha256.clone(),
                content_sha256: r.record.notice_content_sha256.clone(),
                markdown: r
                    .notice_text
                    .as_ref()
                    .map(|t| t.markdown.clone())
                    .unwrap_or_default(),
            },
            purposes: r
                .current()
                .iter()
                .map(|(event, state)| {
                    let purpose = r
                        .version
                        .as_ref()
                        .and_then(|v| v.purpose(&event.purpose_id));
                    PdfPurposeState {
                        id: event.purpose_id.clone(),
                        title: r.purpose_title(&event.purpose_id, lang),
                        // The citation a lawyer reads, not the code the API speaks.
                        legal_basis: crate::domain::notice::LegalBasis::parse(&event.legal_basis)
                            .map_or_else(
                                || event.legal_basis.clone(),
                                |b| b.citation(lang).to_owned(),
                            ),
                        required: purpose.is_some_and(|p| p.required),
                        state: state.as_str().to_owned(),
                    }
                })
                .collect(),
            timeline,
            ledger: self.entries.iter().map(ledger_entry).collect(),
            ledger_head: ledger_entry(&self.head),
            signature: PdfSignature {
                key_id: app.signer.key_id().to_owned(),
                algorithm: "EdDSA".to_owned(),
                public_key: app.signer.public_key().x(),
                jws: jws.to_owned(),
            },
            verify_url: format!("{base_url}/api/v1/keys"),
        }
    }
}
