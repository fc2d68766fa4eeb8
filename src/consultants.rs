//! Authorised consultants: adding (one by one or as CSV), and attendance that re-authorises.
//! Shared by the CLI, the API and the staff area; every change is audited.

use chrono::NaiveDate;

use crate::app::App;
use crate::domain::consent::{EmailAddress, FieldError, SubjectName};
use crate::domain::notice::Language;
use crate::domain::workshop::WorkshopKind;
use crate::store::{audit, consultants, is_unique_violation, workshops};

pub async fn add(
    app: &App,
    name: &str,
    email: &str,
    authorised_on: NaiveDate,
    language: Option<&str>,
    actor: &str,
    ip: Option<&str>,
) -> anyhow::Result<Result<String, FieldError>> {
    let language = match language.map(str::trim).filter(|l| !l.is_empty()) {
        None => Language::De,
        Some(code) => match Language::parse(code) {
            Some(l) => l,
            None => return Ok(Err(FieldError::new("language", "must be de or en"))),
        },
    };
    let name = match SubjectName::parse(name) {
        Ok(n) => n,
        Err(_) => {
            return Ok(Err(FieldError::new(
                "name",
                "is required (at most 200 characters)",
            )));
        }
    };
    let email = match EmailAddress::parse_as(&email.to_lowercase(), "email") {
        Ok(e) => e,
        Err(e) => return Ok(Err(e)),
    };
    if authorised_on > app.clock.today_berlin() {
        return Ok(Err(FieldError::new(
            "authorised_on",
            "must not be in the future",
        )));
    }
    match consultants::add(
        &app.db,
        name.as_str(),
        email.as_str(),
        language.code(),
        authorised_on,
        app.clock.now(),
    )
    .await
    {
        Ok(id) => {
            audit::record(
                &app.db,
                &app.clock,
                actor,
                "consultant.added",
                Some(&format!("consultant:{id}")),
                ip,
            )
            .await?;
            Ok(Ok(id))
        }
        Err(e) if is_unique_violation(&e) => Ok(Err(FieldError::new(
            "email",
            "a consultant with this e-mail exists already",
        ))),
        Err(e) => Err(e.into()),
    }
}

/// The text of an uploaded CSV file: UTF-8 (with or without BOM), or else Windows-1252, the
/// encoding German Excel saves "CSV (Trennzeichen-getrennt)" in.
pub fn csv_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

/// Imports `name;email;authorised_on` lines (a header line is allowed; `,` works too).
/// All lines are checked first; nothing is imported if one is wrong.
pub async fn import_csv(
    app: &App,
    text: &str,
    actor: &str,
    ip: Option<&str>,
) -> anyhow::Result<Result<usize, FieldError>> {
    let delimiter = if text.lines().next().is_some_and(|l| l.contains(';')) {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => return Ok(Err(FieldError::new(format!("line {line}"), e.to_string()))),
        };
        let cells: Vec<&str> = record.iter().map(str::trim).collect();
        if line == 1
            && cells
                .first()
                .is_some_and(|c| c.eq_ignore_ascii_case("name"))
        {
            continue;
        }
        let (name, email, date, language) = match cells[..] {
            [name, email, date] => (name, email, date, None),
            [name, email, date, language] => (name, email, date, Some(language)),
            _ => {
                return Ok(Err(FieldError::new(
                    format!("line {line}"),
                    "expected name;email;authorised_on[;language]",
                )));
            }
        };
        if language.is_some_and(|l| !l.is_empty() && Language::parse(l).is_none()) {
            return Ok(Err(FieldError::new(
                format!("line {line}"),
                "language must be de or en",
            )));
        }
        let Ok(date) = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(date, "%d.%m.%Y"))
        else {
            return Ok(Err(FieldError::new(
                format!("line {line}"),
                "authorised_on must be YYYY-MM-DD or DD.MM.YYYY",
            )));
        };
        if SubjectName::parse(name).is_err() || EmailAddress::parse_as(email, "email").is_err() {
            return Ok(Err(FieldError::new(
                format!("line {line}"),
                "name or e-mail is not valid",
            )));
        }
        rows.push((
            name.to_owned(),
            email.to_owned(),
            date,
            language.map(str::to_owned),
        ));
    }
    let mut added = 0;
    for (name, email, date, language) in rows {
        match add(app, &name, &email, date, language.as_deref(), actor, ip).await? {
            Ok(_) => added += 1,
            // Already known: the import is idempotent.
            Err(e) if e.field == "email" => {}
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(added))
}

/// Records attendance; an Erfahrungsaustausch or re-authorisation workshop re-authorises a
/// consultant with this e-mail on its last day (or today, while it is still under way). `None` if the workshop does not exist.
pub async fn attend(
    app: &App,
    slug: &str,
    email: &str,
    actor: &str,
    ip: Option<&str>,
) -> anyhow::Result<Option<Result<bool, FieldError>>> {
    let email = match EmailAddress::parse_as(&email.to_lowercase(), "email") {
        Ok(e) => e,
        Err(e) => return Ok(Some(Err(e))),
    };
    if crate::domain::workshop::Slug::parse(slug).is_err() {
        return Ok(None);
    }
    let Some(w) = workshops::by_slug(&app.db, slug).await? else {
        return Ok(None);
    };
    // Attendance is a fact, recorded once the workshop has begun: a workshop in the future
    // would re-authorise on a date not yet reached and push the listing's deletion out.
    if w.starts_on > app.clock.today_berlin() {
        return Ok(Some(Err(FieldError::new(
            "workshop",
            format!(
                "has not begun yet; attendance can be recorded from {}",
                w.starts_on
            ),
        ))));
    }
    let reauthorises = matches!(
        WorkshopKind::parse(&w.kind),
        Some(WorkshopKind::Erfahrungsaustausch | WorkshopKind::ReAuthorisation)
    );
    let new = consultants::record_attendance(
        &app.db,
        &w.id,
        email.as_str(),
        // Never on a day not reached yet: a workshop under way re-authorises as of today.
        reauthorises.then_some(w.ends_on.min(app.clock.today_berlin())),
        app.clock.now(),
    )
    .await?;
    if new {
        audit::record(
            &app.db,
            &app.clock,
            actor,
            "workshop.attendance",
            Some(&format!("workshop:{}", w.slug)),
            ip,
        )
        .await?;
    }
    Ok(Some(Ok(new)))
}
