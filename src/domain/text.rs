//! Free text as people type it: trimmed, of bounded length, and without characters that do
//! not print (PostgreSQL also refuses NUL). One line for names, titles and places; several
//! for notes, comments and notice texts, where line breaks and tabs are text.

use super::consent::FieldError;

/// Whether `c` may stand in such a text: nothing invisible but, in `multiline` text, line
/// breaks and tabs.
pub fn prints(c: char, multiline: bool) -> bool {
    !c.is_control() || (multiline && matches!(c, '\n' | '\r' | '\t'))
}

/// One line of at most `max_chars`; `None` when empty.
pub fn line(raw: &str, field: &str, max_chars: usize) -> Result<Option<String>, FieldError> {
    checked(raw, field, max_chars, false)
}

/// Several lines of at most `max_chars` in all; `None` when empty.
pub fn note(raw: &str, field: &str, max_chars: usize) -> Result<Option<String>, FieldError> {
    checked(raw, field, max_chars, true)
}

fn checked(
    raw: &str,
    field: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<Option<String>, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.chars().count() > max_chars {
        return Err(FieldError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if !text.chars().all(|c| prints(c, multiline)) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(Some(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::{line, note};

    #[test]
    fn texts_are_plain() {
        assert_eq!(note("  ", "reason", 10), Ok(None));
        assert_eq!(
            note(" Zeile 1\nZeile 2 ", "reason", 20),
            Ok(Some("Zeile 1\nZeile 2".into()))
        );
        assert!(note("a\u{0}b", "reason", 10).is_err());
        assert!(note("abcdefghijk", "reason", 10).is_err());
        assert!(line("a\nb", "location", 10).is_err());
        assert_eq!(line(" Bonn ", "location", 10), Ok(Some("Bonn".into())));
    }
}
