//! The retention engine: finds what each rule says must be gone, and deletes or anonymises
//! it with a deletion-log entry in the ledger. Idempotent and resumable: every deletion is
//! its own transaction together with its log entry, and a repeat finds nothing left.

use chrono::NaiveDate;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::app::App;
use crate::domain::notice::Language;
use crate::domain::reminder::{self, Letter};
use crate::domain::retention::{Period, RetentionRule};
use crate::store::personal_data;
use crate::store::retention::{self as store, Candidate, Deletion};

/// Categories whose data the engine deletes today. The other rules are declared and shown in
/// the concept and forecast, and are enforced as their data arrives in consentd.
pub const ENFORCED: &[&str] = &[
    "sitzungen",
    "anmelde-fehlversuche",
    "api-tokens",
    "teilnehmende-kontaktdaten",
    "berater-listung",
    "workshop-teilnahme",
    "erinnerungen-outbox",
    "mitarbeitende-konten",
    "einwilligungsnachweise",
    "pruefprotokoll",
    "loeschprotokoll",
];

/// Categories whose data consentd does not hold: their rules govern the organisers' other
/// systems (feedback forms, photos and newsletter lists under an optional consent), which
/// learn of withdrawals from consentd. Coverage fails if a column of these ever appears.
pub const HELD_ELSEWHERE: &[&str] = &["feedbackbogen", "einwilligungen-freiwillig"];

/// The grace a rule gives data that was already past its deadline when consentd first held
/// it (the minutes: lapsed consultants get one notice with a three-month deadline).
pub const GRACE_AT_INTRODUCTION: Period = Period {
    years: 0,
    months: 3,
    days: 0,
};

/// The due date, with the grace for data introduced after its deadline.
pub fn effective_due(rule: &RetentionRule, c: &Candidate) -> NaiveDate {
    let due = rule.due(c.start);
    match c.introduced_on {
        Some(introduced) if due < introduced => GRACE_AT_INTRODUCTION.after(introduced),
        _ => due,
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Planned {
    pub category: String,
    pub rule_version: u32,
    pub start_on: NaiveDate,
    pub due_on: NaiveDate,
    pub target: &'static str,
    /// The id of the hold that keeps it, if any.
    pub held_by: Option<String>,
    /// Filled in by a real run.
    pub executed: bool,
}

/// Per category and rule version: what was due, held and done.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct CategoryTotals {
    pub category: String,
    pub rule_version: u32,
    pub due: usize,
    pub held: usize,
    pub executed: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RunReport {
    pub as_of: NaiveDate,
    pub dry_run: bool,
    /// Automated deletion is paused: a real run deletes nothing.
    pub paused: bool,
    /// The first [`LISTED`] due items (`due_total` counts all; `totals` sums them up).
    pub due: Vec<Planned>,
    pub due_total: usize,
    pub totals: Vec<CategoryTotals>,
    pub executed: usize,
    /// Reminder letters queued by this run.
    pub reminders_queued: usize,
}

impl RunReport {
    /// The totals row of a rule's category and version, added on first use.
    fn totals_for(&mut self, rule: &RetentionRule) -> &mut CategoryTotals {
        let found = self
            .totals
            .iter()
            .position(|t| t.category == rule.category && t.rule_version == rule.version);
        let i = found.unwrap_or_else(|| {
            self.totals.push(CategoryTotals {
                category: rule.category.clone(),
                rule_version: rule.version,
                ..CategoryTotals::default()
            });
            self.totals.len() - 1
        });
        &mut self.totals[i]
    }
}

/// Categories with many rows: selected by date in the database and read page by page by
/// keyset; the others are small enough to read at once.
const PAGED: &[&str] = &[
    "teilnehmende-kontaktdaten",
    "einwilligungsnachweise",
    "pruefprotokoll",
    "loeschprotokoll",
];

/// Due items a run report lists one by one; a sweep of a million is summed up in `totals`.
pub const LISTED: usize = 1000;

/// Entries of the deletion journal replayed per transaction.
const BATCH: usize = 10_000;

/// A legal hold as retention applies it. A hold on a subject covers the person, as erasure
/// reads it: every sign-up under the same address, and their attendance and listing.
struct AppliedHold {
    hold: store::Hold,
    /// For a hold on a subject: the subject ids of the person.
    subject_ids: Vec<String>,
    /// For a hold on a subject: the person's address, lower-cased, while it is known.
    email: Option<String>,
}

async fn applied_holds(db: &crate::store::Db) -> sqlx::Result<Vec<AppliedHold>> {
    let mut applied = Vec::new();
    for hold in store::holds(db).await? {
        let (mut subject_ids, mut email) = (Vec::new(), None);
        if hold.scope == "subject" {
            for s in crate::store::subjects::person(db, &hold.target).await? {
                email = email.or_else(|| s.email.as_deref().map(str::to_lowercase));
                subject_ids.push(s.id);
            }
        }
        applied.push(AppliedHold {
            hold,
            subject_ids,
            email,
        });
    }
    Ok(applied)
}

/// The hold that keeps this candidate, if one does.
fn hold_for<'a>(
    holds: &'a [AppliedHold],
    category: &str,
    c: &Candidate,
    on: NaiveDate,
) -> Option<&'a store::Hold> {
    holds
        .iter()
        .filter(|h| h.hold.is_active(on))
        .find(|h| match h.hold.scope.as_str() {
            "category" => h.hold.target == category,
            "subject" => {
                c.subject_id
                    .as_ref()
                    .is_some_and(|id| *id == h.hold.target || h.subject_ids.contains(id))
                    || h.email.is_some() && c.email.as_deref().map(str::to_lowercase) == h.email
            }
            "workshop" => c.workshop_slug.as_deref() == Some(h.hold.target.as_str()),
            _ => false,
        })
        .map(|h| &h.hold)
}

fn enforced_rules(app: &App) -> impl Iterator<Item = &RetentionRule> {
    app.policies
        .retention
        .iter()
        .filter(|r| ENFORCED.contains(&r.category.as_str()))
}

/// A page of a large table read in the order its rows were written.
type TimePage = store::Page<store::TimeCursor>;

async fn time_page(
    db: crate::store::Db,
    category: &'static str,
    cutoff: NaiveDate,
    after: Option<store::TimeCursor>,
    limit: i64,
) -> sqlx::Result<TimePage> {
    let after = after.as_ref();
    match category {
        "teilnehmende-kontaktdaten" => store::participant_page(&db, cutoff, after, limit).await,
        "pruefprotokoll" => store::audit_page(&db, cutoff, after, limit).await,
        _ => store::deletion_log_page(&db, cutoff, after, limit).await,
    }
}

/// What is due by `as_of` under the enforced rules, holds applied, page by page (at most
/// `App::retention_page` items each), so memory stays flat however much is due. Reading
/// changes nothing.
struct DuePages<'a> {
    app: &'a App,
    as_of: NaiveDate,
    /// Read again for every page: a hold placed during a long run applies from the next.
    holds: Vec<AppliedHold>,
    rules: Vec<&'a RetentionRule>,
    /// Large tables read in the order they were written: where the last page ended.
    after: Option<store::TimeCursor>,
    /// The page after a full one, read while that one is deleted.
    read_ahead: Option<tokio::task::JoinHandle<sqlx::Result<TimePage>>>,
    /// Consent proofs: where the last page ended.
    after_proof: Option<store::ProofCursor>,
    /// Other categories (small tables): read at once, handed out in pages.
    pending: Vec<Candidate>,
    loaded: bool,
}

impl<'a> DuePages<'a> {
    async fn new(app: &'a App, as_of: NaiveDate) -> anyhow::Result<Self> {
        let mut rules: Vec<&RetentionRule> = enforced_rules(app).collect();
        rules.reverse();
        Ok(DuePages {
            app,
            as_of,
            holds: applied_holds(&app.db).await?,
            rules,
            after: None,
            read_ahead: None,
            after_proof: None,
            pending: Vec::new(),
            loaded: false,
        })
    }

    async fn next(
        &mut self,
    ) -> anyhow::Result<Option<(&'a RetentionRule, Vec<(Planned, Candidate)>)>> {
        while let Some(&rule) = self.rules.last() {
            let (page, more) = self.read(rule).await?;
            if !more {
                self.rules.pop();
                self.after = None;
                self.after_proof = None;
                self.loaded = false;
            }
            if !page.is_empty() {
                self.holds = applied_holds(&self.app.db).await?;
            }
            let planned: Vec<_> = page
                .into_iter()
                .filter(|c| effective_due(rule, c) <= self.as_of)
                .map(|c| (self.planned(rule, &c), c))
                .collect();
            if !planned.is_empty() {
                return Ok(Some((rule, planned)));
            }
        }
        Ok(None)
    }

    /// The rule's next page of candidates (not yet filtered by due date), and whether more
    /// may follow.
    async fn read(&mut self, rule: &RetentionRule) -> anyhow::Result<(Vec<Candidate>, bool)> {
        let (db, limit) = (&self.app.db, self.app.retention_page as i64);
        let category = rule.category.as_str();
        // The volume categories are selected by date in the database and read by keyset.
        if let Some(&category) = PAGED.iter().find(|&&c| c == category) {
            let Some(cutoff) = rule.latest_start_due_by(self.as_of) else {
                return Ok((Vec::new(), false));
            };
            if category == "einwilligungsnachweise" {
                let page = store::proof_page(db, cutoff, self.after_proof.as_ref(), limit);
                let page = page.await?;
                self.after_proof = page.cursor;
                return Ok((page.candidates, page.full));
            }
            let page = match self.read_ahead.take() {
                Some(next) => next.await??,
                None => time_page(db.clone(), category, cutoff, self.after.take(), limit).await?,
            };
            if page.full {
                // Safe beside the deletion of this page: the next one is the keyset range
                // after it, and the deletion's statements check each row again anyway.
                let next = time_page(db.clone(), category, cutoff, page.cursor.clone(), limit);
                self.read_ahead = Some(tokio::spawn(next));
            }
            self.after = page.cursor;
            return Ok((page.candidates, page.full));
        }
        if !self.loaded {
            self.pending = candidates(self.app, rule).await?;
            self.loaded = true;
        }
        let rest = self
            .pending
            .split_off(self.pending.len().min(self.app.retention_page));
        let page = std::mem::replace(&mut self.pending, rest);
        Ok((page, !self.pending.is_empty()))
    }

    fn planned(&self, rule: &RetentionRule, c: &Candidate) -> Planned {
        Planned {
            category: rule.category.clone(),
            rule_version: rule.version,
            start_on: c.start,
            due_on: effective_due(rule, c),
            target: target_of(&rule.category),
            held_by: hold_for(&self.holds, &rule.category, c, self.as_of).map(|h| h.id.clone()),
            executed: false,
        }
    }
}

async fn candidates(app: &App, rule: &RetentionRule) -> anyhow::Result<Vec<Candidate>> {
    Ok(match rule.category.as_str() {
        "sitzungen" => store::sessions(&app.db).await?,
        "anmelde-fehlversuche" => store::login_failures(&app.db).await?,
        "api-tokens" => store::ended_tokens(&app.db, app.clock.now()).await?,
        "berater-listung" => store::consultant_listings(&app.db).await?,
        "workshop-teilnahme" => store::attendance(&app.db).await?,
        "erinnerungen-outbox" => store::finished_messages(&app.db).await?,
        "mitarbeitende-konten" => store::disabled_accounts(&app.db).await?,
        _ => Vec::new(),
    })
}

/// Erased values out of SQLite's write-ahead log too, after a run, a replay, an erasure or a
/// rectification. A failure is logged, not returned: the deletion itself is committed.
pub(crate) async fn empty_write_ahead_log(app: &App) {
    match app.db.empty_write_ahead_log().await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "the write-ahead log was in use and still holds erased values; the next retention run empties it"
        ),
        Err(e) => tracing::warn!(
            error = %e,
            "the write-ahead log could not be emptied; the next retention run tries again"
        ),
    }
}

pub(crate) fn pseudonym(key: &[u8], email: Option<&str>) -> Option<String> {
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
        Some(date) if !dry_run && date != today => {
            anyhow::bail!("--as-of is only allowed with --dry-run: a real run never deletes early")
        }
        Some(date) => date,
        None => today,
    };
    let key = store::pseudonym_key(&app.db, app.clock.now()).await?;
    let paused = store::is_paused(&app.db).await?;
    let mut report = RunReport {
        as_of,
        dry_run,
        paused,
        due: Vec::new(),
        due_total: 0,
        totals: Vec::new(),
        executed: 0,
        reminders_queued: 0,
    };
    let mut execute = !dry_run && !paused;
    let mut pages = DuePages::new(app, as_of).await?;
    while let Some((rule, page)) = pages.next().await? {
        // A pause set during a long run stops it before the next page.
        if execute && store::is_paused(&app.db).await? {
            execute = false;
            report.paused = true;
        }
        let mut batch: Vec<(Option<usize>, Candidate)> = Vec::new();
        let mut held = 0;
        let due = page.len();
        for (planned, c) in page {
            held += usize::from(planned.held_by.is_some());
            let listed = (report.due.len() < LISTED).then_some(report.due.len());
            if execute && planned.held_by.is_none() {
                batch.push((listed, c));
            }
            if listed.is_some() {
                report.due.push(planned);
            }
            report.due_total += 1;
        }
        let executed = execute_batch(app, rule, &batch, &key).await?;
        for ((listed, _), _) in batch.iter().zip(&executed).filter(|(_, done)| **done) {
            if let Some(i) = listed {
                report.due[*i].executed = true;
            }
        }
        let executed = executed.iter().filter(|done| **done).count();
        report.executed += executed;
        let totals = report.totals_for(rule);
        totals.due += due;
        totals.held += held;
        totals.executed += executed;
    }
    if !dry_run {
        // Also after a run that deleted nothing: an earlier one may have found the log busy.
        empty_write_ahead_log(app).await;
        report.reminders_queued = queue_reminders(app, as_of).await?;
        app.last_retention_run.store(
            app.clock.now().timestamp(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }
    if !dry_run && report.executed + report.reminders_queued > 0 {
        tracing::info!(
            deletions = report.executed,
            reminders = report.reminders_queued,
            "retention run"
        );
    }
    Ok(report)
}

/// Deletes one page of a rule's due items (set-based, one transaction); true per item that
/// was deleted by this call.
async fn execute_batch(
    app: &App,
    rule: &RetentionRule,
    batch: &[(Option<usize>, Candidate)],
    key: &[u8],
) -> anyhow::Result<Vec<bool>> {
    let items: Vec<store::BatchItem<'_>> = batch
        .iter()
        .map(|(_, c)| store::BatchItem {
            deletion: Deletion {
                category: &rule.category,
                rule_version: i64::from(rule.version),
                start_on: c.start,
                due_on: effective_due(rule, c),
                subject_pseudonym: pseudonym(key, c.email.as_deref()),
                target: target_of(&rule.category),
            },
            key: &c.key,
            replay_of: None,
        })
        .collect();
    let journal = |entries: &[&store::DeletionLogEntry]| app.journal.append(entries);
    let results =
        store::execute_batch(&app.db, &app.clock, &items, &rule.category, &journal).await?;
    Ok(results.iter().map(Option::is_some).collect())
}

/// Reminders before a listing's deadline (the rule's `reminders`), each queued exactly once
/// per cycle; a consultant whose listing had lapsed before consentd knew them gets one notice
/// with the grace deadline instead. Re-authorisation starts a new cycle (new keys) and
/// cancels what was still queued.
async fn queue_reminders(app: &App, as_of: NaiveDate) -> anyhow::Result<usize> {
    let Some(rule) = app
        .policies
        .retention
        .iter()
        .find(|r| r.category == "berater-listung")
    else {
        return Ok(0);
    };
    let holds = applied_holds(&app.db).await?;
    let mut queued = 0;
    for c in store::consultant_listings(&app.db).await? {
        let (Some(email), Some(name)) = (&c.email, &c.name) else {
            continue;
        };
        if hold_for(&holds, &rule.category, &c, as_of).is_some() {
            continue;
        }
        let due = effective_due(rule, &c);
        let introduced = c.introduced_on.unwrap_or(c.start);
        if as_of >= due {
            continue;
        }
        let lang = c
            .language
            .as_deref()
            .and_then(Language::parse)
            .unwrap_or(Language::De);
        let letters: Vec<(String, Letter)> = if rule.due(c.start) < introduced {
            vec![(
                format!("lapsed:{}:{}", c.key, c.start),
                reminder::lapsed(lang, name, c.start, due),
            )]
        } else {
            let dates = rule.reminder_dates(c.start);
            let sent_before_introduction = dates
                .iter()
                .filter(|d| **d < introduced && **d <= as_of)
                .count();
            dates
                .iter()
                .enumerate()
                .filter(|(i, d)| {
                    **d <= as_of && (**d >= introduced || *i + 1 == sent_before_introduction)
                })
                .map(|(i, _)| {
                    (
                        format!("reminder:{}:{}:{}", c.key, c.start, i + 1),
                        reminder::reminder(lang, name, i + 1, dates.len(), c.start, due),
                    )
                })
                .collect()
        };
        for (key, letter) in letters {
            if crate::store::consultants::enqueue(
                &app.db,
                &key,
                &c.key,
                email,
                &letter.subject,
                &letter.body,
                app.clock.now(),
            )
            .await?
            {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

fn target_of(category: &str) -> &'static str {
    match category {
        "sitzungen" => "staff_sessions: row",
        "anmelde-fehlversuche" => "login_failures: row",
        "api-tokens" => "api_tokens: row",
        "teilnehmende-kontaktdaten" => {
            "subjects: name, email, organisation, salt, ip_truncated, user_agent (anonymised)"
        }
        "berater-listung" => {
            "consultants: row; consultant_authorisations: rows; outbox: undelivered reminders cancelled (address, text, server answer)"
        }
        "workshop-teilnahme" => "workshop_attendance: row",
        "erinnerungen-outbox" => "outbox: row",
        "mitarbeitende-konten" => "staff_users: email, password_hash, last_login_at (anonymised)",
        "einwilligungsnachweise" => {
            "consent_records, consent_events, subject_rectifications, subjects: rows (tombstone: the ledger keeps their hashes)"
        }
        "pruefprotokoll" => {
            "audit_events: actor, target, ip_truncated; notice_reviews: actor, comment; notice_versions: uploaded_by, submitted_by, decided_by, withdrawn_reason; retention_holds: created_by, released_by, reason, subject; retention_pauses: paused_by, resumed_by, reason (anonymised)"
        }
        "loeschprotokoll" => "deletion_log: subject_pseudonym (anonymised)",
        _ => "",
    }
}

/// What `retention replay` found and did.
#[derive(Debug, Default, Serialize)]
pub struct ReplayReport {
    /// Journal entries read.
    pub read: usize,
    /// Already in this database's deletion log (the backup had them, or a replay did).
    pub present: usize,
    /// Deleted again: the restored backup had brought their rows back.
    pub replayed: usize,
    /// Nothing to delete: the rows were not in the restored database either.
    pub absent: usize,
    /// Entries written before row keys were logged: cannot be re-applied.
    pub without_row_key: usize,
    /// Journals whose last line was cut short by a crash (ignored).
    pub torn_tails: usize,
}

/// Re-applies deletions from the deletion journals to a restored database: every journal
/// entry this database's log lacks is deleted again (by its row key, with the rule's own
/// statements) and logged as a replay of the original entry, in the ledger like any
/// deletion. Idempotent; holds and pauses do not apply (the deletions already happened).
pub async fn replay(
    app: &App,
    journals: &[std::path::PathBuf],
    actor: &str,
) -> anyhow::Result<ReplayReport> {
    let mut report = ReplayReport::default();
    let write_journal = |entries: &[&store::DeletionLogEntry]| app.journal.append(entries);
    for path in journals {
        let mut reader = crate::deletion_journal::JournalReader::open(path)?;
        loop {
            let chunk = reader.next_chunk(BATCH)?;
            if chunk.is_empty() {
                break;
            }
            report.read += chunk.len();
            let ids: Vec<&str> = chunk
                .iter()
                .flat_map(|e| [Some(e.id.as_str()), e.replay_of.as_deref()])
                .flatten()
                .collect();
            let known = store::logged_among(&app.db, &ids).await?;
            let mut pending: Vec<&store::DeletionLogEntry> = Vec::new();
            for entry in &chunk {
                // A replay entry stands for its original.
                let original = entry.replay_of.as_deref().unwrap_or(&entry.id);
                if known.contains(&entry.id) || known.contains(original) {
                    report.present += 1;
                } else if entry.row_key.is_none() {
                    report.without_row_key += 1;
                } else {
                    pending.push(entry);
                }
            }
            // Category by category, each in journal order.
            pending.sort_by(|a, b| a.category.cmp(&b.category));
            for group in pending.chunk_by(|a, b| a.category == b.category) {
                let items: Vec<store::BatchItem<'_>> = group
                    .iter()
                    .map(|e| store::BatchItem {
                        deletion: Deletion {
                            category: &e.category,
                            rule_version: e.rule_version,
                            start_on: e.start_on,
                            due_on: e.due_on,
                            subject_pseudonym: e.subject_pseudonym.clone(),
                            target: &e.target,
                        },
                        key: e.row_key.as_deref().unwrap_or_default(),
                        replay_of: Some(e.replay_of.as_deref().unwrap_or(&e.id)),
                    })
                    .collect();
                let done = store::execute_batch(
                    &app.db,
                    &app.clock,
                    &items,
                    &group[0].category,
                    &write_journal,
                )
                .await?
                .iter()
                .flatten()
                .count();
                report.replayed += done;
                report.absent += group.len() - done;
            }
        }
        report.torn_tails += usize::from(reader.torn_tail);
    }
    crate::store::audit::record(
        &app.db,
        &app.clock,
        actor,
        "retention.replayed",
        Some(&format!(
            "read:{} replayed:{} present:{} absent:{}",
            report.read, report.replayed, report.present, report.absent
        )),
        None,
    )
    .await?;
    empty_write_ahead_log(app).await;
    Ok(report)
}

/// Columns the coverage list does not classify, or whose category has no rule.
pub async fn coverage(app: &App) -> anyhow::Result<Vec<String>> {
    let schema = personal_data::schema_columns(&app.db).await?;
    let categories: Vec<&str> = app
        .policies
        .retention
        .iter()
        .map(|r| r.category.as_str())
        .collect();
    let mut problems = personal_data::coverage_problems(&schema, &categories);
    for (table, columns) in personal_data::COLUMNS {
        for (column, holds) in *columns {
            if let personal_data::Holds::Personal(category) = holds
                && HELD_ELSEWHERE.contains(category)
            {
                problems.push(format!(
                    "{table}.{column} holds `{category}`, which consentd is declared not to hold: enforce its rule"
                ));
            }
        }
    }
    Ok(problems)
}

/// How consentd enforces a category's rule, in the concept's words.
pub fn enforcement_de(category: &str) -> &'static str {
    if ENFORCED.contains(&category) {
        "ja"
    } else if HELD_ELSEWHERE.contains(&category) {
        "keine Daten in consentd (gilt für die Systeme der Veranstalter)"
    } else {
        "noch nicht"
    }
}

/// The rules as the deletion concept for the data-protection officer (Markdown).
pub fn concept_markdown(app: &App) -> String {
    let mut out = String::from(
        "# Löschkonzept (DIN 66398)\n\nJede Datenart hat genau eine Löschregel: Startzeitpunkt + Regellöschfrist.\n\n",
    );
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
            enforcement_de(&r.category)
        ));
    }
    out.push_str("\n## Löschklassen\n\n");
    let mut classes: Vec<String> = app
        .policies
        .retention
        .iter()
        .map(|r| r.deletion_class())
        .collect();
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
        assert_eq!(
            a,
            super::pseudonym(b"key-a", Some("anna@example.org")).unwrap()
        );
        assert_ne!(
            a,
            super::pseudonym(b"key-b", Some("anna@example.org")).unwrap()
        );
        assert_eq!(a.len(), 64);
    }
}

/// Holds, pauses, forecasts and reports: the admin's side of the engine. Every change is
/// audited.
pub mod admin {
    use std::collections::BTreeMap;

    use chrono::{Datelike, Months, NaiveDate, TimeDelta};
    use serde::Serialize;

    use super::{DuePages, ENFORCED};
    use crate::app::App;
    use crate::domain::consent::FieldError;
    use crate::store::audit;
    use crate::store::retention::{self as store, DeletionLogEntry, Hold};

    pub const SCOPES: [&str; 3] = ["subject", "workshop", "category"];

    pub async fn add_hold(
        app: &App,
        scope: &str,
        target: &str,
        reason: &str,
        until: Option<NaiveDate>,
        actor: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<Result<Hold, FieldError>> {
        if !SCOPES.contains(&scope) {
            return Ok(Err(FieldError::new(
                "scope",
                "must be subject, workshop or category",
            )));
        }
        let target = target.trim();
        if target.is_empty() || target.len() > 200 || target.chars().any(char::is_control) {
            return Ok(Err(FieldError::new(
                "target",
                "name the subject id, workshop slug or category",
            )));
        }
        if scope == "category" && !app.policies.retention.iter().any(|r| r.category == target) {
            return Ok(Err(FieldError::new(
                "target",
                format!("unknown category `{target}`"),
            )));
        }
        if scope == "workshop"
            && crate::store::workshops::by_slug(&app.db, target)
                .await?
                .is_none()
        {
            return Ok(Err(FieldError::new(
                "target",
                format!("unknown workshop `{target}`"),
            )));
        }
        if scope == "subject"
            && crate::store::consents::subject(&app.db, target)
                .await?
                .is_none()
            && !crate::store::consultants::list(&app.db)
                .await?
                .iter()
                .any(|c| c.id == target)
        {
            return Ok(Err(FieldError::new(
                "target",
                "unknown subject or consultant id",
            )));
        }
        let reason = match crate::domain::text::note(reason, "reason", 2000) {
            Ok(Some(reason)) => reason,
            Ok(None) => {
                return Ok(Err(FieldError::new(
                    "reason",
                    "say why the data must be kept (dispute, Art. 18 request, …)",
                )));
            }
            Err(e) => return Ok(Err(e)),
        };
        if until.is_some_and(|u| u < app.clock.today_berlin()) {
            return Ok(Err(FieldError::new("until", "must not be in the past")));
        }
        let hold = Hold {
            id: uuid::Uuid::now_v7().to_string(),
            scope: scope.to_owned(),
            target: target.to_owned(),
            reason: reason.to_owned(),
            created_by: actor.to_owned(),
            created_at: app.clock.now(),
            ends_on: until,
            released_at: None,
            released_by: None,
        };
        store::add_hold(&app.db, &hold).await?;
        audit::record(
            &app.db,
            &app.clock,
            actor,
            "retention.hold",
            Some(&format!("hold:{} {scope}:{target}", hold.id)),
            ip,
        )
        .await?;
        Ok(Ok(hold))
    }

    pub async fn release_hold(
        app: &App,
        id: &str,
        actor: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<bool> {
        let done = store::release_hold(&app.db, id, actor, app.clock.now()).await?;
        if done {
            audit::record(
                &app.db,
                &app.clock,
                actor,
                "retention.hold_released",
                Some(&format!("hold:{id}")),
                ip,
            )
            .await?;
        }
        Ok(done)
    }

    pub async fn pause(
        app: &App,
        reason: &str,
        actor: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<Result<bool, FieldError>> {
        let reason = match crate::domain::text::note(reason, "reason", 2000) {
            Ok(Some(reason)) => reason,
            Ok(None) => {
                return Ok(Err(FieldError::new(
                    "reason",
                    "say why automated deletion is paused",
                )));
            }
            Err(e) => return Ok(Err(e)),
        };
        let done = store::pause(&app.db, &reason, actor, app.clock.now()).await?;
        if done {
            audit::record(&app.db, &app.clock, actor, "retention.paused", None, ip).await?;
        }
        Ok(Ok(done))
    }

    pub async fn resume(app: &App, actor: &str, ip: Option<&str>) -> anyhow::Result<bool> {
        let done = store::resume(&app.db, actor, app.clock.now()).await?;
        if done {
            audit::record(&app.db, &app.clock, actor, "retention.resumed", None, ip).await?;
        }
        Ok(done)
    }

    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    pub struct ForecastMonth {
        /// `YYYY-MM`; the first row (`due`) is what is overdue now.
        pub month: String,
        pub per_category: BTreeMap<String, usize>,
        pub held: usize,
        pub total: usize,
    }

    #[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
    pub struct Forecast {
        pub from: NaiveDate,
        pub until: NaiveDate,
        pub months: Vec<ForecastMonth>,
        /// Rules declared but not yet enforced by the engine.
        pub not_enforced: Vec<String>,
    }

    /// What will be deleted when over the next twelve months.
    pub async fn forecast(app: &App) -> anyhow::Result<Forecast> {
        let today = app.clock.today_berlin();
        let until = today.checked_add_months(Months::new(12)).unwrap_or(today);
        let mut months: Vec<ForecastMonth> = Vec::new();
        let label = |d: NaiveDate| {
            if d <= today {
                "due".to_owned()
            } else {
                format!("{:04}-{:02}", d.year(), d.month())
            }
        };
        let mut keys = vec!["due".to_owned()];
        let mut month = today.with_day(1).unwrap_or(today);
        while month <= until {
            let key = format!("{:04}-{:02}", month.year(), month.month());
            if !keys.contains(&key) {
                keys.push(key);
            }
            month = month
                .checked_add_months(Months::new(1))
                .unwrap_or(until + TimeDelta::days(1));
        }
        for key in &keys {
            months.push(ForecastMonth {
                month: key.clone(),
                per_category: BTreeMap::new(),
                held: 0,
                total: 0,
            });
        }
        let mut pages = DuePages::new(app, until).await?;
        while let Some((_, page)) = pages.next().await? {
            for (planned, _) in page {
                let key = label(planned.due_on);
                if let Some(m) = months.iter_mut().find(|m| m.month == key) {
                    *m.per_category.entry(planned.category.clone()).or_default() += 1;
                    m.total += 1;
                    m.held += usize::from(planned.held_by.is_some());
                }
            }
        }
        let not_enforced = app
            .policies
            .retention
            .iter()
            .filter(|r| {
                !ENFORCED.contains(&r.category.as_str())
                    && !super::HELD_ELSEWHERE.contains(&r.category.as_str())
            })
            .map(|r| r.category.clone())
            .collect();
        Ok(Forecast {
            from: today,
            until,
            months,
            not_enforced,
        })
    }

    /// The forecast as a small bar chart (server-rendered SVG, no script).
    pub fn forecast_svg(f: &Forecast) -> String {
        let (w, h, pad) = (640.0_f64, 180.0_f64, 24.0_f64);
        let max = f.months.iter().map(|m| m.total).max().unwrap_or(0).max(1) as f64;
        let bar = (w - 2.0 * pad) / f.months.len().max(1) as f64;
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"Löschprognose\" class=\"chart\">"
        );
        for (i, m) in f.months.iter().enumerate() {
            let height = (m.total as f64 / max) * (h - 2.0 * pad - 12.0);
            let x = pad + i as f64 * bar;
            let y = h - pad - height;
            out.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {}</title></rect>",
                x + 2.0, y, bar - 4.0, height, if m.month == "due" { "#8a2a0b" } else { "#0b5cad" }, m.month, m.total
            ));
            let label = if m.month == "due" {
                "fällig"
            } else {
                &m.month[m.month.len().saturating_sub(2)..]
            };
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">{}</text>",
                x + bar / 2.0,
                h - 8.0,
                label
            ));
            if m.total > 0 {
                out.push_str(&format!("<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{}</text>", x + bar / 2.0, y - 3.0, m.total));
            }
        }
        out.push_str("</svg>");
        out
    }

    /// Deletion log entries executed in [from, to] (Europe/Berlin days).
    pub async fn report(
        app: &App,
        from: NaiveDate,
        to: NaiveDate,
    ) -> anyhow::Result<Vec<DeletionLogEntry>> {
        let start = crate::clock::berlin_day_start;
        let (Some(from), Some(until)) = (start(from), to.succ_opt().and_then(start)) else {
            anyhow::bail!("dates out of range");
        };
        Ok(store::log_between(&app.db, from, until).await?)
    }

    /// CSV for German Excel: UTF-8 with BOM, semicolons, and no cell a spreadsheet would run
    /// as a formula.
    pub fn report_csv(entries: &[DeletionLogEntry]) -> anyhow::Result<Vec<u8>> {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(b';')
            .from_writer(Vec::new());
        writer.write_record([
            "executed_at",
            "category",
            "rule_version",
            "start_on",
            "due_on",
            "subject_pseudonym",
            "target",
            "rows_affected",
            "ledger_seq",
        ])?;
        for e in entries {
            writer.write_record(
                [
                    crate::clock::canonical_time(e.executed_at),
                    e.category.clone(),
                    e.rule_version.to_string(),
                    e.start_on.to_string(),
                    e.due_on.to_string(),
                    e.subject_pseudonym.clone().unwrap_or_default(),
                    e.target.clone(),
                    e.rows_affected.to_string(),
                    e.ledger_seq.to_string(),
                ]
                .map(|cell| defuse(&cell)),
            )?;
        }
        let mut out = "\u{feff}".as_bytes().to_vec();
        out.extend(writer.into_inner()?);
        Ok(out)
    }

    /// A cell starting with `=`, `+`, `-`, `@`, tab or CR is prefixed with `'` (OWASP).
    pub fn defuse(cell: &str) -> String {
        match cell.chars().next() {
            Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
            _ => cell.to_owned(),
        }
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn formulas_are_defused() {
            assert_eq!(super::defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
            assert_eq!(super::defuse("-1"), "'-1");
            assert_eq!(super::defuse("sitzungen"), "sitzungen");
        }
    }
}
