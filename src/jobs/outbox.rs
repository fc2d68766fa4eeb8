//! Delivers the outbox every few seconds when SMTP is configured.

use std::time::Duration;

use tokio::task::JoinHandle;

use super::Stop;
use crate::app::App;
use crate::mail::{Mailer, deliver};

pub fn spawn(app: App, mailer: Option<Mailer>, mut stop: Stop) -> Option<JoinHandle<()>> {
    let mailer = mailer?;
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        while stop.tick(&mut tick).await {
            if let Err(e) = deliver(&app, &mailer).await {
                tracing::warn!(error = %format!("{e:#}"), "outbox delivery failed");
            }
        }
    }))
}
