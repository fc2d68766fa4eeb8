//! `/api/v1/subjects`: data-subject rights for staff — find by e-mail, export (Art. 15/20),
//! rectify (Art. 16), erase (Art. 17). Each call is in the audit trail.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::consent::FieldError;
use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::error::Error;
use crate::http::extract::{ApiJson, ClientInfo, Path};
use crate::subject_rights::{self, ExportScope, Rectify, Requester, RightsError};

/// The staff member behind a request, for the audit trail.
pub fn requester<'a>(staff: &StaffIdentity, client: &'a ClientInfo) -> Requester<'a> {
    Requester {
        actor: staff.actor(),
        ip_truncated: client.ip_truncated.as_deref(),
    }
}

impl From<RightsError> for Error {
    fn from(e: RightsError) -> Self {
        match e {
            RightsError::NotFound => Error::NotFound("subject"),
            RightsError::Invalid(f) => Error::Invalid(f),
            RightsError::OnHold { .. } => Error::Conflict {
                code: "subject_on_hold",
                message: e.to_string(),
            },
            RightsError::Erased => Error::Conflict {
                code: "subject_erased",
                message: e.to_string(),
            },
            // Through `From<anyhow::Error>`: a full disk or an outage is still a 503.
            RightsError::Internal(e) => Error::from(e),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindQuery {
    /// The address the person gave (case is ignored). Also finds erased subjects whose kept
    /// pseudonym matches it.
    #[param(format = Email, max_length = 254)]
    pub email: String,
}

/// Subjects (one per consent) under an e-mail address. Audited.
#[utoipa::path(get, path = "/api/v1/subjects", tag = "subjects", params(FindQuery),
    responses((status = 200, body = Object), (status = 422)), security(("bearer" = [])))]
pub async fn find(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    query: Result<Query<FindQuery>, QueryRejection>,
) -> Result<Json<Value>, Error> {
    let Query(query) = query.map_err(|e| FieldError::new("email", e.body_text()))?;
    let found = subject_rights::find(&state.app, &query.email, &requester(&staff, &client)).await?;
    Ok(Json(json!({ "subjects": found })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `json` (default) or `pdf`.
    #[param(pattern = "^(json|pdf)$")]
    pub format: Option<String>,
}

/// Everything consentd holds on the person (this subject and every other under the same
/// address), as JSON or PDF. For a verified request only; audited.
#[utoipa::path(get, path = "/api/v1/subjects/{id}/export", tag = "subjects", params(ExportQuery),
    responses((status = 200, body = Object), (status = 404)), security(("bearer" = [])))]
pub async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
    staff: StaffIdentity,
    client: ClientInfo,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, Error> {
    let Query(query) = query.map_err(|e| FieldError::new("format", e.body_text()))?;
    let pdf = match query.format.as_deref() {
        None | Some("json") => false,
        Some("pdf") => true,
        Some(_) => return Err(FieldError::new("format", "must be json or pdf").into()),
    };
    let export = subject_rights::export(
        &state.app,
        &id,
        ExportScope::Person,
        Some(&requester(&staff, &client)),
    )
    .await?;
    Ok(export_response(&export, pdf, &id))
}

/// The export as a download: JSON or PDF.
pub fn export_response(export: &subject_rights::SubjectExport, pdf: bool, id: &str) -> Response {
    if pdf {
        let bytes = crate::pdf::subject_export::render(export);
        (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"auskunft-{id}.pdf\""),
                ),
            ],
            Body::from(bytes),
        )
            .into_response()
    } else {
        (
            [(
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"auskunft-{id}.json\""),
            )],
            Json(export),
        )
            .into_response()
    }
}

/// Corrects name, e-mail or organisation (Art. 16) of the person's subjects. The old values
/// are not kept; the ledger records which fields changed and the digests before and after.
#[utoipa::path(patch, path = "/api/v1/subjects/{id}", tag = "subjects", request_body = Rectify,
    responses((status = 200, body = Object), (status = 404), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn rectify(
    State(state): State<AppState>,
    Path(id): Path<String>,
    staff: StaffIdentity,
    client: ClientInfo,
    ApiJson(input): ApiJson<Rectify>,
) -> Result<Json<Value>, Error> {
    let report =
        subject_rights::rectify(&state.app, &id, &input, &requester(&staff, &client)).await?;
    Ok(Json(json!(report)))
}

/// Erases the person (Art. 17): this subject and every other under the same address.
/// Answers with the erasure report: what was erased, what was kept and why, what is left to
/// do by hand. 409 while a legal hold covers the data.
#[utoipa::path(delete, path = "/api/v1/subjects/{id}", tag = "subjects",
    responses((status = 200, body = Object), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn erase(
    State(state): State<AppState>,
    Path(id): Path<String>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Result<Json<Value>, Error> {
    let report = subject_rights::erase(&state.app, &id, &requester(&staff, &client)).await?;
    tracing::info!(
        subjects = report.subject_ids.len(),
        "subject erased on request"
    );
    Ok(Json(json!(report)))
}
