"""`ioguide bench ingest`: the ingest rate against the embedder's own rate on the same texts. Runs the write path
(ingest/) by design: see retrieval.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def bench_ingest(paths: list[Path], workdir: Path, progress: Callable[[str], None] = print) -> dict:
    """Ingest rate (chunks/s, load + chunk + embed + write) against the embedder's own rate on the same texts
    (chunk and sentence embeddings only): the ceiling an ingest can reach on this machine."""
    import shutil

    from ingest.chunking import chunk_sections
    from ingest.index import scan, sentence_records, sync
    from ingest.loaders import load_file

    from ..index import open_index
    from ..text import chunk_embedding_text, sentence_embedding_text

    shutil.rmtree(workdir, ignore_errors=True)
    handle = open_index(workdir, create=True)
    emb = handle.embedder
    emb.embed_documents(["warm up"])
    files, _, _ = scan(paths)
    chunks = []
    for f in files:
        try:
            info, sections = load_file(f)
        except Exception:  # noqa: BLE001 - skipped files are not part of the rate
            continue
        chunks += chunk_sections(info, sections, emb.count_tokens_batch, emb.max_tokens)
    texts = [chunk_embedding_text(c.title, c.section, c.text) for c in chunks]
    sents = [sentence_embedding_text(c.title, c.section, c.text[a:b]) for c in chunks
             for _, _, a, b in sentence_records(c)]
    progress(f"Embedding {len(texts)} chunks and {len(sents)} sentences (embedder only) ...")
    t = time.perf_counter()
    emb.embed_documents(texts)
    emb.embed_documents(sents)
    embed_s = time.perf_counter() - t
    progress("Full ingest into an empty index ...")
    t = time.perf_counter()
    report = sync(paths, handle.store, emb, handle.bm25_dir)
    ingest_s = time.perf_counter() - t
    return {"files": len(report.indexed), "chunks": report.chunks_written, "sentences": report.sentences_written,
            "embedder_only_s": round(embed_s, 2), "ingest_s": round(ingest_s, 2),
            "embedder_chunks_per_s": round(len(texts) / embed_s, 1),
            "ingest_chunks_per_s": round(report.chunks_written / ingest_s, 1),
            "ingest_share_of_embedder_rate": round(embed_s / ingest_s, 3)}
