"""Benchmark: seconds from launching the app (cold `streamlit run`) to the first answer in a real browser, and the
time of later answers. Prints figures; not a test.

    .venv/bin/python scripts/first_answer.py [--index index] [--runs 3]

Needs an existing index (`make index` or `python -m ingest`), Debian's chromium and the playwright package.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ioguide.servers import CHROMIUM, CHROMIUM_FLAGS, free_port, stop_process, wait_http  # noqa: E402
from ui.components import CHAT_PLACEHOLDER  # noqa: E402

QUESTIONS = ["How many patients are in the IASIOS internal case review?",
             "What are the contraindications to TACE?",
             "What lung shunt fraction limits radioembolisation?",
             "Who won the football world cup in 1998?"]


def one_run(index: Path, launcher: str = "serve") -> dict:
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    env = {**os.environ, "IOGUIDE_INDEX_DIR": str(index), "IOGUIDE_DATA_DIR": tempfile.mkdtemp(prefix="ioguide-fa-")}
    start = ["-m", "ui.serve"] if launcher == "serve" else ["-m", "streamlit", "run", str(ROOT / "app.py")]
    url = f"http://127.0.0.1:{port}"
    with sync_playwright() as p:
        # The clinician's browser is already open: start it before the clock (it shares these 2 cores, though,
        # where in a hospital it runs on another machine).
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto("about:blank")
        launched = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *start, "--server.address", "127.0.0.1", "--server.port", str(port),
                                 "--server.headless", "true", "--browser.gatherUsageStats", "false"], cwd=ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not wait_http(f"{url}/_stcore/health", 90, interval=0.1):
                raise SystemExit("streamlit did not start within 90 s")
            healthy = time.perf_counter() - launched
            page.goto(url)
            box = page.get_by_placeholder(CHAT_PLACEHOLDER)
            expect(box).to_be_visible(timeout=120_000)
            ready = time.perf_counter() - launched
            times = []
            for i, q in enumerate(QUESTIONS):
                t = time.perf_counter()
                box.fill(q)
                box.press("Enter")
                expect(page.locator(".answer").nth(i)).to_be_visible(timeout=120_000)
                times.append(time.perf_counter() - t)
                if i == 0:
                    first = time.perf_counter() - launched
        finally:
            browser.close()
            stop_process(proc)
    return {"server_healthy_s": round(healthy, 1), "chat_ready_s": round(ready, 1), "first_answer_s": round(first, 1),
            "first_question_s": round(times[0], 1), "next_answers_s": [round(t, 1) for t in times[1:]]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--index", type=Path, default=ROOT / "index")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--launcher", choices=["serve", "streamlit"], default="serve",
                    help="serve: `python -m ui.serve` (make run; loads the model at launch); streamlit: plain "
                         "`streamlit run app.py` (loads on the first session)")
    args = ap.parse_args()
    if not (args.index / "chroma.sqlite3").exists():
        raise SystemExit(f"No index at {args.index}: run `make index` first.")
    runs = []
    for i in range(args.runs):
        r = one_run(args.index, args.launcher)
        runs.append(r)
        print(f"run {i + 1}: launch -> server up {r['server_healthy_s']} s, chat box {r['chat_ready_s']} s, "
              f"first answer {r['first_answer_s']} s (question itself {r['first_question_s']} s); "
              f"next answers {r['next_answers_s']} s", flush=True)
    nexts = [t for r in runs for t in r["next_answers_s"]]
    firsts = [r["first_answer_s"] for r in runs]
    print(json.dumps({"launcher": args.launcher, "runs": len(runs), "first_answer_s_median": statistics.median(firsts),
                      "first_answer_s_max": max(r["first_answer_s"] for r in runs),
                      "next_answer_s_median": statistics.median(nexts), "next_answer_s_max": max(nexts)}, indent=2))


if __name__ == "__main__":
    main()
