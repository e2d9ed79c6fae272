"""Train the answer step's sentence ranker on DEV questions only and write ioguide/data/sentence_ranker.json.

Usage: python scripts/sentence_features.py INDEX SET[:SPLIT] ... [+ INDEX SET[:SPLIT] ...] [--write | --out FILE]
  Each INDEX is followed by the question sets asked over it (the corpus sets over the corpus index, the PDF set
  over the PDF index); groups are joined with a lone "+".
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

from ioguide.answer import asked_of, score_sentences
from ioguide.evaluate import fact_found
from ioguide.index import open_index
from ioguide.sentence_rank import FEATURES, RANKER_FILE
from ioguide.service import Assistant
from scripts.tune_answer import load, retrievals_for


def listwise_weights(x: np.ndarray, y: np.ndarray, groups: np.ndarray, l2: float = 0.01) -> np.ndarray:
    """Weights maximising, over the questions, the softmax probability of the sentences that hold a fact among all
    of that question's sentences (scipy L-BFGS)."""
    from scipy.optimize import minimize

    keys = sorted(set(groups.tolist()))
    index = [np.flatnonzero(groups == g) for g in keys]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = x @ w
        total, grad = l2 * float(w @ w), 2 * l2 * w
        for rows in index:
            pos = rows[y[rows] == 1]
            if not len(pos):
                continue
            sa, sp = s[rows], s[pos]
            pa, pp = np.exp(sa - sa.max()), np.exp(sp - sp.max())
            pa, pp = pa / pa.sum(), pp / pp.sum()
            total -= float(np.log(np.exp(sp - sa.max()).sum()) - np.log(np.exp(sa - sa.max()).sum()))
            grad -= pp @ x[pos] - pa @ x[rows]
        return total, grad

    return minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x


def groups_of(args: list[str]) -> list[tuple[str, list[str]]]:
    """INDEX SET ... [+ INDEX SET ...] -> [(INDEX, [SET, ...]), ...]: each group of sets over its own index."""
    out: list[tuple[str, list[str]]] = []
    for part in " ".join(args).split(" + "):
        words = part.split()
        if len(words) < 2:
            raise SystemExit(f"expected INDEX SET[:SPLIT] ..., got {part!r}")
        out.append((words[0], words[1:]))
    return out


def main() -> None:
    out = RANKER_FILE
    argv = sys.argv[1:]
    if "--out" in argv:  # write the weights elsewhere (a leave-one-set-out trial), implies --write
        i = argv.index("--out")
        out = Path(argv[i + 1])
        argv = argv[:i] + ["--write"] + argv[i + 2:]
    args = [a for a in argv if not a.startswith("--")]
    xs, ys, groups = [], [], []
    oracle = n_questions = 0
    g = 0
    for index, sets in groups_of(args):
        assistant = Assistant(open_index(Path(index)))
        questions = [q for q in load(sets) if q.answerable]
        cache = Path("runs") / f"tune-retrievals-{Path(index).name}.pickle"
        retrievals = retrievals_for(assistant, questions, cache)
        n_questions += len(questions)
        for q in questions:
            g += 1
            r = retrievals[q.question]
            rows = assistant.retriever.sentence_records([h.chunk.chunk_id for h in r.hits])
            asked = asked_of(q.question, assistant.retriever)
            cands = score_sentences(asked, r.hits, rows, assistant.retriever.embed_query(q.question),
                                    assistant.retriever.stem)
            labels = [any(fact_found(f, c.text) for f in q.answer_facts) for c in cands]
            oracle += any(labels)
            for c, label in zip(cands, labels, strict=True):
                xs.append(c.features)
                ys.append(int(label))
                groups.append(g)
    x, y = np.vstack(xs), np.array(ys)
    print(f"{n_questions} answerable questions; a fact-bearing sentence is retrieved for {oracle}; "
          f"{len(y)} sentences, {int(y.sum())} positive")
    from sklearn.linear_model import LogisticRegression

    groups_arr = np.array(groups)
    direction = listwise_weights(x, y, groups_arr)
    # The listwise weights order the sentences of a question; one pointwise logistic fit of that single score
    # turns it into a probability, so the answer step's thresholds mean "how likely this sentence holds a fact".
    score = x @ direction
    scale = LogisticRegression(C=1.0, class_weight="balanced").fit(score[:, None], y)
    a, b = float(scale.coef_[0][0]), float(scale.intercept_[0])
    weights = [round(float(w) * a, 4) for w in direction]
    intercept = round(b, 4)
    for name, w in zip(FEATURES, weights, strict=True):
        print(f"  {name:14} {w:+.3f}")
    print(f"  intercept      {intercept:+.3f}")
    p = score
    top_right = sum(int(y[groups_arr == g][np.argmax(p[groups_arr == g])]) for g in set(groups))
    print(f"top sentence holds a fact for {top_right} of {len(set(groups))} questions (training fit)")
    if "--write" in argv:
        out.write_text(json.dumps({
            "features": list(FEATURES), "weights": weights, "intercept": intercept,
            "trained_on": [s for _index, sets in groups_of(args) for s in sets],
            "examples": int(len(y)), "positives": int(y.sum()),
            "model": "listwise (softmax over each question's sentences, L2 0.01) weights, scaled to a probability by "
                     "a one-feature sklearn LogisticRegression(class_weight='balanced')"}, indent=2) + "\n")
        print(f"Wrote {out}")


if __name__ == "__main__":
    main()
