//! `/api/v1/workshops`: create, list, show, update and archive workshops.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::consent::FieldError;
use crate::domain::workshop::{NewWorkshop, Slug, WorkshopKind};
use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::error::Error;
use crate::http::extract::{ApiJson, ClientInfo, Path};
use crate::store::workshops::{self, Workshop, WorkshopChanges};
use crate::store::{audit, is_unique_violation};

/// The same fields as `consentd workshop add`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkshopInput {
    #[schema(
        pattern = r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$",
        min_length = 2,
        max_length = 80
    )]
    pub slug: String,
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*\S[^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub title: String,
    #[schema(pattern = r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub starts: NaiveDate,
    #[schema(pattern = r"^20[0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub ends: NaiveDate,
    /// A notice id from `policies/`; it determines the controller.
    pub notice: String,
    #[serde(default)]
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*\S[^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub location: Option<String>,
    /// authorisation, re-authorisation, erfahrungsaustausch, seminar (default) or other.
    #[serde(default)]
    #[schema(pattern = "^(authorisation|re-authorisation|erfahrungsaustausch|seminar|other)$")]
    pub kind: Option<String>,
}

/// Fields to change; the slug and the notice stay (consents refer to them).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkshopPatch {
    #[schema(max_length = 200, pattern = r"\S")]
    pub title: Option<String>,
    pub starts: Option<NaiveDate>,
    pub ends: Option<NaiveDate>,
    /// An empty string clears the location.
    pub location: Option<String>,
    #[schema(pattern = "^(authorisation|re-authorisation|erfahrungsaustausch|seminar|other)$")]
    pub kind: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkshopView {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub kind: String,
    pub location: Option<String>,
    pub starts: NaiveDate,
    pub ends: NaiveDate,
    pub notice: String,
    pub controller: String,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    /// Number of consent records.
    pub consents: i64,
    /// The participant page.
    pub url: String,
}

fn view(state: &AppState, w: Workshop, consents: i64) -> WorkshopView {
    WorkshopView {
        url: format!("{}/w/{}", state.base_url, w.slug),
        id: w.id,
        slug: w.slug,
        title: w.title,
        kind: w.kind,
        location: w.location,
        starts: w.starts_on,
        ends: w.ends_on,
        notice: w.notice_id,
        controller: w.controller_id,
        created_at: w.created_at,
        archived_at: w.archived_at,
        consents,
    }
}

fn parse_kind(kind: Option<&str>) -> Result<Option<WorkshopKind>, FieldError> {
    kind.map(|k| {
        WorkshopKind::parse(k).ok_or_else(|| {
            FieldError::new(
                "kind",
                "must be authorisation, re-authorisation, erfahrungsaustausch, seminar or other",
            )
        })
    })
    .transpose()
}

async fn counts(state: &AppState) -> Result<HashMap<String, i64>, Error> {
    Ok(workshops::consent_counts(&state.app.db)
        .await?
        .into_iter()
        .collect())
}

async fn find(state: &AppState, slug: &str) -> Result<Workshop, Error> {
    Slug::parse(slug).map_err(|_| Error::NotFound("workshop"))?;
    workshops::by_slug(&state.app.db, slug)
        .await?
        .ok_or(Error::NotFound("workshop"))
}

/// All workshops, archived ones included.
#[utoipa::path(get, path = "/api/v1/workshops", tag = "workshops",
    responses((status = 200, body = [WorkshopView])), security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<WorkshopView>>, Error> {
    let counts = counts(&state).await?;
    let list = workshops::list(&state.app.db).await?;
    Ok(Json(
        list.into_iter()
            .map(|w| {
                let n = counts.get(&w.id).copied().unwrap_or(0);
                view(&state, w, n)
            })
            .collect(),
    ))
}

#[utoipa::path(get, path = "/api/v1/workshops/{slug}", tag = "workshops",
    responses((status = 200, body = WorkshopView), (status = 404)), security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<WorkshopView>, Error> {
    let w = find(&state, &slug).await?;
    let n = counts(&state).await?.get(&w.id).copied().unwrap_or(0);
    Ok(Json(view(&state, w, n)))
}

#[utoipa::path(post, path = "/api/v1/workshops", tag = "workshops", request_body = WorkshopInput,
    responses((status = 201, body = WorkshopView), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    ApiJson(input): ApiJson<WorkshopInput>,
) -> Result<(StatusCode, Json<WorkshopView>), Error> {
    let slug = Slug::parse(&input.slug)?;
    let title = NewWorkshop::parse_title(&input.title)?;
    NewWorkshop::check_dates(input.starts, input.ends)?;
    let kind = parse_kind(input.kind.as_deref())?.unwrap_or(WorkshopKind::Seminar);
    let notice =
        state.app.policies.notice(&input.notice).ok_or_else(|| {
            FieldError::new("notice", format!("unknown notice `{}`", input.notice))
        })?;
    let new = NewWorkshop {
        slug,
        title,
        kind,
        location: NewWorkshop::parse_location(input.location.as_deref())?,
        starts_on: input.starts,
        ends_on: input.ends,
        notice_id: notice.id.clone(),
        controller_id: notice.controller.clone(),
    };
    let w = match workshops::insert(&state.app.db, &new, state.app.clock.now()).await {
        Ok(w) => w,
        Err(e) if is_unique_violation(&e) => {
            return Err(Error::Conflict {
                code: "slug_taken",
                message: format!("a workshop `{}` exists already", new.slug.as_str()),
            });
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &state.app.db,
        &state.app.clock,
        &staff.actor(),
        "workshop.created",
        Some(&format!("workshop:{}", w.slug)),
        client.ip_truncated.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(&state, w, 0))))
}

#[utoipa::path(patch, path = "/api/v1/workshops/{slug}", tag = "workshops", request_body = WorkshopPatch,
    responses((status = 200, body = WorkshopView), (status = 404), (status = 422)), security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    staff: StaffIdentity,
    client: ClientInfo,
    ApiJson(patch): ApiJson<WorkshopPatch>,
) -> Result<Json<WorkshopView>, Error> {
    let w = find(&state, &slug).await?;
    let title = patch
        .title
        .as_deref()
        .map(NewWorkshop::parse_title)
        .transpose()?;
    NewWorkshop::check_dates(
        patch.starts.unwrap_or(w.starts_on),
        patch.ends.unwrap_or(w.ends_on),
    )?;
    let kind = parse_kind(patch.kind.as_deref())?;
    let changes = WorkshopChanges {
        title,
        kind: kind.map(|k| k.as_str().to_owned()),
        location: patch
            .location
            .as_deref()
            .map(|l| NewWorkshop::parse_location(Some(l)))
            .transpose()?,
        starts_on: patch.starts,
        ends_on: patch.ends,
    };
    workshops::update(&state.app.db, &w.id, &changes).await?;
    audit::record(
        &state.app.db,
        &state.app.clock,
        &staff.actor(),
        "workshop.updated",
        Some(&format!("workshop:{slug}")),
        client.ip_truncated.as_deref(),
    )
    .await?;
    show(State(state), Path(slug)).await
}

/// Archived workshops keep their consent records but their page no longer accepts consents.
#[utoipa::path(post, path = "/api/v1/workshops/{slug}/archive", tag = "workshops",
    responses((status = 200, body = WorkshopView), (status = 404), (status = 409)), security(("bearer" = [])))]
pub async fn archive(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Result<Json<WorkshopView>, Error> {
    let w = find(&state, &slug).await?;
    if !workshops::archive(&state.app.db, &w.id, state.app.clock.now()).await? {
        return Err(Error::Conflict {
            code: "already_archived",
            message: "the workshop is archived already".into(),
        });
    }
    audit::record(
        &state.app.db,
        &state.app.clock,
        &staff.actor(),
        "workshop.archived",
        Some(&format!("workshop:{slug}")),
        client.ip_truncated.as_deref(),
    )
    .await?;
    show(State(state), Path(slug)).await
}
