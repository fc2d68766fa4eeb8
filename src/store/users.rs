//! Staff user accounts and failed-login bookkeeping.

use chrono::{DateTime, Utc};

use super::{Db, with_db};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffUser {
    pub id: String,
    pub email: String,
    pub role: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub last_login_at: Option<DateTime<Utc>>,
}

macro_rules! columns {
    () => {
        "id, email, role, password_hash, created_at, disabled_at, last_login_at"
    };
}

pub async fn insert(
    db: &Db,
    email: &str,
    role: &str,
    password_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<StaffUser> {
    let user = StaffUser {
        id: uuid::Uuid::new_v4().to_string(),
        email: email.to_owned(),
        role: role.to_owned(),
        password_hash: password_hash.to_owned(),
        created_at: now,
        disabled_at: None,
        last_login_at: None,
    };
    with_db!(db, pool => {
        sqlx::query("INSERT INTO staff_users (id, email, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&user.id)
            .bind(&user.email)
            .bind(&user.role)
            .bind(&user.password_hash)
            .bind(user.created_at)
            .execute(pool)
            .await?;
    });
    Ok(user)
}

pub async fn by_email(db: &Db, email: &str) -> sqlx::Result<Option<StaffUser>> {
    let sql = concat!("SELECT ", columns!(), " FROM staff_users WHERE email = $1");
    with_db!(db, pool => sqlx::query_as(sql).bind(email).fetch_optional(pool).await)
}

pub async fn by_id(db: &Db, id: &str) -> sqlx::Result<Option<StaffUser>> {
    let sql = concat!("SELECT ", columns!(), " FROM staff_users WHERE id = $1");
    with_db!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)
}

pub async fn list(db: &Db) -> sqlx::Result<Vec<StaffUser>> {
    let sql = concat!("SELECT ", columns!(), " FROM staff_users ORDER BY email");
    with_db!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)
}

/// Number of enabled admins: a fresh install has none, and `serve` says how to create one.
pub async fn active_admins(db: &Db) -> sqlx::Result<i64> {
    with_db!(db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM staff_users WHERE role = 'admin' AND disabled_at IS NULL")
            .fetch_one(pool)
            .await
    })
}

/// Disables the account and ends all its sessions at once. Returns false if there was no
/// such enabled account.
pub async fn disable(db: &Db, id: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query("UPDATE staff_users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query("DELETE FROM staff_sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(changed == 1)
    })
}

pub async fn set_password(db: &Db, id: &str, password_hash: &str) -> sqlx::Result<()> {
    with_db!(db, pool => {
        sqlx::query("UPDATE staff_users SET password_hash = $1 WHERE id = $2")
            .bind(password_hash)
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub async fn record_login(db: &Db, id: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    with_db!(db, pool => {
        sqlx::query("UPDATE staff_users SET last_login_at = $1 WHERE id = $2").bind(now).bind(id).execute(pool).await?;
    });
    Ok(())
}

/// Remembers a (possibly) failed login, per account (if known) and per truncated client
/// address; returns its id so a successful attempt can take it back.
pub async fn record_failure(
    db: &Db,
    account_key: &str,
    ip_truncated: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    with_db!(db, pool => {
        sqlx::query("INSERT INTO login_failures (id, at, account_key, ip_truncated) VALUES ($1, $2, $3, $4)")
            .bind(&id)
            .bind(now)
            .bind(account_key)
            .bind(ip_truncated)
            .execute(pool)
            .await?;
    });
    Ok(id)
}

pub async fn delete_failure(db: &Db, id: &str) -> sqlx::Result<()> {
    with_db!(db, pool => {
        sqlx::query("DELETE FROM login_failures WHERE id = $1").bind(id).execute(pool).await?;
    });
    Ok(())
}

/// Failures since `since`: for the account, and for the client address.
pub async fn failures_since(
    db: &Db,
    account_key: &str,
    ip_truncated: Option<&str>,
    since: DateTime<Utc>,
) -> sqlx::Result<(i64, i64)> {
    with_db!(db, pool => {
        let by_user: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE account_key = $1 AND at >= $2")
            .bind(account_key)
            .bind(since)
            .fetch_one(pool)
            .await?;
        let by_ip: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE ip_truncated = $1 AND at >= $2")
            .bind(ip_truncated)
            .bind(since)
            .fetch_one(pool)
            .await?;
        Ok((by_user, by_ip))
    })
}

/// A successful login clears the account's failure count.
pub async fn clear_failures(db: &Db, account_key: &str) -> sqlx::Result<()> {
    with_db!(db, pool => {
        sqlx::query("DELETE FROM login_failures WHERE account_key = $1").bind(account_key).execute(pool).await?;
    });
    Ok(())
}
