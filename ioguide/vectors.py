"""Exact dense search in memory, for indexes small enough to hold: every chunk vector and every sentence vector as
one float32 matrix each, scored with one matrix-vector product per query.

Why: at hospital sizes (thousands to a few hundred thousand vectors) a brute-force product is both exact (recall
1.0, where Chroma's HNSW on short, partly identical sentences measured 0.957) and faster than two Chroma queries
plus a fetch of the candidates' vectors (10k chunks: about 2 ms against about 20 ms here). Above
`exact_search_max_vectors` the retriever uses Chroma's HNSW instead.

Like BM25, the on-disk copy is a cache of what the store holds, tagged with the store's fingerprint and replaced
atomically; readers map it read-only, so several processes on one machine share its pages.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .config import EXACT_SEARCH_MAX_VECTORS

# chunks + sentences; 384-d float32: about 150 MB, about 10 ms a scan here
DEFAULT_MAX_VECTORS = EXACT_SEARCH_MAX_VECTORS


def vectors_dir_for(bm25_dir: Path) -> Path:
    return Path(bm25_dir).with_name("vectors")


@dataclass
class VectorIndex:
    fingerprint: str
    chunk_ids: list[str]
    chunks: np.ndarray  # (n_chunks, d), unit rows
    sentences: np.ndarray  # (n_sentences, d), grouped by chunk row, in text order within a chunk
    first: np.ndarray  # (n_chunks,) index of each chunk's first sentence row
    last: np.ndarray  # (n_chunks,) one past its last sentence row (first == last: no sentences)
    spans: np.ndarray  # (n_sentences, 2) start, end offsets in the chunk text

    def __post_init__(self) -> None:
        self.row = {cid: i for i, cid in enumerate(self.chunk_ids)}
        self.sentence_chunk = np.repeat(np.arange(len(self.chunk_ids)), self.last - self.first)

    # ------------------------------------------------------------ queries

    def chunk_sims(self, qvec: np.ndarray) -> np.ndarray:
        return self.chunks @ qvec.astype(np.float32, copy=False)

    def sentence_sims(self, qvec: np.ndarray) -> np.ndarray:
        return self.sentences @ qvec.astype(np.float32, copy=False)

    def best_per_chunk(self, sims: np.ndarray) -> np.ndarray:
        """Each chunk's best sentence similarity (-1 for a chunk without sentences)."""
        out = np.full(len(self.chunk_ids), -1.0, dtype=np.float32)
        has = self.last > self.first
        if sims.size and has.any():
            out[has] = np.maximum.reduceat(sims, self.first[has])
        return out

    def best_sentence(self, row: int, sims: np.ndarray) -> tuple[int, int] | None:
        a, b = int(self.first[row]), int(self.last[row])
        if b <= a:
            return None
        i = a + int(np.argmax(sims[a:b]))
        return int(self.spans[i, 0]), int(self.spans[i, 1])

    def sentence_records(self, chunk_ids: list[str]) -> dict[str, list[tuple[int, int, np.ndarray]]]:
        """Same shape as ChromaStore.sentence_records, from memory."""
        out: dict[str, list[tuple[int, int, np.ndarray]]] = {}
        for cid in chunk_ids:
            row = self.row.get(cid)
            if row is None:
                continue
            a, b = int(self.first[row]), int(self.last[row])
            out[cid] = [(int(self.spans[i, 0]), int(self.spans[i, 1]), self.sentences[i]) for i in range(a, b)]
        return out

    def chunk_vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        return {cid: self.chunks[self.row[cid]] for cid in chunk_ids if cid in self.row}

    @property
    def size(self) -> int:
        return len(self.chunk_ids) + len(self.sentences)

    # ------------------------------------------------------------ building, saving, loading

    @classmethod
    def from_store(cls, store, fingerprint: str) -> VectorIndex:
        ids: list[str] = []
        mats: list[np.ndarray] = []
        for batch_ids, matrix, _ in store.iter_vectors():
            ids += batch_ids
            mats.append(matrix)
        dim = mats[0].shape[1] if mats else 384
        chunks = np.vstack(mats) if mats else np.zeros((0, dim), dtype=np.float32)
        row = {cid: i for i, cid in enumerate(ids)}
        owners: list[int] = []
        spans: list[tuple[int, int]] = []
        smats: list[np.ndarray] = []
        for _, matrix, metas in store.iter_vectors(sentences=True):
            keep = []
            for j, meta in enumerate(metas):
                r = row.get(meta.get("chunk_id", ""))
                if r is None:
                    continue  # a sentence whose chunk is gone (an interrupted delete): never shown
                keep.append(j)
                owners.append(r)
                spans.append((int(meta.get("start", 0)), int(meta.get("end", 0))))
            smats.append(matrix[keep])
        sentences = np.vstack(smats) if smats else np.zeros((0, dim), dtype=np.float32)
        owners_arr = np.asarray(owners, dtype=np.int64)
        spans_arr = np.asarray(spans, dtype=np.int32).reshape(-1, 2)
        order = np.lexsort((spans_arr[:, 0], owners_arr)) if len(owners_arr) else np.zeros(0, dtype=np.int64)
        owners_arr, spans_arr, sentences = owners_arr[order], spans_arr[order], sentences[order]
        counts = np.bincount(owners_arr, minlength=len(ids)) if len(ids) else np.zeros(0, dtype=np.int64)
        last = np.cumsum(counts)
        first = last - counts
        return cls(fingerprint, ids, np.ascontiguousarray(chunks, dtype=np.float32),
                   np.ascontiguousarray(sentences, dtype=np.float32), first.astype(np.int64),
                   last.astype(np.int64), spans_arr)

    def save(self, directory: Path) -> None:
        """Write atomically: a reader never sees a half-written cache."""
        from .files import replace_dir_atomically

        def fill(tmp: Path) -> None:
            for name in ("chunks", "sentences", "first", "last", "spans"):
                np.save(tmp / f"{name}.npy", getattr(self, name))
            (tmp / "meta.json").write_text(json.dumps({"fingerprint": self.fingerprint, "ids": self.chunk_ids}))

        replace_dir_atomically(Path(directory), fill)

    @classmethod
    def load(cls, directory: Path) -> VectorIndex | None:
        """The saved cache (memory-mapped read-only), or None when missing or unreadable (it is then rebuilt)."""
        directory = Path(directory)
        try:
            meta = json.loads((directory / "meta.json").read_text())
            arrays = {name: np.load(directory / f"{name}.npy", mmap_mode="r")
                      for name in ("chunks", "sentences", "first", "last", "spans")}
            index = cls(meta["fingerprint"], list(meta["ids"]), **arrays)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        n = len(index.chunk_ids)
        if not (len(index.chunks) == len(index.first) == len(index.last) == n
                and len(index.sentences) == len(index.spans) and (n == 0 or int(index.last[-1]) == len(index.spans))):
            return None  # inconsistent files: rebuild rather than answer from a broken cache
        return index


def stored_vectors(store) -> int:
    """How many vectors the store holds (chunks + sentences)."""
    return int(store.count()) + int(store.sentence_count())


def rebuild_vectors(store, directory: Path, fingerprint: str,
                    max_vectors: int = DEFAULT_MAX_VECTORS) -> VectorIndex | None:
    """Rebuild and save the in-memory cache from the store; None (and any old cache removed) when the index holds
    more than max_vectors, or nothing."""
    if not fingerprint or max_vectors <= 0 or stored_vectors(store) > max_vectors:
        shutil.rmtree(directory, ignore_errors=True)
        return None
    index = VectorIndex.from_store(store, fingerprint)
    index.save(directory)
    return index
