"""Realistic test PDFs from JSON specs, and the text they were generated from (to measure what a reader gets).

A spec (tests/data/pdfspec/*.json) describes a document page by page: title, edition, authors, affiliations,
misleading PDF metadata, a running header and footer, and blocks (heading, paragraph with ``^12^`` citation
markers, recommendation + grade, table, references, acknowledgements, funding, conflicts). `render_spec` draws it
with fpdf2 the way real guideline PDFs come out: two columns (or one for a leaflet), superscript markers, words
hyphenated at line ends, some words drawn in two pieces with a gap (so extraction gives "pe rformed"), a boxed
recommendation, a table across the page, and metadata that does not match the printed title.

`reference_text` is what a person reads on those pages (no running lines, no markers, words whole, table rows
with their header) in the order the layout puts it; `word_error_rate` compares a reading against it. Used by
scripts/make_test_pdfs.py, scripts/pdf_quality.py and tests/test_pdf_reading.py. Not part of the product.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

FONT_DIR = Path("/usr/share/fonts/truetype/liberation")
BLOCK_TYPES = {"heading", "paragraph", "recommendation", "table", "references", "acknowledgements", "funding",
               "conflicts", "affiliations"}
STRUCTURE_HEADINGS = {"references": "References", "acknowledgements": "Acknowledgements", "funding": "Funding",
                      "conflicts": "Conflicts of interest", "affiliations": "Author affiliations"}
_MARKER = re.compile(r"\^([^^\s]{1,20})\^")
SPACED_EVERY = 7  # one word in two pieces on every 7th body line
FIXED_DATE = datetime(2024, 1, 1, tzinfo=UTC)


class SpecError(ValueError):
    """A spec that cannot be rendered; the message names the file and the field."""


@dataclass
class Spec:
    path: Path
    data: dict

    @property
    def file(self) -> str:
        return self.data["file"]

    @property
    def title(self) -> str:
        return self.data["title"]


def load_spec(path: Path) -> Spec:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path}: not readable JSON ({exc})") from exc
    for key in ("file", "title", "pages"):
        if key not in data:
            raise SpecError(f"{path}: field '{key}' is missing")
    if data.get("layout", "two-column") not in ("two-column", "leaflet"):
        raise SpecError(f"{path}: layout must be 'two-column' or 'leaflet' (got {data.get('layout')!r})")
    for n, page in enumerate(data["pages"], start=1):
        for block in page.get("blocks", []):
            if block.get("type") not in BLOCK_TYPES:
                raise SpecError(f"{path}: page {n} has a block of unknown type {block.get('type')!r} "
                                f"(known: {', '.join(sorted(BLOCK_TYPES))})")
    return Spec(path, data)


def strip_markers(text: str) -> str:
    return _MARKER.sub("", text)


def table_rows(block: dict) -> list[str]:
    """A table as a reader quotes it: each row with its header ("Period: First year; Timing: ...")."""
    header = block.get("header") or []
    rows = []
    for row in block.get("rows", []):
        cells = [f"{h}: {c}" if h else c for h, c in zip(header, row, strict=False)]
        rows.append("; ".join(cells))
    return rows


# ---------------------------------------------------------------- reference text

def _has_own_heading(block: dict, previous: dict | None) -> bool:
    """A references/funding/... block is printed under its standard heading unless the spec put one just before."""
    return not (previous is not None and previous["type"] == "heading"
                and previous["text"].strip().lower() == STRUCTURE_HEADINGS[block["type"]].lower())


def _block_text(block: dict, previous: dict | None = None) -> list[str]:
    kind = block["type"]
    if kind == "heading":
        return [block["text"]]
    if kind == "paragraph":
        return [strip_markers(block["text"])]
    if kind == "recommendation":
        return [strip_markers(block["text"]) + (f" {block['grade']}" if block.get("grade") else "")]
    if kind == "table":
        return ([block["caption"]] if block.get("caption") else []) + table_rows(block)
    heading = [STRUCTURE_HEADINGS[kind]] if _has_own_heading(block, previous) else []
    if kind == "references":
        return heading + list(block["items"])
    return heading + [strip_markers(block["text"])]


def _page_order(spec: Spec, blocks: list[dict]) -> list[dict]:
    """Blocks in the order the layout draws them: in two columns, tables go across the foot of the page."""
    if spec.data.get("layout", "two-column") == "leaflet":
        return blocks
    return [b for b in blocks if b["type"] != "table"] + [b for b in blocks if b["type"] == "table"]


def reference_pages(spec: Spec) -> list[str]:
    """The text of each page as a person reads it (no running lines, no citation markers)."""
    pages = []
    for n, page in enumerate(spec.data["pages"], start=1):
        parts: list[str] = []
        if n == 1:
            parts += _front_matter_lines(spec)
        blocks = page.get("blocks", [])
        for block in _page_order(spec, blocks):
            index = next(i for i, b in enumerate(blocks) if b is block)
            parts += _block_text(block, blocks[index - 1] if index else None)
        pages.append("\n".join(parts))
    return pages


def reference_text(spec: Spec) -> str:
    return "\n".join(reference_pages(spec))


def _front_matter_lines(spec: Spec) -> list[str]:
    lines = [spec.title]
    if spec.data.get("subtitle"):
        lines.append(spec.data["subtitle"])
    if spec.data.get("edition"):
        lines.append(_edition_line(spec))
    if spec.data.get("authors"):
        lines.append(spec.data["authors"])
    if spec.data.get("affiliations"):
        lines.append(spec.data["affiliations"])
    return lines


def _edition_line(spec: Spec) -> str:
    if spec.data.get("layout") == "leaflet":
        return f"Patient information, version {spec.data['edition']}"
    return f"Published {spec.data['edition']}"


_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words_of(text: str) -> list[str]:
    """Lower-case word tokens; punctuation and layout do not count."""
    return _WORD.findall(text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance / reference words (the standard WER), over words_of()."""
    ref, hyp = words_of(reference), words_of(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    # Map words to ints and run the DP with one row at a time (documents are a few thousand words).
    vocab: dict[str, int] = {}
    r = [vocab.setdefault(w, len(vocab)) for w in ref]
    h = [vocab.setdefault(w, len(vocab)) for w in hyp]
    previous = list(range(len(h) + 1))
    for i, rw in enumerate(r, start=1):
        current = [i] + [0] * len(h)
        for j, hw in enumerate(h, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (rw != hw))
        previous = current
    return previous[-1] / len(ref)


# ---------------------------------------------------------------- rendering

@dataclass
class _Style:
    family: str
    style: str
    size: float
    leading: float  # mm


@dataclass
class _Piece:
    text: str
    sup: bool = False


@dataclass
class _Line:
    tokens: list[list[_Piece]] = field(default_factory=list)


def _tokens(text: str) -> list[list[_Piece]]:
    """Words, each a list of pieces: normal text and superscript markers (the ^12^ of the spec)."""
    out = []
    for word in text.split():
        pieces: list[_Piece] = []
        pos = 0
        for match in _MARKER.finditer(word):
            if match.start() > pos:
                pieces.append(_Piece(word[pos:match.start()]))
            pieces.append(_Piece(match.group(1), sup=True))
            pos = match.end()
        if pos < len(word):
            pieces.append(_Piece(word[pos:]))
        out.append(pieces)
    return out


class _Renderer:
    def __init__(self, spec: Spec):
        from fpdf import FPDF

        self.spec = spec
        self.leaflet = spec.data.get("layout", "two-column") == "leaflet"
        self.pdf = FPDF(format="A4", unit="mm")
        self.pdf.set_auto_page_break(False)
        self.pdf.set_creation_date(FIXED_DATE)
        for name, file in (("serif", "LiberationSerif-Regular.ttf"), ("serifB", "LiberationSerif-Bold.ttf"),
                           ("serifI", "LiberationSerif-Italic.ttf"), ("sans", "LiberationSans-Regular.ttf"),
                           ("sansB", "LiberationSans-Bold.ttf")):
            self.pdf.add_font(name, "", str(FONT_DIR / file))
        meta = spec.data.get("metadata") or {}
        if meta.get("title"):
            self.pdf.set_title(meta["title"])
        if meta.get("author"):
            self.pdf.set_author(meta["author"])
        self.pdf.set_creator(meta.get("creator", "fpdf2 (IO Guide test documents)"))
        self.margin = 18.0
        self.width = 210.0 - 2 * self.margin
        self.top, self.bottom = 24.0, 274.0
        self.ncols = 1 if self.leaflet else 2
        self.gap = 8.0
        self.col_w = (self.width - (self.ncols - 1) * self.gap) / self.ncols
        body = 11.0 if self.leaflet else 9.0
        self.body = _Style("serif", "", body, body * 0.47)
        self.small = _Style("serif", "", body - 1.5, (body - 1.5) * 0.47)
        self.head = _Style("sansB", "", body + 1.0, (body + 1.0) * 0.5)
        self.box = _Style("sans", "", body - 0.5, (body - 0.5) * 0.48)
        self.line_no = 0  # body lines drawn so far (drives which lines get a spaced word)

    # -- primitives
    def font(self, style: _Style, size: float | None = None) -> None:
        self.pdf.set_font(style.family, style.style, size or style.size)

    def width_of(self, pieces: list[_Piece], style: _Style) -> float:
        w = 0.0
        for p in pieces:
            self.font(style, style.size * 0.62 if p.sup else None)
            w += self.pdf.get_string_width(p.text)
        return w

    def wrap(self, text: str, style: _Style, width: float) -> list[_Line]:
        """Greedy line breaking; a long word that does not fit is hyphenated (at its own hyphen if it has one)."""
        self.font(style)
        space = self.pdf.get_string_width(" ")
        lines: list[_Line] = [_Line()]
        used = 0.0
        queue = _tokens(text)
        while queue:
            token = queue.pop(0)
            w = self.width_of(token, style)
            need = w + (space if lines[-1].tokens else 0)
            if used + need <= width or not lines[-1].tokens:
                lines[-1].tokens.append(token)
                used += need
                continue
            split = self._hyphenate(token, style, width - used - space)
            if split is not None:
                head, tail = split
                lines[-1].tokens.append(head)
                queue.insert(0, tail)
            else:
                queue.insert(0, token)
            lines.append(_Line())
            used = 0.0
        return [line for line in lines if line.tokens]

    def _hyphenate(self, token: list[_Piece], style: _Style, room: float):
        if len(token) != 1 or token[0].sup:
            return None
        word = token[0].text
        core = word.rstrip(".,;:)")
        if "-" in core[1:-1]:  # a compound breaks at its own hyphen
            cut = core.index("-", 1) + 1
            head, tail = word[:cut], word[cut:]
            if self.width_of([_Piece(head)], style) <= room:
                return [_Piece(head)], [_Piece(tail)]
            return None
        if len(core) < 8 or not core.isalpha():
            return None
        for cut in range(len(core) - 4, 3, -1):
            head = word[:cut] + "-"
            if self.width_of([_Piece(head)], style) <= room:
                return [_Piece(head)], [_Piece(word[cut:])]
        return None

    def draw_line(self, line: _Line, x: float, y: float, style: _Style, spaced: bool = False) -> None:
        """Draw one line at baseline y. With spaced, one longer word is drawn in two pieces with a gap a reader
        does not notice but a text extractor turns into a space ("pe rformed")."""
        self.font(style)
        space = self.pdf.get_string_width(" ")
        split_at = -1
        if spaced:
            candidates = [i for i, t in enumerate(line.tokens)
                          if len(t) == 1 and not t[0].sup and t[0].text.isalpha() and len(t[0].text) >= 6]
            if candidates:
                split_at = candidates[len(candidates) // 2]
        for i, token in enumerate(line.tokens):
            for piece in token:
                if piece.sup:
                    self.font(style, style.size * 0.62)
                    self.pdf.text(x, y - style.size * 0.13, piece.text)
                    x += self.pdf.get_string_width(piece.text)
                    self.font(style)
                elif i == split_at:
                    cut = 2 + (len(piece.text) % 3)
                    self.pdf.text(x, y, piece.text[:cut])
                    x += self.pdf.get_string_width(piece.text[:cut]) + space * 0.9
                    self.pdf.text(x, y, piece.text[cut:])
                    x += self.pdf.get_string_width(piece.text[cut:])
                else:
                    self.pdf.text(x, y, piece.text)
                    x += self.pdf.get_string_width(piece.text)
            x += space

    def running_lines(self, number: int) -> None:
        header = self.spec.data.get("running_header")
        footer = self.spec.data.get("running_footer")
        self.font(_Style("sans", "", 7.5, 3))
        if header:
            self.pdf.text(self.margin, 13, header)
        if footer:
            text = footer.replace("{page}", str(number))
            self.pdf.text(210 - self.margin - self.pdf.get_string_width(text), 287, text)

    # -- flow
    def new_page(self) -> None:
        self.pdf.add_page()
        self.running_lines(self.pdf.page_no())
        self.col, self.y = 0, self.top
        self.col_top = self.top

    def col_x(self) -> float:
        return self.margin + self.col * (self.col_w + self.gap)

    def room(self, height: float, limit: float) -> None:
        if self.y + height <= limit:
            return
        if self.col + 1 < self.ncols:
            self.col += 1
            self.y = self.col_top
            if self.y + height <= limit:
                return
        raise SpecError(f"{self.spec.path}: page {self.pdf.page_no()} overflows (its blocks do not fit on one "
                        f"page at this layout); move some blocks to the next page")

    def paragraph(self, text: str, style: _Style, limit: float, before: float = 0.0, spaced: bool = True) -> None:
        """A paragraph; its lines starting with '- ' are list items, drawn with a bullet and a hanging indent."""
        self.y += before
        for part in text.split("\n"):
            item = part.startswith("- ")
            indent = 4.0 if item else 0.0
            lines = self.wrap(part[2:] if item else part, style, self.col_w - indent)
            for n, line in enumerate(lines):
                self.room(style.leading, limit)
                self.y += style.leading
                self.line_no += 1
                if item and n == 0:
                    self.font(style)
                    self.pdf.text(self.col_x() + 0.5, self.y, "\u2022")
                self.draw_line(line, self.col_x() + indent, self.y, style,
                               spaced and self.line_no % SPACED_EVERY == 0)
        self.y += style.leading * 0.5

    def recommendation(self, block: dict, limit: float) -> None:
        pad = 2.0
        style = self.box
        lines = self.wrap(block["text"], style, self.col_w - 2 * pad)
        grade = block.get("grade", "")
        height = (len(lines) + (1 if grade else 0)) * style.leading + 2 * pad + 1
        self.y += 1.5
        self.room(height, limit)
        x0, y0 = self.col_x(), self.y
        self.pdf.set_draw_color(60, 90, 150)
        self.pdf.set_fill_color(232, 240, 252)
        self.pdf.rect(x0, y0, self.col_w, height, style="DF")
        self.y += pad
        for line in lines:
            self.y += style.leading
            self.draw_line(line, x0 + pad, self.y, style)
        if grade:
            self.y += style.leading
            self.font(_Style("sansB", "", style.size, style.leading))
            self.pdf.text(x0 + pad, self.y, grade)
        self.y = y0 + height + 2.0

    def table_height(self, block: dict) -> float:
        return (2 + len(block.get("rows", []))) * 4.6 + 4

    def table(self, block: dict, x: float, y: float, width: float) -> None:
        """Across the given width, one line per row, cells in columns with rules between rows."""
        header, rows = block.get("header") or [], block.get("rows", [])
        ncol = max([len(header)] + [len(r) for r in rows])
        self.font(_Style("sansB", "", 7.5, 4))
        natural = [max(self.pdf.get_string_width(row[c]) for row in [header] + rows if c < len(row)) + 4
                   for c in range(ncol)]
        if sum(natural) > width:
            raise SpecError(f"{self.spec.path}: table {block.get('caption', '')!r} is wider than the page")
        extra = (width - sum(natural)) / ncol
        starts = [x + sum(natural[:c]) + c * extra for c in range(ncol)]
        if block.get("caption"):
            y += 4.2
            self.font(_Style("sansB", "", 8, 4))
            self.pdf.text(x, y, block["caption"])
        self.pdf.set_draw_color(0, 0, 0)
        y += 1.5
        self.pdf.line(x, y, x + width, y)
        for r, row in enumerate([header] + rows):
            y += 4.4
            self.font(_Style("sansB" if r == 0 else "sans", "", 7.5, 4))
            for c, cell in enumerate(row):
                self.pdf.text(starts[c], y, cell)
            if r == 0:
                self.pdf.line(x, y + 1.4, x + width, y + 1.4)
        self.pdf.line(x, y + 1.6, x + width, y + 1.6)

    def front_matter(self) -> None:
        data = self.spec.data
        x = self.margin
        title = _Style("sansB", "", 17 if not self.leaflet else 20, 7.6 if not self.leaflet else 9)
        self.y += 4
        for line in self.wrap(self.spec.title, title, self.width):
            self.y += title.leading
            self.draw_line(line, x, self.y, title)
        if data.get("subtitle"):
            sub = _Style("sans", "", 12, 5.5)
            for line in self.wrap(data["subtitle"], sub, self.width):
                self.y += sub.leading
                self.draw_line(line, x, self.y, sub)
        if data.get("edition"):
            self.y += 6
            self.font(_Style("sans", "", 9, 4))
            self.pdf.text(x, self.y, _edition_line(self.spec))
        if data.get("authors"):
            authors = _Style("serifB", "", 10, 4.6)
            self.y += 2
            for line in self.wrap(data["authors"], authors, self.width):
                self.y += authors.leading
                self.draw_line(line, x, self.y, authors)
        if data.get("affiliations"):
            aff = _Style("serifI", "", 7.5, 3.4)
            self.y += 1
            for line in self.wrap(data["affiliations"], aff, self.width):
                self.y += aff.leading
                self.draw_line(line, x, self.y, aff)
        self.y += 5
        self.pdf.set_draw_color(120, 120, 120)
        self.pdf.line(x, self.y - 2, x + self.width, self.y - 2)
        self.col_top = self.y

    def page(self, number: int, blocks: list[dict]) -> None:
        self.new_page()
        if number == 1:
            self.front_matter()
        tables = [b for b in blocks if b["type"] == "table"] if not self.leaflet else []
        limit = self.bottom - sum(self.table_height(t) for t in tables)
        for index, block in enumerate(blocks):
            kind = block["type"]
            previous = blocks[index - 1] if index else None
            if kind == "table" and not self.leaflet:
                continue
            if kind == "heading":
                lines = self.wrap(block["text"], self.head, self.col_w)
                self.room(self.head.leading * len(lines) + 2 + self.body.leading * 2, limit)
                self.y += 2
                for line in lines:
                    self.y += self.head.leading
                    self.draw_line(line, self.col_x(), self.y, self.head)
                self.y += 1
            elif kind == "paragraph":
                self.paragraph(block["text"], self.body, limit)
            elif kind == "recommendation":
                self.recommendation(block, limit)
            elif kind == "table":
                height = self.table_height(block)
                self.room(height, limit)
                self.table(block, self.col_x(), self.y, self.col_w)
                self.y += height
            else:
                if _has_own_heading(block, previous):
                    self.room(self.head.leading + 2 + self.small.leading * 2, limit)
                    self.y += 2 + self.head.leading
                    self.draw_line(_Line([[_Piece(w)] for w in STRUCTURE_HEADINGS[kind].split()]), self.col_x(),
                                   self.y, self.head)
                    self.y += 1
                items = block["items"] if kind == "references" else [block["text"]]
                for item in items:
                    self.paragraph(item, self.small, limit, spaced=False)
        y = limit
        for table in tables:
            self.table(table, self.margin, y, self.width)
            y += self.table_height(table)


def render_spec(spec: Spec, target: Path) -> Path:
    """Draw the spec into target (a PDF); the same spec always gives the same bytes."""
    renderer = _Renderer(spec)
    for number, page in enumerate(spec.data["pages"], start=1):
        renderer.page(number, page.get("blocks", []))
    target.parent.mkdir(parents=True, exist_ok=True)
    renderer.pdf.file_id = lambda: ""  # no random document id: the bytes depend on the spec only
    renderer.pdf.output(str(target))
    return target
