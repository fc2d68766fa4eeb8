//! Our own logs hold no names, e-mail addresses, IP addresses or tokens.

use serde_json::{Value, json};

use crate::helpers::{Backend, OM_NOTICE, Options, TestApp};
use crate::on_both_backends;

async fn logs_contain_no_personal_data_or_tokens(backend: Backend) {
    // Debug level: even verbose logs must stay clean.
    let app = TestApp::spawn_with(
        backend,
        Options {
            rust_log: Some("debug".into()),
            ..Default::default()
        },
    )
    .await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let mut body = app
        .consent_body("koeln-2026", "geheim.person@example.org")
        .await;
    body["subject"]["name"] = json!("Xaver Unverwechselbar");
    body["subject"]["organisation"] = json!("Firma Einzigartig");
    let created: Value = app
        .post_json("/api/v1/consents", &body)
        .await
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    app.get(&format!("/r/{token}")).await;
    app.get(&format!("/api/v1/receipts/{token}")).await;
    app.withdraw_all(&token).await;
    app.client
        .post(format!("{}/r/{token}/withdraw", app.address))
        .form(&[("all", "yes")])
        .send()
        .await
        .unwrap();
    // Documents and data-subject rights: find, export, PDF, erasure.
    app.get(&format!("/r/{token}/pdf")).await;
    app.get(&format!("/r/{token}/export?format=json")).await;
    let admin = app.create_token("admin", "dsb");
    let staff_get = |path: String| {
        app.client
            .get(format!("{}{path}", app.address))
            .bearer_auth(&admin)
            .send()
    };
    let found: Value = staff_get("/api/v1/subjects?email=geheim.person%40example.org".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let subject = found["subjects"][0]["id"].as_str().unwrap().to_owned();
    staff_get(format!("/api/v1/subjects/{subject}/export?format=pdf"))
        .await
        .unwrap();
    let erased = app
        .client
        .delete(format!("{}/api/v1/subjects/{subject}", app.address))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), 200);
    // Bad input echoes nothing personal into the logs either.
    let mut bad = body.clone();
    bad["subject"]["email"] = json!("kaputt.person(at)example.org");
    app.post_json("/api/v1/consents", &bad).await;
    let (ok, verify_out) = app.verify();
    assert!(ok);

    // The server's own and the database's address may be printed; a client's must not be.
    let server = app.address.trim_start_matches("http://");
    let logs = format!("{}\n{verify_out}", app.logs())
        .replace(server, "(server address)")
        .replace("127.0.0.1:5432", "(database address)");
    assert!(
        logs.contains("consent recorded"),
        "the test must see the real logs:\n{logs}"
    );
    for secret in [
        "Xaver",
        "Unverwechselbar",
        "Einzigartig",
        "geheim.person",
        "kaputt.person",
        "127.0.0",
        token.as_str(),
    ] {
        assert!(
            !logs.contains(secret),
            "`{secret}` appears in the logs:\n{logs}"
        );
    }
}

on_both_backends!(logs_contain_no_personal_data_or_tokens);

/// The database file and its write-ahead log, as a copy of the disk would hold them.
fn database_files(app: &TestApp) -> Vec<u8> {
    let path = app.db.url.trim_start_matches("sqlite://").to_owned();
    let mut bytes = std::fs::read(&path).unwrap();
    if let Ok(log) = std::fs::read(format!("{path}-wal")) {
        bytes.extend(log);
    }
    bytes
}

/// An admin's Art. 17 request for the person behind a receipt token, ready to send.
async fn erasure_of(app: &TestApp, token: &str) -> reqwest::RequestBuilder {
    let receipt: Value = app.receipt(token).await;
    app.client
        .delete(format!(
            "{}/api/v1/subjects/{}",
            app.address,
            receipt["subject"]["id"].as_str().unwrap()
        ))
        .bearer_auth(app.create_token("admin", "admin"))
}

fn holds(bytes: &[u8], value: &str) -> bool {
    bytes.windows(value.len()).any(|w| w == value.as_bytes())
}

/// Erased and anonymised values are overwritten in the SQLite file and gone from its
/// write-ahead log, not merely unlinked: a copy of the disk does not bring them back.
#[tokio::test(flavor = "multi_thread")]
async fn erased_values_are_gone_from_the_database_files() {
    let app = TestApp::spawn_at(Backend::Sqlite, "2026-12-01T10:00:00Z").await;
    // Ended in March 2026: contact data due for anonymisation at the end of 2029.
    app.add_workshop("koeln-2026", OM_NOTICE);
    let people = [
        // Erased on request (Art. 17).
        [
            "Xaver Spurlos",
            "spurlos.xaver@example.org",
            "Firma Rueckstandsfrei",
            "Spurensucher/4.2",
        ],
        // Anonymised by a retention run.
        [
            "Yvonne Verjaehrt",
            "verjaehrt.yvonne@example.org",
            "Firma Fristablauf",
            "Fristablauf/9.1",
        ],
    ];
    let mut tokens = Vec::new();
    for [name, email, organisation, agent] in people {
        let mut body = app.consent_body("koeln-2026", email).await;
        body["subject"]["name"] = json!(name);
        body["subject"]["organisation"] = json!(organisation);
        let created: Value = app
            .client
            .post(format!("{}/api/v1/consents", app.address))
            .header("user-agent", agent)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(created["token"].as_str().unwrap().to_owned());
    }
    let before = database_files(&app);
    for value in people.iter().flatten() {
        assert!(
            holds(&before, value),
            "`{value}` stored (the test reads the right files)"
        );
    }

    let erased = erasure_of(&app, &tokens[0]).await.send().await.unwrap();
    assert_eq!(erased.status(), reqwest::StatusCode::OK);
    let after_erasure = database_files(&app);
    for value in people[0] {
        assert!(
            !holds(&after_erasure, value),
            "`{value}` left on disk after the erasure"
        );
    }
    for value in people[1] {
        assert!(holds(&after_erasure, value), "`{value}` is not due yet");
    }

    let run = app
        .command()
        .env("CONSENTD_NOW", "2030-01-02T10:00:00Z")
        .args(["retention", "run", "--json"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let run: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert!(run["executed"].as_i64().unwrap() >= 1, "{run}");
    let after_run = database_files(&app);
    for value in people.iter().flatten() {
        assert!(
            !holds(&after_run, value),
            "`{value}` left on disk after the run"
        );
    }
    assert!(app.verify().0, "the proofs still verify");
}

/// Emptying the log waits for readers only briefly. A long read (a `verify` of a large
/// ledger, say) leaves the log to the next run instead of holding off every consent while
/// the checkpoint waits for it.
#[tokio::test(flavor = "multi_thread")]
async fn a_long_reader_does_not_hold_off_consents_while_the_log_is_emptied() {
    use sqlx::Connection;
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let created = app
        .record_consent("koeln-2026", "lang.gelesen@example.org")
        .await;
    // A reader whose snapshot is older than the log's last frames: no checkpoint can empty
    // the log while it reads.
    let mut reader = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut reader).await.unwrap();
    let _: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM consent_records")
        .fetch_one(&mut reader)
        .await
        .unwrap();
    app.record_consent("koeln-2026", "danach@example.org").await;

    let erasure = erasure_of(&app, created["token"].as_str().unwrap())
        .await
        .send();
    let consent = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let started = std::time::Instant::now();
        let response = app
            .post_json(
                "/api/v1/consents",
                &app.consent_body("koeln-2026", "waehrenddessen@example.org")
                    .await,
            )
            .await;
        (response.status(), started.elapsed())
    };
    let started = std::time::Instant::now();
    let (erased, (status, consent_took)) = tokio::join!(erasure, consent);
    let erasure_took = started.elapsed();
    assert_eq!(erased.unwrap().status(), reqwest::StatusCode::OK);
    assert_eq!(status, reqwest::StatusCode::CREATED);
    assert!(
        erasure_took < std::time::Duration::from_secs(5)
            && consent_took < std::time::Duration::from_secs(5),
        "erasure {erasure_took:?}, consent {consent_took:?}: held off by the checkpoint"
    );
    sqlx::query("COMMIT").execute(&mut reader).await.unwrap();
}
