//! The staff web area: server-rendered pages in German (English on request) inside one
//! navigation shell. Routes and audiences are declared in [`super::routes`].

pub mod audit;
pub mod consents;
pub mod consultants;
pub mod dashboard;
pub mod ledger;
pub mod login;
pub mod notices;
pub mod retention;
pub mod subjects;
pub mod tokens;
pub mod users;
pub mod workshops;

use maud::{DOCTYPE, Markup, html};

use axum::http::Method;

use super::AppState;
use super::auth::StaffIdentity;
use crate::domain::notice::Language;
use crate::domain::staff::Role;

/// Picks the German or English wording.
pub fn tr(lang: Language, de: &'static str, en: &'static str) -> &'static str {
    match lang {
        Language::De => de,
        Language::En => en,
    }
}

/// The hidden CSRF field every staff form carries.
pub fn csrf_field(staff: &StaffIdentity) -> Markup {
    html! { input type="hidden" name="csrf" value=(staff.csrf_token().unwrap_or_default()); }
}

/// The navigation; each link shows only to roles the route table admits to it.
const NAV: &[(&str, &str, &str)] = &[
    ("/staff", "Übersicht", "Overview"),
    ("/staff/notices", "Datenschutzhinweise", "Notices"),
    ("/staff/workshops", "Workshops", "Workshops"),
    ("/staff/consents", "Einwilligungen", "Consents"),
    ("/staff/ledger", "Ledger", "Ledger"),
    ("/staff/retention", "Löschfristen", "Retention"),
    ("/staff/subjects", "Betroffenenanfragen", "Subject requests"),
    ("/staff/consultants", "Beraterliste", "Consultants"),
    ("/staff/outbox", "Postausgang", "Outbox"),
    ("/staff/audit", "Protokoll", "Audit log"),
    ("/staff/users", "Benutzer", "Users"),
    ("/staff/tokens", "API-Tokens", "API tokens"),
];

pub fn role_label(role: Role, lang: Language) -> &'static str {
    match role {
        Role::Admin => tr(lang, "Administration", "Admin"),
        Role::Lawyer => tr(lang, "Rechtsprüfung", "Lawyer"),
        Role::Auditor => tr(lang, "Prüfung (nur lesen)", "Auditor (read-only)"),
        Role::Collector => tr(lang, "Anmeldesystem", "Collector"),
    }
}

/// A staff page: navigation for what this role may open, the user, and logout.
pub fn shell(
    state: &AppState,
    lang: Language,
    staff: &StaffIdentity,
    active: &str,
    title: &str,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                meta name="csrf-token" content=(staff.csrf_token().unwrap_or_default());
                title { (title) " – consentd" }
                link rel="stylesheet" href="/assets/consentd.css";
            }
            body.staff {
                header.staff-header {
                    strong { "consentd" }
                    nav aria-label=(tr(lang, "Hauptnavigation", "Main navigation")) {
                        ul {
                            @for (href, de, en) in NAV.iter().filter(|(href, ..)| state.permits(staff.role, Method::GET, href)) {
                                li {
                                    a href=(href) aria-current=[(*href == active).then_some("page")] {
                                        (tr(lang, de, en))
                                    }
                                }
                            }
                        }
                    }
                    div.who {
                        (staff.label) " · " (role_label(staff.role, lang)) " · "
                        a href={ "?lang=" (if lang == Language::De { "en" } else { "de" }) } {
                            (if lang == Language::De { "English" } else { "Deutsch" })
                        }
                        form.inline method="post" action="/staff/logout" {
                            (csrf_field(staff))
                            button.secondary type="submit" { (tr(lang, "Abmelden", "Sign out")) }
                        }
                    }
                }
                main #main { h1 { (title) } (body) }
            }
        }
    }
}
