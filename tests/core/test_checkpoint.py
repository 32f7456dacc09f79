"""WAL checkpoints off the commit path (tickets.sqlite._Checkpointer): commits only append to the WAL,
a background thread copies it into the database file, and a file that is gone stays gone."""
from __future__ import annotations

import os

from sqlalchemy import text

from tests.console.live import wait_until
from tickets import db, sqlite

DEADLINE = 10.0


def test_a_commit_leaves_its_checkpoint_to_the_background_thread(tmp_path):
    path = tmp_path / "wal.db"
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == sqlite.WAL_AUTOCHECKPOINT_PAGES
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)"))
        before = path.stat().st_size
        with engine.begin() as conn:          # 200 KB: far below the commit's own threshold
            conn.execute(text("INSERT INTO blobs (body) VALUES (:b)"), {"b": os.urandom(200_000)})
        # Nobody commits again: only the checkpoint thread can carry the pages into the file.
        wait_until(lambda: path.stat().st_size >= before + 200_000, DEADLINE,
                   "the WAL checkpointed into the database file")
        with engine.connect() as conn:
            assert len(conn.execute(text("SELECT body FROM blobs")).scalar_one()) == 200_000
    finally:
        engine.dispose()


def test_a_file_that_is_gone_is_not_created_again(tmp_path):
    path = tmp_path / "gone.db"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{path}{suffix}"):
            os.remove(f"{path}{suffix}")
    assert sqlite.checkpoint(str(path)) is None
    assert not path.exists()


def test_a_closed_engine_leaves_a_complete_file_even_when_another_connection_is_open(tmp_path):
    """SQLite copies the WAL in on the close of the last connection only; another connection
    (the checkpoint thread's, a reader) open at that instant used to leave the WAL beside the file,
    and a copy of the file alone (a backup, a test template) missed the last writes."""
    import shutil
    import sqlite3
    path = tmp_path / "whole.db"
    engine = db.make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)"))
        conn.execute(text("INSERT INTO t (body) VALUES ('kept')"))
    other = sqlite3.connect(path)
    try:
        other.execute("SELECT count(*) FROM t").fetchone()
        db.close_engine(engine)
        shutil.copyfile(path, tmp_path / "copy.db")          # the file alone, without -wal
    finally:
        other.close()
    copy = sqlite3.connect(tmp_path / "copy.db")
    try:
        assert copy.execute("SELECT body FROM t").fetchall() == [("kept",)]
    finally:
        copy.close()
