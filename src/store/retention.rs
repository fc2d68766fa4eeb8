//! Candidates for deletion under each rule, and deletions that commit together with their
//! deletion-log entry and its ledger entry: either all three happen or none, so a crash
//! leaves nothing half done and a repeated run finds nothing left to do.

use chrono::{DateTime, NaiveDate, Utc};

use super::ledger::{insert_entry, lock_head};
use super::{Db, with_db};
use crate::clock::{Clock, canonical_time};
use crate::domain::ledger::{DeletionPayload, EntryKind, LedgerEntry, payload_hash};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct DeletionLogEntry {
    pub id: String,
    pub executed_at: DateTime<Utc>,
    pub category: String,
    pub rule_version: i64,
    pub start_on: NaiveDate,
    pub due_on: NaiveDate,
    pub subject_pseudonym: Option<String>,
    pub target: String,
    pub rows_affected: i64,
    pub ledger_seq: i64,
}

impl DeletionLogEntry {
    pub fn payload(&self) -> DeletionPayload<'_> {
        DeletionPayload {
            id: &self.id,
            executed_at: canonical_time(self.executed_at),
            category: &self.category,
            rule_version: self.rule_version,
            start_on: self.start_on.to_string(),
            due_on: self.due_on.to_string(),
            subject_pseudonym: self.subject_pseudonym.as_deref(),
            target: &self.target,
            rows_affected: self.rows_affected,
        }
    }
}

macro_rules! columns {
    () => {
        "id, executed_at, category, rule_version, start_on, due_on, subject_pseudonym, target, rows_affected, ledger_seq"
    };
}
pub(crate) use columns as deletion_columns;

/// A row due under a rule: its key, the day its clock started, and (for participant data)
/// the record it belongs to.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub key: String,
    pub start: NaiveDate,
    pub record_id: Option<String>,
    pub email: Option<String>,
    /// For holds on a subject or a workshop.
    pub subject_id: Option<String>,
    pub workshop_slug: Option<String>,
    /// When consentd first held this data (a rule introduced later gives a grace period).
    pub introduced_on: Option<NaiveDate>,
    pub name: Option<String>,
}

impl Candidate {
    fn plain(key: String, start: NaiveDate) -> Self {
        Candidate {
            key,
            start,
            record_id: None,
            email: None,
            subject_id: None,
            workshop_slug: None,
            introduced_on: None,
            name: None,
        }
    }
}

/// Consultants' listings, from their last (re-)authorisation.
pub async fn consultant_listings(db: &Db) -> sqlx::Result<Vec<Candidate>> {
    Ok(super::consultants::list(db)
        .await?
        .into_iter()
        .map(|c| Candidate {
            introduced_on: Some(day(c.created_at)),
            email: Some(c.email),
            name: Some(c.name),
            ..Candidate::plain(c.id, c.last_authorised_on)
        })
        .collect())
}

pub async fn attendance(db: &Db) -> sqlx::Result<Vec<Candidate>> {
    Ok(super::consultants::attendance(db)
        .await?
        .into_iter()
        .map(|(id, ends, email, slug)| Candidate {
            email: Some(email),
            workshop_slug: Some(slug),
            ..Candidate::plain(id, ends)
        })
        .collect())
}

pub async fn finished_messages(db: &Db) -> sqlx::Result<Vec<Candidate>> {
    Ok(super::consultants::finished_messages(db)
        .await?
        .into_iter()
        .map(|(id, at)| Candidate::plain(id, day(at)))
        .collect())
}

pub async fn delete_listing(
    db: &Db,
    clock: &Clock,
    d: &Deletion<'_>,
    consultant_id: &str,
) -> sqlx::Result<Option<DeletionLogEntry>> {
    execute(
        db,
        clock,
        d,
        &[
            by_key("UPDATE outbox SET state = 'cancelled' WHERE consultant_id = $1 AND state = 'queued'"),
            by_key("DELETE FROM consultant_authorisations WHERE consultant_id = $1"),
            by_key("DELETE FROM consultants WHERE id = $1"),
        ],
        consultant_id,
        "consultants",
    )
    .await
}

pub async fn delete_attendance(
    db: &Db,
    clock: &Clock,
    d: &Deletion<'_>,
    key: &str,
) -> sqlx::Result<Option<DeletionLogEntry>> {
    execute(
        db,
        clock,
        d,
        &[by_key("DELETE FROM workshop_attendance WHERE id = $1")],
        key,
        "workshop_attendance",
    )
    .await
}

pub async fn delete_message(
    db: &Db,
    clock: &Clock,
    d: &Deletion<'_>,
    key: &str,
) -> sqlx::Result<Option<DeletionLogEntry>> {
    execute(
        db,
        clock,
        d,
        &[by_key(
            "DELETE FROM outbox WHERE id = $1 AND finished_at IS NOT NULL",
        )],
        key,
        "outbox",
    )
    .await
}

fn day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&chrono_tz::Europe::Berlin).date_naive()
}

pub async fn sessions(db: &Db) -> sqlx::Result<Vec<Candidate>> {
    let rows: Vec<(String, DateTime<Utc>)> = with_db!(db, pool => sqlx::query_as("SELECT id_sha256, last_seen_at FROM staff_sessions").fetch_all(pool).await?);
    Ok(rows
        .into_iter()
        .map(|(key, at)| Candidate::plain(key, day(at)))
        .collect())
}

pub async fn login_failures(db: &Db) -> sqlx::Result<Vec<Candidate>> {
    let rows: Vec<(String, DateTime<Utc>)> = with_db!(db, pool => sqlx::query_as("SELECT id, at FROM login_failures").fetch_all(pool).await?);
    Ok(rows
        .into_iter()
        .map(|(key, at)| Candidate::plain(key, day(at)))
        .collect())
}

/// Revoked or expired tokens, from the earlier of the two.
pub async fn ended_tokens(db: &Db, now: DateTime<Utc>) -> sqlx::Result<Vec<Candidate>> {
    let rows: Vec<(String, Option<DateTime<Utc>>, Option<DateTime<Utc>>)> = with_db!(db, pool => {
        sqlx::query_as("SELECT id, revoked_at, expires_at FROM api_tokens WHERE revoked_at IS NOT NULL OR expires_at IS NOT NULL")
            .fetch_all(pool)
            .await?
    });
    Ok(rows
        .into_iter()
        .filter_map(|(key, revoked, expires)| {
            let ended = [revoked, expires.filter(|e| *e <= now)]
                .into_iter()
                .flatten()
                .min()?;
            Some(Candidate::plain(key, day(ended)))
        })
        .collect())
}

/// Participants not yet erased, with the end of their workshop.
pub async fn participant_contacts(db: &Db) -> sqlx::Result<Vec<Candidate>> {
    let rows: Vec<(String, String, NaiveDate, Option<String>, String)> = with_db!(db, pool => {
        sqlx::query_as(
            "SELECT s.id, r.id, w.ends_on, s.email, w.slug FROM subjects s
             JOIN consent_records r ON r.subject_id = s.id
             JOIN workshops w ON w.id = r.workshop_id
             WHERE s.erased_at IS NULL",
        )
        .fetch_all(pool)
        .await?
    });
    Ok(rows
        .into_iter()
        .map(|(key, record, ends, email, slug)| Candidate {
            subject_id: Some(key.clone()),
            key,
            start: ends,
            record_id: Some(record),
            email,
            workshop_slug: Some(slug),
            introduced_on: None,
            name: None,
        })
        .collect())
}

/// What is deleted, for the log: category, rule, dates, pseudonym, target (names only).
pub struct Deletion<'a> {
    pub category: &'a str,
    pub rule_version: i64,
    pub start_on: NaiveDate,
    pub due_on: NaiveDate,
    pub subject_pseudonym: Option<String>,
    pub target: &'a str,
}

/// One statement of a deletion: `$1` is the row's key, `$2` (if used) the time.
pub struct Statement {
    sql: &'static str,
    binds_now: bool,
}

const fn by_key(sql: &'static str) -> Statement {
    Statement {
        sql,
        binds_now: false,
    }
}

/// One deletion: [`execute_batch`] with a single item. `None` when there was nothing left.
async fn execute(
    db: &Db,
    clock: &Clock,
    deletion: &Deletion<'_>,
    statements: &[Statement],
    key: &str,
    ledger_ref: &str,
) -> sqlx::Result<Option<DeletionLogEntry>> {
    let item = BatchItem {
        deletion: Deletion {
            subject_pseudonym: deletion.subject_pseudonym.clone(),
            ..*deletion
        },
        key,
        ledger_ref,
    };
    Ok(
        execute_batch(db, clock, std::slice::from_ref(&item), statements)
            .await?
            .pop()
            .flatten(),
    )
}

/// One due item of a batch: its log fields, the key `$1`, and what its ledger entry refers to.
pub struct BatchItem<'a> {
    pub deletion: Deletion<'a>,
    pub key: &'a str,
    pub ledger_ref: &'a str,
}

/// Like [`execute`] for many items in one transaction (one commit, one fsync): each item that
/// changed anything gets its own log entry and ledger entry; items already gone are skipped
/// (`None` at their position). The ledger lock is taken first, so batches of several
/// instances never interleave.
pub async fn execute_batch(
    db: &Db,
    clock: &Clock,
    items: &[BatchItem<'_>],
    statements: &[Statement],
) -> sqlx::Result<Vec<Option<DeletionLogEntry>>> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let (mut seq, mut prev) = lock_head!(tx);
        let mut results: Vec<Option<DeletionLogEntry>> = Vec::with_capacity(items.len());
        let mut any = false;
        for item in items {
            let now = clock.now();
            let mut rows = 0i64;
            for statement in statements {
                let query = sqlx::query(statement.sql).bind(item.key);
                let query = if statement.binds_now { query.bind(now) } else { query };
                rows += query.execute(&mut *tx).await?.rows_affected() as i64;
            }
            if rows == 0 {
                results.push(None);
                continue;
            }
            if any {
                // The first executed item uses the number reserved by the lock.
                let (next, _): (i64, String) = sqlx::query_as("UPDATE ledger_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, entry_sha256")
                    .fetch_one(&mut *tx)
                    .await?;
                seq = next;
            }
            let d = &item.deletion;
            let entry = DeletionLogEntry {
                id: uuid::Uuid::new_v4().to_string(),
                executed_at: now,
                category: d.category.to_owned(),
                rule_version: d.rule_version,
                start_on: d.start_on,
                due_on: d.due_on,
                subject_pseudonym: d.subject_pseudonym.clone(),
                target: d.target.to_owned(),
                rows_affected: rows,
                ledger_seq: seq,
            };
            let ledger = LedgerEntry::next(seq, &prev, now, EntryKind::Deletion, item.ledger_ref, &payload_hash(&entry.payload()));
            insert_entry!(tx, &ledger);
            sqlx::query(concat!("INSERT INTO deletion_log (", columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"))
                .bind(&entry.id)
                .bind(entry.executed_at)
                .bind(&entry.category)
                .bind(entry.rule_version)
                .bind(entry.start_on)
                .bind(entry.due_on)
                .bind(&entry.subject_pseudonym)
                .bind(&entry.target)
                .bind(entry.rows_affected)
                .bind(entry.ledger_seq)
                .execute(&mut *tx)
                .await?;
            prev = ledger.entry_sha256;
            any = true;
            results.push(Some(entry));
        }
        if any {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
        }
        Ok(results)
    })
}

/// The statements that anonymise one participant (`$1` subject id, `$2` time).
pub const ANONYMISE_PARTICIPANT: &[Statement] = &[
    Statement {
        sql: "UPDATE subjects SET name = NULL, email = NULL, organisation = NULL, salt = NULL, erased_at = $2
              WHERE id = $1 AND erased_at IS NULL",
        binds_now: true,
    },
    by_key(
        "UPDATE consent_records SET ip_truncated = NULL, user_agent = NULL
         WHERE subject_id = $1 AND (ip_truncated IS NOT NULL OR user_agent IS NOT NULL)",
    ),
];

pub async fn delete_session(
    db: &Db,
    clock: &Clock,
    d: &Deletion<'_>,
    key: &str,
) -> sqlx::Result<Option<DeletionLogEntry>> {
    execute(
        db,
        clock,
        d,
        &[by_key("DELETE FROM staff_sessions WHERE id_sha256 = $1")],
        key,
        "staff_sessions",
    )
    .await
}

pub async fn delete_login_failure(
    db: &Db,
    clock: &Clock,
    d: &Deletion<'_>,
    key: &str,
) -> sqlx::Result<Option<DeletionLogEntry>> {
    execute(
        db,
        clock,
        d,
        &[by_key("DELETE FROM login_failures WHERE id = $1")],
        key,
        "login_failures",
    )
    .await
}

pub async fn delete_token(
    db: &Db,
    clock: &Clock,
    d: &Deletion<'_>,
    key: &str,
) -> sqlx::Result<Option<DeletionLogEntry>> {
    execute(
        db,
        clock,
        d,
        &[by_key("DELETE FROM api_tokens WHERE id = $1")],
        key,
        "api_tokens",
    )
    .await
}

/// Anonymises a participant: name, e-mail, organisation and the salt go, as do the truncated
/// address and user agent of their records. The digest stays, so the consent proof still
/// verifies (pseudonymous).
pub async fn anonymise_participant(
    db: &Db,
    clock: &Clock,
    d: &Deletion<'_>,
    subject_id: &str,
    record_id: &str,
) -> sqlx::Result<Option<DeletionLogEntry>> {
    // Each statement only touches rows that still hold data, so a repeat changes nothing.
    execute(db, clock, d, ANONYMISE_PARTICIPANT, subject_id, record_id).await
}

pub async fn log_between(
    db: &Db,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> sqlx::Result<Vec<DeletionLogEntry>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM deletion_log WHERE executed_at >= $1 AND executed_at < $2 ORDER BY ledger_seq"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(from).bind(until).fetch_all(pool).await)
}

/// The key for subject pseudonyms in the deletion log, created on first use.
pub async fn pseudonym_key(db: &Db, now: DateTime<Utc>) -> sqlx::Result<Vec<u8>> {
    let candidate = crate::domain::consent::new_salt() + &crate::domain::consent::new_salt();
    with_db!(db, pool => {
        sqlx::query("INSERT INTO service_keys (name, key_hex, created_at) VALUES ('deletion-log-pseudonym', $1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(&candidate)
            .bind(now)
            .execute(pool)
            .await?;
        let key: String = sqlx::query_scalar("SELECT key_hex FROM service_keys WHERE name = 'deletion-log-pseudonym'")
            .fetch_one(pool)
            .await?;
        Ok(hex::decode(key).unwrap_or_default())
    })
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Hold {
    pub id: String,
    /// subject, workshop or category
    pub scope: String,
    pub target: String,
    pub reason: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub ends_on: Option<NaiveDate>,
    pub released_at: Option<DateTime<Utc>>,
    pub released_by: Option<String>,
}

impl Hold {
    pub fn is_active(&self, on: NaiveDate) -> bool {
        self.released_at.is_none() && self.ends_on.is_none_or(|end| end >= on)
    }
}

macro_rules! hold_columns {
    () => {
        "id, scope, target, reason, created_by, created_at, ends_on, released_at, released_by"
    };
}

pub async fn add_hold(db: &Db, hold: &Hold) -> sqlx::Result<()> {
    with_db!(db, pool => {
        sqlx::query(concat!("INSERT INTO retention_holds (", hold_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"))
            .bind(&hold.id)
            .bind(&hold.scope)
            .bind(&hold.target)
            .bind(&hold.reason)
            .bind(&hold.created_by)
            .bind(hold.created_at)
            .bind(hold.ends_on)
            .bind(hold.released_at)
            .bind(&hold.released_by)
            .execute(pool)
            .await?;
    });
    Ok(())
}

pub async fn holds(db: &Db) -> sqlx::Result<Vec<Hold>> {
    let sql = concat!(
        "SELECT ",
        hold_columns!(),
        " FROM retention_holds ORDER BY created_at DESC"
    );
    with_db!(db, pool => sqlx::query_as(sql).fetch_all(pool).await)
}

pub async fn release_hold(db: &Db, id: &str, by: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    with_db!(db, pool => {
        Ok(sqlx::query("UPDATE retention_holds SET released_at = $1, released_by = $2 WHERE id = $3 AND released_at IS NULL")
            .bind(now)
            .bind(by)
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected() == 1)
    })
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Pause {
    pub id: String,
    pub reason: String,
    pub paused_by: String,
    pub paused_at: DateTime<Utc>,
    pub resumed_at: Option<DateTime<Utc>>,
    pub resumed_by: Option<String>,
}

pub async fn pauses(db: &Db) -> sqlx::Result<Vec<Pause>> {
    with_db!(db, pool => {
        sqlx::query_as("SELECT id, reason, paused_by, paused_at, resumed_at, resumed_by FROM retention_pauses ORDER BY paused_at DESC")
            .fetch_all(pool)
            .await
    })
}

/// Starts a pause unless one is open; false if one was open already.
pub async fn pause(db: &Db, reason: &str, by: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    // Two admins pausing at the same moment open two pauses; `resume` closes all, so that
    // is harmless.
    if is_paused(db).await? {
        return Ok(false);
    }
    with_db!(db, pool => {
        sqlx::query("INSERT INTO retention_pauses (id, reason, paused_by, paused_at) VALUES ($1, $2, $3, $4)")
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(reason)
            .bind(by)
            .bind(now)
            .execute(pool)
            .await?;
    });
    Ok(true)
}

pub async fn resume(db: &Db, by: &str, now: DateTime<Utc>) -> sqlx::Result<bool> {
    with_db!(db, pool => {
        Ok(sqlx::query("UPDATE retention_pauses SET resumed_at = $1, resumed_by = $2 WHERE resumed_at IS NULL")
            .bind(now)
            .bind(by)
            .execute(pool)
            .await?
            .rows_affected() > 0)
    })
}

/// Whether automated deletion is paused right now.
pub async fn is_paused(db: &Db) -> sqlx::Result<bool> {
    with_db!(db, pool => {
        let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM retention_pauses WHERE resumed_at IS NULL").fetch_one(pool).await?;
        Ok(open > 0)
    })
}
