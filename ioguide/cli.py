"""`ioguide` command: ask, eval, bench, calibrate, draft, coverage, audit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from .cli_accreditation import register as register_accreditation
from .cli_ops import register as register_ops
from .config import Settings
from .errors import IOGuideError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="IO Guide: cited answers from interventional oncology guidelines.")
bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks that print figures.")
app.add_typer(bench_app, name="bench")
register_accreditation(app)
register_ops(app)  # bench scale, audit export|purge


def _fail(exc: Exception) -> None:
    typer.echo(f"Error: {exc}", err=True)
    raise typer.Exit(2)


def _filters(doc: list[str] | None, topic: list[str] | None, edition: list[str] | None,
             collection: list[str] | None, issuer: list[str] | None = None):
    from .retrieve import Filters

    return Filters(doc_ids=tuple(doc or ()), topics=tuple(topic or ()), editions=tuple(edition or ()),
                   collections=tuple(collection or ()), issuers=tuple(issuer or ()))


def format_answer(answer) -> str:
    lines = [answer.text, ""]
    if answer.query and answer.query != answer.question:
        lines.insert(0, f"(searched as: {answer.query})")
    cited = {c.n for c in answer.citations}
    if cited:
        lines.append("Sources:")
    for n, hit in enumerate(answer.passages, start=1):
        if n not in cited:
            continue
        c = hit.chunk
        page = ""
        pages = sorted({ct.page for ct in answer.citations if ct.n == n and ct.page is not None})
        if pages:
            page = ", p. " + ", ".join(str(p) for p in pages)
        edition = f" ({c.edition})" if c.edition else ""
        section = f" — {c.section}" if c.section else ""
        where = c.source_url or c.source
        lines.append(f"[{n}] {c.title}{edition}{section}{page}")
        lines.append(f"    {where}")
    for note in answer.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines).rstrip()


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question."),
    index: Path | None = typer.Option(None, "--index", help="Index folder (default IOGUIDE_INDEX_DIR)."),
    k: int = typer.Option(5, "-k", min=1, max=50, help="Passages to retrieve."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as one JSON object."),
    doc: list[str] = typer.Option(None, "--doc", help="Only these document ids (repeatable)."),
    topic: list[str] = typer.Option(None, "--topic", help="Only documents with this topic (repeatable)."),
    edition: list[str] = typer.Option(None, "--edition", help="Only this edition (repeatable)."),
    collection: list[str] = typer.Option(None, "--collection", help="guidelines or centre (repeatable)."),
    llm: str | None = typer.Option(None, "--llm", help="Answer with an LLM backend (none, openai, ollama, llamacpp)."),
    history: list[str] = typer.Option(None, "--history", help="Earlier questions of the conversation, oldest first."),
) -> None:
    """Answer QUESTION from the indexed documents, citing every sentence."""
    from .service import AskOptions, Assistant

    settings = Settings()
    try:
        assistant = Assistant.from_settings(settings, index, llm_name=llm)
        mode = "llm" if assistant.llm is not None else "extractive"
        answer = assistant.ask(question, history=list(history or []),
                               options=AskOptions(k=k, filters=_filters(doc, topic, edition, collection), mode=mode))
    except IOGuideError as exc:
        _fail(exc)
    if as_json:
        from .answer import answer_to_json

        typer.echo(json.dumps(answer_to_json(answer), ensure_ascii=False, indent=2))
    else:
        typer.echo(format_answer(answer))


def main() -> None:  # console script entry
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


@app.command("eval", context_settings={"allow_extra_args": False})
def eval_cmd(
    args: list[str] = typer.Argument(..., help="SET (a .jsonl or .csv question set), or: compare RUN_A RUN_B"),
    index: Path | None = typer.Option(None, "--index", help="Index folder (default IOGUIDE_INDEX_DIR)."),
    out: Path = typer.Option(Path("runs/latest"), "--out", help="Folder for results.jsonl, summary.json, report.html."),
    k: int = typer.Option(5, "-k", min=1, max=50),
    llm: str | None = typer.Option(None, "--llm", help="LLM backend (default: IOGUIDE_LLM, usually none)."),
    gate: bool = typer.Option(False, "--gate", help="Exit 1 when metrics fall below ioguide/data/eval_gate.json."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary (or comparison) as JSON."),
) -> None:
    """Run a question set and write per-question results, a summary and an HTML report; or compare two runs."""
    from . import evaluate

    if args[0] == "compare":
        if len(args) != 3:
            typer.echo("Usage: ioguide eval compare RUN_A RUN_B", err=True)
            raise typer.Exit(2)
        try:
            diff = evaluate.compare_runs(Path(args[1]), Path(args[2]))
        except IOGuideError as exc:
            _fail(exc)
        if as_json:
            typer.echo(json.dumps(diff, indent=2, ensure_ascii=False))
            return
        typer.echo(f"{'metric':24} {'A':>8} {'B':>8} {'change':>8}")
        for m, (va, vb, d) in diff["metrics"].items():
            typer.echo(f"{m:24} {va!s:>8} {vb!s:>8} {'' if d is None else f'{d:+.4f}':>8}")
        typer.echo(f"\nImproved ({len(diff['improved'])}):")
        for r in diff["improved"]:
            typer.echo(f"  + {r['id']}: {r['question']}")
        typer.echo(f"Regressed ({len(diff['regressed'])}):")
        for r in diff["regressed"]:
            typer.echo(f"  - {r['id']}: {r['question']}")
        if diff["only_in_a"] or diff["only_in_b"]:
            typer.echo(f"Only in A: {len(diff['only_in_a'])}, only in B: {len(diff['only_in_b'])}")
        return
    if len(args) != 1:
        typer.echo("Usage: ioguide eval SET [options]  or  ioguide eval compare RUN_A RUN_B", err=True)
        raise typer.Exit(2)
    from .service import AskOptions, Assistant

    settings = Settings()
    try:
        questions, errors = evaluate.load_question_set(Path(args[0]))
        for err in errors:
            typer.echo(f"Skipped: {err}", err=True)
        if not questions:
            _fail(IOGuideError(f"{args[0]}: no valid questions"))
        assistant = Assistant.from_settings(settings, index, llm_name=llm)
        mode = "llm" if assistant.llm is not None else "extractive"
        options = AskOptions(k=k, mode=mode)
        assistant.ask("warm up the model before timing", options=AskOptions(k=1))
        from tqdm import tqdm

        bar = tqdm(total=len(questions), unit="q", desc="Evaluating", file=sys.stderr)
        try:
            results = evaluate.run_eval(questions, lambda q: assistant.ask(q, options=options), k,
                                        progress=lambda i, n: bar.update(1))
        finally:
            bar.close()  # ends the progress line, so an error message stands on its own line
    except IOGuideError as exc:
        _fail(exc)
    r = assistant.retriever
    config = {"k": k, "backend": mode, "llm": llm or settings.llm, "embedder": assistant.embedder.model_id,
              "weights": vars(r.weights), "abstain_threshold": r.threshold, "candidates": r.candidates,
              "index": settings.chroma_url or str(index or settings.index_dir), "chunks": assistant.store.count(),
              "set": str(args[0])}
    summary = evaluate.summarise(results, config)
    evaluate.write_run(out, results, summary, errors)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        for m in evaluate.HEADLINE + ["latency_ms_p50", "latency_ms_p95"]:
            typer.echo(f"{m:24} {summary[m]}")
        typer.echo(f"Wrote {out}/results.jsonl, summary.json, report.html")
    if gate:
        problems = evaluate.check_gate(summary)
        for p in problems:
            typer.echo(f"GATE FAILED: {p}", err=True)
        if problems:
            raise typer.Exit(1)
        typer.echo("Gate passed.")


@bench_app.command("retrieval")
def bench_retrieval_cmd(
    beir: Path = typer.Option(..., "--beir", help="BEIR dataset folder (corpus.jsonl, queries.jsonl, qrels/)."),
    split: str = typer.Option("test", "--split"),
    tune: str | None = typer.Option(None, "--tune", help="Tune fusion weights on this split first (e.g. train)."),
    cache: Path = typer.Option(Path(".bench-cache"), "--cache", help="Where the dataset's index is cached."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """nDCG@10, Recall@10/100 and MRR@10 for BM25 alone, dense alone and IO Guide's fused retriever."""
    from .bench import bench_retrieval
    from .index import quiet_libraries
    from .retrieve import Weights

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
    chunks: int = typer.Option(0, "--chunks", help="Also measure at this many chunks (synthetic, cached)."),
    repeats: int = typer.Option(200, "--repeats"),
    dense: str = typer.Option("auto", "--dense", help="auto: exact in memory when it fits; hnsw: Chroma's ANN."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """p50/p95 query latency and peak memory at the bundled corpus size (and at --chunks synthetic chunks)."""
    from .bench import bench_latency
    from .index import open_index, quiet_libraries

    quiet_libraries()
    s = Settings()
    rows = []
    try:
        if dense not in ("auto", "hnsw"):
            raise typer.BadParameter("--dense must be auto or hnsw")
        limit = 0 if dense == "hnsw" else s.exact_search_max_vectors
        rows.append({"index": "bundled", **bench_latency(open_index(index or s.index_dir, s.chroma_url), 0,
                                                          repeats=repeats, exact_max_vectors=limit)})
        if chunks:
            from .bench import synthetic_index

            handle = synthetic_index(chunks, Path(".bench-cache") / f"synthetic-{chunks}",
                                     progress=lambda m: typer.echo(m, err=True))
            rows.append({"index": f"synthetic-{chunks}", **bench_latency(handle, chunks, repeats=repeats,
                                                                         exact_max_vectors=limit)})
    except IOGuideError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['index']:18} chunks {r['chunks']:>8}  dense {r['dense']:5}  p50 {r['p50_ms']:7.1f} ms  "
                   f"p95 {r['p95_ms']:7.1f} ms  peak RSS {r['peak_rss_mb']:.0f} MB")


@bench_app.command("ann")
def bench_ann_cmd(
    index: Path | None = typer.Option(None, "--index", help="Index to check (default: the configured one)."),
    beir: Path | None = typer.Option(None, "--beir", help="Use this BEIR dataset's cached index and its queries."),
    n: int = typer.Option(100, "--n", help="Top-n compared."),
    queries: int = typer.Option(100, "--queries", help="How many queries."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Recall of Chroma's HNSW against exact search, for the chunk and the sentence collection."""
    from .bench import DEFAULT_QUERIES, ann_recall, beir_cache_dir, load_beir
    from .index import open_index, quiet_libraries

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
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    for name, r in result.items():
        typer.echo(f"{name:10} vectors {r['vectors']:>8} (distinct {r['distinct_vectors']:>8})  "
                   f"recall@{n} {r[f'recall@{n}']:.4f} (min {r['min']:.2f})  id overlap {r[f'id_overlap@{n}']:.4f}")


@app.command()
def calibrate(
    sets: list[Path] = typer.Argument(..., help="Question sets with answerable and unanswerable questions."),
    index: Path | None = typer.Option(None, "--index"),
    target: float = typer.Option(0.05, "--max-false-abstention", help="Share of answerable questions that may "
                                                                      "abstain on relevance alone."),
    write: bool = typer.Option(False, "--write", help="Save the threshold to ioguide/data/calibration.json."),
) -> None:
    """Calibrate the relevance threshold under which a question counts as 'not covered'."""
    from . import evaluate
    from .bench import calibrate as run_calibration
    from .retrieve import CALIBRATION_FILE
    from .service import Assistant

    questions = []
    for s in sets:
        qs, errors = evaluate.load_question_set(s)
        for e in errors:
            typer.echo(f"Skipped: {e}", err=True)
        questions += qs
    try:
        assistant = Assistant.from_settings(Settings(), index)
    except IOGuideError as exc:
        _fail(exc)
    result = run_calibration(assistant, questions, target)
    result["sets"] = [str(s) for s in sets]
    typer.echo(json.dumps(result, indent=2))
    if write:
        CALIBRATION_FILE.write_text(json.dumps(result, indent=2) + "\n")
        typer.echo(f"Wrote {CALIBRATION_FILE}")


@bench_app.command("ingest")
def bench_ingest_cmd(
    paths: list[Path] = typer.Argument(None, help="Files or folders (default corpus/)."),
    workdir: Path = typer.Option(Path(".bench-cache/ingest"), "--workdir", help="Scratch index (deleted first)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Ingest rate against the embedder's own throughput on the same texts."""
    from .bench import bench_ingest
    from .index import quiet_libraries

    quiet_libraries()
    result = bench_ingest(list(paths or [Settings().corpus_dir]), workdir, progress=lambda m: typer.echo(m, err=True))
    typer.echo(json.dumps(result, indent=2) if as_json else
               "\n".join(f"{k:32} {v}" for k, v in result.items()))
