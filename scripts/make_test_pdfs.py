"""Render every spec in a spec folder into a PDF folder (deterministic: same spec, same bytes).

    python scripts/make_test_pdfs.py [--check] [--specs DIR --out DIR]

Without --specs/--out it renders tests/data/pdfspec/*.json into tests/data/pdfs/ and then the held-out fresh4 and
fresh5 specs tests/data/pdfspec-fresh4/*.json (pdfspec-fresh5) into tests/data/pdfs-fresh4/ (pdfs-fresh5), kept
apart so that the index of the older question sets does not change. --specs DIR --out DIR renders one folder pair only.
--check renders into a temporary folder and fails when a committed PDF differs from what its spec gives.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pdfspec import load_spec, render_spec  # noqa: E402

SPECS = ROOT / "tests" / "data" / "pdfspec"
PDFS = ROOT / "tests" / "data" / "pdfs"
FRESH4_SPECS = ROOT / "tests" / "data" / "pdfspec-fresh4"
FRESH4_PDFS = ROOT / "tests" / "data" / "pdfs-fresh4"
FRESH5_SPECS = ROOT / "tests" / "data" / "pdfspec-fresh5"
FRESH5_PDFS = ROOT / "tests" / "data" / "pdfs-fresh5"
DEFAULT_PAIRS = ((SPECS, PDFS), (FRESH4_SPECS, FRESH4_PDFS), (FRESH5_SPECS, FRESH5_PDFS))


def render_folder(specs: Path, pdfs: Path, check: bool) -> list[str]:
    """Render specs/*.json into pdfs/ (or a temporary folder when checking); returns the stale PDF names."""
    target = Path(tempfile.mkdtemp()) if check else pdfs
    target.mkdir(parents=True, exist_ok=True)
    stale = []
    for path in sorted(specs.glob("*.json")):
        spec = load_spec(path)
        out = render_spec(spec, target / spec.file)
        shown = out.name if check else out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
        print(f"{path.name} -> {shown} ({out.stat().st_size / 1024:.0f} KB, {len(spec.data['pages'])} pages)")
        committed = pdfs / spec.file
        if check and (not committed.exists() or committed.read_bytes() != out.read_bytes()):
            stale.append(str(committed.relative_to(ROOT) if committed.is_relative_to(ROOT) else committed))
    return stale


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a committed PDF differs from its spec")
    parser.add_argument("--specs", type=Path, help="folder of *.json specs (needs --out)")
    parser.add_argument("--out", type=Path, help="folder the PDFs go into (needs --specs)")
    args = parser.parse_args(argv)
    if (args.specs is None) != (args.out is None):
        parser.error("--specs and --out go together")
    pairs = [(args.specs.resolve(), args.out.resolve())] if args.specs else list(DEFAULT_PAIRS)
    stale = []
    for specs, pdfs in pairs:
        if not specs.is_dir():
            print(f"{specs}: no such spec folder", file=sys.stderr)
            return 2
        stale += render_folder(specs, pdfs, args.check)
    if stale:
        print(f"out of date (run scripts/make_test_pdfs.py): {', '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
