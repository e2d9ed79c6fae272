"""Accreditation drafting against a real test centre: short policies made here as PDF (fpdf2) and DOCX
(python-docx), indexed with the bundled corpus into a real Chroma index, and test wording imported the way a centre
imports the official wording from its IASIOS Application Manual.

The wording below is TEST wording written for these tests; it is not the official text of any standard."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, make_pdf

# Which test-centre document should answer which requirement (by the test wording).
WORDING_ROWS = [
    ("S8.a", "Tumour board", "The facility holds a multidisciplinary tumour board at which every patient is discussed "
     "before interventional oncology treatment, and the board's recommendation is documented."),
    ("S12.a", "Case review and audit", "The facility performs an internal case review of randomly selected "
     "interventional oncology patients and a regular clinical audit, and acts on the results."),
    ("S10.c", "Complication reporting", "Complications and adverse events are recorded and graded with the CIRSE "
     "classification and reviewed at a morbidity and mortality meeting."),
    ("S1.a", "Outpatient clinic", "Interventional oncology physicians run an outpatient clinic where patients are "
     "seen before and after treatment."),
    ("S4.b", "Radiation protection", "Staff exposed to ionising radiation wear personal dosimeters, and their doses "
     "are monitored by a medical physics expert."),
    ("S6.a", "Equipment quality control", "The angiography and CT equipment used for procedures has planned "
     "maintenance and quality control tests, with the records kept."),
]


def wording_csv(rows: list[tuple[str, str, str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["requirement_id", "title", "wording"])
    writer.writerows(rows)
    return buf.getvalue()


TEST_WORDING = wording_csv(WORDING_ROWS)
COVERED = {"S8.a": "Multidisciplinary Tumour Board Policy", "S12.a": "Internal Case Review and Clinical Audit SOP",
           "S10.c": "Complication Reporting Policy", "S1.a": "Interventional Oncology Outpatient Clinic"}
UNCOVERED = ("S4.b", "S6.a")


def make_docx(path: Path, title: str, sections: list[tuple[str, list[str]]]) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, 0)
    for heading, paragraphs in sections:
        document.add_heading(heading, level=1)
        for para in paragraphs:
            document.add_paragraph(para)
    document.save(str(path))
    return path


def make_centre(folder: Path) -> Path:
    """Four short policies of a fictional IO unit; none mentions radiation dosimetry or equipment QC."""
    folder.mkdir(parents=True, exist_ok=True)
    make_pdf(folder / "tumour-board-policy.pdf", title="Multidisciplinary Tumour Board Policy", pages=[
        ["Multidisciplinary Tumour Board Policy",
         "Purpose and scope. This policy applies to the Interventional Oncology Unit of Example University "
         "Hospital. It was approved by the Head of Department in March 2024 and is reviewed every two years.",
         "Responsibilities. The unit lead keeps this policy current and makes it known to new staff."],
        ["Tumour board meetings.",
         "Every patient considered for an interventional oncology procedure is discussed at the weekly "
         "multidisciplinary tumour board before treatment.",
         "The tumour board includes an interventional radiologist, a medical oncologist, a hepatobiliary surgeon, "
         "a radiation oncologist, a pathologist and a diagnostic radiologist.",
         "The board's treatment recommendation and the names of those present are documented in the patient's "
         "electronic record on the day of the meeting."],
    ], footer="Tumour board policy - page {n}")
    make_docx(folder / "case-review-audit-sop.docx", "Internal Case Review and Clinical Audit SOP", [
        ("Scope", ["This standard operating procedure covers quality review of all interventional oncology "
                   "treatments in the unit."]),
        ("Internal case review", [
            "Once a year the unit carries out an internal case review of 30 randomly selected interventional "
            "oncology patients, checking indication, tumour board discussion, consent, technique and outcome.",
            "Two consultants who did not treat the patient perform each review."]),
        ("Clinical audit", [
            "A clinical audit of outcomes and complication rates is carried out every six months.",
            "Audit results are presented at the quarterly quality meeting and each agreed action has an owner and a "
            "deadline, which are followed up at the next meeting."]),
    ])
    make_pdf(folder / "complication-reporting-policy.pdf", title="Complication Reporting Policy", pages=[
        ["Complication Reporting Policy",
         "Scope. This policy covers all patients treated in the Interventional Oncology Unit."],
        ["Recording and grading of complications.",
         "Every complication or adverse event after an interventional oncology procedure is recorded in the unit "
         "register within 24 hours and graded with the CIRSE classification system for complications.",
         "CIRSE grade 1 is a complication resolved within the same procedure; grade 2 needs an unplanned stay of "
         "under 48 hours; grade 3 needs additional therapy or a stay over 48 hours; grade 4 leaves mild permanent "
         "sequelae; grade 5 severe permanent sequelae; grade 6 is death.",
         "All grade 3 to 6 complications are reviewed at the monthly morbidity and mortality meeting."],
    ], footer="Complication reporting - page {n}")
    make_docx(folder / "outpatient-clinic.docx", "Interventional Oncology Outpatient Clinic", [
        ("Clinic", [
            "Interventional oncology physicians run a dedicated outpatient clinic twice a week.",
            "Patients are seen in the clinic before treatment to discuss the procedure and after treatment to review "
            "recovery and imaging results."]),
        ("Follow-up", ["Follow-up imaging is booked at one month and then every three months."]),
    ])
    return folder


@pytest.fixture(scope="module")
def centre_index(tmp_path_factory, embedder):
    """Bundled corpus (guidelines) + the test centre's documents (centre), in one real index."""
    from ingest.index import sync
    from ioguide.index import open_index

    base = tmp_path_factory.mktemp("accreditation")
    centre = make_centre(base / "centre-docs")
    index_dir = base / "index"
    handle = open_index(index_dir, create=True)
    report = sync([ROOT / "corpus"], handle.store, handle.embedder, handle.bm25_dir)
    assert not report.skipped, report.skipped
    report = sync([centre], handle.store, handle.embedder, handle.bm25_dir, collection="centre")
    assert not report.skipped and len(report.indexed) == 4, report.summary()
    return index_dir


@pytest.fixture(scope="module")
def centre_assistant(centre_index):
    from ioguide.index import open_index
    from ioguide.service import Assistant

    return Assistant(open_index(centre_index))


@pytest.fixture(scope="module")
def drafted(tmp_path_factory, centre_assistant):
    """Wording imported, then a full coverage run (every requirement drafted) into a fresh SQLite file."""
    from ioguide import accreditation as acc

    db_path = tmp_path_factory.mktemp("acc-data") / "ioguide.sqlite3"
    standards = acc.load_standards()
    store = acc.AccreditationStore(db_path)
    report = acc.import_wording(TEST_WORDING, "test-wording.csv", standards, store, user="tester")
    assert sorted(report.imported) == sorted(list(COVERED) + list(UNCOVERED))
    reqs = acc.requirement_list(standards, store)
    rows = acc.coverage(reqs, store, centre_assistant, author="tester")
    return {"standards": standards, "store": store, "reqs": reqs, "rows": rows, "db_path": db_path}


# ---------------------------------------------------------------- the structure


def test_standards_file_holds_the_published_structure_and_nothing_invented():
    from ioguide import accreditation as acc

    standards = acc.load_standards()
    assert standards.sections == {1: "Staff and Facilities", 2: "Treatment Planning and Delivery",
                                  3: "Safety and Quality"}
    assert [n for n, s in standards.section_of.items() if s == 2] == [7, 8, 9]
    core = {}
    for r in standards.requirements:
        if r.core:
            core.setdefault(r.standard, []).append(r.letter)
    assert core == {1: list("acefg"), 2: ["b"], 3: ["a", "c"], 4: list("bcd"), 5: ["d"], 6: list("abcd"),
                    7: ["a", "b"], 8: list("abcde"), 10: ["c"], 11: ["a"], 12: ["a", "b"]}
    extended = [r.requirement_id for r in standards.requirements if not r.core]
    assert extended == ["S1.b", "S1.d", "S2.a", "S3.b", "S4.a", "S5.a", "S5.b", "S5.c", "S10.a", "S10.b"]
    assert all(r.inferred for r in standards.requirements if not r.core)
    assert all(r.title is None and r.wording is None for r in standards.requirements)
    assert all(r.wording_status == acc.NOT_PUBLIC for r in standards.requirements)
    assert standards.standards_without_items() == [9, 13]
    assert "https://www.iasios.org/enroll/requirements/" in standards.sources


# ---------------------------------------------------------------- wording import


def test_wording_import_rejects_bad_lines_naming_line_and_field(tmp_path):
    from ioguide import accreditation as acc

    standards = acc.load_standards()
    store = acc.AccreditationStore(tmp_path / "ioguide.sqlite3")
    bad = ("requirement_id,title,wording\n"
           "S8.a,Tumour board,The facility holds a tumour board.\n"
           "S14.a,,Something\n"
           "S1.c,Staffing,\n"
           "S8.a,,Again\n"
           "S2.b,,\"Text with, a comma\",extra\n")
    with pytest.raises(acc.WordingImportError) as err:
        acc.import_wording(bad, "wording.csv", standards, store)
    message = str(err.value)
    assert "wording.csv line 3, field 'requirement_id': unknown id 'S14.a'" in message
    assert "wording.csv line 4, field 'wording': empty wording for S1.c" in message
    assert "wording.csv line 5, field 'requirement_id': S8.a repeats line 2" in message
    assert "wording.csv line 6: 4 fields but the header has 3" in message
    assert store.wording() == {}, "a file with problems imports nothing"

    with pytest.raises(acc.WordingImportError, match=r"line 1, field 'wording': missing column"):
        acc.import_wording("requirement_id,text\nS8.a,x\n", "w.csv", standards, store)

    yaml_text = "- requirement_id: S8.a\n  wording: Tumour board.\n- requirement_id: S8.b\n  wording: ''\n"
    with pytest.raises(acc.WordingImportError, match=r"w.yaml line 4, field 'wording': empty wording for S8.b"):
        acc.import_wording(yaml_text, "w.yaml", standards, store)

    ok = acc.import_wording("requirement_id,title,wording\ns8.A,Tumour board,A tumour board.\n"
                            "S9.a,,Something in standard 9.\n", "ok.csv", standards, store, user="qa")
    assert ok.imported == ["S8.a", "S9.a"] and ok.added == ["S9.a"]
    reqs = acc.requirement_list(standards, store)
    s9a = acc.find_requirement(reqs, "S9.a")
    assert s9a.level == "extended" and s9a.origin == "import" and s9a.wording == "Something in standard 9."
    assert acc.find_requirement(reqs, "S8.a").wording_status == "imported"


# ---------------------------------------------------------------- coverage and drafts


def test_coverage_marks_covered_and_uncovered_requirements(drafted):
    from ioguide import accreditation as acc

    rows = {r.requirement_id: r for r in drafted["rows"]}
    assert len(rows) == 37
    for rid, title in COVERED.items():
        assert rows[rid].status in ("evidence found", "partial"), (rid, rows[rid])
        assert any(e.startswith(title) for e in rows[rid].evidence), (rid, rows[rid].evidence)
    # The tumour board policy answers its requirement outright.
    assert rows["S8.a"].status == "evidence found"
    for rid in UNCOVERED:
        assert rows[rid].status == "missing", (rid, rows[rid])
        assert rows[rid].evidence == ()
    # Without imported wording nothing can count as clear evidence.
    assert all(r.status != "evidence found" for r in drafted["rows"] if not r.wording_imported)
    missing = acc.missing_for_accredited(drafted["rows"])
    assert {r.requirement_id for r in missing} >= {"S4.b", "S6.a"}
    assert all(r.level == "core" and r.status != "evidence found" for r in missing)
    assert "S8.a" not in {r.requirement_id for r in missing}
    only_missing = acc.filter_rows(drafted["rows"], sections=(3,), levels=("core",), statuses=("missing",))
    assert all(r.section == 3 and r.level == "core" and r.status == "missing" for r in only_missing)
    counts = acc.status_counts(drafted["rows"])
    assert sum(c["count"] for c in counts) == 37


def test_draft_cites_the_right_centre_document_and_page(drafted):
    from ioguide import accreditation as acc

    store = drafted["store"]
    draft = store.latest("S8.a")
    centre = draft.centre_evidence
    assert centre and centre[0].title == "Multidisciplinary Tumour Board Policy"
    assert centre[0].pages == (2,), "the tumour board meetings are on page 2 of the policy"
    assert any("weekly multidisciplinary tumour board" in q for q in centre[0].quotes)
    assert any(e.collection == "guidelines" for e in draft.evidence), "guideline context is cited too"
    assert draft.text.startswith("Evidence from the centre's documents:")
    assert "[1]" in draft.text
    assert any("Tumour Board Policy" in r and "p. 2" in r for r in draft.reasons)
    # A DOCX policy has no pages: cited by name.
    sop = store.latest("S12.a").centre_evidence
    assert sop and sop[0].title == "Internal Case Review and Clinical Audit SOP" and sop[0].pages == ()
    complications = store.latest("S10.c").centre_evidence
    assert complications[0].title == "Complication Reporting Policy" and complications[0].pages == (2,)
    missing = store.latest("S4.b")
    assert missing.status == "missing" and not missing.centre_evidence
    assert any("closest" in r or "No centre passage" in r for r in missing.reasons)
    text = acc.format_draft(acc.find_requirement(drafted["reqs"], "S8.a"), draft)
    assert "Multidisciplinary Tumour Board Policy, p. 2 (centre document)" in text


def test_coverage_rerun_drafts_only_what_changed(drafted, centre_assistant):
    from ioguide import accreditation as acc

    store, standards = drafted["store"], drafted["standards"]
    before = {rid: d.version for rid, d in store.latest_all().items()}
    acc.coverage(drafted["reqs"], store, centre_assistant, author="tester")
    assert {rid: d.version for rid, d in store.latest_all().items()} == before, "nothing changed: no new versions"
    # New wording for one item makes its generated draft stale: only that one is drafted again.
    acc.import_wording(wording_csv([("S12.b", "", "Quality indicators are reviewed every year.")]), "more.csv",
                       standards, store)
    reqs = acc.requirement_list(standards, store)
    acc.coverage(reqs, store, centre_assistant, author="tester")
    after = {rid: d.version for rid, d in store.latest_all().items()}
    assert {rid for rid in after if after[rid] != before[rid]} == {"S12.b"}


def test_staff_edit_survives_a_rerun_and_versions_are_kept(drafted, centre_assistant):
    from ioguide import accreditation as acc

    store, reqs = drafted["store"], drafted["reqs"]
    req = acc.find_requirement(reqs, "S1.a")
    generated = store.latest("S1.a")
    edited = acc.save_edit(store, "S1.a", "Our IO clinic runs on Tuesdays and Thursdays (see clinic policy).",
                           author="dr.jones", status="evidence found")
    assert edited.version == generated.version + 1 and edited.origin == "edited" and edited.author == "dr.jones"
    with pytest.raises(acc.StaffEditExists, match="--force"):
        acc.draft_requirement(centre_assistant, store, req, author="tester")
    rows = {r.requirement_id: r for r in acc.coverage(reqs, store, centre_assistant, author="tester")}
    assert rows["S1.a"].origin == "edited" and rows["S1.a"].status == "evidence found"
    assert store.latest("S1.a").text.startswith("Our IO clinic runs")
    forced = acc.draft_requirement(centre_assistant, store, req, author="tester", force=True)
    assert forced.version == edited.version + 1 and forced.origin == "generated"
    history = store.history("S1.a")
    assert [d.version for d in history] == [forced.version, edited.version, generated.version]
    assert history[1].text.startswith("Our IO clinic runs"), "the edit stays in the history"


def test_application_export_docx_and_markdown(drafted):
    import docx

    from ioguide import accreditation as acc

    standards, store, reqs = drafted["standards"], drafted["store"], drafted["reqs"]
    data = acc.application_docx(reqs, store, standards)
    document = docx.Document(io.BytesIO(data))
    text = "\n".join(p.text for p in document.paragraphs)
    for req in reqs:
        assert req.requirement_id in text, req.requirement_id
    assert acc.NOT_PUBLIC in text
    assert "Multidisciplinary Tumour Board Policy, p. 2 (centre document)" in text
    assert "The facility holds a multidisciplinary tumour board" in text
    assert "No centre evidence found." in text
    md = acc.application_markdown(reqs, store, standards)
    for req in reqs:
        assert f"#### {req.requirement_id} " in md
    assert "Missing for Accredited Centre:" in md and "S4.b" in md


# ---------------------------------------------------------------- CLI


def test_cli_draft_coverage_import_export(drafted, centre_index, tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from ioguide.cli import accreditation as cli_accreditation

    app = typer.Typer()

    @app.command()
    def ask() -> None:  # a second command, so that typer keeps sub-command names (as in ioguide.cli)
        pass

    cli_accreditation.register(app)
    monkeypatch.setenv("IOGUIDE_DATA_DIR", str(drafted["db_path"].parent))
    monkeypatch.setenv("IOGUIDE_INDEX_DIR", str(centre_index))
    runner = CliRunner()

    result = runner.invoke(app, ["coverage", "--json", "--missing"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {r["requirement_id"] for r in data["requirements"]} >= {"S4.b", "S6.a"}
    assert all(r["level"] == "core" for r in data["requirements"])

    result = runner.invoke(app, ["coverage", "--core-only"])
    assert result.exit_code == 0 and "S8.a" in result.output and "S1.b" not in result.output

    result = runner.invoke(app, ["draft", "S8.a", "--json"])
    assert result.exit_code == 0, result.output
    draft = json.loads(result.stdout)
    assert draft["status"] == "evidence found"
    assert draft["evidence"][0]["title"] == "Multidisciplinary Tumour Board Policy"

    from ioguide import accreditation as acc

    acc.save_edit(drafted["store"], "S8.a", "Edited by staff.", author="qa")
    result = runner.invoke(app, ["draft", "S8.a"])
    assert result.exit_code == 1 and "--force" in result.output
    assert drafted["store"].latest("S8.a").text == "Edited by staff."
    result = runner.invoke(app, ["draft", "S8.a", "--force"])
    assert result.exit_code == 0 and "Multidisciplinary Tumour Board Policy, p. 2" in result.output

    bad = tmp_path / "bad.csv"
    bad.write_text("requirement_id,wording\nS99.z,text\n")
    result = runner.invoke(app, ["coverage", "import", str(bad)])
    assert result.exit_code == 2 and "line 2, field 'requirement_id': unknown id 'S99.z'" in result.output

    out = tmp_path / "application.docx"
    result = runner.invoke(app, ["coverage", "export", "--format", "docx", "--out", str(out)])
    assert result.exit_code == 0, result.output
    import docx

    assert "S12.b" in "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    result = runner.invoke(app, ["draft", "S77.a"])
    assert result.exit_code == 2 and "Unknown requirement" in result.output


# ---------------------------------------------------------------- Streamlit page


def test_accreditation_page(drafted, centre_index, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("IOGUIDE_DATA_DIR", str(drafted["db_path"].parent))
    monkeypatch.setenv("IOGUIDE_INDEX_DIR", str(centre_index))
    store = drafted["store"]
    at = AppTest.from_file(str(ROOT / "pages" / "3_Accreditation.py"), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert set(table["Requirement"]) == {r.requirement_id for r in drafted["reqs"]}
    assert table.set_index("Requirement").loc["S4.b", "Status"] == "missing"

    at.button(key="missing-btn").click().run()
    missing_list = "\n".join(m.value for m in at.markdown)
    assert "**S4.b**" in missing_list and "**S8.a**" not in missing_list

    at.selectbox(key="req").set_value("S10.c").run()
    # The source card names the policy and the page (label format: ioguide.text.citation_label, issue 16).
    assert any(e.label.startswith("[1] Complication Reporting Policy") and e.label.endswith("p. 2")
               for e in at.expander), [e.label for e in at.expander]
    version = store.latest("S10.c").version
    at.text_area(key=f"edit-S10.c-{version}").input("Our complication register uses the CIRSE grades.").run()
    at.button(key="save-edit").click().run()
    edited = store.latest("S10.c")
    assert edited.origin == "edited" and edited.version == version + 1 and edited.author == "anonymous"

    at.button(key="rerun").click().run()
    assert any("is a staff edit" in w.value for w in at.warning), "a re-run over a staff edit asks first"
    assert store.latest("S10.c").version == edited.version
    at.button(key="confirm-rerun-btn").click().run()
    assert not at.exception, at.exception
    assert store.latest("S10.c").origin == "generated"
    assert store.history("S10.c")[1].text == "Our complication register uses the CIRSE grades."


# ---------------------------------------------------------------- requirement ids as people type them

TYPED_FORMS = ["S8.a", "8a", "8.a", "8(a)", "S8a", "Standard 8a", "standard 8 a", "s8.A", " Standard 8 (a) "]


def test_every_usual_way_of_typing_an_id_means_the_same_requirement(tmp_path, monkeypatch):
    """`ioguide draft 8a` used to be refused: every form a person writes now finds S8.a, in the CLI and in the
    wording import; an id that does not exist keeps its clear error."""
    import typer
    from typer.testing import CliRunner

    from ioguide import accreditation as acc
    from ioguide.cli import accreditation as cli_accreditation

    standards = acc.load_standards()
    store = acc.AccreditationStore(tmp_path / "ioguide.sqlite3")
    reqs = acc.requirement_list(standards, store)
    assert {acc.find_requirement(reqs, typed).requirement_id for typed in TYPED_FORMS} == {"S8.a"}
    for unknown in ("S14.a", "8", "S8.z", "tumour board"):
        with pytest.raises(acc.AccreditationError, match=r"Unknown requirement .*ids look like S8\.a"):
            acc.find_requirement(reqs, unknown)

    report = acc.import_wording("requirement_id,title,wording\n8(a),Tumour board,A weekly tumour board.\n"
                                "Standard 12 b,,Quality indicators.\n", "typed.csv", standards, store)
    assert report.imported == ["S8.a", "S12.b"] and report.added == []
    assert acc.find_requirement(acc.requirement_list(standards, store), "8a").wording == "A weekly tumour board."
    with pytest.raises(acc.WordingImportError, match=r"line 2, field 'requirement_id': unknown id 'S14\(a\)'"):
        acc.import_wording("requirement_id,wording\nS14(a),x\n", "bad.csv", standards, store)

    app = typer.Typer()

    @app.command()
    def ask() -> None:  # a second command, so that typer keeps sub-command names (as in ioguide.cli)
        pass

    cli_accreditation.register(app)
    monkeypatch.setenv("IOGUIDE_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    acc.save_edit(store, "S8.a", "Our tumour board meets every Tuesday.", author="qa")
    for typed in ("8a", "Standard 8 a", "8(a)"):
        result = runner.invoke(app, ["draft", typed, "--history"])
        assert result.exit_code == 0, result.output
        assert "edited" in result.output and "qa" in result.output
    result = runner.invoke(app, ["draft", "S14.a", "--history"])
    assert result.exit_code == 2 and "Unknown requirement 'S14.a'" in result.output


def test_accreditation_page_search_accepts_typed_ids(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("IOGUIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IOGUIDE_INDEX_DIR", str(tmp_path / "no-index"))
    at = AppTest.from_file(str(ROOT / "pages" / "3_Accreditation.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    at.text_input(key="req-search").input("standard 8 a").run()
    assert at.selectbox(key="req").value == "S8.a"
    at.text_input(key="req-search").input("12b").run()
    assert at.selectbox(key="req").value == "S12.b" and not at.error
    at.text_input(key="req-search").input("S14.a").run()
    assert any("Unknown requirement 'S14.a'" in e.value for e in at.error)
    assert at.selectbox(key="req").value == "S12.b", "an unknown id leaves the selection as it was"
