//! Rows appended in bulk (ledger entries, deletion-log rows), written as each backend takes
//! them fastest. SQLite: multi-row `VALUES`. PostgreSQL: one array per column, unnested, so
//! every batch size runs one prepared statement; a `VALUES` of thousands of parameters was
//! parsed and planned again on every batch, which cost more than the inserts themselves
//! (benches/NOTES.md, session 11).

use std::borrow::Borrow;

use super::insert_values;
use super::ledger::entry_columns;
use super::retention::{DeletionLogEntry, deletion_columns};
use crate::domain::ledger::LedgerEntry;

/// One column of `rows`, as the array PostgreSQL unnests.
pub(crate) fn column<'a, T, U>(rows: &'a [T], value: impl Fn(&'a T) -> U) -> Vec<U> {
    rows.iter().map(value).collect()
}

/// PostgreSQL's insert of ledger rows from the arrays `$1`…`$7`, which
/// [`bind_ledger_arrays`] binds. A macro, so statements can embed it (`concat!`).
macro_rules! ledger_from_arrays {
    () => {
        concat!(
            "INSERT INTO ledger (",
            $crate::store::ledger::entry_columns!(),
            ") SELECT * FROM unnest($1::int8[], $2::timestamptz[], $3::text[], $4::text[], \
             $5::text[], $6::text[], $7::text[])"
        )
    };
}
pub(crate) use ledger_from_arrays;

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds `entries` (owned or borrowed) as the arrays `$1`…`$7` of [`ledger_from_arrays!`].
pub(crate) fn bind_ledger_arrays<'q, E: Borrow<LedgerEntry>>(
    query: PgQuery<'q>,
    entries: &'q [E],
) -> PgQuery<'q> {
    let entry = |e: &'q E| -> &'q LedgerEntry { e.borrow() };
    query
        .bind(column(entries, |e| entry(e).seq))
        .bind(column(entries, |e| entry(e).recorded_at))
        .bind(column(entries, |e| entry(e).kind.as_str()))
        .bind(column(entries, |e| entry(e).ref_id.as_str()))
        .bind(column(entries, |e| entry(e).payload_sha256.as_str()))
        .bind(column(entries, |e| entry(e).prev_sha256.as_str()))
        .bind(column(entries, |e| entry(e).entry_sha256.as_str()))
}

pub(crate) trait AppendRows {
    /// Ledger entries; the caller moves the head.
    async fn append_ledger_rows(&mut self, entries: &[LedgerEntry]) -> sqlx::Result<()>;

    /// Deletion-log rows (after their ledger entries: the rows reference them).
    async fn append_deletion_log_rows(&mut self, entries: &[&DeletionLogEntry])
    -> sqlx::Result<()>;
}

impl AppendRows for sqlx::SqliteConnection {
    async fn append_ledger_rows(&mut self, entries: &[LedgerEntry]) -> sqlx::Result<()> {
        let head = concat!("INSERT INTO ledger (", entry_columns!(), ") ");
        insert_values!(self, head, 7, entries, |row, e| {
            row.push_bind(e.seq)
                .push_bind(e.recorded_at)
                .push_bind(&e.kind)
                .push_bind(&e.ref_id)
                .push_bind(&e.payload_sha256)
                .push_bind(&e.prev_sha256)
                .push_bind(&e.entry_sha256);
        });
        Ok(())
    }

    async fn append_deletion_log_rows(
        &mut self,
        entries: &[&DeletionLogEntry],
    ) -> sqlx::Result<()> {
        let head = concat!("INSERT INTO deletion_log (", deletion_columns!(), ") ");
        insert_values!(self, head, 13, entries, |row, e| {
            row.push_bind(&e.id)
                .push_bind(e.executed_at)
                .push_bind(&e.category)
                .push_bind(e.rule_version)
                .push_bind(e.start_on)
                .push_bind(e.due_on)
                .push_bind(&e.subject_pseudonym)
                .push_bind(&e.target)
                .push_bind(e.rows_affected)
                .push_bind(e.ledger_seq)
                .push_bind(&e.row_key)
                .push_bind(&e.replay_of)
                .push_bind(&e.sealed);
        });
        Ok(())
    }
}

impl AppendRows for sqlx::PgConnection {
    async fn append_ledger_rows(&mut self, entries: &[LedgerEntry]) -> sqlx::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        bind_ledger_arrays(sqlx::query(ledger_from_arrays!()), entries)
            .execute(&mut *self)
            .await?;
        Ok(())
    }

    async fn append_deletion_log_rows(
        &mut self,
        entries: &[&DeletionLogEntry],
    ) -> sqlx::Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        sqlx::query(concat!(
            "INSERT INTO deletion_log (",
            deletion_columns!(),
            ") SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::int8[], \
             $5::date[], $6::date[], $7::text[], $8::text[], $9::int8[], $10::int8[], \
             $11::text[], $12::text[], $13::text[])"
        ))
        .bind(column(entries, |e| e.id.as_str()))
        .bind(column(entries, |e| e.executed_at))
        .bind(column(entries, |e| e.category.as_str()))
        .bind(column(entries, |e| e.rule_version))
        .bind(column(entries, |e| e.start_on))
        .bind(column(entries, |e| e.due_on))
        .bind(column(entries, |e| e.subject_pseudonym.as_deref()))
        .bind(column(entries, |e| e.target.as_str()))
        .bind(column(entries, |e| e.rows_affected))
        .bind(column(entries, |e| e.ledger_seq))
        .bind(column(entries, |e| e.row_key.as_deref()))
        .bind(column(entries, |e| e.replay_of.as_deref()))
        .bind(column(entries, |e| e.sealed.as_deref()))
        .execute(&mut *self)
        .await?;
        Ok(())
    }
}
