//! Workshops.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Db, with_db};
use crate::domain::workshop::NewWorkshop;

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Workshop {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub kind: String,
    pub location: Option<String>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub notice_id: String,
    pub controller_id: String,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

macro_rules! columns {
    () => {
        "id, slug, title, kind, location, starts_on, ends_on, notice_id, controller_id, created_at, archived_at"
    };
}

/// Inserts the workshop; a taken slug comes back as a unique violation.
pub async fn insert(db: &Db, new: &NewWorkshop, now: DateTime<Utc>) -> sqlx::Result<Workshop> {
    let workshop = Workshop {
        id: uuid::Uuid::new_v4().to_string(),
        slug: new.slug.as_str().to_owned(),
        title: new.title.clone(),
        kind: new.kind.as_str().to_owned(),
        location: new.location.clone(),
        starts_on: new.starts_on,
        ends_on: new.ends_on,
        notice_id: new.notice_id.clone(),
        controller_id: new.controller_id.clone(),
        created_at: now,
        archived_at: None,
    };
    with_db!(db, pool => {
        sqlx::query(
            "INSERT INTO workshops (id, slug, title, kind, location, starts_on, ends_on, notice_id, controller_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&workshop.id)
        .bind(&workshop.slug)
        .bind(&workshop.title)
        .bind(&workshop.kind)
        .bind(&workshop.location)
        .bind(workshop.starts_on)
        .bind(workshop.ends_on)
        .bind(&workshop.notice_id)
        .bind(&workshop.controller_id)
        .bind(workshop.created_at)
        .execute(pool)
        .await?;
    });
    Ok(workshop)
}

pub async fn by_slug(db: &Db, slug: &str) -> sqlx::Result<Option<Workshop>> {
    let sql = concat!("SELECT ", columns!(), " FROM workshops WHERE slug = $1");
    with_db!(db, pool => sqlx::query_as(sql).bind(slug).fetch_optional(pool).await)
}

/// The workshop and the notice catalogue's generation in one read: every consent needs both,
/// and a read is most of what a consent costs before it is written.
pub async fn by_slug_with_catalog_generation(
    db: &Db,
    slug: &str,
) -> sqlx::Result<Option<(Workshop, i64)>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        workshop: Workshop,
        generation: i64,
    }
    let sql = concat!(
        "SELECT ",
        columns!(),
        ", (SELECT generation FROM notice_catalog_generation WHERE id = 1) AS generation
         FROM workshops WHERE slug = $1"
    );
    let row: Option<Row> =
        with_db!(db, pool => sqlx::query_as(sql).bind(slug).fetch_optional(pool).await)?;
    Ok(row.map(|r| (r.workshop, r.generation)))
}

pub async fn by_id(db: &Db, id: &str) -> sqlx::Result<Option<Workshop>> {
    let sql = concat!("SELECT ", columns!(), " FROM workshops WHERE id = $1");
    with_db!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)
}

/// All workshops, newest start first.
pub async fn list(db: &Db) -> sqlx::Result<Vec<Workshop>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM workshops ORDER BY starts_on DESC, slug"
    );
    with_db!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)
}

/// Workshops that accept consents on `today`: not archived and not yet ended.
pub async fn open_on(db: &Db, today: NaiveDate) -> sqlx::Result<Vec<Workshop>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM workshops WHERE archived_at IS NULL AND ends_on >= $1 ORDER BY starts_on, slug"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(today).fetch_all(pool).await)
}

/// Number of consent records per workshop id.
pub async fn consent_counts(db: &Db) -> sqlx::Result<Vec<(String, i64)>> {
    with_db!(db, pool => {
        sqlx::query_as("SELECT workshop_id, COUNT(*) FROM consent_records GROUP BY workshop_id")
            .fetch_all(pool)
            .await
    })
}

/// Changes the given fields; `None` keeps a field as it is.
pub struct WorkshopChanges {
    pub title: Option<String>,
    pub kind: Option<String>,
    /// `Some(None)` clears the location.
    pub location: Option<Option<String>>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

pub async fn update(db: &Db, id: &str, changes: &WorkshopChanges) -> sqlx::Result<()> {
    let clear_location = matches!(changes.location, Some(None));
    let location = changes.location.clone().flatten();
    with_db!(db, pool => {
        sqlx::query(
            "UPDATE workshops SET
               title = COALESCE($1, title),
               kind = COALESCE($2, kind),
               location = CASE WHEN $3 THEN NULL ELSE COALESCE($4, location) END,
               starts_on = COALESCE($5, starts_on),
               ends_on = COALESCE($6, ends_on)
             WHERE id = $7",
        )
        .bind(&changes.title)
        .bind(&changes.kind)
        .bind(clear_location)
        .bind(&location)
        .bind(changes.starts_on)
        .bind(changes.ends_on)
        .bind(id)
        .execute(pool)
        .await?;
    });
    Ok(())
}

/// Archived workshops keep their consents but accept no new ones.
pub async fn archive(db: &Db, id: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    with_db!(db, pool => {
        Ok(sqlx::query("UPDATE workshops SET archived_at = $1 WHERE id = $2 AND archived_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected() == 1)
    })
}
