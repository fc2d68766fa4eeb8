//! `consentd verify`: recompute the chain, then check that what the tables hold now still
//! matches the payload hashes the ledger carries; with `--chain-only`, the chain alone.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::domain::consent::{PersonalData, Subject};
use crate::domain::ledger::{
    ChainBreak, ChainStretch, EntryKind, ErasurePayload, EventsPayload, LedgerEntry, Seal,
    payload_hash, verify_chain, verify_chain_parallel,
};
use crate::store::Db;
use crate::store::audit::AuditEvent;
use crate::store::consents::{ConsentEvent, ConsentRecord, StoredSubject, event_payloads};
use crate::store::ledger::Snapshot;
use crate::store::retention::DeletionLogEntry;
use crate::store::subjects::Rectification;

/// One thing that does not match, at a ledger sequence number.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Problem {
    pub seq: i64,
    /// changed, missing, reordered, inserted
    pub kind: String,
    pub detail: String,
}

/// What a verification compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// The chain, and every table's rows against the entries that cover them.
    Full,
    /// The chain alone: every entry's hash, its link and the head (anchors too). Changes to
    /// the consent, subject, audit or deletion rows are not looked for.
    Chain,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub ok: bool,
    pub scope: Scope,
    pub length: i64,
    pub head_sha256: String,
    pub records_checked: usize,
    pub events_checked: usize,
    pub audit_events_checked: usize,
    /// Subjects whose personal data was erased through the service: their records still
    /// verify against the digest kept at erasure.
    pub subjects_erased: usize,
    /// Entries whose rows a retention rule removed (consent proofs reduced to tombstones) or
    /// anonymised (audit log, deletion log): sealed by a deletion-log entry, and checked
    /// against what it says is left.
    pub entries_sealed: usize,
    /// Sorted by sequence number; the first is the first break.
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.first()
    }
}

/// A hash written down outside the database: entry `seq` must still have it.
#[derive(Debug, Clone)]
pub struct Anchor {
    pub seq: i64,
    pub sha256: String,
}

impl std::str::FromStr for Anchor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (seq, sha) = s.split_once(':').ok_or("expected SEQ:SHA256")?;
        let seq = seq.trim().parse().map_err(|_| "SEQ must be a number")?;
        let sha256 = sha.trim().to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("SHA256 must be 64 hex digits".into());
        }
        Ok(Anchor { seq, sha256 })
    }
}

/// [`check`], plus anchors: hashes recorded elsewhere, which catch a wholesale rewrite of
/// the chain that is consistent in itself.
pub fn check_with_anchors(snapshot: &Snapshot, anchors: &[Anchor]) -> Report {
    with_anchors(check(snapshot), &snapshot.entries, anchors)
}

/// `consentd verify --chain-only` ([`Scope::Chain`]): the ledger walked as it is read, in
/// constant memory; with anchors, or when the walk finds anything amiss, the entries loaded
/// and checked by [`check_chain`], which names the break.
pub async fn chain_only(db: &Db, anchors: &[Anchor]) -> sqlx::Result<Report> {
    if anchors.is_empty()
        && let Some((stretches, head)) = crate::store::ledger::walk_chain(db).await?
        && let Some(summary) = ChainStretch::join(&stretches, (head.0, &head.1))
    {
        return Ok(chain_report(
            summary.length,
            summary.head_sha256,
            Vec::new(),
        ));
    }
    let (entries, head) = crate::store::ledger::chain(db).await?;
    Ok(check_chain(&entries, (head.0, &head.1), anchors))
}

/// The chain alone ([`Scope::Chain`]) over loaded entries, on every core, plus anchors.
pub fn check_chain(entries: &[LedgerEntry], head: (i64, &str), anchors: &[Anchor]) -> Report {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let report = match verify_chain_parallel(entries, Some(head), threads) {
        Ok(summary) => chain_report(summary.length, summary.head_sha256, Vec::new()),
        Err(broken) => chain_report(head.0, head.1.to_owned(), vec![problem(broken)]),
    };
    with_anchors(report, entries, anchors)
}

fn chain_report(length: i64, head_sha256: String, problems: Vec<Problem>) -> Report {
    Report {
        ok: problems.is_empty(),
        scope: Scope::Chain,
        length,
        head_sha256,
        records_checked: 0,
        events_checked: 0,
        audit_events_checked: 0,
        subjects_erased: 0,
        entries_sealed: 0,
        problems,
    }
}

fn problem(broken: ChainBreak) -> Problem {
    Problem {
        seq: broken.seq,
        kind: broken.kind.as_str().to_owned(),
        detail: broken.detail,
    }
}

fn with_anchors(mut report: Report, entries: &[LedgerEntry], anchors: &[Anchor]) -> Report {
    for anchor in anchors {
        let problem = match entries.iter().find(|e| e.seq == anchor.seq) {
            None => Some((
                "missing",
                format!("anchored entry {} is not in the ledger", anchor.seq),
            )),
            Some(e) if e.entry_sha256 != anchor.sha256 => Some((
                "changed",
                format!(
                    "entry {} has hash {} but {} was recorded for it",
                    anchor.seq, e.entry_sha256, anchor.sha256
                ),
            )),
            Some(_) => None,
        };
        if let Some((kind, detail)) = problem {
            report.problems.push(Problem {
                seq: anchor.seq,
                kind: kind.into(),
                detail,
            });
        }
    }
    report.problems.sort_by_key(|p| p.seq);
    report.ok = report.problems.is_empty();
    report
}

pub fn check(snapshot: &Snapshot) -> Report {
    let mut problems = Vec::new();
    let head = (snapshot.head.0, snapshot.head.1.as_str());

    let subjects: HashMap<&str, &StoredSubject> = snapshot
        .subjects
        .iter()
        .map(|s| (s.id.as_str(), s))
        .collect();
    let events = events_in_seq_order(&snapshot.events);
    let events_by_seq: BTreeMap<i64, &[ConsentEvent]> = events
        .chunk_by(|a, b| a.ledger_seq == b.ledger_seq)
        .map(|same_seq| (same_seq[0].ledger_seq, same_seq))
        .collect();
    let records: HashMap<&str, _> = snapshot
        .records
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    // Erasure is legitimate only where the ledger says the service did it.
    let erased_records: std::collections::HashSet<&str> = snapshot
        .entries
        .iter()
        .filter(|e| {
            e.kind == EntryKind::SubjectErased.as_str() || e.kind == EntryKind::Deletion.as_str()
        })
        .map(|e| e.ref_id.as_str())
        .collect();
    // Deletion entries refer to their deletion-log entry, which names the subject it
    // anonymised (older entries referred to the consent record itself).
    let erased_subjects: std::collections::HashSet<&str> = snapshot
        .deletions
        .iter()
        .filter(|d| d.category == "teilnehmende-kontaktdaten")
        .filter_map(|d| d.row_key.as_deref())
        .collect();
    let audit: HashMap<&str, _> = snapshot
        .audit_events
        .iter()
        .map(|a| (a.id.as_str(), a))
        .collect();
    let deletion_seqs: Vec<String> = snapshot
        .deletions
        .iter()
        .map(|d| d.ledger_seq.to_string())
        .collect();
    let deletions: HashMap<&str, _> = deletion_seqs
        .iter()
        .map(String::as_str)
        .zip(snapshot.deletions.iter())
        .collect();
    let rectifications: HashMap<&str, _> = snapshot
        .rectifications
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let seals = seals(snapshot, &mut problems);
    let tables = Tables {
        seals,
        subjects,
        events_by_seq,
        records,
        erased_records,
        erased_subjects,
        audit,
        deletions,
        rectifications,
    };

    // The chain and the per-entry checks are independent: the chain on one thread, the
    // entries in contiguous chunks on the others; problems are kept in entry order.
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let chunk_len = snapshot.entries.len().div_ceil(threads).max(1);
    let (chain, entry_checks) = std::thread::scope(|scope| {
        let chain = scope.spawn(|| verify_chain(&snapshot.entries, Some(head)));
        let chunks: Vec<_> = snapshot
            .entries
            .chunks(chunk_len)
            .map(|chunk| scope.spawn(|| check_entries(&tables, chunk)))
            .collect();
        let entry_checks: Vec<EntryChecks> = chunks.into_iter().map(joined).collect();
        (joined(chain), entry_checks)
    });
    let (length, head_sha256) = match chain {
        Ok(summary) => (summary.length, summary.head_sha256),
        Err(broken) => {
            problems.push(problem(broken));
            (snapshot.head.0, snapshot.head.1.clone())
        }
    };
    let mut covered_records = 0;
    let mut subjects_erased = 0;
    let mut entries_sealed = 0;
    for checked in entry_checks {
        problems.extend(checked.problems);
        covered_records += checked.covered_records;
        subjects_erased += checked.subjects_erased;
        entries_sealed += checked.entries_sealed;
    }
    let Tables {
        mut events_by_seq, ..
    } = tables;
    // Ledger sequence numbers are unique (the table's key): each entry took its events.
    for entry in &snapshot.entries {
        events_by_seq.remove(&entry.seq);
    }

    // Rows that no ledger entry accounts for were added behind the service's back.
    for (seq, events) in events_by_seq {
        problems.push(Problem {
            seq,
            kind: "inserted".into(),
            detail: format!(
                "{} event row(s) refer to a ledger entry that does not exist",
                events.len()
            ),
        });
    }
    if covered_records < snapshot.records.len() {
        for record in &snapshot.records {
            let accounted = snapshot.entries.iter().any(|e| {
                e.seq == record.ledger_seq
                    && e.ref_id == record.id
                    && e.kind == EntryKind::ConsentRecorded.as_str()
            });
            if !accounted {
                problems.push(Problem {
                    seq: record.ledger_seq,
                    kind: "inserted".into(),
                    detail: format!("consent record {} has no ledger entry", record.id),
                });
            }
        }
    }
    let deletion_entries: std::collections::HashSet<i64> = snapshot
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Deletion.as_str())
        .map(|e| e.seq)
        .collect();
    for d in snapshot
        .deletions
        .iter()
        .filter(|d| !deletion_entries.contains(&d.ledger_seq))
    {
        problems.push(Problem {
            seq: d.ledger_seq,
            kind: "inserted".into(),
            detail: format!("deletion log entry {} has no ledger entry", d.id),
        });
    }
    let entry_refs: std::collections::HashSet<(i64, &str)> = snapshot
        .entries
        .iter()
        .map(|e| (e.seq, e.ref_id.as_str()))
        .collect();
    for event in &snapshot.audit_events {
        if !entry_refs.contains(&(event.ledger_seq, event.id.as_str())) {
            problems.push(Problem {
                seq: event.ledger_seq,
                kind: "inserted".into(),
                detail: format!("audit event {} has no ledger entry", event.id),
            });
        }
    }
    problems.extend(rectification_chain_problems(snapshot));
    // Subjects no record points to were added behind the service's back.
    let referenced: std::collections::HashSet<&str> = snapshot
        .records
        .iter()
        .map(|r| r.subject_id.as_str())
        .collect();
    for subject in snapshot
        .subjects
        .iter()
        .filter(|s| !referenced.contains(s.id.as_str()))
    {
        problems.push(Problem {
            seq: 0,
            kind: "inserted".into(),
            detail: format!("subject {} belongs to no consent record", subject.id),
        });
    }
    // The stored notice texts are the proof of the wording: each must still hash to its key,
    // and every record's text must be there.
    let texts: std::collections::HashSet<&str> =
        snapshot.notice_texts.iter().map(|t| t.0.as_str()).collect();
    for (sha, markdown) in &snapshot.notice_texts {
        if crate::domain::notice::sha256_hex(markdown.as_bytes()) != *sha {
            problems.push(Problem {
                seq: 0,
                kind: "changed".into(),
                detail: format!("the stored notice text {sha} was edited"),
            });
        }
    }
    for record in snapshot
        .records
        .iter()
        .filter(|r| !texts.contains(r.notice_sha256.as_str()))
    {
        problems.push(Problem {
            seq: record.ledger_seq,
            kind: "missing".into(),
            detail: format!("the notice text of consent record {} is missing", record.id),
        });
    }
    problems.sort_by_key(|p| p.seq);

    Report {
        ok: problems.is_empty(),
        scope: Scope::Full,
        length,
        head_sha256,
        records_checked: snapshot.records.len(),
        events_checked: snapshot.events.len(),
        audit_events_checked: snapshot.audit_events.len(),
        subjects_erased,
        entries_sealed,
        problems,
    }
}

/// What the per-entry checks look rows up in: built once, shared by the threads.
struct Tables<'a> {
    /// Sealed entries: what is left of their rows, and the deletion that sealed them.
    seals: HashMap<i64, (Option<String>, &'a DeletionLogEntry)>,
    subjects: HashMap<&'a str, &'a StoredSubject>,
    /// The event rows of each ledger entry.
    events_by_seq: BTreeMap<i64, &'a [ConsentEvent]>,
    records: HashMap<&'a str, &'a ConsentRecord>,
    erased_records: HashSet<&'a str>,
    erased_subjects: HashSet<&'a str>,
    audit: HashMap<&'a str, &'a AuditEvent>,
    /// By ledger sequence number, as text.
    deletions: HashMap<&'a str, &'a DeletionLogEntry>,
    rectifications: HashMap<&'a str, &'a Rectification>,
}

/// What [`check_entries`] found in its run of entries.
struct EntryChecks {
    /// In entry order.
    problems: Vec<Problem>,
    covered_records: usize,
    subjects_erased: usize,
    entries_sealed: usize,
}

/// Checks each of `entries` (a contiguous run of the ledger) against the rows it covers:
/// payload hashes, subject digests, erasures.
fn check_entries(tables: &Tables<'_>, entries: &[LedgerEntry]) -> EntryChecks {
    let Tables {
        seals,
        subjects,
        events_by_seq,
        records,
        erased_records,
        erased_subjects,
        audit,
        deletions,
        rectifications,
    } = tables;
    let mut problems = Vec::new();
    let mut covered_records = 0;
    let mut subjects_erased = 0;
    let mut entries_sealed = 0;

    for entry in entries {
        let events = events_by_seq.get(&entry.seq).copied().unwrap_or_default();
        let mut problem = |kind: &str, detail: String| {
            problems.push(Problem {
                seq: entry.seq,
                kind: kind.to_owned(),
                detail,
            });
        };
        if let Some((residual, by)) = seals.get(&entry.seq) {
            entries_sealed += 1;
            if let Err(detail) = tables.matches_seal(entry, residual.as_deref(), !events.is_empty())
            {
                problem(
                    "changed",
                    format!("{detail} (sealed by deletion {})", by.id),
                );
            }
            continue;
        }
        match EntryKind::parse(&entry.kind) {
            Some(EntryKind::ConsentRecorded) => {
                let Some(record) = records
                    .get(entry.ref_id.as_str())
                    .filter(|r| r.ledger_seq == entry.seq)
                else {
                    problem(
                        "missing",
                        format!("consent record {} is missing from the table", entry.ref_id),
                    );
                    continue;
                };
                covered_records += 1;
                let Some(subject) = subjects.get(record.subject_id.as_str()) else {
                    problem(
                        "missing",
                        format!("the subject of consent record {} is missing", record.id),
                    );
                    continue;
                };
                if subject.erased_at.is_some() {
                    if subject.name.is_some()
                        || subject.email.is_some()
                        || subject.organisation.is_some()
                        || subject.salt.is_some()
                        || subject.ip_truncated.is_some()
                        || subject.user_agent.is_some()
                    {
                        problem(
                            "changed",
                            format!(
                                "the subject of consent record {} was erased but has data again",
                                record.id
                            ),
                        );
                        continue;
                    }
                    if !erased_records.contains(record.id.as_str())
                        && !erased_subjects.contains(record.subject_id.as_str())
                    {
                        problem(
                            "changed",
                            format!(
                                "the subject of consent record {} was erased outside the service",
                                record.id
                            ),
                        );
                        continue;
                    }
                    subjects_erased += 1;
                } else if subject_digest(subject).as_deref()
                    != Some(subject.current_digest.as_deref().unwrap_or(&subject.digest))
                {
                    problem(
                        "changed",
                        format!("the subject of consent record {} was changed", record.id),
                    );
                    continue;
                }
                if payload_hash(&record.payload(&subject.digest, events)) != entry.payload_sha256 {
                    problem(
                        "changed",
                        format!(
                            "consent record {} or its events no longer match the ledger",
                            record.id
                        ),
                    );
                }
            }
            Some(EntryKind::ConsentEvents) => {
                let payload = EventsPayload {
                    record_id: &entry.ref_id,
                    events: event_payloads(events),
                };
                if events.is_empty() {
                    problem(
                        "missing",
                        format!("the events of consent record {} are missing", entry.ref_id),
                    );
                } else if payload_hash(&payload) != entry.payload_sha256 {
                    problem(
                        "changed",
                        format!(
                            "events of consent record {} no longer match the ledger",
                            entry.ref_id
                        ),
                    );
                }
            }
            Some(EntryKind::SubjectErased) => {
                let record = records.get(entry.ref_id.as_str());
                let subject = record.and_then(|r| subjects.get(r.subject_id.as_str()));
                let (Some(record), Some(subject)) = (record, subject) else {
                    problem(
                        "missing",
                        format!(
                            "the erased subject of consent record {} is missing",
                            entry.ref_id
                        ),
                    );
                    continue;
                };
                let payload = ErasurePayload {
                    record_id: &record.id,
                    subject_id: &subject.id,
                    subject_digest: &subject.digest,
                    events: event_payloads(events),
                };
                if subject.erased_at.is_none() || subject.name.is_some() || subject.email.is_some()
                {
                    problem(
                        "changed",
                        format!(
                            "the subject of consent record {} was erased but has data again",
                            record.id
                        ),
                    );
                } else if payload_hash(&payload) != entry.payload_sha256 {
                    problem(
                        "changed",
                        format!(
                            "the erasure of consent record {} no longer matches the ledger",
                            record.id
                        ),
                    );
                }
            }
            Some(EntryKind::Audit | EntryKind::Deletion | EntryKind::SubjectRectified)
                if !events.is_empty() =>
            {
                problem(
                    "inserted",
                    format!(
                        "{} consent event row(s) refer to audit entry {}",
                        events.len(),
                        entry.seq
                    ),
                );
            }
            Some(EntryKind::SubjectRectified) => match rectifications
                .get(entry.ref_id.as_str())
                .filter(|r| r.ledger_seq == entry.seq)
            {
                None => problem(
                    "missing",
                    format!("rectification {} is missing from the table", entry.ref_id),
                ),
                Some(r) if payload_hash(&r.payload()) != entry.payload_sha256 => problem(
                    "changed",
                    format!("rectification {} no longer matches the ledger", r.id),
                ),
                Some(_) => {}
            },
            Some(EntryKind::Audit) => match audit
                .get(entry.ref_id.as_str())
                .filter(|a| a.ledger_seq == entry.seq)
            {
                None => problem(
                    "missing",
                    format!("audit event {} is missing from the table", entry.ref_id),
                ),
                Some(event) if payload_hash(&event.payload()) != entry.payload_sha256 => problem(
                    "changed",
                    format!("audit event {} no longer matches the ledger", entry.ref_id),
                ),
                Some(_) => {}
            },
            Some(EntryKind::Deletion) => match deletions.get(entry.seq.to_string().as_str()) {
                None => problem(
                    "missing",
                    format!(
                        "the deletion log entry of ledger entry {} is missing",
                        entry.seq
                    ),
                ),
                Some(d) if payload_hash(&d.payload()) != entry.payload_sha256 => problem(
                    "changed",
                    format!("deletion log entry {} no longer matches the ledger", d.id),
                ),
                Some(_) => {}
            },
            None => problem("changed", format!("unknown entry kind `{}`", entry.kind)),
        }
    }

    EntryChecks {
        problems,
        covered_records,
        subjects_erased,
        entries_sealed,
    }
}

/// The events sorted by ledger sequence number (as the snapshot reads them), so that each
/// entry's events are one slice; equal numbers keep their order.
fn events_in_seq_order(events: &[ConsentEvent]) -> Cow<'_, [ConsentEvent]> {
    if events.is_sorted_by_key(|e| e.ledger_seq) {
        Cow::Borrowed(events)
    } else {
        let mut sorted = events.to_vec();
        sorted.sort_by_key(|e| e.ledger_seq);
        Cow::Owned(sorted)
    }
}

/// A scoped thread's result; its panic, if it panicked.
fn joined<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Sealed entries by sequence number: what is left of their rows (`None`: nothing), and
/// the deletion that sealed them. A seal counts only where the sealing deletion has its own
/// ledger entry after the sealed one; a seal list that does not parse is a problem.
fn seals<'a>(
    snapshot: &'a Snapshot,
    problems: &mut Vec<Problem>,
) -> HashMap<i64, (Option<String>, &'a DeletionLogEntry)> {
    let in_ledger: std::collections::HashSet<i64> = snapshot
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Deletion.as_str())
        .map(|e| e.seq)
        .collect();
    let mut seals = HashMap::new();
    for d in snapshot
        .deletions
        .iter()
        .filter(|d| in_ledger.contains(&d.ledger_seq))
    {
        let Some(text) = &d.sealed else { continue };
        match Seal::parse(text) {
            Ok(list) => {
                for seal in list.into_iter().filter(|s| s.seq < d.ledger_seq) {
                    seals.insert(seal.seq, (seal.residual_sha256, d));
                }
            }
            Err(why) => problems.push(Problem {
                seq: d.ledger_seq,
                kind: "changed".into(),
                detail: format!(
                    "deletion log entry {} has an unreadable seal list: {why}",
                    d.id
                ),
            }),
        }
    }
    seals
}

impl Tables<'_> {
    /// Whether the rows of a sealed entry are as its seal says: gone (a tombstone), or
    /// anonymised to exactly the residual hash.
    fn matches_seal(
        &self,
        entry: &LedgerEntry,
        residual: Option<&str>,
        has_events: bool,
    ) -> Result<(), String> {
        let kind = EntryKind::parse(&entry.kind);
        let id = entry.ref_id.as_str();
        match (kind, residual) {
            (
                Some(
                    EntryKind::ConsentRecorded
                    | EntryKind::ConsentEvents
                    | EntryKind::SubjectErased
                    | EntryKind::SubjectRectified,
                ),
                None,
            ) => {
                let back = has_events
                    || self.records.contains_key(id)
                    || self.rectifications.contains_key(id);
                if back {
                    Err(format!(
                        "the rows of entry {} are back after their tombstone",
                        entry.seq
                    ))
                } else {
                    Ok(())
                }
            }
            (Some(EntryKind::Audit), Some(hash)) => match self.audit.get(id) {
                Some(a) if payload_hash(&a.payload()) == hash => Ok(()),
                Some(_) => Err(format!("anonymised audit event {id} was changed")),
                None => Err(format!("anonymised audit event {id} is missing")),
            },
            (Some(EntryKind::Deletion), Some(hash)) => {
                match self.deletions.get(entry.seq.to_string().as_str()) {
                    Some(d) if d.payload().hash() == hash => Ok(()),
                    Some(d) => Err(format!(
                        "anonymised deletion log entry {} was changed",
                        d.id
                    )),
                    None => Err(format!(
                        "the anonymised deletion log entry of ledger entry {} is missing",
                        entry.seq
                    )),
                }
            }
            _ => Err(format!(
                "entry {} of kind `{}` cannot be sealed this way",
                entry.seq, entry.kind
            )),
        }
    }
}

/// Each subject's rectifications must lead from the digest recorded with the consent to the
/// one its data has now, each with its ledger entry; a digest changed without one is a
/// rewrite behind the service's back.
fn rectification_chain_problems(snapshot: &Snapshot) -> Vec<Problem> {
    let mut problems = Vec::new();
    let entries: std::collections::HashSet<(i64, &str)> = snapshot
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::SubjectRectified.as_str())
        .map(|e| (e.seq, e.ref_id.as_str()))
        .collect();
    for r in &snapshot.rectifications {
        if !entries.contains(&(r.ledger_seq, r.id.as_str())) {
            problems.push(Problem {
                seq: r.ledger_seq,
                kind: "inserted".into(),
                detail: format!("rectification {} has no ledger entry", r.id),
            });
        }
    }
    // Each subject's rectifications in snapshot order, found without a scan per subject.
    let mut by_subject: HashMap<&str, Vec<&Rectification>> = HashMap::new();
    for r in &snapshot.rectifications {
        by_subject.entry(r.subject_id.as_str()).or_default().push(r);
    }
    for subject in &snapshot.subjects {
        let chain = by_subject
            .get(subject.id.as_str())
            .map_or(&[][..], Vec::as_slice);
        let mut digest = subject.digest.as_str();
        let mut broken = false;
        for r in chain {
            broken |= r.previous_digest != digest;
            digest = &r.digest;
        }
        if broken || subject.current_digest.as_deref().unwrap_or(&subject.digest) != digest {
            problems.push(Problem {
                seq: chain.last().map(|r| r.ledger_seq).unwrap_or(0),
                kind: "changed".into(),
                detail: format!(
                    "the rectifications of subject {} do not lead to its current data",
                    subject.id
                ),
            });
        }
    }
    problems
}

/// Recomputes a live subject's digest from its personal data.
fn subject_digest(subject: &StoredSubject) -> Option<String> {
    let personal = PersonalData {
        name: subject.name.as_deref()?,
        email: subject.email.as_deref()?,
        organisation: subject.organisation.as_deref(),
        ip_truncated: subject.ip_truncated.as_deref(),
        user_agent: subject.user_agent.as_deref(),
    };
    Some(Subject::digest(&personal, subject.salt.as_deref()?))
}
