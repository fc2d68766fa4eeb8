//! Group commit: consents that arrive together share a transaction, and still each 201 means
//! stored, each consent has its own ledger entry, and one bad consent fails alone.

use reqwest::StatusCode;
use serde_json::Value;

use consentd::clock::Clock;
use consentd::domain::consent::{
    CollectionMethod, EmailAddress, PurposeDecision, PurposeState, Subject, SubjectName,
};
use consentd::domain::notice::LegalBasis;
use consentd::store::Db;
use consentd::store::consents::{NewConsent, Outdated};
use consentd::store::group_commit::ConsentWriter;

use crate::helpers::{Backend, OM_NOTICE, TestApp, metric};
use crate::on_both_backends;

const CONCURRENT: usize = 120;

async fn concurrent_consents_share_commits_and_each_is_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let before = app.ledger_length();
    let body = app.consent_body("koeln-2026", "gruppe@example.org").await;
    let requests = (0..CONCURRENT).map(|i| {
        let mut body = body.clone();
        body["subject"]["email"] = format!("gruppe-{i}@example.org").into();
        let app = &app;
        async move { app.post_json("/api/v1/consents", &body).await }
    });
    let responses = futures::future::join_all(requests).await;
    let mut seqs = Vec::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        seqs.push(created["ledger_seq"].as_i64().unwrap());
        // Acknowledged means readable at once, by anyone, through the receipt.
        let token = created["token"].as_str().unwrap();
        let receipt = app.get(&format!("/api/v1/receipts/{token}")).await;
        assert_eq!(receipt.status(), StatusCode::OK);
    }
    seqs.sort_unstable();
    let expected: Vec<i64> = (before + 1..=before + CONCURRENT as i64).collect();
    assert_eq!(
        seqs, expected,
        "one ledger entry per consent, no gaps, none shared"
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM consent_records")
            .await,
        CONCURRENT as i64
    );
    let (ok, report) = app.verify();
    assert!(ok, "{report}");

    let text = app.metrics().await;
    let (commits, consents) = (
        metric(&text, "consentd_consent_commits_total ") as u64,
        metric(&text, "consentd_consents_committed_total ") as u64,
    );
    assert_eq!(consents, CONCURRENT as u64);
    assert!(
        commits < consents,
        "{CONCURRENT} concurrent consents took {commits} commits: no group commit"
    );
}

/// A consent the database refuses (here: a notice text it does not hold) fails alone; the
/// others of its batch are stored. Consents checked against an outdated view (a workshop that
/// is gone, an older notice catalogue) are left out and answered `Outdated`, not stored, and
/// the rest of their batch gets each its own answer.
async fn a_refused_consent_does_not_fail_its_batch(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let created: Value = app
        .record_consent("koeln-2026", "vorlage@example.org")
        .await;
    let like = ConsentLike::stored(&app, &created).await;
    let consent = |i: usize| {
        let mut consent = like.consent(&format!("batch-{i}@example.org"));
        if i % 20 == 11 {
            consent.workshop_id = "no-such-workshop".to_owned();
        }
        if i == 7 {
            consent.notice_sha256 = "0".repeat(64);
        }
        if i % 20 == 13 {
            consent.catalog_generation -= 1;
        }
        consent
    };

    let db = Db::connect(&app.db.url).await.unwrap();
    let writer = ConsentWriter::spawn(db, Clock::system());
    // Queued together, so the writer takes them as one batch (or a few).
    let results = futures::future::join_all((0..20).map(|i| writer.record(consent(i)))).await;
    for (i, result) in results.iter().enumerate() {
        let answer = match result {
            Err(_) => "refused",
            Ok(Err(Outdated)) => "outdated",
            Ok(Ok(_)) => "stored",
        };
        let expected = match i {
            7 => "refused",
            11 | 13 => "outdated",
            _ => "stored",
        };
        assert_eq!(answer, expected, "consent {i}: {:?}", result.as_ref().err());
    }
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM consent_records")
            .await,
        18,
        "the first consent and the 17 good ones"
    );

    // Without a refusal the batch commits with its outdated consents left out: every answer
    // must still be the one of its own consent (a receipt token handed to the wrong request
    // would be another participant's).
    let (commits_before, stored_before) = writer.committed();
    let results = futures::future::join_all((20..40).map(|i| writer.record(consent(i)))).await;
    for (i, result) in (20..).zip(&results) {
        match result.as_ref().expect("nothing refused") {
            Err(Outdated) => assert!(i == 31 || i == 33, "consent {i} found outdated"),
            Ok(recorded) => {
                assert!(i != 31 && i != 33, "consent {i} stored");
                let email = app
                    .db
                    .scalar_string(&format!(
                        "SELECT email FROM subjects WHERE id = '{}'",
                        recorded.record.subject_id
                    ))
                    .await;
                assert_eq!(
                    email,
                    format!("batch-{i}@example.org"),
                    "answer of consent {i}"
                );
            }
        }
    }
    let (commits, stored) = writer.committed();
    assert_eq!(stored - stored_before, 18);
    assert!(
        commits - commits_before < 18,
        "18 consents took {} commits: no batch held several",
        commits - commits_before
    );
    let (ok, report) = app.verify();
    assert!(ok, "{report}");
}

/// A writer chains each batch from the ledger head its last batch left (on PostgreSQL without
/// reading it again), so what others do between two of its batches must still decide: entries
/// appended by another instance, a notice catalogue that moved on, an archived workshop.
async fn a_writer_s_next_batch_follows_what_others_wrote_meanwhile(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let created: Value = app.record_consent("koeln-2026", "zuerst@example.org").await;
    let like = ConsentLike::stored(&app, &created).await;
    let writer = ConsentWriter::spawn(Db::connect(&app.db.url).await.unwrap(), Clock::system());
    let stored_seq =
        |answer: sqlx::Result<consentd::store::consents::Stored>, what: &str| match answer {
            Ok(Ok(recorded)) => recorded.ledger.seq,
            Ok(Err(Outdated)) => panic!("{what}: found outdated"),
            Err(e) => panic!("{what}: {e}"),
        };
    let first = stored_seq(writer.record(like.consent("a@example.org")).await, "first");

    // Another instance appends (the server withdraws the consent it recorded).
    let withdrawn = app.withdraw_all(created["token"].as_str().unwrap()).await;
    assert_eq!(withdrawn.status(), StatusCode::OK);
    assert_eq!(app.ledger_length(), first + 1);
    let after_others = stored_seq(
        writer.record(like.consent("b@example.org")).await,
        "after another instance's entry",
    );
    assert_eq!(
        after_others,
        first + 2,
        "chained after the other instance's entry"
    );

    // The catalogue moves on: a consent checked against the older one is not stored.
    app.db
        .tamper(&["UPDATE notice_catalog_generation SET generation = generation + 1 WHERE id = 1"])
        .await;
    let stale = writer.record(like.consent("c@example.org")).await;
    assert!(matches!(stale, Ok(Err(Outdated))), "older catalogue stored");
    let mut current = like.consent("d@example.org");
    current.catalog_generation += 1;
    let seq = stored_seq(
        writer.record(current).await,
        "checked against the new catalogue",
    );
    assert_eq!(seq, first + 3);

    // The workshop is archived elsewhere: no consent for it is stored any more.
    app.db
        .tamper(&[
            "UPDATE workshops SET archived_at = '2026-01-01T00:00:00Z' WHERE slug = 'koeln-2026'",
        ])
        .await;
    let mut late = like.consent("e@example.org");
    late.catalog_generation += 1;
    assert!(
        matches!(writer.record(late).await, Ok(Err(Outdated))),
        "consent for an archived workshop stored"
    );

    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM consent_records")
            .await,
        4,
        "the server's consent and the writer's three"
    );
    let (ok, report) = app.verify();
    assert!(ok, "{report}");
}

/// What the writer needs to store consents like one recorded through the API.
struct ConsentLike {
    workshop_id: String,
    controller_id: String,
    notice_version: u32,
    notice_sha256: String,
    content_sha256: String,
    generation: i64,
}

impl ConsentLike {
    async fn stored(app: &TestApp, created: &Value) -> ConsentLike {
        let column = |name: &str| {
            format!(
                "SELECT {name} FROM consent_records WHERE id = '{}'",
                created["record_id"].as_str().unwrap()
            )
        };
        ConsentLike {
            workshop_id: app.db.scalar_string(&column("workshop_id")).await,
            controller_id: app.db.scalar_string(&column("controller_id")).await,
            notice_version: created["notice"]["version"].as_u64().unwrap() as u32,
            notice_sha256: app.db.scalar_string(&column("notice_sha256")).await,
            content_sha256: app.db.scalar_string(&column("notice_content_sha256")).await,
            generation: app
                .db
                .scalar_i64("SELECT generation FROM notice_catalog_generation WHERE id = 1")
                .await,
        }
    }

    fn consent(&self, email: &str) -> NewConsent {
        NewConsent {
            workshop_id: self.workshop_id.clone(),
            controller_id: self.controller_id.clone(),
            notice_id: OM_NOTICE.to_owned(),
            notice_version: self.notice_version,
            notice_language: "de".to_owned(),
            notice_sha256: self.notice_sha256.clone(),
            notice_content_sha256: self.content_sha256.clone(),
            subject: Subject {
                name: SubjectName::parse("Erika Beispiel").unwrap(),
                email: EmailAddress::parse(email).unwrap(),
                organisation: None,
            },
            decisions: vec![PurposeDecision {
                purpose_id: "durchfuehrung".to_owned(),
                legal_basis: LegalBasis::Contract,
                state: PurposeState::Acknowledged,
            }],
            method: CollectionMethod::Api,
            collector: None,
            renews_record_id: None,
            ip_truncated: None,
            user_agent: None,
            catalog_generation: self.generation,
        }
    }
}

on_both_backends!(
    concurrent_consents_share_commits_and_each_is_stored,
    a_refused_consent_does_not_fail_its_batch,
    a_writer_s_next_batch_follows_what_others_wrote_meanwhile,
);
