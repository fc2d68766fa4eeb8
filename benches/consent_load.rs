//! HTTP load: consents per second and latency of `consentd serve` under concurrent clients,
//! side by side, in the same run, with a plain axum server that parses the same JSON into
//! the same `ConsentInput` and answers 201 without touching a database (the HTTP ceiling).
//!
//! Run: `cargo bench --bench consent_load -- [SECONDS] [CLIENTS] [sqlite|postgres|both]`
//! (defaults 10, 64, both). Each server is its own process, started from the release
//! binary; the load generator is this process, on the same machine, over loopback with one
//! keep-alive connection per client. Every consent has its own address. One second of
//! warm-up is not counted. Results go to stdout as a Markdown table; see BENCHMARKS.md.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde_json::{Value, json};

const WORKSHOP: &str = "demo-autorisierung-koeln";
const NOTICE: &str = "om-workshop-teilnehmende";

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--baseline-server") {
        return baseline_server();
    }
    let seconds: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(10);
    let clients: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let backends: &[&str] = match args.get(2).map(String::as_str) {
        Some("sqlite") => &["sqlite"],
        Some("postgres") => &["postgres"],
        _ => &["sqlite", "postgres"],
    };
    let runtime = consentd::jobs::runtime().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        println!("{clients} clients, {seconds} s measured after 1 s warm-up\n");
        println!(
            "| server | consents/s | p50 | p99 | p99.9 | max | errors | ratio to baseline | server CPU per consent | RSS idle | RSS peak |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|---|");
        let baseline = {
            let server = Server::start(
                Command::new(std::env::current_exe().unwrap()).arg("--baseline-server"),
            );
            let result = load(&server, clients, seconds).await;
            print_row("plain axum (parse JSON, 201)", &result, None, &server);
            result
        };
        let mut writers = Vec::new();
        for backend in backends {
            let url = common::database_url(*backend == "postgres", dir.path(), "consent_load").await;
            let server = Server::start(
                Command::new(env!("CARGO_BIN_EXE_consentd"))
                    .arg("serve")
                    .env("CONSENTD_DATABASE_URL", &url)
                    .env("CONSENTD_POLICIES", concat!(env!("CARGO_MANIFEST_DIR"), "/policies"))
                    .env("CONSENTD_SIGNING_KEY", dir.path().join("key.pem"))
                    .env("CONSENTD_DELETION_JOURNAL", dir.path().join("journal"))
                    .env("CONSENTD_RATE_LIMIT", "off")
                    .env("CONSENTD_LISTEN", "127.0.0.1:0")
                    .env("RUST_LOG", std::env::var("CONSENTD_BENCH_LOG").unwrap_or("warn".into())),
            );
            let result = load(&server, clients, seconds).await;
            let label = format!("consentd, {backend}");
            print_row(&label, &result, Some(&baseline), &server);
            drop(server);
            writers.push((backend, url));
        }
        // The writer's own ceiling, on the databases the load just filled: what the
        // group-commit writer does when requests cost nothing.
        println!(
            "\nThe writer alone, without HTTP: `store::consents::record_batch` called in this \
             process, one batch after another on a thread of its own (as in `serve`), {seconds} s each\n"
        );
        println!("| backend | consents per batch | consents/s | CPU per consent |");
        println!("|---|---|---|---|");
        for (backend, url) in writers {
            let db = consentd::store::Db::connect(&url).await.unwrap();
            let template = ConsentTemplate::read(&db).await;
            let mean = mean_batch(&db).await;
            for (size, label) in [
                (mean.round().max(1.0) as usize, format!("{mean:.1} (the load's mean)")),
                (clients, format!("{clients} (every client at once)")),
            ] {
                let (per_second, cpu) = writer_alone(&db, &template, size, seconds);
                println!("| {backend} | {label} | {per_second:.0} | {cpu:.0} µs |");
            }
            db.close().await;
        }
    });
}

/// An address in no particular order, as people's are: an index of addresses would take
/// each at a random place.
fn random_address() -> String {
    format!(
        "{}@example.org",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// The same code on either backend's pool.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            consentd::store::Db::Sqlite($pool) => $body,
            consentd::store::Db::Postgres($pool) => $body,
        }
    };
}

/// What every consent of the writer-alone run shares, read from a consent the load stored
/// and parsed once, so the timed loop only builds each consent's own address.
#[derive(Clone)]
struct ConsentTemplate {
    workshop_id: String,
    controller_id: String,
    notice_id: String,
    notice_version: u32,
    notice_language: String,
    notice_sha256: String,
    notice_content_sha256: String,
    name: consentd::domain::consent::SubjectName,
    organisation: Option<consentd::domain::consent::Organisation>,
    decisions: Vec<consentd::domain::consent::PurposeDecision>,
    catalog_generation: i64,
}

impl ConsentTemplate {
    async fn read(db: &consentd::store::Db) -> ConsentTemplate {
        use consentd::domain::consent::{Organisation, PurposeDecision, PurposeState, SubjectName};
        use consentd::domain::notice::LegalBasis;
        let record = "SELECT id, workshop_id, controller_id, notice_id, notice_version, \
                      notice_language, notice_sha256, notice_content_sha256 \
                      FROM consent_records ORDER BY ledger_seq DESC LIMIT 1";
        let events = "SELECT purpose_id, legal_basis, state FROM consent_events \
                      WHERE record_id = $1 ORDER BY purpose_id";
        let generation = "SELECT generation FROM notice_catalog_generation WHERE id = 1";
        type Record = (String, String, String, String, i64, String, String, String);
        let (r, events, catalog_generation): (Record, Vec<(String, String, String)>, i64) = on_pool!(db, pool => {
            let r: Record = sqlx::query_as(record).fetch_one(pool).await.unwrap();
            let e = sqlx::query_as(events).bind(&r.0).fetch_all(pool).await.unwrap();
            let g = sqlx::query_scalar(generation).fetch_one(pool).await.unwrap();
            (r, e, g)
        });
        ConsentTemplate {
            workshop_id: r.1,
            controller_id: r.2,
            notice_id: r.3,
            notice_version: r.4 as u32,
            notice_language: r.5,
            notice_sha256: r.6,
            notice_content_sha256: r.7,
            name: SubjectName::parse("Erika Beispiel").unwrap(),
            organisation: Organisation::parse(Some("Beispiel GmbH")).unwrap(),
            decisions: events
                .into_iter()
                .map(|(purpose_id, basis, state)| PurposeDecision {
                    purpose_id,
                    legal_basis: LegalBasis::parse(&basis).unwrap(),
                    state: PurposeState::parse(&state).unwrap(),
                })
                .collect(),
            catalog_generation,
        }
    }

    fn consent(&self) -> consentd::store::consents::NewConsent {
        use consentd::domain::consent::{CollectionMethod, EmailAddress, Subject};
        consentd::store::consents::NewConsent {
            workshop_id: self.workshop_id.clone(),
            controller_id: self.controller_id.clone(),
            notice_id: self.notice_id.clone(),
            notice_version: self.notice_version,
            notice_language: self.notice_language.clone(),
            notice_sha256: self.notice_sha256.clone(),
            notice_content_sha256: self.notice_content_sha256.clone(),
            subject: Subject {
                name: self.name.clone(),
                email: EmailAddress::parse(&random_address()).unwrap(),
                organisation: self.organisation.clone(),
            },
            decisions: self.decisions.clone(),
            method: CollectionMethod::Api,
            collector: None,
            renews_record_id: None,
            ip_truncated: Some("127.0.0.0".into()),
            user_agent: None,
            catalog_generation: self.catalog_generation,
        }
    }
}

/// Consents per commit in the load just run: a batch's entries share one time.
async fn mean_batch(db: &consentd::store::Db) -> f64 {
    let sql = "SELECT COUNT(*), COUNT(DISTINCT recorded_at) FROM ledger \
               WHERE kind = 'consent.recorded'";
    let (entries, commits): (i64, i64) =
        on_pool!(db, pool => sqlx::query_as(sql).fetch_one(pool).await.unwrap());
    entries as f64 / commits.max(1) as f64
}

/// Stores batches of `size` for `seconds` on a thread and runtime of their own, as `serve`'s
/// writer does; returns consents per second and this process's CPU time per consent.
fn writer_alone(
    db: &consentd::store::Db,
    template: &ConsentTemplate,
    size: usize,
    seconds: u64,
) -> (f64, f64) {
    let (db, template) = (db.dedicated(1), template.clone());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let clock = consentd::clock::Clock::system();
            let mut stored = 0usize;
            let mut written = consentd::store::consents::WrittenHead::default();
            let cpu_before = common::process_cpu_seconds(std::process::id());
            let started = Instant::now();
            let until = started + Duration::from_secs(seconds);
            while Instant::now() < until {
                let batch: Vec<_> = (0..size).map(|_| template.consent()).collect();
                let answers =
                    consentd::store::consents::record_batch(&db, &clock, &batch, &mut written)
                        .await
                        .expect("the writer stores the batch");
                assert!(
                    answers.iter().all(Result::is_ok),
                    "a consent found outdated"
                );
                stored += answers.len();
            }
            let elapsed = started.elapsed().as_secs_f64();
            let cpu = common::process_cpu_seconds(std::process::id()) - cpu_before;
            db.close().await;
            (stored as f64 / elapsed, cpu * 1e6 / stored as f64)
        })
    })
    .join()
    .unwrap()
}

/// A server process and the port it listens on.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts the command and waits for its "listening on http://HOST:PORT" line.
    fn start(command: &mut Command) -> Server {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("server starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("server printed its address")
                .expect("server output");
            if let Some(address) = line.split("listening on http://").nth(1) {
                let port = address.trim().rsplit(':').next().unwrap();
                break port.parse().expect("a port");
            }
        };
        // Keep draining its output so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, port }
    }

    fn memory_mb(&self, field: &str) -> f64 {
        common::process_status_mb(self.child.id(), field)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct LoadResult {
    requests: usize,
    errors: usize,
    seconds: f64,
    /// Latencies of the measured requests, sorted, in microseconds.
    latencies: Vec<u32>,
    rss_idle_mb: f64,
    /// CPU seconds the server used in the measured window.
    server_cpu_seconds: f64,
}

impl LoadResult {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    /// The server's CPU time per answered request: less noisy than throughput on a shared
    /// machine, and what a faster request path must lower.
    fn cpu_per_request(&self) -> String {
        if self.requests == 0 {
            return "–".into();
        }
        format!(
            "{:.0} µs",
            self.server_cpu_seconds * 1e6 / self.requests as f64
        )
    }

    fn percentile(&self, p: f64) -> String {
        if self.latencies.is_empty() {
            return "–".into();
        }
        let i = ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len());
        format!("{:.1} ms", f64::from(self.latencies[i - 1]) / 1000.0)
    }
}

fn print_row(label: &str, r: &LoadResult, baseline: Option<&LoadResult>, server: &Server) {
    let ratio = baseline.map_or("1".to_owned(), |b| {
        format!("{:.3}", r.per_second() / b.per_second())
    });
    println!(
        "| {label} | {:.0} | {} | {} | {} | {} | {} | {ratio} | {} | {:.1} MB | {:.1} MB |",
        r.per_second(),
        r.percentile(0.50),
        r.percentile(0.99),
        r.percentile(0.999),
        r.percentile(1.0),
        r.errors,
        r.cpu_per_request(),
        r.rss_idle_mb,
        server.memory_mb("VmHWM:"),
    );
}

/// Runs `clients` connections against the server for 1 s of warm-up plus `seconds`.
async fn load(server: &Server, clients: usize, seconds: u64) -> LoadResult {
    let rss_idle_mb = server.memory_mb("VmRSS:");
    let port = server.port;
    let notice = notice_in_force(port).await;
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(1);
    let until = measure_from + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let notice = notice.clone();
            tokio::spawn(async move { client_loop(port, notice, measure_from, until).await })
        })
        .collect();
    let pid = server.child.id();
    let server_cpu = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        let before = common::process_cpu_seconds(pid);
        tokio::time::sleep_until(until.into()).await;
        common::process_cpu_seconds(pid) - before
    });
    let mut result = LoadResult {
        requests: 0,
        errors: 0,
        seconds: seconds as f64,
        latencies: Vec::new(),
        rss_idle_mb,
        server_cpu_seconds: 0.0,
    };
    for task in tasks {
        let (latencies, errors) = task.await.unwrap();
        result.requests += latencies.len();
        result.errors += errors;
        result.latencies.extend(latencies);
    }
    result.latencies.sort_unstable();
    result.server_cpu_seconds = server_cpu.await.unwrap();
    result
}

async fn client_loop(
    port: u16,
    notice: Value,
    measure_from: Instant,
    until: Instant,
) -> (Vec<u32>, usize) {
    let mut sender = connect(port).await;
    let mut latencies = Vec::new();
    let mut errors = 0;
    for i in 0.. {
        let body = json!({
            "workshop": WORKSHOP,
            "notice": notice,
            "subject": {
                "name": "Erika Beispiel",
                "email": random_address(),
                "organisation": "Beispiel GmbH",
            },
            "purposes": { "durchfuehrung": true, "fotos": i % 2 == 0, "newsletter": false },
        });
        let request = hyper::Request::post("/api/v1/consents")
            .header("host", "127.0.0.1")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap();
        let sent = Instant::now();
        let status = match sender.send_request(request).await {
            Ok(response) => {
                let status = response.status();
                let _ = response.into_body().collect().await;
                status
            }
            Err(_) => {
                sender = connect(port).await;
                hyper::StatusCode::SERVICE_UNAVAILABLE
            }
        };
        let done = Instant::now();
        if done >= until {
            break;
        }
        if sent >= measure_from {
            if status == hyper::StatusCode::CREATED {
                latencies.push((done - sent).as_micros() as u32);
            } else {
                errors += 1;
            }
        }
    }
    (latencies, errors)
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(port: u16) -> Sender {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("server reachable");
    stream.set_nodelay(true).unwrap();
    let (sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(connection);
    sender
}

/// The notice reference the participant was shown (from the server's public list), checked
/// by one consent that must be stored.
async fn notice_in_force(port: u16) -> Value {
    let mut sender = connect(port).await;
    let response = sender
        .send_request(
            hyper::Request::get("/api/v1/notices")
                .header("host", "127.0.0.1")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    // The baseline server has no notices: any reference parses there.
    let notices: Vec<Value> = serde_json::from_slice(&body).unwrap_or_default();
    notices
        .into_iter()
        .find(|n| n["id"] == NOTICE && n["language"] == "de")
        .map(|n| json!({"id": n["id"], "version": n["version"], "language": "de", "sha256": n["sha256"]}))
        .unwrap_or_else(|| json!({"id": NOTICE, "version": 1, "language": "de", "sha256": "0".repeat(64)}))
}

/// The HTTP ceiling: same runtime, same framework, same JSON type, no database.
fn baseline_server() {
    use axum::{Json, Router, http::StatusCode, routing::post};
    use consentd::http::submission::ConsentInput;

    async fn create(Json(input): Json<ConsentInput>) -> (StatusCode, Json<Value>) {
        let receipt_id = uuid::Uuid::new_v4().to_string();
        (
            StatusCode::CREATED,
            Json(json!({ "receipt_id": receipt_id, "workshop": input.workshop })),
        )
    }

    consentd::jobs::runtime().unwrap().block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!(
            "baseline listening on http://{}",
            listener.local_addr().unwrap()
        );
        let app = Router::new().route("/api/v1/consents", post(create));
        axum::serve(listener, app).await.unwrap();
    });
}
