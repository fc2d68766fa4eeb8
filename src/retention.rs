//! The retention engine: finds what each rule says must be gone, and deletes or anonymises
//! it with a deletion-log entry in the ledger. Idempotent and resumable: every deletion is
//! its own transaction together with its log entry, and a repeat finds nothing left.

use chrono::NaiveDate;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::app::App;
use crate::domain::retention::RetentionRule;
use crate::store::personal_data;
use crate::store::retention::{self as store, Candidate, Deletion};

/// Categories whose data the engine deletes today. The other rules are declared and shown in
/// the concept and forecast, and are enforced as their data arrives in consentd.
pub const ENFORCED: &[&str] = &["sitzungen", "anmelde-fehlversuche", "api-tokens", "teilnehmende-kontaktdaten"];

#[derive(Debug, Clone, Serialize)]
pub struct Planned {
    pub category: String,
    pub rule_version: u32,
    pub start_on: NaiveDate,
    pub due_on: NaiveDate,
    pub target: &'static str,
    /// Filled in by a real run.
    pub executed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub as_of: NaiveDate,
    pub dry_run: bool,
    pub due: Vec<Planned>,
    pub executed: usize,
}

fn pseudonym(key: &[u8], email: Option<&str>) -> Option<String> {
    let email = email?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
    mac.update(email.trim().to_lowercase().as_bytes());
    Some(hex::encode(mac.finalize().into_bytes()))
}

/// One pass. `as_of` (a future date) is only allowed for a dry run: a real run never deletes
/// early.
pub async fn run(app: &App, dry_run: bool, as_of: Option<NaiveDate>) -> anyhow::Result<RunReport> {
    let today = app.clock.today_berlin();
    let as_of = match as_of {
        Some(date) if !dry_run && date != today => anyhow::bail!("--as-of is only allowed with --dry-run: a real run never deletes early"),
        Some(date) => date,
        None => today,
    };
    let key = store::pseudonym_key(&app.db, app.clock.now()).await?;
    let mut report = RunReport { as_of, dry_run, due: Vec::new(), executed: 0 };
    for rule in app.policies.retention.iter().filter(|r| ENFORCED.contains(&r.category.as_str())) {
        let candidates = match rule.category.as_str() {
            "sitzungen" => store::sessions(&app.db).await?,
            "anmelde-fehlversuche" => store::login_failures(&app.db).await?,
            "api-tokens" => store::ended_tokens(&app.db, app.clock.now()).await?,
            "teilnehmende-kontaktdaten" => store::participant_contacts(&app.db).await?,
            _ => Vec::new(),
        };
        for c in candidates.into_iter().filter(|c| rule.is_due(c.start, as_of)) {
            let mut planned = Planned {
                category: rule.category.clone(),
                rule_version: rule.version,
                start_on: c.start,
                due_on: rule.due(c.start),
                target: target_of(&rule.category),
                executed: false,
            };
            if !dry_run {
                planned.executed = execute(app, rule, &c, &key).await?;
                report.executed += usize::from(planned.executed);
            }
            report.due.push(planned);
        }
    }
    if !dry_run && report.executed > 0 {
        tracing::info!(deletions = report.executed, "retention run");
    }
    Ok(report)
}

fn target_of(category: &str) -> &'static str {
    match category {
        "sitzungen" => "staff_sessions: row",
        "anmelde-fehlversuche" => "login_failures: row",
        "api-tokens" => "api_tokens: row",
        "teilnehmende-kontaktdaten" => {
            "subjects: name, email, organisation, salt; consent_records: ip_truncated, user_agent (anonymised)"
        }
        _ => "",
    }
}

async fn execute(app: &App, rule: &RetentionRule, c: &Candidate, key: &[u8]) -> anyhow::Result<bool> {
    let deletion = Deletion {
        category: &rule.category,
        rule_version: i64::from(rule.version),
        start_on: c.start,
        due_on: rule.due(c.start),
        subject_pseudonym: pseudonym(key, c.email.as_deref()),
        target: target_of(&rule.category),
    };
    let done = match rule.category.as_str() {
        "sitzungen" => store::delete_session(&app.db, &app.clock, &deletion, &c.key).await?,
        "anmelde-fehlversuche" => store::delete_login_failure(&app.db, &app.clock, &deletion, &c.key).await?,
        "api-tokens" => store::delete_token(&app.db, &app.clock, &deletion, &c.key).await?,
        "teilnehmende-kontaktdaten" => {
            let record = c.record_id.as_deref().unwrap_or_default();
            store::anonymise_participant(&app.db, &app.clock, &deletion, &c.key, record).await?
        }
        _ => None,
    };
    Ok(done.is_some())
}

/// Columns the coverage list does not classify, or whose category has no rule.
pub async fn coverage(app: &App) -> anyhow::Result<Vec<String>> {
    let schema = personal_data::schema_columns(&app.db).await?;
    let categories: Vec<&str> = app.policies.retention.iter().map(|r| r.category.as_str()).collect();
    Ok(personal_data::coverage_problems(&schema, &categories))
}

/// The rules as the deletion concept for the data-protection officer (Markdown).
pub fn concept_markdown(app: &App) -> String {
    let mut out = String::from("# Löschkonzept (DIN 66398)\n\nJede Datenart hat genau eine Löschregel: Startzeitpunkt + Regellöschfrist.\n\n");
    out.push_str("| Datenart | Startzeitpunkt | Regellöschfrist | ab Jahresende | Aktion | Rechtsgrundlage | Durchgesetzt |\n|---|---|---|---|---|---|---|\n");
    for r in &app.policies.retention {
        out.push_str(&format!(
            "| {} (`{}`, v{}) | {:?} | {} | {} | {:?} | {} | {} |\n",
            r.title.de,
            r.category,
            r.version,
            r.start,
            r.period,
            if r.from_year_end { "ja" } else { "nein" },
            r.action,
            r.legal_basis,
            if ENFORCED.contains(&r.category.as_str()) { "ja" } else { "noch nicht" }
        ));
    }
    out.push_str("\n## Löschklassen\n\n");
    let mut classes: Vec<String> = app.policies.retention.iter().map(|r| r.deletion_class()).collect();
    classes.sort();
    classes.dedup();
    for c in classes {
        out.push_str(&format!("- {c}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn pseudonyms_are_keyed() {
        let a = super::pseudonym(b"key-a", Some("Anna@Example.org")).unwrap();
        assert_eq!(a, super::pseudonym(b"key-a", Some("anna@example.org")).unwrap());
        assert_ne!(a, super::pseudonym(b"key-b", Some("anna@example.org")).unwrap());
        assert_eq!(a.len(), 64);
    }
}
