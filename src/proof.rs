//! A consent record's proof: the record with its events, notice and ledger entries, as a
//! signed receipt (JWS) and as the input of the consent-record PDF.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::app::App;
use crate::clock::canonical_time;
use crate::domain::ledger::LedgerEntry;
use crate::domain::notice::Language;
use crate::domain::receipt::{
    KANTARA_VERSION, PiiController, ReceiptClaims, ReceiptNotice, ReceiptProof,
    ReceiptPurposeState, Service, ServicePurpose,
};
use crate::http::submission::{Receipt, load_record};
use crate::store::consents::ConsentRecord;
use crate::store::{ledger, notice_versions, users};

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

impl RecordProof {
    pub async fn load(app: &App, record: ConsentRecord) -> anyhow::Result<RecordProof> {
        Self::of(app, load_record(app, record).await?).await
    }

    /// The proof of a receipt loaded already.
    pub async fn of(app: &App, receipt: Receipt) -> anyhow::Result<RecordProof> {
        let entries = ledger::entries_about(&app.db, &receipt.record.id).await?;
        let (head_seq, _) = ledger::head(&app.db).await?;
        let head = ledger::entry(&app.db, head_seq)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the ledger head names a missing entry"))?;
        let approval = match notice_versions::get(
            &app.db,
            &receipt.record.notice_id,
            receipt.record.notice_version,
        )
        .await?
        {
            Some(row) => match (row.decided_by, row.decided_at) {
                (Some(actor), Some(at)) => Some((staff_name(app, &actor).await?, at)),
                _ => None,
            },
            None => None,
        };
        Ok(RecordProof {
            receipt,
            entries,
            head,
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

/// A staff actor (`user:<id>`) as the address of the account, else as recorded.
async fn staff_name(app: &App, actor: &str) -> anyhow::Result<String> {
    let names: BTreeMap<String, String> = users::list(&app.db)
        .await?
        .into_iter()
        .map(|u| (format!("user:{}", u.id), u.email))
        .collect();
    Ok(names
        .get(actor)
        .cloned()
        .unwrap_or_else(|| actor.trim_start_matches("import:").to_owned()))
}
