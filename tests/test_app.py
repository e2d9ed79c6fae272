"""The Streamlit app through streamlit.testing.v1.AppTest: ask, follow-up, filter, abstain, feedback, export."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from ioguide.storage import LocalDB
from tests.conftest import ROOT


@pytest.fixture()
def app_env(corpus_index, tmp_path, monkeypatch):
    monkeypatch.setenv("IOGUIDE_INDEX_DIR", str(corpus_index))
    monkeypatch.setenv("IOGUIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(ROOT)
    return tmp_path / "data"


def _html(at) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def _run(path: str = "app.py") -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    return at


def test_ask_shows_answer_with_markers_and_source_cards(app_env):
    at = _run()
    assert any("not official CIRSE or IASIOS material" in c.value for c in at.caption)
    at.chat_input[0].set_value("How many patients are in the IASIOS internal case review?").run()
    assert not at.exception, at.exception
    body = _html(at)
    assert "30" in body and 'class="marker" href="#t0-src-1"' in body
    assert "<mark>" in body  # the quoted sentence highlighted in its passage
    assert at.expander and at.expander[0].label.startswith("[1] ")
    assert "iasios" in at.expander[0].label.lower()


def test_follow_up_shows_the_rewritten_query(app_env):
    at = _run()
    at.chat_input[0].set_value("What are the grades of the 2017 CIRSE classification of complications?").run()
    at.chat_input[0].set_value("and in the 2026 edition?").run()
    assert not at.exception
    searched = [c.value for c in at.caption if c.value.startswith("Searched as:")]
    assert searched and "2026" in searched[-1] and "grades" in searched[-1]


def test_off_topic_question_is_shown_as_not_covered(app_env):
    at = _run()
    at.chat_input[0].set_value("Who won the football world cup in 1998?").run()
    assert any("Not covered by the indexed documents" in m.value for m in at.markdown)
    assert 'class="answer not-covered"' in _html(at)
    assert not at.error


def test_centre_only_filter_with_no_centre_documents_abstains(app_env):
    at = _run()
    at.sidebar.radio(key="where").set_value("Our centre's documents only").run()
    at.chat_input[0].set_value("How long does IASIOS accreditation last?").run()
    assert "not-covered" in _html(at)


def test_feedback_is_stored_and_exportable(app_env):
    at = _run()
    at.chat_input[0].set_value("What does the CIRSE patient safety checklist consist of?").run()
    conv = at.query_params["c"][0] if isinstance(at.query_params["c"], list) else at.query_params["c"]
    at.text_input(key=f"fbc-{conv}-0").set_value("Clear and correct").run()
    at.session_state[f"fb-{conv}-0"] = 1
    at.run()
    at.button(key=f"fbs-{conv}-0").click().run()
    assert not at.exception, at.exception
    db = LocalDB(app_env / "ioguide.sqlite3")
    rows = db.feedback_rows()
    assert len(rows) == 1 and rows[0]["rating"] == 1 and rows[0]["comment"] == "Clear and correct"
    assert "checklist" in rows[0]["question"] and rows[0]["citations"].startswith("[")
    assert "rating" in db.feedback_csv().splitlines()[0]
    audit = [r["action"] for r in db.audit_rows()]
    assert "ask" in audit


def test_conversation_survives_a_reload_and_exports(app_env):
    from ioguide.answer import answer_from_json
    from ioguide.export import conversation_docx, conversation_markdown

    at = _run()
    at.chat_input[0].set_value("How long does IASIOS accreditation last?").run()
    conv = at.query_params["c"]
    conv = conv[0] if isinstance(conv, list) else conv
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    again.query_params["c"] = conv
    again.run()
    assert "four-year" in _html(again) or "4 years" in _html(again)
    turns = [(q, answer_from_json(a)) for q, a in LocalDB(app_env / "ioguide.sqlite3").turns(conv)]
    md = conversation_markdown(turns)
    assert "## Q: How long does IASIOS accreditation last?" in md and "**Sources**" in md
    import io

    import docx

    doc = docx.Document(io.BytesIO(conversation_docx(turns)))
    assert any("IASIOS" in p.text for p in doc.paragraphs)


def test_document_text_is_never_rendered_as_html():
    from ioguide.render import passage_html
    from ioguide.types import Chunk, Hit

    chunk = Chunk(chunk_id="x", doc_id="d", title="t", ordinal=0,
                  text="Click [here](http://evil.example) <script>alert(1)</script> now.")
    out = passage_html(Hit(chunk=chunk, score=1.0), [(0, 5)], 1)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<mark>Click</mark>" in out


def test_library_and_evaluate_pages_render(app_env):
    lib = _run("views/1_Library.py")
    assert "Indexed documents (" in " ".join(s.value for s in lib.subheader)
    ev = _run("views/2_Evaluate.py")
    assert not ev.exception
