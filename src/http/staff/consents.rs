//! Consent records, filtered by workshop, state and date.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use maud::html;
use serde::Deserialize;

use super::{shell, tr};
use crate::domain::consent::PurposeState;
use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::extract::ClientInfo;
use crate::http::i18n::{format_time, state_label};
use crate::http::participant::error_page;
use crate::store::consents::{self, RecordFilter};
use crate::store::{subjects, workshops};

const PER_PAGE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct Filter {
    workshop: Option<String>,
    state: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<i64>,
}

fn date(v: &Option<String>) -> Option<NaiveDate> {
    v.as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

pub async fn page(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
    query: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = client.language;
    let filter = query.map(|Query(f)| f).unwrap_or_default();
    let all_workshops = match workshops::list(&state.app.db).await {
        Ok(l) => l,
        Err(e) => return error_page(e.into(), lang),
    };
    let selected = filter.workshop.as_deref().filter(|s| !s.is_empty());
    let workshop_id = selected
        .and_then(|slug| all_workshops.iter().find(|w| w.slug == slug))
        .map(|w| w.id.clone());
    let state_filter = filter
        .state
        .clone()
        .filter(|s| PurposeState::parse(s).is_some());
    let page = filter.page.unwrap_or(1).clamp(1, 1_000_000);
    let record_filter = RecordFilter {
        workshop_id,
        notice_version: None,
        state: state_filter.clone(),
        from: date(&filter.from).and_then(crate::clock::berlin_day_start),
        until: date(&filter.to)
            .and_then(|d| d.succ_opt())
            .and_then(crate::clock::berlin_day_start),
    };
    let (records, events, total) = match consents::list(
        &state.app.db,
        &record_filter,
        PER_PAGE,
        (page - 1) * PER_PAGE,
    )
    .await
    {
        Ok(v) => v,
        Err(e) => return error_page(e.into(), lang),
    };
    let subjects = match subjects::of_records(&state.app.db, &records).await {
        Ok(v) => v,
        Err(e) => return error_page(e.into(), lang),
    };
    let mut rows = Vec::new();
    for r in &records {
        let subject = subjects.iter().find(|s| s.id == r.subject_id).cloned();
        let own: Vec<_> = events
            .iter()
            .filter(|e| e.record_id == r.id)
            .cloned()
            .collect();
        rows.push((r, subject, own));
    }
    let slug_of = |id: &str| {
        all_workshops
            .iter()
            .find(|w| w.id == id)
            .map(|w| w.slug.clone())
            .unwrap_or_default()
    };
    let states = [
        PurposeState::Given,
        PurposeState::Refused,
        PurposeState::Withdrawn,
        PurposeState::ReconsentRequested,
        PurposeState::Expired,
        PurposeState::Erased,
    ];
    let body = html! {
        form method="get" action="/staff/consents" {
            div.grid {
                label { "Workshop" select name="workshop" {
                    option value="" { (tr(lang, "alle", "all")) }
                    @for w in &all_workshops { option value=(w.slug) selected[selected == Some(w.slug.as_str())] { (w.slug) } }
                } }
                label { (tr(lang, "mit Ereignis", "with event")) select name="state" {
                    option value="" { (tr(lang, "beliebig", "any")) }
                    @for s in states { option value=(s.as_str()) selected[state_filter.as_deref() == Some(s.as_str())] { (state_label(s, lang)) } }
                } }
                label { (tr(lang, "von", "from")) input type="date" name="from" value=(filter.from.clone().unwrap_or_default()); }
                label { (tr(lang, "bis", "to")) input type="date" name="to" value=(filter.to.clone().unwrap_or_default()); }
                button type="submit" { (tr(lang, "Filtern", "Filter")) }
            }
        }
        p.meta { (total) " " (tr(lang, "Einträge", "records")) }
        table {
            thead { tr { th { (tr(lang, "Erfasst", "Recorded")) } th { "Workshop" } th { (tr(lang, "Person", "Person")) } th { (tr(lang, "Zwecke", "Purposes")) } th { (tr(lang, "Weg", "Method")) } th { (tr(lang, "Beleg", "Receipt")) } } }
            tbody {
                @for (r, subject, own) in &rows {
                    tr {
                        td { (format_time(r.recorded_at, lang)) }
                        td { (slug_of(&r.workshop_id)) }
                        td {
                            @match subject {
                                Some(s) if s.erased_at.is_some() => { em { (tr(lang, "gelöscht", "erased")) } }
                                Some(s) => { (s.name.clone().unwrap_or_default()) br; span.meta { (s.email.clone().unwrap_or_default()) } }
                                None => {}
                            }
                        }
                        td {
                            @for e in consents::current_states(own) {
                                span class={ "state-" (e.state) } { (e.purpose_id) ": " (e.state().map(|s| state_label(s, lang)).unwrap_or(&e.state)) } br;
                            }
                        }
                        td { (r.collection_method) }
                        td.hash { a href={ "/api/v1/consents/" (r.id) } { (r.receipt_id) } }
                    }
                }
            }
        }
        @if page * PER_PAGE < total {
            p { a href={ "/staff/consents?page=" (page + 1) "&workshop=" (selected.unwrap_or("")) "&state=" (state_filter.clone().unwrap_or_default()) "&from=" (filter.from.clone().unwrap_or_default()) "&to=" (filter.to.clone().unwrap_or_default()) } { (tr(lang, "Weitere", "More")) " →" } }
        }
    };
    shell(
        &state,
        lang,
        &staff,
        "/staff/consents",
        tr(lang, "Einwilligungen", "Consents"),
        body,
    )
    .into_response()
}
