//! `/api/v1/notices/{id}/versions`: the review workflow through the API.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::catalog::{CatalogNotice, CatalogVersion};
use crate::domain::consent::FieldError;
use crate::domain::diff::{self, VersionDiff};
use crate::domain::notice::{Language, VersionMetadata};
use crate::domain::review::{Decision, DisplayState, Refusal};
use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::error::Error;
use crate::http::extract::{ApiJson, ClientInfo, Path};
use crate::review::{self, Actor, ReviewError};
use crate::store::notice_versions::{self, ReviewEntry};

impl From<ReviewError> for Error {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::NotFound(what) => Error::NotFound(what),
            ReviewError::Refused(Refusal::WrongState(..)) => Error::Conflict {
                code: "invalid_transition",
                message: e.to_string(),
            },
            ReviewError::Refused(Refusal::NotAllowed(m)) => Error::NotPermitted(m),
            ReviewError::Invalid(f) => Error::Invalid(f),
            ReviewError::Raced => Error::Conflict {
                code: "changed_meanwhile",
                message: e.to_string(),
            },
            ReviewError::Other(e) => Error::from(e),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionSummary {
    pub notice: String,
    pub version: u32,
    pub state: DisplayState,
    pub effective: NaiveDate,
    /// Hash of text and metadata: what an approval is bound to.
    pub content_sha256: String,
    /// SHA-256 of each text, by language.
    pub texts: BTreeMap<String, String>,
    pub source: String,
    /// Who uploaded it (its author, who may not review it); none for versions from files.
    pub uploaded_by: Option<String>,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub material: Option<bool>,
    /// Approved elsewhere and imported from an approval record in `policies/`.
    pub imported: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDetail {
    #[serde(flatten)]
    pub summary: VersionSummary,
    #[schema(value_type = Object)]
    pub metadata: VersionMetadata,
    /// The canonical Markdown of each text, by language.
    pub text: BTreeMap<String, String>,
    pub reviews: Vec<ReviewEntry>,
}

pub(crate) fn summary(
    notice: &CatalogNotice,
    v: &CatalogVersion,
    today: NaiveDate,
) -> VersionSummary {
    VersionSummary {
        notice: notice.id.clone(),
        version: v.content.version,
        state: notice.display_state(v, today),
        effective: v.content.effective,
        content_sha256: v.row.content_sha256.clone(),
        texts: v
            .content
            .texts
            .values()
            .map(|t| (t.language.code().to_owned(), t.sha256.clone()))
            .collect(),
        source: v.row.source.clone(),
        uploaded_by: v.row.uploaded_by.clone(),
        submitted_by: v.row.submitted_by.clone(),
        submitted_at: v.row.submitted_at,
        decided_by: v.row.decided_by.clone(),
        decided_at: v.row.decided_at,
        material: v.row.material,
        imported: v.row.imported,
    }
}

async fn find(state: &AppState, id: &str) -> Result<CatalogNotice, Error> {
    let catalog = state.app.catalog().await?;
    catalog.notice(id).cloned().ok_or(Error::NotFound("notice"))
}

fn version_of(notice: &CatalogNotice, number: u32) -> Result<&CatalogVersion, Error> {
    notice
        .version(number)
        .ok_or(Error::NotFound("notice version"))
}

/// All versions of a notice with their states.
#[utoipa::path(get, path = "/api/v1/notices/{id}/versions", tag = "notices",
    responses((status = 200, body = [VersionSummary]), (status = 404)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<VersionSummary>>, Error> {
    let notice = find(&state, &id).await?;
    let today = state.app.clock.today_berlin();
    Ok(Json(
        notice
            .versions
            .iter()
            .map(|v| summary(&notice, v, today))
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/notices/{id}/versions/{version}", tag = "notices",
    responses((status = 200, body = VersionDetail), (status = 404)), security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, u32)>,
) -> Result<Json<VersionDetail>, Error> {
    let notice = find(&state, &id).await?;
    let v = version_of(&notice, version)?;
    let reviews = notice_versions::reviews_of(&state.app.db, &id, i64::from(version)).await?;
    Ok(Json(VersionDetail {
        summary: summary(&notice, v, state.app.clock.today_berlin()),
        metadata: v.content.metadata(),
        text: v
            .content
            .texts
            .values()
            .map(|t| (t.language.code().to_owned(), t.markdown.clone()))
            .collect(),
        reviews,
    }))
}

fn actor<'a>(staff: &'a StaffIdentity, actor_id: &'a str, client: &'a ClientInfo) -> Actor<'a> {
    Actor {
        id: actor_id,
        role: staff.role,
        ip: client.ip_truncated.as_deref(),
    }
}

/// Submits a draft for legal review; its text and metadata are frozen from now on.
#[utoipa::path(post, path = "/api/v1/notices/{id}/versions/{version}/submit", tag = "notices",
    responses((status = 200, body = VersionSummary), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn submit(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, u32)>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Result<Json<VersionSummary>, Error> {
    let actor_id = staff.actor();
    review::submit(&state.app, &id, version, &actor(&staff, &actor_id, &client)).await?;
    current_summary(&state, &id, version).await
}

async fn current_summary(
    state: &AppState,
    id: &str,
    version: u32,
) -> Result<Json<VersionSummary>, Error> {
    let notice = find(state, id).await?;
    Ok(Json(summary(
        &notice,
        version_of(&notice, version)?,
        state.app.clock.today_berlin(),
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    pub decision: Decision,
    pub comment: Option<String>,
    /// A material change asks for re-consent to added or changed purposes when the version
    /// comes into force; an editorial one does not. Default true.
    #[serde(default)]
    pub material: Option<bool>,
}

/// Approve or request changes (lawyers; never the submitter).
#[utoipa::path(post, path = "/api/v1/notices/{id}/versions/{version}/review", tag = "notices", request_body = ReviewInput,
    responses((status = 200, body = VersionSummary), (status = 403), (status = 404), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn decide(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, u32)>,
    staff: StaffIdentity,
    client: ClientInfo,
    ApiJson(input): ApiJson<ReviewInput>,
) -> Result<Json<VersionSummary>, Error> {
    let actor_id = staff.actor();
    review::decide(
        &state.app,
        &id,
        version,
        &actor(&staff, &actor_id, &client),
        input.decision,
        input.comment.as_deref(),
        input.material.unwrap_or(true),
    )
    .await?;
    current_summary(&state, &id, version).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    #[schema(
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*\S[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub comment: String,
}

#[utoipa::path(post, path = "/api/v1/notices/{id}/versions/{version}/comment", tag = "notices", request_body = CommentInput,
    responses((status = 200, body = VersionSummary), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn comment(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, u32)>,
    staff: StaffIdentity,
    client: ClientInfo,
    ApiJson(input): ApiJson<CommentInput>,
) -> Result<Json<VersionSummary>, Error> {
    let actor_id = staff.actor();
    review::comment(
        &state.app,
        &id,
        version,
        &actor(&staff, &actor_id, &client),
        Some(&input.comment),
    )
    .await?;
    current_summary(&state, &id, version).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawInput {
    #[schema(
        max_length = 5000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*\S[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub reason: String,
}

/// Pulls a version before or after it came into force, with a reason.
#[utoipa::path(post, path = "/api/v1/notices/{id}/versions/{version}/withdraw", tag = "notices", request_body = WithdrawInput,
    responses((status = 200, body = VersionSummary), (status = 404), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn withdraw(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, u32)>,
    staff: StaffIdentity,
    client: ClientInfo,
    ApiJson(input): ApiJson<WithdrawInput>,
) -> Result<Json<VersionSummary>, Error> {
    let actor_id = staff.actor();
    review::withdraw(
        &state.app,
        &id,
        version,
        &actor(&staff, &actor_id, &client),
        Some(&input.reason),
    )
    .await?;
    current_summary(&state, &id, version).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadInput {
    /// The version file, as in `policies/notices/{id}/v<N>.toml`.
    pub version_toml: String,
    /// Markdown texts by language (`de` required).
    pub texts: BTreeMap<String, String>,
}

/// Uploads a new draft version (same format and checks as files in `policies/`).
#[utoipa::path(post, path = "/api/v1/notices/{id}/versions", tag = "notices", request_body = UploadInput,
    responses((status = 201, body = VersionSummary), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    Path(id): Path<String>,
    staff: StaffIdentity,
    client: ClientInfo,
    ApiJson(input): ApiJson<UploadInput>,
) -> Result<(StatusCode, Json<VersionSummary>), Error> {
    let mut texts = BTreeMap::new();
    for (code, text) in input.texts {
        let lang = Language::parse(&code)
            .ok_or_else(|| FieldError::new(format!("texts.{code}"), "must be de or en"))?;
        texts.insert(lang, text);
    }
    let actor_id = staff.actor();
    let version = review::upload(
        &state.app,
        &id,
        &input.version_toml,
        &texts,
        &actor(&staff, &actor_id, &client),
    )
    .await?;
    let Json(summary) = current_summary(&state, &id, version).await?;
    Ok((StatusCode::CREATED, Json(summary)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// The version to compare against (default: the previous one).
    pub against: Option<u32>,
}

/// What changed: word-level for each text, field by field for the metadata.
#[utoipa::path(get, path = "/api/v1/notices/{id}/versions/{version}/diff", tag = "notices", params(DiffQuery),
    responses((status = 200, body = VersionDiff), (status = 404)), security(("bearer" = [])))]
pub async fn diff(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, u32)>,
    query: Result<Query<DiffQuery>, QueryRejection>,
) -> Result<Json<VersionDiff>, Error> {
    let Query(query) = query.map_err(|e| FieldError::new("against", e.body_text()))?;
    let notice = find(&state, &id).await?;
    let new = version_of(&notice, version)?;
    let old = match query.against {
        Some(n) => version_of(&notice, n)?,
        None => notice.previous(version).ok_or_else(|| {
            FieldError::new(
                "against",
                "this is the first version; name one to compare with",
            )
        })?,
    };
    Ok(Json(diff::versions(&old.content, &new.content)))
}

/// The version as a PDF for legal filing; the same version and trail give the same bytes.
#[utoipa::path(get, path = "/api/v1/notices/{id}/versions/{version}/pdf", tag = "notices",
    responses((status = 200, content_type = "application/pdf"), (status = 404)), security(("bearer" = [])))]
pub async fn pdf(
    State(state): State<AppState>,
    Path((id, version)): Path<(String, u32)>,
    client: ClientInfo,
) -> Result<Response, Error> {
    let notice = find(&state, &id).await?;
    let v = version_of(&notice, version)?;
    let bytes = crate::pdf::notice_version::render(&state.app, &notice, v, client.language).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}-v{version}.pdf\""),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}
