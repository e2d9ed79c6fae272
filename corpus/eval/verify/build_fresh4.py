"""Build the fresh4 answer set (split "fresh4") from paraphrases-fresh4.yaml.

    python corpus/eval/verify/build_fresh4.py [--out PATH]   # default runs/verify/answers-fresh4.jsonl (git-ignored)
    python corpus/eval/verify/build_fresh4.py --chunks       # first re-freeze our corpus chunks and re-record digests

Three kinds of passage, each a chunk exactly as the product stores it (the real chunker and the packaged model's
token counter):
- BEIR SciFact abstracts (ODC-By 1.0), read from ../shared/data/scifact/corpus.jsonl at every build and never stored
  in the project: each abstract the yaml names is one section ("Abstract") of a document titled as the abstract and
  chunked by ingest.chunking.chunk_sections, which cuts it at sentence boundaries into passages of the size the
  product stores. A passage is named [scifact:<_id>, fragment];
- the BSG 2014 coeliac guideline (CC BY-NC 3.0), read from ../shared/data/pdfs with the real loader and chunker, as
  build_fresh3.py does; only chunks fresh3 did not use (chunks-fresh3-bsg.sha256) may be named. Named [bsg, fragment];
- bundled-corpus chunks (ours), frozen in chunks-fresh4-own.jsonl by `--chunks`; a chunk that shares a sentence with
  one that a true answer of answers.jsonl, answers-fresh.jsonl, answers-fresh2.jsonl or fresh3 cites is refused.
The SHA-256 of every third-party chunk in the pool (all chunks of the named abstracts, the named BSG chunks) is
recorded in chunks-fresh4-shared.sha256 (digests only, no text): if the chunker's output changes, the build stops
naming the yaml items whose passage is not the one they were written on. Without ../shared it stops naming the
missing file. A fragment of a third-party passage has at most 12 words and must occur in exactly one chunk.

Every answer is written by hand; nothing is generated. Each true item is shown with two unrelated chunks of the pool
(one with the same title when there is one, one with another title) in a seeded order (build.shown_with_distractors).
Items with `label: "false"` are corruptions of a true item (`of`, listed before it), shown with its passages; their
markers count that item's passages, and [x1] / [x2] point at its first / last distractor (the last one always has
another title), for corruptions whose marker points at the wrong passage. Each names its kind (hand_*) and `why`
it is false.
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
from build import _MARKER, SEED, renumber, shown_with_distractors  # noqa: E402

YAML = HERE / "paraphrases-fresh4.yaml"
OWN_CHUNKS = HERE / "chunks-fresh4-own.jsonl"
DIGESTS = HERE / "chunks-fresh4-shared.sha256"
SCIFACT = ROOT.parent / "shared" / "data" / "scifact" / "corpus.jsonl"
BSG_PDF = fresh3.BSG_PDF
FRESH3_BSG = HERE / "chunks-fresh3-bsg.sha256"
OUT = ROOT / "runs" / "verify" / "answers-fresh4.jsonl"
SPLIT = "fresh4"
MAX_FRAGMENT_WORDS = 12
KINDS = fresh3.KINDS
HAND_KINDS = {"hand_number_changed", "hand_figures_swapped", "hand_neighbour_figure", "hand_unit_changed",
              "hand_negation_added", "hand_negation_removed", "hand_direction_reversed", "hand_terms_swapped",
              "hand_bound_flipped", "hand_qualifier_added", "hand_qualifier_dropped", "hand_wrong_passage",
              "hand_clause_added"}
_ANY_MARKER = re.compile(r"\[(x?\d+)\]")


def load_items() -> list[dict]:
    return yaml.safe_load(YAML.read_text(encoding="utf-8"))


def labels_of(items: list[dict]) -> list[tuple[str, str, str]]:
    return [(item.get("id", "?"), label, fragment) for item in items for label, fragment in item.get("passages", [])]


def scifact_ids(items: list[dict]) -> list[str]:
    ids: list[str] = []
    for _item, label, _fragment in labels_of(items):
        if label.startswith("scifact:") and label[8:] not in ids:
            ids.append(label[8:])
    return ids


def needs_bsg(items: list[dict]) -> bool:
    return any(label == "bsg" for _i, label, _f in labels_of(items))


def require(path: Path, what: str) -> None:
    if not path.exists():
        raise SystemExit(f"{path} is absent: the fresh4 set's {what} passages are made from it at build time (it is "
                         "third-party text, never copied into the project). Build where ../shared is beside the "
                         "project (this workplace, CI).")


def scifact_chunks(ids: list[str]) -> list[dict]:
    """All chunks of the named SciFact abstracts, in the order the yaml first names them."""
    require(SCIFACT, "SciFact")
    sys.path.insert(0, str(ROOT))
    from ingest.chunking import chunk_sections
    from ioguide.embedders import get_embedder
    from ioguide.types import DocumentInfo, Section

    wanted = set(ids)
    abstracts: dict[str, dict] = {}
    with SCIFACT.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["_id"] in wanted:
                abstracts[row["_id"]] = row
    missing = [i for i in ids if i not in abstracts]
    if missing:
        raise SystemExit(f"{YAML.name}: no SciFact abstract with _id {', '.join(missing)} in {SCIFACT}")
    embedder = get_embedder()
    rows = []
    for doc in ids:
        abstract = abstracts[doc]
        info = DocumentInfo(doc_id=f"scifact-{doc}", title=abstract["title"], source=f"scifact:{doc}")
        sections = [Section(path=("Abstract",), text=abstract["text"])]
        for chunk in chunk_sections(info, sections, embedder.count_tokens_batch, embedder.max_tokens):
            rows.append({"source": f"scifact:{doc}", "title": chunk.title, "section": chunk.section,
                         "text": chunk.text})
    return rows


def bsg_chunks(items: list[dict]) -> list[dict]:
    """The BSG chunks a yaml fragment names (PDF order); one that fresh3 used is refused."""
    require(BSG_PDF, "BSG guideline")
    fragments = [f for _i, label, f in labels_of(items) if label == "bsg"]
    chunks = [c for c in fresh3.chunk_files([BSG_PDF]) if any(f in c["text"] for f in fragments)]
    used = {line.split()[0] for line in FRESH3_BSG.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")}
    for chunk in chunks:
        if fresh3.digest(chunk) in used:
            ids = [i for i, label, f in labels_of(items) if label == "bsg" and f in chunk["text"]]
            raise SystemExit(f"{YAML.name}, {', '.join(ids)}: this BSG chunk is one fresh3 uses; pick another")
    return chunks


def own_chunks() -> list[dict]:
    if not OWN_CHUNKS.exists():
        raise SystemExit(f"{OWN_CHUNKS} is missing: run `python {Path(__file__).name} --chunks` first")
    return [json.loads(line) for line in OWN_CHUNKS.read_text(encoding="utf-8").splitlines()]


def shared_chunks(items: list[dict]) -> list[dict]:
    return (bsg_chunks(items) if needs_bsg(items) else []) + scifact_chunks(scifact_ids(items))


def digest_lines(chunks: list[dict], items: list[dict]) -> str:
    lines = ["# SHA-256 of each third-party chunk in the fresh4 pool (source, title, section, text as sorted JSON): "
             "the named BSG chunks, then every chunk of the named SciFact abstracts, with the yaml items that name "
             "it. Written by build_fresh4.py --chunks; no third-party text is stored."]
    for chunk in chunks:
        lines.append(f"{fresh3.digest(chunk)} {chunk['source']} {','.join(naming(chunk, items)) or '-'}")
    return "\n".join(lines) + "\n"


def naming(chunk: dict, items: list[dict]) -> list[str]:
    return [i for i, label, f in labels_of(items) if f in chunk["text"] and matches(label, chunk)]


def matches(label: str, chunk: dict) -> bool:
    if label == "bsg":
        return chunk["source"] == BSG_PDF.name
    if label.startswith("scifact:"):
        return chunk["source"] == label
    return chunk["source"].endswith(".md") and chunk["source"][:-3] == label


def check_recorded(chunks: list[dict], items: list[dict], digests: Path | None = None, yaml_name: str | None = None,
                   name_items=None, script: str | None = None) -> None:
    """Stop the build, naming the items, when the pool's third-party chunks are not the ones recorded in the digests
    file (fresh5 passes its own file, yaml name, item naming and script name; the defaults are this set's)."""
    digests = digests or DIGESTS
    yaml_name = yaml_name or YAML.name
    name_items = name_items or naming
    script = script or Path(__file__).name
    if not digests.exists():
        raise SystemExit(f"{digests} is missing: run `python {script} --chunks` first")
    recorded = [line.split()[0] for line in digests.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    live = [fresh3.digest(c) for c in chunks]
    if live == recorded:
        return
    known = set(recorded)
    for chunk, value in zip(chunks, live, strict=True):
        if value not in known:
            ids = name_items(chunk, items) or [f"(no item; a distractor from {chunk['source']})"]
            raise SystemExit(f"{yaml_name}, {', '.join(ids)}: the chunk of {chunk['source']} that this item's "
                             f"fragment locates is not one recorded in {digests.name}: the chunker's output (or the "
                             "item) has changed. Re-read the item against the chunk it now gets, then run "
                             f"`python {script} --chunks` to record it.")
    raise SystemExit(f"{digests.name}: the third-party chunks of the pool ({len(live)}) are not the {len(recorded)} "
                     f"recorded ones in their order: run `python {script} --chunks` after checking the items on them.")


def cited_before() -> str:
    """Texts of the chunks that a true answer of an earlier set cites (fresh3's: its items' corpus fragments)."""
    texts = fresh3.earlier_cited().split("\n")
    items3 = fresh3.load_items()
    own3 = fresh3.own_chunks()
    for item in items3:
        if item.get("label", "true") != "true":
            continue
        for label, fragment in item.get("passages", []):
            if label != fresh3.BSG_LABEL:
                texts.extend(c["text"] for c in own3 if fragment in c["text"] and c["source"].endswith(".md"))
    return "\n".join(sorted(set(texts)))


def make_chunks() -> None:
    corpus = [p for p in sorted((ROOT / "corpus").glob("*.md")) if p.name != "README.md"]
    own = fresh3.chunk_files(corpus)
    OWN_CHUNKS.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in own), encoding="utf-8")
    items = load_items()
    shared = shared_chunks(items)
    DIGESTS.write_text(digest_lines(shared, items), encoding="utf-8")
    print(f"{len(corpus)} corpus files -> {len(own)} chunks in {OWN_CHUNKS.name}; {len(shared)} third-party chunks "
          f"-> their digests in {DIGESTS.name}")


def find(chunks: list[dict], cited: str, item_id: str, label: str, fragment: str) -> dict:
    found = [c for c in chunks if fragment in c["text"] and matches(label, c)]
    if len(found) != 1:
        raise SystemExit(f"{YAML.name}, {item_id}: {len(found)} chunks of {label!r} contain {fragment!r}, expected "
                         "exactly one (if the chunker changed, re-locate the passage and re-read the item)")
    chunk = found[0]
    fresh3.refuse_if_cited(chunk, cited, f"{YAML.name}, {item_id}", fragment)
    return chunk


def check_item(item: dict, seen: set[str], yaml_name: str = YAML.name, labels: str = r"bsg|scifact:\d+|[a-z0-9-]+",
               labels_are: str = "bsg, scifact:<_id> or a corpus file's stem",
               third_party=lambda label: label == "bsg" or label.startswith("scifact:")) -> None:
    """Refuse an item with a missing field, a duplicate id, an unknown kind, a corruption without its true item or
    its `why`, a passage label outside `labels`, a third-party fragment over MAX_FRAGMENT_WORDS words, or no marker
    (fresh5 passes its own yaml name and label rules)."""
    item_id = item.get("id", "?")
    missing = [k for k in ("id", "kind", "answer") if not item.get(k)]
    if missing:
        raise SystemExit(f"{yaml_name}, item {item_id}: missing field(s) {', '.join(missing)}")
    if item_id in seen:
        raise SystemExit(f"{yaml_name}: duplicate id {item_id!r}")
    if item.get("label", "true") == "false":
        if item["kind"] not in HAND_KINDS or item.get("of") not in seen or not item.get("why"):
            raise SystemExit(f"{yaml_name}, {item_id}: a corruption needs a kind among {', '.join(sorted(HAND_KINDS))}"
                             ", `of` naming a true item listed before it, and `why` it is false")
    else:
        if item["kind"] not in KINDS:
            raise SystemExit(f"{yaml_name}, {item_id}: kind {item['kind']!r} is not one of {', '.join(sorted(KINDS))}")
        for label, fragment in item.get("passages", []):
            if not re.fullmatch(labels, label):
                raise SystemExit(f"{yaml_name}, {item_id}: passage label {label!r} is not {labels_are}")
            if third_party(label) and len(fragment.split()) > MAX_FRAGMENT_WORDS:
                raise SystemExit(f"{yaml_name}, {item_id}: the fragment {fragment!r} has {len(fragment.split())} "
                                 f"words; locate a third-party passage with at most {MAX_FRAGMENT_WORDS}")
    if not _ANY_MARKER.findall(item["answer"]):
        raise SystemExit(f"{yaml_name}, {item_id}: the answer has no [n] marker")


def build() -> list[dict]:
    items = load_items()
    seen: set[str] = set()
    for item in items:
        check_item(item, seen)
        seen.add(item["id"])
    shared = shared_chunks(items)
    check_recorded(shared, items)
    chunks = shared + own_chunks()
    cited = cited_before()
    rows: list[dict] = []
    shown_for: dict[str, tuple[dict, dict]] = {}
    for item in items:
        if item.get("label", "true") == "false":
            number, base = shown_for[item["of"]]
            keys = _ANY_MARKER.findall(item["answer"])
            if any(k not in number for k in keys):
                raise SystemExit(f"{YAML.name}, {item['id']}: a marker is not one of {item['of']}'s passages "
                                 f"({', '.join(sorted(number))})")
            answer = _ANY_MARKER.sub(lambda m, number=number: f"[{number[m.group(1)]}]", item["answer"])
            rows.append({"id": item["id"], **base, "answer": answer, "label": "false", "kind": item["kind"]})
            continue
        rng = random.Random(f"{SEED}:{item['id']}")
        cited_chunks = [find(chunks, cited, item["id"], label, fragment) for label, fragment in item["passages"]]
        if max(int(n) for n in _MARKER.findall(item["answer"])) > len(cited_chunks):
            raise SystemExit(f"{YAML.name}, {item['id']}: a marker points past the {len(cited_chunks)} passage(s) "
                             "the item names")
        distinct: list[dict] = []
        for chunk in cited_chunks:
            if chunk not in distinct:
                distinct.append(chunk)
        shown, distractors = shown_with_distractors(distinct, chunks, rng)
        number = {i + 1: shown.index(c) + 1 for i, c in enumerate(cited_chunks)}
        passages = [{"n": n, **{k: c[k] for k in ("title", "section", "text")}} for n, c in enumerate(shown, start=1)]
        base = {"passages": passages, "split": SPLIT, "question_id": ""}
        keyed = {str(k): v for k, v in number.items()}
        keyed.update({"x1": shown.index(distractors[0]) + 1, "x2": shown.index(distractors[-1]) + 1})
        shown_for[item["id"]] = (keyed, base)
        rows.append({"id": item["id"], **base, "answer": renumber(item["answer"], number), "label": "true",
                     "kind": item["kind"]})
    return rows


def render(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


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
