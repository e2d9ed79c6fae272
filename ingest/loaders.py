"""Loaders: one file in, (DocumentInfo, [Section]) out, or a LoadError naming the file and the reason.

PDF (pypdf), Markdown with YAML front matter, plain text, HTML (BeautifulSoup) and DOCX (python-docx). Content is
checked, not the extension: a .pdf that is not a PDF is refused as such.

Files are untrusted input. Every stage has a bound a hostile file cannot talk its way past, and each refusal says
which bound was hit: file size (max_bytes), page count (max_pages, checked against the page tree's declared /Count
before pypdf walks it), inflated stream size and decoding work (pypdf's Configuration, set per call), text per PDF
page, tags and nesting depth in HTML, inflated size of a DOCX, front matter size, line length, and wall time
(max_seconds, checked between pages and blocks: a cooperative bound, since Python cannot stop a thread mid-call;
pypdf's own limits bound each single call).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import os
import re
import stat
import time
import zipfile
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import yaml

from ioguide.errors import LoadError
from ioguide.text import normalise_text
from ioguide.types import DocumentInfo, Section

SUPPORTED = {".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
             ".html": "html", ".htm": "html", ".docx": "docx"}
SIDECAR_SUFFIXES = (".yaml", ".yml")
FRONT_MATTER_KEYS = ("title", "issuer", "edition", "source_url", "kind", "topics", "licence_note")

# Bounds for untrusted files. Generous for real guidelines (a dense PDF page holds ~10,000 characters, a long
# web page ~20,000 tags), far below what exhausts memory or time.
MAX_LINE = 2_000  # characters; longer lines (minified text, hostile files) are broken up
MAX_WORD = 20_000  # characters without a space (base64, hostile files) before a hard break
MAX_SECONDS = 300.0  # per file, checked between pages / blocks
MAX_STREAM_BYTES = 16 * 1024 * 1024  # one inflated PDF stream (content, font, object stream)
MAX_PDF_OPERATIONS = 1_000_000  # operators and operands parsed from one content stream
MAX_PAGE_CHARS = 200_000  # extracted text of one PDF page
MAX_HTML_TAGS = 250_000
MAX_HTML_DEPTH = 256
MAX_DOCX_INFLATED = 256 * 1024 * 1024
MAX_DOCX_MEMBERS = 10_000
MAX_FRONT_MATTER = 64 * 1024
MAX_TITLE = 300


class _Deadline:
    """Wall-clock bound for one file, checked at safe points (between PDF pages, every 2,000 HTML nodes)."""

    def __init__(self, name: str, seconds: float):
        self.name, self.seconds = name, seconds
        self.end = time.monotonic() + seconds

    def check(self, where: str) -> None:
        if time.monotonic() > self.end:
            raise LoadError(self.name, f"reading stopped after {self.seconds:g} s {where} (per-file time limit); "
                                       f"the file is unusually heavy or damaged")


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def doc_id_for(path: Path) -> str:
    """A safe id from the file name: letters, digits, '.', '_' and '-' only (no '/', '..', spaces or shell
    characters survive)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-._") or "document"
    return slug[:120]


def _display_name(path: Path) -> str:
    """The path as text for messages; control characters (a newline in a file name) are escaped so a file name
    cannot forge lines in a report."""
    name = str(path)
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in name)


def _describe_content(data: bytes) -> str:
    """What the bytes look like, for 'wrong extension' messages."""
    head = data[:1024].lstrip()
    signatures = [(b"%PDF-", "a PDF"), (b"PK\x03\x04", "a ZIP container (DOCX, XLSX, ODT or similar)"),
                  (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
                  (b"II*\x00", "a TIFF image"), (b"MM\x00*", "a TIFF image"),
                  (b"\xd0\xcf\x11\xe0", "an old Microsoft Office file (.doc/.xls/.ppt)"), (b"{\\rtf", "RTF text")]
    for magic, what in signatures:
        if head.startswith(magic):
            return what
    if b"%PDF-" in data[:1024]:
        return "a PDF"
    if re.match(rb"(?i)(<!doctype html|<html|<head|<body)", head):
        return "HTML"
    if b"\x00" not in data[:8192]:
        try:
            data[:8192].decode("utf-8")
            return "plain text"
        except UnicodeDecodeError as exc:
            if exc.start > 8192 - 4:  # a character cut at the sample's end
                return "plain text"
    return "binary data"


def load_file(path: Path, max_bytes: int = 50 * 1024 * 1024, max_pages: int = 2000,
              collection: str = "guidelines", max_seconds: float = MAX_SECONDS) -> tuple[DocumentInfo, list[Section]]:
    """Read one file. Raises LoadError with a reason a person understands."""
    path = Path(path)
    name = _display_name(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(name, f"unsupported file type '{suffix or '(none)'}' (supported: "
                              f"{', '.join(sorted(set(SUPPORTED)))})")
    data = _read_bounded(name, path, max_bytes)
    if not data.strip():
        raise LoadError(name, "file is empty")
    deadline = _Deadline(name, max_seconds)
    kind = SUPPORTED[suffix]
    info = DocumentInfo(doc_id=doc_id_for(path), title=_clean_title(path.stem) or "document",
                        source=str(path.resolve()), file_hash=file_hash(data), collection=collection,
                        kind="centre" if collection == "centre" else "official")
    year = re.search(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)", path.stem)
    if year:
        info = replace(info, edition=year.group(1))
    if kind == "pdf":
        info, sections = _load_pdf(name, data, info, max_pages, deadline)
    elif kind == "markdown":
        info, sections = _load_markdown(name, _decode(name, data), info)
    elif kind == "text":
        sections = [Section(path=(), text=_clean_lines(_decode(name, data)))]
    elif kind == "html":
        info, sections = _load_html(name, data, info, deadline)
    else:
        info, sections = _load_docx(name, data, info, max_bytes)
    info = _apply_sidecar(path, info)
    if not any(s.text.strip() for s in sections):
        raise LoadError(name, "no text found in the file")
    return info, sections


def _read_bounded(name: str, path: Path, max_bytes: int) -> bytes:
    """The file's bytes, never more than max_bytes read: a pipe, a device or a growing file cannot hang or
    flood the loader."""
    limit = f"over the {max_bytes / 1e6:.0f} MB limit (IOGUIDE_MAX_FILE_MB)"
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        if path.is_symlink():
            try:
                target = os.readlink(path)
            except OSError:
                target = "?"
            raise LoadError(name, f"broken link: it points to {target}, which does not exist") from exc
        raise LoadError(name, "file does not exist") from exc
    except OSError as exc:
        raise LoadError(name, f"cannot read file ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(st.st_mode):
        raise LoadError(name, "this is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise LoadError(name, "not a regular file (a pipe, socket or device)")
    if st.st_size > max_bytes:
        raise LoadError(name, f"file is {st.st_size / 1e6:.1f} MB, {limit}")
    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise LoadError(name, f"cannot read file ({exc.strerror or exc})") from exc
    if len(data) > max_bytes:
        raise LoadError(name, f"file grew past {max_bytes / 1e6:.0f} MB while being read, {limit}")
    return data


def _clean_title(text: str) -> str:
    return re.sub(r"\s+", " ", normalise_text(text)).strip()[:MAX_TITLE]


def _decode(name: str, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise LoadError(name, f"binary content, not text: the file holds {_describe_content(data)} "
                              f"(wrong file extension?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LoadError(name, f"not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at byte position {exc.start}, "
                              f"line {line}); save it as UTF-8") from exc


def _clean_lines(text: str) -> str:
    """Normalise, trim line ends, and break lines longer than MAX_LINE: at a sentence end where there is one (the
    paragraph goes on), else at a space with a paragraph break, so that no 'sentence' the chunker sees is much
    longer than MAX_LINE (a megabyte line without full stops would otherwise be one sentence). A run without
    spaces is cut only past MAX_WORD characters."""
    text = normalise_text(text)
    lines: list[str] = []
    for line in text.split("\n"):
        while len(line) > MAX_LINE:
            window = line[:MAX_LINE]
            end = max(window.rfind(". "), window.rfind("? "), window.rfind("! "))
            if end >= MAX_LINE // 2:
                lines.append(line[:end + 1])
                line = line[end + 2:].lstrip()
                continue
            cut = window.rfind(" ")
            if cut <= 0:  # one run without spaces: words are kept whole up to MAX_WORD characters
                cut = line.find(" ", MAX_LINE, MAX_WORD)
                if cut < 0:
                    if len(line) <= MAX_WORD:
                        break
                    cut = MAX_WORD
            lines.extend((line[:cut].rstrip(), ""))
            line = line[cut:].lstrip()
        lines.append(line.rstrip())
    return "\n".join(lines).strip()


def _apply_sidecar(path: Path, info: DocumentInfo) -> DocumentInfo:
    """An official PDF may carry its citation data in FILE.yaml beside it (title, issuer, edition, source_url)."""
    for suffix in SIDECAR_SUFFIXES:
        sidecar = path.with_suffix(suffix)
        if sidecar.exists():
            where = _display_name(sidecar)
            try:
                if sidecar.stat().st_size > MAX_FRONT_MATTER:
                    raise LoadError(where, f"metadata file is over {MAX_FRONT_MATTER // 1024} KB; it should hold a "
                                           f"few lines (title, issuer, edition, source_url)")
                meta = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
            except LoadError:
                raise
            except (OSError, yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise LoadError(where, f"metadata file is not valid YAML ({first})") from exc
            if isinstance(meta, dict):
                return _merge_meta(info, meta)
    return info


def _scalar(value: object) -> str | None:
    """A metadata value as text, or None for anything that is not a plain value (YAML lists, mappings and alias
    structures are never turned into text: str() of a YAML alias bomb would not finish)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str) and len(value) > 4096:
        return None
    if isinstance(value, str | int | float | date):
        return str(value).strip() or None
    return None


def _merge_meta(info: DocumentInfo, meta: dict) -> DocumentInfo:
    changes: dict = {}
    for key in ("title", "issuer", "edition", "source_url", "licence_note"):
        value = _scalar(meta.get(key))
        if value is not None:
            changes[key] = value
    if "edition" not in changes and _scalar(meta.get("year")) is not None:
        changes["edition"] = _scalar(meta["year"])
    if meta.get("kind") in ("summary", "official", "centre"):
        changes["kind"] = meta["kind"]
    topics = meta.get("topics")
    if isinstance(topics, str):
        topics = topics.split(",")
    if isinstance(topics, list):
        cleaned = (_scalar(t) for t in topics[:200])
        changes["topics"] = tuple(t for t in cleaned if t)
    return replace(info, **changes)


# ---------------------------------------------------------------- Markdown

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*)$")
_SOURCES = re.compile(r"^\s*\**sources?\**\s*:?\**\s*$", re.I)
_URL = re.compile(r"https?://[^\s)>\]]+")
# Inline markup, written so each match attempt stops at the next delimiter: no pattern can rescan a long line
# once per character (hostile '[[[[...' or '*a *a *a ...' lines stay linear).
_DATA_IMAGE = re.compile(r"!\[([^\[\]\n]{0,500})\]\(data:[^)\s]*\)")
_IMAGE = re.compile(r"!\[([^\[\]\n]{0,500})\]\([^()\n]{0,2000}\)")
_LINK = re.compile(r"\[([^\[\]\n]{1,1000})\]\([^()\n]{1,2000}\)")
_BOLD = re.compile(r"\*\*((?:[^*\n]|\*(?!\*)){1,2000}?)\*\*|__((?:[^_\n]|_(?!_)){1,2000}?)__")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]{1,2000})(?<!\s)\*(?!\w)")
_CODE = re.compile(r"`([^`\n]+)`")


def parse_front_matter(text: str) -> tuple[dict, str]:
    match = _FRONT.match(text)
    if not match:
        return {}, text
    if len(match.group(1)) > MAX_FRONT_MATTER:
        raise ValueError(f"front matter is over {MAX_FRONT_MATTER // 1024} KB; it should hold a few lines of metadata")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"front matter is not valid YAML ({str(exc).splitlines()[0]})") from exc
    except (ValueError, TypeError, OverflowError) as exc:  # a value YAML parses but cannot build: 2014-13-45
        raise ValueError(f"front matter is not valid YAML ({str(exc)[:120]})") from exc
    except RecursionError as exc:
        raise ValueError("front matter is nested too deeply to be metadata") from exc
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a mapping of keys to values")
    return meta, text[match.end():]


def _plain_markdown(line: str) -> str:
    line = _IMAGE.sub(r"\1", line)
    line = _LINK.sub(r"\1", line)
    line = _BOLD.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), line)
    line = _ITALIC.sub(r"\1", line)
    return _CODE.sub(r"\1", line)


def _heading(line: str) -> tuple[int, str] | None:
    """(level, text) of an ATX heading; a closing run of '#' counts only after a space (CommonMark: '# C#')."""
    match = _HEADING.match(line)
    if not match:
        return None
    text = match.group(2).rstrip()
    bare = text.rstrip("#")
    if bare != text and (not bare or bare[-1] in " \t"):
        text = bare.rstrip()
    return len(match.group(1)), text


def _load_markdown(name: str, text: str, info: DocumentInfo) -> tuple[DocumentInfo, list[Section]]:
    try:
        meta, body = parse_front_matter(text)
    except ValueError as exc:
        raise LoadError(name, str(exc)) from exc
    info = _merge_meta(info, meta)
    if meta.get("kind") == "summary" and meta.get("source_url"):
        info = replace(info, kind="summary")
    body = _DATA_IMAGE.sub(r"\1", body)  # inline base64 images: drop before long lines are broken up
    sections: list[Section] = []
    path: list[str] = []
    buf: list[str] = []
    sources: list[str] = []
    in_sources = False
    title_from_h1 = None

    def flush() -> None:
        body_text = _clean_lines("\n".join(buf))
        if body_text or sources:
            sections.append(Section(path=tuple(path), text=body_text, sources=tuple(dict.fromkeys(sources))))

    for raw in _clean_lines(body).split("\n"):
        heading = _heading(raw)
        if heading:
            flush()
            buf, sources, in_sources = [], [], False
            level = heading[0]
            title = _plain_markdown(heading[1]).strip()
            if level == 1 and title_from_h1 is None and not sections:
                title_from_h1 = title
                path = []
                continue
            depth = max(level - 2, 0)
            path = path[:depth] + [title]
            continue
        if _SOURCES.match(raw):
            in_sources = True
            continue
        if in_sources:
            urls = _URL.findall(raw)
            if urls:
                sources.extend(u.rstrip(".,;") for u in urls)
                continue
            if not raw.strip():
                continue
            in_sources = False
        buf.append(_plain_markdown(raw))
    flush()
    if not meta.get("title") and title_from_h1:
        info = replace(info, title=title_from_h1[:MAX_TITLE])
    return info, [s for s in sections if s.text.strip()]


# ---------------------------------------------------------------- PDF

def _pypdf_limits(max_pages: int):
    """A context in which pypdf works under our bounds: its Configuration where it has one (pypdf 7), else its
    older module-level limits."""
    try:
        from pypdf import Configuration, apply_configuration
    except ImportError:
        return _legacy_pypdf_limits()
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


@contextlib.contextmanager
def _legacy_pypdf_limits():
    """pypdf releases before Configuration read module constants; lower them for the duration of one file."""
    from pypdf import filters

    names = [n for n in ("ZLIB_MAX_OUTPUT_LENGTH", "LZW_MAX_OUTPUT_LENGTH", "RUN_LENGTH_MAX_OUTPUT_LENGTH",
                         "JBIG2_MAX_OUTPUT_LENGTH", "MAX_ARRAY_BASED_STREAM_OUTPUT_LENGTH", "FLATE_MAX_BUFFER_SIZE")
             if hasattr(filters, n)]
    saved = {n: getattr(filters, n) for n in names}
    try:
        for n in names:
            setattr(filters, n, min(saved[n], MAX_STREAM_BYTES))
        yield
    finally:
        for n, value in saved.items():
            setattr(filters, n, value)


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


def _load_pdf(name: str, data: bytes, info: DocumentInfo, max_pages: int,
              deadline: _Deadline | None = None) -> tuple[DocumentInfo, list[Section]]:
    if b"%PDF-" not in data[:1024]:
        raise LoadError(name, f"not a PDF: the file holds {_describe_content(data)} (wrong file extension?)")
    truncated = b"%%EOF" not in data[-4096:]
    if truncated:
        raise LoadError(name, "truncated PDF: the end-of-file marker is missing, so the download or copy is "
                              "incomplete; fetch the file again")
    deadline = deadline or _Deadline(name, MAX_SECONDS)
    with _pypdf_limits(max_pages):
        return _read_pdf(name, data, info, max_pages, deadline)


def _read_pdf(name: str, data: bytes, info: DocumentInfo, max_pages: int,
              deadline: _Deadline) -> tuple[DocumentInfo, list[Section]]:
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
        meta_title = _clean_title(str((reader.metadata or {}).get("/Title") or ""))
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
                title = _clean_title(str(item.title))[:200]
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


# ---------------------------------------------------------------- HTML and DOCX

_HTML_TAG = re.compile(r"<(/?)([A-Za-z][\w:-]*)([^<>]*)>")
_HTML_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_HTML_BLOCKS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "th", "pre", "blockquote", "dd", "dt",
                "caption", "figcaption")
_HTML_HEADINGS = frozenset(("h1", "h2", "h3", "h4"))
_HTML_DROP = ["script", "style", "noscript", "template", "svg", "iframe", "object", "head"]


def _html_depth(text: str, limit: int) -> int:
    """Nesting depth as the tags declare it (stops counting past limit). Block tags that HTML lets one leave open
    (<p>, <li>, <td> ...) are not counted: text under them finds its block at once however deep they go."""
    depth = 0
    open_blocks = frozenset(_HTML_BLOCKS)
    for match in _HTML_TAG.finditer(text):
        closing, tag, rest = match.group(1), match.group(2).lower(), match.group(3)
        if tag in _HTML_VOID or tag in open_blocks or rest.endswith("/"):
            continue
        if closing:
            depth = max(depth - 1, 0)
        else:
            depth += 1
            if depth > limit:
                return depth
    return depth


def _load_html(name: str, data: bytes, info: DocumentInfo,
               deadline: _Deadline | None = None) -> tuple[DocumentInfo, list[Section]]:
    from bs4 import BeautifulSoup
    from bs4.element import NavigableString, PreformattedString, Tag

    if b"\x00" in data[:8192]:
        raise LoadError(name, f"binary content, not HTML: the file holds {_describe_content(data)}")
    deadline = deadline or _Deadline(name, MAX_SECONDS)
    text = data.decode("utf-8", errors="replace")
    unclosed = text.rfind("<!--")
    if unclosed >= 0 and text.find("-->", unclosed + 4) < 0:
        # A comment left open runs to the end (as in browsers); html.parser would turn it into visible text,
        # scripts included.
        text = text[:unclosed]
    n_tags = sum(1 for _ in itertools.islice(_HTML_TAG.finditer(text), MAX_HTML_TAGS + 1))
    if n_tags > MAX_HTML_TAGS:
        raise LoadError(name, f"HTML has more than {MAX_HTML_TAGS:,} tags, far beyond a web page; save it as "
                              f"text or PDF")
    depth = _html_depth(text, MAX_HTML_DEPTH)
    if depth > MAX_HTML_DEPTH:
        raise LoadError(name, f"HTML is nested more than {MAX_HTML_DEPTH} levels deep, far beyond a web page "
                              f"(damaged or hostile file)")
    try:
        soup = BeautifulSoup(text, "html.parser")
    except Exception as exc:  # noqa: BLE001 - html.parser/bs4 reject some broken markup (ParserRejectedMarkup)
        raise LoadError(name, f"HTML could not be parsed ({type(exc).__name__})") from exc
    title_tag = soup.find("title")
    if title_tag and title_tag.get_text(strip=True):
        info = replace(info, title=_clean_title(title_tag.get_text(" ", strip=True)))
    for tag in soup(_HTML_DROP):
        tag.decompose()
    # One pass in document order; each piece of text belongs to its nearest block ancestor (a heading, a
    # paragraph, a list item, a cell). Text a block holds around a nested block (an unclosed <p>, a <li> holding
    # a list) is kept, and so is text outside any block (a <div> holding text directly).
    blocks = frozenset(_HTML_BLOCKS)
    segments: list[tuple[Tag | None, list[str]]] = []
    for n, node in enumerate(soup.descendants):
        if n % 2000 == 0:
            deadline.check("while reading the HTML")
        if isinstance(node, Tag):
            if node.name in ("br", "hr") and segments:
                segments[-1][1].append("\n")
            continue
        if not isinstance(node, NavigableString) or isinstance(node, PreformattedString) or not node.strip():
            continue  # comments, doctype, CDATA; whitespace between tags
        owner = node.parent
        while owner is not None and owner.name not in blocks and owner is not soup:
            owner = owner.parent
        owner = owner if owner is not soup else None
        # Source line breaks are spaces in HTML (only <br> and <pre> break lines).
        piece = str(node) if owner is not None and owner.name == "pre" else re.sub(r"\s+", " ", str(node))
        if segments and segments[-1][0] is owner:
            segments[-1][1].append(piece)
        else:
            segments.append((owner, [piece]))
    sections: list[Section] = []
    path: list[str] = []
    buf: list[str] = []
    for owner, parts in segments:
        content = re.sub(r"[ \t\r\f\v]+", " ", normalise_text("".join(parts))).strip()
        content = re.sub(r" *\n+ *", " " if owner is not None and owner.name in _HTML_HEADINGS else "\n", content)
        if not content:
            continue
        if owner is not None and owner.name in _HTML_HEADINGS:
            if buf:
                sections.append(Section(path=tuple(path), text=_clean_lines("\n".join(buf))))
                buf = []
            level = int(owner.name[1])
            if level == 1 and not sections and info.title == info.doc_id:
                info = replace(info, title=content[:MAX_TITLE])
            path = path[: max(level - 2, 0)] + [content[:200]] if level > 1 else []
        else:
            buf.append(("- " if owner is not None and owner.name == "li" else "") + content)
    if buf:
        sections.append(Section(path=tuple(path), text=_clean_lines("\n".join(buf))))
    return info, sections


def _load_docx(name: str, data: bytes, info: DocumentInfo,
               max_bytes: int = 50 * 1024 * 1024) -> tuple[DocumentInfo, list[Section]]:
    if data[:2] != b"PK":
        raise LoadError(name, f"not a DOCX file: the file holds {_describe_content(data)} (wrong file extension?)")
    # python-docx reads every part into memory: check what the ZIP expands to first (a zip bomb is small on disk).
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except Exception as exc:  # noqa: BLE001 - BadZipFile, ValueError, OSError, EOFError... for broken archives
        raise LoadError(name, "corrupt DOCX (not a readable ZIP container; truncated download?)") from exc
    inflated = sum(m.file_size for m in members)
    limit = max(MAX_DOCX_INFLATED, 4 * max_bytes)
    if len(members) > MAX_DOCX_MEMBERS or inflated > limit:
        raise LoadError(name, f"DOCX expands to {inflated / 1e6:,.0f} MB in {len(members):,} parts, over the "
                              f"{limit / 1e6:.0f} MB safety limit (a zip bomb, or not a normal document)")
    if "word/document.xml" not in {m.filename for m in members}:
        raise LoadError(name, "not a Word document (no word/document.xml inside; another Office format?)")
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx raises many types for broken files
        raise LoadError(name, f"corrupt DOCX ({type(exc).__name__})") from exc
    core_title = _clean_title(document.core_properties.title or "")
    if core_title:
        info = replace(info, title=core_title)
    sections: list[Section] = []
    path: list[str] = []
    buf: list[str] = []
    for para in document.paragraphs:
        content = normalise_text(para.text).strip()
        if not content:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        match = re.match(r"Heading (\d)", style)
        if style == "Title":
            if not core_title:
                info = replace(info, title=_clean_title(content))
            continue
        if match:
            if buf:
                sections.append(Section(path=tuple(path), text=_clean_lines("\n".join(buf))))
                buf = []
            level = int(match.group(1))
            path = path[: level - 1] + [content[:200]]
        else:
            buf.append(("- " if "List" in style else "") + content)
    for table in document.tables:
        for row in table.rows:
            cells = [normalise_text(c.text).strip() for c in row.cells]
            if any(cells):
                buf.append(" | ".join(cells))
    if buf:
        sections.append(Section(path=tuple(path), text=_clean_lines("\n".join(buf))))
    return info, sections
