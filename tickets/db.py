"""Engine and session factory. One Session per request or job, passed in explicitly."""
from __future__ import annotations

import os
import sqlite3
import threading

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

# How long a transaction waits for this process's write lock before leaving it to SQLite's own
# busy timeout (the same 30 s), so a thread that nests two transactions fails as it did before.
WRITE_LOCK_TIMEOUT = 30.0


class _WriteLock:
    """A process-wide lock per database file, which knows the thread holding it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.owner: int | None = None

    def acquire(self) -> bool:
        if self.owner == threading.get_ident():
            # A second transaction of the same thread: waiting on ourselves would only delay the
            # "database is locked" SQLite gives it.
            return False
        if not self._lock.acquire(timeout=WRITE_LOCK_TIMEOUT):
            return False
        self.owner = threading.get_ident()
        return True

    def release(self) -> None:
        self.owner = None
        self._lock.release()


_write_locks: dict[str, _WriteLock] = {}
_write_locks_guard = threading.Lock()


def _write_lock(path: str) -> _WriteLock:
    """One lock per database file per process, shared by every engine on that file."""
    key = os.path.realpath(path)
    with _write_locks_guard:
        return _write_locks.setdefault(key, _WriteLock())


class _QueuedWriterConnection(sqlite3.Connection):
    """A pysqlite connection that holds its file's in-process write lock for each transaction.

    Every transaction here is BEGIN IMMEDIATE (a writer), and SQLite makes a waiting writer poll
    with sleeps that grow to 100 ms, so threads of one web process that meet at the lock wait
    far longer than the transaction ahead of them takes, and a busy one can starve. Queueing on
    a Python lock first hands the database over the moment the commit is done; SQLite's busy
    timeout still covers other processes.
    """

    write_lock: _WriteLock | None = None
    _holds = False

    def acquire_write(self) -> None:
        if self.write_lock is not None and not self._holds:
            self._holds = self.write_lock.acquire()

    def release_write(self) -> None:
        if self._holds:
            self._holds = False
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_write()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_write()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_write()


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout on every connection, and
    writers of this process queued on a lock (see _QueuedWriterConnection)."""
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        opts = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            opts["poolclass"] = StaticPool
        else:
            opts["connect_args"]["factory"] = _QueuedWriterConnection
        opts.update(kwargs)
        engine = create_engine(url, **opts)
        lock = None if memory else _write_lock(engine.url.database)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            # pysqlite's own transaction handling defers BEGIN; we issue BEGIN IMMEDIATE below
            # so concurrent writers queue on the lock instead of failing on upgrade.
            dbapi_conn.isolation_level = None
            if isinstance(dbapi_conn, _QueuedWriterConnection):
                dbapi_conn.write_lock = lock
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover - trivial
            dbapi_conn = conn.connection.dbapi_connection
            queued = isinstance(dbapi_conn, _QueuedWriterConnection)
            if queued:
                dbapi_conn.acquire_write()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                if queued:
                    dbapi_conn.release_write()
                raise

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
