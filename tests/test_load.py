"""The load harness, small: concurrent askers on one shared Assistant answer without errors (timing is not asserted
here; scripts/load_test.py prints the figures). And `ioguide bench scale` runs end to end on a tiny size."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

from ioguide.bench import load_questions, load_test, run_load
from tests.conftest import ROOT

QUESTIONS = ROOT / "corpus" / "eval" / "questions.jsonl"


def test_four_askers_for_five_seconds_get_answers_and_no_errors(assistant):
    questions = load_questions(QUESTIONS)
    report = load_test(assistant, questions, askers=4, seconds=5)
    assert report.errors == 0, report.error_samples
    assert report.unfinished == 0
    assert report.requests >= 4 and report.grounded > 0
    assert 0 < report.p50_ms <= report.p95_ms <= report.max_ms


def test_failures_are_counted_and_the_run_is_bounded():
    calls = []
    lock = threading.Lock()

    def ask(question: str):
        with lock:
            calls.append(question)
        if question == "bad":
            raise RuntimeError("store down")
        time.sleep(0.01)
        return None

    report = run_load(ask, ["good", "bad"], askers=3, seconds=30, max_requests=40)
    assert len(calls) == 40  # stopped by count long before the 30 s
    assert report.errors == 20 and report.requests == 20
    assert report.error_samples == ["RuntimeError: store down"]
    assert report.seconds < 10
    with pytest.raises(Exception, match="at least one question"):
        run_load(ask, [], askers=1, seconds=1)


def test_load_script_prints_a_report(corpus_index):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "load_test.py"), "--index", str(corpus_index),
                           "--askers", "2", "--seconds", "2", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["errors"] == 0 and report["requests"] > 0 and report["chunks"] > 100
    assert {"throughput_rps", "p50_ms", "p95_ms"} <= set(report)


@pytest.mark.server
def test_bench_scale_runs_against_its_own_server(tmp_path):
    from ioguide.cli import app

    done = CliRunner().invoke(app, ["bench", "scale", "--chunks", "1000", "--repeats", "3", "--workdir",
                                    str(tmp_path), "--json"])
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["store_chunks"] == 1000 and result["ingest"]["chunks_per_s"] > 0
    assert result["server_after_ingest"]["rss_mb"] > 10
    assert result["retriever_k5"]["p50_ms"] > 0
    assert not (tmp_path / "chroma-1000").exists()  # the server's data is removed afterwards
