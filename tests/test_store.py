"""The Store contract: what ingest, retrieval, the caches, the Library page and the benchmarks rely on, checked
against the embedded store (PersistentClient on a folder) and a real `chroma run` server (started by the tests)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from ioguide.errors import ModelMismatchError, NoIndexError
from ioguide.store import ChromaStore, Store, drop_index, open_client, open_scratch_database
from ioguide.types import Chunk, DocumentInfo

PASSAGES = {
    "tace": ["Chemoembolisation is not advised when the bilirubin is above 3 mg/dl.",
             "Main portal vein occlusion is a relative contraindication.",
             "Response is assessed with mRECIST on contrast imaging."],
    "ablation": ["Radiofrequency ablation aims at a margin of at least 5 mm around the tumour.",
                 "Tumours larger than 3 cm recur more often after ablation."],
    "consent": ["Written consent names the procedure, its risks and the alternatives."],
}


def _chunk(doc_id: str, ordinal: int, text: str) -> Chunk:
    return Chunk(chunk_id=f"{doc_id}-{ordinal}", doc_id=doc_id, title=f"{doc_id.upper()} guideline", text=text,
                 ordinal=ordinal, section="Patient selection", page_start=ordinal + 1, page_end=ordinal + 2,
                 edition="2024", issuer="CIRSE", topics=(doc_id, "liver"), source=f"/docs/{doc_id}.pdf",
                 page_breaks=((0, ordinal + 1), (10, ordinal + 2)))


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.server)])
def client(request, tmp_path):
    if request.param == "embedded":
        yield open_client(tmp_path / "index")
        return
    server = request.getfixturevalue("chroma_server")
    client, drop_database = open_scratch_database(server["url"], f"ioguide_contract_{uuid.uuid4().hex[:8]}")
    yield client
    drop_database()


@pytest.fixture()
def filled(client, embedder):
    """A store holding the three documents above, written as ingest writes them (chunks, sentences, manifest)."""
    store = ChromaStore(client, embedder.model_id, create=True)
    chunks = [_chunk(doc_id, i, text) for doc_id, texts in PASSAGES.items() for i, text in enumerate(texts)]
    sentences = []
    for c in chunks:  # two "sentences" a chunk: its first and second half, by character offsets
        half = len(c.text) // 2
        sentences += [(f"{c.chunk_id}:0", c.chunk_id, 0, half), (f"{c.chunk_id}:1", c.chunk_id, half, len(c.text))]
    store.upsert(chunks, embedder.embed_documents([c.text for c in chunks]), sentences,
                 embedder.embed_documents([next(c for c in chunks if c.chunk_id == cid).text[a:b]
                                           for _, cid, a, b in sentences]))
    for doc_id, texts in PASSAGES.items():
        store.put_document(DocumentInfo(doc_id=doc_id, title=f"{doc_id.upper()} guideline",
                                        source=f"/docs/{doc_id}.pdf", edition="2024", topics=(doc_id,)), len(texts))
    store.set_fingerprint("v1")
    return store, chunks


def test_a_store_holds_what_ingest_wrote(filled):
    store, chunks = filled
    assert isinstance(store, Store)
    assert store.count() == 6 and store.sentence_count() == 12
    assert store.fingerprint() == "v1"
    docs = store.documents_list()
    assert [d["doc_id"] for d in docs] == ["ablation", "consent", "tace"]  # sorted by collection, then title
    assert {d["doc_id"]: d["chunks"] for d in docs} == {"ablation": 2, "consent": 1, "tace": 3}
    assert all(d["state"] == "complete" and d["topics"] == [d["doc_id"]] for d in docs)
    # chunks come back whole: text, pages (1-based), topics, page breaks
    got = store.get_chunks(["tace-2", "missing", "ablation-0"])
    assert got == [chunks[2], chunks[3]]
    assert got[0].page_start == 3 and got[0].page_at(12) == 4
    assert sorted(c.chunk_id for c in store.iter_chunks(batch=4)) == sorted(c.chunk_id for c in chunks)
    assert sorted(store.chunk_ids_for_doc("tace")) == ["tace-0", "tace-1", "tace-2"]
    assert [c.chunk_id for c in store.neighbours(chunks[1])] == ["tace-0", "tace-2"]


def test_vectors_and_sentences_come_back_in_text_order(filled, embedder):
    store, chunks = filled
    ids, vectors = [], []
    for batch_ids, matrix, metas in store.iter_vectors(batch=4):
        ids += batch_ids
        vectors.append(matrix)
        assert metas == [{}] * len(batch_ids)
    assert sorted(ids) == sorted(c.chunk_id for c in chunks) and np.vstack(vectors).shape == (6, 384)
    sentence_metas = [m for _, _, metas in store.iter_vectors(sentences=True) for m in metas]
    assert len(sentence_metas) == 12 and {m["chunk_id"] for m in sentence_metas} == set(ids)
    records = store.sentence_records(["tace-0", "consent-0"])
    text = chunks[0].text
    assert [(a, b) for a, b, _ in records["tace-0"]] == [(0, len(text) // 2), (len(text) // 2, len(text))]
    stored = store.chunk_vectors(["tace-0"])["tace-0"]
    assert float(stored @ embedder.embed_documents([text])[0]) > 0.999


def test_nearest_passages_and_document_filters(filled, embedder):
    store, _ = filled
    q = embedder.embed_query("what safety margin should ablation achieve")
    top = store.query_ids(q, 3)
    assert top[0][0] == "ablation-0" and top[0][1] > top[1][1]
    assert all(cid.startswith("consent") for cid, _, _ in store.query_ids(q, 3, doc_ids=["consent"]))
    assert {cid.split("-")[0] for cid, _, _ in store.query_ids(q, 10, doc_ids=["consent", "tace"])} == \
        {"consent", "tace"}
    assert store.query_ids(q, 3, doc_ids=[]) == []
    best_sentence = store.query_ids(q, 1, sentences=True)[0]
    assert best_sentence[2]["chunk_id"] == "ablation-0" and best_sentence[2]["start"] == 0


def test_deleting_a_document_and_re_ingesting_it(filled, embedder):
    store, chunks = filled
    assert store.delete_document("tace") == 3
    assert store.count() == 3 and store.sentence_count() == 6
    assert "tace" not in {d["doc_id"] for d in store.documents_list()}
    assert store.get_chunks(["tace-0"]) == []
    # the same chunks written twice stay one copy each (ids are content hashes: re-ingest upserts in place)
    again = [c for c in chunks if c.doc_id == "consent"]
    vecs = embedder.embed_documents([c.text for c in again])
    store.upsert(again, vecs, [], np.zeros((0, 384), dtype=np.float32))
    store.upsert(again, vecs, [], np.zeros((0, 384), dtype=np.float32))
    assert store.count() == 3
    store.delete(["consent-0"])
    assert store.count() == 2 and store.sentence_count() == 4


def test_a_dropped_index_is_gone_and_another_model_is_refused(filled, client):
    store, _ = filled
    with pytest.raises(ModelMismatchError, match="rebuild"):
        ChromaStore(client, "another-embedding-model")
    assert sorted(drop_index(client)) == ["ioguide_chunks", "ioguide_documents", "ioguide_sentences"]
    assert drop_index(client) == []
    with pytest.raises(NoIndexError, match="No index"):
        ChromaStore(client, store.model_id)
