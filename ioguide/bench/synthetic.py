"""Synthetic chunks (random pseudo-words, random unit vectors) that size the store and the query path without hours
of embedding: used by `bench latency --chunks` and `bench scale`."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def synthetic_vocab(rng: np.random.Generator, size: int = 20000) -> np.ndarray:
    """Random pseudo-words (4-9 letters) for synthetic chunks."""
    letters = list("abcdefghiklmnoprstuvy")
    return np.array(["".join(rng.choice(letters, rng.integers(4, 10))) for _ in range(size)])


def synthetic_batch(rng: np.random.Generator, vocab: np.ndarray, start: int, stop: int, sentences_per_chunk: int,
                    words_per_sentence: int = 12, prefix: str = "scale"):
    """Chunks start..stop-1 of random words, with random unit vectors for each chunk and each sentence:
    (chunks, vectors, sentence records as ingest writes them, sentence vectors)."""
    from ..types import Chunk

    chunks, sents = [], []
    for i in range(start, stop):
        parts = [" ".join(rng.choice(vocab, words_per_sentence)) for _ in range(max(1, sentences_per_chunk))]
        text = ". ".join(parts) + "."
        chunk = Chunk(chunk_id=f"{prefix}{i:09d}", doc_id=f"{prefix}-doc-{i // 10}", title=f"Synthetic {i // 10}",
                      text=text, ordinal=i % 10, section="Synthetic section")
        chunks.append(chunk)
        if sentences_per_chunk:
            pos = 0
            for j, part in enumerate(parts):
                sents.append((f"{chunk.chunk_id}:{j}", chunk.chunk_id, pos, pos + len(part)))
                pos += len(part) + 2
    vecs = rng.normal(size=(len(chunks), 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    svecs = rng.normal(size=(len(sents), 384)).astype(np.float32)
    if len(sents):
        svecs /= np.linalg.norm(svecs, axis=1, keepdims=True)
    return chunks, vecs, sents, svecs


def synthetic_index(n: int, cache: Path, progress: Callable[[str], None] = print, seed: int = 7):
    """An index of n synthetic chunks (3 sentences of 40 random words, random unit vectors for chunks and
    sentences), built once and cached: sizes the query path without hours of embedding."""
    from ..bm25 import rebuild_bm25
    from ..index import open_index
    from ..types import DocumentInfo

    handle = open_index(cache, create=True)
    if handle.store.count() >= n:
        progress(f"Using cached synthetic index at {cache} ({handle.store.count()} chunks).")
        return handle
    rng = np.random.default_rng(seed)
    vocab = synthetic_vocab(rng)
    progress(f"Writing {n} synthetic chunks into {cache} ...")
    t0 = time.perf_counter()
    batch = 1000
    for start in range(handle.store.count(), n, batch):
        chunks, vecs, sents, svecs = synthetic_batch(rng, vocab, start, min(n, start + batch), 3,
                                                     words_per_sentence=40, prefix="syn")
        handle.store.upsert(chunks, vecs, sents, svecs)
        for d in sorted({c.doc_id for c in chunks}):
            handle.store.put_document(DocumentInfo(doc_id=d, title=d, source=f"synthetic:{d}"), 10)
        done = min(n, start + batch)
        if done % 10000 == 0 or done == n:
            progress(f"  {done}/{n} chunks, {done / (time.perf_counter() - t0):.0f} chunks/s")
    rebuild_bm25(handle.store, handle.bm25_dir)
    return handle
