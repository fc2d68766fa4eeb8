//! `/api/v1/consultants`, attendance and the outbox.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::error::Error;
use crate::http::extract::{ApiJson, ClientInfo, Path, RawBody};
use crate::store::consultants::{self, OutboxMessage};

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsultantView {
    pub id: String,
    pub name: String,
    pub email: String,
    pub last_authorised_on: NaiveDate,
    /// When the listing will be deleted unless renewed.
    pub listing_deleted_on: Option<NaiveDate>,
}

pub(crate) async fn views(state: &AppState) -> Result<Vec<ConsultantView>, Error> {
    let rule = state
        .app
        .policies
        .retention
        .iter()
        .find(|r| r.category == "berater-listung");
    Ok(consultants::list(&state.app.db)
        .await?
        .into_iter()
        .map(|c| ConsultantView {
            listing_deleted_on: rule.map(|r| r.due(c.last_authorised_on)),
            id: c.id,
            name: c.name,
            email: c.email,
            last_authorised_on: c.last_authorised_on,
        })
        .collect())
}

#[utoipa::path(get, path = "/api/v1/consultants", tag = "consultants",
    responses((status = 200, body = [ConsultantView])), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<ConsultantView>>, Error> {
    Ok(Json(views(&state).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsultantInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    pub authorised_on: NaiveDate,
    /// Language of the reminder letters: `de` (default) or `en`.
    #[serde(default)]
    #[schema(pattern = "^(de|en)$")]
    pub language: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/consultants", tag = "consultants", request_body = ConsultantInput,
    responses((status = 201), (status = 422)), security(("bearer" = [])))]
pub async fn add(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    ApiJson(input): ApiJson<ConsultantInput>,
) -> Result<(StatusCode, Json<serde_json::Value>), Error> {
    let id = crate::consultants::add(
        &state.app,
        &input.name,
        &input.email,
        input.authorised_on,
        input.language.as_deref(),
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await??;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

/// `name;email;authorised_on` per line (header optional); all lines are checked before any
/// is imported.
#[utoipa::path(post, path = "/api/v1/consultants/import", tag = "consultants", request_body(content = String, content_type = "text/csv"),
    responses((status = 200), (status = 422)), security(("bearer" = [])))]
pub async fn import(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    RawBody(body): RawBody,
) -> Result<Json<serde_json::Value>, Error> {
    let added = crate::consultants::import_csv(
        &state.app,
        &crate::consultants::csv_text(&body),
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await??;
    Ok(Json(serde_json::json!({ "added": added })))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceInput {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

/// Records attendance; at an Erfahrungsaustausch or re-authorisation it re-authorises the
/// consultant with this e-mail (the listing's clock restarts on the workshop's last day).
#[utoipa::path(post, path = "/api/v1/workshops/{slug}/attendance", tag = "consultants", request_body = AttendanceInput,
    responses((status = 201), (status = 200), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn attend(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    staff: StaffIdentity,
    client: ClientInfo,
    ApiJson(input): ApiJson<AttendanceInput>,
) -> Result<StatusCode, Error> {
    match crate::consultants::attend(
        &state.app,
        &slug,
        &input.email,
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await?
    {
        None => Err(Error::NotFound("workshop")),
        Some(Err(e)) => Err(e.into()),
        Some(Ok(true)) => Ok(StatusCode::CREATED),
        Some(Ok(false)) => Ok(StatusCode::OK),
    }
}

/// Reminder letters with their state (queued, sent, failed, cancelled).
#[utoipa::path(get, path = "/api/v1/outbox", tag = "consultants",
    responses((status = 200, body = [OutboxMessage])), security(("bearer" = [])))]
pub async fn outbox(State(state): State<AppState>) -> Result<Json<Vec<OutboxMessage>>, Error> {
    Ok(Json(consultants::outbox(&state.app.db).await?))
}
