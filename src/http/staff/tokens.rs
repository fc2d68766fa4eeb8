//! API tokens: list, create (shown once), revoke (admins).

use crate::http::extract::PagePath;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use maud::html;
use serde::Deserialize;

use super::{csrf_field, role_label, shell, tr};
use crate::accounts::{self, AccountError};
use crate::domain::staff::Role;
use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::extract::ClientInfo;
use crate::http::i18n::format_time;
use crate::http::participant::error_page;
use crate::store::tokens;

pub async fn page(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    render(&state, &staff, &client, None, None, StatusCode::OK).await
}

async fn render(
    state: &AppState,
    staff: &StaffIdentity,
    client: &ClientInfo,
    problem: Option<String>,
    created: Option<(String, String)>,
    status: StatusCode,
) -> Response {
    let lang = client.language;
    let list = match tokens::list(&state.app.db).await {
        Ok(l) => l,
        Err(e) => return error_page(e.into(), lang),
    };
    let body = html! {
        @if let Some((name, secret)) = &created {
            div.success role="status" {
                p { strong { (tr(lang, "Token erstellt: ", "Token created: ")) (name) }
                    " – " (tr(lang, "Er wird nur jetzt angezeigt. Kopieren Sie ihn in die Konfiguration des Systems, das ihn benutzt.",
                                 "It is shown only now. Copy it into the configuration of the system that uses it.")) }
                p.secret { (secret) }
            }
        }
        table {
            thead { tr {
                th { "Name" } th { (tr(lang, "Rolle", "Role")) } th { (tr(lang, "Erstellt", "Created")) } th { (tr(lang, "Läuft ab", "Expires")) }
                th { (tr(lang, "Zuletzt benutzt", "Last used")) } th { "Status" } th {}
            } }
            tbody {
                @for t in &list {
                    tr {
                        td { (t.name) }
                        td { (Role::parse(&t.role).map(|r| role_label(r, lang)).unwrap_or(&t.role)) }
                        td { (format_time(t.created_at, lang)) }
                        td { (t.expires_at.map(|x| format_time(x, lang)).unwrap_or_else(|| "–".into())) }
                        td { (t.last_used_at.map(|x| format_time(x, lang)).unwrap_or_else(|| "–".into())) }
                        td { @if t.revoked_at.is_some() { (tr(lang, "widerrufen", "revoked")) } @else { (tr(lang, "aktiv", "active")) } }
                        td {
                            @if t.revoked_at.is_none() {
                                form.inline method="post" action={ "/staff/tokens/" (t.name) "/revoke" } {
                                    (csrf_field(staff))
                                    button.secondary type="submit" { (tr(lang, "Widerrufen", "Revoke")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (tr(lang, "Token erstellen", "Create a token")) }
        @if let Some(problem) = &problem { div.errors role="alert" { p { (problem) } } }
        form method="post" action="/staff/tokens" {
            (csrf_field(staff))
            div.grid {
                label { "Name" input type="text" name="name" required maxlength="100" placeholder="anmeldeseite"; }
                label { (tr(lang, "Rolle", "Role"))
                    select name="role" { @for r in Role::ALL { option value=(r.as_str()) selected[r == Role::Collector] { (role_label(r, lang)) } } }
                }
                label { (tr(lang, "Gültig bis (optional)", "Valid until (optional)")) input type="date" name="expires"; }
            }
            p { button type="submit" { (tr(lang, "Erstellen", "Create")) } }
        }
    };
    (
        status,
        shell(
            state,
            lang,
            staff,
            "/staff/tokens",
            tr(lang, "API-Tokens", "API tokens"),
            body,
        ),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct TokenForm {
    name: String,
    role: String,
    expires: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    form: Result<Form<TokenForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return render(
            &state,
            &staff,
            &client,
            Some("Formular unvollständig / form incomplete".into()),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let Some(role) = Role::parse(&form.role) else {
        return render(
            &state,
            &staff,
            &client,
            Some("role: unknown".into()),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let expires = match form
        .expires
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        None => None,
        Some(e) => match NaiveDate::parse_from_str(e, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                return render(
                    &state,
                    &staff,
                    &client,
                    Some("expires: not a date".into()),
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        },
    };
    match accounts::create_token(
        &state.app,
        &form.name,
        role,
        expires,
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await
    {
        Ok((token, secret)) => {
            render(
                &state,
                &staff,
                &client,
                None,
                Some((token.name, secret)),
                StatusCode::CREATED,
            )
            .await
        }
        Err(AccountError::Store(e)) => error_page(e.into(), client.language),
        Err(AccountError::Conflict(m)) => {
            render(&state, &staff, &client, Some(m), None, StatusCode::CONFLICT).await
        }
        Err(other) => {
            render(
                &state,
                &staff,
                &client,
                Some(other.to_string()),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub async fn revoke(
    State(state): State<AppState>,
    PagePath(name): PagePath<String>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    match accounts::revoke_token(
        &state.app,
        &name,
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await
    {
        Ok(()) | Err(AccountError::NotFound(_)) => Redirect::to("/staff/tokens").into_response(),
        Err(AccountError::Store(e)) => error_page(e.into(), client.language),
        Err(other) => {
            render(
                &state,
                &staff,
                &client,
                Some(other.to_string()),
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
