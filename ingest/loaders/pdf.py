"""PDF: text per page as a person reads it, the printed title, sections from bookmarks or printed headings, and
the parts that are not guidance marked with a role.

pypdf opens and checks the file under bounds (encryption, page tree, stream sizes) and gives one text per page;
pypdfium2 gives a second reading character by character (sizes and baselines: superscript citation markers,
table cells, the title, headings). Each page keeps the reading with the higher rate of known words (pdfium's on a
tie: it carries the marker information), then pdf_text repairs what extraction breaks.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field, replace

from ioguide.errors import LoadError
from ioguide.text import normalise_text
from ioguide.types import DocumentInfo, Section

from .limits import (
    MAX_PAGE_CHARS,
    MAX_PDF_OPERATIONS,
    MAX_SECONDS,
    MAX_STREAM_BYTES,
    MAX_TITLE,
    Deadline,
    clean_title,
    describe_content,
)
from .pdf_chars import PageChars, read_page
from .pdf_structure import detected_headings, mark_roles, metadata_title_problem, printed_title, printed_year
from .pdf_text import (
    Vocabulary,
    attach_grades,
    format_tables,
    join_spaced_words,
    strip_glued_markers,
    strip_running_lines,
    undo_hyphenation,
)

_PARAGRAPH_LINE = re.compile(r"(?<=\S)\n(?=[^\n\-\u2022*])")
PDFIUM_TIE = 0.005  # pypdf's page text is kept only when its known-word rate is higher by more than this


@dataclass
class PageReport:
    """How one page was read."""

    number: int
    source: str  # "pdfium" or "pypdf"
    known_pypdf: float  # share of known words in each reading
    known_pdfium: float | None
    markers: list[str] = field(default_factory=list)  # citation markers removed
    joins: list[str] = field(default_factory=list)  # split words joined ("pe rformed")


@dataclass
class PdfReport:
    """What `python -m ingest --explain` shows for a PDF."""

    pages: int
    title: str = ""
    title_source: str = ""
    metadata_title: str = ""
    metadata_problem: str | None = None
    edition: str = ""
    edition_source: str = ""
    page_reports: list[PageReport] = field(default_factory=list)
    furniture: list[str] = field(default_factory=list)  # running headers, footers, page numbers removed
    sections: list[tuple[tuple[str, ...], str, int | None, int]] = field(default_factory=list)
    page_chars: list[PageChars | None] = field(default_factory=list)
    headings: list[tuple[int, str]] = field(default_factory=list)
    first_page: str = ""  # page 1 as printed, running lines included (where a metadata title is looked for)


def _pypdf_limits(max_pages: int):
    """A context in which pypdf works under our bounds (pypdf >= 7's Configuration)."""
    from pypdf import Configuration, apply_configuration

    wanted = {
        "zlib_maximum_output_length": MAX_STREAM_BYTES,
        "lzw_maximum_output_length": MAX_STREAM_BYTES,
        "run_length_maximum_output_length": MAX_STREAM_BYTES,
        "brotli_maximum_output_length": MAX_STREAM_BYTES,
        "jbig2_maximum_output_length": MAX_STREAM_BYTES,
        "array_based_stream_maximum_output_length": MAX_STREAM_BYTES,
        "image_maximum_buffer_size": MAX_STREAM_BYTES,
        "stream_decoding_work_maximum_length": 3 * MAX_STREAM_BYTES,
        "stream_parsing_work_maximum_count": MAX_PDF_OPERATIONS,
        # Room for intermediate /Pages nodes; a shared subtree referenced many times is counted each time.
        "page_tree_maximum_entries": max(1_000, 3 * max_pages),
        "outline_maximum_entries": 10_000,
    }
    fields = set(getattr(Configuration, "__dataclass_fields__", {}))
    return apply_configuration(**{k: v for k, v in wanted.items() if k in fields})


def _limit_reason(exc: Exception) -> str:
    message = str(exc)
    if "decompress" in message.lower() or "decod" in message.lower():
        return (f"a compressed stream expands past the {MAX_STREAM_BYTES // (1024 * 1024)} MB safety limit "
                f"(a decompression bomb, or a badly damaged file)")
    if "page tree" in message.lower():
        return "the page tree is larger than the page limit allows (IOGUIDE_MAX_PDF_PAGES)"
    if "tokens" in message.lower():
        return (f"a page's content holds more than {MAX_PDF_OPERATIONS:,} drawing operations, beyond any real page "
                f"(a hostile or badly damaged file)")
    return f"the file exceeds a safety limit while being read ({message[:120]})"


def _declared_page_count(reader) -> int | None:
    """/Count of the root page tree node, read without walking the tree (which a hostile file makes huge)."""
    try:
        count = reader.root_object["/Pages"].get_object().get("/Count")
        count = int(count.get_object()) if count is not None else None
    except Exception:  # noqa: BLE001 - a missing or odd /Count just means "unknown"
        return None
    return count


def load_pdf(name: str, data: bytes, info: DocumentInfo, max_pages: int,
             deadline: Deadline | None = None) -> tuple[DocumentInfo, list[Section]]:
    info, sections, _ = read_pdf(name, data, info, max_pages, deadline)
    return info, sections


def read_pdf(name: str, data: bytes, info: DocumentInfo, max_pages: int,
             deadline: Deadline | None = None) -> tuple[DocumentInfo, list[Section], PdfReport]:
    """load_pdf, and a report of how the PDF was read (for `python -m ingest --explain`)."""
    if b"%PDF-" not in data[:1024]:
        raise LoadError(name, f"not a PDF: the file holds {describe_content(data)} (wrong file extension?)")
    truncated = b"%%EOF" not in data[-4096:]
    if truncated:
        raise LoadError(name, "truncated PDF: the end-of-file marker is missing, so the download or copy is "
                              "incomplete; fetch the file again")
    deadline = deadline or Deadline(name, MAX_SECONDS)
    with _pypdf_limits(max_pages):
        return _read_pdf(name, data, info, max_pages, deadline)


def _read_pdf(name: str, data: bytes, info: DocumentInfo, max_pages: int,
              deadline: Deadline) -> tuple[DocumentInfo, list[Section], PdfReport]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, LimitReachedError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except DependencyError as exc:
                raise LoadError(name, "encrypted PDF (AES) and no decryption library is installed; save an "
                                      "unprotected copy (e.g. print it to PDF) and add that") from exc
            except Exception as exc:  # noqa: BLE001 - pypdf raises several types for unsupported crypto
                raise LoadError(name, f"encrypted PDF that cannot be opened ({str(exc)[:120]}); save an "
                                      f"unprotected copy") from exc
            if not ok:
                raise LoadError(name, "encrypted PDF: a password is required to open it; save an unprotected "
                                      "copy (e.g. print it to PDF) and add that")
        declared = _declared_page_count(reader)
        if declared is not None and declared > max_pages:
            raise LoadError(name, f"PDF declares {declared:,} pages, over the limit of {max_pages:,} "
                                  f"(IOGUIDE_MAX_PDF_PAGES)")
        n_pages = len(reader.pages)
    except LoadError:
        raise
    except LimitReachedError as exc:
        raise LoadError(name, _limit_reason(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types (PdfReadError, ValueError, struct.error...)
        raise LoadError(name, f"corrupt PDF ({type(exc).__name__}: {str(exc)[:120]})") from exc
    if n_pages == 0:
        raise LoadError(name, "PDF has no pages")
    if n_pages > max_pages:
        raise LoadError(name, f"PDF has {n_pages:,} pages, over the limit of {max_pages:,} (IOGUIDE_MAX_PDF_PAGES)")
    pages: list[str] = []
    failed = 0
    for number, page in enumerate(reader.pages, start=1):
        deadline.check(f"at page {number} of {n_pages}")
        try:
            text = page.extract_text() or ""
        except LimitReachedError as exc:
            # A hostile stream is often shared by every page: stop at the first, do not pay for each.
            raise LoadError(name, f"page {number}: {_limit_reason(exc)}") from exc
        except Exception:  # noqa: BLE001 - one broken page must not lose the others
            failed += 1
            text = ""
        if len(text) > MAX_PAGE_CHARS:
            raise LoadError(name, f"page {number} yields {len(text):,} characters of text, more than any printed "
                                  f"page holds (limit {MAX_PAGE_CHARS:,}); the file is damaged or hostile")
        pages.append(normalise_text(text))
    if not any(p.strip() for p in pages):
        raise LoadError(name, "PDF has no extractable text (scanned images? run OCR first)"
                        if not failed else "PDF pages could not be read (corrupt content streams)")
    report = PdfReport(pages=n_pages)
    pages = _read_text(name, data, pages, deadline, report)
    info = replace(info, pages=n_pages)
    outline_title, outline = _pdf_outline(reader)
    meta_title = ""
    try:
        meta_title = clean_title(str((reader.metadata or {}).get("/Title") or ""))
    except Exception:  # noqa: BLE001
        meta_title = ""
    info = _choose_title(info, report, meta_title, outline_title, pages)
    if not outline and report.page_chars:
        outline = [(index, (heading,)) for index, heading in report.headings]
    # Roles are found on the printed lines (a heading alone on its line, or run in at a line's start); then lines
    # inside a paragraph become one line, a one-for-one replacement that keeps every offset (page breaks) valid.
    sections = [replace(s, text=_PARAGRAPH_LINE.sub(" ", s.text)) for s in mark_roles(_pdf_sections(pages, outline))]
    report.sections = [(s.path, s.role, s.page_breaks[0][1] if s.page_breaks else None, len(s.text))
                       for s in sections]
    return info, sections, report


def _pdfium_pages(data: bytes, n_pages: int, deadline: Deadline) -> list[PageChars | None]:
    """pdfium's character reading of each page; None for a page (or a file) pdfium cannot read."""
    try:
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(data)
    except Exception:  # noqa: BLE001 - pypdf read it; pdfium refusing just means no second reading
        return [None] * n_pages
    out: list[PageChars | None] = []
    try:
        for index in range(min(n_pages, len(document))):
            deadline.check(f"at page {index + 1} of {n_pages} (character layout)")
            try:
                page = document[index]
                out.append(read_page(page))
                page.close()
            except Exception:  # noqa: BLE001 - one page pdfium cannot read keeps pypdf's text
                out.append(None)
    finally:
        document.close()
    return out + [None] * (n_pages - len(out))


def _read_text(name: str, data: bytes, pypdf_pages: list[str], deadline: Deadline, report: PdfReport) -> list[str]:
    """Choose a reading per page, then repair it: markers, running lines, hyphenation, split words, tables."""
    chars = _pdfium_pages(data, len(pypdf_pages), deadline)
    pdfium_pages = [normalise_text(c.text) if c is not None else "" for c in chars]
    # One reading per page: a split both readings share must not make its pieces look like the document's words.
    vocab = Vocabulary([b if c is not None and b.strip() else a for a, b, c in zip(pypdf_pages, pdfium_pages, chars,
                                                                                strict=True)])
    chosen: list[str] = []
    for number, (pypdf_text, pdfium_text, page_chars) in enumerate(zip(pypdf_pages, pdfium_pages, chars,
                                                                       strict=True), start=1):
        known_pypdf = vocab.known_rate(pypdf_text)
        known_pdfium = vocab.known_rate(pdfium_text) if page_chars is not None else None
        if known_pdfium is not None and pdfium_text.strip() and known_pdfium >= known_pypdf - PDFIUM_TIE:
            page = PageReport(number, "pdfium", known_pypdf, known_pdfium, markers=list(page_chars.markers_removed))
            text = pdfium_text
        else:
            text, markers = strip_glued_markers(pypdf_text)
            page = PageReport(number, "pypdf", known_pypdf, known_pdfium, markers=markers)
        report.page_reports.append(page)
        chosen.append(text)
    report.first_page = chosen[0] if chosen else ""
    chosen, report.furniture = strip_running_lines(chosen)
    repaired = []
    for text, page in zip(chosen, report.page_reports, strict=True):
        text = undo_hyphenation(text, vocab)
        text, page.joins = join_spaced_words(text, vocab)
        repaired.append(attach_grades(format_tables(text)))
    report.page_chars = chars
    furniture = set(report.furniture)
    headings = []
    for index, heading in detected_headings(chars, furniture, printed_title(chars[0], furniture)):
        if report.page_reports[index].source == "pdfium":
            headings.append((index, join_spaced_words(heading, vocab)[0]))
    report.headings = headings
    return repaired


def _choose_title(info: DocumentInfo, report: PdfReport, meta_title: str, outline_title: str,
                  pages: list[str]) -> DocumentInfo:
    """The printed title (largest text near the top of page 1); else the metadata title when it is printed on
    page 1 and not an artefact; else the top bookmark; else the first heading; else the file name. The year
    printed near the top of page 1 (published, edition, version ...) becomes the edition."""
    furniture = set(report.furniture)
    first = report.page_chars[0] if report.page_chars else None
    report.metadata_title = meta_title
    report.metadata_problem = metadata_title_problem(meta_title, report.first_page)
    printed = printed_title(first, furniture)
    if printed:
        title, source = printed, "printed on page 1 (largest text near the top)"
    elif meta_title and report.metadata_problem is None:
        title, source = meta_title, "PDF metadata (/Title), printed on page 1"
    elif outline_title:
        title, source = outline_title, "top-level bookmark"
    elif report.headings:
        title, source = report.headings[0][1], "first heading"
    else:
        title, source = info.title, "file name"
    report.title, report.title_source = title[:MAX_TITLE], source
    year = printed_year(first, pages[0] if pages else "")
    if year:
        info = replace(info, edition=year)
        report.edition, report.edition_source = year, "printed on page 1"
    else:
        report.edition, report.edition_source = info.edition, "file name" if info.edition else ""
    return replace(info, title=title[:MAX_TITLE])


def _pdf_outline(reader) -> tuple[str, list[tuple[int, tuple[str, ...]]]]:
    """(document title, [(0-based page index, heading path)]) from the PDF's bookmarks, if any."""
    entries: list[tuple[int, tuple[str, ...]]] = []

    def walk(items, parents: tuple[str, ...]) -> None:
        last: tuple[str, ...] = parents
        for item in items:
            if isinstance(item, list):
                walk(item, last)
                continue
            try:
                title = clean_title(str(item.title))[:200]
                page = reader.get_destination_page_number(item)
            except Exception:  # noqa: BLE001
                continue
            if title and page is not None and page >= 0:
                last = parents + (title,)
                entries.append((page, last))

    try:
        walk(reader.outline, ())
    except Exception:  # noqa: BLE001 - a broken outline just means no outline (RecursionError included)
        return "", []
    title = ""
    if entries and entries[0][0] == 0 and len(entries) > 1 and len(entries[0][1]) == 1:
        # A top-level bookmark holding everything else is the document title.
        top = entries[0][1][0]
        if all(e[1][0] == top for e in entries):
            title = top
            entries = [(p, path[1:]) for p, path in entries[1:] if path[1:]]
    return title, entries


def _find_heading(text: str, heading: str, start: int, end: int | None = None) -> int:
    words = [re.escape(w) for w in heading.split()]
    if not words:
        return -1
    pattern = re.compile(r"(?:^|\n)\s*" + r"\s+".join(words) + r"\s*(?:\n|$)", re.I)
    match = pattern.search(text, start, len(text) if end is None else end)
    return match.start() + (1 if match.group(0).startswith("\n") else 0) if match else -1


def _pdf_sections(pages: list[str], outline: list[tuple[int, tuple[str, ...]]]) -> list[Section]:
    """Concatenate pages (recording where each starts), then cut at outline headings found in the text."""
    full = ""
    breaks: list[tuple[int, int]] = []
    for number, text in enumerate(pages, start=1):
        if not text:
            continue
        if full:
            full += "\n\n"
        breaks.append((len(full), number))
        full += text
    page_start_offset = {number: off for off, number in breaks}
    cuts: list[tuple[int, int, tuple[str, ...]]] = []  # (offset, heading length, path)
    for page_index, path in outline:
        base = page_start_offset.get(page_index + 1)
        if base is None:
            continue
        search_from = max(base, cuts[-1][0] + 1 if cuts else 0)
        # Look on the bookmark's own page only (plus a little slack), ending at a line end so '$' means one.
        window_end = full.find("\n", base + len(pages[page_index]) + 200)
        # From one character early: a heading that opens its page follows the page break's "\n".
        pos = _find_heading(full, path[-1], max(search_from - 1, 0), len(full) if window_end < 0 else window_end)
        if pos < 0:
            continue
        line_end = full.find("\n", pos)
        cuts.append((pos, (line_end if line_end >= 0 else len(full)) - pos, path))
    segments: list[tuple[int, int, tuple[str, ...]]] = []
    prev_end, prev_path = 0, ()
    for pos, head_len, path in cuts:
        segments.append((prev_end, pos, prev_path))
        prev_end, prev_path = pos + head_len, path
    segments.append((prev_end, len(full), prev_path))
    sections = []
    for start, end, path in segments:
        raw = full[start:end]
        lead = len(raw) - len(raw.lstrip())
        text = raw.strip()
        if not text:
            continue
        abs_start = start + lead
        local_breaks = []
        current = None
        for off, number in breaks:
            if off <= abs_start:
                current = number
            elif off < abs_start + len(text):
                local_breaks.append((off - abs_start, number))
        local_breaks.insert(0, (0, current or 1))
        sections.append(Section(path=path, text=text, page_breaks=tuple(local_breaks)))
    return sections
