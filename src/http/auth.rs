//! Who is asking, and may they: the one middleware that enforces each route's declared
//! audience, CSRF protection for cookie sessions, same-origin checks for forms, and the
//! budgets of public endpoints.

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::AppState;
use super::error::Error;
use crate::accounts;
use crate::domain::staff::{Audience, Role};

pub const SESSION_COOKIE: &str = "consentd_session";

/// How a staff member is signed in.
#[derive(Clone, Debug)]
pub enum Via {
    Session { secret: String, csrf_token: String },
    Token { name: String },
}

/// The caller of a request, resolved once by [`authorize`].
#[derive(Clone, Debug)]
pub enum Identity {
    Anonymous,
    Staff(StaffIdentity),
}

#[derive(Clone, Debug)]
pub struct StaffIdentity {
    /// The staff user's id, or the token's id.
    pub id: String,
    /// The user's e-mail, or the token's name.
    pub label: String,
    pub role: Role,
    pub via: Via,
}

impl StaffIdentity {
    /// How the audit trail names this caller.
    pub fn actor(&self) -> String {
        match &self.via {
            Via::Session { .. } => format!("user:{}", self.id),
            Via::Token { name } => format!("token:{name}"),
        }
    }

    pub fn csrf_token(&self) -> Option<&str> {
        match &self.via {
            Via::Session { csrf_token, .. } => Some(csrf_token),
            Via::Token { .. } => None,
        }
    }
}

impl Identity {
    pub fn role(&self) -> Option<Role> {
        match self {
            Identity::Anonymous => None,
            Identity::Staff(s) => Some(s.role),
        }
    }
}

/// The client's address as the service sees it (behind a trusted proxy: the forwarded one).
/// Never logged or stored in full.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub Option<IpAddr>);

/// Extracts the signed-in staff member; only routes whose audience is staff use it, and the
/// middleware has already refused everyone else.
impl<S: Send + Sync> FromRequestParts<S> for StaffIdentity {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        match parts.extensions.get::<Identity>() {
            Some(Identity::Staff(staff)) => Ok(staff.clone()),
            _ => Err(Error::Unauthorized),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        Ok(parts
            .extensions
            .get::<Identity>()
            .cloned()
            .unwrap_or(Identity::Anonymous))
    }
}

pub fn session_cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value for a new session (`None` clears it).
pub fn session_cookie(secret: Option<&str>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value = match secret {
        Some(secret) => format!(
            "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
            accounts::SESSION_ABSOLUTE.num_seconds()
        ),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&value).expect("cookie values are ASCII")
}

fn client_addr(state: &AppState, request: &Request) -> Option<IpAddr> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())?;
    if !state.config.trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    // The rightmost address that is not one of our proxies is the client.
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|a| !state.config.trusted_proxies.contains(a))
        .or(Some(peer))
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// The gate in front of every route.
pub async fn authorize(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let addr = client_addr(&state, &request);
    request.extensions_mut().insert(ClientAddr(addr));
    let Some(matched) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        // Unrouted: the fallback answers 404.
        return next.run(request).await;
    };
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let audience = state
        .audiences
        .get(&(method.clone(), matched.clone()))
        .copied()
        .or_else(|| {
            // HEAD is served by GET handlers.
            (method == Method::HEAD)
                .then(|| {
                    state
                        .audiences
                        .get(&(Method::GET, matched.clone()))
                        .copied()
                })
                .flatten()
        });
    let Some(audience) = audience else {
        if state.audiences.keys().any(|(_, p)| *p == matched) {
            // A declared path, another method: 405, without ever reaching a handler.
            return if is_api(&path) {
                Error::MethodNotAllowed.into_response()
            } else {
                super::participant::error_page(
                    Error::MethodNotAllowed,
                    crate::domain::notice::Language::De,
                )
            };
        }
        // Deny by default: a route that was not declared in the route table is unreachable.
        tracing::error!(route = %matched, %method, "route without a declared audience refused");
        return Error::Forbidden.into_response();
    };

    let identity = match resolve_identity(&state, request.headers()).await {
        Ok(identity) => identity,
        Err(e) => return e.into_response(),
    };
    let Some(identity) = identity else {
        // Guessing tokens costs the same budget as any other anonymous request.
        if let (Some(limits), Some(ip)) = (&state.rate_limits, addr) {
            if let Err(wait) = limits.check_address(ip) {
                return too_many(wait);
            }
        }
        return unauthorized(&path, true);
    };

    if let Audience::Staff(_) = audience {
        match identity.role() {
            None => return unauthorized(&path, false),
            Some(role) if !audience.admits(Some(role)) => return forbidden(&path),
            Some(_) => {}
        }
    }

    let unsafe_method = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method {
        let via_token = matches!(
            &identity,
            Identity::Staff(StaffIdentity {
                via: Via::Token { .. },
                ..
            })
        );
        if !via_token && !same_origin(&state, request.headers()) {
            return csrf_failed(&path);
        }
        // Staff routes act with the session's authority, so they need its token; public forms
        // (consent, withdrawal, login) act with none and stay usable while signed in.
        if let (
            Audience::Staff(_),
            Identity::Staff(
                staff @ StaffIdentity {
                    via: Via::Session { .. },
                    ..
                },
            ),
        ) = (audience, &identity)
        {
            let expected = staff.csrf_token().unwrap_or_default().to_owned();
            match check_csrf(request, &expected).await {
                Ok(r) => request = r,
                Err(()) => return csrf_failed(&path),
            }
        }
    }

    if audience == Audience::Public {
        if let Some(limits) = &state.rate_limits {
            let verdict = match &identity {
                Identity::Staff(StaffIdentity {
                    role: Role::Collector,
                    id,
                    ..
                }) => limits.check_token(id),
                _ => addr.map_or(Ok(()), |ip| limits.check_address(ip)),
            };
            if let Err(wait) = verdict {
                return too_many(wait);
            }
        }
    }

    request.extensions_mut().insert(identity);
    next.run(request).await
}

/// `Ok(None)` when credentials were sent but are not valid (answered with 401).
async fn resolve_identity(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Identity>, Error> {
    if let Some(authorization) = headers.get(header::AUTHORIZATION) {
        // The scheme's name is case-insensitive (RFC 9110, 11.1).
        let Some(secret) = authorization
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, secret)| secret)
        else {
            return Ok(None);
        };
        let Some(token) = accounts::authenticate_token(&state.app, secret.trim()).await? else {
            return Ok(None);
        };
        let Some(role) = Role::parse(&token.role) else {
            return Ok(None);
        };
        return Ok(Some(Identity::Staff(StaffIdentity {
            id: token.id,
            label: token.name.clone(),
            role,
            via: Via::Token { name: token.name },
        })));
    }
    if let Some(secret) = session_cookie_value(headers) {
        if let Some((user, session)) = accounts::authenticate_session(&state.app, &secret).await? {
            if let Some(role) = Role::parse(&user.role) {
                return Ok(Some(Identity::Staff(StaffIdentity {
                    id: user.id,
                    label: user.email,
                    role,
                    via: Via::Session {
                        secret,
                        csrf_token: session.csrf_token,
                    },
                })));
            }
        }
        // A stale cookie is not an error: the visitor is simply not signed in.
    }
    Ok(Some(Identity::Anonymous))
}

/// Browsers send `Origin` with every form POST; a different origin is a cross-site request.
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| *o != "null")
    else {
        // Non-browser clients send none, and browsers send `null` from no-referrer pages
        // (the receipt page); session requests are still held to the CSRF token.
        return true;
    };
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let public_host = state
        .base_url
        .split_once("://")
        .map(|(_, h)| h)
        .unwrap_or_default();
    origin_host == host || origin_host == public_host
}

/// The session's CSRF token must come back in `X-CSRF-Token` or in a form field `csrf`.
async fn check_csrf(request: Request, expected: &str) -> Result<Request, ()> {
    if expected.is_empty() {
        return Err(());
    }
    if let Some(sent) = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return if constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
            Ok(request)
        } else {
            Err(())
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(());
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, super::BODY_LIMIT)
        .await
        .map_err(|_| ())?;
    let sent = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned());
    match sent {
        Some(sent) if constant_time_eq(sent.as_bytes(), expected.as_bytes()) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(()),
    }
}

fn too_many(wait: std::time::Duration) -> Response {
    let mut response = Error::RateLimited.into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(wait.as_secs().max(1)),
    );
    response
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized(path: &str, bad_credentials: bool) -> Response {
    // A bearer credential that is not valid is an API client's mistake: say so plainly.
    if is_api(path) || bad_credentials {
        let mut response = Error::Unauthorized.into_response();
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    if path.starts_with("/staff") {
        let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
        return Redirect::to(&format!("/staff/login?next={next}")).into_response();
    }
    super::participant::error_page(Error::Unauthorized, crate::domain::notice::Language::De)
}

fn forbidden(path: &str) -> Response {
    if is_api(path) {
        Error::Forbidden.into_response()
    } else {
        super::participant::error_page(Error::Forbidden, crate::domain::notice::Language::De)
    }
}

fn csrf_failed(path: &str) -> Response {
    let error = Error::CsrfFailed;
    if is_api(path) {
        error.into_response()
    } else {
        super::participant::error_page(error, crate::domain::notice::Language::De)
    }
}
