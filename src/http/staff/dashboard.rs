//! The overview: notices in force, workshops with consent counts, recent consents and
//! withdrawals, and the ledger's state.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::{shell, tr};
use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::error::Error;
use crate::http::extract::ClientInfo;
use crate::http::i18n::{format_date, format_time};
use crate::http::participant::error_page;
use crate::store::{consents, workshops};
use axum::http::Method;

pub async fn page(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    match render(&state, &staff, &client).await {
        Ok(r) => r,
        Err(e) => error_page(e, client.language),
    }
}

async fn render(
    state: &AppState,
    staff: &StaffIdentity,
    client: &ClientInfo,
) -> Result<Response, Error> {
    let lang = client.language;
    let today = state.app.clock.today_berlin();
    let sees_records = state.permits(staff.role, Method::GET, "/staff/consents");
    let body = if sees_records {
        let list = workshops::list(&state.app.db).await?;
        let counts: HashMap<String, i64> = workshops::consent_counts(&state.app.db)
            .await?
            .into_iter()
            .collect();
        let slugs: HashMap<&str, &str> = list
            .iter()
            .map(|w| (w.id.as_str(), w.slug.as_str()))
            .collect();
        let recent_given = consents::recent_given(&state.app.db, 10).await?;
        let recent_withdrawn = consents::recent_withdrawals(&state.app.db, 10).await?;
        let records: HashMap<String, String> = {
            let mut map = HashMap::new();
            for e in recent_given.iter().chain(&recent_withdrawn) {
                if !map.contains_key(&e.record_id) {
                    if let Some(r) = consents::by_id(&state.app.db, &e.record_id).await? {
                        map.insert(
                            e.record_id.clone(),
                            slugs
                                .get(r.workshop_id.as_str())
                                .copied()
                                .unwrap_or("?")
                                .to_owned(),
                        );
                    }
                }
            }
            map
        };
        // The chain alone, on every visit: constant memory and about half a second per
        // million entries, where the full check reads every table. The ledger page runs that.
        let report = crate::verify::chain_only(&state.app.db, &[]).await?;
        html! {
            section {
                h2 { "Ledger" }
                @if report.ok {
                    p.ok {
                        (tr(lang, "Kette unverändert", "Chain intact")) ": " (report.length) " " (tr(lang, "Einträge", "entries"))
                        " – " a href="/staff/ledger" { (tr(lang, "Tabellen prüfen", "check the tables")) }
                    }
                } @else {
                    p.broken { (tr(lang, "VERÄNDERT", "BROKEN")) ": " (report.problems.len()) " " (tr(lang, "Befunde", "findings")) " – " a href="/staff/ledger" { (tr(lang, "Details", "details")) } }
                }
                p.hash { "Head: " (report.head_sha256) }
            }
            section {
                h2 { "Workshops" }
                table {
                    thead { tr { th { "Workshop" } th { (tr(lang, "Termin", "Dates")) } th { (tr(lang, "Einwilligungen", "Consents")) } th { (tr(lang, "Seite", "Page")) } } }
                    tbody {
                        @for w in list.iter().filter(|w| w.archived_at.is_none()) {
                            tr {
                                td { (w.title) }
                                td { (format_date(w.starts_on, lang)) }
                                td { a href={ "/staff/consents?workshop=" (w.slug) } { (counts.get(&w.id).copied().unwrap_or(0)) } }
                                td { a href={ "/w/" (w.slug) } { "/w/" (w.slug) } }
                            }
                        }
                    }
                }
            }
            section {
                h2 { (tr(lang, "Neueste Einwilligungen", "Recent consents")) }
                (event_list(&recent_given, &records, lang))
                h2 { (tr(lang, "Neueste Widerrufe", "Recent withdrawals")) }
                (event_list(&recent_withdrawn, &records, lang))
            }
        }
    } else {
        html! {}
    };
    let catalog = state.app.catalog().await?;
    let pending: Vec<(&str, u32, &'static str)> = catalog
        .notices
        .values()
        .flat_map(|n| n.versions.iter().map(move |v| (n, v)))
        .filter_map(|(n, v)| {
            let state = n.display_state(v, today);
            matches!(
                state,
                crate::domain::review::DisplayState::InReview
                    | crate::domain::review::DisplayState::Draft
            )
            .then(|| {
                (
                    n.id.as_str(),
                    v.content.version,
                    if lang == crate::domain::notice::Language::De {
                        state.label_de()
                    } else {
                        state.label_en()
                    },
                )
            })
        })
        .collect();
    let notices = html! {
        @if !pending.is_empty() {
            section {
                h2 { (tr(lang, "Offene Fassungen", "Open versions")) }
                ul {
                    @for (id, version, label) in &pending {
                        li { a href={ "/staff/notices/" (id) "/" (version) } { (id) " – " (tr(lang, "Fassung ", "version ")) (version) } " · " (label) }
                    }
                }
            }
        }
        section {
            h2 { (tr(lang, "Datenschutzhinweise in Kraft", "Notices in force")) }
            table {
                thead { tr { th { "Notice" } th { (tr(lang, "Fassung", "Version")) } th { (tr(lang, "gültig seit", "since")) } th { "SHA-256 (de)" } } }
                tbody {
                    @for n in catalog.notices.values() {
                        @if let Some(v) = n.in_force(today).map(|v| &v.content) {
                            tr { td { (n.id) } td { (v.version) } td { (format_date(v.effective, lang)) } td.hash { (v.text_for(crate::domain::notice::Language::De).sha256) } }
                        }
                    }
                }
            }
        }
    };
    let page = shell(
        state,
        lang,
        staff,
        "/staff",
        tr(lang, "Übersicht", "Overview"),
        html! { (body) (notices) },
    );
    Ok(page.into_response())
}

fn event_list(
    events: &[consents::ConsentEvent],
    workshops_of: &HashMap<String, String>,
    lang: crate::domain::notice::Language,
) -> maud::Markup {
    html! {
        @if events.is_empty() {
            p.meta { "–" }
        } @else {
            ul {
                @for e in events {
                    li {
                        (format_time(e.occurred_at, lang)) " · " (workshops_of.get(&e.record_id).map(String::as_str).unwrap_or("?"))
                        " · " (e.purpose_id) " · " span.hash { a href={ "/api/v1/consents/" (e.record_id) } { (e.record_id) } }
                    }
                }
            }
        }
    }
}
