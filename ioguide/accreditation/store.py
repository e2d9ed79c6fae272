"""Imported wording and every draft version, in the app's SQLite file (tables prefixed `accreditation_`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..text import citation_label
from .db import init_schema, now_iso, rows_as_dicts, transaction
from .wording import WordingRow


@dataclass(frozen=True)
class Evidence:
    collection: str  # centre | guidelines
    doc_id: str
    title: str
    source: str
    pages: tuple[int, ...]
    quotes: tuple[str, ...]
    markers: tuple[int, ...]
    file_hash: str = ""  # the version of the document quoted (content hash when indexed)
    indexed_at: str = ""

    def label(self) -> str:
        return citation_label(self.title, pages=self.pages)


@dataclass(frozen=True)
class Draft:
    requirement_id: str
    text: str
    status: str
    reasons: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    answer: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)  # answer_to_json contract
    query: str = ""
    backend: str = ""
    relevance: float = 0.0
    wording_hash: str = ""
    index_fp: str = ""
    origin: str = "generated"  # generated | edited
    author: str = ""
    created: str = ""
    version: int = 0
    based_on: int | None = None

    @property
    def centre_evidence(self) -> tuple[Evidence, ...]:
        return tuple(e for e in self.evidence if e.collection == "centre")

    def to_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("requirement_id", "version", "created", "author", "origin", "status",
                                           "text", "query", "backend", "relevance", "wording_hash", "index_fp",
                                           "based_on")}
        d["reasons"] = list(self.reasons)
        d["evidence"] = [{**vars(e), "pages": list(e.pages), "quotes": list(e.quotes), "markers": list(e.markers)}
                         for e in self.evidence]
        d["answer"] = self.answer
        return d


SCHEMA = """
CREATE TABLE IF NOT EXISTS accreditation_wording (requirement_id TEXT PRIMARY KEY, title TEXT, wording TEXT NOT NULL,
    source TEXT, line INTEGER, imported TEXT, imported_by TEXT);
CREATE TABLE IF NOT EXISTS accreditation_drafts (id INTEGER PRIMARY KEY AUTOINCREMENT, requirement_id TEXT NOT NULL,
    version INTEGER NOT NULL, created TEXT NOT NULL, author TEXT NOT NULL, origin TEXT NOT NULL, status TEXT NOT NULL,
    text TEXT NOT NULL, draft_json TEXT NOT NULL, UNIQUE (requirement_id, version));
CREATE TRIGGER IF NOT EXISTS accreditation_drafts_keep BEFORE UPDATE ON accreditation_drafts
    BEGIN SELECT RAISE(ABORT, 'draft versions are kept as written'); END;
"""


class AccreditationStore:
    """Imported wording and every draft version, in the app's SQLite file (settings.data_dir / ioguide.sqlite3)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        init_schema(self.path, SCHEMA)

    # wording
    def put_wording(self, rows: list[WordingRow], source: str, user: str = "") -> None:
        with transaction(self.path) as con:
            con.executemany("INSERT OR REPLACE INTO accreditation_wording VALUES (?,?,?,?,?,?,?)",
                            [(r.requirement_id, r.title, r.wording, source, r.line, now_iso(), user) for r in rows])

    def wording(self) -> dict[str, dict[str, Any]]:
        return {r["requirement_id"]: r for r in rows_as_dicts(self.path, "SELECT * FROM accreditation_wording")}

    def clear_wording(self) -> int:
        with transaction(self.path) as con:
            return con.execute("DELETE FROM accreditation_wording").rowcount

    # drafts
    def add_draft(self, draft: Draft) -> Draft:
        """Store draft as the requirement's next version; returns it with version, time and author set."""
        with transaction(self.path) as con:
            version = con.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM accreditation_drafts "
                                  "WHERE requirement_id=?", (draft.requirement_id,)).fetchone()[0]
            draft = replace(draft, version=int(version), created=draft.created or now_iso())
            con.execute("INSERT INTO accreditation_drafts (requirement_id, version, created, author, origin, status, "
                        "text, draft_json) VALUES (?,?,?,?,?,?,?,?)",
                        (draft.requirement_id, draft.version, draft.created, draft.author, draft.origin, draft.status,
                         draft.text, json.dumps(draft.to_json(), ensure_ascii=False)))
        return draft

    def _drafts(self, sql: str, args: tuple = ()) -> list[Draft]:
        return [draft_from_json(r["draft_json"]) for r in rows_as_dicts(self.path, sql, args)]

    def latest(self, requirement_id: str) -> Draft | None:
        rows = self._drafts("SELECT draft_json FROM accreditation_drafts WHERE requirement_id=? "
                            "ORDER BY version DESC LIMIT 1", (requirement_id,))
        return rows[0] if rows else None

    def version(self, requirement_id: str, version: int) -> Draft | None:
        rows = self._drafts("SELECT draft_json FROM accreditation_drafts WHERE requirement_id=? AND version=?",
                            (requirement_id, version))
        return rows[0] if rows else None

    def latest_all(self) -> dict[str, Draft]:
        rows = self._drafts("SELECT d.draft_json FROM accreditation_drafts d JOIN (SELECT requirement_id, "
                            "MAX(version) AS v FROM accreditation_drafts GROUP BY requirement_id) m "
                            "ON d.requirement_id = m.requirement_id AND d.version = m.v")
        return {d.requirement_id: d for d in rows}

    def history(self, requirement_id: str) -> list[Draft]:
        """Every version, newest first."""
        return self._drafts("SELECT draft_json FROM accreditation_drafts WHERE requirement_id=? "
                            "ORDER BY version DESC", (requirement_id,))


def draft_from_json(text: str) -> Draft:
    d = json.loads(text)
    evidence = tuple(Evidence(collection=e["collection"], doc_id=e["doc_id"], title=e["title"], source=e["source"],
                              pages=tuple(e["pages"]), quotes=tuple(e["quotes"]), markers=tuple(e["markers"]),
                              file_hash=e.get("file_hash", ""), indexed_at=e.get("indexed_at", ""))
                     for e in d.get("evidence", []))
    return Draft(requirement_id=d["requirement_id"], text=d["text"], status=d["status"],
                 reasons=tuple(d.get("reasons", [])), evidence=evidence, answer=d.get("answer") or {},
                 query=d.get("query", ""), backend=d.get("backend", ""), relevance=float(d.get("relevance") or 0.0),
                 wording_hash=d.get("wording_hash", ""), index_fp=d.get("index_fp", ""), origin=d["origin"],
                 author=d["author"], created=d["created"], version=int(d["version"]), based_on=d.get("based_on"))

