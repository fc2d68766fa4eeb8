//! The route table: every route with the audience that may use it, in one place. The router
//! is built from this table only, and [`super::auth::authorize`] refuses any matched route
//! that is not in it, so a route cannot exist without a declared audience.

use std::collections::HashMap;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{MethodFilter, MethodRouter, on};
use serde::Serialize;

use super::{AppState, api, participant, staff};
use crate::domain::staff::Audience;

pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub audience: Audience,
    /// `None` for routes served by a mounted router (the OpenAPI viewer).
    handler: Option<MethodRouter<AppState>>,
}

fn route<H, T>(method: Method, path: &'static str, audience: Audience, handler: H) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).expect("standard methods only");
    Route {
        method,
        path,
        audience,
        handler: Some(on(filter, handler)),
    }
}

fn mounted(path: &'static str, audience: Audience) -> Route {
    Route {
        method: Method::GET,
        path,
        audience,
        handler: None,
    }
}

/// Every route of the service.
pub fn table() -> Vec<Route> {
    use Audience as A;
    use Method as M;
    vec![
        // Participants and the public.
        route(M::GET, "/", A::Public, participant::home),
        route(M::GET, "/healthz", A::Public, super::healthz),
        route(M::GET, "/readyz", A::Public, super::readyz),
        // Counts of consents and deletions are the controller's business: scraped with an
        // auditor (or admin) token.
        route(M::GET, "/metrics", A::ADMIN_AUDITOR, super::metrics::scrape),
        route(M::GET, "/assets/consentd.css", A::Public, super::stylesheet),
        route(M::GET, "/w/{slug}", A::Public, participant::workshop_page),
        route(M::POST, "/w/{slug}", A::Public, participant::submit_form),
        route(M::GET, "/r/{token}", A::Public, participant::receipt_page),
        route(M::GET, "/r/{token}/pdf", A::Public, participant::own_pdf),
        route(
            M::GET,
            "/r/{token}/export",
            A::Public,
            participant::own_export,
        ),
        route(
            M::GET,
            "/r/{token}/notice",
            A::Public,
            participant::agreed_notice_page,
        ),
        route(
            M::POST,
            "/r/{token}/withdraw",
            A::Public,
            participant::withdraw_form,
        ),
        route(
            M::POST,
            "/r/{token}/reconsent",
            A::Public,
            participant::reconsent_form_submit,
        ),
        // JSON API for the registration site (anonymous or the collector token).
        route(M::GET, "/api/v1/keys", A::Public, api::keys::list),
        route(
            M::GET,
            "/api/v1/notices",
            A::Public,
            api::notices::list_in_force,
        ),
        route(
            M::POST,
            "/api/v1/consents",
            A::Public,
            api::consents::create,
        ),
        route(
            M::GET,
            "/api/v1/receipts/{token}",
            A::Public,
            api::receipts::show,
        ),
        route(
            M::POST,
            "/api/v1/receipts/{token}/withdraw",
            A::Public,
            api::receipts::withdraw,
        ),
        // JSON API for staff and automation.
        route(
            M::GET,
            "/api/v1/workshops",
            A::ADMIN_AUDITOR,
            api::workshops::list,
        ),
        route(
            M::POST,
            "/api/v1/workshops",
            A::ADMIN,
            api::workshops::create,
        ),
        route(
            M::GET,
            "/api/v1/workshops/{slug}",
            A::ADMIN_AUDITOR,
            api::workshops::show,
        ),
        route(
            M::PATCH,
            "/api/v1/workshops/{slug}",
            A::ADMIN,
            api::workshops::update,
        ),
        route(
            M::POST,
            "/api/v1/workshops/{slug}/archive",
            A::ADMIN,
            api::workshops::archive,
        ),
        route(
            M::GET,
            "/api/v1/consents",
            A::ADMIN_AUDITOR,
            api::consents::list,
        ),
        route(
            M::GET,
            "/api/v1/consents/{id}",
            A::ADMIN_AUDITOR,
            api::consents::show,
        ),
        route(
            M::GET,
            "/api/v1/consents/{id}/pdf",
            A::STAFF,
            api::records::consent_pdf,
        ),
        route(
            M::GET,
            "/api/v1/workshops/{slug}/records.zip",
            A::ADMIN_AUDITOR,
            api::records::workshop_zip,
        ),
        // Data-subject rights (Art. 15–17): staff find and export, admins rectify and erase.
        route(M::GET, "/api/v1/subjects", A::STAFF, api::subjects::find),
        route(
            M::GET,
            "/api/v1/subjects/{id}/export",
            A::STAFF,
            api::subjects::export,
        ),
        route(
            M::PATCH,
            "/api/v1/subjects/{id}",
            A::ADMIN,
            api::subjects::rectify,
        ),
        route(
            M::DELETE,
            "/api/v1/subjects/{id}",
            A::ADMIN,
            api::subjects::erase,
        ),
        route(
            M::GET,
            "/api/v1/ledger/verify",
            A::ADMIN_AUDITOR,
            api::ledger::verify,
        ),
        route(M::GET, "/api/v1/audit", A::ADMIN_AUDITOR, api::audit::list),
        // The legal review of notice versions.
        route(
            M::GET,
            "/api/v1/notices/{id}/versions",
            A::STAFF,
            api::notice_versions::list,
        ),
        route(
            M::POST,
            "/api/v1/notices/{id}/versions",
            A::AUTHORS,
            api::notice_versions::upload,
        ),
        route(
            M::GET,
            "/api/v1/notices/{id}/versions/{version}",
            A::STAFF,
            api::notice_versions::show,
        ),
        route(
            M::POST,
            "/api/v1/notices/{id}/versions/{version}/submit",
            A::AUTHORS,
            api::notice_versions::submit,
        ),
        route(
            M::POST,
            "/api/v1/notices/{id}/versions/{version}/review",
            A::LAWYER,
            api::notice_versions::decide,
        ),
        route(
            M::POST,
            "/api/v1/notices/{id}/versions/{version}/comment",
            A::AUTHORS,
            api::notice_versions::comment,
        ),
        route(
            M::POST,
            "/api/v1/notices/{id}/versions/{version}/withdraw",
            A::AUTHORS,
            api::notice_versions::withdraw,
        ),
        route(
            M::GET,
            "/api/v1/notices/{id}/versions/{version}/diff",
            A::STAFF,
            api::notice_versions::diff,
        ),
        route(
            M::GET,
            "/api/v1/notices/{id}/versions/{version}/pdf",
            A::STAFF,
            api::notice_versions::pdf,
        ),
        // Retention: forecast, reports, holds, pause.
        route(
            M::GET,
            "/api/v1/retention/forecast",
            A::ADMIN_AUDITOR,
            api::retention::forecast,
        ),
        route(
            M::GET,
            "/api/v1/retention/report",
            A::ADMIN_AUDITOR,
            api::retention::report,
        ),
        route(
            M::GET,
            "/api/v1/retention/concept",
            A::ADMIN_AUDITOR,
            api::retention::concept,
        ),
        route(
            M::GET,
            "/api/v1/retention/holds",
            A::ADMIN_AUDITOR,
            api::retention::holds,
        ),
        route(
            M::POST,
            "/api/v1/retention/holds",
            A::ADMIN,
            api::retention::add_hold,
        ),
        route(
            M::POST,
            "/api/v1/retention/holds/{id}/release",
            A::ADMIN,
            api::retention::release_hold,
        ),
        route(
            M::POST,
            "/api/v1/retention/pause",
            A::ADMIN,
            api::retention::pause,
        ),
        route(
            M::POST,
            "/api/v1/retention/resume",
            A::ADMIN,
            api::retention::resume,
        ),
        route(
            M::POST,
            "/api/v1/retention/run",
            A::ADMIN,
            api::retention::run,
        ),
        // Authorised consultants, attendance, reminder letters.
        route(
            M::GET,
            "/api/v1/consultants",
            A::ADMIN_AUDITOR,
            api::consultants::list,
        ),
        route(
            M::POST,
            "/api/v1/consultants",
            A::ADMIN,
            api::consultants::add,
        ),
        route(
            M::POST,
            "/api/v1/consultants/import",
            A::ADMIN,
            api::consultants::import,
        ),
        route(
            M::POST,
            "/api/v1/workshops/{slug}/attendance",
            A::ADMIN,
            api::consultants::attend,
        ),
        route(
            M::GET,
            "/api/v1/outbox",
            A::ADMIN_AUDITOR,
            api::consultants::outbox,
        ),
        // The OpenAPI document and its viewer (mounted from utoipa-swagger-ui).
        mounted("/api/v1/openapi.json", A::Public),
        mounted("/api/v1/docs", A::Public),
        mounted("/api/v1/docs/", A::Public),
        mounted("/api/v1/docs/{*rest}", A::Public),
        // Staff web area.
        route(M::GET, "/staff/login", A::Public, staff::login::page),
        route(M::POST, "/staff/login", A::Public, staff::login::submit),
        route(M::POST, "/staff/logout", A::STAFF, staff::login::logout),
        route(M::GET, "/staff", A::STAFF, staff::dashboard::page),
        route(M::GET, "/staff/notices", A::STAFF, staff::notices::list),
        route(
            M::POST,
            "/staff/notices/{id}/upload",
            A::AUTHORS,
            staff::notices::upload,
        ),
        route(
            M::GET,
            "/staff/notices/{id}/{version}",
            A::STAFF,
            staff::notices::show,
        ),
        route(
            M::POST,
            "/staff/notices/{id}/{version}/submit",
            A::AUTHORS,
            staff::notices::submit,
        ),
        route(
            M::POST,
            "/staff/notices/{id}/{version}/review",
            A::LAWYER,
            staff::notices::decide,
        ),
        route(
            M::POST,
            "/staff/notices/{id}/{version}/comment",
            A::AUTHORS,
            staff::notices::comment,
        ),
        route(
            M::POST,
            "/staff/notices/{id}/{version}/withdraw",
            A::AUTHORS,
            staff::notices::withdraw,
        ),
        route(
            M::GET,
            "/staff/workshops",
            A::ADMIN_AUDITOR,
            staff::workshops::page,
        ),
        route(
            M::POST,
            "/staff/workshops",
            A::ADMIN,
            staff::workshops::create,
        ),
        route(
            M::GET,
            "/staff/consents",
            A::ADMIN_AUDITOR,
            staff::consents::page,
        ),
        route(
            M::GET,
            "/staff/ledger",
            A::ADMIN_AUDITOR,
            staff::ledger::page,
        ),
        route(
            M::GET,
            "/staff/retention",
            A::ADMIN_AUDITOR,
            staff::retention::page,
        ),
        route(
            M::POST,
            "/staff/retention/holds",
            A::ADMIN,
            staff::retention::add_hold,
        ),
        route(
            M::POST,
            "/staff/retention/holds/{id}/release",
            A::ADMIN,
            staff::retention::release_hold,
        ),
        route(
            M::POST,
            "/staff/retention/pause",
            A::ADMIN,
            staff::retention::pause,
        ),
        route(
            M::POST,
            "/staff/retention/resume",
            A::ADMIN,
            staff::retention::resume,
        ),
        route(M::GET, "/staff/audit", A::ADMIN_AUDITOR, staff::audit::page),
        route(M::GET, "/staff/subjects", A::STAFF, staff::subjects::page),
        route(
            M::POST,
            "/staff/subjects/{id}/rectify",
            A::ADMIN,
            staff::subjects::rectify,
        ),
        route(
            M::POST,
            "/staff/subjects/{id}/erase",
            A::ADMIN,
            staff::subjects::erase,
        ),
        route(
            M::GET,
            "/staff/consultants",
            A::ADMIN_AUDITOR,
            staff::consultants::page,
        ),
        route(
            M::POST,
            "/staff/consultants",
            A::ADMIN,
            staff::consultants::add,
        ),
        route(
            M::POST,
            "/staff/consultants/import",
            A::ADMIN,
            staff::consultants::import,
        ),
        route(
            M::POST,
            "/staff/attendance",
            A::ADMIN,
            staff::consultants::attend,
        ),
        route(
            M::GET,
            "/staff/outbox",
            A::ADMIN_AUDITOR,
            staff::consultants::outbox,
        ),
        route(M::GET, "/staff/users", A::ADMIN, staff::users::page),
        route(M::POST, "/staff/users", A::ADMIN, staff::users::create),
        route(
            M::POST,
            "/staff/users/{id}/disable",
            A::ADMIN,
            staff::users::disable,
        ),
        route(M::GET, "/staff/tokens", A::ADMIN, staff::tokens::page),
        route(M::POST, "/staff/tokens", A::ADMIN, staff::tokens::create),
        route(
            M::POST,
            "/staff/tokens/{name}/revoke",
            A::ADMIN,
            staff::tokens::revoke,
        ),
    ]
}

/// The router with every handler, and the audience of each (method, path template).
pub fn build(routes: Vec<Route>) -> (Router<AppState>, HashMap<(Method, String), Audience>) {
    let mut audiences = HashMap::new();
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for r in routes {
        let previous = audiences.insert((r.method.clone(), r.path.to_owned()), r.audience);
        assert!(
            previous.is_none(),
            "{} {} is declared twice",
            r.method,
            r.path
        );
        let Some(handler) = r.handler else { continue };
        match by_path.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, existing)) => *existing = std::mem::take(existing).merge(handler),
            None => by_path.push((r.path, handler)),
        }
    }
    let router = by_path
        .into_iter()
        .fold(Router::new(), |router, (path, handler)| {
            router.route(path, handler)
        });
    (router, audiences)
}

/// The table as data, for `consentd routes` and the authorisation test.
#[derive(Serialize)]
pub struct RouteInfo {
    pub method: String,
    pub path: &'static str,
    /// `public`, or the roles that may use it.
    pub audience: String,
}

pub fn describe() -> Vec<RouteInfo> {
    table()
        .into_iter()
        .map(|r| RouteInfo {
            method: r.method.to_string(),
            path: r.path,
            audience: r.audience.describe(),
        })
        .collect()
}
