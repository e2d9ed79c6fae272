"""Text utilities shared by chunking and answering: normalisation, sentence spans, tokens for lexical matching.

Sentence splitting is a small rule set written here on purpose: nltk's punkt needs a data download (not possible
offline) and pysbd is slow and unmaintained. Spans are character offsets, so quotes can be highlighted exactly.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_ABBREVIATIONS = {
    "e.g", "i.e", "al", "vs", "fig", "figs", "no", "nos", "dr", "prof", "approx", "ca", "cf", "etc", "mr", "mrs",
    "ms", "st", "vol", "pp", "p", "ref", "refs", "dept", "inc", "ltd", "jr", "sr", "min", "max", "mg", "ml", "resp",
    "incl", "eq", "sec", "tab", "suppl", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
    "nov", "dec", "u.s", "u.k", "e.v", "n.b", "v",  # "v": a case name, "Mohr v. Williams"
}

_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def normalise_text(text: str) -> str:
    """NFKC (ligatures like 'fi' become plain letters), no zero-width or bidi control characters, no NULs or other
    control characters except newlines and tabs, unified line endings."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


_BOUNDARY = re.compile(r"([.!?;:]|[.!?][\"')\]]+)(\s+)")
BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of text, whitespace trimmed. Newline-separated list items and
    headings-like lines are their own sentences; a single newline inside prose is not a boundary."""
    spans: list[tuple[int, int]] = []
    # First split into blocks: blank lines, and lines that start a list item, start a new block.
    blocks: list[tuple[int, int]] = []
    pos = 0
    lines = text.split("\n")
    block_start = 0
    offset = 0
    for i, line in enumerate(lines):
        line_start = offset
        offset += len(line) + 1
        starts_block = not line.strip() or BULLET.match(line) is not None
        if i > 0 and starts_block:
            blocks.append((block_start, line_start - 1))
            block_start = line_start
    blocks.append((block_start, len(text)))
    for b_start, b_end in blocks:
        block = text[b_start:b_end]
        pos = 0
        for match in _BOUNDARY.finditer(block):
            end = match.end(1)
            punct = match.group(1)[0]
            cut = match.start(1)
            # Look back a little only: slicing and searching all text since the last boundary is quadratic
            # when many '.' are not sentence ends ("word. word. ...").
            before = block[max(pos, cut - 64):cut]
            word = re.search(r"([A-Za-z][A-Za-z.]*)$", before)
            after = block[match.end():match.end() + 1]
            if punct == ".":
                if cut - pos <= 64 and re.fullmatch(r"\s*\d{1,2}", block[pos:cut]):
                    continue  # a list number: "3. Item"
                if word and word.group(1).lower().rstrip(".") in _ABBREVIATIONS:
                    continue
                if word and len(word.group(1)) == 1 and word.group(1).isupper():
                    continue  # initials: "J. Smith"
                if after and (after.islower() or after.isdigit() and re.search(r"\d$", before)):
                    continue
            elif punct in ";:":
                continue  # kept inside the sentence; only .!? end one
            _append(spans, block, b_start, pos, end)
            pos = match.end()
        _append(spans, block, b_start, pos, len(block))
    return spans


def _append(spans: list[tuple[int, int]], block: str, base: int, start: int, end: int) -> None:
    piece = block[start:end]
    stripped = piece.strip()
    if not stripped:
        return
    lead = len(piece) - len(piece.lstrip())
    spans.append((base + start + lead, base + start + lead + len(stripped)))


def split_sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


_WORD = re.compile(r"[A-Za-z0-9\u00C0-\u024F]+(?:[.,][0-9]+)*")
STOPWORDS = frozenset(
    """a an and are as at be by can could did do does for from had has have how i if in into is it its may me might
    must my of on or our should so than that the their them then there these they this those to was we were what
    when where which who whom why will with would you your about any all also after before both each other such
    tell please us per""".split()
)


def content_terms(text: str) -> list[str]:
    """Lower-cased words and numbers of text without stopwords (for lexical overlap, not for BM25)."""
    return [w for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in STOPWORDS]


_NUMBER = re.compile(r"(?<![A-Za-z])\d+(?:[.,]\d+)?")


def numbers_in(text: str) -> set[str]:
    return {m.group(0).replace(",", ".") for m in _NUMBER.finditer(text)}


def squash(text: str) -> str:
    """Case-, whitespace- and dash-normalised form for containment checks."""
    text = normalise_text(text).lower()
    text = re.sub(r"[\u2010-\u2015\u2212-]", "-", text)
    text = re.sub(r"\s*-\s*", "-", text)
    return re.sub(r"\s+", " ", text).strip()


def embedding_header(title: str, section: str) -> str:
    """The context put in front of a chunk's text when it is embedded and indexed for BM25."""
    return f"{title}. {section}.\n" if section else f"{title}.\n"


def chunk_embedding_text(title: str, section: str, text: str) -> str:
    return embedding_header(title, section) + text


def sentence_embedding_text(title: str, section: str, sentence: str) -> str:
    """A sentence is embedded with its section (or the title) so "It lasts 4 years" keeps its subject."""
    context = section.split(" > ")[-1] if section else title
    return f"{context}: {sentence}"


def citation_label(title: str, edition: str = "", section: str = "", pages: Iterable[int | None] = ()) -> str:
    """How a source is named everywhere (CLI, app, exports, reports, drafts): "Title (edition) — section, p. 3, 4".
    The edition is left out when the title already holds it ("... Chemoembolisation (2021)" never gets a second
    "(2021)")."""
    label = title.strip()
    edition = str(edition or "").strip()
    if edition and edition.lower() not in label.lower():
        label += f" ({edition})"
    if section:
        label += f" — {section}"
    numbers = [str(p) for p in dict.fromkeys(pages) if p is not None]
    if numbers:
        label += ", p. " + ", ".join(numbers)
    return label


@lru_cache(maxsize=200_000)
def english_zipf(word: str) -> float:
    """How common a word is in English on wordfreq's Zipf scale (0 = unseen, 3 = once per million words, 7 = "the");
    cached, as the PDF reader, the concept check and the verifier ask about the same words many times."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")
