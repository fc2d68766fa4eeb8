//! Removes the TrueType hinting from a (subset) font program: the `fpgm`, `prep`, `cvt `
//! and device-metrics tables and every glyph's instructions; and the `name` table, which
//! PDF readers do not use (the font's name is in the PDF) and which is 15 KB in DejaVu.
//!
//! DejaVu is heavily hinted; the instructions are half of a subset's size, and PDF viewers
//! scale glyphs without them (hinting is for screen pixels at small sizes, which viewers
//! handle by anti-aliasing). Without them a two-face subset fits the 40 KB budget of a
//! consent record together with a base character set that lets records share subsets.
//!
//! Any structure this does not understand leaves the program unchanged (`None`).

const DROPPED: [&[u8; 4]; 7] = [
    b"fpgm", b"prep", b"cvt ", b"hdmx", b"LTSH", b"VDMX", b"name",
];

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn checksum(data: &[u8]) -> u32 {
    data.chunks(4).fold(0u32, |sum, c| {
        let mut word = [0u8; 4];
        word[..c.len()].copy_from_slice(c);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}

/// One glyph without its instructions.
fn strip_glyph(g: &[u8]) -> Option<Vec<u8>> {
    if g.is_empty() {
        return Some(Vec::new());
    }
    let contours = u16_at(g, 0)? as i16;
    let mut out = Vec::with_capacity(g.len());
    if contours >= 0 {
        // header, endPtsOfContours, instructionLength, instructions, flags and points
        let n = contours as usize;
        let ilen_at = 10 + 2 * n;
        let ilen = u16_at(g, ilen_at)? as usize;
        let rest = g.get(ilen_at + 2 + ilen..)?;
        out.extend_from_slice(&g[..ilen_at]);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(rest);
    } else {
        // composite: components until one without MORE_COMPONENTS, then the instructions
        // if WE_HAVE_INSTRUCTIONS is set on the last one
        const ARGS_ARE_WORDS: u16 = 0x0001;
        const HAVE_SCALE: u16 = 0x0008;
        const MORE_COMPONENTS: u16 = 0x0020;
        const HAVE_XY_SCALE: u16 = 0x0040;
        const HAVE_2X2: u16 = 0x0080;
        const HAVE_INSTRUCTIONS: u16 = 0x0100;
        let mut at = 10;
        let mut flag_positions = Vec::new();
        loop {
            let flags = u16_at(g, at)?;
            flag_positions.push(at);
            at += 4 + if flags & ARGS_ARE_WORDS != 0 { 4 } else { 2 };
            at += if flags & HAVE_SCALE != 0 {
                2
            } else if flags & HAVE_XY_SCALE != 0 {
                4
            } else if flags & HAVE_2X2 != 0 {
                8
            } else {
                0
            };
            if at > g.len() {
                return None;
            }
            if flags & MORE_COMPONENTS == 0 {
                break;
            }
        }
        out.extend_from_slice(&g[..at]);
        for pos in flag_positions {
            let flags = u16_at(&out, pos)? & !HAVE_INSTRUCTIONS;
            out[pos..pos + 2].copy_from_slice(&flags.to_be_bytes());
        }
    }
    // glyphs stay 4-byte aligned, so both loca formats can address them
    while out.len() % 4 != 0 {
        out.push(0);
    }
    Some(out)
}

/// The font program without hinting and names, or `None` if it could not be read.
pub(super) fn unhint(font: &[u8]) -> Option<Vec<u8>> {
    let num_tables = u16_at(font, 4)? as usize;
    let mut tables: Vec<([u8; 4], &[u8])> = Vec::with_capacity(num_tables);
    for i in 0..num_tables {
        let rec = 12 + 16 * i;
        let tag: [u8; 4] = font.get(rec..rec + 4)?.try_into().ok()?;
        let offset = u32_at(font, rec + 8)? as usize;
        let len = u32_at(font, rec + 12)? as usize;
        tables.push((tag, font.get(offset..offset.checked_add(len)?)?));
    }
    let find = |t: &[u8; 4]| tables.iter().find(|(tag, _)| tag == t).map(|(_, d)| *d);
    let head = find(b"head")?;
    let long_loca = u16_at(head, 50)? == 1;
    let num_glyphs = u16_at(find(b"maxp")?, 4)? as usize;
    let (glyf, loca) = (find(b"glyf")?, find(b"loca")?);
    let offset = |i: usize| -> Option<usize> {
        if long_loca {
            u32_at(loca, 4 * i).map(|v| v as usize)
        } else {
            u16_at(loca, 2 * i).map(|v| v as usize * 2)
        }
    };

    let mut new_glyf = Vec::with_capacity(glyf.len());
    let mut offsets = Vec::with_capacity(num_glyphs + 1);
    for i in 0..num_glyphs {
        offsets.push(new_glyf.len());
        let (start, end) = (offset(i)?, offset(i + 1)?);
        new_glyf.extend(strip_glyph(glyf.get(start..end)?)?);
    }
    offsets.push(new_glyf.len());
    let mut new_loca = Vec::with_capacity(loca.len());
    for o in offsets {
        if long_loca {
            new_loca.extend_from_slice(&(o as u32).to_be_bytes());
        } else {
            new_loca.extend_from_slice(&((o / 2) as u16).to_be_bytes());
        }
    }
    if !long_loca && new_glyf.len() / 2 > u16::MAX as usize {
        return None;
    }

    let mut kept: Vec<([u8; 4], Vec<u8>)> = tables
        .iter()
        .filter(|(tag, _)| !DROPPED.contains(&tag))
        .map(|(tag, data)| {
            let mut data = match tag {
                b"glyf" => new_glyf.clone(),
                b"loca" => new_loca.clone(),
                _ => data.to_vec(),
            };
            if tag == b"head" && data.len() >= 12 {
                // checksums, the table's own and the whole file's, count it as zero
                data[8..12].copy_from_slice(&[0; 4]);
            }
            (*tag, data)
        })
        .collect();
    kept.sort_by_key(|(tag, _)| *tag);

    // table directory, then the tables, each padded to 4 bytes
    let n = kept.len();
    let mut out = Vec::with_capacity(font.len());
    out.extend_from_slice(font.get(0..4)?);
    let entry_selector = (usize::BITS - 1 - n.max(1).leading_zeros()) as u16;
    let search_range = (1u16 << entry_selector) * 16;
    for v in [
        n as u16,
        search_range,
        entry_selector,
        n as u16 * 16 - search_range,
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let mut at = 12 + 16 * n;
    let mut head_at = None;
    for (tag, data) in &kept {
        if tag == b"head" {
            head_at = Some(at);
        }
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(data).to_be_bytes());
        out.extend_from_slice(&(at as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        at += data.len().div_ceil(4) * 4;
    }
    for (_, data) in &kept {
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    if let Some(h) = head_at {
        let adjust = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
        out.get_mut(h + 8..h + 12)?
            .copy_from_slice(&adjust.to_be_bytes());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use printpdf::ParsedFont;

    #[test]
    fn unhinted_font_keeps_glyphs_and_metrics() {
        let original = dejavu::sans::regular();
        let hinted = ParsedFont::from_bytes(original, 0, &mut Vec::new()).unwrap();
        let stripped = unhint(original).expect("DejaVu is a plain TrueType font");
        assert!(
            stripped.len() < original.len() - 50_000,
            "{}",
            stripped.len()
        );
        let font = ParsedFont::from_bytes(&stripped, 0, &mut Vec::new()).expect("still a font");
        for c in ['A', 'g', 'ß', '€', '„'] {
            let gid = hinted.lookup_glyph_index(c as u32).unwrap();
            assert_eq!(font.lookup_glyph_index(c as u32), Some(gid));
            assert_eq!(
                font.get_horizontal_advance(gid),
                hinted.get_horizontal_advance(gid)
            );
        }
        // the whole-file checksum is right: head's adjustment makes the sum 0xB1B0AFBA
        assert_eq!(checksum(&stripped), 0xB1B0_AFBA);
    }

    #[test]
    fn garbage_is_left_alone() {
        assert_eq!(unhint(b"not a font"), None);
        assert_eq!(unhint(&[]), None);
    }
}
