//! The ledger check, as `consentd verify` reports it.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::{shell, tr};
use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::extract::ClientInfo;
use crate::http::participant::error_page;

pub async fn page(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    let lang = client.language;
    let snapshot = match crate::store::ledger::snapshot(&state.app.db).await {
        Ok(s) => s,
        Err(e) => return error_page(e.into(), lang),
    };
    let report = crate::verify::check(&snapshot);
    let body = html! {
        @if report.ok {
            p.ok { (tr(lang, "Der Ledger ist unverändert.", "The ledger is intact.")) }
        } @else {
            p.broken { (tr(lang, "Der Ledger oder die Tabellen wurden verändert.", "The ledger or the tables were altered.")) }
        }
        table {
            tr { th scope="row" { (tr(lang, "Einträge", "Entries")) } td { (report.length) } }
            tr { th scope="row" { "Head" } td.hash { (report.head_sha256) } }
            tr { th scope="row" { (tr(lang, "Einwilligungen geprüft", "Consent records checked")) } td { (report.records_checked) } }
            tr { th scope="row" { (tr(lang, "Ereignisse geprüft", "Events checked")) } td { (report.events_checked) } }
            tr { th scope="row" { (tr(lang, "Protokolleinträge geprüft", "Audit events checked")) } td { (report.audit_events_checked) } }
            tr { th scope="row" { (tr(lang, "Gelöschte Personen", "Subjects erased")) } td { (report.subjects_erased) } }
        }
        @if !report.problems.is_empty() {
            h2 { (tr(lang, "Befunde", "Findings")) }
            table {
                thead { tr { th { "Seq" } th { (tr(lang, "Art", "Kind")) } th { (tr(lang, "Beschreibung", "Detail")) } } }
                tbody { @for p in &report.problems { tr { td { (p.seq) } td { (p.kind) } td { (p.detail) } } } }
            }
        }
        p.meta { (tr(lang, "Notieren Sie den Head-Hash außerhalb der Datenbank, um auch ein vollständiges Neuschreiben später zu erkennen.",
                       "Write the head hash down outside the database to detect even a complete rewrite later.")) }
    };
    shell(&state, lang, &staff, "/staff/ledger", "Ledger", body).into_response()
}
