//! Data-subject rights: find by e-mail, export (Art. 15/20), rectification (Art. 16) and
//! erasure (Art. 17) with its report, on both backends.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, OM_NOTICE, TestApp, pdf_text};
use crate::on_both_backends;

const EMAIL: &str = "Hanna.Hansen@example.org";
const NAME: &str = "Hanna Hansen";

struct Staff<'a> {
    app: &'a TestApp,
    token: String,
}

impl Staff<'_> {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .app
            .client
            .request(method, format!("{}{path}", self.app.address))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
}

/// A participant signed up twice (two subjects under one address, in different case), a
/// consultant listing and a reminder under the same address, and workshop attendance.
async fn person_with_history(backend: Backend) -> (TestApp, String, String) {
    let app = TestApp::spawn_at(backend, "2026-11-27T10:00:00Z").await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    app.add_workshop("bonn-2026", OM_NOTICE);
    let mut tokens = Vec::new();
    for (workshop, email) in [("koeln-2026", EMAIL), ("bonn-2026", &EMAIL.to_lowercase())] {
        let mut body = app.consent_body(workshop, email).await;
        body["subject"]["name"] = json!(NAME);
        let created: Value = app
            .post_json("/api/v1/consents", &body)
            .await
            .json()
            .await
            .unwrap();
        tokens.push(created["token"].as_str().unwrap().to_owned());
    }
    // Someone else, who must not be touched.
    app.post_json(
        "/api/v1/consents",
        &app.consent_body("koeln-2026", "other@example.org").await,
    )
    .await;
    let out = app.cli(&["workshop", "attend", "koeln-2026", "--email", EMAIL]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Listed as a consultant whose authorisation lapsed: the run queues one notice.
    let out = app.cli(&[
        "consultant",
        "add",
        "--name",
        NAME,
        "--email",
        EMAIL,
        "--authorised-on",
        "2023-01-10",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = app.cli(&["retention", "run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipt: Value = app.receipt(&tokens[0]).await;
    let subject_id = receipt["subject"]["id"].as_str().unwrap().to_owned();
    (app, subject_id, tokens.remove(0))
}

async fn find_and_export_cover_everything_held(backend: Backend) {
    let (app, subject_id, token) = person_with_history(backend).await;
    let staff = Staff {
        token: app.create_token("lawyer", "dsgvo"),
        app: &app,
    };

    let (status, found) = staff
        .get("/api/v1/subjects?email=hanna.hansen%40EXAMPLE.org")
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let subjects = found["subjects"].as_array().unwrap();
    assert_eq!(
        subjects.len(),
        2,
        "both sign-ups, whatever the case: {found}"
    );
    assert!(subjects.iter().any(|s| s["id"] == subject_id.as_str()));
    // Beyond ASCII as well, on SQLite (whose lower() folds ASCII only) as on PostgreSQL.
    app.record_consent("koeln-2026", "ÄNNE@example.org").await;
    let (_, umlaut) = staff
        .get("/api/v1/subjects?email=%C3%A4nne%40example.org")
        .await;
    assert_eq!(umlaut["subjects"].as_array().unwrap().len(), 1, "{umlaut}");
    let (status, bad) = staff.get("/api/v1/subjects?email=kein-at").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    // Consent records carry their subject.
    let record_id = subjects[0]["records"][0]["id"].as_str().unwrap();
    let admin = app.create_token("admin", "admin");
    let record: Value = app
        .client
        .get(format!("{}/api/v1/consents/{record_id}", app.address))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(record["subject_id"], subjects[0]["id"]);

    let (status, export) = staff
        .get(&format!("/api/v1/subjects/{subject_id}/export"))
        .await;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert_eq!(export["scope"], "person");
    assert_eq!(export["identity"].as_array().unwrap().len(), 2);
    assert_eq!(export["identity"][0]["name"], NAME);
    assert_eq!(export["consents"].as_array().unwrap().len(), 2);
    let first = &export["consents"][0];
    assert!(first["events"].as_array().unwrap().len() >= 3, "{first}");
    assert_eq!(first["notice"]["id"], OM_NOTICE);
    assert_eq!(export["attendance"][0]["workshop"], "koeln-2026");
    assert_eq!(export["consultant"]["name"], NAME);
    assert!(
        !export["reminders"].as_array().unwrap().is_empty(),
        "the consultant notice is a message to the person: {export}"
    );
    assert!(!export.to_string().contains("other@example.org"));
    // Every table the coverage list marks as personal is accounted for.
    let coverage = app.cli(&["retention", "coverage", "--json"]);
    let tables: Vec<String> = match serde_json::from_slice::<Value>(&coverage.stdout) {
        Ok(v) => v["personal_tables"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    assert!(
        !tables.is_empty(),
        "retention coverage --json lists the personal tables"
    );
    for table in &tables {
        assert!(
            export["tables"].get(table).is_some(),
            "export does not account for table {table}"
        );
    }

    // The PDF version has the same content.
    let pdf = app
        .client
        .get(format!(
            "{}/api/v1/subjects/{subject_id}/export?format=pdf",
            app.address
        ))
        .bearer_auth(&staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let text = pdf_text(&pdf.bytes().await.unwrap());
    assert!(text.contains("Auskunft nach Art. 15 DSGVO"), "{text}");
    assert!(text.contains(NAME) && text.contains("koeln-2026"), "{text}");
    // In the reader's words: states, legal bases and ways in German, times in Berlin time.
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for german in [
        "Art. 6 Abs. 1 lit. a DSGVO",
        "erteilt",
        "zur Kenntnis genommen",
    ] {
        assert!(flat.contains(german), "{german}: {flat}");
    }
    for code in [
        "art6-1-a",
        "given",
        "acknowledged",
        "format=json",
        "not about participants",
    ] {
        assert!(!flat.contains(code), "{code} in: {flat}");
    }
    assert!(
        flat.contains("+01:00"),
        "Berlin time with its offset: {flat}"
    );

    // The participant's own link exports that sign-up only.
    let own: Value = app
        .get(&format!("/r/{token}/export"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(own["scope"], "own_record");
    assert_eq!(own["identity"].as_array().unwrap().len(), 1);
    assert_eq!(own["consents"].as_array().unwrap().len(), 1);
    assert_eq!(own["attendance"].as_array().unwrap().len(), 0);

    // Searching and exporting are audited, without the address.
    let (_, audit) = Staff {
        token: admin.clone(),
        app: &app,
    }
    .get("/api/v1/audit")
    .await;
    let audit = audit.to_string();
    assert!(
        audit.contains("subject.searched") && audit.contains("subject.exported"),
        "{audit}"
    );
    assert!(!audit.to_lowercase().contains("hanna.hansen"), "{audit}");
    // Lawyers may look, not erase.
    let (status, _) = staff
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/subjects/{subject_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn rectification_is_recorded_and_verifies(backend: Backend) {
    let (app, subject_id, token) = person_with_history(backend).await;
    let admin = Staff {
        token: app.create_token("admin", "admin"),
        app: &app,
    };
    let (status, report) = admin
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/subjects/{subject_id}"),
            Some(json!({"name": "Hanna Hansen-Berg", "organisation": "Berg KG"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["subject_ids"].as_array().unwrap().len(), 2);
    assert_eq!(report["fields"], json!(["name", "organisation"]));
    let receipt: Value = app.receipt(&token).await;
    assert_eq!(receipt["subject"]["name"], "Hanna Hansen-Berg");
    let (ok, out) = app.verify();
    assert!(ok, "a rectification through the service verifies: {out}");
    // The old name is not kept with the subjects or their rectifications.
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM subjects WHERE name = 'Hanna Hansen'")
            .await,
        0
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM subject_rectifications WHERE fields LIKE '%Hanna%' OR digest LIKE '%Hanna%'")
            .await,
        0
    );

    let (status, bad) = admin
        .send(
            reqwest::Method::PATCH,
            &format!("/api/v1/subjects/{subject_id}"),
            Some(json!({"email": "keine-adresse"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    assert_eq!(bad["error"]["field"], "email");

    // The same change made with SQL is caught.
    app.db
        .tamper(&["UPDATE subjects SET name = 'Hanna Fälschung' WHERE name = 'Hanna Hansen-Berg'"])
        .await;
    let (ok, out) = app.verify();
    assert!(!ok && out.contains("was changed"), "{out}");
}

async fn erasure_removes_the_person_everywhere_and_reports(backend: Backend) {
    let (mut app, subject_id, token) = person_with_history(backend).await;
    let backup = app.backup().await;
    let admin = Staff {
        token: app.create_token("admin", "admin"),
        app: &app,
    };
    // A legal hold on the workshop stops the erasure.
    let (status, hold) = admin
        .send(
            reqwest::Method::POST,
            "/api/v1/retention/holds",
            Some(json!({"scope": "workshop", "target": "bonn-2026", "reason": "Rechtsstreit"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    let (status, refused) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/subjects/{subject_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "subject_on_hold");
    admin
        .send(
            reqwest::Method::POST,
            &format!(
                "/api/v1/retention/holds/{}/release",
                hold["id"].as_str().unwrap()
            ),
            None,
        )
        .await;

    // A mail server that quoted the address in its answer (as written before the delivery
    // took addresses out of it): the answer goes with the address.
    let quoted = format!("UPDATE outbox SET last_error = '452 <{EMAIL}> mailbox full'");
    app.db.tamper(&[&quoted]).await;
    let with_address = "SELECT COUNT(*) FROM subjects WHERE ip_truncated IS NOT NULL";
    let addresses_before = app.db.scalar_i64(with_address).await;
    let (status, report) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/subjects/{subject_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        app.db.scalar_i64(with_address).await,
        addresses_before - 2,
        "both sign-ups' truncated addresses are gone"
    );
    assert_eq!(report["subject_ids"].as_array().unwrap().len(), 2);
    let item = |table: &str| {
        report["erased"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["table"] == table)
            .cloned()
    };
    let erased = |table: &str| item(table).map_or(-1, |e| e["rows"].as_i64().unwrap());
    assert_eq!(erased("subjects"), 2, "{report}");
    // Where the consents were given from is the subjects' data (migration 0016), erased with it.
    assert_eq!(
        item("subjects").unwrap()["fields"],
        "name, email, organisation, salt, ip_truncated, user_agent"
    );
    assert_eq!(
        erased("consent_records"),
        -1,
        "nothing erased there: {report}"
    );
    assert_eq!(erased("workshop_attendance"), 1, "{report}");
    assert_eq!(erased("consultants"), 1, "{report}");
    assert!(erased("outbox") >= 1, "{report}");
    let kept = report["kept"].to_string();
    assert!(
        kept.contains("Art. 17(3)(e)") && kept.contains("einwilligungsnachweise"),
        "{kept}"
    );
    let by_hand = report["by_hand"].to_string();
    assert!(
        by_hand.contains("feedbackbogen") && by_hand.contains("backups"),
        "{by_hand}"
    );
    assert_eq!(report["ledger_seqs"].as_array().unwrap().len(), 2);

    // Nothing anywhere holds the name or the address; the other participant is untouched.
    let dump = app.dump_text().await;
    for needle in [NAME, EMAIL, &EMAIL.to_lowercase()] {
        assert!(
            !dump.contains(needle),
            "`{needle}` is still in the database"
        );
    }
    assert!(dump.contains("other@example.org"));
    for log in [app.logs()] {
        assert!(
            !log.to_lowercase().contains("hanna"),
            "logs name the person"
        );
    }
    let (ok, out) = app.verify();
    assert!(ok, "{out}");
    assert!(out.contains("2 subject(s) erased"), "{out}");

    // The participant's link shows the erased record; the proof can be re-linked only with
    // the address.
    let receipt: Value = app.receipt(&token).await;
    assert_eq!(receipt["subject"]["erased"], true);
    assert!(receipt["jws"].is_string());
    let (_, found) = admin
        .get("/api/v1/subjects?email=hanna.hansen%40example.org")
        .await;
    let found = found["subjects"].as_array().unwrap();
    assert_eq!(found.len(), 2, "re-linked through the kept pseudonym");
    assert!(
        found
            .iter()
            .all(|s| s["erased_at"].is_string() && s["email"].is_null())
    );

    // A second erasure says so.
    let (status, again) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/subjects/{subject_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert_eq!(again["error"]["code"], "subject_erased");
    let (status, _) = admin
        .send(reqwest::Method::DELETE, "/api/v1/subjects/not-a-uuid", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The erasure is in the deletion log (one entry per subject, attendance row and listing)
    // and in the journal: a backup from before it comes back erased after a replay.
    let logged = app
        .db
        .scalar_i64("SELECT COUNT(*) FROM deletion_log WHERE target LIKE 'Art. 17%'")
        .await;
    assert_eq!(logged, 4);
    drop(admin);
    app.restore(&backup);
    assert_eq!(
        app.db
            .scalar_i64(
                "SELECT COUNT(*) FROM subjects WHERE lower(email) = 'hanna.hansen@example.org'"
            )
            .await,
        2,
        "the backup brought the person back"
    );
    let out = app.cli(&["retention", "replay"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for table in ["subjects", "workshop_attendance", "consultants"] {
        assert_eq!(
            app.db
                .scalar_i64(&format!(
                    "SELECT COUNT(*) FROM {table} WHERE lower(email) = 'hanna.hansen@example.org'"
                ))
                .await,
            0,
            "{table} after replay"
        );
    }
    let (ok, out) = app.verify();
    assert!(ok, "{out}");
}

async fn staff_area_finds_exports_and_erases(backend: Backend) {
    let (app, subject_id, _) = person_with_history(backend).await;
    app.add_user("dsb@example.org", "admin");
    app.add_user("kanzlei@example.org", "lawyer");
    let page = |session: &crate::helpers::Session, path: &str| {
        app.client
            .get(format!("{}{path}", app.address))
            .header("cookie", &session.cookie)
            .send()
    };
    let lawyer = app.login("kanzlei@example.org").await;
    let html = page(&lawyer, "/staff/subjects?email=hanna.hansen%40example.org")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(NAME) && html.contains(&subject_id), "{html}");
    assert!(html.contains("/export?format=pdf"));
    assert!(!html.contains("/erase"), "lawyers get no erase button");

    let admin = app.login("dsb@example.org").await;
    let html = page(&admin, "/staff/subjects?email=hanna.hansen%40example.org")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("/staff/subjects/{subject_id}/erase")),
        "{html}"
    );
    // The export link works with the session.
    let pdf = page(
        &admin,
        &format!("/api/v1/subjects/{subject_id}/export?format=pdf"),
    )
    .await
    .unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");

    let erased = app
        .client
        .post(format!("{}/staff/subjects/{subject_id}/erase", app.address))
        .header("cookie", &admin.cookie)
        .header("origin", &app.address)
        .form(&[("csrf", admin.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(erased.status(), StatusCode::OK);
    let html = erased.text().await.unwrap();
    assert!(
        html.contains("Art. 17(3)(e)") && html.contains("Von Hand"),
        "{html}"
    );
    let (ok, out) = app.verify();
    assert!(ok, "{out}");
    app.db.assert_snapshot_reads_agree().await;
    // Without the CSRF token nothing happens.
    let refused = app
        .client
        .post(format!("{}/staff/subjects/{subject_id}/erase", app.address))
        .header("cookie", &admin.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// An erasure commits before its audit event is written: when that write fails, the answer
/// still reports the erasure (a retry would only be told it was erased already), and the
/// erased events name who erased.
async fn an_erasure_answers_what_it_did_when_its_audit_event_fails(backend: Backend) {
    let (app, subject_id, _) = person_with_history(backend).await;
    let admin = Staff {
        token: app.create_token("admin", "admin"),
        app: &app,
    };
    let refuse: &[&str] = match backend {
        Backend::Sqlite => &[
            "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'audit refused'); END",
        ],
        Backend::Postgres => &[
            "CREATE FUNCTION no_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION no_audit()",
        ],
    };
    app.db.tamper(refuse).await;
    let (status, report) = admin
        .send(
            reqwest::Method::DELETE,
            &format!("/api/v1/subjects/{subject_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["subject_ids"].as_array().unwrap().len(), 2);
    let erased = "SELECT COUNT(*) FROM consent_events WHERE state = 'erased'";
    let by_admin = format!("{erased} AND actor = 'token:admin'");
    assert!(app.db.scalar_i64(erased).await > 0);
    assert_eq!(
        app.db.scalar_i64(&by_admin).await,
        app.db.scalar_i64(erased).await
    );
    assert!(app.logs().contains("audit event could not be written"));
}

on_both_backends!(
    an_erasure_answers_what_it_did_when_its_audit_event_fails,
    staff_area_finds_exports_and_erases,
    find_and_export_cover_everything_held,
    rectification_is_recorded_and_verifies,
    erasure_removes_the_person_everywhere_and_reports,
);
