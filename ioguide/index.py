"""Opening the index: one place that turns settings into (store, embedder, bm25 folder), for every entry point."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .embedders import get_embedder
from .store import ChromaStore, Store, open_client


def quiet_libraries() -> None:
    """No telemetry, no hub access, no tokenizer chatter; deliberate thread counts on 2 cores."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    try:  # numpy may have loaded its BLAS before these variables were set (streamlit, a test runner, a notebook)
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        pass
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()  # "Loading weights" bars on every model load
    except ImportError:  # pragma: no cover
        pass


@dataclass
class IndexHandle:
    store: Store
    embedder: object
    bm25_dir: Path
    index_dir: Path
    chroma_url: str


def bm25_dir_for(index_dir: Path, chroma_url: str) -> Path:
    """BM25 lives beside the embedded index; for a server, in a local cache folder named after the server."""
    if chroma_url:
        safe = "".join(ch if ch.isalnum() else "_" for ch in chroma_url)
        return Path(index_dir) / "server-cache" / safe / "bm25"
    return Path(index_dir) / "bm25"


def open_index(index_dir: Path | str, chroma_url: str = "", embedder_name: str = "minilm", embedder_path: str = "",
               create: bool = False) -> IndexHandle:
    quiet_libraries()
    index_dir = Path(index_dir)
    embedder = get_embedder(embedder_name, embedder_path)
    if not create and not chroma_url and not (index_dir / "chroma.sqlite3").exists():
        from .errors import NoIndexError

        raise NoIndexError(f"No index at {index_dir}: run `python -m ingest corpus/ --index {index_dir}` first.")
    client = open_client(index_dir, chroma_url)
    store = ChromaStore(client, embedder.model_id, create=create)
    return IndexHandle(store=store, embedder=embedder, bm25_dir=bm25_dir_for(index_dir, chroma_url),
                       index_dir=index_dir, chroma_url=chroma_url)
