//! The lawyer's review pages: notices with their versions and states; a version with its
//! text, metadata, the difference to the previous version, the review trail, and the forms
//! to comment, submit, approve, request changes or withdraw.

use std::collections::BTreeMap;

use crate::http::extract::PagePath;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::{csrf_field, shell, tr};
use crate::catalog::{CatalogNotice, CatalogVersion};
use crate::domain::diff::{self, FieldChange, ListDiff, Op, Span};
use crate::domain::notice::Language;
use crate::domain::review::{Decision, DisplayState};
use crate::http::AppState;
use crate::http::auth::StaffIdentity;
use crate::http::error::Error;
use crate::http::extract::ClientInfo;
use crate::http::i18n::{format_date, format_time};
use crate::http::layout::markdown;
use crate::http::participant::error_page;
use crate::review::{self, Actor};
use crate::store::notice_versions;

fn state_badge(state: DisplayState, lang: Language) -> Markup {
    let label = if lang == Language::De {
        state.label_de()
    } else {
        state.label_en()
    };
    html! { span class={ "badge badge-" (state.as_str()) } { (label) } }
}

pub async fn list(
    State(state): State<AppState>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    let lang = client.language;
    let catalog = match state.app.catalog().await {
        Ok(c) => c,
        Err(e) => return error_page(e.into(), lang),
    };
    let today = state.app.clock.today_berlin();
    let body = html! {
        @for notice in catalog.notices.values() {
            section {
                h2 { (notice.title.get(lang)) }
                p.meta { (notice.id) " · " (state.app.policies.controller(&notice.controller).map(|c| c.name.as_str()).unwrap_or("")) }
                table {
                    thead { tr { th { (tr(lang, "Fassung", "Version")) } th { (tr(lang, "Status", "State")) } th { (tr(lang, "gültig ab", "effective")) } th { (tr(lang, "Inhalts-Hash", "Content hash")) } } }
                    tbody {
                        @for v in notice.versions.iter().rev() {
                            tr {
                                td { a href={ "/staff/notices/" (notice.id) "/" (v.content.version) } { (tr(lang, "Fassung ", "Version ")) (v.content.version) } }
                                td { (state_badge(notice.display_state(v, today), lang)) }
                                td { (format_date(v.content.effective, lang)) }
                                td.hash { (&v.row.content_sha256[..16]) "…" }
                            }
                        }
                    }
                }
                @if state.permits(staff.role, Method::POST, "/staff/notices/{id}/upload") {
                    details {
                        summary { (tr(lang, "Neue Fassung hochladen", "Upload a new version")) }
                        form method="post" action={ "/staff/notices/" (notice.id) "/upload" } {
                            (csrf_field(&staff))
                            label { (tr(lang, "Versionsdatei (TOML, wie v<N>.toml)", "Version file (TOML, like v<N>.toml)")) textarea name="version_toml" rows="10" required {} }
                            label { (tr(lang, "Text Deutsch (Markdown)", "German text (Markdown)")) textarea name="text_de" rows="10" required {} }
                            label { (tr(lang, "Text Englisch (Markdown, optional)", "English text (Markdown, optional)")) textarea name="text_en" rows="6" {} }
                            p { button type="submit" { (tr(lang, "Als Entwurf hochladen", "Upload as draft")) } }
                        }
                    }
                }
            }
        }
    };
    shell(
        &state,
        lang,
        &staff,
        "/staff/notices",
        tr(lang, "Datenschutzhinweise", "Privacy notices"),
        body,
    )
    .into_response()
}

#[derive(Deserialize, Default)]
pub struct VersionQuery {
    against: Option<u32>,
    #[serde(default)]
    lang: Option<String>,
}

fn spans(spans: &[Span]) -> Markup {
    html! {
        @for s in spans {
            @match s.op {
                Op::Equal => { (s.text) }
                Op::Insert => { ins { (s.text) } }
                Op::Delete => { del { (s.text) } }
            }
        }
    }
}

fn field_changes(changes: &[FieldChange]) -> Markup {
    html! {
        ul {
            @for c in changes {
                li { strong { (c.field) ": " } (spans(&c.spans)) }
            }
        }
    }
}

fn list_section(title: &str, d: &ListDiff, lang: Language) -> Markup {
    html! {
        @if !d.is_empty() {
            h3 { (title) }
            ul {
                @for a in &d.added { li { ins { (tr(lang, "neu: ", "added: ")) (a) } } }
                @for r in &d.removed { li { del { (tr(lang, "entfernt: ", "removed: ")) (r) } } }
                @for c in &d.changed { li { (tr(lang, "geändert: ", "changed: ")) strong { (c.id) } (field_changes(&c.fields)) } }
            }
        }
    }
}

fn metadata(v: &CatalogVersion, lang: Language) -> Markup {
    let m = &v.content;
    html! {
        h3 { (tr(lang, "Zwecke", "Purposes")) }
        table {
            thead { tr { th { (tr(lang, "Zweck", "Purpose")) } th { (tr(lang, "Rechtsgrundlage", "Legal basis")) } th { "" } th { (tr(lang, "Datenkategorien", "Data categories")) } } }
            tbody {
                @for p in &m.purposes {
                    tr {
                        td { strong { (p.title.get(lang)) } " (" (p.id) ")" @if let Some(d) = &p.description { br; span.meta { (d.get(lang)) } } }
                        td { (p.legal_basis.citation(lang)) }
                        td { @if p.required { (tr(lang, "erforderlich", "required")) } @else { (tr(lang, "freiwillig", "optional")) } }
                        td { (p.categories.join(", ")) }
                    }
                }
            }
        }
        h3 { (tr(lang, "Datenkategorien und Speicherdauer", "Data categories and storage periods")) }
        table {
            thead { tr { th { (tr(lang, "Kategorie", "Category")) } th { (tr(lang, "Speicherdauer", "Storage period")) } } }
            tbody {
                @for c in &m.categories {
                    tr { td { (c.title.get(lang)) " (" (c.id) ")" } td { (c.storage.as_ref().map(|s| s.get(lang)).unwrap_or(tr(lang, "— nicht angegeben —", "— not stated —"))) } }
                }
            }
        }
        h3 { (tr(lang, "Empfänger", "Recipients")) }
        ul { @for r in &m.recipients { li { (r.get(lang)) } } }
    }
}

pub async fn show(
    State(state): State<AppState>,
    PagePath((id, version)): PagePath<(String, u32)>,
    Query(query): Query<VersionQuery>,
    staff: StaffIdentity,
    client: ClientInfo,
) -> Response {
    match render(&state, &id, version, query, &staff, &client, None).await {
        Ok(r) => r,
        Err(e) => error_page(e, client.language),
    }
}

async fn render(
    state: &AppState,
    id: &str,
    version: u32,
    query: VersionQuery,
    staff: &StaffIdentity,
    client: &ClientInfo,
    problem: Option<String>,
) -> Result<Response, Error> {
    let lang = client.language;
    let catalog = state.app.catalog().await?;
    let notice: &CatalogNotice = catalog.notice(id).ok_or(Error::NotFound("notice"))?;
    let me = staff.actor();
    let v = notice
        .version(version)
        .ok_or(Error::NotFound("notice version"))?;
    let today = state.app.clock.today_berlin();
    let display = notice.display_state(v, today);
    // Four eyes: the author or submitter is told so instead of being offered the decision.
    let own_version = [&v.row.uploaded_by, &v.row.submitted_by]
        .iter()
        .any(|by| by.as_deref() == Some(me.as_str()));
    let text_lang = query
        .lang
        .as_deref()
        .and_then(Language::parse)
        .filter(|l| v.content.texts.contains_key(l))
        .unwrap_or(Language::De);
    let text = v.content.text_for(text_lang);
    let against = match query.against {
        Some(n) => notice.version(n),
        None => notice.previous(version),
    };
    let diff = against.map(|old| diff::versions(&old.content, &v.content));
    let reviews = notice_versions::reviews_of(&state.app.db, id, i64::from(version)).await?;
    let names = crate::accounts::ActorNames::load(&state.app.db).await?;
    let who = |actor: &str| names.name(actor);
    let base = format!("/staff/notices/{id}/{version}");
    let may = |path: &str| state.permits(staff.role, Method::POST, path);
    let body = html! {
        p { a href="/staff/notices" { "← " (tr(lang, "alle Hinweise", "all notices")) } }
        p { (state_badge(display, lang)) " · " (tr(lang, "gültig ab ", "effective ")) (format_date(v.content.effective, lang))
            " · " a href={ "/api/v1/notices/" (id) "/versions/" (version) "/pdf" } { "PDF" } }
        @if let Some(problem) = &problem { div.errors role="alert" { p { (problem) } } }
        table {
            tr { th scope="row" { (tr(lang, "Inhalts-Hash (Text und Metadaten)", "Content hash (text and metadata)")) } td.hash { (v.row.content_sha256) } }
            @for t in v.content.texts.values() {
                tr { th scope="row" { "SHA-256 " (t.language.code()) } td.hash { (t.sha256) } }
            }
            @if let Some(by) = &v.row.uploaded_by { tr { th scope="row" { (tr(lang, "Hochgeladen von", "Uploaded by")) } td { (who(by)) ", " (format_time(v.row.created_at, lang)) } } }
            @if let Some(by) = &v.row.submitted_by { tr { th scope="row" { (tr(lang, "Eingereicht von", "Submitted by")) } td { (who(by)) @if let Some(at) = v.row.submitted_at { ", " (format_time(at, lang)) } } } }
            @if let Some(by) = &v.row.decided_by { tr { th scope="row" { (tr(lang, "Entschieden von", "Decided by")) } td { (who(by)) @if let Some(at) = v.row.decided_at { ", " (format_time(at, lang)) } @if v.row.imported { " (" (tr(lang, "importiert", "imported")) ")" } } } }
            @if let Some(m) = v.row.material { tr { th scope="row" { (tr(lang, "Wesentliche Änderung", "Material change")) } td { @if m { (tr(lang, "ja – erneute Einwilligung für geänderte Zwecke", "yes – re-consent for changed purposes")) } @else { (tr(lang, "nein – redaktionell", "no – editorial")) } } } }
        }

        @if let (Some(d), Some(old)) = (&diff, against) {
            section #diff {
                h2 { (tr(lang, "Änderungen gegenüber Fassung ", "Changes since version ")) (old.content.version) }
                p.meta.legend { ins { (tr(lang, "eingefügt", "inserted")) } " " del { (tr(lang, "gestrichen", "deleted")) } }
                @if let Some(e) = &d.effective { p { strong { (tr(lang, "Gültig ab: ", "Effective: ")) } (spans(&e.spans)) } }
                (list_section(tr(lang, "Zwecke", "Purposes"), &d.purposes, lang))
                (list_section(tr(lang, "Datenkategorien und Speicherdauer", "Data categories and storage periods"), &d.categories, lang))
                (list_section(tr(lang, "Empfänger", "Recipients"), &d.recipients, lang))
                @for t in &d.texts {
                    h3 { "Text (" (t.language) ")" }
                    @if t.dropped {
                        div.errors role="note" { p { (tr(lang, "Diese Sprachfassung entfällt: wer sie bisher las, bekommt eine andere.",
                            "This language is dropped: readers of it get another one.")) } }
                    } @else if t.changed { div.diff { (spans(&t.spans)) } } @else { p.meta { (tr(lang, "unverändert", "unchanged")) } }
                }
                @let others: Vec<&CatalogVersion> = notice.versions.iter().filter(|o| o.content.version != version && o.content.version != old.content.version).collect();
                @if !others.is_empty() {
                    p.meta { (tr(lang, "Vergleichen mit Fassung ", "Compare with version "))
                        @for (i, o) in others.iter().enumerate() {
                            @if i > 0 { " · " }
                            a href={ (base) "?against=" (o.content.version) } { (o.content.version) }
                        }
                    }
                }
            }
        }

        section {
            h2 { (tr(lang, "Metadaten", "Metadata")) }
            (metadata(v, lang))
        }
        section.notice {
            h2 { (text.title) " (" (text.language.code()) ")" }
            @for l in v.content.texts.keys().filter(|l| **l != text_lang) {
                p { a href={ (base) "?lang=" (l.code()) } { (tr(lang, "Text in ", "Text in ")) (l.code()) } }
            }
            (markdown(&text.markdown))
        }

        section {
            h2 { (tr(lang, "Prüfverlauf", "Review trail")) }
            @if reviews.is_empty() { p.meta { "–" } }
            ul {
                @for r in &reviews {
                    li { (format_time(r.at, lang)) " · " strong { (who(&r.actor)) } " · " (r.action)
                        @if let Some(c) = &r.comment { blockquote { (c) } } }
                }
            }
            @if may("/staff/notices/{id}/{version}/comment") {
                form method="post" action={ (base) "/comment" } {
                    (csrf_field(staff))
                    label { (tr(lang, "Kommentar", "Comment")) textarea name="comment" rows="3" required {} }
                    p { button.secondary type="submit" { (tr(lang, "Kommentieren", "Comment")) } }
                }
            }
        }

        section #actions {
            @if display == DisplayState::Draft && may("/staff/notices/{id}/{version}/submit") {
                form method="post" action={ (base) "/submit" } {
                    (csrf_field(staff))
                    p { (tr(lang, "Mit dem Einreichen wird die Fassung eingefroren; Änderungen sind danach nur als neue Fassung möglich.",
                             "Submitting freezes the version; afterwards a change needs a new version.")) }
                    button type="submit" { (tr(lang, "Zur Prüfung einreichen", "Submit for review")) }
                }
            }
            @if display == DisplayState::InReview && may("/staff/notices/{id}/{version}/review") && own_version {
                h2 { (tr(lang, "Entscheidung", "Decision")) }
                p.meta { (tr(lang, "Sie haben diese Fassung verfasst oder eingereicht; entscheiden muss eine andere Juristin oder ein anderer Jurist (Vier-Augen-Prinzip).",
                    "You wrote or submitted this version; another lawyer decides (four eyes).")) }
            }
            @if display == DisplayState::InReview && may("/staff/notices/{id}/{version}/review") && !own_version {
                h2 { (tr(lang, "Entscheidung", "Decision")) }
                form method="post" action={ (base) "/review" } {
                    (csrf_field(staff))
                    label { (tr(lang, "Kommentar (Pflicht)", "Comment (required)")) textarea name="comment" rows="3" required {} }
                    label.choice { input type="checkbox" name="material" value="yes" checked;
                        span { (tr(lang, "Wesentliche Änderung: bei neuen oder geänderten Zwecken erneut um Einwilligung bitten",
                                      "Material change: ask again for consent to added or changed purposes")) } }
                    p {
                        button type="submit" name="decision" value="approve" { (tr(lang, "Freigeben", "Approve")) }
                        " "
                        button.secondary type="submit" name="decision" value="request_changes" { (tr(lang, "Änderungen erbitten", "Request changes")) }
                    }
                }
            }
            @if display != DisplayState::Withdrawn && may("/staff/notices/{id}/{version}/withdraw") {
                details {
                    summary { (tr(lang, "Fassung zurückziehen", "Withdraw this version")) }
                    form method="post" action={ (base) "/withdraw" } {
                        (csrf_field(staff))
                        label { (tr(lang, "Grund", "Reason")) textarea name="reason" rows="2" required {} }
                        p { button.secondary type="submit" { (tr(lang, "Zurückziehen", "Withdraw")) } }
                    }
                }
            }
        }
    };
    let title = format!(
        "{} – {} {}",
        notice.title.get(lang),
        tr(lang, "Fassung", "Version"),
        version
    );
    let status = if problem.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        shell(state, lang, staff, "/staff/notices", &title, body),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct StepForm {
    comment: Option<String>,
    reason: Option<String>,
    decision: Option<String>,
    material: Option<String>,
}

/// One handler per step, so each route declares its own audience.
async fn step(
    state: AppState,
    id: String,
    version: u32,
    staff: StaffIdentity,
    client: ClientInfo,
    form: StepForm,
    which: &str,
) -> Response {
    let actor_id = staff.actor();
    let actor = Actor {
        id: &actor_id,
        role: staff.role,
        ip: client.ip_truncated.as_deref(),
    };
    let result = match which {
        "submit" => review::submit(&state.app, &id, version, &actor).await,
        "comment" => {
            review::comment(&state.app, &id, version, &actor, form.comment.as_deref()).await
        }
        "withdraw" => {
            review::withdraw(&state.app, &id, version, &actor, form.reason.as_deref()).await
        }
        _ => {
            let decision = match form.decision.as_deref() {
                Some("approve") => Decision::Approve,
                _ => Decision::RequestChanges,
            };
            review::decide(
                &state.app,
                &id,
                version,
                &actor,
                decision,
                form.comment.as_deref(),
                form.material.is_some(),
            )
            .await
        }
    };
    match result {
        Ok(()) => Redirect::to(&format!("/staff/notices/{id}/{version}")).into_response(),
        Err(e) => {
            let e: Error = e.into();
            match &e {
                Error::Internal(_) | Error::NotFound(_) => error_page(e, client.language),
                _ => {
                    let status = e.status();
                    match render(
                        &state,
                        &id,
                        version,
                        VersionQuery::default(),
                        &staff,
                        &client,
                        Some(crate::http::i18n::staff_problem(&e, client.language)),
                    )
                    .await
                    {
                        Ok(mut r) => {
                            *r.status_mut() = status;
                            r
                        }
                        Err(e) => error_page(e, client.language),
                    }
                }
            }
        }
    }
}

pub async fn submit(
    State(s): State<AppState>,
    PagePath((id, v)): PagePath<(String, u32)>,
    staff: StaffIdentity,
    client: ClientInfo,
    Form(f): Form<StepForm>,
) -> Response {
    step(s, id, v, staff, client, f, "submit").await
}

pub async fn decide(
    State(s): State<AppState>,
    PagePath((id, v)): PagePath<(String, u32)>,
    staff: StaffIdentity,
    client: ClientInfo,
    Form(f): Form<StepForm>,
) -> Response {
    step(s, id, v, staff, client, f, "review").await
}

pub async fn comment(
    State(s): State<AppState>,
    PagePath((id, v)): PagePath<(String, u32)>,
    staff: StaffIdentity,
    client: ClientInfo,
    Form(f): Form<StepForm>,
) -> Response {
    step(s, id, v, staff, client, f, "comment").await
}

pub async fn withdraw(
    State(s): State<AppState>,
    PagePath((id, v)): PagePath<(String, u32)>,
    staff: StaffIdentity,
    client: ClientInfo,
    Form(f): Form<StepForm>,
) -> Response {
    step(s, id, v, staff, client, f, "withdraw").await
}

#[derive(Deserialize)]
pub struct UploadForm {
    version_toml: String,
    text_de: String,
    text_en: Option<String>,
}

pub async fn upload(
    State(state): State<AppState>,
    PagePath(id): PagePath<String>,
    staff: StaffIdentity,
    client: ClientInfo,
    Form(form): Form<UploadForm>,
) -> Response {
    let mut texts = BTreeMap::new();
    texts.insert(Language::De, form.text_de);
    if let Some(en) = form.text_en.filter(|t| !t.trim().is_empty()) {
        texts.insert(Language::En, en);
    }
    let actor_id = staff.actor();
    let actor = Actor {
        id: &actor_id,
        role: staff.role,
        ip: client.ip_truncated.as_deref(),
    };
    match review::upload(&state.app, &id, &form.version_toml, &texts, &actor).await {
        Ok(version) => Redirect::to(&format!("/staff/notices/{id}/{version}")).into_response(),
        Err(e) => error_page(e.into(), client.language),
    }
}
