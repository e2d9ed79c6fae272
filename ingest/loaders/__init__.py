"""Loaders: one file in, (DocumentInfo, [Section]) out, or a LoadError naming the file and the reason.

One module per format (pdf, markdown, text, html, docx), the section builder they share (sections), the bounds
for untrusted files (limits) and citation metadata from front matter or a sidecar .yaml (metadata). Content is
checked, not the extension: a .pdf that is not a PDF is refused as such.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from ioguide.errors import LoadError
from ioguide.types import DocumentInfo, Section

from .docx import load_docx
from .html import load_html
from .limits import (
    MAX_BYTES,
    MAX_LINE,
    MAX_PAGES,
    MAX_SECONDS,
    MAX_WORD,
    Deadline,
    clean_title,
    decode,
    display_name,
    file_hash,
    read_bounded,
)
from .markdown import load_markdown
from .metadata import FRONT_MATTER_KEYS, SIDECAR_SUFFIXES, apply_sidecar, parse_front_matter
from .pdf import load_pdf
from .text import load_text

__all__ = ["FRONT_MATTER_KEYS", "MAX_LINE", "MAX_WORD", "SIDECAR_SUFFIXES", "SUPPORTED", "doc_id_for", "file_hash",
           "load_file", "parse_front_matter"]

SUPPORTED = {".pdf": "pdf", ".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
             ".html": "html", ".htm": "html", ".docx": "docx"}


def doc_id_for(path: Path) -> str:
    """A safe id from the file name: letters, digits, '.', '_' and '-' only (no '/', '..', spaces or shell
    characters survive)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", path.stem).strip("-._") or "document"
    return slug[:120]


def load_file(path: Path, max_bytes: int = MAX_BYTES, max_pages: int = MAX_PAGES,
              collection: str = "guidelines", max_seconds: float = MAX_SECONDS) -> tuple[DocumentInfo, list[Section]]:
    """Read one file. Raises LoadError with a reason a person understands."""
    path = Path(path)
    name = display_name(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(name, f"unsupported file type '{suffix or '(none)'}' (supported: "
                              f"{', '.join(sorted(set(SUPPORTED)))})")
    data = read_bounded(name, path, max_bytes)
    if not data.strip():
        raise LoadError(name, "file is empty")
    deadline = Deadline(name, max_seconds)
    kind = SUPPORTED[suffix]
    info = DocumentInfo(doc_id=doc_id_for(path), title=clean_title(path.stem) or "document",
                        source=str(path.resolve()), file_hash=file_hash(data), collection=collection,
                        kind="centre" if collection == "centre" else "official")
    year = re.search(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)", path.stem)
    if year:
        info = replace(info, edition=year.group(1))
    if kind == "pdf":
        info, sections = load_pdf(name, data, info, max_pages, deadline)
    elif kind == "markdown":
        info, sections = load_markdown(name, decode(name, data), info)
    elif kind == "text":
        sections = load_text(decode(name, data))
    elif kind == "html":
        info, sections = load_html(name, data, info, deadline)
    else:
        info, sections = load_docx(name, data, info, max_bytes)
    info = apply_sidecar(path, info)
    if not any(s.text.strip() for s in sections):
        raise LoadError(name, "no text found in the file")
    return info, sections
