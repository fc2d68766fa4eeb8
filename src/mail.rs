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
                // The error text names the server, never the recipient: the address is
                // taken out before the text is cut, so no part of it is left at the cut.
                let reason = without_recipient(&e.to_string(), m.to_email.as_deref())
                    .chars()
                    .take(300)
                    .collect::<String>();
                consultants::mark_failed(&app.db, &m.id, &reason, retry, app.clock.now()).await?;
                tracing::warn!(message = %m.id, attempts, "mail delivery failed");
            }
        }
    }
    Ok((sent, failed))
}

/// `text` with every occurrence of the address replaced by "(recipient)", whatever its case:
/// mail servers echo addresses as they like.
fn without_recipient(text: &str, address: Option<&str>) -> String {
    let Some(address) = address.filter(|a| !a.is_empty()) else {
        return text.to_owned();
    };
    let matches_at = |rest: &str| -> Option<usize> {
        let mut taken = 0;
        let mut chars = rest.chars();
        for wanted in address.chars() {
            let found = chars.next()?;
            if !found.to_lowercase().eq(wanted.to_lowercase()) {
                return None;
            }
            taken += found.len_utf8();
        }
        Some(taken)
    };
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(len) = matches_at(rest) {
            out.push_str("(recipient)");
            rest = &rest[len..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::without_recipient;

    #[test]
    fn the_recipient_is_taken_out_in_any_case_before_the_text_is_cut() {
        let text = "550 5.1.1 <Anna.Müller@Example.ORG>: unknown; anna.müller@example.org again";
        let out = without_recipient(text, Some("anna.müller@example.org"));
        assert_eq!(out, "550 5.1.1 <(recipient)>: unknown; (recipient) again");
        assert_eq!(without_recipient("no address", None), "no address");
        assert_eq!(without_recipient("anna@x", Some("")), "anna@x");
    }
}
