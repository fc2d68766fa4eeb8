//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::{
    audit, consents, consultants, keys, ledger, notice_versions, notices, receipts, records,
    retention, subjects, workshops,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "consentd", description = "Provable consent to workshop privacy notices. \
        Staff endpoints take `Authorization: Bearer <API token>` (or a staff session cookie with \
        the `X-CSRF-Token` header). Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}`."),
    paths(
        notices::list_in_force,
        consents::create,
        receipts::show,
        receipts::withdraw,
        keys::list,
        workshops::list,
        workshops::create,
        workshops::show,
        workshops::update,
        workshops::archive,
        consents::list,
        consents::show,
        records::consent_pdf,
        records::workshop_zip,
        subjects::find,
        subjects::export,
        subjects::rectify,
        subjects::erase,
        ledger::verify,
        audit::list,
        notice_versions::list,
        notice_versions::upload,
        notice_versions::show,
        notice_versions::submit,
        notice_versions::decide,
        notice_versions::comment,
        notice_versions::withdraw,
        notice_versions::diff,
        notice_versions::pdf,
        retention::forecast,
        retention::report,
        retention::concept,
        retention::holds,
        retention::add_hold,
        retention::release_hold,
        retention::pause,
        retention::resume,
        retention::run,
        consultants::list,
        consultants::add,
        consultants::import,
        consultants::attend,
        consultants::outbox,
    ),
    components(schemas(crate::http::error::ErrorBody, crate::http::error::ErrorDetail)),
    modifiers(&BearerAuth, &ErrorResponses)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The error answers the shared layers give, added to every operation that can get them, and
/// every error answer described by `ErrorBody`, so the document tells clients (and
/// schemathesis) the truth: the gate (401, 403), the rate limit on public routes (429), the
/// body and parameter extractors (400, 404, 413, 415, 422) and a database outage (503).
struct ErrorResponses;

impl Modify for ErrorResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                add_error_responses(operation);
            }
        }
    }
}

fn add_error_responses(operation: &mut Operation) {
    let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_in = |place: ParameterIn| {
        operation
            .parameters
            .iter()
            .flatten()
            .any(|p| p.parameter_in == place)
    };
    let (path_params, query_params) = (has_in(ParameterIn::Path), has_in(ParameterIn::Query));
    let json_body = operation
        .request_body
        .as_ref()
        .map(|b| b.content.contains_key("application/json"));
    let mut codes: Vec<(&str, &str)> = vec![("503", "the database is unavailable; retry")];
    if secured {
        codes.push(("401", "no valid session or API token"));
        codes.push((
            "403",
            "the role may not use this (or the CSRF check failed)",
        ));
    } else {
        codes.push(("429", "too many requests; see Retry-After"));
    }
    if path_params {
        codes.push(("400", "a path parameter does not parse"));
        codes.push(("404", "not found"));
    }
    if query_params {
        codes.push(("422", "a query parameter is invalid (named in `field`)"));
    }
    if let Some(json) = json_body {
        codes.push(("400", "the body is not well-formed"));
        codes.push(("413", "the body is too large"));
        codes.push(("422", "a field is invalid (named in `field`)"));
        if json {
            codes.push(("415", "the body is not application/json"));
        }
    }
    let responses = &mut operation.responses.responses;
    for (code, description) in codes {
        responses
            .entry(code.to_owned())
            .or_insert_with(|| ResponseBuilder::new().description(description).into());
    }
    // Every error answer has the one error body.
    for (code, response) in responses.iter_mut() {
        if !(code.starts_with('4') || code.starts_with('5')) {
            continue;
        }
        if let RefOr::T(response) = response {
            response.content.insert(
                "application/json".to_owned(),
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            );
        }
    }
}
