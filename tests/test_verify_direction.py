"""Round four of the verifier: a reversed direction word is removed although every other word is the passage's
("longer survival" for "shorter survival"), while a comparison restated from its other side ("less common than"
for "more common than", sides exchanged) is kept; bounds written as a paraphrase writes them ("up to 4 mg" for
"maximum 4 mg", "aged 55 or over" for "55 years and over", "under 30" for "younger than 30 years") are kept, a
flipped bound is still removed; "95% CI" is the passage's "95% confidence interval"; a claim that keeps a passage
negation with a negation of its own in other words ("fail to combine" for "are not using the combination") is kept,
and "no statin" restates the passage's group "no-statin" without negating anything."""

from __future__ import annotations

import pytest

from ioguide.verify_bounds import missing_bounds
from ioguide.verify_direction import reversed_directions
from ioguide.verify_terms import canonical
from tests.conftest import bench_verify, verify_row

# Our own wording (facts as commonly reported in trial abstracts; no sentence of a source).
PASSAGE = (
    "In poorly differentiated tumours, a high density of macrophages was linked to shorter cancer-related survival. "
    "Leucocytosis was more common than leucopenia in the children admitted with fever. "
    "Newer microwave systems create larger ablation zones than radiofrequency devices. "
    "The carers' unmet needs showed a weak positive correlation with their anxiety scores. "
    "A single dose of the antiemetic (0.1 mg/kg, maximum 4 mg) was given to children aged 2 to 12 years. "
    "The survey covered 5200 adults aged 55 years and over. "
    "The risk of a high-grade lesion was highest among women younger than 30 years. "
    "After adjustment, statin use was not associated with kidney injury (odds ratio 0.79; 95% confidence interval "
    "0.59 to 1.06). "
    "Dialysis was needed by 0.8% on a high dose vs 1.9% on a low dose vs 1% no-statin. "
    "Most people trying to lose weight are not using the recommended combination of eating less and exercising "
    "150 minutes or more per week.")


def _reversed(claim: str) -> list[tuple[str, str]]:
    return reversed_directions(canonical(claim), canonical(PASSAGE))


@pytest.mark.parametrize(("claim", "words"), [
    ("In poorly differentiated tumours, a high density of macrophages went with longer cancer-related survival.",
     ("longer", "shorter")),
    ("Newer microwave systems create smaller ablation zones than radiofrequency devices.", ("smaller", "larger")),
    ("The carers' unmet needs showed a weak negative correlation with their anxiety scores.",
     ("negative", "positive")),
])
def test_a_reversed_direction_word_is_named_with_the_passage_word(claim, words):
    assert words in _reversed(claim)


@pytest.mark.parametrize("claim", [
    "Leucopenia was less common than leucocytosis in the children admitted with fever.",  # sides exchanged
    "In poorly differentiated tumours, many macrophages went with shorter cancer-related survival.",
    "Microwave systems of the newer kind make bigger ablation zones than radiofrequency devices do.",
    "As well as being weak, the correlation of unmet needs with anxiety scores was positive.",
])
def test_a_comparison_restated_in_the_same_direction_or_from_its_other_side_is_not_reversed(claim):
    assert _reversed(claim) == []


@pytest.mark.parametrize("claim", [
    "Each child received up to 4 mg.",
    "The survey covered adults aged 55 or over.",
    "The risk was highest in women under 30.",
])
def test_bounds_written_the_way_a_paraphrase_writes_them_are_found(claim):
    assert missing_bounds(canonical(claim), canonical(PASSAGE)) == []


@pytest.mark.parametrize("claim", [
    "Each child received at least 4 mg.",
    "The survey covered adults aged 55 or under.",
    "The risk was highest in women over 30.",
])
def test_a_flipped_bound_is_missing(claim):
    assert missing_bounds(canonical(claim), canonical(PASSAGE)) != []


def row(answer_id: str, answer: str) -> dict:
    return verify_row(answer_id, answer, PASSAGE, "Round four fixture")


def test_bench_removes_reversed_directions_and_keeps_paraphrased_bounds_and_negations(tmp_path):
    rows = [
        row("t-sides", "Leucopenia was less common than leucocytosis in children admitted with fever [1]."),
        row("t-bound", "Children aged 2 to 12 years got one antiemetic dose of 0.1 mg/kg, up to 4 mg [1]."),
        row("t-ci", "After adjustment, statin use showed no association with kidney injury (odds ratio 0.79; 95% CI "
                    "0.59 to 1.06) [1]."),
        row("t-group", "Dialysis was needed by 0.8% on a high dose, 1.9% on a low dose and 1% on no statin [1]."),
        row("t-negation", "Most people trying to lose weight fail to combine eating less with 150 minutes or more "
                          "of exercise a week, as recommended [1]."),
        row("f-survival", "In poorly differentiated tumours, a high density of macrophages was linked to longer "
                          "cancer-related survival [1]."),
        row("f-zones", "Newer microwave systems create smaller ablation zones than radiofrequency devices [1]."),
        row("f-bound", "Children aged 2 to 12 years got one antiemetic dose of 0.1 mg/kg, at least 4 mg [1]."),
        row("f-ci", "After adjustment, statin use was associated with kidney injury (odds ratio 0.79; 95% CI "
                    "0.59 to 1.06) [1]."),
        row("f-negation", "Most people trying to lose weight combine eating less with 150 minutes or more of "
                          "exercise a week, as recommended [1]."),
    ]
    by_id = bench_verify(tmp_path, rows)
    assert {i: r["removed"] for i, r in by_id.items() if r["kept"] != i.startswith("t-")} == {}
    assert "'longer'" in by_id["f-survival"]["removed"][0]["reason"]
    assert "'shorter'" in by_id["f-survival"]["removed"][0]["reason"]
