"""A figure of a claim bound to the words the passage binds it to.

A passage often gives several figures of one kind for several things ("technical success in 99.3%, major
complications in 2.5%, resection not possible in 2.8%"). A claim that keeps every word and number of the passage
but states one thing's figure for another ("major complications occurred in 2.8%") shows nothing that a check of
numbers or words alone would miss. Here each figure of the claim (a run of numbers with its unit) is read with the
words of its own clause, and so is each figure of the passage (ioguide.verify_align.figure_words); the claim's
figure must be the one of the passage whose words it shares most. A passage figure of the same kind but another
value that owns more of the claim figure's words than any passage figure of the claim's value does (by
BIND_MARGIN, and at least BIND_MIN of them) shows that the claim gives the figure to another thing: "states 2.8%
for major complications; passage 3 gives 2.8% for resection not possible".

A passage figure whose value the claim states too is no rival: a claim that gives both figures may word its clauses
loosely ("in 7% because the disease progressed and in 3% because ..."); two figures of one sentence given to each
other's words are ioguide.verify_align.swapped_figures' business.
"""

from __future__ import annotations

from .quantities import Quantity, same_quantity
from .text import sentence_spans
from .verify_align import WORD, describe_run, figure_words
from .verify_terms import stem

BIND_MIN = 2  # words of the claim figure's clause a rival passage figure must own
BIND_MARGIN = 1  # ... more than any passage figure of the claim's value owns


def _figures(text: str, carry: bool) -> list[tuple[list[Quantity], set[str]]]:
    return [fig for a, b in sentence_spans(text) for fig in figure_words(text[a:b], carry)]


def _holds(run: list[Quantity], q: Quantity) -> bool:
    return any(same_quantity(q, x) for x in run)


def _surface(stems: set[str], text: str, most: int = 4) -> str:
    """The words of text whose stems are given, in text order, each once, at most `most` of them."""
    out: list[str] = []
    for m in WORD.finditer(text):
        w = m.group(0)
        if stem(w.lower()) in stems and w.lower() not in (x.lower() for x in out):
            out.append(w)
    return " ".join(out[:most])


def misbound_figures(claim: str, passage: str, near: dict[str, set[str]] | None = None) -> list[str]:
    """For each claim figure (with a unit) the passage gives to other words: "2.8% for major complications, the
    passage gives 2.8% for resection not possible". near maps a claim stem to the passage stems that stand for it.
    Both texts canonical."""
    near = near or {}
    p_figs = _figures(passage, carry=True)
    c_figs = _figures(claim, carry=False)
    stated = [x for run, _w in c_figs for x in run]
    out: list[str] = []
    for run, words in c_figs:
        if not words:
            continue
        wanted = words | {s for w in words for s in near.get(w, ())}
        for q in run:
            if q.dim is None:
                continue
            own = [(len(wanted & w), w, r) for r, w in p_figs if _holds(r, q)]
            rivals = [(len(wanted & w), w, r) for r, w in p_figs
                      if not _holds(r, q) and any(x.dim == q.dim for x in r)
                      and not any(_holds(r, x) for x in stated)]
            if not own or not rivals:
                continue
            best_own = max(own, key=lambda t: t[0])
            best_rival = max(rivals, key=lambda t: t[0])
            if best_rival[0] >= max(BIND_MIN, best_own[0] + BIND_MARGIN):
                figure = describe_run(run)  # the claim's run as written: "70–150 μm", not "70"
                said = _surface(words & best_rival[1] or words, claim)
                given = _surface(best_own[1] - best_rival[1], passage)
                out.append(f"{figure} for '{said}'; the passage gives {describe_run(best_own[2])} for "
                           f"{repr(given) if given else 'other words'} and {describe_run(best_rival[2])} for '{said}'")
                break
    return list(dict.fromkeys(out))
