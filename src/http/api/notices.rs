//! `GET /api/v1/notices`: the versions in force, one per notice and language.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::http::AppState;
use crate::http::error::Error;

/// The notice versions in force, one per notice and language.
#[utoipa::path(get, path = "/api/v1/notices", tag = "participants", responses((status = 200, body = [Object])))]
pub async fn list_in_force(State(state): State<AppState>) -> Result<Json<Vec<Value>>, Error> {
    let today = state.app.clock.today_berlin();
    let catalog = state.app.catalog().await?;
    let mut out = Vec::new();
    for notice in catalog.notices.values() {
        let Some(version) = notice.in_force(today).map(|v| &v.content) else {
            continue;
        };
        for (lang, text) in &version.texts {
            let lang = *lang;
            out.push(json!({
                "id": notice.id,
                "controller": notice.controller,
                "version": version.version,
                "language": lang.code(),
                "sha256": text.sha256,
                "title": text.title,
                "text": text.markdown,
                "effective": version.effective,
                "purposes": version.purposes.iter().map(|p| json!({
                    "id": p.id,
                    "title": p.title.get(lang),
                    "description": p.description.as_ref().map(|d| d.get(lang)),
                    "legal_basis": p.legal_basis.code(),
                    "required": p.required,
                    "categories": p.categories,
                })).collect::<Vec<_>>(),
                "categories": version.categories.iter().map(|c| json!({
                    "id": c.id,
                    "title": c.title.get(lang),
                    "storage": c.storage.as_ref().map(|s| s.get(lang)),
                })).collect::<Vec<_>>(),
                "recipients": version.recipients.iter().map(|r| r.get(lang)).collect::<Vec<_>>(),
            }));
        }
    }
    Ok(Json(out))
}
