"""Tune the extractive answer step on DEV questions only: retrieve once (cached), then compose and score.

Usage: python scripts/tune_answer.py INDEX SET[:SPLIT] ... [--failures] [--grid]
  SET:SPLIT keeps one split of a set ("corpus/eval/unseen-corpus.jsonl:dev"); a set without :SPLIT is used whole.
  --failures prints every wrong answer; --grid tries a small grid of the answer constants and prints the best.
Prints fact accuracy, false abstention, abstention on unanswerable and answer length for the selection.
"""

from __future__ import annotations

import itertools
import pickle
import sys
from pathlib import Path

from ioguide import answer as answer_mod
from ioguide.evaluate import load_question_set, score_question, select_split, summarise
from ioguide.index import open_index
from ioguide.service import Assistant


def load(specs: list[str]):
    questions = []
    for spec in specs:
        path, _, split = spec.partition(":")
        qs, _errors = load_question_set(Path(path))
        questions += select_split(qs, split or None)
    return questions


def retrievals_for(assistant: Assistant, questions, cache: Path) -> dict:
    known = pickle.loads(cache.read_bytes()) if cache.exists() else {}
    for q in questions:
        if q.question not in known:
            r = assistant.retriever.retrieve(q.question, k=5)
            known[q.question] = r
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(known))
    return known


def run(assistant: Assistant, questions, retrievals) -> tuple[dict, list[dict]]:
    rows = []
    for q in questions:
        a = answer_mod.compose_extractive(q.question, retrievals[q.question], assistant.retriever)
        rows.append(score_question(q, a, 0.0, 5))
    return summarise(rows, {}), rows


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    assistant = Assistant(open_index(Path(args[0])))
    questions = load(args[1:])
    retrievals = retrievals_for(assistant, questions, Path("runs") / "tune-retrievals.pickle")
    summary, rows = run(assistant, questions, retrievals)
    keys = ("n", "fact_accuracy", "false_abstention_rate", "abstention_recall", "source_cited_rate",
            "answer_words_p50", "answer_words_p90", "citation_validity")
    print(" ".join(f"{k} {summary.get(k)}" for k in keys))
    if "--failures" in sys.argv:
        for r in rows:
            if not r["correct"]:
                print(f"\n## {r['id']} [{r['question_kind']}] {r['question']}\n   expect: "
                      f"{r['expected_facts'] or 'abstain'}\n   got: {r['answer'][:600]}")
    if "--grid" in sys.argv:
        grid = {"ANSWER_MARGIN": [0.1, 0.18], "SUPPORT_MARGIN": [0.05, 0.1], "KIND_BONUS": [0.1, 0.2, 0.3]}
        results = []
        for values in itertools.product(*grid.values()):
            for name, value in zip(grid, values, strict=True):
                setattr(answer_mod, name, value)
            s, _ = run(assistant, questions, retrievals)
            objective = s["fact_accuracy"] + (s["abstention_recall"] or 0) - 2 * s["false_abstention_rate"]
            results.append((round(objective, 4), s["fact_accuracy"], s["abstention_recall"],
                            s["false_abstention_rate"], s["answer_words_p50"], dict(zip(grid, values, strict=True))))
        for r in sorted(results, key=lambda r: -r[0])[:8]:
            print(r)


if __name__ == "__main__":
    main()
