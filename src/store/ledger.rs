//! Appending to and reading the ledger.
//!
//! Appending happens inside the caller's transaction: [`lock_head!`] is its first statement
//! (an UPDATE, so SQLite takes the write lock at once and PostgreSQL row-locks the head; a
//! waiting writer then sees the committed head), [`insert_entry!`] writes the entry and moves
//! the head. Writers across connections and processes therefore form one linear chain.

use chrono::{DateTime, Utc};

use super::audit::AuditEvent;
use super::consents::{
    ConsentEvent, ConsentRecord, StoredSubject, decode_first_events, event_columns, record_columns,
    subject_columns,
};
use super::retention::DeletionLogEntry;
use super::sqlite_direct::{Direct, blocking};
use super::sqlite_scan::{Column, Scan, ScanError, scan, scan_fields, unless_not_plain};
use super::subjects::Rectification;
use super::{Db, with_db};
use crate::domain::ledger::{ChainStretch, EntryView, LedgerEntry};

/// The ledger head as `(seq, entry_sha256)`.
pub type LedgerHead = (i64, String);

/// Reads the head (one row, its [`LedgerHead`]).
const HEAD_SQL: &str = "SELECT seq, entry_sha256 FROM ledger_head WHERE id = 1";

/// Locks the head in transaction `$tx`; evaluates to `(next_seq, prev_sha256)`.
macro_rules! lock_head {
    ($tx:expr) => {{
        let row: (i64, String) = sqlx::query_as(
            "UPDATE ledger_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, entry_sha256",
        )
        .fetch_one(&mut *$tx)
        .await?;
        row
    }};
}
pub(crate) use lock_head;

/// Inserts `$entry` (a `LedgerEntry` built on `lock_head!`'s values) and moves the head to it.
macro_rules! insert_entry {
    ($tx:expr, $entry:expr) => {{
        let entry: &$crate::domain::ledger::LedgerEntry = $entry;
        sqlx::query(
            "INSERT INTO ledger (seq, recorded_at, kind, ref_id, payload_sha256, prev_sha256, entry_sha256)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(entry.seq)
        .bind(entry.recorded_at)
        .bind(&entry.kind)
        .bind(&entry.ref_id)
        .bind(&entry.payload_sha256)
        .bind(&entry.prev_sha256)
        .bind(&entry.entry_sha256)
        .execute(&mut *$tx)
        .await?;
        sqlx::query("UPDATE ledger_head SET entry_sha256 = $1 WHERE id = 1")
            .bind(&entry.entry_sha256)
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use insert_entry;

/// Locks the head in transaction `$tx` without reserving a number, for appending a batch
/// with [`insert_entries!`]; evaluates to `(seq, sha256)` of the current head.
macro_rules! lock_head_for_batch {
    ($tx:expr) => {{
        let row: (i64, String) = sqlx::query_as(
            "UPDATE ledger_head SET seq = seq WHERE id = 1 RETURNING seq, entry_sha256",
        )
        .fetch_one(&mut *$tx)
        .await?;
        row
    }};
}
pub(crate) use lock_head_for_batch;

/// The ledger's columns, in the order entries are inserted.
macro_rules! entry_columns {
    () => {
        "seq, recorded_at, kind, ref_id, payload_sha256, prev_sha256, entry_sha256"
    };
}
pub(crate) use entry_columns;

/// Inserts consecutive `$entries` (following the head [`lock_head_for_batch!`] returned) and
/// moves the head to the last of them.
macro_rules! insert_entries {
    ($tx:expr, $entries:expr) => {{
        let entries: &[$crate::domain::ledger::LedgerEntry] = $entries;
        if let Some(last) = entries.last() {
            $crate::store::bulk::AppendRows::append_ledger_rows(&mut *$tx, entries).await?;
            sqlx::query("UPDATE ledger_head SET seq = $1, entry_sha256 = $2 WHERE id = 1")
                .bind(last.seq)
                .bind(&last.entry_sha256)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}
pub(crate) use insert_entries;

/// The head `(seq, sha256)` as the transaction of a connection used directly sees it (the
/// consent writer reads it holding SQLite's write lock, `BEGIN IMMEDIATE`, so nobody can move
/// it before that transaction ends).
pub(crate) fn head_direct(db: &Direct<'_>) -> Result<LedgerHead, ScanError> {
    let head = scan::<HeadRow>(db, "ledger_head WHERE id = 1")?
        .pop()
        .ok_or(ScanError::Sqlite(sqlx::Error::RowNotFound))?;
    Ok((head.seq, head.entry_sha256))
}

/// [`insert_entries!`] on a connection used directly: appends consecutive `entries` after the
/// head [`head_direct`] read, and moves the head to the last of them.
pub(crate) fn append_direct<'e>(
    db: &Direct<'_>,
    entries: impl IntoIterator<Item = &'e LedgerEntry>,
) -> sqlx::Result<()> {
    let mut insert = db.prepare_insert(concat!("INSERT INTO ledger (", entry_columns!(), ") "))?;
    let mut last = None;
    for e in entries {
        insert.execute(&[
            &e.seq,
            &e.recorded_at,
            &e.kind,
            &e.ref_id,
            &e.payload_sha256,
            &e.prev_sha256,
            &e.entry_sha256,
        ])?;
        last = Some(e);
    }
    if let Some(last) = last {
        db.prepare("UPDATE ledger_head SET seq = ?, entry_sha256 = ? WHERE id = 1")?
            .execute(&[&last.seq, &last.entry_sha256])?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    seq: i64,
    recorded_at: DateTime<Utc>,
    kind: String,
    ref_id: String,
    payload_sha256: String,
    prev_sha256: String,
    entry_sha256: String,
}

impl From<EntryRow> for LedgerEntry {
    fn from(r: EntryRow) -> Self {
        LedgerEntry {
            seq: r.seq,
            recorded_at: r.recorded_at,
            kind: r.kind,
            ref_id: r.ref_id,
            payload_sha256: r.payload_sha256,
            prev_sha256: r.prev_sha256,
            entry_sha256: r.entry_sha256,
        }
    }
}

/// The recorded head: `(seq, entry_sha256)`.
pub async fn head(db: &Db) -> sqlx::Result<LedgerHead> {
    with_db!(db, pool => {
        sqlx::query_as(HEAD_SQL)
            .fetch_one(pool)
            .await
    })
}

/// The service's numbers for `/metrics`.
pub struct Counts {
    pub consent_records: i64,
    pub withdrawals: i64,
    pub deletions: i64,
    pub ledger_length: i64,
}

pub async fn counts(db: &Db) -> sqlx::Result<Counts> {
    let row: (i64, i64, i64, i64) = with_db!(db, pool => sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM consent_records),
                (SELECT COUNT(*) FROM later_consent_events WHERE state = 'withdrawn'),
                (SELECT COUNT(*) FROM deletion_log),
                (SELECT seq FROM ledger_head WHERE id = 1)",
    )
    .fetch_one(pool)
    .await)?;
    Ok(Counts {
        consent_records: row.0,
        withdrawals: row.1,
        deletions: row.2,
        ledger_length: row.3,
    })
}

/// The entries about one record, subject or event (their `ref_id`), oldest first.
pub async fn entries_about(db: &Db, ref_id: &str) -> sqlx::Result<Vec<LedgerEntry>> {
    let sql = "SELECT seq, recorded_at, kind, ref_id, payload_sha256, prev_sha256, entry_sha256
               FROM ledger WHERE ref_id = $1 ORDER BY seq";
    let rows: Vec<EntryRow> =
        with_db!(db, pool => sqlx::query_as(sql).bind(ref_id).fetch_all(pool).await)?;
    Ok(rows.into_iter().map(LedgerEntry::from).collect())
}

/// The entry with this sequence number.
pub async fn entry(db: &Db, seq: i64) -> sqlx::Result<Option<LedgerEntry>> {
    let sql = "SELECT seq, recorded_at, kind, ref_id, payload_sha256, prev_sha256, entry_sha256
               FROM ledger WHERE seq = $1";
    let row: Option<EntryRow> =
        with_db!(db, pool => sqlx::query_as(sql).bind(seq).fetch_optional(pool).await)?;
    Ok(row.map(LedgerEntry::from))
}

/// Everything `verify` compares, read at one consistent moment.
#[derive(Debug)]
pub struct Snapshot {
    pub entries: Vec<LedgerEntry>,
    pub head: LedgerHead,
    pub records: Vec<ConsentRecord>,
    pub events: Vec<ConsentEvent>,
    pub subjects: Vec<StoredSubject>,
    pub audit_events: Vec<super::audit::AuditEvent>,
    /// (sha256, markdown) of every stored notice text.
    pub notice_texts: Vec<(String, String)>,
    pub deletions: Vec<super::retention::DeletionLogEntry>,
    pub rectifications: Vec<super::subjects::Rectification>,
}

pub async fn snapshot(db: &Db) -> sqlx::Result<Snapshot> {
    match scanned_snapshot(db).await? {
        Some(snapshot) => Ok(snapshot),
        None => snapshot_by_rows(db).await,
    }
}

/// SQLite's direct read of the snapshot; `None` on PostgreSQL, or when a value needs sqlx's
/// decoding. Public so tests can compare it with [`snapshot_by_rows`].
///
/// Two connections read half of the tables each, on two threads: the read is most of what
/// `verify` costs.
#[doc(hidden)]
pub async fn scanned_snapshot(db: &Db) -> sqlx::Result<Option<Snapshot>> {
    let Db::Sqlite(pool) = db else {
        return Ok(None);
    };
    with_two_readers(pool, read_in_parallel).await
}

/// The ledger's entries and its head, read at one moment: all `consentd verify
/// --chain-only` needs. On SQLite two connections read half of the entries each.
pub async fn chain(db: &Db) -> sqlx::Result<(Vec<LedgerEntry>, LedgerHead)> {
    if let Db::Sqlite(pool) = db
        && let Some(read) = with_two_readers(pool, read_chain_in_parallel).await?
    {
        return Ok(read);
    }
    let is_postgres = matches!(db, Db::Postgres(_));
    with_db!(db, pool => {
        let mut tx = begin_snapshot!(pool, is_postgres);
        let read = chain_in!(tx);
        tx.commit().await?;
        Ok(read)
    })
}

/// Begins a transaction on `$pool` whose reads all see one moment: SQLite's read
/// transaction is a snapshot already; PostgreSQL's default is not.
macro_rules! begin_snapshot {
    ($pool:expr, $is_postgres:expr) => {{
        let mut tx = $pool.begin().await?;
        if $is_postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        tx
    }};
}
use begin_snapshot;

/// The entries and the head, read in transaction `$tx`.
macro_rules! chain_in {
    ($tx:expr) => {{
        let sql = concat!("SELECT ", entry_columns!(), " FROM ledger ORDER BY seq");
        let rows: Vec<EntryRow> = sqlx::query_as(sql).fetch_all(&mut *$tx).await?;
        let head: LedgerHead = sqlx::query_as(HEAD_SQL).fetch_one(&mut *$tx).await?;
        let entries: Vec<LedgerEntry> = rows.into_iter().map(LedgerEntry::from).collect();
        (entries, head)
    }};
}
use chain_in;

/// The ledger walked as it is read, never held: on SQLite each of two connections streams
/// half of the entries through a [`ChainStretch`], on PostgreSQL one stream does all; with
/// the head read at the same moment. `None` when a value needs sqlx's decoding on SQLite
/// (then read [`chain`]).
pub async fn walk_chain(db: &Db) -> sqlx::Result<Option<(Vec<ChainStretch>, LedgerHead)>> {
    match db {
        Db::Sqlite(pool) => {
            with_two_readers(pool, |first, second, head| {
                let (low, high) = by_halves(first, second, head.0, walk)?;
                Ok((vec![low, high], head))
            })
            .await
        }
        Db::Postgres(pool) => walk_postgres(pool).await.map(Some),
    }
}

/// [`walk_chain`] on PostgreSQL: the rows streamed from the server in one snapshot, each
/// hashed as it arrives.
async fn walk_postgres(pool: &sqlx::PgPool) -> sqlx::Result<(Vec<ChainStretch>, LedgerHead)> {
    use futures::TryStreamExt;
    use sqlx::Row;
    let mut tx = begin_snapshot!(pool, true);
    let head: LedgerHead = sqlx::query_as(HEAD_SQL).fetch_one(&mut *tx).await?;
    let mut stretch = ChainStretch::default();
    {
        let sql = concat!("SELECT ", entry_columns!(), " FROM ledger ORDER BY seq");
        let mut rows = sqlx::query(sql).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            stretch.push(EntryView {
                seq: row.try_get(0)?,
                recorded_at: row.try_get(1)?,
                kind: row.try_get(2)?,
                ref_id: row.try_get(3)?,
                payload_sha256: row.try_get(4)?,
                prev_sha256: row.try_get(5)?,
                entry_sha256: row.try_get(6)?,
            });
        }
    }
    tx.commit().await?;
    Ok((vec![stretch], head))
}

/// The entries `WHERE {range}` in order, each hashed as its row is stepped.
fn walk(connection: &Direct<'_>, range: &str) -> Result<ChainStretch, ScanError> {
    let sql = format!(
        "SELECT {} FROM ledger WHERE {range} ORDER BY seq",
        LedgerEntry::COLUMNS
    );
    let mut statement = connection.prepare(&sql)?;
    let mut stretch = ChainStretch::default();
    while let Some(row) = statement.next_row()? {
        let view = (|| {
            Some(EntryView {
                seq: row.integer(0)?,
                recorded_at: Column::read(&row, 1)?,
                kind: row.text(2)?,
                ref_id: row.text(3)?,
                payload_sha256: row.text(4)?,
                prev_sha256: row.text(5)?,
                entry_sha256: row.text(6)?,
            })
        })();
        stretch.push(view.ok_or(ScanError::NotPlain)?);
    }
    Ok(stretch)
}

/// Runs `read` on two connections of their own whose read transactions see the same
/// moment, with the head both began at; `None` when a value needs sqlx's decoding.
///
/// Both transactions begin while a third connection holds the write lock (no commit can
/// fall between them); writers wait only for those two beginnings, not for the read.
async fn with_two_readers<T>(
    pool: &sqlx::SqlitePool,
    read: impl FnOnce(&Direct<'_>, &Direct<'_>, LedgerHead) -> Result<T, ScanError>,
) -> sqlx::Result<Option<T>> {
    use sqlx::Connection;
    // Connections of their own: the pool may be smaller than three, or busy.
    let options = pool.connect_options();
    let mut connections = Vec::with_capacity(3);
    for _ in 0..3 {
        connections.push(sqlx::SqliteConnection::connect_with(&options).await?);
    }
    let scanned = {
        let [writer, first, second] = &mut connections[..] else {
            unreachable!("three connections")
        };
        let (mut writer, mut first, mut second) = (
            writer.lock_handle().await?,
            first.lock_handle().await?,
            second.lock_handle().await?,
        );
        let (writer, first, second) = (
            Direct::new(&mut writer),
            Direct::new(&mut first),
            Direct::new(&mut second),
        );
        // Stepping SQLite blocks this thread for as long as the read takes.
        blocking(|| -> Result<T, ScanError> {
            writer.execute("BEGIN IMMEDIATE")?;
            let began = begin_read(&first).and_then(|_| begin_read(&second));
            writer.execute("ROLLBACK")?;
            let head = began?;
            let read = read(&first, &second, head);
            // Read transactions: nothing to commit, and the connections are closed next.
            let _ = (first.execute("ROLLBACK"), second.execute("ROLLBACK"));
            read
        })
    };
    for connection in connections {
        connection.close().await?;
    }
    unless_not_plain(scanned)
}

fn read_chain_in_parallel(
    first: &Direct<'_>,
    second: &Direct<'_>,
    head: LedgerHead,
) -> Result<(Vec<LedgerEntry>, LedgerHead), ScanError> {
    let (mut entries, high) = by_halves(first, second, head.0, |connection, range| {
        scan::<LedgerEntry>(connection, &format!("ledger WHERE {range} ORDER BY seq"))
    })?;
    entries.extend(high);
    Ok((entries, head))
}

/// `read` of the ledger's numbers up to half of `head_seq` on `first`, on another thread,
/// and of the rest on `second`, on this one: `(low, high)`. The two ranges (`read`'s second
/// argument, an SQL condition on `seq`) cover every number, so rows beyond the head are read
/// too, and reported.
fn by_halves<T: Send>(
    first: &Direct<'_>,
    second: &Direct<'_>,
    head_seq: i64,
    read: impl Fn(&Direct<'_>, &str) -> Result<T, ScanError> + Sync,
) -> Result<(T, T), ScanError> {
    let middle = head_seq / 2;
    let first = SendDirect(first);
    let read = &read;
    let (low, high) = std::thread::scope(|scope| {
        let low = scope.spawn(move || read({ first }.0, &format!("seq <= {middle}")));
        let high = read(second, &format!("seq > {middle}"));
        (low.join().expect("the other reader does not panic"), high)
    });
    Ok((low?, high?))
}

/// A read transaction whose snapshot is fixed now (SQLite takes it at the first read: the
/// head, returned).
fn begin_read(connection: &Direct<'_>) -> Result<LedgerHead, ScanError> {
    connection.execute("BEGIN")?;
    head_direct(connection)
}

/// The tables split over two threads, one connection each, in about equal halves: the
/// consents' first events (read out of their records) and the subjects on one, the later
/// events, the records and the ledger on the other. `head` is the one both transactions
/// began with.
fn read_in_parallel(
    first: &Direct<'_>,
    second: &Direct<'_>,
    head: LedgerHead,
) -> Result<Snapshot, ScanError> {
    let first = SendDirect(first);
    let (first_half, second_half) = std::thread::scope(|scope| {
        let first_half = scope.spawn(move || {
            // `{ first }` moves the whole wrapper in; capturing only its field would not be Send.
            let connection = { first }.0;
            // The first events out of the records' JSON here: through the view, SQLite
            // parsed each array again for every field (twice the time of the whole read).
            // The other thread reads the records too; decoding here keeps the halves even.
            let records = scan::<FirstEvents>(connection, "consent_records")?;
            let columns = records.iter().map(|r| {
                let json = r.first_events.as_deref();
                (r.id.as_str(), r.recorded_at, r.ledger_seq, json)
            });
            let events = first_events(columns).ok_or(ScanError::NotPlain)?;
            Ok::<_, ScanError>((events, scan::<StoredSubject>(connection, "subjects")?))
        });
        let second_half = (|| {
            let events = scan::<ConsentEvent>(second, "later_consent_events")?;
            let records = scan::<ConsentRecord>(second, "consent_records")?;
            let entries = scan::<LedgerEntry>(second, "ledger ORDER BY seq")?;
            Ok::<_, ScanError>((events, records, entries))
        })();
        let first_half = first_half.join().expect("the other reader does not panic");
        (first_half, second_half)
    });
    let ((mut events, subjects), (later_events, mut records, entries)) =
        (first_half?, second_half?);
    // Records and events in table order, sorted here: SQLite's ORDER BY took twice as long
    // (through the index on ledger_seq, then sorting each entry's events).
    events.extend(later_events);
    in_ledger_order(&mut events);
    records.sort_unstable_by_key(|r| r.ledger_seq);
    Ok(Snapshot {
        entries,
        head,
        records,
        events,
        subjects,
        audit_events: scan(second, "audit_events ORDER BY ledger_seq")?,
        notice_texts: scan::<NoticeText>(second, "notice_texts")?
            .into_iter()
            .map(|t| (t.sha256, t.markdown))
            .collect(),
        deletions: scan(second, "deletion_log ORDER BY ledger_seq")?,
        rectifications: scan(second, "subject_rectifications ORDER BY ledger_seq")?,
    })
}

/// One connection lent to one other thread for the length of a scope.
struct SendDirect<'a, 'lock>(&'a Direct<'lock>);
// SAFETY: a SQLite connection may be used from any thread, one thread at a time (sqlx opens
// them in SQLite's multi-thread mode, and its own worker thread keeps off while the lock is
// held); the borrow ends with the scope, and the lending thread does not touch this
// connection while the other thread has it.
unsafe impl Send for SendDirect<'_, '_> {}

// The snapshot's row types, for SQLite's direct read.
struct FirstEvents {
    id: String,
    recorded_at: DateTime<Utc>,
    ledger_seq: i64,
    first_events: Option<String>,
}
struct HeadRow {
    seq: i64,
    entry_sha256: String,
}
struct NoticeText {
    sha256: String,
    markdown: String,
}
scan_fields!(FirstEvents {
    id,
    recorded_at,
    ledger_seq,
    first_events
});
scan_fields!(HeadRow { seq, entry_sha256 });
scan_fields!(NoticeText { sha256, markdown });
// Read straight into the domain's entry: no second copy of a million rows.
scan_fields!(LedgerEntry {
    seq,
    recorded_at,
    kind,
    ref_id,
    payload_sha256,
    prev_sha256,
    entry_sha256
});
scan_fields!(ConsentRecord {
    id,
    receipt_id,
    subject_id,
    workshop_id,
    controller_id,
    notice_id,
    notice_version,
    notice_language,
    notice_sha256,
    notice_content_sha256,
    collection_method,
    collector,
    token_sha256,
    renews_record_id,
    recorded_at,
    ledger_seq,
});
scan_fields!(ConsentEvent {
    id,
    record_id,
    purpose_id,
    legal_basis,
    state,
    actor,
    occurred_at,
    ledger_seq
});
scan_fields!(StoredSubject {
    id,
    name,
    email,
    organisation,
    salt,
    digest,
    created_at,
    erased_at,
    current_digest,
    email_pseudonym,
    ip_truncated,
    user_agent,
});
scan_fields!(AuditEvent {
    id,
    at,
    actor,
    action,
    target,
    ip_truncated,
    ledger_seq
});
scan_fields!(DeletionLogEntry {
    id,
    executed_at,
    category,
    rule_version,
    start_on,
    due_on,
    subject_pseudonym,
    target,
    rows_affected,
    ledger_seq,
    row_key,
    replay_of,
    sealed,
});
scan_fields!(Rectification {
    id,
    subject_id,
    fields,
    previous_digest,
    digest,
    rectified_at,
    ledger_seq
});

/// The records' first events, decoded from their JSON (`(id, recorded_at, ledger_seq,
/// first_events)` per record); `None` if one is not in the form the service writes (then the
/// view `first_consent_events` reads them).
fn first_events<'a>(
    records: impl Iterator<Item = (&'a str, DateTime<Utc>, i64, Option<&'a str>)>,
) -> Option<Vec<ConsentEvent>> {
    let decoded = records.map(|(id, recorded_at, seq, json)| match json {
        None => Some(Vec::new()),
        Some(json) => decode_first_events(id, recorded_at, seq, json),
    });
    Some(
        decoded
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect(),
    )
}

/// A record and its `first_events` column, for the sqlx read.
#[derive(sqlx::FromRow)]
struct RecordWithFirstEvents {
    #[sqlx(flatten)]
    record: ConsentRecord,
    first_events: Option<String>,
}

/// Events in the order `verify` compares them: by ledger entry, then by id.
fn in_ledger_order(events: &mut [ConsentEvent]) {
    events.sort_unstable_by(|a, b| (a.ledger_seq, &a.id).cmp(&(b.ledger_seq, &b.id)));
}

/// The snapshot read row by row through sqlx (PostgreSQL, and SQLite values in forms only
/// sqlx decodes).
#[doc(hidden)]
pub async fn snapshot_by_rows(db: &Db) -> sqlx::Result<Snapshot> {
    let is_postgres = matches!(db, Db::Postgres(_));
    let records_sql = concat!(
        "SELECT ",
        record_columns!(),
        ", first_events FROM consent_records ORDER BY ledger_seq"
    );
    // The first events are decoded here from the records' JSON (read with the records) and
    // sorted with the later ones: PostgreSQL's sort of the view took as long as the rest of
    // the read.
    let view_sql = concat!("SELECT ", event_columns!(), " FROM first_consent_events");
    let later_sql = concat!("SELECT ", event_columns!(), " FROM later_consent_events");
    let subjects_sql = concat!("SELECT ", subject_columns!(), " FROM subjects");
    let deletions_sql = concat!(
        "SELECT ",
        super::retention::deletion_columns!(),
        " FROM deletion_log ORDER BY ledger_seq"
    );
    let audit_sql = concat!(
        "SELECT ",
        super::audit::audit_columns!(),
        " FROM audit_events ORDER BY ledger_seq"
    );
    with_db!(db, pool => {
        let mut tx = begin_snapshot!(pool, is_postgres);
        let (entries, head) = chain_in!(tx);
        let record_rows: Vec<RecordWithFirstEvents> = sqlx::query_as(records_sql).fetch_all(&mut *tx).await?;
        let columns = record_rows.iter().map(|r| {
            let record = &r.record;
            (record.id.as_str(), record.recorded_at, record.ledger_seq, r.first_events.as_deref())
        });
        let mut events = match first_events(columns) {
            Some(events) => events,
            None => sqlx::query_as(view_sql).fetch_all(&mut *tx).await?,
        };
        events.extend(sqlx::query_as::<_, ConsentEvent>(later_sql).fetch_all(&mut *tx).await?);
        in_ledger_order(&mut events);
        let records = record_rows.into_iter().map(|r| r.record).collect();
        let subjects = sqlx::query_as(subjects_sql).fetch_all(&mut *tx).await?;
        let audit_events = sqlx::query_as(audit_sql).fetch_all(&mut *tx).await?;
        let notice_texts = sqlx::query_as("SELECT sha256, markdown FROM notice_texts").fetch_all(&mut *tx).await?;
        let deletions = sqlx::query_as(deletions_sql).fetch_all(&mut *tx).await?;
        let rectifications = sqlx::query_as(super::subjects::ALL_RECTIFICATIONS).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(Snapshot {
            entries,
            head,
            records,
            events,
            subjects,
            rectifications,
            audit_events,
            notice_texts,
            deletions,
        })
    })
}
