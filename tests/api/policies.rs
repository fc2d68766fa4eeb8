//! A malformed or inconsistent policy file stops startup with an error naming the file, the
//! line and the field. Policies are loaded before the database is touched, so these run once
//! (on SQLite) rather than per backend.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::helpers::{BIN, shipped_policies};

const OM: &str = "notices/om-workshop-teilnehmende";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Copies the shipped policies, lets `break_it` damage them, starts `consentd serve` and
/// returns its exit status and stderr once it has stopped.
fn serve_with_broken_policies(break_it: impl FnOnce(&Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    copy_dir(&shipped_policies(), &policies);
    break_it(&policies);
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env(
            "CONSENTD_DATABASE_URL",
            format!("sqlite://{}/db.sqlite", dir.path().display()),
        )
        .env("CONSENTD_POLICIES", &policies)
        .env_remove("CONSENTD_NOW")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("consentd started despite broken policies");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(
        !dir.path().join("db.sqlite").exists(),
        "nothing may be written before the policies are valid"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains(from),
        "{} does not contain {from:?}",
        path.display()
    );
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn assert_names(stderr: &str, file: &str, line: Option<usize>, field: &str) {
    assert!(stderr.contains(file), "file {file} not named in: {stderr}");
    if let Some(line) = line {
        assert!(
            stderr.contains(&format!("{file}:{line}:")),
            "line {line} not named in: {stderr}"
        );
    }
    assert!(
        stderr.contains(&format!("field `{field}`")),
        "field {field} not named in: {stderr}"
    );
}

/// The 1-based line of the first occurrence of `needle` in a shipped file.
fn line_of(file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(shipped_policies().join(file)).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn toml_syntax_error() {
    let line = line_of(&format!("{OM}/v2.toml"), "legal_basis = \"art6-1-a\"");
    let err = serve_with_broken_policies(|p| {
        edit(
            &p.join(OM).join("v2.toml"),
            "legal_basis = \"art6-1-a\"",
            "legal_basis = \"art6-1-a",
        )
    });
    assert_names(&err, "v2.toml", Some(line), "legal_basis");
}

#[test]
fn unknown_controller() {
    let line = line_of(&format!("{OM}/notice.toml"), "controller");
    let err = serve_with_broken_policies(|p| {
        edit(
            &p.join(OM).join("notice.toml"),
            "controller = \"om\"",
            "controller = \"omm\"",
        )
    });
    assert_names(&err, "notice.toml", Some(line), "controller");
    assert!(err.contains("unknown controller `omm`"), "{err}");
}

#[test]
fn duplicate_version() {
    let err = serve_with_broken_policies(|p| {
        std::fs::copy(p.join(OM).join("v2.toml"), p.join(OM).join("v02.toml")).unwrap();
    });
    assert_names(&err, "v2.toml", None, "version");
    assert!(err.contains("duplicate version 2"), "{err}");
}

#[test]
fn missing_german_text() {
    let err =
        serve_with_broken_policies(|p| std::fs::remove_file(p.join(OM).join("v2.de.md")).unwrap());
    assert_names(&err, "v2.toml", None, "text.de");
    assert!(err.contains("German"), "{err}");
}

#[test]
fn control_character_in_a_text() {
    let err = serve_with_broken_policies(|p| {
        let path = p.join(OM).join("v2.de.md");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines[2].push('\u{0}');
        std::fs::write(&path, lines.join("\n")).unwrap();
    });
    assert_names(&err, "v2.de.md", Some(3), "text.de");
    assert!(err.contains("U+0000"), "{err}");
}

#[test]
fn control_character_in_a_purpose_title() {
    let err = serve_with_broken_policies(|p| {
        edit(
            &p.join(OM).join("v2.toml"),
            "title.de = \"Fotos vom Workshop\"",
            "title.de = \"Fotos vom Workshop\\u0007\"",
        )
    });
    assert_names(&err, "v2.toml", None, "purpose.title");
    assert!(err.contains("control character"), "{err}");
}

#[test]
fn purpose_without_legal_basis() {
    let line = line_of(&format!("{OM}/v2.toml"), "[[purpose]]");
    let err = serve_with_broken_policies(|p| {
        edit(
            &p.join(OM).join("v2.toml"),
            "legal_basis = \"art6-1-b\"\n",
            "",
        )
    });
    assert_names(&err, "v2.toml", Some(line), "legal_basis");
    assert!(err.contains("missing field"), "{err}");
}

#[test]
fn optional_purpose_must_rest_on_consent() {
    let err = serve_with_broken_policies(|p| {
        edit(
            &p.join(OM).join("v1.toml"),
            "legal_basis = \"art6-1-a\"",
            "legal_basis = \"art6-1-f\"",
        )
    });
    assert_names(&err, "v1.toml", None, "purpose.legal_basis");
}

#[test]
fn misspelled_field() {
    let line = line_of(&format!("{OM}/v2.toml"), "required = true");
    let err = serve_with_broken_policies(|p| {
        edit(
            &p.join(OM).join("v2.toml"),
            "required = true",
            "requierd = true",
        )
    });
    assert_names(&err, "v2.toml", Some(line), "requierd");
}

#[test]
fn unknown_category() {
    let err = serve_with_broken_policies(|p| {
        edit(
            &p.join(OM).join("v2.toml"),
            "categories = [\"fotoaufnahmen\"]",
            "categories = [\"bilder\"]",
        )
    });
    assert_names(&err, "v2.toml", None, "purpose.categories");
    assert!(err.contains("`bilder`"), "{err}");
}

#[test]
fn shipped_policies_are_valid() {
    let out = Command::new(BIN)
        .args(["policies", "check"])
        .env("CONSENTD_POLICIES", shipped_policies())
        .env_remove("CONSENTD_NOW")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("om-workshop-teilnehmende v2 de effective 2021-06-01"),
        "{listing}"
    );
}
