"""Alignment of a claim to the passage sentence it restates: which words each figure and each term of a sentence
belongs to, and which words narrow or negate it.

A sentence that gives two figures for two things ("40% for HLA, 14% for the other loci", "0.15% for RFA and 0.23%
for MWA", "glass 20–30 μm, resin 20–60 μm") holds both figures, so a claim that swaps them shows every number the
passage shows. Here each figure (a run of numbers with its unit: "20–30 μm" is one) owns the words of its clause,
in either direction ("for RFA" after it, "glass microspheres" before it, "women (20%)" before a bracket), and a
claim's figures must own the words the passage's same figures own: a claim whose two figures each own the other
figure's words in the passage sentence has swapped them. The same holds for terms exchanged between two clauses or
the two sides of a comparison. Also here: an added "only"/"always" the restated sentence does not license, words
that negate without "not", names of letters and digits a paraphrase must copy, and counts of a list the claim
writes itself.
"""

from __future__ import annotations

import re

from .quantities import Quantity, counted_items, quantity_runs, same_quantity
from .text import STOPWORDS, sentence_spans
from .verify_terms import FILLER, stem

SWAP_MIN = 2  # words a claim's figures must own of the other figure's passage words, beyond those of their own

# Where a clause ends: punctuation and the words that join two statements of one sentence.
_BREAK = re.compile(r"[,;:()]|\b(?:but|while|whereas|although|because|against|versus|vs|compared (?:with|to)|"
                    r"in comparison (?:with|to))\b", re.I)
# Inside one clause holding two figures, the word that separates them ("20–60 μm or resin ... 20–30 μm").
_JOIN = re.compile(r"\b(?:and|or|than|then)\b", re.I)
WORD = re.compile(r"[^\W\d_][\w-]*")
_WORD = WORD
_NOT_OWNED = frozenset("""respectively""".split())


def _owned_words(text: str) -> set[str]:
    return {stem(w.lower()) for w in _WORD.findall(text)
            if w.lower() not in STOPWORDS and w.lower() not in FILLER and w.lower() not in _NOT_OWNED
            and len(w) > 1}


def figure_words(sentence: str, carry: bool) -> list[tuple[list[Quantity], set[str]]]:
    """Each figure (run of numbers with its unit) of one canonical sentence with the stems of the words it owns:
    those of its clause, split at a joining word ("and", "or", "than") or else halfway when the clause holds two
    figures; a clause without a figure that ends in an opening bracket belongs to the figure in the brackets
    ("papillary (10–15%)")."""
    runs = quantity_runs(sentence, carry)
    if not runs:
        return []
    # clause boundaries outside the figures
    cuts = [0]
    for m in _BREAK.finditer(sentence):
        if not any(a <= m.start() < b for a, b, _q in runs):
            cuts.append(m.start())
    cuts.append(len(sentence))
    owned: list[set[str]] = [set() for _r in runs]
    for lo, hi in zip(cuts, cuts[1:], strict=False):
        inside = [k for k, (a, _b, _q) in enumerate(runs) if lo <= a < hi]
        if not inside:
            nxt = sentence[hi:hi + 1] == "(" and [k for k, (a, _b, _q) in enumerate(runs)
                                                  if hi < a and not sentence[hi + 1:a].strip()]
            if nxt:
                owned[nxt[0]] |= _owned_words(sentence[lo:hi])
            continue
        start = lo
        for j, k in enumerate(inside):
            if j + 1 < len(inside):
                gap_lo, gap_hi = runs[k][1], runs[inside[j + 1]][0]
                join = _JOIN.search(sentence, gap_lo, gap_hi)
                words = list(_WORD.finditer(sentence, gap_lo, gap_hi))
                end = join.start() if join else words[(len(words) + 1) // 2].start() if len(words) > 1 else gap_hi
            else:
                end = hi
            owned[k] |= _owned_words(sentence[start:runs[k][0]] + " " + sentence[runs[k][1]:end])
            start = end
    return [(q, w) for (_a, _b, q), w in zip(runs, owned, strict=True)]


def _matches(claim_q: list[Quantity], passage_q: list[Quantity]) -> bool:
    return bool(claim_q) and all(any(same_quantity(q, p) for p in passage_q) for q in claim_q)


def swapped_figures(claim: str, passage: str) -> list[str]:
    """The claim's figures that a sentence of the passage gives to each other's words: two claim figures each found
    in one figure of the same passage sentence, where the claim's words around each are the words the passage gives
    to the other ("0.23% for RFA and 0.15% for MWA" from "0.15% for RFA and 0.23% for MWA"). Both texts canonical."""
    c_figs = [(q, w) for a, b in sentence_spans(claim) for q, w in figure_words(claim[a:b], carry=False)]
    c_figs = [(q, w) for q, w in c_figs if w and any(x.dim is not None or x.raw not in (0.0,) for x in q)]
    if len(c_figs) < 2:
        return []
    out: list[str] = []
    for a, b in sentence_spans(passage):
        p_figs = figure_words(passage[a:b], carry=False)
        for i in range(len(c_figs)):
            for j in range(i + 1, len(c_figs)):
                (qi, ci), (qj, cj) = c_figs[i], c_figs[j]
                pi = [k for k, (q, _w) in enumerate(p_figs) if _matches(qi, q)]
                pj = [k for k, (q, _w) in enumerate(p_figs) if _matches(qj, q)]
                if len(pi) != 1 or len(pj) != 1 or pi == pj:
                    continue
                wi, wj = p_figs[pi[0]][1], p_figs[pj[0]][1]
                di, dj = wi - wj, wj - wi
                agree = len(ci & di) + len(cj & dj)
                crossed = len(ci & dj) + len(cj & di)
                if crossed >= agree + SWAP_MIN and len(ci & dj) > len(ci & di) and len(cj & di) > len(cj & dj):
                    out += [describe_run(qi), describe_run(qj)]
    return list(dict.fromkeys(out))


def describe_run(found: list[Quantity]) -> str:
    unit = {"share": "%", "length": "", "time": "", "months": ""}.get(found[0].dim or "", "")
    return "–".join(f"{q.raw:g}" for q in found) + unit


# "only" narrows a statement; a passage that states it without narrowing words does not support it. A paraphrase may
# write "only" for a negation ("should be used only within trials" for "not outside trials", "only once ... has
# confirmed" for "not unless"), so the restated sentence's negations and narrowing words license it.
# "only 43.9% review ..." weighs a figure rather than narrowing a statement
_RESTRICTIVE = re.compile(r"\b(?:only|solely|exclusively|always)\b(?!\s+(?:\d|a\b|an\b|one\b|about\b|some\b|around\b|"
                          r"approximately\b|few\b|minority\b|small\b))", re.I)
_LICENSE = {
    "only": re.compile(r"\b(?:only|solely|exclusively|sole|alone|just|merely|purely|not|no|none|never|cannot|unless|"
                       r"except|excepting|outside|without|restricted|restrict|restricts|limited|limit|limits|reserved|"
                       r"confined|n't|nor|neither|until|if|lack|lacks|absent)\b|n't\b", re.I),
    # "should always be avoided" for "should not be used"
    "always": re.compile(r"\b(?:always|all|every|each|any|invariably|routinely|universally|whenever|never|must|not|"
                         r"no|cannot)\b|n't\b", re.I),
}
_SAME_AS = {"solely": "only", "exclusively": "only"}
_LITERAL = {"only": re.compile(r"\b(?:only|solely|exclusively|sole|alone|just|merely|purely)\b", re.I),
            "always": re.compile(r"\b(?:always|invariably|without exception)\b", re.I)}
RESTATE_SHARE = 0.5  # share of the claim's words a passage sentence must hold to be the one the claim restates


def added_qualifiers(claim_terms: set[str], claim: str, passage: str) -> list[str]:
    """The narrowing words ("only", "solely", "exclusively", "always") of the claim that the passage sentence it
    restates (the one holding most of its words, at least RESTATE_SHARE) neither writes nor licenses with a negation
    or a narrowing word of its own: "should be performed only in patients with bleeding" from "in any patient with
    pain, fever, ... bleeding or weight loss". Both texts canonical."""
    found = [m.group(0).lower() for m in _RESTRICTIVE.finditer(claim)]
    if not found or not claim_terms:
        return []
    scored = [(len(claim_terms & _owned_words(passage[a:b])), passage[a:b]) for a, b in sentence_spans(passage)]
    top = max((n for n, _s in scored), default=0)
    if top < RESTATE_SHARE * len(claim_terms):
        return []
    restated = [s for n, s in scored if n == top]
    out = []
    for word in dict.fromkeys(found):
        # a claim merging two sentences may take its "only" from the other one
        if any(len(claim_terms & _owned_words(s)) >= 2 and re.search(rf"\b{word}\b", s, re.I) for _n, s in scored):
            continue
        licence = _LICENSE[_SAME_AS.get(word, word)]
        # "should not be diagnosed only once ... confirmed" negates twice: a negation no longer licenses "only"
        if re.search(rf"(?:\b(?:not|never|cannot)|n't)\s+(?:\w+\s+){{0,3}}{word}\b", claim, re.I):
            licence = _LITERAL[_SAME_AS.get(word, word)]
        if not any(licence.search(s) for s in restated):
            out.append(word)
    return out


# Words that negate in other words: "used only within trials" says "not used outside trials", "lacks DQ8" says "does
# not carry DQ8", "only once ... has confirmed" says "not unless ... has confirmed".
_REWORDED_NEGATION = re.compile(r"\b(?:only|solely|exclusively|unless|except|lacks?|lacking|lacked|absent|avoid|avoids|"
                                r"avoided|free of|instead of)\b", re.I)


# "unreliable", "unsuitable", "inappropriate", "insufficient": a negation inside the word
_NEGATIVE_PREFIX = re.compile(r"\b(?:un(?!der|til|it|iform|ion|ique|iversal|ilateral|ivariate|less)[a-z]{4,}|"
                              r"in(?:appropriate|sufficient|adequate|effective|correct|complete|eligible|operable|"
                              r"accurate|consistent|conclusive))\b", re.I)


def negative_prefix(clause: str) -> bool:
    """The clause holds a word negated by its prefix ("unreliable", "insufficient")."""
    return _NEGATIVE_PREFIX.search(clause) is not None


def reworded_negation(clause: str) -> bool:
    """The clause negates in other words than "not" (see _REWORDED_NEGATION): it may restate a negated passage part
    with the same polarity. (A word negated by its prefix does not count here: "questions left unanswered" restates
    what it negates.)"""
    return _REWORDED_NEGATION.search(clause) is not None


# Where a sentence joins two statements, or the two sides of a comparison ("twice as often as", "than", "versus").
_SIDES = re.compile(r"[;:]|,\s*(?:and|but|so|while|whereas|which|although|or)\b|\b(?:but|while|whereas|although|"
                    r"than(?!\s+(?:an?\s+|about\s+)?\d)|versus|vs|against|compared (?:with|to)|"
                    r"in comparison (?:with|to))\b|"
                    r"(?<=\bas)\s+(?=\w+\s+as\b)|\bas\b(?=\s+(?:the|in|for|among|with)?\s*\w+\s*$)", re.I)
_SAME_WORD = {"male": "men", "males": "men", "man": "men", "female": "women", "females": "women", "woman": "women"}
SIDE_MATCH = 0.5  # share of a claim clause's words the passage clause it restates must hold


def _side_words(text: str) -> set[str]:
    return {_SAME_WORD.get(w, w) for w in _owned_words(text)} | {
        stem(_SAME_WORD[w.lower()]) for w in _WORD.findall(text) if w.lower() in _SAME_WORD}


def swapped_terms(claim: str, passage: str) -> list[str]:
    """Terms the claim exchanges between two clauses (or two sides of a comparison) of one passage sentence: the
    claim clause that restates a passage clause holds a term of another clause of that sentence instead of a term
    the passage clause holds, and another claim clause holds that term ("does not rule out RFA ..., whereas MWA
    needs a check" from "is no contraindication to MWA ..., but RFA needs a check"; "women twice as often as men"
    from "male patients twice as often as female patients"). Both texts canonical."""
    c_sides = [_side_words(p) for p in _SIDES.split(claim) if p and p.strip()]
    if len(c_sides) < 2:
        return []
    out: list[str] = []
    for a, b in sentence_spans(passage):
        p_sides = [_side_words(p) for p in _SIDES.split(passage[a:b]) if p and p.strip()]
        if len(p_sides) < 2:
            continue
        restates: dict[int, int] = {}  # claim clause -> the passage clause it restates, where one clearly is
        for i, c in enumerate(c_sides):
            scored = sorted(((len(c & p), k) for k, p in enumerate(p_sides)), reverse=True)
            if scored[0][0] >= max(2, SIDE_MATCH * len(c)) and scored[1][0] < scored[0][0]:
                restates[i] = scored[0][1]
        if len(c_sides) == len(p_sides) == 2 and len(restates) == 1:
            # two clauses each: the other claim clause restates the other passage clause, if it shares two words
            (i, k), = restates.items()
            if len(c_sides[1 - i] & p_sides[1 - k]) >= 2:
                restates[1 - i] = 1 - k
        for i, k in restates.items():
            for j, k2 in restates.items():
                if j <= i or k2 == k:
                    continue
                out += sorted(_exchanged(c_sides[i], c_sides[j], p_sides[k], p_sides[k2]))
    return list(dict.fromkeys(out))


def _exchanged(c0: set[str], c1: set[str], p0: set[str], p1: set[str]) -> set[str]:
    """The terms a claim exchanged between two sides: words of passage side p1 in claim side c0 and words of p0 in
    c1 (each not also on its own side); empty unless both directions hold one."""
    there, back = (c0 & p1) - p0 - c1, (c1 & p0) - p1 - c0
    return there | back if there and back else set()


# "more than 10 times" bounds a number: no comparison of two things
_COMPARISON = re.compile(r"\b(?:than(?!\s+(?:an?\s+|about\s+)?\d)|versus|vs|compared (?:with|to))\b|"
                         r"\bas\s+(?:[\w-]+\s+){1,4}?(as)\b", re.I)


def _comparison_sides(text: str) -> list[str]:
    """The two sides of the first comparison of a sentence, split at "than", "versus", "compared with" or the second
    "as" of "as often ... as"; [text] without one."""
    m = _COMPARISON.search(text)
    if m is None:
        return [text]
    cut = m.start(1) if m.group(1) else m.start()
    return [text[:cut], text[cut:]]


_COMPARATIVE = re.compile(r"\b(?:more|less|fewer|higher|lower|greater|smaller|larger|bigger|longer|shorter|older|"
                          r"younger|better|worse|twice|half|thrice|times|often|frequent|frequently|common|commonly|"
                          r"likely|rare|rarely)\b", re.I)


_DOWN = frozenset("less fewer lower smaller shorter younger worse half rare rarely".split())


def _direction(text: str) -> bool | None:
    """Whether the first comparative word of text says more (True) or less (False); None without one."""
    found = _COMPARATIVE.search(text)
    return None if found is None else found.group(0).lower() not in _DOWN


def swapped_sides(claim: str, passage: str) -> list[str]:
    """Terms the claim moves to the other side of the same comparison: "affects women twice as often as men" from
    "men are affected twice as often as women", "more frequent with smaller beads than with larger ones" from "more
    frequent with larger beads than with smaller beads". Only where the claim sentence and the passage sentence
    make a comparison in the same direction (by its first comparative word) and share at least half the claim's
    words. Both canonical."""
    out: list[str] = []
    for a, b in sentence_spans(claim):
        c_text = claim[a:b]
        c_parts = _comparison_sides(c_text)
        if len(c_parts) != 2:
            continue
        c_cmp = _direction(c_text)
        if c_cmp is None:
            continue
        c_words = _side_words(c_text)
        c0, c1 = (_side_words(p) for p in c_parts)
        for x, y in sentence_spans(passage):
            p_text = passage[x:y]
            p_parts = _comparison_sides(p_text)
            if len(p_parts) != 2 or _direction(p_text) != c_cmp \
                    or len(c_words & _side_words(p_text)) < SIDE_MATCH * len(c_words):
                continue
            out += sorted(_exchanged(c0, c1, *(_side_words(p) for p in p_parts)))
    return list(dict.fromkeys(out))


_APPOSITION = re.compile(r"(?:such as|for example|for instance|e\.g\.|especially|particularly|including|mainly|"
                         r"where possible|if possible|if needed|when needed)\b", re.I)


def _items(items: str) -> list[str]:
    """The items of a list written in prose, one way only: at ";" when it has them, else at commas, the last part
    split at its last "and"/"or" ("a, b, c and d"; "a, b, and c")."""
    parts: list[str] = []
    for part in (p.strip() for p in re.split(";" if ";" in items else ",", items) if p.strip()):
        if parts and re.search(r"\s(?:and|or)$", parts[-1]):
            parts[-1] += " " + part  # "relieving pain and, where possible, restoring height"
        elif not _APPOSITION.match(part):  # "such as a department", "especially from colorectal cancer"
            parts.append(part)
    if not parts:
        return []
    last = re.match(r"(?:and|or)\s+(.*)$", parts[-1], re.I)
    if last:
        parts[-1] = last.group(1)
    elif len(parts) > 1 or ";" not in items:
        pair = re.match(r"(.*\S)\s+(?:and|or)\s+(\S.*)$", parts[-1])
        if pair:
            parts[-1:] = [pair.group(1), pair.group(2)]
    return parts


def listed_counts(claim: str, passage_terms: set[str]) -> set[float]:
    """The claim's counts of the items it lists itself ("six features call for imaging: pain, fever, ... and weight
    loss") where every item has a word of the passage: the count follows from the list, which the passage holds in
    prose (a bulleted list is counted by verify_quotes.list_sizes). The list is split one way only (_items), so a
    changed count ("four aims: a, b, and c or d") no longer counts its items."""
    out = set()
    for n, text in counted_items(claim).items():
        items = _items(text)
        if len(items) == n and all(_owned_words(item) & passage_terms for item in items):
            out.add(n)
    return out


# A name made of letters and digits ("IgA-TG2", "HLA-DQ8", "CD3", "EC41/2009"): a test, gene, marker or act that a
# paraphrase copies, never rewords.
_IDENTIFIER = re.compile(r"(?<![\w-])(?=[\w/.-]*\d)(?=[\w/.-]*[A-Z])[A-Za-z][\w/.-]*[A-Za-z0-9](?![\w-])")


def _squeezed(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def unknown_identifiers(claim: str, passage: str) -> list[str]:
    """The claim's names of letters and digits that the passage does not write, hyphens and case aside: "IgG-TG2"
    where the passage names IgA-TG2 and IgG-DGP."""
    known = _squeezed(passage)
    return list(dict.fromkeys(x for x in _IDENTIFIER.findall(claim) if _squeezed(x) not in known))
