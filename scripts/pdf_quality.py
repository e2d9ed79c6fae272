"""How well the PDF reader reads: per document, is the title the printed one, the word error rate of the stored
text against the text the PDF was generated from, reference markers left glued to words, and how much of the
bibliography is marked as references.

    python scripts/pdf_quality.py [--specs DIR] [--pdfs DIR] [--no-bsg]

Generated PDFs come from tests/data/pdfspec/*.json (scripts/make_test_pdfs.py); the shared BSG guideline (from
../shared) has a known title but no generating text, so only its title, glued markers and reference marking are
measured. The stored text is what the index holds: the chunks, each section's heading once before its text.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ingest.chunking import chunk_sections  # noqa: E402
from ingest.loaders import load_file  # noqa: E402
from ingest.pdfspec import load_spec, reference_text, word_error_rate  # noqa: E402

BSG = ROOT.parent / "shared" / "data" / "pdfs" / "BSG_2014_adult_coeliac_disease_Gut.pdf"
BSG_TITLE = "Diagnosis and management of adult coeliac disease: guidelines from the British Society of Gastroenterology"
# "glued" counts every chunk (reference lists give false hits: "e9-14", "Aug;4"); "in body" only the guidance text.
# A citation number left on a word: "day.196", "patients.1,2", "molecules61-65", "(IgA-TG2)69".
GLUED = re.compile(r"(?<=[a-z%)\]])[.,;:]?\d{1,3}(?:[,\u2013-]\d{1,3})*(?=[\s.,;:)]|$)")
# A bibliography entry: "Radiology 2014;273:241-260", "Gut 2014;63:1210".
CITATION = re.compile(r"\b(?:19|20)\d\d\s*;\s*\d+(?:\(\d+\))?\s*:\s*[A-Za-z]?\d+")


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def stored_text(chunks) -> str:
    parts, section = [], None
    for chunk in chunks:
        if chunk.section != section:
            section = chunk.section
            if section:
                parts.append(section.split(" > ")[-1])
        parts.append(chunk.text)
    return "\n".join(parts)


def measure(path: Path, title: str, reference: str | None, embedder) -> dict:
    start = time.perf_counter()
    info, sections = load_file(path)
    seconds = time.perf_counter() - start
    chunks = chunk_sections(info, sections, embedder.count_tokens_batch, embedder.max_tokens)
    text = stored_text(chunks)
    glued = [m.group(0) for c in chunks for m in GLUED.finditer(c.text)]
    glued_body = [c.text[max(0, m.start() - 30):m.end()] for c in chunks if getattr(c, "role", "body") == "body"
                  for m in GLUED.finditer(c.text)]
    bib = [c for c in chunks if len(CITATION.findall(c.text)) >= 2]
    marked = [c for c in bib if getattr(c, "role", "body") == "references"]
    wrongly = [c for c in chunks if getattr(c, "role", "body") == "references" and c not in bib]
    return {"document": path.name, "title_ok": _norm(info.title) == _norm(title), "title": info.title,
            "wer": word_error_rate(reference, text) if reference is not None else None,
            "glued": len(glued), "glued_examples": glued[:3],
            "glued_body": glued_body, "bib_chunks": len(bib), "bib_marked": len(marked),
            "other_marked_refs": len(wrongly), "chunks": len(chunks), "seconds": seconds}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=Path, default=ROOT / "tests" / "data" / "pdfspec")
    parser.add_argument("--pdfs", type=Path, default=ROOT / "tests" / "data" / "pdfs")
    parser.add_argument("--no-bsg", action="store_true")
    args = parser.parse_args(argv)
    from ioguide.embedders import get_embedder

    embedder = get_embedder()
    rows = []
    for spec_path in sorted(args.specs.glob("*.json")):
        spec = load_spec(spec_path)
        pdf = args.pdfs / spec.file
        if not pdf.exists():
            print(f"{pdf}: missing (run scripts/make_test_pdfs.py)", file=sys.stderr)
            continue
        rows.append(measure(pdf, spec.title, reference_text(spec), embedder))
    if not args.no_bsg and BSG.exists():
        rows.append(measure(BSG, BSG_TITLE, None, embedder))
    print(f"{'document':40} {'title':>5} {'WER %':>6} {'glued':>5} {'in body':>7} {'bib marked':>10} "
          f"{'other refs':>10} {'read s':>6}")
    for r in rows:
        wer = f"{100 * r['wer']:.2f}" if r["wer"] is not None else "-"
        print(f"{r['document'][:40]:40} {'ok' if r['title_ok'] else 'WRONG':>5} {wer:>6} {r['glued']:>5} "
              f"{len(r['glued_body']):>7} {r['bib_marked']:>4}/{r['bib_chunks']:<5} {r['other_marked_refs']:>10} "
              f"{r['seconds']:>6.2f}")
    for r in rows:
        if not r["title_ok"]:
            print(f"  {r['document']}: title read as {r['title']!r}")
        if r["glued_body"]:
            print(f"  {r['document']}: glued in body text: {r['glued_body'][:8]}")
    generated = [r for r in rows if r["wer"] is not None]
    if generated:
        print(f"generated set: titles {sum(r['title_ok'] for r in generated)}/{len(generated)}, mean WER "
              f"{100 * sum(r['wer'] for r in generated) / len(generated):.2f}%, glued markers "
              f"{sum(r['glued'] for r in generated)}, bibliography chunks marked "
              f"{sum(r['bib_marked'] for r in generated)}/{sum(r['bib_chunks'] for r in generated)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
