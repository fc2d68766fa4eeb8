//! The retention engine: coverage of every personal-data column, deletions on schedule and
//! never early, idempotent runs, a deletion log without the deleted content, in the ledger.

use serde_json::{Value, json};

use crate::helpers::{Backend, OM_NOTICE, TestApp, shipped_policies};
use crate::on_both_backends;

/// How many items of a category a run report says it deleted or anonymised.
fn executed_in(run: &Value, category: &str) -> i64 {
    run["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["category"] == category)
        .map(|t| t["executed"].as_i64().unwrap())
        .unwrap_or(0)
}

fn cli_at(app: &TestApp, now: &str, args: &[&str]) -> std::process::Output {
    app.command()
        .env("CONSENTD_NOW", now)
        .args(args)
        .output()
        .unwrap()
}

/// A CLI command with `--json` at `now` that must succeed, and what it printed.
fn cli_json_at(app: &TestApp, now: &str, args: &[&str]) -> Value {
    let out = cli_at(app, now, args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
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
    let app = TestApp::spawn_at(backend, "2026-12-01T10:00:00Z").await;
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
    let early: Value = app.record_consent("koeln-2026", "frueh@example.org").await;
    let late: Value = app
        .record_consent("spaeter-2027", "spaet@example.org")
        .await;
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
    assert_eq!(executed_in(&run, "teilnehmende-kontaktdaten"), 1, "{run}");
    assert_eq!(executed_in(&run, "api-tokens"), 1, "{run}");
    // The staff audit events, review trail and approvers of the imported notice versions of
    // 2026 are anonymised the same day (three years from the end of the year they were
    // written).
    assert_eq!(
        executed_in(&run, "pruefprotokoll"),
        app.db
            .scalar_i64("SELECT (SELECT COUNT(*) FROM audit_events WHERE actor = 'anonymisiert') + (SELECT COUNT(*) FROM notice_reviews WHERE actor = 'anonymisiert') + (SELECT COUNT(*) FROM notice_versions WHERE decided_by = 'anonymisiert')")
            .await,
        "{run}"
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM audit_events WHERE actor <> 'anonymisiert' AND at < '2027-01-01'")
            .await,
        0
    );
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
            .scalar_i64("SELECT COUNT(*) FROM subjects WHERE ip_truncated IS NOT NULL")
            .await,
        1
    );

    // The log accounts for every deletion, names no one, and is chained in the ledger.
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM deletion_log WHERE category <> 'pruefprotokoll'")
            .await,
        4
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM deletion_log WHERE category = 'pruefprotokoll'")
            .await,
        executed_in(&run, "pruefprotokoll")
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
    let app = TestApp::spawn_at(backend, "2026-12-01T10:00:00Z").await;
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
        let c: Value = app.record_consent(workshop, email).await;
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
    // The same person signed up once more (the address typed in capitals): a hold on one
    // of their subjects holds the person.
    app.record_consent("koeln-2026", &held_email.to_uppercase())
        .await;

    let bad = post(
        "/api/v1/retention/holds",
        json!({"scope": "subject", "target": "niemand", "reason": "x"}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), 422);
    let invisible = post(
        "/api/v1/retention/holds",
        json!({"scope": "subject", "target": held_subject, "reason": "Streit\u{0}"}),
    )
    .await
    .unwrap();
    assert_eq!(invisible.status(), 422, "a reason is plain text");
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
    assert_eq!(participants.len(), 4);
    assert_eq!(
        participants
            .iter()
            .filter(|d| d["held_by"].is_string())
            .count(),
        3
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
                "SELECT COUNT(*) FROM subjects WHERE lower(email) = '{held_email}'"
            ))
            .await,
        2,
        "held person kept, both sign-ups"
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
    assert_eq!(executed_in(&run, "teilnehmende-kontaktdaten"), 3, "{run}");
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
    // Rules whose data consentd holds but does not delete would be named here: there are
    // none left. Feedback forms are not consentd's data (held elsewhere).
    let not_enforced = forecast["not_enforced"].as_array().unwrap();
    assert!(not_enforced.is_empty(), "{not_enforced:?}");

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
        4
    );
    assert!(!text.to_lowercase().contains("@example.org"));
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

/// A restored backup brings anonymised contact data back; `retention replay` deletes it
/// again from the deletion journal, logs each as a replay in the ledger, and is idempotent.
async fn restored_backup_is_replayed(backend: Backend) {
    let mut app = TestApp::spawn_at(backend, "2026-12-01T10:00:00Z").await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    for email in ["anna@example.org", "bert@example.org"] {
        let response = app
            .post_json(
                "/api/v1/consents",
                &app.consent_body("koeln-2026", email).await,
            )
            .await;
        assert_eq!(response.status(), 201);
    }
    let with_contact = "SELECT COUNT(*) FROM subjects WHERE email IS NOT NULL";
    let backup = app.backup().await;

    let run: Value = serde_json::from_slice(
        &cli_at(
            &app,
            "2030-01-02T10:00:00Z",
            &["retention", "run", "--json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(executed_in(&run, "teilnehmende-kontaktdaten"), 2, "{run}");
    // The staff audit events of 2026 were anonymised too: the replay repeats those as well.
    let total = run["executed"].as_u64().unwrap();
    assert_eq!(app.db.scalar_i64(with_contact).await, 0);
    let journal = app.dir.path().join("data/deletion-journal.jsonl");
    let lines = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(
        lines.lines().count() as u64,
        total,
        "one journal line per deletion"
    );
    assert!(!lines.contains("anna@example.org") && !lines.contains("Anna"));
    assert!(
        !lines.contains("subject_pseudonym"),
        "the journal, kept as long as backups, holds no pseudonyms"
    );

    // Disaster: the backup from before the run is restored; the data is back.
    app.restore(&backup);
    assert_eq!(app.db.scalar_i64(with_contact).await, 2);
    assert_eq!(
        app.db.scalar_i64("SELECT COUNT(*) FROM deletion_log").await,
        0
    );

    let replay = cli_at(
        &app,
        "2030-01-03T10:00:00Z",
        &["retention", "replay", "--json"],
    );
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let report: Value = serde_json::from_slice(&replay.stdout).unwrap();
    assert_eq!(
        (report["read"].as_u64(), report["replayed"].as_u64()),
        (Some(total), Some(total)),
        "{report}"
    );
    assert_eq!(app.db.scalar_i64(with_contact).await, 0, "deleted again");
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM audit_events WHERE ip_truncated IS NOT NULL OR actor <> 'anonymisiert' AND at < '2027-01-01'")
            .await,
        0,
        "anonymised again"
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM deletion_log WHERE replay_of IS NOT NULL AND row_key IS NOT NULL")
            .await as u64,
        total
    );
    let (ok, output) = app.verify();
    assert!(ok, "{output}");

    // Again: nothing left to do. The journal now also holds the replays; they count as present.
    let again: Value = serde_json::from_slice(
        &cli_at(
            &app,
            "2030-01-04T10:00:00Z",
            &["retention", "replay", "--json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(again["replayed"], 0, "{again}");
    assert_eq!(again["present"], again["read"]);
    assert_eq!(again["read"], 2 * total);

    // A damaged journal line stops the replay with file and line; a torn last line does not.
    std::fs::write(&journal, format!("{lines}{{\"broken\n{lines}")).unwrap();
    let damaged = cli_at(&app, "2030-01-05T10:00:00Z", &["retention", "replay"]);
    assert!(!damaged.status.success());
    let broken_line = format!("deletion-journal.jsonl:{}", total + 1);
    assert!(String::from_utf8_lossy(&damaged.stderr).contains(&broken_line));
    std::fs::write(&journal, format!("{lines}{{\"torn")).unwrap();
    let torn = cli_at(&app, "2030-01-05T10:00:00Z", &["retention", "replay"]);
    assert!(
        torn.status.success(),
        "{}",
        String::from_utf8_lossy(&torn.stderr)
    );
    assert!(String::from_utf8_lossy(&torn.stdout).contains("torn last line"));
}

/// A disabled staff account keeps its address for a year (audit entries name it), then the
/// address and password hash go; the id stays, so the audit trail still groups by account.
async fn disabled_staff_accounts_are_anonymised_after_a_year(backend: Backend) {
    let app = TestApp::spawn_at(backend, "2026-12-01T10:00:00Z").await;
    app.add_user("ex-mitarbeiterin@example.org", "lawyer");
    app.add_user("bleibt@example.org", "lawyer");
    let out = app.cli(&["user", "disable", "ex-mitarbeiterin@example.org"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let named = "SELECT COUNT(*) FROM staff_users WHERE email = 'ex-mitarbeiterin@example.org'";

    let early = cli_at(
        &app,
        "2027-11-30T10:00:00Z",
        &["retention", "run", "--json"],
    );
    assert!(early.status.success());
    assert_eq!(
        app.db.scalar_i64(named).await,
        1,
        "not before a year has passed"
    );

    let run: Value = serde_json::from_slice(
        &cli_at(
            &app,
            "2027-12-02T10:00:00Z",
            &["retention", "run", "--json"],
        )
        .stdout,
    )
    .unwrap();
    let accounts = run["totals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["category"] == "mitarbeitende-konten")
        .cloned()
        .unwrap_or_default();
    assert_eq!(accounts["executed"], 1, "{run}");
    assert_eq!(app.db.scalar_i64(named).await, 0);
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM staff_users WHERE email LIKE 'anonymisiert-%@konto.invalid' AND password_hash = '!'")
            .await,
        1
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM staff_users WHERE email = 'bleibt@example.org'")
            .await,
        1,
        "active accounts stay"
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM deletion_log WHERE category = 'mitarbeitende-konten'")
            .await,
        1
    );
    // Once is enough: the next run finds nothing.
    let again: Value = serde_json::from_slice(
        &cli_at(
            &app,
            "2027-12-03T10:00:00Z",
            &["retention", "run", "--json"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(again["executed"], 0, "{again}");
    let (ok, output) = app.verify();
    assert!(ok, "{output}");
}

/// Consent proofs, the audit log and the deletion log: the three categories the ledger
/// covers. A proof is reduced to a tombstone three years after the year its processing
/// ended (never while a consent is still given); audit events are anonymised after three
/// years, deletion-log pseudonyms after five. `verify` passes throughout, and still catches
/// a change to what the seals left.
async fn proofs_become_tombstones_and_logs_are_anonymised(backend: Backend) {
    let app = TestApp::spawn_at(backend, "2026-12-01T10:00:00Z").await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let mut tokens = Vec::new();
    for email in ["ended@example.org", "ongoing@example.org"] {
        let created: Value = app.record_consent("koeln-2026", email).await;
        tokens.push(created["token"].as_str().unwrap().to_owned());
    }
    // The first withdraws the photos (the only consent given): processing ends today.
    let withdrawn = app
        .post_json(
            &format!("/api/v1/receipts/{}/withdraw", tokens[0]),
            &json!({"purposes": ["fotos"]}),
        )
        .await;
    assert!(withdrawn.status().is_success());
    app.add_user("admin@example.org", "admin");
    app.login("admin@example.org").await;
    let audit_named = "SELECT COUNT(*) FROM audit_events WHERE actor <> 'anonymisiert'";
    let audit_before = app.db.scalar_i64(audit_named).await;
    assert!(audit_before > 0);
    // The review trail of the notices (imported at start) is part of the staff audit log.
    let reviews_named = "SELECT COUNT(*) FROM notice_reviews WHERE actor <> 'anonymisiert'";
    let reviews_before = app.db.scalar_i64(reviews_named).await;
    assert!(reviews_before > 0);
    // So are the approvers of the notice versions imported with the policies.
    let versions_named = "SELECT COUNT(*) FROM notice_versions WHERE decided_by <> 'anonymisiert'";
    let versions_before = app.db.scalar_i64(versions_named).await;
    assert!(versions_before > 0);

    // The last day of 2029: nothing of these is due yet (kept through the end of the year).
    let early: Value = cli_json_at(
        &app,
        "2029-12-31T10:00:00Z",
        &["retention", "run", "--json"],
    );
    for category in [
        "einwilligungsnachweise",
        "pruefprotokoll",
        "teilnehmende-kontaktdaten",
    ] {
        assert_eq!(executed_in(&early, category), 0, "{early}");
    }
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM consent_records")
            .await,
        2
    );

    // 2030: both contact data anonymised; the ended proof is a tombstone, the ongoing one
    // stays; the audit events of 2026 are anonymised.
    let run = cli_json_at(
        &app,
        "2030-01-01T10:00:00Z",
        &["retention", "run", "--json"],
    );
    assert_eq!(executed_in(&run, "einwilligungsnachweise"), 1, "{run}");
    assert_eq!(
        executed_in(&run, "pruefprotokoll"),
        audit_before + reviews_before + versions_before,
        "{run}"
    );
    assert_eq!(app.db.scalar_i64(reviews_named).await, 0);
    assert_eq!(app.db.scalar_i64(versions_named).await, 0);
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM consent_records")
            .await,
        1
    );
    assert_eq!(
        app.db.scalar_i64("SELECT COUNT(*) FROM subjects").await,
        1,
        "the tombstoned proof's pseudonymous subject goes with it"
    );
    let gone = app.get(&format!("/api/v1/receipts/{}", tokens[0])).await;
    assert_eq!(gone.status(), reqwest::StatusCode::NOT_FOUND);
    let kept = app.get(&format!("/api/v1/receipts/{}", tokens[1])).await;
    assert!(
        kept.status().is_success(),
        "a proof of a consent still given stays"
    );
    assert_eq!(app.db.scalar_i64(audit_named).await, 0);
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM audit_events WHERE ip_truncated IS NOT NULL OR target IS NOT NULL")
            .await,
        0
    );
    let tombstone = app
        .db
        .scalar_string("SELECT sealed FROM deletion_log WHERE category = 'einwilligungsnachweise'")
        .await;
    assert!(
        tombstone.split(' ').count() >= 2,
        "the record and its withdrawal are sealed: {tombstone}"
    );
    let verify = app.cli(&["verify", "--json"]);
    let report: Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    // The review trail is not in the ledger: only the audit events are sealed.
    assert!(
        report["entries_sealed"].as_i64().unwrap() >= 2 + audit_before,
        "{report}"
    );

    // Repeating finds nothing.
    let again: Value = cli_json_at(
        &app,
        "2030-01-03T10:00:00Z",
        &["retention", "run", "--json"],
    );
    assert_eq!(again["executed"], 0, "{again}");

    // 2036: the pseudonyms of the deletion log of 2030 go; the entries stay.
    let pseudonyms = "SELECT COUNT(*) FROM deletion_log WHERE subject_pseudonym IS NOT NULL";
    let with_pseudonym = app.db.scalar_i64(pseudonyms).await;
    assert!(with_pseudonym > 0);
    let later: Value = cli_json_at(
        &app,
        "2036-01-02T10:00:00Z",
        &["retention", "run", "--json"],
    );
    assert_eq!(
        executed_in(&later, "loeschprotokoll"),
        with_pseudonym,
        "{later}"
    );
    assert_eq!(app.db.scalar_i64(pseudonyms).await, 0);
    let (ok, output) = app.verify();
    assert!(
        ok && output.contains("entries sealed by retention"),
        "{output}"
    );
    app.db.assert_snapshot_reads_agree().await;

    // What the seals left is still protected: a changed anonymised audit event and a
    // shortened seal list are each caught at their own sequence numbers.
    let audit_seq = app
        .db
        .scalar_i64("SELECT MIN(ledger_seq) FROM audit_events")
        .await;
    let action = app
        .db
        .scalar_string(&format!(
            "SELECT action FROM audit_events WHERE ledger_seq = {audit_seq}"
        ))
        .await;
    let first_problem = |app: &TestApp| {
        let report: Value = serde_json::from_slice(&app.cli(&["verify", "--json"]).stdout).unwrap();
        assert_eq!(report["ok"], false, "{report}");
        report["problems"][0]["seq"].as_i64().unwrap()
    };
    app.db
        .tamper(&[&format!(
            "UPDATE audit_events SET action = 'nichts' WHERE ledger_seq = {audit_seq}"
        )])
        .await;
    assert_eq!(first_problem(&app), audit_seq);
    app.db
        .tamper(&[&format!(
            "UPDATE audit_events SET action = '{action}' WHERE ledger_seq = {audit_seq}"
        )])
        .await;
    assert!(app.verify().0, "restored");
    let tombstone_seq = app
        .db
        .scalar_i64("SELECT ledger_seq FROM deletion_log WHERE category = 'einwilligungsnachweise'")
        .await;
    let shortened = tombstone.split(' ').skip(1).collect::<Vec<_>>().join(" ");
    app.db
        .tamper(&[&format!(
            "UPDATE deletion_log SET sealed = '{shortened}' WHERE ledger_seq = {tombstone_seq}"
        )])
        .await;
    let report: Value = serde_json::from_slice(&app.cli(&["verify", "--json"]).stdout).unwrap();
    assert_eq!(report["ok"], false);
    let seqs: Vec<i64> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.contains(&tombstone_seq), "{report}");
}

/// The rest of the staff audit log (reviewers of notice versions, who set and released holds
/// and pauses, and why) is anonymised on the same schedule, once the version is decided and
/// the hold or pause is over; an active hold keeps who set it and why.
async fn staff_names_leave_reviews_holds_and_pauses(backend: Backend) {
    let f = crate::review::fixture(backend, "2026-12-01T10:00:00Z").await;
    f.approve_v3(true).await;
    let app = &f.app;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let created = app
        .record_consent("koeln-2026", "gehalten@example.org")
        .await;
    assert!(created["token"].is_string(), "{created}");
    let subject = app.db.scalar_string("SELECT id FROM subjects").await;
    let post = |path: &'static str, body: Value| f.post(&f.admin, path, body);
    let mut holds = Vec::new();
    for body in [
        json!({"scope": "subject", "target": subject, "reason": "Rechtsstreit Az. 1 O 23/27"}),
        json!({"scope": "workshop", "target": "koeln-2026", "reason": "Prüfung", "until": "2027-01-31"}),
        json!({"scope": "category", "target": "sitzungen", "reason": "Dauerhafte Sperre"}),
    ] {
        let hold = post("/api/v1/retention/holds", body).await;
        assert_eq!(hold.status(), 201);
        holds.push(
            hold.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let released = f
        .post(
            &f.admin,
            &format!("/api/v1/retention/holds/{}/release", holds[0]),
            json!({}),
        )
        .await;
    assert_eq!(released.status(), 204);
    assert_eq!(
        post("/api/v1/retention/pause", json!({"reason": "Migration"}))
            .await
            .status(),
        204
    );
    assert_eq!(
        post("/api/v1/retention/resume", json!({})).await.status(),
        204
    );

    let named = |table: &str, columns: &str| {
        format!(
            "SELECT COUNT(*) FROM {table} WHERE {}",
            columns
                .split(' ')
                .map(|c| format!("{c} <> 'anonymisiert'"))
                .collect::<Vec<_>>()
                .join(" OR ")
        )
    };
    // A version uploaded by the second lawyer and sent back by the first: its author too.
    f.upload(4, &f.second_lawyer).await;
    let v4 = |step: &str| format!("/api/v1/notices/{OM_NOTICE}/versions/4/{step}");
    assert_eq!(
        f.post(&f.admin, &v4("submit"), json!({})).await.status(),
        200
    );
    let sent_back = json!({"decision": "request_changes", "comment": "Bitte prüfen."});
    assert_eq!(
        f.post(&f.lawyer, &v4("review"), sent_back).await.status(),
        200
    );
    let authors = "SELECT COUNT(*) FROM notice_versions WHERE uploaded_by = 'token:kanzlei-b' AND version = 4";
    assert_eq!(app.db.scalar_i64(authors).await, 1);
    // A draft keeps its author however old: review must still refuse them (four eyes).
    f.upload(5, &f.second_lawyer).await;
    let draft_author = "SELECT COUNT(*) FROM notice_versions WHERE uploaded_by = 'token:kanzlei-b' AND version = 5";
    // Decided versions; drafts keep their author (checked below).
    let versions = named("notice_versions", "uploaded_by submitted_by decided_by")
        .replace(" WHERE ", " WHERE state <> 'draft' AND (")
        + ")";
    let holds_named = named("retention_holds", "created_by reason");
    let pauses = named("retention_pauses", "paused_by resumed_by reason");
    assert!(app.db.scalar_i64(&versions).await >= 1);
    assert_eq!(app.db.scalar_i64(&holds_named).await, 3);
    assert_eq!(app.db.scalar_i64(&pauses).await, 1);

    // Not before three years from the end of 2026 (holds and pauses ended in 2026 and 2027).
    cli_json_at(app, "2029-12-31T10:00:00Z", &["retention", "run", "--json"]);
    assert_eq!(app.db.scalar_i64(&holds_named).await, 3);
    assert_eq!(app.db.scalar_i64(&pauses).await, 1);

    let run = cli_json_at(app, "2030-01-01T10:00:00Z", &["retention", "run", "--json"]);
    assert!(executed_in(&run, "pruefprotokoll") > 0, "{run}");
    assert_eq!(
        app.db.scalar_i64(&versions).await,
        0,
        "authors and reviewers of decided versions"
    );
    assert_eq!(app.db.scalar_i64(authors).await, 0);
    assert_eq!(
        app.db.scalar_i64(draft_author).await,
        1,
        "the draft's author stays"
    );
    assert_eq!(app.db.scalar_i64(&pauses).await, 0, "the pause");
    assert_eq!(
        app.db
            .scalar_i64(&format!(
                "{holds_named} OR released_by <> 'anonymisiert' OR target = '{subject}'"
            ))
            .await,
        2,
        "the released subject hold is anonymised; the other two stay named"
    );
    // Who set the hold, why, and on what.
    let hold = async |i: usize| {
        let sql = format!(
            "SELECT created_by || '|' || reason || '|' || target FROM retention_holds WHERE id = '{}'",
            holds[i]
        );
        app.db.scalar_string(&sql).await
    };
    assert_eq!(hold(0).await, "anonymisiert|anonymisiert|anonymisiert");
    // The workshop hold ran out in January 2027: its clock starts then, so it goes in 2031.
    assert!(hold(1).await.ends_with("|Prüfung|koeln-2026"));
    assert!(
        hold(2).await.ends_with("|Dauerhafte Sperre|sitzungen"),
        "an active hold stays as it was"
    );

    let later = cli_json_at(app, "2031-01-02T10:00:00Z", &["retention", "run", "--json"]);
    assert!(executed_in(&later, "pruefprotokoll") >= 1, "{later}");
    assert!(hold(1).await.starts_with("anonymisiert|anonymisiert|"));
    assert!(hold(2).await.ends_with("|Dauerhafte Sperre|sitzungen"));
    let verify: Value = serde_json::from_slice(&app.cli(&["verify", "--json"]).stdout).unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
}

/// SQLite's participant pages are stepped directly (`sqlite_scan::fetch_all`), which reads
/// only the forms sqlx writes. A value in another form (a creation time in SQLite's own
/// `YYYY-MM-DD HH:MM:SS`, as a hand-made import would write it) sends the page through sqlx,
/// which reads it: nobody due is skipped and the run does not fail.
#[tokio::test(flavor = "multi_thread")]
async fn a_participant_in_another_time_format_is_anonymised_too() {
    let app = TestApp::spawn_at(Backend::Sqlite, "2026-12-01T10:00:00Z").await;
    // The workshop ended in March 2026: contact data due at the end of 2029.
    app.add_workshop("koeln-2026", OM_NOTICE);
    app.record_consent("koeln-2026", "eins@example.org").await;
    app.record_consent("koeln-2026", "zwei@example.org").await;
    app.db
        .tamper(&["UPDATE subjects SET created_at = '2026-12-01 10:00:00' WHERE email = 'eins@example.org'"])
        .await;

    let run = cli_json_at(
        &app,
        "2030-01-02T10:00:00Z",
        &["retention", "run", "--json"],
    );
    assert_eq!(executed_in(&run, "teilnehmende-kontaktdaten"), 2, "{run}");
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM subjects WHERE email IS NOT NULL")
            .await,
        0
    );
}

/// On SQLite a sweep's batch runs on the locked connection itself and reads what is left of
/// anonymised audit rows there, to seal it in the deletion log. An audit time in a form only
/// sqlx reads (SQLite's own `YYYY-MM-DD HH:MM:SS`) sends the batch through sqlx instead: the
/// rows are anonymised all the same and the ledger still verifies.
#[tokio::test(flavor = "multi_thread")]
async fn audit_times_in_another_format_are_anonymised_and_sealed_too() {
    let app = TestApp::spawn_at(Backend::Sqlite, "2026-12-01T10:00:00Z").await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let events = app.db.scalar_i64("SELECT COUNT(*) FROM audit_events").await;
    assert!(events > 0);
    app.db
        .tamper(&["UPDATE audit_events SET at = replace(substr(at, 1, 19), 'T', ' ')"])
        .await;
    let stored = app
        .db
        .scalar_string("SELECT at FROM audit_events LIMIT 1")
        .await;
    assert!(stored.contains(' ') && !stored.contains('+'), "{stored}");

    let run = cli_json_at(
        &app,
        "2030-01-02T10:00:00Z",
        &["retention", "run", "--json"],
    );
    assert!(executed_in(&run, "pruefprotokoll") >= events, "{run}");
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM audit_events WHERE actor <> 'anonymisiert'")
            .await,
        0
    );
    let verify: Value = serde_json::from_slice(&app.cli(&["verify", "--json"]).stdout).unwrap();
    assert_eq!(verify["ok"], true, "{verify}");
}

on_both_backends!(
    proofs_become_tombstones_and_logs_are_anonymised,
    staff_names_leave_reviews_holds_and_pauses,
    disabled_staff_accounts_are_anonymised_after_a_year,
    every_personal_column_has_a_rule,
    deletes_on_schedule_never_early_and_only_once,
    holds_pauses_forecast_and_report,
    restored_backup_is_replayed
);

// ---------------------------------------------------------------------------------------
// PDF documents for filing: the deletion report and the deletion concept.
// ---------------------------------------------------------------------------------------

mod pdf_documents {
    use serde_json::Value;

    use super::cli_at;
    use crate::helpers::{Backend, TestApp, pdf_text, shipped_policies};
    use crate::on_both_backends;

    fn ok(out: &std::process::Output) {
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A run that deletes, then the report as a PDF: summary, holds that existed in the
    /// range (not one that ended before), pauses, entries, the ledger head; the same bytes
    /// when made again at the same time; the same through the API.
    async fn deletion_report_as_pdf(backend: Backend) {
        let app = TestApp::spawn_with(
            backend,
            crate::helpers::Options {
                now: Some("2026-12-01T10:00:00Z".into()),
                ..Default::default()
            },
        )
        .await;
        // A session and a failed sign-in: due after one day and 30 days.
        app.add_user("admin@example.org", "admin");
        app.login("admin@example.org").await;
        app.login_response("admin@example.org", "Falsches-Passwort-123")
            .await;
        ok(&app.cli(&[
            "retention",
            "hold",
            "--category",
            "teilnehmende-kontaktdaten",
            "--reason",
            "Rechtsstreit Az. 1 O 23/27",
        ]));
        ok(&app.cli(&[
            "retention",
            "hold",
            "--category",
            "feedbackbogen",
            "--reason",
            "Alte Sperre vor dem Zeitraum",
            "--until",
            "2026-12-15",
        ]));
        ok(&cli_at(
            &app,
            "2027-01-10T08:00:00Z",
            &["retention", "pause", "--reason", "Migration der Datenbank"],
        ));
        ok(&cli_at(
            &app,
            "2027-01-10T09:00:00Z",
            &["retention", "resume"],
        ));
        let run = cli_at(
            &app,
            "2027-01-15T10:00:00Z",
            &["retention", "run", "--json"],
        );
        ok(&run);
        let run: Value = serde_json::from_slice(&run.stdout).unwrap();
        assert_eq!(run["executed"], 2, "{run}");

        let dir = tempfile::tempdir().unwrap();
        let report = |name: &str| {
            let file = dir.path().join(name);
            let out = cli_at(
                &app,
                "2027-01-20T09:00:00Z",
                &[
                    "retention",
                    "report",
                    "--from",
                    "2027-01-01",
                    "--to",
                    "2027-01-31",
                    "--format",
                    "pdf",
                    "--output",
                    file.to_str().unwrap(),
                ],
            );
            ok(&out);
            std::fs::read(file).unwrap()
        };
        let first = report("a.pdf");
        let second = report("b.pdf");
        assert!(first == second, "same input and time, byte-identical PDF");

        let verify = app.cli(&["verify", "--json"]);
        ok(&verify);
        let head: Value = serde_json::from_slice(&verify.stdout).unwrap();
        let (seq, sha) = (
            head["length"].as_i64().unwrap(),
            head["head_sha256"].as_str().unwrap().to_owned(),
        );
        let text = pdf_text(&first);
        for needle in [
            "Löschprotokoll / Deletion report",
            "01.01.2027 – 31.01.2027",
            "Zusammenfassung je Datenart und Regel",
            "sitzungen",
            "anmelde-",
            "v1",
            "Rechtsstreit Az. 1 O 23/27",
            "Migration der Datenbank",
            "20.01.2027 09:00 UTC",
            &format!("Nr. {seq}"),
            &sha,
            &format!("SHA-256 {}…", &sha[..16]),
            "Seite 1 von",
        ] {
            assert!(text.contains(needle), "`{needle}` missing in:\n{text}");
        }
        assert!(
            !text.contains("Alte Sperre"),
            "a hold that ended before the range is not listed"
        );
        assert!(!text.contains("@example.org"), "no e-mail addresses");
        // Two entries, each with its ledger sequence number.
        let entries: Vec<Value> = serde_json::from_slice(
            &cli_at(
                &app,
                "2027-01-20T09:00:00Z",
                &[
                    "retention",
                    "report",
                    "--from",
                    "2027-01-01",
                    "--to",
                    "2027-01-31",
                    "--format",
                    "json",
                ],
            )
            .stdout,
        )
        .unwrap();
        assert_eq!(entries.len(), 2);
        for e in &entries {
            let seq = e["ledger_seq"].as_i64().unwrap().to_string();
            assert!(text.split(' ').any(|w| w == seq), "ledger seq {seq}");
        }
        let refused = cli_at(
            &app,
            "2027-01-20T09:00:00Z",
            &[
                "retention",
                "report",
                "--from",
                "2027-01-31",
                "--to",
                "2027-01-01",
                "--format",
                "pdf",
            ],
        );
        assert!(!refused.status.success());

        // The same download through the API (an auditor may file it too).
        let auditor = app.create_token("auditor", "dsb");
        let get = |path: String| {
            app.client
                .get(format!("{}{path}", app.address))
                .bearer_auth(&auditor)
                .send()
        };
        let pdf = get("/api/v1/retention/report?from=2027-01-01&to=2027-01-31&format=pdf".into())
            .await
            .unwrap();
        assert_eq!(pdf.status(), 200);
        assert_eq!(pdf.headers()["content-type"], "application/pdf");
        assert_eq!(
            pdf.headers()["content-disposition"],
            "attachment; filename=\"loeschbericht-2027-01-01-2027-01-31.pdf\""
        );
        let bytes = pdf.bytes().await.unwrap();
        assert!(bytes.starts_with(b"%PDF"));
        let text = pdf_text(&bytes);
        assert!(
            text.contains("sitzungen") && text.contains("Rechtsstreit Az. 1 O 23/27"),
            "{text}"
        );
        for bad in [
            "/api/v1/retention/report?from=2027-01-01&to=2027-01-31&format=docx",
            "/api/v1/retention/report?from=2027-01-31&to=2027-01-01&format=pdf",
            "/api/v1/retention/report?from=2027-13-01&to=2027-01-01&format=pdf",
        ] {
            assert_eq!(get(bad.into()).await.unwrap().status(), 422, "{bad}");
        }

        // The admin page offers the PDF and the concept.
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
            page.contains("option value=\"pdf\"")
                && page.contains("/api/v1/retention/concept?format=pdf"),
            "{page}"
        );
    }

    /// The deletion concept as a PDF names every rule's category; same rules, same bytes;
    /// also as a download.
    async fn deletion_concept_as_pdf(backend: Backend) {
        let app = TestApp::spawn_with(
            backend,
            crate::helpers::Options {
                now: Some("2026-12-01T10:00:00Z".into()),
                ..Default::default()
            },
        )
        .await;
        let out = app.cli(&["retention", "concept", "--format", "pdf"]);
        ok(&out);
        let again = app.cli(&["retention", "concept", "--format", "pdf"]);
        assert!(out.stdout == again.stdout, "byte-identical");
        let text = pdf_text(&out.stdout);
        let rules = std::fs::read_to_string(shipped_policies().join("retention.toml")).unwrap();
        let categories: Vec<&str> = rules
            .lines()
            .filter_map(|l| l.strip_prefix("category = \""))
            .map(|l| l.trim_end_matches('"'))
            .collect();
        assert!(categories.len() >= 10, "{categories:?}");
        for c in &categories {
            assert!(text.contains(c), "category `{c}` missing in:\n{text}");
        }
        for needle in [
            "Löschkonzept / Deletion concept",
            "Matrix der Löschklassen",
            "Startzeitpunkt",
            "Regellöschfrist",
            "Rechtsgrundlage",
            "Ende des Workshops",
            "3 Jahre (P3Y), gezählt ab Ende des Kalenderjahres",
            "anonymisieren",
        ] {
            assert!(text.contains(needle), "`{needle}` missing in:\n{text}");
        }
        let md = app.cli(&["retention", "concept", "--format", "md"]);
        ok(&md);
        assert!(String::from_utf8_lossy(&md.stdout).starts_with("# Löschkonzept"));
        assert!(
            !app.cli(&["retention", "concept", "--format", "docx"])
                .status
                .success()
        );

        let admin = app.create_token("admin", "admin");
        let get = |path: &'static str| {
            app.client
                .get(format!("{}{path}", app.address))
                .bearer_auth(&admin)
                .send()
        };
        let pdf = get("/api/v1/retention/concept?format=pdf").await.unwrap();
        assert_eq!(pdf.status(), 200);
        assert_eq!(pdf.headers()["content-type"], "application/pdf");
        assert_eq!(
            pdf.headers()["content-disposition"],
            "attachment; filename=\"loeschkonzept.pdf\""
        );
        let bytes = pdf.bytes().await.unwrap();
        assert!(pdf_text(&bytes).contains("teilnehmende-kontaktdaten"));
        let md = get("/api/v1/retention/concept").await.unwrap();
        assert_eq!(md.status(), 200);
        assert!(
            md.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/markdown")
        );
        assert_eq!(
            get("/api/v1/retention/concept?format=docx")
                .await
                .unwrap()
                .status(),
            422
        );
    }

    on_both_backends!(deletion_report_as_pdf, deletion_concept_as_pdf);
}
