//! SQLite called on the calling thread itself, while it holds the connection's lock.
//!
//! sqlx runs each SQLite connection on a worker thread: every statement, and every row read,
//! is a hand-over to that thread and back. Where those hand-overs were most of the time they
//! are skipped here, through `lock_handle`, sqlx's documented way to call SQLite directly:
//! `verify`'s snapshot read (a wake-up per row) and the consent writer's batch (a wake-up per
//! statement, each queued behind the request threads for a core; benches/NOTES.md).
//!
//! This module holds all of the unsafe code for it. [`Direct`] borrows the lock exclusively,
//! and it and its statements are neither `Send` nor `Sync`, so the connection is used by one
//! thread only and only while sqlx's worker keeps off it.

use std::borrow::Cow;
use std::ffi::{CStr, c_int};
use std::marker::PhantomData;
use std::ptr::NonNull;

use chrono::{DateTime, SecondsFormat, Utc};
use libsqlite3_sys as ffi;
use sqlx::error::{DatabaseError, ErrorKind};
use sqlx::sqlite::LockedSqliteHandle;

/// A connection locked for direct calls on this thread.
pub(crate) struct Direct<'lock> {
    db: NonNull<ffi::sqlite3>,
    _lock: PhantomData<&'lock mut ()>,
}

impl<'lock> Direct<'lock> {
    pub fn new(lock: &'lock mut LockedSqliteHandle<'_>) -> Self {
        Direct {
            db: lock.as_raw_handle(),
            _lock: PhantomData,
        }
    }

    /// Prepares one statement (`?` or `?N` placeholders).
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>, SqliteCallError> {
        // Longer than 2 GB cannot happen with the statements here; SQLite would refuse it.
        let length = c_int::try_from(sql.len()).map_err(|_| SqliteCallError::misuse())?;
        let mut stmt = std::ptr::null_mut();
        // SAFETY: `db` is a live connection that only this thread uses while the lock is
        // borrowed; `sql` outlives the call and its length is given, so no NUL is needed.
        let code = unsafe {
            ffi::sqlite3_prepare_v2(
                self.db.as_ptr(),
                sql.as_ptr().cast(),
                length,
                &mut stmt,
                std::ptr::null_mut(),
            )
        };
        if code != ffi::SQLITE_OK {
            return Err(self.error());
        }
        // A null statement means the text held none: a caller's mistake.
        let stmt = NonNull::new(stmt).ok_or_else(SqliteCallError::misuse)?;
        Ok(Statement {
            stmt,
            connection: self,
        })
    }

    /// Prepares `{head}VALUES (?, …)`, one placeholder per column named in `head`, which is
    /// written as for [`super::insert_values!`]: `"INSERT INTO t (a, b) "`.
    pub fn prepare_insert(&self, head: &str) -> Result<Statement<'_>, SqliteCallError> {
        let columns = head
            .split_once('(')
            .and_then(|(_, rest)| rest.split_once(')'))
            .map(|(list, _)| list.split(',').count())
            .ok_or_else(SqliteCallError::misuse)?;
        let placeholders = vec!["?"; columns].join(", ");
        self.prepare(&format!("{head}VALUES ({placeholders})"))
    }

    /// Runs one statement that takes no parameters and returns no rows (`BEGIN`, `COMMIT`).
    pub fn execute(&self, sql: &str) -> Result<(), SqliteCallError> {
        self.prepare(sql)?.execute(&[])
    }

    /// Whether a transaction is open (after a failed `ROLLBACK`, the connection is unfit for
    /// reuse).
    pub fn in_transaction(&self) -> bool {
        // SAFETY: a live connection used by this thread only.
        unsafe { ffi::sqlite3_get_autocommit(self.db.as_ptr()) == 0 }
    }

    /// The connection's last error.
    fn error(&self) -> SqliteCallError {
        // SAFETY: both return values owned by the connection; the message is NUL-terminated
        // and copied here before anything else runs on the connection.
        unsafe {
            SqliteCallError {
                code: ffi::sqlite3_extended_errcode(self.db.as_ptr()),
                message: CStr::from_ptr(ffi::sqlite3_errmsg(self.db.as_ptr()))
                    .to_string_lossy()
                    .into_owned(),
            }
        }
    }
}

/// A prepared statement; finalised when dropped.
pub(crate) struct Statement<'c> {
    stmt: NonNull<ffi::sqlite3_stmt>,
    connection: &'c Direct<'c>,
}

impl Statement<'_> {
    /// Binds `params` (placeholders in order), runs the statement to its end, and resets it
    /// for the next call.
    pub fn execute(&mut self, params: &[&dyn Param]) -> Result<(), SqliteCallError> {
        self.bind(params)?;
        loop {
            match self.step_raw() {
                ffi::SQLITE_ROW => continue,
                ffi::SQLITE_DONE => break,
                _ => return Err(self.reset_after_error()),
            }
        }
        self.reset();
        Ok(())
    }

    /// Binds `params` for a read from its first row: step with [`Statement::next_row`].
    pub fn query(&mut self, params: &[&dyn Param]) -> Result<(), SqliteCallError> {
        // A statement stepped before must be reset before it can be bound again.
        self.reset();
        self.bind(params)
    }

    /// Steps to the next row; `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<Row<'_>>, SqliteCallError> {
        match self.step_raw() {
            ffi::SQLITE_ROW => Ok(Some(Row {
                stmt: self.stmt,
                _step: PhantomData,
            })),
            ffi::SQLITE_DONE => Ok(None),
            _ => Err(self.reset_after_error()),
        }
    }

    fn bind(&mut self, params: &[&dyn Param]) -> Result<(), SqliteCallError> {
        // SAFETY: a live statement of this thread's connection.
        let expected = unsafe { ffi::sqlite3_bind_parameter_count(self.stmt.as_ptr()) };
        if usize::try_from(expected).ok() != Some(params.len()) {
            return Err(SqliteCallError::misuse());
        }
        for (index, param) in (1..).zip(params) {
            let code = param.bind(Binding {
                stmt: self.stmt,
                index,
            });
            if code != ffi::SQLITE_OK {
                return Err(self.connection.error());
            }
        }
        Ok(())
    }

    fn step_raw(&mut self) -> c_int {
        // SAFETY: a live statement of this thread's connection.
        unsafe { ffi::sqlite3_step(self.stmt.as_ptr()) }
    }

    fn reset(&mut self) {
        // SAFETY: as in `step_raw`. The result repeats the last step's, already handled.
        unsafe { ffi::sqlite3_reset(self.stmt.as_ptr()) };
    }

    /// The error of the failed step, read before the reset that readies the statement again.
    fn reset_after_error(&mut self) -> SqliteCallError {
        let error = self.connection.error();
        self.reset();
        error
    }
}

impl Drop for Statement<'_> {
    fn drop(&mut self) {
        // SAFETY: prepared by `Direct::prepare` and finalised exactly once, here.
        unsafe { ffi::sqlite3_finalize(self.stmt.as_ptr()) };
    }
}

/// Where one parameter is bound.
pub(crate) struct Binding {
    stmt: NonNull<ffi::sqlite3_stmt>,
    index: c_int,
}

impl Binding {
    fn text(&self, value: &str) -> c_int {
        let Ok(length) = c_int::try_from(value.len()) else {
            return ffi::SQLITE_TOOBIG;
        };
        // SAFETY: a live statement and a parameter index checked against its count;
        // SQLITE_TRANSIENT makes SQLite copy the bytes, so `value` need not outlive the call.
        unsafe {
            ffi::sqlite3_bind_text(
                self.stmt.as_ptr(),
                self.index,
                value.as_ptr().cast(),
                length,
                ffi::SQLITE_TRANSIENT(),
            )
        }
    }
}

/// A value bound to a placeholder, stored as sqlx stores it (so either can read it back).
pub(crate) trait Param {
    fn bind(&self, to: Binding) -> c_int;
}

impl Param for str {
    fn bind(&self, to: Binding) -> c_int {
        to.text(self)
    }
}

impl<T: Param + ?Sized> Param for &T {
    fn bind(&self, to: Binding) -> c_int {
        (**self).bind(to)
    }
}

impl Param for String {
    fn bind(&self, to: Binding) -> c_int {
        to.text(self)
    }
}

impl Param for i64 {
    fn bind(&self, to: Binding) -> c_int {
        // SAFETY: as in `Binding::text`.
        unsafe { ffi::sqlite3_bind_int64(to.stmt.as_ptr(), to.index, *self) }
    }
}

impl Param for DateTime<Utc> {
    fn bind(&self, to: Binding) -> c_int {
        // sqlx's encoding of the same type.
        to.text(&self.to_rfc3339_opts(SecondsFormat::AutoSi, false))
    }
}

impl Param for chrono::NaiveDate {
    fn bind(&self, to: Binding) -> c_int {
        // sqlx's encoding of the same type.
        to.text(&self.format("%F").to_string())
    }
}

impl<T: Param> Param for Option<T> {
    fn bind(&self, to: Binding) -> c_int {
        match self {
            Some(value) => value.bind(to),
            // SAFETY: as in `Binding::text`.
            None => unsafe { ffi::sqlite3_bind_null(to.stmt.as_ptr(), to.index) },
        }
    }
}

/// The current row of a statement being stepped; valid until the next step.
pub(crate) struct Row<'s> {
    stmt: NonNull<ffi::sqlite3_stmt>,
    _step: PhantomData<&'s mut ()>,
}

impl Row<'_> {
    fn storage_class(&self, i: c_int) -> c_int {
        // SAFETY: a live statement positioned on a row (`Row` borrows the step that found it);
        // an index beyond its width answers NULL.
        unsafe { ffi::sqlite3_column_type(self.stmt.as_ptr(), i) }
    }

    /// A TEXT value that is UTF-8.
    pub fn text(&self, i: c_int) -> Option<&str> {
        if self.storage_class(i) != ffi::SQLITE_TEXT {
            return None;
        }
        // SAFETY: as above; for a TEXT value, `sqlite3_column_text` returns its bytes and
        // `sqlite3_column_bytes` (called after it, as SQLite requires) their length. They stay
        // valid until the next step, which cannot happen while this `Row` is borrowed.
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

    /// An INTEGER value.
    pub fn integer(&self, i: c_int) -> Option<i64> {
        if self.storage_class(i) != ffi::SQLITE_INTEGER {
            return None;
        }
        // SAFETY: as in `storage_class`.
        Some(unsafe { ffi::sqlite3_column_int64(self.stmt.as_ptr(), i) })
    }

    pub fn is_null(&self, i: c_int) -> bool {
        self.storage_class(i) == ffi::SQLITE_NULL
    }
}

/// Runs `work` on this thread with a connection of `pool` locked for direct calls. A
/// transaction that `work` leaves open when it fails is rolled back, and a connection still
/// inside one after that is closed instead of going back to the pool (its next user would
/// start inside the failed transaction).
pub(crate) async fn with_locked<T, E: From<sqlx::Error>>(
    pool: &sqlx::SqlitePool,
    work: impl FnOnce(&Direct<'_>) -> Result<T, E>,
) -> Result<T, E> {
    let mut connection = pool.acquire().await?;
    let mut lock = connection.lock_handle().await?;
    let (done, left_open) = blocking(|| {
        let db = Direct::new(&mut lock);
        let done = work(&db);
        if done.is_err() && db.in_transaction() {
            // SQLite may have rolled back by itself (a full disk): nothing to report then.
            let _ = db.execute("ROLLBACK");
        }
        (done, db.in_transaction())
    });
    drop(lock);
    if left_open {
        connection.close_on_drop();
    }
    done
}

/// sqlx's `$N` placeholders as SQLite's `?N`: sqlx binds `$N` by its number, while
/// [`Statement`] binds in order of index, which for `$N` is the order of first appearance.
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let before_digit = chars.peek().is_some_and(char::is_ascii_digit);
        out.push(if c == '$' && before_digit { '?' } else { c });
    }
    out
}

/// Runs blocking SQLite work on this thread; on a multi-thread runtime the runtime is told,
/// so that its other tasks move to another worker meanwhile.
pub(crate) fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(work),
        _ => work(),
    }
}

/// An error SQLite returned to a direct call: its extended result code, as sqlx's own
/// `SqliteError` carries it, so that [`super::sqlite_result_code`] reads both alike.
#[derive(Debug)]
pub struct SqliteCallError {
    code: c_int,
    message: String,
}

impl SqliteCallError {
    /// A call this module should not have made (SQLITE_MISUSE).
    fn misuse() -> Self {
        SqliteCallError {
            code: ffi::SQLITE_MISUSE,
            message: "statement and parameters do not match".into(),
        }
    }
}

impl std::fmt::Display for SqliteCallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for SqliteCallError {}

impl DatabaseError for SqliteCallError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(self.code.to_string().into())
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        match self.code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                ErrorKind::UniqueViolation
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => ErrorKind::ForeignKeyViolation,
            ffi::SQLITE_CONSTRAINT_NOTNULL => ErrorKind::NotNullViolation,
            ffi::SQLITE_CONSTRAINT_CHECK => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Connection;
    use sqlx::sqlite::SqliteConnection;

    use super::*;

    #[test]
    fn numbered_placeholders_keep_their_numbers() {
        assert_eq!(
            numbered(
                "UPDATE t SET at = $2 WHERE id IN (SELECT value FROM json_each($1)) AND note <> '$.x'"
            ),
            "UPDATE t SET at = ?2 WHERE id IN (SELECT value FROM json_each(?1)) AND note <> '$.x'"
        );
    }

    async fn memory() -> SqliteConnection {
        let mut connection = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::query("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, at TEXT, note TEXT)")
            .execute(&mut connection)
            .await
            .unwrap();
        connection
    }

    #[tokio::test]
    async fn written_directly_reads_back_through_sqlx_alike() {
        let mut connection = memory().await;
        let at = chrono::Utc::now();
        {
            let mut lock = connection.lock_handle().await.unwrap();
            let db = Direct::new(&mut lock);
            let mut insert = db
                .prepare_insert("INSERT INTO t (id, n, at, note) ")
                .unwrap();
            insert.execute(&[&"a", &7_i64, &at, &Some("ü")]).unwrap();
            insert
                .execute(&[&"b", &-1_i64, &at, &None::<String>])
                .unwrap();
        }
        let rows: Vec<(String, i64, DateTime<Utc>, Option<String>)> =
            sqlx::query_as("SELECT id, n, at, note FROM t ORDER BY id")
                .fetch_all(&mut connection)
                .await
                .unwrap();
        assert_eq!(
            rows,
            [
                ("a".into(), 7, at, Some("ü".into())),
                ("b".into(), -1, at, None)
            ]
        );
    }

    #[tokio::test]
    async fn errors_keep_sqlites_result_code() {
        let mut connection = memory().await;
        let mut lock = connection.lock_handle().await.unwrap();
        let db = Direct::new(&mut lock);
        let mut insert = db.prepare("INSERT INTO t (id) VALUES (?)").unwrap();
        insert.execute(&[&"a"]).unwrap();
        // The statement is usable again after an error (it was reset).
        let duplicate = sqlx::Error::from(insert.execute(&[&"a"]).unwrap_err());
        let database = duplicate.as_database_error().unwrap();
        assert!(database.is_unique_violation(), "{duplicate}");
        assert_eq!(
            crate::store::sqlite_result_code(database),
            Some(ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
        );
        insert.execute(&[&"b"]).unwrap();
        // Too few or too many parameters are refused before anything is bound.
        assert_eq!(insert.execute(&[]).unwrap_err().code, ffi::SQLITE_MISUSE);
        assert_eq!(
            insert.execute(&[&"c", &"d"]).unwrap_err().code,
            ffi::SQLITE_MISUSE
        );
        let syntax = db.prepare("INSERT INTO nowhere").err().expect("refused");
        assert_eq!(syntax.code, ffi::SQLITE_ERROR);
        assert!(!crate::store::is_unavailable(&syntax.into()));
    }

    #[tokio::test]
    async fn a_transaction_left_open_is_seen() {
        let mut connection = memory().await;
        let mut lock = connection.lock_handle().await.unwrap();
        let db = Direct::new(&mut lock);
        assert!(!db.in_transaction());
        db.execute("BEGIN IMMEDIATE").unwrap();
        assert!(db.in_transaction());
        db.execute("ROLLBACK").unwrap();
        assert!(!db.in_transaction());
    }
}
