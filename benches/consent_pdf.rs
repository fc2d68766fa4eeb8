//! Consent-record PDF: render time and size of a typical two-page record (about half a page
//! of notice text, 3 purposes, 6 timeline events, 4 ledger entries, a JWS of ~900
//! characters), side by side with Python's reportlab rendering the same content with the
//! same embedded DejaVu fonts (`benches/consent_pdf_reportlab.py`, run by this bench after
//! its own measurement).
//!
//! Run: `cargo bench --bench consent_pdf -- [RUNS]` (RUNS defaults to 1000). Writes the
//! sample PDF, the content as JSON and the TTF files to `target/consent_pdf_bench/`.
//! Results go to stdout; see BENCHMARKS.md.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

mod common;

use common::consent_record_sample::typical;
use consentd::pdf::consent_record::{document, render};
fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    let record = typical();

    // the first render parses the fonts and builds their subsets
    let cold = Instant::now();
    let bytes = render(&record);
    let cold_ms = cold.elapsed().as_secs_f64() * 1e3;
    let pages = String::from_utf8_lossy(&bytes)
        .matches("/Type /Page /")
        .count();

    for _ in 0..50 {
        std::hint::black_box(render(std::hint::black_box(&record)));
    }
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(render(std::hint::black_box(&record)));
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let (median, p90) = (percentile(&times, 0.5), percentile(&times, 0.9));

    // a record with other names: same subsets (base character set), so as fast
    let mut other = record.clone();
    other.participant.name = Some("Zoë Ångström-Øster".into());
    other.receipt_id = "rcpt_99aa00bb11cc".into();
    let mut other_times: Vec<f64> = (0..runs.min(200))
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(render(std::hint::black_box(&other)));
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    other_times.sort_by(f64::total_cmp);

    println!("consent-record PDF, {runs} runs after 50 warm-up renders");
    println!("  first render (parses fonts, builds subsets): {cold_ms:.2} ms");
    println!(
        "  median {median:.3} ms, p90 {p90:.3} ms, {} bytes, {pages} pages",
        bytes.len()
    );
    println!(
        "  other participant (new names, same subsets): median {:.3} ms",
        percentile(&other_times, 0.5)
    );

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/consent_pdf_bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("consent-record.pdf"), &bytes).unwrap();
    std::fs::write(
        dir.join("content.json"),
        serde_json::to_vec_pretty(&document(&record)).unwrap(),
    )
    .unwrap();
    for (name, ttf) in [
        ("DejaVuSans.ttf", dejavu::sans::regular()),
        ("DejaVuSans-Bold.ttf", dejavu::sans::bold()),
        ("DejaVuSans-Oblique.ttf", dejavu::sans::oblique()),
        ("DejaVuSans-BoldOblique.ttf", dejavu::sans::bold_oblique()),
    ] {
        std::fs::write(dir.join(name), ttf).unwrap();
    }
    println!("  sample, content and fonts in {}", dir.display());

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/consent_pdf_reportlab.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&dir)
        .arg(runs.to_string())
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            print!("{text}");
            let field = |key: &str| -> Option<f64> {
                text.split_whitespace()
                    .find_map(|w| w.strip_prefix(key))
                    .and_then(|v| v.parse().ok())
            };
            if let Some(rl) = field("median_ms=") {
                println!(
                    "  ratio: reportlab median / consentd median = {:.1}x (goal >= 5x)",
                    rl / median
                );
            }
        }
        Ok(out) => {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
            eprintln!("reportlab comparison failed; install it with `pip install reportlab`");
        }
        Err(e) => {
            eprintln!("python3 not found ({e}); install Python 3 and `pip install reportlab`")
        }
    }
}
