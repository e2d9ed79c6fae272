"""Library operations behind the app's Library page: list, upload into the centre's collection, re-index, delete.
Uploads are checked by content and size and stored under the data directory with safe names."""

from __future__ import annotations

import re
import time
from pathlib import Path

ALLOWED = {".pdf": b"%PDF-", ".docx": b"PK", ".md": None, ".markdown": None, ".html": None, ".htm": None,
           ".txt": None}


def safe_name(name: str) -> str:
    """A file name with no folders, no shell or control characters, no leading dots; extension kept."""
    base = Path(name.replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_") or "document"
    suffix = re.sub(r"[^a-z0-9.]", "", suffix)
    return f"{stem[:100]}{suffix}"


def check_upload(name: str, data: bytes, max_bytes: int) -> str | None:
    """The reason an upload is refused, or None."""
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED:
        return f"unsupported file type '{suffix or '(none)'}' (allowed: {', '.join(sorted(ALLOWED))})"
    if len(data) > max_bytes:
        return f"file is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit"
    if not data.strip():
        return "file is empty"
    magic = ALLOWED[suffix]
    if magic is not None and not data.lstrip()[: len(magic)] == magic:
        return f"content is not a {suffix[1:].upper()} file"
    if magic is None and b"\x00" in data[:8192]:
        return "binary content in a text file"
    return None


def store_upload(upload_dir: Path, name: str, data: bytes) -> Path:
    upload_dir.mkdir(parents=True, exist_ok=True)
    target = upload_dir / safe_name(name)
    if target.exists() and target.read_bytes() != data:
        target = upload_dir / f"{target.stem}-{time.strftime('%Y%m%d%H%M%S')}{target.suffix}"
    tmp = target.with_suffix(target.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def documents_table(store) -> list[dict]:
    rows = []
    for d in store.documents_list():
        rows.append({"title": d.get("title"), "issuer": d.get("issuer", ""), "edition": d.get("edition", ""),
                     "kind": d.get("kind", ""), "collection": d.get("collection", ""), "pages": d.get("pages"),
                     "chunks": d.get("chunks"), "indexed at": d.get("indexed_at", ""), "doc_id": d["doc_id"],
                     "source": d.get("source", "")})
    return rows
