"""HTML (BeautifulSoup, html.parser): h1-h4 become section paths; scripts, styles and the head are dropped."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

from ioguide.errors import LoadError
from ioguide.text import normalise_text
from ioguide.types import DocumentInfo, Section

from .limits import MAX_HTML_DEPTH, MAX_HTML_TAGS, MAX_SECONDS, MAX_TITLE, Deadline, clean_title, describe_content
from .sections import SectionBuilder

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


def load_html(name: str, data: bytes, info: DocumentInfo,
              deadline: Deadline | None = None) -> tuple[DocumentInfo, list[Section]]:
    from bs4 import BeautifulSoup
    from bs4.element import NavigableString, PreformattedString, Tag

    if b"\x00" in data[:8192]:
        raise LoadError(name, f"binary content, not HTML: the file holds {describe_content(data)}")
    deadline = deadline or Deadline(name, MAX_SECONDS)
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
        info = replace(info, title=clean_title(title_tag.get_text(" ", strip=True)))
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
    builder = SectionBuilder()
    for owner, parts in segments:
        content = re.sub(r"[ \t\r\f\v]+", " ", normalise_text("".join(parts))).strip()
        content = re.sub(r" *\n+ *", " " if owner is not None and owner.name in _HTML_HEADINGS else "\n", content)
        if not content:
            continue
        if owner is not None and owner.name in _HTML_HEADINGS:
            builder.flush()
            level = int(owner.name[1])
            if level == 1 and not builder.started and info.title == info.doc_id:
                info = replace(info, title=content[:MAX_TITLE])
            if level > 1:
                builder.heading(max(level - 2, 0), content[:200])
            else:
                builder.reset()
        else:
            builder.add(("- " if owner is not None and owner.name == "li" else "") + content)
    return info, builder.finish()
