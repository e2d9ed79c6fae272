"""`ioguide bench ...`: benchmarks that print figures (retrieval quality, latency, ANN recall, ingest, scale)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..config import Settings
from ..errors import IOGuideError
from ..verify_bench import bench_verify
from .common import fail

bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print figures.")
bench_app.command("verify")(bench_verify)  # ioguide/verify_bench.py: the LLM verifier on answers of known truth


@bench_app.command("retrieval")
def bench_retrieval_cmd(
    beir: Path = typer.Option(..., "--beir", help="BEIR dataset folder (corpus.jsonl, queries.jsonl, qrels/)."),
    split: str = typer.Option("test", "--split"),
    tune: str | None = typer.Option(None, "--tune", help="Tune fusion weights on this split first (e.g. train)."),
    cache: Path = typer.Option(Path(".bench-cache"), "--cache", help="Where the dataset's index is cached."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """nDCG@10, Recall@10/100 and MRR@10 for BM25 alone, dense alone and IO Guide's fused retriever."""
    from ..bench import bench_retrieval
    from ..index import quiet_libraries
    from ..retrieve import Weights

    quiet_libraries()
    s = Settings()
    result = bench_retrieval(beir, split, cache, Weights(s.w_bm25, s.w_dense, s.w_sentence), tune,
                             progress=lambda m: typer.echo(m, err=True))
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    typer.echo(f"{result['dataset']} {result['split']}: {result['queries']} queries, {result['documents']} documents, "
               f"{result['chunks']} chunks; weights {result['weights']}")
    typer.echo(f"{'retriever':10} {'nDCG@10':>8} {'R@10':>8} {'R@100':>8} {'MRR@10':>8}")
    for name, m in result["results"].items():
        typer.echo(f"{name:10} {m['ndcg@10']:8.4f} {m['recall@10']:8.4f} {m['recall@100']:8.4f} {m['mrr@10']:8.4f}")


@bench_app.command("latency")
def bench_latency_cmd(
    index: Path | None = typer.Option(None, "--index"),
    chunks: int = typer.Option(0, "--chunks", help="Also measure at this many chunks (synthetic, cached; needs no "
                                                   "index of the bundled corpus)."),
    repeats: int = typer.Option(200, "--repeats"),
    dense: str = typer.Option("auto", "--dense", help="auto: exact in memory when it fits; hnsw: Chroma's ANN."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """p50/p95 query latency and peak memory at the bundled corpus size (when it is indexed) and at --chunks
    synthetic chunks."""
    from ..bench import bench_latency
    from ..errors import NoIndexError
    from ..index import open_index, quiet_libraries

    quiet_libraries()
    s = Settings()
    rows = []
    missing = ""
    try:
        if dense not in ("auto", "hnsw"):
            raise typer.BadParameter("--dense must be auto or hnsw")
        limit = 0 if dense == "hnsw" else s.exact_search_max_vectors
        where = index or s.index_dir
        try:
            handle = open_index(where, s.chroma_url)
        except NoIndexError:
            if not chunks:
                raise  # nothing to measure: the error says how to build the index
            target = "" if s.chroma_url else f" --index {where}"
            missing = (f"No bundled index at {s.chroma_url or where}: measured the synthetic index only. For the "
                       f"bundled-corpus row, run `python -m ingest corpus/{target}` first.")
        else:
            rows.append({"index": "bundled", **bench_latency(handle, 0, repeats=repeats, exact_max_vectors=limit)})
        if chunks:
            from ..bench import synthetic_index

            handle = synthetic_index(chunks, Path(".bench-cache") / f"synthetic-{chunks}",
                                     progress=lambda m: typer.echo(m, err=True))
            rows.append({"index": f"synthetic-{chunks}", **bench_latency(handle, chunks, repeats=repeats,
                                                                         exact_max_vectors=limit)})
    except IOGuideError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
    else:
        for r in rows:
            typer.echo(f"{r['index']:18} chunks {r['chunks']:>8}  dense {r['dense']:5}  p50 {r['p50_ms']:7.1f} ms  "
                       f"p95 {r['p95_ms']:7.1f} ms  peak RSS {r['peak_rss_mb']:.0f} MB")
    if missing:
        typer.echo(missing, err=True)


@bench_app.command("ann")
def bench_ann_cmd(
    index: Path | None = typer.Option(None, "--index", help="Index to check (default: the configured one)."),
    beir: Path | None = typer.Option(None, "--beir", help="Use this BEIR dataset's cached index and its queries."),
    n: int = typer.Option(100, "--n", help="Top-n compared."),
    queries: int = typer.Option(100, "--queries", help="How many queries."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Recall of Chroma's HNSW against exact search, for the chunk and the sentence collection."""
    from ..bench import DEFAULT_QUERIES, ann_recall, beir_cache_dir, load_beir
    from ..index import open_index, quiet_libraries

    quiet_libraries()
    s = Settings()
    try:
        if beir is not None:
            data = load_beir(beir, "test")
            handle = open_index(beir_cache_dir(beir))
            texts = list(data.queries.values())[:queries]
        else:
            handle = open_index(index or s.index_dir, s.chroma_url)
            texts = (DEFAULT_QUERIES * (1 + queries // len(DEFAULT_QUERIES)))[:queries]
        result = ann_recall(handle, texts, n)
    except IOGuideError as exc:
        fail(exc)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    for name, r in result.items():
        typer.echo(f"{name:10} vectors {r['vectors']:>8} (distinct {r['distinct_vectors']:>8})  "
                   f"recall@{n} {r[f'recall@{n}']:.4f} (min {r['min']:.2f})  id overlap {r[f'id_overlap@{n}']:.4f}")


@bench_app.command("ingest")
def bench_ingest_cmd(
    paths: list[Path] = typer.Argument(None, help="Files or folders (default corpus/)."),
    workdir: Path = typer.Option(Path(".bench-cache/ingest"), "--workdir", help="Scratch index (deleted first)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Ingest rate against the embedder's own throughput on the same texts."""
    from ..bench import bench_ingest
    from ..index import quiet_libraries

    quiet_libraries()
    result = bench_ingest(list(paths or [Settings().corpus_dir]), workdir, progress=lambda m: typer.echo(m, err=True))
    typer.echo(json.dumps(result, indent=2) if as_json else
               "\n".join(f"{k:32} {v}" for k, v in result.items()))


@bench_app.command("scale")
def bench_scale_cmd(
    chunks: int = typer.Option(100_000, "--chunks", min=1000, help="Synthetic chunks to write."),
    batch: int = typer.Option(1000, "--batch", min=1, help="Chunks per ChromaStore.upsert call."),
    sentences: int = typer.Option(3, "--sentences", min=0, help="Sentence vectors per chunk (ingest writes ~3)."),
    repeats: int = typer.Option(100, "--repeats", min=1, help="Queries per latency figure."),
    workdir: Path = typer.Option(Path(".bench-cache") / "scale", "--workdir",
                                 help="Server data and BM25 files (the server's data is deleted afterwards)."),
    keep: bool = typer.Option(False, "--keep", help="Keep the server's data."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Ingest rate, dense and full-retriever query p50/p95, and the server's memory at --chunks synthetic chunks,
    against a `chroma run` server started on 127.0.0.1 (or IOGUIDE_CHROMA_URL, in a database of its own)."""
    import signal
    import sys

    from ..bench import bench_scale, format_scale

    settings = Settings()
    # A plain `kill` must still stop the `chroma run` server this command started (the finally in bench_scale).
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        result = bench_scale(chunks, workdir, settings.chroma_url, batch=batch, sentences_per_chunk=sentences,
                             repeats=repeats, keep=keep, progress=lambda m: typer.echo(m, err=True))
    except IOGuideError as exc:
        fail(exc)
    finally:
        signal.signal(signal.SIGTERM, previous)
    typer.echo(json.dumps(result, indent=2) if as_json else format_scale(result))
