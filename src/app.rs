//! Opening the application: policies, database, migrations, and the notice texts recorded.

use std::sync::Arc;

use anyhow::Context;

use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::notice::PolicySet;
use crate::store::{self, Db};

/// What every command and request works with.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub policies: Arc<PolicySet>,
    pub clock: Clock,
}

impl App {
    /// Loads and checks the policies first (a bad file must stop startup before anything
    /// else happens), then connects, migrates and records the notice texts.
    pub async fn open(settings: &Settings) -> anyhow::Result<App> {
        let clock = Clock::from_env()?;
        let policies = crate::policies::load(&settings.policies)
            .map_err(|e| anyhow::anyhow!("invalid policy: {e}"))?;
        let db = Db::connect(&settings.database_url).await?;
        db.migrate().await?;
        store::notice_texts::sync(&db, &policies, clock.now())
            .await
            .context("cannot record the notice texts")?;
        Ok(App { db, policies: Arc::new(policies), clock })
    }
}
