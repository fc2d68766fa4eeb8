//! The public halves of receipt signing keys, published at `/api/v1/keys`.

use chrono::{DateTime, Utc};

use super::{Db, with_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredKey {
    pub key_id: String,
    pub public_key: String,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// Publishes a key; a key published before (by this or another instance) stays as it is.
pub async fn register(
    db: &Db,
    key_id: &str,
    public_key: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let sql = "INSERT INTO signing_keys (key_id, public_key, created_at) VALUES ($1, $2, $3)
               ON CONFLICT (key_id) DO NOTHING";
    with_db!(db, pool => sqlx::query(sql).bind(key_id).bind(public_key).bind(now).execute(pool).await.map(drop))?;
    Ok(())
}

/// Marks a key as no longer signing; its public half stays published for old receipts.
pub async fn retire(db: &Db, key_id: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    let sql = "UPDATE signing_keys SET retired_at = $1 WHERE key_id = $2 AND retired_at IS NULL";
    with_db!(db, pool => sqlx::query(sql).bind(now).bind(key_id).execute(pool).await.map(drop))?;
    Ok(())
}

/// Every key that ever signed, oldest first.
pub async fn all(db: &Db) -> sqlx::Result<Vec<StoredKey>> {
    let sql = "SELECT key_id, public_key, created_at, retired_at FROM signing_keys ORDER BY created_at, key_id";
    with_db!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)
}
