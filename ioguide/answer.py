"""Answers: the extractive composer (default, no LLM), follow-up rewriting, and the JSON contract.

Every answer sentence is a sentence of a retrieved passage, quoted exactly with its character offsets; numbers
and units are therefore never altered. The sentence most likely to hold the asked fact (ioguide.sentence_rank)
leads, with at most two supporting sentences (and, for a two-part question, the likeliest sentence of each part),
or the asked-for list trimmed to its likeliest items. The answer abstains and names the documents that came closest
(quoting a sentence that says the sources do not give the detail, when one explains why) when retrieval says the
question is not covered, when no sentence is likely enough, when the asked figure is missing (a number in the asked
unit, a count of the asked things), when the question's specific words appear nowhere in or around the chosen
sentences (ioguide.concepts), or when asked "which things" the sentences only count them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from .concepts import WordVectors, counts_not_names, english_correction, tells_story, typo_of_indexed, uncovered_terms
from .retrieve import CALIBRATION_FILE, Retrieval, word_alternative
from .sentence_rank import Asked, answer_probability, read_question, sentence_features, slot_filled
from .text import BULLET, citation_label, content_terms, numbers_in
from .types import Answer, Chunk, Citation, Hit

NOT_COVERED = "The indexed documents do not cover this question."

# The bundled corpus marks each sentence that says what its sources do not give with this lead phrase
# (corpus/README.md). Such a sentence may ground an abstention; it never answers and never displaces a fact.
GAP_MARK = re.compile(r"^\W*Not in the sources reviewed:", re.I)

# Sentences not so marked that still say what a summary could not give ("the exact wording ... could not be
# retrieved for this summary", "this summary does not restate it").
SOFT_GAP = re.compile(r"\b(?:could not be (?:checked|retrieved|found|verified|confirmed)|(?:was|were) not available to|"
                      r"does not restate|do not restate|breaks? off before)\b", re.I)

# The answer step's own checks, calibrated on the DEV split with scripts/tune_answer.py (README figures).
ANSWER_MIN_P = 0.3  # the leading sentence needs at least this ranker probability, else "not covered"
CONFIDENT_P = 0.8  # a leading sentence this likely is answered even when a gap sentence scores higher
GAP_MARGIN = 0.2  # a gap sentence scoring within this of the leading fact (below CONFIDENT_P) grounds "not covered"
SUPPORT_MIN_P = 0.35  # a supporting sentence needs this probability ...
SUPPORT_RATIO = 0.8  # ... and this share of the leading sentence's
MAX_SUPPORT = 2  # supporting sentences after the leading one
MAX_LIST_ITEMS = 8  # items of an asked-for list at most (the most likely ones, in text order)
REPEAT_COSINE = 0.85  # a sentence this close to a chosen one, with no figure of its own, says the same again
REPEAT_TERM_SHARE = 0.8  # ... as does one sharing more than this share of its content words
UNKNOWN_MIN_PIECES = 3  # a word the tokenizer cuts into this many pieces or more is rare in English
SLOT_KINDS = ("number", "duration", "who", "definition", "other")  # kinds whose asked figure must be given
SLOT_RESCUE_MIN_P = 0.5  # a sentence giving the asked figure may lead instead when at least this likely
CONCEPT_RESCUE_MIN_P = 0.3  # a sentence mentioning the question's specific words may lead when this likely ...
CONCEPT_RESCUE_TOP = 12  # ... and among the likeliest this many
STORY_MIN_P = 0.4  # a question that tells a story skips the concept check when its lead is at least this likely
PART_MIN_P = 0.5  # the likeliest sentence for one part of a two-part question is added when at least this likely


class SentenceSource(Protocol):
    """What answering needs from the retriever: the passages' sentences with vectors, the question's vector,
    the indexed vocabulary and its stemmer (ioguide.retrieve.Retriever provides all of it)."""

    def sentence_records(self, chunk_ids: list[str]) -> dict[str, list[tuple[int, int, np.ndarray]]]: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def stem(self, text: str) -> list[str]: ...

    def word_pieces(self, word: str) -> int: ...

    @property
    def vocabulary(self) -> Any: ...


@dataclass
class SentenceCandidate:
    passage: int  # index into hits
    start: int
    end: int
    text: str
    score: float  # probability that the sentence holds an asked fact (the ranker's)
    sim: float
    bullet: bool
    gap: bool  # says what the sources do not give (GAP_MARK, or an item under such a lead-in)
    features: np.ndarray | None = None


def asked_of(question: str, source: SentenceSource) -> Asked:
    """The question as the ranker reads it, typos and abbreviations resolved against the indexed vocabulary."""
    return read_question(question, source.stem, lambda word: word_alternative(word, source.vocabulary))


def score_sentences(asked: Asked, hits: list[Hit], sentence_rows: dict[str, list[tuple[int, int, np.ndarray]]],
                    qvec: np.ndarray, stem) -> list[SentenceCandidate]:
    """Every sentence of the retrieved passages, with its features and the ranker's probability."""
    out: list[SentenceCandidate] = []
    rows: list[np.ndarray] = []
    for p, hit in enumerate(hits):
        chunk = hit.chunk
        text = chunk.text
        context = set(stem(f"{chunk.title} {chunk.section}"))
        best = (hit.features.get("best_start"), hit.features.get("best_end"))
        role = chunk.role
        gap_lead = False
        for i, (start, end, vec) in enumerate(sentence_rows.get(chunk.chunk_id, [])):
            sentence = text[start:end]
            bullet = bool(BULLET.match(sentence))
            marked = bool(GAP_MARK.search(sentence))
            if not bullet:
                gap_lead = marked and sentence.rstrip().endswith(":")
            sim = float(np.dot(vec, qvec))
            features = sentence_features(asked, sentence, set(stem(sentence)), context, sim, p, hit.score,
                                         best == (start, end), i == 0, role)
            rows.append(features)
            out.append(SentenceCandidate(p, start, end, sentence, 0.0, sim, bullet,
                                         marked or (bullet and gap_lead), features))
    if rows:
        for cand, prob in zip(out, answer_probability(np.vstack(rows)), strict=True):
            cand.score = float(prob)
    return out


def _similar(a: str, b: str) -> bool:
    ta, tb = set(content_terms(a)), set(content_terms(b))
    if not ta or not tb:
        return a.strip().lower() == b.strip().lower()
    return len(ta & tb) / min(len(ta), len(tb)) > REPEAT_TERM_SHARE


def _block(cands: list[SentenceCandidate], anchor: SentenceCandidate) -> list[SentenceCandidate]:
    """The lead-in sentence and the list items around anchor in the same passage, in text order ([] when anchor
    is neither an item nor a lead-in followed by items)."""
    own = sorted((c for c in cands if c.passage == anchor.passage), key=lambda c: c.start)
    idx = next(i for i, c in enumerate(own) if c.start == anchor.start)
    lo = hi = idx
    if not anchor.bullet:
        if idx + 1 >= len(own) or not own[idx + 1].bullet:
            return []
        hi = idx + 1
    else:
        while lo > 0 and own[lo - 1].bullet:
            lo -= 1
        if lo > 0:
            lo -= 1  # the lead-in sentence before the first item
    while hi + 1 < len(own) and own[hi + 1].bullet:
        hi += 1
    block = own[lo:hi + 1]
    return block if sum(1 for c in block if c.bullet) >= 2 else []


def _trimmed_list(block: list[SentenceCandidate]) -> list[SentenceCandidate]:
    """The lead-in and at most MAX_LIST_ITEMS items, the likeliest ones, kept in text order."""
    lead = [c for c in block if not c.bullet][:1]
    items = [c for c in block if c.bullet and not c.gap]
    if len(items) > MAX_LIST_ITEMS:
        keep = {id(c) for c in sorted(items, key=lambda c: -c.score)[:MAX_LIST_ITEMS]}
        items = [c for c in items if id(c) in keep]
    return lead + items


def unknown_terms(question: str, vocabulary, word_pieces=None) -> list[str]:
    """Specific words of the question that no indexed passage contains, after allowing for typos: a word of 6+
    letters whose stem is not in the BM25 vocabulary and has no close match there (difflib, ratio >= 0.8), and that
    is rare in English (the embedding model's tokenizer cuts it into 3+ word pieces: "pembrolizumab" is rare,
    "needed" is not, so a small centre collection does not make everyday words look unknown)."""
    out = []
    for word in dict.fromkeys(re.findall(r"[A-Za-z][A-Za-z-]{5,}", question)):
        lower = word.lower()
        if lower in STOPWORDS_EXTRA or vocabulary.contains(lower):
            continue
        if word_pieces is not None and word_pieces(lower) < UNKNOWN_MIN_PIECES:
            continue
        if any(vocabulary.contains(lower[:i]) and vocabulary.contains(lower[i:]) for i in range(3, len(lower) - 1)):
            continue  # a compound written as one word: "cutoff" for "cut-off"
        if typo_of_indexed(lower, vocabulary):
            continue  # close to an indexed stem (difflib), or "contraindicatons" / "contraind" start alike
        fixed = english_correction(lower)
        if fixed and vocabulary.contains(fixed):
            continue  # "succes" for "success"
        out.append(word)
    return out


STOPWORDS_EXTRA = frozenset("""please thanks whats where which should would could about recommended recommend
    according describe explain difference between patients patient hospital hospitals question answer""".split())


def compose_extractive(question: str, retrieval: Retrieval, source: SentenceSource,
                       statement: bool = False) -> Answer:
    """The sentence that answers the question, then at most MAX_SUPPORT supporting sentences (or, when a list is
    asked for, the list trimmed to its likeliest items), each quoted exactly with an [n] marker. Abstains when no
    sentence is likely enough to hold the asked fact; a marked gap sentence may ground that abstention.
    statement: the text is a requirement to find evidence for, not a question; the checks of what a question asks
    for (the asked figure, its specific words, a count instead of names) are skipped."""
    t0 = time.perf_counter()
    hits = retrieval.hits
    floor, floor_p = low_relevance_rule()
    low = not retrieval.covered
    if not hits or (low and retrieval.relevance < floor):
        return abstain(question, retrieval, "extractive")
    rows = source.sentence_records([h.chunk.chunk_id for h in hits])
    # Sentences are scored against the question as asked; the expanded form only widens the search.
    asked = asked_of(retrieval.query, source)
    cands = score_sentences(asked, hits, rows, source.embed_query(retrieval.query), source.stem)
    # Reference lists, affiliations, funding and conflict statements are quoted only when the question asks.
    quotable = [c for c in cands if asked.references_ok or hits[c.passage].chunk.role == "body"]
    facts = sorted((c for c in quotable if not c.gap), key=lambda c: -c.score)
    gaps = sorted((c for c in quotable if c.gap), key=lambda c: -c.score)
    lead = facts[0] if facts else None
    if gaps and (lead is None or (gaps[0].score >= lead.score - GAP_MARGIN and lead.score < CONFIDENT_P)):
        if gaps[0].score >= ANSWER_MIN_P:
            # The closest passage says the sources do not give this: report that, citing it.
            return abstain(question, retrieval, "extractive", gap=gaps[0])
    if lead is None or lead.score < (floor_p if low else ANSWER_MIN_P):
        return abstain(question, retrieval, "extractive")
    unknown = unknown_terms(retrieval.query, source.vocabulary, source.word_pieces)
    if unknown:
        # The question names something no indexed document mentions (e.g. a drug): nothing here can answer it.
        return abstain(question, retrieval, "extractive",
                       notes=(f"No indexed document mentions: {', '.join(unknown)}.",))
    chosen = _choose(asked, cands, facts, rows, hits)
    if not statement and asked.kind in SLOT_KINDS and not slot_filled(retrieval.query, [c.text for c in chosen]):
        # The question names the unit of the figure it asks for (mm, weeks, a fee's amount ...), and the chosen
        # sentences give no such figure: they are about the asked thing, not its value.
        filled = [c for c in facts if c.score >= SLOT_RESCUE_MIN_P and slot_filled(retrieval.query, [c.text])]
        if not filled:
            return abstain(question, retrieval, "extractive",
                           notes=("The closest passages do not give the asked figure.",))
        chosen = _choose(asked, cands, filled, rows, hits)
    story = tells_story(retrieval.query) and chosen[0].score >= STORY_MIN_P
    if not statement and chosen[0].score < CONFIDENT_P and not story:
        vectors = word_vectors(source)
        missing = uncovered_terms(retrieval.query, concept_context(chosen, cands, hits), source, vectors)
        if missing:
            # The question's specific subject ("fasting", "wattage") is nowhere in or around the chosen sentences:
            # they are about its topic, not about what it asks. A likely enough sentence that does mention it may
            # lead instead; otherwise "not covered".
            about = [c for c in facts[:CONCEPT_RESCUE_TOP] if c.score >= CONCEPT_RESCUE_MIN_P
                     and not uncovered_terms(retrieval.query, concept_context([c], cands, hits, own_only=True),
                                                 source, vectors)]
            if about:
                chosen = _choose(asked, cands, about, rows, hits)
            if not about or (asked.kind in SLOT_KINDS and not slot_filled(retrieval.query, [c.text for c in chosen])):
                return abstain(question, retrieval, "extractive",
                               notes=(f"The closest passages do not mention: {', '.join(missing)}.",))
    counted = None if statement else counts_not_names(retrieval.query, [c.text for c in chosen])
    if counted:
        return abstain(question, retrieval, "extractive",
                       notes=(f"The closest passages say how many {counted}, not which.",))
    if sum(c.bullet for c in chosen) <= 1:  # not an asked-for list
        chosen += other_parts(question_parts(retrieval.query), chosen, hits, rows, source, asked.references_ok)
    soft = next((c for c in chosen if SOFT_GAP.search(c.text)), None)
    if soft is not None and asked.kind != "yesno":
        if soft is chosen[0] or (soft.score >= chosen[0].score - GAP_MARGIN and chosen[0].score < CONFIDENT_P):
            # The answer's likeliest content says the asked detail could not be checked or is not restated: report
            # it as a gap (a yes/no question may be answered by it).
            return abstain(question, retrieval, "extractive", gap=soft)
        chosen = [c for c in chosen if c is not soft]  # a less likely note about another detail: not an answer
    # Read well: passages in rank order, sentences in text order within a passage.
    chosen.sort(key=lambda c: (c.passage, c.start))
    answer = build_answer(question, retrieval, chosen, "extractive")
    answer.timings_ms["compose"] = (time.perf_counter() - t0) * 1000
    return answer


def concept_context(chosen: list[SentenceCandidate], cands: list[SentenceCandidate], hits: list[Hit],
                    own_only: bool = False) -> list[str]:
    """The text in which the question's specific words must appear for the answer to be about them: the chosen
    sentences with their passages' titles and section headings and a list item's lead-in, and (unless own_only,
    which judges one sentence on its own) the whole passages they quote. On the dev splits the whole passage
    abstains on exactly the questions the sentence and its neighbours do, and is the safer scope for unseen PDFs."""
    by_passage: dict[int, list[SentenceCandidate]] = {}
    for c in cands:
        by_passage.setdefault(c.passage, []).append(c)
    out: list[str] = []
    for c in chosen:
        chunk = hits[c.passage].chunk
        own = sorted(by_passage.get(c.passage, []), key=lambda x: x.start)
        i = next((k for k, x in enumerate(own) if x.start == c.start), None)
        near = [] if i is None or own_only else [x.text for x in own[max(0, i - 1):i + 2]]
        if i is not None and c.bullet:  # a list item speaks under its lead-in ("It lists the advantages as:")
            near += [x.text for x in own[:i] if not x.bullet][-1:]
        out += [c.text, chunk.title, chunk.section, *near] + ([] if own_only else [chunk.text])
    return out


_VECTORS: dict[int, WordVectors] = {}


def word_vectors(source: SentenceSource) -> WordVectors | None:
    """Cached single-word vectors from the source's embedding model (None when it offers no batch embedding)."""
    embedder = getattr(source, "embedder", None)
    embed = getattr(embedder, "embed_documents", None)
    if embed is None:
        return None
    key = id(embedder)
    vectors = _VECTORS.get(key)
    if vectors is None:
        vectors = WordVectors(embed)
        _VECTORS.clear()
        _VECTORS[key] = vectors
    return vectors


_PART_SPLIT = re.compile(r"\s+(?:and|&)\s+|\s*,\s*|\s*;\s*", re.I)


def question_parts(question: str) -> list[str]:
    """The two questions of a two-part question ("pneumothorax rate after lung biopsy and chest tube rate", "post
    ablation syndrome - how common and how long" -> "post ablation syndrome how common", "... how long"), or []
    when it asks one thing (a part needs two words that are not stopwords)."""
    head, sep, tail = question.strip(" ?").partition(" - ")
    topic, body = (head, tail) if sep else ("", head)
    pieces = [p for p in _PART_SPLIT.split(body) if p.strip()]
    if len(pieces) != 2 or any(len(p.split()) < 2 for p in pieces):
        return []
    return [f"{topic} {p}".strip() for p in pieces]


def other_parts(parts: list[str], chosen: list[SentenceCandidate], hits: list[Hit],
                rows: dict[str, list[tuple[int, int, np.ndarray]]], source: SentenceSource,
                references_ok: bool) -> list[SentenceCandidate]:
    """For each part of a two-part question, its likeliest sentence when the answer does not hold it yet and the
    ranker gives it at least PART_MIN_P (so the second part of the question is not left unanswered)."""
    extra: list[SentenceCandidate] = []
    have = {(c.passage, c.start) for c in chosen}
    for part in parts:
        cands = score_sentences(asked_of(part, source), hits, rows, source.embed_query(part), source.stem)
        cands = [c for c in cands if not c.gap and (references_ok or hits[c.passage].chunk.role == "body")
                 and not c.text.rstrip().endswith(":")]
        best = max(cands, key=lambda c: c.score, default=None)
        if best is None or best.score < PART_MIN_P or (best.passage, best.start) in have:
            continue
        if any(_similar(best.text, c.text) for c in chosen + extra):
            continue
        have.add((best.passage, best.start))
        extra.append(best)
    return extra


@lru_cache(maxsize=1)
def low_relevance_rule() -> tuple[float, float]:
    """(floor, probability): a question whose relevance is under the retriever's threshold but at least floor is
    still answered when its leading sentence is at least this likely (ioguide/data/calibration.json, fitted on dev
    splits: a case description or a real PDF's page can hold the answer with a relevance under the threshold that
    was calibrated on our own summaries). Without the file's values, nothing under the threshold is answered."""
    try:
        data = json.loads(CALIBRATION_FILE.read_text())
        return float(data["answer_floor"]), float(data["answer_floor_min_p"])
    except (OSError, ValueError, KeyError):
        return 1.0, 1.0


def _choose(asked: Asked, cands: list[SentenceCandidate], facts: list[SentenceCandidate],
            rows: dict[str, list[tuple[int, int, np.ndarray]]], hits: list[Hit]) -> list[SentenceCandidate]:
    lead = facts[0]
    if asked.kind == "list" or lead.text.rstrip().endswith(":"):
        for anchor in facts[:3] if asked.kind == "list" else [lead]:
            block = _block(cands, anchor)
            if block and anchor.score >= lead.score * SUPPORT_RATIO:
                return _trimmed_list(block)
    chosen = [lead]
    vectors = {(h, a): v for h, hit in enumerate(hits) for a, _b, v in rows.get(hit.chunk.chunk_id, [])}
    floor = max(SUPPORT_MIN_P, lead.score * SUPPORT_RATIO)
    for cand in facts[1:]:
        if len(chosen) > MAX_SUPPORT or cand.score < floor:
            break
        if cand.text.rstrip().endswith(":"):
            continue  # a lead-in without its list says nothing
        vec = vectors[(cand.passage, cand.start)]
        if any(_similar(cand.text, c.text) or (float(np.dot(vec, vectors[(c.passage, c.start)])) > REPEAT_COSINE
                                                and numbers_in(cand.text) <= numbers_in(c.text))
               for c in chosen):
            continue  # says again what a chosen sentence says
        chosen.append(cand)
    return chosen


def passage_order(n_passages: int, cited: Iterable[int]) -> list[int]:
    """The one citation numbering, shared by the extractive and the LLM answer: cited passages first, in order of
    first citation, then the rest in rank order. Passage order[i] gets marker [i + 1]."""
    order = list(dict.fromkeys(cited))
    return order + [i for i in range(n_passages) if i not in order]


def make_citation(chunk: Chunk, n: int, start: int, end: int, support: float) -> Citation:
    """The citation of chunk.text[start:end] under marker [n]."""
    return Citation(n=n, chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, title=chunk.title, source=chunk.source,
                    page=chunk.page_at(start), section=chunk.section, quote=chunk.text[start:end], start=start,
                    end=end, edition=chunk.edition, support=round(support, 4))


def build_answer(question: str, retrieval: Retrieval, chosen: list[SentenceCandidate], backend: str,
                 notes: tuple[str, ...] = ()) -> Answer:
    hits = retrieval.hits
    order = passage_order(len(hits), (c.passage for c in chosen))
    number = {p: n for n, p in enumerate(order, start=1)}
    citations = []
    lines = []
    for c in chosen:
        n = number[c.passage]
        citations.append(make_citation(hits[c.passage].chunk, n, c.start, c.end, c.score))
        lines.append(f"{c.text} [{n}]")
    text = "\n".join(lines) if any(c.bullet for c in chosen) else " ".join(lines)
    return Answer(question=question, text=text, citations=tuple(citations), passages=tuple(hits[p] for p in order),
                  grounded=True, backend=backend, query=retrieval.query, relevance=retrieval.relevance, notes=notes,
                  timings_ms=dict(retrieval.timings_ms))


def closest_documents(hits: list[Hit], n: int = 3) -> tuple[str, ...]:
    seen: list[str] = []
    for hit in hits:
        label = citation_label(hit.chunk.title, hit.chunk.edition, hit.chunk.section)
        if label not in seen:
            seen.append(label)
        if len(seen) >= n:
            break
    return tuple(seen)


def abstain(question: str, retrieval: Retrieval, backend: str, notes: tuple[str, ...] = (),
            gap: SentenceCandidate | None = None) -> Answer:
    """grounded=False. With gap (a passage sentence saying the sources do not give this), that sentence is quoted
    and cited, so the reader can check why."""
    closest = closest_documents(retrieval.hits)
    if gap is not None:
        base = build_answer(question, retrieval, [gap], backend, notes)
        text = f"{NOT_COVERED} The closest passage notes: {base.text}"
        return Answer(question=question, text=text, citations=base.citations, passages=base.passages,
                      grounded=False, backend=backend, query=retrieval.query, relevance=retrieval.relevance,
                      notes=notes, closest=closest, timings_ms=dict(retrieval.timings_ms))
    text = NOT_COVERED
    if closest:
        text += " Closest documents: " + "; ".join(closest) + "."
    return Answer(question=question, text=text, citations=(), passages=tuple(retrieval.hits), grounded=False,
                  backend=backend, query=retrieval.query, relevance=retrieval.relevance, notes=notes,
                  closest=closest, timings_ms=dict(retrieval.timings_ms))


# ---------------------------------------------------------------- follow-up questions

_FOLLOW_UP = re.compile(r"^\s*(and|what about|how about|same for|also|or|but|then)\b", re.I)
_PRONOUN = re.compile(r"\b(it|its|they|them|their|that|this|these|those|there)\b", re.I)
# Terms a follow-up swaps for one of the same kind in the previous question.
SUBSTITUTES = [
    ["liver", "hepatic", "lung", "pulmonary", "kidney", "renal", "bone", "spine", "vertebral", "breast", "pancreas",
     "pancreatic", "prostate", "thyroid", "adrenal"],
    ["tace", "tare", "sirt", "radioembolisation", "radioembolization", "chemoembolisation", "chemoembolization",
     "rfa", "mwa", "cryoablation", "ablation", "ire", "biopsy", "vertebroplasty", "kyphoplasty", "pve",
     "embolisation", "embolization"],
    ["2017", "2026", "2021", "2020", "2022", "2012", "2010", "2018"],
    ["enrolled", "accredited", "excellence"],
    ["core", "extended"],
    ["hcc", "icc", "crc", "mcrc", "net", "rcc", "cholangiocarcinoma", "metastases"],
]


def rewrite_follow_up(question: str, history: list[str]) -> str:
    """A standalone query for a follow-up like "and for lung?" after "what margin for liver ablation?".

    Deterministic: swap a term of the same kind (organ, procedure, edition, status...) into the previous question;
    otherwise join the previous question's subject to the follow-up. Self-contained questions pass unchanged."""
    if not history:
        return question.strip()
    previous = history[-1].strip()
    q = question.strip()
    words = content_terms(q)
    looks_follow_up = bool(_FOLLOW_UP.match(q)) or (len(words) <= 3 and bool(_PRONOUN.search(q))) or len(words) <= 2
    if not looks_follow_up:
        return q
    q_lower = [w.lower() for w in re.findall(r"[A-Za-z0-9-]+", q)]
    prev_tokens = re.findall(r"[A-Za-z0-9-]+|[^A-Za-z0-9-]+", previous)
    swapped = False
    for group in SUBSTITUTES:
        new_terms = [w for w in q_lower if w in group]
        if not new_terms:
            continue
        for i, tok in enumerate(prev_tokens):
            if tok.lower() in group and tok.lower() not in new_terms:
                prev_tokens[i] = new_terms[0]
                swapped = True
                break
    if swapped:
        return "".join(prev_tokens).strip()
    rest = _FOLLOW_UP.sub("", q).strip(" ,?.")
    return f"{previous.rstrip(' ?.')} — {rest}?" if rest else previous


# ---------------------------------------------------------------- the JSON contract

def answer_to_json(answer: Answer) -> dict[str, Any]:
    """The stable object printed by `ioguide ask --json` (later fields are additions, never changes)."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "grounded": answer.grounded,
        "citations": [
            {"n": c.n, "chunk_id": c.chunk_id, "doc_id": c.doc_id, "title": c.title, "edition": c.edition,
             "source": c.source, "page": c.page, "section": c.section, "quote": c.quote, "start": c.start,
             "end": c.end, "support": c.support}
            for c in answer.citations
        ],
        "passages": [
            {"n": n, "chunk_id": h.chunk.chunk_id, "doc_id": h.chunk.doc_id, "title": h.chunk.title,
             "edition": h.chunk.edition, "issuer": h.chunk.issuer, "kind": h.chunk.kind,
             "collection": h.chunk.collection, "source": h.chunk.source or h.chunk.source_url,
             "source_url": h.chunk.source_url, "section_sources": list(h.chunk.section_sources),
             "page_start": h.chunk.page_start, "page_end": h.chunk.page_end, "section": h.chunk.section,
             "text": h.chunk.text, "score": round(h.score, 4), "found_by": list(h.found_by)}
            for n, h in enumerate(answer.passages, start=1)
        ],
        "backend": answer.backend,
        "query": answer.query,
        "relevance": answer.relevance,
        "closest": list(answer.closest),
        "notes": list(answer.notes),
        "removed": [{"sentence": sentence, "reason": reason} for sentence, reason in answer.removed],
        "timings_ms": {k: round(v, 1) for k, v in answer.timings_ms.items()},
    }


def answer_from_json(obj: dict[str, Any]) -> Answer:
    """The Answer that answer_to_json printed (stored conversations, drafts, `ask --json` output). Fields the
    JSON does not carry (a chunk's ordinal and page breaks, retrieval features) get their defaults; older
    objects without the later fields load too."""
    passages = []
    for p in obj.get("passages", []):
        chunk = Chunk(chunk_id=p["chunk_id"], doc_id=p["doc_id"], title=p.get("title", ""), text=p.get("text", ""),
                      ordinal=0, section=p.get("section", ""), page_start=p.get("page_start"),
                      page_end=p.get("page_end"), edition=p.get("edition", ""), issuer=p.get("issuer", ""),
                      kind=p.get("kind", "official"), collection=p.get("collection", "guidelines"),
                      source=p.get("source", ""), source_url=p.get("source_url", ""),
                      section_sources=tuple(p.get("section_sources", ())))
        passages.append(Hit(chunk=chunk, score=float(p.get("score", 0.0)), found_by=tuple(p.get("found_by", ()))))
    citations = tuple(
        Citation(n=c["n"], chunk_id=c["chunk_id"], doc_id=c["doc_id"], title=c.get("title", ""),
                 source=c.get("source", ""), page=c.get("page"), section=c.get("section", ""), quote=c["quote"],
                 start=c["start"], end=c["end"], edition=c.get("edition", ""), support=float(c.get("support", 0.0)))
        for c in obj.get("citations", []))
    return Answer(question=obj.get("question", ""), text=obj.get("answer", ""), citations=citations,
                  passages=tuple(passages), grounded=bool(obj.get("grounded", False)),
                  backend=obj.get("backend", "extractive"), query=obj.get("query", ""),
                  relevance=float(obj.get("relevance") or 0.0), notes=tuple(obj.get("notes", ())),
                  closest=tuple(obj.get("closest", ())), timings_ms=dict(obj.get("timings_ms", {})),
                  removed=tuple((r["sentence"], r["reason"]) for r in obj.get("removed", ())))
