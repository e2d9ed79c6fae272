"""Core data types shared by the write path (ingest) and the read path (retrieve, answer, app).

This module imports nothing else from the package, so every other module can depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Page:
    """A page (or a whole page-less document) of text as loaded from a file. page_number is 1-based; None for
    documents without pages (Markdown, HTML, text)."""

    doc_id: str
    page_number: int | None
    text: str


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path, possibly spanning pages.

    page_breaks holds (offset, page_number) pairs: the page that starts at each character offset of text."""

    path: tuple[str, ...]
    text: str
    page_breaks: tuple[tuple[int, int], ...] = ()
    sources: tuple[str, ...] = ()
    # What the text is to a reader: "body" (guidance), or a part that is not: "references", "affiliations",
    # "acknowledgements", "funding", "conflicts", "declarations". Indexed all the same; answering ranks non-body
    # text below body text and quotes it only for a question about it.
    role: str = "body"


@dataclass(frozen=True)
class DocumentInfo:
    """What is known about a source document: filled from front matter, PDF metadata, or the file name."""

    doc_id: str
    title: str
    source: str  # absolute file path, or URL
    issuer: str = ""
    edition: str = ""
    kind: str = "official"  # summary | official | centre
    collection: str = "guidelines"  # guidelines | centre
    source_url: str = ""
    topics: tuple[str, ...] = ()
    licence_note: str = ""
    pages: int | None = None
    file_hash: str = ""


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    title: str
    text: str
    ordinal: int
    section: str = ""
    page_start: int | None = None
    page_end: int | None = None
    edition: str = ""
    issuer: str = ""
    kind: str = "official"
    collection: str = "guidelines"
    source: str = ""
    source_url: str = ""
    section_sources: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    # (offset in text, page number) for every page that starts inside this chunk; first entry is page_start.
    page_breaks: tuple[tuple[int, int], ...] = ()
    role: str = "body"  # the Section's role (body, references, affiliations, acknowledgements, funding, ...)

    def page_at(self, offset: int) -> int | None:
        """The 1-based page on which the character at `offset` of text lies (None without pages)."""
        page = self.page_start
        for start, number in self.page_breaks:
            if start <= offset:
                page = number
            else:
                break
        return page


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    found_by: tuple[str, ...] = ()  # "bm25", "dense", "sentence", "neighbour"
    features: dict[str, float] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Citation:
    n: int  # passage marker, 1-based, as in [n]
    chunk_id: str
    doc_id: str
    title: str
    source: str
    page: int | None
    section: str
    quote: str  # exact substring of the passage text
    start: int  # character offsets of quote in the passage text
    end: int
    edition: str = ""
    support: float = 0.0  # how strongly the quote supports the answer sentence (verification score)


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    citations: tuple[Citation, ...]
    passages: tuple[Hit, ...]  # numbered 1..len in order; markers [n] index this tuple
    grounded: bool
    backend: str = "extractive"
    query: str = ""  # the standalone query actually searched (after follow-up rewriting)
    relevance: float = 0.0
    notes: tuple[str, ...] = ()  # e.g. "LLM unavailable: extractive answer shown"
    closest: tuple[str, ...] = ()  # for abstentions: the documents that came closest
    removed: tuple[tuple[str, str], ...] = ()  # LLM sentences removed by verification: (sentence, reason)
    timings_ms: dict[str, float] = field(default_factory=dict, compare=False, hash=False)
