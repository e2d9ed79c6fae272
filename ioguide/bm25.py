"""The BM25 side of hybrid retrieval: bm25s with Snowball stemming (PyStemmer), persisted next to the index.

The on-disk copy is a cache of what the store holds. It is tagged with the store's fingerprint, so any process
(several app workers on one Chroma server) notices a change made by another and rebuilds from the store.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import numpy as np

# Keep numbers with decimals and dashes as one token ("0.5", "y-90") besides plain words.
TOKEN_PATTERN = r"(?u)\b\w[\w.]*\w\b|\b\w\b"


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


class BM25Index:
    def __init__(self, k1: float = 1.2, b: float = 0.75):
        self.k1 = k1
        self.b = b
        self.ids: list[str] = []
        self.position: dict[str, int] = {}
        self.fingerprint = ""
        self._retriever = None
        self._stemmer = _stemmer()
        self._lock = threading.Lock()

    def tokenize(self, texts: list[str]) -> list[list[str]]:
        import bm25s

        cleaned = [re.sub(r"(?<=\w)[.](?!\w)", " ", t) for t in texts]
        return bm25s.tokenize(cleaned, stopwords="en", stemmer=self._stemmer, token_pattern=TOKEN_PATTERN,
                              return_ids=False, show_progress=False)

    def build(self, ids: list[str], texts: list[str], fingerprint: str = "") -> None:
        import bm25s

        retriever = bm25s.BM25(k1=self.k1, b=self.b)
        tokens = self.tokenize(texts) if texts else []
        if tokens:
            retriever.index(tokens, show_progress=False)
        with self._lock:
            self._retriever = retriever if tokens else None
            self.ids = list(ids)
            self.position = {cid: i for i, cid in enumerate(self.ids)}
            self.fingerprint = fingerprint

    def scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every indexed chunk for query (zeros where the mask is 0)."""
        if self._retriever is None or not self.ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        tokens = self.tokenize([query])[0]
        vocab = self._retriever.vocab_dict
        tokens = [t for t in tokens if t in vocab]
        if not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        scores = self._retriever.get_scores(tokens)
        if mask is not None:
            scores = scores * mask
        return scores.astype(np.float32)

    def contains(self, word: str) -> bool:
        """Whether any indexed chunk holds word (compared by stem, as BM25 matches)."""
        if self._retriever is None:
            return False
        stems = self.tokenize([word])[0]
        return bool(stems) and all(s in self._retriever.vocab_dict for s in stems)

    def has_stem(self, stem: str) -> bool:
        """Whether an already stemmed token is in the index's vocabulary."""
        return self._retriever is not None and stem in self._retriever.vocab_dict

    def words(self, prefix: str) -> list[str]:
        """Indexed stems that start with prefix (for typo-tolerant lookups)."""
        if self._retriever is None:
            return []
        by_prefix = getattr(self, "_by_prefix", None)
        if by_prefix is None:
            by_prefix = {}
            for term in self._retriever.vocab_dict:
                by_prefix.setdefault(str(term)[:2], []).append(str(term))
            self._by_prefix = by_prefix
        return by_prefix.get(prefix[:2], [])

    def save(self, directory: Path) -> None:
        """Write atomically: a reader never sees a half-written index."""
        from .files import replace_dir_atomically

        def fill(tmp: Path) -> None:
            if self._retriever is not None:
                self._retriever.save(str(tmp / "bm25"), show_progress=False)
            (tmp / "meta.json").write_text(json.dumps({"ids": self.ids, "fingerprint": self.fingerprint,
                                                       "k1": self.k1, "b": self.b}))

        replace_dir_atomically(Path(directory), fill)

    @classmethod
    def load(cls, directory: Path) -> BM25Index | None:
        """The saved index, or None when there is none or it cannot be read (it is then rebuilt)."""
        import bm25s

        directory = Path(directory)
        try:
            meta = json.loads((directory / "meta.json").read_text())
            index = cls(k1=meta.get("k1", 1.2), b=meta.get("b", 0.75))
            if (directory / "bm25").exists():
                index._retriever = bm25s.BM25.load(str(directory / "bm25"), show_progress=False)
            index.ids = list(meta["ids"])
            index.position = {cid: i for i, cid in enumerate(index.ids)}
            index.fingerprint = meta.get("fingerprint", "")
            return index
        except (OSError, ValueError, KeyError):
            return None


def fingerprint_of(ids: list[str]) -> str:
    """Identifies a set of chunks: equal sets, equal fingerprints."""
    import hashlib

    digest = hashlib.sha256()
    for cid in sorted(ids):
        digest.update(cid.encode())
    return digest.hexdigest()[:32]


def rebuild_bm25(store, directory: Path) -> BM25Index:
    """Rebuild the BM25 index from what the store holds and save it, tagged with the store's fingerprint."""
    from .text import chunk_embedding_text

    ids, texts = [], []
    for chunk in store.iter_chunks():
        ids.append(chunk.chunk_id)
        texts.append(chunk_embedding_text(chunk.title, chunk.section, chunk.text))
    fp = fingerprint_of(ids)
    if store.fingerprint() != fp:
        store.set_fingerprint(fp)
    index = BM25Index()
    index.build(ids, texts, fp)
    index.save(directory)
    return index
