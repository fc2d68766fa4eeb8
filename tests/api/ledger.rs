//! The ledger: one linear chain under concurrency, and every kind of tampering detected.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, OM_NOTICE, TestApp};
use crate::on_both_backends;

/// Three consents and one withdrawal: ledger entries base+1 ..= base+4, after what start-up
/// and `workshop add` wrote (base).
async fn app_with_history(backend: Backend) -> (TestApp, i64) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let base = app.ledger_length();
    let mut tokens = Vec::new();
    for i in 1..=3 {
        let body = app
            .consent_body("koeln-2026", &format!("p{i}@example.org"))
            .await;
        let created: Value = app
            .post_json("/api/v1/consents", &body)
            .await
            .json()
            .await
            .unwrap();
        tokens.push(created["token"].as_str().unwrap().to_owned());
    }
    let r = app.withdraw_all(&tokens[0]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (ok, out) = app.verify();
    assert!(
        ok && out.contains(&format!("ledger OK: {} entries", base + 4)),
        "{out}"
    );
    (app, base)
}

/// A random generator for tampering, seeded from `CONSENTD_TAMPER_SEED` (printed, so a failure
/// can be replayed) or at random.
fn tamper_rng() -> (u64, rand::rngs::StdRng) {
    use rand::SeedableRng;
    let seed: u64 = std::env::var("CONSENTD_TAMPER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::random());
    println!("tamper seed {seed}");
    (seed, rand::rngs::StdRng::seed_from_u64(seed))
}

/// Applies one tampering, expects verify to report it first at `seq` as `kind`, then puts
/// the pristine copy back and expects it to verify.
async fn tamper_then_restore(
    app: &mut TestApp,
    pristine: &std::path::Path,
    statements: &[String],
    seq: i64,
    kind: &str,
    what: &str,
) {
    println!("{kind} at {seq}");
    app.db
        .tamper(&statements.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    assert_broken(app, seq, kind, what);
    assert_chain_only_agrees(app, statements, seq, kind, what);
    app.restore(pristine);
    assert!(app.verify().0, "{what}: restored copy verifies");
}

/// `verify --chain-only` reports a change to the ledger's own rows where the full check
/// does, and passes when only the tables changed: it does not compare them, and says so.
fn assert_chain_only_agrees(
    app: &TestApp,
    statements: &[String],
    seq: i64,
    kind: &str,
    what: &str,
) {
    let (ok, out) = app.verify_with(&["--chain-only"]);
    let ledger_rows = [
        "UPDATE ledger ",
        "DELETE FROM ledger ",
        "INSERT INTO ledger ",
    ];
    if statements
        .iter()
        .any(|sql| ledger_rows.iter().any(|change| sql.contains(change)))
    {
        let expected = format!("ledger BROKEN at seq {seq}: {kind}");
        assert!(
            !ok && out.contains(&expected),
            "{what}: --chain-only, expected `{expected}` in:\n{out}"
        );
    } else {
        assert!(
            ok && out.contains("tables not compared"),
            "{what}: --chain-only passes on an intact chain:\n{out}"
        );
    }
}

fn assert_broken(app: &TestApp, seq: i64, kind: &str, what: &str) {
    let (ok, out) = app.verify();
    assert!(!ok, "{what}: verify must fail:\n{out}");
    let expected = format!("ledger BROKEN at seq {seq}: {kind}");
    assert!(
        out.contains(&expected),
        "{what}: expected `{expected}` in:\n{out}"
    );
}

/// Each kind of tampering, done with SQL on the history above, and where verify must see it:
/// `{n}` stands for the history's n-th entry (base + n).
const TAMPERING: &[(&str, &[&str], i64, &str)] = &[
    (
        "changed ledger row",
        &["UPDATE ledger SET payload_sha256 = '1111111111111111111111111111111111111111111111111111111111111111' WHERE seq = {2}"],
        2,
        "changed",
    ),
    ("deleted ledger row", &["DELETE FROM ledger WHERE seq = {2}"], 2, "missing"),
    ("deleted last ledger row", &["DELETE FROM ledger WHERE seq = {4}"], 4, "missing"),
    (
        // The contents of entries 2 and 3 change places; the sequence numbers stay.
        "swapped ledger rows",
        &[
            "UPDATE ledger SET seq = -2 WHERE seq = {2}",
            "UPDATE ledger SET seq = {2} WHERE seq = {3}",
            "UPDATE ledger SET seq = {3} WHERE seq = -2",
        ],
        2,
        "reordered",
    ),
    (
        "edited consent record",
        &["UPDATE consent_records SET notice_version = 1 WHERE ledger_seq = {3}"],
        3,
        "changed",
    ),
    (
        "refusal turned into consent",
        &["UPDATE consent_records SET first_events = replace(first_events, '\"newsletter\",\"art6-1-a\",\"refused\"', '\"newsletter\",\"art6-1-a\",\"given\"') WHERE ledger_seq = {2}"],
        2,
        "changed",
    ),
    ("withdrawal deleted", &["DELETE FROM later_consent_events WHERE ledger_seq = {4}"], 4, "missing"),
    (
        "edited subject",
        &["UPDATE subjects SET email = 'someone-else@example.org' WHERE email = 'p2@example.org'"],
        2,
        "changed",
    ),
    (
        // Where the consent was given from is covered by the subject's digest (migration 0016).
        "edited address a consent was given from",
        &["UPDATE subjects SET ip_truncated = '203.0.113.0' WHERE email = 'p2@example.org'"],
        2,
        "changed",
    ),
    (
        "inserted event",
        &["INSERT INTO later_consent_events (id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq)
           SELECT 'forged', record_id, 'newsletter', 'art6-1-a', 'given', 'subject', occurred_at, {3}
           FROM consent_events WHERE ledger_seq = {3} LIMIT 1"],
        3,
        "changed",
    ),
];

/// Many random single changes to a longer history — one at a time, each on a fresh copy of
/// the database — and every one is reported at the sequence number it touched. The seed is
/// printed (and taken from `CONSENTD_TAMPER_SEED`) so a failure can be replayed.
async fn random_single_changes_are_each_detected_at_their_entry(backend: Backend) {
    use rand::Rng;
    const CONSENTS: i64 = 12;
    const WITHDRAWALS: i64 = 4;
    let mut app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let base = app.ledger_length();
    let mut tokens = Vec::new();
    for i in 1..=CONSENTS {
        let created: Value = app
            .record_consent("koeln-2026", &format!("r{i}@example.org"))
            .await;
        tokens.push(created["token"].as_str().unwrap().to_owned());
    }
    for token in tokens.iter().take(WITHDRAWALS as usize) {
        let r = app.withdraw_all(&token).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let head = base + CONSENTS + WITHDRAWALS;
    assert!(app.verify().0);
    let pristine = app.backup().await;

    let (seed, mut rng) = tamper_rng();
    let consent_seq = |rng: &mut rand::rngs::StdRng| base + rng.random_range(1..=CONSENTS);
    let withdrawal_seq =
        |rng: &mut rand::rngs::StdRng| base + CONSENTS + rng.random_range(1..=WITHDRAWALS);
    for round in 0..16 {
        let (statements, seq, kind): (Vec<String>, i64, &str) = match rng.random_range(0..9) {
            8 => {
                // A forged entry in place of a real one: its own hash is right (computed the
                // way consentd does), but it does not chain to its predecessor.
                use consentd::domain::ledger::{EntryKind, LedgerEntry};
                let s = base + rng.random_range(1..=CONSENTS + WITHDRAWALS);
                let prev: String = (0..64)
                    .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
                    .collect();
                let at = chrono::DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
                    .unwrap()
                    .to_utc();
                let forged =
                    LedgerEntry::next(s, &prev, at, EntryKind::Audit, "forged", &"ab".repeat(32));
                (
                    vec![
                        format!("DELETE FROM ledger WHERE seq = {s}"),
                        format!(
                            "INSERT INTO ledger (seq, recorded_at, kind, ref_id, payload_sha256, prev_sha256, entry_sha256) \
                         VALUES ({s}, '2026-11-27T12:00:00+00:00', 'audit', 'forged', '{}', '{}', '{}')",
                            forged.payload_sha256, forged.prev_sha256, forged.entry_sha256
                        ),
                    ],
                    s,
                    "inserted",
                )
            }
            0 => {
                let s = base + rng.random_range(1..=CONSENTS + WITHDRAWALS);
                let byte = rng.random_range(0..64);
                (
                    vec![format!(
                        "UPDATE ledger SET payload_sha256 = substr(payload_sha256, 1, {byte}) || \
                     CASE WHEN substr(payload_sha256, {byte} + 1, 1) = 'a' THEN 'b' ELSE 'a' END || \
                     substr(payload_sha256, {byte} + 2) WHERE seq = {s}"
                    )],
                    s,
                    "changed",
                )
            }
            1 => {
                let s = base + rng.random_range(1..CONSENTS + WITHDRAWALS);
                (
                    vec![format!("DELETE FROM ledger WHERE seq = {s}")],
                    s,
                    "missing",
                )
            }
            2 => {
                let s = base + rng.random_range(1..CONSENTS + WITHDRAWALS);
                (
                    vec![
                        format!("UPDATE ledger SET seq = -7 WHERE seq = {s}"),
                        format!("UPDATE ledger SET seq = {s} WHERE seq = {}", s + 1),
                        format!("UPDATE ledger SET seq = {} WHERE seq = -7", s + 1),
                    ],
                    s,
                    "reordered",
                )
            }
            3 => {
                let s = consent_seq(&mut rng);
                (
                    vec![format!(
                        "UPDATE consent_records SET notice_version = notice_version - 1 WHERE ledger_seq = {s}"
                    )],
                    s,
                    "changed",
                )
            }
            4 => {
                let s = consent_seq(&mut rng);
                (
                    vec![format!(
                        "UPDATE consent_records SET first_events = replace(first_events, '\"newsletter\",\"art6-1-a\",\"refused\"', '\"newsletter\",\"art6-1-a\",\"given\"') WHERE ledger_seq = {s}"
                    )],
                    s,
                    "changed",
                )
            }
            5 => {
                let s = withdrawal_seq(&mut rng);
                (
                    vec![format!(
                        "DELETE FROM later_consent_events WHERE ledger_seq = {s}"
                    )],
                    s,
                    "missing",
                )
            }
            6 => {
                let s = consent_seq(&mut rng);
                (vec![format!(
                    "INSERT INTO later_consent_events (id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq)
                     SELECT 'forged-{round}', record_id, 'newsletter', 'art6-1-a', 'given', 'subject', occurred_at, {s}
                     FROM consent_events WHERE ledger_seq = {s} LIMIT 1"
                )], s, "changed")
            }
            _ => {
                // A changed address: the record's subject digest no longer matches.
                let i = rng.random_range(WITHDRAWALS + 1..=CONSENTS);
                (
                    vec![format!(
                        "UPDATE subjects SET email = 'other{round}@example.org' WHERE email = 'r{i}@example.org'"
                    )],
                    base + i,
                    "changed",
                )
            }
        };
        let what = format!("seed {seed}, round {round}: {statements:?} (head {head})");
        tamper_then_restore(&mut app, &pristine, &statements, seq, kind, &what).await;
    }
}

async fn every_kind_of_tampering_is_detected(backend: Backend) {
    for (what, statements, n, kind) in TAMPERING {
        let (app, base) = app_with_history(backend).await;
        let at = |sql: &str| {
            (1..=4).fold(sql.to_owned(), |sql, i| {
                sql.replace(&format!("{{{i}}}"), &(base + i).to_string())
            })
        };
        let statements: Vec<String> = statements.iter().map(|s| at(s)).collect();
        app.db
            .tamper(&statements.iter().map(String::as_str).collect::<Vec<_>>())
            .await;
        assert_broken(&app, base + n, kind, what);
        assert_chain_only_agrees(&app, &statements, base + n, kind, what);
    }
}

/// The chain alone, through the API (`scope=chain`) and the CLI (`--chain-only`, with
/// anchors): what it compared is said in the report, and the tables are not among it.
async fn the_chain_alone_is_verified_through_the_api_and_the_cli(backend: Backend) {
    let (app, base) = app_with_history(backend).await;
    // Creating the token is audited: one more entry.
    let admin = app.create_token("admin", "pruefung");
    let length = app.ledger_length();
    assert_eq!(length, base + 5);
    let verify = |query: &'static str| {
        let request = app
            .client
            .get(format!("{}/api/v1/ledger/verify{query}", app.address))
            .bearer_auth(&admin);
        async move { request.send().await.unwrap() }
    };
    let chain: Value = verify("?scope=chain").await.json().await.unwrap();
    assert_eq!(chain["ok"], true, "{chain}");
    assert_eq!(chain["scope"], "chain");
    assert_eq!(chain["length"], length);
    assert_eq!(chain["records_checked"], 0, "tables are not read: {chain}");
    let full: Value = verify("").await.json().await.unwrap();
    assert_eq!(
        (&full["scope"], &full["ok"]),
        (&json!("full"), &json!(true))
    );
    assert_eq!(full["records_checked"], 3);
    assert_eq!(full["head_sha256"], chain["head_sha256"]);
    let bad = verify("?scope=tables").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["error"]["code"], "invalid_field", "{bad}");

    let head = chain["head_sha256"].as_str().unwrap();
    let (ok, out) = app.verify_with(&["--chain-only", "--expect", &format!("{length}:{head}")]);
    assert!(
        ok && out.contains(&format!("ledger OK: {length} entries")),
        "{out}"
    );
    let wrong = format!("{}:{}", base + 2, head);
    let (ok, out) = app.verify_with(&["--chain-only", "--expect", &wrong]);
    let expected = format!("ledger BROKEN at seq {}: changed", base + 2);
    assert!(!ok && out.contains(&expected), "{out}");
    let (ok, out) = app.verify_with(&["--chain-only", "--json"]);
    let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(ok);
    assert_eq!(
        (&report["scope"], &report["length"]),
        (&json!("chain"), &json!(length))
    );

    // An entry appended behind the service's back, hashed and chained as consentd would,
    // but beyond the recorded head: both readers' ranges reach past the head.
    use consentd::domain::ledger::{EntryKind, LedgerEntry};
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-27T12:00:00Z")
        .unwrap()
        .to_utc();
    let appended = LedgerEntry::next(
        length + 1,
        head,
        at,
        EntryKind::Audit,
        "forged",
        &"ab".repeat(32),
    );
    app.db
        .tamper(&[&format!(
            "INSERT INTO ledger (seq, recorded_at, kind, ref_id, payload_sha256, prev_sha256, entry_sha256) \
             VALUES ({}, '2026-11-27T12:00:00+00:00', 'audit', 'forged', '{}', '{}', '{}')",
            appended.seq, appended.payload_sha256, appended.prev_sha256, appended.entry_sha256
        )])
        .await;
    let (ok, out) = app.verify_with(&["--chain-only"]);
    let expected = format!("ledger BROKEN at seq {}: inserted", length + 1);
    assert!(!ok && out.contains(&expected), "{out}");
    app.db
        .tamper(&[&format!("DELETE FROM ledger WHERE seq = {}", length + 1)])
        .await;
    assert!(app.verify_with(&["--chain-only"]).0);

    // A head moved behind the service's back is a break of the chain alone too.
    app.db
        .tamper(&["UPDATE ledger_head SET seq = seq + 1 WHERE id = 1"])
        .await;
    let (ok, out) = app.verify_with(&["--chain-only"]);
    let expected = format!("ledger BROKEN at seq {}: missing", length + 1);
    assert!(!ok && out.contains(&expected), "{out}");
}

/// 100 simultaneous consents form one linear chain: seq 1..=100, no forks, no gaps.
async fn hundred_concurrent_consents_form_one_chain(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let base = app.ledger_length();
    let body = app.consent_body("koeln-2026", "x@example.org").await;
    let requests = (0..100).map(|i| {
        let mut body = body.clone();
        body["subject"]["email"] = json!(format!("teilnehmer{i}@example.org"));
        let app = &app;
        async move { app.post_json("/api/v1/consents", &body).await }
    });
    let responses = futures::future::join_all(requests).await;
    let mut seqs = BTreeSet::new();
    for response in responses {
        assert_eq!(response.status(), StatusCode::CREATED);
        let created: Value = response.json().await.unwrap();
        seqs.insert(created["ledger_seq"].as_i64().unwrap());
    }
    assert_eq!(seqs, (base + 1..=base + 100).collect::<BTreeSet<_>>());
    let (ok, out) = app.verify();
    assert!(
        ok && out.contains(&format!("ledger OK: {} entries", base + 100)),
        "{out}"
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(DISTINCT prev_sha256) FROM ledger")
            .await,
        base + 100,
        "a fork shares a predecessor"
    );
}

/// Two server processes on one database, writing at once, still form one chain.
async fn two_servers_writing_at_once_form_one_chain(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let second = app.start_server();
    app.add_workshop("koeln-2026", OM_NOTICE);
    let base = app.ledger_length();
    let body = app.consent_body("koeln-2026", "x@example.org").await;
    let addresses = [app.address.clone(), second];
    let requests = (0..80).map(|i| {
        let mut body = body.clone();
        body["subject"]["email"] = json!(format!("teilnehmer{i}@example.org"));
        let url = format!("{}/api/v1/consents", addresses[i % 2]);
        let client = app.client.clone();
        async move { client.post(url).json(&body).send().await.unwrap() }
    });
    for response in futures::future::join_all(requests).await {
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let (ok, out) = app.verify();
    assert!(
        ok && out.contains(&format!("ledger OK: {} entries", base + 80)),
        "{out}"
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(DISTINCT prev_sha256) FROM ledger")
            .await,
        base + 80
    );
}

/// What retention leaves is as tamper-evident as live rows: after a run has reduced proofs
/// to tombstones and anonymised the audit log, random single changes to the sealed rows and
/// to the seals are each caught at their entry: rows brought back, anonymised rows changed
/// or named again, a seal list shortened or widened to cover a live record, a sealing
/// deletion removed.
async fn changes_to_what_retention_sealed_are_each_detected(backend: Backend) {
    use rand::Rng;
    const CONSENTS: usize = 6;
    const WITHDRAWN: usize = 4;
    let mut app = TestApp::spawn_at(backend, "2026-12-01T10:00:00Z").await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    for i in 1..=CONSENTS {
        let created: Value = app
            .record_consent("koeln-2026", &format!("s{i}@example.org"))
            .await;
        if i <= WITHDRAWN {
            let token = created["token"].as_str().unwrap();
            let r = app.withdraw_all(&token).await;
            assert_eq!(r.status(), StatusCode::OK);
        }
    }
    app.add_user("admin@example.org", "admin");
    app.login("admin@example.org").await;
    let run = app
        .command()
        .env("CONSENTD_NOW", "2030-01-02T10:00:00Z")
        .args(["retention", "run"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (ok, out) = app.verify();
    assert!(ok, "{out}");
    let pristine = app.backup().await;
    let tombstone_seqs = "FROM deletion_log WHERE category = 'einwilligungsnachweise'";
    assert_eq!(
        app.db
            .scalar_i64(&format!("SELECT COUNT(*) {tombstone_seqs}"))
            .await,
        WITHDRAWN as i64
    );
    let audit_count = app
        .db
        .scalar_i64("SELECT COUNT(*) FROM audit_events WHERE actor = 'anonymisiert'")
        .await;
    assert!(audit_count > 0);
    let live_record_seq = app
        .db
        .scalar_i64("SELECT MIN(ledger_seq) FROM consent_records")
        .await;

    let (seed, mut rng) = tamper_rng();
    for round in 0..10 {
        let tombstone = app
            .db
            .scalar_i64(&format!(
                "SELECT ledger_seq {tombstone_seqs} ORDER BY ledger_seq LIMIT 1 OFFSET {}",
                rng.random_range(0..WITHDRAWN)
            ))
            .await;
        let sealed = app
            .db
            .scalar_string(&format!(
                "SELECT sealed FROM deletion_log WHERE ledger_seq = {tombstone}"
            ))
            .await;
        let first_sealed: i64 = sealed.split(' ').next().unwrap().parse().unwrap();
        let audit = app
            .db
            .scalar_i64(&format!(
                "SELECT ledger_seq FROM audit_events WHERE actor = 'anonymisiert' \
                 ORDER BY ledger_seq LIMIT 1 OFFSET {}",
                rng.random_range(0..audit_count)
            ))
            .await;
        let (statements, seq, kind): (Vec<String>, i64, &str) = match rng.random_range(0..6) {
            0 => (
                vec![format!(
                    "INSERT INTO later_consent_events (id, record_id, purpose_id, legal_basis, state, actor, occurred_at, ledger_seq) \
                     VALUES ('back-{round}', 'gone', 'fotos', 'art6-1-a', 'given', 'subject', '2026-12-01T10:00:00+00:00', {first_sealed})"
                )],
                first_sealed,
                "changed",
            ),
            1 => (
                vec![format!(
                    "UPDATE audit_events SET action = 'nichts' WHERE ledger_seq = {audit}"
                )],
                audit,
                "changed",
            ),
            2 => (
                vec![format!(
                    "UPDATE audit_events SET actor = 'user:wieder-benannt' WHERE ledger_seq = {audit}"
                )],
                audit,
                "changed",
            ),
            3 => {
                let rest = sealed.split(' ').skip(1).collect::<Vec<_>>().join(" ");
                (
                    vec![format!(
                        "UPDATE deletion_log SET sealed = '{rest}' WHERE ledger_seq = {tombstone}"
                    )],
                    first_sealed,
                    "missing",
                )
            }
            4 => (
                vec![format!(
                    "UPDATE deletion_log SET sealed = '{sealed} {live_record_seq}' WHERE ledger_seq = {tombstone}"
                )],
                live_record_seq.min(tombstone),
                "changed",
            ),
            _ => (
                vec![format!(
                    "DELETE FROM deletion_log WHERE ledger_seq = {tombstone}"
                )],
                first_sealed,
                "missing",
            ),
        };
        let what = format!("seed {seed}, round {round}: {statements:?}");
        tamper_then_restore(&mut app, &pristine, &statements, seq, kind, &what).await;
    }
}

on_both_backends!(
    the_chain_alone_is_verified_through_the_api_and_the_cli,
    changes_to_what_retention_sealed_are_each_detected,
    every_kind_of_tampering_is_detected,
    hundred_concurrent_consents_form_one_chain,
    two_servers_writing_at_once_form_one_chain,
    erasure_through_the_service_still_verifies,
    random_single_changes_are_each_detected_at_their_entry,
);

/// SQLite keeps a value in whatever form it was written. `verify`'s direct read of SQLite
/// agrees with sqlx's row-by-row read; a timestamp in a form only sqlx's decoder knows sends
/// the read through sqlx, and the same history still verifies.
#[tokio::test(flavor = "multi_thread")]
async fn sqlite_values_in_other_forms_verify_alike() {
    let (app, base) = app_with_history(Backend::Sqlite).await;
    app.db.assert_snapshot_reads_agree().await;
    app.db
        .tamper(&[
            // The same instants in other forms sqlx accepts: without the offset (read as
            // UTC, and not RFC 3339, so `verify` reads these tables through sqlx) and with Z.
            "UPDATE consent_records SET recorded_at = replace(substr(recorded_at, 1, length(recorded_at) - 6), 'T', ' ')",
            "UPDATE later_consent_events SET occurred_at = replace(occurred_at, '+00:00', 'Z')",
            // A first event's time written out in the record's new form: only the view
            // (through sqlx) reads it.
            "UPDATE consent_records SET first_events = replace(first_events, 'null]', '\"' || recorded_at || '\"]')",
        ])
        .await;
    let stored = app
        .db
        .scalar_string("SELECT recorded_at FROM consent_records LIMIT 1")
        .await;
    assert!(stored.contains(' ') && !stored.contains('+'), "{stored}");
    let db = consentd::store::Db::connect_existing(&app.db.url)
        .await
        .unwrap();
    assert!(
        consentd::store::ledger::scanned_snapshot(&db)
            .await
            .unwrap()
            .is_none(),
        "a timestamp without offset is left to sqlx"
    );
    db.close().await;
    let (ok, out) = app.verify();
    assert!(
        ok && out.contains(&format!("ledger OK: {} entries", base + 4)),
        "{out}"
    );
}

/// `verify` reads SQLite over two connections at once; both must see the same moment. While
/// consents keep being committed, every snapshot it takes is whole: the check finds nothing,
/// and no row belongs to an entry after the head it read.
#[tokio::test(flavor = "multi_thread")]
async fn sqlite_snapshot_read_over_two_connections_is_one_moment_under_writes() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.add_workshop("koeln-2026", OM_NOTICE);
    let body = app.consent_body("koeln-2026", "x@example.org").await;
    let writing = std::sync::atomic::AtomicBool::new(true);
    let writers = (0..8).map(|w| {
        let (app, body, writing) = (&app, body.clone(), &writing);
        async move {
            let mut stored = 0;
            while writing.load(std::sync::atomic::Ordering::Relaxed) {
                let mut body = body.clone();
                body["subject"]["email"] = json!(format!("w{w}-{stored}@example.org"));
                let response = app.post_json("/api/v1/consents", &body).await;
                assert_eq!(response.status(), StatusCode::CREATED);
                stored += 1;
            }
            stored
        }
    });
    let db = consentd::store::Db::connect_existing(&app.db.url)
        .await
        .unwrap();
    let reading = async {
        let mut heads = Vec::new();
        for _ in 0..15 {
            let snapshot = consentd::store::ledger::scanned_snapshot(&db)
                .await
                .unwrap()
                .expect("plain values");
            let head = snapshot.head.0;
            assert_eq!(snapshot.entries.last().map(|e| e.seq), Some(head));
            assert!(snapshot.records.iter().all(|r| r.ledger_seq <= head));
            assert!(snapshot.events.iter().all(|e| e.ledger_seq <= head));
            let report = consentd::verify::check(&snapshot);
            assert!(report.ok, "at head {head}: {:?}", report.problems);
            heads.push(head);
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        writing.store(false, std::sync::atomic::Ordering::Relaxed);
        heads
    };
    let (heads, stored) = tokio::join!(reading, futures::future::join_all(writers));
    db.close().await;
    assert!(stored.iter().sum::<i32>() > 0);
    // The reads really fell between commits: the head moved while they ran.
    assert!(heads.first() < heads.last(), "{heads:?}");
}

/// Erasure through the service is reported as erased, not as tampering; erasing the same
/// data with SQL is tampering.
async fn erasure_through_the_service_still_verifies(backend: Backend) {
    let (app, base) = app_with_history(backend).await;
    let body = app
        .consent_body("koeln-2026", "zu.loeschen@example.org")
        .await;
    let created: Value = app
        .post_json("/api/v1/consents", &body)
        .await
        .json()
        .await
        .unwrap();
    let token = created["token"].as_str().unwrap();
    let out = app.cli(&[
        "subject",
        "erase",
        "--receipt",
        created["receipt_id"].as_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let receipt: Value = app.receipt(token).await;
    assert_eq!(receipt["subject"]["email"], Value::Null);
    assert_eq!(receipt["subject"]["erased"], true);
    assert!(
        receipt["purposes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] == "erased")
    );
    assert_eq!(
        app.db
            .scalar_i64("SELECT COUNT(*) FROM subjects WHERE email = 'zu.loeschen@example.org'")
            .await,
        0
    );

    let (ok, out) = app.verify();
    assert!(ok, "{out}");
    // Consent, erasure, its deletion-log entry, and the erasure's audit event.
    assert!(
        out.contains(&format!("ledger OK: {} entries", base + 8))
            && out.contains("1 subject(s) erased"),
        "{out}"
    );

    // The same removal done by hand is caught.
    app.db
        .tamper(&["UPDATE subjects SET name = NULL, email = NULL, organisation = NULL, salt = NULL, erased_at = created_at
                   WHERE email = 'p3@example.org'"])
        .await;
    assert_broken(&app, base + 3, "changed", "subject erased by hand");
}
