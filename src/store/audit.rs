//! The audit trail of staff actions and security events. Each row is written together with
//! a ledger entry that hashes it, so the trail is append-only in the same way consents are.

use chrono::{DateTime, Utc};

use super::ledger::{insert_entry, lock_head};
use super::{Db, with_db};
use crate::clock::{Clock, canonical_time};
use crate::domain::ledger::{AuditPayload, EntryKind, LedgerEntry, payload_hash};

#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: String,
    pub at: DateTime<Utc>,
    /// `user:<id>`, `token:<name>`, `cli` or `anonymous`.
    pub actor: String,
    /// What happened, e.g. `login.failed`, `user.added`, `token.revoked`, `workshop.created`.
    pub action: String,
    /// What it acted on: an id or a name, never a participant's personal data.
    pub target: Option<String>,
    pub ip_truncated: Option<String>,
    pub ledger_seq: i64,
}

impl AuditEvent {
    pub fn payload(&self) -> AuditPayload<'_> {
        AuditPayload {
            id: &self.id,
            at: canonical_time(self.at),
            actor: &self.actor,
            action: &self.action,
            target: self.target.as_deref(),
            ip_truncated: self.ip_truncated.as_deref(),
        }
    }
}

macro_rules! columns {
    () => {
        "id, at, actor, action, target, ip_truncated, ledger_seq"
    };
}
pub(crate) use columns as audit_columns;

/// Appends one audit event.
pub async fn record(
    db: &Db,
    clock: &Clock,
    actor: &str,
    action: &str,
    target: Option<&str>,
    ip_truncated: Option<&str>,
) -> sqlx::Result<AuditEvent> {
    with_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let (seq, prev) = lock_head!(tx);
        let event = AuditEvent {
            id: uuid::Uuid::now_v7().to_string(),
            at: clock.now(),
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.map(str::to_owned),
            ip_truncated: ip_truncated.map(str::to_owned),
            ledger_seq: seq,
        };
        let entry = LedgerEntry::next(seq, &prev, event.at, EntryKind::Audit, &event.id, &payload_hash(&event.payload()));
        insert_entry!(tx, &entry);
        sqlx::query(concat!("INSERT INTO audit_events (", columns!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(&event.id)
            .bind(event.at)
            .bind(&event.actor)
            .bind(&event.action)
            .bind(&event.target)
            .bind(&event.ip_truncated)
            .bind(event.ledger_seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(event)
    })
}

/// Newest first.
pub async fn recent(db: &Db, limit: i64, offset: i64) -> sqlx::Result<Vec<AuditEvent>> {
    let sql = concat!(
        "SELECT ",
        columns!(),
        " FROM audit_events ORDER BY ledger_seq DESC LIMIT $1 OFFSET $2"
    );
    with_db!(db, pool => sqlx::query_as(sql).bind(limit).bind(offset).fetch_all(pool).await)
}
