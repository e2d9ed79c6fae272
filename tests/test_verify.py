"""The verifier on answers of known truth, and `ioguide bench verify` through its command (the real packaged
embedding model; no index needed: passages come with each answer)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ioguide.cli import app
from ioguide.quantities import canonical_text, missing_quantities, quantities

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
