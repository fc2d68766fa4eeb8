//! The PDF of a notice version for legal filing (placeholder until the renderer lands).

use crate::app::App;
use crate::catalog::{CatalogNotice, CatalogVersion};
use crate::domain::notice::Language;

pub async fn render(_app: &App, _notice: &CatalogNotice, _v: &CatalogVersion, _lang: Language) -> anyhow::Result<Vec<u8>> {
    anyhow::bail!("PDF rendering is not available yet")
}
