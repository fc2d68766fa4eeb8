//! Retention sweep: N participants whose contact data is due, anonymised by the engine (one
//! transaction per deletion, with its deletion-log entry and ledger entry), side by side with
//! a bare-SQL baseline on an identical database (one UPDATE + one INSERT … SELECT for the
//! log, one transaction, no ledger).
//!
//! Run: `cargo bench --features simulated-clock --bench retention_sweep -- 10000`
//! (the argument is N; default 10 000). Results go to stdout; see BENCHMARKS.md.

use std::str::FromStr;
use std::time::Instant;

use consentd::app::App;
use consentd::config::Settings;
use sqlx::sqlite::SqliteConnectOptions;

async fn seed(url: &str, n: usize) {
    let options = SqliteConnectOptions::from_str(url)
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(false);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(
        "INSERT INTO workshops (id, slug, title, kind, starts_on, ends_on, notice_id, controller_id, created_at)
         VALUES ('w1', 'bench-2020', 'Bench', 'seminar', '2020-03-01', '2020-03-01', 'om-workshop-teilnehmende', 'om', '2020-03-01T00:00:00Z')",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    let sha: String = sqlx::query_scalar("SELECT sha256 FROM notice_texts LIMIT 1")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    for i in 0..n {
        sqlx::query("INSERT INTO subjects (id, name, email, organisation, salt, digest, created_at) VALUES ($1, $2, $3, NULL, 'salt', 'digest', '2020-03-01T00:00:00Z')")
            .bind(format!("s{i}"))
            .bind(format!("Person {i}"))
            .bind(format!("p{i}@example.org"))
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO consent_records (id, receipt_id, subject_id, workshop_id, controller_id, notice_id, notice_version,
               notice_language, notice_sha256, notice_content_sha256, collection_method, ip_truncated, user_agent,
               token_sha256, recorded_at, ledger_seq)
             VALUES ($1, $1, $2, 'w1', 'om', 'om-workshop-teilnehmende', 2, 'de', $3, 'c', 'api', '192.0.2.0', 'bench', $1, '2020-03-01T00:00:00Z', 1)",
        )
        .bind(format!("r{i}"))
        .bind(format!("s{i}"))
        .bind(&sha)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    pool.close().await;
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<f64>()
                    .unwrap_or(0.0)
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let policies = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    // SAFETY: set before any thread reads the environment.
    unsafe { std::env::set_var("CONSENTD_NOW", "2026-11-27T12:00:00Z") };

    let mut results = Vec::new();
    for which in ["engine", "baseline"] {
        let url = format!("sqlite://{}/{which}.db", dir.path().display());
        let settings = Settings {
            database_url: url.clone(),
            policies: policies.clone(),
            public_url: None,
            smtp_url: None,
            mail_from: "x@example.org".into(),
        };
        let app = App::open(&settings).await.unwrap();
        seed(&url, n).await;
        let started = Instant::now();
        let done = if which == "engine" {
            consentd::retention::run(&app, false, None)
                .await
                .unwrap()
                .executed
        } else {
            let consentd::store::Db::Sqlite(pool) = &app.db else {
                unreachable!()
            };
            let mut tx = pool.begin().await.unwrap();
            sqlx::query(
                "INSERT INTO deletion_log (id, executed_at, category, rule_version, start_on, due_on, subject_pseudonym, target, rows_affected, ledger_seq)
                 SELECT 'd' || id, '2026-11-27T12:00:00Z', 'teilnehmende-kontaktdaten', 1, '2020-03-01', '2023-12-31', digest, 'subjects', 1, 1
                 FROM subjects WHERE erased_at IS NULL",
            )
            .execute(&mut *tx)
            .await
            .unwrap();
            let rows = sqlx::query("UPDATE subjects SET name = NULL, email = NULL, organisation = NULL, salt = NULL, erased_at = '2026-11-27T12:00:00Z' WHERE erased_at IS NULL")
                .execute(&mut *tx)
                .await
                .unwrap()
                .rows_affected();
            tx.commit().await.unwrap();
            rows as usize
        };
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(done, n, "{which} handled every due record");
        results.push((which, secs));
        println!(
            "{which:>8}: {n} due records in {secs:.3} s ({:.0} per second), peak RSS so far {:.0} MB",
            n as f64 / secs,
            peak_rss_mb()
        );
        app.db.close().await;
    }
    println!("ratio engine/baseline: {:.1}×", results[0].1 / results[1].1);
}
