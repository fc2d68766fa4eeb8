//! Scheduled retention runs inside `serve`: nobody has to press a button.

use tokio::task::JoinHandle;

use super::Stop;
use crate::app::App;
use crate::config::RetentionInterval;

pub fn spawn(app: App, interval: RetentionInterval, mut stop: Stop) -> Option<JoinHandle<()>> {
    let RetentionInterval::Every(every) = interval else {
        return None;
    };
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        while stop.tick(&mut tick).await {
            if let Err(e) = crate::retention::run(&app, false, None).await {
                tracing::warn!(error = %format!("{e:#}"), "retention run failed");
            }
            crate::allocator::release_free_memory();
        }
    }))
}
