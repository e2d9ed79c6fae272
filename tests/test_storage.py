"""The local SQLite file: concurrent sessions appending to one conversation, the transaction helper."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from ioguide.storage import LocalDB, reading, transaction


def test_two_sessions_appending_at_once_never_share_a_position(tmp_path):
    """Two browser tabs (here: 8 writers, 2 connections each) answer in the same conversation at the same moment:
    every turn is stored, in its own position, none lost to a clash."""
    db = LocalDB(tmp_path / "ioguide.sqlite3")
    conversation = db.new_conversation()
    writers, turns_each = 8, 10
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def session(w: int) -> None:
        mine = LocalDB(db.path)  # each session opens the file itself, as each app process does
        start.wait()
        for t in range(turns_each):
            try:
                mine.add_turn(conversation, f"question {w}.{t}", {"answer": f"answer {w}.{t}", "citations": []})
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(exc)

    threads = [threading.Thread(target=session, args=(w,)) for w in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not failures, failures[:3]
    turns = db.turns(conversation)
    assert len(turns) == writers * turns_each
    assert {q for q, _ in turns} == {f"question {w}.{t}" for w in range(writers) for t in range(turns_each)}
    with reading(db.path) as con:
        positions = [p for (p,) in con.execute("SELECT position FROM turns WHERE conversation_id=? ORDER BY position",
                                               (conversation,))]
    assert positions == list(range(writers * turns_each))
    # each session's own turns keep their order
    for w in range(writers):
        mine = [q for q, _ in turns if q.startswith(f"question {w}.")]
        assert mine == [f"question {w}.{t}" for t in range(turns_each)]


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    db = LocalDB(tmp_path / "ioguide.sqlite3")
    conversation = db.new_conversation()
    with pytest.raises(sqlite3.IntegrityError), transaction(db.path) as con:
        con.execute("INSERT INTO turns VALUES (?,?,?,?,?)", (conversation, 0, "kept?", "{}", 0.0))
        con.execute("INSERT INTO turns VALUES (?,?,?,?,?)", (conversation, 0, "clash", "{}", 0.0))
    assert db.turns(conversation) == []
    db.add_turn(conversation, "after the failure", {"answer": "", "citations": []})
    assert [q for q, _ in db.turns(conversation)] == ["after the failure"]
