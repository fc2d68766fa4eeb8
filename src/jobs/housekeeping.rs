//! Every few minutes: end expired staff sessions and forget idle rate-limit keys.

use std::time::Duration;

use crate::accounts::{SESSION_ABSOLUTE, SESSION_IDLE};
use tokio::task::JoinHandle;

use super::Stop;
use crate::app::App;
use crate::store::sessions;

pub fn spawn(app: App, mut stop: Stop) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        while stop.tick(&mut tick).await {
            let now = app.clock.now();
            match sessions::delete_expired(&app.db, now - SESSION_IDLE, now - SESSION_ABSOLUTE)
                .await
            {
                Ok(n) if n > 0 => tracing::info!(sessions = n, "expired sessions removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "session clean-up failed"),
            }
        }
    })
}
