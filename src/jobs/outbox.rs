//! Delivers the outbox every few seconds when SMTP is configured.

use std::time::Duration;

use crate::app::App;
use crate::mail::{Mailer, deliver};

pub fn spawn(app: App, mailer: Option<Mailer>) {
    let Some(mailer) = mailer else { return };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            if let Err(e) = deliver(&app, &mailer).await {
                tracing::warn!(error = %format!("{e:#}"), "outbox delivery failed");
            }
        }
    });
}
