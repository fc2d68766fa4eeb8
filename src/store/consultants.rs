//! Authorised consultants, their (re-)authorisations, workshop attendance, and the outbox.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Db, with_db};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Consultant {
    pub id: String,
    pub name: String,
    pub email: String,
    /// The language of their letters (`de`, `en`); none means German.
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The newest authorisation or re-authorisation: the listing's clock starts here.
    pub last_authorised_on: NaiveDate,
}

const LIST: &str =
    "SELECT c.id, c.name, c.email, c.language, c.created_at, MAX(a.on_date) AS last_authorised_on
     FROM consultants c JOIN consultant_authorisations a ON a.consultant_id = c.id
     GROUP BY c.id, c.name, c.email, c.language, c.created_at ORDER BY c.name";

pub async fn list(db: &Db) -> sqlx::Result<Vec<Consultant>> {
    with_db!(db, pool => sqlx::query_as(LIST).fetch_all(pool).await)
}

pub async fn by_email(db: &Db, email: &str) -> sqlx::Result<Option<String>> {
    with_db!(db, pool => {
        sqlx::query_scalar("SELECT id FROM consultants WHERE email = $1").bind(email).fetch_optional(pool).await
    })
}

/// Adds a consultant with the first authorisation; a taken e-mail is a unique violation.
pub async fn add(
    db: &Db,
    name: &str,
    email: &str,
    language: &str,
    authorised_on: NaiveDate,
    now: DateTime<Utc>,
) -> sqlx::Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO consultants (id, name, email, language, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(name)
            .bind(email)
            .bind(language)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO consultant_authorisations (id, consultant_id, on_date, source, created_at) VALUES ($1, $2, $3, 'initial', $4)")
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(&id)
            .bind(authorised_on)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    });
    Ok(id)
}

/// Records attendance at a workshop; for a consultant at an Erfahrungsaustausch or
/// re-authorisation, also the re-authorisation on the workshop's last day, and cancels the
/// reminders of the old cycle that have not gone out. Returns whether it was new.
pub async fn record_attendance(
    db: &Db,
    workshop_id: &str,
    email: &str,
    reauthorises_on: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO workshop_attendance (id, workshop_id, email, recorded_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (workshop_id, email) DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(workshop_id)
        .bind(email)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected() == 1;
        if inserted {
            if let Some(on) = reauthorises_on {
                let consultant: Option<String> = sqlx::query_scalar("SELECT id FROM consultants WHERE email = $1")
                    .bind(email)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(consultant) = consultant {
                    sqlx::query(
                        "INSERT INTO consultant_authorisations (id, consultant_id, on_date, source, workshop_id, created_at)
                         VALUES ($1, $2, $3, 'attendance', $4, $5)",
                    )
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(&consultant)
                    .bind(on)
                    .bind(workshop_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query("UPDATE outbox SET state = 'cancelled', finished_at = $1 WHERE consultant_id = $2 AND state = 'queued'")
                        .bind(now)
                        .bind(&consultant)
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(inserted)
    })
}

/// Attendance rows with the last day of their workshop (for the attendance rule).
pub async fn attendance(db: &Db) -> sqlx::Result<Vec<(String, NaiveDate, String, String)>> {
    with_db!(db, pool => {
        sqlx::query_as(
            "SELECT a.id, w.ends_on, a.email, w.slug FROM workshop_attendance a JOIN workshops w ON w.id = a.workshop_id",
        )
        .fetch_all(pool)
        .await
    })
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct OutboxMessage {
    pub id: String,
    pub dedupe_key: String,
    pub consultant_id: Option<String>,
    pub to_email: Option<String>,
    pub subject: String,
    pub body: Option<String>,
    /// queued, sending, sent, failed, cancelled
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

macro_rules! outbox_columns {
    () => {
        "id, dedupe_key, consultant_id, to_email, subject, body, state, attempts, next_attempt_at, last_error, created_at, finished_at"
    };
}

/// Queues a message once per `dedupe_key`; false when it exists already.
pub async fn enqueue(
    db: &Db,
    dedupe_key: &str,
    consultant_id: &str,
    to: &str,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    with_db!(db, pool => {
        Ok(sqlx::query(
            "INSERT INTO outbox (id, dedupe_key, consultant_id, to_email, subject, body, state, attempts, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7, $7) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(dedupe_key)
        .bind(consultant_id)
        .bind(to)
        .bind(subject)
        .bind(body)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected() == 1)
    })
}

pub async fn outbox(db: &Db) -> sqlx::Result<Vec<OutboxMessage>> {
    let sql = concat!(
        "SELECT ",
        outbox_columns!(),
        " FROM outbox ORDER BY created_at, dedupe_key"
    );
    with_db!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)
}

/// Claims messages due for delivery; each claim succeeds for exactly one instance.
pub async fn claim_due(
    db: &Db,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<OutboxMessage>> {
    let sql = concat!(
        "SELECT ",
        outbox_columns!(),
        " FROM outbox WHERE state = 'queued' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2"
    );
    let due: Vec<OutboxMessage> =
        with_db!(db, pool => sqlx::query_as(sql).bind(now).bind(limit).fetch_all(pool).await?);
    let mut claimed = Vec::new();
    for m in due {
        let won = with_db!(db, pool => {
            sqlx::query("UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = $1 AND state = 'queued'")
                .bind(&m.id)
                .execute(pool)
                .await?
                .rows_affected() == 1
        });
        if won {
            claimed.push(m);
        }
    }
    Ok(claimed)
}

pub async fn mark_sent(db: &Db, id: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    with_db!(db, pool => {
        sqlx::query("UPDATE outbox SET state = 'sent', finished_at = $1, last_error = NULL WHERE id = $2").bind(now).bind(id).execute(pool).await?;
    });
    Ok(())
}

/// A failed attempt: retried later (backoff), or given up after the last attempt.
pub async fn mark_failed(
    db: &Db,
    id: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let (state, next, finished) = match retry_at {
        Some(at) => ("queued", at, None),
        None => ("failed", now, Some(now)),
    };
    with_db!(db, pool => {
        sqlx::query("UPDATE outbox SET state = $1, next_attempt_at = $2, finished_at = $3, last_error = $4 WHERE id = $5")
            .bind(state)
            .bind(next)
            .bind(finished)
            .bind(error)
            .bind(id)
            .execute(pool)
            .await?;
    });
    Ok(())
}

/// Finished messages (sent, failed, cancelled) with the day they finished.
pub async fn finished_messages(db: &Db) -> sqlx::Result<Vec<(String, DateTime<Utc>)>> {
    with_db!(db, pool => {
        sqlx::query_as("SELECT id, finished_at FROM outbox WHERE finished_at IS NOT NULL").fetch_all(pool).await
    })
}
