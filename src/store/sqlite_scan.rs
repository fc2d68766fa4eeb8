//! Whole-table reads from SQLite on the reading thread itself, through [`Direct`]: for
//! `verify`'s snapshot (about six rows per ledger entry) sqlx's hand-over of every row from
//! its worker thread was most of the time (benches/NOTES.md).
//!
//! Only plain values are read: text that is UTF-8, integers, NULL, timestamps in RFC 3339
//! (how sqlx writes them) and dates as `YYYY-MM-DD`. Anything else makes [`scan`] answer
//! [`ScanError::NotPlain`], and the caller reads through sqlx, which knows every form.

use std::ffi::c_int;

use chrono::{DateTime, NaiveDate, Utc};

use super::sqlite_direct::{Direct, Param, Row, SqliteCallError, Statement, with_locked};

/// A value of one column, or `None` when it is not in the plain form [`scan`] reads.
pub(crate) trait Column: Sized {
    fn read(row: &Row, i: c_int) -> Option<Self>;
}

impl Column for String {
    fn read(row: &Row, i: c_int) -> Option<Self> {
        row.text(i).map(str::to_owned)
    }
}

impl Column for i64 {
    fn read(row: &Row, i: c_int) -> Option<Self> {
        row.integer(i)
    }
}

impl Column for DateTime<Utc> {
    fn read(row: &Row, i: c_int) -> Option<Self> {
        // The format sqlx writes, and the first one its decoder tries.
        let time = DateTime::parse_from_rfc3339(row.text(i)?).ok()?;
        Some(time.with_timezone(&Utc))
    }
}

impl Column for NaiveDate {
    fn read(row: &Row, i: c_int) -> Option<Self> {
        NaiveDate::parse_from_str(row.text(i)?, "%F").ok()
    }
}

impl<T: Column> Column for Option<T> {
    fn read(row: &Row, i: c_int) -> Option<Self> {
        if row.is_null(i) {
            Some(None)
        } else {
            T::read(row, i).map(Some)
        }
    }
}

/// A value made from a row, column by column; `None` when a column is not plain. Tuples of
/// [`Column`]s, and the structs of [`scan_fields!`].
pub(crate) trait FromRow: Sized {
    fn from_row(row: &Row) -> Option<Self>;
}

/// A table's row type read by [`scan`]; implemented with [`scan_fields!`].
pub(crate) trait Scan: FromRow {
    /// Its columns in field order, for the `SELECT`.
    const COLUMNS: &'static str;
}

/// Implements [`Scan`] for a struct whose fields are named as its table's columns:
/// `scan_fields!(Rectification { id, subject_id, … })`. The column list is made from the
/// field names, so the two cannot disagree.
macro_rules! scan_fields {
    ($ty:ty { $($field:ident),+ $(,)? }) => {
        impl $crate::store::sqlite_scan::Scan for $ty {
            const COLUMNS: &'static str = stringify!($($field),+);
        }

        impl $crate::store::sqlite_scan::FromRow for $ty {
            fn from_row(row: &$crate::store::sqlite_direct::Row) -> Option<Self> {
                let mut column = 0..;
                Some(Self {
                    $($field: $crate::store::sqlite_scan::Column::read(row, column.next()?)?,)+
                })
            }
        }
    };
}
pub(crate) use scan_fields;

/// Why [`scan`] did not read a table.
#[derive(Debug)]
pub(crate) enum ScanError {
    /// SQLite refused the statement or failed while stepping it.
    Sqlite(sqlx::Error),
    /// A value is not in a form this module reads: read through sqlx instead.
    NotPlain,
}

impl From<SqliteCallError> for ScanError {
    fn from(e: SqliteCallError) -> Self {
        ScanError::Sqlite(e.into())
    }
}

impl From<sqlx::Error> for ScanError {
    fn from(e: sqlx::Error) -> Self {
        ScanError::Sqlite(e)
    }
}

impl From<ScanError> for sqlx::Error {
    fn from(e: ScanError) -> Self {
        match e {
            ScanError::Sqlite(e) => e,
            ScanError::NotPlain => sqlx::Error::Decode("a value in a form only sqlx reads".into()),
        }
    }
}

/// Reading through sqlx instead when a value is not plain: `None`.
pub(crate) fn unless_not_plain<T>(read: Result<T, ScanError>) -> sqlx::Result<Option<T>> {
    match read {
        Ok(value) => Ok(Some(value)),
        Err(ScanError::NotPlain) => Ok(None),
        Err(ScanError::Sqlite(e)) => Err(e),
    }
}

macro_rules! tuple_from_columns {
    ($($t:ident),+) => {
        impl<$($t: Column),+> FromRow for ($($t,)+) {
            fn from_row(row: &Row) -> Option<Self> {
                let mut column = 0..;
                Some(($($t::read(row, column.next()?)?,)+))
            }
        }
    };
}
tuple_from_columns!(A, B);
tuple_from_columns!(A, B, C, D, E, F);

/// Runs `sql` with `params` on a connection of `pool`, stepping it on this thread: all its
/// rows, or `None` when a value is not plain (read those through sqlx). For reads of many
/// rows, where sqlx's hand-over of each row from its worker thread would be most of the time.
pub(crate) async fn fetch_all<T: FromRow>(
    pool: &sqlx::SqlitePool,
    sql: &str,
    params: &[&(dyn Param + Sync)],
) -> sqlx::Result<Option<Vec<T>>> {
    let read = with_locked(pool, |connection| -> Result<Vec<T>, ScanError> {
        let params: Vec<&dyn Param> = params.iter().map(|&p| p as &dyn Param).collect();
        let mut statement = connection.prepare(sql)?;
        statement.query(&params)?;
        all_rows(&mut statement)
    });
    unless_not_plain(read.await)
}

/// Runs `SELECT {T::COLUMNS} FROM {rest}` on the locked connection, in whatever transaction
/// it is in.
pub(crate) fn scan<T: Scan>(connection: &Direct<'_>, rest: &str) -> Result<Vec<T>, ScanError> {
    let mut statement = connection.prepare(&format!("SELECT {} FROM {rest}", T::COLUMNS))?;
    all_rows(&mut statement)
}

/// Steps `statement` to its end.
pub(crate) fn all_rows<T: FromRow>(statement: &mut Statement<'_>) -> Result<Vec<T>, ScanError> {
    let mut rows = Vec::new();
    while let Some(row) = statement.next_row()? {
        rows.push(T::from_row(&row).ok_or(ScanError::NotPlain)?);
    }
    Ok(rows)
}
