"""What a claim of an LLM answer may quote from a passage, and how much of the claim a quote holds: spans of one to
three sentences or a whole bulleted list, and near-synonyms by bare-word embeddings (the packaged MiniLM)."""

from __future__ import annotations

import numpy as np

from .text import BULLET
from .verify_terms import stem

QUOTE_MAX = 3  # adjacent sentences a quote may join (a whole bulleted list with its lead-in may be longer)
WORD_SIM = 0.65  # cosine between bare-word embeddings above which a passage word stands for a claim word


def quote_spans(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int, int, str]]:
    """What a claim may quote, with how many sentences it joins: each sentence, each run of up to QUOTE_MAX adjacent
    ones (an LLM often merges two or three), and each bulleted list whole with its lead-in ("six grades, running
    from grade 1 ... to grade 6" summarises a list). With each, the lead-in of the list it belongs to ("SIR's
    thresholds for high-risk procedures are:"), whose words a claim about a list item may repeat."""
    leads: list[str] = []
    lead = ""
    lead_at = -1
    blocks: dict[int, int] = {}  # first sentence of a list (its lead-in, or first item) -> its last item
    for i, (a, b) in enumerate(spans):
        if BULLET.match(text[a:b]):
            leads.append(lead)
            start = lead_at if lead_at >= 0 else i
            blocks[start] = i
        else:
            lead = text[a:b] if text[a:b].rstrip().endswith(":") else ""
            lead_at = i if lead else -1
            leads.append("")
    out = []
    for i in range(len(spans)):
        for size in range(1, QUOTE_MAX + 1):
            if i + size <= len(spans):
                out.append((spans[i][0], spans[i + size - 1][1], size, leads[i]))
    for first, last in blocks.items():
        if last - first + 1 > QUOTE_MAX:
            out.append((spans[first][0], spans[last][1], last - first + 1, ""))
    return out


def coverage(terms: set[str], quote_terms: set[str], near: dict[str, set[str]]) -> float:
    """Share of terms the quote holds, a near-synonym counting as the word."""
    if not terms:
        return 1.0
    return sum(1 for t in terms if t in quote_terms or near.get(t, set()) & quote_terms) / len(terms)


class WordVectors:
    """Bare-word embeddings, each word embedded once per verification."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.vectors: dict[str, np.ndarray] = {}

    def __call__(self, words: list[str]) -> np.ndarray:
        missing = [w for w in dict.fromkeys(words) if w not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.embedder.embed_documents(missing), strict=True))
        return np.stack([self.vectors[w] for w in words])


def near_terms(novel_words: list[str], passage_words: list[str], word_vectors: WordVectors) -> dict[str, set[str]]:
    """For each claim word absent from the passage, the stems of passage words whose bare-word embeddings are at
    least WORD_SIM alike ("divided" ~ "subdivided", "uptake" ~ "adoption"): a paraphrase's synonyms."""
    if not novel_words or not passage_words:
        return {}
    sims = word_vectors(novel_words) @ word_vectors(passage_words).T
    return {stem(w): {stem(passage_words[j]) for j in np.flatnonzero(row >= WORD_SIM)}
            for w, row in zip(novel_words, sims, strict=True)}


def list_sizes(text: str) -> set[float]:
    """The numbers of items of the bulleted lists of a passage. A claim's count of the items it lists ("three aims:
    a, b and c") is accepted only when the passage lists that many: how a claim's own list splits into items is
    ambiguous ("as part of an institution, such as a hospital department, or as an independent entity")."""
    sizes, run = set(), 0
    for line in text.split("\n") + [""]:
        if BULLET.match(line):
            run += 1
        elif line.strip() or run:
            if run:
                sizes.add(float(run))
            run = 0
    return sizes
