//! The only place with SQL. One code path for SQLite and PostgreSQL: each query is written
//! once inside [`with_db!`], which expands it for both pool types (sqlx's `Any` driver cannot
//! carry booleans or timestamps). Placeholders are `$1`, which both drivers understand.

pub mod audit;
pub(crate) mod bulk;
pub mod consents;
pub mod consultants;
pub mod group_commit;
pub mod ledger;
pub mod notice_texts;
pub mod notice_versions;
pub mod personal_data;
pub mod retention;
pub mod sessions;
pub mod signing_keys;
mod sqlite_direct;
mod sqlite_scan;
pub mod subjects;
pub mod tokens;
pub mod users;
pub mod workshops;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

/// Runs `$body` with `$pool` bound to the concrete pool, for either backend.
macro_rules! with_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_db;

/// The few statements that must differ per backend (set-based statements pass their key sets
/// as one JSON array, which SQLite reads with `json_each` and PostgreSQL with
/// `jsonb_array_elements`).
pub(crate) trait Dialect: sqlx::Database {
    const IS_SQLITE: bool;
}

impl Dialect for sqlx::Sqlite {
    const IS_SQLITE: bool = true;
}

impl Dialect for sqlx::Postgres {
    const IS_SQLITE: bool = false;
}

/// Bound values per statement: SQLite's limit (PostgreSQL allows 65,535).
pub(crate) const MAX_BIND_PARAMETERS: usize = 32_766;

/// Appends `$rows` with multi-row `INSERT … VALUES` of bound values, as few statements as the
/// bind limit allows: `insert_values!(tx, "INSERT INTO t (a, b) ", 2, rows, |b, row| { b.push_bind(..); })`.
/// Bound values are read as they are, where a JSON array would be parsed again per column.
macro_rules! insert_values {
    ($tx:expr, $head:expr, $columns:expr, $rows:expr, |$b:ident, $row:ident| $bind:block) => {{
        for chunk in $rows.chunks($crate::store::MAX_BIND_PARAMETERS / $columns) {
            let mut query = sqlx::QueryBuilder::new($head);
            query.push_values(chunk, |mut $b, $row| $bind);
            // Not kept prepared: a statement of thousands of rows would hold its memory in
            // every connection's cache; parsing it again costs little beside its inserts.
            query.build().persistent(false).execute(&mut *$tx).await?;
        }
    }};
}
pub(crate) use insert_values;

/// One statement in its two spellings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DialectSql {
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

impl DialectSql {
    /// A statement both backends spell alike.
    pub const fn same(sql: &'static str) -> Self {
        DialectSql {
            sqlite: sql,
            postgres: sql,
        }
    }

    /// The spelling for the pool's backend (use inside [`with_db!`]).
    pub fn for_pool<DB: Dialect>(&self, _pool: &sqlx::Pool<DB>) -> &'static str {
        if DB::IS_SQLITE {
            self.sqlite
        } else {
            self.postgres
        }
    }
}

/// A statement over a set of keys: `$1` is a JSON array of strings. The key set is spliced
/// between the two halves: `keyed!("DELETE FROM t WHERE id IN ", " RETURNING id")`.
macro_rules! keyed {
    ($before:expr, $after:expr) => {
        $crate::store::DialectSql {
            sqlite: concat!($before, "(SELECT value FROM json_each($1))", $after),
            postgres: concat!(
                $before,
                "(SELECT jsonb_array_elements_text($1::text::jsonb))",
                $after
            ),
        }
    };
}
pub(crate) use keyed;

/// Migrations applied in the database and known to this build.
pub struct Readiness {
    pub applied: usize,
    pub known: usize,
}

/// How long a request waits for a connection. Under a burst on a busy machine the wait can
/// be long: 10 s turned acknowledged-load tests into 503s when two test runs shared two
/// cores. A database that refuses or drops connections is answered 503 at once anyway.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Connects (creating the SQLite file and its folder if needed) without migrating.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        Self::open(url, true).await
    }

    /// Connects to a database that must exist already (commands that only read).
    pub async fn connect_existing(url: &str) -> anyhow::Result<Db> {
        Self::open(url, false).await
    }

    async fn open(url: &str, create: bool) -> anyhow::Result<Db> {
        let wait = crate::config::database_wait()?;
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("invalid SQLite URL {}", redact_url(url)))?
                .create_if_missing(create)
                // A 2xx means committed to disk: WAL with a full fsync on every commit.
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                // Statement journals (a multi-row INSERT that may fail halfway keeps one) and
                // temporary tables in memory, not in temporary files.
                .pragma("temp_store", "memory")
                // Erased values are overwritten with zeros in the file, not merely unlinked
                // (left as they were, a copy of the file would still hold them; see
                // `empty_write_ahead_log` for the log's copies).
                .pragma("secure_delete", "on")
                // Another writer holding the lock longer than this: 503, not a hung request.
                .busy_timeout(wait)
                // Rows come from the connection's worker thread through a channel; with room
                // for more than the default 50, the worker stalls less often on a large read
                // (verify's snapshot: 7 % faster in an A/B run; see benches/NOTES.md).
                .row_buffer_size(1024);
            if let Some(parent) = options.get_filename().parent().filter(|_| create) {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent).with_context(|| {
                        format!("cannot create the database folder {}", parent.display())
                    })?;
                }
            }
            let pool = sqlite_pool(8)
                .connect_with(options)
                .await
                .with_context(|| format!("cannot open SQLite database {}", redact_url(url)))?;
            Ok(Db::Sqlite(pool))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(url)
                .with_context(|| format!("invalid PostgreSQL URL {}", redact_url(url)))?
                // A statement that waits longer (for a lock, or on a server that accepted the
                // connection but does not answer) is cancelled: 503, not a hung request.
                .options([("statement_timeout", format!("{}ms", wait.as_millis()))]);
            let pool = postgres_pool(16)
                .connect_with(options)
                .await
                .with_context(|| format!("cannot connect to PostgreSQL at {}", redact_url(url)))?;
            Ok(Db::Postgres(pool))
        } else {
            anyhow::bail!(
                "unsupported database URL {}: use sqlite://PATH or postgres://…",
                redact_url(url)
            )
        }
    }

    /// A pool of its own with the same settings, for a task that must not wait behind
    /// requests for a connection (the consent writer). Connects lazily, on first use, on the
    /// runtime that uses it.
    pub fn dedicated(&self, connections: u32) -> Db {
        match self {
            Db::Sqlite(pool) => Db::Sqlite(
                sqlite_pool(connections).connect_lazy_with((*pool.connect_options()).clone()),
            ),
            Db::Postgres(pool) => Db::Postgres(
                postgres_pool(connections).connect_lazy_with((*pool.connect_options()).clone()),
            ),
        }
    }

    /// After personal data was erased or changed: SQLite's write-ahead log still holds the
    /// pages as they were before, until a checkpoint has copied the log into the database
    /// and emptied it. False when a reader or writer kept it from being emptied (callers
    /// warn; the next retention run tries again). PostgreSQL recycles its own log files and
    /// keeps dead row versions until `VACUUM` reuses their space (see the README).
    pub async fn empty_write_ahead_log(&self) -> sqlx::Result<bool> {
        let Db::Sqlite(pool) = self else {
            return Ok(true);
        };
        // While it waits for readers, the checkpoint holds off every writer: with the pool's
        // busy timeout, a long read (a `verify` of a large ledger) would stall consents for
        // up to that long. So it waits briefly and leaves a busy log to the next run.
        let mut connection = pool.acquire().await?;
        let timeout: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut *connection)
            .await?;
        let emptied = async {
            sqlx::query("PRAGMA busy_timeout = 50")
                .execute(&mut *connection)
                .await?;
            let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&mut *connection)
                .await?;
            // An integer SQLite itself gave: nothing to inject.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "PRAGMA busy_timeout = {timeout}"
            )))
            .execute(&mut *connection)
            .await?;
            Ok::<_, sqlx::Error>(busy == 0)
        }
        .await;
        if emptied.is_err() {
            // Its busy timeout may still be the short one: not for the next user.
            connection.close_on_drop();
        }
        emptied
    }

    /// Applies the migrations of this backend that have not run yet; returns how many ran.
    pub async fn migrate(&self) -> anyhow::Result<usize> {
        let before = self.applied_migrations().await.unwrap_or(0);
        match self {
            Db::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await,
        }
        .context("database migration failed")?;
        Ok(self.applied_migrations().await?.saturating_sub(before))
    }

    async fn applied_migrations(&self) -> anyhow::Result<usize> {
        let n: i64 = with_db!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await?
        });
        Ok(n as usize)
    }

    /// Whether the database answers, with the migrations applied and known to this build.
    pub async fn readiness(&self) -> anyhow::Result<Readiness> {
        let known = match self {
            Db::Sqlite(_) => sqlx::migrate!("./migrations/sqlite").iter().count(),
            Db::Postgres(_) => sqlx::migrate!("./migrations/postgres").iter().count(),
        };
        Ok(Readiness {
            applied: self.applied_migrations().await?,
            known,
        })
    }

    /// An online backup of a SQLite database into a new file (`VACUUM INTO`: consistent,
    /// compacted, while the service runs). PostgreSQL is backed up with `pg_dump`.
    pub async fn vacuum_into(&self, file: &std::path::Path) -> anyhow::Result<()> {
        let Db::Sqlite(pool) = self else {
            anyhow::bail!("VACUUM INTO is SQLite's; back up PostgreSQL with pg_dump");
        };
        sqlx::query("VACUUM INTO $1")
            .bind(file.display().to_string())
            .execute(pool)
            .await
            .with_context(|| format!("cannot write the backup {}", file.display()))?;
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "SQLite",
            Db::Postgres(_) => "PostgreSQL",
        }
    }

    pub async fn close(&self) {
        with_db!(self, pool => pool.close().await)
    }
}

/// The database cannot answer now: no connection to be had (down, unreachable, shutting
/// down, refusing connections, out of resources), or a statement waited too long for a lock
/// or an answer. Nothing was written; retrying later may succeed.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => {
            if let Some(code) = sqlite_result_code(db.as_ref()) {
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with any extended code.
                return matches!(code & 0xff, 5 | 6);
            }
            let code = db.code().unwrap_or_default();
            code.starts_with("08")
                // 53xxx insufficient resources (too many connections, out of memory, …)
                || code.starts_with("53")
                || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
                // statement_timeout (57014) and lock_timeout (55P03)
                || matches!(code.as_ref(), "57014" | "55P03")
                || (code == "55000" && db.message().contains("accepting connections"))
        }
        _ => false,
    }
}

/// SQLite's extended result code, from sqlx's driver or from a direct call; `None` for
/// PostgreSQL's errors.
pub fn sqlite_result_code(e: &dyn sqlx::error::DatabaseError) -> Option<i32> {
    let from_sqlite = e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        || e.try_downcast_ref::<sqlite_direct::SqliteCallError>()
            .is_some();
    from_sqlite.then(|| e.code()?.parse().ok()).flatten()
}

fn sqlite_pool(connections: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        // When the disk is full (or on an I/O error) SQLite may roll a transaction back by
        // itself; sqlx's ROLLBACK then fails and sqlx still counts the transaction as open, so
        // the next `begin` on that connection only opens a SAVEPOINT whose rollback leaves a
        // transaction open for good: a stale snapshot ("database is locked", code 517) for
        // every later write on it. Such a connection is closed instead of reused. (The pool's
        // ping on release has run the queued rollback.)
        .before_acquire(|conn, _| {
            Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
        })
}

fn postgres_pool(connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
}

/// The URL without its password (in the user part or as `?password=`), for messages.
pub fn redact_url(url: &str) -> String {
    // The user part first: a password may hold a `?` of its own.
    let url = redact_userinfo(url);
    let host_from = url.rfind('@').or_else(|| url.find("://")).unwrap_or(0);
    let Some(at) = url[host_from..].find('?').map(|i| host_from + i) else {
        return url;
    };
    let (base, query) = (&url[..at], &url[at + 1..]);
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.to_ascii_lowercase().contains("password") => {
                format!("{key}=***")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

fn redact_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or_default();
                if userinfo.contains(':') {
                    format!("{scheme}://{user}:***@{host}")
                } else {
                    format!("{scheme}://{user}@{host}")
                }
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// True when the error is a unique-constraint violation (e.g. a taken slug).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact_url("postgres://app:s3cret@db:5432/consentd"),
            "postgres://app:***@db:5432/consentd"
        );
        assert_eq!(
            super::redact_url("sqlite://data/consentd.db"),
            "sqlite://data/consentd.db"
        );
        assert_eq!(
            super::redact_url("postgres://app@db/consentd?sslmode=require&password=s3cret"),
            "postgres://app@db/consentd?sslmode=require&password=***"
        );
        assert_eq!(
            super::redact_url("postgres://app:pa?ss@db/consentd?sslmode=require"),
            "postgres://app:***@db/consentd?sslmode=require"
        );
    }
}
