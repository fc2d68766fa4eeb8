//! The bulk export of a workshop's consent records: a ZIP with each record's PDF and signed
//! receipt, a `manifest.json` and a `SHA256SUMS` file (`sha256sum -c SHA256SUMS` checks
//! it). Streamed with bounded memory: records are read in pages, rendered two at a time (both
//! cores), and written as they come; the archive is never held whole.

use std::io::Write;

use axum::body::Bytes;
use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::app::App;
use crate::clock::canonical_time;
use crate::proof::{ProofContext, RecordProof};
use crate::store::consents;
use crate::store::workshops::Workshop;

/// Records read per query.
const PAGE: i64 = 200;
/// Records rendered at once: one per core here.
const PARALLEL: usize = 2;

/// One record's two files.
struct RecordFiles {
    stem: String,
    pdf: Vec<u8>,
    receipt: Vec<u8>,
}

#[derive(Serialize)]
struct Manifest<'a> {
    workshop: &'a str,
    title: &'a str,
    generated_at: String,
    signing_key: &'a str,
    keys_url: String,
    records: usize,
    files: Vec<ManifestFile>,
}

#[derive(Serialize)]
struct ManifestFile {
    name: String,
    bytes: usize,
    sha256: String,
}

/// The signed receipt as a file: `verify-receipt` reads the `jws` member.
#[derive(Serialize)]
struct ReceiptFile<'a> {
    receipt_id: &'a str,
    key_id: &'a str,
    jws: String,
}

/// Starts the export; the receiver yields the archive's bytes. An error after the first
/// bytes can only end the stream early (the archive then lacks its directory and does not
/// open), and is logged.
pub fn stream(
    app: App,
    workshop: Workshop,
    base_url: String,
) -> mpsc::Receiver<std::io::Result<Bytes>> {
    let (body_tx, body_rx) = mpsc::channel::<std::io::Result<Bytes>>(8);
    let (files_tx, files_rx) = mpsc::channel::<RecordFiles>(PARALLEL * 2);
    let generated_at = canonical_time(app.clock.now());
    let key_id = app.signer.key_id().to_owned();
    let writer_tx = body_tx.clone();
    let slug = workshop.slug.clone();
    let title = workshop.title.clone();
    let keys_url = format!("{base_url}/api/v1/keys");
    let writer = tokio::task::spawn_blocking(move || {
        let manifest = Manifest {
            workshop: &slug,
            title: &title,
            generated_at,
            signing_key: &key_id,
            keys_url,
            records: 0,
            files: Vec::new(),
        };
        write_archive(files_rx, ChannelWriter { tx: writer_tx }, manifest)
    });
    tokio::spawn(async move {
        let produced = produce(&app, &workshop, &base_url, files_tx).await;
        let written = writer.await;
        let failure = match (produced, written) {
            (Err(e), _) => Some(e),
            (_, Ok(Err(e))) => Some(e.into()),
            (_, Err(e)) => Some(e.into()),
            _ => None,
        };
        if let Some(e) = failure {
            tracing::error!(error = %e, "records export ended early");
            let _ = body_tx
                .send(Err(std::io::Error::other(
                    "the export failed; see the service log",
                )))
                .await;
        }
    });
    body_rx
}

/// Reads the records page by page and renders them, `PARALLEL` at a time, in order.
async fn produce(
    app: &App,
    workshop: &Workshop,
    base_url: &str,
    files: mpsc::Sender<RecordFiles>,
) -> anyhow::Result<()> {
    // One chain head and one list of staff names for the whole archive.
    let context = ProofContext::load(app).await?;
    let context = &context;
    let mut after = 0;
    loop {
        let page = consents::workshop_page(&app.db, &workshop.id, after, PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.ledger_seq;
        let mut rendered = futures::stream::iter(page)
            .map(|record| async move {
                let proof = RecordProof::load_with(app, context, record).await?;
                let jws = proof.signed_receipt(app, base_url);
                let input = proof.pdf_input(app, base_url, &jws);
                let pdf =
                    tokio::task::spawn_blocking(move || crate::pdf::consent_record::render(&input))
                        .await?;
                let receipt = serde_json::to_vec_pretty(&ReceiptFile {
                    receipt_id: &proof.receipt.record.receipt_id,
                    key_id: app.signer.key_id(),
                    jws,
                })?;
                anyhow::Ok(RecordFiles {
                    stem: format!(
                        "{}-{}",
                        proof.receipt.record.recorded_at.format("%Y%m%d"),
                        proof.receipt.record.receipt_id
                    ),
                    pdf,
                    receipt,
                })
            })
            .buffered(PARALLEL);
        while let Some(files_of_record) = rendered.next().await {
            if files.send(files_of_record?).await.is_err() {
                // The client went away.
                return Ok(());
            }
        }
    }
}

fn write_archive(
    mut files: mpsc::Receiver<RecordFiles>,
    out: ChannelWriter,
    mut manifest: Manifest<'_>,
) -> std::io::Result<()> {
    // Whole blocks to the body instead of every header field on its own.
    let mut zip = zip::ZipWriter::new_stream(std::io::BufWriter::with_capacity(64 * 1024, out));
    // PDFs are compressed already; storing keeps the export fast and its memory flat.
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    let add = |zip: &mut zip::ZipWriter<_>,
               name: String,
               bytes: &[u8]|
     -> std::io::Result<ManifestFile> {
        zip.start_file(name.as_str(), options)
            .map_err(std::io::Error::other)?;
        zip.write_all(bytes)?;
        Ok(ManifestFile {
            sha256: hex::encode(Sha256::digest(bytes)),
            bytes: bytes.len(),
            name,
        })
    };
    while let Some(record) = files.blocking_recv() {
        manifest.records += 1;
        let pdf = add(&mut zip, format!("{}.pdf", record.stem), &record.pdf)?;
        let receipt = add(
            &mut zip,
            format!("{}.receipt.json", record.stem),
            &record.receipt,
        )?;
        manifest.files.push(pdf);
        manifest.files.push(receipt);
    }
    let sums: String = manifest
        .files
        .iter()
        .map(|f| format!("{}  {}\n", f.sha256, f.name))
        .collect();
    let json = serde_json::to_vec_pretty(&manifest).map_err(std::io::Error::other)?;
    add(&mut zip, "manifest.json".to_owned(), &json)?;
    add(&mut zip, "SHA256SUMS".to_owned(), sums.as_bytes())?;
    zip.finish().map_err(std::io::Error::other)?.flush()?;
    Ok(())
}

/// A `Write` that hands each chunk to the response body, waiting while the client is slow
/// (that wait is what bounds the memory).
struct ChannelWriter {
    tx: mpsc::Sender<std::io::Result<Bytes>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tx
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
            })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
