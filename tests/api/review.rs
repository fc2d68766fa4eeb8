//! Notice versions under legal review: the lifecycle, four eyes, consent only to the version
//! in force, diffs, the PDF for filing, approval records, and re-consent.

use std::path::{Path, PathBuf};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, OM_NOTICE, Options, TestApp, shipped_policies};
use crate::on_both_backends;

const OM: &str = "notices/om-workshop-teilnehmende";
/// The sentence version 3 adds: German typography a PDF must carry exactly.
pub const V3_SENTENCE: &str = "Neu ist der Zweck „Filmaufnahmen“; die Teilnahme kostet weiterhin 0 €, und für Größe und Maße der Säle ändert sich nichts.";

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The shipped policies plus a draft version 3 of the OM notice, effective 2027-01-01: it adds
/// the purpose `film`, shortens the storage period of photos and rewords a paragraph.
pub fn policies_with_v3(dir: &Path) -> PathBuf {
    let policies = dir.join("policies");
    copy_dir(&shipped_policies(), &policies);
    let notice = policies.join(OM);
    let toml = std::fs::read_to_string(notice.join("v2.toml")).unwrap()
        .replacen("version = 2", "version = 3", 1)
        .replacen("effective = \"2021-06-01\"", "effective = \"2027-01-01\"", 1)
        .replace("längstens fünf Jahre nach dem Workshop", "längstens drei Jahre nach dem Workshop")
        .replace("[[category]]\nid = \"fotoaufnahmen\"", "[[purpose]]\nid = \"film\"\ntitle.de = \"Filmaufnahmen\"\ntitle.en = \"Video recordings\"\ndescription.de = \"Wir filmen Ausschnitte des Workshops für ein Lernvideo.\"\nrequired = false\nlegal_basis = \"art6-1-a\"\ncategories = [\"filmaufnahmen\"]\n\n[[category]]\nid = \"filmaufnahmen\"\ntitle.de = \"Filmaufnahmen, auf denen Sie erkennbar sind\"\nstorage.de = \"Bis zum Widerruf, längstens zwei Jahre.\"\nstorage.en = \"Until withdrawal, at most two years.\"\n\n[[category]]\nid = \"fotoaufnahmen\"");
    std::fs::write(notice.join("v3.toml"), toml).unwrap();
    let text = std::fs::read_to_string(notice.join("v2.de.md")).unwrap()
        .replacen("Stand: 1. Juni 2021 (Version 2)", "Stand: 1. Januar 2027 (Version 3)", 1)
        .replacen(
            "*Neu in dieser Fassung:* Für jede Datenkategorie nennen wir jetzt, wie lange wir die Daten speichern (Abschnitt „Speicherdauer“).",
            &format!("*Neu in dieser Fassung:* Fotos behalten wir höchstens drei Jahre. {V3_SENTENCE}"),
            1,
        );
    std::fs::write(notice.join("v3.de.md"), text).unwrap();
    policies
}

pub struct ReviewFixture {
    pub app: TestApp,
    pub admin: String,
    pub lawyer: String,
    pub second_lawyer: String,
}

/// Today is 2026-12-01 unless `now` says otherwise.
pub async fn fixture(backend: Backend, now: &str) -> ReviewFixture {
    let dir = tempfile::tempdir().unwrap();
    let policies = policies_with_v3(dir.path());
    let app = TestApp::spawn_with(
        backend,
        Options {
            policies: Some(policies),
            now: Some(now.into()),
            ..Default::default()
        },
    )
    .await;
    // Keep the policies folder alive with the app.
    std::mem::forget(dir);
    let admin = app.create_token("admin", "redaktion");
    let lawyer = app.create_token("lawyer", "kanzlei-a");
    let second_lawyer = app.create_token("lawyer", "kanzlei-b");
    ReviewFixture {
        app,
        admin,
        lawyer,
        second_lawyer,
    }
}

/// The files of an uploaded `version`: version 2's, renumbered and effective June 2027.
fn version_files(version: u32) -> (String, String) {
    let toml = std::fs::read_to_string(shipped_policies().join(OM).join("v2.toml"))
        .unwrap()
        .replacen("version = 2", &format!("version = {version}"), 1)
        .replacen(
            "effective = \"2021-06-01\"",
            "effective = \"2027-06-01\"",
            1,
        );
    let text = std::fs::read_to_string(shipped_policies().join(OM).join("v2.de.md")).unwrap();
    (toml, text)
}

impl ReviewFixture {
    /// Uploads `version` of the OM notice (version 2's files, effective June 2027) as `by`.
    pub async fn upload(&self, version: u32, by: &str) {
        let (toml, text) = version_files(version);
        let up = self
            .post(
                by,
                &format!("/api/v1/notices/{OM_NOTICE}/versions"),
                json!({"version_toml": toml, "texts": {"de": text}}),
            )
            .await;
        assert_eq!(up.status(), StatusCode::CREATED);
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> reqwest::Response {
        self.app
            .client
            .post(format!("{}{path}", self.app.address))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.app
            .client
            .get(format!("{}{path}", self.app.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub async fn state_of(&self, version: u32) -> String {
        let v: Value = self
            .get(
                &self.admin,
                &format!("/api/v1/notices/{OM_NOTICE}/versions/{version}"),
            )
            .await
            .json()
            .await
            .unwrap();
        v["state"].as_str().unwrap().to_owned()
    }

    /// Submitted by the admin, approved by the first lawyer.
    pub async fn approve_v3(&self, material: bool) {
        let r = self
            .post(
                &self.admin,
                &format!("/api/v1/notices/{OM_NOTICE}/versions/3/submit"),
                json!({}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = self
            .post(&self.lawyer, &format!("/api/v1/notices/{OM_NOTICE}/versions/3/review"),
                json!({"decision": "approve", "comment": "Freigegeben: Filmaufnahmen nur mit Einwilligung.", "material": material}))
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
    }
}

async fn consent_with(app: &TestApp, version: u32, sha256: &str) -> reqwest::Response {
    let body = json!({
        "workshop": "koeln-2026",
        "notice": {"id": OM_NOTICE, "version": version, "language": "de", "sha256": sha256},
        "subject": {"name": "Erika Beispiel", "email": "erika@example.org"},
        "purposes": {"durchfuehrung": true}
    });
    app.post_json("/api/v1/consents", &body).await
}

async fn lifecycle_four_eyes_and_consent_only_in_force(backend: Backend) {
    let f = fixture(backend, "2026-12-01T10:00:00Z").await;
    let app = &f.app;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let versions: Vec<Value> = f
        .get(&f.admin, &format!("/api/v1/notices/{OM_NOTICE}/versions"))
        .await
        .json()
        .await
        .unwrap();
    let states: Vec<(&str, &str)> = versions
        .iter()
        .map(|v| {
            (
                v["version"].to_string().leak() as &str,
                v["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [("1", "superseded"), ("2", "in_force"), ("3", "draft")]
    );
    assert_eq!(
        versions[1]["imported"], true,
        "shipped approvals are imported"
    );
    let v3: Value = f
        .get(&f.admin, &format!("/api/v1/notices/{OM_NOTICE}/versions/3"))
        .await
        .json()
        .await
        .unwrap();
    let v3_sha = v3["texts"]["de"].as_str().unwrap().to_owned();

    // A draft cannot be consented to, nor reviewed.
    let r = consent_with(app, 3, &v3_sha).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let message = r.json::<Value>().await.unwrap()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("version 3 is draft") && message.contains("version 2"),
        "{message}"
    );
    let path = |step: &str| format!("/api/v1/notices/{OM_NOTICE}/versions/3/{step}");
    let review =
        |comment: &str| json!({"decision": "approve", "comment": comment, "material": true});
    assert_eq!(
        f.post(&f.second_lawyer, &path("review"), review("ok"))
            .await
            .status(),
        StatusCode::CONFLICT
    );

    // Submitted by a lawyer: frozen, in review.
    assert_eq!(
        f.post(&f.lawyer, &path("submit"), json!({})).await.status(),
        StatusCode::OK
    );
    assert_eq!(f.state_of(3).await, "in_review");
    assert_eq!(
        f.post(&f.lawyer, &path("submit"), json!({})).await.status(),
        StatusCode::CONFLICT,
        "submitted twice"
    );
    let r = consent_with(app, 3, &v3_sha).await;
    assert!(
        r.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("version 3 is in_review")
    );

    // A comment is plain text.
    assert_eq!(
        f.post(
            &f.lawyer,
            &path("comment"),
            json!({"comment": "Bitte\u{7}"})
        )
        .await
        .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // Four eyes: not the submitter, not an admin; and never without a comment.
    let own = f
        .post(&f.lawyer, &path("review"), review("selbst freigegeben"))
        .await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        own.json::<Value>().await.unwrap()["error"]["code"],
        "not_permitted"
    );
    assert_eq!(
        f.post(&f.admin, &path("review"), review("ok"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let silent = f
        .post(
            &f.second_lawyer,
            &path("review"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(silent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        silent.json::<Value>().await.unwrap()["error"]["field"],
        "comment"
    );
    let bad = f
        .post(
            &f.second_lawyer,
            &path("review"),
            json!({"decision": "vielleicht", "comment": "x"}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Approved by the second lawyer; effective in the future: scheduled.
    assert_eq!(
        f.post(&f.second_lawyer, &path("review"), review("Freigegeben."))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(f.state_of(3).await, "scheduled");
    assert_eq!(
        f.post(&f.second_lawyer, &path("review"), review("nochmal"))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let r = consent_with(app, 3, &v3_sha).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        r.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("version 3 is scheduled")
    );

    // The superseded version 1 is refused too; version 2 in force is accepted.
    let v1: Value = f
        .get(&f.admin, &format!("/api/v1/notices/{OM_NOTICE}/versions/1"))
        .await
        .json()
        .await
        .unwrap();
    let r = consent_with(app, 1, v1["texts"]["de"].as_str().unwrap()).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        r.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("version 1 is superseded")
    );
    let v2 = app.notice(OM_NOTICE, "de").await;
    assert_eq!(v2["version"], 2, "a scheduled version is not in force yet");
    assert_eq!(
        consent_with(app, 2, v2["sha256"].as_str().unwrap())
            .await
            .status(),
        StatusCode::CREATED
    );

    // Request changes on an uploaded version 4, then withdraw it.
    f.upload(4, &f.admin).await;
    let (toml5, text5) = version_files(5);
    let hidden = f
        .post(
            &f.admin,
            &format!("/api/v1/notices/{OM_NOTICE}/versions"),
            json!({"version_toml": toml5, "texts": {"de": format!("{text5}\u{0}")}}),
        )
        .await;
    assert_eq!(hidden.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let broken = f.post(&f.admin, &format!("/api/v1/notices/{OM_NOTICE}/versions"),
        json!({"version_toml": "version = 5\neffective = \"2027-07-01\"\n[[purpose]]\nid = \"x\"\n", "texts": {"de": "Text"}})).await;
    assert_eq!(broken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        broken.json::<Value>().await.unwrap()["error"]["field"]
            .as_str()
            .unwrap()
            .starts_with("version.")
    );
    let p4 = |step: &str| format!("/api/v1/notices/{OM_NOTICE}/versions/4/{step}");
    assert_eq!(
        f.post(&f.admin, &p4("submit"), json!({})).await.status(),
        StatusCode::OK
    );
    let changes = f.post(&f.lawyer, &p4("review"), json!({"decision": "request_changes", "comment": "Bitte Speicherdauer für Fotos prüfen."})).await;
    assert_eq!(changes.status(), StatusCode::OK);
    assert_eq!(
        changes.json::<Value>().await.unwrap()["state"],
        "changes_requested"
    );
    let v4: Value = f
        .get(&f.admin, &format!("/api/v1/notices/{OM_NOTICE}/versions/4"))
        .await
        .json()
        .await
        .unwrap();
    let v4_sha = v4["texts"]["de"].as_str().unwrap().to_owned();
    let r = consent_with(app, 4, &v4_sha).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        r.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("version 4 is changes_requested")
    );
    assert_eq!(
        f.post(&f.admin, &p4("submit"), json!({})).await.status(),
        StatusCode::CONFLICT,
        "a change is a new version"
    );
    assert_eq!(
        f.post(
            &f.admin,
            &p4("withdraw"),
            json!({"reason": "ersetzt durch Fassung 5"})
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(f.state_of(4).await, "withdrawn");
    let r = consent_with(app, 4, &v4_sha).await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(
        r.json::<Value>().await.unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("version 4 is withdrawn")
    );
    assert_eq!(
        f.post(&f.admin, &p4("withdraw"), json!({"reason": "nochmal"}))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    // Four eyes count the author too: the lawyer who uploaded a version may not approve it,
    // though someone else submitted it; the other lawyer may decide.
    f.upload(5, &f.second_lawyer).await;
    let p5 = |step: &str| format!("/api/v1/notices/{OM_NOTICE}/versions/5/{step}");
    assert_eq!(
        f.post(&f.admin, &p5("submit"), json!({})).await.status(),
        StatusCode::OK
    );
    let own = f
        .post(&f.second_lawyer, &p5("review"), review("von mir verfasst"))
        .await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    let own: Value = own.json().await.unwrap();
    assert!(
        own["error"]["message"].as_str().unwrap().contains("author"),
        "{own}"
    );
    let v5: Value = f
        .get(&f.admin, &format!("/api/v1/notices/{OM_NOTICE}/versions/5"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v5["uploaded_by"], "token:kanzlei-b");
    // Reviewed against the text participants will have seen (version 3, approved), not the
    // version 4 that was sent back and withdrawn.
    let diff: Value = f
        .get(
            &f.lawyer,
            &format!("/api/v1/notices/{OM_NOTICE}/versions/5/diff"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(diff["from_version"], 3);
    assert_eq!(v5["submitted_by"], "token:redaktion");
    assert_eq!(
        f.post(
            &f.lawyer,
            &p5("review"),
            json!({"decision": "request_changes", "comment": "Bitte prüfen."})
        )
        .await
        .status(),
        StatusCode::OK
    );

    // An auditor reads but does not act.
    let auditor = app.create_token("auditor", "pruefer");
    assert_eq!(
        f.get(&auditor, &format!("/api/v1/notices/{OM_NOTICE}/versions/3"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        f.post(&auditor, &p4("comment"), json!({"comment": "x"}))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // The whole trail is in the version and in the audit log, and the ledger verifies.
    let detail: Value = f
        .get(&f.admin, &format!("/api/v1/notices/{OM_NOTICE}/versions/3"))
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = detail["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["submitted", "approved"]);
    assert_eq!(detail["decided_by"], "token:kanzlei-b");
    let (ok, out) = app.verify();
    assert!(ok, "{out}");
}

async fn on_the_effective_date_the_new_version_is_in_force(backend: Backend) {
    let mut f = fixture(backend, "2026-12-01T10:00:00Z").await;
    f.approve_v3(true).await;
    f.app.add_workshop("koeln-2026", OM_NOTICE);
    let v2 = f.app.notice(OM_NOTICE, "de").await;
    let created: Value = consent_with(&f.app, 2, v2["sha256"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    // Fotos given under version 2; version 3 changes its storage period and adds `film`.
    let token = created["token"].as_str().unwrap().to_owned();
    let body = json!({
        "workshop": "koeln-2026",
        "notice": {"id": OM_NOTICE, "version": 2, "language": "de", "sha256": v2["sha256"]},
        "subject": {"name": "Foto Freundin", "email": "foto@example.org"},
        "purposes": {"durchfuehrung": true, "fotos": true, "newsletter": true}
    });
    let with_fotos: Value = f
        .app
        .post_json("/api/v1/consents", &body)
        .await
        .json()
        .await
        .unwrap();
    let fotos_token = with_fotos["token"].as_str().unwrap().to_owned();

    // Another process whose clock has reached 2 January 2027.
    f.app.options.now = Some("2027-01-02T09:00:00+01:00".into());
    f.app.address = f.app.start_server();
    let now_in_force = f.app.notice(OM_NOTICE, "de").await;
    assert_eq!(now_in_force["version"], 3);
    assert!(
        f.app
            .get("/w/koeln-2026")
            .await
            .text()
            .await
            .unwrap()
            .contains("Filmaufnahmen")
    );
    assert_eq!(f.state_of(2).await, "superseded");
    assert_eq!(f.state_of(3).await, "in_force");

    // Re-consent: the changed purpose that was given, and the new one; not the refused ones.
    let receipt: Value = f.app.receipt(&fotos_token).await;
    let state = |r: &Value, id: &str| {
        r["purposes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["state"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        state(&receipt, "fotos").as_deref(),
        Some("reconsent_requested")
    );
    assert_eq!(
        state(&receipt, "film").as_deref(),
        Some("reconsent_requested")
    );
    assert_eq!(
        state(&receipt, "newsletter").as_deref(),
        Some("given"),
        "unchanged purposes stay as they were"
    );
    let plain: Value = f.app.receipt(&token).await;
    assert_eq!(
        state(&plain, "fotos").as_deref(),
        Some("refused"),
        "a refusal is not asked again"
    );
    assert_eq!(
        state(&plain, "film").as_deref(),
        Some("reconsent_requested")
    );
    // Admins see them per workshop.
    let list: Value = f
        .get(
            &f.admin,
            "/api/v1/consents?workshop=koeln-2026&state=reconsent_requested",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2);

    // The participant's page asks again, unticked; answering renews the record.
    let page = f
        .app
        .get(&format!("/r/{fotos_token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"reconsent\"") && page.contains("name=\"purpose.film\""));
    assert!(
        !page
            .split("id=\"reconsent\"")
            .nth(1)
            .unwrap()
            .split("</section>")
            .next()
            .unwrap()
            .contains("checked"),
        "nothing pre-ticked"
    );
    let renewed = f
        .app
        .client
        .post(format!("{}/r/{fotos_token}/reconsent", f.app.address))
        .form(&[("purpose.fotos", "yes"), ("acknowledged", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(renewed.status(), StatusCode::SEE_OTHER);
    let new_token = renewed.headers()["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/r/")
        .trim_end_matches("?saved=1")
        .to_owned();
    let new: Value = f.app.receipt(&new_token).await;
    assert_eq!(new["notice"]["version"], 3);
    assert_eq!(state(&new, "fotos").as_deref(), Some("given"));
    assert_eq!(state(&new, "film").as_deref(), Some("refused"));
    assert!(
        !f.app
            .get(&format!("/r/{fotos_token}"))
            .await
            .text()
            .await
            .unwrap()
            .contains("id=\"reconsent\""),
        "answered"
    );
    // The form sent again (a double tap) renews nothing twice: back to the old receipt.
    let twice = f
        .app
        .client
        .post(format!("{}/r/{fotos_token}/reconsent", f.app.address))
        .form(&[("purpose.fotos", "yes"), ("acknowledged", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), StatusCode::SEE_OTHER);
    assert_eq!(twice.headers()["location"], format!("/r/{fotos_token}"));
    let renewals = "SELECT COUNT(*) FROM consent_records WHERE renews_record_id IS NOT NULL";
    assert_eq!(f.app.db.scalar_i64(renewals).await, 1);

    // Withdrawing through the old link withdraws the decision given again too, and the
    // old record keeps nothing given.
    let withdrawn = f
        .app
        .client
        .post(format!("{}/r/{fotos_token}/withdraw", f.app.address))
        .form(&[("all", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(withdrawn.status(), StatusCode::SEE_OTHER);
    let new: Value = f.app.receipt(&new_token).await;
    assert_eq!(state(&new, "fotos").as_deref(), Some("withdrawn"));
    let old: Value = f.app.receipt(&fotos_token).await;
    assert!(
        old["purposes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] != "given"),
        "{old}"
    );

    // Running the check again changes nothing.
    f.app.address = f.app.start_server();
    let again: Value = f
        .get(&f.admin, "/api/v1/consents?state=reconsent_requested")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["total"], 2);
    let (ok, out) = f.app.verify();
    assert!(ok, "{out}");
}

async fn editorial_changes_do_not_ask_again(backend: Backend) {
    let mut f = fixture(backend, "2026-12-01T10:00:00Z").await;
    f.approve_v3(false).await;
    f.app.add_workshop("koeln-2026", OM_NOTICE);
    let v2 = f.app.notice(OM_NOTICE, "de").await;
    let body = json!({
        "workshop": "koeln-2026",
        "notice": {"id": OM_NOTICE, "version": 2, "language": "de", "sha256": v2["sha256"]},
        "subject": {"name": "Foto Freundin", "email": "foto@example.org"},
        "purposes": {"durchfuehrung": true, "fotos": true}
    });
    let created: Value = f
        .app
        .post_json("/api/v1/consents", &body)
        .await
        .json()
        .await
        .unwrap();
    f.app.options.now = Some("2027-01-02T09:00:00+01:00".into());
    f.app.address = f.app.start_server();
    let receipt: Value = f
        .app
        .get(&format!(
            "/api/v1/receipts/{}",
            created["token"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        receipt["purposes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] != "reconsent_requested"),
        "{receipt}"
    );
}

async fn diff_names_added_purpose_changed_storage_and_reworded_text(backend: Backend) {
    let f = fixture(backend, "2026-12-01T10:00:00Z").await;
    let diff: Value = f
        .get(
            &f.lawyer,
            &format!("/api/v1/notices/{OM_NOTICE}/versions/3/diff?against=2"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(diff["purposes"]["added"], json!(["film"]));
    assert_eq!(diff["categories"]["added"], json!(["filmaufnahmen"]));
    let fotos = diff["categories"]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "fotoaufnahmen")
        .unwrap();
    let storage = fotos["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "storage")
        .unwrap();
    let spans = storage["spans"].as_array().unwrap();
    assert!(
        spans
            .iter()
            .any(|s| s["op"] == "delete" && s["text"].as_str().unwrap().contains("fünf"))
    );
    assert!(
        spans
            .iter()
            .any(|s| s["op"] == "insert" && s["text"].as_str().unwrap().contains("drei"))
    );
    let de = diff["texts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["language"] == "de")
        .unwrap();
    assert_eq!(de["changed"], true);
    assert_eq!(de["dropped"], false);
    // Version 3 comes in German only: the English text of version 2 is named as dropped.
    let en = diff["texts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["language"] == "en")
        .unwrap_or_else(|| panic!("{}", diff["texts"]));
    assert_eq!(en["dropped"], true);
    let inserted: String = de["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["op"] == "insert")
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    let deleted: String = de["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["op"] == "delete")
        .map(|s| s["text"].as_str().unwrap())
        .collect();
    assert!(
        inserted.contains("Filmaufnahmen") && inserted.contains("Januar"),
        "{inserted}"
    );
    assert!(
        deleted.contains("Datenkategorie") && deleted.contains("Juni"),
        "{deleted}"
    );
    // Default: against the previous version; the first version has none.
    let default: Value = f
        .get(
            &f.lawyer,
            &format!("/api/v1/notices/{OM_NOTICE}/versions/3/diff"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(default["from_version"], 2);
    assert_eq!(
        f.get(
            &f.lawyer,
            &format!("/api/v1/notices/{OM_NOTICE}/versions/1/diff")
        )
        .await
        .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // The lawyer's page shows the same, highlighted.
    let session = {
        f.app.add_user("lawyer@example.org", "lawyer");
        f.app.login("lawyer@example.org").await
    };
    let version_page = || async {
        f.app
            .client
            .get(format!("{}/staff/notices/{OM_NOTICE}/3", f.app.address))
            .header("cookie", &session.cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let html = version_page().await;
    assert!(html.contains("<ins>") && html.contains("<del>"));
    assert!(html.contains("Filmaufnahmen"));
    assert!(html.contains("Diese Sprachfassung entfällt"));
    assert!(
        html.contains("?against=1"),
        "other versions to compare with"
    );

    // Refusals on the staff pages are in German: the missing comment, then four eyes.
    let step = |step: &str, fields: Vec<(&'static str, String)>| {
        let mut fields = fields;
        fields.push(("csrf", session.csrf.clone()));
        f.app
            .client
            .post(format!(
                "{}/staff/notices/{OM_NOTICE}/3/{step}",
                f.app.address
            ))
            .header("cookie", &session.cookie)
            .form(&fields)
            .send()
    };
    assert_eq!(step("submit", vec![]).await.unwrap().status(), 303);
    let own_page = version_page().await;
    assert!(
        own_page.contains("entscheiden muss eine andere")
            && !own_page.contains("value=\"approve\""),
        "the submitter is not offered the decision"
    );
    let approve = |comment: &str| {
        vec![
            ("decision", "approve".to_owned()),
            ("comment", comment.to_owned()),
        ]
    };
    let silent = step("review", approve("")).await.unwrap();
    assert_eq!(silent.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = silent.text().await.unwrap();
    assert!(
        html.contains("Kommentar: eine Entscheidung braucht einen Kommentar"),
        "{html}"
    );
    // A refused upload on a staff page names the field and line (German frame, exact detail).
    let upload = f
        .app
        .client
        .post(format!(
            "{}/staff/notices/{OM_NOTICE}/upload",
            f.app.address
        ))
        .header("cookie", &session.cookie)
        .form(&[
            ("csrf", session.csrf.clone()),
            (
                "version_toml",
                "version = 9\neffective = \"2027-07-01\"\n".to_owned(),
            ),
            ("text_de", "Text".to_owned()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = upload.text().await.unwrap();
    assert!(
        html.contains("version.") && html.contains("line "),
        "{html}"
    );
    let own = step("review", approve("selbst")).await.unwrap();
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
    let html = own.text().await.unwrap();
    assert!(
        html.contains("Wer eine Fassung eingereicht hat, darf sie nicht prüfen"),
        "{html}"
    );
}

async fn pdf_for_filing_carries_the_exact_text_and_the_trail(backend: Backend) {
    let f = fixture(backend, "2026-12-01T10:00:00Z").await;
    f.approve_v3(true).await;
    let url = format!("/api/v1/notices/{OM_NOTICE}/versions/3/pdf");
    let first = f.get(&f.lawyer, &url).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["content-type"], "application/pdf");
    let bytes = first.bytes().await.unwrap();
    let again = f.get(&f.admin, &url).await.bytes().await.unwrap();
    assert_eq!(bytes, again, "same inputs, byte-identical PDF");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("v3.pdf");
    std::fs::write(&file, &bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) is installed");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(V3_SENTENCE),
        "the German sentence, exactly:\n{text}"
    );
    assert!(
        flat.contains("Freigegeben: Filmaufnahmen nur mit Einwilligung."),
        "the review comment"
    );
    assert!(
        flat.contains("token:kanzlei-a") && flat.contains("token:redaktion"),
        "who reviewed and who submitted"
    );
    assert!(
        flat.contains("freigegeben: wesentliche Änderung (erneute Einwilligung)"),
        "whether the approval asks for re-consent:\n{text}"
    );
    assert!(flat.contains("Seite 1 von"), "page numbers");
    let detail: Value = f
        .get(&f.admin, &format!("/api/v1/notices/{OM_NOTICE}/versions/3"))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        flat.contains(detail["content_sha256"].as_str().unwrap()),
        "the content hash"
    );
}

/// A text that was approved never changes silently: startup stops, naming the file and both
/// hashes; and an approval record that does not match its files is refused the same way.
async fn changed_approved_files_stop_startup(backend: Backend) {
    let f = fixture(backend, "2026-12-01T10:00:00Z").await;
    f.approve_v3(true).await;
    let policies = f.app.options.policies.clone().unwrap();
    let text = policies.join(OM).join("v3.de.md");
    let original = std::fs::read_to_string(&text).unwrap();
    std::fs::write(&text, original.replace("Filmaufnahmen", "Videoaufnahmen")).unwrap();
    let out = f.app.cli(&["notices", "sync"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let detail: Value = f
        .get(&f.admin, &format!("/api/v1/notices/{OM_NOTICE}/versions/3"))
        .await
        .json()
        .await
        .unwrap();
    assert!(err.contains("v3.toml") && err.contains("approved"), "{err}");
    assert!(
        err.contains(detail["content_sha256"].as_str().unwrap()),
        "the recorded hash is named: {err}"
    );
    let serve = f
        .app
        .command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!serve.status.success(), "serve refuses to start");

    // A fresh install whose approval record no longer matches the files.
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    copy_dir(&shipped_policies(), &policies);
    let v2 = policies.join(OM).join("v2.de.md");
    std::fs::write(
        &v2,
        std::fs::read_to_string(&v2).unwrap() + "\nEin nachträglich angefügter Satz.\n",
    )
    .unwrap();
    let out = std::process::Command::new(crate::helpers::BIN)
        .args(["notices", "sync"])
        .env(
            "CONSENTD_DATABASE_URL",
            format!("sqlite://{}/db.sqlite", dir.path().display()),
        )
        .env("CONSENTD_POLICIES", &policies)
        .env_remove("CONSENTD_NOW")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("v2.approval.toml") && err.contains("but the files hash to"),
        "{err}"
    );
    // `policies check` finds it before a deploy, without a database.
    let check = std::process::Command::new(crate::helpers::BIN)
        .args(["policies", "check"])
        .env("CONSENTD_POLICIES", &policies)
        .output()
        .unwrap();
    assert!(!check.status.success(), "policies check passed");
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(
        err.contains("v2.approval.toml") && err.contains("but the files hash to"),
        "{err}"
    );
}

/// Two instances starting together with a new version in `policies/` both take it in: the
/// second finds it there (no unique violation that would stop its start).
async fn a_version_taken_in_twice_is_stored_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = consentd::store::Db::connect(&app.db.url).await.unwrap();
    let policies = consentd::policies::load(&shipped_policies()).unwrap();
    let version = &policies.notices[OM_NOTICE].versions[0];
    let clock = consentd::clock::Clock::system();
    let again = consentd::catalog::add_version(&db, version, None, &clock).await;
    assert!(!again.unwrap(), "already there, stored once");
    db.close().await;
}

on_both_backends!(
    a_version_taken_in_twice_is_stored_once,
    lifecycle_four_eyes_and_consent_only_in_force,
    on_the_effective_date_the_new_version_is_in_force,
    editorial_changes_do_not_ask_again,
    diff_names_added_purpose_changed_storage_and_reworded_text,
    pdf_for_filing_carries_the_exact_text_and_the_trail,
    changed_approved_files_stop_startup,
);
