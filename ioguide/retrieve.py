"""Hybrid retrieval: BM25 (bm25s, stemmed) + dense chunk vectors + sentence-level max-sim, fused by weighted
z-scores; metadata filters; near-duplicate collapse; neighbour expansion; a relevance score for abstention."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .bm25 import BM25Index, rebuild_bm25
from .config import W_BM25, W_DENSE, W_SENTENCE
from .sentence_rank import asks_for_references
from .store import Store
from .text import citation_label, content_terms
from .types import Chunk, Hit
from .vectors import DEFAULT_MAX_VECTORS, VectorIndex, rebuild_vectors, vectors_dir_for

CALIBRATION_FILE = Path(__file__).parent / "data" / "calibration.json"

# Tuning numbers of the ranking (figures in the README).
TYPO_RATIO = 0.8  # difflib ratio at which a word missing from the index is read as a typo of an indexed stem
DUPLICATE_SHARE = 0.8  # share of 4-word shingles at which a passage repeats one already kept (same edition)
RELEVANCE_WEIGHTS = {"sentence": 0.5, "dense": 0.2, "coverage": 0.3}  # relevance = weighted best-of-top-3 hits
RELEVANCE_HITS = 3  # hits whose relevance is considered
EDGE_CHARS = 3  # a best sentence this close to a chunk's edge brings the neighbouring chunk
EXPAND_RANKS = 3  # only the top hits are expanded with neighbours


@dataclass(frozen=True)
class Filters:
    """Empty tuples mean no restriction. collections: "guidelines" and/or "centre"."""

    doc_ids: tuple[str, ...] = ()
    issuers: tuple[str, ...] = ()
    editions: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    collections: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()

    def active(self) -> bool:
        return any((self.doc_ids, self.issuers, self.editions, self.topics, self.collections, self.kinds))

    def admits(self, doc: dict) -> bool:
        if self.doc_ids and doc["doc_id"] not in self.doc_ids:
            return False
        if self.issuers and doc.get("issuer", "") not in self.issuers:
            return False
        if self.editions and str(doc.get("edition", "")) not in self.editions:
            return False
        if self.topics and not set(self.topics) & set(doc.get("topics", [])):
            return False
        if self.collections and doc.get("collection", "guidelines") not in self.collections:
            return False
        return not (self.kinds and doc.get("kind", "") not in self.kinds)


@dataclass
class Weights:
    bm25: float = W_BM25
    dense: float = W_DENSE
    sentence: float = W_SENTENCE


@dataclass
class Candidates:
    ids: list[str]
    bm25: np.ndarray
    dense: np.ndarray
    sentence: np.ndarray
    bm25_top: dict[str, float]
    dense_top: set[str]
    sentence_top: dict[str, float]
    best_sentence: dict[str, tuple[int, int]]  # (start, end) of each candidate's best sentence, where known
    span_of: Callable[[str], tuple[int, int] | None] | None = None  # computed on demand (exact path)

    def best_span(self, cid: str) -> tuple[int, int] | None:
        if cid in self.best_sentence:
            return self.best_sentence[cid]
        return self.span_of(cid) if self.span_of is not None else None


@dataclass
class Retrieval:
    query: str
    hits: list[Hit]
    relevance: float
    covered: bool
    timings_ms: dict[str, float] = field(default_factory=dict)
    search: str = ""  # the query as searched: abbreviations expanded, typos matched to indexed words


# Short forms clinicians type, expanded in the query so BM25 and the embedding see the words documents use.
ABBREVIATIONS = {
    "procs": "procedures", "proc": "procedure", "yr": "year", "yrs": "years", "pa": "per year", "req": "requirement",
    "reqs": "requirements", "min": "minimum", "max": "maximum", "pts": "patients", "pt": "patient",
    "mets": "metastases", "rfa": "radiofrequency ablation", "mwa": "microwave ablation",
    "hcc": "hepatocellular carcinoma",
    "tace": "transarterial chemoembolisation", "tare": "transarterial radioembolisation",
    "sirt": "selective internal radiation therapy radioembolisation", "pve": "portal vein embolisation",
    "ir": "interventional radiology", "io": "interventional oncology", "mdt": "multidisciplinary team tumour board",
    "mdtb": "multidisciplinary tumour board", "sop": "standards of practice", "sops": "standards of practice",
    "coe": "centre of excellence", "icr": "internal case review", "qa": "quality assurance",
    "anticoag": "anticoagulation", "inr": "international normalised ratio INR", "ct": "computed tomography CT",
    "mri": "magnetic resonance imaging MRI", "y90": "yttrium-90", "lsf": "lung shunt fraction",
    "rcc": "renal cell carcinoma", "crc": "colorectal cancer", "vp": "vertebroplasty", "ka": "kyphoplasty",
    "pnb": "percutaneous needle biopsy", "ga": "general anaesthesia", "asa": "ASA physical status",
}


def expand_query(query: str, vocabulary: BM25Index | None = None) -> str:
    """The query plus the long forms of known abbreviations and the likely intended word for typos (a word that
    no chunk contains but that is close to one that does)."""
    import re

    extra = [alt for alt in (word_alternative(w, vocabulary) for w in re.findall(r"[A-Za-z][A-Za-z0-9-]*", query))
             if alt]
    return f"{query} ({' '.join(dict.fromkeys(extra))})" if extra else query


def word_alternative(word: str, vocabulary: BM25Index | None) -> str:
    """What a typed word stands for in the documents' words: an abbreviation's long form ("mets" -> "metastases"),
    the indexed stem a typo most likely meant ("complicaton" -> "complic"), or "" when the word needs none."""
    lower = word.lower()
    if lower in ABBREVIATIONS:
        return ABBREVIATIONS[lower]
    if vocabulary is not None and len(lower) >= 5:
        return _typo_match(vocabulary, lower)
    return ""


def _typo_match(vocabulary: BM25Index, word: str) -> str:
    """The indexed stem a word not in the index most likely meant ("" if none, or if the word is indexed).
    Cached per index fingerprint: difflib over a vocabulary bucket costs milliseconds."""
    import difflib

    cache = vocabulary.__dict__.setdefault("_typo_cache", {})
    if word in cache:
        return cache[word]
    close = ""
    if not vocabulary.contains(word):
        stem = (vocabulary.tokenize([word])[0] or [word])[0]
        found = difflib.get_close_matches(stem, vocabulary.words(stem[:2]), n=1, cutoff=TYPO_RATIO)
        close = found[0] if found else ""
    if len(cache) > 50000:
        cache.clear()
    cache[word] = close
    return close


def load_threshold(default: float = 0.45) -> float:
    try:
        return float(json.loads(CALIBRATION_FILE.read_text())["threshold"])
    except (OSError, ValueError, KeyError):
        return default


def _z(values: np.ndarray) -> np.ndarray:
    if values.size == 0:
        return values
    std = float(values.std())
    return (values - float(values.mean())) / std if std > 1e-9 else np.zeros_like(values)


def _shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


class Retriever:
    """Query path over one store. Thread-safe; cheap to call repeatedly (the query embedding is cached)."""

    def __init__(self, store: Store, embedder, bm25_dir: Path, weights: Weights | None = None,
                 candidates: int = 100, threshold: float | None = None, check_interval_s: float = 2.0,
                 exact_max_vectors: int = DEFAULT_MAX_VECTORS):
        self.store = store
        self.embedder = embedder
        self.bm25_dir = Path(bm25_dir)
        self.weights = weights or Weights()
        self.candidates = candidates
        self.threshold = load_threshold() if threshold is None or threshold < 0 else threshold
        self.check_interval_s = check_interval_s
        self.expand_queries = True
        self.exact_max_vectors = exact_max_vectors
        self._bm25: BM25Index | None = None
        self._vectors: VectorIndex | None = None
        self._vectors_fp: str | None = None
        self._checked = 0.0
        self._docs: list[dict] | None = None
        self._docs_fp = ""
        self._lock = threading.Lock()

    # ------------------------------------------------------------ keeping BM25 and the manifest current

    def sync(self) -> None:
        """Reload BM25, the document list and the vector cache when the store changed (checked at most every
        check_interval_s seconds)."""
        self._sync()

    def _sync(self) -> None:
        now = time.monotonic()
        if self._bm25 is not None and now - self._checked < self.check_interval_s:
            return
        with self._lock:
            if self._bm25 is not None and now - self._checked < self.check_interval_s:
                return
            fp = self.store.fingerprint()
            if self._bm25 is None or self._bm25.fingerprint != fp or not fp:
                index = BM25Index.load(self.bm25_dir)
                if index is None or index.fingerprint != fp or not fp:
                    index = rebuild_bm25(self.store, self.bm25_dir)
                self._bm25 = index
            if self._docs is None or self._docs_fp != self._bm25.fingerprint:
                self._docs = self.store.documents_list()
                self._docs_fp = self._bm25.fingerprint
            if self._vectors_fp != self._bm25.fingerprint:
                self._vectors = self._load_vectors(self._bm25.fingerprint)
                self._vectors_fp = self._bm25.fingerprint
            self._checked = now

    def _load_vectors(self, fingerprint: str) -> VectorIndex | None:
        """The exact in-memory vectors for this fingerprint, or None: Chroma's HNSW answers dense queries."""
        if self.exact_max_vectors <= 0 or not fingerprint:
            return None
        directory = vectors_dir_for(self.bm25_dir)
        index = VectorIndex.load(directory)
        if index is not None and index.fingerprint == fingerprint and index.size <= self.exact_max_vectors:
            return index
        return rebuild_vectors(self.store, directory, fingerprint, self.exact_max_vectors)

    @property
    def exact(self) -> bool:
        """Whether dense search runs exactly in memory (else through Chroma's HNSW)."""
        self._sync()
        return self._vectors is not None

    def sentence_records(self, chunk_ids: list[str]) -> dict[str, list[tuple[int, int, np.ndarray]]]:
        """Each chunk's sentences as (start, end, vector), from memory when the exact cache is loaded."""
        self._sync()
        vectors = self._vectors
        if vectors is not None:
            found = vectors.sentence_records(chunk_ids)
            if len(found) == len(set(chunk_ids)):
                return found
        return self.store.sentence_records(chunk_ids)

    @property
    def vocabulary(self) -> BM25Index:
        """The BM25 index of the current store: its stems (contains, words, has_stem) and its tokenizer."""
        self._sync()
        assert self._bm25 is not None
        return self._bm25

    def stem(self, text: str) -> list[str]:
        """text as BM25 tokenizes it: lower-cased stems without stopwords."""
        return self.vocabulary.tokenize([text])[0]

    def embed_query(self, text: str) -> np.ndarray:
        return self.embedder.embed_query(text)

    def word_pieces(self, word: str) -> int:
        """How many word pieces the embedding model cuts word into ("needed": 1, "pembrolizumab": 5)."""
        return self.embedder.count_tokens(word) - 2  # less the [CLS] and [SEP] tokens

    def documents(self) -> list[dict]:
        self._sync()
        return list(self._docs or [])

    def allowed_doc_ids(self, filters: Filters | None) -> list[str] | None:
        if filters is None or not filters.active():
            return None
        return [d["doc_id"] for d in self.documents() if filters.admits(d)]

    # ------------------------------------------------------------ the query path

    def retrieve(self, query: str, k: int = 5, filters: Filters | None = None, expand: bool = True) -> Retrieval:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        self._sync()
        bm25 = self._bm25
        assert bm25 is not None
        allowed = self.allowed_doc_ids(filters)
        if allowed is not None and not allowed:
            return Retrieval(query, [], 0.0, False, {"total": 0.0})
        t = time.perf_counter()
        search = expand_query(query, bm25) if self.expand_queries else query
        qvec = self.embedder.embed_query(search)
        timings["embed"] = (time.perf_counter() - t) * 1000
        n = self.candidates

        cand = self.candidates_for(search, qvec, allowed, n, timings)
        if cand is None:
            return Retrieval(query, [], 0.0, False, {**timings, "total": (time.perf_counter() - t0) * 1000})
        t = time.perf_counter()
        cands, bm_arr, de_arr, se_arr = cand.ids, cand.bm25, cand.dense, cand.sentence
        fused = self.fuse(bm_arr, de_arr, se_arr)
        order = np.argsort(-fused)
        bm_top, dense, sentence = cand.bm25_top, cand.dense_top, cand.sentence_top
        timings["fuse"] = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        want = [cands[i] for i in order[: max(k * 3, k + 5)]]
        chunks = {c.chunk_id: c for c in self.store.get_chunks(want)}
        hits: list[Hit] = []
        kept_shingles: list[tuple[set, str]] = []
        for i in order[: max(k * 3, k + 5)]:
            cid = cands[i]
            chunk = chunks.get(cid)
            if chunk is None:
                continue
            sh = _shingles(chunk.text)
            if any(len(sh & other) / max(1, min(len(sh), len(other))) > DUPLICATE_SHARE and ed == chunk.edition
                   for other, ed in kept_shingles):
                continue  # the same passage again (same edition): show it once
            kept_shingles.append((sh, chunk.edition))
            found_by = tuple(name for name, present in (("bm25", cid in bm_top), ("dense", cid in dense),
                                                        ("sentence", cid in sentence)) if present)
            feats = {"bm25": float(bm_arr[i]), "dense": float(de_arr[i]), "sentence": float(se_arr[i]),
                     "fused": float(fused[i])}
            span = cand.best_span(cid)
            if span is not None:
                feats["best_start"], feats["best_end"] = span
            hits.append(Hit(chunk=chunk, score=float(fused[i]), found_by=found_by, features=feats))
            if len(hits) >= k:
                break
        if not asks_for_references(query):
            # Reference lists and other back matter come after body text (a stable sort keeps the fused order).
            hits.sort(key=lambda h: h.chunk.role != "body")
        relevance = self.relevance(search, hits, bm25)
        if expand:
            hits = self._expand(hits)
        timings["fetch"] = (time.perf_counter() - t) * 1000
        timings["total"] = (time.perf_counter() - t0) * 1000
        return Retrieval(query, hits, relevance, relevance >= self.threshold, timings, search=search)

    def fuse(self, bm: np.ndarray, dense: np.ndarray, sentence: np.ndarray,
             weights: Weights | None = None) -> np.ndarray:
        """Weighted sum of per-query z-scores: scale-free, so BM25's unbounded scores and cosines mix."""
        w = weights or self.weights
        return w.bm25 * _z(bm) + w.dense * _z(dense) + w.sentence * _z(sentence)

    def candidates_for(self, query: str, qvec: np.ndarray, allowed: list[str] | None, n: int,
                       timings: dict[str, float] | None = None) -> Candidates | None:
        """The union of BM25's, dense chunks' and dense sentences' top results, with all three scores each."""
        timings = timings if timings is not None else {}
        bm25 = self._bm25
        t = time.perf_counter()
        mask = None
        if allowed is not None:
            allowed_set = set(allowed)
            docs_of = self._doc_of_ids()
            mask = np.array([1.0 if docs_of.get(cid) in allowed_set else 0.0 for cid in bm25.ids], dtype=np.float32)
        bm_scores = bm25.scores(query, mask)
        top_bm = np.argpartition(-bm_scores, min(n, bm_scores.size - 1))[:n] if bm_scores.size else []
        bm_top = {bm25.ids[i]: float(bm_scores[i]) for i in top_bm if bm_scores[i] > 0}
        timings["bm25"] = (time.perf_counter() - t) * 1000
        if self._vectors is not None:
            return self._exact_candidates(self._vectors, bm_scores, bm_top, qvec, allowed, n, timings)

        t = time.perf_counter()
        dense = {cid: sim for cid, sim, _ in self.store.query_ids(qvec, n, allowed)}
        dense_top = set(dense)
        sent_rows = self.store.query_ids(qvec, 3 * n, allowed, sentences=True)
        sentence: dict[str, float] = {}
        best_sentence: dict[str, tuple[int, int]] = {}
        for _sid, sim, meta in sent_rows:
            cid = meta["chunk_id"]
            if sim > sentence.get(cid, -1.0):
                sentence[cid] = sim
                best_sentence[cid] = (int(meta["start"]), int(meta["end"]))
        timings["dense"] = (time.perf_counter() - t) * 1000
        cands = list(dict.fromkeys(list(bm_top) + list(dense) + list(sentence)))
        if not cands:
            return None
        missing_dense = [c for c in cands if c not in dense]
        if missing_dense:
            for cid, vec in self.store.chunk_vectors(missing_dense).items():
                dense[cid] = float(np.dot(vec, qvec))
        d_floor = min(dense.values()) if dense else 0.0
        s_floor = min(sentence.values()) if sentence else 0.0
        return Candidates(
            ids=cands,
            bm25=np.array([float(bm_scores[bm25.position[c]]) if c in bm25.position else 0.0 for c in cands]),
            dense=np.array([dense.get(c, d_floor) for c in cands]),
            sentence=np.array([sentence.get(c, s_floor) for c in cands]),
            bm25_top=bm_top, dense_top=dense_top, sentence_top=sentence, best_sentence=best_sentence)

    def _exact_candidates(self, vectors: VectorIndex, bm_scores: np.ndarray, bm_top: dict[str, float],
                          qvec: np.ndarray, allowed: list[str] | None, n: int,
                          timings: dict[str, float]) -> Candidates | None:
        """Candidates from exact in-memory search: top n chunks by whole-chunk cosine and top n by best sentence,
        plus BM25's; every candidate then gets its exact dense and sentence scores (no floor values)."""
        bm25 = self._bm25
        t = time.perf_counter()
        chunk_sims = vectors.chunk_sims(qvec)
        sent_sims = vectors.sentence_sims(qvec)
        best = vectors.best_per_chunk(sent_sims)
        ranked_dense, ranked_best = chunk_sims, best
        if allowed is not None:
            keep = self._row_mask(vectors, allowed)
            ranked_dense = np.where(keep, chunk_sims, -3.0)
            ranked_best = np.where(keep, best, -3.0)
        ids = vectors.chunk_ids

        def top(values: np.ndarray) -> list[int]:
            if values.size == 0:
                return []
            m = min(n, values.size)
            rows = np.argpartition(-values, m - 1)[:m]
            return [int(r) for r in rows if values[r] > -2.0]

        dense_rows = top(ranked_dense)
        sentence_rows = [r for r in top(ranked_best) if best[r] > -1.0]
        timings["dense"] = (time.perf_counter() - t) * 1000
        dense_top = {ids[r] for r in dense_rows}
        sentence_top = {ids[r]: float(best[r]) for r in sentence_rows}
        cands = list(dict.fromkeys(list(bm_top) + [ids[r] for r in dense_rows] + list(sentence_top)))
        cands = [c for c in cands if c in vectors.row]
        if not cands:
            return None
        rows = np.array([vectors.row[c] for c in cands])
        cand_best = best[rows]
        present = cand_best > -1.0
        floor = float(cand_best[present].min()) if present.any() else 0.0
        return Candidates(
            ids=cands,
            bm25=np.array([float(bm_scores[bm25.position[c]]) if c in bm25.position else 0.0 for c in cands]),
            dense=chunk_sims[rows].astype(np.float64),
            sentence=np.where(present, cand_best, floor).astype(np.float64),
            bm25_top=bm_top, dense_top=dense_top, sentence_top=sentence_top, best_sentence={},
            span_of=lambda cid: vectors.best_sentence(vectors.row[cid], sent_sims) if cid in vectors.row else None)

    def _row_mask(self, vectors: VectorIndex, allowed: list[str]) -> np.ndarray:
        """Which rows of the vector cache belong to an allowed document (cached per filter and fingerprint)."""
        key = (vectors.fingerprint, frozenset(allowed))
        cache = self.__dict__.setdefault("_mask_cache", {})
        mask = cache.get(key)
        if mask is None:
            docs_of = self._doc_of_ids()
            allowed_set = set(allowed)
            mask = np.fromiter((docs_of.get(cid) in allowed_set for cid in vectors.chunk_ids), dtype=bool,
                               count=len(vectors.chunk_ids))
            if len(cache) > 64:
                cache.clear()
            cache[key] = mask
        return mask

    def _doc_of_ids(self) -> dict[str, str]:
        # chunk id -> doc id, built once per BM25 fingerprint
        cache = getattr(self, "_doc_of_cache", None)
        if cache is None or cache[0] != self._bm25.fingerprint:
            mapping = {c.chunk_id: c.doc_id for c in self.store.iter_chunks()}
            cache = (self._bm25.fingerprint, mapping)
            self._doc_of_cache = cache
        return cache[1]

    def relevance(self, query: str, hits: list[Hit], bm25: BM25Index) -> float:
        """How well the best passages match the question, on an absolute scale (not relative to other hits):
        the best sentence's cosine similarity, raised by the share of the question's terms the passage holds."""
        if not hits:
            return 0.0
        terms = [t for t in dict.fromkeys(content_terms(query)) if len(t) > 1]
        # Words no chunk contains (typos; names the answerer checks separately) do not count here.
        q_stems = [s for s in bm25.tokenize([" ".join(terms)])[0] if bm25.has_stem(s)] if terms else []
        best = 0.0
        w = RELEVANCE_WEIGHTS
        for hit in hits[:RELEVANCE_HITS]:
            sent = hit.features.get("sentence", 0.0)
            dense = hit.features.get("dense", 0.0)
            coverage = 0.0
            if q_stems:
                stems = self._stems_of(hit.chunk, bm25)
                coverage = sum(1 for s in q_stems if s in stems) / len(q_stems)
            score = w["sentence"] * sent + w["dense"] * dense + w["coverage"] * coverage
            best = max(best, score)
        return round(float(best), 4)

    def _stems_of(self, chunk: Chunk, bm25: BM25Index) -> set[str]:
        """A chunk's stems, cached: chunk ids are content hashes, so an entry never goes stale."""
        cache = self.__dict__.setdefault("_stem_cache", {})
        stems = cache.get(chunk.chunk_id)
        if stems is None:
            stems = set(bm25.tokenize([chunk.title + " " + chunk.section + " " + chunk.text])[0])
            if len(cache) > 20000:
                cache.clear()
            cache[chunk.chunk_id] = stems
        return stems

    def _expand(self, hits: list[Hit]) -> list[Hit]:
        """When the best-matching sentence sits at a chunk's edge, the answer may straddle the boundary: add the
        neighbouring chunk of the same section right after the hit."""
        out: list[Hit] = []
        present = {h.chunk.chunk_id for h in hits}
        for rank, hit in enumerate(hits):
            out.append(hit)
            if rank >= EXPAND_RANKS or "best_start" not in hit.features:
                continue
            start, end = int(hit.features["best_start"]), int(hit.features["best_end"])
            text = hit.chunk.text
            at_end = len(text) - end < EDGE_CHARS
            at_start = start < EDGE_CHARS
            if not (at_end or at_start):
                continue
            for nb in self.store.neighbours(hit.chunk):
                if nb.chunk_id in present or nb.section != hit.chunk.section:
                    continue
                after = at_end and nb.ordinal == hit.chunk.ordinal + 1
                if after or (at_start and nb.ordinal == hit.chunk.ordinal - 1):
                    present.add(nb.chunk_id)
                    out.append(Hit(chunk=nb, score=hit.score - 1e-3, found_by=("neighbour",),
                                   features={"neighbour_of": float(rank)}))
        return out


def doc_label(chunk: Chunk) -> str:
    """The chunk's document as ioguide.text.citation_label names it."""
    return citation_label(chunk.title, chunk.edition)
