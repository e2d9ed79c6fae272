"""Grid over the extractive composer's sentence weights, scored by fact accuracy and abstention on a question set.

Usage: python scripts/tune_answer.py SET INDEX   (prints the best settings; copy them into ioguide/answer.py)
"""

import itertools
import sys
from pathlib import Path

from ioguide import answer as answer_mod
from ioguide.evaluate import load_question_set, score_question, summarise
from ioguide.index import open_index
from ioguide.service import Assistant


def main() -> None:
    questions, _ = load_question_set(Path(sys.argv[1]))
    assistant = Assistant(open_index(Path(sys.argv[2])))
    retrievals = {q.id: assistant.retriever.retrieve(q.question, k=5) for q in questions}
    base = dict(answer_mod.SENTENCE_WEIGHTS)
    grid = {"lexical": [0.4, 0.7], "rank": [0.015, 0.06, 0.12], "bullet": [0.0, 0.15], "numeric": [0.08, 0.2],
            "length": [0.0, 0.15], "lead_in": [0.0, 0.3]}
    margins = [0.08, 0.12, 0.18]
    results = []
    for values in itertools.product(*grid.values()):
        for margin in margins:
            answer_mod.SENTENCE_WEIGHTS = {**base, **dict(zip(grid, values, strict=True))}
            answer_mod.ANSWER_MARGIN = margin
            rows = []
            for q in questions:
                a = answer_mod.compose_extractive(q.question, retrievals[q.id], assistant.retriever)
                rows.append(score_question(q, a, 0.0, 5))
            s = summarise(rows, {})
            results.append((s["fact_accuracy"] + 0.5 * s["abstention_recall"], s["fact_accuracy"],
                            s["abstention_recall"], s["false_abstention_rate"], dict(zip(grid, values, strict=True)),
                            margin))
    results.sort(key=lambda r: -r[0])
    for r in results[:8]:
        print(f"objective {r[0]:.3f} fact_acc {r[1]} abst {r[2]} false_abst {r[3]} {r[4]} margin {r[5]}")


if __name__ == "__main__":
    main()
