"""The held-out verifier set fresh3, built by corpus/eval/verify/build_fresh3.py from paraphrases-fresh3.yaml, our
frozen chunks (chunks-fresh3-own.jsonl) and the BSG 2014 coeliac guideline read from ../shared at build time (its
text is never stored in the project). Built twice it is byte-identical, its rows carry what `ioguide bench verify`
reads, it stops naming the yaml items when the BSG chunks are not those the set was written on, and a bad yaml item
is refused with a message naming it. The tests that build the whole set need ../shared and skip without it."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, need_shared

VERIFY = ROOT / "corpus" / "eval" / "verify"
BSG = ("data", "pdfs", "BSG_2014_adult_coeliac_disease_Gut.pdf")
MARKER = re.compile(r"\[(\d+)\]")


def _load_builder(name: str):
    """A set builder of corpus/eval/verify imported as a module (they import build.py beside them)."""
    if str(VERIFY) not in sys.path:
        sys.path.insert(0, str(VERIFY))
    spec = importlib.util.spec_from_file_location(name, VERIFY / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _built_by_cli(builder, name: str, out: Path) -> str:
    """The set as the builder's command line writes it, checked to be byte-identical to an in-process build."""
    done = subprocess.run([sys.executable, str(VERIFY / f"{name}.py"), "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert str(out) in done.stdout
    text = out.read_text(encoding="utf-8")
    assert builder.render(builder.build()) == text
    return done.stdout


@pytest.fixture(scope="module")
def builder():
    return _load_builder("build_fresh3")


@pytest.fixture(scope="module")
def built(builder, tmp_path_factory) -> str:
    """The set as the command line writes it (after checking it is what an in-process build makes, byte for byte)."""
    need_shared(*BSG)
    out = tmp_path_factory.mktemp("fresh3") / "answers-fresh3.jsonl"
    assert "693 answers" in _built_by_cli(builder, "build_fresh3", out)
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rows(built) -> list[dict]:
    return [json.loads(line) for line in built.splitlines()]


def own_chunks() -> list[dict]:
    return [json.loads(line) for line in (VERIFY / "chunks-fresh3-own.jsonl").read_text(encoding="utf-8").splitlines()]


def test_rows_carry_what_bench_verify_reads(rows):
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    for row in rows:
        assert row["split"] == "fresh3" and row["label"] in ("true", "false") and row["kind"], row["id"]
        assert [p["n"] for p in row["passages"]] == list(range(1, len(row["passages"]) + 1)), row["id"]
        assert all(p["title"] and p["text"] and isinstance(p["section"], str) for p in row["passages"]), row["id"]
        cited = {int(n) for n in MARKER.findall(row["answer"])}
        assert cited and cited <= {p["n"] for p in row["passages"]}, row["id"]


def test_the_set_is_mostly_real_pdf_passages_and_has_the_asked_kinds(rows):
    true = [r for r in rows if r["label"] == "true"]
    hand = [r for r in rows if r["kind"].startswith("hand_")]
    assert len(true) >= 70 and len(hand) >= 25
    kinds = Counter(r["kind"] for r in true)
    assert {"synonym", "number_words", "unit_conversion", "merged", "reordered", "list_summary", "negation_reworded",
            "multi_passage"} <= set(kinds)
    bsg = [r for r in true if any("coeliac" in r["passages"][int(n) - 1]["title"].lower()
                                  for n in MARKER.findall(r["answer"]))]
    corpus_titles = {c["title"] for c in own_chunks() if c["source"].endswith(".md")}
    from_corpus = [r for r in true if all(r["passages"][int(n) - 1]["title"] in corpus_titles
                                          for n in MARKER.findall(r["answer"]))]
    assert len(bsg) >= 0.4 * len(true) and len(from_corpus) <= len(true) / 3


def test_the_default_answer_file_is_git_ignored(builder):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to commit the built set into")
    relative = builder.OUT.relative_to(ROOT)
    done = subprocess.run(["git", "check-ignore", "-q", str(relative)], cwd=ROOT)
    assert done.returncode == 0, f"{relative} would be committable"


def test_no_committed_set_file_holds_a_bsg_sentence(builder):
    need_shared(*BSG)
    sentences = {s for c in builder.chunk_files([builder.BSG_PDF]) for s in re.split(r"(?<=[.;:])\s+", c["text"])
                 if len(s) > 80}
    assert len(sentences) > 200
    for path in sorted(p for p in VERIFY.iterdir() if p.is_file() and p.suffix in {".jsonl", ".yaml", ".md", ".py",
                                                                                   ".sha256"}):
        text = path.read_text(encoding="utf-8")
        assert not [s for s in sentences if s in text], path.name


def test_without_shared_the_build_names_the_missing_pdf(builder, monkeypatch, tmp_path):
    absent = tmp_path / "shared" / "data" / "pdfs" / "BSG_2014_adult_coeliac_disease_Gut.pdf"
    monkeypatch.setattr(builder, "BSG_PDF", absent)
    with pytest.raises(SystemExit) as exc:
        builder.build()
    assert str(absent) in str(exc.value) and "../shared" in str(exc.value)


def test_a_bsg_chunk_other_than_the_recorded_one_stops_the_build_naming_its_items(builder, monkeypatch, tmp_path):
    need_shared(*BSG)
    lines = builder.BSG_DIGESTS.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    value, ids = lines[first].split()
    lines[first] = f"{'0' * len(value)} {ids}"
    changed = tmp_path / builder.BSG_DIGESTS.name
    changed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(builder, "BSG_DIGESTS", changed)
    with pytest.raises(SystemExit) as exc:
        builder.build()
    assert ids.split(",")[0] in str(exc.value) and "chunker's output" in str(exc.value)


def _build_with(builder, monkeypatch, tmp_path, text: str) -> str:
    yaml_file = tmp_path / "paraphrases-fresh3.yaml"
    yaml_file.write_text(text, encoding="utf-8")
    monkeypatch.setattr(builder, "YAML", yaml_file)
    with pytest.raises(SystemExit) as exc:
        builder.build()
    return str(exc.value)


def _one_item(item_id: str, label: str, fragment: str) -> str:
    return (f"- id: {item_id}\n  kind: synonym\n  passages: [[{label}, {json.dumps(fragment)}]]\n"
            "  answer: \"Claim [1].\"\n")


@pytest.mark.parametrize(("fragment", "expected"), [
    ("a sentence that no guideline contains", "0 chunks contain"),
    ("ablation", "chunks contain 'ablation', expected exactly one"),
])
def test_a_fragment_that_names_no_chunk_or_several_is_refused_naming_the_item(builder, monkeypatch, tmp_path,
                                                                              fragment, expected):
    message = _build_with(builder, monkeypatch, tmp_path, _one_item("t-1", "x", fragment))
    assert "t-1" in message and expected in message


def test_a_bsg_fragment_in_several_chunks_is_refused_naming_the_item(builder, monkeypatch, tmp_path):
    need_shared(*BSG)
    message = _build_with(builder, monkeypatch, tmp_path, _one_item("t-3", "bsg", "villous atrophy"))
    assert "t-3" in message and "chunks contain 'villous atrophy', expected exactly one" in message


def test_a_long_bsg_fragment_is_refused_naming_the_item(builder, monkeypatch, tmp_path):
    fragment = "one two three four five six seven eight nine ten eleven twelve thirteen"
    message = _build_with(builder, monkeypatch, tmp_path, _one_item("t-4", "bsg", fragment))
    assert "t-4" in message and "13 words" in message


def test_a_corpus_chunk_an_earlier_set_cites_is_refused(builder, monkeypatch, tmp_path):
    earlier = json.loads((VERIFY / "answers.jsonl").read_text(encoding="utf-8").splitlines()[0])
    cited = earlier["passages"][int(MARKER.findall(earlier["answer"])[0]) - 1]["text"]
    sentence = next(s for s in re.split(r"(?<=[.;:])\s+", cited) if len(s) > 40)
    assert sum(sentence in c["text"] for c in own_chunks()) == 1, "pick a sentence that one stored chunk holds"
    message = _build_with(builder, monkeypatch, tmp_path, _one_item("t-2", "x", sentence))
    assert "t-2" in message and "earlier set" in message


def test_a_hand_corruption_must_name_a_true_item_before_it(builder, monkeypatch, tmp_path):
    message = _build_with(builder, monkeypatch, tmp_path, "- {id: h-1, of: nowhere, label: \"false\", kind: hand_x, "
                                                          "answer: \"Claim [1].\"}\n")
    assert "h-1" in message and "`of`" in message


# --- fresh4: SciFact abstracts and BSG chunks read from ../shared at build time, uncited corpus chunks; every
# answer hand-written (corpus/eval/verify/build_fresh4.py, paraphrases-fresh4.yaml) ---

SCIFACT = ("data", "scifact", "corpus.jsonl")


@pytest.fixture(scope="module")
def builder4():
    return _load_builder("build_fresh4")


@pytest.fixture(scope="module")
def built4(builder4, tmp_path_factory) -> str:
    """fresh4 as the command line writes it, checked to be byte-identical to a second, in-process build."""
    need_shared(*SCIFACT)
    need_shared(*BSG)
    out = tmp_path_factory.mktemp("fresh4") / "answers-fresh4.jsonl"
    _built_by_cli(builder4, "build_fresh4", out)
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def rows4(built4) -> list[dict]:
    return [json.loads(line) for line in built4.splitlines()]


def test_fresh4_rows_carry_what_bench_verify_reads(rows4):
    ids = [r["id"] for r in rows4]
    assert len(ids) == len(set(ids))
    for row in rows4:
        assert row["split"] == "fresh4" and row["label"] in ("true", "false") and row["kind"], row["id"]
        assert len(row["passages"]) >= 2, row["id"]
        assert [p["n"] for p in row["passages"]] == list(range(1, len(row["passages"]) + 1)), row["id"]
        assert all(p["title"] and p["text"] and isinstance(p["section"], str) for p in row["passages"]), row["id"]
        cited = {int(n) for n in MARKER.findall(row["answer"])}
        assert cited and cited <= {p["n"] for p in row["passages"]}, row["id"]
        assert "[x" not in row["answer"], row["id"]


def test_fresh4_has_the_asked_counts_kinds_and_sources(builder4, rows4):
    true = [r for r in rows4 if r["label"] == "true"]
    false = [r for r in rows4 if r["label"] == "false"]
    assert len(true) >= 120 and len(false) >= 200
    assert set(Counter(r["kind"] for r in true)) == builder4.KINDS
    kinds = Counter(r["kind"] for r in false)
    assert set(kinds) == builder4.HAND_KINDS and min(kinds.values()) >= 5, kinds
    # Each corruption is shown with exactly the passages of its true item, and differs from its answer.
    by_id = {r["id"]: r for r in true}
    items = {item["id"]: item for item in builder4.load_items()}
    for row in false:
        base = by_id[items[row["id"]]["of"]]
        assert row["passages"] == base["passages"] and row["answer"] != base["answer"], row["id"]
    labels = Counter(item["passages"][0][0].split(":")[0] if item["passages"][0][0].startswith(("scifact:", "bsg"))
                     else "corpus" for item in items.values() if item.get("label", "true") == "true")
    assert labels["scifact"] >= 0.4 * len(true) and labels["bsg"] >= 0.1 * len(true)
    assert labels["corpus"] >= 0.15 * len(true)
    multi = [r for r in true if len(re.findall(r"\]\.", r["answer"])) >= 2]
    assert len(multi) >= 10


def test_fresh4_default_answer_file_is_git_ignored(builder4):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing to commit the built set into")
    relative = builder4.OUT.relative_to(ROOT)
    assert subprocess.run(["git", "check-ignore", "-q", str(relative)], cwd=ROOT).returncode == 0


def assert_no_scifact_sentence_committed(builder, min_chars: int, at_least: int) -> None:
    """No committed file of corpus/eval/verify holds a sentence (of min_chars or more) of the abstracts the set uses."""
    need_shared(*SCIFACT)
    wanted = set(builder.scifact_ids(builder.load_items()))
    sentences = set()
    with (ROOT.parent / "shared").joinpath(*SCIFACT).open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["_id"] in wanted:
                sentences.update(s for s in re.split(r"(?<=[.;])\s+", row["text"]) if len(s) > min_chars)
    assert len(sentences) > at_least
    for path in sorted(p for p in VERIFY.iterdir() if p.is_file() and p.suffix in {".jsonl", ".yaml", ".md", ".py",
                                                                                   ".sha256"}):
        text = path.read_text(encoding="utf-8")
        assert not [s for s in sentences if s in text], path.name


def test_no_committed_set_file_holds_a_scifact_sentence(builder4):
    assert_no_scifact_sentence_committed(builder4, 80, 100)


def test_fresh4_without_shared_names_the_missing_file(builder4, monkeypatch, tmp_path):
    absent = tmp_path / "shared" / "data" / "scifact" / "corpus.jsonl"
    monkeypatch.setattr(builder4, "SCIFACT", absent)
    monkeypatch.setattr(builder4, "BSG_PDF", tmp_path / "shared" / "data" / "pdfs" / "absent.pdf")
    with pytest.raises(SystemExit) as exc:
        builder4.build()
    assert "../shared" in str(exc.value) and ("absent.pdf" in str(exc.value) or str(absent) in str(exc.value))


def assert_changed_digest_stops_the_build(builder, monkeypatch, tmp_path) -> None:
    """A recorded digest changed: the build stops, naming the first item on that chunk and the chunker."""
    lines = builder.DIGESTS.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("#") and line.split()[2] != "-")
    value, source, ids = lines[first].split()
    lines[first] = f"{'0' * len(value)} {source} {ids}"
    changed = tmp_path / builder.DIGESTS.name
    changed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(builder, "DIGESTS", changed)
    with pytest.raises(SystemExit) as exc:
        builder.build()
    assert ids.split(",")[0] in str(exc.value) and "chunker's output" in str(exc.value)


def test_fresh4_a_changed_third_party_chunk_stops_the_build_naming_its_items(builder4, monkeypatch, tmp_path):
    need_shared(*SCIFACT)
    need_shared(*BSG)
    assert_changed_digest_stops_the_build(builder4, monkeypatch, tmp_path)


@pytest.mark.parametrize(("text", "expected"), [
    ("- {id: t-1, kind: synonym, passages: [[scifact:4983, \"one two three four five six seven eight nine ten eleven"
     " twelve thirteen\"]], answer: \"Claim [1].\"}\n", "13 words"),
    ("- {id: t-1, kind: synonym, passages: [[x, \"y\"]], answer: \"Claim [1].\"}\n"
     "- {id: t-2, of: t-1, label: \"false\", kind: hand_number_changed, answer: \"Claim [1].\"}\n", "`why`"),
    ("- {id: t-1, kind: guessed, passages: [[x, \"y\"]], answer: \"Claim [1].\"}\n", "is not one of"),
])
def test_fresh4_a_bad_item_is_refused_naming_it(builder4, monkeypatch, tmp_path, text, expected):
    yaml_file = tmp_path / "paraphrases-fresh4.yaml"
    yaml_file.write_text(text, encoding="utf-8")
    monkeypatch.setattr(builder4, "YAML", yaml_file)
    with pytest.raises(SystemExit) as exc:
        builder4.build()
    assert "t-" in str(exc.value) and expected in str(exc.value)


# --- fresh5: the fresh4 generated PDFs (frozen chunks) and SciFact abstracts fresh4 does not use, read from ../shared
# at build time; every answer hand-written (corpus/eval/verify/build_fresh5.py, paraphrases-fresh5.yaml) ---


@pytest.fixture(scope="module")
def builder5():
    return _load_builder("build_fresh5")


@pytest.fixture(scope="module")
def rows5(builder5, tmp_path_factory) -> list[dict]:
    """fresh5 as the command line writes it, checked to be byte-identical to a second, in-process build."""
    need_shared(*SCIFACT)
    out = tmp_path_factory.mktemp("fresh5") / "answers-fresh5.jsonl"
    _built_by_cli(builder5, "build_fresh5", out)
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_fresh5_rows_carry_what_bench_verify_reads(rows5):
    ids = [r["id"] for r in rows5]
    assert len(ids) == len(set(ids))
    for row in rows5:
        assert row["split"] == "fresh5" and row["label"] in ("true", "false") and row["kind"], row["id"]
        assert len(row["passages"]) >= 2, row["id"]
        assert [p["n"] for p in row["passages"]] == list(range(1, len(row["passages"]) + 1)), row["id"]
        cited = {int(n) for n in MARKER.findall(row["answer"])}
        assert cited and cited <= {p["n"] for p in row["passages"]} and "[x" not in row["answer"], row["id"]


def test_fresh5_has_the_asked_counts_kinds_and_sources(builder5, rows5):
    true = [r for r in rows5 if r["label"] == "true"]
    false = [r for r in rows5 if r["label"] == "false"]
    assert len(true) >= 150 and len(false) >= 250
    assert set(Counter(r["kind"] for r in true)) == builder5.KINDS
    kinds = Counter(r["kind"] for r in false)
    assert set(kinds) == builder5.HAND_KINDS and min(kinds.values()) >= 10, kinds
    # More weight than fresh4 on the kinds a rule-based verifier finds hard.
    hard = ("hand_terms_swapped", "hand_direction_reversed", "hand_neighbour_figure", "hand_qualifier_dropped")
    assert sum(kinds[k] for k in hard) >= 0.4 * len(false)
    by_id = {r["id"]: r for r in true}
    items = {item["id"]: item for item in builder5.load_items()}
    for row in false:
        base = by_id[items[row["id"]]["of"]]
        assert row["passages"] == base["passages"] and row["answer"] != base["answer"], row["id"]
    sources = Counter("scifact" if item["passages"][0][0].startswith("scifact:") else "pdf"
                      for item in items.values() if item.get("label", "true") == "true")
    assert sources["scifact"] >= 0.3 * len(true) and sources["pdf"] >= 0.3 * len(true)


def test_fresh5_frozen_chunks_are_what_the_product_stores_from_the_pdfs(builder5):
    """The frozen chunks are the real loader's and chunker's output for the three generated PDFs (if ingestion
    changes, this fails and the items on the changed chunks must be re-read before re-freezing)."""
    pdfs = sorted(builder5.OWN_PDFS.glob("*.pdf"))
    assert [p.name for p in pdfs] == ["biopsy-quality-audit.pdf", "implanted-port-leaflet.pdf",
                                      "lung-ablation-standards.pdf"]
    assert builder5.fresh3.chunk_files(pdfs) == builder5.own_chunks()
    assert not {c["source"] for c in builder5.own_chunks()} & builder5.earlier_sources()


def test_no_committed_set_file_holds_a_fresh5_scifact_sentence(builder5):
    assert_no_scifact_sentence_committed(builder5, 60, 80)


def test_fresh5_without_shared_names_the_missing_file(builder5, monkeypatch, tmp_path):
    absent = tmp_path / "shared" / "data" / "scifact" / "corpus.jsonl"
    monkeypatch.setattr(builder5, "SCIFACT", absent)
    with pytest.raises(SystemExit) as exc:
        builder5.build()
    assert "../shared" in str(exc.value) and str(absent) in str(exc.value)


def test_fresh5_a_changed_scifact_chunk_stops_the_build_naming_its_items(builder5, monkeypatch, tmp_path):
    need_shared(*SCIFACT)
    assert_changed_digest_stops_the_build(builder5, monkeypatch, tmp_path)


@pytest.mark.parametrize(("text", "expected"), [
    ("- {id: t-1, kind: synonym, passages: [[scifact:4983, \"one two three four five six seven eight nine ten eleven"
     " twelve thirteen\"]], answer: \"Claim [1].\"}\n", "13 words"),
    ("- {id: t-1, kind: synonym, passages: [[x, \"y\"]], answer: \"Claim [1].\"}\n"
     "- {id: t-2, of: t-1, label: \"false\", kind: hand_number_changed, answer: \"Claim [1].\"}\n", "`why`"),
    ("- {id: t-1, kind: guessed, passages: [[x, \"y\"]], answer: \"Claim [1].\"}\n", "is not one of"),
    ("- {id: t-1, kind: synonym, passages: [[scifact:22922353, \"weight\"]], answer: \"Claim [1].\"}\n",
     "one fresh4 uses"),
])
def test_fresh5_a_bad_item_is_refused_naming_it(builder5, monkeypatch, tmp_path, text, expected):
    if "fresh4 uses" in expected:
        need_shared(*SCIFACT)
    yaml_file = tmp_path / "paraphrases-fresh5.yaml"
    yaml_file.write_text(text, encoding="utf-8")
    monkeypatch.setattr(builder5, "YAML", yaml_file)
    with pytest.raises(SystemExit) as exc:
        builder5.build()
    assert "t-" in str(exc.value) and expected in str(exc.value)


def test_fresh5_a_passage_of_a_file_an_earlier_set_froze_is_refused(builder5, monkeypatch):
    need_shared(*SCIFACT)
    monkeypatch.setattr(builder5, "earlier_sources", lambda: {"lung-ablation-standards.pdf"})
    with pytest.raises(SystemExit) as exc:
        builder5.build()
    assert "f5-la-" in str(exc.value) and "earlier verifier set" in str(exc.value)
