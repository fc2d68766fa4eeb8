//! Writes laid-out pages as a PDF file: content streams, the embedded subset fonts (Type0 /
//! CIDFontType2, Identity-H, with `/ToUnicode` so text can be extracted), the info
//! dictionary, the cross-reference table and the trailer.
//!
//! Written directly rather than through printpdf's document model: that model parses,
//! subsets and compresses every font again on each save, which is most of the time of a
//! small document. Here the fonts come pre-subset from [`super::fonts`], and the only
//! per-document work is the content streams. Nothing here reads the clock or draws random
//! numbers, so equal pages and info give equal bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use super::fonts::{FONT_IDS, Fonts, Style, Subset, compress, display_char};

/// A drawing operation of a page (PDF points, origin bottom left).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum PageOp {
    /// Text on a baseline, in a grey level (0 black).
    Text {
        style: Style,
        size: f32,
        x: f32,
        y: f32,
        grey: f32,
        text: String,
    },
    /// A horizontal rule.
    HLine {
        x1: f32,
        x2: f32,
        y: f32,
        thickness: f32,
        grey: f32,
    },
    /// A filled rectangle.
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        grey: f32,
    },
}

/// The info dictionary of a document.
pub(super) struct Info<'a> {
    pub(super) title: &'a str,
    pub(super) author: String,
    pub(super) subject: String,
    pub(super) keywords: Vec<String>,
    pub(super) producer: &'a str,
    pub(super) identifier: String,
    /// Unix seconds (UTC), creation and modification date.
    pub(super) date: i64,
}

/// A4 in points.
const PAGE_W: &str = "595.28";
const PAGE_H: &str = "841.89";

/// Appends a number with at most two decimals (0.01 pt is far below what anyone sees).
/// By hand: `write!` is a noticeable part of writing a page.
fn num(out: &mut Vec<u8>, v: f32) {
    let v = if v.is_finite() { v } else { 0.0 };
    let hundredths = (v * 100.0).round() as i64;
    if hundredths < 0 {
        out.push(b'-');
    }
    let abs = hundredths.unsigned_abs();
    let (int, frac) = (abs / 100, abs % 100);
    let mut digits = [0u8; 20];
    let mut n = 0;
    let mut rest = int;
    loop {
        digits[n] = b'0' + (rest % 10) as u8;
        n += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend(digits[..n].iter().rev());
    if frac != 0 {
        out.push(b'.');
        out.push(b'0' + (frac / 10) as u8);
        if frac % 10 != 0 {
            out.push(b'0' + (frac % 10) as u8);
        }
    }
}

/// Per face: whether the pages use it, and the glyphs they use outside its base set (with a
/// char each for `/ToUnicode`). Base glyphs are only tested, not collected: nearly every
/// character is one, and collecting them all was a tenth of the time of a document.
fn used_glyphs(f: &Fonts, pages: &[Vec<PageOp>]) -> [(bool, BTreeMap<u16, char>); 4] {
    let mut used: [(bool, BTreeMap<u16, char>); 4] = Default::default();
    for op in pages.iter().flatten() {
        if let PageOp::Text { style, text, .. } = op {
            let face = f.face(*style);
            let (any, extra) = &mut used[style.index()];
            for c in text.chars().map(display_char) {
                if let Some(g) = face.gid(c) {
                    *any = true;
                    if !face.in_base(g) {
                        extra.entry(g).or_insert(c);
                    }
                }
            }
        }
    }
    used
}

/// The content stream of one page, uncompressed.
fn content(f: &Fonts, ops: &[PageOp], subsets: &[Option<Arc<Subset>>; 4]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(ops.len() * 64);
    for op in ops {
        match op {
            PageOp::Text {
                style,
                size,
                x,
                y,
                grey,
                text,
            } => {
                let Some(sub) = &subsets[style.index()] else {
                    continue;
                };
                out.extend_from_slice(b"BT ");
                if *grey != 0.0 {
                    num(&mut out, *grey);
                    out.extend_from_slice(b" g ");
                }
                out.push(b'/');
                out.extend_from_slice(FONT_IDS[style.index()].as_bytes());
                out.push(b' ');
                num(&mut out, *size);
                out.extend_from_slice(b" Tf ");
                num(&mut out, *x);
                out.push(b' ');
                num(&mut out, *y);
                // a literal string of big-endian glyph ids: half the bytes of hex
                out.extend_from_slice(b" Td (");
                let face = f.face(*style);
                for c in text.chars().map(display_char) {
                    for b in sub.glyph(face, c).to_be_bytes() {
                        match b {
                            b'(' | b')' | b'\\' => out.extend_from_slice(&[b'\\', b]),
                            // a bare CR would be read as an end of line
                            b'\r' => out.extend_from_slice(b"\\r"),
                            _ => out.push(b),
                        }
                    }
                }
                out.extend_from_slice(b") Tj ");
                if *grey != 0.0 {
                    out.extend_from_slice(b"0 g ");
                }
                out.extend_from_slice(b"ET\n");
            }
            PageOp::HLine {
                x1,
                x2,
                y,
                thickness,
                grey,
            } => {
                out.extend_from_slice(b"q ");
                num(&mut out, *grey);
                out.extend_from_slice(b" G ");
                num(&mut out, *thickness);
                out.extend_from_slice(b" w ");
                num(&mut out, *x1);
                out.push(b' ');
                num(&mut out, *y);
                out.extend_from_slice(b" m ");
                num(&mut out, *x2);
                out.push(b' ');
                num(&mut out, *y);
                out.extend_from_slice(b" l S Q\n");
            }
            PageOp::Fill { x, y, w, h, grey } => {
                if *w <= 0.0 || *h <= 0.0 {
                    continue;
                }
                out.extend_from_slice(b"q ");
                num(&mut out, *grey);
                out.extend_from_slice(b" g ");
                for v in [x, y, w, h] {
                    num(&mut out, *v);
                    out.push(b' ');
                }
                out.extend_from_slice(b"re f Q\n");
            }
        }
    }
    out
}

/// A PDF text string: UTF-16BE with byte-order mark, in hex.
fn text_string(s: &str) -> String {
    let mut out = String::from("<FEFF");
    for u in s.encode_utf16() {
        let _ = write!(out, "{u:04X}");
    }
    out.push('>');
    out
}

fn date_string(unix: i64) -> String {
    let dt = chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default();
    format!("(D:{}+00'00')", dt.format("%Y%m%d%H%M%S"))
}

/// Objects are numbered in the order they are added; offsets are recorded as they are
/// written.
struct File {
    out: Vec<u8>,
    offsets: Vec<usize>,
}

impl File {
    fn begin(&mut self, id: usize) {
        debug_assert_eq!(id, self.offsets.len() + 1, "objects are written in order");
        self.offsets.push(self.out.len());
        self.out
            .extend_from_slice(format!("{id} 0 obj\n").as_bytes());
    }
    fn dict(&mut self, id: usize, dict: &str) {
        self.begin(id);
        self.out.extend_from_slice(dict.as_bytes());
        self.out.extend_from_slice(b"\nendobj\n");
    }
    /// A stream; `extra` are further dictionary entries.
    fn stream(&mut self, id: usize, extra: &str, data: &[u8], compressed: bool) {
        self.begin(id);
        let filter = if compressed {
            "/Filter /FlateDecode "
        } else {
            ""
        };
        self.out.extend_from_slice(
            format!("<< {filter}{extra}/Length {} >>\nstream\n", data.len()).as_bytes(),
        );
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
    }
}

/// Writes the document. `id` is the trailer `/ID` (derived from the input by the caller).
pub(super) fn write(f: &Fonts, pages: &[Vec<PageOp>], info: &Info, id: &[u8]) -> Vec<u8> {
    let used = used_glyphs(f, pages);
    let subsets: [Option<Arc<Subset>>; 4] = std::array::from_fn(|i| match &used[i] {
        (false, _) => None,
        (true, extra) => f.faces[i].subset(extra),
    });

    // Object numbers: 1 catalog, 2 page tree, 3 info, 4 font resources, then 5 per font
    // (Type0, CIDFont, descriptor, program, ToUnicode), then 2 per page (page, contents).
    let mut next = 5;
    let font_ids: Vec<(usize, usize)> = subsets
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_some())
        .map(|(i, _)| {
            next += 5;
            (i, next - 5)
        })
        .collect();
    let first_page = next;
    let page_ids: Vec<usize> = (0..pages.len()).map(|i| first_page + 2 * i).collect();

    let mut file = File {
        out: Vec::with_capacity(48 * 1024),
        offsets: Vec::new(),
    };
    file.out.extend_from_slice(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
    file.dict(1, "<< /Type /Catalog /Pages 2 0 R >>");
    let mut kids = String::new();
    for p in &page_ids {
        let _ = write!(kids, "{p} 0 R ");
    }
    let page_tree = format!(
        "<< /Type /Pages /Count {} /Kids [{kids}] /MediaBox [0 0 {PAGE_W} {PAGE_H}] >>",
        pages.len()
    );
    file.dict(2, &page_tree);

    let date = date_string(info.date);
    let info_dict = format!(
        "<< /Title {} /Author {} /Subject {} /Keywords {} /Creator (consentd) /Producer {} \
         /Identifier {} /CreationDate {date} /ModDate {date} /Trapped /False >>",
        text_string(info.title),
        text_string(&info.author),
        text_string(&info.subject),
        text_string(&info.keywords.join(", ")),
        text_string(info.producer),
        text_string(&info.identifier),
    );
    file.dict(3, &info_dict);

    let mut resources = String::from("<< ");
    for (i, obj) in &font_ids {
        let _ = write!(resources, "/{} {obj} 0 R ", FONT_IDS[*i]);
    }
    resources.push_str(">>");
    file.dict(4, &resources);

    for (i, obj) in &font_ids {
        let Some(sub) = &subsets[*i] else { continue };
        let name = format!("{}+{}", FONT_IDS[*i], f.faces[*i].name);
        let m = &sub.metrics;
        file.dict(
            *obj,
            &format!(
                "<< /Type /Font /Subtype /Type0 /BaseFont /{name} /Encoding /Identity-H \
                 /DescendantFonts [{} 0 R] /ToUnicode {} 0 R >>",
                obj + 1,
                obj + 4
            ),
        );
        file.dict(
            obj + 1,
            &format!(
                "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /{name} \
                 /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> \
                 /FontDescriptor {} 0 R /DW 1000 /W {} /CIDToGIDMap /Identity >>",
                obj + 2,
                sub.widths
            ),
        );
        let flags = 32 | if m.italic_angle != 0 { 64 } else { 0 };
        file.dict(
            obj + 2,
            &format!(
                "<< /Type /FontDescriptor /FontName /{name} /Flags {flags} \
                 /FontBBox [{} {} {} {}] /ItalicAngle {} /Ascent {} /Descent {} \
                 /CapHeight {} /StemV {} /FontFile2 {} 0 R >>",
                m.bbox[0],
                m.bbox[1],
                m.bbox[2],
                m.bbox[3],
                m.italic_angle,
                m.ascent,
                m.descent,
                m.cap_height,
                m.stem_v,
                obj + 3
            ),
        );
        file.stream(
            obj + 3,
            &format!("/Length1 {} ", sub.program_len),
            &sub.program,
            true,
        );
        file.stream(obj + 4, "", &sub.to_unicode, true);
    }

    for (ops, page) in pages.iter().zip(&page_ids) {
        file.dict(
            *page,
            &format!(
                "<< /Type /Page /Parent 2 0 R /Resources << /Font 4 0 R >> /Contents {} 0 R >>",
                page + 1
            ),
        );
        let data = compress(&content(f, ops, &subsets));
        file.stream(page + 1, "", &data, true);
    }

    let xref = file.out.len();
    let count = file.offsets.len() + 1;
    let mut table = format!("xref\n0 {count}\n0000000000 65535 f \n");
    for off in &file.offsets {
        let _ = writeln!(table, "{off:010} 00000 n ");
    }
    let hex_id: String = id.iter().map(|b| format!("{b:02X}")).collect();
    let _ = write!(
        table,
        "trailer\n<< /Size {count} /Root 1 0 R /Info 3 0 R /ID [<{hex_id}> <{hex_id}>] >>\n\
         startxref\n{xref}\n%%EOF\n"
    );
    file.out.extend_from_slice(table.as_bytes());
    file.out
}
