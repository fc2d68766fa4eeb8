//! Whole-table reads from SQLite on the reading thread itself.
//!
//! sqlx runs each SQLite connection on a worker thread and hands every row to the reading
//! task through a channel. For `verify`'s snapshot (about six rows per ledger entry) those
//! hand-overs were most of the time: the reader is faster than SQLite, so it sleeps and is
//! woken once per row (benches/NOTES.md). Here the caller steps the statement itself while it
//! holds the connection's lock (`lock_handle`, sqlx's documented way to call SQLite directly),
//! inside the caller's transaction.
//!
//! Only plain values are read: text that is UTF-8, integers, NULL, timestamps in RFC 3339
//! (how sqlx writes them) and dates as `YYYY-MM-DD`. Anything else makes [`scan`] answer
//! [`ScanError::NotPlain`], and the caller reads through sqlx, which knows every form.

use std::ffi::{CStr, c_int};
use std::ptr::NonNull;

use chrono::{DateTime, NaiveDate, Utc};
use libsqlite3_sys as ffi;
use sqlx::sqlite::LockedSqliteHandle;

/// The current row of a statement being stepped.
pub(crate) struct Row {
    stmt: NonNull<ffi::sqlite3_stmt>,
}

impl Row {
    fn storage_class(&self, i: c_int) -> c_int {
        // SAFETY: `stmt` is a live statement positioned on a row (see `scan`), `i` < its width.
        unsafe { ffi::sqlite3_column_type(self.stmt.as_ptr(), i) }
    }

    fn text(&self, i: c_int) -> Option<&str> {
        if self.storage_class(i) != ffi::SQLITE_TEXT {
            return None;
        }
        // SAFETY: as above; for a TEXT value, `sqlite3_column_text` returns its bytes and
        // `sqlite3_column_bytes` (called after it, as SQLite requires) their length. They stay
        // valid until the next step, and `Row` is only borrowed within one step.
        let bytes = unsafe {
            let ptr = ffi::sqlite3_column_text(self.stmt.as_ptr(), i);
            let len = ffi::sqlite3_column_bytes(self.stmt.as_ptr(), i);
            if ptr.is_null() {
                return None;
            }
            std::slice::from_raw_parts(ptr, usize::try_from(len).ok()?)
        };
        std::str::from_utf8(bytes).ok()
    }

    fn integer(&self, i: c_int) -> Option<i64> {
        if self.storage_class(i) != ffi::SQLITE_INTEGER {
            return None;
        }
        // SAFETY: as in `storage_class`.
        Some(unsafe { ffi::sqlite3_column_int64(self.stmt.as_ptr(), i) })
    }

    fn is_null(&self, i: c_int) -> bool {
        self.storage_class(i) == ffi::SQLITE_NULL
    }
}

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

/// A row type read by [`scan`]; implemented with [`scan_fields!`].
pub(crate) trait Scan: Sized {
    /// Its columns in field order, for the `SELECT`.
    const COLUMNS: &'static str;
    fn from_row(row: &Row) -> Option<Self>;
}

/// Implements [`Scan`] for a struct whose fields are named as its table's columns:
/// `scan_fields!(Rectification { id, subject_id, … })`. The column list is made from the
/// field names, so the two cannot disagree.
macro_rules! scan_fields {
    ($ty:ty { $($field:ident),+ $(,)? }) => {
        impl $crate::store::sqlite_scan::Scan for $ty {
            const COLUMNS: &'static str = stringify!($($field),+);

            fn from_row(row: &$crate::store::sqlite_scan::Row) -> Option<Self> {
                let mut column = 0..;
                Some(Self {
                    $($field: $crate::store::sqlite_scan::Column::read(row, column.next()?)?,)+
                })
            }
        }
    };
}
pub(crate) use scan_fields;

/// Finalises the statement however `scan` ends.
struct Statement(NonNull<ffi::sqlite3_stmt>);

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: prepared by `scan` and finalised exactly once, here.
        unsafe { ffi::sqlite3_finalize(self.0.as_ptr()) };
    }
}

/// Why [`scan`] did not read a table.
#[derive(Debug)]
pub(crate) enum ScanError {
    /// SQLite refused the statement or failed while stepping it.
    Sqlite(sqlx::Error),
    /// A value is not in a form this module reads: read through sqlx instead.
    NotPlain,
}

/// Runs `SELECT {T::COLUMNS} FROM {rest}` on the locked connection, in whatever transaction
/// it is in.
pub(crate) fn scan<T: Scan>(
    connection: &mut LockedSqliteHandle<'_>,
    rest: &str,
) -> Result<Vec<T>, ScanError> {
    let db = connection.as_raw_handle();
    let sql = format!("SELECT {} FROM {rest}", T::COLUMNS);
    // Longer than 2 GB cannot happen with the column lists here; sqlx would refuse it too.
    let length = c_int::try_from(sql.len()).map_err(|_| ScanError::NotPlain)?;
    let mut stmt = std::ptr::null_mut();
    // SAFETY: `db` is a live connection that only this thread uses while `connection`, its
    // lock, is borrowed here; `sql` outlives the call and its length is given, so no NUL is
    // needed.
    let code = unsafe {
        ffi::sqlite3_prepare_v2(
            db.as_ptr(),
            sql.as_ptr().cast(),
            length,
            &mut stmt,
            std::ptr::null_mut(),
        )
    };
    if code != ffi::SQLITE_OK {
        return Err(sqlite_error(db, code));
    }
    // A null statement means the text held none; `SELECT … FROM` always is one.
    let stmt = Statement(NonNull::new(stmt).ok_or(ScanError::NotPlain)?);
    let row = Row { stmt: stmt.0 };
    let mut rows = Vec::new();
    loop {
        // SAFETY: a prepared statement of this connection, stepped on this thread only.
        match unsafe { ffi::sqlite3_step(stmt.0.as_ptr()) } {
            ffi::SQLITE_ROW => rows.push(T::from_row(&row).ok_or(ScanError::NotPlain)?),
            ffi::SQLITE_DONE => return Ok(rows),
            code => return Err(sqlite_error(db, code)),
        }
    }
}

fn sqlite_error(db: NonNull<ffi::sqlite3>, code: c_int) -> ScanError {
    // SAFETY: `sqlite3_errmsg` returns a NUL-terminated message owned by the connection,
    // copied here before anything else runs on it.
    let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db.as_ptr())) }.to_string_lossy();
    ScanError::Sqlite(sqlx::Error::Protocol(format!(
        "SQLite error {code}: {message}"
    )))
}
