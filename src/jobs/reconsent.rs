//! When a notice version comes into force that a reviewer marked as material, consents given
//! under older versions for purposes it adds or changes are marked `reconsent_requested` (an
//! event in the ledger, never an overwrite); the participant's page then asks again.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::Stop;
use crate::app::App;
use crate::domain::consent::PurposeState;
use crate::domain::diff;
use crate::store::{consents, notice_versions};

/// One pass over all notices; returns how many records were marked. Idempotent: a purpose
/// already marked (or refused, withdrawn, erased) is left alone, so several instances or a
/// repeated run change nothing.
pub async fn run_once(app: &App) -> anyhow::Result<usize> {
    let catalog = app.catalog().await?;
    let today = app.clock.today_berlin();
    let mut total = 0;
    for notice in catalog.notices.values() {
        let mut marked = 0;
        let Some(current) = notice.in_force(today) else {
            continue;
        };
        let number = i64::from(current.content.version);
        if notice_versions::in_force_marked(&app.db, &notice.id, number).await? {
            continue;
        }
        if current.row.material == Some(true) {
            for record in consents::records_before_version(&app.db, &notice.id, number).await? {
                let Some(old) = notice.version(record.notice_version as u32) else {
                    continue;
                };
                let affected =
                    diff::versions(&old.content, &current.content).purposes_needing_reconsent();
                let asks: Vec<(String, String)> = affected
                    .iter()
                    .filter_map(|id| current.content.purpose(id))
                    .filter(|p| !p.required)
                    .map(|p| (p.id.clone(), p.legal_basis.code().to_owned()))
                    .collect();
                if asks.is_empty() || consents::renewal_of(&app.db, &record.id).await?.is_some() {
                    continue;
                }
                let events =
                    consents::append_events(&app.db, &app.clock, &record.id, "system", |states| {
                        asks.iter()
                            .filter(|(id, _)| {
                                let state = states
                                    .iter()
                                    .find(|e| &e.purpose_id == id)
                                    .and_then(|e| e.state());
                                // Changed purposes that were consented to, and purposes that are new.
                                matches!(state, Some(PurposeState::Given) | None)
                            })
                            .map(|(id, basis)| {
                                (id.clone(), basis.clone(), PurposeState::ReconsentRequested)
                            })
                            .collect()
                    })
                    .await?;
                if !events.is_empty() {
                    marked += 1;
                }
            }
        }
        notice_versions::mark_in_force(&app.db, &notice.id, number, app.clock.now()).await?;
        if marked > 0 {
            tracing::info!(notice = %notice.id, version = number, records = marked, "re-consent requested");
        }
        total += marked;
    }
    Ok(total)
}

/// At start and every minute: versions come into force at midnight (Europe/Berlin).
pub fn spawn(app: App, mut stop: Stop) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        while stop.tick(&mut tick).await {
            if let Err(e) = run_once(&app).await {
                tracing::warn!(error = %format!("{e:#}"), "re-consent check failed");
            }
        }
    })
}
