//! Consent records, their subjects and their events, each change committed together with
//! its ledger entry in one transaction.

use chrono::{DateTime, Utc};

use super::bulk::{bind_ledger_arrays, column, ledger_from_arrays};
use super::ledger::{
    LedgerHead, append_direct, head_direct, insert_entry, lock_head, lock_head_for_batch,
};
use super::sqlite_direct::{Direct, with_locked};
use super::{Db, with_db};
use crate::clock::{Clock, canonical_time};
use crate::domain::consent::{
    CollectionMethod, PersonalData, PurposeDecision, PurposeState, ReceiptToken, Subject, new_salt,
};
use crate::domain::ledger::{
    EntryKind, EventPayload, EventsPayload, LedgerEntry, RecordPayload, payload_hash,
};

/// What the service knows when a participant consents.
pub struct NewConsent {
    pub workshop_id: String,
    pub controller_id: String,
    pub notice_id: String,
    pub notice_version: u32,
    pub notice_language: String,
    pub notice_sha256: String,
    pub notice_content_sha256: String,
    pub subject: Subject,
    pub decisions: Vec<PurposeDecision>,
    pub method: CollectionMethod,
    /// The API token that submitted the consent, if any.
    pub collector: Option<String>,
    /// Re-consent: the earlier record this one renews.
    pub renews_record_id: Option<String>,
    pub ip_truncated: Option<String>,
    pub user_agent: Option<String>,
    /// The notice catalogue generation the consent was checked against: it is stored only
    /// while that is still the database's (see [`Outdated`]).
    pub catalog_generation: i64,
}

/// Why the writer did not store a consent: between the request's checks and the commit, its
/// workshop was archived (or is gone) or the notice catalogue changed (a version approved,
/// withdrawn, …). Nothing of it was written; checking it again against the database decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outdated;

/// One consent of a batch, stored or not.
pub type Stored = Result<RecordedConsent, Outdated>;

/// A stored consent; the token is only known at this moment and is never stored in clear.
pub struct RecordedConsent {
    pub record: ConsentRecord,
    pub events: Vec<ConsentEvent>,
    pub token: ReceiptToken,
    pub ledger: LedgerEntry,
}

impl RecordedConsent {
    /// The record's `first_events` column: its events as `[id, purpose_id, legal_basis,
    /// state, actor, occurred_at]` each, the time null where it is the record's own (see
    /// migration 0015; the `consent_events` view reads them back as rows).
    fn first_events(&self) -> Option<String> {
        if self.events.is_empty() {
            return None;
        }
        let events: Vec<_> = self
            .events
            .iter()
            .map(|e| {
                let occurred = (e.occurred_at != self.record.recorded_at).then(|| {
                    e.occurred_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
                });
                (
                    &e.id,
                    &e.purpose_id,
                    &e.legal_basis,
                    &e.state,
                    &e.actor,
                    occurred,
                )
            })
            .collect();
        Some(serde_json::to_string(&events).expect("strings serialise"))
    }
}

/// A record's first events read back from its `first_events` column, as the view
/// `first_consent_events` reads them; `None` when the column is not in the form
/// [`RecordedConsent::first_events`] writes (times in RFC 3339), for callers that then read
/// through the view instead.
pub(crate) fn decode_first_events(
    record_id: &str,
    recorded_at: DateTime<Utc>,
    ledger_seq: i64,
    json: &str,
) -> Option<Vec<ConsentEvent>> {
    type Event = (String, String, String, String, String, Option<String>);
    let events: Vec<Event> = serde_json::from_str(json).ok()?;
    events
        .into_iter()
        .map(|(id, purpose_id, legal_basis, state, actor, occurred)| {
            let occurred_at = match occurred {
                None => recorded_at,
                Some(time) => DateTime::parse_from_rfc3339(&time)
                    .ok()?
                    .with_timezone(&Utc),
            };
            Some(ConsentEvent {
                id,
                record_id: record_id.to_owned(),
                purpose_id,
                legal_basis,
                state,
                actor,
                occurred_at,
                ledger_seq,
            })
        })
        .collect()
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsentRecord {
    pub id: String,
    pub receipt_id: String,
    pub subject_id: String,
    pub workshop_id: String,
    pub controller_id: String,
    pub notice_id: String,
    pub notice_version: i64,
    pub notice_language: String,
    pub notice_sha256: String,
    pub notice_content_sha256: String,
    pub collection_method: String,
    pub collector: Option<String>,
    pub token_sha256: String,
    pub renews_record_id: Option<String>,
    pub recorded_at: DateTime<Utc>,
    pub ledger_seq: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsentEvent {
    pub id: String,
    pub record_id: String,
    pub purpose_id: String,
    pub legal_basis: String,
    pub state: String,
    pub actor: String,
    pub occurred_at: DateTime<Utc>,
    pub ledger_seq: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredSubject {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub organisation: Option<String>,
    pub salt: Option<String>,
    pub digest: String,
    pub created_at: DateTime<Utc>,
    pub erased_at: Option<DateTime<Utc>>,
    /// The digest after Art. 16 rectifications (`digest` stays the one recorded with the consent).
    pub current_digest: Option<String>,
    /// Kept at erasure: keyed HMAC of the e-mail address.
    pub email_pseudonym: Option<String>,
    /// The truncated address and the user agent the consent was given from (personal data,
    /// covered by the digest, anonymised with the rest; migration 0016 moved them here).
    pub ip_truncated: Option<String>,
    pub user_agent: Option<String>,
}

// Column lists as macros so queries stay `&'static str` (sqlx refuses runtime-built SQL).
macro_rules! record_columns {
    () => {
        "id, receipt_id, subject_id, workshop_id, controller_id, notice_id, notice_version, \
         notice_language, notice_sha256, notice_content_sha256, collection_method, collector, \
         token_sha256, renews_record_id, recorded_at, ledger_seq"
    };
}
macro_rules! event_columns {
    () => {
        "id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq"
    };
}
macro_rules! subject_columns {
    () => {
        "id, name, email, organisation, salt, digest, created_at, erased_at, current_digest, email_pseudonym, \
         ip_truncated, user_agent"
    };
}
pub(crate) use {event_columns, record_columns, subject_columns};

impl ConsentRecord {
    /// The payload its `consent.recorded` ledger entry commits to.
    pub fn payload<'a>(
        &'a self,
        subject_digest: &'a str,
        events: &'a [ConsentEvent],
    ) -> RecordPayload<'a> {
        RecordPayload {
            record_id: &self.id,
            receipt_id: &self.receipt_id,
            subject_id: &self.subject_id,
            subject_digest,
            workshop_id: &self.workshop_id,
            controller_id: &self.controller_id,
            notice_id: &self.notice_id,
            notice_version: self.notice_version,
            notice_language: &self.notice_language,
            notice_sha256: &self.notice_sha256,
            notice_content_sha256: &self.notice_content_sha256,
            collection_method: &self.collection_method,
            collector: self.collector.as_deref(),
            renews_record_id: self.renews_record_id.as_deref(),
            token_sha256: &self.token_sha256,
            recorded_at: canonical_time(self.recorded_at),
            events: event_payloads(events),
        }
    }
}

/// Event payloads in a fixed order (by event id), whatever order the rows were read in.
pub fn event_payloads(events: &[ConsentEvent]) -> Vec<EventPayload<'_>> {
    let mut payloads: Vec<EventPayload<'_>> = events.iter().map(ConsentEvent::payload).collect();
    payloads.sort_by(|a, b| a.event_id.cmp(b.event_id));
    payloads
}

impl ConsentEvent {
    pub fn payload(&self) -> EventPayload<'_> {
        EventPayload {
            event_id: &self.id,
            record_id: &self.record_id,
            purpose_id: &self.purpose_id,
            legal_basis: &self.legal_basis,
            state: &self.state,
            actor: &self.actor,
            occurred_at: canonical_time(self.occurred_at),
        }
    }

    pub fn state(&self) -> Option<PurposeState> {
        PurposeState::parse(&self.state)
    }
}

macro_rules! insert_event {
    ($tx:expr, $event:expr) => {{
        let event: &$crate::store::consents::ConsentEvent = $event;
        sqlx::query(concat!(
            "INSERT INTO later_consent_events (",
            event_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&event.id)
        .bind(&event.record_id)
        .bind(&event.purpose_id)
        .bind(&event.legal_basis)
        .bind(&event.state)
        .bind(&event.actor)
        .bind(event.occurred_at)
        .bind(event.ledger_seq)
        .execute(&mut *$tx)
        .await?;
    }};
}
pub(crate) use insert_event;

/// Stores subject, record, events and ledger entry in one transaction.
pub async fn record(db: &Db, clock: &Clock, new: &NewConsent) -> sqlx::Result<Stored> {
    let mut head = WrittenHead::default();
    let mut stored = record_batch(db, clock, std::slice::from_ref(new), &mut head).await?;
    Ok(stored.pop().expect("one consent in, one out"))
}

/// Whether `new` was checked against what the database holds under the ledger lock: the
/// catalogue `generation`, and `open_workshops` (of the batch's workshops, those not archived).
fn is_current(new: &NewConsent, generation: i64, open_workshops: &[String]) -> bool {
    new.catalog_generation == generation && open_workshops.contains(&new.workshop_id)
}

/// The batch's workshops, each once: what the writer reads back under the lock.
fn workshop_ids(batch: &[PreparedConsent]) -> Vec<String> {
    let mut ids: Vec<String> = batch.iter().map(|p| p.new.workshop_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Splits the batch into the consents to store and, in batch order, which of them those are.
fn keep_current<'a>(
    batch: Vec<PreparedConsent<'a>>,
    generation: i64,
    open_workshops: &[String],
) -> (Vec<PreparedConsent<'a>>, Vec<bool>) {
    let current: Vec<bool> = batch
        .iter()
        .map(|p| is_current(p.new, generation, open_workshops))
        .collect();
    let kept = batch
        .into_iter()
        .zip(&current)
        .filter_map(|(consent, &keep)| keep.then_some(consent))
        .collect();
    (kept, current)
}

/// The answers in batch order: the stored consents where `current`, [`Outdated`] elsewhere.
fn in_batch_order(current: Vec<bool>, recorded: Vec<RecordedConsent>) -> Vec<Stored> {
    let mut recorded = recorded.into_iter();
    current
        .into_iter()
        .map(|kept| match kept {
            true => Ok(recorded.next().expect("one stored consent per current one")),
            false => Err(Outdated),
        })
        .collect()
}

/// A consent with everything that needs no lock worked out: ids, salt, digest, token.
struct PreparedConsent<'a> {
    new: &'a NewConsent,
    token: ReceiptToken,
    salt: String,
    digest: String,
    subject_id: String,
    record_id: String,
    receipt_id: String,
}

impl<'a> PreparedConsent<'a> {
    fn of(new: &'a NewConsent) -> Self {
        let salt = new_salt();
        let digest = Subject::digest(
            &PersonalData {
                name: new.subject.name.as_str(),
                email: new.subject.email.as_str(),
                organisation: new.subject.organisation.as_ref().map(|o| o.as_str()),
                ip_truncated: new.ip_truncated.as_deref(),
                user_agent: new.user_agent.as_deref(),
            },
            &salt,
        );
        // Time-ordered ids: new rows append to their indexes instead of dirtying a random
        // page of each per consent (that made a commit write ~10× the pages).
        let record_id = uuid::Uuid::now_v7();
        PreparedConsent {
            new,
            token: ReceiptToken::for_record(&record_id),
            salt,
            digest,
            subject_id: uuid::Uuid::now_v7().to_string(),
            record_id: record_id.to_string(),
            receipt_id: uuid::Uuid::now_v7().to_string(),
        }
    }

    /// The record and its events as ledger entry `seq` at `now`.
    fn at(self, seq: i64, now: DateTime<Utc>) -> (ConsentRecord, Vec<ConsentEvent>, Self) {
        let new = self.new;
        let record = ConsentRecord {
            id: self.record_id.clone(),
            receipt_id: self.receipt_id.clone(),
            subject_id: self.subject_id.clone(),
            workshop_id: new.workshop_id.clone(),
            controller_id: new.controller_id.clone(),
            notice_id: new.notice_id.clone(),
            notice_version: i64::from(new.notice_version),
            notice_language: new.notice_language.clone(),
            notice_sha256: new.notice_sha256.clone(),
            notice_content_sha256: new.notice_content_sha256.clone(),
            collection_method: new.method.as_str().to_owned(),
            collector: new.collector.clone(),
            token_sha256: ReceiptToken::hash(self.token.as_str()),
            renews_record_id: new.renews_record_id.clone(),
            recorded_at: now,
            ledger_seq: seq,
        };
        let events = new
            .decisions
            .iter()
            .map(|d| ConsentEvent {
                id: uuid::Uuid::now_v7().to_string(),
                record_id: self.record_id.clone(),
                purpose_id: d.purpose_id.clone(),
                legal_basis: d.legal_basis.code().to_owned(),
                state: d.state.as_str().to_owned(),
                actor: "subject".to_owned(),
                occurred_at: now,
                ledger_seq: seq,
            })
            .collect();
        (record, events, self)
    }
}

/// A new subject's row.
struct SubjectRow {
    id: String,
    name: String,
    email: String,
    organisation: Option<String>,
    salt: String,
    digest: String,
    ip_truncated: Option<String>,
    user_agent: Option<String>,
}

/// Chains the batch onto the ledger head `(seq, sha256)` at `now`: each consent's record,
/// events and ledger entry, in the order given, and the rows of their subjects.
fn chain(
    prepared: Vec<PreparedConsent>,
    (head_seq, head_sha256): LedgerHead,
    now: DateTime<Utc>,
) -> (Vec<RecordedConsent>, Vec<SubjectRow>) {
    let mut prev = head_sha256;
    let mut recorded = Vec::with_capacity(prepared.len());
    let mut subjects = Vec::with_capacity(prepared.len());
    for (seq, consent) in (head_seq + 1..).zip(prepared) {
        let (record, events, consent) = consent.at(seq, now);
        let hash = payload_hash(&record.payload(&consent.digest, &events));
        let entry = LedgerEntry::next(
            seq,
            &prev,
            now,
            EntryKind::ConsentRecorded,
            &record.id,
            &hash,
        );
        prev.clone_from(&entry.entry_sha256);
        let subject = &consent.new.subject;
        subjects.push(SubjectRow {
            id: consent.subject_id,
            name: subject.name.as_str().to_owned(),
            email: subject.email.as_str().to_owned(),
            organisation: subject.organisation.as_ref().map(|o| o.as_str().to_owned()),
            salt: consent.salt,
            digest: consent.digest,
            ip_truncated: consent.new.ip_truncated.clone(),
            user_agent: consent.new.user_agent.clone(),
        });
        recorded.push(RecordedConsent {
            record,
            events,
            token: consent.token,
            ledger: entry,
        });
    }
    (recorded, subjects)
}

/// The columns a new subject's row fills.
macro_rules! new_subject_columns {
    () => {
        "id, name, email, organisation, salt, digest, ip_truncated, user_agent, created_at"
    };
}
const INSERT_SUBJECT: &str = concat!("INSERT INTO subjects (", new_subject_columns!(), ") ");
const INSERT_RECORD: &str = concat!(
    "INSERT INTO consent_records (",
    record_columns!(),
    ", first_events) "
);

/// What a writer remembers between batches: the ledger head its last batch left, if nothing
/// has failed since. On PostgreSQL the next batch is chained from it without a round trip to
/// lock and read the head; the statement storing the batch checks that it is still the head.
#[derive(Debug, Default)]
pub struct WrittenHead(Option<LedgerHead>);

/// Stores many consents in one transaction: one lock of the ledger head, one commit (one
/// fsync) for all of them. Each consent still gets its own record, events and ledger entry,
/// chained in the order given. All or nothing, except that a consent checked against a view
/// that is no longer the database's is left out and answered [`Outdated`]: requests check
/// consents against a cached view of their workshop and notice catalogue, and this is where
/// that view is confirmed, under the same lock as the write.
pub async fn record_batch(
    db: &Db,
    clock: &Clock,
    batch: &[NewConsent],
    written: &mut WrittenHead,
) -> sqlx::Result<Vec<Stored>> {
    let prepared: Vec<PreparedConsent> = batch.iter().map(PreparedConsent::of).collect();
    match db {
        Db::Sqlite(pool) => record_batch_sqlite(pool, clock, prepared).await,
        Db::Postgres(pool) => {
            // Forgotten until this batch has committed: after a failure, the head is read again.
            let last = written.0.take();
            let result = match last {
                Some(head) => match record_batch_postgres_after(pool, clock, prepared, head).await?
                {
                    Some(stored) => Ok(stored),
                    // Another writer appended, or the view changed: the long way.
                    None => {
                        let prepared = batch.iter().map(PreparedConsent::of).collect();
                        record_batch_postgres_locked(pool, clock, prepared).await
                    }
                },
                None => record_batch_postgres_locked(pool, clock, prepared).await,
            };
            let (stored, head) = result?;
            written.0 = Some(head);
            Ok(stored)
        }
    }
}

/// The batch on PostgreSQL, chained from `head`, the head this writer's last batch left: one
/// statement, committed on its own, that stores it only if `head` is still the ledger's and
/// every consent's view (catalogue generation, workshop open) still holds; it locks the
/// catalogue and the workshops as [`record_batch_postgres_locked`] does. One round trip
/// instead of six. `None` when anything differed: then nothing was stored.
///
/// The time is read before the statement, not under the head's lock: if the head is still
/// this writer's last entry, nothing was appended since that entry, which is older.
async fn record_batch_postgres_after(
    pool: &sqlx::PgPool,
    clock: &Clock,
    prepared: Vec<PreparedConsent<'_>>,
    head: LedgerHead,
) -> sqlx::Result<Option<(Vec<Stored>, LedgerHead)>> {
    let Some(generation) = prepared.first().map(|p| p.new.catalog_generation) else {
        return Ok(Some((Vec::new(), head)));
    };
    if prepared
        .iter()
        .any(|p| p.new.catalog_generation != generation)
    {
        return Ok(None);
    }
    let workshops = workshop_ids(&prepared);
    let now = clock.now();
    let expected = Expected {
        head: (head.0, &head.1),
        generation,
        workshops: &workshops,
    };
    let (recorded, subjects) = chain(prepared, head.clone(), now);
    let mut conn = pool.acquire().await?;
    if insert_batch_postgres(&mut conn, &recorded, &subjects, now, expected).await? {
        let head = head_after(&recorded, head);
        Ok(Some((recorded.into_iter().map(Ok).collect(), head)))
    } else {
        Ok(None)
    }
}

/// The batch on PostgreSQL with the ledger head locked and read first, and the view checked
/// under shared locks: consents whose view no longer holds are answered [`Outdated`].
async fn record_batch_postgres_locked(
    pool: &sqlx::PgPool,
    clock: &Clock,
    prepared: Vec<PreparedConsent<'_>>,
) -> sqlx::Result<(Vec<Stored>, LedgerHead)> {
    let mut tx = pool.begin().await?;
    let head = lock_head_for_batch!(tx);
    // Shared locks: an approval or an archiving waits for this commit, so what is
    // read here still holds when the consents become visible.
    let generation: i64 = sqlx::query_scalar(
        "SELECT generation FROM notice_catalog_generation WHERE id = 1 FOR SHARE",
    )
    .fetch_one(&mut *tx)
    .await?;
    let open: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM workshops WHERE id = ANY($1) AND archived_at IS NULL FOR SHARE",
    )
    .bind(workshop_ids(&prepared))
    .fetch_all(&mut *tx)
    .await?;
    let (prepared, current) = keep_current(prepared, generation, &open);
    // The time is read under the lock, so ledger times grow with sequence numbers.
    let now = clock.now();
    let expected = Expected {
        head: (head.0, &head.1),
        generation,
        // Open, and share-locked above: whether or not a kept consent names each.
        workshops: &open,
    };
    let (recorded, subjects) = chain(prepared, head.clone(), now);
    // Under the locks taken above the statement's own checks hold.
    if !insert_batch_postgres(&mut tx, &recorded, &subjects, now, expected).await? {
        return Err(sqlx::Error::Protocol(
            "the locked ledger head or view changed within the transaction".into(),
        ));
    }
    tx.commit().await?;
    let head = head_after(&recorded, head);
    Ok((in_batch_order(current, recorded), head))
}

/// The head a batch chained from `head` leaves: its last entry, or `head` if it was empty.
fn head_after(recorded: &[RecordedConsent], head: LedgerHead) -> LedgerHead {
    recorded
        .last()
        .map_or(head, |r| (r.ledger.seq, r.ledger.entry_sha256.clone()))
}

/// What [`insert_batch_postgres`] stores its rows under: the ledger head they are chained
/// from, the catalogue generation the consents were checked against, their workshops (each
/// once, all open).
struct Expected<'a> {
    head: (i64, &'a str),
    generation: i64,
    workshops: &'a [String],
}

/// [`record_batch`]'s rows on PostgreSQL, and the new ledger head: one statement for all
/// tables, each column bound as one array and unnested, so every batch size runs the same
/// prepared statement. It moves the head and writes rows only if the head, the catalogue
/// generation and the workshops are as `expected` (locking the latter two for share); `false`
/// when they were not and nothing was written.
async fn insert_batch_postgres(
    tx: &mut sqlx::PgConnection,
    recorded: &[RecordedConsent],
    subjects: &[SubjectRow],
    now: DateTime<Utc>,
    expected: Expected<'_>,
) -> sqlx::Result<bool> {
    let Some(last) = recorded.last().map(|r| &r.ledger) else {
        return Ok(true);
    };
    let entries: Vec<&LedgerEntry> = recorded.iter().map(|r| &r.ledger).collect();
    let records: Vec<&ConsentRecord> = recorded.iter().map(|r| &r.record).collect();
    let first_events: Vec<Option<String>> =
        recorded.iter().map(RecordedConsent::first_events).collect();
    // One statement, one round trip: foreign keys are checked at its end, when every row of
    // every table is in. The checks sit in the head's update (its subqueries run, and lock,
    // before it locks the head), and every insert waits for the head's row: no row is written
    // before the head is this statement's, so it cannot block a writer holding the head.
    let statement = sqlx::query(concat!(
        "WITH head AS (UPDATE ledger_head SET seq = $8, entry_sha256 = $9 \
         WHERE id = 1 AND seq = $36 AND entry_sha256 = $37 \
         AND (SELECT generation FROM notice_catalog_generation WHERE id = 1 FOR SHARE) = $38 \
         AND (SELECT count(*) FROM (SELECT FROM workshops WHERE id = ANY($39::text[]) AND archived_at IS NULL FOR SHARE) AS open) \
             = cardinality($39::text[]) \
         RETURNING 1), ledger_rows AS (",
        ledger_from_arrays!(),
        " WHERE EXISTS (SELECT FROM head)), subject_rows AS (INSERT INTO subjects (",
        new_subject_columns!(),
        ") SELECT *, $16 FROM unnest($10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], \
         $29::text[], $30::text[]) \
         WHERE EXISTS (SELECT FROM head)) \
         INSERT INTO consent_records (",
        record_columns!(),
        ", first_events) SELECT * FROM unnest($17::text[], $18::text[], $19::text[], $20::text[], $21::text[], \
         $22::text[], $23::int8[], $24::text[], $25::text[], $26::text[], $27::text[], $28::text[], \
         $31::text[], $32::text[], $33::timestamptz[], $34::int8[], $35::text[]) \
         WHERE EXISTS (SELECT FROM head)"
    ));
    let inserted = bind_ledger_arrays(statement, &entries)
        .bind(last.seq)
        .bind(&last.entry_sha256)
        .bind(column(subjects, |s| s.id.as_str()))
        .bind(column(subjects, |s| s.name.as_str()))
        .bind(column(subjects, |s| s.email.as_str()))
        .bind(column(subjects, |s| s.organisation.as_deref()))
        .bind(column(subjects, |s| s.salt.as_str()))
        .bind(column(subjects, |s| s.digest.as_str()))
        .bind(now)
        .bind(column(&records, |r| r.id.as_str()))
        .bind(column(&records, |r| r.receipt_id.as_str()))
        .bind(column(&records, |r| r.subject_id.as_str()))
        .bind(column(&records, |r| r.workshop_id.as_str()))
        .bind(column(&records, |r| r.controller_id.as_str()))
        .bind(column(&records, |r| r.notice_id.as_str()))
        .bind(column(&records, |r| r.notice_version))
        .bind(column(&records, |r| r.notice_language.as_str()))
        .bind(column(&records, |r| r.notice_sha256.as_str()))
        .bind(column(&records, |r| r.notice_content_sha256.as_str()))
        .bind(column(&records, |r| r.collection_method.as_str()))
        .bind(column(&records, |r| r.collector.as_deref()))
        // $29, $30: the subjects' network data (numbered after the records' columns that held it
        // before migration 0016).
        .bind(column(subjects, |s| s.ip_truncated.as_deref()))
        .bind(column(subjects, |s| s.user_agent.as_deref()))
        .bind(column(&records, |r| r.token_sha256.as_str()))
        .bind(column(&records, |r| r.renews_record_id.as_deref()))
        .bind(column(&records, |r| r.recorded_at))
        .bind(column(&records, |r| r.ledger_seq))
        .bind(&first_events)
        .bind(expected.head.0)
        .bind(expected.head.1)
        .bind(expected.generation)
        .bind(expected.workshops)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    Ok(inserted == records.len() as u64)
}

/// [`record_batch`] on SQLite: the whole transaction runs on this thread through the locked
/// connection, one hand-over to sqlx's worker thread instead of one per statement (under
/// load each hand-over waited for a core behind the request threads; benches/NOTES.md).
async fn record_batch_sqlite(
    pool: &sqlx::SqlitePool,
    clock: &Clock,
    prepared: Vec<PreparedConsent<'_>>,
) -> sqlx::Result<Vec<Stored>> {
    with_locked(pool, |db| write_batch_sqlite(db, clock, prepared)).await
}

/// The catalogue generation and, of `workshop_ids`, the workshops not archived.
fn view_direct(db: &Direct<'_>, workshop_ids: Vec<String>) -> sqlx::Result<(i64, Vec<String>)> {
    let mut read = db.prepare("SELECT generation FROM notice_catalog_generation WHERE id = 1")?;
    let generation = read.next_row()?.and_then(|row| row.integer(0));
    let generation = generation.ok_or(sqlx::Error::RowNotFound)?;
    let mut read = db.prepare("SELECT 1 FROM workshops WHERE id = ? AND archived_at IS NULL")?;
    let mut open = Vec::with_capacity(workshop_ids.len());
    for id in workshop_ids {
        read.query(&[&id])?;
        if read.next_row()?.is_some() {
            open.push(id);
        }
    }
    Ok((generation, open))
}

fn write_batch_sqlite(
    db: &Direct<'_>,
    clock: &Clock,
    prepared: Vec<PreparedConsent>,
) -> sqlx::Result<Vec<Stored>> {
    // The write lock at once: neither the head nor the view read below can go stale.
    db.execute("BEGIN IMMEDIATE")?;
    let head = head_direct(db)?;
    let (generation, open) = view_direct(db, workshop_ids(&prepared))?;
    let (prepared, current) = keep_current(prepared, generation, &open);
    // The time is read under the lock, so ledger times grow with sequence numbers.
    let now = clock.now();
    let (recorded, subjects) = chain(prepared, head, now);
    append_direct(db, recorded.iter().map(|r| &r.ledger))?;
    let mut insert = db.prepare_insert(INSERT_SUBJECT)?;
    for s in &subjects {
        insert.execute(&[
            &s.id,
            &s.name,
            &s.email,
            &s.organisation,
            &s.salt,
            &s.digest,
            &s.ip_truncated,
            &s.user_agent,
            &now,
        ])?;
    }
    let mut insert = db.prepare_insert(INSERT_RECORD)?;
    for (r, first_events) in recorded.iter().map(|r| (&r.record, r.first_events())) {
        insert.execute(&[
            &r.id,
            &r.receipt_id,
            &r.subject_id,
            &r.workshop_id,
            &r.controller_id,
            &r.notice_id,
            &r.notice_version,
            &r.notice_language,
            &r.notice_sha256,
            &r.notice_content_sha256,
            &r.collection_method,
            &r.collector,
            &r.token_sha256,
            &r.renews_record_id,
            &r.recorded_at,
            &r.ledger_seq,
            &first_events,
        ])?;
    }
    db.execute("COMMIT")?;
    Ok(in_batch_order(current, recorded))
}

/// Which purposes to withdraw.
#[derive(Clone, Copy)]
pub enum Withdrawal<'a> {
    All,
    Purposes(&'a [String]),
}

/// Appends `withdrawn` events for the purposes currently `given`. Returns the new events
/// (empty when nothing was given, in which case nothing is written).
pub async fn withdraw(
    db: &Db,
    clock: &Clock,
    record_id: &str,
    which: Withdrawal<'_>,
) -> sqlx::Result<Vec<ConsentEvent>> {
    append_events(db, clock, record_id, "subject", |current| {
        current
            .into_iter()
            .filter(|e| e.state() == Some(PurposeState::Given))
            .filter(|e| match &which {
                Withdrawal::All => true,
                Withdrawal::Purposes(ids) => ids.contains(&e.purpose_id),
            })
            .map(|e| {
                (
                    e.purpose_id.clone(),
                    e.legal_basis.clone(),
                    PurposeState::Withdrawn,
                )
            })
            .collect()
    })
    .await
}

/// Appends events to a record in one ledger entry. `decide` sees the current state of each
/// purpose, read under the ledger lock (so two requests cannot both act on the same state),
/// and returns (purpose, legal basis, new state) for each event; none means nothing is written.
pub async fn append_events(
    db: &Db,
    clock: &Clock,
    record_id: &str,
    actor: &str,
    decide: impl FnOnce(Vec<&ConsentEvent>) -> Vec<(String, String, PurposeState)>,
) -> sqlx::Result<Vec<ConsentEvent>> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let (seq, prev) = lock_head!(tx);
        let history: Vec<ConsentEvent> = sqlx::query_as(concat!(
            "SELECT ", event_columns!(), " FROM consent_events WHERE record_id = $1 ORDER BY ledger_seq, id"
        ))
        .bind(record_id)
        .fetch_all(&mut *tx)
        .await?;
        let now = clock.now();
        let events: Vec<ConsentEvent> = decide(current_states(&history))
            .into_iter()
            .map(|(purpose_id, legal_basis, state)| ConsentEvent {
                id: uuid::Uuid::now_v7().to_string(),
                record_id: record_id.to_owned(),
                purpose_id,
                legal_basis,
                state: state.as_str().to_owned(),
                actor: actor.to_owned(),
                occurred_at: now,
                ledger_seq: seq,
            })
            .collect();
        if events.is_empty() {
            tx.rollback().await?;
            return Ok(events);
        }
        let payload = EventsPayload { record_id, events: event_payloads(&events) };
        let entry = LedgerEntry::next(seq, &prev, now, EntryKind::ConsentEvents, record_id, &payload_hash(&payload));
        insert_entry!(tx, &entry);
        for event in &events {
            insert_event!(tx, event);
        }
        tx.commit().await?;
        Ok(events)
    })
}

/// Records of a notice given under versions before `version` (re-consent candidates).
pub async fn records_before_version(
    db: &Db,
    notice_id: &str,
    version: i64,
) -> sqlx::Result<Vec<ConsentRecord>> {
    let sql = concat!(
        "SELECT ",
        record_columns!(),
        " FROM consent_records WHERE notice_id = $1 AND notice_version < $2 ORDER BY ledger_seq"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(notice_id).bind(version).fetch_all(pool).await)
}

/// Every record of a renewal chain that `record_id` belongs to: the one it renewed, and that
/// one's, back to the first still kept, and every renewal after it; oldest first.
pub async fn renewal_chain(db: &Db, record_id: &str) -> sqlx::Result<Vec<String>> {
    let sql = "WITH RECURSIVE
           back (id, renews) AS (
             SELECT id, renews_record_id FROM consent_records WHERE id = $1
             UNION
             SELECT r.id, r.renews_record_id FROM consent_records r JOIN back b ON r.id = b.renews),
           first (id) AS (
             SELECT id FROM back
             WHERE renews IS NULL OR renews NOT IN (SELECT id FROM back)),
           chain (id) AS (
             SELECT id FROM first
             UNION
             SELECT r.id FROM consent_records r JOIN chain c ON r.renews_record_id = c.id)
         SELECT c.id FROM chain c JOIN consent_records r ON r.id = c.id ORDER BY r.ledger_seq";
    with_db!(db, pool => sqlx::query_scalar(sql).bind(record_id).fetch_all(pool).await)
}

/// Withdraws from every record of the renewal chain `record_id` belongs to: a participant who
/// consented again withdraws through either link, and the decision given again goes too.
/// Each record's events are one ledger entry, as with [`withdraw`].
pub async fn withdraw_with_renewals(
    db: &Db,
    clock: &Clock,
    record_id: &str,
    which: Withdrawal<'_>,
) -> sqlx::Result<Vec<ConsentEvent>> {
    let mut events = Vec::new();
    for id in renewal_chain(db, record_id).await? {
        events.extend(withdraw(db, clock, &id, which).await?);
    }
    Ok(events)
}

/// The record that renews `record_id`, if the participant has consented again.
pub async fn renewal_of(db: &Db, record_id: &str) -> sqlx::Result<Option<ConsentRecord>> {
    let sql = concat!(
        "SELECT ",
        record_columns!(),
        " FROM consent_records WHERE renews_record_id = $1 ORDER BY ledger_seq DESC LIMIT 1"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(record_id).fetch_optional(pool).await)
}

pub async fn by_receipt_id(db: &Db, receipt_id: &str) -> sqlx::Result<Option<ConsentRecord>> {
    let sql = concat!(
        "SELECT ",
        record_columns!(),
        " FROM consent_records WHERE receipt_id = $1"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(receipt_id).fetch_optional(pool).await)
}

/// The latest event per purpose, in the order purposes first appeared.
pub fn current_states(history: &[ConsentEvent]) -> Vec<&ConsentEvent> {
    let mut latest: Vec<&ConsentEvent> = Vec::new();
    for event in history {
        match latest.iter_mut().find(|e| e.purpose_id == event.purpose_id) {
            Some(slot) => *slot = event,
            None => latest.push(event),
        }
    }
    latest
}

/// The record a receipt token opens: the one it names, if the token is that record's, or,
/// for a token from before migration 0014, the one with its hash.
pub async fn by_token(db: &Db, token: &str) -> sqlx::Result<Option<ConsentRecord>> {
    let token_sha256 = ReceiptToken::hash(token);
    if let Some(id) = ReceiptToken::record_id(token) {
        return Ok(by_id(db, &id)
            .await?
            .filter(|record| record.token_sha256 == token_sha256));
    }
    let sql = concat!(
        "SELECT ",
        record_columns!(),
        " FROM consent_records WHERE token_sha256 = $1 AND legacy_token = 1"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(&token_sha256).fetch_optional(pool).await)
}

pub async fn events_of(db: &Db, record_id: &str) -> sqlx::Result<Vec<ConsentEvent>> {
    let sql = concat!(
        "SELECT ",
        event_columns!(),
        " FROM consent_events WHERE record_id = $1 ORDER BY ledger_seq, id"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(record_id).fetch_all(pool).await)
}

pub async fn subject(db: &Db, id: &str) -> sqlx::Result<Option<StoredSubject>> {
    let sql = concat!(
        "SELECT ",
        subject_columns!(),
        " FROM subjects WHERE id = $1"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)
}

/// Filters for listing consent records; `None` means any.
#[derive(Debug, Default, Clone)]
pub struct RecordFilter {
    pub workshop_id: Option<String>,
    pub notice_version: Option<i64>,
    /// Records with at least one event in this state (e.g. `withdrawn`).
    pub state: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// A page of records (newest first), their events, and the total number of matches.
pub async fn list(
    db: &Db,
    filter: &RecordFilter,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<ConsentRecord>, Vec<ConsentEvent>, i64)> {
    // One static statement per query: optional filters are `$n IS NULL OR …`. Events are
    // matched in their two tables, not through the view `consent_events`: correlated with
    // `r`, SQLite would read all of the view for each record.
    macro_rules! matching {
        () => {
            "FROM consent_records r
             WHERE ($1 IS NULL OR r.workshop_id = $1)
               AND ($2 IS NULL OR r.notice_version = $2)
               AND ($3 IS NULL
                    OR EXISTS (SELECT 1 FROM first_consent_events f WHERE f.record_id = r.id AND f.state = $3)
                    OR EXISTS (SELECT 1 FROM later_consent_events e WHERE e.record_id = r.id AND e.state = $3))
               AND ($4 IS NULL OR r.recorded_at >= $4)
               AND ($5 IS NULL OR r.recorded_at < $5)"
        };
    }
    let records_sql = concat!(
        "SELECT r.id, r.receipt_id, r.subject_id, r.workshop_id, r.controller_id, r.notice_id, r.notice_version, \
         r.notice_language, r.notice_sha256, r.notice_content_sha256, r.collection_method, r.collector, \
         r.token_sha256, r.renews_record_id, r.recorded_at, r.ledger_seq ",
        matching!(),
        " ORDER BY r.recorded_at DESC, r.ledger_seq DESC LIMIT $6 OFFSET $7"
    );
    let events_sql = concat!(
        "SELECT ",
        event_columns!(),
        " FROM consent_events WHERE record_id IN (SELECT r.id ",
        matching!(),
        " ORDER BY r.recorded_at DESC, r.ledger_seq DESC LIMIT $6 OFFSET $7) ORDER BY ledger_seq, id"
    );
    let count_sql = concat!("SELECT COUNT(*) ", matching!());
    // The same filter values, in the same order, for all three statements.
    macro_rules! bind_filter {
        ($query:expr) => {
            $query
                .bind(&filter.workshop_id)
                .bind(filter.notice_version)
                .bind(&filter.state)
                .bind(filter.from)
                .bind(filter.until)
        };
    }
    with_db!(db, pool => {
        let records = bind_filter!(sqlx::query_as(records_sql)).bind(limit).bind(offset).fetch_all(pool).await?;
        let events = bind_filter!(sqlx::query_as(events_sql)).bind(limit).bind(offset).fetch_all(pool).await?;
        let total: i64 = bind_filter!(sqlx::query_scalar(count_sql)).fetch_one(pool).await?;
        Ok((records, events, total))
    })
}

pub async fn by_id(db: &Db, id: &str) -> sqlx::Result<Option<ConsentRecord>> {
    let sql = concat!(
        "SELECT ",
        record_columns!(),
        " FROM consent_records WHERE id = $1"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)
}

/// The newest consents given (the dashboard's "recent" list): given decisions among the
/// newest `limit` records (found backwards along the ledger, whose consent entries name
/// their record), and later re-grants, newest first.
pub async fn recent_given(db: &Db, limit: i64) -> sqlx::Result<Vec<ConsentEvent>> {
    let sql = concat!(
        "SELECT ",
        event_columns!(),
        " FROM (
           SELECT ",
        event_columns!(),
        " FROM first_consent_events
           WHERE state = 'given'
             AND record_id IN (SELECT ref_id FROM ledger WHERE kind = 'consent.recorded'
                               ORDER BY seq DESC LIMIT $1)
           UNION ALL
           SELECT * FROM (SELECT ",
        event_columns!(),
        " FROM later_consent_events
                          WHERE state = 'given' ORDER BY ledger_seq DESC LIMIT $1) AS later
         ) AS given ORDER BY ledger_seq DESC, id LIMIT $1"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(limit).fetch_all(pool).await)
}

/// The newest withdrawals (the dashboard's "recent" list), along
/// `later_consent_events_withdrawn`, the index of the withdrawals alone (a first decision is
/// never a withdrawal).
pub async fn recent_withdrawals(db: &Db, limit: i64) -> sqlx::Result<Vec<ConsentEvent>> {
    let sql = concat!(
        "SELECT ",
        event_columns!(),
        " FROM later_consent_events WHERE state = 'withdrawn' ORDER BY ledger_seq DESC LIMIT $1"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(limit).fetch_all(pool).await)
}

/// A workshop's records in the order they were recorded, `limit` at a time after the record
/// with ledger sequence number `after` (keyset paging: bulk exports read in bounded pages).
pub async fn workshop_page(
    db: &Db,
    workshop_id: &str,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<ConsentRecord>> {
    let sql = concat!(
        "SELECT ",
        record_columns!(),
        " FROM consent_records WHERE workshop_id = $1 AND ledger_seq > $2 ORDER BY ledger_seq LIMIT $3"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(workshop_id).bind(after).bind(limit).fetch_all(pool).await)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::decode_first_events;

    #[test]
    fn first_events_read_back_with_the_record_s_time_or_their_own() {
        let recorded: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let json = r#"[["e1","fotos","art6-1-a","given","subject",null],
                       ["e2","newsletter","art6-1-a","refused","subject","2026-01-01T00:00:01.5+00:00"]]"#;
        let events = decode_first_events("r", recorded, 7, json).unwrap();
        let seen: Vec<_> = events
            .iter()
            .map(|e| {
                (
                    e.id.as_str(),
                    e.record_id.as_str(),
                    e.purpose_id.as_str(),
                    e.state.as_str(),
                    e.ledger_seq,
                    e.occurred_at.to_rfc3339(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "e1",
                    "r",
                    "fotos",
                    "given",
                    7,
                    "2026-01-01T00:00:00+00:00".to_owned()
                ),
                (
                    "e2",
                    "r",
                    "newsletter",
                    "refused",
                    7,
                    "2026-01-01T00:00:01.500+00:00".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn first_events_in_another_form_are_left_to_the_view() {
        let recorded: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        // A time as SQLite may hold it after a hand edit: sqlx reads it, this does not.
        let json = r#"[["e1","fotos","art6-1-a","given","subject","2026-01-01 00:00:01"]]"#;
        assert!(decode_first_events("r", recorded, 7, json).is_none());
        assert!(decode_first_events("r", recorded, 7, "[[\"e1\"]]").is_none());
    }
}
