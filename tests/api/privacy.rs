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
