//! Data-subject rights: finding a person (by e-mail), access and portability (Art. 15/20),
//! rectification (Art. 16) and erasure (Art. 17) with a report of what was erased, what was
//! kept and why, and what is left to do by hand.
//!
//! A person is the subject named by id together with every other subject row under the same
//! e-mail address: consentd keeps one subject row per consent, so someone who signed up for
//! three workshops has three.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::app::App;
use crate::clock::canonical_time;
use crate::domain::consent::{
    EmailAddress, FieldError, Organisation, PersonalData, Subject, SubjectName,
};
use crate::retention::{HELD_ELSEWHERE, pseudonym};
use crate::store::consents::{self, StoredSubject};
use crate::store::personal_data::{COLUMNS, Holds};
use crate::store::{retention as retention_store, subjects, workshops};

/// Where each table that can hold personal data appears in an export: the section, or why it
/// holds nothing about participants. A test checks this against the coverage list.
pub const EXPORT_SOURCES: &[(&str, &str)] = &[
    ("subjects", "identity"),
    ("consent_records", "consents"),
    ("later_consent_events", "consents[].events"),
    ("subject_rectifications", "rectifications"),
    ("workshop_attendance", "attendance"),
    ("outbox", "reminders"),
    ("consultants", "consultant"),
    ("consultant_authorisations", "consultant.authorisations"),
    ("retention_holds", "holds"),
    ("deletion_log", "deletions"),
    ("audit_events", "audit"),
    (
        "api_tokens",
        "not about participants: API tokens of staff and systems",
    ),
    (
        "login_failures",
        "not about participants: failed staff logins",
    ),
    ("staff_sessions", "not about participants: staff sessions"),
    ("staff_users", "not about participants: staff accounts"),
    (
        "notice_reviews",
        "not about participants: the legal review of notices",
    ),
    (
        "notice_versions",
        "not about participants: notice versions and their reviewers",
    ),
    (
        "retention_pauses",
        "not about participants: pauses of automated deletion",
    ),
];

/// Tables of the coverage list that hold personal data but are missing from
/// [`EXPORT_SOURCES`] (empty when the export is complete).
pub fn unexported_tables() -> Vec<&'static str> {
    COLUMNS
        .iter()
        .filter(|(_, columns)| columns.iter().any(|(_, h)| matches!(h, Holds::Personal(_))))
        .map(|(table, _)| *table)
        .filter(|table| !EXPORT_SOURCES.iter().any(|(t, _)| t == table))
        .collect()
}

/// Who handles a request, for the audit trail (every search, export, rectification and
/// erasure is recorded, never the address searched for).
pub struct Requester<'a> {
    pub actor: String,
    pub ip_truncated: Option<&'a str>,
}

impl Requester<'_> {
    async fn audit(&self, app: &App, action: &str, target: &str) -> Result<(), RightsError> {
        crate::store::audit::record(
            &app.db,
            &app.clock,
            &self.actor,
            action,
            Some(target),
            self.ip_truncated,
        )
        .await?;
        Ok(())
    }

    /// The audit event of a change already committed: if it cannot be written, the answer
    /// still says what was done (a retry would find nothing left to do and be refused) and
    /// the failure is logged. An erasure's own ledger entries name who erased.
    async fn audit_done(&self, app: &App, action: &str, target: &str) {
        if let Err(e) = self.audit(app, action, target).await {
            tracing::warn!(action, error = %e, "done, but its audit event could not be written");
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RightsError {
    #[error("subject not found")]
    NotFound,
    #[error("{0}")]
    Invalid(FieldError),
    /// A legal hold or restriction (Art. 18) covers the person's data.
    #[error("the data is on hold ({scope} {target}) until the hold is released: {reason}")]
    OnHold {
        scope: String,
        target: String,
        reason: String,
    },
    #[error("the subject's personal data was erased already")]
    Erased,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for RightsError {
    fn from(e: sqlx::Error) -> Self {
        RightsError::Internal(e.into())
    }
}

/// One subject row as found by e-mail.
#[derive(Debug, Serialize)]
pub struct FoundSubject {
    pub id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub organisation: Option<String>,
    pub created_at: String,
    pub erased_at: Option<String>,
    pub records: Vec<FoundRecord>,
}

#[derive(Debug, Serialize)]
pub struct FoundRecord {
    pub id: String,
    pub receipt_id: String,
    pub workshop_id: String,
    pub recorded_at: String,
}

/// Subjects under this address, and erased ones whose kept pseudonym matches it.
pub async fn find(
    app: &App,
    email: &str,
    by: &Requester<'_>,
) -> Result<Vec<FoundSubject>, RightsError> {
    let email = EmailAddress::parse_as(email, "email").map_err(RightsError::Invalid)?;
    let mut rows = subjects::by_email(&app.db, email.as_str()).await?;
    let key = retention_store::pseudonym_key(&app.db, app.clock.now()).await?;
    if let Some(p) = pseudonym(&key, Some(email.as_str())) {
        rows.extend(subjects::erased_by_pseudonym(&app.db, &p).await?);
    }
    let ids: Vec<String> = rows.iter().map(|s| s.id.clone()).collect();
    let records = subjects::records_of(&app.db, &ids).await?;
    by.audit(app, "subject.searched", &format!("results:{}", rows.len()))
        .await?;
    Ok(rows
        .into_iter()
        .map(|s| FoundSubject {
            records: records
                .iter()
                .filter(|r| r.subject_id == s.id)
                .map(|r| FoundRecord {
                    id: r.id.clone(),
                    receipt_id: r.receipt_id.clone(),
                    workshop_id: r.workshop_id.clone(),
                    recorded_at: canonical_time(r.recorded_at),
                })
                .collect(),
            id: s.id,
            name: s.name,
            email: s.email,
            organisation: s.organisation,
            created_at: canonical_time(s.created_at),
            erased_at: s.erased_at.map(canonical_time),
        })
        .collect())
}

async fn person(app: &App, subject_id: &str) -> Result<Vec<StoredSubject>, RightsError> {
    if uuid::Uuid::parse_str(subject_id).is_err() {
        return Err(RightsError::NotFound);
    }
    let rows = subjects::person(&app.db, subject_id).await?;
    if rows.is_empty() {
        return Err(RightsError::NotFound);
    }
    Ok(rows)
}

/// The e-mail address of a person (the first live row's), if not erased.
fn address_of(rows: &[StoredSubject]) -> Option<String> {
    rows.iter().find_map(|s| s.email.clone())
}

// ---------------------------------------------------------------------------------
// Art. 15 / 20: export
// ---------------------------------------------------------------------------------

/// Everything consentd holds on a person, machine-readable (Art. 20) and complete (Art. 15).
#[derive(Debug, Serialize)]
pub struct SubjectExport {
    pub generated_at: String,
    /// `person` (every sign-up under the address) or `own_record` (the personal link's).
    pub scope: &'static str,
    pub controller: Vec<ExportController>,
    pub identity: Vec<ExportIdentity>,
    pub consents: Vec<ExportConsent>,
    pub rectifications: Vec<ExportRectification>,
    pub attendance: Vec<ExportAttendance>,
    pub reminders: Vec<ExportReminder>,
    pub consultant: Option<ExportConsultant>,
    pub holds: Vec<ExportHold>,
    pub deletions: Vec<ExportDeletion>,
    pub audit: Vec<ExportAudit>,
    /// Where each table that can hold personal data appears here, or why it does not.
    pub tables: std::collections::BTreeMap<String, String>,
    /// Data about the person that consentd does not hold (kept by the organisers elsewhere).
    pub held_elsewhere: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ExportController {
    pub name: String,
    pub address: String,
    pub email: String,
    pub dpo: String,
}

#[derive(Debug, Serialize)]
pub struct ExportIdentity {
    pub subject_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub organisation: Option<String>,
    pub created_at: String,
    pub erased_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ExportConsent {
    pub record_id: String,
    pub receipt_id: String,
    pub subject_id: String,
    pub workshop: ExportWorkshop,
    pub notice: ExportNotice,
    pub recorded_at: String,
    pub collection_method: String,
    pub ip_truncated: Option<String>,
    pub user_agent: Option<String>,
    pub ledger_seq: i64,
    pub purposes: Vec<ExportPurpose>,
    pub events: Vec<ExportEvent>,
}

#[derive(Debug, Serialize)]
pub struct ExportWorkshop {
    pub slug: String,
    pub title: String,
    pub starts_on: String,
    pub ends_on: String,
}

#[derive(Debug, Serialize)]
pub struct ExportNotice {
    pub id: String,
    pub version: i64,
    pub language: String,
    pub sha256: String,
}

#[derive(Debug, Serialize)]
pub struct ExportPurpose {
    pub id: String,
    pub legal_basis: String,
    pub state: String,
    pub since: String,
}

#[derive(Debug, Serialize)]
pub struct ExportEvent {
    pub purpose: String,
    pub state: String,
    pub actor: String,
    pub at: String,
    pub ledger_seq: i64,
}

#[derive(Debug, Serialize)]
pub struct ExportRectification {
    pub subject_id: String,
    pub fields: String,
    pub at: String,
    pub ledger_seq: i64,
}

#[derive(Debug, Serialize)]
pub struct ExportAttendance {
    pub workshop: String,
    pub title: String,
    pub recorded_at: String,
}

#[derive(Debug, Serialize)]
pub struct ExportReminder {
    pub subject: String,
    pub state: String,
    pub created_at: String,
    pub finished_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ExportConsultant {
    pub name: String,
    pub listed_since: String,
    pub authorisations: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ExportHold {
    pub scope: String,
    pub target: String,
    pub reason: String,
    pub since: String,
    pub ends_on: Option<String>,
    pub released_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ExportDeletion {
    pub category: String,
    pub rule_version: i64,
    pub executed_at: String,
    pub target: String,
    pub rows_affected: i64,
}

#[derive(Debug, Serialize)]
pub struct ExportAudit {
    pub at: String,
    pub action: String,
    pub target: Option<String>,
}

/// How far an export reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportScope {
    /// The person: every subject under the address (staff, on a verified request).
    Person,
    /// Only this subject and its consent (the participant's own link). Anyone can sign up
    /// with someone else's address, so a link must not open the data of other sign-ups.
    OwnRecord,
}

/// `by` is the staff member handling the request; the participant's own link has none.
pub async fn export(
    app: &App,
    subject_id: &str,
    scope: ExportScope,
    by: Option<&Requester<'_>>,
) -> Result<SubjectExport, RightsError> {
    let rows = match scope {
        ExportScope::Person => person(app, subject_id).await?,
        ExportScope::OwnRecord => consents::subject(&app.db, subject_id)
            .await?
            .into_iter()
            .collect(),
    };
    if rows.is_empty() {
        return Err(RightsError::NotFound);
    }
    let ids: Vec<String> = rows.iter().map(|s| s.id.clone()).collect();
    let records = subjects::records_of(&app.db, &ids).await?;
    let email = match scope {
        ExportScope::Person => address_of(&rows),
        ExportScope::OwnRecord => None,
    };
    let key = retention_store::pseudonym_key(&app.db, app.clock.now()).await?;
    let pseudonyms: BTreeSet<String> = match scope {
        ExportScope::Person => rows
            .iter()
            .filter_map(|s| s.email_pseudonym.clone())
            .chain(pseudonym(&key, email.as_deref()))
            .collect(),
        ExportScope::OwnRecord => BTreeSet::new(),
    };

    let mut consents_out = Vec::new();
    let mut controllers: Vec<ExportController> = Vec::new();
    let mut workshop_slugs = BTreeSet::new();
    for record in &records {
        let subject = rows.iter().find(|s| s.id == record.subject_id);
        let events = consents::events_of(&app.db, &record.id).await?;
        let workshop = workshops::by_id(&app.db, &record.workshop_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("consent record without its workshop"))?;
        workshop_slugs.insert(workshop.slug.clone());
        if let Some(c) = app.policies.controller(&record.controller_id) {
            if !controllers.iter().any(|x| x.name == c.name) {
                controllers.push(ExportController {
                    name: c.name.clone(),
                    address: c.address.clone(),
                    email: c.email.clone(),
                    dpo: format!("{} <{}>", c.dpo.name, c.dpo.email),
                });
            }
        }
        consents_out.push(ExportConsent {
            record_id: record.id.clone(),
            receipt_id: record.receipt_id.clone(),
            subject_id: record.subject_id.clone(),
            workshop: ExportWorkshop {
                slug: workshop.slug.clone(),
                title: workshop.title.clone(),
                starts_on: workshop.starts_on.to_string(),
                ends_on: workshop.ends_on.to_string(),
            },
            notice: ExportNotice {
                id: record.notice_id.clone(),
                version: record.notice_version,
                language: record.notice_language.clone(),
                sha256: record.notice_sha256.clone(),
            },
            recorded_at: canonical_time(record.recorded_at),
            collection_method: record.collection_method.clone(),
            ip_truncated: subject.and_then(|s| s.ip_truncated.clone()),
            user_agent: subject.and_then(|s| s.user_agent.clone()),
            ledger_seq: record.ledger_seq,
            purposes: consents::current_states(&events)
                .into_iter()
                .map(|e| ExportPurpose {
                    id: e.purpose_id.clone(),
                    legal_basis: e.legal_basis.clone(),
                    state: e.state.clone(),
                    since: canonical_time(e.occurred_at),
                })
                .collect(),
            events: events
                .iter()
                .map(|e| ExportEvent {
                    purpose: e.purpose_id.clone(),
                    state: e.state.clone(),
                    actor: e.actor.clone(),
                    at: canonical_time(e.occurred_at),
                    ledger_seq: e.ledger_seq,
                })
                .collect(),
        });
    }

    let (attendance, reminders, consultant) = match &email {
        Some(email) => {
            let consultant = match subjects::consultant_with_email(&app.db, email).await? {
                Some((id, name, created_at)) => Some(ExportConsultant {
                    name,
                    listed_since: canonical_time(created_at),
                    authorisations: subjects::authorisations_of(&app.db, &id)
                        .await?
                        .into_iter()
                        .map(|(on, source)| format!("{on} ({source})"))
                        .collect(),
                }),
                None => None,
            };
            (
                subjects::attendance_of(&app.db, email).await?,
                subjects::outbox_to(&app.db, email).await?,
                consultant,
            )
        }
        None => (Vec::new(), Vec::new(), None),
    };

    let holds = retention_store::holds(&app.db)
        .await?
        .into_iter()
        .filter(|h| match h.scope.as_str() {
            "subject" => ids.contains(&h.target),
            "workshop" => workshop_slugs.contains(&h.target),
            "category" => {
                h.target == "teilnehmende-kontaktdaten" || h.target == "einwilligungsnachweise"
            }
            _ => false,
        })
        .map(|h| ExportHold {
            scope: h.scope,
            target: h.target,
            reason: h.reason,
            since: canonical_time(h.created_at),
            ends_on: h.ends_on.map(|d| d.to_string()),
            released_at: h.released_at.map(canonical_time),
        })
        .collect();

    let mut deletions = Vec::new();
    for p in &pseudonyms {
        deletions.extend(subjects::deletions_for(&app.db, p).await?);
    }
    let targets: Vec<String> = ids
        .iter()
        .map(|id| format!("subject:{id}"))
        .chain(records.iter().map(|r| format!("record:{}", r.id)))
        .collect();
    let audit = subjects::audit_about(&app.db, &targets).await?;
    let rectifications = subjects::rectifications_of(&app.db, &ids).await?;
    if let Some(by) = by {
        by.audit(app, "subject.exported", &format!("subject:{subject_id}"))
            .await?;
    }

    Ok(SubjectExport {
        generated_at: canonical_time(app.clock.now()),
        scope: match scope {
            ExportScope::Person => "person",
            ExportScope::OwnRecord => "own_record",
        },
        controller: controllers,
        identity: rows
            .iter()
            .map(|s| ExportIdentity {
                subject_id: s.id.clone(),
                name: s.name.clone(),
                email: s.email.clone(),
                organisation: s.organisation.clone(),
                created_at: canonical_time(s.created_at),
                erased_at: s.erased_at.map(canonical_time),
            })
            .collect(),
        consents: consents_out,
        rectifications: rectifications
            .into_iter()
            .map(|r| ExportRectification {
                subject_id: r.subject_id,
                fields: r.fields,
                at: canonical_time(r.rectified_at),
                ledger_seq: r.ledger_seq,
            })
            .collect(),
        attendance: attendance
            .into_iter()
            .map(|(workshop, title, at)| ExportAttendance {
                workshop,
                title,
                recorded_at: canonical_time(at),
            })
            .collect(),
        reminders: reminders
            .into_iter()
            .map(|m| ExportReminder {
                subject: m.subject,
                state: m.state,
                created_at: canonical_time(m.created_at),
                finished_at: m.finished_at.map(canonical_time),
            })
            .collect(),
        consultant,
        holds,
        deletions: deletions
            .into_iter()
            .map(|d| ExportDeletion {
                category: d.category,
                rule_version: d.rule_version,
                executed_at: canonical_time(d.executed_at),
                target: d.target,
                rows_affected: d.rows_affected,
            })
            .collect(),
        audit: audit
            .into_iter()
            .map(|a| ExportAudit {
                at: canonical_time(a.at),
                action: a.action,
                target: a.target,
            })
            .collect(),
        tables: EXPORT_SOURCES
            .iter()
            .map(|(t, w)| ((*t).to_owned(), (*w).to_owned()))
            .collect(),
        held_elsewhere: held_elsewhere(app),
    })
}

/// The categories consentd is declared not to hold, with their titles.
fn held_elsewhere(app: &App) -> Vec<String> {
    HELD_ELSEWHERE
        .iter()
        .map(|c| {
            app.policies
                .retention
                .iter()
                .find(|r| r.category == *c)
                .map(|r| format!("{c}: {}", r.title.de))
                .unwrap_or_else(|| (*c).to_owned())
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// Art. 16: rectification
// ---------------------------------------------------------------------------------

/// New values; absent fields stay as they are. `organisation: ""` removes it.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rectify {
    pub name: Option<String>,
    pub email: Option<String>,
    pub organisation: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct RectificationReport {
    pub subject_ids: Vec<String>,
    pub fields: Vec<String>,
    pub ledger_seqs: Vec<i64>,
    /// How the old values are kept.
    pub previous_values: &'static str,
}

/// The parsers name the consent form's fields (`subject.name`); this body's are top level.
fn named(field: &str, e: FieldError) -> RightsError {
    RightsError::Invalid(FieldError::new(field, e.message))
}

pub async fn rectify(
    app: &App,
    subject_id: &str,
    input: &Rectify,
    by: &Requester<'_>,
) -> Result<RectificationReport, RightsError> {
    let rows = person(app, subject_id).await?;
    let name = input
        .name
        .as_deref()
        .map(SubjectName::parse)
        .transpose()
        .map_err(|e| named("name", e))?;
    let email = input
        .email
        .as_deref()
        .map(|raw| EmailAddress::parse_as(raw, "email"))
        .transpose()
        .map_err(RightsError::Invalid)?;
    let organisation = match input.organisation.as_deref() {
        None => None,
        Some(raw) => Some(Organisation::parse(Some(raw)).map_err(|e| named("organisation", e))?),
    };
    if name.is_none() && email.is_none() && organisation.is_none() {
        return Err(RightsError::Invalid(FieldError::new(
            "name",
            "send at least one of name, email, organisation",
        )));
    }
    let live: Vec<&StoredSubject> = rows.iter().filter(|s| s.erased_at.is_none()).collect();
    if live.is_empty() {
        return Err(RightsError::Erased);
    }
    let mut changes = Vec::new();
    let mut fields_changed = BTreeSet::new();
    for subject in live {
        let (Some(old_name), Some(old_email), Some(salt)) =
            (&subject.name, &subject.email, &subject.salt)
        else {
            continue;
        };
        let new_name = name
            .as_ref()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_else(|| old_name.clone());
        let new_email = email
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_else(|| old_email.clone());
        let new_org = match &organisation {
            Some(o) => o.as_ref().map(|o| o.as_str().to_owned()),
            None => subject.organisation.clone(),
        };
        let mut fields = Vec::new();
        if &new_name != old_name {
            fields.push("name");
        }
        if &new_email != old_email {
            fields.push("email");
        }
        if new_org != subject.organisation {
            fields.push("organisation");
        }
        if fields.is_empty() {
            continue;
        }
        let digest = Subject::digest(
            &PersonalData {
                name: &new_name,
                email: &new_email,
                organisation: new_org.as_deref(),
                ip_truncated: subject.ip_truncated.as_deref(),
                user_agent: subject.user_agent.as_deref(),
            },
            salt,
        );
        fields_changed.extend(fields.iter().map(|f| (*f).to_owned()));
        changes.push(subjects::RectifiedSubject {
            subject_id: subject.id.clone(),
            name: new_name,
            email: new_email,
            organisation: new_org,
            fields: fields.join(","),
            previous_digest: subject
                .current_digest
                .clone()
                .unwrap_or_else(|| subject.digest.clone()),
            digest,
        });
    }
    let done = subjects::rectify(&app.db, &app.clock, &changes).await?;
    if !done.is_empty() {
        // The values as they were are personal data the person asked to have replaced.
        crate::retention::empty_write_ahead_log(app).await;
        by.audit_done(app, "subject.rectified", &format!("subject:{subject_id}"))
            .await;
    }
    Ok(RectificationReport {
        subject_ids: done.iter().map(|r| r.subject_id.clone()).collect(),
        fields: fields_changed.into_iter().collect(),
        ledger_seqs: done.iter().map(|r| r.ledger_seq).collect(),
        previous_values: "not kept: the ledger keeps the digest of the previous data, so it can be \
                          matched if the person presents it in a dispute",
    })
}

// ---------------------------------------------------------------------------------
// Art. 17: erasure
// ---------------------------------------------------------------------------------

/// The deletion-log target of an erasure on request.
const ERASURE_TARGET: &str = "Art. 17 request: subjects: name, email, organisation, salt, \
    ip_truncated, user_agent (anonymised); workshop_attendance, consultants: rows; \
    outbox: address, text and server answer";

/// What an erasure did, what it kept and why, and what is left to do by hand.
#[derive(Debug, Serialize)]
pub struct ErasureReport {
    pub subject_ids: Vec<String>,
    pub erased_at: String,
    pub erased: Vec<ErasedItem>,
    pub kept: Vec<KeptItem>,
    pub by_hand: Vec<String>,
    /// The `subject.erased` ledger entries written.
    pub ledger_seqs: Vec<i64>,
}

#[derive(Debug, Serialize)]
pub struct ErasedItem {
    pub table: &'static str,
    pub fields: &'static str,
    pub rows: u64,
}

#[derive(Debug, Serialize)]
pub struct KeptItem {
    pub what: String,
    pub why: String,
    pub until: String,
}

pub async fn erase(
    app: &App,
    subject_id: &str,
    by: &Requester<'_>,
) -> Result<ErasureReport, RightsError> {
    let rows = person(app, subject_id).await?;
    let ids: Vec<String> = rows.iter().map(|s| s.id.clone()).collect();
    let records = subjects::records_of(&app.db, &ids).await?;
    let today = app.clock.today_berlin();
    let mut slugs = BTreeSet::new();
    for r in &records {
        if let Some(w) = workshops::by_id(&app.db, &r.workshop_id).await? {
            slugs.insert(w.slug);
        }
    }
    // Art. 18 / legal hold: held data is not erased until the hold is released.
    if let Some(h) = retention_store::holds(&app.db)
        .await?
        .into_iter()
        .find(|h| {
            h.is_active(today)
                && match h.scope.as_str() {
                    "subject" => ids.contains(&h.target),
                    "workshop" => slugs.contains(&h.target),
                    "category" => h.target == "teilnehmende-kontaktdaten",
                    _ => false,
                }
        })
    {
        return Err(RightsError::OnHold {
            scope: h.scope,
            target: h.target,
            reason: h.reason,
        });
    }
    let email = address_of(&rows);
    let key = retention_store::pseudonym_key(&app.db, app.clock.now()).await?;
    let pseudonym = pseudonym(&key, email.as_deref());
    // Read before erasing: the address is gone afterwards.
    let staff_account = match &email {
        Some(e) => crate::store::users::by_email(&app.db, e).await?,
        None => None,
    };
    let rule_version = |category: &str| {
        app.policies
            .retention
            .iter()
            .find(|r| r.category == category)
            .map(|r| i64::from(r.version))
            .unwrap_or(0)
    };
    let write_journal =
        |entries: &[&crate::store::retention::DeletionLogEntry]| app.journal.append(entries);
    let counts = subjects::erase(
        &app.db,
        &app.clock,
        &by.actor,
        &ids,
        email.as_deref(),
        pseudonym.as_deref(),
        subjects::ErasureLog {
            rule_versions: (
                rule_version("teilnehmende-kontaktdaten"),
                rule_version("workshop-teilnahme"),
                rule_version("berater-listung"),
            ),
            on: today,
            target: ERASURE_TARGET,
            before_commit: &write_journal,
        },
    )
    .await?;
    if counts.subjects == 0 && rows.iter().all(|s| s.erased_at.is_some()) {
        return Err(RightsError::Erased);
    }
    crate::retention::empty_write_ahead_log(app).await;
    by.audit_done(app, "subject.erased", &format!("subject:{subject_id}"))
        .await;

    let proof_rule = app
        .policies
        .retention
        .iter()
        .find(|r| r.category == "einwilligungsnachweise");
    let until = proof_rule
        .map(|r| {
            format!(
                "rule einwilligungsnachweise v{}: {}{} after {}, then reduced to a tombstone",
                r.version,
                r.period,
                if r.from_year_end {
                    " from the end of the year"
                } else {
                    ""
                },
                serde_json::to_value(r.start)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )
        })
        .unwrap_or_else(|| "the retention rule for consent proofs".to_owned());
    let mut by_hand: Vec<String> = held_elsewhere(app)
        .into_iter()
        .map(|c| format!("held outside consentd, erase there if the organisers hold any: {c}"))
        .collect();
    if staff_account.is_some() {
        by_hand.push(
            "a staff account uses the same address; disable it with `consentd user disable` \
             if the request covers it (it is anonymised a year later)"
                .to_owned(),
        );
    }
    by_hand.push(
        "backups taken before now still hold the data: after restoring one, run \
         `consentd retention replay` (the erasure is in the deletion journal): it erases the \
         subjects, their records, attendance and consultant listing again; messages to the \
         address in such a backup are deleted by the outbox rule once finished"
            .to_owned(),
    );
    Ok(ErasureReport {
        subject_ids: ids,
        erased_at: canonical_time(app.clock.now()),
        erased: vec![
            ErasedItem {
                table: "subjects",
                fields: "name, email, organisation, salt, ip_truncated, user_agent",
                rows: counts.subjects,
            },
            ErasedItem {
                table: "workshop_attendance",
                fields: "(rows deleted)",
                rows: counts.attendance,
            },
            ErasedItem {
                table: "consultants",
                fields: "(listing deleted with its authorisations)",
                rows: counts.consultants,
            },
            ErasedItem {
                table: "outbox",
                fields: "to_email, body, last_error (unsent messages cancelled)",
                rows: counts.outbox,
            },
        ],
        kept: vec![
            KeptItem {
                what: format!(
                    "{} consent record(s) with their {} purpose event(s), notice version and hash, \
                     and their ledger entries; pseudonymous: no name or e-mail, only the subject \
                     digest and a keyed HMAC of the e-mail address",
                    counts.records, counts.events
                ),
                why: "Art. 17(3)(e) GDPR: proof of consent (Art. 7(1)) for the establishment, \
                      exercise or defence of legal claims"
                    .to_owned(),
                until,
            },
            KeptItem {
                what: "audit and deletion log entries naming the subject id (never name or e-mail)"
                    .to_owned(),
                why: "Art. 5(2) GDPR accountability: proof that the erasure happened".to_owned(),
                until: "the rules `pruefprotokoll` and `loeschprotokoll`".to_owned(),
            },
        ],
        by_hand,
        ledger_seqs: counts.ledger_seqs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_with_personal_data_is_in_the_export() {
        assert_eq!(unexported_tables(), Vec::<&str>::new());
    }

    #[test]
    fn the_export_names_no_table_that_does_not_exist() {
        for (table, _) in EXPORT_SOURCES {
            assert!(
                COLUMNS.iter().any(|(t, _)| t == table),
                "{table} is not in the coverage list"
            );
        }
    }
}
