//! End to end in a real headless Chromium (Debian `chromium` + `chromium-driver`, driven
//! through WebDriver with fantoccini). Screenshots of every step are kept in
//! `test-artifacts/screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::helpers::{Backend, OM_NOTICE, PASSWORD, TestApp};
use crate::on_both_backends;
use crate::review::fixture;

struct Browser {
    driver: Child,
    client: Client,
    shots: PathBuf,
    step: usize,
}

impl Browser {
    async fn start(scenario: &str) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver must be installed (Debian package chromium-driver)");
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = format!("http://127.0.0.1:{port}/status");
        while reqwest::get(&status).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap().keep();
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--lang=de-DE", "--window-size=1000,1400",
                    format!("--user-data-dir={}", profile.display()),
                ],
                "prefs": { "intl.accept_languages": "de-DE,de" }
            }
        });
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.as_object().unwrap().clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("test-artifacts/screenshots")
            .join(scenario);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            driver,
            client,
            shots,
            step: 0,
        }
    }

    async fn shot(&mut self, label: &str) {
        self.step += 1;
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(
            self.shots.join(format!("{:02}-{label}.png", self.step)),
            png,
        )
        .unwrap();
    }

    async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .find(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("{selector}: {e}"))
    }

    async fn type_into(&self, selector: &str, text: &str) {
        self.css(selector).await.send_keys(text).await.unwrap();
    }

    async fn text(&self) -> String {
        self.css("body").await.text().await.unwrap()
    }

    /// Waits (up to 10 s) until the page shows `needle`, e.g. after a click that navigates.
    async fn wait_for_text(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = match self.client.find(Locator::Css("body")).await {
                Ok(body) => body.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if text.contains(needle) || Instant::now() > deadline {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn login(&self, address: &str, email: &str) {
        self.client
            .goto(&format!("{address}/staff/login"))
            .await
            .unwrap();
        self.type_into("#email", email).await;
        self.type_into("#password", PASSWORD).await;
        self.css("form button[type=submit]")
            .await
            .click()
            .await
            .unwrap();
        let overview = self.wait_for_text("Abmelden").await;
        assert!(overview.contains(email), "signed in as {email}: {overview}");
    }

    /// The page is no wider than the window, and every button lies inside it.
    async fn assert_fits_the_screen(&self, what: &str) {
        let measured = self
            .client
            .execute(
                "const w = document.documentElement.clientWidth;
                 const past = [...document.querySelectorAll('button, h1, table')]
                   .filter(e => e.getBoundingClientRect().right > w + 1)
                   .map(e => e.tagName + ' ' + e.textContent.trim().slice(0, 30));
                 return {width: w, scroll: document.documentElement.scrollWidth, past};",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            measured["scroll"].as_i64() <= measured["width"].as_i64()
                && measured["past"].as_array().unwrap().is_empty(),
            "{what}: {measured}"
        );
    }

    async fn close(self) {
        let Browser {
            mut driver, client, ..
        } = self;
        let _ = client.close().await;
        let _ = driver.kill();
        let _ = driver.wait();
    }
}

/// A participant consents with one optional purpose, gets the receipt, opens the personal
/// link and withdraws.
async fn participant_consents_and_withdraws_in_a_browser(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let mut b = Browser::start(&format!("{backend:?}-participant").to_lowercase()).await;
    b.client
        .goto(&format!("{}/w/koeln-2026", app.address))
        .await
        .unwrap();
    assert!(b.text().await.contains("Datenschutzhinweise"));
    b.shot("workshop-page").await;
    // Nothing is pre-ticked.
    for checkbox in b
        .client
        .find_all(Locator::Css("input[type=checkbox]"))
        .await
        .unwrap()
    {
        assert_eq!(
            checkbox.prop("checked").await.unwrap().as_deref(),
            Some("false")
        );
    }
    b.client.set_window_size(390, 844).await.unwrap();
    b.assert_fits_the_screen("form on a phone").await;
    b.shot("workshop-page-phone").await;
    b.client.set_window_size(1000, 1400).await.unwrap();
    b.type_into("#name", "Jörg Groß").await;
    b.type_into("#email", "joerg@example.org").await;
    b.css("input[name='purpose.fotos']")
        .await
        .click()
        .await
        .unwrap();
    b.css("input[name=acknowledged]")
        .await
        .click()
        .await
        .unwrap();
    b.shot("form-filled").await;
    b.css("form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();

    let receipt = b.wait_for_text("Belegnummer").await;
    assert!(
        receipt.contains("Ihre Empfangsbestätigung") && receipt.contains("Belegnummer"),
        "{receipt}"
    );
    assert!(receipt.contains("Fotos vom Workshop"));
    b.shot("receipt").await;
    // The personal link, as the participant would follow it later.
    let link = b
        .css(".success a")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    b.client.goto(&link).await.unwrap();
    b.shot("personal-link").await;
    // On a phone (390 px wide) nothing reaches past the screen, the withdraw buttons least
    // of all; nor on the form.
    b.client.set_window_size(390, 844).await.unwrap();
    b.assert_fits_the_screen("personal link on a phone").await;
    b.shot("personal-link-phone").await;
    b.css("form.inline button").await.click().await.unwrap();
    let after = b.wait_for_text("Ihr Widerruf wurde gespeichert").await;
    assert!(after.contains("Ihr Widerruf wurde gespeichert"), "{after}");
    assert!(after.contains("widerrufen"));
    b.shot("withdrawn").await;
    b.close().await;

    let token = link.rsplit('/').next().unwrap();
    let api: serde_json::Value = app.receipt(token).await;
    let fotos = api["purposes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "fotos")
        .unwrap()
        .clone();
    assert_eq!(fotos["state"], "withdrawn");
    assert_eq!(api["collection_method"], "web-form");
}

/// A lawyer opens a version in review, sees the diff and approves; the admin sees it
/// scheduled; on the effective date the workshop page shows the new text.
async fn lawyer_approves_and_the_new_text_takes_effect(backend: Backend) {
    let mut f = fixture(backend, "2026-12-01T10:00:00Z").await;
    f.app.add_workshop("koeln-2026", OM_NOTICE);
    f.app.add_user("lawyer@example.org", "lawyer");
    f.app.add_user("admin@example.org", "admin");
    let r = f
        .post(
            &f.admin,
            &format!("/api/v1/notices/{OM_NOTICE}/versions/3/submit"),
            json!({}),
        )
        .await;
    assert_eq!(r.status(), 200);

    let mut b = Browser::start(&format!("{backend:?}-lawyer").to_lowercase()).await;
    b.login(&f.app.address, "lawyer@example.org").await;
    b.shot("lawyer-overview").await;
    b.client
        .goto(&format!("{}/staff/notices", f.app.address))
        .await
        .unwrap();
    assert!(b.text().await.contains("in Prüfung"));
    b.shot("notices").await;
    b.client
        .goto(&format!("{}/staff/notices/{OM_NOTICE}/3", f.app.address))
        .await
        .unwrap();
    let inserted = b.css("#diff ins").await.text().await.unwrap();
    assert!(!inserted.is_empty());
    assert!(b.text().await.contains("Filmaufnahmen"));
    b.shot("version-with-diff").await;
    b.type_into(
        "#actions textarea[name=comment]",
        "Geprüft; Filmaufnahmen nur mit gesonderter Einwilligung.",
    )
    .await;
    b.css("#actions button[value=approve]")
        .await
        .click()
        .await
        .unwrap();
    let decided = b.wait_for_text("freigegeben, noch nicht gültig").await;
    assert!(
        decided.contains("freigegeben, noch nicht gültig"),
        "{decided}"
    );
    b.shot("approved").await;
    b.css("form[action='/staff/logout'] button")
        .await
        .click()
        .await
        .unwrap();
    b.wait_for_text("Anmeldung für Mitarbeitende").await;

    b.login(&f.app.address, "admin@example.org").await;
    b.client
        .goto(&format!("{}/staff/notices", f.app.address))
        .await
        .unwrap();
    assert!(b.text().await.contains("freigegeben, noch nicht gültig"));
    b.shot("admin-sees-scheduled").await;

    // The effective date: a server whose clock has reached it.
    f.app.options.now = Some("2027-01-01T08:00:00+01:00".into());
    f.app.address = f.app.start_server();
    b.client
        .goto(&format!("{}/w/koeln-2026", f.app.address))
        .await
        .unwrap();
    let page = b.text().await;
    assert!(
        page.contains("Filmaufnahmen") && page.contains("Fassung 3"),
        "{page}"
    );
    b.shot("new-text-in-force").await;
    b.close().await;
}

on_both_backends!(
    participant_consents_and_withdraws_in_a_browser,
    lawyer_approves_and_the_new_text_takes_effect
);
