"""Hard rules of verification that look at the whole cited passage, not only at the quote that supports a claim:
they veto a claim that a quote seems to support but that the passage, read as a whole, contradicts.

- A neighbouring number: the claim's number sits in the passage, but in another statement; the passage's statement
  that uses the claim's own words around that number gives another number ("progressive disease: at least 30%"
  where the progressive-disease line says 20% and the partial-response line says 30%).
- A swapped direction: "high grade (1–2)" where the passage writes "low grade (1–2)".
"""

from __future__ import annotations

import re

from .quantities import Quantity, quantities, quantity_runs, same_quantity
from .text import BULLET, sentence_spans
from .verify_terms import FILLER, stem

NEIGHBOUR_MARGIN = 2  # a statement must share this many more of the number's words to count as the number's own
NEIGHBOUR_MIN = 3  # ... and at least this many
NEIGHBOUR_WINDOW = 6  # words each side of a claim's number that say what it counts
POLAR_REACH = 3  # words between a direction word and the number it qualifies ("high grade (1–2)")

_BREAK = re.compile(r"[,;:()]|\b(?:and|but|while|whereas|although|because)\b")
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+")
_STOP = frozenset("""a an and are as at be by for from in into is it its of on or than that the their this to was were
    with""".split())
# A direction word and its opposite, both ways: "low grade (1–2)" is not "high grade (1–2)".
_OPPOSITE_PAIRS = (("high", "low"), ("higher", "lower"), ("upper", "lower"), ("more", "less"), ("more", "fewer"),
                   ("major", "minor"), ("mild", "severe"), ("early", "late"), ("earlier", "later"),
                   ("benign", "malignant"), ("increase", "decrease"), ("increased", "decreased"), ("rise", "fall"),
                   ("before", "after"), ("left", "right"), ("maximum", "minimum"), ("first", "last"),
                   ("partial", "complete"), ("positive", "negative"), ("above", "below"), ("over", "under"),
                   ("longer", "shorter"), ("larger", "smaller"), ("greater", "smaller"))
_OPPOSITE: dict[str, set[str]] = {}
for _a, _b in _OPPOSITE_PAIRS:
    _OPPOSITE.setdefault(_a, set()).add(_b)
    _OPPOSITE.setdefault(_b, set()).add(_a)


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def _number(token: str) -> str | None:
    return f"{float(token):g}" if token[0].isdigit() else None


def _statements(passage: str) -> list[str]:
    """The passage's sentences, each list item with the lead-in of its list (what the item's numbers are about)."""
    out, lead = [], ""
    for a, b in sentence_spans(passage):
        sentence = passage[a:b]
        if BULLET.match(sentence):
            out.append(lead + " " + sentence)
        else:
            lead = sentence if sentence.rstrip().endswith(":") else ""
            out.append(sentence)
    return out


def _words_of(text: str) -> list[str]:
    return [stem(t) for t in _tokens(text) if not t[0].isdigit() and t not in _STOP and t not in FILLER and len(t) > 1]


def _claim_runs(claim: str) -> list[tuple[list[Quantity], set[str]]]:
    """Each run of numbers of the claim ("20%, 40% or 100%") with the stems of the words of its clause between it
    and the runs before and after it, at most NEIGHBOUR_WINDOW each side."""
    runs = quantity_runs(claim, carry=False)
    out = []
    for k, (a, b, found) in enumerate(runs):
        before = _BREAK.split(claim[runs[k - 1][1] if k else 0:a])[-1]
        after = _BREAK.split(claim[b:runs[k + 1][0] if k + 1 < len(runs) else len(claim)])[0]
        before, after = _words_of(before)[-NEIGHBOUR_WINDOW:], _words_of(after)[:NEIGHBOUR_WINDOW]
        out.append((found, set(before + after)))
    return out


def neighbouring_numbers(claim: str, passage: str) -> list[str]:
    """The claim's amounts that the passage states only in other statements than the one that shares the claim's
    words around them, where that one gives another amount of the same kind: "more than 80% of the functional
    liver mass" where the passage's line about the functional liver mass says 75% and a later sentence gives 80%
    for something else. Only amounts with a unit (a share, a time, a length ...): bare numbers are too often years,
    counts and references. Both texts canonical."""
    statements = [(quantities(text), set(_words_of(text))) for text in _statements(passage)]
    out = []
    for found, words in _claim_runs(claim):
        if not words:
            continue
        for q in found:
            if q.dim is None:
                continue
            with_q = [len(words & w) for qs, w in statements if any(same_quantity(q, x) for x in qs)]
            rival = [len(words & w) for qs, w in statements
                     if not any(same_quantity(q, x) for x in qs) and any(x.dim == q.dim for x in qs)]
            if with_q and rival and max(rival) >= max(NEIGHBOUR_MIN, max(with_q) + NEIGHBOUR_MARGIN):
                out.append(f"{q.raw:g}")
    return out


def swapped_directions(claim: str, passage: str) -> list[str]:
    """The claim's direction words ("high", "early", "major") right before a number that the passage qualifies by
    the opposite word only: "high grade (1–2)" from "low grade (1–2) and high grade (3–4)"."""
    p_tokens = _tokens(passage)
    qualifiers: dict[str, set[str]] = {}  # number -> direction words right before it in the passage
    for i, t in enumerate(p_tokens):
        if t[0].isdigit():
            qualifiers.setdefault(_number(t), set()).update(
                w for w in p_tokens[max(0, i - POLAR_REACH):i] if w in _OPPOSITE)
    c_tokens = _tokens(claim)
    out = []
    for i, t in enumerate(c_tokens):
        if t not in _OPPOSITE:
            continue
        after = [x for x in c_tokens[i + 1:i + 1 + POLAR_REACH] if x[0].isdigit()]
        if not after:
            continue
        found = qualifiers.get(_number(after[0]), set())
        if found & _OPPOSITE[t] and t not in found:
            out.append(f"{t} {after[0]}")
    return out


# Words that negate without "not": "breast biopsy is excluded" says "is not covered".
# ("failed" and "avoid" are left out: "whether the procedure succeeded or failed" negates nothing.)
NEGATIVE_WORDS = frozenset("""exclude excluded excludes excluding lack lacks lacking lacked absent omit omits omitted
    prohibit prohibited forbidden contraindicated unable unsuitable ineligible impossible unnecessary""".split())
_NEGATIVE_STEMS = frozenset(stem(w) for w in NEGATIVE_WORDS)
NEGATIVE_SHARE = 0.5  # share of the claim's words a passage sentence must hold to be the one the claim restates


def dropped_negative_words(claim_terms: set[str], claim_negated: bool, passage: str) -> list[str]:
    """The negating words ("excluded", "lacks", "contraindicated") of the passage sentence that the claim restates
    (the one holding most of its words, at least NEGATIVE_SHARE) that the claim leaves out while stating no negation
    of its own: "breast biopsy is covered" from "breast biopsy is excluded". Passage canonical."""
    if claim_negated or not claim_terms or claim_terms & _NEGATIVE_STEMS:
        return []
    scored = [(len(claim_terms & set(_words_of(s))), s) for s in _statements(passage)]
    top = max((n for n, _s in scored), default=0)
    if top < NEGATIVE_SHARE * len(claim_terms):
        return []
    return sorted({t for n, s in scored if n == top for t in _tokens(s) if t in NEGATIVE_WORDS})
