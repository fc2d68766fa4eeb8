//! `/api/v1/retention/…`: forecast, deletion reports, the deletion concept, holds, pause and
//! resume, runs.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::domain::consent::FieldError;
use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::error::Error;
use crate::http::extract::{ApiJson, ApiQuery, ClientInfo, Path};
use crate::retention::RunReport;
use crate::retention::admin::{self, Forecast};
use crate::store::retention::{self as store, Hold};

/// What will be deleted when over the next twelve months, per category.
#[utoipa::path(get, path = "/api/v1/retention/forecast", tag = "retention",
    responses((status = 200, body = Forecast)), security(("bearer" = [])))]
pub async fn forecast(State(state): State<AppState>) -> Result<Json<Forecast>, Error> {
    Ok(Json(admin::forecast(&state.app).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// First day, YYYY-MM-DD (Europe/Berlin).
    pub from: NaiveDate,
    /// Last day, YYYY-MM-DD.
    pub to: NaiveDate,
    /// csv (default; UTF-8 with BOM, semicolons), json or pdf (for filing).
    #[param(pattern = "^(csv|json|pdf)$")]
    pub format: Option<String>,
}

/// A file download with its type and name.
fn attachment(content_type: &str, filename: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        Body::from(bytes),
    )
        .into_response()
}

/// The deletion log for a date range: what was deleted when under which rule — never the
/// deleted content.
#[utoipa::path(get, path = "/api/v1/retention/report", tag = "retention", params(ReportQuery),
    responses((status = 200, content(("text/csv"), ("application/json"), ("application/pdf"))),
        (status = 422)), security(("bearer" = [])))]
pub async fn report(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ReportQuery>,
) -> Result<Response, Error> {
    let q = query;
    if q.to < q.from {
        return Err(FieldError::new("to", "must not be before `from`").into());
    }
    let name = format!("loeschbericht-{}-{}", q.from, q.to);
    Ok(match q.format.as_deref().unwrap_or("csv") {
        "csv" => {
            let entries = admin::report(&state.app, q.from, q.to).await?;
            attachment(
                "text/csv; charset=utf-8",
                &format!("{name}.csv"),
                admin::report_csv(&entries)?,
            )
        }
        "json" => Json(admin::report(&state.app, q.from, q.to).await?).into_response(),
        "pdf" => attachment(
            "application/pdf",
            &format!("{name}.pdf"),
            crate::pdf::retention::deletion_report(&state.app, q.from, q.to).await?,
        ),
        _ => return Err(FieldError::new("format", "must be csv, json or pdf").into()),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConceptQuery {
    /// md (default) or pdf (for filing).
    #[param(pattern = "^(md|pdf)$")]
    pub format: Option<String>,
}

/// The retention rules as the deletion concept (Löschkonzept, DIN 66398) for the
/// data-protection officer.
#[utoipa::path(get, path = "/api/v1/retention/concept", tag = "retention", params(ConceptQuery),
    responses((status = 200, content(("text/markdown"), ("application/pdf"))), (status = 422)),
    security(("bearer" = [])))]
pub async fn concept(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ConceptQuery>,
) -> Result<Response, Error> {
    let q = query;
    Ok(match q.format.as_deref().unwrap_or("md") {
        "md" => attachment(
            "text/markdown; charset=utf-8",
            "loeschkonzept.md",
            crate::retention::concept_markdown(&state.app).into_bytes(),
        ),
        "pdf" => attachment(
            "application/pdf",
            "loeschkonzept.pdf",
            crate::pdf::retention::concept(&state.app).await?,
        ),
        _ => return Err(FieldError::new("format", "must be md or pdf").into()),
    })
}

#[utoipa::path(get, path = "/api/v1/retention/holds", tag = "retention",
    responses((status = 200, body = [Hold])), security(("bearer" = [])))]
pub async fn holds(State(state): State<AppState>) -> Result<Json<Vec<Hold>>, Error> {
    Ok(Json(store::holds(&state.app.db).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldInput {
    /// subject, workshop or category
    #[schema(pattern = "^(subject|workshop|category)$")]
    pub scope: String,
    /// The subject id, the workshop slug or the category.
    #[schema(min_length = 1, max_length = 200, pattern = r"^[!-~]+$")]
    pub target: String,
    /// Why the data must be kept (dispute, Art. 18 request, …).
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*\S[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub reason: String,
    pub until: Option<NaiveDate>,
}

/// Puts data on legal hold: it is neither deleted nor processed until released.
#[utoipa::path(post, path = "/api/v1/retention/holds", tag = "retention", request_body = HoldInput,
    responses((status = 201, body = Hold), (status = 422)), security(("bearer" = [])))]
pub async fn add_hold(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    ApiJson(input): ApiJson<HoldInput>,
) -> Result<(StatusCode, Json<Hold>), Error> {
    let hold = admin::add_hold(
        &state.app,
        &input.scope,
        &input.target,
        &input.reason,
        input.until,
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await??;
    Ok((StatusCode::CREATED, Json(hold)))
}

#[utoipa::path(post, path = "/api/v1/retention/holds/{id}/release", tag = "retention",
    responses((status = 204), (status = 404)), security(("bearer" = [])))]
pub async fn release_hold(
    State(state): State<AppState>,
    Path(id): Path<String>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Result<StatusCode, Error> {
    if admin::release_hold(
        &state.app,
        &id,
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::NotFound("active hold"))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PauseInput {
    #[schema(
        max_length = 2000,
        pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*\S[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$"
    )]
    pub reason: String,
}

/// Pauses automated deletion (with a reason); runs delete nothing until resumed.
#[utoipa::path(post, path = "/api/v1/retention/pause", tag = "retention", request_body = PauseInput,
    responses((status = 204), (status = 409), (status = 422)), security(("bearer" = [])))]
pub async fn pause(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    ApiJson(input): ApiJson<PauseInput>,
) -> Result<StatusCode, Error> {
    match admin::pause(
        &state.app,
        &input.reason,
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await??
    {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(Error::Conflict {
            code: "already_paused",
            message: "automated deletion is paused already".into(),
        }),
    }
}

#[utoipa::path(post, path = "/api/v1/retention/resume", tag = "retention",
    responses((status = 204), (status = 409)), security(("bearer" = [])))]
pub async fn resume(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Result<StatusCode, Error> {
    match admin::resume(&state.app, &staff.actor(), client.ip_truncated.as_deref()).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(Error::Conflict {
            code: "not_paused",
            message: "automated deletion is not paused".into(),
        }),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunInput {
    /// Default true: only list what is due.
    pub dry_run: Option<bool>,
}

/// Runs the engine now (as the scheduler does).
#[utoipa::path(post, path = "/api/v1/retention/run", tag = "retention", request_body = RunInput,
    responses((status = 200, body = RunReport)), security(("bearer" = [])))]
pub async fn run(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<RunInput>,
) -> Result<Json<RunReport>, Error> {
    Ok(Json(
        crate::retention::run(&state.app, input.dry_run.unwrap_or(true), None).await?,
    ))
}
