"""Bounds for untrusted files, and the small helpers every loader shares: bounded reading, decoding, line
cleaning, titles, and what the bytes look like for 'wrong extension' messages.

Files are untrusted input. Every stage has a bound a hostile file cannot talk its way past, and each refusal says
which bound was hit: file size (max_bytes), page count (max_pages, checked against the page tree's declared /Count
before pypdf walks it), inflated stream size and decoding work (pypdf's Configuration, set per call), text per PDF
page, tags and nesting depth in HTML, inflated size of a DOCX, front matter size, line length, and wall time
(max_seconds, checked between pages and blocks: a cooperative bound, since Python cannot stop a thread mid-call;
pypdf's own limits bound each single call).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from pathlib import Path

from ioguide.config import MAX_FILE_MB, MAX_LOAD_SECONDS, MAX_PDF_PAGES
from ioguide.errors import LoadError
from ioguide.text import normalise_text

# Bounds for untrusted files. Generous for real guidelines (a dense PDF page holds ~10,000 characters, a long
# web page ~20,000 tags), far below what exhausts memory or time.
MAX_LINE = 2_000  # characters; longer lines (minified text, hostile files) are broken up
MAX_WORD = 20_000  # characters without a space (base64, hostile files) before a hard break
MAX_BYTES = int(MAX_FILE_MB * 1024 * 1024)  # one file (the defaults are ioguide/config.py's, as Settings')
MAX_PAGES = MAX_PDF_PAGES  # one PDF
MAX_SECONDS = MAX_LOAD_SECONDS  # per file, checked between pages / blocks
MAX_STREAM_BYTES = 16 * 1024 * 1024  # one inflated PDF stream (content, font, object stream)
MAX_PDF_OPERATIONS = 1_000_000  # operators and operands parsed from one content stream
MAX_PAGE_CHARS = 200_000  # extracted text of one PDF page
MAX_HTML_TAGS = 250_000
MAX_HTML_DEPTH = 256
MAX_DOCX_INFLATED = 256 * 1024 * 1024
MAX_DOCX_MEMBERS = 10_000
MAX_FRONT_MATTER = 64 * 1024
MAX_TITLE = 300


class Deadline:
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


def display_name(path: Path) -> str:
    """The path as text for messages; control characters (a newline in a file name) are escaped so a file name
    cannot forge lines in a report."""
    name = str(path)
    return "".join(ch if ch.isprintable() or ch == " " else ascii(ch)[1:-1] for ch in name)


def describe_content(data: bytes) -> str:
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


def read_bounded(name: str, path: Path, max_bytes: int) -> bytes:
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


def clean_title(text: str) -> str:
    return re.sub(r"\s+", " ", normalise_text(text)).strip()[:MAX_TITLE]


def decode(name: str, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise LoadError(name, f"binary content, not text: the file holds {describe_content(data)} "
                              f"(wrong file extension?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise LoadError(name, f"not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at byte position {exc.start}, "
                              f"line {line}); save it as UTF-8") from exc


def clean_lines(text: str) -> str:
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
