//! Consultants and their listing deadlines; adding, CSV import, attendance; the outbox.

use axum::Form;
use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use maud::html;
use serde::Deserialize;

use super::{csrf_field, shell, tr};
use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::error::Error;
use crate::http::extract::ClientInfo;
use crate::http::i18n::{format_date, format_time};
use crate::http::participant::error_page;

pub async fn page(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    let lang = client.language;
    let list = match crate::http::api::consultants::views(&state).await {
        Ok(l) => l,
        Err(e) => return error_page(e, lang),
    };
    let admin = state.permits(staff.role, Method::POST, "/staff/consultants");
    let workshops = crate::store::workshops::list(&state.app.db)
        .await
        .unwrap_or_default();
    let body = html! {
        table {
            thead { tr { th { "Name" } th { "E-Mail" } th { (tr(lang, "letzte (Re-)Autorisierung", "last (re-)authorisation")) } th { (tr(lang, "Eintrag gelöscht am", "listing deleted on")) } } }
            tbody {
                @for c in &list {
                    tr { td { (c.name) } td { (c.email) } td { (format_date(c.last_authorised_on, lang)) }
                         td { (c.listing_deleted_on.map(|d| format_date(d, lang)).unwrap_or_default()) } }
                }
            }
        }
        @if admin {
            h2 { (tr(lang, "Beraterin oder Berater eintragen", "Add a consultant")) }
            form method="post" action="/staff/consultants" {
                (csrf_field(&staff))
                div.grid {
                    label { "Name" input type="text" name="name" required; }
                    label { "E-Mail" input type="email" name="email" required; }
                    label { (tr(lang, "autorisiert am", "authorised on")) input type="date" name="authorised_on" required; }
                    label { (tr(lang, "Sprache der Briefe", "Language of letters")) select name="language" {
                        option value="de" { "Deutsch" } option value="en" { "English" }
                    } }
                }
                p { button type="submit" { (tr(lang, "Eintragen", "Add")) } }
            }
            h2 { (tr(lang, "CSV-Import", "CSV import")) }
            form method="post" action="/staff/consultants/import" {
                (csrf_field(&staff))
                label { (tr(lang, "Zeilen name;email;authorised_on[;de|en]", "Lines name;email;authorised_on[;de|en]")) textarea name="csv" rows="6" required {} }
                p { button.secondary type="submit" { (tr(lang, "Importieren", "Import")) } }
            }
            h2 { (tr(lang, "Teilnahme erfassen", "Record attendance")) }
            form method="post" action="/staff/attendance" {
                (csrf_field(&staff))
                div.grid {
                    label { "Workshop" select name="slug" required {
                        @for w in workshops.iter().filter(|w| w.archived_at.is_none()) {
                            option value=(w.slug) { (w.title) " (" (format_date(w.ends_on, lang)) ")" }
                        }
                    } }
                    label { "E-Mail" input type="email" name="email" required; }
                }
                p { button.secondary type="submit" { (tr(lang, "Erfassen", "Record")) } }
            }
        }
    };
    shell(
        &state,
        lang,
        &staff,
        "/staff/consultants",
        tr(lang, "Beraterliste", "Consultants"),
        body,
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct AddForm {
    name: String,
    email: String,
    authorised_on: String,
    language: Option<String>,
}

pub async fn add(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    Form(f): Form<AddForm>,
) -> Response {
    let Ok(date) = NaiveDate::parse_from_str(&f.authorised_on, "%Y-%m-%d") else {
        return error_page(
            Error::Invalid(crate::domain::consent::FieldError::new(
                "authorised_on",
                "must be a date",
            )),
            client.language,
        );
    };
    match crate::consultants::add(
        &state.app,
        &f.name,
        &f.email,
        date,
        f.language.as_deref(),
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await
    {
        Ok(Ok(_)) => Redirect::to("/staff/consultants").into_response(),
        Ok(Err(e)) => error_page(Error::Invalid(e), client.language),
        Err(e) => error_page(Error::from(e), client.language),
    }
}

#[derive(Deserialize)]
pub struct ImportForm {
    csv: String,
}

pub async fn import(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    Form(f): Form<ImportForm>,
) -> Response {
    match crate::consultants::import_csv(
        &state.app,
        &f.csv,
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await
    {
        Ok(Ok(_)) => Redirect::to("/staff/consultants").into_response(),
        Ok(Err(e)) => error_page(Error::Invalid(e), client.language),
        Err(e) => error_page(Error::from(e), client.language),
    }
}

#[derive(Deserialize)]
pub struct AttendForm {
    slug: String,
    email: String,
}

pub async fn attend(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    Form(f): Form<AttendForm>,
) -> Response {
    match crate::consultants::attend(
        &state.app,
        f.slug.trim(),
        &f.email,
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await
    {
        Ok(Some(Ok(_))) => Redirect::to("/staff/consultants").into_response(),
        Ok(Some(Err(e))) => error_page(Error::Invalid(e), client.language),
        Ok(None) => error_page(Error::NotFound("workshop"), client.language),
        Err(e) => error_page(Error::from(e), client.language),
    }
}

pub async fn outbox(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    let lang = client.language;
    let messages = match crate::store::consultants::outbox(&state.app.db).await {
        Ok(m) => m,
        Err(e) => return error_page(e.into(), lang),
    };
    let body = html! {
        table {
            thead { tr { th { (tr(lang, "erstellt", "created")) } th { (tr(lang, "an", "to")) } th { (tr(lang, "Betreff", "Subject")) } th { "Status" } th { (tr(lang, "Versuche", "Attempts")) } th { (tr(lang, "Fehler", "Error")) } } }
            tbody {
                @for m in &messages {
                    tr { td { (format_time(m.created_at, lang)) } td { (m.to_email.clone().unwrap_or_default()) } td { (m.subject) }
                         td { (m.state) } td { (m.attempts) } td { (m.last_error.clone().unwrap_or_default()) } }
                }
            }
        }
    };
    shell(
        &state,
        lang,
        &staff,
        "/staff/outbox",
        tr(lang, "Postausgang", "Outbox"),
        body,
    )
    .into_response()
}
