"""Dump per-sentence features for answerable questions of a set (for fitting the extractive ranker's weights).

Usage: python scripts/sentence_features.py SET INDEX OUT.jsonl
"""

import json
import sys
from pathlib import Path

from ioguide.answer import score_sentences
from ioguide.evaluate import fact_found, load_question_set
from ioguide.index import open_index
from ioguide.service import Assistant


def main() -> None:
    questions, _ = load_question_set(Path(sys.argv[1]))
    assistant = Assistant(open_index(Path(sys.argv[2])))
    out = open(sys.argv[3], "w")
    oracle = 0
    answerable = [q for q in questions if q.answerable]
    for q in answerable:
        r = assistant.retriever.retrieve(q.question, k=5)
        rows = assistant.retriever.sentence_records([h.chunk.chunk_id for h in r.hits])
        qvec = assistant.embedder.embed_query(q.question)
        cands = score_sentences(q.question, r.hits, rows, qvec, assistant.retriever.stem)
        any_hit = False
        for c in cands:
            label = any(fact_found(f, c.text) for f in q.answer_facts)
            any_hit |= label
            out.write(json.dumps({"qid": q.id, "label": label, "sim": c.sim, "lexical": c.lexical,
                                  "passage": c.passage, "score": c.score, "bullet": c.bullet,
                                  "fused": r.hits[c.passage].score, "text": c.text}) + "\n")
        oracle += any_hit
    print(f"answerable {len(answerable)}; a fact-bearing sentence is among the candidates for {oracle}")


if __name__ == "__main__":
    main()
