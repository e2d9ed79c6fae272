"""LLM answers: prompt the model with the retrieved passages, verify its sentences (ioguide.verify), and assemble
the Answer from the sentences that survive, each cited with the passage text that supports it, quoted exactly with
its offsets. When too little survives, or the LLM cannot be reached, the extractive answer is shown with a note
saying so. The LLM is optional and never trusted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from .llms import LLM, format_passages, render_messages
from .retrieve import Retrieval
from .types import Answer, Citation
from .verify import Claim, verify_output

NOT_VERIFIED = "The LLM answer could not be verified against the sources; the extractive answer is shown."


def passage_order(cited: list[int], n_hits: int) -> list[int]:
    """Passage indices in display order: those cited, in order of first citation, then the rest in rank order;
    the passage at position i is shown as [i + 1]. (ioguide.answer.build_answer numbers the same way.)"""
    order = list(dict.fromkeys(cited))
    return order + [i for i in range(n_hits) if i not in order]


def _with_stop(body: str) -> str:
    return body if body[-1:] in ".!?:" else body + "."


def build_verified_answer(question: str, retrieval: Retrieval, kept: list[Claim], backend: str,
                          notes: tuple[str, ...]) -> Answer:
    """The kept claims with markers renumbered 1..m in order of first citation; passages cited first, then the
    rest, as ioguide.answer.build_answer numbers them."""
    hits = retrieval.hits
    order = passage_order([p for claim in kept for p, *_ in claim.supports], len(hits))
    number = {p: n for n, p in enumerate(order, start=1)}
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
            chunk = hits[p].chunk
            citations.append(Citation(
                n=number[p], chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, title=chunk.title, source=chunk.source,
                page=chunk.page_at(start), section=chunk.section, quote=chunk.text[start:end], start=start, end=end,
                edition=chunk.edition, support=round(score, 4)))
    text = "\n".join(lines) if any(c.is_list_item for c in kept) else " ".join(lines)
    return Answer(question=question, text=text, citations=tuple(citations), passages=tuple(hits[p] for p in order),
                  grounded=True, backend=backend, query=retrieval.query, relevance=retrieval.relevance, notes=notes,
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
    answer = build_verified_answer(question, retrieval, kept, f"llm:{llm.name}", notes)
    answer.timings_ms.update(timings)
    answer.timings_ms["compose"] = (time.perf_counter() - t0) * 1000
    return answer
