//! Server-side staff sessions, keyed by the SHA-256 of the cookie secret.

use chrono::{DateTime, Utc};

use super::{Db, with_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Session {
    pub id_sha256: String,
    pub user_id: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

pub async fn insert(db: &Db, session: &Session) -> sqlx::Result<()> {
    with_db!(db, pool => {
        sqlx::query(
            "INSERT INTO staff_sessions (id_sha256, user_id, csrf_token, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.id_sha256)
        .bind(&session.user_id)
        .bind(&session.csrf_token)
        .bind(session.created_at)
        .bind(session.last_seen_at)
        .execute(pool)
        .await?;
    });
    Ok(())
}

pub async fn by_id_sha256(db: &Db, id_sha256: &str) -> sqlx::Result<Option<Session>> {
    with_db!(db, pool => {
        sqlx::query_as(
            "SELECT id_sha256, user_id, csrf_token, created_at, last_seen_at FROM staff_sessions WHERE id_sha256 = $1",
        )
        .bind(id_sha256)
        .fetch_optional(pool)
        .await
    })
}

pub async fn touch(db: &Db, id_sha256: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    with_db!(db, pool => {
        sqlx::query("UPDATE staff_sessions SET last_seen_at = $1 WHERE id_sha256 = $2")
            .bind(now)
            .bind(id_sha256)
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub async fn delete(db: &Db, id_sha256: &str) -> sqlx::Result<()> {
    with_db!(db, pool => {
        sqlx::query("DELETE FROM staff_sessions WHERE id_sha256 = $1").bind(id_sha256).execute(pool).await?;
    });
    Ok(())
}

/// Removes sessions idle since `idle_before` or created before `created_before`.
pub async fn delete_expired(
    db: &Db,
    idle_before: DateTime<Utc>,
    created_before: DateTime<Utc>,
) -> sqlx::Result<u64> {
    with_db!(db, pool => {
        Ok(sqlx::query("DELETE FROM staff_sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(idle_before)
            .bind(created_before)
            .execute(pool)
            .await?
            .rows_affected())
    })
}
