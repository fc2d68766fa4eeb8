//! Staff accounts: list, add, disable (admins).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
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
use crate::store::users;

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
    let list = match users::list(&state.app.db).await {
        Ok(l) => l,
        Err(e) => return error_page(e.into(), lang),
    };
    let body = html! {
        table {
            thead { tr { th { "E-Mail" } th { (tr(lang, "Rolle", "Role")) } th { (tr(lang, "Letzte Anmeldung", "Last sign-in")) } th { "Status" } th {} } }
            tbody {
                @for u in &list {
                    tr {
                        td { (u.email) }
                        td { (Role::parse(&u.role).map(|r| role_label(r, lang)).unwrap_or(&u.role)) }
                        td { (u.last_login_at.map(|t| format_time(t, lang)).unwrap_or_default()) }
                        td { @if u.disabled_at.is_some() { (tr(lang, "gesperrt", "disabled")) } @else { (tr(lang, "aktiv", "active")) } }
                        td {
                            @if u.disabled_at.is_none() && u.id != staff.id {
                                form.inline method="post" action={ "/staff/users/" (u.id) "/disable" } {
                                    (csrf_field(staff))
                                    button.secondary type="submit" { (tr(lang, "Sperren", "Disable")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (tr(lang, "Benutzer anlegen", "Add a user")) }
        @if let Some(problem) = &problem { div.errors role="alert" { p { (problem) } } }
        form method="post" action="/staff/users" {
            (csrf_field(staff))
            div.grid {
                label { "E-Mail" input type="email" name="email" required autocomplete="off"; }
                label { (tr(lang, "Rolle", "Role"))
                    select name="role" { @for r in [Role::Admin, Role::Lawyer, Role::Auditor] { option value=(r.as_str()) { (role_label(r, lang)) } } }
                }
                label { (tr(lang, "Passwort (mind. 12 Zeichen)", "Password (12+ characters)")) input type="password" name="password" required minlength="12" autocomplete="new-password"; }
            }
            p { button type="submit" { (tr(lang, "Anlegen", "Add")) } }
        }
    };
    (
        status,
        shell(
            state,
            lang,
            staff,
            "/staff/users",
            tr(lang, "Benutzer", "Users"),
            body,
        ),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct UserForm {
    email: String,
    role: String,
    password: String,
}

pub async fn create(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    form: Result<Form<UserForm>, axum::extract::rejection::FormRejection>,
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
    let Some(role) = Role::parse(&form.role) else {
        return render(
            &state,
            &staff,
            &client,
            Some("role: unknown".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match accounts::add_user(
        &state.app,
        &form.email,
        role,
        &form.password,
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await
    {
        Ok(_) => Redirect::to("/staff/users").into_response(),
        Err(AccountError::Store(e)) => error_page(e.into(), client.language),
        Err(AccountError::Conflict(m)) => {
            render(&state, &staff, &client, Some(m), StatusCode::CONFLICT).await
        }
        Err(other) => {
            render(
                &state,
                &staff,
                &client,
                Some(other.to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub async fn disable(
    State(state): State<AppState>,
    Path(id): Path<String>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    if uuid::Uuid::parse_str(&id).is_err() {
        return error_page(crate::http::error::Error::NotFound("user"), client.language);
    }
    let user = match users::by_id(&state.app.db, &id).await {
        Ok(Some(u)) => u,
        Ok(None) => {
            return error_page(crate::http::error::Error::NotFound("user"), client.language);
        }
        Err(e) => return error_page(e.into(), client.language),
    };
    match accounts::disable_user(
        &state.app,
        user,
        &staff.actor(),
        client.ip_truncated.as_deref(),
    )
    .await
    {
        Ok(_) | Err(AccountError::Conflict(_)) => Redirect::to("/staff/users").into_response(),
        Err(AccountError::Store(e)) => error_page(e.into(), client.language),
        Err(other) => {
            render(
                &state,
                &staff,
                &client,
                Some(other.to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
