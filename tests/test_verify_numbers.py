"""Numbers and grades the verifier reads as a reader does: thousands separators ("3,000" is one number), shares
written as words ("a fifth of", "seven in ten", "three quarters", "per mille"), and a grade in brackets written
after its recommendation ("... a bulb biopsy. (Grade C)") belongs to that recommendation, not to the next one; "failed
to show" is a negation a claim may not drop."""

from __future__ import annotations

import pytest

from ioguide.quantities import canonical_text, missing_quantities, quantities
from tests.conftest import bench_verify, verify_row


def q(text: str):
    return quantities(canonical_text(text))


@pytest.mark.parametrize(("claim", "source"), [
    ("over 3,000 subjects", "3000 subjects"), ("100,000 people", "100000 people"), ("1,000,000", "1000000"),
    ("481 per 100,000 person-years", "481/100 000 person-years"),
    ("a fifth of patients", "20% of patients"), ("one in five patients", "20% of patients"),
    ("seven in ten patients", "70% of patients"), ("three quarters in twins", "75% in twins"),
    ("half of the patients", "50% of patients"), ("one per mille", "0.1%"), ("1 in 1000 cases", "0.1%"),
    ("one in ten to one in five tumours", "10–20% of tumours"),
])
def test_numbers_written_with_separators_or_as_share_words_match(claim, source):
    assert not missing_quantities(q(claim), q(source)), (q(claim), q(source))


@pytest.mark.parametrize(("claim", "source"), [
    ("3,000 subjects", "3 subjects"), ("one per mille", "1%"),
    ("a fifth of patients", "25% of patients"), ("seven in ten patients", "7 of 10 patients"),
])
def test_different_shares_and_thousands_do_not_match(claim, source):
    assert missing_quantities(q(claim), q(source))


def test_a_list_stays_a_list_and_a_grade_or_a_half_is_no_share():
    assert [x.raw for x in q("at 1, 3 and 6 months")] == [1, 3, 6]
    assert [x.raw for x in q("1,5 mm")] == [1, 5]
    assert [x.raw for x in q("1, 200 and 300 mm")] == [1, 200, 300]
    assert canonical_text("grade 3 in 4 patients") == "grade 3 in 4 patients"
    assert canonical_text("two and a half years") == "2.5 years"
    assert canonical_text("its half-life") == "its half-life"
    assert canonical_text("nearly half of them, 49%") == "nearly half of them, 49%"  # hedged: not exact
    assert canonical_text("a third of patients") == "a third of patients"  # no exact percentage


# Our own wording, shaped like a journal guideline's recommendations (a grade in brackets after each one).
PASSAGE = ("Recommendations ▸ Coeliac disease is confirmed by a duodenal biopsy taken while gluten is still eaten. "
           "(Grade B) ▸ When the endoscopist suspects the disease, four or more biopsies are taken, one of them from "
           "the duodenal bulb. (Grade C) ▸ Bone density is measured after 1 year on the diet in patients older than "
           "55 years. (Grade D) ▸ Pooled data from 7 studies with over 3,000 subjects showed that irritable-bowel-like "
           "symptoms are frequent. About 20% of patients had anaemia. A cohort of 7648 people failed to show that "
           "mortality rose when villous atrophy persisted at the repeat biopsy.")


def row(answer_id: str, answer: str) -> dict:
    return verify_row(answer_id, answer, PASSAGE, "Coeliac fixture")


ROWS = [
    row("t-grade-after", "If the endoscopist suspects the disease, at least four biopsies are taken, one from the "
                         "duodenal bulb (Grade C) [1]."),
    row("t-grade-after-2", "Bone density is measured after one year on the diet in patients older than 55 years "
                           "(Grade D) [1]."),
    row("t-thousands", "Pooled data from 7 studies with over 3,000 subjects showed that irritable-bowel-like "
                       "symptoms are frequent [1]."),
    row("t-fifth", "A fifth of patients had anaemia [1]."),
    row("t-failed-to", "A cohort of 7648 people did not show that mortality rose when villous atrophy persisted at "
                       "the repeat biopsy [1]."),
    row("f-failed-to", "A cohort of 7648 people did show that mortality rose when villous atrophy persisted at the "
                       "repeat biopsy [1]."),
    row("f-grade-swapped", "If the endoscopist suspects the disease, at least four biopsies are taken, one from the "
                           "duodenal bulb (Grade B) [1]."),
    row("f-thousands", "Pooled data from 7 studies with over 5,000 subjects showed that irritable-bowel-like "
                       "symptoms are frequent [1]."),
    row("f-quarter", "A quarter of patients had anaemia [1]."),
]


def test_bench_binds_a_bracketed_grade_to_the_words_before_it_and_reads_separators_and_shares(tmp_path):
    by_id = bench_verify(tmp_path, ROWS)
    assert {i: r["removed"] for i, r in by_id.items() if r["kept"] != i.startswith("t-")} == {}
