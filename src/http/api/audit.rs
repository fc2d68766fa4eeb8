//! `GET /api/v1/audit`: the audit trail of staff actions, newest first.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::consent::FieldError;
use crate::http::AppState;
use crate::http::error::Error;
use crate::http::extract::ApiQuery;
use crate::store::audit::{self, AuditEvent};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// 1-based page number.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<i64>,
    /// Events per page, at most 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "ledger", params(AuditQuery),
    responses((status = 200, body = [AuditEvent])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEvent>>, Error> {
    let per_page = query.per_page.unwrap_or(100);
    if !(1..=500).contains(&per_page) {
        return Err(FieldError::new("per_page", "must be between 1 and 500").into());
    }
    let page = query.page.unwrap_or(1);
    if !(1..=1_000_000).contains(&page) {
        return Err(FieldError::new("page", "must be between 1 and 1000000").into());
    }
    Ok(Json(
        audit::recent(&state.app.db, per_page, (page - 1) * per_page).await?,
    ))
}
