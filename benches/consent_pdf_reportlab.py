#!/usr/bin/env python3
"""The consent-record PDF rendered by reportlab (platypus), as the baseline for
benches/consent_pdf.rs, which runs this script after its own measurement.

Usage: consent_pdf_reportlab.py DIR [RUNS]
DIR holds content.json (the document the Rust bench rendered: title, facts, sections,
headings, Markdown, tables, running header and footer) and the DejaVu TTF files. The same
fonts are registered once (as consentd parses them once), then the document is built RUNS
times in memory. Prints one line: median_ms=… p90_ms=… size=… pages=…

Needs `pip install reportlab`.
"""

import io
import json
import os
import re
import statistics
import sys
import time

try:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas
    from reportlab.platypus import (
        BaseDocTemplate,
        Frame,
        HRFlowable,
        KeepTogether,
        PageTemplate,
        Paragraph,
        Spacer,
        Table,
        TableStyle,
    )
except ImportError:
    sys.stderr.write("reportlab is missing: pip install reportlab\n")
    sys.exit(2)

LEFT = RIGHT = 20 * mm
TOP = 20 * mm
BOTTOM = 21 * mm
CONTENT_W = A4[0] - LEFT - RIGHT


def register_fonts(folder):
    for name, file in [
        ("DejaVu", "DejaVuSans.ttf"),
        ("DejaVu-Bold", "DejaVuSans-Bold.ttf"),
        ("DejaVu-Oblique", "DejaVuSans-Oblique.ttf"),
        ("DejaVu-BoldOblique", "DejaVuSans-BoldOblique.ttf"),
    ]:
        pdfmetrics.registerFont(TTFont(name, os.path.join(folder, file)))
    pdfmetrics.registerFontFamily(
        "DejaVu", normal="DejaVu", bold="DejaVu-Bold", italic="DejaVu-Oblique", boldItalic="DejaVu-BoldOblique"
    )


def styles():
    s = {}
    s["title"] = ParagraphStyle("title", fontName="DejaVu-Bold", fontSize=17, leading=21, spaceAfter=6)
    s["body"] = ParagraphStyle("body", fontName="DejaVu", fontSize=10, leading=14, spaceAfter=5)
    s["note"] = ParagraphStyle("note", parent=s["body"], fontName="DejaVu-Oblique")
    s["section"] = ParagraphStyle("section", fontName="DejaVu-Bold", fontSize=15, leading=19, spaceBefore=4, spaceAfter=5)
    s["h1"] = ParagraphStyle("h1", fontName="DejaVu-Bold", fontSize=15, leading=19, spaceBefore=14, spaceAfter=5)
    s["h2"] = ParagraphStyle("h2", fontName="DejaVu-Bold", fontSize=13, leading=17, spaceBefore=12, spaceAfter=4)
    s["h3"] = ParagraphStyle("h3", fontName="DejaVu-Bold", fontSize=11.5, leading=15, spaceBefore=9, spaceAfter=3)
    s["bullet"] = ParagraphStyle("bullet", parent=s["body"], leftIndent=12, bulletIndent=2, spaceAfter=1.5)
    s["label"] = ParagraphStyle("label", fontName="DejaVu-Bold", fontSize=9, leading=12.5)
    s["value"] = ParagraphStyle("value", fontName="DejaVu", fontSize=9, leading=12.5, splitLongWords=1)
    s["th"] = ParagraphStyle("th", fontName="DejaVu-Bold", fontSize=8.5, leading=11)
    s["td"] = ParagraphStyle("td", fontName="DejaVu", fontSize=8.5, leading=11, splitLongWords=1)
    return s


def esc(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def inline(text):
    text = esc(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    text = re.sub(r"`(.+?)`", r"\1", text)
    return text


def lines_html(text):
    return "<br/>".join(esc(line) for line in text.split("\n"))


def markdown(md, s):
    """Headings, paragraphs and bullet lists: what the notices use."""
    out = []
    for block in re.split(r"\n\s*\n", md.strip()):
        lines = block.split("\n")
        if lines[0].startswith("#"):
            level = len(lines[0]) - len(lines[0].lstrip("#"))
            out.append(Paragraph(inline(lines[0].lstrip("#").strip()), s["h%d" % min(level, 3)]))
        elif all(line.startswith("- ") for line in lines):
            for line in lines:
                out.append(Paragraph(inline(line[2:]), s["bullet"], bulletText="•"))
            out.append(Spacer(1, 3.5))
        else:
            out.append(Paragraph(inline(" ".join(lines)), s["body"]))
    return out


def facts(rows, s):
    data = [[Paragraph(esc(k), s["label"]), Paragraph(lines_html(v), s["value"])] for k, v in rows]
    t = Table(data, colWidths=[100, CONTENT_W - 100])
    t.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
            ]
        )
    )
    return t


def table(spec, s):
    total = sum(spec["widths"]) or 1.0
    widths = [CONTENT_W * w / total for w in spec["widths"]]
    data = [[Paragraph(lines_html(h), s["th"]) for h in spec["headers"]]]
    data += [[Paragraph(lines_html(c), s["td"]) for c in row] for row in spec["rows"]]
    t = Table(data, colWidths=widths, repeatRows=1)
    t.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
                ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.4, colors.Color(0.55, 0.55, 0.55)),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return [t, Spacer(1, 8)]


def story(doc, s):
    out = [Paragraph(esc(doc["title"]), s["title"])]
    out += [Paragraph(esc(line), s["body"]) for line in doc["intro"]]
    out += [facts(doc["facts"], s), Spacer(1, 6), HRFlowable(width="100%", thickness=0.8, color=colors.black), Spacer(1, 14)]
    for block in doc["body"]:
        (kind, value), = block.items()
        if kind == "Section":
            out.append(
                KeepTogether(
                    [Spacer(1, 16), HRFlowable(width="100%", thickness=0.8, color=colors.black), Paragraph(esc(value), s["section"])]
                )
            )
        elif kind == "Heading":
            out.append(Paragraph(esc(value), s["h3"]))
        elif kind == "Markdown":
            out += markdown(value, s)
        elif kind == "Note":
            out.append(Paragraph(esc(value), s["note"]))
        elif kind == "Facts":
            out += [facts(value, s), Spacer(1, 6)]
        elif kind == "Table":
            out += table(value, s)
    return out


def numbered_canvas(doc):
    """Draws header and footer once the page count is known ("Seite x von y")."""
    english = doc.get("page_numbering") == "English"

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            canvas.Canvas.__init__(self, *args, **kwargs)
            self._saved = []

        def showPage(self):
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                self.running(total)
                canvas.Canvas.showPage(self)
            canvas.Canvas.save(self)

        def running(self, total):
            w, h = A4
            self.saveState()
            self.setFont("DejaVu", 7.5)
            self.setFillGray(0.35)
            self.drawString(LEFT, h - 11.5 * mm, doc["header_left"])
            self.drawRightString(w - RIGHT, h - 11.5 * mm, doc["header_right"])
            self.drawString(LEFT, 11 * mm, doc["footer_left"])
            label = "Page %d of %d" if english else "Seite %d von %d"
            self.drawRightString(w - RIGHT, 11 * mm, label % (self._pageNumber, total))
            self.setStrokeGray(0.55)
            self.setLineWidth(0.4)
            self.line(LEFT, h - 13.5 * mm, w - RIGHT, h - 13.5 * mm)
            self.line(LEFT, 15.5 * mm, w - RIGHT, 15.5 * mm)
            self.restoreState()

    return NumberedCanvas


def render(doc, s, canvasmaker):
    buf = io.BytesIO()
    template = BaseDocTemplate(
        buf,
        pagesize=A4,
        title=doc["title"],
        author=doc["author"],
        subject=doc["subject"],
        invariant=1,  # reproducible output, as consentd's
    )
    # the frame without padding: the same text width as consentd's layout
    frame = Frame(LEFT, BOTTOM, CONTENT_W, A4[1] - TOP - BOTTOM, 0, 0, 0, 0)
    template.addPageTemplates([PageTemplate(frames=[frame])])
    template.build(story(doc, s), canvasmaker=canvasmaker)
    data = buf.getvalue()
    return data, template.page


def main():
    folder = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    with open(os.path.join(folder, "content.json"), encoding="utf-8") as f:
        doc = json.load(f)
    register_fonts(folder)
    s = styles()
    maker = numbered_canvas(doc)
    for _ in range(10):
        data, pages = render(doc, s, maker)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        data, pages = render(doc, s, maker)
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    with open(os.path.join(folder, "consent-record-reportlab.pdf"), "wb") as f:
        f.write(data)
    p90 = times[round((len(times) - 1) * 0.9)]
    print(
        "reportlab %s: median_ms=%.3f p90_ms=%.3f size=%d pages=%d"
        % (__import__("reportlab").Version, statistics.median(times), p90, len(data), pages)
    )


if __name__ == "__main__":
    main()
