//! Signing in and out.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::header::{RETRY_AFTER, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::tr;
use crate::accounts::{self, LoginOutcome};
use crate::domain::notice::Language;
use crate::http::AppState;
use crate::http::auth::{StaffIdentity, Via, session_cookie};
use crate::http::extract::ClientInfo;
use crate::http::participant::error_page;

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Only our own staff pages are followed after login, never another site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with("/staff")
                && !n.contains("://")
                && !n.chars().any(|c| c.is_control() || c == '\\') =>
        {
            n
        }
        _ => "/staff",
    }
}

fn login_page(lang: Language, next: &str, problem: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (tr(lang, "Anmelden", "Sign in")) " – consentd" }
                link rel="stylesheet" href="/assets/consentd.css";
            }
            body {
                main #main {
                    h1 { "consentd – " (tr(lang, "Anmeldung für Mitarbeitende", "Staff sign-in")) }
                    @if let Some(problem) = problem {
                        div.errors role="alert" { p { (problem) } }
                    }
                    form method="post" action="/staff/login" {
                        input type="hidden" name="next" value=(next);
                        label for="email" { (tr(lang, "E-Mail-Adresse", "E-mail address")) }
                        input #email type="email" name="email" autocomplete="username" required autofocus;
                        label for="password" { (tr(lang, "Passwort", "Password")) }
                        input #password type="password" name="password" autocomplete="current-password" required;
                        p { button type="submit" { (tr(lang, "Anmelden", "Sign in")) } }
                    }
                }
            }
        }
    }
}

pub async fn page(Query(query): Query<LoginQuery>, client: ClientInfo) -> Markup {
    login_page(client.language, safe_next(query.next.as_deref()), None)
}

pub async fn submit(
    State(state): State<AppState>,
    client: ClientInfo,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = client.language;
    let Ok(Form(form)) = form else {
        return (
            StatusCode::BAD_REQUEST,
            login_page(
                lang,
                "/staff",
                Some(tr(
                    lang,
                    "Das Formular war unvollständig.",
                    "The form was incomplete.",
                )),
            ),
        )
            .into_response();
    };
    let next = safe_next(form.next.as_deref()).to_owned();
    match accounts::login(
        &state.app,
        &form.email,
        &form.password,
        client.ip_truncated.as_deref(),
    )
    .await
    {
        Ok(LoginOutcome::LoggedIn { session_secret, .. }) => {
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().insert(
                SET_COOKIE,
                session_cookie(Some(&session_secret), state.config.tls),
            );
            response
        }
        Ok(LoginOutcome::Invalid) => (
            StatusCode::UNAUTHORIZED,
            login_page(
                lang,
                &next,
                Some(tr(
                    lang,
                    "E-Mail-Adresse oder Passwort ist falsch.",
                    "Wrong e-mail address or password.",
                )),
            ),
        )
            .into_response(),
        Ok(LoginOutcome::Locked(wait)) => {
            let message = tr(
                lang,
                "Zu viele fehlgeschlagene Anmeldeversuche. Bitte versuchen Sie es in 15 Minuten erneut.",
                "Too many failed sign-in attempts. Please try again in 15 minutes.",
            );
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                login_page(lang, &next, Some(message)),
            )
                .into_response();
            response
                .headers_mut()
                .insert(RETRY_AFTER, wait.num_seconds().into());
            response
        }
        Err(e) => error_page(e.into(), lang),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    if let Via::Session { secret, .. } = &staff.via {
        if let Ok(Some(user)) = crate::store::users::by_id(&state.app.db, &staff.id).await {
            if let Err(e) =
                accounts::logout(&state.app, secret, &user, client.ip_truncated.as_deref()).await
            {
                return error_page(e.into(), client.language);
            }
        }
    }
    let mut headers = HeaderMap::new();
    headers.insert(SET_COOKIE, session_cookie(None, state.config.tls));
    (headers, Redirect::to("/staff/login")).into_response()
}
