//! Workshops: the list, and (admins) the form to add one.

use std::collections::HashMap;

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use maud::html;
use serde::Deserialize;

use super::{csrf_field, shell, tr};
use crate::domain::workshop::{NewWorkshop, Slug, WorkshopKind};
use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::error::Error;
use crate::http::extract::ClientInfo;
use crate::http::i18n::format_date;
use crate::http::participant::error_page;
use crate::store::{audit, is_unique_violation, workshops};
use axum::http::Method;

const KINDS: [WorkshopKind; 5] = [
    WorkshopKind::Authorisation,
    WorkshopKind::ReAuthorisation,
    WorkshopKind::Erfahrungsaustausch,
    WorkshopKind::Seminar,
    WorkshopKind::Other,
];

pub async fn page(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    render(&state, &staff, &client, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    staff: &StaffIdentity,
    client: &ClientInfo,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let lang = client.language;
    let (list, counts) = match tokio::try_join!(
        workshops::list(&state.app.db),
        workshops::consent_counts(&state.app.db)
    ) {
        Ok(v) => v,
        Err(e) => return error_page(e.into(), lang),
    };
    let counts: HashMap<String, i64> = counts.into_iter().collect();
    let body = html! {
        table {
            thead { tr {
                th { "Slug" } th { (tr(lang, "Titel", "Title")) } th { (tr(lang, "Art", "Kind")) } th { (tr(lang, "Termin", "Dates")) }
                th { "Notice" } th { (tr(lang, "Einwilligungen", "Consents")) } th { (tr(lang, "Status", "Status")) }
            } }
            tbody {
                @for w in &list {
                    tr {
                        td { a href={ "/w/" (w.slug) } { (w.slug) } }
                        td { (w.title) }
                        td { (WorkshopKind::parse(&w.kind).map(|k| if lang == crate::domain::notice::Language::De { k.label_de() } else { k.label_en() }).unwrap_or(&w.kind)) }
                        td { (format_date(w.starts_on, lang)) " – " (format_date(w.ends_on, lang)) }
                        td { (w.notice_id) }
                        td { a href={ "/staff/consents?workshop=" (w.slug) } { (counts.get(&w.id).copied().unwrap_or(0)) } }
                        td { @if w.archived_at.is_some() { (tr(lang, "archiviert", "archived")) } @else { (tr(lang, "offen", "open")) } }
                    }
                }
            }
        }
        @if state.permits(staff.role, Method::POST, "/staff/workshops") {
            h2 #add { (tr(lang, "Workshop anlegen", "Add a workshop")) }
            @if let Some(problem) = &problem { div.errors role="alert" { p { (problem) } } }
            form method="post" action="/staff/workshops" {
                (csrf_field(staff))
                div.grid {
                    label { "Slug" input type="text" name="slug" required pattern="[a-z0-9][a-z0-9-]*[a-z0-9]" placeholder="autorisierung-koeln-2027"; }
                    label { (tr(lang, "Titel", "Title")) input type="text" name="title" required maxlength="200"; }
                    label { (tr(lang, "Beginn", "Starts")) input type="date" name="starts" required; }
                    label { (tr(lang, "Ende", "Ends")) input type="date" name="ends" required; }
                    label { (tr(lang, "Ort", "Location")) input type="text" name="location" maxlength="200"; }
                    label { (tr(lang, "Art", "Kind"))
                        select name="kind" { @for k in KINDS { option value=(k.as_str()) selected[k == WorkshopKind::Seminar] { (k.label_de()) } } }
                    }
                    label { "Notice"
                        select name="notice" { @for n in state.app.policies.notices.values() { option value=(n.id) { (n.id) } } }
                    }
                }
                p { button type="submit" { (tr(lang, "Anlegen", "Add")) } }
            }
        }
    };
    (
        status,
        shell(state, lang, staff, "/staff/workshops", "Workshops", body),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct WorkshopForm {
    slug: String,
    title: String,
    starts: String,
    ends: String,
    location: Option<String>,
    kind: String,
    notice: String,
}

pub async fn create(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    form: Result<Form<WorkshopForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return render(
            &state,
            &staff,
            &client,
            Some("Formular unvollständig / form incomplete".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let result = async {
        let date = |field: &'static str, v: &str| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| crate::domain::consent::FieldError::new(field, "must be a date"))
        };
        let notice =
            state.app.policies.notice(&form.notice).ok_or_else(|| {
                crate::domain::consent::FieldError::new("notice", "unknown notice")
            })?;
        let new = NewWorkshop {
            slug: Slug::parse(&form.slug)?,
            title: NewWorkshop::parse_title(&form.title)?,
            kind: WorkshopKind::parse(&form.kind).unwrap_or(WorkshopKind::Seminar),
            location: NewWorkshop::parse_location(form.location.as_deref())?,
            starts_on: date("starts", &form.starts)?,
            ends_on: date("ends", &form.ends)?,
            notice_id: notice.id.clone(),
            controller_id: notice.controller.clone(),
        };
        NewWorkshop::check_dates(new.starts_on, new.ends_on)?;
        let w = match workshops::insert(&state.app.db, &new, state.app.clock.now()).await {
            Ok(w) => w,
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Conflict {
                    code: "slug_taken",
                    message: format!("slug `{}` is taken", new.slug.as_str()),
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
        Ok::<_, Error>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/staff/workshops").into_response(),
        Err(e @ (Error::Invalid(_) | Error::Conflict { .. })) => {
            let status = e.status();
            render(&state, &staff, &client, Some(e.public_message()), status).await
        }
        Err(e) => error_page(e, client.language),
    }
}
