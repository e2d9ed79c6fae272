"""The packaged model's fast path (transformers directly) gives sentence-transformers' vectors."""

from __future__ import annotations

import numpy as np


def test_fast_path_matches_sentence_transformers(embedder):
    from sentence_transformers import SentenceTransformer

    from ioguide.embedders import _MeanPooledTransformer

    assert isinstance(embedder.model, _MeanPooledTransformer)
    texts = ["hello world", "  The ablation margin should be at least 5 mm.  ", "word " * 400,
             "Ünïcödé TACE → 30 patients", "a", "INR ≤ 1.5 before high bleeding risk procedures."]
    ours = embedder.embed_documents(texts)
    reference = SentenceTransformer(embedder.model_path, device="cpu").encode(texts, normalize_embeddings=True)
    assert ours.shape == (len(texts), 384) and ours.dtype == np.float32
    assert float(np.abs(ours - reference).max()) < 1e-5
    assert embedder.max_tokens == 256
    assert embedder.count_tokens("hello world") == 4  # [CLS] hello world [SEP]


def test_other_pipelines_load_through_sentence_transformers(tmp_path):
    import json

    from ioguide.embedders import _mean_pooling_config

    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]))
    assert _mean_pooling_config(str(tmp_path)) is None  # no Normalize: not the fast path
    assert _mean_pooling_config(str(tmp_path / "missing")) is None


def test_concurrent_queries_are_batched_and_each_gets_its_own_vector(embedder):
    import threading

    from ioguide.embedders import QueryBatcher

    texts = [f"question number {i} about ablation margins" for i in range(24)]
    expected = embedder.embed_documents(texts)
    sizes: list[int] = []

    def encode(batch):
        sizes.append(len(batch))
        return embedder.embed_documents(batch)

    batcher = QueryBatcher(encode, max_batch=8)
    results: dict[int, np.ndarray] = {}
    start = threading.Barrier(len(texts))

    def ask(i):
        start.wait()
        results[i] = batcher.submit(texts[i])

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == list(range(len(texts)))
    for i, vec in results.items():
        assert float(np.abs(vec - expected[i]).max()) < 1e-5
    assert sum(sizes) == len(texts) and max(sizes) <= 8 and len(sizes) < len(texts)  # some shared a pass


def test_an_embedding_failure_reaches_every_waiting_caller():
    import threading

    import pytest

    from ioguide.embedders import QueryBatcher

    def broken(batch):
        raise RuntimeError("model crashed")

    batcher = QueryBatcher(broken)
    errors: list[str] = []

    def ask():
        with pytest.raises(RuntimeError) as info:
            batcher.submit("x")
        errors.append(str(info.value))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == ["model crashed"] * 6
