"""Chunking: sections -> chunks that fit the embedding model's window, measured with the model's own tokenizer.

A chunk is a run of whole sentences of one section. A sentence longer than the window is cut at word boundaries
into several chunks; no text is dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from ioguide.text import embedding_header, sentence_spans
from ioguide.types import Chunk, DocumentInfo, Section

TokenCounter = Callable[[list[str]], list[int]]


def chunk_id_for(doc_id: str, section: str, page: int | None, text: str, occurrence: int) -> str:
    key = f"{doc_id}\x1f{section}\x1f{page}\x1f{occurrence}\x1f{text}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _word_pieces(text: str, start: int, end: int, budget: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Cut text[start:end] at spaces into pieces of at most budget tokens."""
    pieces: list[tuple[int, int]] = []
    words: list[tuple[int, int]] = []
    pos = start
    for part in text[start:end].split(" "):
        if part:
            words.append((pos, pos + len(part)))
        pos += len(part) + 1
    i = 0
    while i < len(words):
        lo, hi = i + 1, len(words)
        # Binary search for the longest run of words that fits.
        best = i + 1
        while lo <= hi:
            mid = (lo + hi) // 2
            n = count([text[words[i][0]:words[mid - 1][1]]])[0] - 2
            if n <= budget:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        pieces.append((words[i][0], words[best - 1][1]))
        i = best
    return pieces


def chunk_sections(info: DocumentInfo, sections: list[Section], count: TokenCounter, max_tokens: int = 256,
                   target_tokens: int | None = None) -> list[Chunk]:
    """Pack each section's sentences into chunks of at most max_tokens word pieces (header included)."""
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for section in sections:
        section_name = " > ".join(section.path)
        header = embedding_header(info.title, section_name)
        header_tokens = count([header])[0] - 2
        budget = max(32, max_tokens - 2 - header_tokens)
        goal = min(budget, target_tokens or budget)
        text = section.text
        spans = sentence_spans(text)
        if not spans:
            continue
        sizes = count([text[a:b] for a, b in spans])
        units: list[tuple[int, int, int]] = []  # (start, end, tokens)
        for (a, b), n in zip(spans, sizes, strict=True):
            n -= 2
            if n <= budget:
                units.append((a, b, n))
            else:
                for pa, pb in _word_pieces(text, a, b, budget, count):
                    units.append((pa, pb, count([text[pa:pb]])[0] - 2))
        groups: list[list[tuple[int, int, int]]] = []
        current: list[tuple[int, int, int]] = []
        used = 0
        for unit in units:
            # +1 per join: a space or newline between sentences may add no piece, this is an upper bound.
            if current and used + unit[2] + 1 > goal:
                groups.append(current)
                current, used = [], 0
            current.append(unit)
            used += unit[2] + 1
        if current:
            groups.append(current)
        # Verify against the real tokenizer: joins can tokenize differently; split a group that overflows.
        verified: list[list[tuple[int, int, int]]] = []
        queue = groups[::-1]
        while queue:
            group = queue.pop()
            body = text[group[0][0]:group[-1][1]]
            if len(group) > 1 and count([header + body])[0] > max_tokens:
                half = len(group) // 2
                queue.append(group[half:])
                queue.append(group[:half])
                continue
            verified.append(group)
        for group in verified:
            start, end = group[0][0], group[-1][1]
            body = text[start:end]
            page_start = page_end = None
            local_breaks: list[tuple[int, int]] = []
            if section.page_breaks:
                page_start = section.page_breaks[0][1]
                for off, number in section.page_breaks:
                    if off <= start:
                        page_start = number
                    elif off < end:
                        local_breaks.append((off - start, number))
                local_breaks.insert(0, (0, page_start))
                page_end = local_breaks[-1][1]
            base_key = f"{section_name}|{page_start}|{body}"
            occurrence = seen.get(base_key, 0)
            seen[base_key] = occurrence + 1
            chunks.append(Chunk(
                chunk_id=chunk_id_for(info.doc_id, section_name, page_start, body, occurrence),
                doc_id=info.doc_id, title=info.title, text=body, ordinal=len(chunks), section=section_name,
                page_start=page_start, page_end=page_end, edition=info.edition, issuer=info.issuer,
                kind=info.kind, collection=info.collection, source=info.source, source_url=info.source_url,
                section_sources=section.sources, topics=info.topics, page_breaks=tuple(local_breaks),
                role=section.role,
            ))
    return chunks
