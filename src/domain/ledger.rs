//! The hash-chained ledger: `hash_n = SHA-256(hash_{n-1} ‖ canonical bytes of entry n)`.
//!
//! An entry carries only the SHA-256 of its payload (the consent record or events it
//! commits to), never personal data, so erasure can remove personal data while the chain
//! still verifies.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::notice::{lowercase_hex, sha256_hex};
use crate::clock::{canonical_time, canonical_time_ascii};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A consent record with its first events (given, refused, acknowledged).
    ConsentRecorded,
    /// Later events on a record: withdrawals now, expiry later.
    ConsentEvents,
    /// The subject's personal data was erased through the service; the record's purposes
    /// get `erased` events. Verification then accepts the missing personal data.
    SubjectErased,
    /// An Art. 16 rectification of a subject's data: the fields and digests, never values.
    SubjectRectified,
    /// A staff action or security event (login, user added, token revoked, …).
    Audit,
    /// A deletion under a retention rule (the deletion log entry, never the content).
    Deletion,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::ConsentRecorded => "consent.recorded",
            EntryKind::ConsentEvents => "consent.events",
            EntryKind::SubjectErased => "subject.erased",
            EntryKind::SubjectRectified => "subject.rectified",
            EntryKind::Audit => "audit",
            EntryKind::Deletion => "retention.deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "consent.recorded" => Some(EntryKind::ConsentRecorded),
            "consent.events" => Some(EntryKind::ConsentEvents),
            "subject.erased" => Some(EntryKind::SubjectErased),
            "subject.rectified" => Some(EntryKind::SubjectRectified),
            "audit" => Some(EntryKind::Audit),
            "retention.deleted" => Some(EntryKind::Deletion),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    pub seq: i64,
    pub recorded_at: DateTime<Utc>,
    pub kind: String,
    /// What the entry is about: a consent record id, or an audit event id.
    pub ref_id: String,
    pub payload_sha256: String,
    pub prev_sha256: String,
    pub entry_sha256: String,
}

impl LedgerEntry {
    /// Builds the entry that follows `prev_sha256`, computing its hash.
    pub fn next(
        seq: i64,
        prev_sha256: &str,
        recorded_at: DateTime<Utc>,
        kind: EntryKind,
        ref_id: &str,
        payload_sha256: &str,
    ) -> Self {
        let mut entry = LedgerEntry {
            seq,
            recorded_at,
            kind: kind.as_str().to_owned(),
            ref_id: ref_id.to_owned(),
            payload_sha256: payload_sha256.to_owned(),
            prev_sha256: prev_sha256.to_owned(),
            entry_sha256: String::new(),
        };
        entry.entry_sha256 = entry.compute_hash(prev_sha256);
        entry
    }

    /// The bytes that are chained: fixed field order, one per line, no personal data.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        self.view().canonical_bytes()
    }

    /// `SHA-256(prev ‖ canonical bytes)`, with `prev` as its 32 raw bytes.
    pub fn compute_hash(&self, prev_sha256: &str) -> String {
        lowercase_hex(&self.view().digest_after(prev_sha256))
    }

    pub fn view(&self) -> EntryView<'_> {
        EntryView {
            seq: self.seq,
            recorded_at: self.recorded_at,
            kind: &self.kind,
            ref_id: &self.ref_id,
            payload_sha256: &self.payload_sha256,
            prev_sha256: &self.prev_sha256,
            entry_sha256: &self.entry_sha256,
        }
    }

    /// True when the entry's own fields still produce its stored hash.
    pub fn is_intact(&self) -> bool {
        self.compute_hash(&self.prev_sha256) == self.entry_sha256
    }
}

/// An entry's fields borrowed from wherever they lie: a [`LedgerEntry`], or a row being read
/// (`verify --chain-only` hashes rows as they stream past, without keeping them).
#[derive(Clone, Copy, Debug)]
pub struct EntryView<'a> {
    pub seq: i64,
    pub recorded_at: DateTime<Utc>,
    pub kind: &'a str,
    pub ref_id: &'a str,
    pub payload_sha256: &'a str,
    pub prev_sha256: &'a str,
    pub entry_sha256: &'a str,
}

impl EntryView<'_> {
    /// [`LedgerEntry::canonical_bytes`].
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Piece by piece rather than through `format!`: the chain check does this for every
        // entry, and the formatting machinery was a third of its time.
        let mut out = Vec::with_capacity(48 + self.kind.len() + self.ref_id.len() + 64);
        out.extend_from_slice(b"consentd-ledger/1\n");
        out.extend_from_slice(self.seq.to_string().as_bytes());
        out.push(b'\n');
        match canonical_time_ascii(self.recorded_at) {
            Some(ascii) => out.extend_from_slice(&ascii),
            None => out.extend_from_slice(canonical_time(self.recorded_at).as_bytes()),
        }
        for field in [self.kind, self.ref_id, self.payload_sha256] {
            out.push(b'\n');
            out.extend_from_slice(field.as_bytes());
        }
        out.push(b'\n');
        out
    }

    fn digest_after(&self, prev_sha256: &str) -> [u8; 32] {
        // On the stack when well-formed; otherwise whatever bytes `hex::decode` makes of it
        // (none if it is not hex), as before.
        let mut prev = [0u8; 32];
        match hex::decode_to_slice(prev_sha256, &mut prev) {
            Ok(()) => self.digest_after_bytes(&prev),
            Err(_) => self.digest_after_bytes(&hex::decode(prev_sha256).unwrap_or_default()),
        }
    }

    fn digest_after_bytes(&self, prev: &[u8]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(prev);
        hasher.update(self.canonical_bytes());
        hasher.finalize().into()
    }
}

/// A hash as its 32 bytes, if it is written as [`LedgerEntry::compute_hash`] writes hashes
/// (lowercase hex); any other text never equals a computed hash.
fn lowercase_digest(hex_sha256: &str) -> Option<[u8; 32]> {
    let mut digest = [0u8; 32];
    let lowercase = !hex_sha256.bytes().any(|b| b.is_ascii_uppercase());
    (lowercase && hex::decode_to_slice(hex_sha256, &mut digest).is_ok()).then_some(digest)
}

/// Consecutive entries checked as they stream past, keeping only the last hash: what
/// `verify --chain-only` does with each reader's part of the ledger, in constant memory.
/// [`ChainStretch::join`] then says whether the parts make one intact chain; when they do
/// not, [`verify_chain`] over the loaded entries names the break.
#[derive(Debug, Default)]
pub struct ChainStretch {
    /// The first entry's number and the predecessor hash it names.
    first: Option<(i64, [u8; 32])>,
    /// The last entry's number and hash.
    last: Option<(i64, [u8; 32])>,
    broken: bool,
}

impl ChainStretch {
    /// Takes the next entry: it must follow the last one (its number, and a hash made from
    /// the last one's hash), or, as the first, hash correctly from the predecessor it names.
    pub fn push(&mut self, entry: EntryView<'_>) {
        if self.broken {
            return;
        }
        let Some(stored) = lowercase_digest(entry.entry_sha256) else {
            self.broken = true;
            return;
        };
        let follows = match self.last {
            Some((seq, hash)) => {
                seq.checked_add(1) == Some(entry.seq) && entry.digest_after_bytes(&hash) == stored
            }
            None => {
                let named = lowercase_digest(entry.prev_sha256);
                self.first = Some((entry.seq, named.unwrap_or_default()));
                named.is_some_and(|named| entry.digest_after_bytes(&named) == stored)
            }
        };
        self.broken = !follows;
        self.last = Some((entry.seq, stored));
    }

    /// The summary [`verify_chain`] would give for `stretches` one after another, when they
    /// make one intact chain from the genesis to `head`; `None` when anything does not hold.
    pub fn join(stretches: &[ChainStretch], head: (i64, &str)) -> Option<ChainSummary> {
        Self::join_to(stretches, Some(head))
    }

    /// [`Self::join`]; without a head, to wherever the stretches end.
    fn join_to(stretches: &[ChainStretch], head: Option<(i64, &str)>) -> Option<ChainSummary> {
        let mut last: (i64, [u8; 32]) = (0, [0; 32]); // the genesis
        for stretch in stretches {
            if stretch.broken {
                return None;
            }
            let (Some(first), Some(end)) = (stretch.first, stretch.last) else {
                continue; // an empty part
            };
            if (Some(first.0), first.1) != (last.0.checked_add(1), last.1) {
                return None;
            }
            last = end;
        }
        let head_sha256 = lowercase_hex(&last.1);
        head.is_none_or(|head| head == (last.0, head_sha256.as_str()))
            .then_some(ChainSummary {
                length: last.0,
                head_sha256,
            })
    }
}

// Canonical JSON has its object keys sorted. The payloads below declare their fields in
// sorted key order (nested ones too), so serialising them directly gives the canonical JSON
// without building a sorted map first; the tests compare each with the map-based form.

/// What a payload hash commits to for a consent record. Built from the new record when it
/// is written and from the tables when `verify` checks them: the same code both times.
#[derive(Clone, Debug, Serialize)]
pub struct RecordPayload<'a> {
    pub collection_method: &'a str,
    pub collector: Option<&'a str>,
    pub controller_id: &'a str,
    pub events: Vec<EventPayload<'a>>,
    pub notice_content_sha256: &'a str,
    pub notice_id: &'a str,
    pub notice_language: &'a str,
    pub notice_sha256: &'a str,
    pub notice_version: i64,
    pub receipt_id: &'a str,
    pub record_id: &'a str,
    pub recorded_at: String,
    pub renews_record_id: Option<&'a str>,
    pub subject_digest: &'a str,
    pub subject_id: &'a str,
    pub token_sha256: &'a str,
    pub workshop_id: &'a str,
}

#[derive(Clone, Debug, Serialize)]
pub struct EventPayload<'a> {
    pub actor: &'a str,
    pub event_id: &'a str,
    pub legal_basis: &'a str,
    pub occurred_at: String,
    pub purpose_id: &'a str,
    pub record_id: &'a str,
    pub state: &'a str,
}

/// Payload of a `consent.events` entry.
#[derive(Clone, Debug, Serialize)]
pub struct EventsPayload<'a> {
    pub events: Vec<EventPayload<'a>>,
    pub record_id: &'a str,
}

/// Payload of a `subject.erased` entry: which subject, the digest that stays, and the
/// `erased` events. Never the erased data.
#[derive(Clone, Debug, Serialize)]
pub struct ErasurePayload<'a> {
    pub events: Vec<EventPayload<'a>>,
    pub record_id: &'a str,
    pub subject_digest: &'a str,
    pub subject_id: &'a str,
}

/// Payload of a `subject.rectified` entry: which fields changed and the digest before and
/// after (the salt stays, so the old data can still be matched if the person presents it).
#[derive(Clone, Debug, Serialize)]
pub struct RectificationPayload<'a> {
    pub digest: &'a str,
    pub fields: &'a str,
    pub id: &'a str,
    pub previous_digest: &'a str,
    pub rectified_at: String,
    pub subject_id: &'a str,
}

/// Payload of an `audit` entry: the audit row as stored.
#[derive(Clone, Debug, Serialize)]
pub struct AuditPayload<'a> {
    pub action: &'a str,
    pub actor: &'a str,
    pub at: String,
    pub id: &'a str,
    pub ip_truncated: Option<&'a str>,
    pub target: Option<&'a str>,
}

/// Payload of a `retention.deleted` entry: the deletion log row. Fields are declared in
/// sorted order, so serialising the struct directly gives the canonical JSON of
/// [`payload_hash`] without building a map (a sweep hashes a million of these).
#[derive(Clone, Debug, Serialize)]
pub struct DeletionPayload<'a> {
    pub category: &'a str,
    pub due_on: String,
    pub executed_at: String,
    pub id: &'a str,
    /// The log entry this one re-applies after a restored backup (absent otherwise; absent
    /// fields keep the hashes of entries written before they existed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<&'a str>,
    /// The key of the row deleted or anonymised (a random id, never content).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_key: Option<&'a str>,
    pub rows_affected: i64,
    pub rule_version: i64,
    /// The ledger entries whose rows this deletion removed or anonymised ([`Seal::format`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sealed: Option<&'a str>,
    pub start_on: String,
    pub subject_pseudonym: Option<&'a str>,
    pub target: &'a str,
}

/// A ledger entry whose rows a retention rule removed (a tombstone) or anonymised. The
/// entry and its hashes stay in the chain; the deletion-log entry that did it lists the
/// seal, and its own ledger entry makes the list tamper-evident. `verify` then accepts the
/// sealed entry's rows as gone, or checks what is left of them against `residual_sha256`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seal {
    pub seq: i64,
    /// The payload hash of the anonymised rows; `None` when they were deleted.
    pub residual_sha256: Option<String>,
}

impl Seal {
    /// `12 13=<sha256>`: by sequence number, space separated; `=` gives a residual hash.
    pub fn format(seals: &[Seal]) -> String {
        let mut seals: Vec<&Seal> = seals.iter().collect();
        seals.sort_by_key(|s| s.seq);
        seals
            .iter()
            .map(|s| match &s.residual_sha256 {
                Some(hash) => format!("{}={hash}", s.seq),
                None => s.seq.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn parse(text: &str) -> Result<Vec<Seal>, String> {
        text.split_ascii_whitespace()
            .map(|token| {
                let (seq, residual) = match token.split_once('=') {
                    Some((seq, hash)) => (seq, Some(hash)),
                    None => (token, None),
                };
                let seq = seq
                    .parse()
                    .map_err(|_| format!("`{token}` does not start with a sequence number"))?;
                if let Some(hash) = residual
                    && (hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    return Err(format!("`{token}` has no SHA-256 after `=`"));
                }
                Ok(Seal {
                    seq,
                    residual_sha256: residual.map(str::to_owned),
                })
            })
            .collect()
    }
}

impl DeletionPayload<'_> {
    /// Equal to `payload_hash(self)`, faster.
    pub fn hash(&self) -> String {
        sha256_hex(&serde_json::to_vec(self).expect("plain data"))
    }
}

/// A payload whose serialisation is its canonical JSON (object keys sorted, no whitespace):
/// its fields, and those of the objects it contains, are declared in sorted key order.
/// Implemented only for types whose hash a test compares with [`value_payload_hash`].
pub trait CanonicalPayload: Serialize {}

impl CanonicalPayload for RecordPayload<'_> {}
impl CanonicalPayload for EventsPayload<'_> {}
impl CanonicalPayload for ErasurePayload<'_> {}
impl CanonicalPayload for RectificationPayload<'_> {}
impl CanonicalPayload for AuditPayload<'_> {}
impl CanonicalPayload for DeletionPayload<'_> {}
/// A `Value` keeps its object keys in a `BTreeMap`: sorted.
impl CanonicalPayload for serde_json::Value {}

/// SHA-256 of the canonical JSON of a payload (object keys sorted, no whitespace).
pub fn payload_hash<T: CanonicalPayload>(payload: &T) -> String {
    let mut json = Vec::with_capacity(2048);
    serde_json::to_writer(&mut json, payload).expect("payloads are plain data");
    sha256_hex(&json)
}

/// The same hash through a `serde_json::Value`, which sorts the keys of any payload: the
/// definition the ledger's hashes were first computed with, kept as the tests' reference.
pub fn value_payload_hash<T: Serialize>(payload: &T) -> String {
    let value = serde_json::to_value(payload).expect("payloads are plain data");
    sha256_hex(value.to_string().as_bytes())
}

/// Why the chain is broken at `seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BreakKind {
    /// The entry's fields no longer produce its hash.
    Changed,
    /// Entries are missing before this one (a gap in sequence numbers, or the head is ahead).
    Missing,
    /// The entry is intact but belongs elsewhere in the chain.
    Reordered,
    /// The entry is intact in itself but was not chained to its predecessor.
    Inserted,
}

impl BreakKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            BreakKind::Changed => "changed",
            BreakKind::Missing => "missing",
            BreakKind::Reordered => "reordered",
            BreakKind::Inserted => "inserted",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainBreak {
    pub seq: i64,
    pub kind: BreakKind,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainSummary {
    pub length: i64,
    pub head_sha256: String,
}

/// Recomputes the chain over `entries` (sorted by seq) and compares it with the stored head.
pub fn verify_chain(
    entries: &[LedgerEntry],
    head: Option<(i64, &str)>,
) -> Result<ChainSummary, ChainBreak> {
    let mut prev = GENESIS.to_owned();
    let mut expected_seq = 1;
    for (i, entry) in entries.iter().enumerate() {
        if entry.seq > expected_seq {
            return Err(ChainBreak {
                seq: expected_seq,
                kind: BreakKind::Missing,
                detail: format!("entries {expected_seq}..{} are missing", entry.seq - 1),
            });
        }
        let recomputed = entry.compute_hash(&prev);
        if recomputed != entry.entry_sha256 {
            let (kind, detail) = if entry.prev_sha256 == prev {
                (
                    BreakKind::Changed,
                    format!(
                        "stored hash {} but the entry's fields hash to {}",
                        short(&entry.entry_sha256),
                        short(&recomputed)
                    ),
                )
            } else if entries
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && other.entry_sha256 == entry.prev_sha256)
            {
                (
                    BreakKind::Reordered,
                    "entry chains to another position than its own (rows moved or swapped)"
                        .to_owned(),
                )
            } else if entry.is_intact() {
                (
                    BreakKind::Inserted,
                    "entry hashes correctly but was not chained to its predecessor".to_owned(),
                )
            } else {
                (
                    BreakKind::Changed,
                    "the entry's link to its predecessor was altered".to_owned(),
                )
            };
            return Err(ChainBreak {
                seq: entry.seq,
                kind,
                detail,
            });
        }
        prev = recomputed;
        expected_seq = entry.seq + 1;
    }
    let length = expected_seq - 1;
    match head {
        Some((head_seq, _)) if head_seq > length => Err(ChainBreak {
            seq: length + 1,
            kind: BreakKind::Missing,
            detail: format!("the head says {head_seq} entries, only {length} are present"),
        }),
        Some((head_seq, head_hash)) if head_seq == length && head_hash != prev => Err(ChainBreak {
            seq: length,
            kind: BreakKind::Changed,
            detail: "the last entry does not match the recorded head".to_owned(),
        }),
        Some((head_seq, _)) if head_seq < length => Err(ChainBreak {
            seq: head_seq + 1,
            kind: BreakKind::Inserted,
            detail: format!("entries after the recorded head ({head_seq}) were appended"),
        }),
        _ => Ok(ChainSummary {
            length,
            head_sha256: prev,
        }),
    }
}

/// [`verify_chain`] on `threads` threads: the entries in contiguous chunks, each streamed
/// through a [`ChainStretch`] at once, then joined. When they make one intact chain to the
/// head, that is `verify_chain`'s whole answer; otherwise `verify_chain` runs to name the
/// first break exactly as it always does (a broken chain is the rare case).
pub fn verify_chain_parallel(
    entries: &[LedgerEntry],
    head: Option<(i64, &str)>,
    threads: usize,
) -> Result<ChainSummary, ChainBreak> {
    let chunk_len = entries.len().div_ceil(threads.max(1)).max(1);
    let stretches: Vec<ChainStretch> = std::thread::scope(|scope| {
        let chunks: Vec<_> = entries
            .chunks(chunk_len)
            .map(|chunk| {
                scope.spawn(move || {
                    let mut stretch = ChainStretch::default();
                    chunk.iter().for_each(|e| stretch.push(e.view()));
                    stretch
                })
            })
            .collect();
        chunks
            .into_iter()
            .map(|chunk| chunk.join().expect("the chain check does not panic"))
            .collect()
    });
    match ChainStretch::join_to(&stretches, head) {
        Some(summary) => Ok(summary),
        None => verify_chain(entries, head),
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_round_trip_and_reject_garbage() {
        let seals = vec![
            Seal {
                seq: 13,
                residual_sha256: Some("ab".repeat(32)),
            },
            Seal {
                seq: 4,
                residual_sha256: None,
            },
        ];
        let text = Seal::format(&seals);
        assert_eq!(text, format!("4 13={}", "ab".repeat(32)));
        let mut sorted = seals.clone();
        sorted.reverse();
        assert_eq!(Seal::parse(&text).unwrap(), sorted);
        assert_eq!(Seal::parse("").unwrap(), vec![]);
        for bad in ["x", "4=abc", "4 5=", "=00"] {
            assert!(Seal::parse(bad).is_err(), "{bad} parses");
        }
    }

    #[test]
    fn deletion_payload_fast_hash_is_the_canonical_hash() {
        for (pseudonym, row_key, replay_of, sealed) in [
            (None, None, None, None),
            (Some("ab\"c"), Some("k-1"), Some("d-ü"), Some("4 5")),
            (
                Some(AWKWARD[2]),
                Some(AWKWARD[3]),
                Some(AWKWARD[1]),
                Some(AWKWARD[0]),
            ),
        ] {
            let p = DeletionPayload {
                category: "teilnehmende-kontaktdaten",
                due_on: "2023-12-31".into(),
                executed_at: "2026-11-27T12:00:00Z".into(),
                id: "d1",
                replay_of,
                row_key,
                rows_affected: 2,
                rule_version: 1,
                sealed,
                start_on: "2020-03-01".into(),
                subject_pseudonym: pseudonym,
                target: "subjects: name",
            };
            assert_eq!(p.hash(), value_payload_hash(&p));
            assert_eq!(payload_hash(&p), value_payload_hash(&p));
        }
    }

    /// Strings that JSON escapes or encodes in several bytes: quotes, backslashes, control
    /// characters, line separators, umlauts, emoji.
    const AWKWARD: [&str; 4] = [
        "plain-id-1",
        "Müller \"Max\" \\ O'Brien",
        "tab\tnew\nline\r\u{1}\u{1f}\u{7f}",
        "\u{2028}\u{2029} 😀 ß </script>",
    ];

    fn events(text: &str) -> Vec<EventPayload<'_>> {
        vec![
            EventPayload {
                actor: text,
                event_id: "e1",
                legal_basis: "consent",
                occurred_at: "2026-11-27T12:00:00.000001Z".into(),
                purpose_id: "fotos",
                record_id: text,
                state: "given",
            },
            EventPayload {
                actor: "participant",
                event_id: text,
                legal_basis: text,
                occurred_at: text.into(),
                purpose_id: text,
                record_id: "r1",
                state: text,
            },
        ]
    }

    #[test]
    fn record_payload_hash_is_the_canonical_hash() {
        for text in AWKWARD {
            for (optional, events) in [(None, vec![]), (Some(text), events(text))] {
                let p = RecordPayload {
                    collection_method: text,
                    collector: optional,
                    controller_id: text,
                    events,
                    notice_content_sha256: text,
                    notice_id: text,
                    notice_language: "de",
                    notice_sha256: text,
                    notice_version: i64::MIN,
                    receipt_id: text,
                    record_id: text,
                    recorded_at: text.into(),
                    renews_record_id: optional,
                    subject_digest: text,
                    subject_id: text,
                    token_sha256: text,
                    workshop_id: text,
                };
                assert_eq!(payload_hash(&p), value_payload_hash(&p), "{p:?}");
            }
        }
    }

    #[test]
    fn events_and_erasure_payload_hashes_are_the_canonical_hashes() {
        for text in AWKWARD {
            for events in [vec![], events(text)] {
                let p = EventsPayload {
                    events: events.clone(),
                    record_id: text,
                };
                assert_eq!(payload_hash(&p), value_payload_hash(&p), "{p:?}");
                let p = ErasurePayload {
                    events,
                    record_id: text,
                    subject_digest: text,
                    subject_id: text,
                };
                assert_eq!(payload_hash(&p), value_payload_hash(&p), "{p:?}");
            }
        }
    }

    #[test]
    fn rectification_and_audit_payload_hashes_are_the_canonical_hashes() {
        for text in AWKWARD {
            let p = RectificationPayload {
                digest: text,
                fields: "name,email",
                id: text,
                previous_digest: text,
                rectified_at: text.into(),
                subject_id: text,
            };
            assert_eq!(payload_hash(&p), value_payload_hash(&p), "{p:?}");
            for optional in [None, Some(text)] {
                let p = AuditPayload {
                    action: text,
                    actor: text,
                    at: "2026-11-27T12:00:00.000000Z".into(),
                    id: text,
                    ip_truncated: optional,
                    target: optional,
                };
                assert_eq!(payload_hash(&p), value_payload_hash(&p), "{p:?}");
            }
        }
    }

    fn chain(n: i64) -> Vec<LedgerEntry> {
        let t = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let e = LedgerEntry::next(
                    seq,
                    &prev,
                    t + chrono::TimeDelta::seconds(seq),
                    EntryKind::ConsentRecorded,
                    &format!("rec-{seq}"),
                    &sha256_hex(seq.to_string().as_bytes()),
                );
                prev = e.entry_sha256.clone();
                e
            })
            .collect()
    }

    fn head(c: &[LedgerEntry]) -> Option<(i64, &str)> {
        c.last().map(|e| (e.seq, e.entry_sha256.as_str()))
    }

    #[test]
    fn lowercase_hex_is_hex_encode() {
        for bytes in [
            &[][..],
            &[0, 9, 10, 15, 16, 127, 128, 255],
            &Sha256::digest(b"x"),
        ] {
            assert_eq!(lowercase_hex(bytes), hex::encode(bytes));
        }
    }

    #[test]
    fn malformed_previous_hashes_hash_as_hex_decode_makes_them() {
        let entry = &chain(1)[0];
        for prev in ["", "zz", "abc", &"ab".repeat(31), &"cd".repeat(33), GENESIS] {
            let mut hasher = Sha256::new();
            hasher.update(hex::decode(prev).unwrap_or_default());
            hasher.update(entry.canonical_bytes());
            assert_eq!(entry.compute_hash(prev), hex::encode(hasher.finalize()));
        }
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        let s = verify_chain(&c, head(&c)).unwrap();
        assert_eq!(s.length, 5);
        assert_eq!(s.head_sha256, c[4].entry_sha256);
        assert_eq!(verify_chain(&[], None).unwrap().head_sha256, GENESIS);
    }

    #[test]
    fn changed_entry_is_named() {
        let mut c = chain(5);
        let h = (5, c[4].entry_sha256.clone());
        c[2].payload_sha256 = sha256_hex(b"forged");
        let b = verify_chain(&c, Some((h.0, &h.1))).unwrap_err();
        assert_eq!((b.seq, b.kind), (3, BreakKind::Changed));
    }

    #[test]
    fn missing_entry_is_named() {
        let mut c = chain(5);
        let h = (5, c[4].entry_sha256.clone());
        c.remove(1);
        let b = verify_chain(&c, Some((h.0, &h.1))).unwrap_err();
        assert_eq!((b.seq, b.kind), (2, BreakKind::Missing));
        // Truncating the tail is caught through the head.
        let mut c = chain(5);
        c.truncate(3);
        let b = verify_chain(&c, Some((h.0, &h.1))).unwrap_err();
        assert_eq!((b.seq, b.kind), (4, BreakKind::Missing));
    }

    #[test]
    fn swapped_entries_are_reordered() {
        let mut c = chain(5);
        let h = (5, c[4].entry_sha256.clone());
        // Swap the contents of seq 2 and 3 but keep the sequence numbers in place.
        let (a, b) = (c[1].clone(), c[2].clone());
        c[1] = LedgerEntry { seq: 2, ..b };
        c[2] = LedgerEntry { seq: 3, ..a };
        let br = verify_chain(&c, Some((h.0, &h.1))).unwrap_err();
        assert_eq!((br.seq, br.kind), (2, BreakKind::Reordered));
    }

    #[test]
    fn forged_entry_with_own_hash_is_inserted() {
        let mut c = chain(3);
        let forged = LedgerEntry::next(
            2,
            &sha256_hex(b"elsewhere"),
            c[1].recorded_at,
            EntryKind::ConsentRecorded,
            "rec-x",
            &sha256_hex(b"x"),
        );
        c[1] = forged;
        let br = verify_chain(&c, None).unwrap_err();
        assert_eq!((br.seq, br.kind), (2, BreakKind::Inserted));
    }

    /// `chain(1)[0]`'s hash, computed by the code before `canonical_bytes` was rewritten.
    const GOLDEN_FIRST_ENTRY: &str =
        "a5caa9fc6faf16440acd677530f723cd45ffb74dc944307cd4e2de6bc4c56b44";

    /// The canonical bytes as the ledger's format defines them, written the plain way:
    /// entries already hashed must hash alike forever.
    #[test]
    fn canonical_bytes_are_the_ledger_format() {
        let plain = |e: &LedgerEntry| {
            format!(
                "consentd-ledger/1\n{}\n{}\n{}\n{}\n{}\n",
                e.seq,
                e.recorded_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
                e.kind,
                e.ref_id,
                e.payload_sha256
            )
            .into_bytes()
        };
        let at = |y, n| {
            chrono::NaiveDate::from_ymd_opt(y, 12, 31)
                .and_then(|d| d.and_hms_nano_opt(23, 59, 59, n))
                .unwrap()
                .and_utc()
        };
        let mut entries = chain(4);
        entries[1].seq = -42;
        entries[1].ref_id = "ä\nb".into();
        entries[2].recorded_at = at(10_000, 123_456_700);
        entries[3].recorded_at = at(2016, 1_500_000_000); // a leap second
        for e in &entries {
            assert_eq!(e.canonical_bytes(), plain(e));
        }
        // A hash fixed when the format was made: the first entry of `chain`.
        assert_eq!(
            chain(1)[0].entry_sha256,
            GOLDEN_FIRST_ENTRY,
            "the first entry's hash changed"
        );
    }

    /// One of six single changes to entry `i` of chain `c`, chosen by `how` (modulo 6).
    fn change_one_entry(c: &mut Vec<LedgerEntry>, i: usize, how: usize) {
        match how % 6 {
            0 => c[i].payload_sha256 = sha256_hex(b"changed"),
            1 => {
                c.remove(i);
            }
            2 if i + 1 < c.len() => c.swap(i, i + 1),
            2 => c.swap(i - 1, i),
            3 => c[i].prev_sha256 = sha256_hex(b"elsewhere"),
            4 => c[i].seq += 1,
            _ => c[i].entry_sha256 = c[i].entry_sha256.to_ascii_uppercase(),
        }
    }

    /// Stretches streamed past: wherever the chain is cut into parts (empty ones too), an
    /// intact chain joins to `verify_chain`'s summary, and a changed one never joins to a
    /// summary `verify_chain` would not give.
    #[test]
    fn chain_stretches_join_only_where_the_chain_holds() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let original = chain(30);
        let head = (30, original[29].entry_sha256.as_str());
        let stretches = |c: &[LedgerEntry], rng: &mut rand::rngs::StdRng| {
            let mut cuts: Vec<usize> = (0..rng.random_range(0..4))
                .map(|_| rng.random_range(0..=c.len()))
                .collect();
            cuts.extend([0, c.len()]);
            cuts.sort();
            cuts.windows(2)
                .map(|w| {
                    let mut stretch = ChainStretch::default();
                    c[w[0]..w[1]].iter().for_each(|e| stretch.push(e.view()));
                    stretch
                })
                .collect::<Vec<_>>()
        };
        for _ in 0..50 {
            let joined = ChainStretch::join(&stretches(&original, &mut rng), head);
            assert_eq!(Ok(joined.unwrap()), verify_chain(&original, Some(head)));
        }
        let mut caught = 0;
        for round in 0..400 {
            let mut c = original.clone();
            let i = rng.random_range(0..c.len());
            change_one_entry(&mut c, i, round);
            let sequential = verify_chain(&c, Some(head));
            match ChainStretch::join(&stretches(&c, &mut rng), head) {
                Some(summary) => assert_eq!(Ok(summary), sequential, "round {round}"),
                None => caught += 1,
            }
        }
        assert!(caught >= 300, "{caught} of 400 changes refused");
        assert!(ChainStretch::join(&[], (0, GENESIS)).is_some());
        assert!(ChainStretch::join(&[], (1, GENESIS)).is_none());
    }

    /// Random single changes to a chain: the parallel check answers exactly as the
    /// sequential one, on every number of threads.
    #[test]
    fn parallel_chain_check_answers_as_the_sequential_one() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let original = chain(40);
        for round in 0..160 {
            let mut c = original.clone();
            let i = rng.random_range(0..c.len());
            let mut head = Some((40, original[39].entry_sha256.clone()));
            match round % 8 {
                6 => head = Some((rng.random_range(0..42), original[i].entry_sha256.clone())),
                7 => head = None,
                how => change_one_entry(&mut c, i, how),
            }
            let head = head.as_ref().map(|(seq, sha)| (*seq, sha.as_str()));
            for threads in 1..=5 {
                assert_eq!(
                    verify_chain_parallel(&c, head, threads),
                    verify_chain(&c, head),
                    "round {round}, {threads} threads"
                );
            }
        }
        assert_eq!(
            verify_chain_parallel(&[], Some((0, GENESIS)), 2),
            verify_chain(&[], Some((0, GENESIS)))
        );
        assert!(verify_chain_parallel(&original, None, 2).is_ok());
    }

    #[test]
    fn payload_hash_ignores_field_order() {
        let a = serde_json::json!({"b": 1, "a": [1, 2]});
        let b: serde_json::Value = serde_json::from_str(r#"{"a":[1,2],"b":1}"#).unwrap();
        assert_eq!(payload_hash(&a), payload_hash(&b));
    }
}
