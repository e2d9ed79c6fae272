"""DOCX (python-docx): 'Heading N' styles become section paths, the 'Title' style the title, tables rows."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace

from ioguide.errors import LoadError
from ioguide.text import normalise_text
from ioguide.types import DocumentInfo, Section

from .limits import MAX_BYTES, MAX_DOCX_INFLATED, MAX_DOCX_MEMBERS, clean_title, describe_content
from .sections import SectionBuilder


def load_docx(name: str, data: bytes, info: DocumentInfo,
              max_bytes: int = MAX_BYTES) -> tuple[DocumentInfo, list[Section]]:
    if data[:2] != b"PK":
        raise LoadError(name, f"not a DOCX file: the file holds {describe_content(data)} (wrong file extension?)")
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
    core_title = clean_title(document.core_properties.title or "")
    if core_title:
        info = replace(info, title=core_title)
    builder = SectionBuilder()
    for para in document.paragraphs:
        content = normalise_text(para.text).strip()
        if not content:
            continue
        style = (para.style.name if para.style is not None else "") or ""
        match = re.match(r"Heading (\d)", style)
        if style == "Title":
            if not core_title:
                info = replace(info, title=clean_title(content))
            continue
        if match:
            builder.heading(int(match.group(1)) - 1, content[:200])
        else:
            builder.add(("- " if "List" in style else "") + content)
    for table in document.tables:
        for row in table.rows:
            cells = [normalise_text(c.text).strip() for c in row.cells]
            if any(cells):
                builder.add(" | ".join(cells))
    return info, builder.finish()
