"""Load test: concurrent askers in a closed loop against one shared Assistant (scripts/load_test.py prints it)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import IOGuideError
from ..stats import percentile


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
    from ..service import AskOptions

    options = AskOptions(k=k)
    assistant.ask(questions[0], options=options)  # warm: model weights, BM25, caches (as the app does at start)
    return run_load(lambda q: assistant.ask(q, options=options), questions, askers, seconds, max_requests, think_s,
                    distinct=distinct)


def load_questions(path: Path) -> list[str]:
    """Questions from a question set (.jsonl / .csv, as `ioguide eval` reads) or a text file (one a line)."""
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".csv"):
        from ..evaluate import load_question_set

        questions, _errors = load_question_set(path)
        return [q.question for q in questions]
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
