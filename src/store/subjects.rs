//! Data-subject rights in SQL: finding a person's rows, rectification (Art. 16) and erasure
//! on request (Art. 17), each change committed together with its ledger entries.

use chrono::{DateTime, Utc};

use super::consents::{
    ConsentEvent, ConsentRecord, StoredSubject, current_states, event_columns, event_payloads,
    insert_event, record_columns, subject_columns,
};
use super::consultants::OutboxMessage;
use super::ledger::{insert_entry, lock_head};
use super::{Db, keyed, with_db};
use crate::clock::{Clock, canonical_time};
use crate::domain::consent::PurposeState;
use crate::domain::ledger::{
    EntryKind, ErasurePayload, LedgerEntry, RectificationPayload, payload_hash,
};

/// The subject with this id, and every other subject row with the same e-mail address (one
/// row per consent: the same person signing up twice has two). Empty if the id is unknown.
pub async fn person(db: &Db, id: &str) -> sqlx::Result<Vec<StoredSubject>> {
    let Some(subject) = super::consents::subject(db, id).await? else {
        return Ok(Vec::new());
    };
    match &subject.email {
        Some(email) => by_email(db, email).await,
        None => Ok(vec![subject]),
    }
}

/// Subjects whose e-mail address is `email`, ignoring case.
pub async fn by_email(db: &Db, email: &str) -> sqlx::Result<Vec<StoredSubject>> {
    let sql = concat!(
        "SELECT ",
        subject_columns!(),
        " FROM subjects WHERE lower(email) = lower($1) ORDER BY created_at, id"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(email.trim()).fetch_all(pool).await)
}

/// Erased subjects whose kept pseudonym matches (a dispute: the person presents the address).
pub async fn erased_by_pseudonym(db: &Db, pseudonym: &str) -> sqlx::Result<Vec<StoredSubject>> {
    let sql = concat!(
        "SELECT ",
        subject_columns!(),
        " FROM subjects WHERE email_pseudonym = $1 ORDER BY created_at, id"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(pseudonym).fetch_all(pool).await)
}

fn keys(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

/// The subjects of these records, in one query (in no particular order).
pub async fn of_records(db: &Db, records: &[ConsentRecord]) -> sqlx::Result<Vec<StoredSubject>> {
    const SQL: super::DialectSql = keyed!(
        concat!("SELECT ", subject_columns!(), " FROM subjects WHERE id IN "),
        ""
    );
    let ids: Vec<String> = records.iter().map(|r| r.subject_id.clone()).collect();
    let keys = keys(&ids);
    with_db!(db, pool => sqlx::query_as(SQL.for_pool(pool)).bind(&keys).fetch_all(pool).await)
}

/// The consent records of these subjects, oldest first.
pub async fn records_of(db: &Db, subject_ids: &[String]) -> sqlx::Result<Vec<ConsentRecord>> {
    const SQL: super::DialectSql = keyed!(
        concat!(
            "SELECT ",
            record_columns!(),
            " FROM consent_records WHERE subject_id IN "
        ),
        " ORDER BY recorded_at, id"
    );
    let keys = keys(subject_ids);
    with_db!(db, pool => sqlx::query_as(SQL.for_pool(pool)).bind(&keys).fetch_all(pool).await)
}

/// Workshops attended under this address: (slug, title, recorded at).
pub async fn attendance_of(
    db: &Db,
    email: &str,
) -> sqlx::Result<Vec<(String, String, DateTime<Utc>)>> {
    let sql = "SELECT w.slug, w.title, a.recorded_at FROM workshop_attendance a
               JOIN workshops w ON w.id = a.workshop_id
               WHERE lower(a.email) = lower($1) ORDER BY a.recorded_at, w.slug";
    with_db!(db, pool => sqlx::query_as(sql).bind(email.trim()).fetch_all(pool).await)
}

/// Messages to this address.
pub async fn outbox_to(db: &Db, email: &str) -> sqlx::Result<Vec<OutboxMessage>> {
    let sql = "SELECT id, dedupe_key, consultant_id, to_email, subject, body, state, attempts,
                      next_attempt_at, last_error, created_at, finished_at
               FROM outbox WHERE lower(to_email) = lower($1) ORDER BY created_at, id";
    with_db!(db, pool => sqlx::query_as(sql).bind(email.trim()).fetch_all(pool).await)
}

/// A consultant listing under this address: (id, name, created at).
pub async fn consultant_with_email(
    db: &Db,
    email: &str,
) -> sqlx::Result<Option<(String, String, DateTime<Utc>)>> {
    let sql = "SELECT id, name, created_at FROM consultants WHERE lower(email) = lower($1)";
    with_db!(db, pool => sqlx::query_as(sql).bind(email.trim()).fetch_optional(pool).await)
}

/// The (re-)authorisation days of a consultant.
pub async fn authorisations_of(
    db: &Db,
    consultant_id: &str,
) -> sqlx::Result<Vec<(chrono::NaiveDate, String)>> {
    let sql = "SELECT on_date, source FROM consultant_authorisations WHERE consultant_id = $1 ORDER BY on_date";
    with_db!(db, pool => sqlx::query_as(sql).bind(consultant_id).fetch_all(pool).await)
}

/// One Art. 16 rectification: the fields that changed and the digests, never the values.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Rectification {
    pub id: String,
    pub subject_id: String,
    /// Comma-separated: name, email, organisation.
    pub fields: String,
    pub previous_digest: String,
    pub digest: String,
    pub rectified_at: DateTime<Utc>,
    pub ledger_seq: i64,
}

impl Rectification {
    pub fn payload(&self) -> RectificationPayload<'_> {
        RectificationPayload {
            digest: &self.digest,
            fields: &self.fields,
            id: &self.id,
            previous_digest: &self.previous_digest,
            rectified_at: canonical_time(self.rectified_at),
            subject_id: &self.subject_id,
        }
    }
}

macro_rules! rectification_columns {
    () => {
        "id, subject_id, fields, previous_digest, digest, rectified_at, ledger_seq"
    };
}

pub async fn rectifications_of(
    db: &Db,
    subject_ids: &[String],
) -> sqlx::Result<Vec<Rectification>> {
    const SQL: super::DialectSql = keyed!(
        concat!(
            "SELECT ",
            rectification_columns!(),
            " FROM subject_rectifications WHERE subject_id IN "
        ),
        " ORDER BY ledger_seq"
    );
    let keys = keys(subject_ids);
    with_db!(db, pool => sqlx::query_as(SQL.for_pool(pool)).bind(&keys).fetch_all(pool).await)
}

/// Every rectification (read by the ledger snapshot for `verify`).
pub(crate) const ALL_RECTIFICATIONS: &str = concat!(
    "SELECT ",
    rectification_columns!(),
    " FROM subject_rectifications ORDER BY ledger_seq"
);

/// New values for one subject row, with the digest they give.
pub struct RectifiedSubject {
    pub subject_id: String,
    pub name: String,
    pub email: String,
    pub organisation: Option<String>,
    pub fields: String,
    pub previous_digest: String,
    pub digest: String,
}

/// Applies the rectifications in one transaction, each with its row and ledger entry.
/// A subject erased in the meantime is left alone (its id is not returned).
pub async fn rectify(
    db: &Db,
    clock: &Clock,
    changes: &[RectifiedSubject],
) -> sqlx::Result<Vec<Rectification>> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let (mut seq, mut prev) = lock_head!(tx);
        let now = clock.now();
        let mut done = Vec::new();
        for change in changes {
            let updated = sqlx::query(
                "UPDATE subjects SET name = $1, email = $2, organisation = $3, current_digest = $4
                 WHERE id = $5 AND erased_at IS NULL AND coalesce(current_digest, digest) = $6",
            )
            .bind(&change.name)
            .bind(&change.email)
            .bind(&change.organisation)
            .bind(&change.digest)
            .bind(&change.subject_id)
            .bind(&change.previous_digest)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                continue;
            }
            if !done.is_empty() {
                // The head holds the previous entry now; reserve the next number.
                (seq, prev) = lock_head!(tx);
            }
            let row = Rectification {
                id: uuid::Uuid::now_v7().to_string(),
                subject_id: change.subject_id.clone(),
                fields: change.fields.clone(),
                previous_digest: change.previous_digest.clone(),
                digest: change.digest.clone(),
                rectified_at: now,
                ledger_seq: seq,
            };
            let entry = LedgerEntry::next(seq, &prev, now, EntryKind::SubjectRectified, &row.id, &payload_hash(&row.payload()));
            insert_entry!(tx, &entry);
            sqlx::query(concat!(
                "INSERT INTO subject_rectifications (", rectification_columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7)"
            ))
            .bind(&row.id)
            .bind(&row.subject_id)
            .bind(&row.fields)
            .bind(&row.previous_digest)
            .bind(&row.digest)
            .bind(row.rectified_at)
            .bind(row.ledger_seq)
            .execute(&mut *tx)
            .await?;
            done.push(row);
        }
        if done.is_empty() {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok(done)
    })
}

/// What one erasure changed.
#[derive(Debug, Clone, Default)]
pub struct ErasureCounts {
    pub subjects: u64,
    pub records: u64,
    pub events: u64,
    pub attendance: u64,
    pub consultants: u64,
    pub outbox: u64,
    pub ledger_seqs: Vec<i64>,
}

/// Erases a person in one transaction: name, e-mail, organisation, salt, truncated address
/// and user agent of the subject rows (the digest stays, and `email_pseudonym` is kept for
/// disputes), an `erased` event for every purpose with a `subject.erased`
/// ledger entry per record, their workshop attendance, a consultant listing under their
/// address (with its authorisations), and the address and text of messages to them (unsent
/// ones are cancelled). Subjects erased already are skipped.
/// The deletion-log side of an erasure on request: each erased subject, attendance row and
/// consultant listing gets a log entry (and its ledger entry) under its category's rule, so
/// the erasure is in deletion reports and in the deletion journal, and `retention replay`
/// repeats it after a backup from before it is restored.
pub struct ErasureLog<'a> {
    /// Versions of the rules for participant data, attendance and consultant listings.
    pub rule_versions: (i64, i64, i64),
    pub on: chrono::NaiveDate,
    pub target: &'a str,
    pub before_commit: super::retention::BeforeCommit<'a>,
}

pub async fn erase(
    db: &Db,
    clock: &Clock,
    actor: &str,
    subject_ids: &[String],
    email: Option<&str>,
    email_pseudonym: Option<&str>,
    log: ErasureLog<'_>,
) -> sqlx::Result<ErasureCounts> {
    const OPEN: super::DialectSql = keyed!(
        concat!(
            "SELECT ",
            subject_columns!(),
            " FROM subjects WHERE erased_at IS NULL AND id IN "
        ),
        " ORDER BY created_at, id"
    );
    const RECORDS: super::DialectSql = keyed!(
        concat!(
            "SELECT ",
            record_columns!(),
            " FROM consent_records WHERE subject_id IN "
        ),
        " ORDER BY recorded_at, id"
    );
    const SUBJECTS: super::DialectSql = keyed!(
        "UPDATE subjects SET name = NULL, email = NULL, organisation = NULL, salt = NULL,
                ip_truncated = NULL, user_agent = NULL, email_pseudonym = $2, erased_at = $3
         WHERE erased_at IS NULL AND id IN ",
        ""
    );
    let keys = keys(subject_ids);
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let (mut seq, mut prev) = lock_head!(tx);
        let now = clock.now();
        let open: Vec<StoredSubject> = sqlx::query_as(OPEN.for_pool(pool)).bind(&keys).fetch_all(&mut *tx).await?;
        let mut counts = ErasureCounts::default();
        if open.is_empty() {
            tx.rollback().await?;
            return Ok(counts);
        }
        let open_keys = keys_of(&open);
        let records: Vec<ConsentRecord> = sqlx::query_as(RECORDS.for_pool(pool)).bind(&open_keys).fetch_all(&mut *tx).await?;
        if records.is_empty() {
            // Every subject belongs to a record; without one there is no entry to write.
            tx.rollback().await?;
            return Ok(counts);
        }
        for record in &records {
            let Some(subject) = open.iter().find(|s| s.id == record.subject_id) else { continue };
            if !counts.ledger_seqs.is_empty() {
                // The head holds the previous entry now; reserve the next number.
                (seq, prev) = lock_head!(tx);
            }
            let history: Vec<ConsentEvent> = sqlx::query_as(concat!(
                "SELECT ", event_columns!(), " FROM consent_events WHERE record_id = $1 ORDER BY ledger_seq, id"
            ))
            .bind(&record.id)
            .fetch_all(&mut *tx)
            .await?;
            let events: Vec<ConsentEvent> = current_states(&history)
                .into_iter()
                .map(|e| ConsentEvent {
                    id: uuid::Uuid::now_v7().to_string(),
                    record_id: record.id.clone(),
                    purpose_id: e.purpose_id.clone(),
                    legal_basis: e.legal_basis.clone(),
                    state: PurposeState::Erased.as_str().to_owned(),
                    actor: actor.to_owned(),
                    occurred_at: now,
                    ledger_seq: seq,
                })
                .collect();
            let payload = ErasurePayload {
                record_id: &record.id,
                subject_id: &subject.id,
                subject_digest: &subject.digest,
                events: event_payloads(&events),
            };
            let entry = LedgerEntry::next(seq, &prev, now, EntryKind::SubjectErased, &record.id, &payload_hash(&payload));
            insert_entry!(tx, &entry);
            for event in &events {
                insert_event!(tx, event);
            }
            counts.events += events.len() as u64;
            counts.records += 1;
            counts.ledger_seqs.push(seq);
            prev = entry.entry_sha256.clone();
        }
        counts.subjects = sqlx::query(SUBJECTS.for_pool(pool))
            .bind(&open_keys)
            .bind(email_pseudonym)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // Rows found by address: deleted here, logged below under their own categories.
        let (attendance, consultants): (Vec<String>, Vec<String>) = match email {
            Some(email) => (
                sqlx::query_scalar("DELETE FROM workshop_attendance WHERE lower(email) = lower($1) RETURNING id")
                    .bind(email)
                    .fetch_all(&mut *tx)
                    .await?,
                sqlx::query_scalar("DELETE FROM consultants WHERE lower(email) = lower($1) RETURNING id")
                    .bind(email)
                    .fetch_all(&mut *tx)
                    .await?,
            ),
            None => (Vec::new(), Vec::new()),
        };
        counts.attendance = attendance.len() as u64;
        counts.consultants = consultants.len() as u64;
        let logged_rows = open
            .iter()
            .map(|s| ("teilnehmende-kontaktdaten", log.rule_versions.0, s.id.as_str()))
            .chain(attendance.iter().map(|id| ("workshop-teilnahme", log.rule_versions.1, id.as_str())))
            .chain(consultants.iter().map(|id| ("berater-listung", log.rule_versions.2, id.as_str())));
        let items: Vec<super::retention::BatchItem<'_>> = logged_rows
            .map(|(category, rule_version, key)| super::retention::BatchItem {
                deletion: super::retention::Deletion {
                    category,
                    rule_version,
                    start_on: log.on,
                    due_on: log.on,
                    subject_pseudonym: email_pseudonym.map(str::to_owned),
                    target: log.target,
                },
                key,
                replay_of: None,
            })
            .collect();
        let mut rows: std::collections::HashMap<String, i64> = items.iter().map(|i| (i.key.to_owned(), 1)).collect();
        // The head holds the last `subject.erased` entry; the log entries follow it.
        let (logged, ledger) = super::retention::log_entries(&items, &mut rows, &mut Default::default(), now, seq, prev.clone());
        super::ledger::insert_entries!(tx, &ledger);
        let logged: Vec<&super::retention::DeletionLogEntry> = logged.iter().flatten().collect();
        super::retention::insert_log!(tx, &logged);
        if let Some(email) = email {
            counts.outbox = sqlx::query(
                "UPDATE outbox SET to_email = NULL, body = NULL, consultant_id = NULL, last_error = NULL,
                        state = CASE WHEN state IN ('queued', 'sending', 'failed') THEN 'cancelled' ELSE state END,
                        finished_at = coalesce(finished_at, $2)
                 WHERE lower(to_email) = lower($1)",
            )
            .bind(email)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        // Write-ahead: the journal holds the erasure before the database does.
        (log.before_commit)(&logged)?;
        tx.commit().await?;
        Ok(counts)
    })
}

fn keys_of(subjects: &[StoredSubject]) -> String {
    keys(&subjects.iter().map(|s| s.id.clone()).collect::<Vec<_>>())
}

/// Audit events that name one of `targets` (`record:<id>`, `subject:<id>`).
pub async fn audit_about(
    db: &Db,
    targets: &[String],
) -> sqlx::Result<Vec<super::audit::AuditEvent>> {
    const SQL: super::DialectSql = keyed!(
        "SELECT id, at, actor, action, target, ip_truncated, ledger_seq FROM audit_events WHERE target IN ",
        " ORDER BY ledger_seq"
    );
    let keys = keys(targets);
    with_db!(db, pool => sqlx::query_as(SQL.for_pool(pool)).bind(&keys).fetch_all(pool).await)
}

/// Deletion log entries about the person with this pseudonym.
pub async fn deletions_for(
    db: &Db,
    pseudonym: &str,
) -> sqlx::Result<Vec<super::retention::DeletionLogEntry>> {
    let sql = concat!(
        "SELECT ",
        super::retention::deletion_columns!(),
        " FROM deletion_log WHERE subject_pseudonym = $1 ORDER BY executed_at, id"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(pseudonym).fetch_all(pool).await)
}
