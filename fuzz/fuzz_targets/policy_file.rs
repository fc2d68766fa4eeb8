//! Arbitrary text as each kind of file in `policies/`. A bad file must come back as a
//! `PolicyError` (naming file, line, field), never as a panic, and what a parser accepts must
//! be usable: retention rules are also asked for due dates, notices for their hashes.
//!
//! The first byte picks the file kind; the rest is the file. Versions take their texts
//! after `\n%%de%%\n` and `\n%%en%%\n` markers.
#![no_main]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use chrono::NaiveDate;
use consentd::domain::notice::{Language, PolicySet};
use consentd::policies::{self, PolicyError};
use libfuzzer_sys::fuzz_target;

/// The demo policies: the notices and controllers the other files refer to.
static DEMO: LazyLock<PolicySet> = LazyLock::new(|| {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies");
    policies::load(&dir).expect("the demo policies load")
});

fn checked<T>(r: Result<T, PolicyError>, path: &Path) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            // Errors name the file they came from and say something.
            assert_eq!(e.file, path, "{e}");
            assert!(!e.field.is_empty() && !e.message.is_empty(), "{e}");
            let _ = e.to_string();
            None
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    // The loader reads files as UTF-8 and refuses anything else before parsing.
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let demo = &*DEMO;
    let notice = demo.notices.values().next().expect("a demo notice");
    match kind % 6 {
        0 => {
            let path = Path::new("policies/controllers.toml");
            let _ = checked(policies::parse_controllers(path, text), path);
        }
        1 => {
            let path = Path::new("policies/retention.toml");
            if let Some(rules) = checked(policies::parse_retention(path, text), path) {
                let days = [
                    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
                    NaiveDate::from_ymd_opt(2026, 2, 28).unwrap(),
                    NaiveDate::from_ymd_opt(2099, 12, 31).unwrap(),
                ];
                for rule in &rules {
                    let _ = rule.deletion_class();
                    for day in days {
                        let _ = rule.due(day);
                        let _ = rule.is_due(day, days[1]);
                        let _ = rule.latest_start_due_by(day);
                        let _ = rule.reminder_dates(day);
                    }
                }
            }
        }
        2 => {
            let path = Path::new("policies/workshops.toml");
            let _ = checked(policies::parse_workshops(path, text, &demo.notices), path);
        }
        3 => {
            let path = PathBuf::from(format!("policies/notices/{}/v1.approval.toml", notice.id));
            let _ = checked(policies::parse_approval(&path, text, notice), &path);
        }
        4 => {
            let path = PathBuf::from(format!("policies/notices/{}/notice.toml", notice.id));
            let _ = checked(
                policies::parse_notice_file(&path, text, &demo.controllers),
                &path,
            );
        }
        _ => {
            let (version_toml, texts) = split_texts(text);
            // Uploaded versions name the upload, not a file in policies/.
            if let Ok(v) = policies::parse_uploaded_version(notice, version_toml, &texts) {
                let _ = v.content_sha256();
                let _ = v.text_for(Language::En);
            }
        }
    }
});

fn split_texts(text: &str) -> (&str, BTreeMap<Language, String>) {
    let mut texts = BTreeMap::new();
    let (head, en) = match text.split_once("\n%%en%%\n") {
        Some((h, en)) => (h, Some(en)),
        None => (text, None),
    };
    let (toml, de) = match head.split_once("\n%%de%%\n") {
        Some((t, de)) => (t, Some(de)),
        None => (head, None),
    };
    if let Some(de) = de {
        texts.insert(Language::De, de.to_owned());
    }
    if let Some(en) = en {
        texts.insert(Language::En, en.to_owned());
    }
    (toml, texts)
}
