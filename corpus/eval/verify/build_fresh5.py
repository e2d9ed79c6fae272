"""Build the fresh5 answer set (split "fresh5") from paraphrases-fresh5.yaml.

    python corpus/eval/verify/build_fresh5.py [--out PATH]   # default runs/verify/answers-fresh5.jsonl (git-ignored)
    python corpus/eval/verify/build_fresh5.py --chunks       # first re-freeze our PDF chunks and re-record digests

Two kinds of passage, each a chunk exactly as the product stores it (the real loader, chunker and the packaged
model's token counter):
- ours: the three fresh4 generated PDFs (tests/data/pdfs-fresh4/, rendered from tests/data/pdfspec-fresh4/), loaded
  with ingest.loaders.load_file and chunked as ingestion does, frozen in chunks-fresh5-own.jsonl by `--chunks` so the
  items stay as written whatever later changes the loader or chunker gets. No earlier verifier set has a chunk of
  these files (a PDF whose chunks an earlier set froze is refused). A passage is named [<pdf stem>, fragment];
- BEIR SciFact abstracts (ODC-By 1.0) that fresh4 does not use, read from ../shared/data/scifact/corpus.jsonl at every
  build and never stored in the project, chunked exactly as build_fresh4.py does (build_fresh4.scifact_chunks). A
  passage is named [scifact:<_id>, fragment of at most 12 words]; an abstract fresh4 names is refused.
The SHA-256 of every SciFact chunk in the pool is recorded in chunks-fresh5-shared.sha256 (digests only, no text): if
the chunker's output changes, the build stops naming the yaml items whose passage is not the one they were written
on. Without ../shared it stops naming the missing file.

Every answer is written by hand; nothing is generated. Each true item is shown with two unrelated chunks of the pool
(one with the same title when there is one, one with another title) in a seeded order (build.shown_with_distractors).
Items with `label: "false"` are corruptions of a true item (`of`, listed before it), shown with its passages; their
markers count that item's passages, and [x1] / [x2] point at its first / last distractor (the last one always has
another title). Each names its kind (hand_*) and `why` it is false.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE))

import build_fresh3 as fresh3  # noqa: E402
import build_fresh4 as fresh4  # noqa: E402
from build import _MARKER, SEED, renumber, shown_with_distractors  # noqa: E402

YAML = HERE / "paraphrases-fresh5.yaml"
OWN_CHUNKS = HERE / "chunks-fresh5-own.jsonl"
DIGESTS = HERE / "chunks-fresh5-shared.sha256"
OWN_PDFS = ROOT / "tests" / "data" / "pdfs-fresh4"
SCIFACT = fresh4.SCIFACT
EARLIER_CHUNKS = (HERE / "chunks-fresh3-own.jsonl", HERE / "chunks-fresh4-own.jsonl")
OUT = ROOT / "runs" / "verify" / "answers-fresh5.jsonl"
SPLIT = "fresh5"
MAX_FRAGMENT_WORDS = fresh4.MAX_FRAGMENT_WORDS
KINDS = fresh4.KINDS
HAND_KINDS = fresh4.HAND_KINDS
render = fresh4.render
labels_of = fresh4.labels_of
scifact_ids = fresh4.scifact_ids
_ANY_MARKER = re.compile(r"\[(x?\d+)\]")


def load_items() -> list[dict]:
    return yaml.safe_load(YAML.read_text(encoding="utf-8"))


def scifact_chunks(items: list[dict]) -> list[dict]:
    if not SCIFACT.exists():
        raise SystemExit(f"{SCIFACT} is absent: the fresh5 set's SciFact passages are made from it at build time (it "
                         "is third-party text, never copied into the project). Build where ../shared is beside the "
                         "project (this workplace, CI).")
    ids = scifact_ids(items)
    taken = set(scifact_ids(fresh4.load_items()))
    for item_id, label, _fragment in labels_of(items):
        if label.startswith("scifact:") and label[8:] in taken:
            raise SystemExit(f"{YAML.name}, {item_id}: abstract {label} is one fresh4 uses; pick another")
    return fresh4.scifact_chunks(ids) if ids else []


def own_chunks() -> list[dict]:
    if not OWN_CHUNKS.exists():
        raise SystemExit(f"{OWN_CHUNKS} is missing: run `python {Path(__file__).name} --chunks` first")
    return [json.loads(line) for line in OWN_CHUNKS.read_text(encoding="utf-8").splitlines()]


def earlier_sources() -> set[str]:
    """The files whose chunks an earlier verifier set froze (their passages may have been tuned on)."""
    return {json.loads(line)["source"] for path in EARLIER_CHUNKS
            for line in path.read_text(encoding="utf-8").splitlines()}


def naming(chunk: dict, items: list[dict]) -> list[str]:
    return [i for i, label, f in labels_of(items) if f in chunk["text"] and matches(label, chunk)]


def matches(label: str, chunk: dict) -> bool:
    if label.startswith("scifact:"):
        return chunk["source"] == label
    return chunk["source"] == f"{label}.pdf"


def digest_lines(chunks: list[dict], items: list[dict]) -> str:
    lines = ["# SHA-256 of each SciFact chunk in the fresh5 pool (source, title, section, text as sorted JSON): every "
             "chunk of the named abstracts, with the yaml items that name it. Written by build_fresh5.py --chunks; "
             "no third-party text is stored."]
    for chunk in chunks:
        lines.append(f"{fresh3.digest(chunk)} {chunk['source']} {','.join(naming(chunk, items)) or '-'}")
    return "\n".join(lines) + "\n"


def check_recorded(chunks: list[dict], items: list[dict]) -> None:
    fresh4.check_recorded(chunks, items, DIGESTS, YAML.name, naming, Path(__file__).name)


def make_chunks() -> None:
    pdfs = sorted(OWN_PDFS.glob("*.pdf"))
    if len(pdfs) != 3:
        raise SystemExit(f"expected the three fresh4 generated PDFs in {OWN_PDFS}, found {len(pdfs)}")
    own = fresh3.chunk_files(pdfs)
    OWN_CHUNKS.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in own), encoding="utf-8")
    items = load_items()
    shared = scifact_chunks(items)
    DIGESTS.write_text(digest_lines(shared, items), encoding="utf-8")
    print(f"{len(pdfs)} generated PDFs -> {len(own)} chunks in {OWN_CHUNKS.name}; {len(shared)} SciFact chunks -> "
          f"their digests in {DIGESTS.name}")


def find(chunks: list[dict], earlier: set[str], item_id: str, label: str, fragment: str) -> dict:
    found = [c for c in chunks if fragment in c["text"] and matches(label, c)]
    if len(found) != 1:
        raise SystemExit(f"{YAML.name}, {item_id}: {len(found)} chunks of {label!r} contain {fragment!r}, expected "
                         "exactly one (if the chunker changed, re-locate the passage and re-read the item)")
    if found[0]["source"] in earlier:
        raise SystemExit(f"{YAML.name}, {item_id}: {found[0]['source']} has chunks an earlier verifier set uses; "
                         "pick another passage")
    return found[0]


def check_item(item: dict, seen: set[str]) -> None:
    fresh4.check_item(item, seen, YAML.name, r"scifact:\d+|[a-z0-9-]+", "scifact:<_id> or a generated PDF's stem",
                      lambda label: label.startswith("scifact:"))

def corrupted_row(item: dict, shown_for: dict[str, tuple[dict, dict]]) -> dict:
    number, base = shown_for[item["of"]]
    keys = _ANY_MARKER.findall(item["answer"])
    if any(k not in number for k in keys):
        raise SystemExit(f"{YAML.name}, {item['id']}: a marker is not one of {item['of']}'s passages "
                         f"({', '.join(sorted(number))})")
    answer = _ANY_MARKER.sub(lambda m: f"[{number[m.group(1)]}]", item["answer"])
    return {"id": item["id"], **base, "answer": answer, "label": "false", "kind": item["kind"]}


def build() -> list[dict]:
    items = load_items()
    seen: set[str] = set()
    for item in items:
        check_item(item, seen)
        seen.add(item["id"])
    shared = scifact_chunks(items)
    check_recorded(shared, items)
    chunks = shared + own_chunks()
    earlier = earlier_sources()
    rows: list[dict] = []
    shown_for: dict[str, tuple[dict, dict]] = {}
    for item in items:
        if item.get("label", "true") == "false":
            rows.append(corrupted_row(item, shown_for))
            continue
        rng = random.Random(f"{SEED}:{item['id']}")
        cited = [find(chunks, earlier, item["id"], label, fragment) for label, fragment in item["passages"]]
        if max(int(n) for n in _MARKER.findall(item["answer"])) > len(cited):
            raise SystemExit(f"{YAML.name}, {item['id']}: a marker points past the {len(cited)} passage(s) the item "
                             "names")
        distinct = [c for i, c in enumerate(cited) if c not in cited[:i]]
        shown, distractors = shown_with_distractors(distinct, chunks, rng)
        number = {i + 1: shown.index(c) + 1 for i, c in enumerate(cited)}
        passages = [{"n": n, **{k: c[k] for k in ("title", "section", "text")}} for n, c in enumerate(shown, start=1)]
        base = {"passages": passages, "split": SPLIT, "question_id": ""}
        keyed = {str(k): v for k, v in number.items()}
        keyed.update({"x1": shown.index(distractors[0]) + 1, "x2": shown.index(distractors[-1]) + 1})
        shown_for[item["id"]] = (keyed, base)
        rows.append({"id": item["id"], **base, "answer": renumber(item["answer"], number), "label": "true",
                     "kind": item["kind"]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"answer file to write (default {OUT.relative_to(ROOT)})")
    parser.add_argument("--chunks", action="store_true", help=f"first re-make {OWN_CHUNKS.name} with the ingest code "
                        f"and re-record {DIGESTS.name}")
    args = parser.parse_args()
    if args.chunks:
        make_chunks()
    rows = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(rows), encoding="utf-8")
    n_true = sum(row["label"] == "true" for row in rows)
    print(f"{len(rows)} answers -> {args.out}: {SPLIT}/true {n_true}, {SPLIT}/false hand-written {len(rows) - n_true}")


if __name__ == "__main__":
    main()
