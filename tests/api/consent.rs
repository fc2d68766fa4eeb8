//! Consent → receipt → withdrawal through the JSON API, and every kind of bad input.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, OM_NOTICE, TestApp};
use crate::on_both_backends;

async fn consent_receipt_withdrawal_then_verify(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let before = app.ledger_length();

    let response = app
        .post_json(
            "/api/v1/consents",
            &app.consent_body("koeln-2026", "erika@example.org").await,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 43, "token must carry at least 128 bits");
    assert_eq!(created["ledger_seq"], before + 1);
    assert_eq!(created["purposes"]["fotos"], "given");
    assert_eq!(created["purposes"]["newsletter"], "refused");
    assert_eq!(
        created["purposes"]["feedback"], "refused",
        "absent optional purposes are refusals"
    );
    assert_eq!(created["purposes"]["durchfuehrung"], "acknowledged");

    let receipt: Value = app.receipt(&token).await;
    assert_eq!(receipt["receipt_id"], created["receipt_id"]);
    assert_eq!(receipt["notice"]["sha256"], created["notice"]["sha256"]);
    assert_eq!(receipt["collection_method"], "api");
    assert_eq!(receipt["subject"]["email"], "erika@example.org");
    assert_eq!(receipt["controller"]["id"], "om");
    let fotos = receipt["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "fotos")
        .unwrap();
    assert_eq!(fotos["state"], "given");
    assert_eq!(fotos["legal_basis"], "art6-1-a");

    let withdrawn: Value = app
        .post_json(
            &format!("/api/v1/receipts/{token}/withdraw"),
            &json!({"purposes": ["fotos"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(withdrawn["withdrawn"], json!(["fotos"]));
    let fotos = withdrawn["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "fotos")
        .unwrap();
    assert_eq!(fotos["state"], "withdrawn");
    // History is kept: the original `given` event is still there, followed by `withdrawn`.
    let fotos_events: Vec<&Value> = withdrawn["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["purpose"] == "fotos")
        .collect();
    assert_eq!(
        fotos_events
            .iter()
            .map(|e| e["state"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["given", "withdrawn"]
    );

    // Withdrawing again changes nothing and writes nothing.
    let again: Value = app.withdraw_all(&token).await.json().await.unwrap();
    assert_eq!(again["withdrawn"], json!([]));

    let (ok, out) = app.verify();
    assert!(ok, "verify failed: {out}");
    assert!(
        out.contains(&format!("ledger OK: {} entries", before + 2)),
        "{out}"
    );
    assert!(out.contains("1 consent record(s), 5 event(s)"), "{out}");
}

async fn stale_or_wrong_notice_is_a_conflict(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let before = app.ledger_length();
    let mut body = app.consent_body("koeln-2026", "erika@example.org").await;

    // The hash of a text the participant was not shown as the one in force.
    body["notice"]["sha256"] = json!("0".repeat(64));
    let response = app.post_json("/api/v1/consents", &body).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "notice_not_in_force");
    let current = app.notice(OM_NOTICE, "de").await;
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains(current["sha256"].as_str().unwrap()),
        "the 409 names the version in force: {error}"
    );

    // The exact text of the superseded version 1 is stale too.
    let v1 = app.cli(&["policies", "check"]);
    let listing = String::from_utf8_lossy(&v1.stdout).to_string();
    let v1_sha = listing
        .lines()
        .find(|l| l.contains(&format!("{OM_NOTICE} v1 de")))
        .and_then(|l| l.split("sha256 ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    body["notice"]["version"] = json!(1);
    body["notice"]["sha256"] = json!(v1_sha);
    assert_eq!(
        app.post_json("/api/v1/consents", &body).await.status(),
        StatusCode::CONFLICT
    );
    let (ok, out) = app.verify();
    assert!(
        ok && out.contains(&format!("ledger OK: {before} entries")),
        "nothing may be recorded: {out}"
    );
    assert!(out.contains("0 consent record(s)"), "{out}");
}

/// Each kind of bad body gets a 4xx JSON error naming the field; none gets a 500.
async fn bad_bodies_get_4xx_naming_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let good = app.consent_body("koeln-2026", "erika@example.org").await;
    let with = |path: &[&str], value: Value| {
        let mut body = good.clone();
        let mut target = &mut body;
        for key in &path[..path.len() - 1] {
            target = &mut target[*key];
        }
        target[path[path.len() - 1]] = value;
        body
    };
    let without = |path: &[&str]| {
        let mut body = good.clone();
        let mut target = &mut body;
        for key in &path[..path.len() - 1] {
            target = &mut target[*key];
        }
        target.as_object_mut().unwrap().remove(path[path.len() - 1]);
        body
    };
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "unknown workshop",
            with(&["workshop"], json!("gibt-es-nicht")),
            422,
            "workshop",
        ),
        ("missing workshop", without(&["workshop"]), 422, "workshop"),
        ("missing notice", without(&["notice"]), 422, "notice"),
        (
            "notice of another workshop",
            with(&["notice", "id"], json!("stiftung-workshop-teilnehmende")),
            422,
            "notice.id",
        ),
        (
            "unknown language",
            with(&["notice", "language"], json!("fr")),
            422,
            "notice.language",
        ),
        (
            "version as string",
            with(&["notice", "version"], json!("zwei")),
            422,
            "notice.version",
        ),
        (
            "missing email",
            without(&["subject", "email"]),
            422,
            "subject.email",
        ),
        (
            "bad email",
            with(&["subject", "email"], json!("erika(at)example.org")),
            422,
            "subject.email",
        ),
        (
            "empty name",
            with(&["subject", "name"], json!("  ")),
            422,
            "subject.name",
        ),
        (
            "overlong organisation",
            with(&["subject", "organisation"], json!("x".repeat(201))),
            422,
            "subject.organisation",
        ),
        (
            "typo in subject",
            with(&["subject", "organization"], json!("X")),
            422,
            "subject.organization",
        ),
        (
            "unknown purpose",
            with(&["purposes", "marketing"], json!(true)),
            422,
            "purposes.marketing",
        ),
        (
            "purpose not boolean",
            with(&["purposes", "fotos"], json!("yes")),
            422,
            "purposes.fotos",
        ),
        (
            "required purpose refused",
            with(&["purposes", "durchfuehrung"], json!(false)),
            422,
            "purposes.durchfuehrung",
        ),
        (
            "no acknowledgement",
            without(&["purposes", "durchfuehrung"]),
            422,
            "acknowledged",
        ),
        ("body is an array", json!([1, 2]), 422, "(body)"),
    ];
    for (what, body, status, field) in cases {
        let response = app.post_json("/api/v1/consents", &body).await;
        assert_eq!(response.status().as_u16(), status, "{what}");
        let error: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{what}: no JSON: {e}"));
        assert_eq!(error["error"]["field"], field, "{what}: {error}");
        assert!(
            error["error"]["code"].is_string() && error["error"]["message"].is_string(),
            "{what}"
        );
    }

    let raw = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(format!("{}/api/v1/consents", app.address))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases: Vec<(&str, reqwest::Response, u16, &str)> = vec![
        (
            "malformed JSON",
            raw(b"{\"workshop\": ".to_vec(), "application/json")
                .await
                .unwrap(),
            400,
            "malformed_body",
        ),
        (
            "trailing garbage",
            raw(b"{} x".to_vec(), "application/json").await.unwrap(),
            400,
            "malformed_body",
        ),
        (
            "not JSON at all",
            raw(b"name=x".to_vec(), "application/x-www-form-urlencoded")
                .await
                .unwrap(),
            415,
            "unsupported_media_type",
        ),
        ("oversized", oversized(&app).await, 413, "payload_too_large"),
    ];
    for (what, response, status, code) in cases {
        assert_eq!(response.status().as_u16(), status, "{what}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{what}");
    }

    // Withdrawal and receipts answer the same way.
    let response = app.get("/api/v1/receipts/not-a-token").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "not_found"
    );
    let created: Value = app
        .post_json("/api/v1/consents", &good)
        .await
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap();
    let response = app
        .post_json(
            &format!("/api/v1/receipts/{token}/withdraw"),
            &json!({"purposes": ["unbekannt"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["field"],
        "purposes"
    );
    let response = app
        .post_json(&format!("/api/v1/receipts/{token}/withdraw"), &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = app
        .client
        .delete(format!("{}/api/v1/consents", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "method_not_allowed"
    );
    assert!(
        !app.logs().contains("status=500"),
        "no request may end in a 500:\n{}",
        app.logs()
    );
}

async fn notices_api_lists_versions_in_force(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let all: Vec<Value> = app.get("/api/v1/notices").await.json().await.unwrap();
    // om has German and English, the foundation German only.
    let keys: Vec<(String, String)> = all
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap().to_owned(),
                n["language"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            (OM_NOTICE.to_owned(), "de".to_owned()),
            (OM_NOTICE.to_owned(), "en".to_owned()),
            ("stiftung-workshop-teilnehmende".to_owned(), "de".to_owned())
        ]
    );
    for n in &all {
        assert_eq!(n["version"], 2);
        // The sha256 is the hash of exactly the `text` returned.
        let text = n["text"].as_str().unwrap();
        assert_eq!(n["sha256"].as_str().unwrap(), sha256_hex(text.as_bytes()));
        for p in n["purposes"].as_array().unwrap() {
            assert!(
                p["id"].is_string()
                    && p["title"].is_string()
                    && p["legal_basis"].is_string()
                    && p["required"].is_boolean()
            );
        }
    }
}

/// Simulated time decides which version is in force: before version 2's effective date,
/// version 1 is offered and version 2 is refused.
async fn version_in_force_follows_the_clock(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        crate::helpers::Options {
            now: Some("2021-05-15T10:00:00+02:00".into()),
            ..Default::default()
        },
    )
    .await;
    let n = app.notice(OM_NOTICE, "de").await;
    assert_eq!(n["version"], 1);
    app.add_workshop("frueher-workshop", OM_NOTICE);
    let body = app.consent_body("frueher-workshop", "a@example.org").await;
    let created: Value = app
        .post_json("/api/v1/consents", &body)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        created["recorded_at"]
            .as_str()
            .unwrap()
            .starts_with("2021-05-15T08:00"),
        "{created}"
    );
}

/// A 200 KiB body, on a connection of its own: the server answers 413 without reading the
/// body and then closes that connection, which a pooled client would otherwise reuse.
async fn oversized(app: &TestApp) -> reqwest::Response {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
        .post(format!("{}/api/v1/consents", app.address))
        .header("content-type", "application/json")
        .body(vec![b' '; 200 * 1024])
        .send()
        .await
        .unwrap()
}

/// Requests check a consent against a cached view of its workshop and notice catalogue, and
/// the writer confirms that view in the commit. So what another instance or the CLI changes
/// behind this process's back still decides the next consent: a catalogue that moved on costs
/// a check against the database, not the consent; an archived workshop takes no consent.
async fn changes_made_elsewhere_decide_the_next_consent(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let post = |email: &'static str| {
        let app = &app;
        async move {
            let body = app.consent_body("koeln-2026", email).await;
            app.post_json("/api/v1/consents", &body).await
        }
    };
    assert_eq!(
        post("erste@example.org").await.status(),
        StatusCode::CREATED
    );

    // As a notice review in another instance would (nothing in force changes).
    app.db
        .tamper(&["UPDATE notice_catalog_generation SET generation = generation + 1 WHERE id = 1"])
        .await;
    assert_eq!(
        post("zweite@example.org").await.status(),
        StatusCode::CREATED,
        "checked again against the new catalogue, and stored"
    );

    // As `POST …/archive` on another instance would.
    app.db
        .tamper(&[
            "UPDATE workshops SET archived_at = '2026-01-01T00:00:00Z' WHERE slug = 'koeln-2026'",
        ])
        .await;
    let refused = post("dritte@example.org").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["field"], "workshop", "{body}");
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM consent_records")
            .await,
        2
    );
    let (ok, report) = app.verify();
    assert!(ok, "{report}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

on_both_backends!(
    consent_receipt_withdrawal_then_verify,
    stale_or_wrong_notice_is_a_conflict,
    bad_bodies_get_4xx_naming_the_field,
    notices_api_lists_versions_in_force,
    version_in_force_follows_the_clock,
    changes_made_elsewhere_decide_the_next_consent,
);
