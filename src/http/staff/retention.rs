//! Retention for admins: the forecast (table and chart), holds, pausing, and the downloads of
//! the deletion report and the deletion concept.

use crate::http::extract::PagePath;
use axum::Form;
use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use maud::{PreEscaped, html};
use serde::Deserialize;

use super::{csrf_field, shell, tr};
use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::error::Error;
use crate::http::extract::ClientInfo;
use crate::http::i18n::{format_date, format_time};
use crate::http::participant::error_page;
use crate::retention::admin;
use crate::store::retention as store;

pub async fn page(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    let lang = client.language;
    let loaded = async {
        Ok::<_, anyhow::Error>((
            admin::forecast(&state.app).await?,
            store::holds(&state.app.db).await?,
            store::pauses(&state.app.db).await?,
        ))
    };
    let (forecast, holds, pauses) = match loaded.await {
        Ok(v) => v,
        Err(e) => return error_page(Error::from(e), lang),
    };
    let today = state.app.clock.today_berlin();
    let admin = state.permits(staff.role, Method::POST, "/staff/retention/holds");
    let open_pause = pauses.iter().find(|p| p.resumed_at.is_none());
    // Columns only for categories with something to show; the rest are listed below.
    let categories: Vec<&String> = state
        .app
        .policies
        .retention
        .iter()
        .map(|r| &r.category)
        .filter(|c| {
            forecast
                .months
                .iter()
                .any(|m| m.per_category.contains_key(*c))
        })
        .collect();
    let body = html! {
        section {
            @if let Some(p) = open_pause {
                p.broken { (tr(lang, "Automatisches Löschen ist angehalten", "Automated deletion is paused")) ": " (p.reason) " (" (format_time(p.paused_at, lang)) ")" }
                @if admin { form method="post" action="/staff/retention/resume" { (csrf_field(&staff)) button type="submit" { (tr(lang, "Fortsetzen", "Resume")) } } }
            } @else {
                p.ok { (tr(lang, "Automatisches Löschen läuft.", "Automated deletion is running.")) }
                @if admin {
                    details { summary { (tr(lang, "Anhalten", "Pause")) }
                        form method="post" action="/staff/retention/pause" {
                            (csrf_field(&staff))
                            label { (tr(lang, "Grund", "Reason")) input type="text" name="reason" required; }
                            p { button.secondary type="submit" { (tr(lang, "Anhalten", "Pause")) } }
                        }
                    }
                }
            }
        }
        section {
            h2 { (tr(lang, "Prognose: was wann gelöscht wird", "Forecast: what will be deleted when")) }
            (PreEscaped(admin::forecast_svg(&forecast)))
            table {
                thead { tr { th { (tr(lang, "Monat", "Month")) } @for c in &categories { th { (c) } } th { (tr(lang, "gesamt", "total")) } th { (tr(lang, "davon gesperrt", "of which held")) } } }
                tbody {
                    @for m in &forecast.months {
                        tr {
                            td { @if m.month == "due" { strong { (tr(lang, "fällig", "due now")) } } @else { (m.month) } }
                            @for c in &categories { td { (m.per_category.get(*c).copied().unwrap_or(0)) } }
                            td { strong { (m.total) } }
                            td { (m.held) }
                        }
                    }
                }
            }
            @if categories.is_empty() {
                p.meta { (tr(lang, "In den nächsten zwölf Monaten wird nichts fällig.", "Nothing falls due in the next twelve months.")) }
            }
            @if !forecast.not_enforced.is_empty() {
                p.meta { (tr(lang, "Noch nicht automatisch durchgesetzt: ", "Not enforced automatically yet: ")) (forecast.not_enforced.join(", ")) }
            }
        }
        section {
            h2 { (tr(lang, "Sperren (Art. 18 DSGVO, Rechtsstreit)", "Holds (Art. 18 GDPR, disputes)")) }
            table {
                thead { tr { th { (tr(lang, "Umfang", "Scope")) } th { (tr(lang, "Grund", "Reason")) } th { (tr(lang, "bis", "until")) } th { "Status" } th {} } }
                tbody {
                    @for h in &holds {
                        tr {
                            td { (h.scope) ": " span.hash { (h.target) } }
                            td { (h.reason) }
                            td { (h.ends_on.map(|d| format_date(d, lang)).unwrap_or_else(|| "–".into())) }
                            td { @if h.is_active(today) { (tr(lang, "aktiv", "active")) } @else { (tr(lang, "beendet", "ended")) } }
                            td { @if admin && h.is_active(today) {
                                form.inline method="post" action={ "/staff/retention/holds/" (h.id) "/release" } { (csrf_field(&staff)) button.secondary type="submit" { (tr(lang, "Aufheben", "Release")) } }
                            } }
                        }
                    }
                }
            }
            @if admin {
                form method="post" action="/staff/retention/holds" {
                    (csrf_field(&staff))
                    div.grid {
                        label { (tr(lang, "Umfang", "Scope")) select name="scope" { @for s in admin::SCOPES { option value=(s) { (s) } } } }
                        label { (tr(lang, "Ziel (ID, Slug, Kategorie)", "Target (id, slug, category)")) input type="text" name="target" required; }
                        label { (tr(lang, "Grund", "Reason")) input type="text" name="reason" required; }
                        label { (tr(lang, "bis (optional)", "until (optional)")) input type="date" name="until"; }
                    }
                    p { button type="submit" { (tr(lang, "Sperren", "Hold")) } }
                }
            }
        }
        section {
            h2 { (tr(lang, "Löschbericht", "Deletion report")) }
            form method="get" action="/api/v1/retention/report" {
                div.grid {
                    label { (tr(lang, "von", "from")) input type="date" name="from" required; }
                    label { (tr(lang, "bis", "to")) input type="date" name="to" required; }
                    label { (tr(lang, "Format", "Format")) select name="format" { option value="csv" { "CSV (Excel)" } option value="json" { "JSON" } option value="pdf" { (tr(lang, "PDF (zum Ablegen)", "PDF (for filing)")) } } }
                    button type="submit" { (tr(lang, "Herunterladen", "Download")) }
                }
            }
        }
        section {
            h2 { (tr(lang, "Löschkonzept", "Deletion concept")) }
            p {
                (tr(lang, "Die Löschregeln als Löschkonzept (DIN 66398) für die Datenschutzbeauftragte: ", "The retention rules as the deletion concept (DIN 66398) for the data-protection officer: "))
                a href="/api/v1/retention/concept?format=pdf" { "PDF" }
                " · "
                a href="/api/v1/retention/concept?format=md" { "Markdown" }
            }
        }
    };
    shell(
        &state,
        lang,
        &staff,
        "/staff/retention",
        tr(lang, "Löschfristen", "Retention"),
        body,
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct HoldForm {
    scope: String,
    target: String,
    reason: String,
    until: Option<String>,
}

pub async fn add_hold(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    Form(form): Form<HoldForm>,
) -> Response {
    let until = form
        .until
        .as_deref()
        .filter(|u| !u.is_empty())
        .and_then(|u| NaiveDate::parse_from_str(u, "%Y-%m-%d").ok());
    match admin::add_hold(
        &state.app,
        &form.scope,
        &form.target,
        &form.reason,
        until,
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await
    {
        Ok(Ok(_)) => Redirect::to("/staff/retention").into_response(),
        Ok(Err(field)) => error_page(Error::Invalid(field), client.language),
        Err(e) => error_page(Error::from(e), client.language),
    }
}

pub async fn release_hold(
    State(state): State<AppState>,
    PagePath(id): PagePath<String>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    match admin::release_hold(
        &state.app,
        &id,
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await
    {
        Ok(_) => Redirect::to("/staff/retention").into_response(),
        Err(e) => error_page(Error::from(e), client.language),
    }
}

#[derive(Deserialize)]
pub struct PauseForm {
    reason: String,
}

pub async fn pause(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    Form(form): Form<PauseForm>,
) -> Response {
    match admin::pause(
        &state.app,
        &form.reason,
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await
    {
        Ok(Ok(_)) => Redirect::to("/staff/retention").into_response(),
        Ok(Err(field)) => error_page(Error::Invalid(field), client.language),
        Err(e) => error_page(Error::from(e), client.language),
    }
}

pub async fn resume(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    match admin::resume(&state.app, &staff.actor(), client.ip_truncated.as_deref()).await {
        Ok(_) => Redirect::to("/staff/retention").into_response(),
        Err(e) => error_page(Error::from(e), client.language),
    }
}
