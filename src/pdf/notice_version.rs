//! The PDF of a notice version for legal filing: its facts gathered from the catalogue and
//! the review trail, laid out by [`super::notice_pdf`]. Same version and trail, same bytes.

use super::notice_pdf::{NoticePdf, PdfCategory, PdfPurpose, PdfReviewEntry, render as layout};
use crate::app::App;
use crate::catalog::{CatalogNotice, CatalogVersion};
use crate::domain::notice::Language;
use crate::store::notice_versions;

fn action_de(action: &str) -> &str {
    match action {
        "submitted" => "zur Prüfung eingereicht",
        "approved" => "freigegeben",
        "changes_requested" => "Änderungen erbeten",
        "withdrawn" => "zurückgezogen",
        "comment" => "Kommentar",
        "imported" => "Freigabe importiert",
        other => other,
    }
}

pub async fn render(
    app: &App,
    notice: &CatalogNotice,
    v: &CatalogVersion,
    lang: Language,
) -> anyhow::Result<Vec<u8>> {
    let today = app.clock.today_berlin();
    let text = v.content.text_for(lang);
    let lang = text.language;
    let controller = app.policies.controller(&notice.controller);
    let names = crate::accounts::ActorNames::load(&app.db).await?;
    let who = |actor: &str| names.name(actor);
    let reviews =
        notice_versions::reviews_of(&app.db, &notice.id, i64::from(v.content.version)).await?;
    let category_title = |id: &str| {
        v.content
            .category(id)
            .map(|c| c.title.get(lang).to_owned())
            .unwrap_or_else(|| id.to_owned())
    };
    let doc = NoticePdf {
        notice_title: text.title.clone(),
        controller: controller.map(|c| c.name.clone()).unwrap_or_default(),
        controller_address: controller.map(|c| c.address.clone()).unwrap_or_default(),
        notice_id: notice.id.clone(),
        version: v.content.version,
        language: lang.code().to_owned(),
        effective: v.content.effective.format("%d.%m.%Y").to_string(),
        state: notice.display_state(v, today).label_de().to_owned(),
        content_sha256: v.row.content_sha256.clone(),
        text_sha256: text.sha256.clone(),
        markdown: text.markdown.clone(),
        purposes: v
            .content
            .purposes
            .iter()
            .map(|p| PdfPurpose {
                title: p.title.get(lang).to_owned(),
                legal_basis: p.legal_basis.citation(Language::De).to_owned(),
                required: p.required,
                categories: p
                    .categories
                    .iter()
                    .map(|c| category_title(c))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        categories: v
            .content
            .categories
            .iter()
            .map(|c| PdfCategory {
                title: c.title.get(lang).to_owned(),
                storage: c
                    .storage
                    .as_ref()
                    .map(|s| s.get(lang).to_owned())
                    .unwrap_or_else(|| "nicht angegeben".into()),
            })
            .collect(),
        recipients: v
            .content
            .recipients
            .iter()
            .map(|r| r.get(lang).to_owned())
            .collect(),
        // The upload (its author) first, then the trail; an approval says whether the
        // change was material, since that decides re-consent.
        review_trail: v
            .row
            .uploaded_by
            .iter()
            .map(|by| PdfReviewEntry {
                at: v.row.created_at.to_rfc3339(),
                who: who(by),
                action: "hochgeladen (verfasst)".to_owned(),
                comment: String::new(),
            })
            .chain(reviews.iter().map(|r| {
                PdfReviewEntry {
                    at: r.at.to_rfc3339(),
                    who: who(&r.actor),
                    action: match (r.action.as_str(), v.row.material) {
                        ("approved", Some(true)) => {
                            "freigegeben: wesentliche Änderung (erneute Einwilligung)"
                        }
                        ("approved", Some(false)) => "freigegeben: redaktionelle Änderung",
                        (action, _) => action_de(action),
                    }
                    .to_owned(),
                    comment: r.comment.clone().unwrap_or_default(),
                }
            }))
            .collect(),
    };
    // Layout is CPU work; keep it off the async workers.
    Ok(tokio::task::spawn_blocking(move || layout(&doc)).await?)
}
