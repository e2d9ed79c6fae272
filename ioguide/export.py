"""Export answers and conversations as Markdown and DOCX (python-docx), with their citations."""

from __future__ import annotations

import io
import time

from .text import citation_label
from .types import Answer, Hit


def _source_line(hit: Hit, pages: list[int]) -> str:
    c = hit.chunk
    where = c.source_url or c.source or ""
    return f"{citation_label(c.title, c.edition, c.section, pages)}. {where}".strip()


def cited_sources(answer: Answer) -> list[tuple[int, str, list[str]]]:
    """(n, source line, quotes) for each cited passage."""
    out = []
    for n, hit in enumerate(answer.passages, start=1):
        cites = [c for c in answer.citations if c.n == n]
        if not cites:
            continue
        pages = sorted({c.page for c in cites if c.page is not None})
        out.append((n, _source_line(hit, pages), [c.quote for c in cites]))
    return out


DISCLAIMER = ("IO Guide is not official CIRSE or IASIOS material and is not a substitute for clinical judgement. "
              "Check every answer against the cited source.")


def conversation_markdown(turns: list[tuple[str, Answer]], title: str = "IO Guide conversation") -> str:
    lines = [f"# {title}", "", f"_Exported {time.strftime('%Y-%m-%d %H:%M')}. {DISCLAIMER}_", ""]
    for question, answer in turns:
        lines += [f"## Q: {question}", ""]
        if answer.query and answer.query != question:
            lines += [f"_Searched as: {answer.query}_", ""]
        lines += [answer.text, ""]
        sources = cited_sources(answer)
        if sources:
            lines.append("**Sources**")
            lines.append("")
            for n, line, quotes in sources:
                lines.append(f"{n}. {line}")
                for q in quotes:
                    lines.append(f"   > {q}")
            lines.append("")
    return "\n".join(lines)


def conversation_docx(turns: list[tuple[str, Answer]], title: str = "IO Guide conversation") -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, 0)
    document.add_paragraph(f"Exported {time.strftime('%Y-%m-%d %H:%M')}. {DISCLAIMER}").italic = True
    for question, answer in turns:
        document.add_heading(f"Q: {question}", level=1)
        if answer.query and answer.query != question:
            document.add_paragraph(f"Searched as: {answer.query}")
        for line in answer.text.split("\n"):
            document.add_paragraph(line)
        sources = cited_sources(answer)
        if sources:
            document.add_heading("Sources", level=2)
            for n, line, quotes in sources:
                document.add_paragraph(f"[{n}] {line}")
                for q in quotes:
                    para = document.add_paragraph(q, style="Quote")
                    para.paragraph_format.left_indent = docx.shared.Cm(1)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()
