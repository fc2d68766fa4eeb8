//! `POST /api/v1/consents`: the organisers' registration site records a consent.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::clock::canonical_time;
use crate::domain::consent::CollectionMethod;
use crate::http::AppState;
use crate::http::error::Error;
use crate::http::extract::{ApiJson, ClientInfo};
use crate::http::submission::{ConsentInput, record_consent};

pub async fn create(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(input): ApiJson<ConsentInput>,
) -> Result<(StatusCode, Json<Value>), Error> {
    let recorded = record_consent(&state.app, input, CollectionMethod::Api, client).await?;
    let record = &recorded.record;
    let token = recorded.token.as_str();
    let purposes: serde_json::Map<String, Value> = recorded
        .events
        .iter()
        .map(|e| (e.purpose_id.clone(), json!(e.state)))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "receipt_id": record.receipt_id,
            "record_id": record.id,
            "token": token,
            "receipt_url": format!("{}/r/{token}", state.base_url),
            "recorded_at": canonical_time(record.recorded_at),
            "ledger_seq": recorded.ledger.seq,
            "ledger_sha256": recorded.ledger.entry_sha256,
            "notice": {
                "id": record.notice_id,
                "version": record.notice_version,
                "language": record.notice_language,
                "sha256": record.notice_sha256,
            },
            "purposes": purposes,
        })),
    ))
}
