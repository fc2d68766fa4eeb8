//! HTTP: participant pages and the JSON API, with one error type and the protections that
//! wrap every route.

pub mod api;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod layout;
pub mod participant;
pub mod submission;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;

use crate::app::App;
use error::Error;

/// What handlers share: the application and the base URL for links.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub base_url: String,
}

/// Bodies beyond this are refused with 413: a consent is a few hundred bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(participant::home))
        .route("/healthz", get(healthz))
        .route("/assets/consentd.css", get(stylesheet))
        .route("/w/{slug}", get(participant::workshop_page).post(participant::submit_form))
        .route("/r/{token}", get(participant::receipt_page))
        .route("/r/{token}/withdraw", post(participant::withdraw_form))
        .route("/r/{token}/notice", get(participant::agreed_notice_page))
        .merge(api::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(middleware::from_fn(log_request))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Strict headers on every response. No inline script or style anywhere, and no page may
/// leak its URL: on `/r/{token}` the URL is the participant's capability.
async fn security_headers(request: Request, next: Next) -> Response {
    const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Logs method, route template, status and duration: never the concrete path (it may hold
/// a token), the query, the client address or any body.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

async fn healthz(State(state): State<AppState>) -> Result<&'static str, Error> {
    crate::store::ledger::head(&state.app.db).await?;
    Ok("ok")
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("assets/consentd.css"),
    )
}

async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        Error::NotFound("resource").into_response()
    } else {
        participant::error_page(Error::NotFound("page"), crate::domain::notice::Language::De)
    }
}

async fn method_not_allowed(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        Error::MethodNotAllowed.into_response()
    } else {
        participant::error_page(Error::MethodNotAllowed, crate::domain::notice::Language::De)
    }
}
