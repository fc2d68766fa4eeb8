//! Operations: liveness and readiness probes, and `consentd backup` with a restore.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, OM_NOTICE, TestApp};
use crate::on_both_backends;

async fn probes_say_up_and_ready(backend: Backend) {
    let app = TestApp::spawn(backend).await;
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

on_both_backends!(
    probes_say_up_and_ready,
    backup_while_running_then_restore,
    metrics_count_requests_and_consents_without_personal_data
);
