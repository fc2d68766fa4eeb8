//! The audit trail of staff actions.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::{shell, tr};
use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::extract::ClientInfo;
use crate::http::i18n::format_time;
use crate::http::participant::error_page;
use crate::store::{audit, users};

pub async fn page(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    let lang = client.language;
    let (events, people) = match tokio::try_join!(
        audit::recent(&state.app.db, 200, 0),
        users::list(&state.app.db)
    ) {
        Ok(v) => v,
        Err(e) => return error_page(e.into(), lang),
    };
    let names: HashMap<String, String> = people
        .into_iter()
        .map(|u| (format!("user:{}", u.id), u.email))
        .collect();
    let body = html! {
        p.meta { (tr(lang, "Die letzten 200 Einträge; jeder ist im Ledger verkettet.", "The latest 200 entries; each is chained in the ledger.")) }
        table {
            thead { tr { th { (tr(lang, "Zeit", "Time")) } th { (tr(lang, "Wer", "Who")) } th { (tr(lang, "Aktion", "Action")) } th { (tr(lang, "Ziel", "Target")) } th { "IP" } th { "Seq" } } }
            tbody {
                @for e in &events {
                    tr {
                        td { (format_time(e.at, lang)) }
                        td { (names.get(&e.actor).cloned().unwrap_or_else(|| e.actor.clone())) }
                        td { (e.action) }
                        td.hash { (e.target.as_deref().unwrap_or("")) }
                        td { (e.ip_truncated.as_deref().unwrap_or("")) }
                        td { (e.ledger_seq) }
                    }
                }
            }
        }
    };
    shell(
        &state,
        lang,
        &staff,
        "/staff/audit",
        tr(lang, "Protokoll", "Audit log"),
        body,
    )
    .into_response()
}
