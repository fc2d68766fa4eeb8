//! Operations: liveness and readiness probes, `consentd backup` with a restore, a crash under
//! load, a full disk, and a graceful shutdown.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, OM_NOTICE, Options, TestApp, metric};
use crate::on_both_backends;

async fn probes_say_up_and_ready(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let consent = app.consent_body("koeln-2026", "ausfall@example.org").await;
    let live = app.get("/healthz").await;
    assert_eq!(live.status(), StatusCode::OK);
    assert_eq!(live.text().await.unwrap(), "ok");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert!(ready["migrations"].as_i64().unwrap() >= 9, "{ready}");

    if backend == Backend::Postgres {
        // The database goes away: not ready (503, a clear message), still alive; then back.
        let name = app.db.url.rsplit('/').next().unwrap().to_owned();
        let admin = sqlx::PgPool::connect(&app.db.url.replace(&format!("/{name}"), "/postgres"))
            .await
            .unwrap();
        for sql in [
            format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&admin)
                .await
                .unwrap();
        }
        let down = app.get("/readyz").await;
        assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = down.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unavailable");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("unreachable")
        );
        assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
        // A consent sent now is refused with 503 and a clear message, nothing half-written.
        let refused = app.post_json("/api/v1/consents", &consent).await;
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        let refused: Value = refused.json().await.unwrap();
        assert_eq!(refused["error"]["code"], "unavailable", "{refused}");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "ALTER DATABASE {name} ALLOW_CONNECTIONS true"
        )))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
        let mut recovered = false;
        for _ in 0..50 {
            if app.get("/readyz").await.status() == StatusCode::OK {
                recovered = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(recovered, "ready again once the database is back");
        let saved = app.post_json("/api/v1/consents", &consent).await;
        assert_eq!(
            saved.status(),
            StatusCode::CREATED,
            "the same consent succeeds afterwards"
        );
        assert!(app.verify().0);
    }
}

async fn backup_while_running_then_restore(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let before = app
        .post_json(
            "/api/v1/consents",
            &app.consent_body("koeln-2026", "vorher@example.org").await,
        )
        .await;
    assert_eq!(before.status(), StatusCode::CREATED);
    let file = app.dir.path().join("consentd.backup");
    let out = app.cli(&["backup", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("retention replay"));
    let again = app.cli(&["backup", file.to_str().unwrap()]);
    assert!(
        !again.status.success(),
        "an existing file is never overwritten"
    );

    let after = app
        .post_json(
            "/api/v1/consents",
            &app.consent_body("koeln-2026", "nachher@example.org").await,
        )
        .await;
    assert_eq!(after.status(), StatusCode::CREATED);
    app.restore(&file);
    let out = app.cli(&["retention", "replay"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count = |email: &str| format!("SELECT COUNT(*) FROM subjects WHERE email = '{email}'");
    assert_eq!(app.db.scalar_i64(&count("vorher@example.org")).await, 1);
    assert_eq!(app.db.scalar_i64(&count("nachher@example.org")).await, 0);
    let (ok, out) = app.verify();
    assert!(ok, "{out}");
}

async fn metrics_count_requests_and_consents_without_personal_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let created: Value = app.record_consent("koeln-2026", "metrik@example.org").await;
    let token = created["token"].as_str().unwrap().to_owned();
    app.withdraw_all(&token).await;
    assert_eq!(app.get("/metrics").await.status(), StatusCode::UNAUTHORIZED);
    let auditor = app.create_token("auditor", "prometheus");
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    let value = |name: &str| metric(&text, name);
    assert_eq!(value("consentd_consent_records "), 1.0);
    assert!(value("consentd_withdrawals ") >= 1.0);
    assert_eq!(value("consentd_ledger_length ") as i64, app.ledger_length());
    assert!(
        text.contains(
            r#"consentd_http_requests_total{method="POST",route="/api/v1/consents",status="201"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/api/v1/receipts/{token}/withdraw""#),
        "route templates only"
    );
    assert!(text.contains("consentd_http_request_duration_seconds_bucket"));
    assert!(!text.contains(&token) && !text.contains("metrik@example.org"));
}

/// The server is killed (SIGKILL) three times while eight clients post consents: after each
/// restart every consent that got a 201 is there, none twice, and the ledger verifies.
async fn killed_under_load_loses_no_acknowledged_consent(backend: Backend) {
    use std::sync::{Arc, Mutex};
    let mut app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let template = app.consent_body("koeln-2026", "x@example.org").await;
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut attempts = 0usize;
    for round in 0..3 {
        let address = app.address.clone();
        let mut clients = Vec::new();
        for c in 0..8 {
            let (address, acknowledged, template) =
                (address.clone(), acknowledged.clone(), template.clone());
            clients.push(tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut sent = 0usize;
                for i in 0.. {
                    let mut body = template.clone();
                    body["subject"]["email"] =
                        serde_json::json!(format!("k{round}-{c}-{i}@example.org"));
                    sent += 1;
                    match client
                        .post(format!("{address}/api/v1/consents"))
                        .json(&body)
                        .send()
                        .await
                    {
                        Ok(r) if r.status() == StatusCode::CREATED => {
                            let created: Value = r.json().await.unwrap_or_default();
                            if let Some(token) = created["token"].as_str() {
                                acknowledged.lock().unwrap().push(token.to_owned());
                            }
                        }
                        Ok(r) => panic!("unexpected {} before the crash", r.status()),
                        Err(_) => break, // the server is gone
                    }
                }
                sent
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        app.kill_servers();
        for client in clients {
            attempts += client.await.unwrap();
        }
        app.address = app.start_server();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 24,
        "load reached the server: {}",
        acknowledged.len()
    );
    app.assert_receipts_readable(&acknowledged).await;
    let stored = app
        .db
        .scalar_i64("SELECT COUNT(*) FROM consent_records")
        .await as usize;
    // At most the requests in flight at each kill may have committed without an answer.
    assert!(
        stored >= acknowledged.len() && stored <= acknowledged.len() + 3 * 8,
        "{stored} stored, {} acknowledged, {attempts} sent",
        acknowledged.len()
    );
    // Every request had its own address: a request stored twice would repeat one.
    let distinct = app
        .db
        .scalar_i64("SELECT COUNT(DISTINCT email) FROM subjects")
        .await as usize;
    assert_eq!(distinct, stored, "nothing duplicated");
    println!(
        "{} acknowledged, {stored} stored, {attempts} sent over 3 kills",
        acknowledged.len()
    );
    let (ok, out) = app.verify();
    assert!(ok, "{out}");
}

/// A tmpfs of a few megabytes mounted for one test; unmounted when dropped. Mounting needs
/// root: CI runs as root, so this fails rather than skips elsewhere.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            std::fs::metadata("/proc/self").unwrap().uid(),
            0,
            "the disk-full test mounts a tmpfs and must run as root (CI does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0755")])
            .arg("consentd-test")
            .arg(dir.path())
            .output()
            .expect("mount");
        assert!(
            out.status.success(),
            "mount -t tmpfs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file until the disk is full; returns its path and size.
    fn fill(&self) -> (PathBuf, u64) {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0xa5_u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(n) => size += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
        (path, size)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazily: a process that still holds a file there cannot keep the mount busy.
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

/// A PostgreSQL tablespace in a folder of the tmpfs (the server runs on this machine): the
/// test database's tables and indexes live there, so they fill up with it. The WAL stays on
/// the server's own disk. Dropped after the test database.
struct Tablespace {
    name: String,
}

impl Tablespace {
    async fn create(location: &Path) -> Tablespace {
        std::fs::create_dir(location).unwrap();
        let out = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(location)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the PostgreSQL server must run on this machine as user postgres: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let name = format!("consentd_full_{}", uuid::Uuid::new_v4().simple());
        let admin =
            sqlx::PgPool::connect(&format!("{}/postgres", crate::helpers::postgres_server()))
                .await
                .unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE TABLESPACE {name} LOCATION '{}'",
            location.display()
        )))
        .execute(&admin)
        .await
        .unwrap();
        admin.close().await;
        Tablespace { name }
    }
}

impl Drop for Tablespace {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(pool) = sqlx::PgPool::connect(&format!(
                    "{}/postgres",
                    crate::helpers::postgres_server()
                ))
                .await
                {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP TABLESPACE IF EXISTS {name}"
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

/// The database's disk fills up while the service runs (SQLite: database, deletion journal
/// and signing key on a 16 MB tmpfs; PostgreSQL: the test database in a tablespace on it and
/// the journal there too). Consents and an erasure get `503 storage_full` with the JSON error,
/// never a 500 and never a 201 for something not stored; once space is freed the same consent
/// is stored, the erasure goes through, the journal replays and the ledger verifies.
async fn disk_full_answers_503_and_recovers_when_space_is_back(backend: Backend) {
    let disk = Tmpfs::mount("16m");
    let tablespace = match backend {
        Backend::Postgres => Some(Tablespace::create(&disk.path().join("pg")).await),
        Backend::Sqlite => None,
    };
    let data = disk.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let app = TestApp::spawn_with(
        backend,
        Options {
            data_dir: Some(data.clone()),
            pg_tablespace: tablespace.as_ref().map(|t| t.name.clone()),
            ..Default::default()
        },
    )
    .await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let admin = app.create_token("admin", "dsb");
    let post = |email: String| {
        let app = &app;
        async move {
            let body = app.consent_body("koeln-2026", &email).await;
            let response = app.post_json("/api/v1/consents", &body).await;
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let erase = |subject: String| {
        let (app, admin) = (&app, &admin);
        async move {
            let response = app
                .client
                .delete(format!("{}/api/v1/subjects/{subject}", app.address))
                .bearer_auth(admin)
                .send()
                .await
                .unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let subject_of = |token: String| {
        let app = &app;
        async move {
            let receipt: Value = app.receipt(&token).await;
            receipt["subject"].clone()
        }
    };

    // Before: consents, and an erasure, so the deletion journal exists.
    let mut acknowledged = Vec::new();
    for email in [
        "vorher@example.org",
        "geloescht@example.org",
        "spaeter@example.org",
    ] {
        let (status, created) = post(email.to_owned()).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        acknowledged.push(created["token"].as_str().unwrap().to_owned());
    }
    let erased_id = subject_of(acknowledged[1].clone()).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, report) = erase(erased_id).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let later = subject_of(acknowledged[2].clone()).await;
    let later_id = later["id"].as_str().unwrap().to_owned();

    let (filler, size) = disk.fill();
    println!("disk filled with {size} bytes");
    // Until the disk is full for the database too (a few may still fit in free pages).
    let mut refused = 0;
    let mut last_refused = None;
    for i in 0..500 {
        let email = format!("voll-{i}@example.org");
        let (status, body) = post(email.clone()).await;
        match status {
            StatusCode::CREATED => acknowledged.push(body["token"].as_str().unwrap().to_owned()),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(body["error"]["code"], "storage_full", "{body}");
                assert_eq!(
                    body["error"]["message"],
                    "the database's disk is full; nothing was saved, try again later"
                );
                refused += 1;
                last_refused = Some(email);
                if refused == 3 {
                    break;
                }
            }
            other => panic!("consent on a full disk: {other} {body}"),
        }
    }
    assert_eq!(refused, 3, "the disk never became full for the database");
    // An erasure writes the deletion journal and the database: refused as well. On
    // PostgreSQL all it writes may still fit in pages the tablespace already holds (the
    // later events' table has a few rows since migration 0015): then it is done whole.
    let (status, body) = erase(later_id.clone()).await;
    let erased_while_full = backend == Backend::Postgres && status == StatusCode::OK;
    if !erased_while_full {
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["error"]["code"], "storage_full", "{body}");
    }
    assert_eq!(
        subject_of(acknowledged[2].clone()).await["erased"],
        erased_while_full,
        "erased whole or not at all"
    );
    // Reads still work.
    assert_eq!(app.get("/readyz").await.status(), StatusCode::OK);

    // Space is back: the same consent and the same erasure go through, no restart.
    std::fs::remove_file(&filler).unwrap();
    let (status, created) = post(last_refused.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    acknowledged.push(created["token"].as_str().unwrap().to_owned());
    if !erased_while_full {
        let (status, report) = erase(later_id).await;
        assert_eq!(status, StatusCode::OK, "{report}\n{}", app.logs());
    }

    // The journal holds whole lines only (a write cut short by the full disk was cut back),
    // so a replay reads it to the end.
    let journal = std::fs::read_to_string(data.join("deletion-journal.jsonl")).unwrap();
    assert!(journal.ends_with('\n'));
    for (n, line) in journal.lines().enumerate() {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "journal line {} is damaged",
            n + 1
        );
    }
    let out = app.cli(&["retention", "replay"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ok, out) = app.verify();
    assert!(ok, "{out}");
    app.assert_receipts_readable(&acknowledged).await;
    let stored = app
        .db
        .scalar_i64("SELECT COUNT(*) FROM consent_records")
        .await as usize;
    assert_eq!(
        stored,
        acknowledged.len(),
        "nothing stored that was refused"
    );
    let logs = app.logs();
    assert!(logs.contains("storage full"), "{logs}");
    assert!(
        !logs.contains("request failed"),
        "no internal error: {logs}"
    );
    for address in ["voll-", "vorher@", "geloescht@", "spaeter@"] {
        assert!(!logs.contains(address), "no addresses in the logs");
    }
    drop(app);
    drop(tablespace);
}

/// SIGTERM while requests are in flight: a consent whose body is still arriving, a ZIP export
/// being streamed, and eight clients posting consents in a loop. The listener closes at once
/// (new connections are refused while the process still finishes), every request in flight
/// gets its whole answer, the scheduled retention job stops, the process exits 0 within a
/// bounded time logging one shutdown line, and every consent that got a 201 is stored (and
/// none that did not).
async fn sigterm_finishes_requests_in_flight(backend: Backend) {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    let mut app = TestApp::spawn_with(
        backend,
        Options {
            // The scheduler runs (every second), and must stop cleanly too.
            retention_interval: Some("1".to_owned()),
            ..Default::default()
        },
    )
    .await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let template = app.consent_body("koeln-2026", "x@example.org").await;
    for i in 0..30 {
        let mut body = template.clone();
        body["subject"]["email"] = serde_json::json!(format!("vorab-{i}@example.org"));
        let r = app.post_json("/api/v1/consents", &body).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let auditor = app.create_token("auditor", "pruefung");
    let host = app.address.trim_start_matches("http://").to_owned();

    // 1. A consent whose body has only half arrived when the signal comes.
    let mut slow_body = template.clone();
    slow_body["subject"]["email"] = serde_json::json!("langsam@example.org");
    let slow_body = serde_json::to_vec(&slow_body).unwrap();
    let mut slow = std::net::TcpStream::connect(&host).unwrap();
    write!(
        slow,
        "POST /api/v1/consents HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        slow_body.len()
    )
    .unwrap();
    let half = slow_body.len() / 2;
    slow.write_all(&slow_body[..half]).unwrap();
    slow.flush().unwrap();

    // 2. The ZIP export, its first bytes received.
    let zip_response = app
        .client
        .get(format!(
            "{}/api/v1/workshops/koeln-2026/records.zip",
            app.address
        ))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(zip_response.status(), StatusCode::OK);
    let (zip_started_tx, zip_started) = tokio::sync::oneshot::channel();
    let zip = tokio::spawn(async move {
        let mut response = zip_response;
        let mut bytes = Vec::new();
        let mut started = Some(zip_started_tx);
        while let Some(chunk) = response
            .chunk()
            .await
            .expect("the ZIP is streamed to its end")
        {
            bytes.extend_from_slice(&chunk);
            if let Some(tx) = started.take() {
                let _ = tx.send(bytes.len());
            }
        }
        bytes
    });

    // 3. Eight clients posting consents until the server is gone.
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop_clients = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..8 {
        let (address, acknowledged, template, stop) = (
            app.address.clone(),
            acknowledged.clone(),
            template.clone(),
            stop_clients.clone(),
        );
        clients.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut answered = 0;
            for i in 0.. {
                let mut body = template.clone();
                body["subject"]["email"] = serde_json::json!(format!("last-{c}-{i}@example.org"));
                match client
                    .post(format!("{address}/api/v1/consents"))
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) => {
                        // A request the server took is answered in full.
                        assert_eq!(r.status(), StatusCode::CREATED);
                        let created: Value = r.json().await.expect("a whole answer");
                        acknowledged
                            .lock()
                            .unwrap()
                            .push(created["token"].as_str().unwrap().to_owned());
                        answered += 1;
                    }
                    // Refused, or the connection closed before the request was taken.
                    Err(_) if stop.load(std::sync::atomic::Ordering::SeqCst) => break,
                    Err(e) => panic!("before the signal: {e}"),
                }
            }
            answered
        }));
    }
    let zip_received_before = zip_started.await.unwrap();
    let warm_up = Instant::now() + Duration::from_secs(10);
    while acknowledged.lock().unwrap().len() < 16 && Instant::now() < warm_up {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    stop_clients.store(true, std::sync::atomic::Ordering::SeqCst);
    let signalled = Instant::now();
    app.terminate_servers();

    // New connections are refused soon after the signal, while the process still runs: the
    // half-sent consent keeps it busy.
    let mut refused = false;
    while signalled.elapsed() < Duration::from_secs(5) {
        if std::net::TcpStream::connect(&host).is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "the listener still accepts 5 s after SIGTERM");
    assert!(
        app.server_running(),
        "the server exited before the consent in flight was complete"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(app.server_running(), "waits for the consent in flight");

    // The rest of the body arrives: the consent is stored and answered in full.
    slow.write_all(&slow_body[half..]).unwrap();
    let mut answer = String::new();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    slow.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let (_, slow_json) = answer.split_once("\r\n\r\n").unwrap();
    let slow_created: Value = serde_json::from_str(slow_json).expect("a whole JSON answer");
    acknowledged
        .lock()
        .unwrap()
        .push(slow_created["token"].as_str().unwrap().to_owned());

    // The ZIP arrives complete and correct.
    let bytes = zip.await.unwrap();
    println!(
        "ZIP: {zip_received_before} of {} bytes received before the signal",
        bytes.len()
    );
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a whole ZIP");
    let mut files = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut content = Vec::new();
        file.read_to_end(&mut content).unwrap();
        files.insert(file.name().to_owned(), content);
    }
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let records = manifest["records"].as_u64().unwrap() as usize;
    assert!(records >= 30, "{manifest}");
    assert_eq!(files.len(), records * 2 + 2);
    let sums = String::from_utf8(files["SHA256SUMS"].clone()).unwrap();
    assert_eq!(sums.lines().count(), records * 2);
    for line in sums.lines() {
        use sha2::Digest;
        let (hash, name) = line.split_once("  ").unwrap();
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&files[name])),
            hash,
            "{name}"
        );
    }

    let mut answered = 0;
    for client in clients {
        answered += client.await.unwrap();
    }
    let statuses = app.wait_servers(Duration::from_secs(20));
    let status = statuses[0].expect("the server exits within 20 s of the last answer");
    println!(
        "exited {status} {:.1} s after SIGTERM; {answered} looping consents answered",
        signalled.elapsed().as_secs_f64()
    );
    assert!(status.success(), "exit status {status}\n{}", app.logs());
    let logs = app.logs();
    let shutdown_lines: Vec<&str> = logs.lines().filter(|l| l.contains("shut down")).collect();
    assert_eq!(shutdown_lines.len(), 1, "{logs}");
    for bad in ["WARN", "ERROR", "failed", "panicked"] {
        assert!(!logs.contains(bad), "{bad} in the logs:\n{logs}");
    }

    // Every 201 is stored, nothing else.
    let acknowledged = acknowledged.lock().unwrap().clone();
    let stored = app
        .db
        .scalar_i64("SELECT COUNT(*) FROM consent_records")
        .await as usize;
    assert_eq!(
        stored,
        30 + acknowledged.len(),
        "stored = answered with 201"
    );
    app.address = app.start_server();
    app.assert_receipts_readable(&acknowledged).await;
    let (ok, out) = app.verify();
    assert!(ok, "{out}");
}

/// A database that accepts the connection but does not answer — here: another client holds
/// the lock every consent needs — gets a 503 after CONSENTD_DB_TIMEOUT, not a hung request
/// or a 408; once the lock is gone the same consent is stored.
async fn a_database_that_does_not_answer_gets_503_then_recovers(backend: Backend) {
    let options = Options {
        db_timeout: Some("2".into()),
        ..Options::default()
    };
    let app = TestApp::spawn_with(backend, options).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let body = app.consent_body("koeln-2026", "wartet@example.org").await;

    let blocker = LockHolder::take(&app.db.url, backend).await;
    let started = Instant::now();
    let responses =
        futures::future::join_all((0..3).map(|_| app.post_json("/api/v1/consents", &body))).await;
    let waited = started.elapsed();
    for response in responses {
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "unavailable", "{error}");
    }
    assert!(
        waited < Duration::from_secs(15),
        "answered after {waited:?}: the wait limit is 2 s (and a batch is answered at once)"
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM consent_records")
            .await,
        0
    );

    blocker.release().await;
    let response = app.post_json("/api/v1/consents", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM consent_records")
            .await,
        1
    );
    let (ok, report) = app.verify();
    assert!(ok, "{report}");
}

/// Another client's open transaction holding the write lock (SQLite) or the ledger head
/// (PostgreSQL).
enum LockHolder {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl LockHolder {
    async fn take(url: &str, backend: Backend) -> LockHolder {
        use sqlx::Connection;
        match backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
                sqlx::query("BEGIN IMMEDIATE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                LockHolder::Sqlite(conn)
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                sqlx::query("BEGIN").execute(&mut conn).await.unwrap();
                sqlx::query("LOCK TABLE ledger_head IN ACCESS EXCLUSIVE MODE")
                    .execute(&mut conn)
                    .await
                    .unwrap();
                LockHolder::Postgres(conn)
            }
        }
    }

    async fn release(self) {
        match self {
            LockHolder::Sqlite(mut conn) => {
                sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
            }
            LockHolder::Postgres(mut conn) => {
                sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
            }
        }
    }
}

on_both_backends!(
    a_database_that_does_not_answer_gets_503_then_recovers,
    disk_full_answers_503_and_recovers_when_space_is_back,
    sigterm_finishes_requests_in_flight,
    killed_under_load_loses_no_acknowledged_consent,
    probes_say_up_and_ready,
    backup_while_running_then_restore,
    metrics_count_requests_and_consents_without_personal_data
);
