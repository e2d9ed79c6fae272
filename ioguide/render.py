"""HTML for answers and passages. Everything taken from documents or users is escaped here, so a passage holding
`<script>` or a Markdown link is shown as text, never run or followed."""

from __future__ import annotations

import html
import re

from .text import citation_label
from .types import Answer, Hit

_MARKER = re.compile(r"\[(\d+)\]")


def answer_html(answer: Answer, anchor_prefix: str = "src") -> str:
    """The answer text, escaped, with each [n] turned into a link to its source card."""
    text = html.escape(answer.text)
    text = _MARKER.sub(lambda m: f'<a class="marker" href="#{anchor_prefix}-{m.group(1)}">[{m.group(1)}]</a>', text)
    text = text.replace("\n", "<br>")
    cls = "answer" if answer.grounded else "answer not-covered"
    return f'<div class="{cls}">{text}</div>'


def passage_html(hit: Hit, quotes: list[tuple[int, int]], n: int, anchor_prefix: str = "src") -> str:
    """The passage text, escaped, with the cited spans in <mark>."""
    text = hit.chunk.text
    spans = sorted({(a, b) for a, b in quotes if 0 <= a < b <= len(text)})
    out, pos = [], 0
    for a, b in spans:
        if a < pos:
            continue
        out.append(html.escape(text[pos:a]))
        out.append(f"<mark>{html.escape(text[a:b])}</mark>")
        pos = b
    out.append(html.escape(text[pos:]))
    body = "".join(out).replace("\n", "<br>")
    return f'<div class="passage" id="{anchor_prefix}-{n}">{body}</div>'


def source_label(hit: Hit, pages: list[int] | None = None) -> str:
    """A passage's source card title: its citation label, at the cited pages (else the pages it spans)."""
    c = hit.chunk
    if not pages and c.page_start:
        pages = list(range(c.page_start, (c.page_end or c.page_start) + 1))
    return citation_label(c.title, c.edition, c.section, pages or ())


STYLE = """<style>
.answer{font-size:1.05rem;line-height:1.6}
.answer.not-covered{border-left:4px solid #b7791f;padding-left:.75rem;background:#fffaf0}
.passage{font-size:.92rem;line-height:1.5;white-space:normal}
.passage mark{background:#fefcbf;padding:0 2px}
a.marker{text-decoration:none;font-weight:600}
</style>"""
