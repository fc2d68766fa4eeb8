//! Staff accounts: login and logout, session expiry, CSRF, lockout, tokens, rate limits,
//! and the staff JSON API.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, OM_NOTICE, Options, PASSWORD, Session, TestApp};
use crate::on_both_backends;

async fn staff_get(app: &TestApp, path: &str, session: &Session) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.address))
        .header("cookie", &session.cookie)
        .send()
        .await
        .unwrap()
}

async fn login_logout_and_cookie_flags(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.org", "admin");

    let wrong = app
        .login_response("admin@example.org", "Falsches-Passwort-123")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());
    let unknown = app.login_response("nobody@example.org", PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    // An address without an account locks like one with: a lock reveals nothing.
    for _ in 0..4 {
        assert_eq!(
            app.login_response("nobody@example.org", PASSWORD)
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        app.login_response("nobody@example.org", PASSWORD)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    let ok = app.login_response("Admin@Example.org", PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http without a TLS public URL"
    );

    let session = app.login("admin@example.org").await;
    assert_eq!(
        staff_get(&app, "/staff/users", &session).await.status(),
        StatusCode::OK
    );
    let logout = app
        .client
        .post(format!("{}/staff/logout", app.address))
        .header("cookie", &session.cookie)
        .form(&[("csrf", session.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert!(
        logout.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    // The session is gone on the server, not only in the browser.
    let after = staff_get(&app, "/staff/users", &session).await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(
        after.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/staff/login")
    );

    // Disabling a user ends their sessions at once.
    app.add_user("auditor@example.org", "auditor");
    let auditor = app.login("auditor@example.org").await;
    assert_eq!(
        staff_get(&app, "/staff/consents", &auditor).await.status(),
        StatusCode::OK
    );
    assert!(
        app.cli(&["user", "disable", "auditor@example.org"])
            .status
            .success()
    );
    assert_eq!(
        staff_get(&app, "/staff/consents", &auditor).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.login_response("auditor@example.org", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn sessions_expire_when_idle_or_too_old(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.org", "admin");
    let idle = app.login("admin@example.org").await;
    let old = app.login("admin@example.org").await;
    assert_eq!(
        staff_get(&app, "/staff", &idle).await.status(),
        StatusCode::OK
    );
    // Age the sessions in the database, as time would.
    let idle_hash = session_hash(&idle);
    let old_hash = session_hash(&old);
    app.db
        .tamper(&[
            &format!("UPDATE staff_sessions SET last_seen_at = '2020-01-01T00:00:00Z' WHERE id_sha256 = '{idle_hash}'"),
            &format!("UPDATE staff_sessions SET created_at = '2020-01-01T00:00:00Z' WHERE id_sha256 = '{old_hash}'"),
        ])
        .await;
    assert_eq!(
        staff_get(&app, "/staff", &idle).await.status(),
        StatusCode::SEE_OTHER,
        "idle expiry"
    );
    assert_eq!(
        staff_get(&app, "/staff", &old).await.status(),
        StatusCode::SEE_OTHER,
        "absolute expiry"
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM staff_sessions")
            .await,
        0,
        "expired sessions are deleted"
    );
}

fn session_hash(session: &Session) -> String {
    use sha2::Digest;
    let secret = session.cookie.split_once('=').unwrap().1;
    hex::encode(sha2::Sha256::digest(secret.as_bytes()))
}

async fn csrf_is_required_on_state_changing_requests(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.org", "admin");
    let session = app.login("admin@example.org").await;
    let form = |csrf: Option<&str>| {
        let mut f = vec![
            ("slug", "csrf-test".to_owned()),
            ("title", "CSRF-Test".to_owned()),
            ("starts", "2027-01-01".to_owned()),
            ("ends", "2027-01-01".to_owned()),
            ("kind", "seminar".to_owned()),
            ("notice", OM_NOTICE.to_owned()),
        ];
        if let Some(c) = csrf {
            f.push(("csrf", c.to_owned()));
        }
        f
    };
    let post = |body: Vec<(&'static str, String)>, origin: Option<&'static str>| {
        let mut request = app
            .client
            .post(format!("{}/staff/workshops", app.address))
            .header("cookie", &session.cookie)
            .form(&body);
        if let Some(o) = origin {
            request = request.header("origin", o);
        }
        request.send()
    };
    assert_eq!(
        post(form(None), None).await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "no token"
    );
    assert_eq!(
        post(form(Some("falsch")), None).await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "wrong token"
    );
    assert_eq!(
        post(form(Some(&session.csrf)), Some("https://evil.example"))
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN,
        "cross-site origin"
    );
    // The JSON API with a session cookie needs the token in a header.
    let api = app
        .client
        .post(format!(
            "{}/api/v1/workshops/csrf-test/archive",
            app.address
        ))
        .header("cookie", &session.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        api.json::<Value>().await.unwrap()["error"]["code"],
        "csrf_failed"
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM workshops WHERE slug = 'csrf-test'")
            .await,
        0,
        "nothing was created"
    );

    let origin = app.address.clone();
    let ok = app
        .client
        .post(format!("{}/staff/workshops", app.address))
        .header("cookie", &session.cookie)
        .header("origin", origin)
        .form(&form(Some(&session.csrf)))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM workshops WHERE slug = 'csrf-test'")
            .await,
        1
    );
}

async fn repeated_failures_lock_the_account_and_the_address(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.org", "admin");
    app.add_user("lawyer@example.org", "lawyer");
    for _ in 0..5 {
        let r = app
            .login_response("admin@example.org", "Falsches-Passwort-123")
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Locked now, even with the right password.
    let locked = app.login_response("admin@example.org", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().contains_key("retry-after"));
    // Another account from the same address still works (per-account lock)…
    assert_eq!(
        app.login_response("lawyer@example.org", PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // …until the address has failed too often across accounts.
    for i in 0..15 {
        app.login_response(&format!("raten{i}@example.org"), "Falsches-Passwort-123")
            .await;
    }
    assert_eq!(
        app.login_response("lawyer@example.org", PASSWORD)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    // The failures are in the audit trail, which verifies.
    let token = app.create_token("auditor", "pruefung");
    let audit: Vec<Value> = app
        .client
        .get(format!("{}/api/v1/audit?per_page=500", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let failed = audit
        .iter()
        .filter(|e| e["action"] == "login.failed")
        .count();
    let locked = audit
        .iter()
        .filter(|e| e["action"] == "login.locked")
        .count();
    assert_eq!(failed, 20);
    assert_eq!(locked, 2);
    assert!(
        audit
            .iter()
            .all(|e| e["ip_truncated"].is_null() || e["ip_truncated"] == "127.0.0.0")
    );
    let (ok, out) = app.verify();
    assert!(ok, "{out}");
}

async fn tokens_work_until_revoked_or_expired(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.create_token("auditor", "pruefung");
    assert!(
        token.starts_with("cdt_") && token.len() > 40,
        "printed alone on stdout: {token}"
    );
    let get = |t: String| {
        app.client
            .get(format!("{}/api/v1/workshops", app.address))
            .bearer_auth(t)
            .send()
    };
    assert_eq!(get(token.clone()).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM api_tokens WHERE last_used_at IS NOT NULL")
            .await,
        1,
        "last use recorded"
    );
    assert!(app.cli(&["token", "revoke", "pruefung"]).status.success());
    let revoked = get(token.clone()).await.unwrap();
    assert_eq!(
        revoked.status(),
        StatusCode::UNAUTHORIZED,
        "revocation takes effect immediately"
    );
    assert_eq!(revoked.headers()["www-authenticate"], "Bearer");

    let expiring = app.create_token("admin", "befristet");
    assert_eq!(
        get(expiring.clone()).await.unwrap().status(),
        StatusCode::OK
    );
    app.db
        .tamper(&[
            "UPDATE api_tokens SET expires_at = '2020-01-01T00:00:00Z' WHERE name = 'befristet'",
        ])
        .await;
    assert_eq!(
        get(expiring).await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "expired"
    );

    // Only hashes are stored.
    assert_eq!(
        app.db
            .scalar_i64(&format!(
                "SELECT COUNT(*) FROM api_tokens WHERE token_sha256 = '{token}'"
            ))
            .await,
        0
    );
    let out = app.cli(&[
        "token",
        "create",
        "--role",
        "collector",
        "--name",
        "alt",
        "--expires",
        "2020-01-01",
    ]);
    assert!(!out.status.success(), "an expiry in the past is refused");

    // A refused name is said once, naming the field.
    let out = app.cli(&["token", "create", "--role", "admin", "--name", "Prüfung"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(
        said.matches("must be 1–100 characters").count(),
        1,
        "{said}"
    );
    assert!(said.contains("name: must be"), "{said}");
}

async fn public_endpoints_are_rate_limited_per_client_and_per_collector(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options {
            rate_limit: Some("5".into()),
            ..Default::default()
        },
    )
    .await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.get("/w/koeln-2026").await);
    }
    let last = statuses.pop().unwrap();
    assert!(statuses.iter().all(|r| r.status() == StatusCode::OK));
    assert_eq!(last.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = last.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert_eq!(
        last.json::<Value>().await.unwrap()["error"]["code"],
        "rate_limited"
    );

    // The registration site's collector token has its own, much larger budget.
    let collector = app.create_token("collector", "anmeldeseite");
    let body = app
        .client
        .get(format!("{}/api/v1/notices", app.address))
        .bearer_auth(&collector)
        .send()
        .await
        .unwrap();
    let notices: Vec<Value> = body.json().await.unwrap();
    let n = notices
        .iter()
        .find(|n| n["id"] == OM_NOTICE && n["language"] == "de")
        .unwrap();
    for i in 0..30 {
        let consent = json!({
            "workshop": "koeln-2026",
            "notice": {"id": OM_NOTICE, "version": n["version"], "language": "de", "sha256": n["sha256"]},
            "subject": {"name": "Teilnehmerin", "email": format!("t{i}@example.org")},
            "purposes": {"durchfuehrung": true}
        });
        let r = app
            .client
            .post(format!("{}/api/v1/consents", app.address))
            .bearer_auth(&collector)
            .json(&consent)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "collector request {i}");
    }
    // Staff routes are not public and not limited this way.
    let admin = app.create_token("admin", "admin");
    for _ in 0..10 {
        let r = app
            .client
            .get(format!("{}/api/v1/workshops", app.address))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
}

async fn workshops_and_consents_through_the_staff_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.create_token("admin", "admin");
    let auditor = app.create_token("auditor", "auditor");
    let post = |path: &str, token: &str, body: Value| {
        app.client
            .post(format!("{}{path}", app.address))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    let created = post("/api/v1/workshops", &admin, json!({
        "slug": "exaus-2027", "title": "Erfahrungsaustausch", "starts": "2027-02-01", "ends": "2027-02-01",
        "notice": "stiftung-workshop-teilnehmende", "kind": "erfahrungsaustausch", "location": "Bonn"
    })).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let w: Value = created.json().await.unwrap();
    assert_eq!(w["controller"], "stiftung");
    assert!(w["url"].as_str().unwrap().ends_with("/w/exaus-2027"));
    let again = post("/api/v1/workshops", &admin, json!({
        "slug": "exaus-2027", "title": "X", "starts": "2027-02-01", "ends": "2027-02-01", "notice": "stiftung-workshop-teilnehmende"
    })).await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let bad = post("/api/v1/workshops", &admin, json!({
        "slug": "x2", "title": "X", "starts": "2027-02-02", "ends": "2027-02-01", "notice": "stiftung-workshop-teilnehmende"
    })).await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"]["field"], "ends");

    let patched: Value = app
        .client
        .patch(format!("{}/api/v1/workshops/exaus-2027", app.address))
        .bearer_auth(&admin)
        .json(&json!({"title": "Erfahrungsaustausch Bonn", "location": ""}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(patched["title"], "Erfahrungsaustausch Bonn");
    assert_eq!(patched["location"], Value::Null);

    // Consents, then the filtered list.
    let notices: Vec<Value> = app.get("/api/v1/notices").await.json().await.unwrap();
    let n = notices
        .iter()
        .find(|n| n["id"] == "stiftung-workshop-teilnehmende")
        .unwrap();
    let mut tokens = Vec::new();
    for i in 0..3 {
        let body = json!({
            "workshop": "exaus-2027",
            "notice": {"id": n["id"], "version": n["version"], "language": "de", "sha256": n["sha256"]},
            "subject": {"name": format!("Person {i}"), "email": format!("p{i}@example.org")},
            "purposes": {"durchfuehrung": true, "fotos": true}
        });
        let c: Value = app
            .post_json("/api/v1/consents", &body)
            .await
            .json()
            .await
            .unwrap();
        tokens.push(c["token"].as_str().unwrap().to_owned());
    }
    app.withdraw_all(&tokens[1]).await;
    let get = |path: String| {
        app.client
            .get(format!("{}{path}", app.address))
            .bearer_auth(&auditor)
            .send()
    };
    let all: Value = get("/api/v1/consents?workshop=exaus-2027".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 3);
    // Each record shows where it was given from (kept with its subject since migration 0016);
    // the list names no one.
    for item in all["items"].as_array().unwrap() {
        assert_eq!(item["ip_truncated"], "127.0.0.0", "{item}");
        assert!(item.get("subject").is_none(), "{item}");
    }
    let withdrawn: Value = get("/api/v1/consents?state=withdrawn".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(withdrawn["total"], 1);
    let paged: Value = get("/api/v1/consents?per_page=2&page=2".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paged["items"].as_array().unwrap().len(), 1);
    let none: Value = get("/api/v1/consents?to=2020-01-01".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(none["total"], 0);
    let bad = get("/api/v1/consents?state=vielleicht".into())
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let id = withdrawn["items"][0]["id"].as_str().unwrap().to_owned();
    let one: Value = get(format!("/api/v1/consents/{id}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(one["subject"]["email"], "p1@example.org");
    assert!(
        one["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["state"] == "withdrawn")
    );

    let archived = post("/api/v1/workshops/exaus-2027/archive", &admin, json!({}))
        .await
        .unwrap();
    assert_eq!(archived.status(), StatusCode::OK);
    assert_eq!(
        app.get("/w/exaus-2027").await.status(),
        StatusCode::NOT_FOUND,
        "archived: no new consents"
    );

    let report: Value = get("/api/v1/ledger/verify".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert!(
        report["audit_events_checked"].as_i64().unwrap() >= 3,
        "workshop changes are audited"
    );
}

async fn no_passwords_tokens_or_session_ids_in_logs(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options {
            rust_log: Some("debug".into()),
            ..Default::default()
        },
    )
    .await;
    app.add_user("admin@example.org", "admin");
    let session = app.login("admin@example.org").await;
    app.login_response("admin@example.org", "Geheimes-Falsches-Wort-77")
        .await;
    let token = app.create_token("admin", "automation");
    app.client
        .get(format!("{}/api/v1/workshops", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    app.client
        .get(format!("{}/api/v1/workshops", app.address))
        .bearer_auth("cdt_ungueltig")
        .send()
        .await
        .unwrap();
    staff_get(&app, "/staff/users", &session).await;
    let logs = app.logs();
    assert!(
        logs.contains("route=\"/staff/users\""),
        "the test sees the real request log"
    );
    let secret = session.cookie.split_once('=').unwrap().1;
    for forbidden in [
        PASSWORD,
        "Geheimes-Falsches-Wort-77",
        token.as_str(),
        "cdt_ungueltig",
        secret,
        session.csrf.as_str(),
        "admin@example.org",
    ] {
        assert!(
            !logs.contains(forbidden),
            "`{forbidden}` appears in the logs"
        );
    }
}

async fn fresh_install_says_how_to_create_the_first_admin(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let banner = app.wait_for_log("No admin account yet");
    assert!(
        banner.contains("No admin account yet") && banner.contains("user add"),
        "{banner}"
    );
    let weak = {
        use std::io::Write;
        let mut child = app
            .command()
            .args(["user", "add", "a@example.org", "--role", "admin"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"password1234\n")
            .unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(!weak.status.success());
    assert!(
        String::from_utf8_lossy(&weak.stderr).contains("password"),
        "the refusal names the field"
    );
    let collector = app.cli(&["user", "add", "c@example.org", "--role", "collector"]);
    assert!(
        !collector.status.success(),
        "collector is a token-only role"
    );
    app.add_user("a@example.org", "admin");
    let list = String::from_utf8(app.cli(&["user", "list"]).stdout).unwrap();
    assert!(list.contains("a@example.org\tadmin\tactive"), "{list}");
}

/// Behind a TLS proxy (public URL https): Secure cookies and HSTS; headers everywhere.
async fn tls_deployments_get_secure_cookies_and_hsts(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options {
            public_url: Some("https://consent.example.org".into()),
            ..Default::default()
        },
    )
    .await;
    app.add_user("admin@example.org", "admin");
    let response = app.login_response("admin@example.org", PASSWORD).await;
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );
    let page = app.get("/staff/login").await;
    assert_eq!(
        page.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
}

/// An admin creates a token in the web area; it is shown once and works at once.
async fn admins_create_and_revoke_tokens_in_the_web_area(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.org", "admin");
    let session = app.login("admin@example.org").await;
    let created = app
        .client
        .post(format!("{}/staff/tokens", app.address))
        .header("cookie", &session.cookie)
        .form(&[
            ("csrf", session.csrf.as_str()),
            ("name", "anmeldeseite"),
            ("role", "collector"),
            ("expires", ""),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let html = created.text().await.unwrap();
    let token = html
        .split("class=\"secret\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_owned();
    assert!(token.starts_with("cdt_"));
    // Shown once: the list page does not show it again.
    let list = staff_get(&app, "/staff/tokens", &session)
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("anmeldeseite") && !list.contains(&token));
    // A collector may post consents and nothing else.
    let r = app
        .client
        .get(format!("{}/api/v1/workshops", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let revoke = app
        .client
        .post(format!("{}/staff/tokens/anmeldeseite/revoke", app.address))
        .header("cookie", &session.cookie)
        .form(&[("csrf", session.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::SEE_OTHER);
    let r = app
        .client
        .get(format!("{}/api/v1/notices", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

/// The overview lists the newest consents and, apart, the newest withdrawals: only the
/// withdrawn record under withdrawals, however many consents came before or after it.
async fn dashboard_lists_the_newest_consents_and_withdrawals(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    app.add_user("admin@example.org", "admin");
    let admin = app.login("admin@example.org").await;
    let mut records = Vec::new();
    let mut tokens = Vec::new();
    for i in 0..4 {
        let created = app
            .record_consent("koeln-2026", &format!("liste{i}@example.org"))
            .await;
        records.push(created["record_id"].as_str().unwrap().to_owned());
        tokens.push(created["token"].as_str().unwrap().to_owned());
    }
    assert_eq!(app.withdraw_all(&tokens[1]).await.status(), StatusCode::OK);
    // Consents after the withdrawal do not push it out of its own list.
    for i in 4..16 {
        app.record_consent("koeln-2026", &format!("liste{i}@example.org"))
            .await;
    }

    let page = staff_get(&app, "/staff", &admin).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let (consents, withdrawals) = html
        .split_once("Neueste Widerrufe")
        .expect("the overview has a list of withdrawals");
    let consents = consents
        .split_once("Neueste Einwilligungen")
        .expect("the overview has a list of consents")
        .1;
    // Only the withdrawn record, once: of its purposes only the photos were given (the
    // newsletter was refused), so withdrawing all withdrew one.
    assert!(
        withdrawals.contains(&records[1]),
        "the withdrawal is listed"
    );
    assert_eq!(withdrawals.matches("/api/v1/consents/").count(), 1);
    for (i, other) in records.iter().enumerate().filter(|(i, _)| *i != 1) {
        assert!(
            !withdrawals.contains(other.as_str()),
            "record {i} was not withdrawn"
        );
    }
    // The newest given consents: the early records are behind the ten newest.
    assert!(!consents.contains(&records[0]), "older than the ten newest");
    assert_eq!(consents.matches("/api/v1/consents/").count(), 10);
}

/// The overview checks the chain on every visit and links to the ledger page, which also
/// compares the tables: a changed ledger row shows on both, a changed consent row only there.
async fn dashboard_checks_the_chain_and_the_ledger_page_the_tables(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    app.add_user("admin@example.org", "admin");
    let admin = app.login("admin@example.org").await;
    let created = app.record_consent("koeln-2026", "kette@example.org").await;
    let seq = created["ledger_seq"].as_i64().unwrap();
    let page = |path: &'static str| {
        let (app, admin) = (&app, &admin);
        async move { staff_get(app, path, admin).await.text().await.unwrap() }
    };
    let (overview, ledger_page) = (|| page("/staff"), || page("/staff/ledger"));
    let length = app.ledger_length();
    let html = overview().await;
    assert!(
        html.contains(&format!("Kette unverändert: {length} Einträge")),
        "{html}"
    );
    assert!(html.contains("href=\"/staff/ledger\""));
    assert!(ledger_page().await.contains("Der Ledger ist unverändert."));

    // Only the record: the chain holds, the tables do not.
    app.db
        .tamper(&[&format!(
            "UPDATE consent_records SET notice_version = 1 WHERE ledger_seq = {seq}"
        )])
        .await;
    assert!(overview().await.contains("Kette unverändert"));
    assert!(
        ledger_page()
            .await
            .contains("Der Ledger oder die Tabellen wurden verändert.")
    );

    // The ledger row itself: the overview says so.
    app.db
        .tamper(&[&format!(
            "UPDATE ledger SET kind = 'audit' WHERE seq = {seq}"
        )])
        .await;
    let html = overview().await;
    assert!(html.contains("VERÄNDERT: 1 Befunde"), "{html}");
}

on_both_backends!(
    dashboard_checks_the_chain_and_the_ledger_page_the_tables,
    dashboard_lists_the_newest_consents_and_withdrawals,
    tls_deployments_get_secure_cookies_and_hsts,
    admins_create_and_revoke_tokens_in_the_web_area,
    login_logout_and_cookie_flags,
    sessions_expire_when_idle_or_too_old,
    csrf_is_required_on_state_changing_requests,
    repeated_failures_lock_the_account_and_the_address,
    tokens_work_until_revoked_or_expired,
    public_endpoints_are_rate_limited_per_client_and_per_collector,
    workshops_and_consents_through_the_staff_api,
    no_passwords_tokens_or_session_ids_in_logs,
    fresh_install_says_how_to_create_the_first_admin,
);
