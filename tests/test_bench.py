"""`ioguide bench ...` as a new user runs it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ioguide.cli import app


def test_bench_latency_with_synthetic_chunks_needs_no_bundled_index(tmp_path, monkeypatch):
    """A fresh checkout, nothing indexed yet: `ioguide bench latency --chunks N` measures the synthetic index and
    says in one line how to get the bundled-corpus row, instead of failing with "No index"."""
    monkeypatch.chdir(tmp_path)  # .bench-cache/ is written here
    monkeypatch.setenv("IOGUIDE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.delenv("IOGUIDE_CHROMA_URL", raising=False)
    result = CliRunner().invoke(app, ["bench", "latency", "--chunks", "300", "--repeats", "5", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["index"] for r in rows] == ["synthetic-300"]
    assert rows[0]["chunks"] == 300 and rows[0]["p50_ms"] > 0 and rows[0]["queries"] == 5
    hint = [line for line in result.stderr.splitlines() if "bundled" in line]
    assert len(hint) == 1 and f"python -m ingest corpus/ --index {tmp_path / 'index'}" in hint[0]
    assert not (tmp_path / "index").exists()  # nothing was created where the bundled index belongs

    # the table form shows the same row; without --chunks there is nothing to measure and the error says what to do
    table = CliRunner().invoke(app, ["bench", "latency", "--chunks", "300", "--repeats", "5"])
    assert table.exit_code == 0 and table.stdout.startswith("synthetic-300") and "p95" in table.stdout
    bare = CliRunner().invoke(app, ["bench", "latency", "--repeats", "5"])
    assert bare.exit_code == 2 and "python -m ingest corpus/" in bare.output
