"""Build corpus/eval/verify/answers-fresh2.jsonl (split "fresh2") from paraphrases-fresh2.yaml.

    python corpus/eval/verify/build_fresh2.py

The passages are the chunks as they are stored in answers.jsonl and answers-fresh.jsonl (not re-chunked from today's
corpus, which has changed since those sets were built), so all three sets are measured on the same chunk texts. A
passage is named by a fragment that must occur in exactly one stored chunk, and a chunk that a true answer of an
earlier set cites is refused: the fresh2 answers are about other chunks. Each true answer is shown with two
unrelated stored chunks (one with the same title, one with another) in a seeded order, and yields the same
corruptions as build.py makes (build.corrupt).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from build import _MARKER, SEED, corruptions_of, renumber, shown_with_distractors  # noqa: E402

SOURCES = (HERE / "answers.jsonl", HERE / "answers-fresh.jsonl")
OUT = HERE / "answers-fresh2.jsonl"


def stored_chunks() -> tuple[list[dict], set[str]]:
    """Every distinct stored passage (title, section, text) and the texts that earlier true answers cite."""
    chunks: dict[str, dict] = {}
    cited: set[str] = set()
    for source in SOURCES:
        for line in source.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            for p in row["passages"]:
                chunks.setdefault(p["text"], {k: p[k] for k in ("title", "section", "text")})
            if row["label"] == "true":
                cited.update(row["passages"][int(n) - 1]["text"] for n in _MARKER.findall(row["answer"]))
    return list(chunks.values()), cited


def find(chunks: list[dict], cited: set[str], item_id: str, fragment: str) -> dict:
    found = [c for c in chunks if fragment in c["text"]]
    if len(found) != 1:
        raise SystemExit(f"paraphrases-fresh2.yaml, {item_id}: {len(found)} stored chunks contain {fragment!r}, "
                         "expected exactly one")
    if found[0]["text"] in cited:
        raise SystemExit(f"paraphrases-fresh2.yaml, {item_id}: the chunk containing {fragment!r} is cited by an "
                         "earlier set; pick another chunk")
    return found[0]


def build() -> list[dict]:
    chunks, cited = stored_chunks()
    items = yaml.safe_load((HERE / "paraphrases-fresh2.yaml").read_text(encoding="utf-8"))
    rows: list[dict] = []
    seen: set[str] = set()
    for item in items:
        if item["id"] in seen:
            raise SystemExit(f"paraphrases-fresh2.yaml: duplicate id {item['id']!r}")
        seen.add(item["id"])
        rng = random.Random(f"{SEED}:{item['id']}")
        shown_cited = []
        for _label, fragment in item["passages"]:
            chunk = find(chunks, cited, item["id"], fragment)
            if chunk not in shown_cited:
                shown_cited.append(chunk)
        shown, distractors = shown_with_distractors(shown_cited, chunks, rng)
        index = [shown_cited.index(find(chunks, cited, item["id"], f)) for _l, f in item["passages"]]
        number = {i + 1: shown.index(shown_cited[j]) + 1 for i, j in enumerate(index)}
        answer = renumber(item["answer"], number)
        passages = [{"n": n, **c} for n, c in enumerate(shown, start=1)]
        base = {"passages": passages, "split": "fresh2", "question_id": ""}
        rows.append({"id": item["id"], **base, "answer": answer, "label": "true", "kind": item["kind"]})
        rows.extend(corruptions_of(item["id"], answer, base, len(passages), distractors[-1]["text"], rng))
    return rows


def main() -> None:
    rows = build()
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    n_true = sum(r["label"] == "true" for r in rows)
    print(f"{len(rows)} answers -> {OUT.name}: fresh2/true {n_true}, fresh2/false {len(rows) - n_true}")


if __name__ == "__main__":
    main()
