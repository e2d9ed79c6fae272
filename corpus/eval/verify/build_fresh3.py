"""Build the fresh3 answer set (split "fresh3") from paraphrases-fresh3.yaml.

    python corpus/eval/verify/build_fresh3.py [--out PATH]   # default runs/verify/answers-fresh3.jsonl (git-ignored)
    python corpus/eval/verify/build_fresh3.py --chunks       # first re-freeze our chunks and re-record the BSG digests

The passages are chunks exactly as the product stores them, made with the real loader and chunker
(ingest.loaders.load_file, ingest.chunking.chunk_sections, the packaged model's token counter). Two kinds:
- ours: the five generated PDFs in tests/data/pdfs and the bundled corpus, frozen in chunks-fresh3-own.jsonl by
  `--chunks`, so the items on them stay as written whatever later changes the chunker gets;
- the third-party BSG 2014 coeliac guideline (CC BY-NC 3.0): read from ../shared/data/pdfs at every build and never
  stored in the project. Only its chunks that a yaml fragment names are kept (the BSG answers are shown with other
  named BSG chunks as their same-document distractors). Their SHA-256 digests, in order, are recorded in
  chunks-fresh3-bsg.sha256 (digests only, no text): if the chunker's output for the PDF changes, the build stops and
  names the yaml items whose passage is no longer the one they were written on; re-read those items against the new
  chunks, then run `--chunks` to record them. After adding an item on a new BSG chunk, run `--chunks` too.
So two builds are byte-identical, and the build fails loudly rather than drift. Without ../shared it stops with a
message naming the missing PDF.

A passage is named by a fragment that must occur in exactly one chunk. A corpus chunk that shares a sentence
with a chunk cited by a true answer of an earlier set (answers.jsonl, answers-fresh.jsonl, answers-fresh2.jsonl) is
refused. Each true answer is shown with two unrelated chunks (one with the same title, one with another) in
a seeded order and yields the corruptions build.py makes (build.corruptions_of). Items with `label: "false"` are
corruptions written by hand (kind hand_*): each names the true item (`of`) whose passages it is shown with, and its
markers count the passages as that item lists them. A generated corruption that, read against its passages, is still
true (the rules cannot know: "fewer than 2%" follows from "<1%") is left out where the item's `keep_true` names its
kind with the reason.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE))

from build import _MARKER, SEED, corruptions_of, renumber, shown_with_distractors  # noqa: E402

YAML = HERE / "paraphrases-fresh3.yaml"
OWN_CHUNKS = HERE / "chunks-fresh3-own.jsonl"
BSG_DIGESTS = HERE / "chunks-fresh3-bsg.sha256"
BSG_PDF = ROOT.parent / "shared" / "data" / "pdfs" / "BSG_2014_adult_coeliac_disease_Gut.pdf"
BSG_LABEL = "bsg"
MAX_BSG_WORDS = 12
OUT = ROOT / "runs" / "verify" / "answers-fresh3.jsonl"
EARLIER = (HERE / "answers.jsonl", HERE / "answers-fresh.jsonl", HERE / "answers-fresh2.jsonl")
OWN_PDFS = ROOT / "tests" / "data" / "pdfs"
KINDS = {"synonym", "number_words", "unit_conversion", "merged", "reordered", "list_summary", "negation_reworded",
         "multi_passage"}


def chunk_files(paths: list[Path]) -> list[dict]:
    """The chunks of these files as the product stores them (real loader, chunker and token counter)."""
    sys.path.insert(0, str(ROOT))
    from ingest.chunking import chunk_sections
    from ingest.loaders import load_file
    from ioguide.embedders import get_embedder

    embedder = get_embedder()
    rows = []
    for path in paths:
        info, sections = load_file(path)
        for chunk in chunk_sections(info, sections, embedder.count_tokens_batch, embedder.max_tokens):
            rows.append({"source": path.name, "title": chunk.title, "section": chunk.section, "text": chunk.text})
    return rows


def load_items() -> list[dict]:
    return yaml.safe_load(YAML.read_text(encoding="utf-8"))


def fragments_of(items: list[dict]) -> list[str]:
    return [fragment for item in items for _label, fragment in item.get("passages", [])]


def needs_bsg(items: list[dict]) -> bool:
    return any(label == BSG_LABEL for item in items for label, _fragment in item.get("passages", []))


def bsg_chunks(items: list[dict]) -> list[dict]:
    """The BSG guideline's chunks that a yaml fragment names, made now from ../shared, in the PDF's order."""
    if not BSG_PDF.exists():
        raise SystemExit(f"{BSG_PDF} is absent: the fresh3 set's BSG passages are made from it at build time (the "
                         "guideline, CC BY-NC 3.0, is never copied into the project). Build where ../shared is beside "
                         "the project (this workplace, CI).")
    fragments = fragments_of(items)
    return [c for c in chunk_files([BSG_PDF]) if any(fragment in c["text"] for fragment in fragments)]


def own_chunks() -> list[dict]:
    if not OWN_CHUNKS.exists():
        raise SystemExit(f"{OWN_CHUNKS} is missing: run `python {Path(__file__).name} --chunks` first")
    return [json.loads(line) for line in OWN_CHUNKS.read_text(encoding="utf-8").splitlines()]


def digest(chunk: dict) -> str:
    return hashlib.sha256(json.dumps(chunk, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def digest_lines(chunks: list[dict], items: list[dict]) -> str:
    lines = ["# SHA-256 of each BSG chunk fresh3 uses (source, title, section, text as sorted JSON), in the PDF's "
             "order, with the yaml items that name it. Written by build_fresh3.py --chunks; no BSG text is stored."]
    for chunk in chunks:
        ids = [item["id"] for item in items if any(f in chunk["text"] for _l, f in item.get("passages", []))]
        lines.append(f"{digest(chunk)} {','.join(ids)}")
    return "\n".join(lines) + "\n"


def recorded_digests() -> list[str]:
    if not BSG_DIGESTS.exists():
        raise SystemExit(f"{BSG_DIGESTS} is missing: run `python {Path(__file__).name} --chunks` first")
    return [line.split()[0] for line in BSG_DIGESTS.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


def check_recorded(chunks: list[dict], items: list[dict]) -> None:
    """Stop, naming the yaml items, when the BSG chunks made now are not those the set was written on."""
    recorded = recorded_digests()
    live = [digest(c) for c in chunks]
    if live == recorded:
        return
    known = set(recorded)
    for chunk, value in zip(chunks, live, strict=True):
        if value not in known:
            ids = [item["id"] for item in items if any(f in chunk["text"] for _l, f in item.get("passages", []))]
            raise SystemExit(f"{YAML.name}, {', '.join(ids)}: the BSG chunk ({chunk['section']!r}) that this item's "
                             f"fragment locates is not one recorded in {BSG_DIGESTS.name}: the chunker's output for "
                             "the BSG PDF has changed (or the item is new). Re-read the item against the chunk it now "
                             f"gets, then run `python {Path(__file__).name} --chunks` to record it.")
    raise SystemExit(f"{BSG_DIGESTS.name}: the BSG chunks the yaml names ({len(live)}) are not the {len(recorded)} "
                     "recorded ones in their order (one is no longer named, or the PDF's order changed): run "
                     f"`python {Path(__file__).name} --chunks` after checking the items on them.")


def make_chunks() -> None:
    """Freeze our files' chunks in chunks-fresh3-own.jsonl; record the digests of the BSG chunks the yaml names."""
    pdfs = sorted(OWN_PDFS.glob("*.pdf"))
    if len(pdfs) != 5:
        raise SystemExit(f"expected the five generated PDFs in {OWN_PDFS}, found {len(pdfs)}")
    corpus = [p for p in sorted((ROOT / "corpus").glob("*.md")) if p.name != "README.md"]
    own = chunk_files(pdfs + corpus)
    OWN_CHUNKS.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in own), encoding="utf-8")
    items = load_items()
    bsg = bsg_chunks(items)
    BSG_DIGESTS.write_text(digest_lines(bsg, items), encoding="utf-8")
    print(f"{len(pdfs)} generated PDFs and {len(corpus)} corpus files -> {len(own)} chunks in {OWN_CHUNKS.name}; "
          f"{len(bsg)} BSG chunks named by the yaml -> their digests in {BSG_DIGESTS.name}")


def earlier_cited() -> str:
    """The texts of every chunk a true answer of an earlier set cites, joined, to look sentences up in."""
    cited: set[str] = set()
    for source in EARLIER:
        for line in source.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["label"] == "true":
                cited.update(row["passages"][int(n) - 1]["text"] for n in _MARKER.findall(row["answer"]))
    return "\n".join(sorted(cited))


def find(chunks: list[dict], cited: str, item_id: str, fragment: str) -> dict:
    found = [c for c in chunks if fragment in c["text"]]
    if len(found) != 1:
        where = "; ".join(f"{c['source']} [{c['section']}]" for c in found[:4])
        hint = f": {where}" if where else (f" (a BSG passage is labelled {BSG_LABEL!r}; if it is, the chunker's output "
                                           "for the BSG PDF has changed: re-locate the passage and re-read the item)")
        raise SystemExit(f"{YAML.name}, {item_id}: {len(found)} chunks contain {fragment!r}, expected exactly "
                         f"one{hint}")
    chunk = found[0]
    refuse_if_cited(chunk, cited, f"{YAML.name}, {item_id}", fragment)
    return chunk


def refuse_if_cited(chunk: dict, cited: str, where: str, fragment: str) -> None:
    """Stop when a corpus chunk shares a sentence with a chunk an earlier set's true answer cites (`cited`): a held-out
    answer must not rest on a passage someone has tuned on."""
    if chunk["source"].endswith(".md"):
        shared = [s for s in re.split(r"(?<=[.;:])\s+", chunk["text"]) if len(s) > 30 and s in cited]
        if shared:
            raise SystemExit(f"{where}: the chunk containing {fragment!r} shares the sentence "
                             f"{shared[0][:60]!r}... with a chunk an earlier set's true answer cites; pick another")


def check_item(item: dict, seen: set[str]) -> None:
    item_id = item.get("id", "?")
    missing = [k for k in ("id", "kind", "answer") if not item.get(k)]
    if missing:
        raise SystemExit(f"{YAML.name}, item {item_id}: missing field(s) {', '.join(missing)}")
    if item_id in seen:
        raise SystemExit(f"{YAML.name}: duplicate id {item_id!r}")
    if item.get("label", "true") == "false":
        if not str(item["kind"]).startswith("hand_") or item.get("of") not in seen:
            raise SystemExit(f"{YAML.name}, {item_id}: a hand-written corruption needs a kind hand_* and `of` naming "
                             "a true item listed before it")
    elif item["kind"] not in KINDS:
        raise SystemExit(f"{YAML.name}, {item_id}: kind {item['kind']!r} is not one of {', '.join(sorted(KINDS))}")
    markers = {int(n) for n in _MARKER.findall(item["answer"])}
    if not markers:
        raise SystemExit(f"{YAML.name}, {item_id}: the answer has no [n] marker")


def check_fragments(items: list[dict]) -> None:
    """A BSG passage is located by a short fragment (the set stores no more of the guideline than that)."""
    for item in items:
        for label, fragment in item.get("passages", []):
            if label == BSG_LABEL and len(fragment.split()) > MAX_BSG_WORDS:
                raise SystemExit(f"{YAML.name}, {item.get('id', '?')}: the BSG fragment {fragment!r} has "
                                 f"{len(fragment.split())} words; locate the passage with at most {MAX_BSG_WORDS}")


def build() -> list[dict]:
    items = load_items()
    check_fragments(items)
    bsg = bsg_chunks(items) if needs_bsg(items) else []
    chunks = bsg + own_chunks()
    cited = earlier_cited()
    for item in items:
        for _label, fragment in item.get("passages", []):
            find(chunks, cited, item.get("id", "?"), fragment)
    if bsg:
        check_recorded(bsg, items)
    rows: list[dict] = []
    seen: set[str] = set()
    shown_for: dict[str, tuple[dict[int, int], dict]] = {}
    for item in items:
        check_item(item, seen)
        seen.add(item["id"])
        if item.get("label", "true") == "false":
            number, base = shown_for[item["of"]]
            if any(int(n) not in number for n in _MARKER.findall(item["answer"])):
                raise SystemExit(f"{YAML.name}, {item['id']}: a marker is not one of {item['of']}'s passages")
            rows.append({"id": item["id"], **base, "answer": renumber(item["answer"], number), "label": "false",
                         "kind": item["kind"]})
            continue
        rng = random.Random(f"{SEED}:{item['id']}")
        cited_chunks = [find(chunks, cited, item["id"], fragment) for _label, fragment in item["passages"]]
        if max(int(n) for n in _MARKER.findall(item["answer"])) > len(cited_chunks):
            raise SystemExit(f"{YAML.name}, {item['id']}: a marker points past the {len(cited_chunks)} passage(s) "
                             "the item names")
        shown_cited: list[dict] = []
        for chunk in cited_chunks:
            if chunk not in shown_cited:
                shown_cited.append(chunk)
        shown, distractors = shown_with_distractors(shown_cited, chunks, rng)
        number = {i + 1: shown.index(c) + 1 for i, c in enumerate(cited_chunks)}
        answer = renumber(item["answer"], number)
        passages = [{"n": n, **{k: c[k] for k in ("title", "section", "text")}} for n, c in enumerate(shown, start=1)]
        base = {"passages": passages, "split": "fresh3", "question_id": ""}
        shown_for[item["id"]] = (number, base)
        rows.append({"id": item["id"], **base, "answer": answer, "label": "true", "kind": item["kind"]})
        made = corruptions_of(item["id"], answer, base, len(passages), distractors[-1]["text"], rng)
        rows.extend(drop_true_corruptions(item, made))
    return rows


def drop_true_corruptions(item: dict, made: list[dict]) -> list[dict]:
    """Leave out the generated corruptions that item `keep_true` names (kind: why the changed answer is still true,
    e.g. "no complication of grade 5 or higher" follows from "none of grade 4 or higher")."""
    keep_true = item.get("keep_true") or {}
    kinds = {row["kind"] for row in made}
    stale = sorted(set(keep_true) - kinds)
    if stale:
        raise SystemExit(f"{YAML.name}, {item['id']}: keep_true names {', '.join(stale)}, but no such corruption is "
                         "generated for it any more")
    return [row for row in made if row["kind"] not in keep_true]


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"answer file to write (default {OUT.relative_to(ROOT)})")
    parser.add_argument("--chunks", action="store_true", help=f"first re-make {OWN_CHUNKS.name} with the ingest code "
                        f"and re-record {BSG_DIGESTS.name}")
    args = parser.parse_args()
    if args.chunks:
        make_chunks()
    rows = build()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(rows), encoding="utf-8")
    by: dict[str, int] = {}
    for row in rows:
        key = "true" if row["label"] == "true" else ("hand" if row["kind"].startswith("hand_") else "generated")
        by[key] = by.get(key, 0) + 1
    print(f"{len(rows)} answers -> {args.out}: fresh3/true {by.get('true', 0)}, fresh3/false generated "
          f"{by.get('generated', 0)}, fresh3/false hand-written {by.get('hand', 0)}")


if __name__ == "__main__":
    main()
