"""Verification of an LLM's answer: split it into claims (sentences with [n] markers) and keep a claim only when
the passage it cites supports it.

A sentence survives only if it ends with [n] markers that point to passages it was given, adds no negation and
almost no terms the cited passage lacks, and the passage holds a sentence (or two adjacent ones) that supports it
by embedding similarity and shared terms and shows every number it states. Passages and questions are data to the
LLM; whatever they make it write still has to pass verification.

Known limit: a sentence that recombines a passage's own words and numbers into a wrong statement ("sequelae are
grade 2" from a passage that names grade 2 and sequelae in different sentences) can pass; verification checks
support, not logic.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .text import BULLET, content_terms, numbers_in, sentence_spans
from .types import Hit

# Verification thresholds, calibrated on the bundled corpus with MiniLM vectors of bare sentences (tests/test_llm.py
# holds the cases): paraphrases of a passage sentence score >= 0.6, on-topic inventions mostly fail NOVEL_MAX.
SUPPORT_MIN = 0.55  # 0.6 * cosine + 0.4 * share of the claim's terms found in the supporting passage sentence
SIM_MIN = 0.45  # cosine between the answer sentence and the supporting passage sentence
PAIR_PENALTY = 0.05  # a quote of two sentences must support the claim clearly better than either sentence alone
NOVEL_MAX = 0.15  # share of the claim's content terms allowed to be absent from the cited passage (rounded down)

_MARKER_GROUP = re.compile(r"\[\s*(?:passages?\s*)?(\d{1,3}(?:\s*[,;]\s*(?:passages?\s*)?\d{1,3})*)\s*\]", re.I)
_MARKER = re.compile(r"\[(\d{1,3})\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d{1,3}\])+)")
_ENDS_WITH_MARKER = re.compile(r"\[\d{1,3}\]\W*$")
_LEAD_IN = re.compile(r"^\s*(?:answer|response)\s*:\s*", re.I)
_NEGATION = re.compile(r"\b(not|no|never|none|cannot|without|neither|nor)\b|(n't)\b", re.I)
_STRONG_NEGATION = {"not", "n't", "cannot", "never"}
# Passage text that speaks to an AI rather than about medicine: never accepted as support, whatever it says.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|guidelines above)\b|"
    r"\bsystem prompt\b|\byou are (?:now )?(?:an? )?(?:ai|assistant|chatbot|language model)\b|"
    r"\b(?:tell|inform) the (?:reader|user)\b", re.I)
# Words that frame a claim rather than make it: a paraphrase may add them without inventing anything. Negations are
# judged separately.
_FILLER = frozenset("""according say says said state states stated stating note notes noted describe describes
    described mention mentions mentioned explain explains guideline guidelines document documents passage passages
    source sources text between within among become becomes became ideally generally typically usually also only
    not no never none cannot without neither nor""".split())

_STEMMER_LOCK = threading.Lock()  # a PyStemmer object must not be used by two threads at once


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(term: str) -> str:
    """The Snowball stem (PyStemmer, as BM25 uses), spelling unified first: "embolization" ~ "embolisation"."""
    if term[:1].isdigit():
        return term
    with _STEMMER_LOCK:
        return _stemmer().stemWord(term.replace("z", "s"))


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

    @property
    def is_list_item(self) -> bool:
        return BULLET.match(self.body) is not None


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
        if not content_terms(BULLET.sub("", body)):
            continue
        markers = tuple(int(m) for m in _MARKER.findall(sentence))
        claims.append(Claim(text=sentence, body=body, markers=markers, supports=[]))
    return claims


def _quote_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int, bool]]:
    """What a claim may quote: each sentence, and each two adjacent sentences (an LLM often merges two)."""
    out = [(a, b, False) for a, b in spans]
    out += [(a, b2, True) for (a, _b), (_a2, b2) in zip(spans, spans[1:], strict=False)]
    return out


def verify_claims(claims: list[Claim], hits: list[Hit], n_shown: int, embedder, store=None) -> Verification:
    """Mark each claim kept (supports filled) or removed (reason set). hits[:n_shown] were shown as [1]..[n_shown].

    A cited passage supports a claim when every number of the claim appears in it, at most NOVEL_MAX of the claim's
    content terms are missing from it, and a quote from it (one sentence, or two adjacent ones at a small penalty)
    scores at least SUPPORT_MIN with cosine at least SIM_MIN. Only quotes that agree on negation and show the claim's
    numbers (those not already in the passage's title or section) compete, so the quote lets a reader check them;
    text addressed to an AI ("ignore your instructions") never supports anything.
    Quotes are embedded bare: the index's sentence vectors carry the section as context, which makes every sentence
    of a section look alike. The sentence spans come from store.sentence_records when a store is given (the spans
    the index holds), else from splitting the passage text the same way ingestion does."""
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
    records = store.sentence_records([hits[p].chunk.chunk_id for p in cited]) if store is not None else {}
    quotes: dict[int, list[tuple[int, int, bool]]] = {}
    for p in cited:
        chunk = hits[p].chunk
        spans = [(a, b) for a, b, _v in records.get(chunk.chunk_id) or []] or sentence_spans(chunk.text)
        quotes[p] = _quote_spans(spans)
    texts = [hits[p].chunk.text[a:b] for p in cited for a, b, _pair in quotes[p]]
    texts += [BULLET.sub("", c.body) for c, _p in todo]
    vectors = embedder.embed_documents(texts)
    quote_vecs: dict[int, np.ndarray] = {}
    i = 0
    for p in cited:
        quote_vecs[p] = vectors[i:i + len(quotes[p])]
        i += len(quotes[p])
    failures: dict[int, str] = {}
    for (claim, p), vec in zip(todo, vectors[i:], strict=True):
        chunk = hits[p].chunk
        body = BULLET.sub("", claim.body)
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


def verify_output(output: str, hits: list[Hit], n_shown: int, embedder, store=None) -> Verification:
    """An LLM's raw output split into claims and verified against hits[:n_shown] (see verify_claims)."""
    return verify_claims(split_claims(output), hits, n_shown, embedder, store)
