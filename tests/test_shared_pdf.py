"""A real two-column journal guideline (BSG 2014 coeliac disease, Gut) from ../shared: facts land on the page they
are printed on, running footers stay out of the text, and sentences come out whole.

Expected pages were looked up by hand in the PDF (pypdf text per page) and are cross-checked here the same way.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from conftest import need_shared

from ingest.chunking import chunk_sections
from ingest.loaders import load_file

PDF = ("data", "pdfs", "BSG_2014_adult_coeliac_disease_Gut.pdf")

# sentence as the loader gives it -> (1-based page it is printed on, a fragment of one printed line on that page)
FACTS = {
    "The diagnosis of CD is readily established in those who, while consuming a gluten-containing diet, have "
    "positive serology and a duodenal biopsy with obvious coeliac histology": (3, "readily established in those who"),
    "A calculated daily intake of 30 mg seems not to harm the mucosa.": (11, "A calculated daily"),
    "Patients should adhere to a GFD and have an intake of less than 10 mg gluten per day.":
        (11, "Patients should adhere to a GFD and have an intake of less"),
    "The threshold for abnormal IELs is ≥25/100 enterocytes, but for a definite diagnosis villous atrophy is "
    "required.": (14, "The threshold for abnormal IELs"),
    "Ludvigsson JF, Ludvigsson J, Ekbom A, et al. Celiac disease and risk of subsequent":
        (17, "Ludvigsson JF, Ludvigsson J, Ekbom A"),
}
# Printed as two lines of one column; a wrong reading order would interleave the other column.
WHOLE_SENTENCE = ("Adequate (more than four) biopsies should be taken, from the distal duodenum and the duodenal bulb "
                  "to maximise diagnosis.")
FOOTER = "Ludvigsson JF, et al. Gut 2014"


@pytest.fixture(scope="module")
def bsg(embedder):
    path = need_shared(*PDF)
    info, sections = load_file(path)
    chunks = chunk_sections(info, sections, embedder.count_tokens_batch, embedder.max_tokens)
    return path, info, sections, chunks


def _printed_pages(path) -> list[str]:
    from pypdf import PdfReader

    return [unicodedata.normalize("NFKC", page.extract_text() or "") for page in PdfReader(path).pages]


def test_document_info(bsg):
    _, info, sections, chunks = bsg
    assert info.pages == 22
    assert info.edition == "2014"
    assert info.title.startswith("Diagnosis and management of adult coeliac disease")
    paths = [s.path for s in sections]
    assert ("Diagnostics", "Serology in CD diagnosis") in paths
    assert ("Gluten-free diet", "Safe gluten intake?") in paths, "a bookmark that opens its page is found"
    assert all(c.page_start is not None and 1 <= c.page_start <= c.page_end <= 22 for c in chunks)


def test_facts_land_on_the_page_they_are_printed_on(bsg):
    path, _, _, chunks = bsg
    printed = _printed_pages(path)
    for fact, (page, line_fragment) in FACTS.items():
        on_pages = [n for n, text in enumerate(printed, start=1) if line_fragment in text]
        assert on_pages == [page], f"hand lookup for {fact[:40]!r}: {on_pages}"
        holders = [c for c in chunks if fact in c.text]
        assert holders, f"{fact[:60]!r} is not in any chunk"
        got = holders[0].page_at(holders[0].text.index(fact))
        print(f"BSG check: {fact[:70]!r} expected page {page}, got page {got} (chunk {holders[0].ordinal}, "
              f"section {holders[0].section!r})")
        assert got == page


def test_running_footer_is_not_in_any_chunk(bsg):
    path, _, _, chunks = bsg
    assert sum(FOOTER in text for text in _printed_pages(path)) >= 15, "the footer is printed on every page"
    assert not [c.ordinal for c in chunks if FOOTER in c.text]
    assert not [c.ordinal for c in chunks if re.search(r"gutjnl-2013-306578\s+\d+\s*$", c.text)]
    assert not [c.ordinal for c in chunks if "Published by gut.bmj.comDownloaded from" in c.text]


def test_two_column_text_gives_whole_sentences(bsg):
    _, _, _, chunks = bsg
    holders = [c for c in chunks if WHOLE_SENTENCE in c.text]
    assert holders, "the two-line sentence is contiguous in a chunk"
    assert holders[0].page_at(holders[0].text.index(WHOLE_SENTENCE)) == 14
