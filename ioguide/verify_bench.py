"""`ioguide bench verify FILE.jsonl`: how the verifier treats answers of known truth.

Each line of FILE is {"id", "passages": [{"n", "title", "section", "text"}, ...], "answer", "label": "true"|"false"}
(optionally "split" and "kind", reported when present). Each answer is verified exactly as the LLM path verifies a
model's output against the passages it was shown (ioguide.verify.verify_output over passages [1]..[n]). An answer
is kept when none of its sentences is removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import typer

from .errors import IOGuideError
from .types import Chunk, Hit
from .verify import verify_output


class BenchFileError(IOGuideError):
    """A bench file that cannot be read: names the file, the line and the field."""


@dataclass(frozen=True)
class LabelledAnswer:
    answer_id: str
    passages: tuple[dict, ...]
    answer: str
    label: str  # "true" | "false"
    split: str = ""
    kind: str = ""


@dataclass
class AnswerResult:
    item: LabelledAnswer
    kept: bool
    removed: list[tuple[str, str]] = field(default_factory=list)  # (sentence, reason)

    @property
    def correct(self) -> bool:
        return self.kept == (self.item.label == "true")


def load_labelled_answers(path: Path) -> list[LabelledAnswer]:
    """The answers of a JSONL file; a bad line raises BenchFileError naming the file, line and field."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchFileError(f"{path}: cannot be read ({exc})") from exc
    items: list[LabelledAnswer] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchFileError(f"{where}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise BenchFileError(f"{where}: expected an object")
        for key, kind in (("id", str), ("answer", str), ("label", str), ("passages", list)):
            if not isinstance(row.get(key), kind):
                raise BenchFileError(f"{where}: field '{key}' is missing or not a {kind.__name__}")
        if row["label"] not in ("true", "false"):
            raise BenchFileError(f"{where}: field 'label' must be \"true\" or \"false\", not {row['label']!r}")
        passages = row["passages"]
        if not passages:
            raise BenchFileError(f"{where}: field 'passages' is empty")
        for i, p in enumerate(passages, start=1):
            if not isinstance(p, dict) or not isinstance(p.get("text"), str) or p.get("n") != i:
                raise BenchFileError(f"{where}: passages[{i - 1}] needs \"n\": {i} and a \"text\" string")
        items.append(LabelledAnswer(row["id"], tuple(passages), row["answer"], row["label"],
                                    str(row.get("split", "")), str(row.get("kind", ""))))
    if not items:
        raise BenchFileError(f"{path}: holds no answers")
    return items


def passages_as_hits(item: LabelledAnswer) -> list[Hit]:
    """The passages of item as the hits the LLM was shown, [1] first."""
    return [Hit(chunk=Chunk(chunk_id=f"{item.answer_id}#{p['n']}", doc_id=f"{item.answer_id}#{p['n']}",
                            title=str(p.get("title", "")), text=p["text"], ordinal=p["n"] - 1,
                            section=str(p.get("section", ""))), score=1.0)
            for p in item.passages]


class CachingEmbedder:
    """An embedder that embeds each distinct text once: the answers of a bench share their passages."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.cache: dict[str, np.ndarray] = {}

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if missing:
            for text, vec in zip(missing, self.embedder.embed_documents(missing), strict=True):
                self.cache[text] = vec
        return np.stack([self.cache[t] for t in texts])


def verify_answer(item: LabelledAnswer, embedder) -> AnswerResult:
    hits = passages_as_hits(item)
    verification = verify_output(item.answer, hits, len(hits), embedder)
    removed = [(c.text, c.reason) for c in verification.removed]
    return AnswerResult(item, kept=bool(verification.kept) and not removed, removed=removed)


def run_bench(items: list[LabelledAnswer], embedder) -> list[AnswerResult]:
    embedder = CachingEmbedder(embedder)
    return [verify_answer(item, embedder) for item in items]


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def summarise(results: list[AnswerResult]) -> dict[str, Any]:
    true = [r for r in results if r.item.label == "true"]
    false = [r for r in results if r.item.label == "false"]
    return {"n_true": len(true), "n_false": len(false),
            "true_kept_rate": _rate(sum(r.kept for r in true), len(true)),
            "false_removed_rate": _rate(sum(not r.kept for r in false), len(false))}


def by_kind(results: list[AnswerResult]) -> list[tuple[str, str, str, int, int]]:
    """(split, label, kind, n, n handled correctly) for each group, sorted."""
    groups: dict[tuple[str, str, str], list[AnswerResult]] = {}
    for r in results:
        groups.setdefault((r.item.split or "-", r.item.label, r.item.kind or "-"), []).append(r)
    return [(s, lbl, k, len(rs), sum(r.correct for r in rs)) for (s, lbl, k), rs in sorted(groups.items())]


def result_to_json(r: AnswerResult) -> dict[str, Any]:
    return {"id": r.item.answer_id, "label": r.item.label, "split": r.item.split, "kind": r.item.kind,
            "kept": r.kept, "correct": r.correct,
            "removed": [{"sentence": s, "reason": why} for s, why in r.removed]}


def report_text(results: list[AnswerResult]) -> str:
    lines = []
    for split in sorted({r.item.split for r in results}):
        part = [r for r in results if r.item.split == split]
        s = summarise(part)
        name = f"split {split}" if split else "all answers"
        lines.append(f"{name}: {s['n_true']} true, kept {_pct(s['true_kept_rate'])}; {s['n_false']} corrupted, "
                     f"removed {_pct(s['false_removed_rate'])}")
    lines.append("")
    lines.append(f"{'split':6} {'label':5} {'kind':18} {'n':>4} {'right':>6}")
    for split, label, kind, n, ok in by_kind(results):
        lines.append(f"{split:6} {label:5} {kind:18} {n:>4} {ok / n:>6.0%}")
    failures = [r for r in results if not r.correct]
    lines.append("")
    lines.append(f"{len(failures)} failures" + (":" if failures else ""))
    for r in failures:
        what = "true answer cut" if r.item.label == "true" else "corrupted answer kept"
        lines.append(f"- {r.item.answer_id} [{r.item.split or '-'} {r.item.kind or '-'}] {what}")
        lines.append(f"    {r.item.answer}")
        for sentence, reason in r.removed:
            lines.append(f"    removed ({reason}): {sentence}")
    return "\n".join(lines)


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.1%}"


def bench_verify(
    file: Path = typer.Argument(..., help="JSONL of labelled answers (corpus/eval/verify/answers.jsonl)."),
    json_out: bool = typer.Option(False, "--json", help="Print {summary, results} as JSON."),
    split: str = typer.Option("", "--split", help="Only answers of this split (dev or test)."),
) -> None:
    """Verify answers of known truth as the LLM path does; report kept true and removed corrupted answers."""
    from .config import Settings
    from .embedders import get_embedder
    from .index import quiet_libraries

    try:
        items = load_labelled_answers(file)
    except BenchFileError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if split:
        items = [i for i in items if i.split == split]
        if not items:
            typer.echo(f"Error: {file} has no answers with split {split!r}", err=True)
            raise typer.Exit(2)
    settings = Settings()
    quiet_libraries()
    results = run_bench(items, get_embedder(settings.embedder, settings.embedder_path))
    if json_out:
        typer.echo(json.dumps({"summary": summarise(results), "results": [result_to_json(r) for r in results]},
                              ensure_ascii=False, indent=1))
    else:
        typer.echo(report_text(results))
