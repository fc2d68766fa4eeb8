//! The staff web area: server-rendered pages in German (English on request) inside one
//! navigation shell. Routes and audiences are declared in [`super::routes`].

pub mod audit;
pub mod consents;
pub mod dashboard;
pub mod ledger;
pub mod login;
pub mod tokens;
pub mod users;
pub mod workshops;

use maud::{DOCTYPE, Markup, html};

use super::auth::StaffIdentity;
use crate::domain::notice::Language;
use crate::domain::staff::{Audience, Role};

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

struct NavItem {
    href: &'static str,
    de: &'static str,
    en: &'static str,
    audience: Audience,
}

const NAV: &[NavItem] = &[
    NavItem { href: "/staff", de: "Übersicht", en: "Overview", audience: Audience::STAFF },
    NavItem { href: "/staff/workshops", de: "Workshops", en: "Workshops", audience: Audience::ADMIN_AUDITOR },
    NavItem { href: "/staff/consents", de: "Einwilligungen", en: "Consents", audience: Audience::ADMIN_AUDITOR },
    NavItem { href: "/staff/ledger", de: "Ledger", en: "Ledger", audience: Audience::ADMIN_AUDITOR },
    NavItem { href: "/staff/audit", de: "Protokoll", en: "Audit log", audience: Audience::ADMIN_AUDITOR },
    NavItem { href: "/staff/users", de: "Benutzer", en: "Users", audience: Audience::ADMIN },
    NavItem { href: "/staff/tokens", de: "API-Tokens", en: "API tokens", audience: Audience::ADMIN },
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
pub fn shell(lang: Language, staff: &StaffIdentity, active: &str, title: &str, body: Markup) -> Markup {
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
                            @for item in NAV.iter().filter(|i| i.audience.admits(Some(staff.role))) {
                                li {
                                    a href=(item.href) aria-current=[(item.href == active).then_some("page")] {
                                        (tr(lang, item.de, item.en))
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
