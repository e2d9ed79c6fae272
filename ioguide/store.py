"""The Chroma store: chunks, their sentences, and a manifest of documents.

Everything Chroma-specific lives here: the client (embedded PersistentClient, or HttpClient for a `chroma run`
server), the Chunk <-> flat-metadata mapping, and the conversion of Chroma's columnar results into our types.
Chroma never embeds anything itself: vectors always come from our Embedder.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .errors import ModelMismatchError, NoIndexError, StoreUnavailableError
from .types import Chunk, DocumentInfo

CHUNKS = "ioguide_chunks"
SENTENCES = "ioguide_sentences"
DOCUMENTS = "ioguide_documents"
HNSW = {"space": "cosine", "ef_construction": 400, "ef_search": 400, "max_neighbors": 32}
# Sentences repeat (SciFact: 46,647 sentence vectors, 44,583 distinct) and the graph over them has poorly connected
# regions: at ef_search 400 and 800, 2 of 100 SciFact queries got none of their true top 100 (recall 0.979);
# from 1200 on, recall@100 is 0.9995 at 8.8 ms against 7.4 ms a query (`ioguide bench ann --beir ...`).
SENTENCE_EF_SEARCH = 1200
SCHEMA_VERSION = "1"


@runtime_checkable
class Store(Protocol):
    """What IO Guide asks of a vector store: ingest writes through it; retrieval, the BM25 and vector caches, the
    Library page and the benchmarks read through it. ChromaStore (embedded or a `chroma run` server) is the one
    implementation; tests/test_store.py is the contract, run against both."""

    # writes (ingest, the Library page)
    def upsert(self, chunks: list[Chunk], vectors: np.ndarray, sentences: list[tuple[str, str, int, int]],
               sentence_vectors: np.ndarray) -> None:
        """Chunks with their vectors, and sentences (sentence_id, chunk_id, start, end) with theirs."""

    def delete(self, chunk_ids: list[str]) -> None:
        """Chunks and their sentences."""

    def put_document(self, info: DocumentInfo, n_chunks: int, state: str = "complete") -> None:
        """One manifest entry (state: "writing" while ingest runs, "complete" once every chunk is stored)."""

    def delete_document(self, doc_id: str) -> int:
        """A document's chunks, sentences and manifest entry; how many chunks were removed."""

    def set_fingerprint(self, value: str) -> None:
        """Record the fingerprint of the set of chunks (ingest, after a change)."""

    # reads
    def fingerprint(self) -> str:
        """Changes whenever the set of chunks changes: the BM25 and vector caches are keyed on it."""

    def count(self) -> int:
        """Chunks stored."""

    def sentence_count(self) -> int:
        """Sentence vectors stored."""

    def documents_list(self) -> list[dict[str, Any]]:
        """The manifest: one row per document (doc_id, title, edition, collection, chunks, state ...)."""

    def chunk_ids_for_doc(self, doc_id: str) -> list[str]: ...

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        """The chunks with these ids, in that order (missing ids left out)."""

    def neighbours(self, chunk: Chunk) -> list[Chunk]:
        """The chunks just before and after chunk in its document."""

    def iter_chunks(self, batch: int = 2000) -> Iterator[Chunk]: ...

    def iter_vectors(self, sentences: bool = False,
                     batch: int = 5000) -> Iterator[tuple[list[str], np.ndarray, list[dict[str, Any]]]]:
        """Every stored vector in batches of (ids, matrix, metadatas): chunks' or sentences'."""

    def chunk_vectors(self, ids: list[str]) -> dict[str, np.ndarray]: ...

    def sentence_records(self, chunk_ids: list[str]) -> dict[str, list[tuple[int, int, np.ndarray]]]:
        """For each chunk: its sentences as (start, end, vector), in text order."""

    def query_ids(self, vector: np.ndarray, n: int, doc_ids: list[str] | None = None,
                  sentences: bool = False) -> list[tuple[str, float, dict]]:
        """Nearest chunk ids (or sentence records) with cosine similarity; doc_ids=[] finds nothing."""


def open_client(index_dir: Path | str | None = None, chroma_url: str = ""):
    """An embedded client on index_dir, or an HTTP client when chroma_url is set. Telemetry is off."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        from urllib.parse import urlparse

        url = urlparse(chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise StoreUnavailableError(f"IOGUIDE_CHROMA_URL must look like http://host:port (got {chroma_url!r}).")
        try:
            return chromadb.HttpClient(host=url.hostname, port=url.port or (443 if url.scheme == "https" else 80),
                                       ssl=url.scheme == "https", settings=settings)
        except Exception as exc:  # noqa: BLE001 - connection errors come in many types
            raise StoreUnavailableError(
                f"Cannot reach the Chroma server at {chroma_url} ({type(exc).__name__}). Is `chroma run` up?"
            ) from exc
    path = Path(index_dir or "index")
    path.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except Exception as exc:  # noqa: BLE001
        _forget_client(path)
        raise NoIndexError(
            f"The index at {path} cannot be opened ({type(exc).__name__}: {str(exc)[:200]}). It may be damaged: "
            f"rebuild it with `python -m ingest --rebuild --index {path}`."
        ) from exc


def _forget_client(path: Path) -> None:
    """Chroma caches one client system per folder and process, even one whose start failed; drop it, or every later
    open of the folder in this process (`ingest --rebuild` right after deleting a damaged index) fails too."""
    from chromadb.api.shared_system_client import SharedSystemClient

    try:
        SharedSystemClient._identifier_to_system.pop(str(path), None)
    except AttributeError:  # pragma: no cover - a later chromadb
        SharedSystemClient.clear_system_cache()


def _transport_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)
    try:
        import httpx

        errors += (httpx.TransportError,)
    except ImportError:  # pragma: no cover - chromadb depends on httpx
        pass
    return errors


def location_of(client) -> str:
    """http://host:port of a server client, or the folder of an embedded one: what error messages name."""
    try:
        s = client.get_settings()
    except Exception:  # noqa: BLE001
        return "the Chroma store"
    if s.chroma_server_host:
        scheme = "https" if s.chroma_server_ssl_enabled else "http"
        return f"{scheme}://{s.chroma_server_host}:{s.chroma_server_http_port}"
    return str(s.persist_directory)


def drop_index(client) -> list[str]:
    """Drop IO Guide's collections (chunks, sentences, manifest) from a client's database, embedded or server: the
    one place that deletes collections (`python -m ingest --rebuild`, `bench scale` on a shared server). Returns the
    names dropped."""
    existing = {c.name if hasattr(c, "name") else c for c in client.list_collections()}
    dropped = [name for name in (CHUNKS, SENTENCES, DOCUMENTS) if name in existing]
    for name in dropped:
        client.delete_collection(name)
    return dropped


def open_scratch_database(chroma_url: str, database: str):
    """A client on a `chroma run` server, in a database of its own (created when missing, emptied of IO Guide's
    collections), and the function that drops that database: benchmarks write there, never into the collections
    the assistant uses."""
    from urllib.parse import urlparse

    import chromadb
    from chromadb.config import Settings as ChromaSettings

    u = urlparse(chroma_url)
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    port = u.port or (443 if u.scheme == "https" else 80)
    admin = chromadb.AdminClient(ChromaSettings(chroma_api_impl="chromadb.api.fastapi.FastAPI",
                                                chroma_server_host=u.hostname, chroma_server_http_port=port,
                                                chroma_server_ssl_enabled=u.scheme == "https",
                                                anonymized_telemetry=False))
    try:
        admin.get_database(database)
    except Exception:  # noqa: BLE001 - NotFoundError: create it
        admin.create_database(database)
    client = chromadb.HttpClient(host=u.hostname, port=port, ssl=u.scheme == "https", settings=settings,
                                 database=database)
    drop_index(client)
    return client, lambda: admin.delete_database(database)


class _Guarded:
    """A Chroma collection whose connection errors (server stopped, restarting, unreachable) become
    StoreUnavailableError naming the server. The HTTP client reconnects by itself: once the server is back the next
    call succeeds, so a long-lived Assistant (the app's) needs no rebuild."""

    def __init__(self, collection, location: str):
        self._collection = collection
        self._location = location

    def __getattr__(self, name: str):
        attr = getattr(self._collection, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            try:
                return attr(*args, **kwargs)
            except _transport_errors() as exc:
                raise StoreUnavailableError(_unavailable(self._location, exc)) from exc

        return call


def _unavailable(location: str, exc: BaseException) -> str:
    return (f"The Chroma server at {location} does not answer ({type(exc).__name__}). Is `chroma run` up? "
            f"IO Guide reconnects by itself once it is back.")


def _join(values) -> str:
    return "\n".join(values)


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v for v in (value or "").split("\n") if v)


def chunk_to_metadata(chunk: Chunk) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "doc_id": chunk.doc_id, "title": chunk.title, "section": chunk.section, "ordinal": chunk.ordinal,
        "edition": chunk.edition, "issuer": chunk.issuer, "kind": chunk.kind, "collection": chunk.collection,
        "source": chunk.source, "source_url": chunk.source_url, "section_sources": _join(chunk.section_sources),
        "topics": _join(chunk.topics), "page_breaks": json.dumps(chunk.page_breaks), "role": chunk.role,
    }
    if chunk.page_start is not None:
        meta["page_start"] = chunk.page_start
        meta["page_end"] = chunk.page_end
    return meta


def chunk_from_record(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(
        chunk_id=chunk_id, doc_id=meta["doc_id"], title=meta.get("title", ""), text=text,
        ordinal=int(meta.get("ordinal", 0)), section=meta.get("section", ""),
        page_start=meta.get("page_start"), page_end=meta.get("page_end"), edition=meta.get("edition", ""),
        issuer=meta.get("issuer", ""), kind=meta.get("kind", "official"),
        collection=meta.get("collection", "guidelines"), source=meta.get("source", ""),
        source_url=meta.get("source_url", ""), section_sources=_split(meta.get("section_sources")),
        topics=_split(meta.get("topics")),
        page_breaks=tuple(tuple(p) for p in json.loads(meta.get("page_breaks") or "[]")),
        role=meta.get("role", "body"),
    )


def info_to_metadata(info: DocumentInfo, n_chunks: int) -> dict[str, Any]:
    meta = {
        "title": info.title, "source": info.source, "issuer": info.issuer, "edition": info.edition,
        "kind": info.kind, "collection": info.collection, "source_url": info.source_url,
        "topics": _join(info.topics), "licence_note": info.licence_note, "file_hash": info.file_hash,
        "chunks": n_chunks, "indexed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "state": "complete",
    }
    if info.pages is not None:
        meta["pages"] = info.pages
    return meta


def _raise_ef_search(col, ef_search: int) -> None:
    """Bring an index made by an earlier version up to the current search breadth (it takes effect when the
    collection's HNSW segment is next loaded). Best effort: a read-only server keeps its setting."""
    try:
        current = int(((col.configuration or {}).get("hnsw") or {}).get("ef_search") or 0)
        if 0 < current < ef_search:
            col.modify(configuration={"hnsw": {"ef_search": ef_search}})
    except Exception:  # noqa: BLE001 - the old breadth still answers, with the recall measured for it
        pass


class ChromaStore:
    """Chunks (with vectors), sentences (with vectors) and the document manifest, in three Chroma collections."""

    def __init__(self, client, model_id: str, create: bool = False):
        self._client = client
        self.model_id = model_id
        self.location = location_of(client)
        try:
            existing = {c.name if hasattr(c, "name") else c for c in client.list_collections()}
        except Exception as exc:  # noqa: BLE001
            raise StoreUnavailableError(_unavailable(self.location, exc)) from exc
        if CHUNKS not in existing and not create:
            raise NoIndexError(f"No index in {self.location} yet: run `python -m ingest corpus/` (or `make index`) "
                               f"first; if an index was there before, it is damaged: {self.rebuild_command()}.")
        meta = {"embedding_model": model_id, "schema": SCHEMA_VERSION}
        self._chunks = self._collection(CHUNKS, meta, existing)
        self._sentences = self._collection(SENTENCES, meta, existing)
        self._documents = self._collection(DOCUMENTS, {"schema": SCHEMA_VERSION}, existing)
        recorded = (self._chunks.metadata or {}).get("embedding_model")
        if recorded and recorded != model_id:
            raise ModelMismatchError(
                f"This index was built with the embedding model '{recorded}', but '{model_id}' is configured. "
                f"Either set IOGUIDE_EMBEDDER back, or rebuild: {self.rebuild_command()}."
            )
        self.max_batch = 1000
        try:
            self.max_batch = min(self.max_batch, int(client.get_max_batch_size()))
        except Exception:  # noqa: BLE001 - older servers
            pass

    def rebuild_command(self) -> str:
        if self.location.startswith(("http://", "https://")):
            return f"`IOGUIDE_CHROMA_URL={self.location} python -m ingest --rebuild`"
        return f"`python -m ingest --rebuild --index {self.location}`"

    def _collection(self, name: str, meta: dict[str, Any], existing: set[str]):
        hnsw = {**HNSW, "ef_search": SENTENCE_EF_SEARCH} if name == SENTENCES else HNSW
        if name in existing:
            col = self._client.get_collection(name, embedding_function=None)
            _raise_ef_search(col, hnsw["ef_search"])
        else:
            col = self._client.get_or_create_collection(
                name, configuration={"hnsw": hnsw}, metadata=meta, embedding_function=None)
        return _Guarded(col, self.location)

    # ------------------------------------------------------------ writes

    def upsert(self, chunks: list[Chunk], vectors: np.ndarray, sentences: list[tuple[str, str, int, int]],
               sentence_vectors: np.ndarray) -> None:
        """sentences: (sentence_id, chunk_id, start, end) with offsets into the chunk text."""
        by_id = {c.chunk_id: c for c in chunks}
        for i in range(0, len(chunks), self.max_batch):
            part = chunks[i:i + self.max_batch]
            self._chunks.upsert(ids=[c.chunk_id for c in part], embeddings=vectors[i:i + self.max_batch],
                                documents=[c.text for c in part], metadatas=[chunk_to_metadata(c) for c in part])
        for i in range(0, len(sentences), self.max_batch):
            part = sentences[i:i + self.max_batch]
            metas = []
            for _sid, cid, start, end in part:
                c = by_id[cid]
                metas.append({"chunk_id": cid, "doc_id": c.doc_id, "start": start, "end": end})
            self._sentences.upsert(ids=[p[0] for p in part], embeddings=sentence_vectors[i:i + self.max_batch],
                                   metadatas=metas)

    def delete(self, chunk_ids: list[str]) -> None:
        for i in range(0, len(chunk_ids), self.max_batch):
            part = chunk_ids[i:i + self.max_batch]
            self._sentences.delete(where={"chunk_id": {"$in": part}})
            self._chunks.delete(ids=part)

    def put_document(self, info: DocumentInfo, n_chunks: int, state: str = "complete") -> None:
        meta = info_to_metadata(info, n_chunks)
        meta["state"] = state
        self._documents.upsert(ids=[info.doc_id], embeddings=[[1.0]], metadatas=[meta])

    def delete_document(self, doc_id: str) -> int:
        ids = self.chunk_ids_for_doc(doc_id)
        self.delete(ids)
        self._documents.delete(ids=[doc_id])
        return len(ids)

    def set_fingerprint(self, value: str) -> None:
        meta = dict(self._chunks.metadata or {})
        meta["fingerprint"] = value
        meta.pop("hnsw:space", None)
        self._chunks.modify(metadata=meta)

    # ------------------------------------------------------------ reads

    def fingerprint(self) -> str:
        """Changes whenever the set of chunks changes (written by ingest); cheap to read."""
        try:
            col = self._client.get_collection(CHUNKS, embedding_function=None)
        except Exception as exc:  # noqa: BLE001
            raise StoreUnavailableError(_unavailable(self.location, exc)) from exc
        return str((col.metadata or {}).get("fingerprint", ""))

    def count(self) -> int:
        return self._chunks.count()

    def sentence_count(self) -> int:
        return self._sentences.count()

    def documents_list(self) -> list[dict[str, Any]]:
        got = self._documents.get(include=["metadatas"])
        rows = []
        for doc_id, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
            row = dict(meta or {})
            row["doc_id"] = doc_id
            row["topics"] = list(_split(row.get("topics")))
            rows.append(row)
        return sorted(rows, key=lambda r: (r.get("collection", ""), r.get("title", "")))

    def chunk_ids_for_doc(self, doc_id: str) -> list[str]:
        return list(self._chunks.get(where={"doc_id": doc_id}, include=[])["ids"])

    def get_chunks(self, ids: list[str]) -> list[Chunk]:
        out: dict[str, Chunk] = {}
        for i in range(0, len(ids), self.max_batch):
            got = self._chunks.get(ids=ids[i:i + self.max_batch], include=["documents", "metadatas"])
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                out[cid] = chunk_from_record(cid, text, meta)
        return [out[i] for i in ids if i in out]

    def neighbours(self, chunk: Chunk) -> list[Chunk]:
        got = self._chunks.get(
            where={"$and": [{"doc_id": chunk.doc_id}, {"ordinal": {"$in": [chunk.ordinal - 1, chunk.ordinal + 1]}}]},
            include=["documents", "metadatas"])
        found = [chunk_from_record(c, t, m) for c, t, m in zip(got["ids"], got["documents"], got["metadatas"],
                                                                strict=True)]
        return sorted(found, key=lambda c: c.ordinal)

    def iter_chunks(self, batch: int = 2000) -> Iterator[Chunk]:
        offset = 0
        while True:
            got = self._chunks.get(include=["documents", "metadatas"], limit=batch, offset=offset)
            if not got["ids"]:
                return
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
                yield chunk_from_record(cid, text, meta)
            offset += len(got["ids"])

    def iter_vectors(self, sentences: bool = False, batch: int = 5000) -> Iterator[tuple[list[str], np.ndarray,
                                                                                    list[dict[str, Any]]]]:
        """Every stored vector, in batches of (ids, matrix, metadatas): chunks' (metadatas empty) or sentences'."""
        col = self._sentences if sentences else self._chunks
        include = ["embeddings", "metadatas"] if sentences else ["embeddings"]
        offset = 0
        while True:
            got = col.get(include=include, limit=batch, offset=offset)
            if not got["ids"]:
                return
            metas = got["metadatas"] if sentences else [{}] * len(got["ids"])
            yield list(got["ids"]), np.asarray(got["embeddings"], dtype=np.float32), list(metas)
            offset += len(got["ids"])

    def chunk_vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(ids), self.max_batch):
            got = self._chunks.get(ids=ids[i:i + self.max_batch], include=["embeddings"])
            for cid, vec in zip(got["ids"], got["embeddings"], strict=True):
                out[cid] = np.asarray(vec, dtype=np.float32)
        return out

    def sentence_records(self, chunk_ids: list[str]) -> dict[str, list[tuple[int, int, np.ndarray]]]:
        """For each chunk: its sentences as (start, end, vector), in text order."""
        out: dict[str, list[tuple[int, int, np.ndarray]]] = {c: [] for c in chunk_ids}
        if not chunk_ids:
            return out
        got = self._sentences.get(where={"chunk_id": {"$in": list(chunk_ids)}}, include=["embeddings", "metadatas"])
        for vec, meta in zip(got["embeddings"], got["metadatas"], strict=True):
            out.setdefault(meta["chunk_id"], []).append(
                (int(meta["start"]), int(meta["end"]), np.asarray(vec, dtype=np.float32)))
        for rows in out.values():
            rows.sort(key=lambda r: r[0])
        return out

    def _where(self, doc_ids: list[str] | None) -> dict | None:
        if doc_ids is None:
            return None
        return {"doc_id": {"$in": doc_ids}} if len(doc_ids) != 1 else {"doc_id": doc_ids[0]}

    def query_ids(self, vector: np.ndarray, n: int, doc_ids: list[str] | None = None,
                  sentences: bool = False) -> list[tuple[str, float, dict]]:
        """Nearest chunk ids (or sentence records) with cosine similarity, without fetching texts."""
        if doc_ids is not None and not doc_ids:
            return []
        col = self._sentences if sentences else self._chunks
        # No count() first: Chroma returns what it has when n exceeds it, and a count costs a round trip per query.
        try:
            res = col.query(query_embeddings=[vector], n_results=max(1, n), where=self._where(doc_ids),
                            include=["distances", "metadatas"] if sentences else ["distances"])
        except StoreUnavailableError:
            raise
        except Exception:  # noqa: BLE001 - an empty collection can refuse a query; anything else re-raises
            if col.count() == 0:
                return []
            raise
        metas = res["metadatas"][0] if sentences else [{}] * len(res["ids"][0])
        return [(i, 1.0 - float(d), m) for i, d, m in zip(res["ids"][0], res["distances"][0], metas, strict=True)]
