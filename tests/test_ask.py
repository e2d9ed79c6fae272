"""`ioguide ask`: the JSON contract, 1-based pages from a real PDF, abstention, and a real Chroma server."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from ioguide.cli import app
from tests.conftest import make_pdf

KEYS_CITATION = {"n", "chunk_id", "doc_id", "title", "source", "page", "section", "quote"}
KEYS_PASSAGE = {"n", "chunk_id", "doc_id", "title", "source", "page_start", "page_end", "section", "text", "score"}

FILLER = ("General remarks on the organisation of the interventional service are given here. "
          "Staff rotate between the angiography suite and the CT room according to the weekly rota. ")


@pytest.fixture(scope="module")
def pdf_index(tmp_path_factory, embedder):
    from ingest.index import sync
    from ioguide.index import open_index

    root = tmp_path_factory.mktemp("pdfdocs")
    pages = [[FILLER * 3], [FILLER * 2],
             ["Microwave ablation of hepatocellular carcinoma requires an ablative margin of at least 5 mm "
              "around the tumour.", FILLER],
             [FILLER * 2, "Patients are reviewed in clinic six weeks after radioembolisation."]]
    make_pdf(root / "service-handbook.pdf", pages, header="Service Handbook 2025", footer="Page {n} of 4")
    index = tmp_path_factory.mktemp("pdfindex")
    handle = open_index(index, create=True)
    report = sync([root], handle.store, handle.embedder, handle.bm25_dir)
    assert not report.skipped
    return index


def _ask(index, question, *extra):
    result = CliRunner().invoke(app, ["ask", question, "--index", str(index), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_json_contract_and_cited_page(pdf_index):
    out = _ask(pdf_index, "What ablative margin is needed for microwave ablation of HCC?")
    assert {"question", "answer", "grounded", "citations", "passages", "timings_ms"} <= set(out)
    assert out["grounded"] is True
    assert out["citations"], out
    for c in out["citations"]:
        assert KEYS_CITATION <= set(c)
    for p in out["passages"]:
        assert KEYS_PASSAGE <= set(p)
    top = out["citations"][0]
    assert top["page"] == 3  # 1-based, as a PDF viewer shows it
    assert "5 mm" in top["quote"] and "[1]" in out["answer"]
    passage = next(p for p in out["passages"] if p["n"] == top["n"])
    assert passage["text"][top["start"]:top["end"]] == top["quote"]
    assert "Service Handbook 2025" not in passage["text"] and "Page 3 of 4" not in passage["text"]
    assert top["source"].endswith("service-handbook.pdf")


def test_second_fact_on_page_four(pdf_index):
    out = _ask(pdf_index, "When are patients reviewed after radioembolisation?")
    assert out["grounded"]
    assert out["citations"][0]["page"] == 4
    assert "six weeks" in out["answer"]


def test_unrelated_question_abstains_without_padding(corpus_index):
    out = _ask(corpus_index, "What is the best recipe for sourdough bread?")
    assert out["grounded"] is False
    assert out["citations"] == []
    assert "do not cover" in out["answer"]


def test_text_output_lists_numbered_sources(corpus_index):
    result = CliRunner().invoke(app, ["ask", "How many procedures per year does IASIOS require?", "--index",
                                      str(corpus_index)])
    assert result.exit_code == 0, result.output
    assert "150" in result.output
    assert "Sources:" in result.output and "[1] " in result.output


def test_missing_index_is_a_clear_message(tmp_path):
    result = CliRunner().invoke(app, ["ask", "anything", "--index", str(tmp_path / "nothing")])
    assert result.exit_code == 2
    assert "No index" in result.output and "python -m ingest" in result.output


@pytest.mark.server
def test_same_commands_against_a_chroma_server(chroma_server, tmp_path, monkeypatch, embedder):
    from ingest.__main__ import app as ingest_app

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "board.md").write_text("# Tumour board policy\n\n## Meetings\nThe liver tumour board meets every "
                                   "Wednesday at 7:30 and reviews all candidates for TACE.\n")
    monkeypatch.setenv("IOGUIDE_CHROMA_URL", chroma_server["url"])
    result = CliRunner().invoke(ingest_app, [str(docs), "--index", str(tmp_path / "cache"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "now holds" in result.output
    out = _ask(tmp_path / "cache", "When does the liver tumour board meet?")
    assert out["grounded"] and "Wednesday" in out["answer"]
    assert os.environ["IOGUIDE_CHROMA_URL"].startswith("http://127.0.0.1")


def test_source_lines_name_the_year_once(corpus_index):
    result = CliRunner().invoke(app, ["ask", "What are the absolute contraindications to TACE?", "--index",
                                      str(corpus_index)])
    assert result.exit_code == 0, result.output
    assert "Chemoembolisation (2021)" in result.output
    assert "(2021) (2021)" not in result.output
