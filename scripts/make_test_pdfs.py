"""Render every spec in tests/data/pdfspec/*.json into tests/data/pdfs/ (deterministic: same spec, same bytes).

    python scripts/make_test_pdfs.py [--check]

--check renders into a temporary folder and fails when a committed PDF differs from what its spec gives.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.pdfspec import load_spec, render_spec  # noqa: E402

SPECS = ROOT / "tests" / "data" / "pdfspec"
PDFS = ROOT / "tests" / "data" / "pdfs"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    target = Path(tempfile.mkdtemp()) if check else PDFS
    stale = []
    for path in sorted(SPECS.glob("*.json")):
        spec = load_spec(path)
        out = render_spec(spec, target / spec.file)
        print(f"{path.name} -> {out.relative_to(target.parent) if not check else out.name} "
              f"({out.stat().st_size / 1024:.0f} KB, {len(spec.data['pages'])} pages)")
        if check and (not (PDFS / spec.file).exists() or (PDFS / spec.file).read_bytes() != out.read_bytes()):
            stale.append(spec.file)
    if stale:
        print(f"out of date (run scripts/make_test_pdfs.py): {', '.join(stale)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
