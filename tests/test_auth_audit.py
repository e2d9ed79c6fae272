"""Users, roles and the login gate (local users file, AppTest), the unauthenticated banner, and the audit trail:
rows for logins and questions, append-only, exported as CSV, purged only by `ioguide audit purge`."""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from ioguide.auth import ROLES, UsersFile, allowed
from ioguide.storage import LocalDB
from tests.conftest import ROOT

PASSWORD = {"dana": "clinician-pass-1", "ada": "admin-pass-123", "sam": "staff-pass-456"}


@pytest.fixture()
def users(tmp_path):
    users = UsersFile(tmp_path / "users.json")
    users.add("dana", PASSWORD["dana"], "clinician")
    users.add("ada", PASSWORD["ada"], "admin")
    users.add("sam", PASSWORD["sam"], "staff")
    return users


def test_users_file_stores_hashes_and_checks_passwords(users):
    raw = users.path.read_text()
    assert all(p not in raw for p in PASSWORD.values()) and "pbkdf2_sha256$" in raw
    assert oct(users.path.stat().st_mode & 0o777) == "0o600"
    assert users.authenticate("dana", PASSWORD["dana"]) == "clinician"
    assert users.authenticate(" ada ", PASSWORD["ada"]) == "admin"
    assert users.authenticate("dana", PASSWORD["ada"]) is None
    assert users.authenticate("nobody", PASSWORD["dana"]) is None
    with pytest.raises(ValueError, match="unknown role"):
        users.add("eve", "long-enough-pw", "superuser")
    with pytest.raises(ValueError, match="at least 8"):
        users.add("eve", "short", "clinician")


def test_roles_grant_what_each_role_needs():
    assert allowed("clinician", "ask") and not allowed("clinician", "library")
    assert not allowed("clinician", "centre_documents") and not allowed("clinician", "audit")
    assert allowed("staff", "centre_documents") and allowed("staff", "draft") and not allowed("staff", "reindex")
    assert all(allowed("admin", p) for perms in ROLES.values() for p in perms) and allowed("admin", "audit")
    assert not allowed(None, "ask") and not allowed("intruder", "ask")


# ---------------------------------------------------------------- the app behind the login gate

@pytest.fixture()
def app_env(corpus_index, tmp_path, monkeypatch, users):
    monkeypatch.setenv("IOGUIDE_INDEX_DIR", str(corpus_index))
    monkeypatch.setenv("IOGUIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IOGUIDE_AUTH", "local")
    monkeypatch.setenv("IOGUIDE_USERS_FILE", str(users.path))
    monkeypatch.chdir(ROOT)
    return tmp_path / "data"


def _app(path: str = "app.py", **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=180)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def _sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input[0].set_value(name)
    at.text_input[1].set_value(password)
    at.form_submit_button[0].click().run()
    assert not at.exception, at.exception
    return at


def _audit(data_dir) -> list[dict]:
    return LocalDB(data_dir / "ioguide.sqlite3").audit_rows()


def test_local_login_gate_then_ask_writes_audit_rows(app_env):
    at = _app()
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not at.chat_input  # nothing to ask before signing in

    _sign_in(at, "dana", "wrong password")
    assert any("wrong password" in e.value for e in at.error) and not at.chat_input
    _sign_in(at, "dana", PASSWORD["dana"])
    assert at.session_state["user"] == "dana" and at.session_state["role"] == "clinician"
    assert any("Signed in as dana (clinician)" in c.value for c in at.sidebar.caption)

    at.chat_input[0].set_value("How many patients are in the IASIOS internal case review?").run()
    assert not at.exception, at.exception
    rows = _audit(app_env)
    assert [(r["user"], r["action"], json.loads(r["detail"]).get("ok")) for r in rows if r["action"] == "login"] \
        == [("dana", "login", False), ("dana", "login", True)]
    asked = [r for r in rows if r["action"] == "ask"]
    assert len(asked) == 1 and asked[0]["user"] == "dana"
    detail = json.loads(asked[0]["detail"])
    assert "internal case review" in detail["question"] and detail["grounded"] and detail["citations"]


def test_clinician_cannot_open_the_library_and_admin_can(app_env):
    at = _app("pages/1_Library.py", user="dana", role="clinician")
    assert any("does not allow this page" in e.value for e in at.error)
    assert not any(s.value.startswith("Indexed documents") for s in at.subheader)

    at = _app("pages/1_Library.py", user="ada", role="admin")
    assert not at.error
    assert any(s.value.startswith("Indexed documents (") for s in at.subheader)
    assert any(s.value == "Maintenance" for s in at.subheader)  # admin only


def test_library_asks_for_a_login_first(app_env):
    at = _app("pages/1_Library.py")
    assert [t.label for t in at.text_input] == ["User name", "Password"]
    assert not any(s.value.startswith("Indexed documents") for s in at.subheader)


def test_unauthenticated_mode_shows_the_banner(app_env, monkeypatch):
    monkeypatch.setenv("IOGUIDE_AUTH", "none")
    at = _app()
    assert any("Unauthenticated mode" in w.value for w in at.warning)
    assert at.chat_input and not at.text_input


# ---------------------------------------------------------------- the audit trail: append-only, export, purge

def _cli():
    from ioguide.cli import app

    return app


def _old_row(db_path, days_ago: int, action: str) -> None:
    created = (datetime.now(UTC) - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S%z")
    with sqlite3.connect(db_path) as con:
        con.execute("INSERT INTO audit (created, user, action, detail) VALUES (?,?,?,?)",
                    (created, "old-user", action, "{}"))


def test_audit_refuses_update_and_delete(tmp_path):
    db = LocalDB(tmp_path / "ioguide.sqlite3")
    db.audit("login", {"ok": True}, user="dana")
    with sqlite3.connect(db.path) as con, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE audit SET user='mallory'")
    with sqlite3.connect(db.path) as con, pytest.raises(sqlite3.DatabaseError, match="ioguide audit purge"):
        con.execute("DELETE FROM audit")
    assert [r["user"] for r in db.audit_rows()] == ["dana"]


def test_audit_export_and_purge_through_the_cli(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("IOGUIDE_DATA_DIR", str(data))
    monkeypatch.setenv("IOGUIDE_AUDIT_RETENTION_DAYS", "365")
    db = LocalDB(data / "ioguide.sqlite3")
    _old_row(db.path, 800, "login")
    _old_row(db.path, 400, "ask")
    _old_row(db.path, 10, "ask")
    db.audit("login", {"ok": True}, user="dana")
    db.audit("ask", {"question": "=HYPERLINK(\"x\")", "grounded": True}, user="dana")
    runner = CliRunner()

    out = tmp_path / "audit.csv"
    done = runner.invoke(_cli(), ["audit", "export", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "Wrote 5 audit row(s)" in done.output
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["action"] for r in rows] == ["login", "ask", "ask", "login", "ask"]
    assert rows[-1]["user"] == "dana" and json.loads(rows[-1]["detail"])["question"] == "=HYPERLINK(\"x\")"

    dry = runner.invoke(_cli(), ["audit", "purge", "--dry-run"])
    assert dry.exit_code == 0 and "Would delete 2 audit row(s) older than 365 days" in dry.output
    assert len(db.audit_rows()) == 6  # 5 + the export, itself audited

    done = runner.invoke(_cli(), ["audit", "purge"])
    assert done.exit_code == 0, done.output
    assert "Deleted 2 audit row(s) older than 365 days" in done.output
    actions = [r["action"] for r in db.audit_rows()]
    assert actions == ["ask", "login", "ask", "audit_export", "audit_purge"]
    assert json.loads(db.audit_rows()[-1]["detail"])["deleted"] == 2
    with sqlite3.connect(db.path) as con, pytest.raises(sqlite3.DatabaseError, match="ioguide audit purge"):
        con.execute("DELETE FROM audit WHERE action='ask'")  # retention is the only way out, even after a purge


def test_oidc_role_comes_from_the_groups_claim_then_the_users_file(users):
    """Hospitals map groups (Entra ID app roles, Keycloak groups) to IO Guide roles; the highest one counts."""
    from ioguide.auth import role_from_claims

    assert role_from_claims({"email": "rita@h.example", "groups": ["ioguide-reviewer", "ioguide-staff"]}) \
        == "reviewer"
    assert role_from_claims({"roles": "Admin"}, claim="roles") == "admin"
    assert role_from_claims({"groups": ["/radiology", "ioguide-staff"]}) == "staff"
    users.add("dana@h.example", PASSWORD["dana"], "clinician")
    users.add("sam@h.example", PASSWORD["sam"], "staff")
    assert role_from_claims({"email": "sam@h.example", "groups": ["/radiology"]}, users=users) == "staff"
    assert role_from_claims({"email": "nobody@h.example"}, users=users) == "clinician"
    assert allowed("reviewer", "approve") and allowed("admin", "approve") and not allowed("staff", "approve")
