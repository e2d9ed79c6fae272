"""Local SQLite storage: conversations (survive a page reload), feedback (exportable as CSV), and the audit trail.

One file under the data directory; every write is its own short transaction, so several app processes can share it.
The audit table is append-only: triggers refuse UPDATE, and DELETE except by `ioguide audit purge` (retention).
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, created REAL, updated REAL, title TEXT);
CREATE TABLE IF NOT EXISTS turns (conversation_id TEXT, position INTEGER, question TEXT, answer_json TEXT,
                                  created REAL, PRIMARY KEY (conversation_id, position));
CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT, user TEXT, rating INTEGER,
                                     comment TEXT, question TEXT, answer TEXT, citations TEXT, config TEXT);
CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT, user TEXT, action TEXT,
                                  detail TEXT);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
-- Rows leave the audit trail only through `ioguide audit purge` (retention, ioguide/ops.py): it lists the ids in
-- audit_purge and deletes them in the same transaction; any other DELETE is refused.
CREATE TABLE IF NOT EXISTS audit_purge (id INTEGER PRIMARY KEY);
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    WHEN NOT EXISTS (SELECT 1 FROM audit_purge WHERE audit_purge.id = OLD.id)
    BEGIN SELECT RAISE(ABORT, 'audit rows are deleted only by `ioguide audit purge` (retention)'); END;
"""


class LocalDB:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        return con

    # conversations
    def new_conversation(self) -> str:
        cid = uuid.uuid4().hex[:16]
        now = time.time()
        with self._connect() as con:
            con.execute("INSERT INTO conversations VALUES (?,?,?,?)", (cid, now, now, ""))
        return cid

    def add_turn(self, conversation_id: str, question: str, answer: dict[str, Any]) -> None:
        now = time.time()
        with self._connect() as con:
            pos = con.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM turns WHERE conversation_id=?",
                              (conversation_id,)).fetchone()[0]
            con.execute("INSERT INTO turns VALUES (?,?,?,?,?)",
                        (conversation_id, pos, question, json.dumps(answer, ensure_ascii=False), now))
            con.execute("INSERT OR IGNORE INTO conversations VALUES (?,?,?,?)", (conversation_id, now, now, question))
            con.execute("UPDATE conversations SET updated=? WHERE id=?", (now, conversation_id))

    def turns(self, conversation_id: str) -> list[tuple[str, dict[str, Any]]]:
        with self._connect() as con:
            rows = con.execute("SELECT question, answer_json FROM turns WHERE conversation_id=? ORDER BY position",
                               (conversation_id,)).fetchall()
        return [(q, json.loads(a)) for q, a in rows]

    # feedback
    def add_feedback(self, rating: int, comment: str, question: str, answer: dict[str, Any], config: dict[str, Any],
                     user: str = "") -> int:
        with self._connect() as con:
            cur = con.execute(
                "INSERT INTO feedback (created, user, rating, comment, question, answer, citations, config) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (time.strftime("%Y-%m-%dT%H:%M:%S%z"), user, int(rating), comment, question, answer.get("answer", ""),
                 json.dumps(answer.get("citations", []), ensure_ascii=False), json.dumps(config)))
            return int(cur.lastrowid)

    def feedback_rows(self) -> list[dict[str, Any]]:
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute("SELECT * FROM feedback ORDER BY id")]

    def feedback_csv(self) -> str:
        rows = self.feedback_rows()
        buf = io.StringIO()
        fields = ["id", "created", "user", "rating", "comment", "question", "answer", "citations", "config"]
        writer = csv.DictWriter(buf, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k) for k in fields})
        return buf.getvalue()

    # audit
    def audit(self, action: str, detail: dict[str, Any] | str = "", user: str = "") -> None:
        with self._connect() as con:
            con.execute("INSERT INTO audit (created, user, action, detail) VALUES (?,?,?,?)",
                        (time.strftime("%Y-%m-%dT%H:%M:%S%z"), user, action,
                         detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)))

    def audit_rows(self) -> list[dict[str, Any]]:
        with self._connect() as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute("SELECT * FROM audit ORDER BY id")]
