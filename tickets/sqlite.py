"""SQLite as a database that several threads and processes write: what it needs and why.

Every transaction here is a writer: `BEGIN IMMEDIATE` takes SQLite's write lock at the start,
so two transactions never both read and then fail on upgrading to a writer ("database is
locked" half-way through a booking); that also makes SQLite's transactions serial, the reason
the concurrency rules of docs/core-api.md hold on SQLite without row locks. Writers of one
process queue on a Python lock first (`_QueuedWriterConnection`), and WAL checkpoints run on a
background thread instead of in a commit (`_Checkpointer`). `configure(engine)` installs it all.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from urllib.parse import quote

from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

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


# WAL checkpoints are taken off the commit path. By default SQLite makes the commit that takes
# the WAL past 1,000 pages copy the whole WAL into the database and fsync it (with
# synchronous=NORMAL, the only fsync there is), so every few dozen bookings one of them pays
# for all the others; measured, that doubled the mean commit. Here a commit only appends to the
# WAL; a background thread checkpoints each file this process wrote every
# CHECKPOINT_INTERVAL seconds, outside the GIL (the sqlite3 module releases it while SQLite works),
# on the other core. Should it fall behind (a reader holding an old snapshot), commits go back to
# checkpointing themselves once the WAL passes WAL_AUTOCHECKPOINT_PAGES (about 40 MB).
WAL_AUTOCHECKPOINT_PAGES = 10_000
SQLITE_CACHE_KIB = 32 * 1024                 # per connection, filled only as pages are read
SQLITE_MMAP_BYTES = 256 * 1024 * 1024        # address space, not memory
CHECKPOINT_INTERVAL = 0.2
CHECKPOINT_IDLE_EXIT = 30.0        # the thread ends after this long without a commit, and comes back with one


class _Checkpointer:
    """One daemon thread per process checkpointing the WAL of every SQLite file written lately."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dirty: set[str] = set()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def wrote(self, path: str) -> None:
        """A transaction on `path` committed: its WAL is checkpointed within CHECKPOINT_INTERVAL."""
        with self._lock:
            self._dirty.add(path)
            if self._thread is None or self._pid != os.getpid():    # none yet, or inherited over a fork
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._loop, name="sqlite-checkpoint", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        last_work = time.monotonic()
        while True:
            time.sleep(CHECKPOINT_INTERVAL)     # the period of the job, not a wait for something
            with self._lock:
                paths, self._dirty = self._dirty, set()
                if not paths and time.monotonic() - last_work > CHECKPOINT_IDLE_EXIT:
                    self._thread = None
                    return
            if paths:
                last_work = time.monotonic()
            for path in paths:
                checkpoint(path)


_checkpointer = _Checkpointer()


def checkpoint(path: str, mode: str = "PASSIVE", timeout: float = 0) -> tuple[int, int, int] | None:
    """PRAGMA wal_checkpoint(`mode`) on the database file `path`: (busy, WAL frames, frames copied).

    PASSIVE (the background thread's): it copies what no reader still needs and never blocks a
    reader or writer (the first writer after a complete one starts the WAL over). TRUNCATE (on
    closing, see `close_engine`): everything, waiting up to `timeout` seconds for other
    connections, and the WAL file emptied. A file that no longer exists is left alone (opened
    read-write only, never created); None then.
    """
    if mode not in ("PASSIVE", "FULL", "RESTART", "TRUNCATE"):
        raise ValueError(f"checkpoint mode {mode!r} is not one of PASSIVE, FULL, RESTART, TRUNCATE")
    try:
        conn = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, timeout=timeout, isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        return tuple(conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone())
    except sqlite3.Error as exc:         # busy with another checkpoint, or not a database any more
        log.debug("checkpoint of %s skipped: %s", path, exc)
        return None
    finally:
        conn.close()


class _QueuedWriterConnection(sqlite3.Connection):
    """A pysqlite connection that holds its file's in-process write lock for each transaction.

    Every transaction here is BEGIN IMMEDIATE (a writer), and SQLite makes a waiting writer poll
    with sleeps that grow to 100 ms, so threads of one web process that meet at the lock wait
    far longer than the transaction ahead of them takes, and a busy one can starve. Queueing on
    a Python lock first hands the database over the moment the commit is done; SQLite's busy
    timeout still covers other processes.
    """

    write_lock: _WriteLock | None = None
    db_path = ""
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
        _checkpointer.wrote(self.db_path)

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


def configure(engine: Engine, memory: bool) -> None:
    """WAL, foreign keys, a busy timeout and the page cache on every connection; BEGIN IMMEDIATE
    on every transaction, queued on this process's lock for the file."""
    lock = None if memory else _write_lock(engine.url.database)
    db_path = "" if memory else os.path.realpath(engine.url.database)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        # pysqlite's own transaction handling defers BEGIN; "begin" below issues BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        queued = isinstance(dbapi_conn, _QueuedWriterConnection)
        if queued:
            dbapi_conn.write_lock = lock
            dbapi_conn.db_path = db_path
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        if queued:
            cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn):
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


def connection_factory(memory: bool) -> type[sqlite3.Connection] | None:
    """The pysqlite connection class for a file database (None: the default, for :memory:)."""
    return None if memory else _QueuedWriterConnection


CLOSE_CHECKPOINT_SECONDS = 2.0


def checkpoint_on_close(database: str) -> None:
    """After an engine on `database` closed its connections: leave the file whole, its WAL copied in.

    SQLite checkpoints on the close of a file's last connection only, and this process's
    checkpoint thread may hold a connection of its own at that instant: then the WAL stayed
    beside the file, and a copy of the file alone (a backup, a test template) missed the latest
    writes. One TRUNCATE checkpoint makes the file complete either way. It waits at most
    CLOSE_CHECKPOINT_SECONDS: with other processes still at work on the file it gives up, and
    the last of them to close completes it. A stopping server must not outlast its supervisor's
    patience (gunicorn gives 10 s).
    """
    checkpoint(os.path.realpath(database), "TRUNCATE", timeout=CLOSE_CHECKPOINT_SECONDS)
