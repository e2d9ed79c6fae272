"""Shared fixtures: the real packaged model, a real Chroma index of the bundled corpus (built once per session),
and generated PDFs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def wait_http(url: str, seconds: float, interval: float = 0.3) -> bool:
    """Poll url until it answers (True) or seconds pass (False)."""
    import urllib.request

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except OSError:
            time.sleep(interval)
    return False


def stop_process(proc: subprocess.Popen, grace_s: float = 10) -> None:
    """Terminate a server the tests started; kill it if it does not exit within grace_s."""
    proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` server on 127.0.0.1, started and stopped by the tests."""
    data = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    exe = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen([str(exe), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    if not wait_http(f"{url}/api/v2/heartbeat", 60):
        proc.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield {"url": url, "proc": proc, "path": data, "port": port}
    stop_process(proc)
