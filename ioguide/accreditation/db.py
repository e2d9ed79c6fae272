"""The accreditation tables' connection to the app's SQLite file: one connection style, one write transaction."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def connect(path: Path) -> sqlite3.Connection:
    """Autocommit connection (explicit transactions only), WAL so readers never block the writer."""
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    return con


@contextlib.contextmanager
def transaction(path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction (BEGIN IMMEDIATE: concurrent writers wait, never interleave), rolled back on error."""
    con = connect(path)
    try:
        con.execute("BEGIN IMMEDIATE")
        yield con
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()


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
