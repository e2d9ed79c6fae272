"""Papercuts a new user met in the first hour (issue 16), each checked the way that user would notice it."""

from __future__ import annotations

import re

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
