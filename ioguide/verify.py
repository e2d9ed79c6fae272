"""Verification of an LLM's answer: split it into claims (sentences with [n] markers) and keep a claim only when
the passage it cites supports it.

A sentence survives only if it ends with [n] markers that point to passages it was given, adds no negation and
few terms the cited passage lacks (everyday words are framing), and the passage holds a quote (one to three
adjacent sentences, a whole bulleted list, or one quote per clause of the sentence) that supports it by embedding
similarity and shared terms and shows every number it states; vetoes read over the whole passage
(ioguide.verify_vetoes) remove a number the passage gives to other words and a swapped direction word. Passages
and questions are data to the LLM; whatever they make it write still has to pass verification.

Known limit: a sentence that recombines a passage's own words and numbers into a wrong statement ("sequelae are
grade 2" from a passage that names grade 2 and sequelae in different sentences) can pass; verification checks
support, not logic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .quantities import (
    conflicting_ranges,
    describe,
    list_counts,
    missing_quantities,
    quantities,
)
from .text import BULLET, STOPWORDS, content_terms, sentence_spans
from .types import Hit
from .verify_align import (
    added_qualifiers,
    listed_counts,
    negative_prefix,
    reworded_negation,
    swapped_figures,
    swapped_sides,
    swapped_terms,
    unknown_identifiers,
)
from .verify_bind import misbound_figures
from .verify_bounds import missing_bounds
from .verify_direction import reversed_directions
from .verify_negation import NEGATION as _NEGATION
from .verify_negation import STRONG_NEGATION as _STRONG_NEGATION
from .verify_negation import negation_before, negation_pairs, negation_scopes
from .verify_quotes import WordVectors, coverage, list_sizes, near_terms, quote_spans
from .verify_terms import FILLER as _FILLER
from .verify_terms import STANDARD_ABBREVIATIONS, abbreviations
from .verify_terms import canonical as _canonical
from .verify_terms import claim_terms as _claim_terms
from .verify_terms import framing as _framing
from .verify_terms import stem as _stem
from .verify_terms import terms as _terms
from .verify_terms import words as _words
from .verify_vetoes import NEGATIVE_WORDS, dropped_negative_words, neighbouring_numbers, swapped_directions

# Verification thresholds, calibrated on the bundled corpus with MiniLM vectors of bare sentences (tests/test_llm.py
# holds the cases): paraphrases of a passage sentence score >= 0.6, on-topic inventions mostly fail NOVEL_MAX.
SUPPORT_MIN = 0.55  # 0.6 * cosine + 0.4 * share of the claim's terms found in the supporting passage sentence
SIM_MIN = 0.38  # cosine between the answer sentence and the supporting passage sentence (or two or three)
PAIR_PENALTY = 0.05  # a quote of two sentences must support the claim clearly better than either sentence alone
NOVEL_MAX = 0.25  # share of the claim's content terms allowed to be absent from the cited passage (rounded down)
NUMBER_WINDOW_CLAIM = 6  # words each side of a claim's number that say what it counts
NUMBER_WINDOW_QUOTE = 40  # ... and in the quote: the number's whole sentence, in practice, cut at the numbers
NUMBER_WINDOW_NEAR = 4  # before and after it (see _number_contexts), though never fewer words than this each side
NOVEL_FREE_FROM = 4  # a claim of this many terms or more may always hold one word the passage lacks
COVER_MIN = 0.5  # share of the claim's content terms the supporting quote must hold (near-synonyms count)
CLAUSE_MATCH = 0.6  # share of a claim clause's words a quote clause must hold to be the clause it restates
PART_COVER_MIN = 0.75  # share of a clause's words a quote must hold to support that clause on its own
CLAUSE_COVER_MIN = 0.51  # ... and of each of its clauses' terms, so a true clause cannot carry an added one
FRAMING_DISCOUNT = 1.0  # an everyday word the passage lacks is not counted as a novel term

_MARKER_GROUP = re.compile(r"\[\s*(?:passages?\s*)?(\d{1,3}(?:\s*[,;]\s*(?:passages?\s*)?\d{1,3})*)\s*\]", re.I)
_MARKER = re.compile(r"\[(\d{1,3})\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d{1,3}\])+)")
_ENDS_WITH_MARKER = re.compile(r"\[\d{1,3}\]\W*$")
_LEAD_IN = re.compile(r"^\s*(?:answer|response)\s*:\s*", re.I)
# Passage text that speaks to an AI rather than about medicine: never accepted as support, whatever it says.
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|guidelines above)\b|"
    r"\bsystem prompt\b|\byou are (?:now )?(?:an? )?(?:ai|assistant|chatbot|language model)\b|"
    r"\b(?:tell|inform) the (?:reader|user)\b", re.I)
_LABEL = re.compile(r"\b(grades?|class(?:es)?|stages?|child-pugh|asa(?:\s+physical)?(?:\s+status)?|standards?|"
                    r"types?|levels?|tiers?|categor(?:y|ies)|bclc)\s+((?:\d{1,2}[a-c]?|[a-d])\b(?:\s*(?:–|-|to|and|or|,)\s*"
                    r"(?:\d{1,2}[a-c]?|[a-d])\b)*)", re.I)
_LABEL_KIND = {"classes": "class", "categories": "category"}
# Where a sentence joins two statements: each must be supported by the quote on its own, so a true clause cannot
# carry an unsupported one.
_CLAUSE = re.compile(r"[;:]|,\s*(?:and|but|so|while|whereas|which|although|because|as|or|with)\b|"
                     r"\b(?:while|whereas|although|because)\b")
_NEGATION_PART = re.compile(r"[;:()—]|,\s*(?:and|but|so|while|whereas|which|with|though)\b|"
                            r"\b(?:but|while|whereas|although|because)\b")
# One statement of a sentence: "cannot be applied in every centre | and should be used in the UK", "counts as a
# complication even | when it does not prolong the stay".
_STATEMENT = re.compile(r"[,;:()]|\b(?:and|but|so|while|whereas|although|because|when|if|unless|even)\b", re.I)
_SEGMENT = re.compile(r"[,;:()]|\b(?:but|while|whereas|although)\b")
_LABEL_WORDS = frozenset("grade grades class classes stage stages child pugh asa standard standards type types "
                         "level levels tier tiers category categories bclc".split())
_SUBGRADE = re.compile(r"\b(\d{1,2}[ab])\b")
def _labels(text: str, expand: bool = True) -> set[str]:
    """Grade, class, stage and similar labels of canonical text: "Child-Pugh A–B" -> child-pugh a, child-pugh b;
    "3a" -> 3a; a range is kept as one label ("grade 1-3") and, with expand (what a passage states), also as its
    members, so a claim's "grade 2" is found in "grades 1 to 3" but its "grades 3 to 6" is not."""
    out: set[str] = set()
    for m in _LABEL.finditer(text):
        kind = "asa" if m.group(1).lower().startswith("asa") else m.group(1).lower()  # "ASA physical status 2"
        kind = _LABEL_KIND.get(kind, kind[:-1] if kind.endswith("s") and kind != "class" else kind)
        ranges = re.findall(r"\b(\d{1,2}|[a-d])\s*(?:to|–|-)\s*(\d{1,2}|[a-d])\b", m.group(2).lower())
        bounds = {x for r in ranges for x in r}
        ids = [i for i in re.findall(r"\b(?:\d{1,2}[a-c]?|[a-d])\b", m.group(2), re.I) if expand or i not in bounds]
        for a, b in ranges:
            ids.append(f"{a}-{b}")
            if expand and a.isdigit() and b.isdigit() and int(a) < int(b) <= int(a) + 10:
                ids += [str(i) for i in range(int(a), int(b) + 1)]
        out.update(f"{kind} {i.lower()}" for i in ids)
    out.update(f"sub {m.lower()}" for m in _SUBGRADE.findall(text))
    return out


_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+")
_NO_GROUP = re.compile(r"\bno-([^\W\d_]+)", re.I)


_LEAD_LABEL = re.compile(r"\s*\(\s*(" + _LABEL.pattern + r")\s*\)[\s.;,]*", re.I)


def _label_segments(text: str) -> list[tuple[set[str], set[str]]]:
    """(labels, stems) for each label of canonical text with the words it owns: those of its sentence from the end
    of the label before it to the start of the label after it. In "grade 4 mild sequelae, grade 5 severe sequelae"
    grade 4 owns "mild" and grade 5 "severe"."""
    out = []
    tail = ""  # the previous sentence's words after its last label
    for a, b in sentence_spans(text):
        sentence = text[a:b]
        # "... a bulb biopsy. (Grade C) ▸ In negative patients ...": a grade in brackets that opens a sentence is
        # the previous sentence's, written after its full stop
        lead = _LEAD_LABEL.match(sentence)
        if lead:
            out.append((_labels(lead.group(1)), _terms(tail) - _LABEL_WORDS))
            sentence = sentence[lead.end():]
        found = list(_LABEL.finditer(sentence))
        tail = sentence[found[-1].end():] if found else sentence
        for i, m in enumerate(found):
            lo = found[i - 1].end() if i else 0
            hi = found[i + 1].start() if i + 1 < len(found) else len(sentence)
            # a label in brackets at the end of its words ("... a bulb biopsy (Grade C) ▸ ...") owns those words,
            # not the ones after it
            if sentence[:m.start()].rstrip().endswith("(") and sentence[m.end():].lstrip().startswith(")"):
                hi = m.end()
            words = _terms(sentence[lo:m.start()] + " " + sentence[m.end():hi]) - _LABEL_WORDS
            out.append((_labels(m.group(0)), words))
    return out


def _swapped_labels(claim: str, passage: str) -> list[str]:
    """The claim's labels that the passage gives to something else: the passage label whose own words best match
    the claim label's own words is another label of the same kind ("... needs no extra treatment is grade 3" where
    the passage's sentence with those words says grade 2, though its next sentence names grade 3)."""
    segments = _label_segments(passage)
    claimed = _labels(claim)
    out = []
    for labels, words in _label_segments(claim):
        for label in labels:
            kind = label.split(" ")[0]
            scored = [(len(words & w), ls) for ls, w in segments if any(x.split(" ")[0] == kind for x in ls)]
            if not scored or not words:
                continue
            top = max(n for n, _ls in scored)
            best = set().union(*(ls for n, ls in scored if n == top))
            # "grade 3" is found in "grade 3a"; a best match naming another label of the claim is ambiguous ("the
            # cut-off between grade 2 and grade 3"), not a swap
            if top >= min(2, len(words)) and not any(x == label or x.startswith(label) and x[-1].isalpha()
                                                     or x in claimed for x in best):
                out.append(label)
    return sorted(set(out))


def _number_contexts(text: str, window: int, bounded: bool = False) -> list[tuple[str, set[str]]]:
    """For each number of canonical text, the stems of the content words within window words of it in its own
    sentence; label words ("grade", "class") do not count, so "grade 2" is bound by what the grade is. With bounded
    (a passage's quote), only the words between the number's run ("1, 3 and 6 months" is one run) and the runs
    before and after it: in "clear cell (80–90%), papillary (10–15%) and chromophobe (4–5%)", 4 is about
    chromophobe, not clear cell."""
    out: list[tuple[str, set[str]]] = []
    for a, b in sentence_spans(text):
        tokens = [t.lower() for t in _TOKEN.findall(text[a:b])]
        tokens = [t for t in tokens if t[0].isdigit() or (t not in STOPWORDS and t not in _FILLER
                                                          and t not in _LABEL_WORDS)]
        digits = [i for i, t in enumerate(tokens) if t[0].isdigit()]
        runs: list[list[int]] = []
        for i in digits:
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        for r, run in enumerate(runs):
            lo = runs[r - 1][-1] + 1 if bounded and r else 0
            hi = runs[r + 1][0] if bounded and r + 1 < len(runs) else len(tokens)
            for i in run:
                near = tokens[max(lo, i - window):i] + tokens[i + 1:min(hi, i + 1 + window)]
                if bounded:
                    near += tokens[max(0, i - NUMBER_WINDOW_NEAR):i] + tokens[i + 1:i + 1 + NUMBER_WINDOW_NEAR]
                words = {_stem(w) for w in near if not w[0].isdigit()}
                out.append((f"{float(tokens[i]):g}", words))
    return out


def _numbers_bound(claim: str, quote: str, exempt: frozenset[float] = frozenset(),
                   defined: dict[str, set[str]] | None = None) -> bool:
    """Each number of the claim is about what the quote's same number is about: the claim's words next to it
    (NUMBER_WINDOW_CLAIM each side) share a word with the quote's words near that number in its sentence. Stops
    "fell from 24% to 10%" from passing on a quote where 10% is another figure, and "grade 2 meant X" on a quote
    where X is grade 1. Each occurrence in the claim is judged on its own: "four major subtypes ... (4–5%)" does
    not borrow the words of its second 4."""
    q_ctx: dict[str, set[str]] = {}
    for number, words in _number_contexts(quote, NUMBER_WINDOW_QUOTE, bounded=True):
        q_ctx.setdefault(number, set()).update(words)
        q_ctx[number].update(t for abbr in words & (defined or {}).keys() for t in (defined or {})[abbr])
        q_ctx[number].update(abbr for abbr, long_form in (defined or {}).items() if long_form <= words)
    # a label's number ("standard 1", "grade 2") is bound to its words by _swapped_labels, over the whole passage
    labelled = {f"{float(n):g}" for m in _LABEL.finditer(claim) for n in re.findall(r"\d+", m.group(2))}
    for number, words in _number_contexts(claim, NUMBER_WINDOW_CLAIM):
        if float(number) not in exempt and number not in labelled and words and number in q_ctx \
                and not words & q_ctx[number]:
            return False
    return True


def _drops_negation(claim: str, claim_terms: set[str], passage: str) -> bool:
    """The passage negates something ("does not impair renal function") that the claim states without a negation
    ("does impair renal function"): a strong negation whose two scope words both appear in the claim, with no
    claim negation on them, nor a statement of the claim holding them that negates at all ("did not find higher overall
    mortality in patients whose biopsy still showed" for "did not show that overall mortality was increased";
    "some kits are unreliable" for "not all kits are reliable")."""
    c_scopes = negation_scopes(claim)
    negating = [_claim_terms(part) for part in _STATEMENT.split(claim)
                if _NEGATION.search(part) or reworded_negation(part) or negative_prefix(part)]
    for m, scope in zip(_NEGATION.finditer(passage), negation_scopes(passage), strict=True):
        if (m.group(1) or m.group(2)).lower() in _STRONG_NEGATION and len(scope) == 2 and scope <= claim_terms \
                and not any(c & scope for c in c_scopes) and not any(scope <= part for part in negating):
            return True
    return False


def _negation_agrees(claim: str, claim_terms: set[str], quote: str, near: dict[str, set[str]] | None = None) -> bool:
    """Every negation of the claim negates what a negation of the quote negates (their scopes share a word), and
    no negation of the quote is dropped: a quote negation whose scope the claim repeats must be negated in the claim
    too. "is not recommended" from "is recommended" fails; so does "is recommended" from "is not recommended"."""
    near = near or {}
    by_clause = _negation_by_clause(claim, quote, near)
    if by_clause == "dropped":
        return False
    # each negated claim clause restates a negated quote part, with as many negations of its own
    if by_clause == "kept" and not reworded_negation(claim) and len(_NEGATION.findall(claim)) >= max(
            1, len(_NEGATION.findall(quote))):
        return True
    groups = {_stem(w) for w in _NO_GROUP.findall(quote)}  # "35% no-statin" names a group: "no statin" restates it
    c_after = [c | {s for t in c for s in near.get(t, ())} for c in negation_scopes(claim) if not c or not c <= groups]
    q_scopes = negation_scopes(quote)
    paired, covered = negation_pairs(c_after, q_scopes, negation_before(quote))
    c_scopes = list(c_after)
    if by_clause == "kept":  # a clause negating in other words covers what the quote part it restates negates
        c_scopes += [_claim_terms(part) for part in _CLAUSE.split(claim) if reworded_negation(part)]
    claim_terms = claim_terms | {s for t in claim_terms for s in near.get(t, ())}
    # a claim negation with no content words after it ("should not ideally be 0.5 cm") needs a quote negation
    if by_clause != "kept" and any(c and not ok or not c and not q_scopes for c, ok in zip(c_after, paired,
                                                                                           strict=True)):
        return False
    # a quote negation's scope words that the un-negated quote parts the claim restates also hold are not what the
    # claim repeats of the negation
    restated = by_clause if isinstance(by_clause, set) else set()
    for j, q in enumerate(q_scopes):
        if not q or not (q - restated) & claim_terms:
            continue
        if not any(c & q for c in c_scopes) and j not in covered:
            return False
        if not _negated_where_stated(q - restated, claim):
            return False
    return True


def _negated_where_stated(words: set[str], claim: str) -> bool:
    """The claim's segments (between commas and joining words) that hold most of words include one that negates:
    "39 had a complication recorded on the form, 14 had not consented" does not keep the "not recorded" of its
    quote because another segment says "not consented"."""
    segments = [(len(_claim_terms(seg) & words), seg) for seg in _SEGMENT.split(claim) if seg and seg.strip()]
    top = max((n for n, _s in segments), default=0)
    return top == 0 or any(n == top and (_NEGATION.search(seg) or reworded_negation(seg)) for n, seg in segments)


def _quote_parts(quote: str) -> list[tuple[set[str], set[str] | None, bool, bool]]:
    """(stems, negated stems, negated at all, negated by a negating word only) of each part of the quote's
    sentences (the text between ";", ":", brackets, "but", ", and", ", so"); negated stems are None unless the part
    is negated by "not", "never", "cannot" or a negating word ("excluded": the word itself is what is negated)."""
    out = []
    for part in (p for a, b in sentence_spans(quote) for p in _NEGATION_PART.split(quote[a:b])):
        found = [m for m in _NEGATION.finditer(part) if (m.group(1) or m.group(2)).lower() in _STRONG_NEGATION]
        negating = {_stem(t) for t in content_terms(part) if t in NEGATIVE_WORDS}
        negated = set().union(*negation_scopes(part[found[0].start():])) if found else negating or None
        out.append((_claim_terms(part), negated, negated is not None or _NEGATION.search(part) is not None,
                    negating and not found))
    return out


def _restates(c_terms: set[str], q_terms: set[str], least: int = 2) -> bool:
    """A claim clause restates a quote part that holds at least CLAUSE_MATCH of its words, and least of them."""
    return len(c_terms & q_terms) >= max(least, CLAUSE_MATCH * len(c_terms))


def _negation_by_clause(claim: str, quote: str, near: dict[str, set[str]]) -> str | set[str]:
    """How the claim's clauses keep the negations of the quote parts they restate (the parts that hold most of
    their words), whatever the words: "kept" when every negated claim clause restates a negated quote part ("do
    not count at the first evaluation" for "answers are not taken into account at the first evaluation"),
    "dropped" when a claim clause without a negation restates a negated quote part and replaces its negated words
    ("do count at the first evaluation"), the words of the quote parts the claim restates when it negates nothing
    and each of its clauses restates a part of the quote without a negation ("only 42% could name the procedure"
    beside "and 49% could not name a single complication"), else ""."""
    parts = _quote_parts(quote)
    negated_kept, seen, clean = True, False, set()
    for c_part in _CLAUSE.split(claim):
        c_terms = _claim_terms(c_part)
        c_terms |= {s for t in c_terms for s in near.get(t, ())}
        top = max((len(c_terms & q_terms) for q_terms, *_x in parts), default=0)
        best = [(negated, any_neg, by_word) for q_terms, negated, any_neg, by_word in parts
                if _restates(c_terms, q_terms) and len(c_terms & q_terms) == top]
        # a negating word the claim clause repeats ("when surgery is contraindicated") is not what its "not" negates
        restated = [negated for negated, _a, by_word in best
                    if negated is not None and not (by_word and negated <= c_terms)]
        if clean is not None and best and not any(any_neg for _n, any_neg, _w in best):
            clean |= set().union(*(q_terms for q_terms, *_x in parts if len(c_terms & q_terms) == top))
        else:
            clean = None
        # "used only within trials" keeps the negation of "not used outside trials" in other words
        if _NEGATION.search(c_part) or restated and reworded_negation(c_part):
            seen = True
            negated_kept = negated_kept and bool(restated)
        elif any(not c_terms & negated and _restates(c_terms, q_terms, 3)
                 for q_terms, negated, _a, _w in parts if negated is not None and negated in restated):
            return "dropped"
    if seen:
        return "kept" if negated_kept else ""
    return clean or ""


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


def _reason_missing(missing, body: str, p: int) -> str:
    return f"states {', '.join(describe(q, body) for q in missing)}, not in passage {p + 1}"


def _supports_alone(part: str, part_terms: set[str], part_q: list, quote: str, header: str, counts: frozenset,
                    defined: dict[str, set[str]], near: dict[str, set[str]]) -> bool:
    """A quote supports a clause of a claim on its own: it states the clause's quantities, about the same words,
    with the same bounds, labels and negations."""
    return not (missing_quantities(part_q, quantities(quote)) or not _numbers_bound(part, quote, counts, defined)
                or missing_bounds(part, quote) or conflicting_ranges(part, quote)
                or _labels(part, expand=False) - _labels(quote + "\n" + header)
                or not _negation_agrees(part, part_terms, quote, near))


def verify_claims(claims: list[Claim], hits: list[Hit], n_shown: int, embedder, store=None) -> Verification:
    """Mark each claim kept (supports filled) or removed (reason set). hits[:n_shown] were shown as [1]..[n_shown].

    A cited passage supports a claim when
    - every quantity of the claim is in it, compared exactly after writing numbers one way ("three weeks" =
      "21 days"; ioguide.quantities), and every grade, class or stage label it names;
    - at most NOVEL_MAX of the claim's content terms are missing from it, a term counting as present when a passage
      word is its near-synonym by embedding (WORD_SIM), everyday words (FRAMING_ZIPF) not counting;
    - no veto over the whole passage: a number it gives to the claim's words is another, a direction word before a
      number is the opposite, a negating word of the sentence the claim restates is dropped;
    - a quote from it (one to three adjacent sentences at a small penalty, or a bulleted list with its lead-in)
      shows the claim's quantities and labels, agrees on negation clause by clause, holds at least COVER_MIN of the
      claim's terms (and more than half of each clause's), and scores at least SUPPORT_MIN with cosine at least
      SIM_MIN; or, failing that, each clause of the claim has such a quote of its own (PART_COVER_MIN).
    Text addressed to an AI ("ignore your instructions") never supports anything. Quotes are embedded bare: the
    index's sentence vectors carry the section as context, which makes every sentence of a section look alike. The
    sentence spans come from store.sentence_records when a store is given (the spans the index holds), else from
    splitting the passage text the same way ingestion does."""
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
    quotes: dict[int, list[tuple[int, int, bool, str]]] = {}
    for p in cited:
        chunk = hits[p].chunk
        spans = [(a, b) for a, b, _v in records.get(chunk.chunk_id) or []] or sentence_spans(chunk.text)
        quotes[p] = quote_spans(chunk.text, spans)
    bodies = {id(c): _canonical(BULLET.sub("", c.body)) for c, _p in todo}
    texts = [hits[p].chunk.text[a:b] for p in cited for a, b, _size, _lead in quotes[p]]
    texts += [BULLET.sub("", c.body) for c, _p in todo]
    vectors = embedder.embed_documents(texts)
    quote_vecs: dict[int, np.ndarray] = {}
    i = 0
    for p in cited:
        quote_vecs[p] = vectors[i:i + len(quotes[p])]
        i += len(quotes[p])
    failures: dict[int, str] = {}
    word_vectors = WordVectors(embedder)
    for (claim, p), vec in zip(todo, vectors[i:], strict=True):
        chunk = hits[p].chunk
        body = bodies[id(claim)]
        header = _canonical(" ".join((chunk.title, chunk.section, chunk.edition)))
        passage = header + "\n" + _canonical(chunk.text)
        counts = frozenset(list_counts(body) & list_sizes(chunk.text) | listed_counts(body, _terms(passage)))
        claim_q = [q for q in quantities(body, carry=False) if q.dim is not None or q.raw not in counts]
        missing = missing_quantities(claim_q, quantities(passage))
        if missing:
            failures.setdefault(id(claim), _reason_missing(missing, body, p))
            continue
        labels = _labels(body, expand=False)
        if labels - _labels(passage):
            failures.setdefault(id(claim), f"states {', '.join(sorted(labels - _labels(passage)))}, not in "
                                           f"passage {p + 1}")
            continue
        swapped = _swapped_labels(body, _canonical(chunk.text))
        if swapped:
            failures.setdefault(id(claim), f"states {', '.join(swapped)}, where passage {p + 1} gives another")
            continue
        text = _canonical(chunk.text)
        moved = neighbouring_numbers(body, text) + swapped_directions(body, text) + swapped_figures(body, text)
        if moved:
            failures.setdefault(id(claim), f"states {', '.join(moved)}, where passage {p + 1} gives another value "
                                           f"for the same words")
            continue
        unknown = unknown_identifiers(body, text)
        if unknown:
            failures.setdefault(id(claim), f"names {', '.join(unknown)}, which passage {p + 1} does not")
            continue
        exchanged = list(dict.fromkeys(swapped_terms(body, text) + swapped_sides(body, text)))
        if exchanged:
            failures.setdefault(id(claim), f"swaps {', '.join(exchanged)} between the statements of passage {p + 1}")
            continue
        turned = reversed_directions(body, text)
        if turned:
            failures.setdefault(id(claim), f"says {', '.join(repr(c) for c, _w in turned)} where passage {p + 1} says "
                                           f"{', '.join(repr(w) for _c, w in turned)}")
            continue
        terms = _claim_terms(body)
        dropped = dropped_negative_words(terms, _NEGATION.search(body) is not None, text)
        if dropped:
            failures.setdefault(id(claim), f"leaves out a negation of passage {p + 1} ({', '.join(dropped)})")
            continue
        if _drops_negation(body, terms, passage):
            failures.setdefault(id(claim), f"leaves out a negation of passage {p + 1}")
            continue
        narrowed = added_qualifiers(terms, body, text)
        if narrowed:
            failures.setdefault(id(claim), f"adds {', '.join(repr(w) for w in narrowed)}, which passage {p + 1} does "
                                           f"not state")
            continue
        p_terms = _terms(passage)
        novel_words = sorted(w for w in _words(body) if _stem(w) not in p_terms)
        # near-synonyms of every claim word: a quote may say "advised" where the claim says "recommended", though
        # "recommended" is elsewhere in the passage
        near = near_terms(sorted(_words(body)), sorted(_words(passage)), word_vectors)
        novel = {t for t in terms - p_terms if not near.get(t)}
        # negations are judged with the near-synonyms of the words the passage lacks only: "additional" must not
        # reach the "no extra treatment" of a neighbouring sentence
        near_novel = {t: near.get(t, set()) for t in terms - p_terms}
        misbound = misbound_figures(body, text, near)
        if misbound:
            failures.setdefault(id(claim), f"states {'; '.join(misbound)} (passage {p + 1})")
            continue
        framing = {_stem(w) for w in novel_words if _framing(w)} & novel
        if len(novel) - FRAMING_DISCOUNT * len(framing) > max(int(NOVEL_MAX * len(terms)),
                                                              int(len(terms) >= NOVEL_FREE_FROM)):
            failures.setdefault(id(claim), f"says what passage {p + 1} does not ({', '.join(sorted(novel))})")
            continue
        clauses = [c for c in (_claim_terms(part) for part in _CLAUSE.split(body)) if len(c) >= 2]
        header_q = quantities(header)
        claim_q = [q for q in claim_q if missing_quantities([q], header_q)]
        best: tuple[float, float, int, int] | None = None  # the best quote that also shows the claim's labels
        closest: tuple[float, bool] | None = None  # the best quote whatever its negations, and whether they agree
        context = _terms(header)
        defined = {**{a: set(long) for a, long in STANDARD_ABBREVIATIONS.items()}, **abbreviations(chunk.text)}
        # each clause of the claim on its own, for a claim that merges sentences too far apart for one quote
        parts = [(part, _claim_terms(part)) for part in _CLAUSE.split(body)]
        parts = [(part, t, [q for q in quantities(part, carry=False) if q.dim is not None or q.raw not in counts])
                 for part, t in parts if len(t) >= 2]
        part_best: list[tuple[float, int, int] | None] = [None] * len(parts)
        for (a, b, size, lead), qvec in zip(quotes[p], quote_vecs[p], strict=True):
            raw = chunk.text[a:b]
            quote = _canonical(raw)
            q_terms = _terms(quote) | context | _terms(_canonical(lead))
            q_terms |= {t for abbr in q_terms & defined.keys() for t in defined[abbr]}
            q_terms |= {abbr for abbr, long_form in defined.items() if long_form <= q_terms}
            for k, (part, part_terms, part_q) in enumerate(parts if len(parts) > 1 else ()):
                part_cover = coverage(part_terms, q_terms, near) - PAIR_PENALTY * (size - 1)
                if part_cover >= PART_COVER_MIN and (part_best[k] is None or part_cover > part_best[k][0]) \
                        and _supports_alone(part, part_terms, part_q, quote, header, counts, defined, near_novel):
                    part_best[k] = (part_cover, a, b)
            if (missing_quantities(claim_q, quantities(quote)) or not _numbers_bound(body, quote, counts, defined)
                    or missing_bounds(body, quote) or conflicting_ranges(body, quote) or _INSTRUCTION.search(raw)):
                continue
            covered = coverage(terms, q_terms, near)
            if covered < COVER_MIN or len(clauses) > 1 and any(coverage(c, q_terms, near) < CLAUSE_COVER_MIN
                                                               for c in clauses):
                continue
            sim = float(np.dot(vec, qvec))
            score = 0.6 * sim + 0.4 * covered - PAIR_PENALTY * min(size - 1, 2)
            agrees = _negation_agrees(body, terms, quote, near_novel)
            if closest is None or score > closest[0]:
                closest = (score, agrees)
            if not agrees or labels - _labels(quote + "\n" + header):
                continue
            if best is None or score > best[0]:
                best = (score, sim, a, b)
        # The quote the claim matches best must agree with it on negation: "needs a extra treatment" is not saved
        # by another sentence of the passage that lacks the "no".
        if closest is not None and not closest[1]:
            failures.setdefault(id(claim), f"negates what passage {p + 1} does not, or drops its negation")
            continue
        if (best is None or best[0] < SUPPORT_MIN or best[1] < SIM_MIN) and parts and all(part_best) \
                and not missing_quantities(claim_q, [x for _c, a, b in part_best
                                                     for x in quantities(_canonical(chunk.text[a:b]))]):
            # every clause quoted on its own: the support is the passage text from the first quote to the last
            best = (min(c for c, _a, _b in part_best), 1.0, min(a for _c, a, _b in part_best),
                    max(b for _c, _a, b in part_best))
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
