"""PDF (pypdf): text per page, running headers and footers removed, bookmarks as section paths."""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import replace

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
              deadline: Deadline) -> tuple[DocumentInfo, list[Section]]:
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
    pages = _strip_running_lines(pages)
    info = replace(info, pages=n_pages)
    title, outline = _pdf_outline(reader)
    meta_title = ""
    try:
        meta_title = clean_title(str((reader.metadata or {}).get("/Title") or ""))
    except Exception:  # noqa: BLE001
        meta_title = ""
    if title:
        info = replace(info, title=title[:MAX_TITLE])
    elif meta_title and meta_title.lower() not in {"untitled", "microsoft word"} and len(meta_title) > 3:
        info = replace(info, title=meta_title)
    return info, _pdf_sections(pages, outline)


def _norm_running(line: str) -> str:
    line = re.sub(r"\d+", "#", line.strip().lower())
    return re.sub(r"^#\s*|\s*#$", "", re.sub(r"\s+", " ", line))


_PAGE_NUMBER = re.compile(r"^\s*(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?\s*$", re.I)
_RUNNING_EDGE = 4  # lines at the top and bottom of a page where headers and footers sit
_RUNNING_ANYWHERE = 25  # a line this long recurring verbatim (but for its page number) is running wherever it is


def _norm_verbatim(line: str) -> str:
    """A line without a leading or trailing page number; the rest must match exactly."""
    return re.sub(r"^\d{1,4}\s+|\s+\d{1,4}$", "", re.sub(r"\s+", " ", line.strip()))


def _strip_running_lines(pages: list[str]) -> list[str]:
    """Remove running headers/footers: lines near the top or bottom that recur on many pages (digits ignored), long
    lines that recur verbatim anywhere on the page (two-column layouts can put the footer mid-text), and bare page
    numbers near the edges. Then join words hyphenated across line breaks."""
    edge = _RUNNING_EDGE
    near: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    split_pages = [p.split("\n") for p in pages]
    for lines in split_pages:
        near.update({_norm_running(line) for line in lines[:edge] + lines[-edge:] if line.strip()})
        anywhere.update({v for v in map(_norm_verbatim, lines) if len(v) >= _RUNNING_ANYWHERE})
    threshold = max(3, int(0.4 * len(pages)))
    running_near = {line for line, c in near.items() if c >= threshold and len(line) > 1}
    running_anywhere = {line for line, c in anywhere.items() if c >= threshold}
    cleaned = []
    for lines in split_pages:
        keep = []
        for i, line in enumerate(lines):
            near_edge = i < edge or i >= len(lines) - edge
            if near_edge and (_norm_running(line) in running_near or _PAGE_NUMBER.match(line)):
                continue
            if running_anywhere and _norm_verbatim(line) in running_anywhere:
                continue
            keep.append(line)
        text = "\n".join(keep)
        text = re.sub(r"(\w)-\n(?=[a-z])", r"\1", text)  # hyphenated line break: "inter-\nnational"
        cleaned.append(text.strip())
    return cleaned


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
        # Lines inside a paragraph become one line; the replacement keeps every offset (page breaks) valid.
        text = re.sub(r"(?<=\S)\n(?=[^\n\-\u2022*])", " ", raw.strip())
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
