"""Evaluation of question sets: load (JSONL/CSV), run, score per question and in aggregate, report, compare."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .answer import answer_to_json
from .errors import IOGuideError, QuestionSetError
from .stats import percentile
from .text import citation_label, squash
from .types import Answer, Hit

GATE_FILE = Path(__file__).parent / "data" / "eval_gate.json"


@dataclass
class Question:
    id: str
    question: str
    answer_facts: list[str] = field(default_factory=list)
    expected_sources: list[dict[str, Any]] = field(default_factory=list)
    type: str = "factoid"
    reference_answer: str = ""
    topic: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


_KNOWN = {"id", "question", "answer_facts", "expected_sources", "type", "reference_answer", "topic"}


def _question_from(obj: Any, where: str) -> Question:
    if not isinstance(obj, dict):
        raise ValueError("not an object")
    q = obj.get("question")
    if not isinstance(q, str) or not q.strip():
        raise ValueError("'question' is missing or empty")
    facts = obj.get("answer_facts", [])
    if isinstance(facts, str):
        facts = [f for f in (p.strip() for p in facts.split("|")) if f]
    if not isinstance(facts, list) or not all(isinstance(f, str | int | float) for f in facts):
        raise ValueError("'answer_facts' must be a list of strings")
    sources = obj.get("expected_sources", [])
    if isinstance(sources, str):
        sources = _parse_source_string(sources)
    if not isinstance(sources, list):
        raise ValueError("'expected_sources' must be a list")
    clean_sources = []
    for s in sources:
        if isinstance(s, str):
            clean_sources.extend(_parse_source_string(s))
            continue
        if not isinstance(s, dict) or not (s.get("doc_id") or s.get("file")):
            raise ValueError("each expected source needs 'doc_id' or 'file'")
        if s.get("page") is not None:
            try:
                s = {**s, "page": int(s["page"])}
            except (TypeError, ValueError, OverflowError) as exc:
                raise ValueError(f"page {s.get('page')!r} is not a number") from exc
        clean_sources.append(s)
    qtype = str(obj.get("type") or "factoid").strip().lower()
    qid = str(obj.get("id") or where)
    return Question(id=qid, question=q.strip(), answer_facts=[str(f) for f in facts], expected_sources=clean_sources,
                    type=qtype, reference_answer=str(obj.get("reference_answer") or ""),
                    topic=str(obj.get("topic") or ""), extra={k: v for k, v in obj.items() if k not in _KNOWN})


def _parse_source_string(text: str) -> list[dict[str, Any]]:
    out = []
    for part in (p.strip() for p in text.split("|")):
        if not part:
            continue
        if "#" in part:
            name, page = part.rsplit("#", 1)
            try:
                out.append({"file": name.strip(), "page": int(page)})
            except ValueError as exc:
                raise ValueError(f"page in {part!r} is not a number") from exc
        elif "." in part or "/" in part:
            out.append({"file": part})
        else:
            out.append({"doc_id": part})
    return out


def load_question_set(path: Path) -> tuple[list[Question], list[str]]:
    """Questions, and one message per malformed line ("line 7: ...") that was skipped."""
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionSetError(f"{path}: cannot read the question set ({exc})") from exc
    questions: list[Question] = []
    errors: list[str] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(raw))
        try:
            fieldnames = reader.fieldnames
        except csv.Error as exc:
            raise QuestionSetError(f"{path}: the CSV header row cannot be read ({exc})") from exc
        if not fieldnames or "question" not in fieldnames:
            raise QuestionSetError(f"{path}: a CSV question set needs a header row with a 'question' column")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:  # e.g. an unclosed quote makes the rest of the file one huge field
                errors.append(f"{path.name} line {reader.line_num + 1}: {exc}; the rest of the file was not read")
                break
            n = reader.line_num  # the physical line the record ends on (a quoted field may span lines)
            try:
                questions.append(_question_from({k: v for k, v in row.items() if k}, f"line-{n}"))
            except ValueError as exc:
                errors.append(f"{path.name} line {n}: {exc}")
    else:
        # split("\n"), not splitlines(): U+2028 and friends are valid inside a JSON string.
        for n, line in enumerate(raw.split("\n"), start=1):
            line = line.rstrip("\r")
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"{path.name} line {n}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            except RecursionError:
                errors.append(f"{path.name} line {n}: nested too deeply to be a question")
                continue
            try:
                questions.append(_question_from(obj, f"line-{n}"))
            except ValueError as exc:
                errors.append(f"{path.name} line {n}: {exc}")
    seen: set[str] = set()
    for q in questions:
        if q.id in seen:
            errors.append(f"{path.name}: duplicate id {q.id!r} (both kept)")
        seen.add(q.id)
    return questions, errors


def select_split(questions: list[Question], split: str | None) -> list[Question]:
    """The questions of one split ("dev" or "test", from each line's "split" field); all for None or "all"."""
    if split in (None, "", "all"):
        return list(questions)
    chosen = [q for q in questions if str(q.extra.get("split", "")).lower() == split.lower()]
    if not chosen:
        found = sorted({str(q.extra.get("split")) for q in questions if q.extra.get("split")})
        raise QuestionSetError(f"no question has split {split!r} (splits in the set: {', '.join(found) or 'none'})")
    return chosen


# ---------------------------------------------------------------- scoring

def missing_sources(questions: list[Question], documents: list[dict[str, Any]]) -> list[str]:
    """One message per expected document (doc_id or file name) that the index does not hold, naming the questions
    that expect it: their sources can never be retrieved, so their scores say nothing about the answer step."""
    doc_ids = {d.get("doc_id") for d in documents}
    files = {Path(str(d.get(k) or "")).name for d in documents for k in ("source", "source_url")} - {""}
    wanted: dict[str, list[str]] = {}
    for q in questions:
        for src in q.expected_sources:
            if src.get("doc_id"):
                key, held = f"doc_id {src['doc_id']}", src["doc_id"] in doc_ids
            elif src.get("file"):
                name = Path(str(src["file"])).name
                key, held = f"file {name}", name in files
            else:
                continue
            if not held:
                wanted.setdefault(key, []).append(q.id)
    return [f"the index holds no {key}, which {len(ids)} question(s) expect ({', '.join(ids[:5])}"
            f"{', ...' if len(ids) > 5 else ''}): index that document or their scores are meaningless"
            for key, ids in sorted(wanted.items())]


def fact_found(fact: str, text: str) -> bool:
    return squash(fact) in squash(text)


def _source_matches(expected: dict[str, Any], hit: Hit) -> bool:
    chunk = hit.chunk
    if expected.get("doc_id"):
        return chunk.doc_id == expected["doc_id"]
    name = Path(str(expected["file"])).name
    if Path(chunk.source or chunk.source_url or "").name != name and Path(chunk.source_url or "").name != name:
        return False
    page = expected.get("page")
    if page is None:
        return True
    start, end = chunk.page_start, chunk.page_end
    return start is not None and start <= page <= (end or start)


def citation_checks(answer: Answer) -> tuple[int, int]:
    """(valid, total) citation markers: the marker resolves to a given passage and its quote is that passage's
    text at the stated offsets."""
    passages = dict(enumerate(answer.passages, start=1))
    valid = 0
    for c in answer.citations:
        hit = passages.get(c.n)
        if hit and hit.chunk.chunk_id == c.chunk_id and hit.chunk.text[c.start:c.end] == c.quote and c.quote:
            valid += 1
    markers = [int(m) for m in re.findall(r"\[(\d+)\]", answer.text)]
    dangling = sum(1 for m in markers if m not in passages or not any(c.n == m for c in answer.citations))
    return valid, len(answer.citations) + dangling


def score_question(q: Question, answer: Answer, latency_ms: float, k: int) -> dict[str, Any]:
    abstained = not answer.grounded
    facts = {f: (not abstained and fact_found(f, answer.text)) for f in q.answer_facts}
    numbered = list(enumerate(answer.passages, start=1))
    retrieved = numbered[:k] if not abstained else []
    all_retrieved = numbered[:k]
    cited_ns = {c.n for c in answer.citations}
    cited = [(n, h) for n, h in numbered if n in cited_ns]
    rank = None
    for r, (_n, hit) in enumerate(sorted(all_retrieved, key=lambda p: -round(p[1].score, 4)), start=1):
        if any(_source_matches(e, hit) for e in q.expected_sources):
            rank = r
            break
    valid, total = citation_checks(answer)
    if q.answerable:
        correct = not abstained and all(facts.values())
    else:
        correct = abstained
    as_json = answer_to_json(answer)
    return {
        "id": q.id, "question": q.question, "type": q.type, "topic": q.topic, "answerable": q.answerable,
        "answer": answer.text, "grounded": answer.grounded, "abstained": abstained,
        "query": answer.query, "relevance": answer.relevance,
        "facts": facts, "expected_facts": q.answer_facts, "expected_sources": q.expected_sources,
        "source_rank": rank,
        "source_cited": any(_source_matches(e, h) for e in q.expected_sources for _n, h in cited),
        "source_retrieved": bool(retrieved) and rank is not None,
        "citations": as_json["citations"], "citations_valid": valid, "citations_total": total,
        "sources": [citation_label(h.chunk.title, h.chunk.edition, h.chunk.section,
                                   [c.page for c in answer.citations if c.n == n] or [h.chunk.page_start])
                    for n, h in cited],
        "answer_words": answer_words(answer.text) if answer.grounded else 0,
        "correct": correct, "latency_ms": round(latency_ms, 1),
        "backend": answer.backend, "notes": list(answer.notes),
    }


def answer_words(text: str) -> int:
    """Words of an answer as a reader counts them: without the [n] markers."""
    return len(re.sub(r"\[\d+\]", " ", text).split())


def _percentile(values: list[float], q: float) -> float:
    return percentile(values, q * 100)  # q as a fraction here


def summarise(results: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any]:
    answerable = [r for r in results if r["answerable"]]
    unanswerable = [r for r in results if not r["answerable"]]
    with_sources = [r for r in answerable if r["expected_sources"]]
    n_facts = sum(len(r["facts"]) for r in answerable)
    found = sum(sum(r["facts"].values()) for r in answerable)
    valid = sum(r["citations_valid"] for r in results)
    total = sum(r["citations_total"] for r in results)
    latencies = [r["latency_ms"] for r in results]
    # Length of the answers given (abstentions excluded), so accuracy cannot be bought with length.
    lengths = [r.get("answer_words", 0) for r in results if not r["abstained"]]
    topics: dict[str, list[bool]] = {}
    for r in results:
        topics.setdefault(r["topic"] or "(none)", []).append(r["correct"])
    ratio = lambda a, b: round(a / b, 4) if b else None  # noqa: E731
    return {
        "n": len(results), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "accuracy": ratio(sum(r["correct"] for r in results), len(results)),
        "fact_accuracy": ratio(sum(1 for r in answerable if not r["abstained"] and all(r["facts"].values())),
                               len(answerable)),
        "fact_recall": ratio(found, n_facts),
        "abstention_recall": ratio(sum(r["abstained"] for r in unanswerable), len(unanswerable)),
        "false_abstention_rate": ratio(sum(r["abstained"] for r in answerable), len(answerable)),
        # The worst outcome: an answer given (not an abstention) that misses an expected fact or answers a question
        # the documents do not answer. Share of all questions.
        "wrong_answer_rate": ratio(sum(1 for r in results if not r["abstained"] and not r["correct"]), len(results)),
        "source_recall_at_k": ratio(sum(r["source_rank"] is not None for r in with_sources), len(with_sources)),
        "source_cited_rate": ratio(sum(r["source_cited"] for r in with_sources), len(with_sources)),
        "mrr": ratio(sum(1 / r["source_rank"] for r in with_sources if r["source_rank"]), len(with_sources)),
        "citation_validity": ratio(valid, total) if total else 1.0,
        "answer_words_p50": round(_percentile(lengths, 0.5), 1),
        "answer_words_p90": round(_percentile(lengths, 0.9), 1),
        "latency_ms_p50": round(_percentile(latencies, 0.5), 1),
        "latency_ms_p95": round(_percentile(latencies, 0.95), 1),
        "per_topic_accuracy": {t: ratio(sum(v), len(v)) for t, v in sorted(topics.items())},
        "config": config,
    }


def run_eval(questions: list[Question], ask: Callable[[str], Answer], k: int,
             progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    results = []
    for i, q in enumerate(questions, start=1):
        t = time.perf_counter()
        answer = ask(q.question)
        results.append(score_question(q, answer, (time.perf_counter() - t) * 1000, k))
        if progress:
            progress(i, len(questions))
    return results


def write_run(out_dir: Path, results: list[dict[str, Any]], summary: dict[str, Any], errors: list[str]) -> None:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    summary = {**summary, "set_errors": errors}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    (out_dir / "report.html").write_text(render_report(results, summary), encoding="utf-8")


# ---------------------------------------------------------------- report

HEADLINE = ["fact_accuracy", "fact_recall", "abstention_recall", "false_abstention_rate", "wrong_answer_rate",
            "source_recall_at_k", "source_cited_rate", "mrr", "citation_validity"]
LENGTH = ["answer_words_p50", "answer_words_p90"]  # words per answer given: median, 90th percentile


def plots(results: list[dict[str, Any]], summary: dict[str, Any]) -> dict[str, str]:
    """PNG plots as base64 strings: metric bars, latency histogram, per-topic accuracy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}

    def png(fig) -> str:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        plt.close(fig)
        return base64.b64encode(buf.getvalue()).decode()

    fig, ax = plt.subplots(figsize=(7, 3.2))
    names = [m for m in HEADLINE if summary.get(m) is not None]
    ax.barh(names, [summary[m] for m in names], color="#2b6cb0")
    ax.set_xlim(0, 1)
    for i, m in enumerate(names):
        ax.text(min(summary[m] + 0.01, 0.93), i, f"{summary[m]:.2f}", va="center")
    ax.set_title("Metrics")
    ax.invert_yaxis()
    out["metrics"] = png(fig)

    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.hist([r["latency_ms"] for r in results], bins=20, color="#718096")
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.set_title(f"Latency: p50 {summary['latency_ms_p50']} ms, p95 {summary['latency_ms_p95']} ms")
    out["latency"] = png(fig)

    topics = summary.get("per_topic_accuracy", {})
    fig, ax = plt.subplots(figsize=(7, 0.4 * max(3, len(topics)) + 0.8))
    ax.barh(list(topics), [v or 0 for v in topics.values()], color="#38a169")
    ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_title("Accuracy per topic (answerable: all facts; unanswerable: abstained)")
    out["topics"] = png(fig)
    return out


def render_report(results: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    e = html.escape
    images = plots(results, summary)
    rows = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in summary.items()
                   if k not in ("config", "per_topic_accuracy", "set_errors"))
    failures = [r for r in results if not r["correct"]]
    fail_rows = []
    for r in failures:
        missing = [f for f, ok in r["facts"].items() if not ok]
        expect = "abstain" if not r["answerable"] else "; ".join(r["expected_facts"])
        fail_rows.append(
            f"<tr><td>{e(r['id'])}</td><td>{e(r['question'])}</td><td>{e(expect)}</td>"
            f"<td>{e(', '.join(missing))}</td><td>{e(r['answer'])}</td><td>{e(' | '.join(r['sources']))}</td></tr>")
    errors = "".join(f"<li>{e(x)}</li>" for x in summary.get("set_errors", []))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>IO Guide evaluation</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;font-size:14px}}
img{{max-width:100%}}</style></head><body>
<h1>IO Guide evaluation report</h1>
<p>{summary['n']} questions ({summary['answerable']} answerable, {summary['unanswerable']} unanswerable).
Config: <code>{e(json.dumps(summary.get('config', {})))}</code></p>
<h2>Summary</h2><table>{rows}</table>
<h2>Plots</h2><img alt="metric bars" src="data:image/png;base64,{images['metrics']}">
<img alt="latency histogram" src="data:image/png;base64,{images['latency']}">
<img alt="accuracy per topic" src="data:image/png;base64,{images['topics']}">
<h2>Failures ({len(failures)})</h2>
<table><tr><th>id</th><th>question</th><th>expected</th><th>missing facts</th><th>answer</th><th>sources</th></tr>
{''.join(fail_rows)}</table>
<h2>Question set problems</h2><ul>{errors or '<li>none</li>'}</ul>
</body></html>"""


# ---------------------------------------------------------------- comparing runs

def load_run(run_dir: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    run_dir = Path(run_dir)
    try:
        results = {}
        for line in (run_dir / "results.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                results[r["id"]] = r
        summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError) as exc:
        raise QuestionSetError(f"{run_dir}: not an evaluation run folder ({exc})") from exc
    return results, summary


def compare_runs(run_a: Path, run_b: Path) -> dict[str, Any]:
    a, sa = load_run(run_a)
    b, sb = load_run(run_b)
    improved, regressed, changed = [], [], []
    for qid in sorted(set(a) & set(b)):
        ra, rb = a[qid], b[qid]
        if ra["correct"] != rb["correct"]:
            (improved if rb["correct"] else regressed).append({"id": qid, "question": rb["question"],
                                                                "before": ra["answer"], "after": rb["answer"]})
        elif ra["answer"] != rb["answer"]:
            changed.append(qid)
    deltas = {m: (sa.get(m), sb.get(m), round(sb[m] - sa[m], 4) if isinstance(sa.get(m), int | float)
                  and isinstance(sb.get(m), int | float) else None)
              for m in HEADLINE + LENGTH + ["latency_ms_p50", "latency_ms_p95"]}
    return {"improved": improved, "regressed": regressed, "changed_answer_same_verdict": changed,
            "only_in_a": sorted(set(a) - set(b)), "only_in_b": sorted(set(b) - set(a)), "metrics": deltas}


def check_gate(summary: dict[str, Any], gate_file: Path = GATE_FILE) -> list[str]:
    """Metrics below the committed thresholds, as messages (empty: the gate passes)."""
    gate = load_gate(gate_file)
    problems = []
    for metric, minimum in gate["minimums"].items():
        value = summary.get(metric)
        if value is None or value < minimum:
            problems.append(f"{metric} = {value} is below the gate minimum {minimum}")
    for metric, maximum in gate.get("maximums", {}).items():
        value = summary.get(metric)
        if value is None or value > maximum:
            problems.append(f"{metric} = {value} is above the gate maximum {maximum}")
    return problems


def load_gate(gate_file: Path = GATE_FILE) -> dict[str, Any]:
    """A gate file: the set and split it was measured on, `minimums` and `maximums` per metric."""
    try:
        gate = json.loads(Path(gate_file).read_text())
    except FileNotFoundError:
        raise IOGuideError(f"{gate_file}: gate file not found") from None
    except json.JSONDecodeError as exc:
        raise IOGuideError(f"{gate_file}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(gate, dict) or not isinstance(gate.get("minimums"), dict) \
            or not isinstance(gate.get("maximums", {}), dict):
        raise IOGuideError(f"{gate_file}: a gate needs a 'minimums' object, and may have 'maximums', "
                           "each of metric: bound")
    unknown = sorted((set(gate["minimums"]) | set(gate.get("maximums", {}))) - set(HEADLINE + LENGTH))
    if unknown:
        raise IOGuideError(f"{gate_file}: unknown metric(s) {', '.join(unknown)}; "
                           f"known: {', '.join(HEADLINE + LENGTH)}")
    return gate
