//! Scheduled retention runs inside `serve`: nobody has to press a button.

use crate::app::App;
use crate::config::RetentionInterval;

pub fn spawn(app: App, interval: RetentionInterval) {
    let RetentionInterval::Every(every) = interval else {
        return;
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = crate::retention::run(&app, false, None).await {
                tracing::warn!(error = %format!("{e:#}"), "retention run failed");
            }
        }
    });
}
