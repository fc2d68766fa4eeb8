//! Data-subject requests in the staff area: find a person by e-mail, download their data
//! (Art. 15/20), correct it (Art. 16), erase it (Art. 17) and show the erasure report.

use crate::http::extract::PagePath;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

use super::{csrf_field, shell, tr};
use crate::http::AppState;
use crate::http::api::subjects::requester;
use crate::http::auth::StaffIdentity;
use crate::http::error::Error;
use crate::http::extract::ClientInfo;
use crate::http::participant::error_page;
use crate::subject_rights::{self, Rectify};

#[derive(Deserialize)]
pub struct SearchQuery {
    email: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    Query(query): Query<SearchQuery>,
) -> Response {
    let lang = client.language;
    let email = query
        .email
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    let found = match email {
        Some(email) => {
            match subject_rights::find(&state.app, email, &requester(&staff, &client)).await {
                Ok(found) => Some(found),
                Err(e) => return error_page(e.into(), lang),
            }
        }
        None => None,
    };
    let admin = state.permits(staff.role, Method::DELETE, "/api/v1/subjects/{id}");
    let body = html! {
        p { (tr(lang,
            "Anfragen betroffener Personen (Art. 15–17 DSGVO). Prüfen Sie die Identität der anfragenden Person, bevor Sie Daten herausgeben, berichtigen oder löschen. Jede Suche wird protokolliert (ohne die Adresse).",
            "Data-subject requests (Art. 15–17 GDPR). Verify the requester's identity before you hand out, correct or erase data. Every search is logged (without the address)."
        )) }
        form method="get" action="/staff/subjects" {
            label { (tr(lang, "E-Mail-Adresse", "E-mail address"))
                input type="email" name="email" required value=(email.unwrap_or_default()); }
            p { button type="submit" { (tr(lang, "Suchen", "Search")) } }
        }
        @if let Some(found) = &found {
            @if found.is_empty() {
                p { em { (tr(lang, "Keine Daten zu dieser Adresse.", "No data under this address.")) } }
            } @else {
                table {
                    thead { tr {
                        th { (tr(lang, "Kennung", "Id")) } th { "Name" } th { (tr(lang, "Organisation", "Organisation")) }
                        th { (tr(lang, "Einwilligungen", "Consents")) } th { (tr(lang, "Status", "State")) }
                    } }
                    tbody {
                        @for s in found {
                            tr {
                                td.hash { (s.id) }
                                td { (s.name.clone().unwrap_or_default()) }
                                td { (s.organisation.clone().unwrap_or_default()) }
                                td { (s.records.len()) }
                                td { @if s.erased_at.is_some() { em { (tr(lang, "gelöscht", "erased")) } } @else { (tr(lang, "gespeichert", "held")) } }
                            }
                        }
                    }
                }
                @if let Some(first) = found.first() {
                    h2 { (tr(lang, "Auskunft (Art. 15, 20)", "Access (Art. 15, 20)")) }
                    p {
                        a href={ "/api/v1/subjects/" (first.id) "/export?format=pdf" } { (tr(lang, "Auskunft als PDF", "Report as PDF")) }
                        " · "
                        a href={ "/api/v1/subjects/" (first.id) "/export?format=json" } { (tr(lang, "maschinenlesbar (JSON)", "machine-readable (JSON)")) }
                    }
                    @if admin && found.iter().any(|s| s.erased_at.is_none()) {
                        h2 { (tr(lang, "Berichtigen (Art. 16)", "Rectify (Art. 16)")) }
                        form method="post" action={ "/staff/subjects/" (first.id) "/rectify" } {
                            (csrf_field(&staff))
                            div.grid {
                                label { "Name" input type="text" name="name" value=(first.name.clone().unwrap_or_default()); }
                                label { "E-Mail" input type="email" name="email" value=(first.email.clone().unwrap_or_default()); }
                                label { (tr(lang, "Organisation", "Organisation")) input type="text" name="organisation" value=(first.organisation.clone().unwrap_or_default()); }
                            }
                            p { button.secondary type="submit" { (tr(lang, "Berichtigen", "Rectify")) } }
                        }
                        h2 { (tr(lang, "Löschen (Art. 17)", "Erase (Art. 17)")) }
                        form method="post" action={ "/staff/subjects/" (first.id) "/erase" } {
                            (csrf_field(&staff))
                            p { (tr(lang,
                                "Löscht Name, E-Mail und Organisation aller Anmeldungen unter dieser Adresse, Teilnahmen, Beratereintrag und Nachrichten. Der Einwilligungsnachweis bleibt pseudonym erhalten (Art. 17 Abs. 3 lit. e DSGVO).",
                                "Erases name, e-mail and organisation of every sign-up under this address, attendance, consultant listing and messages. The consent proof stays, pseudonymous (Art. 17(3)(e) GDPR)."
                            )) }
                            p { button type="submit" { (tr(lang, "Endgültig löschen", "Erase for good")) } }
                        }
                    }
                }
            }
        }
    };
    shell(
        &state,
        lang,
        &staff,
        "/staff/subjects",
        tr(lang, "Betroffenenanfragen", "Subject requests"),
        body,
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct RectifyForm {
    name: String,
    email: String,
    organisation: String,
}

pub async fn rectify(
    State(state): State<AppState>,
    PagePath(id): PagePath<String>,
    staff: StaffIdentity,
    client: ClientInfo,
    Form(f): Form<RectifyForm>,
) -> Response {
    let input = Rectify {
        name: Some(f.name),
        email: Some(f.email.clone()),
        organisation: Some(f.organisation),
    };
    match subject_rights::rectify(&state.app, &id, &input, &requester(&staff, &client)).await {
        Ok(_) => {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("email", f.email.trim())
                .finish();
            Redirect::to(&format!("/staff/subjects?{query}")).into_response()
        }
        Err(e) => error_page(Error::from(e), client.language),
    }
}

pub async fn erase(
    State(state): State<AppState>,
    PagePath(id): PagePath<String>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    let lang = client.language;
    let report = match subject_rights::erase(&state.app, &id, &requester(&staff, &client)).await {
        Ok(r) => r,
        Err(e) => return error_page(Error::from(e), lang),
    };
    let body = html! {
        div.success role="status" { p { (tr(lang, "Gelöscht.", "Erased.")) " " (report.erased_at) } }
        h2 { (tr(lang, "Gelöscht", "Erased")) }
        table {
            thead { tr { th { (tr(lang, "Tabelle", "Table")) } th { (tr(lang, "Felder", "Fields")) } th { (tr(lang, "Zeilen", "Rows")) } } }
            tbody { @for e in &report.erased { tr { td { (e.table) } td { (e.fields) } td { (e.rows) } } } }
        }
        h2 { (tr(lang, "Aufbewahrt, und warum", "Kept, and why")) }
        @for k in &report.kept {
            p { strong { (k.what) } br; (k.why) br; em { (k.until) } }
        }
        h2 { (tr(lang, "Von Hand zu erledigen", "Left to do by hand")) }
        ul { @for item in &report.by_hand { li { (item) } } }
        p.meta { (tr(lang, "Kennungen: ", "Ids: ")) (report.subject_ids.join(", ")) " · Ledger " (report.ledger_seqs.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")) }
    };
    shell(
        &state,
        lang,
        &staff,
        "/staff/subjects",
        tr(lang, "Löschbericht", "Erasure report"),
        body,
    )
    .into_response()
}
