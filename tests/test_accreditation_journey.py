"""The accreditation journey of a test centre, through the app (AppTest) as two users: a staff member (sam) who
assesses, assigns and submits, and a quality lead (rita, role reviewer) who approves. Then a changed policy is
re-indexed and the requirement citing it is flagged; 30 cases are drawn from a synthetic list of 300 and reviewed;
the gap analysis (XLSX, CSV) and the application (DOCX, approved answers only) are exported.

The test centre's documents and wording come from tests/test_accreditation.py (TEST wording, not official text)."""

from __future__ import annotations

import io
import json
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from ioguide.auth import UsersFile
from ioguide.storage import LocalDB
from tests.conftest import ROOT, make_pdf
from tests.make_case_list import make_case_list
from tests.test_accreditation import TEST_WORDING, make_centre

PASSWORDS = {"sam": "staff-pass-456", "rita": "reviewer-pass-789"}
CHANGED_POLICY = [
    ["Multidisciplinary Tumour Board Policy",
     "Purpose and scope. This policy applies to the Interventional Oncology Unit of Example University Hospital."],
    ["Tumour board meetings.",
     "Patients considered for an interventional oncology procedure are discussed at the fortnightly tumour board "
     "when the treating consultant asks for it.",
     "The board's recommendation is written in the patient's record."],
]


def reindex_centre(index_dir: Path, centre: Path):
    from ingest.index import sync
    from ioguide.index import open_index

    handle = open_index(index_dir)
    return sync([centre], handle.store, handle.embedder, handle.bm25_dir, collection="centre")


def write_changed_policy(centre: Path) -> None:
    make_pdf(centre / "tumour-board-policy.pdf", title="Multidisciplinary Tumour Board Policy", pages=CHANGED_POLICY,
             footer="Tumour board policy - page {n}")


@pytest.fixture(scope="module")
def centre(tmp_path_factory, embedder):
    """The test centre: its four policies indexed (centre collection) into a real index; users; a case list."""
    from ioguide.index import open_index

    base = tmp_path_factory.mktemp("journey")
    docs = make_centre(base / "centre-docs")
    index_dir = base / "index"
    open_index(index_dir, create=True)
    report = reindex_centre(index_dir, docs)
    assert not report.skipped and len(report.indexed) == 4, report.summary()
    users = UsersFile(base / "users.json")
    users.add("sam", PASSWORDS["sam"], "staff")
    users.add("rita", PASSWORDS["rita"], "reviewer")
    cases = make_case_list(base / "cases.csv", n=300, seed=11)
    identifying = make_case_list(base / "cases-with-names.csv", n=20, seed=11,
                                 extra_columns={"Patient name": "Jane Example"})
    return {"base": base, "docs": docs, "index": index_dir, "users": users, "cases": cases,
            "identifying": identifying, "data": base / "data"}


@pytest.fixture()
def app_env(centre, monkeypatch):
    monkeypatch.setenv("IOGUIDE_INDEX_DIR", str(centre["index"]))
    monkeypatch.setenv("IOGUIDE_DATA_DIR", str(centre["data"]))
    monkeypatch.setenv("IOGUIDE_AUTH", "local")
    monkeypatch.setenv("IOGUIDE_USERS_FILE", str(centre["users"].path))
    monkeypatch.chdir(ROOT)
    return centre


def page(name: str, user: str, role: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "views" / name), default_timeout=240)
    at.session_state["user"], at.session_state["role"] = user, role
    at.run()
    assert not at.exception, at.exception
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    return at


def select(at: AppTest, typed: str) -> AppTest:
    return ok(at.text_input(key="req-search").input(typed).run())


def keyed(at: AppTest, prefix: str) -> str:
    """The key of the first button whose key starts with prefix (e.g. "approve-" + review id)."""
    return next(b.key for b in at.button if (b.key or "").startswith(prefix))


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def table(at: AppTest, column: str):
    """The first dataframe on the page with this column."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def audit(centre) -> list[dict]:
    return LocalDB(centre["data"] / "ioguide.sqlite3").audit_rows()


def test_accreditation_journey_through_the_app(app_env):
    centre = app_env
    from ioguide import accreditation as acc

    # ---- sam (staff): import the wording, draft two requirements, assess, assign an action, submit for review
    at = page("3_Accreditation.py", "sam", "staff")
    at.sidebar.file_uploader(key="wording-file").set_value(("wording.csv", TEST_WORDING.encode(), "text/csv"))
    ok(at.run())
    ok(at.sidebar.button(key="import-wording").click().run())
    assert any("Imported wording for 6 requirement(s)" in s.value for s in at.sidebar.success)

    select(at, "8a")
    ok(at.button(key="rerun").click().run())
    assert any("**Status: evidence found**" in m.value for m in at.markdown)
    assert "suggests 'met'" in " ".join(c.value for c in at.caption)
    ok(at.selectbox(key="assess-S8.a").set_value("met").run())
    ok(at.text_area(key="assess-finding-S8.a").input("Weekly board, recommendation documented.").run())
    ok(at.button(key="save-assessment").click().run())
    assert any("Current assessment: **met** by sam" in m.value for m in at.markdown)
    ok(at.button(key="submit-draft").click().run())
    assert any("submitted by sam" in i.value and "awaiting review" in i.value for i in at.info)
    ok(at.button(key=keyed(at, "approve-")).click().run())
    assert any("sam (staff) cannot approve" in e.value for e in at.error), "staff cannot sign off"

    select(at, "Standard 4 b")
    ok(at.button(key="rerun").click().run())
    statuses = [m.value for m in at.markdown if m.value.startswith("**Status: ")]
    assert statuses and not statuses[0].startswith("**Status: evidence found**"), "no centre document covers S4.b"
    ok(at.selectbox(key="assess-S4.b").set_value("not met").run())
    ok(at.button(key="save-assessment").click().run())
    late = date.today() - timedelta(days=3)
    at.text_input(key="action-title").input("Write the staff dosimetry SOP")
    at.text_input(key="action-owner").input("Dr Lee (medical physics)")
    at.date_input(key="action-due").set_value(late)
    ok(at.form_submit_button[0].click().run())
    assert any(e.value.startswith("OVERDUE: Write the staff dosimetry SOP · Dr Lee") for e in at.error)
    ok(at.button(key="submit-assessment").click().run())

    select(at, "10(c)")
    ok(at.button(key="rerun").click().run())
    ok(at.selectbox(key="assess-S10.c").set_value("partially met").run())
    ok(at.text_area(key="assess-finding-S10.c").input("Register kept; M&M minutes not filed for Q3.").run())
    ok(at.button(key="save-assessment").click().run())
    at.text_input(key="action-title").input("File the Q3 M&M minutes")
    at.text_input(key="action-owner").input("Unit secretary")
    at.date_input(key="action-due").set_value(date.today() + timedelta(days=14))
    ok(at.form_submit_button[0].click().run())
    assert not any("File the Q3" in e.value for e in at.error), "not overdue"
    ok(at.button(key=keyed(at, "done-")).click().run())
    assert any("~~File the Q3 M&M minutes" in m.value for m in at.markdown)

    select(at, "S6a")
    ok(at.selectbox(key="assess-S6.a").set_value("not applicable").run())
    ok(at.button(key="save-assessment").click().run())
    assert any("'not applicable' needs a reason" in e.value for e in at.error)

    # ---- rita (reviewer): returns the S4.b assessment with a comment, approves the S8.a draft
    at = page("3_Accreditation.py", "rita", "reviewer")
    select(at, "4b")
    review_id = keyed(at, "return-").split("-")[1]
    ok(at.button(key=f"return-{review_id}").click().run())
    assert any("returning work needs a comment" in e.value for e in at.error)
    at.text_input(key=f"review-comment-{review_id}").input("Name the physicist and the date of the last audit.")
    ok(at.button(key=f"return-{review_id}").click().run())
    assert any("returned by rita" in m.value and "Name the physicist" in m.value for m in at.markdown)
    select(at, "8a")
    review_id = keyed(at, "approve-").split("-")[1]
    ok(at.button(key=f"approve-{review_id}").click().run())
    assert any("approved by rita" in m.value for m in at.markdown)
    # Nobody approves their own work: rita's own assessment, submitted by her, cannot be approved by her.
    ok(at.selectbox(key="assess-S8.a").set_value("met").run())
    ok(at.button(key="save-assessment").click().run())
    ok(at.button(key="submit-assessment").click().run())
    ok(at.button(key=keyed(at, "approve-")).click().run())
    assert any("nobody approves their own work" in e.value for e in at.error)

    trail = [(r["user"], r["action"]) for r in audit(centre) if r["action"].startswith("accreditation_")]
    assert ("sam", "accreditation_review_submit") in trail and ("rita", "accreditation_review_approved") in trail
    assert ("rita", "accreditation_review_returned") in trail and ("sam", "accreditation_action_add") in trail
    assert ("sam", "accreditation_assess") in trail and ("sam", "accreditation_import_wording") in trail

    # ---- the tumour board policy changes and is re-indexed: S8.a is flagged with what changed
    write_changed_policy(centre["docs"])
    report = reindex_centre(centre["index"], centre["docs"])
    assert len(report.indexed) == 1, report.summary()
    # Every requirement whose draft quotes the policy is flagged (S8.a; S4.b too when its partial draft quotes it).
    citing = {rid for rid, d in acc.AccreditationStore(centre["data"] / "ioguide.sqlite3").latest_all().items()
              if any(e.title == "Multidisciplinary Tumour Board Policy" for e in d.centre_evidence)}
    # The app notices a re-index on its next index check (at most every 2 s): open the page until it has.
    deadline = time.monotonic() + 30
    while True:
        at = page("3_Accreditation.py", "sam", "staff")
        flags = {w.value.split(":")[0]: w.value for w in at.warning if "re-indexed with changes" in w.value}
        if flags or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert "S8.a" in citing and set(flags) == citing, (citing, flags)
    assert flags["S8.a"].startswith("S8.a: 'Multidisciplinary Tumour Board Policy' was re-indexed with changes")
    assert "no longer in it" in flags["S8.a"] and "weekly multidisciplinary tumour board" in flags["S8.a"]
    at_ready = page("4_Readiness.py", "sam", "staff")
    assert metric(at_ready, "Evidence to re-check") == str(len(citing))
    for rid in sorted(citing):
        ok(at.button(key=keyed(at, f"recheck-{rid}-")).click().run())
    assert not any("re-indexed with changes" in w.value for w in at.warning)

    # ---- case review: a list with a patient-name column is refused; 30 of 300 drawn, stratified, all reviewed
    at = page("5_Case_review.py", "sam", "staff")
    at.file_uploader(key="cases-file").set_value(("with-names.csv", centre["identifying"].read_bytes(), "text/csv"))
    at.text_input(key="cr-seed").input("audit-2026")
    ok(at.form_submit_button[0].click().run())
    assert any("column 'Patient name' looks like a name" in e.value for e in at.error)
    assert LocalDB(centre["data"] / "ioguide.sqlite3").audit_rows()[-1]["action"] != "casereview_draw"
    at.file_uploader(key="cases-file").set_value(("cases.csv", centre["cases"].read_bytes(), "text/csv"))
    at.text_input(key="cr-seed").input("audit-2026")
    at.checkbox(key="cr-stratify").check()
    ok(at.form_submit_button[0].click().run())
    assert any("Drew 30 of 300 cases" in s.value for s in at.success)
    drawn = list(table(at, "Case")["Case"])
    from ioguide.accreditation.casereview import draw_cases

    assert [c.case_id for c in sorted(draw_cases(acc.read_case_list(centre["cases"]).cases, 30, "audit-2026",
                                                 stratify=True), key=lambda c: (c.procedure, c.case_id))] == drawn
    failing = set(drawn[::7])
    for case_id in drawn:
        assert at.selectbox(key="cr-case").value == case_id, "the case box moves on to the next case"
        if case_id in failing:
            at.radio(key=f"cr-{case_id}-1").set_value("no")
        ok(at.form_submit_button[-1].click().run())
    summary = "\n".join(m.value for m in at.markdown)
    assert "30 fully recorded" in summary
    rate = f"{(30 - len(failing)) / 30:.0%}"
    assert f"Consent documented: {rate} ({30 - len(failing)} yes, {len(failing)} no, 0 n/a); failed: " \
           + ", ".join(c for c in drawn if c in failing) in summary

    # ---- readiness: S8.a met, S4.b missing with its overdue action, case review complete
    at = page("4_Readiness.py", "rita", "reviewer")
    assert metric(at, "Core requirements met") == "1 of 27"
    assert metric(at, "Overdue actions") == "1"
    missing = table(at, "Open actions").set_index("Requirement")
    assert missing.loc["S4.b", "Assessment"] == "not met" and missing.loc["S4.b", "Open actions"] == 1
    assert "S8.a" not in missing.index
    assert not any("Internal case review" in w.value for w in at.warning), "the case review is complete"
    assert "Write the staff dosimetry SOP" in set(table(at, "Action")["Action"])

    # ---- exports through the CLI: gap analysis XLSX and CSV, application DOCX with approved answers only
    export_and_check(centre)


def export_and_check(centre) -> None:
    import docx
    from openpyxl import load_workbook

    from ioguide.cli import app

    runner = CliRunner()
    out = centre["base"] / "exports"
    out.mkdir(exist_ok=True)
    for fmt in ("xlsx", "csv"):
        result = runner.invoke(app, ["coverage", "export", "--format", fmt, "--out", str(out / f"gap.{fmt}")])
        assert result.exit_code == 0, result.output
    sheet = load_workbook(out / "gap.xlsx")["Gap analysis"]
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["Requirement", "Standard"] and {"Evidence (centre documents)", "Finding", "Assessment",
                                                           "Actions", "Owner", "Due", "Reviewer"} <= set(header)
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 37
    s8a, s4b = rows["S8.a"], rows["S4.b"]
    assert "Multidisciplinary Tumour Board Policy, p. 2" in s8a["Evidence (centre documents)"]
    assert s8a["Assessment"] == "met" and "draft v1: approved by rita" in s8a["Reviewer"]
    assert "submitted by rita" in s8a["Reviewer"] and "awaiting review" in s8a["Reviewer"]
    assert s4b["Assessment"] == "not met" and "OVERDUE" in s4b["Actions"] and s4b["Owner"].startswith("Dr Lee")
    assert "returned by rita" in s4b["Reviewer"] and "Name the physicist" in s4b["Reviewer"]
    assert rows["S10.c"]["Assessment"] == "partially met" and "[done]" in rows["S10.c"]["Actions"]
    assert "Core requirements met: 1 of 27" in [r[0] for r in load_workbook(out / "gap.xlsx")["Summary"].values]
    assert (out / "gap.csv").read_text().splitlines()[0].startswith("Requirement,Standard,Section,Core/extended")
    save_gap_png(out / "gap.xlsx", ROOT / "runs" / "screenshots" / "gap-analysis-xlsx.png")

    result = runner.invoke(app, ["coverage", "export", "--format", "docx", "--approved-only", "--out",
                                 str(out / "approved.docx")])
    assert result.exit_code == 0, result.output
    text = "\n".join(p.text for p in docx.Document(str(out / "approved.docx")).paragraphs)
    assert "Approved by rita" in text and "weekly multidisciplinary tumour board" in text
    assert "No approved answer yet" in text and "DRAFT - not approved yet" not in text
    result = runner.invoke(app, ["coverage", "export", "--format", "docx", "--approved-only", "--include-drafts",
                                 "--out", str(out / "with-drafts.docx")])
    assert result.exit_code == 0, result.output
    text = "\n".join(p.text for p in docx.Document(str(out / "with-drafts.docx")).paragraphs)
    assert "DRAFT - not approved yet" in text and "Approved by rita" in text
    result = runner.invoke(app, ["casereview", "summary"])
    assert result.exit_code == 0 and "30 fully recorded" in result.output


def save_gap_png(xlsx: Path, png: Path, rows: int = 8) -> Path:
    """The worked rows of the exported gap analysis (drafted, assessed or with actions) drawn as a table."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from openpyxl import load_workbook

    values = list(load_workbook(xlsx)["Gap analysis"].iter_rows(values_only=True))
    worked = [r for r in values[1:] if r[7] != "not drafted" or r[8] != "not assessed" or r[9]]
    keep = [0, 3, 5, 6, 7, 8, 9, 10, 11, 12]
    width = {5: 55, 6: 30, 9: 26, 12: 26}
    cells = [["\n".join(textwrap.wrap(str(r[i] or ""), width.get(i, 14))[:6]) for i in keep] for r in worked[:rows]]
    fig, ax = plt.subplots(figsize=(24, 1.2 + 1.3 * len(cells)))
    ax.axis("off")
    table = ax.table(cellText=cells, colLabels=[values[0][i] for i in keep], loc="upper left", cellLoc="left",
                     colWidths=[0.05, 0.06, 0.27, 0.15, 0.07, 0.07, 0.12, 0.07, 0.06, 0.12])
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 5.5)
    for (row, _col), cell in table.get_celld().items():
        if row == 0:
            cell.set_facecolor("#2b6cb0")
            cell.get_text().set_color("white")
    ax.set_title(f"{xlsx.name} (sheet 'Gap analysis'): the requirements worked on in the journey test", loc="left")
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return png


def test_cli_casereview_draw_is_reproducible_and_refuses_identifying_columns(centre, tmp_path, monkeypatch):
    from ioguide.cli import app

    monkeypatch.setenv("IOGUIDE_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    first = runner.invoke(app, ["casereview", "draw", str(centre["cases"]), "--n", "30", "--seed", "S", "--json"])
    again = runner.invoke(app, ["casereview", "draw", str(centre["cases"]), "--n", "30", "--seed", "S", "--json"])
    other = runner.invoke(app, ["casereview", "draw", str(centre["cases"]), "--n", "30", "--seed", "T", "--json"])
    assert first.exit_code == 0, first.output
    ids = [[c["case_id"] for c in json.loads(r.stdout)["cases"]] for r in (first, again, other)]
    assert len(ids[0]) == 30 and ids[0] == ids[1] != ids[2]
    assert json.loads(first.stdout)["seed"] == "S" and len(json.loads(first.stdout)["list_sha256"]) == 64
    refused = runner.invoke(app, ["casereview", "draw", str(centre["identifying"]), "--seed", "S"])
    assert refused.exit_code == 2 and "column 'Patient name' looks like a name" in refused.output
    stored = io.StringIO()
    for row in LocalDB(tmp_path / "ioguide.sqlite3").audit_rows():
        stored.write(row["detail"])
    assert "Jane Example" not in stored.getvalue()
