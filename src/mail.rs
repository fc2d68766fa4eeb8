//! Delivering the outbox by SMTP (lettre). Plain SMTP to a relay on the local network
//! (`smtp://host:port`), which hands mail on with TLS; retries with backoff.

use chrono::TimeDelta;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::app::App;
use crate::store::consultants::{self, OutboxMessage};

/// After this many attempts a message is given up (state `failed`, visible to admins).
pub const MAX_ATTEMPTS: i64 = 6;

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// `smtp://host:port`; `None` when no URL is configured.
    pub fn from_settings(url: Option<&str>, from: &str) -> anyhow::Result<Option<Mailer>> {
        let Some(url) = url.filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let rest = url
            .trim()
            .strip_prefix("smtp://")
            .ok_or_else(|| anyhow::anyhow!("CONSENTD_SMTP_URL must look like smtp://host:port"))?;
        let (host, port) = match rest.trim_end_matches('/').rsplit_once(':') {
            Some((h, p)) => (
                h.to_owned(),
                p.parse::<u16>()
                    .map_err(|_| anyhow::anyhow!("CONSENTD_SMTP_URL: bad port"))?,
            ),
            None => (rest.trim_end_matches('/').to_owned(), 25),
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .build();
        let from = from
            .parse()
            .map_err(|_| anyhow::anyhow!("CONSENTD_MAIL_FROM is not an e-mail address"))?;
        Ok(Some(Mailer { transport, from }))
    }

    async fn send(&self, m: &OutboxMessage) -> anyhow::Result<()> {
        let to: Mailbox = m.to_email.as_deref().unwrap_or_default().parse()?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone().unwrap_or_default())?;
        self.transport.send(message).await?;
        Ok(())
    }
}

/// Sends what is due; returns (sent, failed attempts).
pub async fn deliver(app: &App, mailer: &Mailer) -> anyhow::Result<(usize, usize)> {
    let (mut sent, mut failed) = (0, 0);
    for m in consultants::claim_due(&app.db, app.clock.now(), 100).await? {
        match mailer.send(&m).await {
            Ok(()) => {
                consultants::mark_sent(&app.db, &m.id, app.clock.now()).await?;
                sent += 1;
            }
            Err(e) => {
                failed += 1;
                let attempts = m.attempts + 1;
                // 1, 2, 4, 8, 16 minutes; then give up.
                let retry = (attempts < MAX_ATTEMPTS)
                    .then(|| app.clock.now() + TimeDelta::minutes(1 << (attempts - 1).min(10)));
                // The error text names the server, never the recipient.
                let reason = format!("{}", e)
                    .chars()
                    .take(300)
                    .collect::<String>()
                    .replace(m.to_email.as_deref().unwrap_or("\u{0}"), "(recipient)");
                consultants::mark_failed(&app.db, &m.id, &reason, retry, app.clock.now()).await?;
                tracing::warn!(message = %m.id, attempts, "mail delivery failed");
            }
        }
    }
    Ok((sent, failed))
}
