//! `POST /api/v1/consents`: the organisers' registration site records a consent.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::clock::{berlin_day_start, canonical_time};
use crate::domain::consent::{CollectionMethod, FieldError, PurposeState};
use crate::domain::staff::Role;
use crate::http::AppState;
use crate::http::auth::Identity;
use crate::http::error::Error;
use crate::http::extract::{ApiJson, ApiQuery, ClientInfo, Path};
use crate::http::submission::{ConsentInput, record_consent};
use crate::store::consents::{self, ConsentEvent, ConsentRecord, RecordFilter, StoredSubject};
use crate::store::{subjects, workshops};

/// Records a participant's consent (the registration site, anonymously or with a collector
/// token). `notice.sha256` must be the hash of the text in force that the participant saw.
#[utoipa::path(post, path = "/api/v1/consents", tag = "participants", request_body = ConsentInput,
    responses((status = 201, body = Object), (status = 409), (status = 413), (status = 415), (status = 422), (status = 429)))]
pub async fn create(
    State(state): State<AppState>,
    identity: Identity,
    client: ClientInfo,
    ApiJson(input): ApiJson<ConsentInput>,
) -> Result<(StatusCode, Json<Value>), Error> {
    let collector = match identity {
        Identity::Staff(staff) if staff.role == Role::Collector => Some(staff.label),
        _ => None,
    };
    let recorded =
        record_consent(&state.app, input, CollectionMethod::Api, client, collector).await?;
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsentQuery {
    /// Workshop slug.
    #[param(
        pattern = r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$",
        min_length = 2,
        max_length = 80
    )]
    pub workshop: Option<String>,
    /// Notice version number.
    #[param(minimum = 1)]
    pub notice_version: Option<i64>,
    /// Records with at least one event in this state: acknowledged, given, refused, withdrawn, expired, erased.
    #[param(pattern = "^(acknowledged|given|refused|withdrawn|expired|erased)$")]
    pub state: Option<String>,
    /// Recorded on or after this date (Europe/Berlin), YYYY-MM-DD.
    pub from: Option<NaiveDate>,
    /// Recorded on or before this date (Europe/Berlin), YYYY-MM-DD.
    pub to: Option<NaiveDate>,
    /// 1-based page number.
    #[param(minimum = 1, maximum = 1000000)]
    pub page: Option<i64>,
    /// Records per page, at most 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub per_page: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentPage {
    pub items: Vec<Value>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// Consent records, newest first, with the current state of each purpose.
#[utoipa::path(get, path = "/api/v1/consents", tag = "consents", params(ConsentQuery),
    responses((status = 200, body = ConsentPage), (status = 422)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ConsentQuery>,
) -> Result<Json<ConsentPage>, Error> {
    let per_page = query.per_page.unwrap_or(50);
    if !(1..=200).contains(&per_page) {
        return Err(FieldError::new("per_page", "must be between 1 and 200").into());
    }
    let page = query.page.unwrap_or(1);
    if !(1..=1_000_000).contains(&page) {
        return Err(FieldError::new("page", "must be between 1 and 1000000").into());
    }
    if query.notice_version.is_some_and(|v| v < 1) {
        return Err(FieldError::new("notice_version", "must be 1 or more").into());
    }
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from > to
    {
        return Err(FieldError::new("to", "must not be before `from`").into());
    }
    if let Some(s) = &query.state {
        if PurposeState::parse(s).is_none() {
            return Err(FieldError::new(
                "state",
                "must be acknowledged, given, refused, withdrawn, expired or erased",
            )
            .into());
        }
    }
    let workshop_id = match &query.workshop {
        Some(slug) if crate::domain::workshop::Slug::parse(slug).is_err() => {
            return Err(FieldError::new("workshop", "is not a workshop slug").into());
        }
        Some(slug) => Some(
            workshops::by_slug(&state.app.db, slug)
                .await?
                .ok_or_else(|| FieldError::new("workshop", format!("unknown workshop `{slug}`")))?
                .id,
        ),
        None => None,
    };
    let filter = RecordFilter {
        workshop_id,
        notice_version: query.notice_version,
        state: query.state.clone(),
        from: query.from.and_then(berlin_day_start),
        until: query
            .to
            .and_then(|d| d.succ_opt())
            .and_then(berlin_day_start),
    };
    let (records, events, total) =
        consents::list(&state.app.db, &filter, per_page, (page - 1) * per_page).await?;
    let subjects = subjects::of_records(&state.app.db, &records).await?;
    let items = records
        .iter()
        .map(|r| {
            let own: Vec<ConsentEvent> = events
                .iter()
                .filter(|e| e.record_id == r.id)
                .cloned()
                .collect();
            let subject = subjects.iter().find(|s| s.id == r.subject_id);
            record_json(r, &own, subject, false)
        })
        .collect();
    Ok(Json(ConsentPage {
        items,
        page,
        per_page,
        total,
    }))
}

/// One consent record with its subject and full event history.
#[utoipa::path(get, path = "/api/v1/consents/{id}", tag = "consents",
    responses((status = 200, body = Object), (status = 404)), security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Error> {
    uuid::Uuid::parse_str(&id).map_err(|_| Error::NotFound("consent record"))?;
    let record = consents::by_id(&state.app.db, &id)
        .await?
        .ok_or(Error::NotFound("consent record"))?;
    let events = consents::events_of(&state.app.db, &record.id).await?;
    let subject = consents::subject(&state.app.db, &record.subject_id).await?;
    Ok(Json(record_json(&record, &events, subject.as_ref(), true)))
}

/// A record as the API shows it: where it was given from is the subject's data (migration
/// 0016), shown with the record as before; the subject itself only with `with_history`.
fn record_json(
    r: &ConsentRecord,
    events: &[ConsentEvent],
    subject: Option<&StoredSubject>,
    with_history: bool,
) -> Value {
    let mut value = json!({
        "id": r.id,
        "receipt_id": r.receipt_id,
        "subject_id": r.subject_id,
        "workshop_id": r.workshop_id,
        "controller": r.controller_id,
        "notice": { "id": r.notice_id, "version": r.notice_version, "language": r.notice_language, "sha256": r.notice_sha256 },
        "collection_method": r.collection_method,
        "collector": r.collector,
        "notice_content_sha256": r.notice_content_sha256,
        "recorded_at": canonical_time(r.recorded_at),
        "ip_truncated": subject.and_then(|s| s.ip_truncated.as_deref()),
        "user_agent": subject.and_then(|s| s.user_agent.as_deref()),
        "ledger_seq": r.ledger_seq,
        "purposes": consents::current_states(events).iter().map(|e| json!({
            "id": e.purpose_id, "state": e.state, "legal_basis": e.legal_basis, "since": canonical_time(e.occurred_at),
        })).collect::<Vec<_>>(),
    });
    if let (true, Some(s)) = (with_history, subject) {
        value["subject"] = json!({
            "id": s.id, "name": s.name, "email": s.email, "organisation": s.organisation, "erased": s.erased_at.is_some(),
        });
    }
    if with_history {
        value["events"] = json!(events.iter().map(|e| json!({
            "id": e.id, "purpose": e.purpose_id, "state": e.state, "legal_basis": e.legal_basis,
            "actor": e.actor, "at": canonical_time(e.occurred_at), "ledger_seq": e.ledger_seq,
        })).collect::<Vec<_>>());
    }
    value
}
