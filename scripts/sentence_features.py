"""Train the answer step's sentence ranker on DEV questions only and write ioguide/data/sentence_ranker.json.

Usage: python scripts/sentence_features.py INDEX SET[:SPLIT] ... [--write]
  Every sentence of the passages retrieved for an answerable question is one example, labelled 1 when it holds
  one of the question's expected facts. A logistic regression (scikit-learn, a development-time dependency only:
  the product evaluates the stored weights with numpy) is fitted with balanced classes; its weights are printed
  and, with --write, stored with the feature names and the sets used.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from ioguide.answer import score_sentences
from ioguide.evaluate import fact_found
from ioguide.index import open_index
from ioguide.sentence_rank import FEATURES, RANKER_FILE, read_question
from ioguide.service import Assistant
from scripts.tune_answer import load, retrievals_for


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    assistant = Assistant(open_index(Path(args[0])))
    questions = [q for q in load(args[1:]) if q.answerable]
    retrievals = retrievals_for(assistant, questions, Path("runs") / "tune-retrievals.pickle")
    xs, ys, groups = [], [], []
    oracle = 0
    for g, q in enumerate(questions):
        r = retrievals[q.question]
        rows = assistant.retriever.sentence_records([h.chunk.chunk_id for h in r.hits])
        asked = read_question(q.question, assistant.retriever.stem)
        cands = score_sentences(asked, r.hits, rows, assistant.retriever.embed_query(q.question),
                                assistant.retriever.stem)
        labels = [any(fact_found(f, c.text) for f in q.answer_facts) for c in cands]
        oracle += any(labels)
        for c, label in zip(cands, labels, strict=True):
            xs.append(c.features)
            ys.append(int(label))
            groups.append(g)
    x, y = np.vstack(xs), np.array(ys)
    print(f"{len(questions)} answerable questions; a fact-bearing sentence is retrieved for {oracle}; "
          f"{len(y)} sentences, {int(y.sum())} positive")
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000).fit(x, y)
    weights = [round(float(w), 4) for w in model.coef_[0]]
    for name, w in zip(FEATURES, weights, strict=True):
        print(f"  {name:14} {w:+.3f}")
    print(f"  intercept      {float(model.intercept_[0]):+.3f}")
    # How often the top-ranked sentence of a question holds a fact (the answer step's lead).
    p = model.predict_proba(x)[:, 1]
    top_right = sum(int(y[np.flatnonzero(np.array(groups) == g)][np.argmax(p[np.array(groups) == g])])
                    for g in set(groups))
    print(f"top sentence holds a fact for {top_right} of {len(set(groups))} questions (training fit)")
    if "--write" in sys.argv:
        RANKER_FILE.write_text(json.dumps({
            "features": list(FEATURES), "weights": weights, "intercept": round(float(model.intercept_[0]), 4),
            "trained_on": args[1:], "examples": int(len(y)), "positives": int(y.sum()),
            "model": "sklearn LogisticRegression(C=1.0, class_weight='balanced')"}, indent=2) + "\n")
        print(f"Wrote {RANKER_FILE}")


if __name__ == "__main__":
    main()
