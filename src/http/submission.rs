//! Recording a consent and reading a receipt: shared by the web form and the JSON API, so
//! both apply exactly the same rules.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::error::Error;
use super::extract::ClientInfo;
use crate::app::App;
use crate::domain::consent::{
    CollectionMethod, EmailAddress, FieldError, Organisation, PurposeState, ReceiptToken, Subject,
    SubjectName, decide,
};
use crate::domain::notice::{Language, Notice, NoticeVersion};
use crate::store::consents::{self, ConsentEvent, ConsentRecord, NewConsent, RecordedConsent};
use crate::store::workshops::{self, Workshop};

/// The notice a participant was shown, as the client reports it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeRef {
    pub id: String,
    pub version: u32,
    pub language: String,
    pub sha256: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectInput {
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub organisation: Option<String>,
}

/// `POST /api/v1/consents`, and what the web form is turned into.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    pub workshop: String,
    pub notice: NoticeRef,
    pub subject: SubjectInput,
    #[serde(default)]
    pub purposes: BTreeMap<String, bool>,
    /// Acknowledges all required purposes at once (the web form's checkbox).
    #[serde(default)]
    pub acknowledged: bool,
}

/// A workshop that accepts consents, with the notice version in force for it today.
pub struct OpenWorkshop<'a> {
    pub workshop: Workshop,
    pub notice: &'a Notice,
    pub version: &'a NoticeVersion,
}

pub async fn open_workshop<'a>(app: &'a App, slug: &str) -> Result<OpenWorkshop<'a>, Error> {
    let workshop = workshops::by_slug(&app.db, slug)
        .await?
        .filter(|w| w.archived_at.is_none())
        .ok_or(Error::NotFound("workshop"))?;
    let notice = app
        .policies
        .notice(&workshop.notice_id)
        .ok_or(Error::Conflict {
            code: "no_notice_in_force",
            message: format!("notice `{}` of this workshop is not in policies/", workshop.notice_id),
        })?;
    let version = notice.in_force(app.clock.today_berlin()).ok_or(Error::Conflict {
        code: "no_notice_in_force",
        message: format!("no version of notice `{}` is in force today", notice.id),
    })?;
    Ok(OpenWorkshop { workshop, notice, version })
}

pub async fn record_consent(
    app: &App,
    input: ConsentInput,
    method: CollectionMethod,
    client: ClientInfo,
) -> Result<RecordedConsent, Error> {
    let open = match open_workshop(app, &input.workshop).await {
        Err(Error::NotFound(_)) => {
            return Err(FieldError::new("workshop", format!("unknown workshop `{}`", input.workshop)).into());
        }
        other => other?,
    };
    let (notice, version) = (open.notice, open.version);
    if input.notice.id != notice.id {
        return Err(FieldError::new(
            "notice.id",
            format!("workshop `{}` uses notice `{}`", open.workshop.slug, notice.id),
        )
        .into());
    }
    let language = Language::parse(&input.notice.language).ok_or_else(|| {
        FieldError::new("notice.language", "must be \"de\" or \"en\"")
    })?;
    let Some(text) = version.texts.get(&language) else {
        return Err(FieldError::new(
            "notice.language",
            format!("version {} has no text in \"{}\"", version.version, language.code()),
        )
        .into());
    };
    if input.notice.version != version.version || !input.notice.sha256.eq_ignore_ascii_case(&text.sha256) {
        return Err(Error::Conflict {
            code: "notice_not_in_force",
            message: format!(
                "the notice shown (version {}, sha256 {}) is not the one in force: \
                 notice `{}` version {} ({}) has sha256 {}; show the participant that text and submit again",
                input.notice.version,
                input.notice.sha256,
                notice.id,
                version.version,
                language.code(),
                text.sha256
            ),
        });
    }
    let subject = Subject {
        name: SubjectName::parse(&input.subject.name)?,
        email: EmailAddress::parse(&input.subject.email)?,
        organisation: Organisation::parse(input.subject.organisation.as_deref())?,
    };
    let decisions = decide(version, &input.purposes, input.acknowledged)?;
    let recorded = consents::record(
        &app.db,
        &app.clock,
        NewConsent {
            workshop_id: &open.workshop.id,
            controller_id: &notice.controller,
            notice_id: &notice.id,
            notice_version: version.version,
            notice_language: language.code(),
            notice_sha256: &text.sha256,
            subject: &subject,
            decisions: &decisions,
            method,
            ip_truncated: client.ip_truncated,
            user_agent: client.user_agent,
        },
    )
    .await?;
    tracing::info!(
        record = %recorded.record.id,
        ledger_seq = recorded.ledger.seq,
        method = method.as_str(),
        "consent recorded"
    );
    Ok(recorded)
}

/// Everything shown on a receipt.
pub struct Receipt<'a> {
    pub record: ConsentRecord,
    pub events: Vec<ConsentEvent>,
    pub workshop: Workshop,
    pub subject: Option<consents::StoredSubject>,
    /// The exact text consented to, as stored when it was first loaded.
    pub notice_text: Option<crate::store::notice_texts::StoredNoticeText>,
    /// The version consented to, if `policies/` still has it.
    pub version: Option<&'a NoticeVersion>,
    pub notice: Option<&'a Notice>,
}

impl Receipt<'_> {
    /// The current state of each purpose, with the event that set it.
    pub fn current(&self) -> Vec<(&ConsentEvent, PurposeState)> {
        consents::current_states(&self.events)
            .into_iter()
            .filter_map(|e| Some((e, e.state()?)))
            .collect()
    }

    pub fn purpose_title(&self, id: &str, lang: Language) -> String {
        self.version
            .and_then(|v| v.purpose(id))
            .map(|p| p.title.get(lang).to_owned())
            .unwrap_or_else(|| id.to_owned())
    }
}

pub async fn load_receipt<'a>(app: &'a App, token: &str) -> Result<Receipt<'a>, Error> {
    if !ReceiptToken::looks_valid(token) {
        return Err(Error::NotFound("receipt"));
    }
    let record = consents::by_token(&app.db, token).await?.ok_or(Error::NotFound("receipt"))?;
    let events = consents::events_of(&app.db, &record.id).await?;
    let workshop = workshops::by_id(&app.db, &record.workshop_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("consent record without its workshop"))?;
    let subject = consents::subject(&app.db, &record.subject_id).await?;
    let notice_text = crate::store::notice_texts::by_sha256(&app.db, &record.notice_sha256).await?;
    let notice = app.policies.notice(&record.notice_id);
    let version = notice.and_then(|n| n.version(record.notice_version as u32));
    Ok(Receipt { record, events, workshop, subject, notice_text, version, notice })
}
