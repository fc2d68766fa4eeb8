//! Recording a consent and reading a receipt: shared by the web form and the JSON API, so
//! both apply exactly the same rules.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use utoipa::ToSchema;

use super::error::Error;
use super::extract::ClientInfo;
use crate::app::App;
use crate::catalog::{Catalog, CatalogNotice, CatalogVersion};
use crate::domain::consent::{
    CollectionMethod, EmailAddress, FieldError, Organisation, PurposeState, ReceiptToken, Subject,
    SubjectName, decide,
};
use crate::domain::notice::{Language, NoticeVersion};
use crate::store::consents::{
    self, ConsentEvent, ConsentRecord, NewConsent, Outdated, RecordedConsent,
};
use crate::store::workshops::{self, Workshop};
use crate::workshop_views::WorkshopView;

/// The notice a participant was shown, as the client reports it (as `GET /api/v1/notices`
/// lists it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeRef {
    pub id: String,
    #[schema(minimum = 1)]
    pub version: u32,
    #[schema(pattern = "^(de|en)$")]
    pub language: String,
    /// SHA-256 of the text shown, lower-case hex.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectInput {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub name: String,
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// Empty or absent: not given.
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub organisation: Option<String>,
}

/// `POST /api/v1/consents`, and what the web form is turned into.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    /// The workshop's slug.
    #[schema(
        pattern = r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$",
        min_length = 2,
        max_length = 80
    )]
    pub workshop: String,
    pub notice: NoticeRef,
    pub subject: SubjectInput,
    /// Each optional purpose of the notice by id: `true` given, `false` refused.
    #[serde(default)]
    pub purposes: BTreeMap<String, bool>,
    /// Acknowledges all required purposes at once (the web form's checkbox).
    #[serde(default)]
    pub acknowledged: bool,
    /// The participant's own address and browser, as the registration site saw them. Only
    /// accepted with a collector token; the address is truncated before it is stored.
    #[serde(default)]
    pub client: Option<ClientOverride>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientOverride {
    /// IPv4 or IPv6; stored truncated.
    pub ip: Option<String>,
    /// Kept to its first 512 characters.
    #[schema(pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub user_agent: Option<String>,
}

impl SubjectInput {
    /// The person, with each field checked.
    pub fn parse(&self) -> Result<Subject, FieldError> {
        Ok(Subject {
            name: SubjectName::parse(&self.name)?,
            email: EmailAddress::parse(&self.email)?,
            organisation: Organisation::parse(self.organisation.as_deref())?,
        })
    }
}

/// Takes the participant's address (truncated) and browser from `over`, which only the
/// registration site's collector token may send.
pub fn apply_client_override(
    over: Option<&ClientOverride>,
    from_collector: bool,
    client: &mut ClientInfo,
) -> Result<(), FieldError> {
    let Some(over) = over else {
        return Ok(());
    };
    if !from_collector {
        return Err(FieldError::new(
            "client",
            "is only accepted from the registration site's collector token",
        ));
    }
    if let Some(ip) = &over.ip {
        let ip: std::net::IpAddr = ip
            .trim()
            .parse()
            .map_err(|_| FieldError::new("client.ip", "is not an IP address"))?;
        client.ip_truncated = Some(crate::domain::consent::truncate_ip(ip));
    }
    if let Some(ua) = &over.user_agent {
        if ua.chars().any(char::is_control) {
            return Err(FieldError::new(
                "client.user_agent",
                "must not contain control characters",
            ));
        }
        client.user_agent = Some(ua.chars().take(512).collect());
    }
    Ok(())
}

/// A workshop that accepts consents, with the notice version in force for it today.
pub struct OpenWorkshop {
    pub workshop: Arc<Workshop>,
    /// Shared, not copied: every consent request looks its notice up here.
    catalog: Arc<Catalog>,
    version_number: u32,
}

impl OpenWorkshop {
    /// The view's workshop, if its notice has an approved version in force today.
    fn in_force(app: &App, view: WorkshopView) -> Result<OpenWorkshop, Error> {
        let WorkshopView { workshop, catalog } = view;
        let notice = catalog.notice(&workshop.notice_id).ok_or(Error::Conflict {
            code: "no_notice_in_force",
            message: format!(
                "notice `{}` of this workshop is not in policies/",
                workshop.notice_id
            ),
        })?;
        let version_number = notice
            .in_force(app.clock.today_berlin())
            .ok_or(Error::Conflict {
                code: "no_notice_in_force",
                message: format!(
                    "no approved version of notice `{}` is in force today",
                    notice.id
                ),
            })?
            .content
            .version;
        Ok(OpenWorkshop {
            workshop,
            catalog,
            version_number,
        })
    }

    pub fn notice(&self) -> &CatalogNotice {
        self.catalog
            .notice(&self.workshop.notice_id)
            .expect("checked when opened")
    }

    /// The approved version in force today: the only one anybody can consent to.
    pub fn version(&self) -> &NoticeVersion {
        &self.catalog_version().content
    }

    fn catalog_version(&self) -> &CatalogVersion {
        self.notice()
            .version(self.version_number)
            .expect("checked when opened")
    }

    fn view(&self) -> WorkshopView {
        WorkshopView {
            workshop: self.workshop.clone(),
            catalog: self.catalog.clone(),
        }
    }
}

/// The workshop as the database has it now.
pub async fn open_workshop(app: &App, slug: &str) -> Result<OpenWorkshop, Error> {
    crate::domain::workshop::Slug::parse(slug).map_err(|_| Error::NotFound("workshop"))?;
    let (workshop, generation) = workshops::by_slug_with_catalog_generation(&app.db, slug)
        .await?
        .filter(|(w, _)| w.archived_at.is_none())
        .ok_or(Error::NotFound("workshop"))?;
    let catalog = app.catalog_at(generation).await?;
    OpenWorkshop::in_force(
        app,
        WorkshopView {
            workshop: Arc::new(workshop),
            catalog,
        },
    )
}

/// [`open_workshop`], kept as the view the next consents are checked against (or, when the
/// workshop takes no consents now, no view kept).
async fn open_workshop_and_keep_view(app: &App, slug: &str) -> Result<OpenWorkshop, Error> {
    let open = open_workshop(app, slug).await;
    match &open {
        Ok(open) => app.workshop_views.put(open.view()),
        Err(_) => app.workshop_views.forget(slug),
    }
    open
}

/// How a version that is not in force is described in a 409.
fn not_in_force_reason(app: &App, notice: &CatalogNotice, number: u32) -> String {
    match notice.version(number) {
        None => format!("version {number} does not exist"),
        Some(v) => format!(
            "version {number} is {}",
            notice.display_state(v, app.clock.today_berlin()).as_str()
        ),
    }
}

pub async fn record_consent(
    app: &App,
    input: ConsentInput,
    method: CollectionMethod,
    client: ClientInfo,
    collector: Option<String>,
) -> Result<RecordedConsent, Error> {
    record_with(app, input, method, client, collector, None).await
}

async fn record_with(
    app: &App,
    input: ConsentInput,
    method: CollectionMethod,
    mut client: ClientInfo,
    collector: Option<String>,
    renews_record_id: Option<String>,
) -> Result<RecordedConsent, Error> {
    apply_client_override(input.client.as_ref(), collector.is_some(), &mut client)?;
    // Checked before any query: a slug is also the lookup key.
    crate::domain::workshop::Slug::parse(&input.workshop).map_err(|_| {
        FieldError::new(
            "workshop",
            format!("unknown workshop `{}`", input.workshop.escape_debug()),
        )
    })?;
    // Checked against the cached view first, and whatever that view says is confirmed: a
    // consent by the writer under the ledger lock, a refusal by the same checks against the
    // database. So this loop runs at most twice.
    let mut view = app.workshop_views.get(&input.workshop);
    loop {
        let from_cache = view.is_some();
        let open = match view.take() {
            Some(view) => OpenWorkshop::in_force(app, view),
            None => open_workshop_and_keep_view(app, &input.workshop).await,
        };
        let checked =
            open.and_then(|open| checked_consent(app, &open, &input, method, &client, &collector));
        let consent = match checked {
            Ok(consent) => NewConsent {
                renews_record_id: renews_record_id.clone(),
                ..consent
            },
            Err(_) if from_cache => continue,
            Err(Error::NotFound(_)) => {
                return Err(FieldError::new(
                    "workshop",
                    format!("unknown workshop `{}`", input.workshop),
                )
                .into());
            }
            Err(e) => return Err(e),
        };
        match app.consents.record(consent).await? {
            Ok(recorded) => {
                tracing::info!(
                    record = %recorded.record.id,
                    ledger_seq = recorded.ledger.seq,
                    method = method.as_str(),
                    "consent recorded"
                );
                return Ok(recorded);
            }
            Err(Outdated) if from_cache => continue,
            Err(Outdated) => {
                return Err(Error::Conflict {
                    code: "workshop_changed",
                    message: "the workshop or its privacy notice changed while the consent \
                              was being recorded, and nothing was stored; load the notice \
                              again and submit again"
                        .to_owned(),
                });
            }
        }
    }
}

/// The consent `input` asks for, checked against the workshop and its notice in force.
fn checked_consent(
    app: &App,
    open: &OpenWorkshop,
    input: &ConsentInput,
    method: CollectionMethod,
    client: &ClientInfo,
    collector: &Option<String>,
) -> Result<NewConsent, Error> {
    let (notice, version) = (open.notice(), open.version());
    if input.notice.id != notice.id {
        return Err(FieldError::new(
            "notice.id",
            format!(
                "workshop `{}` uses notice `{}`",
                open.workshop.slug, notice.id
            ),
        )
        .into());
    }
    let language = Language::parse(&input.notice.language)
        .ok_or_else(|| FieldError::new("notice.language", "must be \"de\" or \"en\""))?;
    let Some(text) = version.texts.get(&language) else {
        return Err(FieldError::new(
            "notice.language",
            format!(
                "version {} has no text in \"{}\"",
                version.version,
                language.code()
            ),
        )
        .into());
    };
    if input.notice.version != version.version
        || !input.notice.sha256.eq_ignore_ascii_case(&text.sha256)
    {
        let reason = if input.notice.version == version.version {
            "its text differs from the version in force".to_owned()
        } else {
            not_in_force_reason(app, notice, input.notice.version)
        };
        return Err(Error::Conflict {
            code: "notice_not_in_force",
            message: format!(
                "the notice shown (version {}, sha256 {}) is not the one in force ({reason}): \
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
    Ok(NewConsent {
        workshop_id: open.workshop.id.clone(),
        controller_id: notice.controller.clone(),
        notice_id: notice.id.clone(),
        notice_version: version.version,
        notice_language: language.code().to_owned(),
        notice_sha256: text.sha256.clone(),
        notice_content_sha256: open.catalog_version().content_sha256.clone(),
        subject: input.subject.parse()?,
        decisions: decide(version, &input.purposes, input.acknowledged)?,
        method,
        collector: collector.clone(),
        renews_record_id: None,
        ip_truncated: client.ip_truncated.clone(),
        user_agent: client.user_agent.clone(),
        catalog_generation: open.catalog.generation,
    })
}

/// Everything shown on a receipt.
pub struct Receipt {
    pub record: ConsentRecord,
    pub events: Vec<ConsentEvent>,
    pub workshop: Workshop,
    pub subject: Option<consents::StoredSubject>,
    /// The exact text consented to, as stored when it was first loaded.
    pub notice_text: Option<crate::store::notice_texts::StoredNoticeText>,
    /// The version consented to.
    pub version: Option<NoticeVersion>,
    pub notice: Option<CatalogNotice>,
    /// The version in force now, when it is not the one consented to.
    pub newer_version: Option<NoticeVersion>,
    /// The record that renewed this one, after re-consent.
    pub renewed_by: Option<ConsentRecord>,
}

impl Receipt {
    /// The current state of each purpose, with the event that set it.
    pub fn current(&self) -> Vec<(&ConsentEvent, PurposeState)> {
        consents::current_states(&self.events)
            .into_iter()
            .filter_map(|e| Some((e, e.state()?)))
            .collect()
    }

    /// Whether the participant is asked to consent again (and has not yet).
    pub fn asks_for_reconsent(&self) -> bool {
        self.renewed_by.is_none()
            && self.newer_version.is_some()
            && self
                .current()
                .iter()
                .any(|(_, s)| *s == PurposeState::ReconsentRequested)
    }

    pub fn purpose_title(&self, id: &str, lang: Language) -> String {
        self.version
            .as_ref()
            .and_then(|v| v.purpose(id))
            .or_else(|| self.newer_version.as_ref().and_then(|v| v.purpose(id)))
            .map(|p| p.title.get(lang).to_owned())
            .unwrap_or_else(|| id.to_owned())
    }
}

pub async fn load_receipt(app: &App, token: &str) -> Result<Receipt, Error> {
    if !ReceiptToken::looks_valid(token) {
        return Err(Error::NotFound("receipt"));
    }
    let record = consents::by_token(&app.db, token)
        .await?
        .ok_or(Error::NotFound("receipt"))?;
    Ok(load_record(app, record).await?)
}

/// Everything shown about a consent record: its events, workshop, subject and notice.
pub async fn load_record(app: &App, record: ConsentRecord) -> anyhow::Result<Receipt> {
    let events = consents::events_of(&app.db, &record.id).await?;
    let workshop = workshops::by_id(&app.db, &record.workshop_id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("consent record without its workshop"))?;
    let subject = consents::subject(&app.db, &record.subject_id).await?;
    let notice_text = crate::store::notice_texts::by_sha256(&app.db, &record.notice_sha256).await?;
    let catalog = app.catalog().await?;
    let notice = catalog.notice(&record.notice_id).cloned();
    let version = notice
        .as_ref()
        .and_then(|n| n.version(record.notice_version as u32))
        .map(|v| v.content.clone());
    let newer_version = notice
        .as_ref()
        .and_then(|n| n.in_force(app.clock.today_berlin()))
        .filter(|v| i64::from(v.content.version) != record.notice_version)
        .map(|v| v.content.clone());
    let renewed_by = consents::renewal_of(&app.db, &record.id).await?;
    Ok(Receipt {
        record,
        events,
        workshop,
        subject,
        notice_text,
        version,
        notice,
        newer_version,
        renewed_by,
    })
}

/// Re-consent from the personal link: a new record under the version in force, for the same
/// person and workshop, renewing the old one. Choices as on the workshop form. None when the
/// record was renewed already (the form sent twice): a second renewal would be a record
/// nobody holds the link to.
pub async fn reconsent(
    app: &App,
    token: &str,
    purposes: BTreeMap<String, bool>,
    acknowledged: bool,
    client: ClientInfo,
) -> Result<Option<RecordedConsent>, Error> {
    let receipt = load_receipt(app, token).await?;
    if receipt.renewed_by.is_some() {
        return Ok(None);
    }
    let subject = receipt
        .subject
        .as_ref()
        .filter(|s| s.erased_at.is_none())
        .ok_or(Error::NotFound("receipt"))?;
    let open = open_workshop(app, &receipt.workshop.slug).await?;
    let language = Language::parse(&receipt.record.notice_language)
        .filter(|l| open.version().texts.contains_key(l))
        .unwrap_or(Language::De);
    let text = open.version().text_for(language);
    let input = ConsentInput {
        workshop: receipt.workshop.slug.clone(),
        notice: NoticeRef {
            id: open.notice().id.clone(),
            version: open.version().version,
            language: language.code().to_owned(),
            sha256: text.sha256.clone(),
        },
        subject: SubjectInput {
            name: subject.name.clone().unwrap_or_default(),
            email: subject.email.clone().unwrap_or_default(),
            organisation: subject.organisation.clone(),
        },
        purposes,
        acknowledged,
        client: None,
    };
    record_with(
        app,
        input,
        CollectionMethod::WebForm,
        client,
        None,
        Some(receipt.record.id.clone()),
    )
    .await
    .map(Some)
}
