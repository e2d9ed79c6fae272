"""Build corpus/eval/verify/answers.jsonl, the labelled answers for `ioguide bench verify`.

    python corpus/eval/verify/build.py            # answers.jsonl from paraphrases.yaml (dev/test)
    python corpus/eval/verify/build.py --fresh    # answers-fresh.jsonl from paraphrases-fresh.yaml (split "fresh")

True answers come from paraphrases.yaml (written by hand). Their passages are the chunks of the bundled corpus that
ingestion makes (same loader, same chunker, same token limit), plus two unrelated passages (one from the same
document, one from another) in a seeded order, so a marker can point at the wrong passage. Each true answer yields
corrupted one-sentence answers, one per kind that applies to it: a number changed, a unit changed, a negation
flipped, a grade or class swapped, the marker pointing at another passage, an unsupported clause added.

Every line records `split` (dev or test), fixed by a seeded hash of the true answer's id, so an answer and its
corruptions fall in the same split; the split was fixed before any tuning.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SEED = "ioguide-verify-2026"
OUT = HERE / "answers.jsonl"

sys.path.insert(0, str(ROOT))

from ingest.chunking import chunk_sections  # noqa: E402
from ingest.loaders import load_file  # noqa: E402
from ioguide.embedders import get_embedder  # noqa: E402

NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
UNIT_SWAPS = [("hours", "days"), ("h", "days"), ("minutes", "hours"), ("months", "weeks"), ("years", "months"),
              ("cm", "mm"), ("mm", "cm"), ("µm", "mm"), ("Gy", "mGy"), ("days", "weeks"), ("weeks", "months"),
              ("centimetres", "millimetres"), ("millimetres", "centimetres"), ("percent", "per mille")]
AUX = re.compile(r"\b(is|are|was|were|should|must|can|may|has|have|had)\b(?! not\b| no\b)")
NEGATED = [(re.compile(r"\b(is|are|was|were|should|must|can|may|does|do|did|has|have) not\b"), r"\1"),
           (re.compile(r"\bcannot\b"), "can"), (re.compile(r"\bnot\b "), ""), (re.compile(r"\bno (?=[a-z])"), "a "),
           (re.compile(r"\bnever\b"), "always"), (re.compile(r"\bwithout\b"), "with")]
GRADE_SWAPS = [
    (re.compile(r"\b([Gg]rades?) (\d)([ab])\b"),
     lambda m: f"{m.group(1)} {m.group(2)}{'b' if m.group(3) == 'a' else 'a'}"),
    (re.compile(r"\b([Gg]rades?) (\d)\b(?![ab\d])"), lambda m: f"{m.group(1)} {int(m.group(2)) % 6 + 1}"),
    (re.compile(r"\b(\d)([ab])\b"), lambda m: f"{m.group(1)}{'b' if m.group(2) == 'a' else 'a'}"),
    (re.compile(r"\bChild-Pugh ([ABC])\b"), lambda m: "Child-Pugh " + {"A": "B", "B": "C", "C": "B"}[m.group(1)]),
    (re.compile(r"\b(stage|class|Class|Stage) ([A-D])\b"),
     lambda m: f"{m.group(1)} {'B' if m.group(2) != 'B' else 'C'}"),
    (re.compile(r"\bASA (\d)\b"), lambda m: f"ASA {int(m.group(1)) % 5 + 1}"),
    (re.compile(r"\b(Standards?) (\d{1,2})\b"), lambda m: f"{m.group(1)} {int(m.group(2)) + 1}"),
    (re.compile(r"\b(low|high) grade\b"), lambda m: f"{'high' if m.group(1) == 'low' else 'low'} grade"),
]
CLAUSES = [
    ", and this applies to children as well",
    ", and general anaesthesia is required in every case",
    ", as a randomised controlled trial has confirmed",
    ", and the ethics committee must approve each case beforehand",
    ", which also makes it mandatory across all European countries",
    ", and patients must stay in intensive care afterwards",
    ", while antibiotics should always be given beforehand",
    ", which most insurers reimburse in full",
]
_MARKER = re.compile(r"\[(\d+)\]")
_SENTENCE = re.compile(r"(?<=\]\.)\s+(?=[A-Z])")


def renumber(answer: str, number: dict[int, int]) -> str:
    """The answer with each [n] marker replaced by [number[n]] (the passage's place among those shown)."""
    return _MARKER.sub(lambda m: f"[{number[int(m.group(1))]}]", answer)


def shown_with_distractors(cited: list[dict], chunks: list[dict], rng: random.Random) -> tuple[list[dict], list[dict]]:
    """The distinct cited chunks plus two unrelated stored chunks (one of the same title when there is one, one of
    another title), in a seeded order; and the distractors (the last one is of another title). For the sets whose
    chunks are dicts (fresh2, fresh3)."""
    titles = {c["title"] for c in cited}
    own = [c for c in chunks if c["title"] in titles and c not in cited]
    other = [c for c in chunks if c["title"] not in titles]
    distractors = ([rng.choice(own)] if own else []) + [rng.choice(other)]
    shown = cited + distractors
    rng.shuffle(shown)
    return shown, distractors


def split_of(family_id: str) -> str:
    digest = hashlib.sha256(f"{SEED}:{family_id}".encode()).digest()
    return "test" if digest[0] % 2 else "dev"


def load_chunks() -> dict[str, list]:
    embedder = get_embedder()
    chunks: dict[str, list] = {}
    for path in sorted((ROOT / "corpus").glob("*.md")):
        if path.name == "README.md":
            continue
        info, sections = load_file(path)
        chunks[info.doc_id] = chunk_sections(info, sections, embedder.count_tokens_batch, embedder.max_tokens)
    return chunks


def find_chunk(chunks: dict[str, list], doc_id: str, fragment: str):
    for chunk in chunks.get(doc_id, []):
        if fragment in chunk.text:
            return chunk
    raise SystemExit(f"paraphrases.yaml: no chunk of {doc_id!r} contains {fragment!r}")


def passage(chunk) -> dict:
    return {"title": chunk.title, "section": chunk.section, "text": chunk.text}


def _change_number(sentence: str, rng: random.Random) -> str | None:
    words = "|".join(sorted(NUMBER_WORDS[1:] + list(TENS), key=len, reverse=True))
    found = [m for m in re.finditer(rf"(?<![\w.\[])(\d+(?:\.\d+)?)(?![\d\]])|\b({words})(?:-({words}))?\b",
                                    sentence, re.I)]
    found = [m for m in found if not (m.group(1) and re.fullmatch(r"(19|20)\d\d", m.group(1)))] or found
    if not found:
        return None
    m = rng.choice(found)
    if m.group(1):
        text = m.group(1)
        if "." in text:
            decimals = len(text.split(".")[1])
            new = f"{float(text) + rng.choice([0.5, 1.5, 2.0]):.{decimals}f}"
        else:
            value = int(text)
            new = str(value + rng.choice([1, 2, 5, 10]) if value < 1000 else value * 2)
    else:
        word = m.group(0).lower()
        if word in NUMBER_WORDS:
            new = NUMBER_WORDS[(NUMBER_WORDS.index(word) + rng.choice([1, 2])) % len(NUMBER_WORDS)] or "twelve"
        elif "-" in word:
            tens, unit = word.split("-")
            new = f"{tens}-{NUMBER_WORDS[(NUMBER_WORDS.index(unit) % 9) + 1]}"
        else:
            new = {v: k for k, v in TENS.items()}.get(TENS[word] + 10, "twenty")
        if m.group(0)[0].isupper():
            new = new.capitalize()
    return sentence[:m.start()] + new + sentence[m.end():]


def _change_unit(sentence: str, rng: random.Random) -> str | None:
    options = []
    for old, new in UNIT_SWAPS:
        for m in re.finditer(rf"(?<=[\d\s–-]){re.escape(old)}\b", sentence):
            before = sentence[:m.start()].rstrip()
            if before and (before[-1].isdigit() or re.search(r"\b(?:one|two|three|four|five|six|ten|twelve)$", before)):
                options.append((m.start(), m.end(), new))
    if not options:
        return None
    a, b, new = rng.choice(options)
    return sentence[:a] + new + sentence[b:]


def _flip_negation(sentence: str, rng: random.Random) -> str | None:
    for pattern, repl in NEGATED:
        if pattern.search(sentence):
            return pattern.sub(repl, sentence, count=1)
    m = AUX.search(sentence)
    if m:
        return sentence[:m.end()] + " not" + sentence[m.end():]
    m = re.search(r"\b([a-z]{3,}[^s\W]s)\b", sentence[8:])
    return None if m is None else sentence[:8 + m.start()] + "does not " + m.group(1)[:-1] + sentence[8 + m.end():]


def _swap_grade(sentence: str, rng: random.Random) -> str | None:
    for pattern, repl in GRADE_SWAPS:
        if pattern.search(sentence):
            return pattern.sub(repl, sentence, count=1)
    return None


def _clause_from(text: str, rng: random.Random) -> str:
    """A clause made of another passage's words: what an LLM writes when it blends two passages."""
    sentences = [s for s in re.split(r"(?<=[.;])\s+", text) if 8 <= len(s.split()) and not s.startswith(("-", "#"))]
    words = rng.choice(sentences).rstrip(".;").split() if sentences else text.split()
    return ", and " + " ".join(words[:14])[0].lower() + " ".join(words[:14])[1:]


def corrupt(sentence: str, kind: str, n_passages: int, rng: random.Random, foreign: str = "") -> str | None:
    if kind == "number_changed":
        return _change_number(sentence, rng)
    if kind == "unit_changed":
        return _change_unit(sentence, rng)
    if kind == "negation_flipped":
        return _flip_negation(sentence, rng)
    if kind == "grade_swapped":
        return _swap_grade(sentence, rng)
    if kind == "wrong_passage":
        cited = {int(n) for n in _MARKER.findall(sentence)}
        others = [n for n in range(1, n_passages + 1) if n not in cited]
        if not others:
            return None
        return _MARKER.sub(lambda _m: f"[{rng.choice(others)}]", sentence)
    if kind == "clause_added":
        m = re.search(r"\s*(\[\d+\])+\s*\.?\s*$", sentence)
        body, tail = (sentence[:m.start()], sentence[m.start():]) if m else (sentence.rstrip("."), " [1].")
        clause = _clause_from(foreign, rng) if foreign and rng.random() < 0.5 else rng.choice(CLAUSES)
        return body.rstrip(".") + clause + tail
    raise ValueError(kind)


CORRUPTIONS = ("number_changed", "unit_changed", "negation_flipped", "grade_swapped", "wrong_passage", "clause_added")


def build(source: Path, fixed_split: str = "") -> list[dict]:
    chunks = load_chunks()
    items = yaml.safe_load(source.read_text(encoding="utf-8"))
    doc_ids = sorted(chunks)
    missing = [f"{doc} has no chunk containing {fragment!r} ({item['id']})" for item in items
               for doc, fragment in item["passages"] if not any(fragment in c.text for c in chunks.get(doc, []))]
    if missing:
        raise SystemExit("paraphrases.yaml: " + "; ".join(missing))
    rows: list[dict] = []
    seen: set[str] = set()
    for item in items:
        if item["id"] in seen:
            raise SystemExit(f"paraphrases.yaml: duplicate id {item['id']!r}")
        seen.add(item["id"])
        rng = random.Random(f"{SEED}:{item['id']}")
        cited = [find_chunk(chunks, doc, fragment) for doc, fragment in item["passages"]]
        own = [c for c in chunks[cited[0].doc_id] if c.chunk_id not in {x.chunk_id for x in cited}]
        other_doc = rng.choice([d for d in doc_ids if d not in {c.doc_id for c in cited}])
        distractors = ([rng.choice(own)] if own else []) + [rng.choice(chunks[other_doc])]
        shown = cited + distractors
        rng.shuffle(shown)
        number = {i + 1: shown.index(c) + 1 for i, c in enumerate(cited)}
        answer = _MARKER.sub(lambda m, number=number: f"[{number[int(m.group(1))]}]", item["answer"])
        passages = [{"n": n, **passage(c)} for n, c in enumerate(shown, start=1)]
        split = fixed_split or split_of(item["id"])
        base = {"passages": passages, "split": split, "question_id": item.get("q", "")}
        rows.append({"id": item["id"], **base, "answer": answer, "label": "true", "kind": item["kind"]})
        rows.extend(corruptions_of(item["id"], answer, base, len(passages), distractors[-1].text, rng))
    return rows


def corruptions_of(answer_id: str, answer: str, base: dict, n_passages: int, foreign: str,
                   rng: random.Random) -> list[dict]:
    """One corrupted answer per kind: the first sentence (in a shuffled order) that the kind can change."""
    rows = []
    sentences = _SENTENCE.split(answer)
    for kind in CORRUPTIONS:
        order = list(range(len(sentences)))
        rng.shuffle(order)
        for i in order:
            changed = corrupt(sentences[i], kind, n_passages, rng, foreign=foreign)
            if changed and changed != sentences[i]:
                rows.append({"id": f"{answer_id}~{kind}", **base, "answer": changed, "label": "false", "kind": kind})
                break
    return rows


def main() -> None:
    fresh = "--fresh" in sys.argv[1:]
    out = HERE / "answers-fresh.jsonl" if fresh else OUT
    rows = build(HERE / ("paraphrases-fresh.yaml" if fresh else "paraphrases.yaml"), "fresh" if fresh else "")
    with out.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    by = {}
    for row in rows:
        key = (row["split"], row["label"])
        by[key] = by.get(key, 0) + 1
    print(f"{len(rows)} answers -> {out.relative_to(ROOT)}: " + ", ".join(f"{s}/{lbl} {n}" for (s, lbl), n in
                                                                            sorted(by.items())))


if __name__ == "__main__":
    main()
