//! Privacy notices: controllers, notice versions with their purposes, and the canonical text
//! whose SHA-256 identifies exactly what a participant saw.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Languages a notice text can be in. German is always present; English is optional.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    De,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::De, Language::En];

    pub fn code(self) -> &'static str {
        match self {
            Language::De => "de",
            Language::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Language> {
        match code.trim().to_ascii_lowercase().as_str() {
            "de" => Some(Language::De),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}

/// A text in German with an optional English translation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    pub de: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

impl Localized {
    /// The text in `lang`, falling back to German.
    pub fn get(&self, lang: Language) -> &str {
        match lang {
            Language::En => self.en.as_deref().unwrap_or(&self.de),
            Language::De => &self.de,
        }
    }
}

/// Art. 6(1) GDPR legal bases, as `art6-1-a` … `art6-1-f` in files and JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LegalBasis {
    #[serde(rename = "art6-1-a")]
    Consent,
    #[serde(rename = "art6-1-b")]
    Contract,
    #[serde(rename = "art6-1-c")]
    LegalObligation,
    #[serde(rename = "art6-1-d")]
    VitalInterests,
    #[serde(rename = "art6-1-e")]
    PublicTask,
    #[serde(rename = "art6-1-f")]
    LegitimateInterests,
}

impl LegalBasis {
    pub fn code(self) -> &'static str {
        match self {
            LegalBasis::Consent => "art6-1-a",
            LegalBasis::Contract => "art6-1-b",
            LegalBasis::LegalObligation => "art6-1-c",
            LegalBasis::VitalInterests => "art6-1-d",
            LegalBasis::PublicTask => "art6-1-e",
            LegalBasis::LegitimateInterests => "art6-1-f",
        }
    }

    pub fn parse(code: &str) -> Option<LegalBasis> {
        serde_json::from_value(serde_json::Value::String(code.to_owned())).ok()
    }

    /// How a lawyer cites it.
    pub fn citation(self, lang: Language) -> &'static str {
        match (self, lang) {
            (LegalBasis::Consent, Language::De) => "Art. 6 Abs. 1 lit. a DSGVO (Einwilligung)",
            (LegalBasis::Contract, Language::De) => "Art. 6 Abs. 1 lit. b DSGVO (Vertrag)",
            (LegalBasis::LegalObligation, Language::De) => {
                "Art. 6 Abs. 1 lit. c DSGVO (rechtliche Verpflichtung)"
            }
            (LegalBasis::VitalInterests, Language::De) => {
                "Art. 6 Abs. 1 lit. d DSGVO (lebenswichtige Interessen)"
            }
            (LegalBasis::PublicTask, Language::De) => {
                "Art. 6 Abs. 1 lit. e DSGVO (öffentliche Aufgabe)"
            }
            (LegalBasis::LegitimateInterests, Language::De) => {
                "Art. 6 Abs. 1 lit. f DSGVO (berechtigte Interessen)"
            }
            (LegalBasis::Consent, Language::En) => "Art. 6(1)(a) GDPR (consent)",
            (LegalBasis::Contract, Language::En) => "Art. 6(1)(b) GDPR (contract)",
            (LegalBasis::LegalObligation, Language::En) => "Art. 6(1)(c) GDPR (legal obligation)",
            (LegalBasis::VitalInterests, Language::En) => "Art. 6(1)(d) GDPR (vital interests)",
            (LegalBasis::PublicTask, Language::En) => "Art. 6(1)(e) GDPR (public task)",
            (LegalBasis::LegitimateInterests, Language::En) => {
                "Art. 6(1)(f) GDPR (legitimate interests)"
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DataProtectionOfficer {
    pub name: String,
    pub email: String,
    pub address: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Controller {
    pub id: String,
    pub name: String,
    pub address: String,
    pub email: String,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub dpo: DataProtectionOfficer,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purpose {
    pub id: String,
    pub title: Localized,
    pub description: Option<Localized>,
    /// Required purposes are acknowledged, not consented to; optional ones are opt-in consents.
    pub required: bool,
    pub legal_basis: LegalBasis,
    pub categories: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataCategory {
    pub id: String,
    pub title: Localized,
    /// Art. 13(2)(a): the storage period or the criteria for it, in words.
    pub storage: Option<Localized>,
}

/// A version's text in one language, canonicalised, with its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeText {
    pub language: Language,
    pub title: String,
    pub markdown: String,
    pub sha256: String,
}

impl NoticeText {
    pub fn new(language: Language, title: &str, raw: &str) -> Self {
        let markdown = canonical_text(raw);
        let sha256 = sha256_hex(markdown.as_bytes());
        NoticeText {
            language,
            title: title.to_owned(),
            markdown,
            sha256,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoticeVersion {
    pub notice_id: String,
    pub version: u32,
    pub effective: NaiveDate,
    pub summary: Option<Localized>,
    pub purposes: Vec<Purpose>,
    pub categories: Vec<DataCategory>,
    pub recipients: Vec<Localized>,
    pub texts: BTreeMap<Language, NoticeText>,
}

/// Everything about a version except its texts: what a lawyer reviews beside the wording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionMetadata {
    pub effective: NaiveDate,
    pub summary: Option<Localized>,
    pub purposes: Vec<Purpose>,
    pub categories: Vec<DataCategory>,
    pub recipients: Vec<Localized>,
}

impl NoticeVersion {
    pub fn metadata(&self) -> VersionMetadata {
        VersionMetadata {
            effective: self.effective,
            summary: self.summary.clone(),
            purposes: self.purposes.clone(),
            categories: self.categories.clone(),
            recipients: self.recipients.clone(),
        }
    }

    pub fn from_parts(
        notice_id: &str,
        version: u32,
        metadata: VersionMetadata,
        texts: BTreeMap<Language, NoticeText>,
    ) -> Self {
        NoticeVersion {
            notice_id: notice_id.to_owned(),
            version,
            effective: metadata.effective,
            summary: metadata.summary,
            purposes: metadata.purposes,
            categories: metadata.categories,
            recipients: metadata.recipients,
            texts,
        }
    }

    /// The hash an approval is bound to: metadata and the hash of every text, as canonical
    /// JSON. Any change to wording, purposes, storage periods or the date changes it.
    pub fn content_sha256(&self) -> String {
        let texts: BTreeMap<&str, &str> = self
            .texts
            .values()
            .map(|t| (t.language.code(), t.sha256.as_str()))
            .collect();
        let value = serde_json::json!({
            "notice": self.notice_id,
            "version": self.version,
            "metadata": self.metadata(),
            "texts": texts,
        });
        sha256_hex(value.to_string().as_bytes())
    }

    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|p| p.id == id)
    }

    pub fn category(&self, id: &str) -> Option<&DataCategory> {
        self.categories.iter().find(|c| c.id == id)
    }

    /// The text in `lang` if it exists, else German (always present).
    pub fn text_for(&self, lang: Language) -> &NoticeText {
        self.texts
            .get(&lang)
            .unwrap_or_else(|| &self.texts[&Language::De])
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub id: String,
    pub controller: String,
    pub title: Localized,
    /// Sorted by version number, ascending.
    pub versions: Vec<NoticeVersion>,
}

impl Notice {
    /// The version in force on `today`: the newest whose effective date has passed.
    pub fn in_force(&self, today: NaiveDate) -> Option<&NoticeVersion> {
        self.versions.iter().rev().find(|v| v.effective <= today)
    }

    pub fn version(&self, number: u32) -> Option<&NoticeVersion> {
        self.versions.iter().find(|v| v.version == number)
    }
}

/// An approval made elsewhere (another instance, staging), kept as a file beside the version
/// so a fresh install knows it: `v<N>.approval.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRecord {
    pub notice: String,
    pub version: u32,
    /// The content hash approved; imported only if the files still hash to it.
    pub content_sha256: String,
    pub approved_by: String,
    pub approved_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    pub comment: Option<String>,
    /// Whether the reviewer judged the change material (re-consent for changed purposes).
    #[serde(default = "material_default")]
    pub material: bool,
    /// The person who submitted the version for review, if known.
    #[serde(default)]
    pub submitted_by: Option<String>,
}

fn material_default() -> bool {
    true
}

/// Everything loaded from `policies/`.
#[derive(Clone, Debug, Default)]
pub struct PolicySet {
    pub controllers: BTreeMap<String, Controller>,
    pub notices: BTreeMap<String, Notice>,
    /// Approval records with the file each came from.
    pub approvals: Vec<(std::path::PathBuf, ApprovalRecord)>,
    /// Demo workshops from `workshops.toml`, created at start when missing.
    pub workshops: Vec<super::workshop::NewWorkshop>,
    /// The deletion rules from `retention.toml`.
    pub retention: Vec<super::retention::RetentionRule>,
}

impl PolicySet {
    pub fn notice(&self, id: &str) -> Option<&Notice> {
        self.notices.get(id)
    }

    pub fn controller(&self, id: &str) -> Option<&Controller> {
        self.controllers.get(id)
    }
}

/// UTF-8, LF line endings, trailing whitespace trimmed on every line and at the end; the text
/// then ends with exactly one LF. Editors and operating systems may differ in these; the
/// hash must not.
pub fn canonical_text(raw: &str) -> String {
    let raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
    let unified = raw.replace("\r\n", "\n").replace('\r', "\n");
    let mut out: String = unified
        .lines()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n");
    let trimmed_len = out.trim_end().len();
    out.truncate(trimmed_len);
    out.push('\n');
    out
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    lowercase_hex(&Sha256::digest(bytes))
}

/// What `hex::encode` makes of `bytes`, written into one buffer rather than collected a
/// character at a time (`verify` writes a few of these per ledger entry).
pub fn lowercase_hex(bytes: &[u8]) -> String {
    let mut text = vec![0; bytes.len() * 2];
    hex::encode_to_slice(bytes, &mut text).expect("the buffer has twice the length");
    String::from_utf8(text).expect("hex digits are ASCII")
}

/// Ids in files and the API: lowercase ASCII letters, digits and '-', 1–64 characters.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_normalises_line_endings_and_trailing_space() {
        let a = canonical_text("# Titel  \r\nZeile mit ä\t\r\n\r\n\r\n");
        let b = canonical_text("\u{feff}# Titel\nZeile mit ä\n");
        assert_eq!(a, "# Titel\nZeile mit ä\n");
        assert_eq!(a, b);
        assert_eq!(sha256_hex(a.as_bytes()), sha256_hex(b.as_bytes()));
    }

    #[test]
    fn canonical_text_keeps_inner_blank_lines_and_leading_space() {
        assert_eq!(canonical_text("a\n\n  - b  \n"), "a\n\n  - b\n");
    }

    #[test]
    fn sha256_of_empty_is_the_known_digest() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn legal_basis_codes_round_trip() {
        for code in [
            "art6-1-a", "art6-1-b", "art6-1-c", "art6-1-d", "art6-1-e", "art6-1-f",
        ] {
            assert_eq!(LegalBasis::parse(code).unwrap().code(), code);
        }
        assert!(LegalBasis::parse("art6-1-g").is_none());
    }

    #[test]
    fn ids_are_restricted() {
        assert!(is_valid_id("fotos-2"));
        assert!(!is_valid_id("Fotos"));
        assert!(!is_valid_id("-x"));
        assert!(!is_valid_id(""));
    }
}
