//! The consultant case from the minutes: reminders before the deadline (the third at 26
//! months), re-authorisation through an Erfahrungsaustausch restarting the clock, deletion of
//! the listing at 29 months, and a single notice for those already lapsed when they are added.
//! Letters go through a real SMTP server on loopback (aiosmtpd).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

struct SmtpServer {
    child: Child,
    url: String,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> SmtpServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = tempfile::tempdir().unwrap();
        let child = Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            // Python's Maildir creates new/cur/tmp only when the folder does not exist yet.
            .arg(maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd)");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start (pip install aiosmtpd)"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpServer {
            child,
            url: format!("smtp://127.0.0.1:{port}"),
            maildir,
        }
    }

    /// The messages received so far, as text.
    fn received(&self) -> Vec<String> {
        let new: PathBuf = self.maildir.path().join("mail/new");
        let mut out: Vec<String> = std::fs::read_dir(new)
            .map(|d| {
                d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn at(app: &TestApp, smtp: &SmtpServer, now: &str, args: &[&str]) -> std::process::Output {
    let out = app
        .command()
        .env("CONSENTD_NOW", now)
        .env("CONSENTD_SMTP_URL", &smtp.url)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?} at {now}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A retention run at `now`, then delivery a minute later (each process's simulated clock
/// starts at CONSENTD_NOW, so the later process must start later).
fn run(app: &TestApp, smtp: &SmtpServer, now: &str) -> Value {
    let out = at(app, smtp, now, &["retention", "run", "--json"]);
    let later = chrono::DateTime::parse_from_rfc3339(now).unwrap() + chrono::TimeDelta::minutes(1);
    at(app, smtp, &later.to_rfc3339(), &["outbox", "deliver"]);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn listed(app: &TestApp, smtp: &SmtpServer, now: &str) -> Vec<String> {
    let out = at(app, smtp, now, &["consultant", "list", "--format", "json"]);
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    list.iter()
        .map(|c| c["email"].as_str().unwrap().to_owned())
        .collect()
}

async fn consultant_timeline_end_to_end(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn_at(backend, "2025-01-20T10:00:00Z").await;
    let start = "2025-01-20T10:00:00Z";
    at(
        &app,
        &smtp,
        start,
        &[
            "consultant",
            "add",
            "--name",
            "Berta Beraterin",
            "--email",
            "berta@example.org",
            "--authorised-on",
            "2025-01-15",
        ],
    );
    at(
        &app,
        &smtp,
        start,
        &[
            "consultant",
            "add",
            "--name",
            "Erik Erneuert",
            "--email",
            "erik@example.org",
            "--authorised-on",
            "2025-01-15",
        ],
    );
    let dup = app
        .command()
        .env("CONSENTD_NOW", start)
        .args([
            "consultant",
            "add",
            "--name",
            "X",
            "--email",
            "berta@example.org",
            "--authorised-on",
            "2025-01-15",
        ])
        .output()
        .unwrap();
    assert!(!dup.status.success());

    // 23 months: nothing yet.
    run(&app, &smtp, "2026-12-20T10:00:00Z");
    assert!(smtp.received().is_empty());

    // 24 months: the first letter to both.
    let r = run(&app, &smtp, "2027-01-16T10:00:00Z");
    assert_eq!(r["reminders_queued"], 2, "{r}");
    let outbox =
        String::from_utf8(at(&app, &smtp, "2027-01-16T10:05:00Z", &["outbox", "list"]).stdout)
            .unwrap();
    assert_eq!(smtp.received().len(), 2, "{outbox}");
    assert!(
        smtp.received()
            .iter()
            .all(|m| m.contains("Erinnerung 1 von 3"))
    );

    // Erik attends an Erfahrungsaustausch on 1 February 2027: his clock restarts.
    at(
        &app,
        &smtp,
        "2027-01-20T10:00:00Z",
        &[
            "workshop",
            "add",
            "--slug",
            "exaus-2027-02",
            "--title",
            "Erfahrungsaustausch",
            "--starts",
            "2027-02-01",
            "--ends",
            "2027-02-01",
            "--notice",
            "stiftung-workshop-teilnehmende",
            "--kind",
            "erfahrungsaustausch",
        ],
    );
    at(
        &app,
        &smtp,
        "2027-02-02T10:00:00Z",
        &[
            "workshop",
            "attend",
            "exaus-2027-02",
            "--email",
            "erik@example.org",
        ],
    );

    // 25 and 26 months: Berta's second and third letters; running twice sends nothing twice.
    run(&app, &smtp, "2027-02-16T10:00:00Z");
    run(&app, &smtp, "2027-03-16T10:00:00Z");
    run(&app, &smtp, "2027-03-16T11:00:00Z");
    let berta: Vec<String> = smtp
        .received()
        .into_iter()
        .filter(|m| m.contains("berta@example.org"))
        .collect();
    assert_eq!(berta.len(), 3, "the third letter at 26 months, each once");
    assert!(
        berta
            .iter()
            .any(|m| m.contains("Erinnerung 3 von 3") && m.contains("15.06.2027"))
    );
    assert_eq!(
        smtp.received()
            .iter()
            .filter(|m| m.contains("erik@example.org"))
            .count(),
        1,
        "renewal cancels Erik's cycle"
    );

    // 28 months: still listed; 29 months: Berta's listing is deleted, Erik's stays.
    assert_eq!(listed(&app, &smtp, "2027-05-20T10:00:00Z").len(), 2);
    let r = run(&app, &smtp, "2027-06-16T10:00:00Z");
    assert!(
        r["due"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["category"] == "berater-listung" && d["executed"] == true)
    );
    assert_eq!(
        listed(&app, &smtp, "2027-06-16T10:00:00Z"),
        ["erik@example.org"]
    );

    // Added after the deadline had passed: one notice with three months, then deletion.
    at(
        &app,
        &smtp,
        "2027-06-20T10:00:00Z",
        &[
            "consultant",
            "add",
            "--name",
            "Lena Lange-Her",
            "--email",
            "lena@example.org",
            "--authorised-on",
            "2024-01-10",
        ],
    );
    run(&app, &smtp, "2027-06-20T10:00:00Z");
    run(&app, &smtp, "2027-07-20T10:00:00Z");
    let lena: Vec<String> = smtp
        .received()
        .into_iter()
        .filter(|m| m.contains("lena@example.org"))
        .collect();
    assert_eq!(lena.len(), 1, "exactly one notice");
    assert!(lena[0].contains("abgelaufen") && lena[0].contains("20.09.2027"));
    assert!(listed(&app, &smtp, "2027-09-19T10:00:00Z").contains(&"lena@example.org".to_owned()));
    run(&app, &smtp, "2027-09-20T10:00:00Z");
    assert!(!listed(&app, &smtp, "2027-09-20T10:00:00Z").contains(&"lena@example.org".to_owned()));

    // Every letter's state is visible; the log names no one; the ledger verifies.
    let outbox: Vec<Value> = serde_json::from_slice(
        &at(
            &app,
            &smtp,
            "2027-09-20T10:00:00Z",
            &["outbox", "list", "--format", "json"],
        )
        .stdout,
    )
    .unwrap();
    assert!(outbox.iter().any(|m| m["state"] == "sent"));
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM deletion_log WHERE category = 'berater-listung'")
            .await,
        2
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM deletion_log WHERE target LIKE '%@%'")
            .await,
        0
    );
    // A notice still undelivered when its listing goes (no `outbox deliver` in between) is
    // cancelled and loses address and text with it, instead of waiting for a delivery forever.
    let mia = [
        "consultant",
        "add",
        "--name",
        "Mia Mahnung",
        "--email",
        "mia@example.org",
        "--authorised-on",
        "2024-01-10",
    ];
    at(&app, &smtp, "2027-09-21T10:00:00Z", &mia);
    at(&app, &smtp, "2027-09-21T10:00:00Z", &["retention", "run"]);
    let with_mia = "SELECT COUNT(*) FROM outbox WHERE to_email = 'mia@example.org' OR body LIKE '%Mia%' OR lower(last_error) LIKE '%mia%'";
    assert_eq!(app.db.scalar_i64(with_mia).await, 1, "the notice waits");
    // A server's answer that quoted her address (as stored before deliveries took it out).
    app.db
        .tamper(&["UPDATE outbox SET last_error = '452 <MIA@example.org> busy' WHERE to_email = 'mia@example.org'"])
        .await;
    at(&app, &smtp, "2027-12-21T10:00:00Z", &["retention", "run"]);
    assert_eq!(
        app.db.scalar_i64(with_mia).await,
        0,
        "address and text gone"
    );
    assert_eq!(
        app.db
            .scalar_i64(
                "SELECT COUNT(*) FROM outbox WHERE state = 'cancelled' AND finished_at IS NOT NULL"
            )
            .await,
        1,
        "cancelled and finished, so the outbox's own rule removes it in time"
    );

    let (ok, out) = app.verify();
    assert!(ok, "{out}");
}

/// The same through the API: CSV import (all or nothing), one by one, attendance.
async fn consultants_through_the_api(backend: Backend) {
    let app = TestApp::spawn_at(backend, "2026-12-01T10:00:00Z").await;
    let admin = app.create_token("admin", "admin");
    let auditor = app.create_token("auditor", "auditor");
    let csv = |body: &str| {
        app.client
            .post(format!("{}/api/v1/consultants/import", app.address))
            .bearer_auth(&admin)
            .header("content-type", "text/csv")
            .body(body.to_owned())
            .send()
    };
    let bad = csv("name;email;authorised_on\nAnna Alt;anna@example.org;2025-03-01\nKaputt;keine-adresse;2025-03-01\n").await.unwrap();
    assert_eq!(bad.status(), 422);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["error"]["field"],
        "line 3"
    );
    let ok = csv("name;email;authorised_on\nAnna Alt;anna@example.org;2025-03-01\nBodo Bonn;bodo@example.org;15.01.2026\n").await.unwrap();
    assert_eq!(ok.json::<Value>().await.unwrap()["added"], 2);
    let again = csv("Anna Alt;anna@example.org;2025-03-01\n").await.unwrap();
    assert_eq!(
        again.json::<Value>().await.unwrap()["added"],
        0,
        "an import can be repeated"
    );
    // German Excel saves CSV in Windows-1252: "Dörte" arrives as D, 0xF6, rte.
    let excel = app
        .client
        .post(format!("{}/api/v1/consultants/import", app.address))
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body(b"D\xf6rte Dahl;doerte@example.org;2025-03-01\r\n".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(excel.json::<Value>().await.unwrap()["added"], 1);
    // On a connection of its own: the server closes it without reading the rest of the body,
    // and a pooled connection would fail the next request.
    let huge = reqwest::Client::new()
        .post(format!("{}/api/v1/consultants/import", app.address))
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body("x".repeat(200 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    assert_eq!(
        huge.json::<Value>().await.unwrap()["error"]["code"],
        "payload_too_large",
        "the API's JSON error"
    );
    let one = app.client.post(format!("{}/api/v1/consultants", app.address)).bearer_auth(&admin)
        .json(&serde_json::json!({"name": "Cora Cöln", "email": "cora@example.org", "authorised_on": "2026-11-30"})).send().await.unwrap();
    assert_eq!(one.status(), 201);
    let future = app.client.post(format!("{}/api/v1/consultants", app.address)).bearer_auth(&admin)
        .json(&serde_json::json!({"name": "X", "email": "x@example.org", "authorised_on": "2030-01-01"})).send().await.unwrap();
    assert_eq!(future.status(), 422);

    let w = app.client.post(format!("{}/api/v1/workshops", app.address)).bearer_auth(&admin)
        .json(&serde_json::json!({"slug": "exaus-2026-11", "title": "ERFA", "starts": "2026-11-20", "ends": "2026-11-20", "notice": "om-workshop-teilnehmende", "kind": "erfahrungsaustausch"}))
        .send().await.unwrap();
    assert_eq!(w.status(), 201);
    // A year typed short ("27-03-01" is the year 27) is refused, not stored.
    let typo = app.client.post(format!("{}/api/v1/workshops", app.address)).bearer_auth(&admin)
        .json(&serde_json::json!({"slug": "exaus-typo", "title": "ERFA", "starts": "27-03-01", "ends": "2027-03-01", "notice": "om-workshop-teilnehmende", "kind": "erfahrungsaustausch"}))
        .send().await.unwrap();
    assert_eq!(typo.status(), 422);
    let next = app.client.post(format!("{}/api/v1/workshops", app.address)).bearer_auth(&admin)
        .json(&serde_json::json!({"slug": "exaus-2027-03", "title": "ERFA", "starts": "2027-03-01", "ends": "2027-03-01", "notice": "om-workshop-teilnehmende", "kind": "erfahrungsaustausch"}))
        .send().await.unwrap();
    assert_eq!(next.status(), 201);
    let attend_at = |slug: &'static str, email: &str| {
        app.client
            .post(format!(
                "{}/api/v1/workshops/{slug}/attendance",
                app.address
            ))
            .bearer_auth(&admin)
            .json(&serde_json::json!({"email": email}))
            .send()
    };
    let attend = |email: &str| attend_at("exaus-2026-11", email);
    // Attendance is recorded once the workshop has begun, not ahead of it.
    let ahead = attend_at("exaus-2027-03", "anna@example.org")
        .await
        .unwrap();
    assert_eq!(ahead.status(), 422);
    assert_eq!(
        ahead.json::<Value>().await.unwrap()["error"]["field"],
        "workshop"
    );
    assert_eq!(attend("anna@example.org").await.unwrap().status(), 201);
    assert_eq!(
        attend("anna@example.org").await.unwrap().status(),
        200,
        "recorded once"
    );
    let list: Vec<Value> = app
        .client
        .get(format!("{}/api/v1/consultants", app.address))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let anna = list
        .iter()
        .find(|c| c["email"] == "anna@example.org")
        .unwrap();
    assert!(
        list.iter().any(|c| c["name"] == "Dörte Dahl"),
        "the Windows-1252 name read right"
    );
    assert_eq!(
        anna["last_authorised_on"], "2026-11-20",
        "the Erfahrungsaustausch re-authorised her"
    );
    assert_eq!(anna["listing_deleted_on"], "2029-04-20");
    let outbox = app
        .client
        .get(format!("{}/api/v1/outbox", app.address))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap();
    assert_eq!(outbox.status(), 200);
}

/// A hold on a consultant (scope `subject`, the consultant's id) keeps the listing past its
/// deadline until it is released.
async fn a_hold_on_a_consultant_keeps_the_listing(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn(backend).await;
    let now = "2026-11-27T10:00:00Z";
    at(
        &app,
        &smtp,
        now,
        &[
            "consultant",
            "add",
            "--name",
            "Hilde Halt",
            "--email",
            "hilde@example.org",
            "--authorised-on",
            "2023-01-10",
        ],
    );
    let out = at(
        &app,
        &smtp,
        now,
        &["consultant", "list", "--format", "json"],
    );
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let id = list[0]["id"].as_str().unwrap().to_owned();
    at(
        &app,
        &smtp,
        now,
        &[
            "retention",
            "hold",
            "--subject",
            &id,
            "--reason",
            "Streit um die Autorisierung",
        ],
    );
    // Past the grace period: held, so kept.
    let r = run(&app, &smtp, "2027-03-01T10:00:00Z");
    let held = r["due"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["category"] == "berater-listung")
        .unwrap_or_else(|| panic!("the listing is due: {r}"));
    assert_eq!(held["executed"], false, "{r}");
    let hold_id = held["held_by"]
        .as_str()
        .expect("held by the hold")
        .to_owned();
    assert_eq!(
        listed(&app, &smtp, "2027-03-01T10:00:00Z"),
        ["hilde@example.org"]
    );
    at(
        &app,
        &smtp,
        "2027-03-02T10:00:00Z",
        &["retention", "release", &hold_id],
    );
    run(&app, &smtp, "2027-03-03T10:00:00Z");
    assert!(listed(&app, &smtp, "2027-03-03T10:00:00Z").is_empty());
}

/// Letters go out in the consultant's language: English when given (CLI, CSV), else German.
async fn reminders_in_the_consultants_language(backend: Backend) {
    let smtp = SmtpServer::start();
    let app = TestApp::spawn(backend).await;
    let now = "2026-11-27T10:00:00Z";
    at(
        &app,
        &smtp,
        now,
        &[
            "consultant",
            "add",
            "--name",
            "Jane English",
            "--email",
            "jane@example.org",
            "--authorised-on",
            "2023-01-10",
            "--language",
            "en",
        ],
    );
    let csv = app.dir.path().join("consultants.csv");
    std::fs::write(
        &csv,
        "name;email;authorised_on;language\nDora Deutsch;dora@example.org;2023-01-10;\n",
    )
    .unwrap();
    at(
        &app,
        &smtp,
        now,
        &["consultant", "import", csv.to_str().unwrap()],
    );
    std::fs::write(&csv, "Xaver;x@example.org;2023-01-10;fr\n").unwrap();
    let bad = app
        .command()
        .env("CONSENTD_NOW", now)
        .args(["consultant", "import", csv.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("language must be de or en"));

    run(&app, &smtp, now);
    let mails = smtp.received();
    let jane = mails
        .iter()
        .find(|m| m.contains("jane@example.org"))
        .expect("a letter to Jane");
    assert!(
        jane.contains("Dear Jane English") && jane.contains("experience exchange"),
        "{jane}"
    );
    let dora = mails
        .iter()
        .find(|m| m.contains("dora@example.org"))
        .expect("a letter to Dora");
    assert!(dora.contains("Guten Tag Dora Deutsch"), "{dora}");
}

on_both_backends!(
    reminders_in_the_consultants_language,
    consultant_timeline_end_to_end,
    consultants_through_the_api,
    a_hold_on_a_consultant_keeps_the_listing
);
