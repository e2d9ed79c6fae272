"""LLM answering: backends (LangChain chat models behind one small wrapper), and the verifier that keeps only
what the cited passages support.

The LLM is optional and never trusted. Its answer is split into sentences; a sentence survives only if it ends with
[n] markers that point to passages it was given, adds no negation and almost no terms the cited passage lacks, and
the passage holds a sentence (or two adjacent ones) that supports it by embedding similarity and shared terms and
shows every number it states. Each surviving sentence is cited with that supporting text, quoted exactly with its
offsets. When too little survives, or the LLM cannot be reached, the extractive answer is shown with a note saying
so. Passages and questions are data to the LLM; whatever they make it write still has to pass verification.

Known limit: a sentence that recombines a passage's own words and numbers into a wrong statement ("sequelae are
grade 2" from a passage that names grade 2 and sequelae in different sentences) can pass; verification checks
support, not logic.
"""

from __future__ import annotations

import importlib.util
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .config import PROJECT_ROOT
from .errors import LLMError, UnknownBackendError
from .retrieve import Retrieval, doc_label
from .text import content_terms, numbers_in, sentence_spans
from .types import Answer, Citation, Hit

PROMPTS_DIR = PROJECT_ROOT / "prompts"

NOT_VERIFIED = "The LLM answer could not be verified against the sources; the extractive answer is shown."

# Verification thresholds, calibrated on the bundled corpus with MiniLM vectors of bare sentences (tests/test_llm.py
# holds the cases): paraphrases of a passage sentence score >= 0.6, on-topic inventions mostly fail NOVEL_MAX.
SUPPORT_MIN = 0.55  # 0.6 * cosine + 0.4 * share of the claim's terms found in the supporting passage sentence
SIM_MIN = 0.45  # cosine between the answer sentence and the supporting passage sentence
PAIR_PENALTY = 0.05  # a quote of two sentences must support the claim clearly better than either sentence alone
NOVEL_MAX = 0.15  # share of the claim's content terms allowed to be absent from the cited passage (rounded down)

DEFAULT_CONTEXT_CHARS = 12000  # passage text sent to the LLM (about 3000 tokens)
DEFAULT_MAX_TOKENS = 512  # the longest reply asked for


def _context_chars(settings) -> int:
    return int(getattr(settings, "llm_context_chars", DEFAULT_CONTEXT_CHARS))


def _max_tokens(settings) -> int:
    return int(getattr(settings, "llm_max_tokens", DEFAULT_MAX_TOKENS))


# ---------------------------------------------------------------- backends

class LLM(Protocol):
    """What the answer path needs from a backend: a LangChain chat model and how long to wait for it."""

    name: str
    timeout_s: float
    context_chars: int

    @property
    def chat_model(self) -> Any: ...

    def chat(self, messages: list, on_token: Callable[[str], None] | None = None) -> str: ...


class ChatLLM:
    """A LangChain chat model with a name and a timeout. chat_model may be given as a factory: it is then built on
    first use, so constructing the wrapper never loads weights or opens a connection."""

    def __init__(self, name: str, chat_model: Any | None = None, factory: Callable[[], Any] | None = None,
                 timeout_s: float = 60.0, context_chars: int = DEFAULT_CONTEXT_CHARS):
        if chat_model is None and factory is None:
            raise ValueError("ChatLLM needs chat_model or factory")
        self.name = name
        self.timeout_s = float(timeout_s)
        self.context_chars = int(context_chars)
        self._chat_model = chat_model
        self._factory = factory
        self._lock = threading.Lock()

    @property
    def chat_model(self) -> Any:
        if self._chat_model is None:
            with self._lock:
                if self._chat_model is None:
                    assert self._factory is not None
                    self._chat_model = self._factory()
        return self._chat_model

    def chat(self, messages: list, on_token: Callable[[str], None] | None = None) -> str:
        """The model's reply to messages. With on_token, tokens are streamed to it as they arrive. Raises
        TimeoutError past timeout_s, and whatever the backend raises (connection refused, HTTP errors)."""
        model = self.chat_model  # a local model loads its weights here, outside the deadline
        deadline = time.monotonic() + self.timeout_s
        if on_token is not None:
            parts: list[str] = []
            for chunk in model.stream(messages):
                piece = _content_text(chunk)
                if piece:
                    parts.append(piece)
                    on_token(piece)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"timed out after {self.timeout_s:g} s")
            return "".join(parts)
        return _content_text(_call_with_deadline(lambda: model.invoke(messages), self.timeout_s))

    def __repr__(self) -> str:
        return f"ChatLLM({self.name!r})"


def _call_with_deadline(fn: Callable[[], Any], timeout_s: float) -> Any:
    """fn() in a daemon thread; TimeoutError if it has not returned within timeout_s. Backends with their own
    client timeout stop by themselves; for the others (a local model) this bounds the wait."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = fn()
        except BaseException as exc:  # re-raised in the caller's thread
            result["error"] = exc

    worker = threading.Thread(target=run, name="ioguide-llm", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise TimeoutError(f"timed out after {timeout_s:g} s")
    if "error" in result:
        raise result["error"]
    return result.get("value")


def _content_text(message: Any) -> str:
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content
                       if isinstance(b, str) or isinstance(b, dict))
    return str(content or "")


def _openai(settings) -> ChatLLM:
    def factory():
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(base_url=settings.llm_base_url or None, api_key=settings.llm_api_key or "not-needed",
                          model=settings.llm_model or "default", timeout=settings.llm_timeout_s, max_retries=0,
                          temperature=0, max_tokens=_max_tokens(settings))

    if importlib.util.find_spec("langchain_openai") is None:
        raise LLMError("IOGUIDE_LLM=openai needs the langchain-openai package: pip install langchain-openai")
    return ChatLLM("openai", factory=factory, timeout_s=settings.llm_timeout_s,
                   context_chars=_context_chars(settings))


def _ollama(settings) -> ChatLLM:
    if importlib.util.find_spec("langchain_ollama") is None:
        raise LLMError("IOGUIDE_LLM=ollama needs the langchain-ollama package: pip install langchain-ollama")
    if not settings.llm_model:
        raise LLMError("IOGUIDE_LLM=ollama needs IOGUIDE_LLM_MODEL, the name of a pulled model (e.g. llama3.2).")

    def factory():
        from langchain_ollama import ChatOllama

        return ChatOllama(model=settings.llm_model, base_url=settings.llm_base_url or None, temperature=0,
                          num_predict=_max_tokens(settings), client_kwargs={"timeout": settings.llm_timeout_s})

    return ChatLLM("ollama", factory=factory, timeout_s=settings.llm_timeout_s,
                   context_chars=_context_chars(settings))


def _llamacpp(settings) -> ChatLLM:
    if importlib.util.find_spec("llama_cpp") is None:
        raise LLMError("IOGUIDE_LLM=llamacpp needs llama-cpp-python: pip install llama-cpp-python")
    path = settings.llm_model_path
    if not path or not Path(path).is_file():
        raise LLMError(f"IOGUIDE_LLM=llamacpp needs IOGUIDE_LLM_MODEL_PATH to name a local .gguf file (got {path!r}).")

    def factory():
        from langchain_community.chat_models import ChatLlamaCpp

        # Loads the weights: only on first use.
        n_ctx = max(4096, _context_chars(settings) // 3 + _max_tokens(settings) + 1024)  # passages + prompt + reply
        return ChatLlamaCpp(model_path=str(path), n_ctx=n_ctx, n_batch=256, max_tokens=_max_tokens(settings),
                            temperature=0.0, verbose=False)

    return ChatLLM("llamacpp", factory=factory, timeout_s=settings.llm_timeout_s,
                   context_chars=_context_chars(settings))


BACKENDS: dict[str, Callable[[Any], ChatLLM]] = {"openai": _openai, "ollama": _ollama, "llamacpp": _llamacpp}


def build_llm(name: str, settings) -> ChatLLM:
    """The named backend, configured from settings (llm_model, llm_base_url, llm_api_key, llm_timeout_s,
    llm_model_path). Cheap: nothing connects, loads or downloads until the first question."""
    if name not in BACKENDS:
        raise UnknownBackendError(f"Unknown LLM backend {name!r}. Valid: {', '.join(sorted(BACKENDS))}.")
    return BACKENDS[name](settings)


# ---------------------------------------------------------------- prompts

@lru_cache(maxsize=16)
def load_prompt(name: str) -> str:
    """The text of prompts/<name>.txt."""
    path = PROMPTS_DIR / f"{name}.txt"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LLMError(f"Prompt template {path} is missing: {exc.strerror or exc}") from exc


_ROLE_LINE = re.compile(r"^\[(system|user)\]\s*$", re.M)


def fill_template(template: str, **values: str) -> str:
    """template with each {name} replaced by values[name]; values are inserted verbatim, never re-read as
    template, so braces in passages are harmless."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


def render_messages(name: str, **values: str) -> list:
    """The chat messages of prompts/<name>.txt: its [system] and [user] sections, {placeholders} filled."""
    from langchain_core.messages import HumanMessage, SystemMessage

    template = load_prompt(name)
    parts = _ROLE_LINE.split(template)
    messages = []
    for role, body in zip(parts[1::2], parts[2::2], strict=True):
        text = fill_template(body.strip(), **values)
        messages.append(SystemMessage(text) if role == "system" else HumanMessage(text))
    if not messages:
        messages.append(HumanMessage(template.strip()))
    return messages


def format_passages(hits: list[Hit], budget_chars: int) -> tuple[str, int]:
    """The numbered passages for the prompt and how many were included: hits in order while they fit budget_chars
    (the first always, cut to the budget if it alone is longer)."""
    blocks: list[str] = []
    used = 0
    for n, hit in enumerate(hits, start=1):
        chunk = hit.chunk
        text = chunk.text
        if used + len(text) > budget_chars:
            if blocks:
                break
            text = text[:budget_chars]
        source = doc_label(chunk) + (f" — {chunk.section}" if chunk.section else "")
        if chunk.page_start:
            source += f" (page {chunk.page_start})"
        blocks.append(fill_template(load_prompt("passage").strip(), n=str(n), source=source, text=text))
        used += len(text)
    return "\n\n".join(blocks), len(blocks)


# ---------------------------------------------------------------- verification

_MARKER_GROUP = re.compile(r"\[\s*(?:passages?\s*)?(\d{1,3}(?:\s*[,;]\s*(?:passages?\s*)?\d{1,3})*)\s*\]", re.I)
_MARKER = re.compile(r"\[(\d{1,3})\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d{1,3}\])+)")
_ENDS_WITH_MARKER = re.compile(r"\[\d{1,3}\]\W*$")
_LEAD_IN = re.compile(r"^\s*(?:answer|response)\s*:\s*", re.I)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")
_NEGATION = re.compile(r"\b(not|no|never|none|cannot|without|neither|nor)\b|(n't)\b", re.I)
_STRONG_NEGATION = {"not", "n't", "cannot", "never"}
# Passage text that speaks to an AI rather than about medicine: never accepted as support, whatever it says.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|guidelines above)\b|"
    r"\bsystem prompt\b|\byou are (?:now )?(?:an? )?(?:ai|assistant|chatbot|language model)\b|"
    r"\b(?:tell|inform) the (?:reader|user)\b", re.I)
_SUFFIXES = ("ations", "ation", "ings", "ions", "ing", "ion", "ies", "ed", "es", "e", "s", "al", "ly")
# Words that frame a claim rather than make it: a paraphrase may add them without inventing anything. Negations are
# judged separately.
_FILLER = frozenset("""according say says said state states stated stating note notes noted describe describes
    described mention mentions mentioned explain explains guideline guidelines document documents passage passages
    source sources text between within among become becomes became ideally generally typically usually also only
    not no never none cannot without neither nor""".split())


def _stem(term: str) -> str:
    """A light stem so paraphrases match ("ablated" ~ "ablation", "embolisation" ~ "embolization")."""
    if term[:1].isdigit():
        return term
    term = term.replace("z", "s")
    for suffix in _SUFFIXES:
        if term.endswith(suffix) and len(term) - len(suffix) >= 4:
            term = term[: -len(suffix)]
            break
    return term[:6]


def _terms(text: str) -> set[str]:
    return {_stem(t) for t in content_terms(text)}


def _claim_terms(text: str) -> set[str]:
    """The stems a claim asserts: content words without framing words; numbers are checked on their own."""
    return {_stem(t) for t in content_terms(text) if len(t) > 1 and not t[0].isdigit() and t not in _FILLER}


def _negations(text: str) -> set[str]:
    return {(a or b).lower() for a, b in _NEGATION.findall(text)}


def _numbers(text: str) -> set[str]:
    """Numbers of text, written one way: "1.0" and "1" are the same number."""
    return {n.rstrip("0").rstrip(".") if "." in n else n for n in numbers_in(text)}


def _share(claim: set[str], other: set[str]) -> float:
    return len(claim & other) / len(claim) if claim else 0.0


def _negation_agrees(claim: str, sentence: str) -> bool:
    """A claim may not add a negation ("is not recommended" from "is recommended"), nor drop a verb's negation
    ("is recommended" from "is not recommended"). A sentence's "no sequelae" may go unmentioned."""
    c, s = _negations(claim), _negations(sentence)
    if c and not s:
        return False
    if c & _STRONG_NEGATION and not s & _STRONG_NEGATION:
        return False
    return not (s & _STRONG_NEGATION and not c)


def normalise_markers(text: str) -> str:
    """[1, 2] and [passage 1] become [1][2] and [1]; markers after a full stop move before it ("x. [1]" -> "x [1].")
    so that they stay with their sentence."""
    text = _MARKER_GROUP.sub(lambda m: "".join(f"[{n}]" for n in re.findall(r"\d+", m.group(1))), text)
    return _MARKERS_AFTER_STOP.sub(lambda m: m.group(2) + m.group(1), text)


@dataclass
class Claim:
    """One sentence of the LLM's answer and what verification found."""

    text: str  # as generated, markers included
    body: str  # markers removed
    markers: tuple[int, ...]
    supports: list[tuple[int, int, int, float]]  # (passage index, start, end, score) of each supporting passage
    reason: str = ""  # why it was removed; "" when kept


@dataclass
class Verification:
    claims: list[Claim]

    @property
    def kept(self) -> list[Claim]:
        return [c for c in self.claims if not c.reason]

    @property
    def removed(self) -> list[Claim]:
        return [c for c in self.claims if c.reason]


def split_claims(output: str) -> list[Claim]:
    """The sentences of an LLM answer that say something (a lone marker or an "Answer:" label does not)."""
    text = normalise_markers(_LEAD_IN.sub("", output.strip()))
    claims = []
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        body = _MARKER.sub("", sentence)
        body = re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"[ \t]+", " ", body)).strip()
        if not content_terms(_BULLET.sub("", body)):
            continue
        markers = tuple(int(m) for m in _MARKER.findall(sentence))
        claims.append(Claim(text=sentence, body=body, markers=markers, supports=[]))
    return claims


def _quote_spans(chunk_text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int, bool]]:
    """What a claim may quote: each sentence, and each two adjacent sentences (an LLM often merges two)."""
    out = [(a, b, False) for a, b in spans]
    out += [(a, b2, True) for (a, _b), (_a2, b2) in zip(spans, spans[1:], strict=False)]
    return out


def verify_claims(claims: list[Claim], hits: list[Hit], n_shown: int, embedder, store) -> Verification:
    """Mark each claim kept (supports filled) or removed (reason set). hits[:n_shown] were shown as [1]..[n_shown].

    A cited passage supports a claim when every number of the claim appears in it, at most NOVEL_MAX of the claim's
    content terms are missing from it, and a quote from it (one sentence, or two adjacent ones at a small penalty)
    scores at least SUPPORT_MIN with cosine at least SIM_MIN. Only quotes that agree on negation and show the claim's
    numbers (those not already in the passage's title or section) compete, so the quote lets a reader check them;
    text addressed to an AI ("ignore your instructions") never supports anything.
    Quotes are embedded bare: the index's sentence vectors carry the section as context, which makes every sentence
    of a section look alike."""
    todo: list[tuple[Claim, int]] = []
    for claim in claims:
        if not claim.markers or not _ENDS_WITH_MARKER.search(claim.text):
            claim.reason = "no citation at the end of the sentence"
        elif any(m < 1 or m > n_shown for m in claim.markers):
            claim.reason = "cites a passage that was not given"
        else:
            todo.extend((claim, m - 1) for m in dict.fromkeys(claim.markers))
    if not todo:
        return Verification(claims)
    cited = sorted({p for _c, p in todo})
    records = store.sentence_records([hits[p].chunk.chunk_id for p in cited])
    quotes: dict[int, list[tuple[int, int, bool]]] = {}
    for p in cited:
        chunk = hits[p].chunk
        spans = [(a, b) for a, b, _v in records.get(chunk.chunk_id) or []] or sentence_spans(chunk.text)
        quotes[p] = _quote_spans(chunk.text, spans)
    texts = [hits[p].chunk.text[a:b] for p in cited for a, b, _pair in quotes[p]]
    texts += [_BULLET.sub("", c.body) for c, _p in todo]
    vectors = embedder.embed_documents(texts)
    quote_vecs: dict[int, np.ndarray] = {}
    i = 0
    for p in cited:
        quote_vecs[p] = vectors[i:i + len(quotes[p])]
        i += len(quotes[p])
    failures: dict[int, str] = {}
    for (claim, p), vec in zip(todo, vectors[i:], strict=True):
        chunk = hits[p].chunk
        body = _BULLET.sub("", claim.body)
        header = " ".join((chunk.title, chunk.section, chunk.edition))
        missing_numbers = _numbers(body) - _numbers(header + " " + chunk.text)
        if missing_numbers:
            failures.setdefault(id(claim), f"states {', '.join(sorted(missing_numbers))}, not in passage {p + 1}")
            continue
        terms = _claim_terms(body)
        novel = terms - _terms(header + " " + chunk.text)
        if len(novel) > int(NOVEL_MAX * len(terms)):
            failures.setdefault(id(claim), f"says what passage {p + 1} does not ({', '.join(sorted(novel))})")
            continue
        claim_numbers = _numbers(body) - _numbers(header)
        best: tuple[float, float, int, int] | None = None
        for (a, b, pair), qvec in zip(quotes[p], quote_vecs[p], strict=True):
            quote = chunk.text[a:b]
            if not claim_numbers <= _numbers(quote) or not _negation_agrees(body, quote) or _INSTRUCTION.search(quote):
                continue
            sim = float(np.dot(vec, qvec))
            score = 0.6 * sim + 0.4 * _share(terms, _terms(quote)) - (PAIR_PENALTY if pair else 0.0)
            if best is None or score > best[0]:
                best = (score, sim, a, b)
        if best is None or best[0] < SUPPORT_MIN or best[1] < SIM_MIN:
            failures.setdefault(id(claim), f"not supported by passage {p + 1}")
            continue
        claim.supports.append((p, best[2], best[3], best[0]))
    for claim in claims:
        if not claim.reason and not claim.supports:
            claim.reason = failures.get(id(claim), "not supported by the cited passages")
    return Verification(claims)


def _with_stop(body: str) -> str:
    return body if body[-1:] in ".!?:" else body + "."


def build_verified_answer(question: str, retrieval: Retrieval, kept: list[Claim], backend: str,
                          notes: tuple[str, ...]) -> Answer:
    """The kept claims with markers renumbered 1..m in order of first citation; passages cited first, then the
    rest, as ioguide.answer.build_answer numbers them."""
    hits = retrieval.hits
    order: list[int] = []
    for claim in kept:
        for p, *_ in claim.supports:
            if p not in order:
                order.append(p)
    order += [i for i in range(len(hits)) if i not in order]
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
    text = "\n".join(lines) if any(_BULLET.match(c.body) for c in kept) else " ".join(lines)
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
    """An LLM-written answer over the retrieved passages, verified sentence by sentence (see the module docstring).
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
    verification = verify_claims(split_claims(output), retrieval.hits, n_shown, embedder, store)
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


# ---------------------------------------------------------------- follow-up rewriting

_REWRITE_LABEL = re.compile(r"^\s*(?:standalone (?:question|query)|rewritten (?:question|query)|question|query)\s*:\s*",
                            re.I)


def rewrite_with_llm(llm: LLM, question: str, history: list[str]) -> str | None:
    """A standalone query for a follow-up question, written by the LLM; None when it fails, times out or replies
    with something unusable (the caller then uses ioguide.answer.rewrite_follow_up)."""
    if not history:
        return None
    messages = render_messages("rewrite", question=question,
                               history="\n".join(f"- {h}" for h in history[-4:]))
    try:
        output = llm.chat(messages)
    except Exception:
        return None
    lines = [line for line in output.strip().splitlines() if line.strip()]
    if not lines:
        return None
    query = _REWRITE_LABEL.sub("", lines[0]).strip().strip("\"'`").strip()
    if not content_terms(query) or len(query) > 400:
        return None
    return query
