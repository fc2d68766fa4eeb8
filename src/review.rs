//! The review workflow around notice versions: submit, comment, decide, withdraw, upload,
//! and approval records that carry a decision to another installation. Every step is
//! recorded in the review trail and the audit trail.

use std::collections::BTreeMap;

use crate::app::App;
use crate::catalog::{self, CatalogVersion};
use crate::domain::consent::FieldError;
use crate::domain::notice::{ApprovalRecord, Language};
use crate::domain::review::{self, Decision, Refusal, ReviewState};
use crate::domain::staff::Role;
use crate::store::notice_versions::{self, Transition};
use crate::store::{audit, users};

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// Someone else changed the version meanwhile.
    #[error("the version changed meanwhile; reload and try again")]
    Raced,
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ReviewError {
    fn from(e: sqlx::Error) -> Self {
        ReviewError::Other(e.into())
    }
}

/// Who acts, as the audit trail names them.
pub struct Actor<'a> {
    pub id: &'a str,
    pub role: Role,
    pub ip: Option<&'a str>,
}

async fn current(app: &App, notice_id: &str, version: u32) -> Result<CatalogVersion, ReviewError> {
    let catalog = app.catalog().await?;
    let notice = catalog
        .notice(notice_id)
        .ok_or(ReviewError::NotFound("notice"))?;
    notice
        .version(version)
        .cloned()
        .ok_or(ReviewError::NotFound("notice version"))
}

fn comment_of(comment: Option<&str>, required: bool) -> Result<Option<String>, FieldError> {
    let comment = crate::domain::text::note(comment.unwrap_or(""), "comment", 5000)?;
    if required && comment.is_none() {
        return Err(FieldError::new(
            "comment",
            "a decision needs a comment for the review trail",
        ));
    }
    Ok(comment)
}

async fn step(
    app: &App,
    v: &CatalogVersion,
    to: ReviewState,
    action: &str,
    actor: &Actor<'_>,
    comment: Option<&str>,
    material: Option<bool>,
) -> Result<(), ReviewError> {
    let done = notice_versions::transition(
        &app.db,
        &Transition {
            notice_id: &v.content.notice_id,
            version: i64::from(v.content.version),
            content_sha256: &v.row.content_sha256,
            from: v.state(),
            to,
            actor: actor.id,
            action,
            comment,
            material,
            imported: false,
            at: app.clock.now(),
        },
    )
    .await?;
    if !done {
        return Err(ReviewError::Raced);
    }
    let target = format!(
        "notice:{} v{} sha256:{}",
        v.content.notice_id, v.content.version, v.row.content_sha256
    );
    audit::record(
        &app.db,
        &app.clock,
        actor.id,
        &format!("notice.{action}"),
        Some(&target),
        actor.ip,
    )
    .await?;
    Ok(())
}

pub async fn submit(
    app: &App,
    notice_id: &str,
    version: u32,
    actor: &Actor<'_>,
) -> Result<(), ReviewError> {
    let v = current(app, notice_id, version).await?;
    let to = review::submit(v.state())?;
    step(app, &v, to, "submitted", actor, None, None).await
}

pub async fn decide(
    app: &App,
    notice_id: &str,
    version: u32,
    actor: &Actor<'_>,
    decision: Decision,
    comment: Option<&str>,
    material: bool,
) -> Result<(), ReviewError> {
    let v = current(app, notice_id, version).await?;
    let comment = comment_of(comment, true)?;
    let to = review::review(
        v.state(),
        actor.role,
        actor.id,
        v.row.uploaded_by.as_deref(),
        v.row.submitted_by.as_deref(),
        decision,
    )?;
    let action = match decision {
        Decision::Approve => "approved",
        Decision::RequestChanges => "changes_requested",
    };
    step(
        app,
        &v,
        to,
        action,
        actor,
        comment.as_deref(),
        Some(material),
    )
    .await
}

pub async fn withdraw(
    app: &App,
    notice_id: &str,
    version: u32,
    actor: &Actor<'_>,
    reason: Option<&str>,
) -> Result<(), ReviewError> {
    let v = current(app, notice_id, version).await?;
    let reason = match comment_of(reason, true) {
        Err(e) if e.message.contains("needs a comment") => {
            return Err(FieldError::new("reason", "say why the version is withdrawn").into());
        }
        Err(e) => return Err(FieldError::new("reason", e.message).into()),
        Ok(reason) => reason,
    };
    let to = review::withdraw(v.state())?;
    step(app, &v, to, "withdrawn", actor, reason.as_deref(), None).await
}

pub async fn comment(
    app: &App,
    notice_id: &str,
    version: u32,
    actor: &Actor<'_>,
    text: Option<&str>,
) -> Result<(), ReviewError> {
    let v = current(app, notice_id, version).await?;
    let text = comment_of(text, true)?.expect("required");
    notice_versions::comment(
        &app.db,
        notice_id,
        i64::from(version),
        &v.row.content_sha256,
        actor.id,
        &text,
        app.clock.now(),
    )
    .await?;
    audit::record(
        &app.db,
        &app.clock,
        actor.id,
        "notice.comment",
        Some(&format!("notice:{notice_id} v{version}")),
        actor.ip,
    )
    .await?;
    Ok(())
}

/// A new draft version from uploaded files: the version TOML and its Markdown texts, checked
/// exactly like files in `policies/`.
pub async fn upload(
    app: &App,
    notice_id: &str,
    version_toml: &str,
    texts: &BTreeMap<Language, String>,
    actor: &Actor<'_>,
) -> Result<u32, ReviewError> {
    let notice = app
        .policies
        .notice(notice_id)
        .ok_or(ReviewError::NotFound("notice"))?;
    let version =
        crate::policies::parse_uploaded_version(notice, version_toml, texts).map_err(|e| {
            FieldError::new(
                format!("version.{}", e.field),
                format!("line {}: {}", e.line.unwrap_or(0), e.message),
            )
        })?;
    let exists = || {
        FieldError::new(
            "version",
            format!(
                "version {} exists already; a change is a new version",
                version.version
            ),
        )
    };
    if current(app, notice_id, version.version).await.is_ok() {
        return Err(exists().into());
    }
    // Checked again by the insert: two uploads of the same number may race.
    if !catalog::add_version(&app.db, &version, Some(actor.id), &app.clock).await? {
        return Err(exists().into());
    }
    audit::record(
        &app.db,
        &app.clock,
        actor.id,
        "notice.uploaded",
        Some(&format!("notice:{notice_id} v{}", version.version)),
        actor.ip,
    )
    .await?;
    Ok(version.version)
}

/// The approval of an approved version as a record for `policies/`.
pub async fn approval_record(
    app: &App,
    notice_id: &str,
    version: u32,
) -> Result<ApprovalRecord, ReviewError> {
    let v = current(app, notice_id, version).await?;
    if v.state() != ReviewState::Approved {
        return Err(Refusal::WrongState(
            v.state().as_str(),
            "only an approved version has an approval record",
        )
        .into());
    }
    let name_of = |actor: Option<String>| async move {
        let actor = actor?;
        let person = match actor.strip_prefix("user:") {
            Some(id) => users::by_id(&app.db, id)
                .await
                .ok()
                .flatten()
                .map(|u| u.email),
            None => None,
        };
        Some(person.unwrap_or(actor))
    };
    let reviews = notice_versions::reviews_of(&app.db, notice_id, i64::from(version)).await?;
    let comment = reviews
        .iter()
        .rev()
        .find(|r| r.action == "approved" || r.action == "imported")
        .and_then(|r| r.comment.clone());
    Ok(ApprovalRecord {
        notice: notice_id.to_owned(),
        version,
        content_sha256: v.row.content_sha256.clone(),
        approved_by: name_of(v.row.decided_by.clone())
            .await
            .unwrap_or_else(|| "unknown".into()),
        approved_at: v.row.decided_at.unwrap_or_else(|| app.clock.now()),
        comment,
        material: v.row.material.unwrap_or(true),
        submitted_by: name_of(v.row.submitted_by.clone()).await,
    })
}
