"""The bundled corpus: complete front matter, a source URL for every section, size, and the question set."""

from __future__ import annotations

import json
import re

import yaml

from ingest.loaders import parse_front_matter
from tests.conftest import ROOT

CORPUS = ROOT / "corpus"
REQUIRED = ("title", "issuer", "edition", "source_url", "kind", "topics", "licence_note")


def corpus_files():
    return sorted(p for p in CORPUS.glob("*.md") if p.name != "README.md")


def test_every_file_has_complete_front_matter():
    files = corpus_files()
    assert len(files) >= 20
    for path in files:
        meta, _ = parse_front_matter(path.read_text(encoding="utf-8"))
        missing = [k for k in REQUIRED if not meta.get(k)]
        assert not missing, f"{path.name}: missing {missing}"
        assert meta["kind"] == "summary", path.name
        assert str(meta["source_url"]).startswith("http"), path.name
        assert "summary" in meta["licence_note"].lower() or "own words" in meta["licence_note"].lower()


def test_every_section_ends_with_source_urls():
    for path in corpus_files():
        _, body = parse_front_matter(path.read_text(encoding="utf-8"))
        sections = re.split(r"\n(?=#{2,3} )", body)
        for section in sections[1:]:
            heading = section.splitlines()[0]
            assert re.search(r"^Sources:\s*$", section, re.M), f"{path.name}: '{heading}' has no Sources list"
            assert re.search(r"^- https?://\S+", section, re.M), f"{path.name}: '{heading}' has no URL"


def test_corpus_size():
    words = sum(len(parse_front_matter(p.read_text(encoding='utf-8'))[1].split()) for p in corpus_files())
    assert words >= 25_000, words


def test_question_set_format_and_share_of_unanswerable():
    lines = (CORPUS / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    assert len(rows) >= 60
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    unanswerable = [r for r in rows if r["type"] == "unanswerable"]
    assert 0.12 <= len(unanswerable) / len(rows) <= 0.25
    docs = {p.stem for p in corpus_files()}
    for r in rows:
        assert {"id", "question", "answer_facts", "expected_sources", "type"} <= set(r)
        if r["type"] == "unanswerable":
            assert r["answer_facts"] == [] and r["expected_sources"] == []
        else:
            assert r["answer_facts"], r["id"]
            for s in r["expected_sources"]:
                assert s["doc_id"] in docs, (r["id"], s)


def test_standards_data_matches_the_public_core_items():
    data = yaml.safe_load((ROOT / "ioguide" / "data" / "standards.yaml").read_text())
    text = json.dumps(data)
    assert "Staff and Facilities" in text and "Safety and Quality" in text
