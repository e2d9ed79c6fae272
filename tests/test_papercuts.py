"""Papercuts a new user met in the first hour (issue 16), each checked the way that user would notice it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT


def test_tace_child_pugh_cut_off_is_reconciled_to_the_primary_source():
    """A B8 patient must not be contraindicated under one sentence of the TACE summary and allowed under another."""
    text = (ROOT / "corpus" / "tace-chemoembolisation.md").read_text(encoding="utf-8")
    # Every place that gives a Child-Pugh threshold for the contraindication either is the primary form (>= B8) or
    # names itself as the secondary form and points to the reconciliation.
    for line in text.splitlines():
        if re.search(r"score (above|>) ?8", line):
            assert "secondary form" in line or "Reconciling" in line, line
    assert "Child-Pugh ≥ B8" in text
    assert "a patient with Child-Pugh B8 falls under the absolute contraindication" in text


def test_asked_about_b8_the_reconciliation_is_among_the_passages(assistant):
    answer = assistant.ask("pt child pugh B8, is tace contraindicated")
    texts = [hit.chunk.text for hit in answer.passages]
    assert any("B8 falls under the absolute contraindication" in t for t in texts), [t[:80] for t in texts]


def test_every_page_has_a_human_title_in_the_navigation():
    """The first navigation entry used to read "app": each page file now has a title and an icon."""
    from ui.navigation import page_files, page_title

    titles = [page_title(p.name)[0] for p in page_files()]
    assert titles[:4] == ["Ask", "Library", "Evaluate", "Accreditation"], titles
    assert "app" not in titles
    assert page_title("7_Case_review.py")[0] == "Case review"


@pytest.mark.browser
def test_navigation_shows_ask_library_evaluate_accreditation(corpus_index, tmp_path):
    from tests.test_browser import CHROMIUM, FLAGS, _serve_app

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with _serve_app(corpus_index, tmp_path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url, wait_until="networkidle")
        nav = page.locator('[data-testid="stSidebarNav"]')
        nav.wait_for(timeout=60_000)
        labels = [t.strip() for t in nav.locator("a").all_inner_texts()]
        browser.close()
    names = [label.split("\n")[-1] for label in labels]
    assert names[:4] == ["Ask", "Library", "Evaluate", "Accreditation"], labels
