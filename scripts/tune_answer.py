"""Tune the extractive answer step on DEV questions only: retrieve once (cached), then compose and score.

Usage: python scripts/tune_answer.py INDEX SET[:SPLIT] ... [+ INDEX SET[:SPLIT] ...] [--failures] [--grid] [--each]
  SET:SPLIT keeps one split of a set ("corpus/eval/unseen-corpus.jsonl:dev"); a set without :SPLIT is used whole.
  "+" starts a group over another index (the PDF sets over the PDF index); retrievals are cached per index.
  --each prints a line per set (with the share of all questions right and the wrong-answer rate) before the total.
  --counts prints, per set, right / wrong / false abstentions of the answerable questions and abstained /
  answered unanswerable ones (runs/tune-last.jsonl holds every row, tagged with its set, for comparing two runs).
  --failures prints every wrong answer; --grid tries a small grid of the answer constants and prints the best.
Prints fact accuracy, false abstention, abstention on unanswerable and answer length for the selection.
"""

from __future__ import annotations

import json
import pickle
import sys
from dataclasses import replace
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
        r = retrievals[q.question]
        r = replace(r, covered=r.relevance >= assistant.retriever.threshold)  # cached under an older threshold
        a = answer_mod.compose_extractive(q.question, r, assistant.retriever)
        rows.append(score_question(q, a, 0.0, 5))
    return summarise(rows, {}), rows


KEYS = ("n", "accuracy", "wrong_answer_rate", "fact_accuracy", "false_abstention_rate", "abstention_recall",
        "source_cited_rate", "answer_words_p50", "answer_words_p90", "citation_validity")


def groups(args: list[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for a in args:
        if a == "+":
            out.append([])
        else:
            out[-1].append(a)
    return [g for g in out if len(g) >= 2]


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    rows: list[dict] = []
    for group in groups(args):
        index = Path(group[0])
        assistant = Assistant(open_index(index))
        cache = Path("runs") / f"tune-retrievals-{index.resolve().name}.pickle"
        for spec in group[1:]:
            questions = load([spec])
            retrievals = retrievals_for(assistant, questions, cache)
            summary, set_rows = run(assistant, questions, retrievals)
            for r in set_rows:
                r["set"] = spec
            rows += set_rows
            if "--each" in sys.argv:
                print(f"{Path(spec).name:28s} " + " ".join(f"{k} {summary.get(k)}" for k in KEYS))
        if "--grid" in sys.argv:
            grid(assistant, load(group[1:]), retrievals_for(assistant, load(group[1:]), cache))
    summary = summarise(rows, {})
    Path("runs").mkdir(exist_ok=True)
    Path("runs/tune-last.jsonl").write_text("".join(json.dumps(r, default=str) + "\n" for r in rows))
    print(f"{'all':28s} " + " ".join(f"{k} {summary.get(k)}" for k in KEYS))
    if "--counts" in sys.argv:
        print_counts(rows)
    if "--failures" in sys.argv:
        for r in rows:
            if not r["correct"]:
                print(f"\n## {r['id']} [{r.get('question_kind', '')}] {r['question']}\n   expect: "
                      f"{r['expected_facts'] or 'abstain'}\n   got: {r['answer'][:600]}")


def print_counts(rows: list[dict]) -> None:
    """Per set: right, wrong and false abstentions of the answerable questions; abstained and answered (a wrong
    answer) of the unanswerable ones."""
    for spec in dict.fromkeys(r["set"] for r in rows):
        mine = [r for r in rows if r["set"] == spec]
        ans = [r for r in mine if r["answerable"]]
        un = [r for r in mine if not r["answerable"]]
        right = sum(r["correct"] and not r["abstained"] for r in ans)
        fa = sum(r["abstained"] for r in ans)
        abst = sum(r["abstained"] for r in un)
        print(f"{Path(spec).name:28s} right {right}/{len(ans)} wrong {len(ans) - right - fa} false-abstention {fa} "
              f"abstained {abst}/{len(un)} unanswerable-answered {len(un) - abst}")


def grid(assistant: Assistant, questions, retrievals) -> None:
    """Abstention thresholds: each question is composed once with the checks off, then every combination of the
    relevance threshold and the answer step's probabilities is simulated."""
    from ioguide.answer import asked_of, score_sentences

    saved = answer_mod.ANSWER_MIN_P, answer_mod.CONFIDENT_P
    answer_mod.ANSWER_MIN_P, answer_mod.CONFIDENT_P = 0.0, -1.0
    facts = []
    for q in questions:
        r = replace(retrievals[q.question], covered=True)  # the relevance threshold is simulated below
        row = score_question(q, answer_mod.compose_extractive(q.question, r, assistant.retriever), 0.0, 5)
        rows = assistant.retriever.sentence_records([h.chunk.chunk_id for h in r.hits])
        cands = score_sentences(asked_of(q.question, assistant.retriever), r.hits, rows,
                                assistant.retriever.embed_query(q.question), assistant.retriever.stem)
        lead = max((c.score for c in cands if not c.gap), default=0.0)
        gap = max((c.score for c in cands if c.gap), default=0.0)
        facts.append((q.answerable, r.relevance, lead, gap, not row["abstained"], row["correct"]))
    answer_mod.ANSWER_MIN_P, answer_mod.CONFIDENT_P = saved
    results = []
    for t in [0.0, 0.4, 0.45, 0.5, 0.55, 0.6]:
        for p in [0.2, 0.3, 0.4, 0.5, 0.6, 0.7]:
            for c, m in [(c, m) for c in [0.8, 0.9, 0.95, 1.01] for m in [0.0, 0.1, 0.2]]:
                right = wrong_abst = abst_ok = n_ans = n_un = 0
                for answerable, rel, lead, gap, answers, correct in facts:
                    abstains = rel < t or lead < p or not answers or (gap >= lead - m and lead < c and gap >= p)
                    if answerable:
                        n_ans += 1
                        right += (not abstains) and correct
                        wrong_abst += abstains
                    else:
                        n_un += 1
                        abst_ok += abstains
                fa, fab, ar = right / n_ans, wrong_abst / n_ans, abst_ok / max(n_un, 1)
                results.append((round(fa + ar - 2 * max(0.0, fab - 0.05), 4), round(fa, 3), round(fab, 3),
                                round(ar, 3), {"threshold": t, "ANSWER_MIN_P": p, "CONFIDENT_P": c, "GAP_MARGIN": m}))
    for r in sorted(results, key=lambda r: -r[0])[:12]:
        print(r)

if __name__ == "__main__":
    main()
