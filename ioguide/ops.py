"""Operations: a `chroma run` server we start and stop, process memory, the load test, the scale benchmark, and the
audit trail's export and retention.

Nothing here imports Streamlit; the CLI (`ioguide bench scale`, `ioguide audit ...`) lives in cli_ops.py and the
load script in scripts/load_test.py.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from .errors import IOGuideError, StoreUnavailableError

# ---------------------------------------------------------------- processes: a chroma server, memory


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def chroma_executable() -> str:
    """The `chroma` command of this environment (beside the interpreter), else the one on PATH."""
    beside = Path(sys.executable).parent / "chroma"
    if beside.exists():
        return str(beside)
    found = shutil.which("chroma")
    if not found:
        raise StoreUnavailableError("The `chroma` command is not installed in this environment (pip install chromadb).")
    return found


@dataclass
class ChromaServer:
    """A `chroma run` server on host:port with its data under path. start() and stop() may be called repeatedly:
    a restart keeps the same URL and data, as an operator restarting the service would."""

    path: Path
    port: int = 0
    host: str = "127.0.0.1"
    proc: subprocess.Popen | None = None
    log: Path | None = None

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.port = self.port or free_port(self.host)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 60.0) -> ChromaServer:
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.path.mkdir(parents=True, exist_ok=True)
        self.log = self.path.parent / f"{self.path.name}.chroma.log"
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [chroma_executable(), "run", "--path", str(self.path), "--host", self.host, "--port", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StoreUnavailableError(f"`chroma run` exited with code {self.proc.returncode}; see {self.log}.")
            if self.alive():
                return self
            time.sleep(0.2)
        self.stop()
        raise StoreUnavailableError(f"`chroma run` did not answer on {self.url} within {timeout_s:.0f} s.")

    def alive(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1):
                return True
        except OSError:
            return False

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout_s)
        self.proc = None

    def memory(self) -> dict[str, float]:
        """The server's resident memory now and at its peak, in MB (0 when it is not running)."""
        return process_memory_mb(self.proc.pid) if self.proc is not None and self.proc.poll() is None else \
            {"rss_mb": 0.0, "peak_rss_mb": 0.0}

    def __enter__(self) -> ChromaServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name in parentheses may hold spaces: the parent pid is the 2nd field after the last ')'
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry.name))
    return out


def _proc_tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p not in out:
            out.append(p)
            todo += _children(p)
    return out


def process_memory_mb(pid: int) -> dict[str, float]:
    """Resident memory of pid and its children now (psutil when installed, else VmRSS of /proc/PID/status) and
    at its peak (VmHWM, Linux only; else the current figure), in MB."""
    rss = peak = 0.0
    for p in _proc_tree(pid) if Path("/proc").is_dir() else [pid]:
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        rss += int(fields.get("VmRSS", "0 kB").split()[0]) / 1024
        peak += int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
    try:
        import psutil

        procs = [psutil.Process(pid)]
        procs += procs[0].children(recursive=True)
        rss = sum(p.memory_info().rss for p in procs) / 2**20
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - psutil.NoSuchProcess and friends: keep the /proc figures
        pass
    return {"rss_mb": round(rss, 1), "peak_rss_mb": round(max(rss, peak), 1)}


# ---------------------------------------------------------------- load test


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation; 0.0 for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else 0.0


@dataclass
class LoadReport:
    askers: int
    seconds: float
    requests: int = 0
    errors: int = 0
    grounded: int = 0
    throughput_rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    max_ms: float = 0.0
    unfinished: int = 0  # askers still busy when the grace period ended
    error_samples: list[str] = field(default_factory=list)

    def summary(self) -> str:
        line = (f"{self.askers} askers x {self.seconds:.0f} s: {self.requests} answers, {self.errors} errors, "
                f"{self.throughput_rps:.2f} answers/s, p50 {self.p50_ms:.0f} ms, p95 {self.p95_ms:.0f} ms, "
                f"max {self.max_ms:.0f} ms, grounded {self.grounded}")
        if self.unfinished:
            line += f", {self.unfinished} asker(s) still busy at the end"
        return "\n".join([line] + [f"ERROR {e}" for e in self.error_samples])

    def to_json(self) -> dict:
        return asdict(self)


def run_load(ask: Callable[[str], object], questions: Sequence[str], askers: int = 20, seconds: float = 30.0,
             max_requests: int = 100_000, think_s: float = 0.0, grace_s: float = 60.0,
             distinct: bool = False) -> LoadReport:
    """askers threads call ask(question) in a closed loop (a new question as soon as the previous one is answered,
    after think_s) over questions, until seconds have passed or max_requests were started. Bounded: an asker still
    busy grace_s after the end is reported as unfinished, not waited for. distinct: append the request number to
    each question, so that no answer comes from the query-embedding cache (real users rarely repeat a question)."""
    if not questions:
        raise IOGuideError("The load test needs at least one question.")
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    grounded = 0
    started = 0
    deadline = time.monotonic() + seconds

    def asker() -> None:
        nonlocal grounded, started
        while time.monotonic() < deadline:
            with lock:
                if started >= max_requests:
                    return
                question = questions[started % len(questions)]
                if distinct:
                    question = f"{question} {started}"
                started += 1
            t = time.perf_counter()
            try:
                answer = ask(question)
            except Exception as exc:  # noqa: BLE001 - every failure counts, whatever its type
                with lock:
                    errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")
            else:
                ms = (time.perf_counter() - t) * 1000
                with lock:
                    latencies.append(ms)
                    grounded += bool(getattr(answer, "grounded", False))
            if think_s:
                time.sleep(think_s)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=asker, name=f"asker-{i}", daemon=True) for i in range(askers)]
    for th in threads:
        th.start()
    end = time.monotonic() + seconds + grace_s
    for th in threads:
        th.join(max(0.0, end - time.monotonic()))
    wall = time.perf_counter() - t0
    with lock:
        report = LoadReport(askers=askers, seconds=round(wall, 1), requests=len(latencies), errors=len(errors),
                            grounded=grounded, throughput_rps=round(len(latencies) / wall, 2) if wall else 0.0,
                            p50_ms=round(percentile(latencies, 50), 1), p95_ms=round(percentile(latencies, 95), 1),
                            max_ms=round(max(latencies, default=0.0), 1),
                            unfinished=sum(th.is_alive() for th in threads),
                            error_samples=list(dict.fromkeys(errors))[:5])
    return report


def load_test(assistant, questions: Sequence[str], askers: int = 20, seconds: float = 30.0, k: int = 5,
              max_requests: int = 100_000, think_s: float = 0.0, distinct: bool = False) -> LoadReport:
    """run_load over one shared Assistant (as the app holds it in st.cache_resource), extractive answers."""
    from .service import AskOptions

    options = AskOptions(k=k)
    assistant.ask(questions[0], options=options)  # warm: model weights, BM25, caches (as the app does at start)
    return run_load(lambda q: assistant.ask(q, options=options), questions, askers, seconds, max_requests, think_s,
                    distinct=distinct)


def load_questions(path: Path) -> list[str]:
    """Questions from a question set (.jsonl / .csv, as `ioguide eval` reads) or a text file (one a line)."""
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".csv"):
        from .evaluate import load_question_set

        questions, _errors = load_question_set(path)
        return [q.question for q in questions]
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------- scale benchmark

BENCH_DATABASE = "ioguide_bench"


def _bench_client(url: str, own_server: bool) -> tuple[object, Callable[[], None]]:
    """A client for the benchmark, and what to call when done. On a server we did not start, write into a database
    of its own (ioguide_bench, dropped afterwards), never into the collections the assistant uses."""
    from .store import open_client

    if own_server:
        return open_client(chroma_url=url), lambda: None
    from urllib.parse import urlparse

    import chromadb
    from chromadb.config import Settings as ChromaSettings

    u = urlparse(url)
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    port = u.port or (443 if u.scheme == "https" else 80)
    admin = chromadb.AdminClient(ChromaSettings(chroma_api_impl="chromadb.api.fastapi.FastAPI",
                                                chroma_server_host=u.hostname, chroma_server_http_port=port,
                                                chroma_server_ssl_enabled=u.scheme == "https",
                                                anonymized_telemetry=False))
    try:
        admin.get_database(BENCH_DATABASE)
    except Exception:  # noqa: BLE001 - NotFoundError: create it
        admin.create_database(BENCH_DATABASE)
    client = chromadb.HttpClient(host=u.hostname, port=port, ssl=u.scheme == "https", settings=settings,
                                 database=BENCH_DATABASE)
    from .store import CHUNKS, DOCUMENTS, SENTENCES

    existing = {c.name if hasattr(c, "name") else c for c in client.list_collections()}
    for name in (CHUNKS, SENTENCES, DOCUMENTS):
        if name in existing:
            client.delete_collection(name)
    return client, lambda: admin.delete_database(BENCH_DATABASE)


def bench_scale(n: int, workdir: Path, chroma_url: str = "", batch: int = 1000, sentences_per_chunk: int = 3,
                repeats: int = 100, seed: int = 7, keep: bool = False,
                progress: Callable[[str], None] = print) -> dict:
    """Ingest rate, dense and full-retriever query latency, and server memory at n synthetic chunks.

    Vectors are random 384-d unit vectors and texts short random words (3 sentences of 12 words, each sentence
    with its own vector, as ingest writes them): this sizes the store and the query path, not answer quality.
    Written through ChromaStore.upsert in batches of `batch` chunks, into a fresh `chroma run` server on 127.0.0.1
    (or chroma_url, in a database of its own)."""
    from .bench import DEFAULT_QUERIES, latencies, synthetic_batch, synthetic_vocab
    from .bm25 import rebuild_bm25
    from .embedders import get_embedder
    from .index import quiet_libraries
    from .retrieve import Retriever
    from .store import ChromaStore
    from .types import DocumentInfo

    quiet_libraries()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    server = None
    cleanup: Callable[[], None] = lambda: None  # noqa: E731
    url = chroma_url
    if not chroma_url:
        data = workdir / f"chroma-{n}"
        shutil.rmtree(data, ignore_errors=True)
        server = ChromaServer(data).start()
        url = server.url
        progress(f"Started `chroma run` on {url} (data in {data}).")
    try:
        embedder = get_embedder()
        client, cleanup = _bench_client(url, server is not None)
        store = ChromaStore(client, embedder.model_id, create=True)
        rng = np.random.default_rng(seed)
        vocab = synthetic_vocab(rng)
        result: dict = {"chunks": n, "sentences_per_chunk": sentences_per_chunk, "batch": batch,
                        "server": "own chroma run" if server else url, "milestones": []}
        write_s = 0.0
        t_all = time.perf_counter()
        step = max(batch, (n // 10) // batch * batch)
        for start in range(0, n, batch):
            chunks, vecs, sents, svecs = synthetic_batch(rng, vocab, start, min(n, start + batch),
                                                         sentences_per_chunk)
            t = time.perf_counter()
            store.upsert(chunks, vecs, sents, svecs)
            write_s += time.perf_counter() - t
            done = min(n, start + batch)
            if done % step == 0 or done == n:
                mem = server.memory() if server else {}
                last = result["milestones"][-1] if result["milestones"] else {"chunks": 0, "write_s": 0.0}
                # the rate of this stretch alone: HNSW inserts get slower as the collection grows
                recent = (done - last["chunks"]) / max(1e-9, write_s - last["write_s"])
                result["milestones"].append({"chunks": done, "write_s": round(write_s, 1),
                                             "chunks_per_s_recent": round(recent, 1), **mem})
                progress(f"  {done}/{n} chunks, {done / write_s:.0f} chunks/s overall, {recent:.0f} recently "
                         f"({done * (1 + sentences_per_chunk) / write_s:.0f} vectors/s overall)"
                         + (f", server RSS {mem['rss_mb']:.0f} MB" if mem else ""))
        docs = sorted({f"scale-doc-{i // 10}" for i in range(n)})
        t = time.perf_counter()
        for d in docs[:1000]:  # the manifest is read whole by the retriever: a realistic size, not n/10 entries
            store.put_document(DocumentInfo(doc_id=d, title=d, source=f"synthetic:{d}"), 10)
        result["ingest"] = {"write_s": round(write_s, 1), "chunks_per_s": round(n / write_s, 1),
                            "vectors_per_s": round(n * (1 + sentences_per_chunk) / write_s, 1),
                            "wall_s": round(time.perf_counter() - t_all, 1)}
        result["server_after_ingest"] = server.memory() if server else {}

        qvecs = rng.normal(size=(64, 384)).astype(np.float32)
        qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
        store.query_ids(qvecs[0], 100)  # warm: the server loads the HNSW segment
        progress("Dense queries ...")
        result["dense_chunks_k100"] = latencies(lambda i: store.query_ids(qvecs[i % 64], 100), repeats)
        result["dense_sentences_k300"] = latencies(
            lambda i: store.query_ids(qvecs[i % 64], 300, sentences=True), repeats)

        progress("Building BM25 from the store ...")
        t = time.perf_counter()
        bm25_dir = workdir / f"bm25-{n}"
        rebuild_bm25(store, bm25_dir)
        result["bm25_rebuild_s"] = round(time.perf_counter() - t, 1)
        retriever = Retriever(store, embedder, bm25_dir)
        words = [" ".join(rng.choice(vocab, 4)) for _ in range(32)]
        queries = [q for pair in zip(DEFAULT_QUERIES * 4, words, strict=False) for q in pair]
        retriever.retrieve(queries[0])  # warm: model weights, BM25 load
        progress("Full retriever path ...")
        result["retriever_k5"] = latencies(lambda i: retriever.retrieve(f"{queries[i % len(queries)]} {i}", k=5),
                                            repeats)
        result["server_after_queries"] = server.memory() if server else {}
        result["client_peak_rss_mb"] = process_memory_mb(os.getpid())["peak_rss_mb"]
        result["store_chunks"] = store.count()
        return result
    finally:
        if not keep:
            try:
                cleanup()
            except Exception:  # noqa: BLE001 - best effort: the figures matter more than the tidy-up
                pass
        if server is not None:
            server.stop()
            if not keep:
                shutil.rmtree(server.path, ignore_errors=True)


def format_scale(result: dict) -> str:
    ing = result["ingest"]
    lines = [f"{result['chunks']} chunks (+{result['sentences_per_chunk']} sentence vectors each), batches of "
             f"{result['batch']}, {result['server']}",
             f"ingest      {ing['chunks_per_s']:.0f} chunks/s ({ing['vectors_per_s']:.0f} vectors/s), "
             f"{ing['write_s']:.0f} s writing"]
    for name in ("dense_chunks_k100", "dense_sentences_k300", "retriever_k5"):
        r = result[name]
        lines.append(f"{name:20} p50 {r['p50_ms']:7.1f} ms  p95 {r['p95_ms']:7.1f} ms  ({r['queries']} queries)")
    lines.append(f"bm25 rebuild {result['bm25_rebuild_s']} s")
    for name in ("server_after_ingest", "server_after_queries"):
        if result.get(name):
            lines.append(f"{name:20} RSS {result[name]['rss_mb']:.0f} MB (peak {result[name]['peak_rss_mb']:.0f} MB)")
    lines.append(f"client peak RSS {result['client_peak_rss_mb']:.0f} MB")
    return "\n".join(lines)


# ---------------------------------------------------------------- audit trail: export, retention

AUDIT_FIELDS = ["id", "created", "user", "action", "detail"]
# The audit table is append-only: a trigger refuses UPDATE (storage.py), and this one refuses DELETE unless the
# row's id was first listed in audit_purge, which only purge_audit does, inside the transaction that deletes.
AUDIT_GUARD = """
CREATE TABLE IF NOT EXISTS audit_purge (id INTEGER PRIMARY KEY);
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    WHEN NOT EXISTS (SELECT 1 FROM audit_purge WHERE audit_purge.id = OLD.id)
    BEGIN SELECT RAISE(ABORT, 'audit rows are deleted only by `ioguide audit purge` (retention)'); END;
"""


def ensure_audit_guard(db_path: Path) -> None:
    """Create the audit table's DELETE guard (idempotent)."""
    from .storage import LocalDB

    LocalDB(db_path)  # the schema, with the audit table and its UPDATE trigger
    con = sqlite3.connect(db_path, timeout=30)
    try:
        con.executescript(AUDIT_GUARD)
    finally:
        con.close()


def _created_at(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except (TypeError, ValueError):
        return None


def export_audit(db_path: Path, out: Path, since_days: int | None = None) -> int:
    """Write the audit rows (all, or those of the last since_days) to out as CSV; the number of rows written.
    Values are written as stored: the export is evidence, not a report."""
    ensure_audit_guard(db_path)
    con = sqlite3.connect(db_path, timeout=30)
    try:
        rows = con.execute("SELECT id, created, user, action, detail FROM audit ORDER BY id").fetchall()
    finally:
        con.close()
    if since_days is not None:
        cutoff = datetime.now(UTC) - timedelta(days=since_days)
        rows = [r for r in rows if (_created_at(r[1]) or cutoff) >= cutoff]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(AUDIT_FIELDS)
        writer.writerows(rows)
    return len(rows)


@dataclass
class PurgeReport:
    deleted: int
    kept: int
    cutoff: str
    undated: int = 0  # rows whose date cannot be read: kept, never deleted


def purge_audit(db_path: Path, retention_days: int, dry_run: bool = False, user: str = "",
                now: datetime | None = None) -> PurgeReport:
    """Delete the audit rows older than retention_days, in one transaction; the purge itself is audited. The only
    DELETE the audit table accepts."""
    if retention_days < 1:
        raise IOGuideError(f"Audit retention must be at least 1 day (got {retention_days}).")
    ensure_audit_guard(db_path)
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    con = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        old, undated, total = [], 0, 0
        for row_id, created in con.execute("SELECT id, created FROM audit"):
            total += 1
            when = _created_at(created)
            if when is None:
                undated += 1
            elif when < cutoff:
                old.append((row_id,))
        if dry_run:
            con.execute("ROLLBACK")
        else:
            con.executemany("INSERT OR IGNORE INTO audit_purge (id) VALUES (?)", old)
            con.execute("DELETE FROM audit WHERE id IN (SELECT id FROM audit_purge)")
            con.execute("DELETE FROM audit_purge")
            con.execute("INSERT INTO audit (created, user, action, detail) VALUES (?,?,?,?)",
                        (time.strftime("%Y-%m-%dT%H:%M:%S%z"), user, "audit_purge",
                         json.dumps({"deleted": len(old), "retention_days": retention_days,
                                     "cutoff": cutoff.isoformat(timespec="seconds")})))
            con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    return PurgeReport(deleted=len(old), kept=total - len(old), cutoff=cutoff.isoformat(timespec="seconds"),
                       undated=undated)
