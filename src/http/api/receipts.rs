//! `/api/v1/receipts/{token}`: the participant's receipt and withdrawal, for clients that
//! hold the personal token.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::clock::canonical_time;
use crate::domain::consent::FieldError;
use crate::domain::notice::Language;
use crate::http::AppState;
use crate::http::error::Error;
use crate::http::extract::{ApiJson, Path};
use crate::http::submission::load_receipt;
use crate::proof::RecordProof;
use crate::store::consents::{self, Withdrawal};

/// A participant's receipt, for whoever holds the personal token.
#[utoipa::path(get, path = "/api/v1/receipts/{token}", tag = "participants",
    responses((status = 200, body = Object), (status = 404)))]
pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Json<Value>, Error> {
    let receipt = load_receipt(&state.app, &token).await?;
    let proof = RecordProof::of(&state.app, receipt).await?;
    Ok(Json(receipt_json(&state, &proof, &token)))
}

/// `{"purposes": ["fotos", …]}` or `{"all": true}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurposeWithdrawal {
    /// Purpose ids of this receipt.
    #[serde(default)]
    pub purposes: Vec<String>,
    /// Every purpose given.
    #[serde(default)]
    pub all: bool,
}

/// Withdraws the named purposes, or all (`{"all": true}`).
#[utoipa::path(post, path = "/api/v1/receipts/{token}/withdraw", tag = "participants", request_body = PurposeWithdrawal,
    responses((status = 200, body = Object), (status = 404), (status = 422)))]
pub async fn withdraw(
    State(state): State<AppState>,
    Path(token): Path<String>,
    ApiJson(input): ApiJson<PurposeWithdrawal>,
) -> Result<Json<Value>, Error> {
    let receipt = load_receipt(&state.app, &token).await?;
    let which = if input.all {
        Withdrawal::All
    } else if input.purposes.is_empty() {
        return Err(FieldError::new(
            "purposes",
            "name the purposes to withdraw, or send \"all\": true",
        )
        .into());
    } else {
        let known: Vec<&str> = receipt
            .events
            .iter()
            .map(|e| e.purpose_id.as_str())
            .collect();
        if let Some(unknown) = input.purposes.iter().find(|p| !known.contains(&p.as_str())) {
            return Err(FieldError::new(
                "purposes",
                format!("unknown purpose `{unknown}` for this receipt"),
            )
            .into());
        }
        Withdrawal::Purposes(&input.purposes)
    };
    let withdrawn = consents::withdraw_with_renewals(
        &state.app.db,
        &state.app.clock,
        &receipt.record.id,
        which,
    )
    .await?;
    if !withdrawn.is_empty() {
        tracing::info!(record = %receipt.record.id, purposes = withdrawn.len(), "consent withdrawn");
    }
    let receipt = load_receipt(&state.app, &token).await?;
    let proof = RecordProof::of(&state.app, receipt).await?;
    let mut body = receipt_json(&state, &proof, &token);
    // A purpose withdrawn from a record and its renewal is named once.
    let mut purposes: Vec<&str> = withdrawn.iter().map(|e| e.purpose_id.as_str()).collect();
    purposes.sort_unstable();
    purposes.dedup();
    body["withdrawn"] = json!(purposes);
    Ok(Json(body))
}

/// The receipt as JSON, following Kantara Consent Receipt 1.1 and ISO/IEC TS 27560 names
/// where they fit.
fn receipt_json(state: &AppState, proof: &RecordProof, token: &str) -> Value {
    let r = &proof.receipt;
    let lang = Language::parse(&r.record.notice_language).unwrap_or(Language::De);
    let controller = r
        .notice
        .as_ref()
        .and_then(|n| state.app.policies.controller(&n.controller));
    json!({
        "receipt_id": r.record.receipt_id,
        "record_id": r.record.id,
        "schema": "consentd-receipt/1",
        "jurisdiction": "DE",
        "recorded_at": canonical_time(r.record.recorded_at),
        "collection_method": r.record.collection_method,
        "language": r.record.notice_language,
        "subject": r.subject.as_ref().map(|s| json!({
            "id": s.id,
            "name": s.name,
            "email": s.email,
            "organisation": s.organisation,
            "erased": s.erased_at.is_some(),
        })),
        "controller": controller.map(|c| json!({
            "id": c.id, "name": c.name, "address": c.address, "email": c.email,
            "phone": c.phone, "dpo": c.dpo,
        })),
        "workshop": {
            "slug": r.workshop.slug,
            "title": r.workshop.title,
            "starts": r.workshop.starts_on,
            "ends": r.workshop.ends_on,
        },
        "notice": {
            "id": r.record.notice_id,
            "version": r.record.notice_version,
            "language": r.record.notice_language,
            "sha256": r.record.notice_sha256,
        },
        "purposes": r.current().iter().map(|(event, current)| {
            let purpose = r.version.as_ref().and_then(|v| v.purpose(&event.purpose_id));
            json!({
                "id": event.purpose_id,
                "title": r.purpose_title(&event.purpose_id, lang),
                "legal_basis": event.legal_basis,
                "required": purpose.map(|p| p.required),
                "state": current,
                "dpv_state": current.dpv(),
                "since": canonical_time(event.occurred_at),
            })
        }).collect::<Vec<_>>(),
        "events": r.events.iter().map(|e| json!({
            "id": e.id,
            "purpose": e.purpose_id,
            "state": e.state,
            "actor": e.actor,
            "at": canonical_time(e.occurred_at),
            "ledger_seq": e.ledger_seq,
        })).collect::<Vec<_>>(),
        "ledger_seq": r.record.ledger_seq,
        "receipt_url": format!("{}/r/{token}", state.base_url),
        "pdf_url": format!("{}/r/{token}/pdf", state.base_url),
        // The receipt as a compact JWS (EdDSA); check it with `consentd verify-receipt`
        // and the keys at /api/v1/keys.
        "jws": proof.signed_receipt(&state.app, &state.base_url),
        "key_id": state.app.signer.key_id(),
    })
}
