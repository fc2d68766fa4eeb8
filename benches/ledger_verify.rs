//! Ledger verification (`consentd verify`): N consents recorded through the service (with
//! group commit), then the whole ledger read and checked. Reports ledger entries per second
//! for reading the snapshot, for checking it (`consentd::verify::check`: chain, payload
//! hashes, subject digests, events, head), and end to end; side by side, in the same run,
//! with raw SHA-256 over the same bytes (each entry's canonical bytes and the canonical JSON
//! of the record it covers): the ceiling of any hash-chain check.
//!
//! ```sh
//! cargo bench --bench ledger_verify -- 100000            # SQLite
//! cargo bench --bench ledger_verify -- 100000 postgres   # PostgreSQL
//! ```

mod common;

use std::collections::HashMap;
use std::time::Instant;

use sha2::{Digest, Sha256};

use consentd::store::ledger;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(100_000);
    let postgres = args.iter().any(|a| a == "postgres");
    let dir = tempfile::tempdir().unwrap();
    let app = common::open_app(postgres, dir.path(), "verify").await;
    common::seed_consents(&app, n).await;

    let reading = Instant::now();
    let snapshot = ledger::snapshot(&app.db).await.unwrap();
    let read = reading.elapsed().as_secs_f64();
    let checking = Instant::now();
    let report = consentd::verify::check(&snapshot);
    let check = checking.elapsed().as_secs_f64();
    assert!(report.ok, "the seeded ledger verifies");

    // The same bytes, hashed and nothing else.
    let digests: HashMap<&str, &str> = snapshot
        .subjects
        .iter()
        .map(|s| (s.id.as_str(), s.digest.as_str()))
        .collect();
    let mut events: HashMap<&str, Vec<_>> = HashMap::new();
    for e in &snapshot.events {
        events
            .entry(e.record_id.as_str())
            .or_default()
            .push(e.clone());
    }
    let records: HashMap<&str, _> = snapshot
        .records
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let mut bytes: Vec<Vec<u8>> = Vec::with_capacity(snapshot.entries.len() * 2);
    for entry in &snapshot.entries {
        bytes.push(entry.canonical_bytes());
        if let Some(record) = records.get(entry.ref_id.as_str()) {
            let payload = record.payload(
                digests[record.subject_id.as_str()],
                events.get(record.id.as_str()).map_or(&[][..], |v| v),
            );
            bytes.push(
                serde_json::to_value(&payload)
                    .unwrap()
                    .to_string()
                    .into_bytes(),
            );
        }
    }
    let hashing = Instant::now();
    let mut sink = 0u8;
    for b in &bytes {
        sink ^= Sha256::digest(b)[0];
    }
    let raw = hashing.elapsed().as_secs_f64();
    std::hint::black_box(sink);

    let entries = snapshot.entries.len() as f64;
    let megabytes = bytes.iter().map(Vec::len).sum::<usize>() as f64 / 1e6;
    let backend = if postgres { "PostgreSQL" } else { "SQLite" };
    println!(
        "| backend | ledger entries | read | check | read + check | raw SHA-256 ({megabytes:.0} MB) | check / raw |"
    );
    println!("|---|---|---|---|---|---|---|");
    let rate = |s: f64| format!("{:.2} s ({:.0}/s)", s, entries / s);
    println!(
        "| {backend} | {entries} | {} | {} | {} | {} | {:.1}× |",
        rate(read),
        rate(check),
        rate(read + check),
        rate(raw),
        check / raw
    );
}
