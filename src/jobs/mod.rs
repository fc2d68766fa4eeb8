//! Scheduled work.

pub mod housekeeping;
pub mod outbox;
pub mod reconsent;
pub mod retention;

use tokio::sync::watch;
use tokio::time::Interval;

/// The multi-threaded runtime `main` runs on (and the sweep bench, to measure the same
/// thing): the allocator is set up first, before any of its threads exists.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    crate::allocator::configure();
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
