"""LLM answers: prompt the model with the retrieved passages, verify its sentences (ioguide.verify), and assemble
the Answer from the sentences that survive, each cited with the passage text that supports it, quoted exactly with
its offsets. When too little survives, or the LLM cannot be reached, the extractive answer is shown with a note
saying so. The LLM is optional and never trusted.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace

from .answer import make_citation, passage_order
from .llms import LLM, format_passages, render_messages
from .retrieve import Retrieval
from .types import Answer, Citation
from .verify import Claim, verify_output

NOT_VERIFIED = "The LLM answer could not be verified against the sources; the extractive answer is shown."


def _with_stop(body: str) -> str:
    return body if body[-1:] in ".!?:" else body + "."


def build_verified_answer(question: str, retrieval: Retrieval, kept: list[Claim], backend: str,
                          notes: tuple[str, ...], removed: list[Claim] | None = None) -> Answer:
    """The kept claims with markers renumbered 1..m in order of first citation; passages cited first, then the
    rest, as ioguide.answer.build_answer numbers them. Removed claims are listed with their reasons, passage numbers
    in them renumbered the same way, so "not in passage 2" names the passage the reader sees as [2]."""
    hits = retrieval.hits
    order = passage_order(len(hits), (p for claim in kept for p, *_ in claim.supports))
    number = {p: n for n, p in enumerate(order, start=1)}

    def renumber(reason: str) -> str:
        return re.sub(r"\bpassage (\d+)\b", lambda m: f"passage {number.get(int(m.group(1)) - 1, m.group(1))}",
                      reason)

    citations: list[Citation] = []
    seen: set[tuple[int, int]] = set()
    lines: list[str] = []
    for claim in kept:
        markers = "".join(f"[{number[p]}]" for p, *_ in claim.supports)
        lines.append(f"{_with_stop(claim.body)} {markers}")
        for p, start, end, score in claim.supports:
            if (p, start) in seen:
                continue
            seen.add((p, start))
            citations.append(make_citation(hits[p].chunk, number[p], start, end, score))
    text = "\n".join(lines) if any(c.is_list_item for c in kept) else " ".join(lines)
    return Answer(question=question, text=text, citations=tuple(citations), passages=tuple(hits[p] for p in order),
                  grounded=True, backend=backend, query=retrieval.query, relevance=retrieval.relevance, notes=notes,
                  removed=tuple((c.body, renumber(c.reason)) for c in removed or ()),
                  timings_ms=dict(retrieval.timings_ms))


def _with_note(answer: Answer, note: str, timings: dict[str, float]) -> Answer:
    return replace(answer, notes=answer.notes + (note,), timings_ms={**answer.timings_ms, **timings})


def _reason(exc: BaseException) -> str:
    """A short why: "timed out after 60 s", "APIConnectionError: [Errno 111] Connection refused"."""
    text = " ".join(str(exc).split())
    if isinstance(exc, TimeoutError) or "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
        return text if "timed out" in text else "timed out"
    cause = exc.__cause__
    while cause is not None:  # the transport's message ("Connection refused") is more telling than the wrapper's
        if str(cause).strip():
            text = " ".join(str(cause).split())
        cause = cause.__cause__
    name = type(exc).__name__
    return f"{name}: {text[:160]}" if text else name


def compose_with_llm(question: str, retrieval: Retrieval, extractive: Answer, llm: LLM, embedder, store,
                     on_token: Callable[[str], None] | None = None) -> Answer:
    """An LLM-written answer over the retrieved passages, verified sentence by sentence (ioguide.verify).
    Falls back to extractive (with a note) when the LLM fails or its answer cannot be verified; an abstention is
    returned unchanged without asking the LLM."""
    if not retrieval.covered or not extractive.grounded or not retrieval.hits:
        return extractive
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    passages, n_shown = format_passages(retrieval.hits, llm.context_chars)
    messages = render_messages("answer", passages=passages, question=question)
    try:
        output = llm.chat(messages, on_token=on_token)
    except Exception as exc:  # any backend failure: connection refused, timeout, HTTP error, bad model name
        timings["llm"] = (time.perf_counter() - t0) * 1000
        return _with_note(extractive, f"LLM unavailable ({_reason(exc)}): extractive answer shown.", timings)
    timings["llm"] = (time.perf_counter() - t0) * 1000
    t1 = time.perf_counter()
    verification = verify_output(output, retrieval.hits, n_shown, embedder, store)
    timings["verify"] = (time.perf_counter() - t1) * 1000
    kept, total = verification.kept, len(verification.claims)
    if not kept or 2 * len(kept) < total:
        return _with_note(extractive, NOT_VERIFIED, timings)
    notes = extractive.notes  # what was said about the question and the passages holds for this answer too
    if len(kept) < total:
        notes += (f"{total - len(kept)} of {total} generated sentences were removed: not supported by the cited "
                  f"passages",)
    answer = build_verified_answer(question, retrieval, kept, f"llm:{llm.name}", notes, verification.removed)
    answer.timings_ms.update(timings)
    answer.timings_ms["compose"] = (time.perf_counter() - t0) * 1000
    return answer
