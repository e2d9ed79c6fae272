"""The accreditation tables live in the app's SQLite file and use its one connection and transaction style
(ioguide/storage.py: autocommit WAL connections, each write one BEGIN IMMEDIATE transaction)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ..storage import now_stamp, reading, transaction

__all__ = ["init_schema", "now_iso", "rows_as_dicts", "transaction"]


def now_iso() -> str:
    return now_stamp()


def rows_as_dicts(path: Path, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
    with reading(path) as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(sql, args)]


def init_schema(path: Path, schema: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with reading(path) as con:
        con.executescript(schema)
