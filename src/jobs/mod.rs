//! Scheduled work.

pub mod housekeeping;
pub mod outbox;
pub mod reconsent;
pub mod retention;

use tokio::sync::watch;
use tokio::time::Interval;

/// Hands heap memory freed by a pass (a retention page, start-up's policy and catalogue
/// work) back to the operating system: glibc keeps it otherwise, and an idle service would
/// hold its peak for good.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own heap to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Caps glibc's malloc arenas at two. By default a thread that allocates under contention
/// gets an arena of its own (up to eight per core) and each arena keeps its own high-water
/// mark: a retention sweep, whose batches run on the worker threads of different pooled SQLite
/// connections, peaked at 109 MB instead of 69 MB for 1,000,000 records, in the same time.
/// Called by [`runtime`], before the runtime's threads exist.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes how the allocator picks arenas for later allocations.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// The multi-threaded runtime `main` runs on (and the sweep bench, to measure the same
/// thing): malloc arenas are capped first, so that none of its threads has an arena of its own.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    limit_malloc_arenas();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

/// Tells the scheduled jobs that `serve` is shutting down. A job never stops inside a pass
/// (a retention page, a letter being sent): it finishes the pass it is in and then returns,
/// so shutdown can wait for it instead of cutting it off when the runtime ends.
#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

/// The sending half: [`StopSender::stop`] asks every job to stop.
pub struct StopSender(watch::Sender<bool>);

impl Stop {
    pub fn new() -> (StopSender, Stop) {
        let (tx, rx) = watch::channel(false);
        (StopSender(tx), Stop(rx))
    }

    /// Waits for the next tick; `false` once stopping was asked for (also while waiting).
    pub async fn tick(&mut self, interval: &mut Interval) -> bool {
        if *self.0.borrow() {
            return false;
        }
        let stopped = tokio::select! {
            biased;
            _ = self.0.wait_for(|stop| *stop) => true,
            _ = interval.tick() => false,
        };
        !stopped && !*self.0.borrow()
    }
}

impl StopSender {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}
