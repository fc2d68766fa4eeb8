//! Ledger verification (`consentd verify`): N consents recorded through the service (with
//! group commit), then the whole ledger read and checked. Reports, in the same run:
//!
//! - **read**: `store::ledger::snapshot` (every table `verify` compares, one transaction);
//!   on SQLite also `snapshot_by_rows`, the same read row by row through sqlx, which the
//!   direct read replaced;
//! - **check**: `consentd::verify::check` on that snapshot (chain, payload hashes, subject
//!   digests, events, head), with whatever threads it uses;
//! - **read + check**: the two above added, what `consentd verify` spends;
//! - **chain only**: `domain::ledger::verify_chain` over the entries (the hash chain alone);
//! - **chain only: `verify --chain-only`**: `consentd::verify::chain_only`, which on SQLite
//!   hashes the entries as two readers step them (nothing kept); **chain only, loaded**: the
//!   same from loaded entries (its fallback, and PostgreSQL's way): `store::ledger::chain`
//!   and `consentd::verify::check_chain` (the chain on every core);
//! - **raw SHA-256**, on one core, over exactly the bytes the check hashes (each entry's
//!   previous hash and canonical bytes, the canonical JSON of every payload, every subject
//!   digest's input, every notice text) and over the chain's bytes alone: the ceilings.
//!
//! Each figure is in ledger entries per second and as a share of its ceiling (the chain's
//! bytes for chain only, all bytes for the rest). Times are the median of three runs.
//!
//! ```sh
//! cargo bench --bench ledger_verify -- 100000            # SQLite
//! cargo bench --bench ledger_verify -- 100000 postgres   # PostgreSQL
//! ```

mod common;

use std::collections::HashMap;
use std::time::Instant;

use sha2::{Digest, Sha256};

use consentd::domain::consent::PersonalData;
use consentd::domain::ledger::verify_chain;
use consentd::store::ledger::{self, Snapshot};

const RUNS: usize = 3;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let postgres = args.iter().any(|a| a == "postgres");
    let dir = tempfile::tempdir().unwrap();
    let app = common::open_app(postgres, dir.path(), "verify").await;
    common::seed_consents(&app, n).await;

    let mut reads = Vec::new();
    let mut snapshot = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        snapshot = Some(ledger::snapshot(&app.db).await.unwrap());
        reads.push(started.elapsed().as_secs_f64());
    }
    let snapshot = snapshot.unwrap();
    // On SQLite, the same snapshot row by row through sqlx: what the direct read replaced
    // (on PostgreSQL it is the read above).
    let mut reads_by_rows = Vec::new();
    if !postgres {
        for _ in 0..RUNS {
            let started = Instant::now();
            ledger::snapshot_by_rows(&app.db).await.unwrap();
            reads_by_rows.push(started.elapsed().as_secs_f64());
        }
    }
    let checks = timed(|| {
        let report = consentd::verify::check(&snapshot);
        assert!(report.ok, "the seeded ledger verifies");
    });
    let head = (snapshot.head.0, snapshot.head.1.as_str());
    let chains = timed(|| {
        verify_chain(&snapshot.entries, Some(head)).unwrap();
    });

    // `consentd verify --chain-only`: on SQLite the entries hashed as two readers step them;
    // then the same loaded (its fallback, and PostgreSQL's way): entries and head read, then
    // the chain checked on every core.
    let mut walks = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let report = consentd::verify::chain_only(&app.db, &[]).await.unwrap();
        walks.push(started.elapsed().as_secs_f64());
        assert!(report.ok && report.length == snapshot.head.0);
    }
    let mut chain_reads = Vec::new();
    let mut chain_checks = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let (entries, head) = ledger::chain(&app.db).await.unwrap();
        chain_reads.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let report = consentd::verify::check_chain(&entries, (head.0, &head.1), &[]);
        chain_checks.push(started.elapsed().as_secs_f64());
        assert!(report.ok && report.length == snapshot.head.0);
    }

    let (all_bytes, chain_bytes) = hashed_bytes(&snapshot);
    let raw_all = timed(|| hash_each(&all_bytes));
    let raw_chain = timed(|| hash_each(&chain_bytes));

    let (read, check, chain) = (median(reads), median(checks), median(chains));
    let (raw_all, raw_chain) = (median(raw_all), median(raw_chain));
    let entries = snapshot.entries.len() as f64;
    let megabytes = |bytes: &[Vec<u8>]| bytes.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    let backend = if postgres { "PostgreSQL" } else { "SQLite" };
    println!("| backend | ledger entries | measured | time | entries/s | share of ceiling |");
    println!("|---|---|---|---|---|---|");
    let row = |what: &str, seconds: f64, ceiling: f64| {
        println!(
            "| {backend} | {entries} | {what} | {seconds:.3} s | {:.0} | {:.0} % |",
            entries / seconds,
            100.0 * ceiling / seconds
        );
    };
    row("read (snapshot)", read, raw_all);
    if !postgres {
        row(
            "read row by row through sqlx (before)",
            median(reads_by_rows),
            raw_all,
        );
    }
    row("check", check, raw_all);
    row("read + check", read + check, raw_all);
    row(
        "chain only (one thread, from the snapshot)",
        chain,
        raw_chain,
    );
    row(
        "chain only: `verify --chain-only` (read and hashed at once)",
        median(walks),
        raw_chain,
    );
    let (chain_read, chain_check) = (median(chain_reads), median(chain_checks));
    row(
        "chain only, loaded: read (entries and head)",
        chain_read,
        raw_chain,
    );
    row(
        "chain only, loaded: check (every core)",
        chain_check,
        raw_chain,
    );
    row(
        "chain only, loaded: read + check",
        chain_read + chain_check,
        raw_chain,
    );
    row(
        &format!("raw SHA-256, all bytes ({:.0} MB)", megabytes(&all_bytes)),
        raw_all,
        raw_all,
    );
    row(
        &format!(
            "raw SHA-256, chain bytes ({:.0} MB)",
            megabytes(&chain_bytes)
        ),
        raw_chain,
        raw_chain,
    );
}

/// Runs `f` [`RUNS`] times; the seconds each took.
fn timed(mut f: impl FnMut()) -> Vec<f64> {
    (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64()
        })
        .collect()
}

fn median(mut seconds: Vec<f64>) -> f64 {
    seconds.sort_by(f64::total_cmp);
    seconds[seconds.len() / 2]
}

fn hash_each(inputs: &[Vec<u8>]) {
    let mut sink = 0u8;
    for input in inputs {
        sink ^= Sha256::digest(input)[0];
    }
    std::hint::black_box(sink);
}

/// Every input the check hashes, built the reference way (`serde_json::Value`, sorted keys)
/// so that the ceiling does not depend on the code under test; and the chain's inputs alone.
fn hashed_bytes(snapshot: &Snapshot) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let subjects: HashMap<&str, _> = snapshot
        .subjects
        .iter()
        .map(|s| (s.id.as_str(), s))
        .collect();
    let mut events: HashMap<i64, Vec<_>> = HashMap::new();
    for e in &snapshot.events {
        events.entry(e.ledger_seq).or_default().push(e.clone());
    }
    let records: HashMap<i64, _> = snapshot.records.iter().map(|r| (r.ledger_seq, r)).collect();
    let audit: HashMap<i64, _> = snapshot
        .audit_events
        .iter()
        .map(|a| (a.ledger_seq, a))
        .collect();

    let mut chain = Vec::with_capacity(snapshot.entries.len());
    let mut prev = consentd::domain::ledger::GENESIS.to_owned();
    for entry in &snapshot.entries {
        let mut input = hex::decode(&prev).unwrap();
        input.extend(entry.canonical_bytes());
        chain.push(input);
        prev.clone_from(&entry.entry_sha256);
    }
    let mut all = chain.clone();
    for entry in &snapshot.entries {
        let no_events = Vec::new();
        let events = events.get(&entry.seq).unwrap_or(&no_events);
        if let Some(record) = records.get(&entry.seq) {
            let subject = subjects[record.subject_id.as_str()];
            all.push(canonical(&record.payload(&subject.digest, events)));
            if let (Some(name), Some(email), Some(salt)) =
                (&subject.name, &subject.email, &subject.salt)
            {
                let personal = PersonalData {
                    name,
                    email,
                    organisation: subject.organisation.as_deref(),
                    ip_truncated: subject.ip_truncated.as_deref(),
                    user_agent: subject.user_agent.as_deref(),
                };
                let mut input = format!("{salt}\n").into_bytes();
                input.extend(canonical(&personal));
                all.push(input);
            }
        } else if let Some(event) = audit.get(&entry.seq) {
            all.push(canonical(&event.payload()));
        }
    }
    all.extend(snapshot.deletions.iter().map(|d| canonical(&d.payload())));
    all.extend(
        snapshot
            .rectifications
            .iter()
            .map(|r| canonical(&r.payload())),
    );
    all.extend(
        snapshot
            .notice_texts
            .iter()
            .map(|(_, text)| text.clone().into_bytes()),
    );
    (all, chain)
}

/// A payload's canonical JSON the reference way: a `serde_json::Value` (sorted keys).
fn canonical<T: serde::Serialize>(payload: &T) -> Vec<u8> {
    serde_json::to_value(payload)
        .unwrap()
        .to_string()
        .into_bytes()
}
