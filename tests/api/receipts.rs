//! Signed receipts: the JWS in the receipt, the published keys, offline verification with
//! `consentd verify-receipt`, tampering, and key rotation.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, OM_NOTICE, TestApp, TestDb};
use crate::on_both_backends;

/// Posts a consent and returns (token, receipt JSON).
async fn consent(app: &TestApp, email: &str) -> (String, Value) {
    let response = app
        .post_json(
            "/api/v1/consents",
            &app.consent_body("koeln-2026", email).await,
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_owned();
    let receipt = app.receipt(&token).await;
    (token, receipt)
}

fn write(app: &TestApp, name: &str, text: &str) -> String {
    let path = app.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn run(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = app.cli(args);
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn receipt_is_signed_and_verifies_offline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let (token, receipt) = consent(&app, "erika@example.org").await;
    let jws = receipt["jws"].as_str().expect("the receipt carries `jws`");
    assert_eq!(jws.split('.').count(), 3, "compact JWS");

    // The key is created on first start, private to the service's user.
    let key_file = app.dir.path().join("data/signing-key.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "signing key must be 0600");
    }
    assert!(
        !app.logs().contains("PRIVATE KEY"),
        "the private key must never be logged"
    );

    let keys: Value = app.get("/api/v1/keys").await.json().await.unwrap();
    let kid = receipt["key_id"].as_str().unwrap();
    assert_eq!(keys["current"], kid);
    let published = keys["keys"].as_array().unwrap();
    assert!(
        published
            .iter()
            .any(|k| k["kid"] == kid && k["kty"] == "OKP" && k["crv"] == "Ed25519"),
        "{keys}"
    );

    // Offline, with the published keys.
    let keys_file = write(&app, "keys.json", &keys.to_string());
    let receipt_file = write(&app, "receipt.json", &receipt.to_string());
    let (ok, out) = run(
        &app,
        &["verify-receipt", &receipt_file, "--key", &keys_file],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains(receipt["receipt_id"].as_str().unwrap()),
        "{out}"
    );
    assert!(
        out.contains(receipt["notice"]["sha256"].as_str().unwrap()),
        "{out}"
    );
    // The bare JWS, with the claims as JSON: no personal data in the signed receipt.
    let jws_file = write(&app, "receipt.jws", jws);
    let (ok, out) = run(
        &app,
        &["verify-receipt", &jws_file, "--key", &keys_file, "--json"],
    );
    assert!(ok, "{out}");
    let claims: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(claims["version"], "KI-CR-v1.1.0");
    assert_eq!(claims["consentReceiptID"], receipt["receipt_id"]);
    assert_eq!(claims["piiPrincipalId"], receipt["subject"]["id"]);
    assert_eq!(
        claims["consentd"]["notice"]["sha256"],
        receipt["notice"]["sha256"]
    );
    assert_eq!(claims["consentd"]["recorded_seq"], receipt["ledger_seq"]);
    assert!(
        !out.contains("erika@example.org") && !out.contains("Erika Beispiel"),
        "{out}"
    );
    // Without --key: the keys this installation published.
    let (ok, out) = run(&app, &["verify-receipt", &jws_file]);
    assert!(ok, "{out}");

    // Any one-byte change fails, with a clear message (header, payload, signature).
    let len = jws.len();
    for i in [0, 5, len / 3, len / 2, len - 40, len - 1] {
        let mut bytes = jws.as_bytes().to_vec();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let file = write(&app, "tampered.jws", std::str::from_utf8(&bytes).unwrap());
        let (ok, out) = run(&app, &["verify-receipt", &file, "--key", &keys_file]);
        assert!(!ok, "change at byte {i} went undetected: {out}");
        assert!(out.contains("receipt INVALID"), "{out}");
    }

    // The same state gives the same receipt; a withdrawal gives a new one that says so.
    let again = app.receipt(&token).await;
    assert_eq!(again["jws"], receipt["jws"]);
    app.post_json(
        &format!("/api/v1/receipts/{token}/withdraw"),
        &serde_json::json!({"purposes": ["fotos"]}),
    )
    .await;
    let after = app.receipt(&token).await;
    assert_ne!(after["jws"], receipt["jws"]);
    let file = write(&app, "withdrawn.json", &after.to_string());
    let (ok, out) = run(&app, &["verify-receipt", &file, "--key", &keys_file]);
    assert!(ok, "{out}");
    assert!(out.contains("fotos: withdrawn"), "{out}");
}

async fn rotated_keys_keep_old_receipts_verifiable(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let (_, old) = consent(&app, "erika@example.org").await;

    let (ok, out) = run(&app, &["keys", "rotate"]);
    assert!(ok, "{out}");
    // A restarted instance signs with the new key.
    app.address = app.start_server();
    let (_, new) = consent(&app, "max@example.org").await;
    assert_ne!(old["key_id"], new["key_id"]);

    let keys: Value = app.get("/api/v1/keys").await.json().await.unwrap();
    let listed = keys["keys"].as_array().unwrap();
    let old_key = listed.iter().find(|k| k["kid"] == old["key_id"]).unwrap();
    assert!(old_key["retired_at"].is_string(), "{keys}");
    assert_eq!(keys["current"], new["key_id"]);
    let keys_file = write(&app, "keys.json", &keys.to_string());
    for receipt in [&old, &new] {
        let file = write(&app, "r.json", &receipt.to_string());
        let (ok, out) = run(&app, &["verify-receipt", &file, "--key", &keys_file]);
        assert!(ok, "{out}");
    }
    // With only the new key, the old receipt is refused, naming the missing key.
    let only_new =
        serde_json::json!({"keys": [listed.iter().find(|k| k["kid"] == new["key_id"]).unwrap()]});
    let only_new = write(&app, "new.json", &only_new.to_string());
    let file = write(&app, "old.json", &old.to_string());
    let (ok, out) = run(&app, &["verify-receipt", &file, "--key", &only_new]);
    assert!(!ok);
    assert!(out.contains(old["key_id"].as_str().unwrap()), "{out}");
    let out = app.cli(&["keys", "list", "--format", "json"]);
    assert!(out.status.success());
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
}

/// Words of the notice as a reader sees them: markdown syntax stripped, whitespace collapsed.
fn plain_words(markdown: &str) -> String {
    markdown
        .lines()
        .map(|l| {
            l.trim_start_matches(['#', '>', '-', '*', ' '])
                .trim_end_matches('\\')
        })
        .collect::<Vec<_>>()
        .join(" ")
        .replace("**", "")
        .replace('*', "")
        .replace('`', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

async fn staff_get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn consent_record_pdf_holds_text_hash_and_timeline(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let (token, receipt) = consent(&app, "erika@example.org").await;
    app.post_json(
        &format!("/api/v1/receipts/{token}/withdraw"),
        &serde_json::json!({"purposes": ["fotos"]}),
    )
    .await;
    let lawyer = app.create_token("lawyer", "kanzlei");
    let record_id = receipt["record_id"].as_str().unwrap();

    let response = staff_get(&app, &lawyer, &format!("/api/v1/consents/{record_id}/pdf")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let pdf = response.bytes().await.unwrap();
    // The full demo notice makes this record five pages; the typical two-page record is
    // measured in benches/consent_pdf.rs (≤ 40 KB).
    assert!(pdf.len() <= 64 * 1024, "{} bytes", pdf.len());
    let text = crate::helpers::pdf_text(&pdf);
    let sha = receipt["notice"]["sha256"].as_str().unwrap();
    let markdown = app
        .db
        .scalar_string(&format!(
            "SELECT markdown FROM notice_texts WHERE sha256 = '{sha}'"
        ))
        .await;
    // The full text as shown: every paragraph's words, in order.
    let squeezed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut probed = 0;
    for line in markdown.lines().map(plain_words).filter(|l| l.len() > 20) {
        let probe: String = line.chars().take(60).collect();
        assert!(
            squeezed.contains(&probe),
            "notice line missing from the PDF: {probe}"
        );
        probed += 1;
    }
    assert!(probed > 10, "the notice has more than ten lines of text");
    let no_space: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(no_space.contains(sha), "notice SHA-256 missing");
    assert!(text.contains("Einwilligungsnachweis"), "{text}");
    assert!(text.contains("Erika Beispiel"), "{text}");
    assert!(
        text.contains("widerrufen") && text.contains("erteilt"),
        "timeline states: {text}"
    );
    assert!(text.contains("UTC"), "{text}");
    assert!(
        squeezed.contains("Art. 6 Abs. 1 lit. a DSGVO") && !squeezed.contains("art6-1-a"),
        "legal bases cited, not coded: {text}"
    );
    assert!(text.contains("Seite 1 von"), "{text}");
    assert!(
        text.contains(receipt["key_id"].as_str().unwrap()),
        "key id missing"
    );
    assert!(text.contains("verify-receipt"), "how to verify: {text}");

    // Same state, same bytes; the participant's own copy is the same document.
    let again = staff_get(&app, &lawyer, &format!("/api/v1/consents/{record_id}/pdf"))
        .await
        .bytes()
        .await
        .unwrap();
    assert!(
        again == pdf,
        "the PDF is not byte-identical for the same state"
    );
    let own = app.get(&format!("/r/{token}/pdf")).await;
    assert_eq!(own.headers()["cache-control"], "no-store");
    assert!(own.bytes().await.unwrap() == pdf);
    // Staff only: collectors and anonymous callers are refused.
    let collector = app.create_token("collector", "website");
    assert_eq!(
        staff_get(
            &app,
            &collector,
            &format!("/api/v1/consents/{record_id}/pdf")
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("/api/v1/consents/{record_id}/pdf"))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );

    // A consent given in English gives an English record.
    let n = app.notice(OM_NOTICE, "en").await;
    let body = serde_json::json!({
        "workshop": "koeln-2026",
        "notice": { "id": n["id"], "version": n["version"], "language": "en", "sha256": n["sha256"] },
        "subject": { "name": "Jane Example", "email": "jane@example.org" },
        "purposes": { "durchfuehrung": true }
    });
    let created: Value = app
        .post_json("/api/v1/consents", &body)
        .await
        .json()
        .await
        .unwrap();
    let en = app
        .get(&format!("/r/{}/pdf", created["token"].as_str().unwrap()))
        .await
        .bytes()
        .await
        .unwrap();
    let en_text = crate::helpers::pdf_text(&en);
    assert!(
        en_text.contains("Consent record") && en_text.contains("Page 1 of"),
        "{en_text}"
    );
}

async fn workshop_records_zip_has_pdfs_signed_receipts_and_manifest(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let mut receipt_ids = Vec::new();
    for i in 0..3 {
        let (_, r) = consent(&app, &format!("p{i}@example.org")).await;
        receipt_ids.push(r["receipt_id"].as_str().unwrap().to_owned());
    }
    let auditor = app.create_token("auditor", "pruefung");
    let response = staff_get(&app, &auditor, "/api/v1/workshops/koeln-2026/records.zip").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let bytes = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut files = std::collections::BTreeMap::new();
    for i in 0..archive.len() {
        use std::io::Read;
        let mut file = archive.by_index(i).unwrap();
        let mut content = Vec::new();
        file.read_to_end(&mut content).unwrap();
        files.insert(file.name().to_owned(), content);
    }
    assert_eq!(
        files.len(),
        3 * 2 + 2,
        "{:?}",
        files.keys().collect::<Vec<_>>()
    );
    for id in &receipt_ids {
        assert!(
            files.keys().any(|n| n.ends_with(&format!("{id}.pdf"))),
            "{id}"
        );
        assert!(
            files
                .keys()
                .any(|n| n.ends_with(&format!("{id}.receipt.json"))),
            "{id}"
        );
    }
    // SHA256SUMS covers every record file and matches.
    let sums = String::from_utf8(files["SHA256SUMS"].clone()).unwrap();
    assert_eq!(sums.lines().count(), 6);
    for line in sums.lines() {
        let (hash, name) = line.split_once("  ").unwrap();
        use sha2::Digest;
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&files[name])),
            hash,
            "{name}"
        );
    }
    let manifest: Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest["records"], 3);
    assert_eq!(manifest["workshop"], "koeln-2026");
    // Each receipt verifies offline against the published keys.
    let keys: Value = app.get("/api/v1/keys").await.json().await.unwrap();
    let keys_file = write(&app, "keys.json", &keys.to_string());
    for (name, content) in files.iter().filter(|(n, _)| n.ends_with(".receipt.json")) {
        let file = write(&app, "r.json", std::str::from_utf8(content).unwrap());
        let (ok, out) = run(&app, &["verify-receipt", &file, "--key", &keys_file]);
        assert!(ok, "{name}: {out}");
    }
    for (name, content) in files.iter().filter(|(n, _)| n.ends_with(".pdf")) {
        assert!(
            crate::helpers::pdf_text(content).contains("Einwilligungsnachweis"),
            "{name}"
        );
    }
    // Admin and auditor only.
    let lawyer = app.create_token("lawyer", "kanzlei");
    assert_eq!(
        staff_get(&app, &lawyer, "/api/v1/workshops/koeln-2026/records.zip")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        staff_get(
            &app,
            &auditor,
            "/api/v1/workshops/gibt-es-nicht/records.zip"
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
}

/// A receipt token names its record; with any other secret it opens nothing, nor with the
/// id of another record.
async fn a_token_opens_only_its_own_receipt(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let (token, _) = consent(&app, "eigener.beleg@example.org").await;
    let (other, _) = consent(&app, "anderer.beleg@example.org").await;
    let status = |token: String| {
        let app = &app;
        async move { app.get(&format!("/api/v1/receipts/{token}")).await.status() }
    };
    assert_eq!(status(token.clone()).await, StatusCode::OK);
    let flipped = |token: &str, at: usize| {
        let mut bytes = token.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap()
    };
    // The secret changed, the id kept: the record is found, the token is not its own.
    assert_eq!(status(flipped(&token, 63)).await, StatusCode::NOT_FOUND);
    // The other record's id with this token's secret.
    let swapped = format!("{}{}", &other[..21], &token[21..]);
    assert_eq!(status(swapped).await, StatusCode::NOT_FOUND);
    assert_eq!(status(flipped(&token, 3)).await, StatusCode::NOT_FOUND);
}

/// Receipt tokens issued before migration 0014 carry no record id: after the migration they
/// still open their receipt, found by their hash. Migration 0015 moves the record's first
/// events into it and keeps the later ones as rows: both read back as before. Migration 0016
/// moves where the consent was given from (truncated address, user agent) to the subject; 0017
/// finishes letters cancelled with their listing; 0018 gives uploaded versions their author.
async fn tokens_from_before_migration_0014_still_open_their_receipt(backend: Backend) {
    use consentd::store::Db;
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDb::create_in(backend, dir.path(), None).await;
    let db = Db::connect(&test_db.url).await.unwrap();
    // The schema as it was before 0014 (the same files, so the same checksums) ...
    let sub = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let before = tempfile::tempdir().unwrap();
    for file in
        std::fs::read_dir(format!("{}/migrations/{sub}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    {
        let path = file.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0014" {
            std::fs::copy(&path, before.path().join(name)).unwrap();
        }
    }
    let earlier = sqlx::migrate::Migrator::new(before.path()).await.unwrap();
    // ... with a consent recorded then, its token the random bits alone.
    let legacy_token = "Ab-_".repeat(10) + "xyz";
    let rows = [
        "INSERT INTO notice_texts (sha256, notice_id, version, language, title, markdown, metadata_json, effective_on, first_loaded_at)
         VALUES ('n', 'notice', 1, 'de', 'T', 'M', '{}', '2026-01-01', '2026-01-01T00:00:00Z')",
        "INSERT INTO workshops (id, slug, title, kind, starts_on, ends_on, notice_id, controller_id, created_at)
         VALUES ('w', 'w', 'W', 'workshop', '2026-01-01', '2026-01-01', 'notice', 'c', '2026-01-01T00:00:00Z')",
        "INSERT INTO subjects (id, name, email, organisation, salt, digest, created_at)
         VALUES ('s', 'N', 'a@example.org', NULL, 'salt', 'digest', '2026-01-01T00:00:00Z')",
        "INSERT INTO ledger (seq, recorded_at, kind, ref_id, payload_sha256, prev_sha256, entry_sha256)
         VALUES (1, '2026-01-01T00:00:00Z', 'consent.given', 'r-before', 'p', 'q', 'e')",
        "INSERT INTO consent_records (id, receipt_id, subject_id, workshop_id, controller_id, notice_id,
             notice_version, notice_language, notice_sha256, notice_content_sha256, collection_method,
             ip_truncated, user_agent, token_sha256, recorded_at, ledger_seq)
         VALUES ('r-before', 'receipt', 's', 'w', 'c', 'notice', 1, 'de', 'n', 'c', 'api',
                 '192.0.2.0', 'Browser/1', $1, '2026-01-01T00:00:00Z', 1)",
        "INSERT INTO consent_events (id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq)
         VALUES ('e', 'r-before', 'fotos', 'art6-1-a', 'given', 'subject', '2026-01-01T00:00:00Z', 1)",
        // A first event at a time of its own, and a later withdrawal (0015 keeps it a row).
        "INSERT INTO consent_events (id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq)
         VALUES ('e0', 'r-before', 'newsletter', 'art6-1-a', 'given', 'subject', '2026-01-01T00:00:01Z', 1)",
        "INSERT INTO ledger (seq, recorded_at, kind, ref_id, payload_sha256, prev_sha256, entry_sha256)
         VALUES (2, '2026-01-02T00:00:00Z', 'consent.events', 'r-before', 'p2', 'e', 'e2')",
        "INSERT INTO consent_events (id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq)
         VALUES ('e2', 'r-before', 'fotos', 'art6-1-a', 'withdrawn', 'subject', '2026-01-02T00:00:00Z', 2)",
        // A letter cancelled with its listing, left unfinished with address and text (0017).
        "INSERT INTO outbox (id, dedupe_key, consultant_id, to_email, subject, body, state, next_attempt_at, created_at)
         VALUES ('o', 'k', 'gone', 'b@example.org', 'S', 'Guten Tag B', 'cancelled', '2026-01-03T00:00:00Z', '2026-01-03T00:00:00Z')",
        // A version uploaded then: its author is in the audit trail alone (0018).
        "INSERT INTO notice_versions (notice_id, version, content_sha256, metadata_json, texts_json, effective_on, state, source, created_at)
         VALUES ('notice', 2, 'c2', '{}', '{}', '2026-02-01', 'draft', 'upload', '2026-01-05T00:00:00Z')",
        "INSERT INTO audit_events (id, at, actor, action, target, ledger_seq)
         VALUES ('a', '2026-01-05T00:00:00Z', 'user:u1', 'notice.uploaded', 'notice:notice v2', 1)",
    ];
    macro_rules! before_0014 {
        ($pool:expr) => {{
            earlier.run($pool).await.unwrap();
            for sql in rows {
                sqlx::query(sql)
                    .bind(consentd::domain::consent::ReceiptToken::hash(&legacy_token))
                    .execute($pool)
                    .await
                    .unwrap();
            }
        }};
    }
    match &db {
        Db::Sqlite(pool) => before_0014!(pool),
        Db::Postgres(pool) => before_0014!(pool),
    }
    assert_eq!(
        db.migrate().await.unwrap(),
        5,
        "0014 to 0018 and nothing else were left"
    );
    if let Db::Sqlite(pool) = &db {
        // The rebuilt table is still the one the events reference.
        let broken: Vec<(String, i64, String, i64)> = sqlx::query_as("PRAGMA foreign_key_check")
            .fetch_all(pool)
            .await
            .unwrap();
        assert!(broken.is_empty(), "{broken:?}");
    }
    // 0015: the first events are in the record, the withdrawal still a row; read back alike.
    let events = consentd::store::consents::events_of(&db, "r-before")
        .await
        .unwrap();
    let seen: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.id.as_str(),
                e.purpose_id.as_str(),
                e.state.as_str(),
                e.ledger_seq,
                e.occurred_at.to_rfc3339(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "e",
                "fotos",
                "given",
                1,
                "2026-01-01T00:00:00+00:00".to_owned()
            ),
            (
                "e0",
                "newsletter",
                "given",
                1,
                "2026-01-01T00:00:01+00:00".to_owned()
            ),
            (
                "e2",
                "fotos",
                "withdrawn",
                2,
                "2026-01-02T00:00:00+00:00".to_owned()
            ),
        ]
    );
    let later = "SELECT id FROM later_consent_events";
    let rows: Vec<String> = match &db {
        Db::Sqlite(pool) => sqlx::query_scalar(later).fetch_all(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(later).fetch_all(pool).await.unwrap(),
    };
    assert_eq!(rows, ["e2"], "only the later event stays a row");
    // 0016: where the consent was given from is the subject's now.
    let subject = consentd::store::consents::subject(&db, "s")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(subject.ip_truncated.as_deref(), Some("192.0.2.0"));
    assert_eq!(subject.user_agent.as_deref(), Some("Browser/1"));

    // 0017: the cancelled letter is finished, without address or text.
    let letter = "SELECT COUNT(*) FROM outbox WHERE finished_at = created_at AND to_email IS NULL AND body IS NULL";
    let finished: i64 = match &db {
        Db::Sqlite(pool) => sqlx::query_scalar(letter).fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(letter).fetch_one(pool).await.unwrap(),
    };
    assert_eq!(finished, 1);
    // 0018: the uploaded version knows its author.
    let author =
        "SELECT uploaded_by FROM notice_versions WHERE notice_id = 'notice' AND version = 2";
    let author: Option<String> = match &db {
        Db::Sqlite(pool) => sqlx::query_scalar(author).fetch_one(pool).await.unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(author).fetch_one(pool).await.unwrap(),
    };
    assert_eq!(author.as_deref(), Some("user:u1"));

    let found = consentd::store::consents::by_token(&db, &legacy_token)
        .await
        .unwrap();
    assert_eq!(found.map(|r| r.id).as_deref(), Some("r-before"));
    let other = "Ab-_".repeat(10) + "xyw";
    assert!(
        consentd::store::consents::by_token(&db, &other)
            .await
            .unwrap()
            .is_none()
    );
    db.close().await;
}

on_both_backends!(
    a_token_opens_only_its_own_receipt,
    tokens_from_before_migration_0014_still_open_their_receipt,
    receipt_is_signed_and_verifies_offline,
    rotated_keys_keep_old_receipts_verifiable,
    consent_record_pdf_holds_text_hash_and_timeline,
    workshop_records_zip_has_pdfs_signed_receipts_and_manifest
);
