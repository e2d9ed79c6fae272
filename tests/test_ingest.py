"""Sync: idempotent, safe on change and deletion, chunks within the model window, progress and summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.__main__ import app as ingest_app
from ingest.index import sync
from ioguide.index import open_index
from ioguide.text import chunk_embedding_text

MD = """---
title: "Test guideline on cryoablation"
issuer: "Test Society"
edition: "2024"
source_url: "https://example.org/cryo"
kind: summary
topics: [ablation]
licence_note: "test"
---
# Test guideline on cryoablation

## Ice ball margin
For renal cryoablation the ice ball should extend at least 5 mm beyond the tumour margin.

Sources:
- https://example.org/cryo

## Follow-up
Contrast CT is performed at 3 months after cryoablation.
"""


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "cryo.md").write_text(MD)
    (docs / "notes.txt").write_text("Tumour boards meet weekly on Tuesdays to review every new liver case.\n")
    return docs


def _sync(folder: Path, index: Path):
    handle = open_index(index, create=True)
    return handle, sync([folder], handle.store, handle.embedder, handle.bm25_dir)


def test_second_ingest_changes_nothing(folder, tmp_path, embedder):
    handle, first = _sync(folder, tmp_path / "idx")
    count = handle.store.count()
    assert len(first.indexed) == 2 and count > 0
    handle2, second = _sync(folder, tmp_path / "idx")
    assert second.indexed == [] and len(second.unchanged) == 2
    assert handle2.store.count() == count


def test_changed_file_replaces_its_chunks_and_deleted_file_leaves(folder, tmp_path, embedder):
    handle, _ = _sync(folder, tmp_path / "idx")
    (folder / "cryo.md").write_text(MD.replace("5 mm", "6 mm"))
    handle, report = _sync(folder, tmp_path / "idx")
    assert [Path(p).name for p in report.indexed] == ["cryo.md"]
    texts = [c.text for c in handle.store.iter_chunks()]
    assert any("6 mm" in t for t in texts) and not any("5 mm" in t for t in texts)
    (folder / "notes.txt").unlink()
    handle, report = _sync(folder, tmp_path / "idx")
    assert [Path(p).name for p in report.removed] == ["notes.txt"]
    assert {d["doc_id"] for d in handle.store.documents_list()} == {"cryo"}
    assert all(c.doc_id == "cryo" for c in handle.store.iter_chunks())


def test_crash_between_writes_loses_nothing_and_rerun_repairs(folder, tmp_path, embedder, monkeypatch):
    handle, _ = _sync(folder, tmp_path / "idx")
    before = handle.store.count()
    (folder / "cryo.md").write_text(MD.replace("5 mm", "7 mm"))
    # Simulate a crash right after the new chunks were written, before stale ones are removed.
    from ioguide.store import ChromaStore

    def boom(self, ids):
        raise RuntimeError("killed")

    monkeypatch.setattr(ChromaStore, "delete", boom)
    with pytest.raises(RuntimeError):
        _sync(folder, tmp_path / "idx")
    monkeypatch.undo()
    handle = open_index(tmp_path / "idx")
    texts = [c.text for c in handle.store.iter_chunks()]
    assert any("7 mm" in t for t in texts), "new version is searchable"
    assert any("5 mm" in t for t in texts), "old version not yet lost"
    handle, report = _sync(folder, tmp_path / "idx")
    texts = [c.text for c in handle.store.iter_chunks()]
    assert any("7 mm" in t for t in texts) and not any("5 mm" in t for t in texts)
    assert handle.store.count() == before


def test_chunks_fit_the_model_window_and_lose_no_text(tmp_path, embedder):
    long = " ".join(f"Sentence number {i} describes the ablation zone margin of {i} mm in detail." for i in range(300))
    docs = tmp_path / "d"
    docs.mkdir()
    (docs / "long.txt").write_text(long + " " + "x" * 3000)
    handle, report = _sync(docs, tmp_path / "idx")
    chunks = sorted(handle.store.iter_chunks(), key=lambda c: c.ordinal)
    assert len(chunks) > 10
    for c in chunks:
        assert embedder.count_tokens(chunk_embedding_text(c.title, c.section, c.text)) <= embedder.max_tokens
    joined = " ".join(c.text for c in chunks)
    assert joined.split() == (long + " " + "x" * 3000).split()


def test_cli_prints_summary_and_exit_codes(folder, tmp_path):
    runner = CliRunner()
    result = runner.invoke(ingest_app, [str(folder), "--index", str(tmp_path / "idx"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Indexed 2 file(s)" in result.output
    (folder / "bad.pdf").write_text("this is not a pdf")
    result = runner.invoke(ingest_app, [str(folder), "--index", str(tmp_path / "idx"), "--quiet"])
    assert result.exit_code == 1
    assert "unchanged 2" in result.output
    assert "bad.pdf: not a PDF" in result.output
    result = runner.invoke(ingest_app, [str(folder), "--index", str(tmp_path / "idx"), "--rebuild", "--quiet"])
    assert "Indexed 2 file(s)" in result.output


def test_model_mismatch_is_refused_with_rebuild_hint(folder, tmp_path, embedder):
    from ioguide.errors import ModelMismatchError
    from ioguide.store import ChromaStore, open_client

    _sync(folder, tmp_path / "idx")
    with pytest.raises(ModelMismatchError, match="rebuild"):
        ChromaStore(open_client(tmp_path / "idx"), "some-other-model")


def test_centre_collection_is_kept_apart(folder, tmp_path, embedder):
    handle = open_index(tmp_path / "idx", create=True)
    sync([folder], handle.store, handle.embedder, handle.bm25_dir)
    centre = tmp_path / "centre"
    centre.mkdir()
    (centre / "sop.md").write_text("# Tumour board SOP\n\nOur tumour board meets every Thursday at 8 am.\n")
    sync([centre], handle.store, handle.embedder, handle.bm25_dir, collection="centre")
    docs = {d["doc_id"]: d["collection"] for d in handle.store.documents_list()}
    assert docs == {"cryo": "guidelines", "notes": "guidelines", "sop": "centre"}
    # Syncing the guidelines folder again does not remove the centre's document.
    sync([folder], handle.store, handle.embedder, handle.bm25_dir)
    assert "sop" in {d["doc_id"] for d in handle.store.documents_list()}
