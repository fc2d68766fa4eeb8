//! Consent: who agreed to what. Input types parse instead of validate, so a `Subject` that
//! exists is a valid one; decisions are checked against the notice version shown.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::notice::{LegalBasis, NoticeVersion, sha256_hex};

/// A rejected input, naming the field (JSON path such as `subject.email`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubjectName(String);

impl SubjectName {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(FieldError::new("subject.name", "is required"));
        }
        if name.chars().count() > 200 {
            return Err(FieldError::new(
                "subject.name",
                "must be at most 200 characters",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(FieldError::new(
                "subject.name",
                "must not contain control characters",
            ));
        }
        Ok(SubjectName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// A pragmatic check (RFC 5321 lengths, one `@`, a dotted domain of valid labels): enough
    /// to catch typos without refusing real addresses. The whole address is lower-cased (no
    /// mail system tells `Jörg@` from `jörg@`), so a person is found by address alike on
    /// SQLite, whose `lower()` folds ASCII only, and on PostgreSQL.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::parse_as(raw, "subject.email")
    }

    /// Parses, naming `field` in the error.
    pub fn parse_as(raw: &str, field: &str) -> Result<Self, FieldError> {
        let err = |m: &str| FieldError::new(field, m);
        let email = raw.trim();
        if email.is_empty() {
            return Err(err("is required"));
        }
        if email.len() > 254 {
            return Err(err("must be at most 254 characters"));
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err(err("is not an e-mail address (no @)"));
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && !local.chars().any(|c| c.is_whitespace() || c.is_control());
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(err("is not a valid e-mail address"));
        }
        Ok(EmailAddress(email.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Organisation(String);

impl Organisation {
    /// Empty means "not given".
    pub fn parse(raw: Option<&str>) -> Result<Option<Self>, FieldError> {
        Ok(super::text::line(raw.unwrap_or(""), "subject.organisation", 200)?.map(Organisation))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The person giving consent (ISO/IEC TS 27560: PII principal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub name: SubjectName,
    pub email: EmailAddress,
    pub organisation: Option<Organisation>,
}

impl Subject {
    /// A salted digest of the personal data (name, e-mail, organisation, and the truncated
    /// address and user agent the consent came from): chained into the ledger instead of the
    /// data, so erasure can remove all of it (and the salt) while the chain still verifies,
    /// and nobody can confirm a guessed e-mail address against the ledger.
    pub fn digest(personal: &PersonalData<'_>, salt: &str) -> String {
        // `salt`, a newline, then the canonical JSON of the data (see `PersonalData`).
        let mut input = Vec::with_capacity(salt.len() + 256);
        input.extend_from_slice(salt.as_bytes());
        input.push(b'\n');
        serde_json::to_writer(&mut input, personal).expect("plain data");
        sha256_hex(&input)
    }
}

/// What the subject digest covers. Fields are declared in sorted key order, so serialising
/// the struct gives its canonical JSON (sorted keys, absent values as `null`).
#[derive(Debug, Clone, Serialize)]
pub struct PersonalData<'a> {
    pub email: &'a str,
    pub ip_truncated: Option<&'a str>,
    pub name: &'a str,
    pub organisation: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// The state a purpose is in after an event (W3C DPV consent states, plus `acknowledged` for
/// required purposes, which rest on another legal basis and are not consents).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurposeState {
    Acknowledged,
    Given,
    Refused,
    Withdrawn,
    Expired,
    Erased,
    /// A later version of the notice added or materially changed this purpose: the consent
    /// given under the old version does not cover it; the participant is asked again.
    ReconsentRequested,
}

impl PurposeState {
    pub fn as_str(self) -> &'static str {
        match self {
            PurposeState::Acknowledged => "acknowledged",
            PurposeState::Given => "given",
            PurposeState::Refused => "refused",
            PurposeState::Withdrawn => "withdrawn",
            PurposeState::Expired => "expired",
            PurposeState::Erased => "erased",
            PurposeState::ReconsentRequested => "reconsent_requested",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    /// The W3C DPV term, for exports.
    pub fn dpv(self) -> &'static str {
        match self {
            PurposeState::Acknowledged => "dpv:ConsentNotRequired",
            PurposeState::Given => "dpv:ConsentGiven",
            PurposeState::Refused => "dpv:ConsentRefused",
            PurposeState::Withdrawn => "dpv:ConsentWithdrawn",
            PurposeState::Expired => "dpv:ConsentExpired",
            PurposeState::Erased => "dpv:ConsentInvalidated",
            PurposeState::ReconsentRequested => "dpv:ConsentRequested",
        }
    }
}

/// How a consent reached us (ISO/IEC TS 27560 collection method).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CollectionMethod {
    WebForm,
    Api,
}

impl CollectionMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionMethod::WebForm => "web-form",
            CollectionMethod::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "web-form" => Some(CollectionMethod::WebForm),
            "api" => Some(CollectionMethod::Api),
            _ => None,
        }
    }
}

/// One purpose's outcome when consent is recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PurposeDecision {
    pub purpose_id: String,
    pub legal_basis: LegalBasis,
    pub state: PurposeState,
}

/// Checks the participant's choices against the version they were shown.
///
/// Every optional purpose gets an explicit `given` or `refused` (absent counts as refused:
/// silence is not consent). Required purposes must be acknowledged, either each with `true`
/// or all at once with `acknowledged: true`; `false` for one of them is refused with a clear
/// message, because the workshop cannot run without it.
pub fn decide(
    version: &NoticeVersion,
    choices: &BTreeMap<String, bool>,
    acknowledged: bool,
) -> Result<Vec<PurposeDecision>, FieldError> {
    if let Some(unknown) = choices.keys().find(|id| version.purpose(id).is_none()) {
        return Err(FieldError::new(
            format!("purposes.{unknown}"),
            format!(
                "unknown purpose; notice {} version {} has: {}",
                version.notice_id,
                version.version,
                version
                    .purposes
                    .iter()
                    .map(|p| p.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let mut decisions = Vec::with_capacity(version.purposes.len());
    for purpose in &version.purposes {
        let choice = choices.get(&purpose.id).copied();
        let state = if purpose.required {
            match choice {
                Some(false) => {
                    return Err(FieldError::new(
                        format!("purposes.{}", purpose.id),
                        "is required to take part and cannot be refused; \
                         it must be acknowledged (true)",
                    ));
                }
                Some(true) => PurposeState::Acknowledged,
                None if acknowledged => PurposeState::Acknowledged,
                None => {
                    return Err(FieldError::new(
                        "acknowledged",
                        format!(
                            "the notice must be acknowledged: send \"acknowledged\": true \
                             or \"purposes\": {{\"{}\": true}}",
                            purpose.id
                        ),
                    ));
                }
            }
        } else if choice == Some(true) {
            PurposeState::Given
        } else {
            PurposeState::Refused
        };
        decisions.push(PurposeDecision {
            purpose_id: purpose.id.clone(),
            legal_basis: purpose.legal_basis,
            state,
        });
    }
    Ok(decisions)
}

/// Stores the client address with its host part removed: IPv4 /24, IPv6 /48.
pub fn truncate_ip(ip: IpAddr) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0).to_string()
        }
    }
}

/// The participant's capability for `/r/{token}`: the record's id and 256 random bits,
/// URL-safe. The id lets the record be found by its key, the random bits make the token
/// unguessable; only the token's SHA-256 is stored, so a database leak does not hand out
/// withdrawal links. Tokens issued before migration 0014 are the random bits alone.
pub struct ReceiptToken(String);

/// Bytes of the id and of the secret in a token.
const RECORD_ID_BYTES: usize = 16;
const SECRET_BYTES: usize = 32;
/// Lengths in base64url without padding: with the record's id, and without (before 0014).
const TOKEN_LEN: usize = 64;
const LEGACY_TOKEN_LEN: usize = 43;

impl ReceiptToken {
    pub fn for_record(record_id: &uuid::Uuid) -> Self {
        let mut bytes = [0u8; RECORD_ID_BYTES + SECRET_BYTES];
        bytes[..RECORD_ID_BYTES].copy_from_slice(record_id.as_bytes());
        rand::rng().fill_bytes(&mut bytes[RECORD_ID_BYTES..]);
        ReceiptToken(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hash(token: &str) -> String {
        sha256_hex(token.as_bytes())
    }

    /// The id of the record a token names; `None` for a token from before migration 0014
    /// (found by its hash) or one that is not a token.
    pub fn record_id(token: &str) -> Option<String> {
        if token.len() != TOKEN_LEN {
            return None;
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()?;
        let id = uuid::Uuid::from_slice(bytes.get(..RECORD_ID_BYTES)?).ok()?;
        Some(id.to_string())
    }

    /// Cheap shape check before touching the database.
    pub fn looks_valid(token: &str) -> bool {
        (token.len() == TOKEN_LEN || token.len() == LEGACY_TOKEN_LEN)
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

/// A random salt for a subject digest.
pub fn new_salt() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::notice::{Localized, Purpose};

    #[test]
    fn receipt_tokens_name_their_record_and_keep_256_secret_bits() {
        let id = uuid::Uuid::now_v7();
        let token = ReceiptToken::for_record(&id);
        assert_eq!(token.as_str().len(), 64);
        assert!(ReceiptToken::looks_valid(token.as_str()));
        assert_eq!(
            ReceiptToken::hash(token.as_str()).len(),
            64,
            "SHA-256 in hex"
        );
        assert_eq!(
            ReceiptToken::record_id(token.as_str()),
            Some(id.to_string())
        );
        assert_ne!(
            token.as_str(),
            ReceiptToken::for_record(&id).as_str(),
            "the secret part is random"
        );
        // A token from before migration 0014: the random bits alone, found by its hash.
        let legacy = "Ab-_".repeat(10) + "xyz";
        assert!(ReceiptToken::looks_valid(&legacy));
        assert_eq!(ReceiptToken::record_id(&legacy), None);
        for bad in [
            String::new(),
            "A".repeat(63),
            "A".repeat(65),
            "A".repeat(63) + "!",
        ] {
            assert!(!ReceiptToken::looks_valid(&bad), "{bad}");
        }
        assert_eq!(ReceiptToken::record_id(&"*".repeat(64)), None);
    }

    fn version() -> NoticeVersion {
        let purpose = |id: &str, required: bool, basis| Purpose {
            id: id.into(),
            title: Localized {
                de: id.into(),
                en: None,
            },
            description: None,
            required,
            legal_basis: basis,
            categories: vec![],
        };
        NoticeVersion {
            notice_id: "n".into(),
            version: 1,
            effective: chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
            summary: None,
            purposes: vec![
                purpose("durchfuehrung", true, LegalBasis::Contract),
                purpose("fotos", false, LegalBasis::Consent),
                purpose("newsletter", false, LegalBasis::Consent),
            ],
            categories: vec![],
            recipients: vec![],
            texts: Default::default(),
        }
    }

    fn choices(pairs: &[(&str, bool)]) -> BTreeMap<String, bool> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn absent_optional_purpose_is_refused_not_given() {
        let d = decide(
            &version(),
            &choices(&[("durchfuehrung", true), ("fotos", true)]),
            false,
        )
        .unwrap();
        let states: Vec<_> = d.iter().map(|d| (d.purpose_id.as_str(), d.state)).collect();
        assert_eq!(
            states,
            [
                ("durchfuehrung", PurposeState::Acknowledged),
                ("fotos", PurposeState::Given),
                ("newsletter", PurposeState::Refused)
            ]
        );
    }

    #[test]
    fn required_purpose_needs_acknowledgement() {
        let e = decide(&version(), &choices(&[("fotos", true)]), false).unwrap_err();
        assert_eq!(e.field, "acknowledged");
        assert!(decide(&version(), &choices(&[("fotos", true)]), true).is_ok());
        let e = decide(&version(), &choices(&[("durchfuehrung", false)]), true).unwrap_err();
        assert_eq!(e.field, "purposes.durchfuehrung");
    }

    #[test]
    fn unknown_purpose_is_named() {
        let e = decide(&version(), &choices(&[("marketing", true)]), true).unwrap_err();
        assert_eq!(e.field, "purposes.marketing");
    }

    #[test]
    fn email_parsing() {
        assert_eq!(
            EmailAddress::parse(" Anna@Example.ORG ").unwrap().as_str(),
            "anna@example.org"
        );
        // Beyond ASCII too, which SQLite's lower() would leave alone.
        assert_eq!(
            EmailAddress::parse("JÖRG@Bäckerei.DE").unwrap().as_str(),
            "jörg@bäckerei.de"
        );
        for bad in [
            "",
            "anna",
            "anna@",
            "@example.org",
            "anna@example",
            "an na@example.org",
            "a@b..de",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(EmailAddress::parse("jörg.müller@bäckerei.de").is_ok());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            SubjectName::parse("  Jörg Müller ").unwrap().as_str(),
            "Jörg Müller"
        );
        assert!(SubjectName::parse("   ").is_err());
        assert!(SubjectName::parse(&"x".repeat(201)).is_err());
        assert!(SubjectName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn ip_truncation() {
        assert_eq!(truncate_ip("203.0.113.77".parse().unwrap()), "203.0.113.0");
        assert_eq!(
            truncate_ip("2001:db8:abcd:12:1::5".parse().unwrap()),
            "2001:db8:abcd::"
        );
        assert_eq!(
            truncate_ip("::ffff:198.51.100.9".parse().unwrap()),
            "198.51.100.0"
        );
    }

    #[test]
    fn subject_digest_depends_on_salt_and_data() {
        let p = |name| PersonalData {
            name,
            email: "a@x.de",
            organisation: None,
            ip_truncated: Some("192.0.2.0"),
            user_agent: None,
        };
        let a = Subject::digest(&p("A"), "s1");
        assert_ne!(a, Subject::digest(&p("A"), "s2"));
        assert_ne!(a, Subject::digest(&p("B"), "s1"));
        assert_eq!(a, Subject::digest(&p("A"), "s1"));
    }

    #[test]
    fn subject_digest_is_the_digest_of_the_sorted_json() {
        // The definition the stored digests were computed with: keys sorted by a `Value`.
        let reference = |personal: &PersonalData<'_>, salt: &str| {
            let canonical = serde_json::to_value(personal).unwrap();
            sha256_hex(format!("{salt}\n{canonical}").as_bytes())
        };
        for text in ["Max Müller", "\"q\" \\ \t\n\u{1} \u{2028} 😀"] {
            for optional in [None, Some(text)] {
                let personal = PersonalData {
                    email: text,
                    ip_truncated: optional,
                    name: text,
                    organisation: optional,
                    user_agent: optional,
                };
                assert_eq!(Subject::digest(&personal, text), reference(&personal, text));
            }
        }
    }
}
