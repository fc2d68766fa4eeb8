//! Participant pages: the workshop page with the notice and the consent form (`/w/{slug}`),
//! and the personal receipt page where consents are withdrawn (`/r/{token}`).

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::AppState;
use super::error::Error;
use super::extract::ClientInfo;
use super::i18n::{Texts, format_date, format_time, state_label, texts};
use super::layout::{markdown, page};
use super::submission::{
    ConsentInput, NoticeRef, OpenWorkshop, Receipt, SubjectInput, load_receipt, open_workshop,
    record_consent,
};
use crate::domain::consent::{CollectionMethod, PurposeState};
use crate::domain::notice::{Language, NoticeVersion};
use crate::domain::workshop::WorkshopKind;
use crate::store::consents::{self, Withdrawal};
use crate::store::workshops;
use crate::subject_rights::{self, ExportScope};

/// A submitted form as name/value pairs (checkbox names repeat); an unreadable body is
/// answered with a readable page, not axum's plain text.
pub struct FormFields(pub Vec<(String, String)>);

impl<S: Send + Sync> axum::extract::FromRequest<S> for FormFields {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Response> {
        let lang = super::extract::preferred_language(
            req.headers()
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok()),
            None,
        );
        match Form::<Vec<(String, String)>>::from_request(req, state).await {
            Ok(Form(fields)) => Ok(FormFields(fields)),
            Err(_) => Err(error_page(
                Error::Malformed {
                    message: "the form could not be read".into(),
                },
                lang,
            )),
        }
    }
}

/// An error rendered as a readable page in the reader's language.
pub fn error_page(error: Error, lang: Language) -> Response {
    error.log();
    let t = texts(lang);
    let status = error.status();
    let message = match (&error, lang) {
        (error, Language::De) => super::i18n::error_words_de(error),
        (Error::NotFound(_), _) => t.not_found.to_owned(),
        (
            Error::Conflict {
                code: "no_notice_in_force",
                ..
            },
            _,
        ) => t.no_notice.to_owned(),
        (other, _) => other.public_message(),
    };
    let body = html! {
        h1 { (super::i18n::error_title(status, lang)) " (" (status.as_u16()) ")" }
        p { (message) }
        p { a href="/" { "consentd" } }
    };
    (status, page(t, &message, body)).into_response()
}

pub async fn home(State(state): State<AppState>, client: ClientInfo) -> Response {
    let t = texts(client.language);
    let open = match workshops::open_on(&state.app.db, state.app.clock.today_berlin()).await {
        Ok(list) => list,
        Err(e) => return error_page(e.into(), client.language),
    };
    let body = html! {
        h1 { (t.open_workshops) }
        @if open.is_empty() {
            p { (t.no_open_workshops) }
        } @else {
            ul {
                @for w in &open {
                    li {
                        a href={ "/w/" (w.slug) } { (w.title) }
                        " " span.meta { (format_date(w.starts_on, client.language)) }
                    }
                }
            }
        }
    };
    page(t, t.open_workshops, body).into_response()
}

/// The language to show: the reader's, if this version has a text in it.
fn page_language(version: &NoticeVersion, wanted: Language) -> Language {
    if version.texts.contains_key(&wanted) {
        wanted
    } else {
        Language::De
    }
}

pub async fn workshop_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: ClientInfo,
) -> Response {
    match open_workshop(&state.app, &slug).await {
        Ok(open) => {
            let lang = page_language(open.version(), client.language);
            render_form(
                &state,
                &open,
                lang,
                &FormValues::default(),
                None,
                StatusCode::OK,
            )
        }
        Err(e) => error_page(e, client.language),
    }
}

/// What the participant typed, to show it again next to an error.
#[derive(Default)]
struct FormValues {
    name: String,
    email: String,
    organisation: String,
    purposes: BTreeMap<String, bool>,
    acknowledged: bool,
}

fn render_form(
    state: &AppState,
    open: &OpenWorkshop,
    lang: Language,
    values: &FormValues,
    problem: Option<String>,
    status: StatusCode,
) -> Response {
    let t = texts(lang);
    let version = open.version();
    let text = version.text_for(lang);
    let controller = state.app.policies.controller(&open.notice().controller);
    let w = &open.workshop;
    let kind = WorkshopKind::parse(&w.kind).unwrap_or(WorkshopKind::Other);
    let (other_code, other_name) = t.other_language;
    let has_other = Language::parse(other_code).is_some_and(|l| version.texts.contains_key(&l));
    let body = html! {
        @if has_other {
            a.lang-switch href={ "?lang=" (other_code) } hreflang=(other_code) lang=(other_code) { (other_name) }
        }
        p.meta { (if lang == Language::De { kind.label_de() } else { kind.label_en() }) }
        h1 { (w.title) }
        p.meta {
            (t.workshop_dates) ": " (format_date(w.starts_on, lang))
            @if w.ends_on != w.starts_on { " – " (format_date(w.ends_on, lang)) }
            @if let Some(location) = &w.location { " · " (t.location) ": " (location) }
        }
        @if let Some(c) = controller {
            div.card {
                strong { (t.controller) ": " } (c.name) br;
                (c.address) br;
                a href={ "mailto:" (c.email) } { (c.email) }
                @if let Some(phone) = &c.phone { " · " (phone) }
                br;
                strong { (t.dpo) ": " } (c.dpo.name) ", " a href={ "mailto:" (c.dpo.email) } { (c.dpo.email) }
            }
        }
        section.notice aria-labelledby="notice-title" {
            h2 #notice-title { (text.title) }
            p.meta {
                (t.notice_version) " " (version.version) ", " (t.effective_since) " " (format_date(version.effective, lang))
            }
            (markdown(&text.markdown))
            p.meta { "SHA-256: " span.hash { (text.sha256) } }
        }
        h2 #form { (t.form_heading) }
        @if let Some(problem) = &problem {
            div.errors role="alert" {
                strong { (t.errors_heading) } p { (problem) }
            }
        }
        form method="post" action={ "/w/" (w.slug) } {
            input type="hidden" name="notice_id" value=(open.notice().id);
            input type="hidden" name="notice_version" value=(version.version);
            input type="hidden" name="notice_language" value=(text.language.code());
            input type="hidden" name="notice_sha256" value=(text.sha256);
            label for="name" { (t.name) }
            input #name type="text" name="name" autocomplete="name" required maxlength="200" value=(values.name);
            label for="email" { (t.email) }
            input #email type="email" name="email" autocomplete="email" required maxlength="254" value=(values.email);
            label for="organisation" { (t.organisation) " " span.hint { "(" (t.optional) ")" } }
            input #organisation type="text" name="organisation" autocomplete="organization" maxlength="200" value=(values.organisation);
            (purpose_fieldsets(t, version, lang, values))
            button type="submit" { (t.submit) }
        }
    };
    (status, page(t, &w.title, body)).into_response()
}

fn purpose_fieldsets(
    t: &Texts,
    version: &NoticeVersion,
    lang: Language,
    values: &FormValues,
) -> Markup {
    let optional: Vec<_> = version.purposes.iter().filter(|p| !p.required).collect();
    let required: Vec<_> = version.purposes.iter().filter(|p| p.required).collect();
    html! {
        @if !optional.is_empty() {
            fieldset {
                legend { (t.optional_purposes) }
                p.hint { (t.optional_hint) }
                @for p in &optional {
                    // Never pre-ticked (CJEU Planet49): checked only if the participant ticked it
                    // and the form comes back with an error.
                    label.choice {
                        input type="checkbox" name={ "purpose." (p.id) } value="yes"
                            checked[values.purposes.get(&p.id) == Some(&true)];
                        span {
                            (p.title.get(lang))
                            @if let Some(d) = &p.description { small { (d.get(lang)) } }
                        }
                    }
                }
            }
        }
        fieldset {
            legend { (t.required_purposes) }
            ul {
                @for p in &required {
                    li { strong { (p.title.get(lang)) } " – " span.hint { (p.legal_basis.citation(lang)) } }
                }
            }
            label.choice {
                input type="checkbox" name="acknowledged" value="yes" required checked[values.acknowledged];
                span { (t.acknowledge) }
            }
        }
    }
}

pub async fn submit_form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: ClientInfo,
    FormFields(fields): FormFields,
) -> Response {
    let lang = client.language;
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let ticked = |v: Option<String>| v.is_some_and(|v| v == "yes" || v == "on" || v == "true");
    let values = FormValues {
        name: get("name").unwrap_or_default(),
        email: get("email").unwrap_or_default(),
        organisation: get("organisation").unwrap_or_default(),
        purposes: fields
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    k.strip_prefix("purpose.")?.to_owned(),
                    ticked(Some(v.clone())),
                ))
            })
            .collect(),
        acknowledged: ticked(get("acknowledged")),
    };
    let input = ConsentInput {
        workshop: slug.clone(),
        notice: NoticeRef {
            id: get("notice_id").unwrap_or_default(),
            version: get("notice_version")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            language: get("notice_language").unwrap_or_default(),
            sha256: get("notice_sha256").unwrap_or_default(),
        },
        subject: SubjectInput {
            name: values.name.clone(),
            email: values.email.clone(),
            organisation: Some(values.organisation.clone()),
        },
        // The form sends only ticked boxes; the rest are refusals, recorded as such.
        purposes: values.purposes.clone(),
        acknowledged: values.acknowledged,
        client: None,
    };
    let form_lang = Language::parse(&input.notice.language).unwrap_or(lang);
    match record_consent(&state.app, input, CollectionMethod::WebForm, client, None).await {
        Ok(recorded) => {
            Redirect::to(&format!("/r/{}?saved=1", recorded.token.as_str())).into_response()
        }
        Err(error @ (Error::Invalid(_) | Error::Conflict { .. })) => {
            let Ok(open) = open_workshop(&state.app, &slug).await else {
                return error_page(error, form_lang);
            };
            let lang = page_language(open.version(), form_lang);
            let t = texts(lang);
            let (message, values) = match &error {
                Error::Invalid(e) => (field_message(t, &e.field, &e.message), values),
                // The text changed under the participant: choices made for the old text are
                // not carried over to the new one (no pre-ticked boxes, Planet49).
                _ => (
                    t.stale_notice.to_owned(),
                    FormValues {
                        purposes: BTreeMap::new(),
                        acknowledged: false,
                        ..values
                    },
                ),
            };
            render_form(&state, &open, lang, &values, Some(message), error.status())
        }
        Err(other) => error_page(other, form_lang),
    }
}

/// A form error in the participant's words.
fn field_message(t: &Texts, field: &str, message: &str) -> String {
    let label = match field {
        "subject.name" => t.name,
        "subject.email" => t.email,
        "subject.organisation" => t.organisation,
        "acknowledged" => return format!("{} {}", t.must_acknowledge, t.acknowledge),
        // The hidden fields or a purpose the form does not offer: an old or altered form.
        _ => return t.form_outdated.to_owned(),
    };
    let lang = Language::parse(t.lang).unwrap_or(Language::De);
    let problem = super::i18n::field_problem(message, lang)
        .unwrap_or_else(|| "ist so nicht gültig; bitte prüfen Sie die Eingabe".into());
    format!("{label}: {problem}")
}

#[derive(Deserialize)]
pub struct ReceiptQuery {
    saved: Option<String>,
    withdrawn: Option<String>,
}

/// The participant's own consent-record PDF. (`Cache-Control: no-store` comes from the
/// security headers, as on every `/r/` page.)
pub async fn own_pdf(
    State(state): State<AppState>,
    Path(token): Path<String>,
    client: ClientInfo,
) -> Response {
    let pdf = async {
        let receipt = load_receipt(&state.app, &token).await?;
        let proof = crate::proof::RecordProof::of(&state.app, receipt).await?;
        Ok::<_, Error>(super::api::records::pdf_response(&state, &proof).await?)
    };
    pdf.await.unwrap_or_else(|e| error_page(e, client.language))
}

#[derive(Debug, Deserialize)]
pub struct OwnExportQuery {
    pub format: Option<String>,
}

/// The participant's own data (Art. 15/20) from the personal link, as JSON or PDF: this
/// sign-up only (see [`ExportScope::OwnRecord`]).
pub async fn own_export(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<OwnExportQuery>,
    client: ClientInfo,
) -> Response {
    let pdf = query.format.as_deref() == Some("pdf");
    let export = async {
        let receipt = load_receipt(&state.app, &token).await?;
        let subject = &receipt.record.subject_id;
        let export =
            subject_rights::export(&state.app, subject, ExportScope::OwnRecord, None).await?;
        Ok::<_, Error>(super::api::subjects::export_response(
            &export,
            pdf,
            &receipt.record.receipt_id,
        ))
    };
    export
        .await
        .unwrap_or_else(|e| error_page(e, client.language))
}

pub async fn receipt_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<ReceiptQuery>,
    client: ClientInfo,
) -> Response {
    let receipt = match load_receipt(&state.app, &token).await {
        Ok(r) => r,
        Err(e) => return error_page(e, client.language),
    };
    let recorded_lang = Language::parse(&receipt.record.notice_language).unwrap_or(Language::De);
    let lang = if receipt
        .version
        .as_ref()
        .is_some_and(|v| v.texts.contains_key(&client.language))
    {
        client.language
    } else {
        recorded_lang
    };
    let t = texts(lang);
    let body = receipt_body(&state, &receipt, &token, t, lang, &query);
    // The page is the participant's capability: never cached by anyone.
    (
        [(CACHE_CONTROL, "no-store")],
        page(t, t.receipt_heading, body),
    )
        .into_response()
}

fn receipt_body(
    state: &AppState,
    r: &Receipt,
    token: &str,
    t: &Texts,
    lang: Language,
    query: &ReceiptQuery,
) -> Markup {
    let current = r.current();
    let any_given = current.iter().any(|(_, s)| *s == PurposeState::Given);
    let link = format!("{}/r/{token}", state.base_url);
    // The title of the text actually agreed to, in its language, not the reader's.
    let notice_title = r
        .notice_text
        .as_ref()
        .map(|n| n.title.clone())
        .unwrap_or_else(|| r.record.notice_id.clone());
    html! {
        h1 { (t.receipt_heading) }
        @if query.saved.is_some() {
            div.success role="status" {
                p { strong { (t.receipt_saved) } }
                p { (t.receipt_keep_link) }
                p.hash { a href=(link) { (link) } }
            }
        }
        @match query.withdrawn.as_deref() {
            Some("0") => div.success role="status" { p { (t.nothing_to_withdraw) } },
            Some(_) => div.success role="status" { p { (t.withdrawn_notice) } },
            None => {},
        }
        div.card {
            p { strong { (r.workshop.title) } " · " (format_date(r.workshop.starts_on, lang)) }
            @if let Some(s) = &r.subject {
                @if let (Some(name), Some(email)) = (&s.name, &s.email) {
                    p { (name) " · " (email) @if let Some(org) = &s.organisation { " · " (org) } }
                }
            }
            table {
                tr { th scope="row" { (t.receipt_id) } td.hash { (r.record.receipt_id) } }
                tr { th scope="row" { (t.recorded_at) } td { (format_time(r.record.recorded_at, lang)) } }
                tr { th scope="row" { (t.notice_version) } td { (notice_title) ", " (t.notice_version) " " (r.record.notice_version) " (" (r.record.notice_language) ")" } }
                tr { th scope="row" { "SHA-256" } td.hash { (r.record.notice_sha256) } }
            }
            @if r.notice_text.is_some() {
                p { a href={ "/r/" (token) "/notice" } { (t.read_agreed_text) } }
            }
        }
        @if let Some(renewal) = &r.renewed_by {
            div.success role="status" {
                p { (t.renewed) " " (format_time(renewal.recorded_at, lang)) " – " (t.receipt_id) " " span.hash { (renewal.receipt_id) } }
                p { (t.renewed_withdrawal) }
            }
        }
        @if r.asks_for_reconsent() {
            @if let Some(newer) = &r.newer_version {
                (reconsent_form(r, newer, token, t, lang))
            }
        }
        h2 { (t.your_choices) }
        table {
            @for (event, s) in &current {
                tr {
                    td { (r.purpose_title(&event.purpose_id, lang)) }
                    td class={ "state-" (s.as_str()) } { (state_label(*s, lang)) }
                    td {
                        @if *s == PurposeState::Given {
                            form.inline method="post" action={ "/r/" (token) "/withdraw" } {
                                input type="hidden" name="purpose" value=(event.purpose_id);
                                button.secondary type="submit" { (t.withdraw) }
                            }
                        }
                    }
                }
            }
        }
        @if any_given {
            form method="post" action={ "/r/" (token) "/withdraw" } {
                input type="hidden" name="all" value="yes";
                p { button type="submit" { (t.withdraw_all) } }
            }
        }
        h2 { (t.history) }
        ul {
            @for e in &r.events {
                li {
                    (format_time(e.occurred_at, lang)) ": " (r.purpose_title(&e.purpose_id, lang)) " – "
                    (e.state().map(|s| state_label(s, lang)).unwrap_or(&e.state))
                }
            }
        }
        h2 { (t.your_documents) }
        ul {
            li { a href={ "/r/" (token) "/pdf" } { (t.download_record_pdf) } }
            li {
                (t.download_own_data) ": "
                a href={ "/r/" (token) "/export?format=pdf" } { "PDF" } ", "
                a href={ "/r/" (token) "/export?format=json" } { "JSON" }
            }
        }
        p.meta { (t.personal_link) ": " span.hash { (link) } }
    }
}

/// The exact notice text the participant agreed to, from the stored copy.
pub async fn agreed_notice_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    client: ClientInfo,
) -> Response {
    let receipt = match load_receipt(&state.app, &token).await {
        Ok(r) => r,
        Err(e) => return error_page(e, client.language),
    };
    let Some(text) = &receipt.notice_text else {
        return error_page(Error::NotFound("notice text"), client.language);
    };
    let lang = Language::parse(&text.language).unwrap_or(Language::De);
    let t = texts(lang);
    let body = html! {
        p { a href={ "/r/" (token) } { "← " (t.receipt_heading) } }
        h1 { (text.title) }
        p.meta { (t.notice_version) " " (text.version) ", " (t.effective_since) " " (format_date(text.effective_on, lang)) }
        div.notice { (markdown(&text.markdown)) }
        p.meta { "SHA-256: " span.hash { (text.sha256) } }
    };
    ([(CACHE_CONTROL, "no-store")], page(t, &text.title, body)).into_response()
}

/// The changed notice, and the optional purposes asked again (never pre-ticked).
fn reconsent_form(
    r: &Receipt,
    newer: &NoticeVersion,
    token: &str,
    t: &Texts,
    lang: Language,
) -> Markup {
    let asked: Vec<&str> = r
        .current()
        .iter()
        .filter(|(_, s)| *s == PurposeState::ReconsentRequested)
        .map(|(e, _)| e.purpose_id.as_str())
        .collect();
    let text = newer.text_for(lang);
    html! {
        section.card #reconsent aria-labelledby="reconsent-title" {
            h2 #reconsent-title { (t.reconsent_heading) }
            p { (t.reconsent_intro) " " strong { (t.notice_version) " " (newer.version) } ", " (t.effective_since) " " (format_date(newer.effective, lang)) "." }
            details {
                summary { (text.title) }
                div.notice { (markdown(&text.markdown)) }
                p.meta { "SHA-256: " span.hash { (text.sha256) } }
            }
            form method="post" action={ "/r/" (token) "/reconsent" } {
                fieldset {
                    legend { (t.optional_purposes) }
                    @for p in newer.purposes.iter().filter(|p| !p.required) {
                        label.choice {
                            input type="checkbox" name={ "purpose." (p.id) } value="yes";
                            span {
                                (p.title.get(lang))
                                @if asked.contains(&p.id.as_str()) { " " strong { "(" (t.changed) ")" } }
                                @if let Some(d) = &p.description { small { (d.get(lang)) } }
                            }
                        }
                    }
                }
                label.choice {
                    input type="checkbox" name="acknowledged" value="yes" required;
                    span { (t.acknowledge) }
                }
                p { button type="submit" { (t.submit) } }
            }
        }
    }
}

pub async fn reconsent_form_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    client: ClientInfo,
    FormFields(fields): FormFields,
) -> Response {
    let lang = client.language;
    let purposes = fields
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix("purpose.")?.to_owned(),
                v == "yes" || v == "on",
            ))
        })
        .collect();
    let acknowledged = fields
        .iter()
        .any(|(k, v)| k == "acknowledged" && (v == "yes" || v == "on"));
    match super::submission::reconsent(&state.app, &token, purposes, acknowledged, client).await {
        Ok(Some(recorded)) => {
            Redirect::to(&format!("/r/{}?saved=1", recorded.token.as_str())).into_response()
        }
        // Sent twice: this receipt says that and when it was renewed.
        Ok(None) => Redirect::to(&format!("/r/{token}")).into_response(),
        Err(e) => error_page(e, lang),
    }
}

pub async fn withdraw_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
    client: ClientInfo,
    FormFields(fields): FormFields,
) -> Response {
    let lang = client.language;
    let receipt = match load_receipt(&state.app, &token).await {
        Ok(r) => r,
        Err(e) => return error_page(e, lang),
    };
    let purposes: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "purpose")
        .map(|(_, v)| v.clone())
        .collect();
    let which = if fields.iter().any(|(k, _)| k == "all") {
        Withdrawal::All
    } else {
        Withdrawal::Purposes(&purposes)
    };
    match consents::withdraw_with_renewals(
        &state.app.db,
        &state.app.clock,
        &receipt.record.id,
        which,
    )
    .await
    {
        Ok(events) => {
            if !events.is_empty() {
                tracing::info!(record = %receipt.record.id, purposes = events.len(), "consent withdrawn");
            }
            let flag = if events.is_empty() { "0" } else { "1" };
            Redirect::to(&format!("/r/{token}?withdrawn={flag}")).into_response()
        }
        Err(e) => error_page(e.into(), lang),
    }
}
