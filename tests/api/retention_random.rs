//! Retention under randomness: many participants of workshops that ended on random days,
//! random holds, a random day to run on. Afterwards nothing past its deadline survives unless
//! held, nothing not yet due is gone, and the deletion log accounts for every deletion — also
//! with two instances running at once, and after a run killed in the middle.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Months, NaiveDate};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::helpers::{Backend, OM_NOTICE, TestApp};
use crate::on_both_backends;

const WORKSHOPS: usize = 30;

/// The rule, computed independently of the service: three years after the end of the
/// calendar year in which the workshop ended.
fn due(ends: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(ends.year(), 12, 31)
        .unwrap()
        .checked_add_months(Months::new(36))
        .unwrap()
}

struct World {
    app: TestApp,
    /// slug → last day
    ends: HashMap<String, NaiveDate>,
    /// e-mail → slug
    participant_of: HashMap<String, String>,
    held_workshops: HashSet<String>,
    held_emails: HashSet<String>,
    run_on: NaiveDate,
}

async fn world(backend: Backend, seed: u64, participants: usize) -> World {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let app = TestApp::spawn_at(backend, "2021-07-01T10:00:00Z").await;
    let admin = app.create_token("admin", "admin");
    let mut ends = HashMap::new();
    for i in 0..WORKSHOPS {
        // Ended between mid-2021 and 2027.
        let end = NaiveDate::from_ymd_opt(2021, 7, 1).unwrap()
            + chrono::TimeDelta::days(rng.random_range(0..6 * 365));
        let slug = format!("ws-{i}");
        let r = app.client.post(format!("{}/api/v1/workshops", app.address)).bearer_auth(&admin)
            .json(&json!({"slug": slug, "title": "Workshop", "starts": end, "ends": end, "notice": OM_NOTICE}))
            .send().await.unwrap();
        assert_eq!(r.status(), 201);
        ends.insert(slug, end);
    }
    let slugs: Vec<String> = ends.keys().cloned().collect();
    let body = app.consent_body("ws-0", "x@example.org").await;
    let mut participant_of = HashMap::new();
    let requests: Vec<_> = (0..participants)
        .map(|i| {
            let slug = slugs[rng.random_range(0..slugs.len())].clone();
            let email = format!("p{i}@example.org");
            participant_of.insert(email.clone(), slug.clone());
            let mut body = body.clone();
            body["workshop"] = json!(slug);
            body["subject"]["email"] = json!(email);
            let app = &app;
            async move { app.post_json("/api/v1/consents", &body).await.status() }
        })
        .collect();
    for chunk in futures::future::join_all(requests).await {
        assert_eq!(chunk, 201);
    }
    // Holds on some workshops and some people.
    let held_workshops: HashSet<String> = slugs
        .iter()
        .filter(|_| rng.random_bool(0.15))
        .cloned()
        .collect();
    for slug in &held_workshops {
        let r = app
            .client
            .post(format!("{}/api/v1/retention/holds", app.address))
            .bearer_auth(&admin)
            .json(&json!({"scope": "workshop", "target": slug, "reason": "Prüfung"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let mut held_emails = HashSet::new();
    let page: Value = app
        .client
        .get(format!("{}/api/v1/consents?per_page=200", app.address))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for item in page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|_| rng.random_bool(0.1))
    {
        let detail: Value = app
            .client
            .get(format!(
                "{}/api/v1/consents/{}",
                app.address,
                item["id"].as_str().unwrap()
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let r = app.client.post(format!("{}/api/v1/retention/holds", app.address)).bearer_auth(&admin)
            .json(&json!({"scope": "subject", "target": detail["subject"]["id"], "reason": "Art. 18"})).send().await.unwrap();
        assert_eq!(r.status(), 201);
        held_emails.insert(detail["subject"]["email"].as_str().unwrap().to_owned());
    }
    let run_on = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()
        + chrono::TimeDelta::days(rng.random_range(0..6 * 365));
    World {
        app,
        ends,
        participant_of,
        held_workshops,
        held_emails,
        run_on,
    }
}

impl World {
    /// Pages of 97 (prime, so they line up with nothing): each run works through many of
    /// them, each read while the one before it is being deleted, and two instances
    /// interleave page by page.
    fn run_args(&self) -> Vec<String> {
        ["retention", "run", "--json", "--retention-page", "97"]
            .map(String::from)
            .to_vec()
    }

    fn now(&self) -> String {
        format!("{}T12:00:00Z", self.run_on)
    }

    /// Checks the invariants against the database.
    async fn check(&self) {
        let mut expected_gone = 0;
        for (email, slug) in &self.participant_of {
            let present = self
                .app
                .db
                .scalar_i64(&format!(
                    "SELECT COUNT(*) FROM subjects WHERE email = '{email}'"
                ))
                .await
                == 1;
            let is_due = due(self.ends[slug]) <= self.run_on;
            let held = self.held_workshops.contains(slug) || self.held_emails.contains(email);
            let should_be_gone = is_due && !held;
            expected_gone += usize::from(should_be_gone);
            assert_eq!(
                !present,
                should_be_gone,
                "{email} of {slug} (ends {}, due {}, held {held}) on {}",
                self.ends[slug],
                due(self.ends[slug]),
                self.run_on
            );
        }
        let logged = self
            .app
            .db
            .scalar_i64(
                "SELECT COUNT(*) FROM deletion_log WHERE category = 'teilnehmende-kontaktdaten'",
            )
            .await;
        assert_eq!(
            logged as usize, expected_gone,
            "one log entry per deletion, no more"
        );
        let erased = self
            .app
            .db
            .scalar_i64("SELECT COUNT(*) FROM subjects WHERE erased_at IS NOT NULL")
            .await;
        assert_eq!(erased as usize, expected_gone);
        let (ok, out) = self.app.verify();
        assert!(ok, "{out}");
    }
}

async fn random_records_and_holds_are_deleted_exactly_when_due(backend: Backend) {
    let w = world(backend, 20261127, 2000).await;
    let args = w.run_args();
    let out = w
        .app
        .command()
        .env("CONSENTD_NOW", w.now())
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    w.check().await;
}

/// Two instances at once, then a run killed in the middle and finished by the next.
async fn concurrent_and_interrupted_runs_delete_each_item_once(backend: Backend) {
    let w = world(backend, 4242, 600).await;
    let args = w.run_args();
    // A run killed soon after it started…
    let mut killed = w
        .app
        .command()
        .env("CONSENTD_NOW", w.now())
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let _ = killed.kill();
    let _ = killed.wait();
    // …then two instances at once finish the work.
    let a = w
        .app
        .command()
        .env("CONSENTD_NOW", w.now())
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let b = w
        .app
        .command()
        .env("CONSENTD_NOW", w.now())
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    w.check().await;
}

on_both_backends!(
    random_records_and_holds_are_deleted_exactly_when_due,
    concurrent_and_interrupted_runs_delete_each_item_once
);
