//! The retention engine: coverage of every personal-data column, deletions on schedule and
//! never early, idempotent runs, a deletion log without the deleted content, in the ledger.

use serde_json::{Value, json};

use crate::helpers::{Backend, OM_NOTICE, Options, TestApp, shipped_policies};
use crate::on_both_backends;

fn cli_at(app: &TestApp, now: &str, args: &[&str]) -> std::process::Output {
    app.command()
        .env("CONSENTD_NOW", now)
        .args(args)
        .output()
        .unwrap()
}

async fn every_personal_column_has_a_rule(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let out = app.cli(&["retention", "coverage"]);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Without the rule for sessions, the columns holding them are named.
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    crate::review::copy_dir(&shipped_policies(), &policies);
    let rules = std::fs::read_to_string(policies.join("retention.toml")).unwrap();
    let without = rules.replace("category = \"sitzungen\"", "category = \"sitzungen-alt\"");
    std::fs::write(policies.join("retention.toml"), without).unwrap();
    let out = app
        .command()
        .env("CONSENTD_POLICIES", &policies)
        .args(["retention", "coverage"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("staff_sessions.id_sha256") && text.contains("`sitzungen`"),
        "{text}"
    );

    // Two rules for one category are refused at load.
    std::fs::write(
        policies.join("retention.toml"),
        rules.clone() + &rules[rules.find("[[rule]]").unwrap()..],
    )
    .unwrap();
    let out = app
        .command()
        .env("CONSENTD_POLICIES", &policies)
        .args(["retention", "coverage"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exactly one per data category"));
}

async fn deletes_on_schedule_never_early_and_only_once(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options {
            now: Some("2026-12-01T10:00:00Z".into()),
            ..Default::default()
        },
    )
    .await;
    // A workshop that ended in March 2026: contact data due at the end of 2029.
    app.add_workshop("koeln-2026", OM_NOTICE);
    let out = app.cli(&[
        "workshop",
        "add",
        "--slug",
        "spaeter-2027",
        "--title",
        "Später",
        "--starts",
        "2027-02-01",
        "--ends",
        "2027-02-01",
        "--notice",
        OM_NOTICE,
    ]);
    assert!(out.status.success());
    let early: Value = app
        .post_json(
            "/api/v1/consents",
            &app.consent_body("koeln-2026", "frueh@example.org").await,
        )
        .await
        .json()
        .await
        .unwrap();
    let late: Value = app
        .post_json(
            "/api/v1/consents",
            &app.consent_body("spaeter-2027", "spaet@example.org").await,
        )
        .await
        .json()
        .await
        .unwrap();
    app.add_user("admin@example.org", "admin");
    app.login("admin@example.org").await;
    app.login_response("admin@example.org", "Falsches-Passwort-123")
        .await;
    let token = app.create_token("collector", "alt");
    assert!(app.cli(&["token", "revoke", "alt"]).status.success());
    let _ = token;

    // A month on: the failed sign-in (30 days) and the session (1 day) are due; nothing else.
    let dry = cli_at(
        &app,
        "2027-01-15T10:00:00Z",
        &["retention", "run", "--dry-run", "--json"],
    );
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let plan: Value = serde_json::from_slice(&dry.stdout).unwrap();
    let mut categories: Vec<&str> = plan["due"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["category"].as_str().unwrap())
        .collect();
    categories.sort();
    assert_eq!(categories, ["anmelde-fehlversuche", "sitzungen"]);
    assert_eq!(plan["executed"], 0);
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM login_failures")
            .await,
        1,
        "a dry run changes nothing"
    );

    // A preview of a later day is only ever a dry run.
    let refused = cli_at(
        &app,
        "2027-01-15T10:00:00Z",
        &["retention", "run", "--as-of", "2031-01-01"],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("never deletes early"));
    let preview: Value = serde_json::from_slice(
        &cli_at(
            &app,
            "2027-01-15T10:00:00Z",
            &[
                "retention",
                "run",
                "--dry-run",
                "--as-of",
                "2030-01-02",
                "--json",
            ],
        )
        .stdout,
    )
    .unwrap();
    assert!(
        preview["due"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["category"] == "teilnehmende-kontaktdaten")
    );

    let run: Value = serde_json::from_slice(
        &cli_at(
            &app,
            "2027-01-15T10:00:00Z",
            &["retention", "run", "--json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(run["executed"], 2);
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM login_failures")
            .await,
        0
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM staff_sessions")
            .await,
        0
    );
    let again: Value = serde_json::from_slice(
        &cli_at(
            &app,
            "2027-01-15T10:00:00Z",
            &["retention", "run", "--json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(again["executed"], 0, "each deletion happens once");

    // 2 January 2030: the March 2026 participant is anonymised, the 2027 one is not yet
    // (due end of 2030); the revoked token (one year) is gone.
    let run: Value = serde_json::from_slice(
        &cli_at(
            &app,
            "2030-01-02T10:00:00Z",
            &["retention", "run", "--json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(run["executed"], 2, "{run}");
    let receipt = |t: &Value| format!("/api/v1/receipts/{}", t["token"].as_str().unwrap());
    let gone: Value = app.get(&receipt(&early)).await.json().await.unwrap();
    assert_eq!(gone["subject"]["erased"], true);
    assert_eq!(gone["subject"]["email"], Value::Null);
    let kept: Value = app.get(&receipt(&late)).await.json().await.unwrap();
    assert_eq!(kept["subject"]["email"], "spaet@example.org");
    assert_eq!(
        app.db.scalar_i64("SELECT COUNT(*) FROM api_tokens").await,
        0
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM consent_records WHERE ip_truncated IS NOT NULL")
            .await,
        1
    );

    // The log accounts for every deletion, names no one, and is chained in the ledger.
    assert_eq!(
        app.db.scalar_i64("SELECT COUNT(*) FROM deletion_log").await,
        4
    );
    assert_eq!(app.db.scalar_i64("SELECT COUNT(*) FROM deletion_log WHERE target LIKE '%@%' OR subject_pseudonym LIKE '%@%'").await, 0);
    assert_eq!(app.db.scalar_i64("SELECT COUNT(*) FROM deletion_log WHERE category = 'teilnehmende-kontaktdaten' AND LENGTH(subject_pseudonym) = 64").await, 1);
    let (ok, out) = app.verify();
    assert!(ok && out.contains("1 subject(s) erased"), "{out}");
    app.db
        .tamper(&["UPDATE deletion_log SET rows_affected = 7 WHERE category = 'api-tokens'"])
        .await;
    let (ok, out) = app.verify();
    assert!(!ok && out.contains("deletion log entry"), "{out}");
    let _ = json!({});
}

/// Holds keep data (by subject, workshop or category); a pause stops real runs; forecast and
/// report show it all.
async fn holds_pauses_forecast_and_report(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options {
            now: Some("2026-12-01T10:00:00Z".into()),
            ..Default::default()
        },
    )
    .await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let out = app.cli(&[
        "workshop",
        "add",
        "--slug",
        "bonn-2026",
        "--title",
        "Bonn",
        "--starts",
        "2026-05-01",
        "--ends",
        "2026-05-01",
        "--notice",
        OM_NOTICE,
    ]);
    assert!(out.status.success());
    let mut tokens = Vec::new();
    for (workshop, email) in [
        ("koeln-2026", "a@example.org"),
        ("koeln-2026", "b@example.org"),
        ("bonn-2026", "c@example.org"),
    ] {
        let c: Value = app
            .post_json("/api/v1/consents", &app.consent_body(workshop, email).await)
            .await
            .json()
            .await
            .unwrap();
        tokens.push(c);
    }
    let admin = app.create_token("admin", "admin");
    let post = |path: &str, body: Value| {
        app.client
            .post(format!("{}{path}", app.address))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    let record: Value = app
        .client
        .get(format!(
            "{}/api/v1/consents?workshop=koeln-2026&per_page=200",
            app.address
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let subject_of_b = record["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"].as_str().is_some())
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .unwrap();
    let detail: Value = app
        .client
        .get(format!("{}/api/v1/consents/{subject_of_b}", app.address))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let held_subject = detail["subject"]["id"].as_str().unwrap().to_owned();
    let held_email = detail["subject"]["email"].as_str().unwrap().to_owned();

    let bad = post(
        "/api/v1/retention/holds",
        json!({"scope": "subject", "target": "niemand", "reason": "x"}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 422);
    let hold = post(
        "/api/v1/retention/holds",
        json!({"scope": "subject", "target": held_subject, "reason": "Rechtsstreit Az. 1 O 23/27"}),
    )
    .await
    .unwrap();
    assert_eq!(hold.status(), 201);
    let workshop_hold: Value = post("/api/v1/retention/holds", json!({"scope": "workshop", "target": "bonn-2026", "reason": "Prüfung durch die Aufsichtsbehörde", "until": "2030-06-30"})).await.unwrap().json().await.unwrap();

    // Pause: a real run deletes nothing; the forecast still shows what is due.
    assert_eq!(
        post("/api/v1/retention/pause", json!({"reason": "Migration"}))
            .await
            .unwrap()
            .status(),
        204
    );
    assert_eq!(
        post("/api/v1/retention/pause", json!({"reason": "nochmal"}))
            .await
            .unwrap()
            .status(),
        409
    );
    let paused: Value = serde_json::from_slice(
        &cli_at(
            &app,
            "2030-01-02T10:00:00Z",
            &["retention", "run", "--json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(paused["paused"], true);
    assert_eq!(paused["executed"], 0);
    assert_eq!(
        post("/api/v1/retention/resume", json!({}))
            .await
            .unwrap()
            .status(),
        204
    );

    // 2030-01-02: all three are due; the held subject and the held workshop stay.
    let run: Value = serde_json::from_slice(
        &cli_at(
            &app,
            "2030-01-02T10:00:00Z",
            &["retention", "run", "--json"],
        )
        .stdout,
    )
    .unwrap();
    let participants: Vec<&Value> = run["due"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["category"] == "teilnehmende-kontaktdaten")
        .collect();
    assert_eq!(participants.len(), 3);
    assert_eq!(
        participants
            .iter()
            .filter(|d| d["held_by"].is_string())
            .count(),
        2
    );
    assert_eq!(
        participants
            .iter()
            .filter(|d| d["executed"] == true)
            .count(),
        1
    );
    assert_eq!(
        app.db
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM subjects WHERE email = '{held_email}'"
            ))
            .await,
        1,
        "held subject kept"
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM subjects WHERE email = 'c@example.org'")
            .await,
        1,
        "held workshop kept"
    );

    // The workshop hold ends on 30 June 2030; the subject hold is released by hand.
    let released = post(
        &format!(
            "/api/v1/retention/holds/{}/release",
            hold.json::<Value>().await.unwrap()["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(released.status(), 204);
    let run: Value = serde_json::from_slice(
        &cli_at(
            &app,
            "2030-07-01T10:00:00Z",
            &["retention", "run", "--json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(run["executed"], 2, "{run}");
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM subjects WHERE erased_at IS NULL")
            .await,
        0
    );
    let _ = workshop_hold;

    // The forecast (as of the test's own clock) lists the rules not enforced yet.
    let forecast: Value = app
        .client
        .get(format!("{}/api/v1/retention/forecast", app.address))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        forecast["months"].as_array().unwrap().len(),
        14,
        "due now + this month + twelve"
    );
    assert!(
        forecast["not_enforced"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "feedbackbogen")
    );

    // The report: German Excel CSV, no formulas, no names.
    let csv = app
        .client
        .get(format!(
            "{}/api/v1/retention/report?from=2026-01-01&to=2031-12-31",
            app.address
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = csv.bytes().await.unwrap();
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "UTF-8 BOM for Excel"
    );
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "executed_at;category;rule_version;start_on;due_on;subject_pseudonym;target;rows_affected;ledger_seq"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(
        rows.iter()
            .filter(|r| r.contains(";teilnehmende-kontaktdaten;"))
            .count(),
        3
    );
    assert!(!text.contains("@example.org"));
    let (ok, out) = app.verify();
    assert!(ok, "{out}");

    // The admin page shows the chart, the table and the holds.
    app.add_user("admin@example.org", "admin");
    let session = app.login("admin@example.org").await;
    let page = app
        .client
        .get(format!("{}/staff/retention", app.address))
        .header("cookie", &session.cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<svg")
            && page.contains("Prognose")
            && page.contains("Prüfung durch die Aufsichtsbehörde"),
        "{page}"
    );
}

on_both_backends!(
    every_personal_column_has_a_rule,
    deletes_on_schedule_never_early_and_only_once,
    holds_pauses_forecast_and_report
);
