"""Citation metadata from outside the text: YAML front matter, a sidecar FILE.yaml beside a PDF."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import yaml

from ioguide.errors import LoadError
from ioguide.types import DocumentInfo

from .limits import MAX_FRONT_MATTER, display_name

SIDECAR_SUFFIXES = (".yaml", ".yml")
FRONT_MATTER_KEYS = ("title", "issuer", "edition", "source_url", "kind", "topics", "licence_note")
_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)


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


def apply_sidecar(path: Path, info: DocumentInfo) -> DocumentInfo:
    """An official PDF may carry its citation data in FILE.yaml beside it (title, issuer, edition, source_url)."""
    for suffix in SIDECAR_SUFFIXES:
        sidecar = path.with_suffix(suffix)
        if sidecar.exists():
            where = display_name(sidecar)
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
                return merge_meta(info, meta)
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


def merge_meta(info: DocumentInfo, meta: dict) -> DocumentInfo:
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
