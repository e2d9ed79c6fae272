"""`ioguide bench scale`: ingest rate, query latency and server memory at n synthetic chunks, against a
`chroma run` server of its own (or IOGUIDE_CHROMA_URL, in a database of its own)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..servers import ChromaServer, process_memory_mb

BENCH_DATABASE = "ioguide_bench"


def _bench_client(url: str, own_server: bool) -> tuple[object, Callable[[], None]]:
    """A client for the benchmark, and what to call when done. On a server we did not start, write into a database
    of its own (ioguide_bench, dropped afterwards), never into the collections the assistant uses."""
    from ..store import open_client, open_scratch_database

    if own_server:
        return open_client(chroma_url=url), lambda: None
    return open_scratch_database(url, BENCH_DATABASE)


def bench_scale(n: int, workdir: Path, chroma_url: str = "", batch: int = 1000, sentences_per_chunk: int = 3,
                repeats: int = 100, seed: int = 7, keep: bool = False,
                progress: Callable[[str], None] = print) -> dict:
    """Ingest rate, dense and full-retriever query latency, and server memory at n synthetic chunks.

    Vectors are random 384-d unit vectors and texts short random words (3 sentences of 12 words, each sentence
    with its own vector, as ingest writes them): this sizes the store and the query path, not answer quality.
    Written through ChromaStore.upsert in batches of `batch` chunks, into a fresh `chroma run` server on 127.0.0.1
    (or chroma_url, in a database of its own)."""
    from ..bm25 import rebuild_bm25
    from ..embedders import get_embedder
    from ..index import quiet_libraries
    from ..retrieve import Retriever
    from ..store import ChromaStore
    from ..types import DocumentInfo
    from .latency import DEFAULT_QUERIES, latencies
    from .synthetic import synthetic_batch, synthetic_vocab

    quiet_libraries()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    server = None
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    url = chroma_url
    if not chroma_url:
        data = workdir / f"chroma-{n}"
        shutil.rmtree(data, ignore_errors=True)
        server = ChromaServer(data).start()
        url = server.url
        progress(f"Started `chroma run` on {url} (data in {data}).")
    try:
        embedder = get_embedder()
        client, cleanup = _bench_client(url, server is not None)
        store = ChromaStore(client, embedder.model_id, create=True)
        rng = np.random.default_rng(seed)
        vocab = synthetic_vocab(rng)
        result: dict = {"chunks": n, "sentences_per_chunk": sentences_per_chunk, "batch": batch,
                        "server": "own chroma run" if server else url, "milestones": []}
        write_s = 0.0
        t_all = time.perf_counter()
        step = max(batch, (n // 10) // batch * batch)
        for start in range(0, n, batch):
            chunks, vecs, sents, svecs = synthetic_batch(rng, vocab, start, min(n, start + batch),
                                                         sentences_per_chunk)
            t = time.perf_counter()
            store.upsert(chunks, vecs, sents, svecs)
            write_s += time.perf_counter() - t
            done = min(n, start + batch)
            if done % step == 0 or done == n:
                mem = server.memory() if server else {}
                last = result["milestones"][-1] if result["milestones"] else {"chunks": 0, "write_s": 0.0}
                # the rate of this stretch alone: HNSW inserts get slower as the collection grows
                recent = (done - last["chunks"]) / max(1e-9, write_s - last["write_s"])
                result["milestones"].append({"chunks": done, "write_s": round(write_s, 1),
                                             "chunks_per_s_recent": round(recent, 1), **mem})
                progress(f"  {done}/{n} chunks, {done / write_s:.0f} chunks/s overall, {recent:.0f} recently "
                         f"({done * (1 + sentences_per_chunk) / write_s:.0f} vectors/s overall)"
                         + (f", server RSS {mem['rss_mb']:.0f} MB" if mem else ""))
        docs = sorted({f"scale-doc-{i // 10}" for i in range(n)})
        t = time.perf_counter()
        for d in docs[:1000]:  # the manifest is read whole by the retriever: a realistic size, not n/10 entries
            store.put_document(DocumentInfo(doc_id=d, title=d, source=f"synthetic:{d}"), 10)
        result["ingest"] = {"write_s": round(write_s, 1), "chunks_per_s": round(n / write_s, 1),
                            "vectors_per_s": round(n * (1 + sentences_per_chunk) / write_s, 1),
                            "wall_s": round(time.perf_counter() - t_all, 1)}
        result["server_after_ingest"] = server.memory() if server else {}

        qvecs = rng.normal(size=(64, 384)).astype(np.float32)
        qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
        store.query_ids(qvecs[0], 100)  # warm: the server loads the HNSW segment
        progress("Dense queries ...")
        result["dense_chunks_k100"] = latencies(lambda i: store.query_ids(qvecs[i % 64], 100), repeats)
        result["dense_sentences_k300"] = latencies(
            lambda i: store.query_ids(qvecs[i % 64], 300, sentences=True), repeats)

        progress("Building BM25 from the store ...")
        t = time.perf_counter()
        bm25_dir = workdir / f"bm25-{n}"
        rebuild_bm25(store, bm25_dir)
        result["bm25_rebuild_s"] = round(time.perf_counter() - t, 1)
        retriever = Retriever(store, embedder, bm25_dir)
        words = [" ".join(rng.choice(vocab, 4)) for _ in range(32)]
        queries = [q for pair in zip(DEFAULT_QUERIES * 4, words, strict=False) for q in pair]
        retriever.retrieve(queries[0])  # warm: model weights, BM25 load
        progress("Full retriever path ...")
        result["retriever_k5"] = latencies(lambda i: retriever.retrieve(f"{queries[i % len(queries)]} {i}", k=5),
                                            repeats)
        result["server_after_queries"] = server.memory() if server else {}
        result["client_peak_rss_mb"] = process_memory_mb(os.getpid())["peak_rss_mb"]
        result["store_chunks"] = store.count()
        return result
    finally:
        if not keep:
            try:
                cleanup()
            except Exception:  # noqa: BLE001 - best effort: the figures matter more than the tidy-up
                pass
        if server is not None:
            server.stop()
            if not keep:
                shutil.rmtree(server.path, ignore_errors=True)


def format_scale(result: dict) -> str:
    ing = result["ingest"]
    lines = [f"{result['chunks']} chunks (+{result['sentences_per_chunk']} sentence vectors each), batches of "
             f"{result['batch']}, {result['server']}",
             f"ingest      {ing['chunks_per_s']:.0f} chunks/s ({ing['vectors_per_s']:.0f} vectors/s), "
             f"{ing['write_s']:.0f} s writing"]
    for name in ("dense_chunks_k100", "dense_sentences_k300", "retriever_k5"):
        r = result[name]
        lines.append(f"{name:20} p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  ({r['queries']} queries)")
    lines.append(f"bm25 rebuild {result['bm25_rebuild_s']} s")
    for name in ("server_after_ingest", "server_after_queries"):
        if result.get(name):
            lines.append(f"{name:20} RSS {result[name]['rss_mb']:.0f} MB (peak {result[name]['peak_rss_mb']:.0f} MB)")
    lines.append(f"client peak RSS {result['client_peak_rss_mb']:.0f} MB")
    return "\n".join(lines)
