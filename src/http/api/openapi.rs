//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
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
    modifiers(&BearerAuth)
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
