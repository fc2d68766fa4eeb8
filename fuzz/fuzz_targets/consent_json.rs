//! Arbitrary bytes as the body of `POST /api/v1/consents`: the JSON parsing the API uses
//! (400 for bad syntax, 422 naming the field), then every check that needs no database —
//! the client override, the workshop slug, the language, the subject's fields, and the
//! purpose decisions against each demo notice version. Nothing may panic; every rejection is
//! a 4xx with the project's error body.
#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use axum::response::IntoResponse;
use consentd::domain::consent::{PersonalData, Subject, decide};
use consentd::domain::notice::{Language, NoticeVersion};
use consentd::domain::workshop::Slug;
use consentd::http::error::Error;
use consentd::http::extract::{ClientInfo, parse_json};
use consentd::http::submission::{ConsentInput, apply_client_override};
use libfuzzer_sys::fuzz_target;

/// Every version of every demo notice.
static VERSIONS: LazyLock<Vec<NoticeVersion>> = LazyLock::new(|| {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    let set = consentd::policies::load(&dir).expect("the demo policies load");
    set.notices
        .values()
        .flat_map(|n| n.versions.iter().cloned())
        .collect()
});

/// A rejection must be a client error with a code and a message.
fn rejected(e: Error) {
    let status = e.status();
    assert!(status.is_client_error(), "{status} for {e:?}");
    assert!(!e.code().is_empty());
    let _ = e.into_response();
}

fuzz_target!(|data: &[u8]| {
    let input: ConsentInput = match parse_json(data) {
        Ok(input) => input,
        Err(e) => return rejected(e),
    };
    for from_collector in [false, true] {
        let mut client = ClientInfo {
            ip_truncated: Some("192.0.2.0".into()),
            user_agent: None,
            language: Language::De,
        };
        if let Err(e) = apply_client_override(input.client.as_ref(), from_collector, &mut client) {
            rejected(e.into());
        }
    }
    if let Err(e) = Slug::parse(&input.workshop) {
        rejected(e.into());
    }
    let _ = Language::parse(&input.notice.language);
    match input.subject.parse() {
        Ok(subject) => {
            let _ = Subject::digest(
                &PersonalData {
                    name: subject.name.as_str(),
                    email: subject.email.as_str(),
                    organisation: subject.organisation.as_ref().map(|o| o.as_str()),
                    ip_truncated: None,
                    user_agent: None,
                },
                "salt",
            );
        }
        Err(e) => rejected(e.into()),
    }
    for version in VERSIONS.iter() {
        if let Err(e) = decide(version, &input.purposes, input.acknowledged) {
            rejected(e.into());
        }
    }
});
