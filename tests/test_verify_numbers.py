"""Numbers and grades the verifier reads as a reader does: thousands separators ("3,000" is one number), shares
written as words ("a fifth of", "seven in ten", "three quarters", "per mille"), and a grade in brackets written
after its recommendation ("... a bulb biopsy. (Grade C)") belongs to that recommendation, not to the next one; "failed
to show" is a negation a claim may not drop."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ioguide.cli import app
from ioguide.quantities import canonical_text, missing_quantities, quantities


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


PASSAGE = ("Recommendations ▸ The diagnosis requires duodenal biopsy when the patient is on a gluten-containing diet. "
           "(Grade B) ▸ At endoscopy, if there is suspicion of the disease, then at least four biopsy specimens "
           "should be obtained, including a duodenal bulb biopsy. (Grade C) ▸ Bone density should be measured after "
           "1 year of diet in patients over the age of 55 years. (Grade D) ▸ A meta-analysis of 7 studies with over "
           "3,000 subjects found that irritable-bowel-like symptoms are common. About 20% of patients had anaemia. "
           "One recent study of 7648 individuals failed to show that overall mortality was increased in patients "
           "with persistent villous atrophy at follow-up biopsy.")


def row(answer_id: str, answer: str) -> dict:
    return {"id": answer_id, "label": "true" if answer_id.startswith("t-") else "false", "answer": answer,
            "passages": [{"n": 1, "title": "Coeliac fixture", "section": "", "text": PASSAGE}]}


ROWS = [
    row("t-grade-after", "If the disease is suspected at endoscopy, at least four biopsies should be taken, one of "
                         "them from the duodenal bulb (Grade C) [1]."),
    row("t-grade-after-2", "Bone density should be measured after one year of diet in patients over the age of "
                           "55 (Grade D) [1]."),
    row("t-thousands", "A meta-analysis of 7 studies with over 3,000 subjects found that irritable-bowel-like "
                       "symptoms are common [1]."),
    row("t-fifth", "A fifth of patients had anaemia [1]."),
    row("t-failed-to", "A recent study of 7648 people did not show that overall mortality was increased in "
                       "patients with persistent villous atrophy at follow-up biopsy [1]."),
    row("f-failed-to", "A recent study of 7648 people did find increased overall mortality in patients with "
                       "persistent villous atrophy at follow-up biopsy [1]."),
    row("f-grade-swapped", "If the disease is suspected at endoscopy, at least four biopsies should be taken, one of "
                           "them from the duodenal bulb (Grade B) [1]."),
    row("f-thousands", "A meta-analysis of 7 studies with over 5,000 subjects found that irritable-bowel-like "
                       "symptoms are common [1]."),
    row("f-quarter", "A quarter of patients had anaemia [1]."),
]


def test_bench_binds_a_bracketed_grade_to_the_words_before_it_and_reads_separators_and_shares(tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["bench", "verify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    by_id = {r["id"]: r for r in json.loads(result.output)["results"]}
    assert {i: r["removed"] for i, r in by_id.items() if r["kept"] != i.startswith("t-")} == {}
