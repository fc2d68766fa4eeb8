//! Consent records as documents for legal review: one record's PDF, and a workshop's records
//! as a ZIP of PDFs and signed receipts.

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::error::Error;
use crate::http::extract::{ClientInfo, Path};
use crate::proof::RecordProof;
use crate::store::{audit, consents, workshops};

/// The record as a PDF for legal review (German, or English if the consent was given in
/// English). The same record state gives the same bytes.
#[utoipa::path(get, path = "/api/v1/consents/{id}/pdf", tag = "consents",
    responses((status = 200, content_type = "application/pdf"), (status = 404)), security(("bearer" = [])))]
pub async fn consent_pdf(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    uuid::Uuid::parse_str(&id).map_err(|_| Error::NotFound("consent record"))?;
    let record = consents::by_id(&state.app.db, &id)
        .await?
        .ok_or(Error::NotFound("consent record"))?;
    let proof = RecordProof::load(&state.app, record).await?;
    Ok(pdf_response(&state, &proof).await?)
}

/// Renders the proof's PDF (off the async threads) as a download.
pub async fn pdf_response(state: &AppState, proof: &RecordProof) -> anyhow::Result<Response> {
    let jws = proof.signed_receipt(&state.app, &state.base_url);
    let input = proof.pdf_input(&state.app, &state.base_url, &jws);
    let bytes =
        tokio::task::spawn_blocking(move || crate::pdf::consent_record::render(&input)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"einwilligung-{}.pdf\"",
                    proof.receipt.record.receipt_id
                ),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// Every record of the workshop: `<date>-<receipt id>.pdf` and `.receipt.json` (signed),
/// `manifest.json` and `SHA256SUMS`. Streamed; audited.
#[utoipa::path(get, path = "/api/v1/workshops/{slug}/records.zip", tag = "workshops",
    responses((status = 200, content_type = "application/zip"), (status = 404)), security(("bearer" = [])))]
pub async fn workshop_zip(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Result<Response, Error> {
    let workshop = workshops::by_slug(&state.app.db, &slug)
        .await?
        .ok_or(Error::NotFound("workshop"))?;
    audit::record(
        &state.app.db,
        &state.app.clock,
        &staff.actor(),
        "records.exported",
        Some(&format!("workshop:{slug}")),
        client.ip_truncated.as_deref(),
    )
    .await?;
    let rx = crate::records_zip::stream(state.app.clone(), workshop, state.base_url.clone());
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{slug}-einwilligungen.zip\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
