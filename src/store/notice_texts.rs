//! Every notice text that was ever loaded, keyed by its SHA-256. A consent points here, so
//! the exact text a participant saw stays provable even after `policies/` has moved on.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Db, with_db};
use crate::domain::notice::{NoticeVersion, PolicySet};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredNoticeText {
    pub sha256: String,
    pub notice_id: String,
    pub version: i64,
    pub language: String,
    pub title: String,
    pub markdown: String,
    pub metadata_json: String,
    pub effective_on: NaiveDate,
}

/// The version's metadata as stored beside its text.
pub fn metadata_json(version: &NoticeVersion) -> String {
    serde_json::json!({
        "effective": version.effective,
        "summary": version.summary,
        "purposes": version.purposes,
        "categories": version.categories,
        "recipients": version.recipients,
    })
    .to_string()
}

/// Records each loaded text once; returns how many were new.
pub async fn sync(db: &Db, policies: &PolicySet, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let mut inserted = 0;
    for notice in policies.notices.values() {
        for version in &notice.versions {
            inserted += insert_texts(db, version, now).await?;
        }
    }
    Ok(inserted)
}

/// Records the texts of one version (each once, by hash); returns how many were new.
pub async fn insert_texts(
    db: &Db,
    version: &NoticeVersion,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let mut inserted = 0;
    {
        {
            let notice = &version.notice_id;
            let metadata = metadata_json(version);
            for text in version.texts.values() {
                let result = with_db!(db, pool => {
                    sqlx::query(
                        "INSERT INTO notice_texts
                           (sha256, notice_id, version, language, title, markdown, metadata_json, effective_on, first_loaded_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                         ON CONFLICT (sha256) DO NOTHING",
                    )
                    .bind(&text.sha256)
                    .bind(notice)
                    .bind(i64::from(version.version))
                    .bind(text.language.code())
                    .bind(&text.title)
                    .bind(&text.markdown)
                    .bind(&metadata)
                    .bind(version.effective)
                    .bind(now)
                    .execute(pool)
                    .await?
                    .rows_affected()
                });
                inserted += result;
            }
        }
    }
    Ok(inserted)
}

pub async fn all(db: &Db) -> sqlx::Result<Vec<StoredNoticeText>> {
    with_db!(db, pool => {
        sqlx::query_as(
            "SELECT sha256, notice_id, version, language, title, markdown, metadata_json, effective_on FROM notice_texts",
        )
        .fetch_all(pool)
        .await
    })
}

pub async fn by_sha256(db: &Db, sha256: &str) -> sqlx::Result<Option<StoredNoticeText>> {
    with_db!(db, pool => {
        sqlx::query_as(
            "SELECT sha256, notice_id, version, language, title, markdown, metadata_json, effective_on
             FROM notice_texts WHERE sha256 = $1",
        )
        .bind(sha256)
        .fetch_optional(pool)
        .await
    })
}
