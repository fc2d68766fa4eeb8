//! `TestApp`: the real `consentd` binary, started on a random port with its own fresh
//! database (an SQLite file, or a PostgreSQL database created for the test).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the PostgreSQL server for tests is; each test creates its own database on it.
pub fn postgres_server() -> String {
    std::env::var("CONSENTD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

pub const BIN: &str = env!("CARGO_BIN_EXE_consentd");

/// The shipped demo policies.
pub fn shipped_policies() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")
}

/// A fresh database for one test; dropped (PostgreSQL) or deleted with the folder (SQLite).
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    pg_name: Option<String>,
}

impl TestDb {
    /// A fresh database whose files live in `dir` (SQLite) or in the PostgreSQL
    /// `tablespace` (when given).
    pub async fn create_in(backend: Backend, dir: &Path, tablespace: Option<&str>) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.join("consentd.db").display()),
                backend,
                pg_name: None,
            },
            Backend::Postgres => {
                let name = format!("consentd_test_{}", uuid::Uuid::new_v4().simple());
                let admin = format!("{}/postgres", postgres_server());
                let pool = sqlx::PgPool::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL must be reachable for the tests ({admin}): {e}")
                });
                let tablespace = tablespace
                    .map(|t| format!(" TABLESPACE {t}"))
                    .unwrap_or_default();
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "CREATE DATABASE {name}{tablespace}"
                )))
                .execute(&pool)
                .await
                .expect("create test database");
                pool.close().await;
                TestDb {
                    url: format!("{}/{name}", postgres_server()),
                    backend,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// Runs SQL behind the service's back, the way an attacker with database access would:
    /// foreign keys off.
    pub async fn tamper(&self, statements: &[&str]) {
        match self.backend {
            Backend::Sqlite => {
                use std::str::FromStr;
                let options = sqlx::sqlite::SqliteConnectOptions::from_str(&self.url)
                    .unwrap()
                    .foreign_keys(false)
                    .busy_timeout(Duration::from_secs(10));
                let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
                for s in statements {
                    sqlx::query(sqlx::AssertSqlSafe(*s))
                        .execute(&pool)
                        .await
                        .unwrap();
                }
                pool.close().await;
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
                let mut tx = pool.begin().await.unwrap();
                sqlx::query("SET LOCAL session_replication_role = replica")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                for s in statements {
                    sqlx::query(sqlx::AssertSqlSafe(*s))
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                }
                tx.commit().await.unwrap();
                pool.close().await;
            }
        }
    }

    /// A single value from the database.
    pub async fn scalar<T>(&self, sql: &str) -> T
    where
        T: Send
            + Unpin
            + sqlx::Type<sqlx::Sqlite>
            + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
            + sqlx::Type<sqlx::Postgres>
            + for<'r> sqlx::Decode<'r, sqlx::Postgres>,
    {
        macro_rules! fetch {
            ($pool:expr) => {{
                let pool = $pool;
                let v = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                pool.close().await;
                v
            }};
        }
        match self.backend {
            Backend::Sqlite => fetch!(sqlx::SqlitePool::connect(&self.url).await.unwrap()),
            Backend::Postgres => fetch!(sqlx::PgPool::connect(&self.url).await.unwrap()),
        }
    }

    /// On SQLite, `verify` reads its snapshot directly (`store::ledger::scanned_snapshot`),
    /// and what it reads is what sqlx reads row by row (`snapshot_by_rows`).
    pub async fn assert_snapshot_reads_agree(&self) {
        use consentd::store::ledger;
        let db = consentd::store::Db::connect_existing(&self.url)
            .await
            .unwrap();
        let by_rows = ledger::snapshot_by_rows(&db).await.unwrap();
        assert!(!by_rows.entries.is_empty());
        if self.backend == Backend::Sqlite {
            let direct = ledger::scanned_snapshot(&db)
                .await
                .unwrap()
                .expect("every value in the form the direct read takes");
            assert_eq!(format!("{direct:#?}"), format!("{by_rows:#?}"));
        }
        db.close().await;
    }

    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        self.scalar(sql).await
    }

    pub async fn scalar_string(&self, sql: &str) -> String {
        self.scalar(sql).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside any runtime guarantees: use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(pool) =
                    sqlx::PgPool::connect(&format!("{}/postgres", postgres_server())).await
                {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&pool)
                    .await;
                    pool.close().await;
                }
            });
        })
        .join();
    }
}

/// Options for starting the service.
#[derive(Default, Clone)]
pub struct Options {
    pub policies: Option<PathBuf>,
    /// CONSENTD_NOW for the process.
    pub now: Option<String>,
    pub rust_log: Option<String>,
    /// CONSENTD_RATE_LIMIT; tests run without limits unless they test them.
    pub rate_limit: Option<String>,
    /// CONSENTD_PUBLIC_URL.
    pub public_url: Option<String>,
    /// CONSENTD_RETENTION_INTERVAL (seconds); off unless given.
    pub retention_interval: Option<String>,
    /// Where the SQLite database, the deletion journal and the signing key live (default:
    /// the test's folder and its `data/`), e.g. a small tmpfs to fill up.
    pub data_dir: Option<PathBuf>,
    /// The PostgreSQL tablespace the test database is created in.
    pub pg_tablespace: Option<String>,
    /// CONSENTD_DB_TIMEOUT (seconds a statement may wait).
    pub db_timeout: Option<String>,
}

pub struct TestApp {
    pub address: String,
    pub db: TestDb,
    pub dir: tempfile::TempDir,
    pub options: Options,
    pub client: reqwest::Client,
    servers: Vec<Child>,
    log_files: Vec<PathBuf>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, Options::default()).await
    }

    /// The service with its clock stopped at `now` (RFC 3339).
    pub async fn spawn_at(backend: Backend, now: &str) -> TestApp {
        let options = Options {
            now: Some(now.into()),
            ..Default::default()
        };
        TestApp::spawn_with(backend, options).await
    }

    pub async fn spawn_with(backend: Backend, options: Options) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::create_in(
            backend,
            options.data_dir.as_deref().unwrap_or(dir.path()),
            options.pg_tablespace.as_deref(),
        )
        .await;
        let mut app = TestApp {
            address: String::new(),
            db,
            dir,
            options,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            servers: Vec::new(),
            log_files: Vec::new(),
        };
        app.address = app.start_server();
        app
    }

    /// The environment every process of this test runs with.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        // Relative defaults (the deletion journal under data/) land in this test's folder.
        cmd.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CONSENTD_DATABASE_URL", &self.db.url)
            .env(
                "CONSENTD_POLICIES",
                self.options
                    .policies
                    .clone()
                    .unwrap_or_else(shipped_policies),
            )
            .env(
                "RUST_LOG",
                self.options.rust_log.as_deref().unwrap_or("info"),
            )
            .env(
                "CONSENTD_RATE_LIMIT",
                self.options.rate_limit.as_deref().unwrap_or("off"),
            )
            // Retention runs are started explicitly by the tests that test them.
            .env(
                "CONSENTD_RETENTION_INTERVAL",
                self.options.retention_interval.as_deref().unwrap_or("off"),
            );
        if let Some(data) = &self.options.data_dir {
            cmd.env(
                "CONSENTD_DELETION_JOURNAL",
                data.join("deletion-journal.jsonl"),
            )
            .env("CONSENTD_SIGNING_KEY", data.join("signing-key.pem"));
        }
        if let Some(url) = &self.options.public_url {
            cmd.env("CONSENTD_PUBLIC_URL", url);
        }
        if let Some(now) = &self.options.now {
            cmd.env("CONSENTD_NOW", now);
        }
        if let Some(seconds) = &self.options.db_timeout {
            cmd.env("CONSENTD_DB_TIMEOUT", seconds);
        }
        cmd
    }

    /// Starts one more `consentd serve` on the same database; returns its base URL.
    pub fn start_server(&mut self) -> String {
        let n = self.servers.len();
        let out = self.dir.path().join(format!("server{n}.out"));
        let err = self.dir.path().join(format!("server{n}.err"));
        let child = self
            .command()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
            .spawn()
            .expect("start consentd");
        self.servers.push(child);
        self.log_files.push(out.clone());
        self.log_files.push(err.clone());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&out).unwrap_or_default();
            if let Some(addr) = text
                .lines()
                .find_map(|l| l.split("listening on ").nth(1))
                .map(|a| a.trim().to_owned())
            {
                return addr;
            }
            if let Some(status) = self.servers[n].try_wait().unwrap() {
                panic!(
                    "consentd exited ({status}) before listening:\n{}",
                    std::fs::read_to_string(&err).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "consentd did not start within 60 s"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// A real backup of the database: `VACUUM INTO` for SQLite, `pg_dump` for PostgreSQL.
    pub async fn backup(&self) -> PathBuf {
        let file = self
            .dir
            .path()
            .join(format!("backup-{}", self.backups_taken()));
        match self.db.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.db.url).await.unwrap();
                sqlx::query("VACUUM INTO $1")
                    .bind(file.display().to_string())
                    .execute(&pool)
                    .await
                    .unwrap();
                pool.close().await;
            }
            Backend::Postgres => {
                self.pg_dump(&[
                    "--format=custom".as_ref(),
                    "--file".as_ref(),
                    file.as_os_str(),
                ]);
            }
        }
        file
    }

    /// Every value in the database as text: SQLite's file after `VACUUM INTO` (free pages
    /// gone), PostgreSQL's plain `pg_dump`. For asserting that some data is gone everywhere.
    pub async fn dump_text(&self) -> String {
        match self.db.backend {
            Backend::Sqlite => {
                let file = self.backup().await;
                String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned()
            }
            Backend::Postgres => {
                let out = self.pg_dump(&["--format=plain".as_ref(), "--data-only".as_ref()]);
                String::from_utf8_lossy(&out).into_owned()
            }
        }
    }

    /// `pg_dump ARGS… URL` of this test's database; its standard output.
    fn pg_dump(&self, args: &[&std::ffi::OsStr]) -> Vec<u8> {
        let out = Command::new("pg_dump")
            .args(args)
            .arg(&self.db.url)
            .output()
            .expect("pg_dump (Debian package postgresql-client)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn backups_taken(&self) -> usize {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("backup-"))
            })
            .count()
    }

    /// Kills every server with SIGKILL (no shutdown, no flushing): a crash.
    pub fn kill_servers(&mut self) {
        for child in &mut self.servers {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM to every server (what systemd or Kubernetes send to stop a service).
    pub fn terminate_servers(&self) {
        for child in &self.servers {
            let status = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .expect("kill");
            assert!(status.success(), "SIGTERM could not be sent");
        }
    }

    /// Whether the first server process still runs.
    pub fn server_running(&mut self) -> bool {
        self.servers[0].try_wait().unwrap().is_none()
    }

    /// Waits up to `limit` for every server to exit; their exit statuses, `None` for one
    /// still running.
    pub fn wait_servers(&mut self, limit: Duration) -> Vec<Option<std::process::ExitStatus>> {
        let deadline = Instant::now() + limit;
        loop {
            let statuses: Vec<_> = self
                .servers
                .iter_mut()
                .map(|c| c.try_wait().unwrap())
                .collect();
            if statuses.iter().all(Option::is_some) || Instant::now() > deadline {
                return statuses;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the servers and puts `backup` back in place of the database.
    pub fn restore(&mut self, backup: &Path) {
        self.kill_servers();
        match self.db.backend {
            Backend::Sqlite => {
                let db = self.dir.path().join("consentd.db");
                for suffix in ["-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                }
                std::fs::copy(backup, &db).unwrap();
            }
            Backend::Postgres => {
                let out = Command::new("pg_restore")
                    .args([
                        "--clean",
                        "--if-exists",
                        "--single-transaction",
                        "--no-owner",
                        "--dbname",
                    ])
                    .arg(&self.db.url)
                    .arg(backup)
                    .output()
                    .expect("pg_restore (Debian package postgresql-client)");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }

    /// Runs a CLI command against this test's database and policies.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command().args(args).output().expect("run consentd")
    }

    /// Everything the server processes wrote so far (stdout and stderr).
    pub fn logs(&self) -> String {
        self.log_files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits (up to 10 s) until the servers' output contains `needle`; returns all output.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let logs = self.logs();
            if logs.contains(needle) || Instant::now() > deadline {
                return logs;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn add_workshop(&self, slug: &str, notice: &str) {
        let out = self.cli(&[
            "workshop",
            "add",
            "--slug",
            slug,
            "--title",
            "Autorisierungsworkshop Köln",
            "--starts",
            "2026-03-02",
            "--ends",
            "2026-03-03",
            "--notice",
            notice,
            "--kind",
            "authorisation",
            "--location",
            "Köln",
        ]);
        assert!(
            out.status.success(),
            "workshop add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.address))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// The participant's receipt behind `token`, from `GET /api/v1/receipts/{token}`.
    pub async fn receipt(&self, token: &str) -> Value {
        self.get(&format!("/api/v1/receipts/{token}"))
            .await
            .json()
            .await
            .unwrap()
    }

    /// The version in force of `notice` in `language`, from `GET /api/v1/notices`.
    pub async fn notice(&self, notice: &str, language: &str) -> Value {
        let all: Vec<Value> = self.get("/api/v1/notices").await.json().await.unwrap();
        all.into_iter()
            .find(|n| n["id"] == notice && n["language"] == language)
            .unwrap_or_else(|| panic!("notice {notice}/{language} not in force"))
    }

    /// A valid consent body for the workshop, as the registration site would send it.
    pub async fn consent_body(&self, workshop: &str, email: &str) -> Value {
        let n = self.notice(OM_NOTICE, "de").await;
        json!({
            "workshop": workshop,
            "notice": { "id": n["id"], "version": n["version"], "language": "de", "sha256": n["sha256"] },
            "subject": { "name": "Erika Beispiel", "email": email, "organisation": "Beispiel GmbH" },
            "purposes": { "durchfuehrung": true, "fotos": true, "newsletter": false }
        })
    }

    /// Posts a consent as `consent_body` describes it; the JSON answer.
    pub async fn record_consent(&self, workshop: &str, email: &str) -> Value {
        self.post_json(
            "/api/v1/consents",
            &self.consent_body(workshop, email).await,
        )
        .await
        .json()
        .await
        .unwrap()
    }

    /// Withdraws every purpose of the consent behind a receipt token, as its holder would.
    pub async fn withdraw_all(&self, token: &str) -> reqwest::Response {
        self.post_json(
            &format!("/api/v1/receipts/{token}/withdraw"),
            &json!({"all": true}),
        )
        .await
    }

    /// The number of ledger entries now (start-up itself writes some: imported approvals,
    /// audit events).
    pub fn ledger_length(&self) -> i64 {
        let out = self.cli(&["verify", "--json"]);
        let report: Value = serde_json::from_slice(&out.stdout).expect("verify --json");
        report["length"].as_i64().unwrap()
    }

    pub fn verify(&self) -> (bool, String) {
        self.verify_with(&[])
    }

    /// `consentd verify` with these arguments: whether it passed, and what it printed.
    pub fn verify_with(&self, args: &[&str]) -> (bool, String) {
        let out = self.cli(&[&["verify"], args].concat());
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        for child in &mut self.servers {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub const OM_NOTICE: &str = "om-workshop-teilnehmende";
pub const PASSWORD: &str = "Kiefernzapfen-Ostsee-Fahrrad-42";

/// A signed-in browser: the session cookie and the page's CSRF token.
#[derive(Clone, Debug)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl TestApp {
    /// `consentd user add EMAIL --role ROLE`, password on stdin.
    pub fn add_user(&self, email: &str, role: &str) {
        use std::io::Write;
        let mut child = self
            .command()
            .args(["user", "add", email, "--role", role])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{PASSWORD}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "user add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `consentd token create`; returns the token.
    pub fn create_token(&self, role: &str, name: &str) -> String {
        let out = self.cli(&["token", "create", "--role", role, "--name", name]);
        assert!(
            out.status.success(),
            "token create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Every consent that was acknowledged (its receipt token) is stored and readable.
    pub async fn assert_receipts_readable(&self, tokens: &[String]) {
        for token in tokens {
            let r = self.get(&format!("/api/v1/receipts/{token}")).await;
            assert_eq!(
                r.status(),
                reqwest::StatusCode::OK,
                "an acknowledged consent is missing"
            );
        }
    }

    /// `/metrics` as Prometheus scrapes it, with a new auditor token.
    pub async fn metrics(&self) -> String {
        let auditor = self.create_token("auditor", "prometheus");
        self.client
            .get(format!("{}/metrics", self.address))
            .bearer_auth(&auditor)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Posts the login form; returns the response.
    pub async fn login_response(&self, email: &str, password: &str) -> reqwest::Response {
        self.client
            .post(format!("{}/staff/login", self.address))
            .form(&[("email", email), ("password", password), ("next", "/staff")])
            .send()
            .await
            .unwrap()
    }

    /// Signs in and reads the CSRF token from the overview page.
    pub async fn login(&self, email: &str) -> Session {
        let response = self.login_response(email, PASSWORD).await;
        assert_eq!(response.status().as_u16(), 303, "login of {email}");
        let set_cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let page = self
            .client
            .get(format!("{}/staff", self.address))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = page
            .split("name=\"csrf-token\" content=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the staff page carries a CSRF token")
            .to_owned();
        Session { cookie, csrf }
    }
}

/// The value of the sample `name` (with its labels, if any, and a trailing space) in a
/// Prometheus text exposition.
pub fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && !l.starts_with('#'))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
}

/// Generates `sqlite::NAME` and `postgres::NAME` tests from `async fn NAME(Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() { super::$name($crate::helpers::Backend::Postgres).await }
            )*
        }
    };
}

/// The text of a PDF as `pdftotext` reads it, whitespace collapsed.
pub fn pdf_text(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("doc.pdf");
    std::fs::write(&file, bytes).unwrap();
    let out = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success(), "pdftotext could not read it");
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
