//! API tokens for automation: stored as SHA-256, bound to a role.

use chrono::{DateTime, Utc};

use super::{Db, with_db};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub role: String,
    #[serde(skip)]
    pub token_sha256: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

macro_rules! columns {
    () => {
        "id, name, role, token_sha256, created_at, created_by, expires_at, revoked_at, last_used_at"
    };
}

pub async fn insert(db: &Db, token: &ApiToken) -> sqlx::Result<()> {
    with_db!(db, pool => {
        sqlx::query(concat!("INSERT INTO api_tokens (", columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
            .bind(&token.id)
            .bind(&token.name)
            .bind(&token.role)
            .bind(&token.token_sha256)
            .bind(token.created_at)
            .bind(&token.created_by)
            .bind(token.expires_at)
            .bind(token.revoked_at)
            .bind(token.last_used_at)
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub async fn by_sha256(db: &Db, token_sha256: &str) -> sqlx::Result<Option<ApiToken>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM api_tokens WHERE token_sha256 = $1"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(token_sha256).fetch_optional(pool).await)
}

pub async fn list(db: &Db) -> sqlx::Result<Vec<ApiToken>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM api_tokens ORDER BY created_at DESC"
    );
    with_db!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)
}

/// Returns false if no active token has this name.
pub async fn revoke(db: &Db, name: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    with_db!(db, pool => {
        Ok(sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(name)
            .execute(pool)
            .await?
            .rows_affected() == 1)
    })
}

/// Records use, at most once a minute per token, to keep reads cheap.
pub async fn touch(db: &Db, id: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    let stale = now - chrono::TimeDelta::minutes(1);
    with_db!(db, pool => {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)")
            .bind(now)
            .bind(id)
            .bind(stale)
            .execute(pool)
            .await?;
    });
    Ok(())
}
