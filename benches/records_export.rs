//! Bulk export of a workshop's consent records (`GET /api/v1/workshops/{slug}/records.zip`):
//! N records recorded through the service, then the ZIP of their PDFs and signed receipts
//! produced by `consentd::records_zip::stream` and drained. Reports time, records per second,
//! archive size and the process's peak RSS during the export; and, in the same run, the same
//! records rendered one at a time without the ZIP (the rendering on one core) as a baseline.
//!
//! ```sh
//! cargo bench --bench records_export -- 10000            # SQLite
//! cargo bench --bench records_export -- 10000 postgres   # PostgreSQL
//! ```

mod common;

use std::time::Instant;

use consentd::proof::RecordProof;
use consentd::store::{consents, workshops};

const WORKSHOP: &str = "demo-autorisierung-koeln";

/// Resets the peak RSS to the current RSS (Linux: `clear_refs` 5), so the peak measured
/// afterwards belongs to the export, not to the seeding.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let postgres = args.iter().any(|a| a == "postgres");
    let dir = tempfile::tempdir().unwrap();
    let app = common::open_app(postgres, dir.path(), "export").await;
    common::seed_consents(&app, n).await;
    let workshop = workshops::by_slug(&app.db, WORKSHOP)
        .await
        .unwrap()
        .unwrap();

    // The export: two records rendered at a time, the ZIP written as they come.
    reset_peak();
    let rss_before = common::status_mb("VmRSS:");
    let started = Instant::now();
    let mut rx = consentd::records_zip::stream(
        app.clone(),
        workshop.clone(),
        "https://consentd.example.org".into(),
    );
    let mut bytes = 0usize;
    while let Some(chunk) = rx.recv().await {
        bytes += chunk.unwrap().len();
    }
    let export_secs = started.elapsed().as_secs_f64();
    let peak = common::status_mb("VmHWM:");

    // Baseline: the same records loaded and rendered one after the other, nothing written.
    let started = Instant::now();
    let mut after = 0;
    let mut rendered = 0usize;
    loop {
        let page = consents::workshop_page(&app.db, &workshop.id, after, 200)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = last.ledger_seq;
        for record in page {
            let proof = RecordProof::load(&app, record).await.unwrap();
            let jws = proof.signed_receipt(&app, "https://consentd.example.org");
            let input = proof.pdf_input(&app, "https://consentd.example.org", &jws);
            rendered += consentd::pdf::consent_record::render(&input).len();
        }
    }
    let serial_secs = started.elapsed().as_secs_f64();
    assert!(rendered > 0);

    println!(
        "records export ({}): {n} records in {export_secs:.2} s ({:.0} records/s), archive {:.1} MB, \
         RSS {rss_before:.0} MB before, peak {peak:.0} MB during the export",
        app.db.backend_name(),
        n as f64 / export_secs,
        bytes as f64 / 1e6,
    );
    println!(
        "baseline, one at a time without ZIP: {serial_secs:.2} s ({:.0} records/s); export/baseline {:.2}",
        n as f64 / serial_secs,
        export_secs / serial_secs
    );
    app.db.close().await;
}
