//! Retention sweep: N participants whose contact data is due, anonymised by the engine (set-
//! based batches, each deletion with its deletion-log entry and its ledger entry), side by
//! side with two bare-SQL baselines, each on an identical database:
//! - `baseline`: the same anonymisation in consentd's schema (one UPDATE + one INSERT … SELECT
//!   for the log, one transaction, no ledger, no pseudonyms);
//! - `bare`: issue 5's reference, "a bare SQL DELETE of N rows plus N log rows": the subjects
//!   copied into a table without indexes, deleted with one DELETE while one INSERT … SELECT
//!   writes N rows into a log table without indexes. What it leaves out is what consentd's
//!   schema needs: the keys the records hang on and the index of the subjects not yet erased.
//!
//! The seeded participants are like real ones: ids in creation order (the service's are
//! UUIDv7) and e-mail addresses in random order.
//!
//! Every participant keeps the newsletter consent, so their consent proofs are not due (the
//! processing goes on): the engine still reads every proof to find that out, and that read
//! is part of its time. Without the consent, each proof would be due too and reduced to a
//! tombstone in the same run, doubling the work the baseline does not do.
//!
//! Run: `cargo bench --features simulated-clock --bench retention_sweep -- 1000000 [postgres]`
//! (N defaults to 10 000; `postgres` uses `CONSENTD_TEST_POSTGRES`, default
//! postgres://postgres@127.0.0.1:5432, with a fresh database per side). Results go to stdout;
//! see BENCHMARKS.md.

mod common;

use std::time::Instant;

use consentd::store::Db;

/// One consent record per subject (same SQL on both backends), each with its newsletter
/// consent still given (its first event, inside the record as migration 0015 keeps it).
const RECORDS: &str = "INSERT INTO consent_records (id, receipt_id, subject_id, workshop_id, controller_id, notice_id, notice_version,
       notice_language, notice_sha256, notice_content_sha256, collection_method,
       token_sha256, recorded_at, ledger_seq, first_events)
     SELECT 'r' || id, 'r' || id, id, 'w1', 'om', 'om-workshop-teilnehmende', 2, 'de',
       (SELECT sha256 FROM notice_texts LIMIT 1), 'c', 'api', 't' || id, '2020-03-01T00:00:00Z', 1,
       '[[\"e' || id || '\",\"newsletter\",\"art6-1-a\",\"given\",\"subject\",null]]'
     FROM subjects";

/// Runs the statements in one transaction (PostgreSQL: without the service's statement
/// timeout, which a million rows exceed); the rows the last one changed.
macro_rules! in_one_transaction {
    ($db:expr, [$($sql:expr),+]) => {
        match $db {
            Db::Sqlite(pool) => {
                let mut tx = pool.begin().await.unwrap();
                let rows = [$(sqlx::query($sql).execute(&mut *tx).await.unwrap().rows_affected()),+];
                tx.commit().await.unwrap();
                rows[rows.len() - 1] as usize
            }
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await.unwrap();
                sqlx::query("SET LOCAL statement_timeout = 0")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                let rows = [$(sqlx::query($sql).execute(&mut *tx).await.unwrap().rows_affected()),+];
                tx.commit().await.unwrap();
                rows[rows.len() - 1] as usize
            }
        }
    };
}

/// Fills the database with N participants of one workshop that ended in March 2020, in SQL
/// (one sign-up per second, ids in that order, random addresses), so seeding a million
/// takes seconds.
async fn seed(db: &Db, n: usize) {
    let workshop = "INSERT INTO workshops (id, slug, title, kind, starts_on, ends_on, notice_id, controller_id, created_at)
         VALUES ('w1', 'bench-2020', 'Bench', 'seminar', '2020-03-01', '2020-03-01', 'om-workshop-teilnehmende', 'om', '2020-03-01T00:00:00Z')";
    let subjects = match db {
        Db::Sqlite(_) => format!(
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {n} - 1)
             INSERT INTO subjects (id, name, email, organisation, salt, digest, ip_truncated, user_agent, created_at)
             SELECT printf('%012x', i) || lower(hex(randomblob(10))), 'Person ' || i,
                    lower(hex(randomblob(6))) || '@example.org', NULL, 'salt', 'digest', '192.0.2.0', 'bench',
                    strftime('%Y-%m-%dT%H:%M:%S+00:00', '2020-03-01', '+' || i || ' seconds') FROM n"
        ),
        Db::Postgres(_) => format!(
            "INSERT INTO subjects (id, name, email, organisation, salt, digest, ip_truncated, user_agent, created_at)
             SELECT lpad(to_hex(i), 12, '0') || substr(md5(random()::text), 1, 20), 'Person ' || i,
                    substr(md5(random()::text), 1, 12) || '@example.org', NULL, 'salt', 'digest', '192.0.2.0', 'bench',
                    '2020-03-01T00:00:00Z'::timestamptz + i * interval '1 second'
             FROM generate_series(0, {n} - 1) AS i"
        ),
    };
    // `n` is a number this bench parsed: nothing to inject.
    in_one_transaction!(db, [workshop, sqlx::AssertSqlSafe(subjects), RECORDS]);
    in_one_transaction!(db, ["ANALYZE"]);
}

/// A log row for each subject of `$table` not yet erased.
macro_rules! log_rows_of {
    ($log:literal, $table:literal) => {
        concat!(
            "INSERT INTO ", $log, " (id, executed_at, category, rule_version, start_on, due_on, subject_pseudonym, target, rows_affected, ledger_seq)
             SELECT 'd' || id, '2026-11-27T12:00:00Z', 'teilnehmende-kontaktdaten', 1, '2020-03-01', '2023-12-31', digest, 'subjects', 1, 1
             FROM ", $table, " WHERE erased_at IS NULL"
        )
    };
}

/// The baseline: anonymise all subjects with one UPDATE and write one log row each with one
/// INSERT … SELECT, in one transaction.
async fn baseline(db: &Db) -> usize {
    let update = "UPDATE subjects SET name = NULL, email = NULL, organisation = NULL, salt = NULL, ip_truncated = NULL, user_agent = NULL, erased_at = '2026-11-27T12:00:00Z' WHERE erased_at IS NULL";
    in_one_transaction!(db, [log_rows_of!("deletion_log", "subjects"), update])
}

/// Issue 5's reference, set up untimed: the subjects copied into `bare_subjects` and an empty
/// `bare_log` like the deletion log, both without any index.
async fn bare_setup(db: &Db) {
    in_one_transaction!(
        db,
        [
            "CREATE TABLE bare_subjects AS SELECT * FROM subjects",
            "CREATE TABLE bare_log AS SELECT * FROM deletion_log WHERE 1 = 0"
        ]
    );
}

/// Issue 5's reference, timed: one DELETE of every row and one INSERT … SELECT of a log row
/// each, in one transaction. The WHERE clause keeps SQLite from emptying the table wholesale
/// (its truncate optimisation): each row is deleted, as a sweep must.
async fn bare(db: &Db) -> usize {
    let delete = "DELETE FROM bare_subjects WHERE erased_at IS NULL";
    in_one_transaction!(db, [log_rows_of!("bare_log", "bare_subjects"), delete])
}

fn main() {
    // The runtime `consentd serve` runs on (malloc arenas capped).
    consentd::jobs::runtime().unwrap().block_on(sweep());
}

async fn sweep() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let postgres = args.iter().any(|a| a == "postgres");
    // `RUST_LOG=sqlx::query=debug` shows every statement with its time.
    if let Ok(filter) = std::env::var("RUST_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let dir = tempfile::tempdir().unwrap();
    // SAFETY: set before any thread reads the environment.
    unsafe { std::env::set_var("CONSENTD_NOW", "2026-11-27T12:00:00Z") };

    let mut results = Vec::new();
    for side in ["engine", "baseline", "bare"] {
        let app = common::open_app(postgres, dir.path(), side).await;
        seed(&app.db, n).await;
        if side == "bare" {
            bare_setup(&app.db).await;
        }
        let rss_before = common::status_mb("VmHWM:");
        let written_before = common::written_mb();
        let started = Instant::now();
        let done = match side {
            "engine" => {
                consentd::retention::run(&app, false, None)
                    .await
                    .unwrap()
                    .executed
            }
            "baseline" => baseline(&app.db).await,
            _ => bare(&app.db).await,
        };
        let secs = started.elapsed().as_secs_f64();
        let written = common::written_mb() - written_before;
        assert_eq!(done, n, "{side} handled every due record");
        results.push((side, secs));
        println!(
            "{side:>8} ({}): {n} due records in {secs:.3} s ({:.0} per second), peak RSS {:.0} MB (after seeding {:.0} MB), {written:.0} MB written",
            app.db.backend_name(),
            n as f64 / secs,
            common::status_mb("VmHWM:"),
            rss_before
        );
        app.db.close().await;
    }
    println!("ratio engine/baseline: {:.1}×", results[0].1 / results[1].1);
    println!(
        "ratio engine/bare DELETE (issue 5's reference): {:.1}×",
        results[0].1 / results[2].1
    );
}
