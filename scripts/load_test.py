"""Load test: N concurrent askers for T seconds against one shared Assistant (as the app holds it), extractive.

    .venv/bin/python scripts/load_test.py --index /tmp/ops-idx --askers 20 --seconds 30
    IOGUIDE_CHROMA_URL=http://127.0.0.1:8000 .venv/bin/python scripts/load_test.py --askers 20 --seconds 30

Prints throughput, p50/p95 latency and errors (--json for one object); exits 1 when any question failed.
The logic lives in ioguide/bench/load.py (run_load, load_test).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ioguide.bench import load_questions, load_test  # noqa: E402
from ioguide.config import Settings  # noqa: E402
from ioguide.errors import IOGuideError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, default=None, help="Index folder (default IOGUIDE_INDEX_DIR).")
    parser.add_argument("--askers", type=int, default=20, help="Concurrent askers (threads).")
    parser.add_argument("--seconds", type=float, default=30.0, help="How long to ask.")
    parser.add_argument("--max-requests", type=int, default=100_000, help="Stop after this many questions.")
    parser.add_argument("--think", type=float, default=0.0, help="Seconds each asker waits between questions.")
    parser.add_argument("--questions", type=Path, default=ROOT / "corpus" / "eval" / "questions.jsonl",
                        help="A question set (.jsonl/.csv) or a text file with one question a line.")
    parser.add_argument("--distinct", action="store_true",
                        help="Make every question distinct (a number appended): no query-embedding cache hits.")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="Print the report as one JSON object.")
    args = parser.parse_args(argv)

    settings = Settings()
    try:
        from ioguide.service import Assistant

        questions = load_questions(args.questions)
        assistant = Assistant.from_settings(settings, args.index, llm_name="none")
        report = load_test(assistant, questions, askers=args.askers, seconds=args.seconds, k=args.k,
                           max_requests=args.max_requests, think_s=args.think, distinct=args.distinct)
    except IOGuideError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    where = settings.chroma_url or str(args.index or settings.index_dir)
    if args.json:
        print(json.dumps({"index": where, "chunks": assistant.store.count(), "distinct": args.distinct,
                          **report.to_json()}, indent=2))
    else:
        print(f"index {where} ({assistant.store.count()} chunks), {len(questions)} distinct questions")
        print(report.summary())
    return 1 if report.errors or report.unfinished else 0


if __name__ == "__main__":
    sys.exit(main())
