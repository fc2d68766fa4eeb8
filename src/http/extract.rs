//! Request extractors that answer bad input with our JSON errors instead of axum's plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_TYPE, USER_AGENT};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::Error;
use crate::domain::consent::{FieldError, truncate_ip};
use crate::domain::notice::Language;

/// JSON body, with errors that name the offending field (`subject.email`).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(Error::UnsupportedMediaType);
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A request body as bytes, its rejections (too large, unreadable) answered as the API's
/// JSON errors like every other body.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        Bytes::from_request(req, state)
            .await
            .map(RawBody)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    Error::PayloadTooLarge
                } else {
                    Error::Malformed {
                        message: "could not read the request body".into(),
                    }
                }
            })
    }
}

/// Path parameters for the JSON API: axum's `Path`, but a segment that does not parse (a
/// version that is not a number, invalid percent-encoding) is our JSON `400 malformed_body`
/// instead of axum's plain-text answer. Named `Path` so utoipa still documents the parameters.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            // A route without the parameters its handler expects: our bug, not the client's.
            Err(e) if e.status().is_server_error() => {
                Err(Error::Internal(anyhow::anyhow!(e.body_text())))
            }
            Err(e) => {
                // The parameters' names, for a tuple of them (whose errors only give a place).
                let names: Vec<String> =
                    axum::extract::RawPathParams::from_request_parts(parts, state)
                        .await
                        .map(|raw| raw.iter().map(|(key, _)| key.to_owned()).collect())
                        .unwrap_or_default();
                Err(Error::Malformed {
                    message: path_problem(&e, &names),
                })
            }
        }
    }
}

/// What is wrong with a path, naming the parameter but never its value (it may be a token).
fn path_problem(e: &axum::extract::rejection::PathRejection, names: &[String]) -> String {
    use axum::extract::path::ErrorKind;
    use axum::extract::rejection::PathRejection;
    let PathRejection::FailedToDeserializePathParams(e) = e else {
        return "the path could not be read".into();
    };
    let not = |key: &str, expected_type: &str| {
        let what = if expected_type.starts_with('u') || expected_type.starts_with('i') {
            "a number"
        } else {
            "valid here"
        };
        format!("path parameter `{key}` is not {what}")
    };
    match e.kind() {
        ErrorKind::ParseErrorAtKey {
            key, expected_type, ..
        } => not(key, expected_type),
        ErrorKind::ParseErrorAtIndex {
            index,
            expected_type,
            ..
        } => match names.get(*index) {
            Some(key) => not(key, expected_type),
            None => "a path parameter is not valid".into(),
        },
        ErrorKind::InvalidUtf8InPathParam { key } => {
            format!("path parameter `{key}` is not valid UTF-8")
        }
        _ => "a path parameter is not valid".into(),
    }
}

/// Query parameters for the JSON API: a parameter that is missing or does not parse is a
/// 422 naming it (`"field": "from"`), without echoing the value or serde's type names.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs = form_urlencoded::parse(query.as_bytes());
        serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs))
            .map(ApiQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                match missing_field(&e.into_inner().to_string()) {
                    Some(field) => FieldError::new(field, "is required"),
                    None => FieldError::new(path, "is not a valid value here"),
                }
                .into()
            })
    }
}

/// [`Path`] for pages: a parameter that does not parse gets the readable error page in the
/// reader's language instead of JSON (or axum's plain text).
pub struct PagePath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PagePath<T> {
    type Rejection = axum::response::Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Self, axum::response::Response> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PagePath(value)),
            Err(e) => Err(super::participant::error_page(e, reader_language(parts))),
        }
    }
}

/// Syntax errors are 400; a well-formed body with a wrong or missing field is 422 naming it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| Error::Malformed {
        message: format!("the body is not valid JSON: {e}"),
    })?;
    if !value.is_object() {
        return Err(FieldError::new("(body)", "must be a JSON object").into());
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        // serde names a missing field in the message, relative to the path.
        let field = match missing_field(&message) {
            Some(f) if path == "." => f,
            Some(f) => format!("{path}.{f}"),
            None if path == "." => "(body)".to_owned(),
            None => path,
        };
        Error::Invalid(FieldError::new(field, message))
    })
}

fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next().map(str::to_owned)
}

/// Who is asking, reduced to what may be stored: the truncated IP and the user agent.
pub struct ClientInfo {
    pub ip_truncated: Option<String>,
    pub user_agent: Option<String>,
    pub language: Language,
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Error> {
        let ip_truncated = parts
            .extensions
            .get::<super::auth::ClientAddr>()
            .and_then(|addr| addr.0)
            .map(truncate_ip);
        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().take(512).collect());
        Ok(ClientInfo {
            ip_truncated,
            user_agent,
            language: reader_language(parts),
        })
    }
}

/// The language the request asks for (see [`preferred_language`]).
fn reader_language(parts: &Parts) -> Language {
    preferred_language(
        parts
            .headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
        parts.uri.query(),
    )
}

/// `?lang=en` wins; else the first of de/en in Accept-Language by quality; else German.
pub fn preferred_language(accept: Option<&str>, query: Option<&str>) -> Language {
    if let Some(lang) = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("lang="))
        .and_then(Language::parse)
    {
        return lang;
    }
    let Some(accept) = accept else {
        return Language::De;
    };
    let mut best: Option<(f32, Language)> = None;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let quality = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split('-').next().unwrap_or_default();
        if let Some(lang) = Language::parse(primary) {
            if best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, lang));
            }
        }
    }
    best.map(|(_, l)| l).unwrap_or(Language::De)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_negotiation() {
        assert_eq!(preferred_language(None, None), Language::De);
        assert_eq!(
            preferred_language(Some("en-GB,en;q=0.9"), None),
            Language::En
        );
        assert_eq!(
            preferred_language(Some("fr,en;q=0.5,de;q=0.8"), None),
            Language::De
        );
        assert_eq!(
            preferred_language(Some("de"), Some("lang=en")),
            Language::En
        );
    }

    #[test]
    fn json_errors_name_the_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Inner {
            email: String,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Outer {
            subject: Inner,
        }
        match parse_json::<Outer>(br#"{"subject":{}}"#) {
            Err(Error::Invalid(e)) => assert_eq!(e.field, "subject.email"),
            other => panic!("{other:?}"),
        }
        match parse_json::<Outer>(br#"{"subject":{"email":3}}"#) {
            Err(Error::Invalid(e)) => assert_eq!(e.field, "subject.email"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_json::<Outer>(b"{"),
            Err(Error::Malformed { .. })
        ));
    }
}
