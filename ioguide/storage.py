"""Local SQLite storage: conversations (survive a page reload), feedback (exportable as CSV), and the audit trail
with its export and retention purge.

One file under the data directory (Settings.db_path), shared by several app processes and the CLI. Every access goes
through connect() / transaction() here: autocommit connections in WAL mode, and each write is one short
`BEGIN IMMEDIATE` transaction, so a read that decides a write (the next turn's position, the rows a purge deletes)
holds the write lock from the read on and concurrent writers wait instead of interleaving.
The audit table is append-only: triggers refuse UPDATE, and DELETE except by purge_audit (`ioguide audit purge`).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import IOGuideError

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
-- Rows leave the audit trail only through `ioguide audit purge` (retention, LocalDB.purge_audit): it lists the ids
-- in audit_purge and deletes them in the same transaction; any other DELETE is refused.
CREATE TABLE IF NOT EXISTS audit_purge (id INTEGER PRIMARY KEY);
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    WHEN NOT EXISTS (SELECT 1 FROM audit_purge WHERE audit_purge.id = OLD.id)
    BEGIN SELECT RAISE(ABORT, 'audit rows are deleted only by `ioguide audit purge` (retention)'); END;
"""


AUDIT_FIELDS = ["id", "created", "user", "action", "detail"]
FEEDBACK_FIELDS = ["id", "created", "user", "rating", "comment", "question", "answer", "citations", "config"]
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # feedback and audit timestamps (local time with its UTC offset)


def connect(path: Path | str) -> sqlite3.Connection:
    """An autocommit connection to the SQLite file in WAL mode (readers never block the one writer). Writes go
    through transaction(); a bare connection is for reads."""
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    return con


@contextlib.contextmanager
def reading(path: Path | str) -> Iterator[sqlite3.Connection]:
    """A connection for reads, closed afterwards."""
    con = connect(path)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def transaction(path: Path | str) -> Iterator[sqlite3.Connection]:
    """One write transaction: BEGIN IMMEDIATE takes the write lock before the first read, so what the transaction
    reads cannot change before it writes (concurrent writers wait up to 30 s); committed at the end, rolled back on
    any error, the connection closed."""
    con = connect(path)
    try:
        con.execute("BEGIN IMMEDIATE")
        yield con
        con.execute("COMMIT")
    except BaseException:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()


def now_stamp() -> str:
    return time.strftime(TIME_FORMAT)


def _insert_audit(con: sqlite3.Connection, action: str, detail: dict[str, Any] | str, user: str) -> None:
    con.execute("INSERT INTO audit (created, user, action, detail) VALUES (?,?,?,?)",
                (now_stamp(), user, action,
                 detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)))


def _created_at(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, TIME_FORMAT)
    except (TypeError, ValueError):
        return None


@dataclass
class PurgeReport:
    deleted: int
    kept: int
    cutoff: str
    undated: int = 0  # rows whose date cannot be read: kept, never deleted


class LocalDB:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with reading(self.path) as con:
            con.executescript(SCHEMA)  # IF NOT EXISTS throughout: also adds the purge guard to older files

    # conversations
    def new_conversation(self) -> str:
        cid = uuid.uuid4().hex[:16]
        now = time.time()
        with transaction(self.path) as con:
            con.execute("INSERT INTO conversations VALUES (?,?,?,?)", (cid, now, now, ""))
        return cid

    def add_turn(self, conversation_id: str, question: str, answer: dict[str, Any]) -> None:
        """Append a turn; the position is read and written in one write transaction, so two sessions appending to
        the same conversation at once get consecutive positions, never the same one."""
        now = time.time()
        with transaction(self.path) as con:
            pos = con.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM turns WHERE conversation_id=?",
                              (conversation_id,)).fetchone()[0]
            con.execute("INSERT INTO turns VALUES (?,?,?,?,?)",
                        (conversation_id, pos, question, json.dumps(answer, ensure_ascii=False), now))
            con.execute("INSERT OR IGNORE INTO conversations VALUES (?,?,?,?)", (conversation_id, now, now, question))
            con.execute("UPDATE conversations SET updated=? WHERE id=?", (now, conversation_id))

    def turns(self, conversation_id: str) -> list[tuple[str, dict[str, Any]]]:
        with reading(self.path) as con:
            rows = con.execute("SELECT question, answer_json FROM turns WHERE conversation_id=? ORDER BY position",
                               (conversation_id,)).fetchall()
        return [(q, json.loads(a)) for q, a in rows]

    # feedback
    def add_feedback(self, rating: int, comment: str, question: str, answer: dict[str, Any], config: dict[str, Any],
                     user: str = "") -> int:
        with transaction(self.path) as con:
            cur = con.execute(
                "INSERT INTO feedback (created, user, rating, comment, question, answer, citations, config) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (now_stamp(), user, int(rating), comment, question, answer.get("answer", ""),
                 json.dumps(answer.get("citations", []), ensure_ascii=False), json.dumps(config)))
            return int(cur.lastrowid)

    def feedback_rows(self) -> list[dict[str, Any]]:
        with reading(self.path) as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute("SELECT * FROM feedback ORDER BY id")]

    def feedback_csv(self) -> str:
        rows = self.feedback_rows()
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=FEEDBACK_FIELDS)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: r.get(k) for k in FEEDBACK_FIELDS})
        return buf.getvalue()

    # audit
    def audit(self, action: str, detail: dict[str, Any] | str = "", user: str = "") -> None:
        with transaction(self.path) as con:
            _insert_audit(con, action, detail, user)

    def audit_rows(self) -> list[dict[str, Any]]:
        with reading(self.path) as con:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute("SELECT * FROM audit ORDER BY id")]

    def export_audit(self, out: Path, since_days: int | None = None) -> int:
        """Write the audit rows (all, or those of the last since_days) to out as CSV; the number of rows written.
        Values are written as stored: the export is evidence, not a report."""
        with reading(self.path) as con:
            rows = con.execute("SELECT id, created, user, action, detail FROM audit ORDER BY id").fetchall()
        if since_days is not None:
            cutoff = datetime.now(UTC) - timedelta(days=since_days)
            rows = [r for r in rows if (_created_at(r[1]) or cutoff) >= cutoff]
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(AUDIT_FIELDS)
            writer.writerows(rows)
        return len(rows)

    def purge_audit(self, retention_days: int, dry_run: bool = False, user: str = "",
                    now: datetime | None = None) -> PurgeReport:
        """Delete the audit rows older than retention_days, in one transaction that also records the purge in the
        trail. The only DELETE the audit table accepts."""
        if retention_days < 1:
            raise IOGuideError(f"Audit retention must be at least 1 day (got {retention_days}).")
        cutoff = (now or datetime.now(UTC)) - timedelta(days=retention_days)
        with transaction(self.path) as con:
            old, undated, total = [], 0, 0
            for row_id, created in con.execute("SELECT id, created FROM audit"):
                total += 1
                when = _created_at(created)
                if when is None:
                    undated += 1
                elif when < cutoff:
                    old.append((row_id,))
            if not dry_run:
                con.executemany("INSERT OR IGNORE INTO audit_purge (id) VALUES (?)", old)
                con.execute("DELETE FROM audit WHERE id IN (SELECT id FROM audit_purge)")
                con.execute("DELETE FROM audit_purge")
                _insert_audit(con, "audit_purge", {"deleted": len(old), "retention_days": retention_days,
                                                   "cutoff": cutoff.isoformat(timespec="seconds")}, user)
        return PurgeReport(deleted=len(old), kept=total - len(old), cutoff=cutoff.isoformat(timespec="seconds"),
                           undated=undated)
