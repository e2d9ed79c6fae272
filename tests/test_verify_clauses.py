"""The verifier's passage-wide vetoes and clause-level negation, through `ioguide bench verify` (the real packaged
embedding model), and the helpers they use: a paraphrase in other words is kept; a changed number that the passage
gives to other words, a swapped direction, a negation dropped or added in other words are removed."""

from __future__ import annotations

import pytest

from ioguide.quantities import canonical_text, comparators, conflicting_ranges
from ioguide.text import split_sentences
from ioguide.verify_terms import abbreviations, claim_terms
from ioguide.verify_vetoes import neighbouring_numbers, swapped_directions
from tests.conftest import bench_verify, verify_row

PASSAGE = (
    "Madoff describes the patients at high risk as:\n"
    "- those with a normal liver in whom more than 75% of the functional liver mass will be removed;\n"
    "- those with chronic liver disease who will lose more than 60%.\n\n"
    "A later book chapter gives the normal-liver threshold as more than 80%. "
    "The Fuhrman nuclear grade is now often simplified into low grade (1–2) and high grade (3–4). "
    "At a facility's first evaluation, answers to extended requirements are not taken into account. "
    "Breast biopsy is excluded because its special features call for a separate document. "
    "Before treatment, a mapping angiogram is used to calculate the lung shunt fraction (LSF). "
    "Resin activity is reduced by 20% when the LSF exceeds 10%. "
    "A single-centre team adapted the checklist into a 20-item Time-Out checklist.")


def row(answer_id: str, answer: str) -> dict:
    return verify_row(answer_id, answer, PASSAGE, "Verifier fixture")


ROWS = [
    row("t-neighbour", "Patients with a normal liver are at high risk when more than 75% of the functional liver "
                       "mass will be removed [1]."),
    row("t-not-counted", "Extended requirements do not count at a facility's first evaluation [1]."),
    row("t-excluded", "Breast biopsy is not covered, because its special features call for a separate "
                      "document [1]."),
    row("t-abbreviation", "Resin activity is cut by 20% when the lung shunt fraction is above 10% [1]."),
    row("t-three-merged", "The normal-liver threshold is more than 80% in a later book chapter, the Fuhrman grade "
                          "is simplified into low grade (1–2) and high grade (3–4), and extended requirements are "
                          "not taken into account at the first evaluation [1]."),
    # two statements seven sentences apart: no quote holds both, each clause is quoted on its own
    row("t-far-merged", "Patients with chronic liver disease are at high risk when they will lose more than 60%, and "
                        "a single-centre team adapted the checklist into a 20-item Time-Out checklist [1]."),
    row("f-far-merged", "Patients with chronic liver disease are at high risk when they will lose more than 60%, and "
                        "a single-centre team adapted the checklist into a 30-item Time-Out checklist [1]."),
    row("f-neighbour", "Patients with a normal liver are at high risk when more than 80% of the functional liver "
                       "mass will be removed [1]."),
    row("f-direction", "The Fuhrman nuclear grade is now often simplified into high grade (1–2) and high grade "
                       "(3–4) [1]."),
    row("f-counted", "Extended requirements do count at a facility's first evaluation [1]."),
    row("f-covered", "Breast biopsy is covered, because its special features call for a separate document [1]."),
    row("f-one-item", "A single-centre team adapted the checklist into a one-item Time-Out checklist [1]."),
]


def test_bench_keeps_paraphrases_and_removes_swaps_read_against_the_whole_passage(tmp_path):
    by_id = bench_verify(tmp_path, ROWS)
    assert {i: r["kept"] for i, r in by_id.items() if r["kept"] != i.startswith("t-")} == {}
    reasons = {i: r["removed"][0]["reason"] for i, r in by_id.items() if r["removed"]}
    assert reasons["f-neighbour"] == "states 80, where passage 1 gives another value for the same words"
    assert reasons["f-direction"] == "states high 1, where passage 1 gives another value for the same words"
    assert reasons["f-covered"] == "leaves out a negation of passage 1 (excluded)"
    # "one-item" is the number 1 (the passage's only 1 is a grade), not the word "one"
    assert reasons["f-one-item"] == "not supported by passage 1"


def test_a_neighbouring_number_is_found_only_where_its_own_words_give_another():
    passage = canonical_text(PASSAGE)
    claim = canonical_text("more than 80% of the functional liver mass will be removed")
    assert neighbouring_numbers(claim, passage) == ["80"]
    assert neighbouring_numbers(canonical_text("a later book chapter gives more than 80%"), passage) == []
    # bare numbers are too often years and counts to be judged so
    assert neighbouring_numbers(canonical_text("in 2005 the functional liver mass will be removed"), passage) == []


def test_a_direction_word_before_a_number_must_be_the_passages():
    passage = canonical_text("simplified into low grade (1–2) and high grade (3–4)")
    assert swapped_directions("high grade (1–2)", passage) == ["high 1"]
    assert swapped_directions("low grade (1–2) and high grade (3–4)", passage) == []


def test_abbreviations_defined_in_a_passage_give_their_long_form():
    found = abbreviations("the lung shunt fraction (LSF) and portal vein embolisation (PVE) are used")
    assert found == {"lsf": {"lung", "shunt", "fraction"}, "pve": {"portal", "vein", "embolis"}}


@pytest.mark.parametrize(("text", "bound"), [
    ("when the LSF exceeds 10%", (10.0, 1)), ("vessels ≥3 mm", (3.0, 1)), ("a count < 50", (50.0, -1)),
])
def test_more_comparators_are_read_as_bounds(text, bound):
    assert [(q.raw, sign) for q, sign in comparators(canonical_text(text))] == [bound]


def test_over_about_a_duration_is_no_bound_and_comparator_words_are_no_terms():
    assert comparators(canonical_text("refined over about two years")) == []
    assert "more" not in claim_terms("vessels usually 3 mm or more in size, more than 40 societies")
    assert "more" in claim_terms("more patients were treated")


def test_a_case_name_does_not_end_a_sentence():
    assert split_sentences("The surgeon was liable in Mohr v. Williams (1905). The court agreed.") == [
        "The surgeon was liable in Mohr v. Williams (1905).", "The court agreed."]


def test_a_range_at_the_end_of_a_sentence_and_a_number_joined_to_itself_are_found():
    source = canonical_text("ECOG performance status 0–2. Margins should be 5–10 mm. Grades 1 and 3 changed.")
    assert conflicting_ranges(canonical_text("ECOG performance status of 0 to 3."), source) == [(0.0, 3.0)]
    assert conflicting_ranges(canonical_text("Margins should be 10–10 mm."), source) == [(10.0, 10.0)]
    assert conflicting_ranges(canonical_text("grades 3 and 3 changed"), source) == [(3.0, 3.0)]
    assert conflicting_ranges(canonical_text("ECOG status 0 to 2, margins of 5 to 10 mm"), source) == []
