"""`ioguide eval` (a question set -> per-question results, summary, report; or compare two runs) and
`ioguide calibrate` (the relevance threshold under which a question counts as not covered)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from ..config import Settings
from ..errors import IOGuideError
from .common import fail


def eval_cmd(
    args: list[str] = typer.Argument(..., help="SET (a .jsonl or .csv question set), or: compare RUN_A RUN_B"),
    index: Path | None = typer.Option(None, "--index", help="Index folder (default IOGUIDE_INDEX_DIR)."),
    out: Path = typer.Option(Path("runs/latest"), "--out", help="Folder for results.jsonl, summary.json, report.html."),
    k: int = typer.Option(5, "-k", min=1, max=50),
    llm: str | None = typer.Option(None, "--llm", help="LLM backend (default: IOGUIDE_LLM, usually none)."),
    gate: bool = typer.Option(False, "--gate", help="Exit 1 when metrics fall outside the gate file's bounds."),
    gate_file: Path | None = typer.Option(None, "--gate-file", help="The gate's bounds (default "
                                          "ioguide/data/eval_gate.json, the corpus test split; "
                                          "eval_gate_pdfs.json is the PDF test split's)."),
    split: str | None = typer.Option(None, "--split", help="Only the questions of this split (dev or test)."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary (or comparison) as JSON."),
) -> None:
    """Run a question set and write per-question results, a summary and an HTML report; or compare two runs."""
    from .. import evaluate

    if args[0] == "compare":
        if len(args) != 3:
            typer.echo("Usage: ioguide eval compare RUN_A RUN_B", err=True)
            raise typer.Exit(2)
        try:
            diff = evaluate.compare_runs(Path(args[1]), Path(args[2]))
        except IOGuideError as exc:
            fail(exc)
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
    from ..service import AskOptions, Assistant

    settings = Settings()
    try:
        if gate:
            evaluate.load_gate(gate_file or evaluate.GATE_FILE)  # a bad gate file stops the run before it starts
        questions, errors = evaluate.load_question_set(Path(args[0]))
        questions = evaluate.select_split(questions, split)
        for err in errors:
            typer.echo(f"Skipped: {err}", err=True)
        if not questions:
            fail(IOGuideError(f"{args[0]}: no valid questions"))
        assistant = Assistant.from_settings(settings, index, llm_name=llm)
        for err in evaluate.missing_sources(questions, assistant.store.documents_list()):
            typer.echo(f"Warning: {err}", err=True)
            errors.append(err)
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
        fail(exc)
    r = assistant.retriever
    config = {"k": k, "backend": mode, "llm": llm or settings.llm, "embedder": assistant.embedder.model_id,
              "weights": vars(r.weights), "abstain_threshold": r.threshold, "candidates": r.candidates,
              "index": settings.chroma_url or str(index or settings.index_dir), "chunks": assistant.store.count(),
              "set": str(args[0]), "split": split or "all"}
    summary = evaluate.summarise(results, config)
    evaluate.write_run(out, results, summary, errors)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        for m in evaluate.HEADLINE + evaluate.LENGTH + ["latency_ms_p50", "latency_ms_p95"]:
            typer.echo(f"{m:24} {summary[m]}")
        typer.echo(f"Wrote {out}/results.jsonl, summary.json, report.html")
    if gate:
        problems = evaluate.check_gate(summary, gate_file or evaluate.GATE_FILE)
        for p in problems:
            typer.echo(f"GATE FAILED: {p}", err=True)
        if problems:
            raise typer.Exit(1)
        typer.echo("Gate passed.")


def calibrate(
    sets: list[Path] = typer.Argument(..., help="Question sets with answerable and unanswerable questions."),
    index: Path | None = typer.Option(None, "--index"),
    target: float = typer.Option(0.05, "--max-false-abstention", help="Share of answerable questions that may "
                                                                      "abstain on relevance alone."),
    write: bool = typer.Option(False, "--write", help="Save the threshold to ioguide/data/calibration.json."),
) -> None:
    """Calibrate the relevance threshold under which a question counts as 'not covered'."""
    from .. import evaluate
    from ..bench import calibrate as run_calibration
    from ..retrieve import CALIBRATION_FILE
    from ..service import Assistant

    questions = []
    for s in sets:
        qs, errors = evaluate.load_question_set(s)
        for e in errors:
            typer.echo(f"Skipped: {e}", err=True)
        questions += qs
    try:
        assistant = Assistant.from_settings(Settings(), index)
    except IOGuideError as exc:
        fail(exc)
    result = run_calibration(assistant, questions, target)
    result["sets"] = [str(s) for s in sets]
    typer.echo(json.dumps(result, indent=2))
    if write:
        CALIBRATION_FILE.write_text(json.dumps(result, indent=2) + "\n")
        typer.echo(f"Wrote {CALIBRATION_FILE}")
