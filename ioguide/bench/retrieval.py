"""Retrieval quality on a BEIR dataset (BM25 alone, dense alone, IO Guide's fused retriever) and the recall of
Chroma's HNSW against exact search.

The BEIR benchmark indexes the dataset through the same chunking and writing code as `python -m ingest`, so this
module (and ingest_rate.py) import the write path: the one documented exception to "ingest imports ioguide, never
back" (the benchmark must measure the code users run, not a copy).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..bm25 import BM25Index
from ..errors import IOGuideError
from ..retrieve import Retriever, Weights


@dataclass
class BeirData:
    corpus: dict[str, dict]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(directory: Path, split: str = "test") -> BeirData:
    directory = Path(directory)
    corpus = {}
    with (directory / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                d = json.loads(line)
                corpus[str(d["_id"])] = d
    queries = {}
    with (directory / "queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                q = json.loads(line)
                queries[str(q["_id"])] = q["text"]
    qrels: dict[str, dict[str, int]] = {}
    with (directory / "qrels" / f"{split}.tsv").open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            parts = line.rstrip("\n").split("\t")
            if i == 0 and not parts[-1].lstrip("-").isdigit():
                continue
            qid, did, score = parts[0], parts[1], int(parts[-1])
            if score > 0:
                qrels.setdefault(qid, {})[did] = score
    queries = {q: t for q, t in queries.items() if q in qrels}
    return BeirData(corpus, queries, qrels)


def metrics_for(ranking: list[str], relevant: dict[str, int]) -> dict[str, float]:
    dcg = sum((2 ** relevant.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranking[:10]))
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum((2 ** r - 1) / math.log2(i + 2) for i, r in enumerate(ideal))
    mrr = next((1 / (i + 1) for i, d in enumerate(ranking[:10]) if d in relevant), 0.0)
    return {"ndcg@10": dcg / idcg if idcg else 0.0,
            "recall@10": len(set(ranking[:10]) & set(relevant)) / len(relevant),
            "recall@100": len(set(ranking[:100]) & set(relevant)) / len(relevant),
            "mrr@10": mrr}


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]} if rows else {}


def beir_cache_dir(directory: Path, cache_root: Path = Path(".bench-cache")) -> Path:
    """Where a BEIR dataset's index is cached: keyed by the corpus file's path and size and the model."""
    directory = Path(directory)
    stat = (directory / "corpus.jsonl").stat()
    key = hashlib.sha256(f"{directory.resolve()}|{stat.st_size}|minilm|v1".encode()).hexdigest()[:12]
    return Path(cache_root) / f"{directory.name}-{key}"


def build_beir_index(data: BeirData, cache: Path, progress: Callable[[str], None] = print):
    """Index the corpus once; a second run finds the cache (keyed by the corpus file's size and the model)."""
    from ingest.chunking import chunk_sections
    from ingest.index import write_documents

    from ..bm25 import rebuild_bm25
    from ..index import open_index
    from ..types import DocumentInfo, Section

    handle = open_index(cache, create=True)
    done = cache / "complete.json"
    if done.exists() and json.loads(done.read_text()).get("documents") == len(data.corpus):
        progress(f"Using cached index at {cache} ({handle.store.count()} chunks).")
        return handle
    emb = handle.embedder
    have = {d["doc_id"] for d in handle.store.documents_list()}
    todo = [d for d in data.corpus if d not in have]
    progress(f"Indexing {len(todo)} of {len(data.corpus)} documents into {cache} ...")
    t0 = time.perf_counter()
    batch: list = []
    n_chunks = 0
    for i, doc_id in enumerate(todo, start=1):
        d = data.corpus[doc_id]
        info = DocumentInfo(doc_id=doc_id, title=(d.get("title") or "").strip(), source=f"beir:{doc_id}")
        chunks = chunk_sections(info, [Section(path=(), text=d.get("text") or d.get("title") or "")],
                                emb.count_tokens_batch, emb.max_tokens)
        batch.append((info, chunks))
        n_chunks += len(chunks)
        if n_chunks >= 512 or i == len(todo):
            write_documents(handle.store, emb, batch)
            rate = i / (time.perf_counter() - t0)
            progress(f"  {i}/{len(todo)} documents, {rate:.1f} docs/s")
            batch, n_chunks = [], 0
    rebuild_bm25(handle.store, handle.bm25_dir)
    done.write_text(json.dumps({"documents": len(data.corpus)}))
    return handle


def bench_retrieval(directory: Path, split: str = "test", cache_root: Path = Path(".bench-cache"),
                    weights: Weights | None = None, tune_split: str | None = None,
                    progress: Callable[[str], None] = print) -> dict:
    directory = Path(directory)
    data = load_beir(directory, split)
    handle = build_beir_index(data, beir_cache_dir(directory, cache_root), progress)
    retriever = Retriever(handle.store, handle.embedder, handle.bm25_dir, weights=weights, candidates=100)
    retriever.retrieve(next(iter(data.queries.values()), "warm up"), k=1)  # loads BM25 and the vector cache
    bm25 = BM25Index.load(handle.bm25_dir)  # the same file the retriever loaded: BM25-alone scores over all chunks
    if bm25 is None:
        raise IOGuideError(f"The BM25 index in {handle.bm25_dir} cannot be read: delete {cache_root} and run again.")
    doc_of = {c.chunk_id: c.doc_id for c in handle.store.iter_chunks()}

    def features(queries: dict[str, str]) -> dict[str, tuple]:
        out = {}
        t0 = time.perf_counter()
        for i, (qid, text) in enumerate(queries.items(), start=1):
            qvec = handle.embedder.embed_query(text)
            cand = retriever.candidates_for(text, qvec, None, 100)
            bm_all = bm25.scores(text)
            dense_rows = handle.store.query_ids(qvec, 300)
            out[qid] = (cand, bm_all, dense_rows)
            if i % 100 == 0:
                progress(f"  {i}/{len(queries)} queries ({(time.perf_counter() - t0) / i * 1000:.1f} ms each)")
        return out

    def doc_ranking(ids: list[str], scores: np.ndarray) -> list[str]:
        best: dict[str, float] = {}
        for cid, s in zip(ids, scores, strict=True):
            d = doc_of.get(cid)
            if d is not None and s > best.get(d, -1e9):
                best[d] = float(s)
        return sorted(best, key=lambda d: -best[d])[:100]

    def evaluate(feats: dict[str, tuple], qrels: dict, w: Weights) -> dict[str, dict[str, float]]:
        rows = {"bm25": [], "dense": [], "ioguide": []}
        for qid, (cand, bm_all, dense_rows) in feats.items():
            top = np.argsort(-bm_all)[:300]
            rows["bm25"].append(metrics_for(doc_ranking([bm25.ids[i] for i in top], bm_all[top]),
                                            qrels[qid]))
            rows["dense"].append(metrics_for(doc_ranking([r[0] for r in dense_rows],
                                                         np.array([r[1] for r in dense_rows])), qrels[qid]))
            fused = retriever.fuse(cand.bm25, cand.dense, cand.sentence, w) if cand else np.array([])
            rows["ioguide"].append(metrics_for(doc_ranking(cand.ids if cand else [], fused), qrels[qid]))
        return {k: mean_metrics(v) for k, v in rows.items()}

    result: dict = {"dataset": directory.name, "split": split, "queries": len(data.queries),
                    "documents": len(data.corpus), "chunks": handle.store.count()}
    if tune_split:
        train = load_beir(directory, tune_split)
        progress(f"Tuning fusion weights on {tune_split} ({len(train.queries)} queries) ...")
        tf = features(train.queries)
        grid = []
        for wb, wd in itertools.product(np.arange(0, 1.01, 0.05), repeat=2):
            ws = 1 - wb - wd
            if ws < -1e-9:
                continue
            w = Weights(round(wb, 2), round(wd, 2), round(max(ws, 0.0), 2))
            grid.append((evaluate(tf, train.qrels, w)["ioguide"]["ndcg@10"], w))
        grid.sort(key=lambda g: -g[0])
        best_w = grid[0][1]
        result["tuned"] = {"split": tune_split, "weights": vars(best_w), "train_ndcg@10": round(grid[0][0], 4)}
        retriever.weights = best_w
        progress(f"Best on {tune_split}: {vars(best_w)} nDCG@10 {grid[0][0]:.4f}")
    progress(f"Running {len(data.queries)} {split} queries ...")
    t0 = time.perf_counter()
    feats = features(data.queries)
    result["ms_per_query_all_three"] = round((time.perf_counter() - t0) / max(1, len(data.queries)) * 1000, 1)
    result["weights"] = vars(retriever.weights)
    result["results"] = evaluate(feats, data.qrels, retriever.weights)
    return result


def ann_recall(handle, queries: list[str], n: int = 100) -> dict:
    """Recall of Chroma's HNSW top-n against exact (brute-force) cosine search, for chunks and sentences.

    Two measures: by id (the share of exact top-n ids the ANN returns) and tie-aware (the share of ANN results at
    least as similar as the exact n-th). They differ only where vectors tie: SciFact repeats sentences, and among
    identical vectors any one is a correct answer, so id overlap undercounts there."""
    out = {}
    for name in ("chunks", "sentences"):
        ids, vecs = [], []
        for batch_ids, batch_vecs, _ in handle.store.iter_vectors(sentences=(name == "sentences")):
            ids += batch_ids
            vecs.append(batch_vecs)
        matrix = np.vstack(vecs)
        by_id, tie_aware = [], []
        for q in queries:
            qv = handle.embedder.embed_query(q)
            sims = matrix @ qv
            top = np.argsort(-sims)[:n]
            exact = {ids[i] for i in top}
            kth = float(sims[top[-1]])
            approx = handle.store.query_ids(qv, n, sentences=(name == "sentences"))
            by_id.append(len(exact & {i for i, _, _ in approx}) / len(top))
            tie_aware.append(sum(1 for _, sim, _ in approx if sim >= kth - 1e-5) / len(top))
        out[name] = {"vectors": len(ids),
                     "distinct_vectors": int(len(np.unique(matrix.round(5), axis=0))),
                     f"recall@{n}": round(float(np.mean(tie_aware)), 4),
                     "min": round(float(np.min(tie_aware)), 4),
                     f"id_overlap@{n}": round(float(np.mean(by_id)), 4)}
    return out
