//! Notice versions and their review trail. Every change bumps the catalogue generation, so
//! all instances reload the versions in force.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Db, with_db};
use crate::domain::review::ReviewState;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    pub notice_id: String,
    pub version: i64,
    pub content_sha256: String,
    pub metadata_json: String,
    pub texts_json: String,
    pub effective_on: NaiveDate,
    pub state: String,
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub material: Option<bool>,
    pub imported: bool,
    pub withdrawn_reason: Option<String>,
    /// Who uploaded it (its author); none for versions from files in `policies/`.
    pub uploaded_by: Option<String>,
}

impl VersionRow {
    pub fn review_state(&self) -> ReviewState {
        ReviewState::parse(&self.state).unwrap_or(ReviewState::Draft)
    }
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct ReviewEntry {
    pub id: String,
    pub notice_id: String,
    pub version: i64,
    pub at: DateTime<Utc>,
    /// `user:<id>`, `token:<name>`, `cli` or `import`.
    pub actor: String,
    /// submitted, comment, approved, changes_requested, withdrawn, imported
    pub action: String,
    pub comment: Option<String>,
    pub content_sha256: String,
}

macro_rules! columns {
    () => {
        "notice_id, version, content_sha256, metadata_json, texts_json, effective_on, state, source, created_at, \
         submitted_by, submitted_at, decided_by, decided_at, material, imported, withdrawn_reason, uploaded_by"
    };
}

pub async fn all(db: &Db) -> sqlx::Result<Vec<VersionRow>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM notice_versions ORDER BY notice_id, version"
    );
    with_db!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)
}

pub async fn get(db: &Db, notice_id: &str, version: i64) -> sqlx::Result<Option<VersionRow>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM notice_versions WHERE notice_id = $1 AND version = $2"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(notice_id).bind(version).fetch_optional(pool).await)
}

pub async fn generation(db: &Db) -> sqlx::Result<i64> {
    with_db!(db, pool => {
        sqlx::query_scalar("SELECT generation FROM notice_catalog_generation WHERE id = 1").fetch_one(pool).await
    })
}

/// A new version (from a file or an upload), in `state` (draft, or approved when an
/// approval record came with it). False when the version exists already: another instance
/// starting at the same time took it in first, or two uploads raced.
pub async fn insert(db: &Db, row: &VersionRow) -> sqlx::Result<bool> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let inserted = sqlx::query(concat!("INSERT INTO notice_versions (", columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (notice_id, version) DO NOTHING"))
            .bind(&row.notice_id)
            .bind(row.version)
            .bind(&row.content_sha256)
            .bind(&row.metadata_json)
            .bind(&row.texts_json)
            .bind(row.effective_on)
            .bind(&row.state)
            .bind(&row.source)
            .bind(row.created_at)
            .bind(&row.submitted_by)
            .bind(row.submitted_at)
            .bind(&row.decided_by)
            .bind(row.decided_at)
            .bind(row.material)
            .bind(row.imported)
            .bind(&row.withdrawn_reason)
            .bind(&row.uploaded_by)
            .execute(&mut *tx)
            .await?
            .rows_affected() == 1;
        if !inserted {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query("UPDATE notice_catalog_generation SET generation = generation + 1 WHERE id = 1").execute(&mut *tx).await?;
        tx.commit().await?;
    });
    Ok(true)
}

/// Replaces a draft's content (its file was edited before submission).
pub async fn update_draft(db: &Db, row: &VersionRow) -> sqlx::Result<bool> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE notice_versions SET content_sha256 = $1, metadata_json = $2, texts_json = $3, effective_on = $4
             WHERE notice_id = $5 AND version = $6 AND state = 'draft'",
        )
        .bind(&row.content_sha256)
        .bind(&row.metadata_json)
        .bind(&row.texts_json)
        .bind(row.effective_on)
        .bind(&row.notice_id)
        .bind(row.version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query("UPDATE notice_catalog_generation SET generation = generation + 1 WHERE id = 1").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(changed == 1)
    })
}

macro_rules! insert_review {
    ($tx:expr, $notice:expr, $version:expr, $at:expr, $actor:expr, $action:expr, $comment:expr, $sha:expr) => {
        sqlx::query(
            "INSERT INTO notice_reviews (id, notice_id, version, at, actor, action, comment, content_sha256)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind($notice)
        .bind($version)
        .bind($at)
        .bind($actor)
        .bind($action)
        .bind($comment)
        .bind($sha)
        .execute(&mut *$tx)
        .await?;
    };
}

/// A state change, only if the version is still in `from` and still has `content_sha256`
/// (so two reviewers cannot both decide, and nobody decides on a text they did not see).
pub struct Transition<'a> {
    pub notice_id: &'a str,
    pub version: i64,
    pub content_sha256: &'a str,
    pub from: ReviewState,
    pub to: ReviewState,
    pub actor: &'a str,
    pub action: &'a str,
    pub comment: Option<&'a str>,
    pub material: Option<bool>,
    pub imported: bool,
    pub at: DateTime<Utc>,
}

/// Returns false when the version was not in `from` any more (nothing is written).
pub async fn transition(db: &Db, t: &Transition<'_>) -> sqlx::Result<bool> {
    let submitting = t.to == ReviewState::InReview;
    let deciding = matches!(t.to, ReviewState::Approved | ReviewState::ChangesRequested);
    let withdrawing = t.to == ReviewState::Withdrawn;
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE notice_versions SET state = $1,
                submitted_by = CASE WHEN $2 THEN $3 ELSE submitted_by END,
                submitted_at = CASE WHEN $2 THEN $4 ELSE submitted_at END,
                decided_by = CASE WHEN $5 THEN $3 ELSE decided_by END,
                decided_at = CASE WHEN $5 THEN $4 ELSE decided_at END,
                material = CASE WHEN $5 THEN $6 ELSE material END,
                imported = CASE WHEN $5 THEN $7 ELSE imported END,
                withdrawn_reason = CASE WHEN $8 THEN $9 ELSE withdrawn_reason END
             WHERE notice_id = $10 AND version = $11 AND state = $12 AND content_sha256 = $13",
        )
        .bind(t.to.as_str())
        .bind(submitting)
        .bind(t.actor)
        .bind(t.at)
        .bind(deciding)
        .bind(t.material)
        .bind(t.imported)
        .bind(withdrawing)
        .bind(t.comment)
        .bind(t.notice_id)
        .bind(t.version)
        .bind(t.from.as_str())
        .bind(t.content_sha256)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_review!(tx, t.notice_id, t.version, t.at, t.actor, t.action, t.comment, t.content_sha256);
        sqlx::query("UPDATE notice_catalog_generation SET generation = generation + 1 WHERE id = 1").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    })
}

/// A comment without a state change.
pub async fn comment(
    db: &Db,
    notice_id: &str,
    version: i64,
    content_sha256: &str,
    actor: &str,
    text: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        insert_review!(tx, notice_id, version, at, actor, "comment", Some(text), content_sha256);
        tx.commit().await?;
    });
    Ok(())
}

pub async fn reviews_of(db: &Db, notice_id: &str, version: i64) -> sqlx::Result<Vec<ReviewEntry>> {
    with_db!(db, pool => {
        sqlx::query_as(
            "SELECT id, notice_id, version, at, actor, action, comment, content_sha256 FROM notice_reviews
             WHERE notice_id = $1 AND version = $2 ORDER BY at, id",
        )
        .bind(notice_id)
        .bind(version)
        .fetch_all(pool)
        .await
    })
}

/// Records that a version came into force; false if that was known already.
pub async fn mark_in_force(
    db: &Db,
    notice_id: &str,
    version: i64,
    since: DateTime<Utc>,
) -> sqlx::Result<bool> {
    with_db!(db, pool => {
        Ok(sqlx::query("INSERT INTO notice_in_force (notice_id, version, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(notice_id)
            .bind(version)
            .bind(since)
            .execute(pool)
            .await?
            .rows_affected() == 1)
    })
}

pub async fn in_force_marked(db: &Db, notice_id: &str, version: i64) -> sqlx::Result<bool> {
    with_db!(db, pool => {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notice_in_force WHERE notice_id = $1 AND version = $2")
            .bind(notice_id)
            .bind(version)
            .fetch_one(pool)
            .await?;
        Ok(n > 0)
    })
}
