//! The notice versions as the service knows them: contents and review states from the
//! database (fed from `policies/` and uploads), cached per process and reloaded whenever
//! another writer bumps the catalogue generation.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{NaiveDate, Utc};
use tokio::sync::RwLock;

use crate::clock::Clock;
use crate::domain::notice::{
    Language, Localized, NoticeText, NoticeVersion, PolicySet, VersionMetadata,
};
use crate::domain::review::{self, DisplayState, ReviewState, VersionFacts};
use crate::store::notice_versions::{self, Transition, VersionRow};
use crate::store::{Db, audit, notice_texts};

#[derive(Debug, Clone)]
pub struct CatalogVersion {
    pub content: NoticeVersion,
    pub row: VersionRow,
    /// `content.content_sha256()`, worked out once: every consent records it.
    pub content_sha256: String,
}

impl CatalogVersion {
    pub fn state(&self) -> ReviewState {
        self.row.review_state()
    }
}

#[derive(Debug, Clone)]
pub struct CatalogNotice {
    pub id: String,
    pub controller: String,
    pub title: Localized,
    /// Ascending by version number.
    pub versions: Vec<CatalogVersion>,
}

impl CatalogNotice {
    fn facts(&self) -> Vec<VersionFacts> {
        self.versions
            .iter()
            .map(|v| VersionFacts {
                version: v.content.version,
                state: v.state(),
                effective: v.content.effective,
            })
            .collect()
    }

    /// The approved version in force on `today`, if any.
    pub fn in_force(&self, today: NaiveDate) -> Option<&CatalogVersion> {
        let number = review::in_force(&self.facts(), today)?;
        self.version(number)
    }

    pub fn version(&self, number: u32) -> Option<&CatalogVersion> {
        self.versions.iter().find(|v| v.content.version == number)
    }

    pub fn display_state(&self, v: &CatalogVersion, today: NaiveDate) -> DisplayState {
        let facts = self.facts();
        let own = VersionFacts {
            version: v.content.version,
            state: v.state(),
            effective: v.content.effective,
        };
        review::display_state(&own, &facts, today)
    }

    /// What a review compares `number` against: the latest approved version before it (the
    /// text participants see or saw), not a draft that was sent back or withdrawn; the
    /// version just before it when none was approved yet.
    pub fn previous(&self, number: u32) -> Option<&CatalogVersion> {
        let before = || self.versions.iter().filter(|v| v.content.version < number);
        before()
            .filter(|v| v.state() == ReviewState::Approved)
            .max_by_key(|v| v.content.version)
            .or_else(|| before().max_by_key(|v| v.content.version))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub generation: i64,
    pub notices: BTreeMap<String, CatalogNotice>,
}

impl Catalog {
    pub fn notice(&self, id: &str) -> Option<&CatalogNotice> {
        self.notices.get(id)
    }

    /// Builds the catalogue from the database; notices (controller, title) come from files.
    pub async fn load(db: &Db, policies: &PolicySet) -> anyhow::Result<Catalog> {
        let generation = notice_versions::generation(db).await?;
        let rows = notice_versions::all(db).await?;
        let texts: HashMap<String, notice_texts::StoredNoticeText> = notice_texts::all(db)
            .await?
            .into_iter()
            .map(|t| (t.sha256.clone(), t))
            .collect();
        let mut notices: BTreeMap<String, CatalogNotice> = policies
            .notices
            .values()
            .map(|n| {
                (
                    n.id.clone(),
                    CatalogNotice {
                        id: n.id.clone(),
                        controller: n.controller.clone(),
                        title: n.title.clone(),
                        versions: vec![],
                    },
                )
            })
            .collect();
        for row in rows {
            let Some(notice) = notices.get_mut(&row.notice_id) else {
                continue;
            };
            let metadata: VersionMetadata = serde_json::from_str(&row.metadata_json)?;
            let text_shas: BTreeMap<String, String> = serde_json::from_str(&row.texts_json)?;
            let mut version_texts = BTreeMap::new();
            for (code, sha) in text_shas {
                let (Some(lang), Some(stored)) = (Language::parse(&code), texts.get(&sha)) else {
                    anyhow::bail!(
                        "notice {} version {}: text {sha} is missing",
                        row.notice_id,
                        row.version
                    );
                };
                version_texts.insert(
                    lang,
                    NoticeText {
                        language: lang,
                        title: stored.title.clone(),
                        markdown: stored.markdown.clone(),
                        sha256: sha.clone(),
                    },
                );
            }
            let content = NoticeVersion::from_parts(
                &row.notice_id,
                row.version as u32,
                metadata,
                version_texts,
            );
            notice.versions.push(CatalogVersion {
                content_sha256: content.content_sha256(),
                content,
                row,
            });
        }
        Ok(Catalog {
            generation,
            notices,
        })
    }
}

/// The per-process cache.
#[derive(Default)]
pub struct CatalogCache {
    current: RwLock<Arc<Catalog>>,
}

impl CatalogCache {
    pub async fn get(&self, db: &Db, policies: &PolicySet) -> anyhow::Result<Arc<Catalog>> {
        let generation = notice_versions::generation(db).await?;
        self.at_generation(generation, db, policies).await
    }

    /// The catalogue as of `generation`, just read from the database.
    pub async fn at_generation(
        &self,
        generation: i64,
        db: &Db,
        policies: &PolicySet,
    ) -> anyhow::Result<Arc<Catalog>> {
        {
            let current = self.current.read().await;
            if current.generation == generation && !current.notices.is_empty() {
                return Ok(current.clone());
            }
        }
        let fresh = Arc::new(Catalog::load(db, policies).await?);
        *self.current.write().await = fresh.clone();
        Ok(fresh)
    }
}

/// Why the files cannot be taken as they are.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(
        "{file}: notice `{notice}` version {version} was {state} with content hash {recorded}, \
         but the files now hash to {current}; an approved or submitted text never changes \
         silently — restore the files or add the change as a new version"
    )]
    ChangedAfterSubmission {
        file: String,
        notice: String,
        version: u32,
        state: &'static str,
        recorded: String,
        current: String,
    },
    #[error(
        "{file}: approval record for notice `{notice}` version {version} is for content hash {recorded}, but the files hash to {current}"
    )]
    ApprovalMismatch {
        file: String,
        notice: String,
        version: u32,
        recorded: String,
        current: String,
    },
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

fn row_for(
    version: &NoticeVersion,
    state: ReviewState,
    source: &str,
    now: chrono::DateTime<Utc>,
) -> VersionRow {
    let texts: BTreeMap<&str, &str> = version
        .texts
        .values()
        .map(|t| (t.language.code(), t.sha256.as_str()))
        .collect();
    VersionRow {
        notice_id: version.notice_id.clone(),
        version: i64::from(version.version),
        content_sha256: version.content_sha256(),
        metadata_json: serde_json::to_string(&version.metadata()).expect("plain data"),
        texts_json: serde_json::to_string(&texts).expect("plain data"),
        effective_on: version.effective,
        state: state.as_str().to_owned(),
        source: source.to_owned(),
        created_at: now,
        submitted_by: None,
        submitted_at: None,
        decided_by: None,
        decided_at: None,
        material: None,
        imported: false,
        withdrawn_reason: None,
        uploaded_by: None,
    }
}

/// Stores a new version (a draft) with its texts: from a file in `policies/`, or uploaded
/// by `uploader` (its author, who may not review it). False when it exists already.
pub async fn add_version(
    db: &Db,
    version: &NoticeVersion,
    uploader: Option<&str>,
    clock: &Clock,
) -> sqlx::Result<bool> {
    let now = clock.now();
    notice_texts::insert_texts(db, version, now).await?;
    let source = if uploader.is_some() { "upload" } else { "file" };
    let row = VersionRow {
        uploaded_by: uploader.map(str::to_owned),
        ..row_for(version, ReviewState::Draft, source, now)
    };
    notice_versions::insert(db, &row).await
}

/// The approval record beside a version's files, if there is one; refused when it is for
/// other content than the files hold now.
fn approval_of<'p>(
    policies: &'p PolicySet,
    notice: &str,
    version: &NoticeVersion,
) -> Result<Option<&'p (std::path::PathBuf, crate::domain::notice::ApprovalRecord)>, SyncError> {
    let Some(approval) = policies
        .approvals
        .iter()
        .find(|(_, a)| a.notice == notice && a.version == version.version)
    else {
        return Ok(None);
    };
    let current = version.content_sha256();
    if approval.1.content_sha256 != current {
        return Err(SyncError::ApprovalMismatch {
            file: approval.0.display().to_string(),
            notice: notice.to_owned(),
            version: version.version,
            recorded: approval.1.content_sha256.clone(),
            current,
        });
    }
    Ok(Some(approval))
}

/// Every approval record beside the files matches them: `consentd policies check` finds what
/// would stop startup, without a database.
pub fn check_approvals(policies: &PolicySet) -> Result<(), SyncError> {
    for notice in policies.notices.values() {
        for version in &notice.versions {
            approval_of(policies, &notice.id, version)?;
        }
    }
    Ok(())
}

/// Takes `policies/` into the database: new versions become drafts (or approved, when an
/// approval record with the same hash lies beside them); edited drafts are updated; a
/// submitted or approved version whose files changed stops startup.
pub async fn sync_files(
    db: &Db,
    policies: &PolicySet,
    policies_dir: &std::path::Path,
    clock: &Clock,
) -> Result<Vec<String>, SyncError> {
    let mut report = Vec::new();
    for notice in policies.notices.values() {
        for version in &notice.versions {
            let file = policies_dir
                .join("notices")
                .join(&notice.id)
                .join(format!("v{}.toml", version.version))
                .display()
                .to_string();
            let current = version.content_sha256();
            let approval = approval_of(policies, &notice.id, version)?;
            let existing = notice_versions::get(db, &notice.id, i64::from(version.version)).await?;
            let row = match existing {
                None => {
                    add_version(db, version, None, clock).await?;
                    report.push(format!("{} v{}: new draft", notice.id, version.version));
                    notice_versions::get(db, &notice.id, i64::from(version.version))
                        .await?
                        .expect("just inserted")
                }
                Some(row) if row.content_sha256 == current => row,
                Some(row) if row.review_state() == ReviewState::Draft => {
                    notice_texts::insert_texts(db, version, clock.now()).await?;
                    notice_versions::update_draft(
                        db,
                        &row_for(version, ReviewState::Draft, "file", clock.now()),
                    )
                    .await?;
                    report.push(format!(
                        "{} v{}: draft updated from its files",
                        notice.id, version.version
                    ));
                    notice_versions::get(db, &notice.id, i64::from(version.version))
                        .await?
                        .expect("exists")
                }
                Some(row) => {
                    return Err(SyncError::ChangedAfterSubmission {
                        file,
                        notice: notice.id.clone(),
                        version: version.version,
                        state: row.review_state().as_str(),
                        recorded: row.content_sha256,
                        current,
                    });
                }
            };
            if let Some((_, record)) = approval {
                let state = row.review_state();
                if matches!(state, ReviewState::Draft | ReviewState::InReview) {
                    let comment = format!(
                        "approved by {} at {}{}",
                        record.approved_by,
                        record.approved_at.to_rfc3339(),
                        record
                            .comment
                            .as_deref()
                            .map(|c| format!(": {c}"))
                            .unwrap_or_default()
                    );
                    let done = notice_versions::transition(
                        db,
                        &Transition {
                            notice_id: &notice.id,
                            version: row.version,
                            content_sha256: &current,
                            from: state,
                            to: ReviewState::Approved,
                            actor: &format!("import:{}", record.approved_by),
                            action: "imported",
                            comment: Some(&comment),
                            material: Some(record.material),
                            imported: true,
                            at: record.approved_at,
                        },
                    )
                    .await?;
                    if done {
                        audit::record(
                            db,
                            clock,
                            "import",
                            "notice.approval_imported",
                            Some(&format!("notice:{} v{}", notice.id, version.version)),
                            None,
                        )
                        .await?;
                        report.push(format!(
                            "{} v{}: approval imported",
                            notice.id, version.version
                        ));
                    }
                }
            }
        }
    }
    Ok(report)
}
