"""The verifier on answers of known truth, and `ioguide bench verify` through its command (the real packaged
embedding model; no index needed: passages come with each answer)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ioguide.cli import app
from ioguide.quantities import (
    canonical_text,
    conflicting_ranges,
    list_counts,
    missing_quantities,
    quantities,
)
from ioguide.verify_bounds import missing_bounds

PASSAGE = ("Grade 2: unplanned prolonged hospital stay of less than 48 h, with no additional therapy. "
           "Grade 3: additional therapy was needed, or the hospital stay was longer than 48 h, but there were no "
           "sequelae. Follow-up imaging is proposed at 1, 3, 6, 9 and 12 months in the first year and every 6 months "
           "thereafter. The ablative margin should ideally be 0.5–1.0 cm wide.")
OTHER = "IASIOS accreditation is valid for four years. The internal case review covers 30 randomly selected patients."


def q(text: str):
    return quantities(canonical_text(text))


@pytest.mark.parametrize(("claim", "source"), [
    ("three weeks", "21 days"), ("21 days", "3 weeks"), ("forty-eight hours", "48 h"), ("two days", "48 h"),
    ("5 to 10 mm", "0.5–1.0 cm"), ("42 percent", "42%"), ("a 4-year period", "four years"),
    ("twice a year", "every 6 months"), ("yearly", "every 12 months"), ("two and a half years", "30 months"),
])
def test_equal_quantities_written_differently_match(claim, source):
    assert not missing_quantities(q(claim), q(source)), (q(claim), q(source))


@pytest.mark.parametrize(("claim", "source"), [
    ("three weeks", "3 months"), ("0.5 to 1 mm", "0.5–1.0 cm"), ("72 h", "48 h"), ("12 weeks", "3 months"),
    ("five years", "four years"), ("4 per mille", "4%"),
])
def test_different_quantities_do_not_match(claim, source):
    assert missing_quantities(q(claim), q(source))


def write_answers(path, rows) -> None:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


def row(answer_id: str, answer: str, label: str, kind: str) -> dict:
    return {"id": answer_id, "label": label, "kind": kind, "split": "dev", "answer": answer,
            "passages": [{"n": 1, "title": "CIRSE complications 2017", "section": "Grades", "text": PASSAGE},
                         {"n": 2, "title": "IASIOS", "section": "Pathway", "text": OTHER}]}


ROWS = [
    row("t-words", "A complication that prolongs the stay, unplanned, by less than forty-eight hours with no "
                   "additional therapy is grade 2 [1].", "true", "number_words"),
    row("t-unit", "The ablative margin should ideally be 5 to 10 mm wide [1].", "true", "unit_conversion"),
    row("t-other", "IASIOS accreditation is valid for 4 years [2].", "true", "number_words"),
    row("f-number", "A complication that prolongs the stay by less than 72 h with no additional therapy is "
                    "grade 2 [1].", "false", "number_changed"),
    row("f-unit", "The ablative margin should ideally be 0.5 to 1.0 mm wide [1].", "false", "unit_changed"),
    row("f-negation", "If additional therapy was needed or the stay was longer than 48 h, there were sequelae [1].",
        "false", "negation_flipped"),
    row("f-grade", "A complication that needs additional therapy, or a stay longer than 48 h, is grade 4 [1].",
        "false", "grade_swapped"),
    row("f-marker", "The internal case review covers 30 randomly selected patients [1].", "false", "wrong_passage"),
]


def test_bench_verify_json_reports_each_answer_and_the_summary(tmp_path):
    path = tmp_path / "answers.jsonl"
    write_answers(path, ROWS)
    result = CliRunner().invoke(app, ["bench", "verify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["summary"] == {"n_true": 3, "n_false": 5, "true_kept_rate": 1.0, "false_removed_rate": 1.0}
    by_id = {r["id"]: r for r in out["results"]}
    assert by_id["t-words"]["kept"] and not by_id["t-words"]["removed"]
    assert by_id["f-number"]["removed"][0]["reason"] == "states 72 h, not in passage 1"
    assert by_id["f-unit"]["removed"][0]["reason"] == "states 0.5 mm, 1.0 mm, not in passage 1"
    assert not by_id["f-marker"]["kept"] and not by_id["f-negation"]["kept"] and not by_id["f-grade"]["kept"]


def test_bench_verify_text_lists_failures(tmp_path):
    path = tmp_path / "answers.jsonl"
    # A "true" label on a changed number: the bench must show it as a true answer that was cut, with the reason.
    write_answers(path, [ROWS[0], {**ROWS[3], "label": "true"}])
    result = CliRunner().invoke(app, ["bench", "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "split dev: 2 true, kept 50.0%" in result.output
    assert "f-number [dev number_changed] true answer cut" in result.output
    assert "removed (states 72 h, not in passage 1)" in result.output


def test_bench_verify_names_the_file_line_and_field_of_bad_input(tmp_path):
    path = tmp_path / "bad.jsonl"
    write_answers(path, [ROWS[0], {**ROWS[1], "label": "maybe"}])
    result = CliRunner().invoke(app, ["bench", "verify", str(path)])
    assert result.exit_code == 2
    assert f"{path}, line 2: field 'label' must be" in result.output


@pytest.mark.parametrize(("claim", "source", "missing"), [
    ("over 42 societies", "supported by more than 40 societies; the press release gave 42", True),
    ("more than 40 societies", "supported by more than 40 societies", False),
    ("slices a thicker than 3 mm", "CT slices should be at most 3 mm thick", True),
    ("slices no thicker than three millimetres", "CT slices should be at most 3 mm thick", False),
    ("margins under 0.5 cm", "margins of 5 mm or less", False),
    ("margins over 0.5 cm", "margins of 5 mm or less", True),
    ("a stay longer than 48 h", "the stay is prolonged beyond 48 h", False),
])
def test_comparators_are_compared_by_direction(claim, source, missing):
    assert bool(missing_bounds(canonical_text(claim), canonical_text(source))) is missing


def test_a_range_bound_moved_within_a_stated_range_is_found():
    source = "pneumothorax in 15–25% of cases and a chest tube in 4–6%"
    assert conflicting_ranges("pneumothorax in 25–25% of cases", source) == [(25.0, 25.0)]
    assert not conflicting_ranges("pneumothorax in 15 to 25% of cases", source)


@pytest.mark.parametrize(("text", "counts"), [
    ("The guideline names three aims: consolidating the fracture, relieving pain and, where possible, restoring "
     "height.", {3.0}),
    ("Standard 1 has five core items (a, c, e, f and g).", {5.0}),
    ("The checklist has two parts: Sign-in, done before, and Sign-out, done after it.", {2.0}),
    ("The guideline names four aims: consolidating the fracture, relieving pain and restoring height.", set()),
])
def test_a_count_is_a_list_count_only_when_it_counts_the_listed_items(text, counts):
    assert list_counts(canonical_text(text)) == counts


BOTH_GRADES = ("In 2017, a complication that prolongs the hospital stay by less than 48 h and needs no extra "
               "treatment is grade 2. Once additional therapy is needed, the event moves to grade 3. For lung biopsy, "
               "pneumothorax of any size occurs in 15–25% of cases and needs a chest tube in 4–6%. CT slices should "
               "be at most 3 mm thick. Follow-up imaging aims:\n- to detect residual tumour early;\n- to detect local "
               "tumour progression;\n- to find new lesions.")


def both_row(answer_id: str, answer: str, label: str) -> dict:
    return {"id": answer_id, "label": label, "answer": answer,
            "passages": [{"n": 1, "title": "Complications and follow-up", "section": "", "text": BOTH_GRADES}]}


def test_bench_verify_catches_swaps_and_flips_that_the_quote_seems_to_hold(tmp_path):
    path = tmp_path / "answers.jsonl"
    write_answers(path, [
        both_row("t-count", "Follow-up imaging has three aims: detecting residual tumour early, detecting local "
                            "tumour progression and finding new lesions [1].", "true"),
        both_row("t-bound", "CT slices should be no thicker than three millimetres [1].", "true"),
        # the next sentence names grade 3, but the words of this claim are those of the grade 2 sentence
        both_row("f-grade", "A complication that prolongs the hospital stay by less than 48 h and needs no extra "
                            "treatment is grade 3 [1].", "false"),
        both_row("f-no", "A complication that prolongs the hospital stay by less than 48 h and needs a extra "
                         "treatment is grade 2 [1].", "false"),
        both_row("f-bound", "CT slices should be thicker than 3 mm [1].", "false"),
        both_row("f-range", "For lung biopsy, pneumothorax of any size occurs in 25–25% of cases [1].", "false"),
        both_row("f-count", "Follow-up imaging has four aims: detecting residual tumour early, detecting local "
                            "tumour progression and finding new lesions [1].", "false"),
    ])
    result = CliRunner().invoke(app, ["bench", "verify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    by_id = {r["id"]: r for r in json.loads(result.output)["results"]}
    assert [i for i, r in by_id.items() if r["kept"] != i.startswith("t-")] == []
    assert by_id["f-grade"]["removed"][0]["reason"] == "states grade 3, where passage 1 gives another"
