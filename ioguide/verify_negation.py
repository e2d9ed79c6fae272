"""Negations as verification reads them: what each negation of a sentence negates (the words after it, and the
words before it in its clause), and when a claim's negation negates what a quote's negation negates."""

from __future__ import annotations

import re

from .quantities import UNITS
from .text import content_terms
from .verify_terms import FILLER, stem

# "no"/"not" before a comparative ("no thicker than 3 mm", "not more than") states a bound, judged with the
# numbers (quantities.comparators), not a negation; "rather than" negates what follows it.
# "not only A but also B", "with or without", "whether or not" negate nothing; nor does a group named "no-statin".
NEGATION = re.compile(r"(?<!\bwith or )(?<!\bwhether or )"
                       r"\b(not|no(?!-)|never|none|cannot|without|neither|nor|rather than)\b"
                       r"(?!\s+\w+er\s+than\b|\s+(?:more|less|fewer)\s+than\b|\s+only\b)|(n't)\b", re.I)
STRONG_NEGATION = {"not", "n't", "cannot", "never"}


def negation_scopes(text: str) -> list[set[str]]:
    """For each negation of text, the stems of the (up to two) content words after it in its clause, and of those
    after an "or" that continues it ("not clinical guidelines or systematic reviews"); a negated number ("is not 48
    hours") has that number as its scope."""
    out = []
    for m in NEGATION.finditer(text):
        parts = re.split(r"([.;:,()]|\b(?:and|or|but|while|whereas|although)\b)", text[m.end():], maxsplit=2)
        number = re.match(r"\s*(\d+(?:\.\d+)?)", parts[0])
        if number:
            out.append({f"#{float(number.group(1)):g}"})
            continue
        # "without" heads a phrase: in "without the disease do not carry" its scope is the disease, not carrying
        words = scope_words(parts[0])[:1 if m.group(0).lower() == "without" else 2]
        if len(parts) > 2 and parts[1] == "or":
            words += scope_words(parts[2])
        out.append({stem(t) for t in words})
    return out


def scope_words(clause: str) -> list[str]:
    return [t for t in content_terms(clause) if t not in FILLER and not t[0].isdigit() and t not in UNITS][:2]


def negation_before(text: str) -> list[set[str]]:
    """For each negation of text, the stems of the (up to two) content words before it in its clause."""
    out = []
    for m in NEGATION.finditer(text):
        clause = re.split(r"[.;:,()]|\b(?:and|or|but|while|whereas|although|because|that|which)\b", text[:m.start()])
        out.append({stem(t) for t in scope_words(" ".join(clause[-1].split()[::-1]))})
    return out


def negation_pairs(c_after: list[set[str]], q_after: list[set[str]], q_before: list[set[str]]
                   ) -> tuple[list[bool], set[int]]:
    """Which claim negations negate what a quote negation negates, and which quote negations the claim's answer:
    first by the words after both; then a claim negation left over answers a quote negation left over when the
    words after the claim's meet the words before the quote's ("no further TACE should be performed" for "further TACE
    should not be performed"). The words before both alone never pair them ("support should not be a
    conversation" is not "support should not be a monologue"), nor does a claim negation answer two quote
    negations ("without the disease ... carry" does not answer "without the disease do not carry")."""
    direct = [{j for j, q in enumerate(q_after) if c & q} for c in c_after]
    taken: set[int] = set().union(*direct) if direct else set()
    paired = [bool(d) for d in direct]
    covered = set(taken)
    for i, c in enumerate(c_after):
        if paired[i]:
            continue
        cross = [j for j in range(len(q_after)) if j not in covered and c & q_before[j]]
        if cross:
            paired[i] = True
            covered.add(cross[0])
    return paired, covered
