//! Group commit for consents: requests that arrive together share one transaction, one fsync
//! and one ledger append, and each is answered only after that commit.
//!
//! One writer task per process takes the first waiting consent, then everything else already
//! queued (up to [`MAX_BATCH`]), and stores them with [`consents::record_batch`]. There is no
//! waiting for company: under light load a batch is a single consent, so latency stays that of
//! one commit; under heavy load the queue fills while the previous batch commits, and batches
//! grow by themselves.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};

use super::Db;
use super::consents::{self, NewConsent, Stored, WrittenHead};
use crate::clock::Clock;

/// Large enough to amortise a commit over many consents, small enough that one batch's
/// statements stay short (each is one JSON array).
pub const MAX_BATCH: usize = 256;

/// Consents waiting for the writer; a full queue makes callers wait (back-pressure).
const QUEUE: usize = 4 * MAX_BATCH;

struct Job {
    consent: NewConsent,
    reply: oneshot::Sender<sqlx::Result<Stored>>,
}

/// The handle requests use; cheap to clone.
#[derive(Clone)]
pub struct ConsentWriter {
    queue: mpsc::Sender<Job>,
    stats: Arc<Stats>,
}

/// What this process's writer has committed so far (for `/metrics`).
#[derive(Default)]
struct Stats {
    commits: AtomicU64,
    consents: AtomicU64,
}

impl ConsentWriter {
    /// Starts the writer. It ends when every handle is gone.
    pub fn spawn(db: Db, clock: Clock) -> ConsentWriter {
        let (queue, jobs) = mpsc::channel(QUEUE);
        let stats = Arc::new(Stats::default());
        let writer_stats = stats.clone();
        // Its own thread, runtime and connection: a batch's statements are awaited one after
        // another, and on the request runtime each await would queue behind every request
        // task there (measured: ~10 ms per batch under load instead of ~2 ms).
        std::thread::Builder::new()
            .name("consent-writer".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the consent writer");
                // The pool is made inside the runtime: its upkeep task runs there.
                runtime.block_on(async move {
                    run(db.dedicated(1), clock, jobs, writer_stats).await;
                });
            })
            .expect("the consent writer thread starts");
        ConsentWriter { queue, stats }
    }

    /// `(commits, consents)` stored by this process: their ratio is the mean batch size.
    pub fn committed(&self) -> (u64, u64) {
        (
            self.stats.commits.load(Ordering::Relaxed),
            self.stats.consents.load(Ordering::Relaxed),
        )
    }

    /// Stores one consent; returns once it is committed (or failed, or found
    /// [`consents::Outdated`]).
    pub async fn record(&self, consent: NewConsent) -> sqlx::Result<Stored> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { consent, reply })
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        // The writer never drops a job unanswered while it runs; if it is gone, so is the pool.
        answer.await.unwrap_or(Err(sqlx::Error::PoolClosed))
    }
}

async fn run(db: Db, clock: Clock, mut jobs: mpsc::Receiver<Job>, stats: Arc<Stats>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut written = WrittenHead::default();
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (consents, replies): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|j| (j.consent, j.reply)).unzip();
        let (size, started) = (consents.len(), std::time::Instant::now());
        store(&db, &clock, consents, replies, &mut written, &stats).await;
        tracing::debug!(
            consents = size,
            ms = started.elapsed().as_millis() as u64,
            "consent batch"
        );
    }
}

async fn store(
    db: &Db,
    clock: &Clock,
    consents: Vec<NewConsent>,
    replies: Vec<oneshot::Sender<sqlx::Result<Stored>>>,
    written: &mut WrittenHead,
    stats: &Stats,
) {
    let committed = |n: usize| {
        // A batch whose consents were all outdated stored nothing.
        if n == 0 {
            return;
        }
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats.consents.fetch_add(n as u64, Ordering::Relaxed);
    };
    match consents::record_batch(db, clock, &consents, written).await {
        Ok(stored) => {
            committed(stored.iter().filter(|s| s.is_ok()).count());
            for (reply, consent) in replies.into_iter().zip(stored) {
                // A caller that went away (client disconnected) still has its consent stored.
                let _ = reply.send(Ok(consent));
            }
        }
        // A consent alone: its own answer, nothing to retry.
        Err(e) if replies.len() == 1 => {
            let _ = replies.into_iter().next().expect("one").send(Err(e));
        }
        // The database cannot answer now (no connection, or a lock or an answer waited for
        // too long): one by one, every consent of the batch would wait the same way again.
        Err(e) if super::is_unavailable(&e) => {
            tracing::warn!(error = %e, consents = replies.len(), "consent batch not stored");
            for reply in replies {
                let _ = reply.send(Err(unavailable_again(&e)));
            }
        }
        // Something in one consent (PostgreSQL refusing a character, say) must not fail the
        // others: store each alone, so each gets its own answer.
        Err(e) => {
            tracing::warn!(error = %e, consents = replies.len(), "consent batch failed; storing one by one");
            for (consent, reply) in consents.iter().zip(replies) {
                let result = consents::record(db, clock, consent).await;
                if matches!(result, Ok(Ok(_))) {
                    committed(1);
                }
                let _ = reply.send(result);
            }
        }
    }
}

/// The same verdict for another caller of the batch (`sqlx::Error` cannot be cloned): an
/// error that [`super::is_unavailable`] also says yes to.
fn unavailable_again(e: &sqlx::Error) -> sqlx::Error {
    match e {
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        other => sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("the database did not answer: {other}"),
        )),
    }
}
