"""What the loader read from one file, for a coordinator asking why a document answers badly: the title found and
where it came from, the year, the sections with their roles, per-page text quality (which reading was kept and its
share of known words), the citation markers removed, the words joined, and the running lines dropped as page
furniture. Shown by `python -m ingest --explain FILE` and on the app's Library page."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ioguide.types import DocumentInfo, Section

from .loaders import load_file
from .loaders.limits import MAX_BYTES, MAX_PAGES, Deadline, display_name, read_bounded
from .loaders.metadata import apply_sidecar
from .loaders.pdf import PdfReport, read_pdf


@dataclass
class Explanation:
    path: str
    info: DocumentInfo
    sections: list[Section]
    title_source: str = ""
    report: PdfReport | None = None
    notes: list[str] = field(default_factory=list)

    def section_rows(self) -> list[dict]:
        """One row per section: first page, role, heading path, characters."""
        return [{"page": s.page_breaks[0][1] if s.page_breaks else None, "role": s.role,
                 "section": " > ".join(s.path) or "(before the first heading)", "characters": len(s.text)}
                for s in self.sections]

    def page_rows(self) -> list[dict]:
        if self.report is None:
            return []
        return [{"page": p.number, "reading kept": p.source, "known words (pypdf)": round(100 * p.known_pypdf, 1),
                 "known words (pdfium)": None if p.known_pdfium is None else round(100 * p.known_pdfium, 1),
                 "markers removed": len(p.markers), "words joined": len(p.joins),
                 "examples": ", ".join([f"^{m}^" for m in p.markers[:3]] + [f"'{j}'" for j in p.joins[:3]])}
                for p in self.report.page_reports]


def explain_file(path: Path, max_bytes: int = MAX_BYTES, max_pages: int = MAX_PAGES) -> Explanation:
    """Read one file as ingest does (LoadError for a file that cannot be read) and say how it was read."""
    path = Path(path)
    info, sections = load_file(path, max_bytes=max_bytes, max_pages=max_pages)
    if path.suffix.lower() != ".pdf":
        return Explanation(str(path), info, sections, title_source="front matter, first heading or file name")
    name = display_name(path)
    data = read_bounded(name, path, max_bytes)
    start = replace(info, title=path.stem, edition="")
    _, _, report = read_pdf(name, data, start, max_pages, Deadline(name, 300.0))
    explanation = Explanation(str(path), info, sections, title_source=report.title_source, report=report)
    if apply_sidecar(path, start) != start:
        explanation.title_source = f"sidecar .yaml beside the file (wins over the PDF's: {report.title_source})"
    return explanation


def format_explanation(ex: Explanation) -> str:
    """The explanation as plain text for the terminal."""
    out = [f"File: {ex.path}" + (f" ({ex.info.pages} pages)" if ex.info.pages else ""),
           f"Title: {ex.info.title}", f"  from: {ex.title_source}"]
    report = ex.report
    if report is not None:
        if report.metadata_title:
            verdict = f"rejected: {report.metadata_problem}" if report.metadata_problem else "consistent with page 1"
            out.append(f"  PDF metadata title: {report.metadata_title!r} ({verdict})")
        else:
            out.append("  PDF metadata title: none")
    out.append(f"Edition: {ex.info.edition or '(none)'}"
               + (f" ({report.edition_source})" if report is not None and report.edition_source else ""))
    if report is not None:
        out.append("Pages (reading kept; share of known words in the pypdf / pdfium readings; markers removed; "
                   "split words joined):")
        for row in ex.page_rows():
            pdfium = "-" if row["known words (pdfium)"] is None else f"{row['known words (pdfium)']:.1f}%"
            out.append(f"  p.{row['page']:<3} {row['reading kept']:6} {row['known words (pypdf)']:5.1f}% / {pdfium:>6}"
                       f"  markers {row['markers removed']:<3} joined {row['words joined']:<3} {row['examples']}")
        out.append(f"Page furniture removed ({len(report.furniture)} distinct lines):")
        out.extend(f"  - {line[:100]}" for line in report.furniture[:12])
        if len(report.furniture) > 12:
            out.append(f"  ... and {len(report.furniture) - 12} more")
    out.append(f"Sections ({len(ex.sections)}):")
    for row in ex.section_rows():
        page = f"p.{row['page']}" if row["page"] is not None else "   "
        out.append(f"  {page:5} [{row['role']}] {row['section'][:90]} ({row['characters']:,} characters)")
    marked = [r for r in ex.section_rows() if r["role"] != "body"]
    out.append(f"Not guidance (indexed, ranked below the body, quoted only when asked for): {len(marked)} section(s): "
               + ", ".join(sorted({r['role'] for r in marked})) if marked else
               "Not guidance: nothing marked (no references, affiliations, funding or conflicts sections found)")
    return "\n".join(out)
