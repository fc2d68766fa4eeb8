//! `/api/v1/keys`: the public keys receipts are signed with, as a JWK set.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::clock::canonical_time;
use crate::http::AppState;
use crate::http::error::Error;
use crate::store::signing_keys;

/// Every key that ever signed a receipt (retired ones too, for old receipts), as a JWK set
/// (RFC 7517, OKP/Ed25519 per RFC 8037). `kid` is the RFC 7638 thumbprint.
#[utoipa::path(get, path = "/api/v1/keys", tag = "participants",
    responses((status = 200, body = Object)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, Error> {
    let keys = signing_keys::all(&state.app.db).await?;
    Ok(Json(json!({
        "keys": keys.iter().map(|k| json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
            "kid": k.key_id,
            "x": k.public_key,
            "created_at": canonical_time(k.created_at),
            "retired_at": k.retired_at.map(canonical_time),
        })).collect::<Vec<_>>(),
        "current": state.app.signer.key_id(),
    })))
}
