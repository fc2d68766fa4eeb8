//! `GET /api/v1/ledger/verify`: the same check as `consentd verify`.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::consent::FieldError;
use crate::http::AppState;
use crate::http::error::Error;
use crate::verify::{self, Report, Scope};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// `full` (default): the chain and every table against it; `chain`: the chain alone,
    /// as `consentd verify --chain-only`.
    #[param(inline)]
    pub scope: Option<Scope>,
}

/// Recomputes the chain and, unless `scope=chain`, checks the tables against it.
#[utoipa::path(get, path = "/api/v1/ledger/verify", tag = "ledger", params(VerifyQuery),
    responses((status = 200, body = Report)), security(("bearer" = [])))]
pub async fn verify(
    State(state): State<AppState>,
    query: Result<Query<VerifyQuery>, QueryRejection>,
) -> Result<Json<Report>, Error> {
    let Query(query) = query.map_err(|e| FieldError::new("scope", e.body_text()))?;
    let db = &state.app.db;
    let report = match query.scope.unwrap_or(Scope::Full) {
        Scope::Full => verify::check(&crate::store::ledger::snapshot(db).await?),
        Scope::Chain => verify::chain_only(db, &[]).await?,
    };
    Ok(Json(report))
}
