"""Shared fixtures: the real packaged model, a real Chroma index of the bundled corpus (built once per session),
and generated PDFs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# free_port, wait_http and stop_process are imported from here by the tests (and used by scripts/first_answer.py
# from ioguide.servers): one copy, in the package.
from ioguide.servers import ChromaServer, free_port, stop_process, wait_http  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def need_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is only beside the project in this workplace and in CI)")
    return path


@pytest.fixture(scope="session")
def embedder():
    from ioguide.embedders import get_embedder
    from ioguide.index import quiet_libraries

    quiet_libraries()
    return get_embedder()


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory, embedder) -> Path:
    """An embedded index of the bundled corpus/, built once for the whole test session."""
    from ingest.index import sync
    from ioguide.index import open_index

    index_dir = tmp_path_factory.mktemp("corpus-index")
    handle = open_index(index_dir, create=True)
    report = sync([ROOT / "corpus"], handle.store, handle.embedder, handle.bm25_dir)
    assert not report.skipped, report.skipped
    return index_dir


@pytest.fixture(scope="session")
def assistant(corpus_index):
    from ioguide.index import open_index
    from ioguide.service import Assistant

    return Assistant(open_index(corpus_index))


def make_pdf(path: Path, pages: list[list[str]], header: str = "", footer: str = "", title: str = "") -> Path:
    """A real PDF: each page a list of paragraphs; optional running header and footer ('{n}' = page number)."""
    from fpdf import FPDF

    class Doc(FPDF):
        def header(self):
            if header:
                self.set_font("Helvetica", size=8)
                self.cell(0, 8, header, align="C")
                self.ln(10)

        def footer(self):
            if footer:
                self.set_y(-15)
                self.set_font("Helvetica", size=8)
                self.cell(0, 8, footer.replace("{n}", str(self.page_no())), align="C")

    pdf = Doc()
    if title:
        pdf.set_title(title)
    pdf.set_auto_page_break(True, margin=20)
    for paragraphs in pages:
        pdf.add_page()
        pdf.set_font("Helvetica", size=11)
        for para in paragraphs:
            pdf.multi_cell(0, 6, para)
            pdf.ln(3)
    pdf.output(str(path))
    return path


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on 127.0.0.1, started and stopped by the tests."""
    from ioguide.errors import StoreUnavailableError

    data = tmp_path_factory.mktemp("chroma-server")
    server = ChromaServer(data)
    try:
        server.start(timeout_s=60)
    except StoreUnavailableError as exc:
        pytest.fail(f"chroma run did not start: {exc}")
    yield {"url": server.url, "proc": server.proc, "path": data, "port": server.port}
    server.stop(timeout_s=10)


def verify_row(answer_id: str, answer: str, passage: str, title: str) -> dict:
    """One `ioguide bench verify` line: an answer citing passage [1]; ids starting "t-" are true, others corrupted."""
    return {"id": answer_id, "label": "true" if answer_id.startswith("t-") else "false", "answer": answer,
            "passages": [{"n": 1, "title": title, "section": "", "text": passage}]}


def bench_verify(tmp_path: Path, rows: list[dict]) -> dict[str, dict]:
    """Run `ioguide bench verify --json` (the real verifier and packaged model) on rows; its results by id."""
    import json

    from typer.testing import CliRunner

    from ioguide.cli import app

    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["bench", "verify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return {r["id"]: r for r in json.loads(result.output)["results"]}
