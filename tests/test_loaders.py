"""Loaders on real files the tests generate (fpdf2, python-docx): what a user sees is checked, not internals.

Page numbers are 1-based and survive chunking; running headers, footers and page numbers never reach the text;
each bad file gives a LoadError whose reason a person understands, and `python -m ingest` names every bad file
and still indexes the good one.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from conftest import make_pdf
from typer.testing import CliRunner

from ingest.__main__ import app as ingest_app
from ingest.chunking import chunk_sections
from ingest.loaders import load_file
from ioguide.errors import LoadError

HEADER = "Society of Test Radiology - Ablation guideline 2024"
FOOTER = "Page {n} of 5"

# Each page says something different (as real pages do); one word is hyphenated across a line break on page 3.
PAGES = [
    ["Thermal ablation is offered to patients with early hepatocellular carcinoma who are not candidates for "
     "surgery.", "Microwave systems heat tissue faster than radiofrequency systems and are less affected by the "
     "heat sink of nearby vessels."],
    ["Before the procedure the platelet count should exceed fifty thousand per microlitre.",
     "Antibiotic prophylaxis is not routinely required for percutaneous liver ablation in patients with an "
     "intact sphincter of Oddi."],
    ["The ice ball must extend five millimetres beyond the tumour margin for renal cryoablation.",
     "Cone-beam CT confirms needle position when ultrasound visibility is poor and the inter-\nnational "
     "consensus recommends recording the number of applicators."],
    ["Contrast-enhanced CT at one month documents the ablation zone and serves as the new baseline.",
     "Residual enhancement at the margin after three months is reported as incomplete ablation."],
    ["Complications are graded with the CIRSE classification system from grade one to grade six.",
     "Patients are discharged the next morning when pain is controlled with oral analgesia."],
]
FACTS = {  # sentence -> the 1-based page it is printed on
    "Thermal ablation is offered to patients with early hepatocellular carcinoma": 1,
    "Antibiotic prophylaxis is not routinely required for percutaneous liver ablation": 2,
    "The ice ball must extend five millimetres beyond the tumour margin for renal cryoablation.": 3,
    "the international consensus recommends recording the number of applicators": 3,
    "Residual enhancement at the margin after three months is reported as incomplete ablation.": 4,
    "Patients are discharged the next morning when pain is controlled with oral analgesia.": 5,
}

MARKDOWN = """---
title: "Renal cryoablation: practice summary"
issuer: "Test Society of Interventional Oncology"
edition: "2023"
source_url: "https://example.org/renal-cryo"
licence_note: "Summary written for testing; not the official text."
topics: [renal, cryoablation]
---
# Renal cryoablation

## Patient selection
Cryoablation suits **T1a** renal tumours up to 4 cm in patients unfit for [surgery](https://example.org/s).

### Biopsy
A core biopsy is taken *before or during* the ablation session.

Sources:
- https://example.org/renal-cryo#biopsy
- https://example.org/other-source

## Follow-up
Contrast CT at 3 and 12 months after `cryoablation`.
"""


@pytest.fixture(scope="module")
def pdf_path(tmp_path_factory) -> Path:
    return make_pdf(tmp_path_factory.mktemp("pdf") / "ablation-guideline.pdf", PAGES, header=HEADER,
                    footer=FOOTER, title="Test ablation guideline")


def _reason(path: Path, **kwargs) -> str:
    with pytest.raises(LoadError) as caught:
        load_file(path, **kwargs)
    assert caught.value.path == str(path)
    return caught.value.reason


# ---------------------------------------------------------------- PDF


def test_pdf_pages_are_numbered_from_one_and_survive_chunking(pdf_path, embedder):
    info, sections = load_file(pdf_path)
    assert info.pages == 5
    assert info.title == "Test ablation guideline"  # from the PDF metadata
    chunks = chunk_sections(info, sections, embedder.count_tokens_batch, embedder.max_tokens, target_tokens=60)
    assert len(chunks) > 2, "small chunks, so several of them span a page break"
    for fact, page in FACTS.items():
        holders = [c for c in chunks if fact in c.text]
        assert holders, f"{fact!r} is not in any chunk"
        for chunk in holders:
            got = chunk.page_at(chunk.text.index(fact))
            print(f"{fact[:50]!r}: expected page {page}, got {got}")
            assert got == page
    # The same through Section.page_breaks directly.
    section = sections[0]
    offset = section.text.index("The ice ball must extend")
    assert max(n for off, n in section.page_breaks if off <= offset) == 3


def test_pdf_running_header_footer_and_page_numbers_are_not_text(pdf_path):
    _, sections = load_file(pdf_path)
    text = "\n".join(s.text for s in sections)
    assert "Society of Test Radiology" not in text
    assert "Ablation guideline 2024" not in text
    for n in range(1, 6):
        assert f"Page {n} of 5" not in text
    assert "international consensus" in text, "the word hyphenated across a line break is joined"
    assert "inter-" not in text and "inter- national" not in text


def test_pdf_outline_becomes_section_paths(tmp_path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for heading, body in [("Indications", "Ablation is indicated for tumours up to three centimetres."),
                          ("Technique", "Two overlapping ablations cover a tumour of four centimetres.")]:
        pdf.add_page()
        pdf.start_section(heading)
        pdf.multi_cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.multi_cell(0, 6, body, new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "outlined.pdf"
    pdf.output(str(path))
    _, sections = load_file(path)
    by_path = {s.path: s for s in sections}
    assert "tumours up to three centimetres" in by_path[("Indications",)].text
    assert "four centimetres" in by_path[("Technique",)].text
    assert by_path[("Technique",)].page_breaks[0][1] == 2


# ---------------------------------------------------------------- Markdown, text, HTML, DOCX


def test_markdown_front_matter_headings_and_sources(tmp_path):
    path = tmp_path / "renal-cryo.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    info, sections = load_file(path)
    assert info.title == "Renal cryoablation: practice summary"
    assert info.issuer == "Test Society of Interventional Oncology"
    assert info.edition == "2023"
    assert info.source_url == "https://example.org/renal-cryo"
    assert info.licence_note.startswith("Summary written for testing")
    assert info.topics == ("renal", "cryoablation")
    by_path = {s.path: s for s in sections}
    assert set(by_path) == {("Patient selection",), ("Patient selection", "Biopsy"), ("Follow-up",)}
    selection = by_path[("Patient selection",)].text
    assert selection == "Cryoablation suits T1a renal tumours up to 4 cm in patients unfit for surgery."
    biopsy = by_path[("Patient selection", "Biopsy")]
    assert biopsy.text == "A core biopsy is taken before or during the ablation session."
    assert biopsy.sources == ("https://example.org/renal-cryo#biopsy", "https://example.org/other-source")
    assert "Sources" not in biopsy.text and "https://" not in biopsy.text
    assert by_path[("Follow-up",)].text == "Contrast CT at 3 and 12 months after cryoablation."
    assert all(s.page_breaks == () for s in sections), "Markdown has no pages"


def test_markdown_with_windows_line_endings(tmp_path):
    path = tmp_path / "crlf.md"
    path.write_bytes(MARKDOWN.replace("\n", "\r\n").encode("utf-8"))
    info, sections = load_file(path)
    assert info.title == "Renal cryoablation: practice summary"
    assert {s.path for s in sections} == {("Patient selection",), ("Patient selection", "Biopsy"), ("Follow-up",)}
    assert all("\r" not in s.text for s in sections)


def test_markdown_without_front_matter_takes_its_title_from_the_first_heading(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Lung ablation notes\n\n## Pneumothorax\nChest drain when symptomatic.\n", encoding="utf-8")
    info, sections = load_file(path)
    assert info.title == "Lung ablation notes"
    assert [(s.path, s.text) for s in sections] == [(("Pneumothorax",), "Chest drain when symptomatic.")]


def test_plain_text_is_normalised(tmp_path):
    path = tmp_path / "checklist-2021.txt"
    path.write_bytes("\ufeffSign in before sedation.\r\nConfirm the \ufb01nal site marking.\r\n".encode())
    info, sections = load_file(path)
    assert info.edition == "2021", "a year in the file name is the edition"
    assert [s.text for s in sections] == ["Sign in before sedation.\nConfirm the final site marking."]


def test_html_headings_become_sections_and_scripts_are_dropped(tmp_path):
    path = tmp_path / "page.html"
    path.write_text("""<!doctype html><html><head><title>TACE patient leaflet</title>
<style>p { color: red }</style><script>var secret = "tracking code";</script></head>
<body><h1>TACE</h1><p>Chemoembolisation treats liver tumours through the artery.</p>
<h2>Before</h2><p>Stop eating six hours before.</p><ul><li>Bring your medicines.</li></ul>
<h3>Blood tests</h3><p>Kidney function is checked<br>the week before.
<p>An unclosed paragraph keeps its text.</p>
<script>alert("x")</script><noscript>Enable JavaScript</noscript>
<h2>After</h2><table><tr><td>Day 1</td><td>Bed rest</td></tr></table></body></html>""", encoding="utf-8")
    info, sections = load_file(path)
    assert info.title == "TACE patient leaflet"
    by_path = {s.path: s.text for s in sections}
    assert by_path[()] == "Chemoembolisation treats liver tumours through the artery."
    assert by_path[("Before",)] == "Stop eating six hours before.\n- Bring your medicines."
    assert "Kidney function is checked\nthe week before." in by_path[("Before", "Blood tests")]
    assert "An unclosed paragraph keeps its text." in by_path[("Before", "Blood tests")]
    assert by_path[("After",)] == "Day 1\nBed rest"
    everything = " ".join(by_path.values())
    for hidden in ("tracking code", "color: red", "alert", "Enable JavaScript"):
        assert hidden not in everything


def test_docx_heading_styles_become_sections(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("Portal vein embolisation protocol", level=0)  # the Title style
    document.add_heading("Indications", level=1)
    document.add_paragraph("Future liver remnant below 30 percent of the total volume.")
    document.add_heading("Volumetry", level=2)
    document.add_paragraph("CT volumetry four weeks after embolisation.")
    document.add_paragraph("Repeat if growth is below 5 percent.", style="List Bullet")
    document.add_heading("Materials", level=1)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Particles"
    table.rows[0].cells[1].text = "300-500 micrometres"
    path = tmp_path / "pve.docx"
    document.save(str(path))
    info, sections = load_file(path)
    assert info.title == "Portal vein embolisation protocol"
    by_path = {s.path: s.text for s in sections}
    assert by_path[("Indications",)] == "Future liver remnant below 30 percent of the total volume."
    assert by_path[("Indications", "Volumetry")] == ("CT volumetry four weeks after embolisation.\n"
                                                     "- Repeat if growth is below 5 percent.")
    assert by_path[("Materials",)] == "Particles | 300-500 micrometres"


def test_loaded_text_has_no_invisible_characters(tmp_path):
    path = tmp_path / "tricky.md"
    path.write_text("## Dose\u200b\nGive 1\u00a0g \u202eof\u202c paracetamol\u2066 orally\u2069.\u200d\n",
                    encoding="utf-8")
    _, sections = load_file(path)
    text = sections[0].text
    assert sections[0].path == ("Dose",)
    assert text == "Give 1 g of paracetamol orally."
    assert not [ch for ch in text if unicodedata.category(ch) == "Cf"]


# ---------------------------------------------------------------- bad input: one reason each


def _bad_files(folder: Path, good_pdf: Path) -> dict[str, str]:
    """Write every kind of bad file into folder; return {file name: words its reason must contain}."""
    from fpdf import FPDF

    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, str] = {}
    (folder / "empty.md").write_bytes(b"")
    expected["empty.md"] = "file is empty"
    (folder / "blank.txt").write_text("   \n\n  ")
    expected["blank.txt"] = "file is empty"
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\ngarbage\n%%EOF\n")
    expected["corrupt.pdf"] = "corrupt PDF"
    data = good_pdf.read_bytes()
    (folder / "truncated.pdf").write_bytes(data[: len(data) // 2])
    expected["truncated.pdf"] = "truncated PDF"
    locked = FPDF()
    locked.set_encryption(owner_password="owner", user_password="secret")
    locked.add_page()
    locked.set_font("Helvetica", size=12)
    locked.cell(0, 10, "Confidential protocol")
    locked.output(str(folder / "encrypted.pdf"))
    expected["encrypted.pdf"] = "password is required"
    drawing = FPDF()
    drawing.add_page()
    drawing.set_fill_color(120, 0, 0)
    drawing.rect(20, 20, 120, 80, style="F")
    drawing.output(str(folder / "scanned.pdf"))
    expected["scanned.pdf"] = "no extractable text"
    (folder / "notes.pdf").write_text("These are my notes, saved with the wrong extension.\n")
    expected["notes.pdf"] = "not a PDF: the file holds plain text"
    (folder / "image.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    expected["image.pdf"] = "not a PDF: the file holds a PNG image"
    (folder / "latin1.txt").write_bytes("Dose: 5 mg\nCaf\u00e9 au lait\n".encode("latin-1"))
    expected["latin1.txt"] = "not UTF-8 text (invalid byte 0xe9 at byte position 14, line 2)"
    (folder / "fake.docx").write_text("not a zip")
    expected["fake.docx"] = "not a DOCX file"
    (folder / "table.xlsx").write_bytes(b"PK\x03\x04")
    expected["table.xlsx"] = "unsupported file type '.xlsx'"
    os.symlink(folder / "moved-away.pdf", folder / "link.pdf")
    expected["link.pdf"] = "broken link"
    return expected


def test_each_bad_file_gives_a_reason_a_person_understands(tmp_path, pdf_path):
    folder = tmp_path / "bad"
    expected = _bad_files(folder, pdf_path)
    for name, words in expected.items():
        reason = _reason(folder / name)
        print(f"{name}: {reason}")
        assert words in reason, f"{name}: {reason!r}"
    assert _reason(tmp_path / "nowhere.pdf") == "file does not exist"
    (tmp_path / "folder.md").mkdir()
    assert _reason(tmp_path / "folder.md") == "this is a folder, not a file"
    big = tmp_path / "big.txt"
    big.write_text("word " * 300_000)
    assert "over the 1 MB limit (IOGUIDE_MAX_FILE_MB)" in _reason(big, max_bytes=1_000_000)
    assert "over the limit of 3 (IOGUIDE_MAX_PDF_PAGES)" in _reason(pdf_path, max_pages=3)


def test_cli_names_each_bad_file_and_indexes_the_good_one(tmp_path, pdf_path):
    folder = tmp_path / "docs"
    expected = _bad_files(folder, pdf_path)
    (folder / "renal-cryo.md").write_text(MARKDOWN, encoding="utf-8")
    runner = CliRunner()
    index = tmp_path / "index"
    result = runner.invoke(ingest_app, [str(folder), str(tmp_path / "missing-folder"), "--index", str(index),
                                        "--quiet"])
    print(result.output)
    assert result.exit_code == 1, result.output
    assert "Indexed 1 file(s)" in result.output
    lines = result.output.splitlines()
    for name, words in expected.items():
        hits = [line for line in lines if line.startswith("SKIPPED ") and f"{name}: " in line]
        assert hits, f"{name} is not reported"
        assert words in hits[0], hits[0]
    assert any("missing-folder: path does not exist" in line for line in lines)

    from ioguide.index import open_index

    docs = open_index(index).store.documents_list()
    assert [d["doc_id"] for d in docs] == ["renal-cryo"]

    good = tmp_path / "good"
    good.mkdir()
    (good / "renal-cryo.md").write_text(MARKDOWN, encoding="utf-8")
    make_pdf(good / "guideline.pdf", PAGES, header=HEADER, footer=FOOTER)
    result = runner.invoke(ingest_app, [str(good), "--index", str(tmp_path / "index2"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Indexed 2 file(s)" in result.output and "skipped 0" in result.output


def test_cited_passage_is_marked_whole_on_the_rendered_pdf_page(tmp_path):
    """The page image marks the whole cited passage, across line breaks, not only its first words."""
    import pypdfium2 as pdfium

    from ioguide.pdfpage import _find_span, render_page
    from tests.conftest import make_pdf

    passage = ("The multidisciplinary tumour board meets every Tuesday at eight in the morning in the radiology "
               "seminar room, and an interventional radiologist attends every meeting to record each decision "
               "in the patient file before any procedure is booked.")
    pdf = make_pdf(tmp_path / "policy.pdf", [["Cover page."], ["Meetings.", passage, "Another paragraph."]])
    image, found = render_page(pdf, 2, passage)
    assert found and image.size[0] > 500
    doc = pdfium.PdfDocument(str(pdf))
    textpage = doc[1].get_textpage()
    start, count = _find_span(textpage, passage.split())
    marked = textpage.get_text_range(start, count)
    assert " ".join(marked.split()) == passage  # whole passage, spread over several lines
    assert textpage.count_rects(start, count) >= 2
    assert render_page(pdf, 2, "words that are not on the page at all")[1] is False
    doc.close()
