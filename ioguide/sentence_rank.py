"""What a question asks for, and how well each passage sentence answers it.

question_kind() sorts a question into the kind of fact it asks for (a number with its unit, a duration, yes/no,
a list, a definition, who/which, a case to classify). sentence_features() describes one passage sentence against
the question (similarity, shared words, whether it holds that kind of fact, where it sits); the ranker is a
logistic regression over those features whose weights live in ioguide/data/sentence_ranker.json: small,
inspectable, trained by scripts/sentence_features.py on the DEV split of the question sets only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .text import content_terms, numbers_in

RANKER_FILE = Path(__file__).parent / "data" / "sentence_ranker.json"

KINDS = ("case", "who", "duration", "number", "yesno", "list", "definition", "other")

_CASE = re.compile(r"\b(?:pt|pts|patient|patients|case)\b.*(?:\?|\bgrade\b|\bcontraindicat|\btransfuse\b|"
                   r"\beligible\b|\bpossible\b|\bsuitable\b|\bcandidate\b|\breduc|\bfor (?:tace|tare|rfa|mwa))|"
                   r"\b(?:which|what) (?:cirse |sir )?grade\b|\bgrade \d or \d\b|\bcontraindicated\b|"
                   r"\b\d+(?:[.,]\d+)? ?(?:cm|mm|%)\b.*\b(?:possible|contraindicated|reduced|eligible)\b", re.I)
_WHO = re.compile(r"^\W*(?:who|whom|whose)\b|\bwho (?:wrote|led|chaired|chairs|funds|said|discovered|is|was|are|"
                  r"were|represented|endorses)\b|\bwhich (?:company|hospital|department|society|organi[sz]ation|"
                  r"journal|person|people|author|authors|centre|center|body|group)\b|\bauthors?\b|"
                  r"\bwho\b", re.I)
_DURATION = re.compile(r"\bhow (?:long|soon|often)\b|\bwhen\b|\bhow many (?:days|weeks|months|years|hours|"
                       r"minutes)\b|\b(?:interval|period|time window|timing|duration|schedule|years? of)\b", re.I)
_NUMBER = re.compile(r"\bhow (?:many|much)\b|\bwhat (?:percentage|proportion|rate|dose|size|number|threshold|"
                     r"share)\b|%|\brates?\b|\bthreshold|\bcut-?off|\bmin(?:imum)?\b|\bmax(?:imum)?\b|\bdose\b|"
                     r"\bsize\b|\bnumber\b|\bdoi\b|\bvolume\b|\bmortality\b|\bsurvival\b|\bmedian\b|\bos\b|"
                     r"\blimits?\b|\bplatelets?\b|\binr\b|\bpages\b|\bfee\b|\bcost\b|\bpower\b|\bmargin\b", re.I)
_YESNO = re.compile(r"^\W*(?:is|are|does|do|can|could|should|was|were|has|have|will|would|did|may|must)\b", re.I)
_LIST = re.compile(r"\b(?:list|what are the|which are the|name the|types of|kinds of|options|advantages|"
                   r"drawbacks|disadvantages|benefits|steps|indications|contra-?indications|criteria|aims|grades|"
                   r"recipients|documents|sections|pillars|pilars|processes|requirements|what should be)\b", re.I)
_DEFINITION = re.compile(r"\b(?:define|definition|defined|stand for|stands for|meaning|mean)\b|"
                         r"^\W*what (?:is|are|does) (?:an? |the )?[\w-]+(?: [\w-]+)?\W*$", re.I)

_NAME = re.compile(r"(?<!^)(?<![.:]\s)\b[A-Z][a-z\u00C0-\u024F'-]+(?:\s+(?:[A-Z][a-z\u00C0-\u024F'-]+|de|van|von|"
                   r"y|and))*|\b(?:Dr|Prof|Professor|Mr|Ms|Mrs)\.?\s+[A-Z]")
_TIME = re.compile(r"\b\d+(?:[.,]\d+)?(?:\s*(?:to|-|–|and)\s*\d+(?:[.,]\d+)?)?\s*(?:h|hrs?|hours?|days?|weeks?|"
                   r"months?|years?|minutes?|min|seconds?|s)\b|\b(?:one|two|three|four|five|six|seven|eight|nine|"
                   r"ten|twelve|24|48)[- ](?:hours?|days?|weeks?|months?|years?)\b|\b(?:19|20)\d\d\b|"
                   r"\b(?:daily|weekly|monthly|annually|every)\b", re.I)
_QUANTITY = re.compile(r"\d")
_POLARITY = re.compile(r"\b(?:not|no|never|only|cannot|can|must|should|may|recommended|required|optional|"
                       r"allowed|yes|none|without)\b", re.I)
_DEFINES = re.compile(r"\b(?:is defined|defined as|defines|means|refers? to|stands? for|is an?|are|is the|"
                      r"describes?)\b", re.I)
_CRITERIA = re.compile(r"\bgrade\b|less than|more than|fewer than|above|below|up to|at least|exceed|over|under|"
                       r"[<>\u2264\u2265]|\bcontraindicat", re.I)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")
_META = re.compile(r"^\W*(this|these) (page|document|summary|summaries|file|section|note)s?\b|^\W*see the separate|"
                   r"^\W*use this (page|document)", re.I)
_ASKS_REFERENCES = re.compile(r"\b(?:references?|cite[sd]?|citations?|authors?|wrote|written|doi|journal|"
                              r"published|publication|bibliograph\w*|affiliations?|funding|funded|funds?|conflicts?|"
                              r"declared?|declarations?|disclos\w*|competing|speaker|honorari\w*|grants?|"
                              r"correspond\w*)\b",
                              re.I)


def question_kind(question: str) -> str:
    """The kind of fact the question asks for: one of KINDS (the first that fits, in that order)."""
    for kind, pattern in (("case", _CASE), ("who", _WHO), ("duration", _DURATION), ("number", _NUMBER),
                          ("yesno", _YESNO), ("list", _LIST), ("definition", _DEFINITION)):
        if pattern.search(question):
            return kind
    return "other"


def asks_for_references(question: str) -> bool:
    """Whether reference lists, author affiliations, funding or conflict statements may answer the question."""
    return bool(_ASKS_REFERENCES.search(question))


def holds_kind(kind: str, sentence: str) -> bool:
    """Whether the sentence holds the kind of fact asked for (a number for "how many", a name for "who", ...)."""
    if kind == "case":
        return bool(_CRITERIA.search(sentence)) and bool(_QUANTITY.search(sentence) or "grade" in sentence.lower())
    if kind == "who":
        return bool(_NAME.search(sentence))
    if kind == "duration":
        return bool(_TIME.search(sentence))
    if kind == "number":
        return bool(_QUANTITY.search(sentence))
    if kind == "yesno":
        return bool(_POLARITY.search(sentence))
    if kind == "list":
        return bool(_BULLET.match(sentence)) or sentence.rstrip().endswith(":")
    if kind == "definition":
        return bool(_DEFINES.search(sentence))
    return True


FEATURES = ("sim", "lexical", "context", "rank", "hit_z", "best", "bullet", "lead_in", "short", "length", "meta",
            "kind", "number_match", "first", "non_body")


@dataclass
class Asked:
    """The question as the ranker sees it."""

    text: str
    kind: str
    terms: list[frozenset[str]]  # per content word, the stems that count as it
    numbers: set[str]
    references_ok: bool


# Words that say how a question is asked, not what it is about.
_ASKING = frozenset("""what whats which who whom whose when where why how many much does do did is are was were
    can could should would will list name give tell say says said per according mean means pts pt we our us""".split())


def read_question(question: str, stem, alternative=None) -> Asked:
    """The question's kind, numbers and content terms; each term is the set of stems that count as it: its own, and
    with alternative(word), those of an abbreviation's long form or of the word a typo meant."""
    terms: dict[frozenset[str], None] = {}
    for word in content_terms(question):
        if word in _ASKING:
            continue
        stems = set(stem(word))
        extra = alternative(word) if alternative is not None else ""
        if extra:
            stems |= set(stem(extra)) | ({extra} if " " not in extra else set())
        if stems:
            terms[frozenset(stems)] = None
    return Asked(question, question_kind(question), list(terms), numbers_in(question),
                 asks_for_references(question))


def sentence_features(asked: Asked, sentence: str, sentence_stems: set[str], context_stems: set[str], sim: float,
                      rank: int, hit_z: float, best: bool, first: bool, role: str) -> np.ndarray:
    """One row of FEATURES for a passage sentence (context_stems: its section heading and document title)."""
    q = asked.terms
    lexical = sum(1 for t in q if t & sentence_stems) / len(q) if q else 0.0
    context = sum(1 for t in q if t & sentence_stems or t & context_stems) / len(q) if q else 0.0
    words = len(sentence.split())
    bullet = bool(_BULLET.match(sentence))
    number_match = bool(asked.numbers and asked.numbers & numbers_in(sentence))
    return np.array([
        sim, lexical, context, min(rank, 8) / 4, hit_z, float(best), float(bullet),
        float(sentence.rstrip().endswith(":") and not bullet), float(words < 5 and not bullet), min(words, 60) / 40,
        float(bool(_META.search(sentence))), float(holds_kind(asked.kind, sentence)), float(number_match),
        float(first), float(role != "body" and not asked.references_ok)], dtype=np.float64)


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[np.ndarray, float]:
    data = json.loads(Path(path).read_text())
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{path}: trained on features {data['features']}, this code has {list(FEATURES)}")
    return np.array(data["weights"], dtype=np.float64), float(data["intercept"])


def answer_probability(features: np.ndarray, path: Path = RANKER_FILE) -> np.ndarray:
    """P(sentence holds an asked fact) for each row of features (n x len(FEATURES))."""
    weights, intercept = _load(str(path))
    z = features @ weights + intercept
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))



# --- Is the asked slot filled? ---------------------------------------------------------------------------------
# A question that names the unit of the figure it asks for ("margin in mm", "how many weeks", "how much is the
# fee", "power in watts") is answered only by a sentence that gives a number in that unit; one that says the thing
# exists ("an annual fee is invoiced") or names a figure of another kind does not fill the slot.
_NUM = r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty)"
_TIME_UNITS = r"(?:h|hrs?|hours?|days?|weeks?|wks?|months?|years?|yrs?|minutes?|mins?|seconds?)"
_SLOTS: tuple[tuple[re.Pattern, re.Pattern], ...] = tuple(
    (re.compile(asked, re.I), re.compile(given, re.I)) for asked, given in (
        # money: the amount of a fee or cost
        (r"\bhow much (?:is|are|does|do|will)\b.*\b(?:fee|fees|cost|costs|charge|price)\b|"
         r"\b(?:fee|cost|price) amount\b|\bhow much\b.*\b(?:cost|charge|pay)\b",
         r"(?:[€$£]\s?\d|\b(?:eur|usd|gbp|chf)\s?\d|\b\d[\d.,]*\s?(?:€|eur|euros?|usd|dollars?|gbp|pounds?|chf)\b)"),
        # a time span asked in time units
        (r"\bhow many (?:days|weeks|months|years|hours|minutes)\b|\bhow (?:long|soon)\b|"
         r"\bin (?:days|weeks|months|years|hours|minutes)\b",
         rf"\b{_NUM}(?:\s*(?:to|-|–|or|and)\s*{_NUM})?[- ]?{_TIME_UNITS}\b|\b\d+\s*h\b"),
        # lengths: margins, sizes, distances
        (r"\b(?:in (?:mm|cm|millimet\w*|centimet\w*)|margin|diameter|distance)\b",
         r"\b\d+(?:[.,]\d+)?\s*(?:mm|cm|millimet\w*|centimet\w*)\b"),
        (r"\b(?:watts?|power)\b", r"\b\d+(?:[.,]\d+)?\s*(?:w|watts?|kw)\b"),
        (r"\btemperature\b|°", r"\b-?\d+(?:[.,]\d+)?\s*(?:°|degrees?\b|ºc)"),
        (r"\b(?:gy|gray|absorbed dose)\b", r"\b\d+(?:[.,]\d+)?\s*gy\b"),
        (r"\bkappa\b|\binter-?observer\b|\bagreement\b", r"\b(?:0?[.,]\d+|kappa\s+of\s+\d)"),
        (r"%|\bpercent(?:age)?\b|\bproportion\b", r"\d\s?%|\bpercent\b|\b\d+ (?:of|in) (?:every )?\d+\b"),
    ))
# "how many <things>" (not a time unit): a count, not a percentage.
_HOW_MANY = re.compile(r"\bhow many\b(?! (?:days|weeks|months|years|hours|minutes)\b)", re.I)
_COUNT = re.compile(rf"\b{_NUM}\b(?!\s?%)(?![.,]\d)", re.I)
# "how many times": a repeat count ("twice", "3 times", "two cycles").
_HOW_MANY_TIMES = re.compile(r"\bhow many times\b", re.I)
_TIMES = re.compile(rf"\b(?:once|twice|thrice|{_NUM}\s+(?:times|cycles|rounds|sessions))\b", re.I)
# "how many" followed by a verb asks how many people did something: a count or a share of them.
_HOW_MANY_DID = re.compile(r"\bhow many\s+(?:\w+ed|had|got|went|were|died|developed|required)\b", re.I)
_ANY_NUMBER = re.compile(rf"\b{_NUM}\b|\d\s?%", re.I)


def slot_pattern(question: str) -> re.Pattern | None:
    """The pattern a sentence must match to give the figure the question asks for, or None when the question
    asks for no figure of a named kind."""
    for asked, given in _SLOTS:
        if asked.search(question):
            return given
    if _HOW_MANY_TIMES.search(question):
        return _TIMES
    if _HOW_MANY_DID.search(question):
        return _ANY_NUMBER  # "how many needed a drain": a count of people or a share of them ("44%")
    if _HOW_MANY.search(question) and not re.search(r"%|\bpercent|\bproportion", question, re.I):
        return counted_pattern(question) or _COUNT
    return None


_COUNTED = re.compile(r"\bhow many\s+([a-z][a-z-]*)(?:[\s/]+([a-z][a-z-]*))?", re.I)
_NOT_NOUN = frozenset("of in the a an are is do does did should will would can could have has were was".split())


def counted_pattern(question: str) -> re.Pattern | None:
    """For "how many probes ...": a number a few words before the counted thing ("2 or 3 probes", "27 core
    sub-items", "three cryoprobes"), the thing matched by its first letters so that plurals and typos pass
    ("countires" ~ "countries"). None when the words after "how many" are too short to tell (abbreviations such
    as "pts")."""
    m = _COUNTED.search(question)
    if not m:
        return None
    words = [w.lower() for w in m.groups() if w and w.lower() not in _NOT_NOUN]
    stems = [re.escape(w[:min(len(w) - 1, 5)]) for w in words if len(w) >= 4]
    if not stems or len(stems) < len(words):
        return None
    return re.compile(rf"\b{_NUM}\b(?!\s?%)[\s,]+(?:[\w()-]+\s+){{0,3}}[\w-]*(?:{'|'.join(stems)})", re.I)


def slot_filled(question: str, sentences: list[str]) -> bool:
    """Whether one of the sentences gives the figure the question asks for (always true when it asks none)."""
    pattern = slot_pattern(question)
    return pattern is None or any(pattern.search(s) for s in sentences)
