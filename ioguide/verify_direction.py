"""A direction reversed: the claim restates a passage sentence with the opposite direction word ("longer survival"
for "shorter survival", "more cases with liraglutide than with placebo" for "fewer cases", "a negative correlation"
for "a positive correlation"), although every other word is the passage's."""

from __future__ import annotations

import re

from .text import sentence_spans
from .verify_negation import NEGATION
from .verify_terms import claim_terms

# Antonym pairs: each side a set of words of one direction. A claim word of one side, where the sentence it
# restates holds only words of the other side, reverses the sentence.
OPPOSITES: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(a.split()), frozenset(b.split())) for a, b in (
        ("higher high greater increased increase increases increasing raised elevated rise rises rose",
         "lower low decreased decrease decreases decreasing reduced reduce reduces reduction fell fall falls "
         "declined decline declines"),
        ("more most", "less fewer least fewest"),
        ("many", "few"),
        ("longer long", "shorter short"),
        ("larger large bigger big", "smaller small"),
        ("positive positively", "negative negatively"),
        ("strong strongly stronger", "weak weakly weaker"),
        ("before earlier prior", "after later"),
        ("above", "below"),
        ("better improved improve improves", "worse worsened poorer"),
        ("well", "poorly"),
        ("overrepresented over-represented", "underrepresented under-represented"),
    ))
DIRECTION_WORDS = frozenset().union(*(a | b for a, b in OPPOSITES))
RESTATE_SHARE = 0.6  # share of the claim's other content words the passage sentence must hold to be the one restated
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)?")
# The two sides of a comparison: a claim may name them in the other order with the opposite word ("leucopenia was
# less common than leucocytosis" for "leucocytosis was more common than leucopenia").
_EVENT_ORDER = frozenset(("before", "after", "earlier", "later", "prior"))  # "A after B" says "B before A"
_COMPARISON = re.compile(r"\b(?:than|vs|versus|compared|whereas|while)\b", re.I)


# "as well as" is no "well", "at least 3" no "least": bounds are judged with the numbers
_SET_PHRASES = re.compile(r"\b(?:as well as|at least|at most|at the latest|at the earliest)\b", re.I)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(_SET_PHRASES.sub(" ", text))]


def _sides_swapped(claim: str, sentence: str, c_word: str, s_word: str) -> bool:
    """The claim names the sides of the comparison (or the two events: "launched after the group had tested it" for
    "tested it before it was launched") in the other order: its words before its direction word are more the
    sentence's words after the sentence's direction word than before it."""
    if c_word not in _EVENT_ORDER and not (_COMPARISON.search(claim) and _COMPARISON.search(sentence)):
        return False
    c_words, s_words = _words(claim), _words(sentence)
    i, j = c_words.index(c_word), s_words.index(s_word)
    before = claim_terms(" ".join(c_words[:i]))
    return len(before & claim_terms(" ".join(s_words[j + 1:]))) > len(before & claim_terms(" ".join(s_words[:j])))


def reversed_directions(claim: str, passage: str) -> list[tuple[str, str]]:
    """(claim word, passage word) for each direction the claim reverses: the passage sentence that holds most of
    the claim's other words (at least RESTATE_SHARE) has only the opposite of a direction word of the claim. A claim
    or sentence with a negation is not judged ("did not rise" may say "fell"), nor a comparison whose sides the claim
    names in the other order. Both texts canonical."""
    if NEGATION.search(claim):
        return []
    c_words = _words(claim)
    c_set = set(c_words)
    if not c_set & DIRECTION_WORDS:
        return []
    core = claim_terms(" ".join(w for w in c_words if w not in DIRECTION_WORDS))
    if len(core) < 2:
        return []
    scored = []
    for a, b in sentence_spans(passage):
        shared = len(core & claim_terms(passage[a:b]))
        scored.append((shared, passage[a:b]))
    top = max(n for n, _s in scored)
    best = [s for n, s in scored if n == top]
    if top < RESTATE_SHARE * len(core) or len(best) > 1 or NEGATION.search(best[0]):
        return []
    sentence = best[0]
    s_set = set(_words(sentence))
    out = []
    for up, down in OPPOSITES:
        for mine, other in ((up, down), (down, up)):
            c_dir, s_dir = c_set & mine, s_set & other
            if c_dir and s_dir and not c_set & other and not s_set & mine:
                c_word, s_word = sorted(c_dir)[0], sorted(s_dir)[0]
                if not _sides_swapped(claim, sentence, c_word, s_word):
                    out.append((c_word, s_word))
    return out
