//! Loads `policies/` into a [`PolicySet`]. Every problem names the file, the line and the
//! field, because the person fixing it is an admin with a text editor.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use crate::domain::notice::{
    ApprovalRecord, Controller, DataCategory, DataProtectionOfficer, Language, LegalBasis,
    Localized, Notice, NoticeText, NoticeVersion, PolicySet, Purpose, is_valid_id,
};
use crate::domain::retention::{Action, Period, RetentionRule, StartEvent};
use crate::domain::text;
use crate::domain::workshop::{NewWorkshop, Slug, WorkshopKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": field `{}`: {}", self.field, self.message)
    }
}

impl std::error::Error for PolicyError {}

/// A file's text, kept to turn byte offsets into line numbers.
struct Source<'a> {
    path: &'a Path,
    text: &'a str,
}

/// Reads a policy file as UTF-8 text.
fn read_text(path: &Path) -> Result<String, PolicyError> {
    std::fs::read_to_string(path).map_err(|e| PolicyError {
        file: path.to_owned(),
        line: None,
        field: "(file)".into(),
        message: format!("cannot read: {e}"),
    })
}

impl Source<'_> {
    fn line_of(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn error_at<T>(
        &self,
        spanned: &Spanned<T>,
        field: &str,
        message: impl Into<String>,
    ) -> PolicyError {
        PolicyError {
            file: self.path.to_owned(),
            line: Some(self.line_of(spanned.span().start)),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    fn error(&self, field: &str, message: impl Into<String>) -> PolicyError {
        PolicyError {
            file: self.path.to_owned(),
            line: None,
            field: field.to_owned(),
            message: message.into(),
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, PolicyError> {
        toml::from_str(self.text).map_err(|e| {
            let line = e.span().map(|s| self.line_of(s.start));
            let message = e.message().trim().to_owned();
            let field = field_from_message(&message)
                .or_else(|| {
                    let l = line?;
                    let text = self.text.lines().nth(l - 1)?;
                    let (key, _) = text.split_once('=')?;
                    Some(key.trim().to_owned()).filter(|k| !k.is_empty())
                })
                .unwrap_or_else(|| "(syntax)".to_owned());
            PolicyError {
                file: self.path.to_owned(),
                line,
                field,
                message,
            }
        })
    }
}

/// `missing field `x``, `unknown field `x`` → `x`.
fn field_from_message(message: &str) -> Option<String> {
    for prefix in [
        "missing field `",
        "unknown field `",
        "duplicate field `",
        "duplicate key `",
    ] {
        if let Some(rest) = message.split(prefix).nth(1) {
            return rest.split('`').next().map(str::to_owned);
        }
    }
    None
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ControllersFile {
    #[serde(default)]
    controller: Vec<ControllerEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ControllerEntry {
    id: Spanned<String>,
    name: String,
    address: String,
    email: String,
    phone: Option<String>,
    website: Option<String>,
    dpo: DpoEntry,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DpoEntry {
    name: String,
    email: String,
    address: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeFile {
    id: Spanned<String>,
    controller: Spanned<String>,
    title: Localized,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionFile {
    version: Spanned<u32>,
    effective: Spanned<String>,
    summary: Option<Localized>,
    #[serde(default)]
    purpose: Vec<Spanned<PurposeEntry>>,
    #[serde(default)]
    category: Vec<Spanned<CategoryEntry>>,
    #[serde(default)]
    recipient: Vec<Localized>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PurposeEntry {
    id: String,
    title: Localized,
    description: Option<Localized>,
    required: bool,
    legal_basis: LegalBasis,
    categories: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryEntry {
    id: String,
    title: Localized,
    storage: Option<Localized>,
}

/// Reads and checks the whole folder.
pub fn load(dir: &Path) -> Result<PolicySet, PolicyError> {
    if !dir.is_dir() {
        return Err(PolicyError {
            file: dir.to_owned(),
            line: None,
            field: "(folder)".into(),
            message: "policies folder not found (set --policies or CONSENTD_POLICIES)".into(),
        });
    }
    let controllers_path = dir.join("controllers.toml");
    let controllers = parse_controllers(&controllers_path, &read_text(&controllers_path)?)?;
    let mut notices = BTreeMap::new();
    let mut approvals = Vec::new();
    let notices_dir = dir.join("notices");
    for notice_dir in sorted_entries(&notices_dir)?
        .into_iter()
        .filter(|p| p.is_dir())
    {
        let notice = load_notice(&notice_dir, &controllers)?;
        approvals.extend(load_approvals(&notice_dir, &notice)?);
        notices.insert(notice.id.clone(), notice);
    }
    let workshops_path = dir.join("workshops.toml");
    let workshops = if workshops_path.exists() {
        parse_workshops(&workshops_path, &read_text(&workshops_path)?, &notices)?
    } else {
        Vec::new()
    };
    let retention_path = dir.join("retention.toml");
    let retention = parse_retention(&retention_path, &read_text(&retention_path)?)?;
    Ok(PolicySet {
        controllers,
        notices,
        approvals,
        workshops,
        retention,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionFile {
    #[serde(default)]
    rule: Vec<Spanned<RuleEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleEntry {
    category: String,
    version: u32,
    title: Localized,
    start: StartEvent,
    period: Period,
    #[serde(default)]
    from_year_end: bool,
    action: Action,
    legal_basis: String,
    #[serde(default)]
    reminders: Vec<Period>,
}

/// `retention.toml` (`text`, read from `path`): the deletion rules, exactly one per data
/// category.
pub fn parse_retention(path: &Path, text: &str) -> Result<Vec<RetentionRule>, PolicyError> {
    let src = Source { path, text };
    let file: RetentionFile = src.parse()?;
    let mut rules: Vec<RetentionRule> = Vec::new();
    for r in &file.rule {
        let e = r.get_ref();
        if !is_valid_id(&e.category) {
            return Err(src.error_at(r, "category", "use lowercase letters, digits and '-'"));
        }
        if rules.iter().any(|x| x.category == e.category) {
            return Err(src.error_at(
                r,
                "category",
                format!("`{}` has a second rule; DIN 66398 allows exactly one per data category (split the category instead)", e.category),
            ));
        }
        if e.legal_basis.trim().is_empty() {
            return Err(src.error_at(r, "legal_basis", "say why the data may be kept that long"));
        }
        rules.push(RetentionRule {
            category: e.category.clone(),
            title: e.title.clone(),
            version: e.version,
            start: e.start,
            period: e.period,
            from_year_end: e.from_year_end,
            action: e.action,
            legal_basis: e.legal_basis.clone(),
            reminders: e.reminders.clone(),
        });
    }
    Ok(rules)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkshopsFile {
    #[serde(default)]
    workshop: Vec<Spanned<WorkshopEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkshopEntry {
    slug: String,
    title: String,
    kind: String,
    notice: String,
    starts: String,
    ends: String,
    location: Option<String>,
}

/// `workshops.toml` (optional): workshops created at start when they do not exist yet, so a
/// fresh demo install has a participant page at once. Production installs leave it out.
pub fn parse_workshops(
    path: &Path,
    text: &str,
    notices: &BTreeMap<String, Notice>,
) -> Result<Vec<NewWorkshop>, PolicyError> {
    let src = Source { path, text };
    let file: WorkshopsFile = src.parse()?;
    let mut out: Vec<NewWorkshop> = Vec::new();
    for w in &file.workshop {
        let e = w.get_ref();
        let field =
            |err: crate::domain::consent::FieldError| src.error_at(w, &err.field, err.message);
        let slug = Slug::parse(&e.slug).map_err(field)?;
        if out.iter().any(|o| o.slug == slug) {
            return Err(src.error_at(w, "slug", format!("workshop `{}` is listed twice", e.slug)));
        }
        let notice = notices
            .get(&e.notice)
            .ok_or_else(|| src.error_at(w, "notice", format!("unknown notice `{}`", e.notice)))?;
        let kind = WorkshopKind::parse(&e.kind).ok_or_else(|| {
            src.error_at(
                w,
                "kind",
                "must be authorisation, re-authorisation, erfahrungsaustausch, seminar or other",
            )
        })?;
        let date = |name: &str, v: &str| {
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map_err(|_| src.error_at(w, name, "must be a date like \"2027-03-15\""))
        };
        let (starts_on, ends_on) = (date("starts", &e.starts)?, date("ends", &e.ends)?);
        NewWorkshop::check_dates(starts_on, ends_on).map_err(field)?;
        out.push(NewWorkshop {
            slug,
            title: NewWorkshop::parse_title(&e.title).map_err(field)?,
            kind,
            location: NewWorkshop::parse_location(e.location.as_deref()).map_err(field)?,
            starts_on,
            ends_on,
            notice_id: notice.id.clone(),
            controller_id: notice.controller.clone(),
        });
    }
    Ok(out)
}

/// `v<N>.approval.toml` files: approvals made elsewhere, imported when their hash matches.
fn load_approvals(
    dir: &Path,
    notice: &Notice,
) -> Result<Vec<(PathBuf, ApprovalRecord)>, PolicyError> {
    let mut out = Vec::new();
    for path in sorted_entries(dir)? {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.ends_with(".approval.toml") {
            continue;
        }
        let record = parse_approval(&path, &read_text(&path)?, notice)?;
        out.push((path, record));
    }
    Ok(out)
}

/// One `v<N>.approval.toml` (`text`, read from `path`) of `notice`.
pub fn parse_approval(
    path: &Path,
    text: &str,
    notice: &Notice,
) -> Result<ApprovalRecord, PolicyError> {
    let src = Source { path, text };
    let record: ApprovalRecord = src.parse()?;
    if record.notice != notice.id {
        return Err(src.error(
            "notice",
            format!(
                "is `{}` but the file lies in the folder of `{}`",
                record.notice, notice.id
            ),
        ));
    }
    if notice.version(record.version).is_none() {
        return Err(src.error(
            "version",
            format!("notice `{}` has no version {}", notice.id, record.version),
        ));
    }
    Ok(record)
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, PolicyError> {
    let read = std::fs::read_dir(dir).map_err(|e| PolicyError {
        file: dir.to_owned(),
        line: None,
        field: "(folder)".into(),
        message: format!("cannot read: {e}"),
    })?;
    let mut paths: Vec<PathBuf> = read.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    Ok(paths)
}

/// `controllers.toml` (`text`, read from `path`).
pub fn parse_controllers(
    path: &Path,
    text: &str,
) -> Result<BTreeMap<String, Controller>, PolicyError> {
    let src = Source { path, text };
    let file: ControllersFile = src.parse()?;
    if file.controller.is_empty() {
        return Err(src.error("controller", "at least one [[controller]] is needed"));
    }
    let mut out = BTreeMap::new();
    for c in file.controller {
        let id = c.id.get_ref().clone();
        if !is_valid_id(&id) {
            return Err(src.error_at(&c.id, "id", "use lowercase letters, digits and '-'"));
        }
        for (field, value) in [
            ("name", &c.name),
            ("address", &c.address),
            ("email", &c.email),
        ] {
            if value.trim().is_empty() {
                return Err(src.error_at(
                    &c.id,
                    field,
                    format!("controller `{id}` needs a {field}"),
                ));
            }
        }
        let controller = Controller {
            id: id.clone(),
            name: c.name,
            address: c.address,
            email: c.email,
            phone: c.phone,
            website: c.website,
            dpo: DataProtectionOfficer {
                name: c.dpo.name,
                email: c.dpo.email,
                address: c.dpo.address,
            },
        };
        if out.insert(id.clone(), controller).is_some() {
            return Err(src.error_at(&c.id, "id", format!("controller `{id}` is defined twice")));
        }
    }
    Ok(out)
}

/// A notice's `notice.toml` (`text`, read from `path`): its id (which must be the name of
/// the folder the file lies in), controller and title.
pub fn parse_notice_file(
    path: &Path,
    text: &str,
    controllers: &BTreeMap<String, Controller>,
) -> Result<(String, String, Localized), PolicyError> {
    let src = Source { path, text };
    let file: NoticeFile = src.parse()?;
    let id = file.id.get_ref().clone();
    let folder = path
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if id != folder {
        return Err(src.error_at(
            &file.id,
            "id",
            format!("must equal the folder name `{folder}`"),
        ));
    }
    if !is_valid_id(&id) {
        return Err(src.error_at(&file.id, "id", "use lowercase letters, digits and '-'"));
    }
    let controller = file.controller.get_ref().clone();
    if !controllers.contains_key(&controller) {
        return Err(src.error_at(
            &file.controller,
            "controller",
            format!(
                "unknown controller `{controller}`; controllers.toml defines: {}",
                controllers.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    Ok((id, controller, file.title))
}

fn load_notice(
    dir: &Path,
    controllers: &BTreeMap<String, Controller>,
) -> Result<Notice, PolicyError> {
    let notice_path = dir.join("notice.toml");
    let (id, controller, title) =
        parse_notice_file(&notice_path, &read_text(&notice_path)?, controllers)?;

    // v<N>.toml files; their texts are v<N>.<lang>.md beside them.
    let mut versions: Vec<NoticeVersion> = Vec::new();
    for path in sorted_entries(dir)? {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        let Some(number) = name.strip_prefix('v').and_then(|r| r.strip_suffix(".toml")) else {
            continue;
        };
        if number.ends_with(".approval") {
            continue;
        }
        let version = load_version(dir, &path, number, &id, &title)?;
        if let Some(existing) = versions.iter().find(|v| v.version == version.version) {
            return Err(PolicyError {
                file: path,
                line: Some(1),
                field: "version".into(),
                message: format!("duplicate version {} of notice `{id}`", existing.version),
            });
        }
        versions.push(version);
    }
    if versions.is_empty() {
        return Err(PolicyError {
            file: notice_path,
            line: None,
            field: "version".into(),
            message: format!("notice `{id}` has no v<N>.toml version file"),
        });
    }
    versions.sort_by_key(|v| v.version);
    for pair in versions.windows(2) {
        if pair[1].effective < pair[0].effective {
            return Err(PolicyError {
                file: dir.join(format!("v{}.toml", pair[1].version)),
                line: None,
                field: "effective".into(),
                message: format!(
                    "version {} takes effect before version {} ({} < {})",
                    pair[1].version, pair[0].version, pair[1].effective, pair[0].effective
                ),
            });
        }
    }
    Ok(Notice {
        id,
        controller,
        title,
        versions,
    })
}

fn load_version(
    dir: &Path,
    path: &Path,
    number_in_name: &str,
    notice_id: &str,
    title: &Localized,
) -> Result<NoticeVersion, PolicyError> {
    let text = read_text(path)?;
    build_version(
        &Source { path, text: &text },
        Some(number_in_name),
        notice_id,
        title,
        |lang, version| {
            let text_path = dir.join(format!("v{version}.{}.md", lang.code()));
            if !text_path.exists() {
                return Ok(None);
            }
            let raw = std::fs::read(&text_path).map_err(|e| PolicyError {
                file: text_path.clone(),
                line: None,
                field: format!("text.{}", lang.code()),
                message: format!("cannot read: {e}"),
            })?;
            let raw = String::from_utf8(raw).map_err(|e| PolicyError {
                file: text_path.clone(),
                line: None,
                field: format!("text.{}", lang.code()),
                message: format!("is not UTF-8 (byte {})", e.utf8_error().valid_up_to()),
            })?;
            Ok(Some((text_path, raw)))
        },
    )
}

/// Text shown to participants and printed: line breaks and tabs are text, other control
/// characters are not (the Markdown is checked the same way).
fn has_control(localized: &Localized) -> bool {
    std::iter::once(&localized.de)
        .chain(localized.en.iter())
        .any(|t| t.chars().any(|c| !text::prints(c, true)))
}

/// The first of these fields whose text holds a control character.
fn first_with_control<const N: usize>(
    fields: [(&'static str, Option<&Localized>); N],
) -> Option<&'static str> {
    fields
        .into_iter()
        .find_map(|(field, text)| text.is_some_and(has_control).then_some(field))
}

/// A version uploaded in the staff area or through the API: the same checks as files.
pub fn parse_uploaded_version(
    notice: &Notice,
    version_toml: &str,
    texts: &BTreeMap<Language, String>,
) -> Result<NoticeVersion, PolicyError> {
    let src = Source {
        path: Path::new("upload/version.toml"),
        text: version_toml,
    };
    build_version(&src, None, &notice.id, &notice.title, |lang, version| {
        Ok(texts.get(&lang).map(|t| {
            (
                PathBuf::from(format!("upload/v{version}.{}.md", lang.code())),
                t.clone(),
            )
        }))
    })
}

/// Checks a parsed version file; `text_of(lang, version)` supplies each language's text.
fn build_version(
    src: &Source,
    number_in_name: Option<&str>,
    notice_id: &str,
    title: &Localized,
    text_of: impl Fn(Language, u32) -> Result<Option<(PathBuf, String)>, PolicyError>,
) -> Result<NoticeVersion, PolicyError> {
    let file: VersionFile = src.parse()?;
    let version = *file.version.get_ref();
    if let Some(number_in_name) = number_in_name.filter(|n| n.parse::<u32>().ok() != Some(version))
    {
        return Err(src.error_at(
            &file.version,
            "version",
            format!("is {version} but the file is named v{number_in_name}.toml"),
        ));
    }
    let effective =
        NaiveDate::parse_from_str(file.effective.get_ref(), "%Y-%m-%d").map_err(|_| {
            src.error_at(
                &file.effective,
                "effective",
                "must be a date like \"2021-06-01\"",
            )
        })?;

    let mut categories = Vec::new();
    let mut seen = BTreeSet::new();
    for c in &file.category {
        let entry = c.get_ref();
        if !is_valid_id(&entry.id) {
            return Err(src.error_at(
                c,
                "category.id",
                format!("`{}`: use lowercase letters, digits and '-'", entry.id),
            ));
        }
        if !seen.insert(entry.id.clone()) {
            return Err(src.error_at(
                c,
                "category.id",
                format!("category `{}` is defined twice", entry.id),
            ));
        }
        if let Some(field) = first_with_control([
            ("category.title", Some(&entry.title)),
            ("category.storage", entry.storage.as_ref()),
        ]) {
            return Err(src.error_at(c, field, "contains a control character"));
        }
        categories.push(DataCategory {
            id: entry.id.clone(),
            title: entry.title.clone(),
            storage: entry.storage.clone(),
        });
    }

    let mut purposes = Vec::new();
    let mut seen = BTreeSet::new();
    for p in &file.purpose {
        let entry = p.get_ref();
        if let Some(field) = first_with_control([
            ("purpose.title", Some(&entry.title)),
            ("purpose.description", entry.description.as_ref()),
        ]) {
            return Err(src.error_at(p, field, "contains a control character"));
        }
        if !is_valid_id(&entry.id) {
            return Err(src.error_at(
                p,
                "purpose.id",
                format!("`{}`: use lowercase letters, digits and '-'", entry.id),
            ));
        }
        if !seen.insert(entry.id.clone()) {
            return Err(src.error_at(
                p,
                "purpose.id",
                format!("purpose `{}` is defined twice", entry.id),
            ));
        }
        if entry.required && entry.legal_basis == LegalBasis::Consent {
            return Err(src.error_at(
                p,
                "purpose.legal_basis",
                format!(
                    "purpose `{}` is required but rests on consent (art6-1-a); consent cannot be \
                     a condition of taking part (Art. 7(4) GDPR): make it optional or name the \
                     real legal basis",
                    entry.id
                ),
            ));
        }
        if !entry.required && entry.legal_basis != LegalBasis::Consent {
            return Err(src.error_at(
                p,
                "purpose.legal_basis",
                format!("purpose `{}` is an optional opt-in, so its legal basis must be consent (art6-1-a)", entry.id),
            ));
        }
        if entry.categories.is_empty() {
            return Err(src.error_at(
                p,
                "purpose.categories",
                format!("purpose `{}` names no data category", entry.id),
            ));
        }
        if let Some(unknown) = entry
            .categories
            .iter()
            .find(|c| !categories.iter().any(|k| &k.id == *c))
        {
            return Err(src.error_at(
                p,
                "purpose.categories",
                format!("purpose `{}` names unknown category `{unknown}`", entry.id),
            ));
        }
        purposes.push(Purpose {
            id: entry.id.clone(),
            title: entry.title.clone(),
            description: entry.description.clone(),
            required: entry.required,
            legal_basis: entry.legal_basis,
            categories: entry.categories.clone(),
        });
    }
    if purposes.is_empty() {
        return Err(src.error("purpose", "a version needs at least one [[purpose]]"));
    }

    if file.summary.as_ref().is_some_and(has_control) {
        return Err(src.error("summary", "contains a control character"));
    }
    if file.recipient.iter().any(has_control) {
        return Err(src.error("recipient", "contains a control character"));
    }

    let mut texts = BTreeMap::new();
    for lang in Language::ALL {
        let Some((text_path, raw)) = text_of(lang, version)? else {
            if lang == Language::De {
                return Err(src.error(
                    "text.de",
                    format!("the German text v{version}.de.md is missing (German is required)"),
                ));
            }
            continue;
        };
        if raw.trim().is_empty() {
            return Err(PolicyError {
                file: text_path,
                line: Some(1),
                field: format!("text.{}", lang.code()),
                message: "the text is empty".into(),
            });
        }
        // A notice is printed, hashed and shown: no invisible characters besides line breaks
        // and tabs (a NUL would also be refused by PostgreSQL).
        if let Some((line, c)) = raw.lines().enumerate().find_map(|(i, l)| {
            l.chars()
                .find(|c| !text::prints(*c, true))
                .map(|c| (i + 1, c))
        }) {
            return Err(PolicyError {
                file: text_path,
                line: Some(line),
                field: format!("text.{}", lang.code()),
                message: format!("contains the control character U+{:04X}", u32::from(c)),
            });
        }
        if lang == Language::En && title.en.is_none() {
            return Err(src.error(
                "title.en",
                "an English text exists but notice.toml has no title.en",
            ));
        }
        texts.insert(lang, NoticeText::new(lang, title.get(lang), &raw));
    }

    Ok(NoticeVersion {
        notice_id: notice_id.to_owned(),
        version,
        effective,
        summary: file.summary,
        purposes,
        categories,
        recipients: file.recipient,
        texts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `policy_file` fuzz target: a line starting with `=` gave an error naming
    /// the field `` (empty) instead of saying it is a syntax error.
    #[test]
    fn a_syntax_error_never_names_an_empty_field() {
        let path = Path::new("policies/controllers.toml");
        let e = parse_controllers(path, "[[controller]]\n=id = \"om\"\n").unwrap_err();
        assert_eq!(e.file, path);
        assert_eq!(e.line, Some(2));
        assert_eq!(e.field, "(syntax)");
    }
}
