//! Opening the application: policies, database, migrations, and the notice texts recorded.

use crate::signing::ReceiptSigner;
use std::sync::Arc;

use anyhow::Context;

use crate::catalog::{Catalog, CatalogCache};
use crate::clock::Clock;
use crate::config::Settings;
use crate::deletion_journal::DeletionJournal;
use crate::domain::notice::PolicySet;
use crate::store::group_commit::ConsentWriter;
use crate::store::{self, Db};
use crate::workshop_views::WorkshopViews;

/// What every command and request works with.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    /// What `policies/` held at start: controllers, notices, and the file versions.
    pub policies: Arc<PolicySet>,
    pub clock: Clock,
    pub journal: DeletionJournal,
    pub signer: Arc<ReceiptSigner>,
    /// Every new consent goes through it: concurrent ones share a commit.
    pub consents: ConsentWriter,
    /// Unix seconds when this process last finished a real retention run (0: not yet).
    pub last_retention_run: Arc<std::sync::atomic::AtomicI64>,
    /// Items per transaction of a retention run (`--retention-page`).
    pub retention_page: usize,
    /// The workshops consents are being recorded for, as last read.
    pub workshop_views: Arc<WorkshopViews>,
    catalog: Arc<CatalogCache>,
}

impl App {
    /// Loads and checks the policies first (a bad file must stop startup before anything
    /// else happens), then connects, migrates and records the notice texts.
    pub async fn open(settings: &Settings) -> anyhow::Result<App> {
        Ok(Self::open_with_report(settings).await?.0)
    }

    /// [`App::open`], also returning what the sync of `policies/` changed.
    pub async fn open_with_report(settings: &Settings) -> anyhow::Result<(App, Vec<String>)> {
        let clock = Clock::from_env()?;
        let policies = crate::policies::load(&settings.policies)
            .map_err(|e| anyhow::anyhow!("invalid policy: {e}"))?;
        let db = Db::connect(&settings.database_url).await?;
        db.migrate().await?;
        store::notice_texts::sync(&db, &policies, clock.now())
            .await
            .context("cannot record the notice texts")?;
        let mut report =
            crate::catalog::sync_files(&db, &policies, &settings.policies, &clock).await?;
        for workshop in &policies.workshops {
            if store::workshops::by_slug(&db, workshop.slug.as_str())
                .await?
                .is_none()
            {
                match store::workshops::insert(&db, workshop, clock.now()).await {
                    Ok(w) => {
                        store::audit::record(
                            &db,
                            &clock,
                            "policies",
                            "workshop.created",
                            Some(&format!("workshop:{}", w.slug)),
                            None,
                        )
                        .await?;
                        report.push(format!("workshop {}: created from workshops.toml", w.slug));
                    }
                    // Another instance created it at the same moment.
                    Err(e) if store::is_unique_violation(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let signer = ReceiptSigner::open(&settings.signing_key, &db, &clock).await?;
        for line in &report {
            tracing::info!("policies: {line}");
        }
        let consents = ConsentWriter::spawn(db.clone(), clock.clone());
        Ok((
            App {
                consents,
                db,
                policies: Arc::new(policies),
                clock,
                journal: DeletionJournal::new(settings.deletion_journal.clone()),
                signer: Arc::new(signer),
                last_retention_run: Arc::default(),
                retention_page: settings.retention_page as usize,
                workshop_views: Arc::default(),
                catalog: Arc::default(),
            },
            report,
        ))
    }

    /// The notice versions with their review states, as of now.
    pub async fn catalog(&self) -> anyhow::Result<Arc<Catalog>> {
        self.catalog.get(&self.db, &self.policies).await
    }

    /// The catalogue as of a generation the caller has just read.
    pub async fn catalog_at(&self, generation: i64) -> anyhow::Result<Arc<Catalog>> {
        self.catalog
            .at_generation(generation, &self.db, &self.policies)
            .await
    }
}
