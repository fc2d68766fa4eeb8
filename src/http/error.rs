//! The one error type of the HTTP layer. Each variant maps to a status and a stable code;
//! internals are logged (without personal data) and never shown.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::consent::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A field failed validation (422), named by its JSON path.
    #[error("{0}")]
    Invalid(FieldError),
    /// The body is not well-formed JSON or form data (400).
    #[error("{message}")]
    Malformed { message: String },
    /// The request conflicts with the current state, e.g. a notice that is no longer in force.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("expected Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("sign in, or send a valid API token as `Authorization: Bearer …`")]
    Unauthorized,
    #[error("your role may not use this")]
    Forbidden,
    /// A rule about who may do this (e.g. four eyes), with its reason.
    #[error("{0}")]
    NotPermitted(&'static str),
    #[error("the request did not carry this session's CSRF token, or came from another site")]
    CsrfFailed,
    #[error("too many requests; retry after the time in Retry-After")]
    RateLimited,
    /// The service cannot serve now (database unreachable, migrations behind); it recovers
    /// by itself.
    #[error("{0}")]
    Unavailable(&'static str),
    /// The database's disk (or the disk of the deletion journal) is full: nothing was saved.
    /// Also a 503, with its own code so that operators can tell it from an outage; clients
    /// treat both alike (retry later). It recovers by itself once space is freed.
    #[error("{STORAGE_FULL}")]
    StorageFull,
    #[error("internal error")]
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        // A full disk or a database outage reached us through a layer that speaks anyhow:
        // still a 503.
        if e.chain().any(|c| {
            c.downcast_ref::<sqlx::Error>().is_some_and(is_storage_full)
                || c.downcast_ref::<std::io::Error>().is_some_and(is_disk_full)
        }) {
            tracing::warn!("storage full");
            return Error::StorageFull;
        }
        if e.chain()
            .filter_map(|c| c.downcast_ref::<sqlx::Error>())
            .any(crate::store::is_unavailable)
        {
            tracing::warn!("database unavailable");
            return Error::Unavailable(UNAVAILABLE);
        }
        Error::Internal(e)
    }
}

/// The disk is full: SQLite's SQLITE_FULL (primary result code 13, whatever the extended
/// code), PostgreSQL's `disk_full` (53100), or ENOSPC/EDQUOT from a file written inside the
/// transaction (the deletion journal reaches sqlx as an I/O error).
pub fn is_storage_full(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(io) => is_disk_full(io),
        sqlx::Error::Database(db) => match crate::store::sqlite_result_code(db.as_ref()) {
            Some(extended) => extended & 0xff == SQLITE_FULL,
            None => db.code().as_deref() == Some("53100"),
        },
        _ => false,
    }
}

const SQLITE_FULL: i32 = 13;

/// ENOSPC ("No space left on device") or EDQUOT ("Disk quota exceeded").
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

const STORAGE_FULL: &str = "the database's disk is full; nothing was saved, try again later";

const UNAVAILABLE: &str = "the database is unavailable; nothing was saved, try again shortly";

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        // The disk is full: the transaction was rolled back, nothing was written. Space may
        // come back (an operator frees it); the service then recovers by itself.
        if is_storage_full(&e) {
            tracing::warn!(error = %e, "storage full");
            return Error::StorageFull;
        }
        // No connection to be had: the database is down or out of reach. Nothing was
        // written; the client may retry, and the service recovers by itself.
        if crate::store::is_unavailable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            return Error::Unavailable(UNAVAILABLE);
        }
        // PostgreSQL refuses NUL and invalid characters in text: the client's input, not ours.
        if let Some(db) = e.as_database_error() {
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return Error::Malformed {
                    message: "the request contains characters that cannot be stored (e.g. NUL)"
                        .into(),
                };
            }
        }
        Error::Internal(anyhow::Error::new(e))
    }
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::Invalid(e)
    }
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Malformed { .. } => StatusCode::BAD_REQUEST,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden | Error::CsrfFailed | Error::NotPermitted(_) => StatusCode::FORBIDDEN,
            Error::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Error::Unavailable(_) | Error::StorageFull => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "not_found",
            Error::Invalid(_) => "invalid_field",
            Error::Malformed { .. } => "malformed_body",
            Error::Conflict { code, .. } => code,
            Error::PayloadTooLarge => "payload_too_large",
            Error::UnsupportedMediaType => "unsupported_media_type",
            Error::MethodNotAllowed => "method_not_allowed",
            Error::Unauthorized => "unauthorized",
            Error::Forbidden => "forbidden",
            Error::NotPermitted(_) => "not_permitted",
            Error::CsrfFailed => "csrf_failed",
            Error::RateLimited => "rate_limited",
            Error::Unavailable(_) => "unavailable",
            Error::StorageFull => "storage_full",
            Error::Internal(_) => "internal",
        }
    }

    /// The message a client sees: for internal errors a generic one.
    pub fn public_message(&self) -> String {
        match self {
            Error::Internal(_) => "an internal error occurred; it has been logged".to_owned(),
            other => other.to_string(),
        }
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid(e) => Some(&e.field),
            _ => None,
        }
    }

    pub(crate) fn log(&self) {
        if let Error::Internal(e) = self {
            // sqlx and IO errors carry no bound values; request data is never logged.
            tracing::error!(error = %format!("{e:#}"), "request failed");
        }
    }
}

/// The body of every error answer: `{"error": {"code", "message", "field"?}}`. The OpenAPI
/// document describes each operation's error answers with it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `invalid_field`, `notice_not_in_force`.
    pub code: String,
    pub message: String,
    /// The offending field's JSON path (e.g. `subject.email`), for `invalid_field`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.log();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.public_message(),
                field: self.field().map(str::to_owned),
            },
        };
        (self.status(), Json(body)).into_response()
    }
}
