"""The words of a claim and of a passage as verification compares them: Snowball stems with one spelling, without
framing words; everyday words ("went", "whose", "once") told from words that carry a claim by wordfreq's English
frequency list (a maintained list, already used by the PDF loader)."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

from .quantities import UNITS, canonical_text
from .text import content_terms, english_zipf

FRAMING_ZIPF = 5.0  # wordfreq Zipf frequency from which a word is everyday English ("went", "whose", "once")

# Words that frame a claim rather than make it: a paraphrase may add them without inventing anything. Negations are
# judged separately.
FILLER = frozenset("""according say says said state states stated stating note notes noted describe describes
    described mention mentions mentioned explain explains guideline guidelines document documents passage passages
    source sources text between within among become becomes became ideally generally typically usually also only
    not no never none cannot without neither nor
    while whereas although though because since therefore thus hence however whether either each every many much
    together inside during afterwards afterward meant means mean make makes made put puts set sets give gives given
    giving take takes taken took up off out case cases way ways report reports reported suggest suggests
    suggested add adds added show shows showed shown under below above over exceeding""".split())
# Comparatives stemmed to their adjective, so "no thicker than" finds "at most 3 mm thick".
COMPARATIVE = {"thicker": "thick", "longer": "long", "larger": "large", "shorter": "short", "smaller": "small",
                "bigger": "big", "higher": "high", "lower": "low", "greater": "great", "older": "old",
                "younger": "young", "wider": "wide", "thinner": "thin"}

# Everyday words that still carry a claim: a direction, an order, a quantifier or a modality; never framing.
POLAR = frozenset("""high higher highest low lower lowest more most less least fewer many much few increase increased
    increases decrease decreased decreases rise rose fall fell before after early earlier late later first last
    major minor long short large small big little above below over under upper inner outer left right only all
    always every never must should may can cannot required allowed full whole half double twice better worse best
    worst same different new old positive negative true false yes benefit harm safe unsafe good bad""".split())
_STEMMER_LOCK = threading.Lock()  # a PyStemmer object must not be used by two threads at once




@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def stem(term: str) -> str:
    """The Snowball stem (PyStemmer, as BM25 uses), spelling unified first: "embolization" ~ "embolisation"."""
    if term[:1].isdigit():
        return term
    term = COMPARATIVE.get(term, term)
    with _STEMMER_LOCK:
        return _stemmer().stemWord(term.replace("z", "s"))


@lru_cache(maxsize=65536)
def framing(word: str) -> bool:
    """An everyday English word (wordfreq's frequency list) that states no direction, order or quantity: a
    paraphrase's framing ("went down", "whose approval", "once granted") rather than its claim."""
    return word not in POLAR and english_zipf(word) >= FRAMING_ZIPF


def terms(text: str) -> set[str]:
    return {stem(t) for t in content_terms(text) if not t[0].isdigit() and t not in UNITS}


_COMPARATOR_WORDS = re.compile(r"(?<=\d)(\s*[^\W\d_]*)\s+or\s+(?:more|less|fewer|greater|higher|lower|above|below|"
                               r"larger|smaller|longer|shorter|over|under)\b|"
                               r"\b(?:more|less|fewer|greater)\s+than(?=\s+(?:an?\s+|about\s+)?\d)", re.I)


def claim_terms(text: str) -> set[str]:
    """The stems a claim asserts: content words without framing words; numbers and their units are checked on
    their own (ioguide.quantities), so "5 mm" for "0.5 cm" adds no term, and so are the comparators around them
    ("3 mm or more", "more than 40": ioguide.quantities.comparators)."""
    text = _COMPARATOR_WORDS.sub(lambda m: m.group(1) or "", text)
    return {stem(t) for t in content_terms(text)
            if len(t) > 1 and not t[0].isdigit() and t not in FILLER and t not in UNITS}


# "failed to show that mortality was increased" negates as "did not show" does; "the procedure failed" stays
_FAILED_TO = re.compile(r"\b(?:failed|fails|fail|failing) to\b", re.I)


@lru_cache(maxsize=8192)
def canonical(text: str) -> str:
    """canonical_text, with "failed to" read as the negation it is ("did not")."""
    return _FAILED_TO.sub("did not", canonical_text(text))


def _share(claim: set[str], other: set[str]) -> float:
    return len(claim & other) / len(claim) if claim else 0.0


def words(text: str) -> set[str]:
    return {t for t in content_terms(text) if len(t) > 2 and not t[0].isdigit() and t not in FILLER
            and t not in UNITS}


# Abbreviations of statistics that abstracts use without defining them ("95% CI 0.59 to 1.06" for "95% confidence
# interval 0.59 to 1.06"); "OR" is left out, being the word "or" as well.
STANDARD_ABBREVIATIONS = {abbr: frozenset(stem(w) for w in long_form.split()) for abbr, long_form in (
    ("ci", "confidence interval"), ("rr", "relative risk"), ("hr", "hazard ratio"), ("sd", "standard deviation"),
    ("iqr", "interquartile range"), ("bmi", "body mass index"))}

_DEFINED = re.compile(r"((?:[^\W\d_][\w-]*\s+){1,8})\((?P<abbr>[A-Z][A-Za-z0-9-]{1,9})\)")


def abbreviations(text: str) -> dict[str, set[str]]:
    """Abbreviations the text defines, "lung shunt fraction (LSF)" -> {"lsf": {"lung", "shunt", "fraction"}} (as
    stems): the long form is the words before the brackets, as many as the abbreviation has capitals (all of them
    when it has more). A quote that writes "the LSF" holds the long form's words."""
    out: dict[str, set[str]] = {}
    for m in _DEFINED.finditer(text):
        abbr = m.group("abbr")
        capitals = sum(1 for ch in abbr if ch.isupper())
        words = [w for w in m.group(1).split() if w.lower() not in ("the", "a", "an", "of", "and", "for", "in")]
        long_form = {stem(w.lower()) for w in words[-capitals:]} if capitals else set()
        if long_form:
            out.setdefault(abbr.lower(), set()).update(long_form)
    return out
