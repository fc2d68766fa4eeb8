//! PDF rendering of a privacy notice version ("Datenschutzhinweise") for filing, and of
//! other documents for filing ([`FilingDocument`]: deletion report, deletion concept) with
//! the same layout.
//!
//! Layout is done by hand: words are measured with the fonts' horizontal advance widths
//! (the same values written into the fonts' `/W` arrays), lines are broken greedily,
//! pages are filled top to bottom, and only once every page exists are the header
//! ("<title> · Fassung N") and footer ("Seite x von y", shortened hash) drawn. The fonts
//! are in [`super::fonts`], the PDF file syntax in [`super::writer`].
//!
//! Determinism: fonts have fixed resource names (which also fix the `XXXXXX+` subset
//! tag), the info dictionary dates are derived from the input, and the trailer `/ID`
//! is a hash of the input.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Serialize;

use super::fonts::{Fonts, Style, display_char, fonts};
use super::writer::{self, Info, PageOp};

// ---------------------------------------------------------------------------------
// Public input types
// ---------------------------------------------------------------------------------

/// One processing purpose, shown as a row of the purposes table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfPurpose {
    pub title: String,
    pub legal_basis: String,
    pub required: bool,
    pub categories: String,
}

/// One data category with its storage period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfCategory {
    pub title: String,
    pub storage: String,
}

/// One entry of the review trail ("Prüfverlauf").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfReviewEntry {
    pub at: String,
    pub who: String,
    pub action: String,
    pub comment: String,
}

/// Everything that goes into the filed PDF of one notice version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticePdf {
    pub notice_title: String,
    pub controller: String,
    pub controller_address: String,
    pub notice_id: String,
    pub version: u32,
    pub language: String,
    pub effective: String,
    pub state: String,
    pub content_sha256: String,
    pub text_sha256: String,
    pub markdown: String,
    pub purposes: Vec<PdfPurpose>,
    pub categories: Vec<PdfCategory>,
    pub recipients: Vec<String>,
    pub review_trail: Vec<PdfReviewEntry>,
}

/// A table of a [`FilingDocument`]. `widths` are relative column widths, one per header.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FilingTable {
    pub headers: Vec<String>,
    pub widths: Vec<f32>,
    pub rows: Vec<Vec<String>>,
}

/// One block of a [`FilingDocument`]'s body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum FilingBlock {
    /// A section title with a rule above it (as "Metadaten" in the notice PDF).
    Section(String),
    /// A heading inside a section.
    Heading(String),
    /// Markdown: headings, paragraphs, lists, quotes, code (no tables).
    Markdown(String),
    /// An italic remark, e.g. "Keine Einträge".
    Note(String),
    /// Label/value rows.
    Facts(Vec<(String, String)>),
    /// A table whose header row is repeated on every page it spans.
    Table(FilingTable),
}

/// A document for filing other than a notice, laid out like the notice PDF: a title block
/// (title, intro lines, label/value rows), the body, and a running header and footer.
/// Serialisable so that benchmarks can hand the same content to another renderer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilingDocument {
    pub title: String,
    /// Lines under the title.
    pub intro: Vec<String>,
    /// Label/value rows of the title block.
    pub facts: Vec<(String, String)>,
    pub body: Vec<FilingBlock>,
    pub header_left: String,
    pub header_right: String,
    /// Left of the footer; "Seite x von y" is on the right.
    pub footer_left: String,
    /// Info dictionary.
    pub author: String,
    pub subject: String,
    pub keywords: Vec<String>,
    /// ASCII; non-graphic characters are dropped.
    pub identifier: String,
    /// The info dictionary's dates. Passed in, never the wall clock, so that equal input
    /// gives equal bytes.
    pub date: chrono::DateTime<chrono::Utc>,
    /// "Seite x von y" or "Page x of y" in the footer.
    pub page_numbering: PageNumbering,
}

/// The language of the page numbers in the footer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub enum PageNumbering {
    #[default]
    German,
    English,
}

// ---------------------------------------------------------------------------------
// Page geometry (PDF points, origin bottom left)
// ---------------------------------------------------------------------------------

const MM: f32 = 72.0 / 25.4;
const PAGE_W: f32 = 210.0 * MM;
const PAGE_H: f32 = 297.0 * MM;
const LEFT: f32 = 20.0 * MM;
const RIGHT: f32 = PAGE_W - 20.0 * MM;
const CONTENT_W: f32 = RIGHT - LEFT;
/// Top of the first content line box.
const TOP: f32 = PAGE_H - 20.0 * MM;
/// Lowest allowed bottom of a content line box.
const BOTTOM: f32 = 21.0 * MM;
const HEADER_BASELINE: f32 = PAGE_H - 11.5 * MM;
const HEADER_RULE: f32 = PAGE_H - 13.5 * MM;
const FOOTER_RULE: f32 = 15.5 * MM;
const FOOTER_BASELINE: f32 = 11.0 * MM;

const BODY_SIZE: f32 = 10.0;
const BODY_LH: f32 = 14.0;
const SMALL_SIZE: f32 = 9.0;
const SMALL_LH: f32 = 12.5;
const TABLE_SIZE: f32 = 8.5;
const TABLE_LH: f32 = 11.0;
const CELL_PAD_X: f32 = 3.0;
const CELL_PAD_Y: f32 = 3.0;
const DECO_SIZE: f32 = 7.5;
/// Minimum width any text block is given, however deep it is indented.
const MIN_TEXT_W: f32 = 60.0;
/// Markdown container nesting deeper than this is flattened (keeps recursion bounded).
const MAX_DEPTH: usize = 8;

const BLACK: f32 = 0.0;
const GREY_TEXT: f32 = 0.35;
const GREY_RULE: f32 = 0.55;
const GREY_FILL: f32 = 0.90;

// ---------------------------------------------------------------------------------
// Inline text model and word wrapping
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Span {
    Text(Style, String),
    Break,
}

/// A laid-out line: runs of text with their style, spaces included.
type RLine = Vec<(Style, String)>;

enum Tok {
    Word(Vec<(Style, String)>),
    Space(Style),
    Break,
}

fn push_run(line: &mut RLine, st: Style, c: char) {
    match line.last_mut() {
        Some((s, t)) if *s == st => t.push(c),
        _ => line.push((st, c.to_string())),
    }
}

fn push_runs(line: &mut RLine, runs: &[(Style, String)]) {
    for (st, t) in runs {
        match line.last_mut() {
            Some((s, l)) if s == st => l.push_str(t),
            _ => line.push((*st, t.clone())),
        }
    }
}

/// Text spans for a plain string; `\n` becomes a hard line break.
fn plain_spans(st: Style, text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    for (i, part) in text.replace("\r\n", "\n").split(['\n', '\r']).enumerate() {
        if i > 0 {
            out.push(Span::Break);
        }
        if !part.is_empty() {
            out.push(Span::Text(st, part.to_string()));
        }
    }
    out
}

fn tokenize(f: &Fonts, spans: &[Span]) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut word: Vec<(Style, String)> = Vec::new();
    for span in spans {
        match span {
            Span::Break => {
                if !word.is_empty() {
                    toks.push(Tok::Word(std::mem::take(&mut word)));
                }
                toks.push(Tok::Break);
            }
            Span::Text(st, text) => {
                for c in f.clean(*st, text).chars() {
                    if c == ' ' {
                        if !word.is_empty() {
                            toks.push(Tok::Word(std::mem::take(&mut word)));
                        }
                        if !matches!(toks.last(), Some(Tok::Space(_))) {
                            toks.push(Tok::Space(*st));
                        }
                    } else {
                        push_run(&mut word, *st, c);
                    }
                }
            }
        }
    }
    if !word.is_empty() {
        toks.push(Tok::Word(word));
    }
    toks
}

fn is_break_after(c: char) -> bool {
    matches!(
        c,
        '/' | '-'
            | '\u{2010}'
            | '\u{2013}'
            | '\u{2014}'
            | '_'
            | '.'
            | ','
            | ';'
            | ':'
            | '?'
            | '&'
            | '='
    )
}

/// Greedy line breaking. Words longer than `width` are split, preferably after a
/// slash or hyphen, otherwise between any two characters. Never returns an empty
/// vector for non-empty input and always makes progress.
fn wrap(f: &Fonts, spans: &[Span], width: f32, size: f32) -> Vec<RLine> {
    let width = width.max(MIN_TEXT_W.min(CONTENT_W));
    let mut lines: Vec<RLine> = Vec::new();
    let mut cur: RLine = Vec::new();
    let mut cur_w = 0.0f32;
    let mut pending_space: Option<Style> = None;

    for tok in tokenize(f, spans) {
        match tok {
            Tok::Space(st) => {
                if !cur.is_empty() {
                    pending_space = Some(st);
                }
            }
            Tok::Break => {
                lines.push(std::mem::take(&mut cur));
                cur_w = 0.0;
                pending_space = None;
            }
            Tok::Word(runs) => {
                let ww: f32 = runs.iter().map(|(st, t)| f.width(*st, size, t)).sum();
                let sw = pending_space
                    .map(|st| f.width(st, size, " "))
                    .unwrap_or(0.0);
                if !cur.is_empty() && cur_w + sw + ww <= width {
                    if let Some(st) = pending_space {
                        push_run(&mut cur, st, ' ');
                    }
                    push_runs(&mut cur, &runs);
                    cur_w += sw + ww;
                } else {
                    if !cur.is_empty() {
                        lines.push(std::mem::take(&mut cur));
                    }
                    if ww <= width {
                        push_runs(&mut cur, &runs);
                        cur_w = ww;
                    } else {
                        cur_w = split_long_word(f, &runs, width, size, &mut lines, &mut cur);
                    }
                }
                pending_space = None;
            }
        }
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

/// Splits a word that does not fit on an empty line. Full lines go to `lines`, the
/// remainder becomes `cur`; returns the width of the remainder.
fn split_long_word(
    f: &Fonts,
    runs: &[(Style, String)],
    width: f32,
    size: f32,
    lines: &mut Vec<RLine>,
    cur: &mut RLine,
) -> f32 {
    let chars: Vec<(Style, char, f32)> = runs
        .iter()
        .flat_map(|(st, t)| t.chars().map(move |c| (*st, c)))
        .map(|(st, c)| (st, c, f.char_width(st, size, c)))
        .collect();
    let mut start = 0usize;
    let mut rest_w = 0.0;
    while start < chars.len() {
        let mut w = 0.0f32;
        let mut end = start;
        let mut last_break: Option<usize> = None;
        while end < chars.len() && (end == start || w + chars[end].2 <= width) {
            w += chars[end].2;
            if is_break_after(chars[end].1) && end + 1 < chars.len() {
                last_break = Some(end + 1);
            }
            end += 1;
        }
        let mut line: RLine = Vec::new();
        if end < chars.len() {
            if let Some(b) = last_break {
                // only use the break opportunity if it keeps at least a third of the line
                let bw: f32 = chars[start..b].iter().map(|c| c.2).sum();
                if b > start && bw >= width / 3.0 {
                    end = b;
                }
            }
            for &(st, c, _) in &chars[start..end] {
                push_run(&mut line, st, c);
            }
            lines.push(line);
        } else {
            for &(st, c, _) in &chars[start..end] {
                push_run(&mut line, st, c);
            }
            *cur = line;
            rest_w = w;
        }
        start = end;
    }
    rest_w
}

// ---------------------------------------------------------------------------------
// Markdown to a small block model
// ---------------------------------------------------------------------------------

#[derive(Debug)]
enum Block {
    Heading(u8, Vec<Span>),
    Para {
        spans: Vec<Span>,
        tight: bool,
    },
    List {
        start: Option<u64>,
        items: Vec<Vec<Block>>,
    },
    Quote(Vec<Block>),
    Code(String),
    Rule,
}

enum Cont {
    Root(Vec<Block>),
    Quote(Vec<Block>),
    List(Option<u64>, Vec<Vec<Block>>),
    Item(Vec<Block>),
}

struct MdBuilder {
    stack: Vec<Cont>,
    /// For every container start event: whether a container was really pushed
    /// (false when nesting was flattened because of `MAX_DEPTH`).
    pushed: Vec<bool>,
    pending: Vec<Span>,
    heading: Option<u8>,
    code: Option<String>,
    bold: u32,
    italic: u32,
    links: Vec<(String, usize)>,
}

impl MdBuilder {
    fn style(&self) -> Style {
        Style::from_flags(self.bold > 0, self.italic > 0)
    }

    fn push_block(&mut self, b: Block) {
        match self.stack.last_mut() {
            Some(Cont::Root(v)) | Some(Cont::Quote(v)) | Some(Cont::Item(v)) => v.push(b),
            Some(Cont::List(_, items)) => match items.last_mut() {
                Some(item) => item.push(b),
                None => items.push(vec![b]),
            },
            None => self.stack.push(Cont::Root(vec![b])),
        }
    }

    fn flush(&mut self, tight: bool) {
        if self
            .pending
            .iter()
            .any(|s| matches!(s, Span::Text(_, t) if !t.trim().is_empty()))
        {
            let spans = std::mem::take(&mut self.pending);
            self.push_block(Block::Para { spans, tight });
        }
        self.pending.clear();
    }

    fn open(&mut self, c: Cont) {
        self.flush(true);
        if self.stack.len() <= MAX_DEPTH {
            self.stack.push(c);
            self.pushed.push(true);
        } else {
            self.pushed.push(false);
        }
    }

    fn close(&mut self) {
        self.flush(true);
        if !self.pushed.pop().unwrap_or(false) || self.stack.len() <= 1 {
            return;
        }
        let Some(top) = self.stack.pop() else { return };
        match top {
            Cont::Item(blocks) => match self.stack.last_mut() {
                Some(Cont::List(_, items)) => items.push(blocks),
                _ => {
                    for b in blocks {
                        self.push_block(b);
                    }
                }
            },
            Cont::List(start, items) => self.push_block(Block::List { start, items }),
            Cont::Quote(blocks) => self.push_block(Block::Quote(blocks)),
            Cont::Root(blocks) => {
                for b in blocks {
                    self.push_block(b);
                }
            }
        }
    }

    fn text(&mut self, t: &str) {
        if let Some(code) = self.code.as_mut() {
            code.push_str(t);
        } else {
            let st = self.style();
            self.pending.push(Span::Text(st, t.to_string()));
        }
    }

    fn pending_text_since(&self, idx: usize) -> String {
        let mut s = String::new();
        for sp in self.pending.iter().skip(idx) {
            if let Span::Text(_, t) = sp {
                s.push_str(t);
            }
        }
        s
    }
}

fn parse_markdown(md: &str) -> Vec<Block> {
    let mut b = MdBuilder {
        stack: vec![Cont::Root(Vec::new())],
        pushed: Vec::new(),
        pending: Vec::new(),
        heading: None,
        code: None,
        bold: 0,
        italic: 0,
        links: Vec::new(),
    };
    for ev in Parser::new_ext(md, Options::empty()) {
        match ev {
            Event::Start(tag) => match tag {
                Tag::Paragraph => b.flush(true),
                Tag::Heading { level, .. } => {
                    b.flush(true);
                    b.heading = Some(match level {
                        HeadingLevel::H1 => 1,
                        HeadingLevel::H2 => 2,
                        HeadingLevel::H3 => 3,
                        HeadingLevel::H4 => 4,
                        HeadingLevel::H5 => 5,
                        HeadingLevel::H6 => 6,
                    });
                }
                Tag::BlockQuote(_) => b.open(Cont::Quote(Vec::new())),
                Tag::CodeBlock(_) => {
                    b.flush(true);
                    b.code = Some(String::new());
                }
                Tag::List(start) => b.open(Cont::List(start, Vec::new())),
                Tag::Item => b.open(Cont::Item(Vec::new())),
                Tag::Emphasis => b.italic = b.italic.saturating_add(1),
                Tag::Strong => b.bold = b.bold.saturating_add(1),
                Tag::Link { dest_url, .. } => {
                    let idx = b.pending.len();
                    b.links.push((dest_url.to_string(), idx));
                }
                Tag::HtmlBlock => b.flush(true),
                _ => {}
            },
            Event::End(tag) => match tag {
                TagEnd::Paragraph => b.flush(false),
                TagEnd::Heading(_) => {
                    let level = b.heading.take().unwrap_or(2);
                    let spans = std::mem::take(&mut b.pending);
                    if spans
                        .iter()
                        .any(|s| matches!(s, Span::Text(_, t) if !t.trim().is_empty()))
                    {
                        b.push_block(Block::Heading(level, spans));
                    }
                }
                TagEnd::BlockQuote(_) | TagEnd::List(_) | TagEnd::Item => b.close(),
                TagEnd::CodeBlock => {
                    if let Some(code) = b.code.take() {
                        b.push_block(Block::Code(code));
                    }
                }
                TagEnd::Emphasis => b.italic = b.italic.saturating_sub(1),
                TagEnd::Strong => b.bold = b.bold.saturating_sub(1),
                TagEnd::Link => {
                    if let Some((url, idx)) = b.links.pop() {
                        let shown = b.pending_text_since(idx);
                        let bare = url.strip_prefix("mailto:").unwrap_or(&url);
                        if !url.is_empty() && shown.trim() != url && shown.trim() != bare {
                            b.pending.push(Span::Text(b.style(), format!(" ({url})")));
                        }
                    }
                }
                TagEnd::HtmlBlock => b.flush(true),
                _ => {}
            },
            Event::Text(t) | Event::Code(t) | Event::InlineMath(t) | Event::DisplayMath(t) => {
                b.text(&t)
            }
            Event::Html(t) | Event::InlineHtml(t) => b.text(&t),
            Event::FootnoteReference(t) => b.text(&format!("[{t}]")),
            Event::SoftBreak => b.text(" "),
            Event::HardBreak => {
                if let Some(code) = b.code.as_mut() {
                    code.push('\n');
                } else {
                    b.pending.push(Span::Break);
                }
            }
            Event::Rule => {
                b.flush(true);
                b.push_block(Block::Rule);
            }
            Event::TaskListMarker(done) => b.text(if done { "☑ " } else { "☐ " }),
        }
    }
    // unbalanced input cannot happen with pulldown-cmark, but be defensive
    if let Some(code) = b.code.take() {
        b.push_block(Block::Code(code));
    }
    b.flush(true);
    while b.stack.len() > 1 {
        b.pushed.push(true);
        b.close();
    }
    match b.stack.pop() {
        Some(Cont::Root(v)) | Some(Cont::Quote(v)) | Some(Cont::Item(v)) => v,
        Some(Cont::List(start, items)) => vec![Block::List { start, items }],
        None => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------
// Page layout
// ---------------------------------------------------------------------------------

struct Layout<'f> {
    f: &'f Fonts,
    pages: Vec<Vec<PageOp>>,
    ops: Vec<PageOp>,
    /// Top of the next line box.
    y: f32,
    /// List marker waiting to be drawn on the baseline of the item's first line.
    marker: Option<(String, f32)>,
}

/// Baseline of line `k` of a block whose top is `top`, vertically centred in the
/// line box.
fn baseline(top: f32, k: usize, lh: f32, size: f32) -> f32 {
    top - k as f32 * lh - lh / 2.0 - 0.33 * size
}

fn text_ops(ops: &mut Vec<PageOp>, st: Style, size: f32, x: f32, y: f32, text: &str) {
    grey_text_ops(ops, st, size, x, y, BLACK, text);
}

fn grey_text_ops(ops: &mut Vec<PageOp>, st: Style, size: f32, x: f32, y: f32, g: f32, text: &str) {
    if text.trim().is_empty() {
        return;
    }
    ops.push(PageOp::Text {
        style: st,
        size,
        x,
        y,
        grey: g,
        text: text.chars().map(display_char).collect(),
    });
}

fn hline_ops(ops: &mut Vec<PageOp>, x1: f32, x2: f32, y: f32, thickness: f32, g: f32) {
    ops.push(PageOp::HLine {
        x1,
        x2,
        y,
        thickness,
        grey: g,
    });
}

fn fill_rect_ops(ops: &mut Vec<PageOp>, x: f32, y: f32, w: f32, h: f32, g: f32) {
    if w <= 0.0 || h <= 0.0 {
        return;
    }
    ops.push(PageOp::Fill {
        x,
        y,
        w,
        h,
        grey: g,
    });
}

/// Shortens `text` (already cleaned) to `max_w`, appending "…" when cut.
fn fit(f: &Fonts, st: Style, size: f32, text: &str, max_w: f32) -> String {
    if f.width(st, size, text) <= max_w {
        return text.to_string();
    }
    let ell = f.width(st, size, "…");
    let mut w = 0.0;
    let mut out = String::new();
    for c in text.chars() {
        let cw = f.char_width(st, size, c);
        if w + cw + ell > max_w {
            break;
        }
        w += cw;
        out.push(c);
    }
    let trimmed = out.trim_end().to_string();
    format!("{trimmed}…")
}

struct Table<'a> {
    headers: &'a [&'a str],
    fracs: &'a [f32],
    rows: Vec<Vec<String>>,
}

impl<'f> Layout<'f> {
    fn new(f: &'f Fonts) -> Self {
        Layout {
            f,
            pages: Vec::new(),
            ops: Vec::new(),
            y: TOP,
            marker: None,
        }
    }

    fn new_page(&mut self) {
        self.pages.push(std::mem::take(&mut self.ops));
        self.y = TOP;
    }

    fn at_top(&self) -> bool {
        (self.y - TOP).abs() < 0.01
    }

    fn remaining(&self) -> f32 {
        self.y - BOTTOM
    }

    /// Vertical space; swallowed at the top of a page.
    fn space(&mut self, h: f32) {
        if !self.at_top() {
            self.y -= h;
        }
    }

    /// Starts a new page unless `h` more points fit (or we already are at the top).
    fn ensure(&mut self, h: f32) {
        if self.y - h < BOTTOM - 0.01 && !self.at_top() {
            self.new_page();
        }
    }

    fn draw_line_runs(&mut self, line: &RLine, x: f32, base: f32, size: f32) {
        let mut cx = x;
        for (st, t) in line {
            text_ops(&mut self.ops, *st, size, cx, base, t);
            cx += self.f.width(*st, size, t);
        }
    }

    fn take_marker(&mut self, base: f32, size: f32) {
        if let Some((m, mx)) = self.marker.take() {
            text_ops(&mut self.ops, Style::Regular, size, mx, base, &m);
        }
    }

    /// Draws pre-wrapped lines, breaking pages between lines as needed.
    fn lines(&mut self, lines: &[RLine], x: f32, size: f32, lh: f32) {
        for line in lines {
            self.ensure(lh);
            let base = baseline(self.y, 0, lh, size);
            self.take_marker(base, size);
            self.draw_line_runs(line, x, base, size);
            self.y -= lh;
        }
    }

    fn text(&mut self, spans: &[Span], x: f32, width: f32, size: f32, lh: f32) {
        let lines = wrap(self.f, spans, width, size);
        self.lines(&lines, x, size, lh);
    }

    /// Draws a pending list marker on a line of its own (item without text).
    fn flush_marker(&mut self) {
        if self.marker.is_some() {
            self.ensure(BODY_LH);
            let base = baseline(self.y, 0, BODY_LH, BODY_SIZE);
            self.take_marker(base, BODY_SIZE);
            self.y -= BODY_LH;
        }
    }

    /// `keep_extra`: additional height that must follow on the same page (used when
    /// the next block is a heading too, so headings never end up alone at the bottom).
    fn heading(&mut self, level: u8, spans: &[Span], x: f32, keep_extra: f32) {
        let (size, lh, before, after) = match level {
            1 => (15.0, 19.0, 14.0, 5.0),
            2 => (13.0, 17.0, 12.0, 4.0),
            3 => (11.5, 15.0, 9.0, 3.0),
            _ => (10.5, 14.0, 7.0, 2.0),
        };
        let spans: Vec<Span> = spans
            .iter()
            .map(|s| match s {
                Span::Text(st, t) => Span::Text(st.bolded(), t.clone()),
                Span::Break => Span::Break,
            })
            .collect();
        let width = (RIGHT - x).max(MIN_TEXT_W);
        let lines = wrap(self.f, &spans, width, size);
        self.space(before);
        // keep the heading together with (at least) two following body lines
        let need = lines.len() as f32 * lh + after + 2.0 * BODY_LH + keep_extra;
        if need <= TOP - BOTTOM {
            self.ensure(need);
        }
        self.lines(&lines, x, size, lh);
        self.y -= after;
    }

    fn section_title(&mut self, title: &str) {
        self.space(16.0);
        self.ensure(19.0 + 6.0 + 3.0 * BODY_LH + 4.0);
        hline_ops(&mut self.ops, LEFT, RIGHT, self.y, 0.8, BLACK);
        self.y -= 4.0;
        self.lines(
            &wrap(self.f, &plain_spans(Style::Bold, title), CONTENT_W, 15.0),
            LEFT,
            15.0,
            19.0,
        );
        self.y -= 5.0;
    }

    fn sub_title(&mut self, title: &str) {
        self.heading(3, &plain_spans(Style::Bold, title), LEFT, 0.0);
    }

    fn rule(&mut self, x: f32) {
        self.flush_marker();
        self.ensure(10.0);
        hline_ops(&mut self.ops, x, RIGHT, self.y - 5.0, 0.5, GREY_RULE);
        self.y -= 10.0;
    }

    fn blocks(&mut self, blocks: &[Block], x: f32, depth: usize) {
        let width = (RIGHT - x).max(MIN_TEXT_W);
        for (bi, block) in blocks.iter().enumerate() {
            match block {
                Block::Heading(level, spans) => {
                    // a pending list marker is drawn on the heading's first line
                    let keep_extra = match blocks.get(bi + 1) {
                        Some(Block::Heading(..)) => 32.0,
                        _ => 0.0,
                    };
                    self.heading(*level, spans, x, keep_extra);
                }
                Block::Para { spans, tight } => {
                    self.text(spans, x, width, BODY_SIZE, BODY_LH);
                    self.y -= if *tight { 1.5 } else { 5.0 };
                }
                Block::List { start, items } => {
                    self.flush_marker();
                    let labels: Vec<String> = (0..items.len())
                        .map(|i| match start {
                            Some(n) => format!("{}.", n.saturating_add(i as u64)),
                            None => "•".to_string(),
                        })
                        .collect();
                    let widest = labels
                        .iter()
                        .map(|l| self.f.width(Style::Regular, BODY_SIZE, l))
                        .fold(0.0f32, f32::max);
                    let hang = if start.is_some() {
                        (widest + 6.0).max(16.0)
                    } else {
                        12.0
                    };
                    // the hang is capped so deep nesting never runs off the page
                    let child_x = (x + hang).min(RIGHT - MIN_TEXT_W);
                    for (item, label) in items.iter().zip(labels) {
                        let mx = if start.is_some() {
                            // right-align numbers against the text column
                            (child_x - 4.0 - self.f.width(Style::Regular, BODY_SIZE, &label)).max(x)
                        } else {
                            x + 2.0
                        };
                        self.marker = Some((label, mx));
                        self.blocks(item, child_x, depth + 1);
                        self.flush_marker();
                        self.y -= 1.5;
                    }
                    if depth == 0 {
                        self.y -= 3.5;
                    }
                }
                Block::Quote(inner) => {
                    self.flush_marker();
                    let child_x = (x + 14.0).min(RIGHT - MIN_TEXT_W);
                    self.blocks(inner, child_x, depth + 1);
                }
                Block::Code(code) => {
                    let cx = (x + 8.0).min(RIGHT - MIN_TEXT_W);
                    let code = code.strip_suffix('\n').unwrap_or(code);
                    self.text(
                        &plain_spans(Style::Regular, code),
                        cx,
                        (RIGHT - cx).max(MIN_TEXT_W),
                        SMALL_SIZE,
                        SMALL_LH,
                    );
                    self.y -= 5.0;
                }
                Block::Rule => self.rule(x),
            }
        }
    }

    /// Label/value rows of the title block. A row whose label is too wide for the
    /// label column, or whose value does not fit on one line next to it, is stacked:
    /// label on its own line, value below, slightly indented.
    fn key_values(&mut self, rows: &[(&str, String)]) {
        const LABEL_COL: f32 = 100.0;
        let f = self.f;
        let value_x = LEFT + LABEL_COL;
        for (label, value) in rows {
            let label_spans = plain_spans(Style::Bold, label);
            let value_spans = plain_spans(Style::Regular, value);
            let lab = wrap(f, &label_spans, LABEL_COL - 10.0, SMALL_SIZE);
            let side = wrap(f, &value_spans, RIGHT - value_x, SMALL_SIZE);
            if side.len() <= 1 && lab.len() <= 1 {
                self.ensure(SMALL_LH);
                let base = baseline(self.y, 0, SMALL_LH, SMALL_SIZE);
                if let Some(l) = lab.first() {
                    self.draw_line_runs(l, LEFT, base, SMALL_SIZE);
                }
                if let Some(v) = side.first() {
                    self.draw_line_runs(v, value_x, base, SMALL_SIZE);
                }
                self.y -= SMALL_LH;
            } else {
                self.ensure(2.0 * SMALL_LH);
                self.text(&label_spans, LEFT, CONTENT_W, SMALL_SIZE, SMALL_LH);
                let vx = LEFT + 12.0;
                self.text(&value_spans, vx, RIGHT - vx, SMALL_SIZE, SMALL_LH);
            }
            self.y -= 1.0;
        }
    }

    fn title_block(&mut self, d: &NoticePdf) {
        let title = if d.notice_title.trim().is_empty() {
            "Datenschutzhinweise"
        } else {
            d.notice_title.as_str()
        };
        self.lines(
            &wrap(self.f, &plain_spans(Style::Bold, title), CONTENT_W, 17.0),
            LEFT,
            17.0,
            21.0,
        );
        self.y -= 6.0;

        let mut ctrl = plain_spans(Style::Regular, "Verantwortlicher: ");
        ctrl.extend(plain_spans(Style::Bold, &d.controller));
        self.text(&ctrl, LEFT, CONTENT_W, BODY_SIZE, BODY_LH);
        if !d.controller_address.trim().is_empty() {
            self.text(
                &plain_spans(Style::Regular, d.controller_address.trim()),
                LEFT,
                CONTENT_W,
                BODY_SIZE,
                BODY_LH,
            );
        }
        self.y -= 8.0;

        let language = match d.language.trim() {
            "de" => "Deutsch (de)".to_string(),
            "en" => "Englisch (en)".to_string(),
            other => other.to_string(),
        };
        let rows = [
            ("Hinweis-ID", d.notice_id.clone()),
            ("Fassung", d.version.to_string()),
            ("Sprache", language),
            ("Gültig ab", d.effective.clone()),
            ("Status", d.state.clone()),
            ("SHA-256 (Text)", d.text_sha256.clone()),
            (
                "SHA-256 (Fassung inkl. Metadaten)",
                d.content_sha256.clone(),
            ),
        ];
        self.key_values(&rows);
        self.y -= 6.0;
        self.ensure(4.0);
        hline_ops(&mut self.ops, LEFT, RIGHT, self.y, 0.8, BLACK);
        self.y -= 14.0;
    }

    fn document_title_block(&mut self, d: &FilingDocument) {
        self.lines(
            &wrap(self.f, &plain_spans(Style::Bold, &d.title), CONTENT_W, 17.0),
            LEFT,
            17.0,
            21.0,
        );
        self.y -= 6.0;
        for line in &d.intro {
            self.text(
                &plain_spans(Style::Regular, line),
                LEFT,
                CONTENT_W,
                BODY_SIZE,
                BODY_LH,
            );
        }
        if !d.intro.is_empty() {
            self.y -= 8.0;
        }
        self.owned_key_values(&d.facts);
        self.y -= 6.0;
        self.ensure(4.0);
        hline_ops(&mut self.ops, LEFT, RIGHT, self.y, 0.8, BLACK);
        self.y -= 14.0;
    }

    fn owned_key_values(&mut self, rows: &[(String, String)]) {
        let rows: Vec<(&str, String)> = rows.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        self.key_values(&rows);
    }

    fn filing_blocks(&mut self, blocks: &[FilingBlock]) {
        for block in blocks {
            match block {
                FilingBlock::Section(title) => self.section_title(title),
                FilingBlock::Heading(title) => self.sub_title(title),
                FilingBlock::Markdown(md) => {
                    self.blocks(&parse_markdown(md), LEFT, 0);
                    self.flush_marker();
                }
                FilingBlock::Note(text) => self.note(text),
                FilingBlock::Facts(rows) => {
                    self.owned_key_values(rows);
                    self.y -= 6.0;
                }
                FilingBlock::Table(t) => {
                    // a width per header, whatever the caller passed
                    let fracs: Vec<f32> = if t.widths.len() == t.headers.len()
                        && t.widths.iter().all(|w| w.is_finite() && *w > 0.0)
                    {
                        t.widths.clone()
                    } else {
                        vec![1.0; t.headers.len()]
                    };
                    let headers: Vec<&str> = t.headers.iter().map(String::as_str).collect();
                    self.table(&Table {
                        headers: &headers,
                        fracs: &fracs,
                        rows: t.rows.clone(),
                    });
                }
            }
        }
    }

    // ---- tables -------------------------------------------------------------

    fn table(&mut self, t: &Table) {
        let f = self.f;
        let total: f32 = t.fracs.iter().sum::<f32>().max(f32::EPSILON);
        let mut xs = Vec::new();
        let mut ws = Vec::new();
        let mut x = LEFT;
        for fr in t.fracs {
            let w = CONTENT_W * fr / total;
            xs.push(x);
            ws.push(w);
            x += w;
        }
        let inner = |w: f32| (w - 2.0 * CELL_PAD_X).max(10.0);
        let header: Vec<Vec<RLine>> = t
            .headers
            .iter()
            .zip(&ws)
            .map(|(h, w)| wrap(f, &plain_spans(Style::Bold, h), inner(*w), TABLE_SIZE))
            .collect();
        let rows: Vec<Vec<Vec<RLine>>> = t
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&ws)
                    .map(|(c, w)| wrap(f, &plain_spans(Style::Regular, c), inner(*w), TABLE_SIZE))
                    .collect()
            })
            .collect();
        let n_lines =
            |cells: &[Vec<RLine>]| cells.iter().map(|c| c.len()).max().unwrap_or(0).max(1);
        let header_h = n_lines(&header) as f32 * TABLE_LH + 2.0 * CELL_PAD_Y;

        // The header with the whole first row when that fits on a page, else with one line
        // of it: a first row that is moved to the next page would leave the header alone.
        let first_h = rows.first().map_or(1, |r| n_lines(r)) as f32 * TABLE_LH + 2.0 * CELL_PAD_Y;
        let page_cap = TOP - BOTTOM - header_h - 1.0;
        self.ensure(
            header_h
                + if first_h <= page_cap {
                    first_h
                } else {
                    TABLE_LH + 2.0 * CELL_PAD_Y
                },
        );
        hline_ops(&mut self.ops, LEFT, RIGHT, self.y, 0.8, BLACK);
        self.draw_table_header(&header, &xs, header_h);

        for cells in &rows {
            let total_lines = n_lines(cells);
            let row_h = total_lines as f32 * TABLE_LH + 2.0 * CELL_PAD_Y;
            let page_cap = TOP - BOTTOM - header_h - 1.0;
            if row_h > self.remaining() && row_h <= page_cap {
                self.table_page_break(&header, &xs, header_h);
            }
            let mut done = 0usize;
            while done < total_lines {
                let mut avail = ((self.remaining() - 2.0 * CELL_PAD_Y) / TABLE_LH).floor();
                if avail < 1.0 {
                    self.table_page_break(&header, &xs, header_h);
                    avail = ((self.remaining() - 2.0 * CELL_PAD_Y) / TABLE_LH)
                        .floor()
                        .max(1.0);
                }
                let take = (avail as usize).min(total_lines - done).max(1);
                let top = self.y - CELL_PAD_Y;
                for (ci, cell) in cells.iter().enumerate() {
                    for k in 0..take {
                        if let Some(line) = cell.get(done + k) {
                            let base = baseline(top, k, TABLE_LH, TABLE_SIZE);
                            self.draw_line_runs(line, xs[ci] + CELL_PAD_X, base, TABLE_SIZE);
                        }
                    }
                }
                self.y -= take as f32 * TABLE_LH + 2.0 * CELL_PAD_Y;
                done += take;
                let last = done >= total_lines;
                hline_ops(
                    &mut self.ops,
                    LEFT,
                    RIGHT,
                    self.y,
                    if last { 0.4 } else { 0.3 },
                    GREY_RULE,
                );
            }
        }
        self.y -= 8.0;
    }

    fn table_page_break(&mut self, header: &[Vec<RLine>], xs: &[f32], header_h: f32) {
        self.new_page();
        hline_ops(&mut self.ops, LEFT, RIGHT, self.y, 0.8, BLACK);
        self.draw_table_header(header, xs, header_h);
    }

    fn draw_table_header(&mut self, header: &[Vec<RLine>], xs: &[f32], header_h: f32) {
        fill_rect_ops(
            &mut self.ops,
            LEFT,
            self.y - header_h,
            CONTENT_W,
            header_h,
            GREY_FILL,
        );
        let top = self.y - CELL_PAD_Y;
        for (ci, cell) in header.iter().enumerate() {
            for (k, line) in cell.iter().enumerate() {
                let base = baseline(top, k, TABLE_LH, TABLE_SIZE);
                self.draw_line_runs(line, xs[ci] + CELL_PAD_X, base, TABLE_SIZE);
            }
        }
        self.y -= header_h;
        hline_ops(&mut self.ops, LEFT, RIGHT, self.y, 0.6, BLACK);
    }

    fn note(&mut self, text: &str) {
        self.text(
            &plain_spans(Style::Italic, text),
            LEFT,
            CONTENT_W,
            BODY_SIZE,
            BODY_LH,
        );
        self.y -= 6.0;
    }

    fn metadata(&mut self, d: &NoticePdf) {
        self.section_title("Metadaten");

        self.sub_title("Verarbeitungszwecke");
        if d.purposes.is_empty() {
            self.note("Keine Zwecke angegeben.");
        } else {
            self.table(&Table {
                headers: &[
                    "Zweck",
                    "Rechtsgrundlage",
                    "erforderlich/freiwillig",
                    "Datenkategorien",
                ],
                fracs: &[0.28, 0.26, 0.16, 0.30],
                rows: d
                    .purposes
                    .iter()
                    .map(|p| {
                        vec![
                            p.title.clone(),
                            p.legal_basis.clone(),
                            if p.required {
                                "erforderlich"
                            } else {
                                "freiwillig"
                            }
                            .to_string(),
                            p.categories.clone(),
                        ]
                    })
                    .collect(),
            });
        }

        self.sub_title("Datenkategorien und Speicherdauer");
        if d.categories.is_empty() {
            self.note("Keine Datenkategorien angegeben.");
        } else {
            self.table(&Table {
                headers: &["Kategorie", "Speicherdauer"],
                fracs: &[0.4, 0.6],
                rows: d
                    .categories
                    .iter()
                    .map(|c| vec![c.title.clone(), c.storage.clone()])
                    .collect(),
            });
        }

        self.sub_title("Empfänger");
        if d.recipients.is_empty() {
            self.note("Keine Empfänger angegeben.");
        } else {
            let items = d
                .recipients
                .iter()
                .map(|r| {
                    vec![Block::Para {
                        spans: plain_spans(Style::Regular, r),
                        tight: true,
                    }]
                })
                .collect();
            self.blocks(&[Block::List { start: None, items }], LEFT, 0);
        }
    }

    fn review(&mut self, d: &NoticePdf) {
        self.section_title("Prüfverlauf");
        if d.review_trail.is_empty() {
            self.note("Keine Einträge im Prüfverlauf.");
            return;
        }
        self.table(&Table {
            headers: &["Zeitpunkt", "Person", "Aktion", "Kommentar"],
            fracs: &[0.23, 0.20, 0.16, 0.41],
            rows: d
                .review_trail
                .iter()
                .map(|e| {
                    vec![
                        format_timestamp(&e.at),
                        e.who.clone(),
                        e.action.clone(),
                        e.comment.clone(),
                    ]
                })
                .collect(),
        });
    }

    fn finish(mut self) -> Vec<Vec<PageOp>> {
        self.flush_marker();
        self.pages.push(std::mem::take(&mut self.ops));
        self.pages
    }
}

/// RFC 3339 timestamps are shown as `20.05.2021 10:15 UTC` (or with their own offset,
/// `20.05.2021 12:15 +02:00`); anything else verbatim.
fn format_timestamp(s: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(s.trim()) {
        Ok(dt) => {
            let off = dt.offset().local_minus_utc();
            if off == 0 {
                dt.format("%d.%m.%Y %H:%M UTC").to_string()
            } else {
                dt.format("%d.%m.%Y %H:%M %:z").to_string()
            }
        }
        Err(_) => s.to_string(),
    }
}

/// Header and footer of every notice page; needs the final page count.
fn decorate(f: &Fonts, ops: &mut Vec<PageOp>, d: &NoticePdf, page: usize, pages: usize) {
    let st = Style::Regular;
    let hash: String = f
        .clean(st, d.content_sha256.trim())
        .chars()
        .take(16)
        .collect();
    let hash_label = if hash.is_empty() {
        "SHA-256 (Fassung inkl. Metadaten): –".to_string()
    } else {
        format!("SHA-256 (Fassung inkl. Metadaten): {hash}…")
    };
    let running = Running {
        header_left: &d.notice_title,
        header_right: &format!("Fassung {}", d.version),
        footer_left: &hash_label,
        numbering: PageNumbering::German,
    };
    decorate_running(f, ops, &running, page, pages);
}

/// The texts of the running header and footer.
struct Running<'a> {
    header_left: &'a str,
    header_right: &'a str,
    footer_left: &'a str,
    numbering: PageNumbering,
}

/// Header (left and right text) and footer (left text, "Seite x von y") of a page; the left
/// texts are shortened to what fits next to the right ones.
fn decorate_running(f: &Fonts, ops: &mut Vec<PageOp>, r: &Running, page: usize, pages: usize) {
    let st = Style::Regular;
    let right = f.clean(st, r.header_right.trim());
    let right = fit(f, st, DECO_SIZE, right.trim(), CONTENT_W / 2.0);
    let right_w = f.width(st, DECO_SIZE, &right);
    let title = f.clean(st, r.header_left.trim());
    let title = fit(f, st, DECO_SIZE, title.trim(), CONTENT_W - right_w - 24.0);

    let seite = match r.numbering {
        PageNumbering::German => format!("Seite {page} von {pages}"),
        PageNumbering::English => format!("Page {page} of {pages}"),
    };
    let seite_w = f.width(st, DECO_SIZE, &seite);
    let footer = f.clean(st, r.footer_left.trim());
    let footer = fit(f, st, DECO_SIZE, footer.trim(), CONTENT_W - seite_w - 24.0);

    let g = GREY_TEXT;
    grey_text_ops(ops, st, DECO_SIZE, LEFT, HEADER_BASELINE, g, &title);
    grey_text_ops(
        ops,
        st,
        DECO_SIZE,
        RIGHT - right_w,
        HEADER_BASELINE,
        g,
        &right,
    );
    grey_text_ops(ops, st, DECO_SIZE, LEFT, FOOTER_BASELINE, g, &footer);
    grey_text_ops(
        ops,
        st,
        DECO_SIZE,
        RIGHT - seite_w,
        FOOTER_BASELINE,
        g,
        &seite,
    );
    hline_ops(ops, LEFT, RIGHT, HEADER_RULE, 0.4, GREY_RULE);
    hline_ops(ops, LEFT, RIGHT, FOOTER_RULE, 0.4, GREY_RULE);
}

// ---------------------------------------------------------------------------------
// Determinism helpers
// ---------------------------------------------------------------------------------

/// FNV-1a, used only to derive a stable document `/ID` from the input.
fn fnv1a(seed: u64, parts: &[&[u8]]) -> u64 {
    let mut h = seed;
    for p in parts {
        for b in (p.len() as u64).to_le_bytes().iter().chain(p.iter()) {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

fn document_id(d: &NoticePdf) -> Vec<u8> {
    let version = d.version.to_le_bytes();
    let mut parts: Vec<Vec<u8>> = vec![
        d.notice_title.as_bytes().to_vec(),
        d.controller.as_bytes().to_vec(),
        d.controller_address.as_bytes().to_vec(),
        d.notice_id.as_bytes().to_vec(),
        version.to_vec(),
        d.language.as_bytes().to_vec(),
        d.effective.as_bytes().to_vec(),
        d.state.as_bytes().to_vec(),
        d.content_sha256.as_bytes().to_vec(),
        d.text_sha256.as_bytes().to_vec(),
        d.markdown.as_bytes().to_vec(),
    ];
    for p in &d.purposes {
        parts.push(p.title.as_bytes().to_vec());
        parts.push(p.legal_basis.as_bytes().to_vec());
        parts.push(vec![p.required as u8]);
        parts.push(p.categories.as_bytes().to_vec());
    }
    for c in &d.categories {
        parts.push(c.title.as_bytes().to_vec());
        parts.push(c.storage.as_bytes().to_vec());
    }
    for r in &d.recipients {
        parts.push(r.as_bytes().to_vec());
    }
    for e in &d.review_trail {
        parts.push(e.at.as_bytes().to_vec());
        parts.push(e.who.as_bytes().to_vec());
        parts.push(e.action.as_bytes().to_vec());
        parts.push(e.comment.as_bytes().to_vec());
    }
    let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
    let a = fnv1a(0xcbf2_9ce4_8422_2325, &refs);
    let b = fnv1a(0x84222325_cbf29ce4, &refs);
    let mut id = a.to_be_bytes().to_vec();
    id.extend_from_slice(&b.to_be_bytes());
    id
}

fn filing_document_id(d: &FilingDocument) -> Vec<u8> {
    let date = d.date.timestamp().to_le_bytes();
    let mut parts: Vec<&[u8]> = vec![
        d.title.as_bytes(),
        d.header_left.as_bytes(),
        d.header_right.as_bytes(),
        d.footer_left.as_bytes(),
        d.author.as_bytes(),
        d.subject.as_bytes(),
        d.identifier.as_bytes(),
        &date,
    ];
    parts.extend(d.intro.iter().map(|l| l.as_bytes()));
    parts.extend(d.keywords.iter().map(|k| k.as_bytes()));
    for (k, v) in &d.facts {
        parts.push(k.as_bytes());
        parts.push(v.as_bytes());
    }
    // a tag per block kind, so that equal text in different blocks still differs
    let tags: [&[u8]; 6] = [b"S", b"H", b"M", b"N", b"F", b"T"];
    for b in &d.body {
        match b {
            FilingBlock::Section(t) => parts.extend([tags[0], t.as_bytes()]),
            FilingBlock::Heading(t) => parts.extend([tags[1], t.as_bytes()]),
            FilingBlock::Markdown(t) => parts.extend([tags[2], t.as_bytes()]),
            FilingBlock::Note(t) => parts.extend([tags[3], t.as_bytes()]),
            FilingBlock::Facts(rows) => {
                parts.push(tags[4]);
                for (k, v) in rows {
                    parts.push(k.as_bytes());
                    parts.push(v.as_bytes());
                }
            }
            FilingBlock::Table(t) => {
                parts.push(tags[5]);
                parts.extend(t.headers.iter().map(|h| h.as_bytes()));
                for row in &t.rows {
                    parts.push(b"R");
                    parts.extend(row.iter().map(|c| c.as_bytes()));
                }
            }
        }
    }
    let a = fnv1a(0xcbf2_9ce4_8422_2325, &parts);
    let b = fnv1a(0x84222325_cbf29ce4, &parts);
    let mut id = a.to_be_bytes().to_vec();
    id.extend_from_slice(&b.to_be_bytes());
    id
}

/// Info-dictionary date: the effective date (00:00 UTC) when it parses as
/// `dd.mm.yyyy` or `yyyy-mm-dd`, else 1970-01-01. Never the wall clock.
fn document_date(effective: &str) -> i64 {
    let s = effective.trim();
    let parsed = chrono::NaiveDate::parse_from_str(s, "%d.%m.%Y")
        .or_else(|_| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d"))
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc().timestamp())
        .filter(|ts| (0..=253_402_300_799).contains(ts)); // up to 9999-12-31
    parsed.unwrap_or(0)
}

fn ascii_identifier(d: &NoticePdf) -> String {
    let id: String = d
        .notice_id
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(200)
        .collect();
    format!("{id}/v{}", d.version)
}

// ---------------------------------------------------------------------------------
// Entry point
// ---------------------------------------------------------------------------------

/// Renders the notice as an A4 PDF. Deterministic: equal input gives
/// byte-identical output.
pub fn render(doc: &NoticePdf) -> Vec<u8> {
    let f = fonts();

    let mut layout = Layout::new(f);
    layout.title_block(doc);
    let blocks = parse_markdown(&doc.markdown);
    layout.blocks(&blocks, LEFT, 0);
    layout.flush_marker();
    layout.metadata(doc);
    layout.review(doc);
    let mut pages = layout.finish();

    let total = pages.len();
    for (i, ops) in pages.iter_mut().enumerate() {
        decorate(f, ops, doc, i + 1, total);
    }

    let title = if doc.notice_title.trim().is_empty() {
        "Datenschutzhinweise"
    } else {
        doc.notice_title.trim()
    };
    let info = Info {
        title,
        author: doc.controller.clone(),
        subject: format!(
            "Datenschutzhinweise {} – Fassung {} ({})",
            doc.notice_id, doc.version, doc.language
        ),
        keywords: vec![
            format!("sha256-text:{}", doc.text_sha256),
            format!("sha256-content:{}", doc.content_sha256),
        ],
        producer: "consentd notice_pdf",
        identifier: ascii_identifier(doc),
        date: document_date(&doc.effective),
    };
    writer::write(f, &pages, &info, &document_id(doc))
}

/// Renders another document for filing (deletion report, deletion concept) as an A4 PDF
/// with the notice PDF's layout. Deterministic: equal input gives byte-identical output.
pub fn render_document(doc: &FilingDocument) -> Vec<u8> {
    let f = fonts();

    let mut layout = Layout::new(f);
    layout.document_title_block(doc);
    layout.filing_blocks(&doc.body);
    let mut pages = layout.finish();

    let total = pages.len();
    let running = Running {
        header_left: &doc.header_left,
        header_right: &doc.header_right,
        footer_left: &doc.footer_left,
        numbering: doc.page_numbering,
    };
    for (i, ops) in pages.iter_mut().enumerate() {
        decorate_running(f, ops, &running, i + 1, total);
    }

    let ts = doc.date.timestamp();
    // up to 9999-12-31, the last date the info dictionary can hold
    let date = if (0..=253_402_300_799).contains(&ts) {
        ts
    } else {
        0
    };
    let info = Info {
        title: if doc.title.trim().is_empty() {
            "consentd"
        } else {
            doc.title.trim()
        },
        author: doc.author.clone(),
        subject: doc.subject.clone(),
        keywords: doc.keywords.clone(),
        producer: "consentd",
        identifier: doc
            .identifier
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(200)
            .collect(),
        date,
    };
    writer::write(f, &pages, &info, &filing_document_id(doc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_splits_overlong_words_and_makes_progress() {
        let f = fonts();
        let word = "x".repeat(5000);
        let lines = wrap(f, &[Span::Text(Style::Regular, word)], 100.0, 10.0);
        assert!(lines.len() > 10);
        for l in &lines {
            let w: f32 = l.iter().map(|(s, t)| f.width(*s, 10.0, t)).sum();
            assert!(w <= 100.5, "line too wide: {w}");
        }
    }

    #[test]
    fn wrap_prefers_slash() {
        let f = fonts();
        let lines = wrap(
            f,
            &plain_spans(Style::Bold, "erforderlich/freiwillig"),
            70.0,
            8.5,
        );
        let texts: Vec<String> = lines
            .iter()
            .map(|l| l.iter().map(|(_, t)| t.as_str()).collect())
            .collect();
        assert_eq!(
            texts,
            vec!["erforderlich/".to_string(), "freiwillig".to_string()]
        );
    }

    #[test]
    fn markdown_model() {
        let b = parse_markdown("## A\n\nText *k* **f**\\\nnext\n\n- a\n- b\n  1. c\n");
        assert!(matches!(b[0], Block::Heading(2, _)));
        assert!(matches!(b[1], Block::Para { .. }));
        assert!(matches!(b[2], Block::List { start: None, .. }));
    }
}
