//! The page shell and Markdown rendering for server-rendered pages.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use pulldown_cmark::{Event, Options, Parser};

use super::i18n::Texts;

/// A complete HTML page. No inline script or style: the CSP forbids both.
pub fn page(t: &Texts, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(t.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) " – consentd" }
                link rel="stylesheet" href="/assets/consentd.css";
            }
            body {
                a.skip href="#main" { (t.skip_to_content) }
                main #main { (body) }
            }
        }
    }
}

/// CommonMark to HTML. Raw HTML in a policy text is dropped, not passed through: texts are
/// edited by admins, and a stray tag must not become markup on a consent page.
pub fn markdown(text: &str) -> Markup {
    let parser = Parser::new_ext(
        text,
        Options::ENABLE_TABLES | Options::ENABLE_SMART_PUNCTUATION,
    )
    .filter(|event| !matches!(event, Event::Html(_) | Event::InlineHtml(_)));
    let mut out = String::with_capacity(text.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut out, parser);
    PreEscaped(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn raw_html_is_dropped() {
        let html = super::markdown("## Titel\n\n<script>alert(1)</script>\n\nText <b>fett</b>\n").0;
        assert!(html.contains("<h2>Titel</h2>"));
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<b>"));
    }
}
