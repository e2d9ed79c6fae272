"""One PDF page read character by character with pypdfium2: text in pdfium's reading order, with what pypdf's text
cannot tell: each character's size and baseline.

That is what lets the reader drop superscript citation markers ("molecules61-65" -> "molecules"), keep a table's
cells apart (a wide gap becomes a tab), find the printed title (the largest text near the top of page 1) and
headings (short lines set larger or bold than the page's body text). pdfium's own end-of-line hyphen mark (U+FFFE,
with the two lines already joined) is turned back into "-" and a line break, so that one rule
(ingest/loaders/pdf_text) decides whether a line-end hyphen is hyphenation or part of a compound.
"""

from __future__ import annotations

import ctypes
import statistics
from dataclasses import dataclass, field

SUP_SIZE = 0.82  # a superscript is set at most this fraction of its line's body size ...
SUP_RISE = 0.12  # ... with its baseline raised by at least this fraction of that size
CELL_GAP = 1.6  # a horizontal gap wider than this many body heights separates table cells
HEADING_SIZE = 1.08  # a heading is set at least this much larger than the body (or bold)
BOLD_WEIGHT = 600
SOFT_MARKS = ("\ufffe", "\x02")  # pdfium's mark for a line-end hyphen (text API / char API)
_MARKER_CHARS = set("0123456789,\u2013\u2012-\u2212;*\u2020\u2021 ")
_UNITS = {"m", "cm", "mm", "km", "\u00b5m", "dm", "kg", "g", "s"}  # m2, cm3: a raised number after a unit is a power


@dataclass
class Line:
    text: str
    size: float  # median character height on the line (the loose box: font size times ascent+descent)
    top: float  # the line's baseline, from the top of the page (points)
    bold: bool = False


@dataclass
class PageChars:
    lines: list[Line] = field(default_factory=list)
    body_size: float = 0.0
    markers_removed: list[str] = field(default_factory=list)
    height: float = 0.0

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def read_page(page) -> PageChars:
    """The page's lines (pdfium's order), superscript markers removed and recorded, table cells tab-separated."""
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    try:
        raw = textpage.raw
        n = pdfium_c.FPDFText_CountChars(raw)
        x, y = ctypes.c_double(), ctypes.c_double()
        rect = pdfium_c.FS_RECTF()
        chars = []  # (char, generated, left, right, baseline, height, weight)
        for i in range(n):
            code = pdfium_c.FPDFText_GetUnicode(raw, i)
            generated = pdfium_c.FPDFText_IsGenerated(raw, i) == 1
            pdfium_c.FPDFText_GetCharOrigin(raw, i, x, y)
            pdfium_c.FPDFText_GetLooseCharBox(raw, i, rect)
            weight = pdfium_c.FPDFText_GetFontWeight(raw, i)
            try:
                ch = chr(code)
            except (ValueError, OverflowError):
                ch = "\ufffd"
            chars.append((ch, generated, rect.left, rect.right, y.value, rect.top - rect.bottom, weight))
    finally:
        textpage.close()
    return _assemble(chars, page.get_height())


def _assemble(chars: list[tuple], page_height: float) -> PageChars:
    sizes = [c[5] for c in chars if not c[1] and c[0].isalnum() and c[5] > 0]
    body = statistics.median(sizes) if sizes else 0.0
    out = PageChars(body_size=body, height=page_height)
    raw_lines: list[list[tuple]] = [[]]
    for c in chars:
        if c[0] == "\n":
            raw_lines.append([])
        elif c[0] == "\r":
            continue
        elif c[0] in SOFT_MARKS:  # pdfium joined a line-end hyphen with the next line: restore both
            raw_lines[-1].append(("-",) + c[1:])
            raw_lines.append([])
        else:
            raw_lines[-1].append(c)
    for raw in raw_lines:
        line = _line(raw, out)
        if line is not None:
            out.lines.append(line)
    return out


def _line(raw: list[tuple], page: PageChars) -> Line | None:
    real = [c for c in raw if not c[1] and not c[0].isspace()]
    if not real:
        return None
    alnum = [c for c in real if c[0].isalnum()] or real
    # The tallest letter, not the median: a short line ("cases.104 105", "et al156") can hold more marker digits
    # than letters, and some fonts give tight boxes (an 'e' lower than an 'l'). A marker must also sit raised.
    size = max(c[5] for c in alnum)
    big = [c for c in alnum if c[5] >= 0.9 * size] or alnum
    baseline = statistics.median(c[4] for c in big)
    keep = [True] * len(raw)
    i = 0
    while i < len(raw):
        if _is_sup(raw[i], size, baseline):
            j = i
            while j < len(raw) and (_is_sup(raw[j], size, baseline) or (raw[j][1] and raw[j][0] == " "
                                                                          and j + 1 < len(raw)
                                                                          and _is_sup(raw[j + 1], size, baseline))):
                j += 1
            before = "".join(c[0] for c in raw[max(0, i - 12):i]).rstrip()
            run = "".join(c[0] for c in raw[i:j]).strip()
            last_word = before.split(" ")[-1] if before else ""
            # A marker follows a word or punctuation; a raised number after a digit or a unit is an exponent.
            follows_word = bool(last_word) and not last_word[-1].isdigit() and last_word not in _UNITS
            if follows_word and (any(ch.isdigit() for ch in run) or run in ("*", "\u2020", "\u2021")):
                for k in range(i, j):
                    keep[k] = False
                page.markers_removed.append(run)
            i = j
        else:
            i += 1
    pieces: list[str] = []
    prev = None
    for c, kept in zip(raw, keep, strict=True):
        if not kept:
            prev = None  # the gap a removed marker leaves is not a table cell boundary
            continue
        if c[1] and c[0] == " ":
            pieces.append(" ")
            continue
        if prev is not None and c[2] - prev[3] > CELL_GAP * size and not c[0].isspace():
            while pieces and pieces[-1] == " ":
                pieces.pop()
            pieces.append("\t")
        pieces.append(c[0])
        if not c[0].isspace():
            prev = c
    text = "".join(pieces).strip(" ")
    text = "\t".join(part.strip() for part in text.split("\t"))
    if not text.strip():
        return None
    weights = [c[6] for c in alnum if c[6] > 0]
    bold = bool(weights) and statistics.median(weights) >= BOLD_WEIGHT
    return Line(text=text, size=size, top=page.height - baseline, bold=bold)


def _is_sup(c: tuple, size: float, baseline: float) -> bool:
    ch, generated, _left, _right, base, height, _weight = c
    return (not generated and ch in _MARKER_CHARS and ch != " " and 0 < height <= SUP_SIZE * size
            and base - baseline >= SUP_RISE * size)
