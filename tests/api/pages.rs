//! The participant pages: consent through the web form, the receipt, one-click withdrawal.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, REFERRER_POLICY};

use crate::helpers::{Backend, OM_NOTICE, TestApp};
use crate::on_both_backends;

async fn web_form_consent_receipt_and_one_click_withdrawal(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let before = app.ledger_length();

    let page = app.get("/w/koeln-2026").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    let html = page.text().await.unwrap();
    let notice = app.notice(OM_NOTICE, "de").await;
    assert!(html.contains("<html lang=\"de\""));
    assert!(
        html.contains(notice["sha256"].as_str().unwrap()),
        "the page shows the hash of the text"
    );
    assert!(
        html.contains("Offensive Mittelstand"),
        "the page names the controller"
    );
    assert!(
        html.contains("Speicherdauer"),
        "version 2 (with storage periods) is the one in force"
    );
    // Planet49: no pre-ticked box, and one checkbox per optional purpose.
    assert!(!html.contains("checked"), "no box may be pre-ticked");
    for purpose in ["fotos", "feedback", "newsletter"] {
        assert!(
            html.contains(&format!("name=\"purpose.{purpose}\"")),
            "{purpose} checkbox"
        );
    }
    assert!(
        !html.contains("name=\"purpose.durchfuehrung\""),
        "required purposes are not a choice"
    );
    assert!(!html.contains("<script"), "no script");

    let form = [
        ("notice_id", OM_NOTICE.to_owned()),
        ("notice_version", notice["version"].to_string()),
        ("notice_language", "de".to_owned()),
        (
            "notice_sha256",
            notice["sha256"].as_str().unwrap().to_owned(),
        ),
        ("name", "Jörg Groß".to_owned()),
        ("email", "joerg@example.org".to_owned()),
        ("organisation", String::new()),
        ("purpose.fotos", "yes".to_owned()),
        ("acknowledged", "yes".to_owned()),
    ];
    let submit = |fields: &[(&'static str, String)]| {
        app.client
            .post(format!("{}/w/koeln-2026", app.address))
            .form(fields)
            .send()
    };
    // Without the acknowledgement the form comes back with an error and nothing is stored.
    let unacknowledged: Vec<_> = form
        .iter()
        .filter(|(k, _)| *k != "acknowledged")
        .cloned()
        .collect();
    let response = submit(&unacknowledged).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(html.contains("role=\"alert\""));
    assert!(
        html.contains("value=\"Jörg Groß\""),
        "what was typed is kept"
    );
    assert!(
        html.contains("Bitte setzen Sie das Häkchen"),
        "says the box is required"
    );
    // Every problem in the participant's language, never the API's English.
    let mistyped: Vec<_> = form
        .iter()
        .map(|(k, v)| match *k {
            "email" => (*k, "joerg.example.org".to_owned()),
            _ => (*k, v.clone()),
        })
        .collect();
    let response = submit(&mistyped).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = response.text().await.unwrap();
    assert!(
        html.contains("E-Mail-Adresse: ist keine E-Mail-Adresse (das @ fehlt)"),
        "{html}"
    );
    assert!(!html.contains("is not"), "no English on a German page");

    // Sent for a text that is no longer the one in force: the new text comes back with the
    // person's details but none of the choices made for the old one.
    let stale: Vec<_> = form
        .iter()
        .map(|(k, v)| match *k {
            "notice_sha256" => (*k, "0".repeat(64)),
            _ => (*k, v.clone()),
        })
        .collect();
    let response = submit(&stale).await.unwrap();
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let html = response.text().await.unwrap();
    assert!(html.contains("haben sich geändert"), "{html}");
    assert!(html.contains("value=\"Jörg Groß\""));
    assert!(!html.contains("checked"), "no box ticked for the new text");

    let response = submit(&form).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        location.starts_with("/r/") && location.ends_with("?saved=1"),
        "{location}"
    );
    let token = location
        .trim_start_matches("/r/")
        .trim_end_matches("?saved=1")
        .to_owned();

    let receipt = app.get(&location).await;
    assert_eq!(
        receipt.headers()[REFERRER_POLICY],
        "no-referrer",
        "the token must not leak"
    );
    assert_eq!(receipt.headers()["cache-control"], "no-store");
    let html = receipt.text().await.unwrap();
    let api: serde_json::Value = app.receipt(&token).await;
    assert_eq!(api["collection_method"], "web-form");
    assert!(
        html.contains(api["receipt_id"].as_str().unwrap()),
        "receipt id shown"
    );
    assert!(
        html.contains(notice["sha256"].as_str().unwrap()),
        "notice hash shown"
    );
    assert!(html.contains("eingewilligt"), "fotos given");
    assert!(html.contains("nicht eingewilligt"), "newsletter refused");
    assert!(html.contains(&format!("/r/{token}")), "personal link shown");
    // The exact text agreed to stays readable from the receipt.
    let agreed = app
        .get(&format!("/r/{token}/notice"))
        .await
        .text()
        .await
        .unwrap();
    assert!(agreed.contains(notice["sha256"].as_str().unwrap()));
    assert!(agreed.contains("Speicherdauer"));

    // One click: the single purpose's withdraw button.
    let response = app
        .client
        .post(format!("{}/r/{token}/withdraw", app.address))
        .form(&[("purpose", "fotos")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let html = app
        .get(&format!("/r/{token}?withdrawn=1"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("widerrufen"));
    let api: serde_json::Value = app.receipt(&token).await;
    let fotos = api["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "fotos")
        .unwrap()
        .clone();
    assert_eq!(fotos["state"], "withdrawn");
    let (ok, out) = app.verify();
    assert!(
        ok && out.contains(&format!("ledger OK: {} entries", before + 2)),
        "{out}"
    );
}

async fn pages_speak_english_when_asked_and_answer_unknown_links(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    app.add_workshop("stiftung-2026", "stiftung-workshop-teilnehmende");
    let english = page_in(&app, "/w/koeln-2026", "en-GB,en;q=0.9,de;q=0.5").await;
    assert!(english.contains("<html lang=\"en\""));
    assert!(
        english.contains(
            app.notice(OM_NOTICE, "en").await["sha256"]
                .as_str()
                .unwrap()
        )
    );
    // No English translation of the foundation's notice: German, not a broken page.
    let german = page_in(&app, "/w/stiftung-2026", "en").await;
    assert!(
        german.contains(
            app.notice("stiftung-workshop-teilnehmende", "de").await["sha256"]
                .as_str()
                .unwrap()
        )
    );

    for path in [
        "/w/gibt-es-nicht",
        "/r/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/r/kurz",
        "/nirgends",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains("<html"), "{path}: a readable page");
        assert!(
            html.contains("Nicht gefunden") && !html.contains("Not Found"),
            "{path}: in German"
        );
    }
    let english = page_with_status(&app, "/nirgends", "en", StatusCode::NOT_FOUND).await;
    assert!(english.contains("Not found"), "{english}");
}

/// `cargo run --release -- serve` on an empty database: the demo workshops exist, their
/// notice version is in force (imported approval), and the banner says where to go.
async fn fresh_install_shows_a_workshop_page_at_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let banner = app.wait_for_log("/w/demo-autorisierung-koeln");
    let url = banner
        .lines()
        .find_map(|l| {
            l.split_whitespace()
                .find(|w| w.ends_with("/w/demo-autorisierung-koeln"))
        })
        .unwrap_or_else(|| panic!("the banner names the demo page: {banner}"));
    assert!(url.starts_with(&app.address), "{url}");
    let page = app.get("/w/demo-autorisierung-koeln").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Fassung 2") && html.contains("Speicherdauer"),
        "version 2 is in force at once"
    );
    assert_eq!(
        app.get("/w/demo-erfahrungsaustausch-bonn").await.status(),
        StatusCode::OK
    );
    // A restart does not create them twice.
    let mut app = app;
    app.start_server();
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM workshops WHERE slug LIKE 'demo-%'")
            .await,
        2
    );
}

async fn page_in(app: &TestApp, path: &str, accept_language: &str) -> String {
    page_with_status(app, path, accept_language, StatusCode::OK).await
}

async fn page_with_status(
    app: &TestApp,
    path: &str,
    accept_language: &str,
    status: StatusCode,
) -> String {
    let response = app
        .client
        .get(format!("{}{path}", app.address))
        .header("accept-language", accept_language)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), status, "{path}");
    response.text().await.unwrap()
}

on_both_backends!(
    fresh_install_shows_a_workshop_page_at_once,
    web_form_consent_receipt_and_one_click_withdrawal,
    pages_speak_english_when_asked_and_answer_unknown_links,
);
