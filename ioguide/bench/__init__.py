"""Benchmarks that print figures (never timed tests), one module per benchmark:

retrieval.py    BEIR retrieval quality (BM25, dense, fused) and HNSW recall against exact search
latency.py      query latency of the full retriever path; the timing helper the others share
synthetic.py    synthetic chunks and a cached synthetic index, to size the store without embedding
scale.py        ingest rate, latency and server memory against a `chroma run` server
load.py         concurrent askers against one shared Assistant (scripts/load_test.py)
ingest_rate.py  ingest rate against the embedder's own rate
calibration.py  the relevance threshold for `ioguide calibrate`
"""

from __future__ import annotations

from .calibration import calibrate
from .ingest_rate import bench_ingest
from .latency import DEFAULT_QUERIES, bench_latency, latencies
from .load import LoadReport, load_questions, load_test, run_load
from .retrieval import ann_recall, beir_cache_dir, bench_retrieval, build_beir_index, load_beir, metrics_for
from .scale import bench_scale, format_scale
from .synthetic import synthetic_batch, synthetic_index, synthetic_vocab

__all__ = ["DEFAULT_QUERIES", "LoadReport", "ann_recall", "beir_cache_dir", "bench_ingest", "bench_latency",
           "bench_retrieval", "bench_scale", "build_beir_index", "calibrate", "format_scale", "latencies",
           "load_beir", "load_questions", "load_test", "metrics_for", "run_load", "synthetic_batch",
           "synthetic_index", "synthetic_vocab"]
