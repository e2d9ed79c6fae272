"""`ioguide ask`: one cited answer in the terminal (text or --json)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..config import Settings
from ..errors import IOGuideError
from ..text import citation_label
from .common import fail, filters


def format_answer(answer) -> str:
    """The answer text, then one `[n] title (edition) — section, p. N` line and its source per cited passage."""
    lines = [answer.text, ""]
    if answer.query and answer.query != answer.question:
        lines.insert(0, f"(searched as: {answer.query})")
    cited = {c.n for c in answer.citations}
    if cited:
        lines.append("Sources:")
    for n, hit in enumerate(answer.passages, start=1):
        if n not in cited:
            continue
        c = hit.chunk
        pages = sorted({ct.page for ct in answer.citations if ct.n == n and ct.page is not None})
        where = c.source_url or c.source
        lines.append(f"[{n}] {citation_label(c.title, c.edition, c.section, pages)}")
        lines.append(f"    {where}")
    for note in answer.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines).rstrip()


def ask(
    question: str = typer.Argument(..., help="The question."),
    index: Path | None = typer.Option(None, "--index", help="Index folder (default IOGUIDE_INDEX_DIR)."),
    k: int = typer.Option(5, "-k", min=1, max=50, help="Passages to retrieve."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as one JSON object."),
    doc: list[str] = typer.Option(None, "--doc", help="Only these document ids (repeatable)."),
    topic: list[str] = typer.Option(None, "--topic", help="Only documents with this topic (repeatable)."),
    edition: list[str] = typer.Option(None, "--edition", help="Only this edition (repeatable)."),
    collection: list[str] = typer.Option(None, "--collection", help="guidelines or centre (repeatable)."),
    llm: str | None = typer.Option(None, "--llm", help="Answer with an LLM backend (none, openai, ollama, llamacpp)."),
    history: list[str] = typer.Option(None, "--history", help="Earlier questions of the conversation, oldest first."),
) -> None:
    """Answer QUESTION from the indexed documents, citing every sentence."""
    from ..service import AskOptions, Assistant

    settings = Settings()
    try:
        assistant = Assistant.from_settings(settings, index, llm_name=llm)
        mode = "llm" if assistant.llm is not None else "extractive"
        answer = assistant.ask(question, history=list(history or []),
                               options=AskOptions(k=k, filters=filters(doc, topic, edition, collection), mode=mode))
    except IOGuideError as exc:
        fail(exc)
    if as_json:
        from ..answer import answer_to_json

        typer.echo(json.dumps(answer_to_json(answer), ensure_ascii=False, indent=2))
    else:
        typer.echo(format_answer(answer))
