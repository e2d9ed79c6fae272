"""The internal case review helper with a synthetic case list of a few hundred pseudonymous cases
(tests/make_case_list.py): identifying columns refused by name, a reproducible draw (seed; any row order),
stratified shares, a checklist per case and a summary with rates and failing cases; nothing identifying stored."""

from __future__ import annotations

import sqlite3
from collections import Counter

import pytest

from ioguide import accreditation as acc
from ioguide.accreditation.casereview import draw_cases, format_summary
from ioguide.storage import LocalDB
from tests.make_case_list import make_case_list


@pytest.fixture()
def reviews(tmp_path):
    db = LocalDB(tmp_path / "ioguide.sqlite3")
    return acc.CaseReviews(db.path, db)


@pytest.mark.parametrize(("column", "what"), [
    ("Patient name", "a name"), ("surname", "a name"), ("DOB", "a date of birth"),
    ("date_of_birth", "a date of birth"), ("MRN", "a hospital or national patient number"),
    ("Hospital number", "a hospital or national patient number"), ("NHS no", "a hospital or national patient number"),
    ("Address", "contact details")])
def test_a_list_with_identifying_columns_is_refused_naming_the_column(tmp_path, reviews, column, what):
    path = make_case_list(tmp_path / "cases.csv", n=40, extra_columns={column: "x"})
    with pytest.raises(acc.CaseListError) as err:
        acc.read_case_list(path)
    assert f"column '{column}' looks like {what}" in str(err.value) and "Nothing was stored" in str(err.value)
    assert reviews.latest() is None


def test_operator_and_procedure_names_are_not_patient_data(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("Case ID,Procedure date,Procedure type,Operator name\nIO-1,2025-02-03,TACE,OP-01\n")
    assert [c.case_id for c in acc.read_case_list(path).cases] == ["IO-1"]


def test_bad_rows_are_reported_by_line_and_field(tmp_path):
    path = tmp_path / "cases.csv"
    path.write_text("case_id,date,procedure,operator\nIO-1,2025-02-03,TACE,OP-01\nIO-1,2025-02-04,TARE,OP-02\n"
                    "IO-3,03/02/2025,TACE,OP-01\n,2025-02-05,TACE,OP-01\n")
    with pytest.raises(acc.CaseListError) as err:
        acc.read_case_list(path)
    message = str(err.value)
    assert "line 3, field 'case_id': IO-1 repeats line 2" in message
    assert "line 4, field 'date': '03/02/2025' is not a date (YYYY-MM-DD)" in message
    assert "line 5, field 'case_id': empty" in message
    with pytest.raises(acc.CaseListError, match=r"missing column\(s\) operator"):
        acc.parse_case_list("case_id,date,procedure\nIO-1,2025-01-01,TACE\n", "three.csv")


def test_the_draw_is_reproducible_from_seed_and_list_and_stratified_when_asked(tmp_path):
    cases = acc.read_case_list(make_case_list(tmp_path / "cases.csv", n=300, seed=3)).cases
    first = draw_cases(cases, 30, "audit-2026")
    assert len(first) == 30 == len({c.case_id for c in first})
    assert draw_cases(tuple(reversed(cases)), 30, "audit-2026") == first, "row order does not change the draw"
    assert draw_cases(cases, 30, "audit-2027") != first
    shares = Counter(c.procedure for c in cases)
    drawn = Counter(c.procedure for c in draw_cases(cases, 30, "audit-2026", stratify=True))
    assert sum(drawn.values()) == 30 and set(drawn) == set(shares), "every procedure type is represented"
    for kind, n in shares.items():
        assert abs(drawn[kind] - 30 * n / 300) <= 1, (kind, drawn[kind], n)


def test_checklist_summary_rates_and_failing_cases_and_nothing_identifying_kept(tmp_path, reviews):
    case_list = acc.read_case_list(make_case_list(tmp_path / "cases.csv", n=250, seed=5))
    review = reviews.draw(case_list, 30, "S-1", "qa", stratify=True,
                          checklist=("Discussed at the tumour board", "Consent documented"))
    assert reviews.status() == "0 of 30 cases recorded (review 1)"
    failing = {review.cases[2].case_id, review.cases[9].case_id}
    for c in review.cases:
        reviews.record(review.review_id, c.case_id, "Discussed at the tumour board", "yes", "qa")
        reviews.record(review.review_id, c.case_id, "Consent documented",
                       "no" if c.case_id in failing else ("n/a" if c is review.cases[0] else "yes"), "qa")
    items, complete = reviews.summary(review.review_id)
    assert complete == 30 and reviews.status() == ""
    consent = items[1]
    assert (consent.yes, consent.no, consent.not_applicable) == (27, 2, 1) and set(consent.failing) == failing
    assert round(consent.rate, 3) == round(27 / 29, 3)
    text = "\n".join(format_summary(review, items, complete))
    assert "Consent documented: 93% (27 yes, 2 no, 1 n/a); failed:" in text and "seed 'S-1'" in text
    with pytest.raises(acc.CaseListError, match="not among the cases drawn"):
        reviews.record(review.review_id, "IO-25-9999", "Consent documented", "yes", "qa")
    with pytest.raises(acc.CaseListError, match="not on this review's checklist"):
        reviews.record(review.review_id, review.cases[0].case_id, "Imaging", "yes", "qa")
    with sqlite3.connect(reviews.path) as con:
        kept = con.execute("SELECT COUNT(*) FROM casereview_cases").fetchone()[0]
    assert kept == 30, "only the drawn cases are kept, not the list"


def test_recheck_flags_name_what_changed_and_a_removed_document():
    """Evidence links keep the quoted version: a changed document names the lost quote, a removed one is flagged,
    an acknowledged re-check clears the flag for that version only."""
    from ioguide.accreditation import Draft, Evidence, recheck_flags

    quote = "Every patient is discussed at the weekly tumour board."
    evidence = (Evidence("centre", "tb-policy", "Tumour Board Policy", "tb.pdf", (2,), (quote,), (1,), "hash-1",
                         "2026-01-05T10:00:00+0000"),
                Evidence("centre", "sop", "Audit SOP", "sop.docx", (), ("Audits run twice a year.",), (2,), "hash-9"))
    drafts = {"S8.a": Draft("S8.a", "text", "evidence found", (), evidence[:1]),
              "S12.a": Draft("S12.a", "text", "partial", (), evidence[1:])}
    docs = [{"doc_id": "tb-policy", "file_hash": "hash-2", "indexed_at": "2026-03-01T09:00:00+0000"}]
    texts = {"tb-policy": "Patients are discussed at the fortnightly board on request."}
    flags = {f.requirement_id: f for f in recheck_flags(drafts, docs, texts.__getitem__)}
    assert flags["S8.a"].change == "changed" and flags["S8.a"].quotes_gone == (quote,)
    assert "re-indexed with changes on 2026-03-01" in flags["S8.a"].message() and quote in flags["S8.a"].message()
    assert flags["S12.a"].change == "removed" and "was removed from the index" in flags["S12.a"].message()
    assert recheck_flags(drafts, docs, texts.__getitem__, {("S8.a", "tb-policy"): "hash-2",
                                                          ("S12.a", "sop"): "removed"}) == []
    docs[0]["file_hash"] = "hash-3"  # changed again after the re-check: flagged again
    assert [f.requirement_id for f in recheck_flags(drafts, docs, texts.__getitem__,
                                                    {("S8.a", "tb-policy"): "hash-2"})] == ["S8.a", "S12.a"]
