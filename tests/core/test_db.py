"""SQLite engines: each transaction holds its file's in-process write lock until it ends, so
threads of one process queue for the database instead of polling SQLite's busy handler."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from tickets.db import make_engine
from tickets.sqlite import _write_lock


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    engine.dispose()
    return path


def test_a_transaction_holds_the_write_lock_until_it_commits(db_path):
    engine = make_engine(f"sqlite:///{db_path}")
    lock = _write_lock(str(db_path))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert lock.owner == threading.get_ident()
    assert lock.owner is None
    engine.dispose()


def test_a_transaction_that_fails_releases_the_write_lock(db_path):
    engine = make_engine(f"sqlite:///{db_path}")
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("the work failed")
    assert _write_lock(str(db_path)).owner is None
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    engine.dispose()


def test_engines_on_the_same_file_share_one_write_lock(db_path, tmp_path):
    first = make_engine(f"sqlite:///{db_path}")
    second = make_engine(f"sqlite:///{tmp_path}/../{tmp_path.name}/lock.db")   # another spelling of the path
    with first.begin():
        assert _write_lock(str(db_path)).owner == threading.get_ident()
    with second.begin():
        assert _write_lock(str(db_path)).owner == threading.get_ident()
    first.dispose()
    second.dispose()


def test_a_writer_from_another_thread_begins_only_after_the_first_commits(db_path):
    engine = make_engine(f"sqlite:///{db_path}")
    lock = _write_lock(str(db_path))
    events: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def first():
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            holding.set()
            release.wait(30)
            events.append("first commits")

    def second():
        with engine.begin() as conn:
            events.append("second begins")
            conn.execute(text("INSERT INTO t VALUES (2)"))

    a = threading.Thread(target=first)
    a.start()
    assert holding.wait(30)
    b = threading.Thread(target=second)
    b.start()
    assert lock.owner == a.ident
    assert events == []
    release.set()
    a.join(30)
    b.join(30)
    assert events == ["first commits", "second begins"]
    engine.dispose()
