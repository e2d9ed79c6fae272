"""Markdown with YAML front matter: headings become section paths, a 'Sources:' block becomes source URLs."""

from __future__ import annotations

import re
from dataclasses import replace

from ioguide.errors import LoadError
from ioguide.types import DocumentInfo, Section

from .limits import MAX_TITLE, clean_lines
from .metadata import merge_meta, parse_front_matter
from .sections import SectionBuilder

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


def load_markdown(name: str, text: str, info: DocumentInfo) -> tuple[DocumentInfo, list[Section]]:
    try:
        meta, body = parse_front_matter(text)
    except ValueError as exc:
        raise LoadError(name, str(exc)) from exc
    info = merge_meta(info, meta)
    if meta.get("kind") == "summary" and meta.get("source_url"):
        info = replace(info, kind="summary")
    body = _DATA_IMAGE.sub(r"\1", body)  # inline base64 images: drop before long lines are broken up
    builder = SectionBuilder()
    in_sources = False
    title_from_h1 = None
    for raw in clean_lines(body).split("\n"):
        heading = _heading(raw)
        if heading:
            in_sources = False
            level = heading[0]
            title = _plain_markdown(heading[1]).strip()
            builder.flush()
            if level == 1 and title_from_h1 is None and not builder.started:
                title_from_h1 = title
                builder.reset()
                continue
            builder.heading(max(level - 2, 0), title)
            continue
        if _SOURCES.match(raw):
            in_sources = True
            continue
        if in_sources:
            urls = _URL.findall(raw)
            if urls:
                for url in urls:
                    builder.add_source(url.rstrip(".,;"))
                continue
            if not raw.strip():
                continue
            in_sources = False
        builder.add(_plain_markdown(raw))
    sections = builder.finish()
    if not meta.get("title") and title_from_h1:
        info = replace(info, title=title_from_h1[:MAX_TITLE])
    return info, sections
