//! In-process work, measured with Criterion: hashing, canonicalisation, chaining a ledger
//! entry, rendering a consent-record PDF, evaluating retention rules. Each group has its own
//! baseline beside it (raw SHA-256 of the same bytes; a plain date addition).
//!
//! `cargo bench --bench core` (HTML report in `target/criterion/`).

mod common;

use chrono::{DateTime, NaiveDate, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sha2::{Digest, Sha256};
use std::hint::black_box;

use consentd::domain::ledger::{EntryKind, LedgerEntry, payload_hash};
use consentd::retention::effective_due;
use consentd::store::consents::{ConsentEvent, ConsentRecord};
use consentd::store::retention::Candidate;

fn at() -> DateTime<Utc> {
    "2026-11-27T10:15:00Z".parse().unwrap()
}

/// A consent record with three purposes, as the service stores it.
fn record() -> (ConsentRecord, Vec<ConsentEvent>) {
    let record = ConsentRecord {
        id: "0193a0c4-6a1e-7cc2-9f00-8d1c0e6b1a11".into(),
        receipt_id: "0193a0c4-6a1e-7cc2-9f00-8d1c0e6b1a12".into(),
        subject_id: "0193a0c4-6a1e-7cc2-9f00-8d1c0e6b1a13".into(),
        workshop_id: "0193a0c4-6a1e-7cc2-9f00-8d1c0e6b1a14".into(),
        controller_id: "offensive-mittelstand".into(),
        notice_id: "om-workshop-teilnehmende".into(),
        notice_version: 2,
        notice_language: "de".into(),
        notice_sha256: "a".repeat(64),
        notice_content_sha256: "b".repeat(64),
        collection_method: "api".into(),
        collector: None,
        token_sha256: "c".repeat(64),
        renews_record_id: None,
        recorded_at: at(),
        ledger_seq: 4711,
    };
    let events = ["durchfuehrung", "fotos", "newsletter"]
        .iter()
        .enumerate()
        .map(|(i, purpose)| ConsentEvent {
            id: format!("0193a0c4-6a1e-7cc2-9f00-8d1c0e6b1b{i:02}"),
            record_id: record.id.clone(),
            purpose_id: (*purpose).into(),
            legal_basis: if i == 0 { "art6-1-b" } else { "art6-1-a" }.into(),
            state: if i == 2 { "refused" } else { "given" }.into(),
            actor: "subject".into(),
            occurred_at: at(),
            ledger_seq: 4711,
        })
        .collect();
    (record, events)
}

fn ledger(c: &mut Criterion) {
    let (record, events) = record();
    let digest = "d".repeat(64);
    let canonical = serde_json::to_value(record.payload(&digest, &events))
        .unwrap()
        .to_string();
    let mut group = c.benchmark_group("ledger");
    group.throughput(Throughput::Bytes(canonical.len() as u64));
    group.bench_function("baseline: raw SHA-256 of the canonical payload", |b| {
        b.iter(|| Sha256::digest(black_box(canonical.as_bytes())))
    });
    group.bench_function("payload hash (canonical JSON + SHA-256)", |b| {
        b.iter(|| payload_hash(&black_box(&record).payload(&digest, &events)))
    });
    let prev = "e".repeat(64);
    group.bench_function("chain one entry (canonical bytes + SHA-256)", |b| {
        b.iter(|| {
            LedgerEntry::next(
                4711,
                black_box(&prev),
                at(),
                EntryKind::ConsentRecorded,
                &record.id,
                &digest,
            )
        })
    });
    group.finish();
}

fn pdf(c: &mut Criterion) {
    let sample = common::consent_record_sample::typical();
    consentd::pdf::consent_record::render(&sample); // fonts parsed and subset once
    c.bench_function("consent-record PDF render (2 pages)", |b| {
        b.iter_batched(
            || sample.clone(),
            |s| consentd::pdf::consent_record::render(&s),
            BatchSize::SmallInput,
        )
    });
}

fn retention(c: &mut Criterion) {
    let policies = consentd::policies::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies"
    )))
    .unwrap();
    let rules = policies.retention;
    let starts: Vec<NaiveDate> = (0..1000)
        .map(|d| NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new(d))
        .collect();
    let candidate = |start| Candidate {
        key: String::new(),
        start,
        record_id: None,
        email: None,
        subject_id: None,
        workshop_slug: None,
        introduced_on: Some(NaiveDate::from_ymd_opt(2024, 6, 1).unwrap()),
        name: None,
        language: None,
    };
    let candidates: Vec<Candidate> = starts.iter().map(|s| candidate(*s)).collect();
    let mut group = c.benchmark_group("retention");
    group.throughput(Throughput::Elements(
        (rules.len() * candidates.len()) as u64,
    ));
    group.bench_function("baseline: add 3 years to a date", |b| {
        b.iter(|| {
            for rule in &rules {
                for s in &starts {
                    black_box(s.checked_add_months(chrono::Months::new(36)));
                }
                black_box(rule);
            }
        })
    });
    group.bench_function("due dates: every rule × 1000 start dates", |b| {
        b.iter(|| {
            for rule in &rules {
                for c in &candidates {
                    black_box(effective_due(rule, c));
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, ledger, pdf, retention);
criterion_main!(benches);
