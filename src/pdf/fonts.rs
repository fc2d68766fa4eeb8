//! The four embedded DejaVu Sans faces of the filing PDFs: parsed once per process, with
//! per-character lookup tables for layout, and their subset font programs, which are cached
//! because subsetting and compressing a font costs far more than laying out a document.
//!
//! Subsets are built for a fixed base character set (Latin-1 and the usual German and
//! typographic punctuation) plus whatever else a document uses. A document that needs only
//! base characters — nearly all of them, whatever names they contain — reuses the one base
//! subset of each face; other glyph sets are cached too, up to a bound. The cache affects
//! only speed: a subset depends on nothing but its glyph set, so output stays deterministic.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use flate2::{Compress, Compression, FlushCompress, Status, write::ZlibEncoder};
use printpdf::ParsedFont;

use super::unhint::unhint;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Regular,
    Bold,
    Italic,
    BoldItalic,
}

impl Style {
    pub(super) fn from_flags(bold: bool, italic: bool) -> Style {
        match (bold, italic) {
            (false, false) => Style::Regular,
            (true, false) => Style::Bold,
            (false, true) => Style::Italic,
            (true, true) => Style::BoldItalic,
        }
    }
    pub(super) fn bolded(self) -> Style {
        match self {
            Style::Regular | Style::Bold => Style::Bold,
            Style::Italic | Style::BoldItalic => Style::BoldItalic,
        }
    }
    pub(super) fn index(self) -> usize {
        match self {
            Style::Regular => 0,
            Style::Bold => 1,
            Style::Italic => 2,
            Style::BoldItalic => 3,
        }
    }
}

/// Fixed resource names; the first six characters are also the subset tag
/// (`DJVREG+DejaVuSans`), so they are six upper-case letters and unique.
pub(super) const FONT_IDS: [&str; 4] = ["DJVREG", "DJVBLD", "DJVOBL", "DJVBOB"];
const FONT_NAMES: [&str; 4] = [
    "DejaVuSans",
    "DejaVuSans-Bold",
    "DejaVuSans-Oblique",
    "DejaVuSans-BoldOblique",
];

/// Characters below this get a direct lookup table (covers Latin, Greek, Cyrillic,
/// general punctuation, currency signs, arrows and the ballot boxes).
const TABLE_CHARS: usize = 0x2700;

/// Always in a face's subset, so that documents differing only in names share subsets.
const BASE_CHARS: &str = "ÄÖÜäöüßẞàáâãåæçèéêëìíîïñòóôõøùúûýÿÀÁÂÃÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕØÙÚÛÝ\
    „“”‚‘’«»–—…€§°·•×÷±²³µ¶©®™†‡←→↑↓☐☑";

/// Bound of the subset cache per face; when full it is emptied (simple and rare: only
/// documents with unusual characters add entries).
const MAX_CACHED_SUBSETS: usize = 32;

pub(super) struct Face {
    font: ParsedFont,
    upm: f32,
    /// Glyph id (0: none) and advance in em of every char below `TABLE_CHARS`.
    table: Vec<(u16, f32)>,
    /// Glyph ids of `BASE_CHARS` and printable ASCII, with their chars.
    base: BTreeMap<u16, char>,
    /// `base` as a bit set over all glyph ids.
    base_bits: Vec<u64>,
    /// The subset of the base glyphs: what nearly every document uses.
    base_subset: OnceLock<Option<Arc<Subset>>>,
    /// Subsets of base glyphs plus others, by glyph ids.
    subsets: Mutex<BTreeMap<Vec<u16>, Arc<Subset>>>,
    pub(super) name: &'static str,
}

/// A subset font program, ready to be written into a PDF.
pub(super) struct Subset {
    /// Original glyph ids in subset order: the new id of `gids[i]` is `i` (0 is .notdef).
    pub(super) gids: Vec<u16>,
    /// The TrueType program, zlib-compressed.
    pub(super) program: Vec<u8>,
    /// Uncompressed length of the program (`/Length1`).
    pub(super) program_len: usize,
    /// The `/W` array, in PDF syntax.
    pub(super) widths: String,
    /// The `/ToUnicode` CMap, zlib-compressed.
    pub(super) to_unicode: Vec<u8>,
    /// Font descriptor values in 1/1000 em.
    pub(super) metrics: Metrics,
    /// The subset glyph id of every char below `TABLE_CHARS` (0: not in the subset).
    by_char: Vec<u16>,
}

#[derive(Clone, Copy)]
pub(super) struct Metrics {
    pub(super) ascent: i64,
    pub(super) descent: i64,
    pub(super) cap_height: i64,
    pub(super) bbox: [i64; 4],
    pub(super) italic_angle: i64,
    pub(super) stem_v: i64,
}

impl Subset {
    /// The subset's glyph id for an original one (0 when not in the subset).
    fn new_gid(&self, gid: u16) -> u16 {
        self.gids.binary_search(&gid).map(|i| i as u16).unwrap_or(0)
    }

    /// The subset's glyph id for a char of `face` (0 when not in the subset).
    pub(super) fn glyph(&self, face: &Face, c: char) -> u16 {
        match self.by_char.get(c as usize) {
            Some(g) => *g,
            None => self.new_gid(face.gid(c).unwrap_or(0)),
        }
    }
}

/// Fast zlib compression, for what is written anew for every document. The compressor is
/// kept per thread and reset between streams: a new one allocates and zeroes about 300 KB
/// of tables, which costs more than compressing a page.
pub(super) fn compress(data: &[u8]) -> Vec<u8> {
    thread_local! {
        static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), true));
    }
    DEFLATE.with(|d| {
        let mut d = d.borrow_mut();
        d.reset();
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        loop {
            let consumed = d.total_in() as usize;
            match d.compress_vec(
                &data[consumed.min(data.len())..],
                &mut out,
                FlushCompress::Finish,
            ) {
                Ok(Status::StreamEnd) => return out,
                Ok(_) => out.reserve(out.capacity().max(1024)),
                // cannot happen with in-memory buffers; the stream is then simply left empty
                Err(_) => return Vec::new(),
            }
        }
    })
}

fn compress_with(data: &[u8], level: Compression) -> Vec<u8> {
    let mut enc = ZlibEncoder::new(Vec::with_capacity(data.len() / 3 + 64), level);
    // writing into a Vec cannot fail
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

impl Face {
    fn load(bytes: &'static [u8], name: &'static str) -> Face {
        let mut warnings = Vec::new();
        // The font bytes are compiled in; failing to parse them is a build defect, not an
        // input error.
        let font = ParsedFont::from_bytes(bytes, 0, &mut warnings)
            .expect("embedded DejaVu font must parse");
        let upm = match font.pdf_font_metrics.units_per_em {
            0 => 1000.0,
            u => u as f32,
        };
        let table = (0..TABLE_CHARS as u32)
            .map(|cp| match font.lookup_glyph_index(cp) {
                Some(0) | None => (0, font.get_horizontal_advance(0) as f32 / upm),
                Some(g) => (g, font.get_horizontal_advance(g) as f32 / upm),
            })
            .collect();
        let mut face = Face {
            font,
            upm,
            table,
            base: BTreeMap::new(),
            base_bits: vec![0; 1024],
            base_subset: OnceLock::new(),
            subsets: Mutex::new(BTreeMap::new()),
            name,
        };
        face.base = (' '..='~')
            .chain(BASE_CHARS.chars())
            .filter_map(|c| face.gid(c).map(|g| (g, c)))
            .collect();
        for g in face.base.keys() {
            face.base_bits[*g as usize / 64] |= 1 << (g % 64);
        }
        face
    }

    pub(super) fn gid(&self, c: char) -> Option<u16> {
        let g = match self.table.get(c as usize) {
            Some(&(g, _)) => g,
            None => self.font.lookup_glyph_index(c as u32).unwrap_or(0),
        };
        (g != 0).then_some(g)
    }

    /// Advance width in em.
    pub(super) fn advance(&self, c: char) -> f32 {
        match self.table.get(c as usize) {
            Some(&(_, a)) => a,
            None => {
                let gid = self.gid(c).unwrap_or(0);
                self.font.get_horizontal_advance(gid) as f32 / self.upm
            }
        }
    }

    /// Whether glyph `g` is one of the base glyphs.
    pub(super) fn in_base(&self, g: u16) -> bool {
        self.base_bits[g as usize / 64] & (1 << (g % 64)) != 0
    }

    /// The subset of the base glyphs plus `extra` (glyph id → char), from the cache when
    /// possible.
    pub(super) fn subset(&self, extra: &BTreeMap<u16, char>) -> Option<Arc<Subset>> {
        if extra.keys().all(|g| self.in_base(*g)) {
            return self
                .base_subset
                .get_or_init(|| self.build_subset(&self.base).map(Arc::new))
                .clone();
        }
        let mut glyphs = self.base.clone();
        for (g, c) in extra {
            glyphs.entry(*g).or_insert(*c);
        }
        let key: Vec<u16> = glyphs.keys().copied().collect();
        let mut cache = self.subsets.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = cache.get(&key) {
            return Some(s.clone());
        }
        let subset = Arc::new(self.build_subset(&glyphs)?);
        if cache.len() >= MAX_CACHED_SUBSETS {
            cache.clear();
        }
        cache.insert(key, subset.clone());
        Some(subset)
    }

    fn build_subset(&self, glyphs: &BTreeMap<u16, char>) -> Option<Subset> {
        let request: BTreeMap<u16, String> =
            glyphs.iter().map(|(g, c)| (*g, c.to_string())).collect();
        let sub = printpdf::subset_font(&self.font, &request).ok()?;
        // printpdf's subsetter numbers the requested glyphs by position: .notdef first,
        // then the ids in ascending order (components of composites come after them and
        // are never referenced by content).
        let gids: Vec<u16> = std::iter::once(0)
            .chain(glyphs.keys().copied().filter(|g| *g != 0))
            .collect();
        debug_assert!(
            sub.glyph_mapping
                .iter()
                .all(|(old, (new, _))| gids.get(*new as usize) == Some(old))
        );

        let scale = 1000.0 / self.upm;
        let mut widths = String::from("[0 [");
        for (i, g) in gids.iter().enumerate() {
            if i > 0 {
                widths.push(' ');
            }
            let w = (self.font.get_horizontal_advance(*g) as f32 * scale).round() as i64;
            widths.push_str(&w.to_string());
        }
        widths.push_str("]]");

        let mut cmap = String::from(
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
             /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
             /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
             1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
        );
        let pairs: Vec<(usize, char)> = gids
            .iter()
            .enumerate()
            .filter_map(|(i, g)| glyphs.get(g).map(|c| (i, *c)))
            .collect();
        // at most 100 entries per bfchar block (PDF limit)
        for chunk in pairs.chunks(100) {
            cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
            for (i, c) in chunk {
                let mut units = [0u16; 2];
                let hex: String = c
                    .encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("{u:04X}"))
                    .collect();
                cmap.push_str(&format!("<{i:04X}> <{hex}>\n"));
            }
            cmap.push_str("endbfchar\n");
        }
        cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");

        let m = &self.font.pdf_font_metrics;
        let s16 = |v: i16| (v as f32 * scale).round() as i64;
        let italic_angle = if m.caret_slope_rise == 0 {
            0
        } else {
            (-(m.caret_slope_run as f32)
                .atan2(m.caret_slope_rise as f32)
                .to_degrees())
            .round() as i64
        };
        let metrics = Metrics {
            ascent: s16(m.ascender),
            descent: s16(m.descender),
            // DejaVu Sans: capital H is 1493 units of 2048 high
            cap_height: (1493.0 * 1000.0 / 2048.0_f32).round() as i64,
            bbox: [s16(m.x_min), s16(m.y_min), s16(m.x_max), s16(m.y_max)],
            italic_angle,
            // conventional estimate from the weight class (no table carries StemV)
            stem_v: if m.us_weight_class == 0 {
                80
            } else {
                50 + ((m.us_weight_class as f32 / 65.0).powi(2)).round() as i64
            },
        };
        let program = unhint(&sub.bytes).unwrap_or(sub.bytes);
        let mut subset = Subset {
            gids,
            // built once and reused, so worth the best compression
            program: compress_with(&program, Compression::best()),
            program_len: program.len(),
            widths,
            to_unicode: compress_with(cmap.as_bytes(), Compression::best()),
            metrics,
            by_char: Vec::new(),
        };
        subset.by_char = self
            .table
            .iter()
            .map(|(g, _)| if *g == 0 { 0 } else { subset.new_gid(*g) })
            .collect();
        Some(subset)
    }
}

pub(super) struct Fonts {
    pub(super) faces: [Face; 4],
}

impl Fonts {
    pub(super) fn face(&self, st: Style) -> &Face {
        &self.faces[st.index()]
    }
    /// Width in pt of `text` in style `st` at `size` (no kerning: matches what the
    /// viewer does with the embedded `/W` widths).
    pub(super) fn width(&self, st: Style, size: f32, text: &str) -> f32 {
        let face = self.face(st);
        text.chars()
            .map(|c| face.advance(display_char(c)))
            .sum::<f32>()
            * size
    }
    pub(super) fn char_width(&self, st: Style, size: f32, c: char) -> f32 {
        self.face(st).advance(display_char(c)) * size
    }
    /// Normalises text for style `st`: whitespace to plain spaces (no-break spaces
    /// are kept so they do not break), invisible and control characters removed,
    /// characters the font has no glyph for replaced by `?`.
    pub(super) fn clean(&self, st: Style, text: &str) -> String {
        let face = self.face(st);
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '\u{00AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' => {}
                '\u{00A0}' => out.push('\u{00A0}'),
                '\u{202F}' | '\u{2007}' => {
                    if face.gid(c).is_some() {
                        out.push(c)
                    } else {
                        out.push('\u{00A0}')
                    }
                }
                c if c.is_whitespace() => out.push(' '),
                c if c.is_control() => {}
                c => {
                    if face.gid(c).is_some() {
                        out.push(c)
                    } else {
                        out.push('?')
                    }
                }
            }
        }
        out
    }
}

/// What is actually written for a character: the no-break space is drawn as a
/// normal space (same advance) so that text extraction yields ordinary spaces.
pub(super) fn display_char(c: char) -> char {
    if c == '\u{00A0}' { ' ' } else { c }
}

pub(super) fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| Fonts {
        faces: [
            Face::load(dejavu::sans::regular(), FONT_NAMES[0]),
            Face::load(dejavu::sans::bold(), FONT_NAMES[1]),
            Face::load(dejavu::sans::oblique(), FONT_NAMES[2]),
            Face::load(dejavu::sans::bold_oblique(), FONT_NAMES[3]),
        ],
    })
}
