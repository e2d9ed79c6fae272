"""Sync files into the store: embed, upsert, remove what is stale; keep the BM25 side in step.

Order matters for safety: a changed document's new chunks are written before its old ones are removed, and its
manifest entry (with the file hash) is written last. A crash at any point leaves every document searchable, and
the next run finishes the job (the file hash in the manifest still differs, so the document is redone).
"""

from __future__ import annotations

import fnmatch
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ioguide.bm25 import rebuild_bm25
from ioguide.config import MAX_FILE_MB, MAX_LOAD_SECONDS, MAX_PDF_PAGES
from ioguide.errors import LoadError
from ioguide.store import Store
from ioguide.text import chunk_embedding_text, sentence_embedding_text, sentence_spans
from ioguide.types import Chunk, DocumentInfo
from ioguide.vectors import DEFAULT_MAX_VECTORS, rebuild_vectors, vectors_dir_for

from .chunking import chunk_sections
from .loaders import SIDECAR_SUFFIXES, SUPPORTED, load_file

IGNORE_FILE = ".ioguideignore"


@dataclass
class SyncReport:
    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks_written: int = 0
    sentences_written: int = 0
    chunks_removed: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0

    def summary(self) -> str:
        lines = [f"Indexed {len(self.indexed)} file(s) ({self.chunks_written} chunks), "
                 f"unchanged {len(self.unchanged)}, removed {len(self.removed)}, skipped {len(self.skipped)} "
                 f"in {self.seconds:.1f} s."]
        for name, reason in self.skipped:
            lines.append(f"SKIPPED {name}: {reason}")
        return "\n".join(lines)


def _ignored(path: Path, root: Path, patterns: list[str]) -> bool:
    rel = path.relative_to(root).as_posix()
    for pattern in patterns:
        pat = pattern.rstrip("/")
        if fnmatch.fnmatch(rel, pat) or fnmatch.fnmatch(path.name, pat) or rel.startswith(pat + "/"):
            return True
    return False


def scan(paths: list[Path]) -> tuple[list[Path], list[tuple[str, str]], list[Path]]:
    """Files to index, files skipped with a reason, and the folders scanned (whose vanished files are removed)."""
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    roots: list[Path] = []
    for path in paths:
        if not path.exists():
            skipped.append((str(path), "path does not exist"))
            continue
        if path.is_file():
            files.append(path)
            continue
        roots.append(path.resolve())
        ignore_file = path / IGNORE_FILE
        patterns = []
        if ignore_file.exists():
            patterns = [ln.strip() for ln in ignore_file.read_text().splitlines()
                        if ln.strip() and not ln.startswith("#")]
        try:
            candidates = sorted(p for p in path.rglob("*") if p.is_file() or p.is_symlink())
        except OSError as exc:
            skipped.append((str(path), f"cannot list folder ({exc.strerror or exc})"))
            continue
        for p in candidates:
            rel_parts = p.relative_to(path).parts
            if any(part.startswith(".") for part in rel_parts) or _ignored(p, path, patterns):
                continue
            suffix = p.suffix.lower()
            if suffix in SIDECAR_SUFFIXES and any(p.with_suffix(s).exists() for s in SUPPORTED):
                continue  # metadata beside an official PDF
            if suffix not in SUPPORTED:
                skipped.append((str(p), f"unsupported file type '{suffix or '(none)'}'"))
                continue
            files.append(p)
    seen: set[Path] = set()
    unique = []
    for f in files:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(f)
    return unique, skipped, roots


def sentence_records(chunk: Chunk) -> list[tuple[str, str, int, int]]:
    return [(f"{chunk.chunk_id}:{i}", chunk.chunk_id, a, b) for i, (a, b) in enumerate(sentence_spans(chunk.text))]



def write_documents(store: Store, embedder, batch: list[tuple[DocumentInfo, list[Chunk]]],
                    report: SyncReport | None = None) -> None:
    """Embed the chunks and sentences of several documents in one go, then write document by document: new
    chunks first, stale ones removed after, the manifest entry last."""
    report = report if report is not None else SyncReport()
    all_chunks = [c for _, chunks in batch for c in chunks]
    t0 = time.perf_counter()
    vectors = embedder.embed_documents([chunk_embedding_text(c.title, c.section, c.text) for c in all_chunks])
    sents = [rec for c in all_chunks for rec in sentence_records(c)]
    by_id = {c.chunk_id: c for c in all_chunks}
    s_vectors = embedder.embed_documents(
        [sentence_embedding_text(by_id[cid].title, by_id[cid].section, by_id[cid].text[a:b])
         for _, cid, a, b in sents])
    report.embed_seconds += time.perf_counter() - t0
    row_of = {c.chunk_id: i for i, c in enumerate(all_chunks)}
    s_rows: dict[str, list[int]] = {}
    for i, rec in enumerate(sents):
        s_rows.setdefault(rec[1], []).append(i)
    for info, chunks in batch:
        idx = [row_of[c.chunk_id] for c in chunks]
        s_idx = [i for c in chunks for i in s_rows.get(c.chunk_id, [])]
        old = set(store.chunk_ids_for_doc(info.doc_id))
        store.upsert(chunks, vectors[idx] if idx else np.zeros((0, 1)), [sents[i] for i in s_idx],
                     s_vectors[s_idx] if s_idx else np.zeros((0, 1)))
        stale = sorted(old - {c.chunk_id for c in chunks})
        if stale:
            store.delete(stale)
            report.chunks_removed += len(stale)
        store.put_document(info, len(chunks))
        report.indexed.append(info.source)
        report.chunks_written += len(chunks)
        report.sentences_written += len(s_idx)


def sync(paths: list[Path], store: Store, embedder, bm25_dir: Path, collection: str = "guidelines",
         max_bytes: int = int(MAX_FILE_MB * 1024 * 1024), max_pages: int = MAX_PDF_PAGES, batch_chunks: int = 256,
         max_seconds: float = MAX_LOAD_SECONDS,
         progress: Callable[[int, int, str], None] | None = None,
         exact_max_vectors: int = DEFAULT_MAX_VECTORS) -> SyncReport:
    """Bring the index in line with the files under paths. Never raises for one bad file."""
    started = time.perf_counter()
    report = SyncReport()
    files, skipped, roots = scan(paths)
    report.skipped.extend(skipped)
    manifest = {row["source"]: row for row in store.documents_list()}
    used_ids = {row["doc_id"] for row in manifest.values()}
    pending: list[tuple[DocumentInfo, list[Chunk]]] = []
    pending_chunks = 0

    def flush() -> None:
        nonlocal pending, pending_chunks
        if pending:
            write_documents(store, embedder, pending, report)
        pending, pending_chunks = [], 0

    for n, path in enumerate(files, start=1):
        if progress:
            progress(n, len(files), str(path))
        try:
            info, sections = load_file(path, max_bytes=max_bytes, max_pages=max_pages, collection=collection,
                                       max_seconds=max_seconds)
        except LoadError as exc:
            report.skipped.append((exc.path, exc.reason))
            continue
        existing = manifest.get(info.source)
        if existing is not None:
            info = _with_doc_id(info, existing["doc_id"])
            if existing.get("file_hash") == info.file_hash and existing.get("state") == "complete" \
                    and existing.get("collection", "guidelines") == collection:
                report.unchanged.append(info.source)
                continue
        else:
            doc_id = info.doc_id
            if doc_id in used_ids:
                doc_id = f"{doc_id}-{hashlib.sha256(info.source.encode()).hexdigest()[:6]}"
            used_ids.add(doc_id)
            info = _with_doc_id(info, doc_id)
        try:
            chunks = chunk_sections(info, sections, embedder.count_tokens_batch, embedder.max_tokens)
        except Exception as exc:  # noqa: BLE001 - one document must not stop the batch
            report.skipped.append((str(path), f"could not be split into passages ({type(exc).__name__}: {exc})"))
            continue
        if not chunks:
            report.skipped.append((str(path), "no text found in the file"))
            continue
        pending.append((info, chunks))
        pending_chunks += len(chunks)
        if pending_chunks >= batch_chunks:
            flush()
    flush()
    # Files that vanished from a scanned folder (or that are now ignored) leave the index.
    indexed_now = {str(f.resolve()) for f in files}
    for source, row in manifest.items():
        under_root = any(_is_under(Path(source), root) for root in roots)
        if under_root and source not in indexed_now and row.get("collection", "guidelines") == collection:
            report.chunks_removed += store.delete_document(row["doc_id"])
            report.removed.append(source)
    if report.indexed or report.removed or store.fingerprint() == "" or not (bm25_dir / "meta.json").exists():
        refresh_side_indexes(store, bm25_dir, exact_max_vectors)
    report.seconds = time.perf_counter() - started
    return report


def refresh_side_indexes(store: Store, bm25_dir: Path, exact_max_vectors: int = DEFAULT_MAX_VECTORS) -> None:
    """After any change to the store: rebuild BM25 (which re-tags the store's fingerprint, so other processes
    notice) and the exact-search vector cache, so the first question after a change does not pay for them."""
    bm25 = rebuild_bm25(store, bm25_dir)
    rebuild_vectors(store, vectors_dir_for(bm25_dir), bm25.fingerprint, exact_max_vectors)


def _with_doc_id(info: DocumentInfo, doc_id: str) -> DocumentInfo:
    from dataclasses import replace

    return replace(info, doc_id=doc_id)


def _is_under(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False
