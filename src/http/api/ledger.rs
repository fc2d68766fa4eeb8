//! `GET /api/v1/ledger/verify`: the same check as `consentd verify`.

use axum::Json;
use axum::extract::State;

use crate::http::AppState;
use crate::http::error::Error;
use crate::verify::{self, Report};

/// Recomputes the chain and checks the tables against it.
#[utoipa::path(get, path = "/api/v1/ledger/verify", tag = "ledger",
    responses((status = 200, body = Report)), security(("bearer" = [])))]
pub async fn verify(State(state): State<AppState>) -> Result<Json<Report>, Error> {
    let snapshot = crate::store::ledger::snapshot(&state.app.db).await?;
    Ok(Json(verify::check(&snapshot)))
}
