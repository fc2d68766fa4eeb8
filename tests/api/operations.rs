//! Operations: liveness and readiness probes, and `consentd backup` with a restore.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, OM_NOTICE, TestApp};
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
    let created: Value = app
        .post_json(
            "/api/v1/consents",
            &app.consent_body("koeln-2026", "metrik@example.org").await,
        )
        .await
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    app.post_json(
        &format!("/api/v1/receipts/{token}/withdraw"),
        &serde_json::json!({"all": true}),
    )
    .await;
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
    let value = |name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name) && !l.starts_with('#'))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
    };
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
    for token in &acknowledged {
        let r = app.get(&format!("/api/v1/receipts/{token}")).await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "an acknowledged consent is missing"
        );
    }
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

on_both_backends!(
    killed_under_load_loses_no_acknowledged_consent,
    probes_say_up_and_ready,
    backup_while_running_then_restore,
    metrics_count_requests_and_consents_without_personal_data
);
