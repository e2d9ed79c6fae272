"""Repairs that make extracted PDF text read as the printed page: words split by glyph spacing joined, line-end
hyphenation undone (compounds keep their hyphen), citation numbers left on words removed (the pattern fallback for
text without character sizes), running headers and footers removed, table rows kept with their header.

Whether a string is a word is decided from two sources: the document's own vocabulary (words it prints whole
elsewhere) and wordfreq's English frequency list (a maintained list of ~320,000 forms with frequencies; the
embedding tokenizer's 30,000 word pieces lack most clinical words such as "metastases").
"""

from __future__ import annotations

import re
from collections import Counter

from ioguide.text import english_zipf

KNOWN_ZIPF = 1.2  # wordfreq's Zipf scale: 1.2 = about once per 600 million words (rare clinical words pass)
WORD_ZIPF = 3.0  # a part of a split counts as a word on its own only when this common (once per million words)
_TWO_LETTER_WORDS = frozenset("am an as at be by do go he if in is it me my no of on or so to up us we et al vs ie eg "
                               "mg ml kg cm mm dl iv im sc".split())
COMMON_PART = 4.0  # both parts words: join on the document's evidence only when one part is this rare or rarer
_ALPHA = re.compile(r"[^\W\d_]+")
_WORD_RUN = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")



class Vocabulary:
    """The words of one document (as printed whole) plus English."""

    def __init__(self, texts: list[str]):
        self.counts: Counter[str] = Counter()
        self.hyphenated: set[str] = set()
        for text in texts:
            for match in _WORD_RUN.finditer(text):
                token = match.group(0).lower()
                if "-" in token:
                    self.hyphenated.add(token)
                self.counts.update(token.split("-"))

    def known(self, word: str) -> bool:
        low = word.lower()
        return self.counts[low] >= 1 and len(low) > 3 or english_zipf(low) >= KNOWN_ZIPF

    def is_word(self, part: str) -> bool:
        """Could this piece stand alone as a word? Single letters other than a/I and rare two-letter strings
        ("th", "ha", "pe") cannot."""
        low = part.lower()
        if len(low) == 1:
            return low in ("a", "i")
        if len(low) == 2:
            return low in _TWO_LETTER_WORDS
        return english_zipf(low) >= WORD_ZIPF or self.counts[low] >= 2

    def known_rate(self, text: str) -> float:
        """Share of the letters-only tokens (2+ letters) that are known words: the per-page quality measure."""
        tokens = [t for t in _ALPHA.findall(text) if len(t) >= 2]
        if not tokens:
            return 0.0
        # English, or printed 3+ times in the document: the pieces of a split word ("docu", "ment") are not.
        known = sum(1 for t in tokens if english_zipf(t.lower()) >= KNOWN_ZIPF or self.counts[t.lower()] >= 3)
        return known / len(tokens)


def should_join(vocab: Vocabulary, left: str, right: str) -> bool:
    """Join "pe" + "rformed": the joined word is known and the parts are not both words, or (both words) the
    joined word is more common in English than either part ("ser vice" -> "service", but "of ten" stays), or the
    document prints it whole and one part is uncommon."""
    if left.isupper():
        return False  # "hepatitis B and", "mitomycin C are", "CT or": a capital or an abbreviation
    joined = left + right
    if not vocab.known(joined):
        return False
    if not (vocab.is_word(left) and vocab.is_word(right)):
        return True
    parts = (english_zipf(left.lower()), english_zipf(right.lower()))
    if english_zipf(joined.lower()) > max(parts):
        return True
    # "fee ding": the document prints "feeding" whole elsewhere and "ding" is no common word ("of ten" stays).
    return vocab.counts[joined.lower()] >= 1 and min(parts) < COMMON_PART


_TOKEN = re.compile(r"[^ \n\t]+|[ \n\t]+")
_ALPHA_TOKEN = re.compile(r"[A-Za-z]+")
_LEFT_TOKEN = re.compile(r"[(\[\"'\u201c]?([A-Za-z]+)")


def join_spaced_words(text: str, vocab: Vocabulary) -> tuple[str, list[str]]:
    """Words an extractor split at a glyph gap, joined; returns (text, the joins made as 'pe rformed'). Only
    letters-only pieces one space apart are candidates, the second in lower case."""
    tokens = _TOKEN.findall(text)
    joins: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        while (_LEFT_TOKEN.fullmatch(token) and i + 2 < len(tokens) and tokens[i + 1] == " "
               and _ALPHA_TOKEN.fullmatch(tokens[i + 2].rstrip(".,;:)!?")) and tokens[i + 2][:1].islower()):
            right = tokens[i + 2].rstrip(".,;:)!?")
            if not should_join(vocab, _LEFT_TOKEN.fullmatch(token).group(1), right):
                break
            joins.append(f"{token} {right}")
            token = token + tokens[i + 2]
            i += 2
            if token != token.rstrip(".,;:)!?"):
                break
        out.append(token)
        i += 1
    return "".join(out), joins


_LINE_END_HYPHEN = re.compile(r"([^\W\d_]+)-\n([a-z][^\W\d_]*)")


def undo_hyphenation(text: str, vocab: Vocabulary) -> str:
    """"inter-\\nnational" -> "international"; "contrast-\\nenhanced" keeps its hyphen: the document prints it
    hyphenated (and never joined) elsewhere, or both parts are words and the joined form is rarer than either."""

    def repl(match: re.Match) -> str:
        left, right = match.group(1), match.group(2)
        joined, hyphenated = (left + right).lower(), f"{left}-{right}".lower()
        if hyphenated in vocab.hyphenated and vocab.counts[joined] == 0:
            return f"{left}-{right}"
        if vocab.counts[joined] >= 1 and hyphenated not in vocab.hyphenated:
            return left + right
        if vocab.is_word(left) and vocab.is_word(right) and \
                english_zipf(joined) <= min(english_zipf(left.lower()), english_zipf(right.lower())):
            return f"{left}-{right}"  # "half-life", "follow-up", "contrast-enhanced"
        return left + right

    return _LINE_END_HYPHEN.sub(repl, text)


# A citation number on a word (text without character sizes): "day.196", "patients.1,2", "(IgA-TG2)69".
_GLUED_MARKER = re.compile(r"(?<=[a-z%)\]])([.,;:]?)(\d{1,3}(?:[,\u2013-]\d{1,3})*)(?=\s|$)")


def strip_glued_markers(text: str) -> tuple[str, list[str]]:
    removed: list[str] = []

    def repl(match: re.Match) -> str:
        removed.append(match.group(2))
        return match.group(1)

    return _GLUED_MARKER.sub(repl, text), removed


def format_tables(text: str) -> str:
    """Runs of tab-separated lines (cells the extractor saw apart) become rows a reader can quote: the first row is
    the header, each later row reads "Header: cell; Header: cell". A lone tabbed line is plain text."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        cells = lines[i].split("\t")
        j = i + 1
        while j < len(lines) and len(lines[j].split("\t")) == len(cells) > 1:
            j += 1
        if len(cells) > 1 and j - i >= 2:
            header = [c.strip() for c in cells]
            for row in lines[i + 1:j]:
                cells = "; ".join(f"{h}: {c.strip()}" if h else c.strip()
                                  for h, c in zip(header, row.split("\t"), strict=True))
                out.append(cells if cells.endswith((".", "!", "?")) else cells + ".")  # one sentence per row
        else:
            out.extend(line.replace("\t", " ") for line in lines[i:j])
        i = j
    return "\n".join(out)


_GRADE_LINE = re.compile(
    r"([.!?])[ \t]*\n[ \t]*((?:Grade|GRADE|Level|Evidence level|Strength)[ :]+(?:[A-D][+-]?|[1-5][a-c]?|strong|"
    r"weak|high|moderate|low|very low)(?:[ ,;]+(?:strong|weak|high|moderate|low)[\w ]{0,20})?)[ \t]*(?=\n|$)")


def attach_grades(text: str) -> str:
    """A grade printed on its own line under a recommendation ("Grade B") joins the statement's sentence:
    "... should be offered (Grade B).", so a quote of the recommendation carries its grade."""
    return _GRADE_LINE.sub(lambda m: f" ({m.group(2).strip()}){m.group(1)}", text)


# ---------------------------------------------------------------- running headers and footers

def _norm_running(line: str) -> str:
    line = re.sub(r"\d+", "#", line.strip().lower())
    return re.sub(r"^#\s*|\s*#$", "", re.sub(r"\s+", " ", line))


PAGE_NUMBER = re.compile(r"^\s*(?:page\s*)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?\s*$", re.I)
RUNNING_EDGE = 4  # lines at the top and bottom of a page where headers and footers sit
RUNNING_ANYWHERE = 25  # a line this long recurring verbatim (but for its page number) is running wherever it is


def _norm_verbatim(line: str) -> str:
    """A line without a leading or trailing page number; the rest must match exactly."""
    return re.sub(r"^\d{1,4}\s+|\s+\d{1,4}$", "", re.sub(r"\s+", " ", line.strip()))


def strip_running_lines(pages: list[str]) -> tuple[list[str], list[str]]:
    """Remove running headers/footers: lines near the top or bottom that recur on several pages (digits ignored),
    long lines that recur verbatim anywhere on the page (two-column layouts can put the footer mid-text), and bare
    page numbers near the edges. Returns (pages, the distinct lines removed)."""
    edge = RUNNING_EDGE
    near: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    split_pages = [p.split("\n") for p in pages]
    for lines in split_pages:
        near.update({_norm_running(line) for line in lines[:edge] + lines[-edge:] if line.strip()})
        anywhere.update({v for v in map(_norm_verbatim, lines) if len(v) >= RUNNING_ANYWHERE})
    threshold = max(2, int(0.4 * len(pages)))
    running_near = {line for line, c in near.items() if c >= threshold and len(line) > 1}
    running_anywhere = {line for line, c in anywhere.items() if c >= threshold}
    cleaned: list[str] = []
    removed: dict[str, None] = {}
    for lines in split_pages:
        keep = []
        for i, line in enumerate(lines):
            near_edge = i < edge or i >= len(lines) - edge
            if near_edge and (_norm_running(line) in running_near or PAGE_NUMBER.match(line)) or \
                    running_anywhere and _norm_verbatim(line) in running_anywhere:
                if line.strip():
                    removed[line.strip()] = None
                continue
            keep.append(line)
        cleaned.append("\n".join(keep).strip())
    return cleaned, list(removed)
