//! Candidates for deletion under each rule, and deletions that commit together with their
//! deletion-log entry and its ledger entry: either all three happen or none, so a crash
//! leaves nothing half done and a repeated run finds nothing left to do.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::ledger::{append_direct, head_direct, insert_entries, lock_head_for_batch};
use super::sqlite_direct::{Direct, Param, numbered, with_locked};
use super::sqlite_scan::{ScanError, all_rows, unless_not_plain};
use super::{Db, DialectSql, keyed, sqlite_scan, with_db};
use crate::clock::{Clock, berlin_day as day, berlin_day_start, canonical_time};
use crate::domain::ledger::{DeletionPayload, EntryKind, LedgerEntry, Seal, payload_hash};

/// The e-mail address an anonymised staff account keeps (unique, so the column's constraint
/// holds; the id stays, so audit entries still group by account without naming anyone).
macro_rules! anonymised_account_prefix {
    () => {
        "anonymisiert-"
    };
}

/// The actor an anonymised audit event keeps.
macro_rules! anonymised_actor {
    () => {
        "anonymisiert"
    };
}

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
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
    /// The key of the row deleted or anonymised (a random id, never content): what
    /// `retention replay` deletes again after a restored backup.
    pub row_key: Option<String>,
    /// For entries written by `retention replay`: the entry re-applied.
    pub replay_of: Option<String>,
    /// The ledger entries whose rows this deletion removed or anonymised ([`Seal::format`]).
    pub sealed: Option<String>,
}

impl DeletionLogEntry {
    pub fn payload(&self) -> DeletionPayload<'_> {
        self.payload_with_time(&canonical_time(self.executed_at))
    }

    fn payload_with_time(&self, executed_at: &str) -> DeletionPayload<'_> {
        DeletionPayload {
            category: &self.category,
            due_on: self.due_on.to_string(),
            executed_at: executed_at.to_owned(),
            id: &self.id,
            replay_of: self.replay_of.as_deref(),
            row_key: self.row_key.as_deref(),
            rows_affected: self.rows_affected,
            rule_version: self.rule_version,
            sealed: self.sealed.as_deref(),
            start_on: self.start_on.to_string(),
            subject_pseudonym: self.subject_pseudonym.as_deref(),
            target: &self.target,
        }
    }
}

macro_rules! columns {
    () => {
        "id, executed_at, category, rule_version, start_on, due_on, subject_pseudonym, target, rows_affected, ledger_seq, row_key, replay_of, sealed"
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
    /// The language of letters to the person (`de`, `en`), where known.
    pub language: Option<String>,
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
            language: None,
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
            language: c.language,
            // A hold on a subject may name a consultant: the listing is that person's data.
            subject_id: Some(c.id.clone()),
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

pub async fn sessions(db: &Db) -> sqlx::Result<Vec<Candidate>> {
    let rows: Vec<(String, DateTime<Utc>)> = with_db!(db, pool => sqlx::query_as("SELECT id_sha256, last_seen_at FROM staff_sessions").fetch_all(pool).await?);
    Ok(rows
        .into_iter()
        .map(|(key, at)| Candidate::plain(key, day(at)))
        .collect())
}

/// Disabled staff accounts, from the day they were disabled (not yet anonymised).
pub async fn disabled_accounts(db: &Db) -> sqlx::Result<Vec<Candidate>> {
    let rows: Vec<(String, DateTime<Utc>)> = with_db!(db, pool => {
        sqlx::query_as(concat!(
            "SELECT id, disabled_at FROM staff_users WHERE disabled_at IS NOT NULL AND email NOT LIKE '",
            anonymised_account_prefix!(),
            "%'"
        ))
        .fetch_all(pool)
        .await?
    });
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

/// Where a page ended, for tables read in the order their rows were written (time, id):
/// also the order they lie on disk, so a sweep writes pages one after another instead of
/// all over the table.
pub type TimeCursor = (DateTime<Utc>, String);

/// Where a page of consent proofs ended: workshop id, ledger sequence number.
pub type ProofCursor = (String, i64);

/// One page of a large table: the due candidates among its rows, where it ended, and whether
/// it was full (more rows may follow).
pub struct Page<C> {
    pub candidates: Vec<Candidate>,
    pub cursor: Option<C>,
    pub full: bool,
}

/// Participants not yet erased whose workshop ended on or before `ended_by`, in pages after
/// `after` (keyset: deletions while paging do not shift the pages), with the cursor for the
/// next page. Every consent has its own subject, so a subject is one row here.
pub async fn participant_page(
    db: &Db,
    ended_by: NaiveDate,
    after: Option<&TimeCursor>,
    limit: i64,
) -> sqlx::Result<Page<TimeCursor>> {
    // CROSS JOIN makes SQLite walk the subjects in index order (no sort of all rows per
    // page); PostgreSQL plans it like a JOIN.
    const PARTICIPANTS: &str = "SELECT s.id, s.created_at, r.id, w.ends_on, s.email, w.slug
         FROM subjects s CROSS JOIN consent_records r CROSS JOIN workshops w
         WHERE r.subject_id = s.id AND w.id = r.workshop_id
           AND s.erased_at IS NULL AND (s.created_at, s.id) > ($1, $2) AND w.ends_on <= $3
         ORDER BY s.created_at, s.id LIMIT $4";
    type Row = (
        String,
        DateTime<Utc>,
        String,
        NaiveDate,
        Option<String>,
        String,
    );
    let origin = (DateTime::UNIX_EPOCH, String::new());
    let (after_time, after_id) = after.unwrap_or(&origin);
    // SQLite: stepped on this thread, as sqlx's hand-over of each row from its worker took
    // two thirds of the page's time (benches/NOTES.md, session 12).
    let direct = match db {
        Db::Sqlite(pool) => {
            let params: [&(dyn Param + Sync); 4] = [after_time, after_id, &ended_by, &limit];
            sqlite_scan::fetch_all::<Row>(pool, PARTICIPANTS, &params).await?
        }
        Db::Postgres(_) => None,
    };
    let rows = match direct {
        Some(rows) => rows,
        None => with_db!(db, pool => {
            sqlx::query_as(PARTICIPANTS)
                .bind(after_time)
                .bind(after_id)
                .bind(ended_by)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }),
    };
    let cursor = rows.last().map(|r| (r.1, r.0.clone()));
    let full = rows.len() as i64 == limit;
    let candidates = rows
        .into_iter()
        .map(|(key, _, record, ends, email, slug)| Candidate {
            subject_id: Some(key.clone()),
            key,
            start: ends,
            record_id: Some(record),
            email,
            workshop_slug: Some(slug),
            introduced_on: None,
            name: None,
            language: None,
        })
        .collect();
    Ok(Page {
        candidates,
        cursor,
        full,
    })
}

/// Consent proofs (record, events, rectifications, the pseudonymous subject) of workshops
/// that ended on or before `ended_by`, with the day processing ended as their start. Records
/// with a purpose still given (its latest event says `given`) are left out in the query: their
/// processing goes on. Keyed by subject (one per record).
pub async fn proof_page(
    db: &Db,
    ended_by: NaiveDate,
    after: Option<&ProofCursor>,
    limit: i64,
) -> sqlx::Result<Page<ProofCursor>> {
    let (after_workshop, after_seq) = after.cloned().unwrap_or_default();
    type Row = (
        String,
        i64,
        String,
        String,
        NaiveDate,
        String,
        Option<DateTime<Utc>>,
    );
    let rows: Vec<Row> = with_db!(db, pool => {
        sqlx::query_as(
            // The view `consent_events` is not used here: correlated with `r`, SQLite would
            // read all of it for each record. Later events come after the first ones, in
            // ledger order and in time.
            "SELECT w.id, r.ledger_seq, r.id, r.subject_id, w.ends_on, w.slug,
                    COALESCE((SELECT MAX(e.occurred_at) FROM later_consent_events e WHERE e.record_id = r.id),
                             (SELECT MAX(f.occurred_at) FROM first_consent_events f WHERE f.record_id = r.id))
             FROM workshops w JOIN consent_records r ON r.workshop_id = w.id
             WHERE w.ends_on <= $1 AND (w.id, r.ledger_seq) > ($2, $3)
               AND NOT EXISTS (
                 SELECT 1 FROM first_consent_events g
                 WHERE g.record_id = r.id AND g.state = 'given'
                   AND NOT EXISTS (SELECT 1 FROM later_consent_events l
                                   WHERE l.record_id = r.id AND l.purpose_id = g.purpose_id))
               AND NOT EXISTS (
                 SELECT 1 FROM later_consent_events g
                 WHERE g.record_id = r.id AND g.state = 'given'
                   AND NOT EXISTS (SELECT 1 FROM later_consent_events l
                                   WHERE l.record_id = g.record_id AND l.purpose_id = g.purpose_id
                                     AND l.ledger_seq > g.ledger_seq))
             ORDER BY w.id, r.ledger_seq LIMIT $4",
        )
        .bind(ended_by)
        .bind(&after_workshop)
        .bind(after_seq)
        .bind(limit)
        .fetch_all(pool)
        .await?
    });
    let cursor = rows.last().map(|r| (r.0.clone(), r.1));
    let full = rows.len() as i64 == limit;
    let candidates = rows
        .into_iter()
        .map(|(_, _, record, subject, ends, slug, last_event)| {
            let ended = crate::domain::retention::processing_ended(ends, last_event.map(day));
            Candidate {
                subject_id: Some(subject.clone()),
                record_id: Some(record),
                workshop_slug: Some(slug),
                ..Candidate::plain(subject, ended)
            }
        })
        .collect();
    Ok(Page {
        candidates,
        cursor,
        full,
    })
}

/// The staff audit log in all the tables that keep it, one `(id, at)` per row that still
/// names someone, `at` the time its clock starts: audit events and review comments when they
/// were written; notice versions when they were decided or withdrawn (never while in review:
/// approving checks who submitted); holds when released or ended, pauses when resumed (an
/// active hold or pause keeps who set it and why). Versions are keyed `notice/version`.
macro_rules! staff_trail {
    ($hold_ended:expr) => {
        concat!(
            "SELECT id, at FROM (
               SELECT id, at FROM audit_events
               WHERE actor <> '", anonymised_actor!(), "' OR target IS NOT NULL OR ip_truncated IS NOT NULL
               UNION ALL
               SELECT id, at FROM notice_reviews
               WHERE actor <> '", anonymised_actor!(), "' OR comment IS NOT NULL
               UNION ALL
               SELECT notice_id || '/' || version, COALESCE(decided_at, submitted_at, created_at)
               FROM notice_versions WHERE ", versions_naming!(), "
               UNION ALL
               SELECT id, COALESCE(released_at, ", $hold_ended, ") FROM retention_holds
               WHERE ", holds_naming!(), "
               UNION ALL
               SELECT id, resumed_at FROM retention_pauses WHERE ", pauses_naming!(), "
             ) AS trail
             WHERE at < $1 AND (at, id) > ($2, $3)
             ORDER BY at, id LIMIT $4"
        )
    };
}

/// Notice versions past review (decided or withdrawn) that still name their author, a
/// reviewer or give a withdrawal reason. Drafts and versions in review keep their names:
/// review must still be able to refuse their author and submitter (four eyes).
macro_rules! versions_naming {
    () => {
        concat!(
            "state NOT IN ('draft', 'in_review') AND (submitted_by <> '",
            anonymised_actor!(),
            "' OR decided_by <> '",
            anonymised_actor!(),
            "' OR uploaded_by <> '",
            anonymised_actor!(),
            "' OR withdrawn_reason IS NOT NULL)"
        )
    };
}

/// Released or ended holds that still name who set them, why, or the subject held.
macro_rules! holds_naming {
    () => {
        concat!(
            "(released_at IS NOT NULL OR ends_on IS NOT NULL) AND (created_by <> '",
            anonymised_actor!(),
            "' OR released_by <> '",
            anonymised_actor!(),
            "' OR reason <> '",
            anonymised_actor!(),
            "' OR (scope = 'subject' AND target <> '",
            anonymised_actor!(),
            "'))"
        )
    };
}

/// Resumed pauses that still name who paused or resumed, or why.
macro_rules! pauses_naming {
    () => {
        concat!(
            "resumed_at IS NOT NULL AND (paused_by <> '",
            anonymised_actor!(),
            "' OR resumed_by <> '",
            anonymised_actor!(),
            "' OR reason <> '",
            anonymised_actor!(),
            "')"
        )
    };
}

/// The staff audit log's rows (see [`staff_trail!`]) whose clock started on or before
/// `created_by` and that still name someone.
pub async fn audit_page(
    db: &Db,
    created_by: NaiveDate,
    after: Option<&TimeCursor>,
    limit: i64,
) -> sqlx::Result<Page<TimeCursor>> {
    const TRAIL: DialectSql = DialectSql {
        // A hold that ran out without being released ends with its last day.
        sqlite: staff_trail!("ends_on || 'T23:59:59+00:00'"),
        postgres: staff_trail!("(ends_on + time '23:59:59') AT TIME ZONE 'UTC'"),
    };
    time_page(db, TRAIL, created_by, after, limit).await
}

/// Deletion-log entries written on or before `created_by` that still carry a pseudonym.
pub async fn deletion_log_page(
    db: &Db,
    created_by: NaiveDate,
    after: Option<&TimeCursor>,
    limit: i64,
) -> sqlx::Result<Page<TimeCursor>> {
    const LOGGED: DialectSql = DialectSql::same(
        "SELECT id, executed_at FROM deletion_log
         WHERE executed_at < $1 AND (executed_at, id) > ($2, $3)
           AND subject_pseudonym IS NOT NULL
         ORDER BY executed_at, id LIMIT $4",
    );
    time_page(db, LOGGED, created_by, after, limit).await
}

/// A page of `(id, written at)` rows, their start the day they were written.
async fn time_page(
    db: &Db,
    sql: DialectSql,
    created_by: NaiveDate,
    after: Option<&TimeCursor>,
    limit: i64,
) -> sqlx::Result<Page<TimeCursor>> {
    let origin = (DateTime::UNIX_EPOCH, String::new());
    let (after_time, after_id) = after.unwrap_or(&origin);
    let rows: Vec<(String, DateTime<Utc>)> = with_db!(db, pool => {
        sqlx::query_as(sql.for_pool(pool))
            // Rows written before the next Berlin day started.
            .bind(created_by.succ_opt().and_then(berlin_day_start).unwrap_or(DateTime::<Utc>::MAX_UTC))
            .bind(after_time)
            .bind(after_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
    });
    let cursor = rows.last().map(|(id, at)| (*at, id.clone()));
    let full = rows.len() as i64 == limit;
    Ok(Page {
        candidates: rows
            .into_iter()
            .map(|(id, at)| Candidate::plain(id, day(at)))
            .collect(),
        cursor,
        full,
    })
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

/// One statement of a deletion over a set of keys (`$1`, see [`keyed!`]; `$2` the time if
/// `binds_now`). It returns the key of every row it changed, so each key's log entry counts
/// its own rows; a key whose statements change nothing was already done.
pub struct Statement {
    sql: DialectSql,
    binds_now: bool,
}

const fn by_keys(sql: DialectSql) -> Statement {
    Statement {
        sql,
        binds_now: false,
    }
}

/// How each enforced category is deleted.
fn statements_for(category: &str) -> &'static [Statement] {
    match category {
        "sitzungen" => SESSIONS,
        "anmelde-fehlversuche" => LOGIN_FAILURES,
        "api-tokens" => API_TOKENS,
        "teilnehmende-kontaktdaten" => ANONYMISE_PARTICIPANTS,
        "berater-listung" => CONSULTANT_LISTINGS,
        "workshop-teilnahme" => ATTENDANCE,
        "erinnerungen-outbox" => FINISHED_MESSAGES,
        "mitarbeitende-konten" => ANONYMISE_ACCOUNTS,
        "einwilligungsnachweise" => TOMBSTONE_PROOFS,
        "pruefprotokoll" => ANONYMISE_AUDIT,
        "loeschprotokoll" => ANONYMISE_DELETION_LOG,
        _ => &[],
    }
}

/// How deleting a category keeps `verify` whole where ledger entries cover the rows: each
/// deletion-log entry seals the entries of the rows it removed or anonymised.
enum Sealing {
    /// No ledger entry covers these rows (or, for participants' contact data, the entries
    /// cover a digest that stays).
    Nothing,
    /// The rows go; the query lists `(key, seq)` of every entry covering them, read before.
    Tombstone(DialectSql),
    /// Audit rows are anonymised; the seal carries the hash of what is left of each.
    AuditResidual,
    /// Deletion-log rows are anonymised; likewise.
    DeletionLogResidual,
}

fn sealing_for(category: &str) -> Sealing {
    match category {
        "einwilligungsnachweise" => Sealing::Tombstone(PROOF_ENTRIES),
        "pruefprotokoll" => Sealing::AuditResidual,
        "loeschprotokoll" => Sealing::DeletionLogResidual,
        _ => Sealing::Nothing,
    }
}

/// The ledger entries of a consent proof, keyed by subject: the record, its events (later
/// withdrawals and an erasure among them) and its rectifications.
const PROOF_ENTRIES: DialectSql = keyed!(
    "WITH k(id) AS ",
    " SELECT r.subject_id, r.ledger_seq FROM consent_records r
      WHERE r.subject_id IN (SELECT id FROM k)
      UNION SELECT r.subject_id, e.ledger_seq FROM consent_records r
        JOIN later_consent_events e ON e.record_id = r.id
      WHERE r.subject_id IN (SELECT id FROM k)
      UNION SELECT x.subject_id, x.ledger_seq FROM subject_rectifications x
      WHERE x.subject_id IN (SELECT id FROM k)"
);

/// A consent proof reduced to a tombstone: its rows go, children first; the ledger keeps
/// their hashes, and the deletion-log entry (keyed by the subject, like the anonymisation of
/// the contact data years before) seals them.
const TOMBSTONE_PROOFS: &[Statement] = &[
    by_keys(keyed!(
        "DELETE FROM subject_rectifications WHERE subject_id IN ",
        " RETURNING subject_id"
    )),
    by_keys(keyed!(
        "DELETE FROM later_consent_events WHERE record_id IN (SELECT id FROM consent_records WHERE subject_id IN ",
        ") RETURNING (SELECT r.subject_id FROM consent_records r WHERE r.id = later_consent_events.record_id)"
    )),
    by_keys(keyed!(
        "DELETE FROM consent_records WHERE subject_id IN ",
        " RETURNING subject_id"
    )),
    by_keys(keyed!("DELETE FROM subjects WHERE id IN ", " RETURNING id")),
];
/// Who did it, from where and to what, review comments and the reasons for withdrawals,
/// holds and pauses go; what was done when stays.
const ANONYMISE_AUDIT: &[Statement] = &[
    by_keys(keyed!(
        concat!(
            "UPDATE notice_versions SET
               submitted_by = CASE WHEN submitted_by IS NOT NULL THEN '",
            anonymised_actor!(),
            "' END,
               decided_by = CASE WHEN decided_by IS NOT NULL THEN '",
            anonymised_actor!(),
            "' END,
               uploaded_by = CASE WHEN uploaded_by IS NOT NULL THEN '",
            anonymised_actor!(),
            "' END,
               withdrawn_reason = NULL
             WHERE ",
            versions_naming!(),
            " AND notice_id || '/' || version IN "
        ),
        " RETURNING notice_id || '/' || version"
    )),
    by_keys(keyed!(
        concat!(
            "UPDATE retention_holds SET created_by = '",
            anonymised_actor!(),
            "',
               released_by = CASE WHEN released_by IS NOT NULL THEN '",
            anonymised_actor!(),
            "' END,
               reason = '",
            anonymised_actor!(),
            "',
               target = CASE WHEN scope = 'subject' THEN '",
            anonymised_actor!(),
            "' ELSE target END
             WHERE ",
            holds_naming!(),
            " AND id IN "
        ),
        " RETURNING id"
    )),
    by_keys(keyed!(
        concat!(
            "UPDATE retention_pauses SET paused_by = '",
            anonymised_actor!(),
            "',
               resumed_by = CASE WHEN resumed_by IS NOT NULL THEN '",
            anonymised_actor!(),
            "' END,
               reason = '",
            anonymised_actor!(),
            "'
             WHERE ",
            pauses_naming!(),
            " AND id IN "
        ),
        " RETURNING id"
    )),
    by_keys(keyed!(
        concat!(
            "UPDATE audit_events SET actor = '",
            anonymised_actor!(),
            "', target = NULL, ip_truncated = NULL
             WHERE (actor <> '",
            anonymised_actor!(),
            "' OR target IS NOT NULL OR ip_truncated IS NOT NULL) AND id IN "
        ),
        " RETURNING id"
    )),
    by_keys(keyed!(
        concat!(
            "UPDATE notice_reviews SET actor = '",
            anonymised_actor!(),
            "', comment = NULL WHERE (actor <> '",
            anonymised_actor!(),
            "' OR comment IS NOT NULL) AND id IN "
        ),
        " RETURNING id"
    )),
];
/// The pseudonym goes; the row key stays (it names a row that is itself gone or anonymous,
/// and `retention replay` needs it).
const ANONYMISE_DELETION_LOG: &[Statement] = &[by_keys(keyed!(
    "UPDATE deletion_log SET subject_pseudonym = NULL WHERE subject_pseudonym IS NOT NULL AND id IN ",
    " RETURNING id"
))];

const SESSIONS: &[Statement] = &[by_keys(keyed!(
    "DELETE FROM staff_sessions WHERE id_sha256 IN ",
    " RETURNING id_sha256"
))];
const LOGIN_FAILURES: &[Statement] = &[by_keys(keyed!(
    "DELETE FROM login_failures WHERE id IN ",
    " RETURNING id"
))];
const API_TOKENS: &[Statement] = &[by_keys(keyed!(
    "DELETE FROM api_tokens WHERE id IN ",
    " RETURNING id"
))];
/// Name, e-mail, organisation, salt, the truncated address and the user agent go: one row
/// per participant since migration 0016 moved the last two out of the record. The digest
/// stays, so the consent proof still verifies (pseudonymous). The statement only touches
/// rows that still hold data, so a repeat changes nothing.
const ANONYMISE_PARTICIPANTS: &[Statement] = &[Statement {
    sql: keyed!(
        "UPDATE subjects SET name = NULL, email = NULL, organisation = NULL, salt = NULL,
                ip_truncated = NULL, user_agent = NULL, erased_at = $2
         WHERE erased_at IS NULL AND id IN ",
        " RETURNING id"
    ),
    binds_now: true,
}];
/// Letters not yet delivered are cancelled and lose address and text with the listing, as on
/// erasure; finished, they fall to the outbox's own rule (which only takes finished letters).
const CONSULTANT_LISTINGS: &[Statement] = &[
    Statement {
        sql: keyed!(
            "UPDATE outbox SET state = 'cancelled', to_email = NULL, body = NULL, last_error = NULL,
                    finished_at = $2
             WHERE finished_at IS NULL AND consultant_id IN ",
            " RETURNING consultant_id"
        ),
        binds_now: true,
    },
    by_keys(keyed!(
        "DELETE FROM consultant_authorisations WHERE consultant_id IN ",
        " RETURNING consultant_id"
    )),
    by_keys(keyed!(
        "DELETE FROM consultants WHERE id IN ",
        " RETURNING id"
    )),
];
/// The address and password hash go; a disabled account cannot sign in anyway.
const ANONYMISE_ACCOUNTS: &[Statement] = &[by_keys(keyed!(
    concat!(
        "UPDATE staff_users SET email = '",
        anonymised_account_prefix!(),
        "' || id || '@konto.invalid', password_hash = '!', last_login_at = NULL
         WHERE disabled_at IS NOT NULL AND email NOT LIKE '",
        anonymised_account_prefix!(),
        "%' AND id IN "
    ),
    " RETURNING id"
))];
const ATTENDANCE: &[Statement] = &[by_keys(keyed!(
    "DELETE FROM workshop_attendance WHERE id IN ",
    " RETURNING id"
))];
const FINISHED_MESSAGES: &[Statement] = &[by_keys(keyed!(
    "DELETE FROM outbox WHERE finished_at IS NOT NULL AND id IN ",
    " RETURNING id"
))];

/// One due item of a batch: its log fields and its row key.
pub struct BatchItem<'a> {
    pub deletion: Deletion<'a>,
    pub key: &'a str,
    /// For `retention replay`: the log entry this deletion repeats.
    pub replay_of: Option<&'a str>,
}

/// Called with a batch's log entries after its statements ran and before it commits (the
/// deletion journal); an error rolls the batch back.
pub type BeforeCommit<'a> = &'a (dyn Fn(&[&DeletionLogEntry]) -> std::io::Result<()> + Sync);

/// Deletes a batch of a category set-based in one transaction (one commit, one fsync): each
/// statement runs once over all keys; each item that changed anything gets its own
/// deletion-log entry and ledger entry, inserted as one statement each. Items already gone
/// are skipped (`None` at their position). The ledger lock is taken first, so batches of
/// several instances never interleave and never delete the same row twice.
pub async fn execute_batch(
    db: &Db,
    clock: &Clock,
    items: &[BatchItem<'_>],
    category: &str,
    before_commit: BeforeCommit<'_>,
) -> sqlx::Result<Vec<Option<DeletionLogEntry>>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let keys = serde_json::to_string(&items.iter().map(|i| i.key).collect::<Vec<_>>())
        .expect("plain strings");
    if let Db::Sqlite(pool) = db {
        let batch = DirectBatch {
            items,
            category,
            keys: &keys,
            before_commit,
        };
        if let Some(results) = batch.execute(pool, clock).await? {
            return Ok(results);
        }
    }
    let now = clock.now();
    let sealing = sealing_for(category);
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let (seq, prev) = lock_head_for_batch!(tx);
        let mut seals: HashMap<String, Vec<Seal>> = HashMap::new();
        if let Sealing::Tombstone(entries) = &sealing {
            let found: Vec<(String, i64)> = sqlx::query_as(entries.for_pool(pool))
                .bind(&keys)
                .fetch_all(&mut *tx)
                .await?;
            add_seals(&mut seals, found.into_iter().map(|(key, seq)| (key, seq, None)));
        }
        let mut rows: HashMap<String, i64> = HashMap::with_capacity(items.len());
        for statement in statements_for(category) {
            let query = sqlx::query_scalar::<_, String>(statement.sql.for_pool(pool)).bind(&keys);
            let query = if statement.binds_now { query.bind(now) } else { query };
            for key in query.fetch_all(&mut *tx).await? {
                *rows.entry(key).or_default() += 1;
            }
        }
        let residuals = match sealing {
            Sealing::AuditResidual => {
                let left: Vec<super::audit::AuditEvent> = sqlx::query_as(AUDIT_LEFT.for_pool(pool))
                    .bind(&keys)
                    .fetch_all(&mut *tx)
                    .await?;
                audit_residuals(&left)
            }
            Sealing::DeletionLogResidual => {
                let left: Vec<DeletionLogEntry> = sqlx::query_as(LOG_LEFT.for_pool(pool))
                    .bind(&keys)
                    .fetch_all(&mut *tx)
                    .await?;
                log_residuals(&left)
            }
            Sealing::Nothing | Sealing::Tombstone(_) => Vec::new(),
        };
        add_seals(&mut seals, residuals);
        let (results, ledger) = log_entries(items, &mut rows, &mut seals, now, seq, prev);
        if ledger.is_empty() {
            tx.rollback().await?;
            return Ok(results);
        }
        // Ledger first: log rows reference their entries.
        insert_entries!(tx, &ledger);
        let logged: Vec<&DeletionLogEntry> = results.iter().flatten().collect();
        insert_log!(tx, &logged);
        before_commit(&logged)?;
        tx.commit().await?;
        Ok(results)
    })
}

/// What is left of the anonymised rows of a batch (`$1` its keys), to seal it.
const AUDIT_LEFT: DialectSql = keyed!(
    concat!(
        "SELECT ",
        super::audit::audit_columns!(),
        " FROM audit_events WHERE id IN "
    ),
    ""
);
const LOG_LEFT: DialectSql = keyed!(
    concat!("SELECT ", columns!(), " FROM deletion_log WHERE id IN "),
    ""
);

/// The seal of each anonymised audit row: `(key, seq, hash of what is left)`, the hash as
/// `verify` computes it.
fn audit_residuals(left: &[super::audit::AuditEvent]) -> Vec<(String, i64, Option<String>)> {
    let hash = |a: &super::audit::AuditEvent| Some(payload_hash(&a.payload()));
    left.iter()
        .map(|a| (a.id.clone(), a.ledger_seq, hash(a)))
        .collect()
}

/// Likewise for anonymised deletion-log rows.
fn log_residuals(left: &[DeletionLogEntry]) -> Vec<(String, i64, Option<String>)> {
    let hash = |d: &DeletionLogEntry| Some(d.payload().hash());
    left.iter()
        .map(|d| (d.id.clone(), d.ledger_seq, hash(d)))
        .collect()
}

/// Adds `(key, seq, residual hash)` seals, grouped by the key whose deletion seals them.
fn add_seals(
    seals: &mut HashMap<String, Vec<Seal>>,
    found: impl IntoIterator<Item = (String, i64, Option<String>)>,
) {
    for (key, seq, residual_sha256) in found {
        let seal = Seal {
            seq,
            residual_sha256,
        };
        seals.entry(key).or_default().push(seal);
    }
}

/// [`execute_batch`] on SQLite: the whole transaction on this thread through the locked
/// connection. Through sqlx, every key a statement returns (two per participant) was handed
/// over from its worker thread one row at a time (benches/NOTES.md, session 16).
struct DirectBatch<'a> {
    items: &'a [BatchItem<'a>],
    category: &'a str,
    keys: &'a str,
    before_commit: BeforeCommit<'a>,
}

impl DirectBatch<'_> {
    /// The results, or `None` when a value read is in a form only sqlx reads (nothing was
    /// changed then: the caller runs the batch through sqlx).
    async fn execute(
        &self,
        pool: &sqlx::SqlitePool,
        clock: &Clock,
    ) -> sqlx::Result<Option<Vec<Option<DeletionLogEntry>>>> {
        unless_not_plain(with_locked(pool, |db| self.run(db, clock)).await)
    }

    fn run(
        &self,
        db: &Direct<'_>,
        clock: &Clock,
    ) -> Result<Vec<Option<DeletionLogEntry>>, ScanError> {
        // The write lock at once, as the consent writer takes it: the ledger head cannot move.
        db.execute("BEGIN IMMEDIATE")?;
        let (seq, prev) = head_direct(db)?;
        let now = clock.now();
        let keys: [&dyn Param; 1] = [&self.keys];
        // A keyed read (`$1` the keys), stepped here.
        let read = |sql: DialectSql| {
            let mut read = db.prepare(&numbered(sql.sqlite))?;
            read.query(&keys)?;
            Ok::<_, ScanError>(read)
        };
        let sealing = sealing_for(self.category);
        let mut seals: HashMap<String, Vec<Seal>> = HashMap::new();
        if let Sealing::Tombstone(entries) = sealing {
            let found = all_rows::<(String, i64)>(&mut read(entries)?)?;
            add_seals(
                &mut seals,
                found.into_iter().map(|(key, seq)| (key, seq, None)),
            );
        }
        let mut rows: HashMap<String, i64> = HashMap::with_capacity(self.items.len());
        for statement in statements_for(self.category) {
            let mut run = db.prepare(&numbered(statement.sql.sqlite))?;
            if statement.binds_now {
                run.query(&[&self.keys, &now])?;
            } else {
                run.query(&keys)?;
            }
            while let Some(row) = run.next_row()? {
                let key = row.text(0).ok_or(ScanError::NotPlain)?;
                *rows.entry(key.to_owned()).or_default() += 1;
            }
        }
        let residuals = match sealing {
            Sealing::AuditResidual => audit_residuals(&all_rows(&mut read(AUDIT_LEFT)?)?),
            Sealing::DeletionLogResidual => log_residuals(&all_rows(&mut read(LOG_LEFT)?)?),
            Sealing::Nothing | Sealing::Tombstone(_) => Vec::new(),
        };
        add_seals(&mut seals, residuals);
        let (results, ledger) = log_entries(self.items, &mut rows, &mut seals, now, seq, prev);
        if ledger.is_empty() {
            db.execute("ROLLBACK")?;
            return Ok(results);
        }
        let logged: Vec<&DeletionLogEntry> = results.iter().flatten().collect();
        // The journal is written and synced on a core of its own while the rows go in; it
        // is whole before the commit all the same.
        let before_commit = self.before_commit;
        std::thread::scope(|scope| {
            let journal = scope.spawn(|| before_commit(&logged));
            let inserted = append_direct(db, &ledger).and_then(|()| insert_log_direct(db, &logged));
            let journaled = journal
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            inserted.and(journaled.map_err(sqlx::Error::from))
        })?;
        db.execute("COMMIT")?;
        Ok(results)
    }
}

/// [`insert_log!`] on a connection used directly.
fn insert_log_direct(db: &Direct<'_>, entries: &[&DeletionLogEntry]) -> sqlx::Result<()> {
    let mut insert = db.prepare_insert(concat!("INSERT INTO deletion_log (", columns!(), ") "))?;
    for e in entries {
        insert.execute(&[
            &e.id,
            &e.executed_at,
            &e.category,
            &e.rule_version,
            &e.start_on,
            &e.due_on,
            &e.subject_pseudonym,
            &e.target,
            &e.rows_affected,
            &e.ledger_seq,
            &e.row_key,
            &e.replay_of,
            &e.sealed,
        ])?;
    }
    Ok(())
}

/// The log entries and chained ledger entries of the items that changed rows, in item order.
pub(crate) fn log_entries(
    items: &[BatchItem<'_>],
    rows: &mut HashMap<String, i64>,
    seals: &mut HashMap<String, Vec<Seal>>,
    now: DateTime<Utc>,
    mut seq: i64,
    mut prev: String,
) -> (Vec<Option<DeletionLogEntry>>, Vec<LedgerEntry>) {
    let executed_at = canonical_time(now);
    let mut ledger = Vec::new();
    let results = items
        .iter()
        .map(|item| {
            // `remove`: a key listed twice is deleted (and logged) once.
            let count = rows.remove(item.key).filter(|n| *n > 0)?;
            seq += 1;
            let d = &item.deletion;
            // Time-ordered ids: log rows and their ledger references (the ledger entry refers
            // to the log entry) are appended in index order.
            let entry = DeletionLogEntry {
                id: uuid::Uuid::now_v7().to_string(),
                executed_at: now,
                category: d.category.to_owned(),
                rule_version: d.rule_version,
                start_on: d.start_on,
                due_on: d.due_on,
                subject_pseudonym: d.subject_pseudonym.clone(),
                target: d.target.to_owned(),
                rows_affected: count,
                ledger_seq: seq,
                row_key: Some(item.key.to_owned()),
                replay_of: item.replay_of.map(str::to_owned),
                sealed: seals.remove(item.key).map(|s| Seal::format(&s)),
            };
            let hash = entry.payload_with_time(&executed_at).hash();
            let next = LedgerEntry::next(seq, &prev, now, EntryKind::Deletion, &entry.id, &hash);
            prev.clone_from(&next.entry_sha256);
            ledger.push(next);
            Some(entry)
        })
        .collect();
    (results, ledger)
}

/// Inserts deletion-log rows (their ledger entries first: the rows reference them).
macro_rules! insert_log {
    ($tx:expr, $entries:expr) => {{
        let entries: &[&$crate::store::retention::DeletionLogEntry] = $entries;
        $crate::store::bulk::AppendRows::append_deletion_log_rows(&mut *$tx, entries).await?;
    }};
}
pub(crate) use insert_log;

/// Which of these deletion-log ids this database has, as entries or as replays of them.
pub async fn logged_among(
    db: &Db,
    ids: &[&str],
) -> sqlx::Result<std::collections::HashSet<String>> {
    const LOGGED: DialectSql = DialectSql {
        sqlite: "SELECT id FROM deletion_log WHERE id IN (SELECT value FROM json_each($1))
                 UNION SELECT replay_of FROM deletion_log WHERE replay_of IN (SELECT value FROM json_each($1))",
        postgres: "SELECT id FROM deletion_log WHERE id IN (SELECT jsonb_array_elements_text($1::text::jsonb))
                   UNION SELECT replay_of FROM deletion_log
                   WHERE replay_of IN (SELECT jsonb_array_elements_text($1::text::jsonb))",
    };
    let ids = serde_json::to_string(ids).expect("plain strings");
    let found: Vec<String> = with_db!(db, pool => {
        sqlx::query_scalar(LOGGED.for_pool(pool)).bind(&ids).fetch_all(pool).await?
    });
    Ok(found.into_iter().collect())
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
            .bind(uuid::Uuid::now_v7().to_string())
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
