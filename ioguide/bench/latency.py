"""Query latency of the full retriever path at the bundled corpus size or a synthetic one, and the timing helper
the other benchmarks share."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..retrieve import Retriever
from ..stats import percentile


def bench_latency(handle, chunks: int = 0, queries: list[str] | None = None, repeats: int = 200,
                  progress: Callable[[str], None] = print, exact_max_vectors: int | None = None) -> dict:
    """p50/p95 of the full query path (embed + BM25 + dense + sentence + fusion + fetch), and peak memory.
    exact_max_vectors=0 forces Chroma's HNSW for the dense side (default: exact in memory when it fits)."""
    import resource

    retriever = Retriever(handle.store, handle.embedder, handle.bm25_dir,
                          **({} if exact_max_vectors is None else {"exact_max_vectors": exact_max_vectors}))
    queries = queries or DEFAULT_QUERIES
    retriever.retrieve(queries[0])  # warm: model load, BM25 load
    timed = latencies(lambda i: retriever.retrieve(queries[i % len(queries)] + ("" if i < len(queries) else f" {i}"),
                                                   k=5, expand=False), repeats)
    return {"chunks": handle.store.count(), "dense": "exact" if retriever.exact else "hnsw", **timed,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


DEFAULT_QUERIES = [
    "minimum number of procedures per year for IASIOS accreditation",
    "how long does IASIOS accreditation last",
    "grades of the CIRSE classification of complications",
    "contraindications to TACE",
    "ablative margin for liver radiofrequency ablation",
    "lung shunt fraction limit for radioembolisation",
    "internal case review how many patients",
    "what does the patient safety checklist include",
    "INR threshold before high bleeding risk procedures",
    "core requirements of standard 8",
]


def latencies(fn: Callable[[int], object], repeats: int) -> dict[str, float]:
    """p50/p95 in ms of fn(0) .. fn(repeats - 1), called one after another."""
    times = []
    for i in range(repeats):
        t = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1), "queries": repeats}
