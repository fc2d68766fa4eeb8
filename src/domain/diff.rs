//! What changed between two notice versions: a word-level diff of each text, and a
//! field-by-field comparison of the metadata a lawyer reviews.

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use super::notice::{DataCategory, Localized, NoticeVersion, Purpose};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Equal,
    Insert,
    Delete,
}

/// A run of words that is unchanged, added or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Span {
    pub op: Op,
    pub text: String,
}

/// Word-level diff; whitespace belongs to the words around it, so joining all spans of one
/// side gives that side's text back exactly.
pub fn words(old: &str, new: &str) -> Vec<Span> {
    let diff = TextDiff::from_words(old, new);
    let mut spans: Vec<Span> = Vec::new();
    for change in diff.iter_all_changes() {
        let op = match change.tag() {
            ChangeTag::Equal => Op::Equal,
            ChangeTag::Insert => Op::Insert,
            ChangeTag::Delete => Op::Delete,
        };
        match spans.last_mut() {
            Some(last) if last.op == op => last.text.push_str(change.value()),
            _ => spans.push(Span {
                op,
                text: change.value().to_owned(),
            }),
        }
    }
    coalesce(spans)
}

/// Word-by-word alternation ("~~Für~~ Fotos ~~jede~~ behalten") is hard to read. A run of
/// changes interrupted only by whitespace becomes one deletion followed by one insertion.
fn coalesce(spans: Vec<Span>) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut deleted = String::new();
    let mut inserted = String::new();
    let mut pending_space = String::new();
    let flush = |out: &mut Vec<Span>, deleted: &mut String, inserted: &mut String| {
        if !deleted.is_empty() {
            out.push(Span {
                op: Op::Delete,
                text: std::mem::take(deleted),
            });
        }
        if !inserted.is_empty() {
            out.push(Span {
                op: Op::Insert,
                text: std::mem::take(inserted),
            });
        }
    };
    let push_equal = |out: &mut Vec<Span>, text: &str| match out.last_mut() {
        Some(last) if last.op == Op::Equal => last.text.push_str(text),
        _ => out.push(Span {
            op: Op::Equal,
            text: text.to_owned(),
        }),
    };
    for span in spans {
        let in_run = !deleted.is_empty() || !inserted.is_empty();
        match span.op {
            Op::Equal if in_run && span.text.trim().is_empty() && !span.text.contains("\n\n") => {
                pending_space.push_str(&span.text)
            }
            Op::Equal => {
                flush(&mut out, &mut deleted, &mut inserted);
                if !pending_space.is_empty() {
                    let space = std::mem::take(&mut pending_space);
                    push_equal(&mut out, &space);
                }
                push_equal(&mut out, &span.text);
            }
            Op::Delete | Op::Insert => {
                if !pending_space.is_empty() {
                    // Whitespace inside a run belongs to both sides.
                    deleted.push_str(&pending_space);
                    inserted.push_str(&pending_space);
                    pending_space.clear();
                }
                if span.op == Op::Delete {
                    deleted.push_str(&span.text)
                } else {
                    inserted.push_str(&span.text)
                }
            }
        }
    }
    flush(&mut out, &mut deleted, &mut inserted);
    if !pending_space.is_empty() {
        push_equal(&mut out, &pending_space);
    }
    out
}

pub fn has_changes(spans: &[Span]) -> bool {
    spans.iter().any(|s| s.op != Op::Equal)
}

/// One changed field of a purpose or category, old and new as word spans.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    pub old: String,
    pub new: String,
    pub spans: Vec<Span>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ItemChange {
    pub id: String,
    pub fields: Vec<FieldChange>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ListDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<ItemChange>,
}

impl ListDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TextDiffOut {
    pub language: String,
    pub changed: bool,
    /// The old version had a text in this language and the new one has none: participants
    /// who read that language get another one.
    pub dropped: bool,
    pub spans: Vec<Span>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VersionDiff {
    pub notice: String,
    pub from_version: u32,
    pub to_version: u32,
    pub effective: Option<FieldChange>,
    pub texts: Vec<TextDiffOut>,
    pub purposes: ListDiff,
    pub categories: ListDiff,
    pub recipients: ListDiff,
    /// Purposes a consent under the old version does not cover any more: added, changed, or
    /// processing a data category that was added or changed (e.g. its storage period).
    pub purposes_affected: Vec<String>,
}

impl VersionDiff {
    pub fn purposes_needing_reconsent(&self) -> Vec<String> {
        self.purposes_affected.clone()
    }
}

fn loc(l: &Localized) -> String {
    match &l.en {
        Some(en) => format!("{} / {}", l.de, en),
        None => l.de.clone(),
    }
}

fn opt_loc(l: &Option<Localized>) -> String {
    l.as_ref().map(loc).unwrap_or_default()
}

fn field(name: &str, old: String, new: String) -> Option<FieldChange> {
    (old != new).then(|| FieldChange {
        field: name.to_owned(),
        spans: words(&old, &new),
        old,
        new,
    })
}

fn purpose_fields(a: &Purpose, b: &Purpose) -> Vec<FieldChange> {
    [
        field("title", loc(&a.title), loc(&b.title)),
        field(
            "description",
            opt_loc(&a.description),
            opt_loc(&b.description),
        ),
        field("required", a.required.to_string(), b.required.to_string()),
        field(
            "legal_basis",
            a.legal_basis.code().to_owned(),
            b.legal_basis.code().to_owned(),
        ),
        field(
            "categories",
            a.categories.join(", "),
            b.categories.join(", "),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn category_fields(a: &DataCategory, b: &DataCategory) -> Vec<FieldChange> {
    [
        field("title", loc(&a.title), loc(&b.title)),
        field("storage", opt_loc(&a.storage), opt_loc(&b.storage)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn list_diff<T>(
    old: &[T],
    new: &[T],
    id: impl Fn(&T) -> String,
    fields: impl Fn(&T, &T) -> Vec<FieldChange>,
) -> ListDiff {
    let mut out = ListDiff::default();
    for n in new {
        match old.iter().find(|o| id(o) == id(n)) {
            None => out.added.push(id(n)),
            Some(o) => {
                let changes = fields(o, n);
                if !changes.is_empty() {
                    out.changed.push(ItemChange {
                        id: id(n),
                        fields: changes,
                    });
                }
            }
        }
    }
    for o in old {
        if !new.iter().any(|n| id(n) == id(o)) {
            out.removed.push(id(o));
        }
    }
    out
}

pub fn versions(old: &NoticeVersion, new: &NoticeVersion) -> VersionDiff {
    let mut texts = Vec::new();
    let languages: std::collections::BTreeSet<_> =
        old.texts.keys().chain(new.texts.keys()).collect();
    for lang in languages {
        let text = |v: &NoticeVersion| v.texts.get(lang).map(|t| t.markdown.clone());
        let (old_text, new_text) = (text(old), text(new));
        let spans = words(
            old_text.as_deref().unwrap_or(""),
            new_text.as_deref().unwrap_or(""),
        );
        texts.push(TextDiffOut {
            language: lang.code().to_owned(),
            changed: has_changes(&spans),
            dropped: old_text.is_some() && new_text.is_none(),
            spans,
        });
    }
    let purposes = list_diff(
        &old.purposes,
        &new.purposes,
        |p| p.id.clone(),
        purpose_fields,
    );
    let categories = list_diff(
        &old.categories,
        &new.categories,
        |c| c.id.clone(),
        category_fields,
    );
    let touched_categories: Vec<&String> = categories
        .added
        .iter()
        .chain(categories.changed.iter().map(|c| &c.id))
        .collect();
    let purposes_affected = new
        .purposes
        .iter()
        .filter(|p| {
            purposes.added.contains(&p.id)
                || purposes.changed.iter().any(|c| c.id == p.id)
                || p.categories.iter().any(|c| touched_categories.contains(&c))
        })
        .map(|p| p.id.clone())
        .collect();
    VersionDiff {
        notice: new.notice_id.clone(),
        from_version: old.version,
        to_version: new.version,
        effective: field(
            "effective",
            old.effective.to_string(),
            new.effective.to_string(),
        ),
        texts,
        purposes,
        categories,
        recipients: list_diff(&old.recipients, &new.recipients, loc, |_, _| Vec::new()),
        purposes_affected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_diff_reassembles_both_sides() {
        let old = "Wir speichern Ihre Daten so lange wie nötig.\n";
        let new = "Wir speichern Ihre Daten drei Jahre lang.\n";
        let spans = words(old, new);
        let side = |keep: Op| {
            spans
                .iter()
                .filter(|s| s.op == Op::Equal || s.op == keep)
                .map(|s| s.text.as_str())
                .collect::<String>()
        };
        assert_eq!(side(Op::Delete), old);
        assert_eq!(side(Op::Insert), new);
        assert!(
            spans
                .iter()
                .any(|s| s.op == Op::Insert && s.text.contains("drei"))
        );
        assert!(
            spans
                .iter()
                .any(|s| s.op == Op::Delete && s.text.contains("nötig"))
        );
        // One deletion and one insertion, not word-by-word alternation.
        assert_eq!(
            spans.iter().filter(|s| s.op != Op::Equal).count(),
            2,
            "{spans:?}"
        );
    }
}
