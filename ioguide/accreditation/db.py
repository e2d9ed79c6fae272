"""The accreditation tables in the app's SQLite file, through storage.py's connection and write transaction (one
style for the whole file: autocommit + WAL, `BEGIN IMMEDIATE` for every write)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from ..storage import connect, transaction

__all__ = ["connect", "init_schema", "now_iso", "rows_as_dicts", "transaction"]


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def rows_as_dicts(path: Path, sql: str, args: tuple = ()) -> list[dict[str, Any]]:
    con = connect(path)
    try:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def init_schema(path: Path, schema: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = connect(path)
    try:
        con.executescript(schema)
    finally:
        con.close()
