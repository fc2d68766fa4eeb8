//! HTTP: participant pages, the staff area and the JSON API, with one error type and the
//! protections that wrap every route.

pub mod api;
pub mod auth;
pub mod error;
pub mod extract;
pub mod i18n;
pub mod layout;
pub mod metrics;
pub mod participant;
pub mod rate_limit;
pub mod routes;
pub mod staff;
pub mod submission;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi;

use crate::app::App;
use crate::domain::staff::Audience;
use error::Error;
use rate_limit::RateLimits;

/// Settings of the HTTP layer.
#[derive(Clone, Debug, Default)]
pub struct HttpConfig {
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// Served over TLS (the public URL is https): `Secure` cookies and HSTS.
    pub tls: bool,
}

impl AppState {
    /// Whether `role` may use `method path` according to the route table (for showing
    /// links and forms; the gate enforces it independently).
    pub fn permits(&self, role: crate::domain::staff::Role, method: Method, path: &str) -> bool {
        self.audiences
            .get(&(method, path.to_owned()))
            .is_some_and(|a| a.admits(Some(role)))
    }
}

/// What handlers share. Cloned for every request (and by several extractors of one), so it is
/// one `Arc`: a field-by-field clone was ~2 % of the CPU under consent load.
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

pub struct SharedState {
    pub app: App,
    pub base_url: String,
    pub config: Arc<HttpConfig>,
    pub audiences: Arc<HashMap<(Method, String), Audience>>,
    pub rate_limits: Option<Arc<RateLimits>>,
    pub metrics: metrics::Metrics,
}

/// Bodies beyond this are refused with 413: a consent is a few hundred bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

pub fn router(
    app: App,
    base_url: String,
    config: HttpConfig,
    rate_limits: Option<RateLimits>,
) -> Router {
    let (routes, audiences) = routes::build(routes::table());
    let rate_limits = rate_limits.map(Arc::new);
    if let Some(limits) = rate_limits.clone() {
        // Forget idle clients now and then, so memory stays bounded.
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                limits.shrink();
            }
        });
    }
    let state = AppState(Arc::new(SharedState {
        app,
        base_url,
        config: Arc::new(config),
        audiences: Arc::new(audiences),
        rate_limits,
        metrics: metrics::Metrics::new(),
    }));
    let docs = utoipa_swagger_ui::SwaggerUi::new("/api/v1/docs")
        .url("/api/v1/openapi.json", api::openapi::ApiDoc::openapi());
    routes
        .merge(docs)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        // Runs after routing (route_layer semantics via MatchedPath), before every handler.
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// Strict headers on every response. No inline script or style anywhere, and no page may
/// leak its URL: on `/r/{token}` the URL is the participant's capability.
async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";
    // The vendored OpenAPI viewer sets inline styles and data: images from its own script.
    const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                            img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";
    let path = request.uri().path();
    let is_docs = path.starts_with("/api/v1/docs");
    // Staff pages, API answers and receipts hold personal data or secrets: never cached.
    let capability = path.starts_with("/r/") || path.starts_with("/api/v1/receipts/");
    let private =
        path.starts_with("/staff") || (path.starts_with("/api/") && !is_docs) || capability;
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if private && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let csp = if is_docs { DOCS_CSP } else { CSP };
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    // Capability pages send no referrer at all (the token must not leak, even to us); other
    // pages only to this origin, so browsers keep sending a real `Origin` with their forms.
    let referrer = if capability {
        "no-referrer"
    } else {
        "same-origin"
    };
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if state.config.tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// Logs method, route template, status and duration: never the concrete path (it may hold
/// a token), the query, the client address or any body.
async fn log_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    state.metrics.observe(
        method.as_str(),
        &route,
        response.status().as_u16(),
        elapsed.as_secs_f64(),
    );
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        ms = elapsed.as_millis() as u64,
        "request"
    );
    response
}

/// The process is up (for liveness probes: says nothing about the database).
pub(crate) async fn healthz() -> &'static str {
    "ok"
}

/// Ready to serve: the database answers and every migration of this build has run.
pub(crate) async fn readyz(
    State(state): State<AppState>,
) -> Result<axum::Json<serde_json::Value>, Error> {
    // A database that does not answer must not hold the probe for the pool's 30 s.
    let readiness =
        tokio::time::timeout(std::time::Duration::from_secs(3), state.app.db.readiness())
            .await
            .unwrap_or_else(|_| Err(anyhow::anyhow!("timed out")));
    match readiness {
        Ok(r) if r.applied >= r.known => Ok(axum::Json(serde_json::json!({
            "status": "ready",
            "database": state.app.db.backend_name(),
            "migrations": r.applied,
        }))),
        Ok(_) => Err(Error::Unavailable(
            "database migrations are not current; run `consentd migrate`",
        )),
        Err(_) => Err(Error::Unavailable("the database is unreachable")),
    }
}

pub(crate) async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("assets/consentd.css"),
    )
}

async fn not_found(uri: Uri, headers: axum::http::HeaderMap) -> Response {
    if uri.path().starts_with("/api/") {
        Error::NotFound("resource").into_response()
    } else {
        participant::error_page(Error::NotFound("page"), reader_language(&uri, &headers))
    }
}

async fn method_not_allowed(uri: Uri, headers: axum::http::HeaderMap) -> Response {
    if uri.path().starts_with("/api/") {
        Error::MethodNotAllowed.into_response()
    } else {
        participant::error_page(Error::MethodNotAllowed, reader_language(&uri, &headers))
    }
}

/// The language of a page for a request no handler took (`?lang=`, then Accept-Language).
fn reader_language(uri: &Uri, headers: &axum::http::HeaderMap) -> crate::domain::notice::Language {
    extract::preferred_language(
        headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        uri.query(),
    )
}
