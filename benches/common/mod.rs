//! What the benchmarks share: where their database lives, and reading their own memory.

pub mod consent_record_sample;

/// A database URL for one side of a benchmark: `<name>.db` in `dir`, or a fresh PostgreSQL
/// database `consentd_bench_<name>` on `CONSENTD_TEST_POSTGRES` (default the local server).
#[allow(dead_code)] // not every bench has a database
pub async fn database_url(postgres: bool, dir: &std::path::Path, name: &str) -> String {
    if !postgres {
        return format!("sqlite://{}/{name}.db", dir.display());
    }
    let server = std::env::var("CONSENTD_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned());
    let admin = sqlx::PgPool::connect(&format!("{server}/postgres"))
        .await
        .expect("PostgreSQL reachable");
    let database = format!("consentd_bench_{name}");
    for sql in [
        format!("DROP DATABASE IF EXISTS {database}"),
        format!("CREATE DATABASE {database}"),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .unwrap();
    }
    admin.close().await;
    format!("{server}/{database}")
}

/// Bytes this process has caused to be written to storage so far (`write_bytes` of
/// `/proc/self/io`), in MB; 0 if unknown. SQLite writes from the process itself, so its WAL
/// and checkpoints count; PostgreSQL's writes are its server's and do not.
#[allow(dead_code)] // only the sweep reads it
pub fn written_mb() -> f64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    io.lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0.0, |bytes| bytes / 1e6)
}

/// A field of `/proc/self/status` in MB (`VmHWM:` peak, `VmRSS:` current); 0 if unknown.
#[allow(dead_code)] // not every bench reads its own memory
pub fn status_mb(field: &str) -> f64 {
    status_file_mb("/proc/self/status", field)
}

/// The same field of another process.
#[allow(dead_code)]
pub fn process_status_mb(pid: u32, field: &str) -> f64 {
    status_file_mb(&format!("/proc/{pid}/status"), field)
}

/// CPU time (user + system) the process has used so far, in seconds.
#[allow(dead_code)] // only the load bench reads another process's CPU time
pub fn process_cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // SAFETY: sysconf only reads a constant of the system.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(11) + ticks(12)) / per_second
}

fn status_file_mb(path: &str, field: &str) -> f64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// Records `n` consents for the demo workshop through the service (as `POST /api/v1/consents`
/// does), 1,000 at a time concurrently so that they are group-committed; each has its own
/// name and address.
#[allow(dead_code)]
pub async fn seed_consents(app: &consentd::app::App, n: usize) {
    use consentd::domain::consent::CollectionMethod;
    use consentd::domain::notice::Language;
    use consentd::http::extract::ClientInfo;
    use consentd::http::submission::{ConsentInput, record_consent};

    let catalog = app.catalog().await.unwrap();
    let notice = catalog.notice("om-workshop-teilnehmende").unwrap();
    let version = notice.in_force(app.clock.today_berlin()).unwrap();
    let text = version.content.text_for(Language::De);
    let started = std::time::Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let consents = chunk.iter().map(|i| {
            let input: ConsentInput = serde_json::from_value(serde_json::json!({
                "workshop": "demo-autorisierung-koeln",
                "notice": {"id": notice.id, "version": version.content.version, "language": "de", "sha256": text.sha256},
                "subject": {"name": format!("Person {i}"), "email": format!("p{i}@example.org"), "organisation": "Beispiel GmbH"},
                "purposes": {"durchfuehrung": true, "fotos": i % 2 == 0, "newsletter": i % 3 == 0},
            }))
            .unwrap();
            let client = ClientInfo {
                ip_truncated: Some("192.0.2.0".into()),
                user_agent: Some("Mozilla/5.0 (bench)".into()),
                language: Language::De,
            };
            record_consent(app, input, CollectionMethod::Api, client, None)
        });
        for result in futures::future::join_all(consents).await {
            result.unwrap();
        }
    }
    eprintln!(
        "seeded {n} consents in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The service opened on one side's database (`name`: its database, journal and key file in
/// `dir`), with the demo policies and links under `https://consentd.example.org`.
#[allow(dead_code)]
pub async fn open_app(postgres: bool, dir: &std::path::Path, name: &str) -> consentd::app::App {
    let settings = consentd::config::Settings {
        database_url: database_url(postgres, dir, name).await,
        policies: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies"),
        public_url: Some("https://consentd.example.org".into()),
        smtp_url: None,
        mail_from: "x@example.org".into(),
        deletion_journal: dir.join(format!("{name}-journal.jsonl")),
        signing_key: dir.join(format!("{name}-signing-key.pem")),
        // The service's default unless set as for `consentd serve`.
        retention_page: std::env::var("CONSENTD_RETENTION_PAGE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000),
    };
    consentd::app::App::open(&settings).await.unwrap()
}
