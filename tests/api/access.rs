//! The authorisation matrix: every route of the router, as printed by `consentd routes`
//! from the same table the router is built from, called as every kind of caller.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Backend, OM_NOTICE, PASSWORD, Session, TestApp};
use crate::on_both_backends;

#[derive(Clone, Debug)]
enum Caller {
    Anonymous,
    /// A participant's receipt token, sent as a bearer credential.
    Participant(String),
    Session {
        role: &'static str,
        email: &'static str,
        session: Session,
    },
    Token {
        role: &'static str,
        token: String,
    },
}

impl Caller {
    fn name(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".into(),
            Caller::Participant(_) => "participant token".into(),
            Caller::Session { role, .. } => format!("{role} (session)"),
            Caller::Token { role, .. } => format!("{role} (token)"),
        }
    }

    fn role(&self) -> Option<&'static str> {
        match self {
            Caller::Session { role, .. } | Caller::Token { role, .. } => Some(role),
            _ => None,
        }
    }
}

#[derive(Debug, PartialEq)]
enum Expect {
    Exactly(u16),
    /// Past the gate: whatever the handler answers, but never 401, 403 or 5xx.
    Admitted,
}

/// What the issue demands, written independently of the server's code.
fn expected(audience: &str, caller: &Caller, path: &str) -> Expect {
    if let Caller::Participant(_) = caller {
        // A receipt token is a capability for its own /r/ link, never a credential.
        return Expect::Exactly(401);
    }
    if audience == "public" {
        return Expect::Admitted;
    }
    match caller.role() {
        None if path.starts_with("/staff") => Expect::Exactly(303),
        None => Expect::Exactly(401),
        Some(role) if audience.split(',').any(|r| r == role) => Expect::Admitted,
        Some(_) => Expect::Exactly(403),
    }
}

struct Fixture {
    receipt_token: String,
    record_id: String,
}

fn concrete_path(template: &str, f: &Fixture) -> String {
    let path = template
        .replace("{token}", &f.receipt_token)
        .replace("{*rest}", "swagger-ui.css");
    if template.starts_with("/api/v1/consents/") {
        return path.replace("{id}", &f.record_id);
    }
    if template.starts_with("/staff/users/") {
        return path.replace("{id}", "no-such-user");
    }
    if template.ends_with("/archive") || template == "/api/v1/workshops/{slug}" {
        return path.replace("{slug}", "matrix-archive");
    }
    path.replace("{slug}", "koeln-2026")
        .replace("{name}", "no-such-token")
}

async fn call(app: &TestApp, method: &Method, path: &str, caller: &Caller) -> reqwest::Response {
    let url = format!("{}{path}", app.address);
    let mut request = app.client.request(method.clone(), &url);
    match caller {
        Caller::Anonymous => {}
        Caller::Participant(token) => request = request.bearer_auth(token),
        Caller::Token { token, .. } => request = request.bearer_auth(token),
        Caller::Session { session, .. } => request = request.header("cookie", &session.cookie),
    }
    if *method == Method::GET {
        return request.send().await.unwrap();
    }
    if path.starts_with("/api/") {
        if let Caller::Session { session, .. } = caller {
            request = request.header("x-csrf-token", &session.csrf);
        }
        request.json(&json!({})).send().await.unwrap()
    } else {
        let mut form: Vec<(&str, String)> = Vec::new();
        if let Caller::Session { session, .. } = caller {
            form.push(("csrf", session.csrf.clone()));
        }
        if path == "/staff/login" {
            // Valid credentials, so a refusal could only come from the gate.
            form.push(("email", "admin@example.org".into()));
            form.push(("password", PASSWORD.into()));
        }
        request.form(&form).send().await.unwrap()
    }
}

async fn every_route_admits_exactly_its_audience(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    app.add_workshop("matrix-archive", OM_NOTICE);
    for (email, role) in [
        ("admin@example.org", "admin"),
        ("lawyer@example.org", "lawyer"),
        ("auditor@example.org", "auditor"),
    ] {
        app.add_user(email, role);
    }
    let body = app.consent_body("koeln-2026", "matrix@example.org").await;
    let created: Value = app
        .post_json("/api/v1/consents", &body)
        .await
        .json()
        .await
        .unwrap();
    let fixture = Fixture {
        receipt_token: created["token"].as_str().unwrap().to_owned(),
        record_id: created["record_id"].as_str().unwrap().to_owned(),
    };

    let mut callers = vec![
        Caller::Anonymous,
        Caller::Participant(fixture.receipt_token.clone()),
    ];
    for (email, role) in [
        ("admin@example.org", "admin"),
        ("lawyer@example.org", "lawyer"),
        ("auditor@example.org", "auditor"),
    ] {
        callers.push(Caller::Session {
            role,
            email,
            session: app.login(email).await,
        });
    }
    for role in ["admin", "lawyer", "auditor", "collector"] {
        callers.push(Caller::Token {
            role,
            token: app.create_token(role, &format!("matrix-{role}")),
        });
    }

    let out = app.cli(&["routes", "--json"]);
    assert!(out.status.success());
    let routes: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        routes.len() >= 30,
        "the table lists every route ({} found)",
        routes.len()
    );

    // The audiences the issue names, so a too-generous declaration fails too.
    let declared = |method: &str, path: &str| {
        routes
            .iter()
            .find(|r| r["method"] == method && r["path"] == path)
            .and_then(|r| r["audience"].as_str())
            .unwrap_or_else(|| panic!("{method} {path} is not routed"))
            .to_owned()
    };
    for (method, path, audience) in [
        ("GET", "/w/{slug}", "public"),
        ("POST", "/api/v1/consents", "public"),
        ("GET", "/api/v1/notices", "public"),
        ("GET", "/api/v1/receipts/{token}", "public"),
        ("POST", "/api/v1/receipts/{token}/withdraw", "public"),
        ("GET", "/api/v1/workshops", "admin,auditor"),
        ("GET", "/api/v1/workshops/{slug}", "admin,auditor"),
        ("POST", "/api/v1/workshops", "admin"),
        ("PATCH", "/api/v1/workshops/{slug}", "admin"),
        ("POST", "/api/v1/workshops/{slug}/archive", "admin"),
        ("GET", "/api/v1/consents", "admin,auditor"),
        ("GET", "/api/v1/consents/{id}", "admin,auditor"),
        ("GET", "/api/v1/ledger/verify", "admin,auditor"),
        ("GET", "/api/v1/audit", "admin,auditor"),
        ("GET", "/staff/users", "admin"),
        ("POST", "/staff/tokens", "admin"),
    ] {
        assert_eq!(declared(method, path), audience, "{method} {path}");
    }

    let mut failures = Vec::new();
    let mut checked = 0;
    for route in &routes {
        let method: Method = route["method"].as_str().unwrap().parse().unwrap();
        let template = route["path"].as_str().unwrap();
        let audience = route["audience"].as_str().unwrap();
        assert!(!audience.is_empty(), "{method} {template} has no audience");
        let path = concrete_path(template, &fixture);
        for caller in &mut callers {
            let response = call(&app, &method, &path, caller).await;
            let status = response.status().as_u16();
            checked += 1;
            let ok = match expected(audience, caller, &path) {
                Expect::Exactly(code) => status == code,
                Expect::Admitted => status != 401 && status != 403 && status < 500,
            };
            if !ok {
                failures.push(format!(
                    "{method} {template} as {}: got {status}, expected {:?} (audience {audience})",
                    caller.name(),
                    expected(audience, caller, &path)
                ));
            }
            // Signing out ends the session: sign in again for the next routes.
            if template == "/staff/logout" {
                if let Caller::Session { email, session, .. } = caller {
                    *session = app.login(email).await;
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} calls wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        !app.logs().contains("status=500"),
        "no call may end in a 500"
    );
}

/// Every JSON route is described in the OpenAPI document, and vice versa.
async fn openapi_document_covers_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let routes: Vec<Value> =
        serde_json::from_slice(&app.cli(&["routes", "--json"]).stdout).unwrap();
    let mut api_routes: Vec<(String, String)> = routes
        .iter()
        .filter_map(|r| {
            let path = r["path"].as_str()?;
            (path.starts_with("/api/v1/")
                && !path.starts_with("/api/v1/docs")
                && path != "/api/v1/openapi.json")
                .then(|| {
                    (
                        r["method"].as_str().unwrap().to_lowercase(),
                        path.to_owned(),
                    )
                })
        })
        .collect();
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    api_routes.sort();
    documented.sort();
    assert_eq!(api_routes, documented);
    let page = app.get("/api/v1/docs/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text().await.unwrap().contains("swagger"),
        "the browsable page is served"
    );
}

/// Found by schemathesis: a path segment that does not parse (a version that is no number,
/// invalid percent-encoding) got axum's plain-text 400 instead of the JSON error body; and the
/// document now lists the error answers every operation can get, each with that body.
async fn unparsable_path_parameters_get_the_json_error(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let token = app.create_token("admin", "paths");
    for path in [
        format!("/api/v1/notices/{OM_NOTICE}/versions/-1"),
        format!("/api/v1/notices/{OM_NOTICE}/versions/x/pdf"),
        "/api/v1/consents/%FF".to_owned(),
    ] {
        let response = app
            .client
            .get(format!("{}{path}", app.address))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "malformed_body", "{path}");
    }
    // What is wrong is named, without the value or serde's words.
    let (status, body) = {
        let r = app
            .client
            .get(format!(
                "{}/api/v1/notices/{OM_NOTICE}/versions/abc",
                app.address
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"]["message"],
        "path parameter `version` is not a number"
    );
    for (query, field) in [
        ("/api/v1/retention/report?to=2027-01-31", "from"),
        (
            "/api/v1/retention/report?from=2027-02-30&to=2027-03-01",
            "from",
        ),
        ("/api/v1/audit?page=0", "page"),
        ("/api/v1/consents?notice_version=0", "notice_version"),
        ("/api/v1/consents?from=2027-02-01&to=2027-01-01", "to"),
        ("/api/v1/consents?per_page=zehn", "per_page"),
    ] {
        let r = app
            .client
            .get(format!("{}{query}", app.address))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            !message.contains("deserialize") && !message.contains("zehn"),
            "{query}: {message}"
        );
    }
    // The scheme's name in any case.
    let lower = app
        .client
        .get(format!("{}/api/v1/consents", app.address))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), StatusCode::OK);
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let show = &doc["paths"]["/api/v1/notices/{id}/versions/{version}"]["get"]["responses"];
    for code in ["400", "401", "403", "404", "503"] {
        assert_eq!(
            show[code]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "{code}"
        );
    }
    let consent = &doc["paths"]["/api/v1/consents"]["post"]["responses"];
    for code in ["400", "409", "413", "415", "422", "429", "503"] {
        assert!(consent[code].is_object(), "{code}");
    }
}

/// The staff pages answer a parameter that does not parse with a readable page in the
/// reader's language, not JSON or plain text.
async fn unparsable_path_parameters_on_pages_get_the_error_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_user("admin@example.org", "admin");
    let session = app.login("admin@example.org").await;
    for language in ["de", "en"] {
        let response = app
            .client
            .get(format!("{}/staff/notices/{OM_NOTICE}/-1", app.address))
            .header("cookie", &session.cookie)
            .header("accept-language", language)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let page = response.text().await.unwrap();
        assert!(page.contains("400"), "{page}");
        assert!(
            page.contains(&format!("lang=\"{language}\"")),
            "{language}: {page}"
        );
    }
}

/// What the OpenAPI document says a request may hold, the API takes: the consent body is
/// described field by field (not as any object) and a consent as clients send it fits that
/// description; every value of each enumerated parameter or field (`pattern: ^(a|b|…)$`) is
/// accepted. (Schemathesis generates requests from these constraints.)
async fn documented_values_are_accepted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let token = app.create_token("admin", "openapi");
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let get = |path: String| {
        let (app, token) = (&app, &token);
        async move {
            let response = app
                .client
                .get(format!("{}{path}", app.address))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let body = response.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };

    let consent = resolved(
        &doc,
        &doc["paths"]["/api/v1/consents"]["post"]["requestBody"]["content"]["application/json"]["schema"],
    );
    let required: Vec<&str> = consent["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(required, ["workshop", "notice", "subject"], "{consent}");
    let body = app.consent_body("koeln-2026", "doku@example.org").await;
    assert_fits(&doc, consent, &body, "consent");
    // The same body, posted.
    let created = app.record_consent("koeln-2026", "doku@example.org").await;
    let withdrawal = &doc["paths"]["/api/v1/receipts/{token}/withdraw"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"];
    for body in [json!({"all": true}), json!({"purposes": ["fotos"]})] {
        assert_fits(&doc, withdrawal, &body, "withdrawal");
    }
    let withdrawn = app.withdraw_all(created["token"].as_str().unwrap()).await;
    assert_eq!(withdrawn.status(), StatusCode::OK);

    let (_, subjects) = get("/api/v1/subjects?email=doku@example.org".to_owned()).await;
    let subject = subjects["subjects"][0]["id"]
        .as_str()
        .expect("the subject's id");
    for (template, parameter, path, query) in [
        (
            "/api/v1/consents",
            "state",
            "/api/v1/consents".to_owned(),
            "",
        ),
        (
            "/api/v1/retention/concept",
            "format",
            "/api/v1/retention/concept".to_owned(),
            "",
        ),
        (
            "/api/v1/retention/report",
            "format",
            "/api/v1/retention/report".to_owned(),
            "&from=2026-01-01&to=2026-01-31",
        ),
        (
            "/api/v1/subjects/{id}/export",
            "format",
            format!("/api/v1/subjects/{subject}/export"),
            "",
        ),
    ] {
        let schema = doc["paths"][template]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == parameter)
            .map(|p| &p["schema"])
            .unwrap_or_else(|| panic!("{template}: no parameter {parameter}"));
        for value in enumerated(schema) {
            let (status, _) = get(format!("{path}?{parameter}={value}{query}")).await;
            assert_eq!(status, StatusCode::OK, "{path}?{parameter}={value}");
        }
    }
    let workshop = resolved(
        &doc,
        &doc["paths"]["/api/v1/workshops"]["post"]["requestBody"]["content"]["application/json"]["schema"],
    );
    for (i, kind) in enumerated(&workshop["properties"]["kind"])
        .into_iter()
        .enumerate()
    {
        let body = json!({
            "slug": format!("art-{i}"), "title": "Workshop", "starts": "2027-03-01",
            "ends": "2027-03-02", "notice": OM_NOTICE, "kind": kind,
        });
        assert_fits(&doc, workshop, &body, "workshop");
        let response = app
            .client
            .post(format!("{}/api/v1/workshops", app.address))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "kind {kind}");
    }
}

/// `schema`, or the component it refers to.
fn resolved<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// The values of an enumeration written as `pattern: ^(a|b|…)$` (at least two).
fn enumerated(schema: &Value) -> Vec<String> {
    let pattern = schema["pattern"].as_str().unwrap_or_default();
    let values: Vec<String> = pattern
        .strip_prefix("^(")
        .and_then(|p| p.strip_suffix(")$"))
        .map(|p| p.split('|').map(str::to_owned).collect())
        .unwrap_or_default();
    assert!(values.len() >= 2, "not an enumeration: {schema}");
    values
}

/// Every field of `value` is described in `schema` and meets its pattern and lengths.
fn assert_fits(doc: &Value, schema: &Value, value: &Value, at: &str) {
    let schema = resolved(doc, schema);
    // `Option<T>` fields are `oneOf: [null, T]` or carry `type: [T, null]`.
    let schema = schema["oneOf"]
        .as_array()
        .and_then(|alternatives| alternatives.iter().find(|a| a["type"] != "null"))
        .map_or(schema, |a| resolved(doc, a));
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let described = schema["properties"].get(name).or_else(|| {
                    schema["additionalProperties"]
                        .is_object()
                        .then_some(&schema["additionalProperties"])
                });
                let described = described.unwrap_or_else(|| panic!("{at}.{name} is not described"));
                assert_fits(doc, described, field, &format!("{at}.{name}"));
            }
        }
        Value::String(text) => {
            if let Some(pattern) = schema["pattern"].as_str() {
                let regex = regex::Regex::new(pattern).unwrap();
                assert!(
                    regex.is_match(text),
                    "{at}: {text:?} does not match {pattern}"
                );
            }
            let chars = text.chars().count() as u64;
            if let Some(max) = schema["maxLength"].as_u64() {
                assert!(chars <= max, "{at}: longer than {max}");
            }
            if let Some(min) = schema["minLength"].as_u64() {
                assert!(chars >= min, "{at}: shorter than {min}");
            }
        }
        _ => {}
    }
}

on_both_backends!(
    every_route_admits_exactly_its_audience,
    openapi_document_covers_the_api,
    unparsable_path_parameters_get_the_json_error,
    unparsable_path_parameters_on_pages_get_the_error_page,
    documented_values_are_accepted
);
