"""Does the answer speak about what the question asks? The concept check of the extractive answer step.

An on-topic question the documents do not answer still retrieves passages about its topic, and the ranker then
likes a sentence that matches most of its words: asked how many hours of fasting come before renal cryoablation,
the closest sentence gives the procedure's duration. What gives it away is the question's specific word
("fasting", "wattage", "beds", "margin") that neither the answer's sentences, nor their section headings, nor the
passages they quote mention in any form. A word counts as mentioned when its stem is there (British and American
spellings made one: "randomised" = "randomized"; also inside a compound or a word a PDF broke over a line:
"cryoprobes", "preva- lence"), when a word there is a typo-distance away (difflib ratio >= 0.8),
or when a word there is a near-synonym by the embedding model (cosine >= COVER_COSINE: "drug" ~ "medicine").

Only specific words are checked: not the question's asking words, not words naming the kind of figure asked for
("rate", "dose", "size": those are the asked slot, checked by ioguide.sentence_rank.slot_filled), not everyday
English (wordfreq Zipf frequency above MAX_ZIPF: "came", "back"), not the collection's common words (in more than
MAX_DF_SHARE of the indexed chunks: "ablation", "patient"), and not short abbreviations the index does not hold
("bp", "ogd": clinicians' short forms the documents spell out). The constants were fitted on the DEV splits only.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache
from typing import Any

import numpy as np

from .retrieve import TYPO_RATIO
from .text import content_terms, english_zipf

COVER_COSINE = 0.45  # a word of the answer's context this similar to a question word stands for it
MAX_ZIPF = 5.2  # words more common than this in English (wordfreq) say how something is asked, not what
MAX_DF_SHARE = 0.1  # words in more than this share of the indexed chunks are the collection's topic, not the ask
MIN_LETTERS = 4
UNKNOWN_MIN_LETTERS = 6  # a word no chunk holds is checked only from this length (shorter: an abbreviation)
STORY_MIN_WORDS = 20  # a question this long tells a story (a case, a centre's situation) before it asks
ENGLISH_ZIPF = 3.0  # a word at least this common in English is a word, not a typo ("shower" is not "shown")

# Words that name the kind of figure or the manner of the asking, answered by a figure or by the sentence as a
# whole rather than by the word itself.
GENERIC = frozenset("""rate rates dose doses size sizes number numbers threshold thresholds share percentage
    percentages proportion time times long often common commonly max min maximum minimum used use using done get
    take taken needed need needs recommended recommend recommends recommendation suggest suggested apply count
    define definition defined mean meaning ok okay vs versus like instead actually exact exactly official per main
    key important usually usual typically typical best ideal first 1st second last total prevalence frequency
    incidence limits limit risk risks result results outcome outcomes amount level levels value values cutoff
    range ranges happen happens specific specifically currently current exist exists existing""".split())

_ASKING = frozenset("""what whats which who whom whose when where why how many much does do did is are was were
    can could should would will list name give tell say says said according mean means pts pt we our us""".split())

_SPELLING = ((re.compile(r"(\w{3,})is(e|ed|es|ing|ation|ations)$"), r"\1iz\2"),
             (re.compile(r"(\w{3,})ys(e|ed|es|ing)$"), r"\1yz\2"),
             (re.compile(r"(\w{2,})our$"), r"\1or"),
             (re.compile(r"ae"), "e"), (re.compile(r"oe"), "e"))


def spelling(word: str) -> str:
    """One spelling for British and American forms: "randomised" -> "randomized", "tumour" -> "tumor",
    "haematoma" -> "hematoma", "oesophagus" -> "esophagus"."""
    for pattern, repl in _SPELLING:
        word = pattern.sub(repl, word)
    return word


def spelling_of_text(letters: str) -> str:
    """spelling() of a long run of letters in linear time. The word patterns are anchored at the end, so on a run
    they can only change its last characters; applied to the whole run, their unanchored starts made the regex
    engine quadratic (about 1 ms a call, most of an answer's time). Same result as spelling(letters)."""
    if len(letters) <= 40:
        return spelling(letters)
    head, tail = letters[:-40], letters[-40:]
    for pattern, repl in _SPELLING[:3]:
        tail = pattern.sub(repl, tail)
    text = head + tail
    for pattern, repl in _SPELLING[3:]:
        text = pattern.sub(repl, text)
    return text



@lru_cache(maxsize=1)
def _english_words() -> tuple[str, ...]:
    from wordfreq import top_n_list

    return tuple(w for w in top_n_list("en", 40000) if w.isalpha() and len(w) >= MIN_LETTERS)


def english_correction(word: str) -> str:
    """The common English word a misspelt word most likely meant ("usualy" -> "usually"), or "" when the word is
    English itself or close to none."""
    if english_zipf(word) >= 2.0:
        return ""
    found = difflib.get_close_matches(word, [w for w in _english_words() if w[:1] == word[:1]], n=1, cutoff=0.85)
    return found[0] if found else ""


class WordVectors:
    """Embedding vectors of single words, cached (an answer needs a few dozen; the same words recur)."""

    def __init__(self, embed_many) -> None:
        self.embed_many = embed_many
        self.cache: dict[str, np.ndarray] = {}

    def __call__(self, words: list[str]) -> np.ndarray:
        if not words:
            return np.zeros((0, 1), dtype=np.float32)
        # A local copy of what is needed: another thread may clear the shared cache meanwhile.
        found = {w: v for w in dict.fromkeys(words) if (v := self.cache.get(w)) is not None}
        new = [w for w in dict.fromkeys(words) if w not in found]
        if new:
            if len(self.cache) > 50000:
                self.cache.clear()
            for w, v in zip(new, self.embed_many(new), strict=True):
                found[w] = self.cache[w] = np.asarray(v, dtype=np.float32)
        return np.vstack([found[w] for w in words])


def specific_terms(question: str, source: Any) -> list[str]:
    """The question's words that say what it is about and are specific enough to be checked (module docstring)."""
    vocabulary = source.vocabulary
    n_chunks = max(1, len(getattr(vocabulary, "ids", ())) or 1)
    out = []
    for word in dict.fromkeys(content_terms(question)):
        if word in _ASKING or word in GENERIC or len(word) < MIN_LETTERS or not word.isalpha():
            continue
        fixed = english_correction(word) if not vocabulary.contains(word) else ""
        if fixed:
            if fixed in GENERIC or fixed in _ASKING or english_zipf(fixed) > MAX_ZIPF:
                continue
            word = fixed
        if english_zipf(word) > MAX_ZIPF:
            continue
        df = int((vocabulary.scores(word) > 0).sum())
        if df == 0 and (len(word) < UNKNOWN_MIN_LETTERS
                        or (english_zipf(word) < ENGLISH_ZIPF and typo_of_indexed(word, vocabulary))):
            continue  # an abbreviation, or a typo of an indexed word (the search already used that word)
        if df / n_chunks > MAX_DF_SHARE:
            continue
        out.append(word)
    return out


def tells_story(question: str) -> bool:
    """Whether the question describes a case or situation at length before asking ("pt with HCC child A for resin
    SIRT next week, MAA showed ... - what do the usual figures say"). Its ordinary words tell the story ("fellow",
    "cancel", "holding bay", "renewing") and need not appear in the passage that answers it: on the tuning sets
    (corpus and PDF dev, questions.jsonl, the fresh sets) the concept check stopped 22 on-topic unanswerable
    questions, none of them longer than 15 words, and all 5 answerable ones of STORY_MIN_WORDS words or more that it
    stopped were answered right (4) or wrongly (1, lead under 0.4) without it."""
    return len(question.split()) >= STORY_MIN_WORDS


def typo_of_indexed(word: str, vocabulary: Any) -> bool:
    """Whether a word no chunk holds is a misspelling of one that some chunk holds: its stem and an indexed stem
    begins an indexed stem ("succ" / "success"), an indexed stem of 7+ letters begins it ("contraindicaton" /
    "contraind"), or difflib finds them close (ratio >= TYPO_RATIO)."""
    stem = (vocabulary.tokenize([word])[0] or [word])[0]
    candidates = vocabulary.words(stem[:2])
    if any((len(stem) >= 4 and c.startswith(stem)) or (len(c) >= 7 and stem.startswith(c)) for c in candidates):
        return True
    return bool(difflib.get_close_matches(stem, candidates, n=1, cutoff=TYPO_RATIO))


def uncovered_terms(question: str, context: list[str], source: Any, vectors: WordVectors | None) -> list[str]:
    """The specific words of question that no text of context mentions in any form (module docstring)."""
    terms = specific_terms(question, source)
    if not terms:
        return []
    text = " ".join(context)
    words = sorted({w for w in content_terms(text) if w.isalpha() and len(w) >= 3})
    stems = set(source.stem(" ".join(spelling(w) for w in words)))
    # Letters only: a word a PDF broke over a line ("preva- lence") or wrote into a compound ("cryoprobes") is found.
    letters = spelling_of_text(re.sub(r"[^a-z]", "", text.lower()))
    missing = []
    for term in terms:
        term_stems = set(source.stem(spelling(term)))
        if term_stems & stems or any(len(t) >= 5 and t in letters for t in term_stems):
            continue
        if difflib.get_close_matches(term, words, n=1, cutoff=TYPO_RATIO):
            continue
        missing.append(term)
    if missing and vectors is not None and words:
        sims = vectors(missing) @ vectors(words).T
        missing = [t for t, row in zip(missing, sims, strict=True) if float(row.max()) < COVER_COSINE]
    return missing


_WHICH_PLURAL = re.compile(r"^\W*(?:which|what)\s+(?:\d+\s+)?([a-z]{4,}s)\b", re.I)
_COUNT_WORD = (r"(?:\d+|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|several|many|multiple|"
               r"numerous|various)")


def counts_not_names(question: str, sentences: list[str]) -> str:
    """For "which languages ...": the asked plural when the sentences mention it only as a count ("translated into
    9 languages") and so say how many, not which; "" otherwise."""
    m = _WHICH_PLURAL.match(question)
    if not m:
        return ""
    noun = m.group(1).lower()
    stem = re.escape(noun[:-1] if noun.endswith("es") and not noun.endswith("ses") else noun[:-1])
    mentions = [mm for s in sentences for mm in re.finditer(rf"(?:\b{_COUNT_WORD}\s+)?\b{stem}\w*", s, re.I)]
    if mentions and all(re.match(_COUNT_WORD, mm.group(0), re.I) for mm in mentions):
        return noun
    return ""
