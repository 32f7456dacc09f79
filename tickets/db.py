"""Engine and session factory. One Session per request or job, passed in explicitly."""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from sqlalchemy import Integer, bindparam, create_engine, event, insert, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import MANYTOONE, ColumnProperty, RelationshipProperty, Session, sessionmaker
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.pool import StaticPool

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


def _savepoints_on_the_driver(dialect: Any) -> None:
    """SAVEPOINT, RELEASE and ROLLBACK TO on the driver's connection, for this engine's dialect.

    SQLAlchemy compiles each of those statements afresh (every savepoint has its own name, so
    none is cached), which made a savepoint cost several times a one-row INSERT; the IVR takes
    one per step that touches the database. Driver errors still surface as SQLAlchemy's.
    """
    def run(connection: Any, sql: str) -> None:
        dbapi_conn = connection.connection.dbapi_connection
        try:
            dbapi_conn.execute(sql)
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(sql, (), exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc

    quote_ = dialect.identifier_preparer.quote
    dialect.do_savepoint = lambda connection, name: run(connection, f"SAVEPOINT {quote_(name)}")
    dialect.do_release_savepoint = lambda connection, name: run(connection, f"RELEASE SAVEPOINT {quote_(name)}")
    dialect.do_rollback_to_savepoint = lambda connection, name: run(connection, f"ROLLBACK TO SAVEPOINT {quote_(name)}")


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
        db_path = "" if memory else os.path.realpath(engine.url.database)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            # pysqlite's own transaction handling defers BEGIN; we issue BEGIN IMMEDIATE below
            # so concurrent writers queue on the lock instead of failing on upgrade.
            dbapi_conn.isolation_level = None
            queued = isinstance(dbapi_conn, _QueuedWriterConnection)
            if queued:
                dbapi_conn.write_lock = lock
                dbapi_conn.db_path = db_path
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            if queued:
                cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            # Pages from the process's memory map and a larger page cache (default 2 MB): fewer
            # read calls into the kernel per statement once the tables outgrow the default.
            cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
            if not memory:
                cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
            cur.close()

        _savepoints_on_the_driver(engine.dialect)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover - trivial
            dbapi_conn = conn.connection.dbapi_connection
            queued = isinstance(dbapi_conn, _QueuedWriterConnection)
            if queued:
                dbapi_conn.acquire_write()
            try:
                # On the driver's connection: SQLAlchemy's execution of this one statement cost
                # about 20 times SQLite's work for it, on every transaction.
                dbapi_conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                if queued:
                    dbapi_conn.release_write()
                raise

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


CLOSE_CHECKPOINT_SECONDS = 2.0


def close_engine(engine: Engine) -> None:
    """Close the engine's connections; a SQLite file is left whole, its WAL copied in.

    SQLite checkpoints on the close of a file's last connection only, and this process's
    checkpoint thread may hold a connection of its own at that instant: then the WAL stayed
    beside the file, and a copy of the file alone (a backup, a test template) missed the latest
    writes. One TRUNCATE checkpoint after the close makes the file complete either way. It waits
    at most CLOSE_CHECKPOINT_SECONDS (a checkpoint of the thread's to finish): with other
    processes still at work on the file it gives up, and the last of them to close completes it.
    A stopping server must not outlast its supervisor's patience (gunicorn gives 10 s).
    """
    engine.dispose()
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        checkpoint(os.path.realpath(url.database), "TRUNCATE", timeout=CLOSE_CHECKPOINT_SECONDS)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


_PK_PARAM = "pk_"
_STATEMENTS: dict[tuple[str, Any, bool], Any] = {}


def _statement(kind: str, table: Any, dialect: Any = None) -> Any:
    """INSERT ... RETURNING id, or UPDATE ... WHERE id = :pk_, built once per table.

    The columns come from each call's parameters; a statement object built once keeps its cache
    key, so the hot path pays neither the construction nor the key. On SQLite an INSERT into a
    table whose key is the rowid leaves RETURNING out: the driver's `lastrowid` is the new key
    (as SQLAlchemy's own SQLite execution finds it), for less work on both sides.
    """
    rowid = kind == "insert" and _rowid_key(table, dialect)
    stmt = _STATEMENTS.get((kind, table, rowid))
    if stmt is None:
        pk = table.primary_key.columns[0]
        stmt = (insert(table) if rowid else insert(table).returning(pk) if kind == "insert"
                else update(table).where(pk == bindparam(_PK_PARAM)))
        _STATEMENTS[(kind, table, rowid)] = stmt
    return stmt


def _rowid_key(table: Any, dialect: Any) -> bool:
    """True when `table` on SQLite keys its rows by the rowid (one INTEGER primary key column)."""
    if dialect is None or dialect.name != "sqlite" or len(table.primary_key.columns) != 1:
        return False
    pk = table.primary_key.columns[0]
    return pk.type._type_affinity is Integer and pk.autoincrement in (True, "auto")


def bind_processor(type_: Any, dialect: Any) -> Any:
    """The function that turns a Python value of `type_` into what the driver is given, or None.

    SQLAlchemy's own, except for SQLite's DATETIME with its default storage format, whose
    processor builds the text field by field: a naive datetime (every DateTime column here holds
    naive UTC) is written by `isoformat(" ", "microseconds")`, the very same text at a fraction
    of the cost; anything else still goes through SQLAlchemy's.
    """
    impl = type_.dialect_impl(dialect)
    process = impl.bind_processor(dialect)
    if (process is None or dialect.name != "sqlite" or not isinstance(impl, sqlite_dialect.DATETIME)
            or impl._storage_format != sqlite_dialect.DATETIME._storage_format):
        return process

    def datetime_text(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return process(value)
    return datetime_text


_DRIVER = "tickets.db.driver"


def driver_connection(session: Session) -> tuple[Any, Any]:
    """(the driver's connection, the dialect) of the session's transaction, begun if need be.

    `session.connection()` walks the session's transaction states each time (about 4 µs, over
    a dozen times a booking); the answer is the same for the whole transaction, so it is kept
    with the transaction object it belongs to and asked again for any other (a savepoint, the
    next transaction) or once that transaction is no longer active.
    """
    txn = session._transaction          # SQLAlchemy 2.0: the innermost SessionTransaction, or None
    cached = session.info.get(_DRIVER)
    if cached is not None and cached[0] is txn and txn.is_active:
        return cached[1], cached[2]
    conn = session.connection()
    found = (session._transaction, conn.connection.dbapi_connection, conn.dialect)
    session.info[_DRIVER] = found
    return found[1], found[2]


class _Prepared:
    """One statement compiled for one dialect and one set of columns, run on the DBAPI cursor.

    What SQLAlchemy's execution does for a cached statement, less its per-call bookkeeping
    (execution context, result object, events), which costs two to three times the SQLite work
    for a one-row INSERT: the SQL text, the parameters in the driver's order, and each column
    type's bind processor (datetimes and JSON as the dialect stores them).
    """

    __slots__ = ("sql", "names", "processors", "positional", "returning", "lastrowid")

    def __init__(self, compiled: Any, dialect: Any, lastrowid: bool = False) -> None:
        self.sql = compiled.string
        self.positional = compiled.positional
        self.names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        binds = compiled.binds
        self.processors = [bind_processor(binds[name].type, dialect) for name in self.names]
        self.returning = bool(compiled.effective_returning)
        self.lastrowid = lastrowid

    def run(self, session: Session, values: dict[str, Any], dialect: Any) -> Any:
        """Execute; the new key of an INSERT (its RETURNING, or the rowid), else None."""
        return self._execute(session, values, dialect, all_rows=False)

    def send(self, session: Session, raw: list[Any], dialect: Any, all_rows: bool) -> Any:
        """Execute with `raw`, the values of `names` in that order, before their bind processors."""
        return self._send(session, [value if proc is None else proc(value)
                                    for value, proc in zip(raw, self.processors)], dialect, all_rows)

    def _execute(self, session: Session, values: dict[str, Any], dialect: Any, all_rows: bool) -> Any:
        return self._send(session, [values[name] if proc is None else proc(values[name])
                                    for name, proc in zip(self.names, self.processors)], dialect, all_rows)

    def _send(self, session: Session, params: list[Any], dialect: Any, all_rows: bool) -> Any:
        cursor = driver_connection(session)[0].cursor()
        args = params if self.positional else dict(zip(self.names, params))
        try:
            cursor.execute(self.sql, args)
            if all_rows:
                return [row[0] for row in cursor.fetchall()]
            if self.lastrowid:
                return cursor.lastrowid
            return cursor.fetchone()[0] if self.returning else None
        except dialect.loaded_dbapi.Error as exc:
            # As SQLAlchemy's execution would: callers catch sqlalchemy.exc.IntegrityError, not the driver's.
            raise DBAPIError.instance(self.sql, args, exc, dialect.loaded_dbapi.Error, dialect=dialect) from exc
        finally:
            cursor.close()


# (kind, table, dialect, the columns given) -> (the statement, or None when SQLAlchemy must run
# it; the Python-side defaults to add)
_PREPARED: dict[tuple[Any, ...], tuple[_Prepared | None, tuple[tuple[str, Any], ...]]] = {}


@lru_cache(maxsize=None)
def _python_defaults(table: Any) -> tuple[tuple[str, Any], ...]:
    """(column, default) of the columns whose INSERT default SQLAlchemy computes in Python: a
    plain value, or a function of no arguments (utcnow, list)."""
    return tuple((c.key, c.default) for c in table.columns
                 if c.default is not None and (c.default.is_scalar or c.default.is_callable))


def _run(session: Session, kind: str, table: Any, values: dict[str, Any]) -> Any:
    """Run the INSERT (returning the new id) or UPDATE of `table` with `values` on the session's connection.

    Statements whose columns need a default computed at execution time (a Python-side default
    or onupdate of a column not given) are left to SQLAlchemy's own execution, which computes it.
    """
    dialect = driver_connection(session)[1]
    key = (kind, table, dialect, tuple(values))
    plan = _PREPARED.get(key)
    if plan is None:
        # Columns left out whose INSERT default SQLAlchemy computes in Python, computed here as
        # the execution would (the same scalar, or the same function called), so that the
        # statement can run prepared.
        defaults = tuple((k, d) for k, d in _python_defaults(table) if k not in values) if kind == "insert" else ()
        columns = list(values) + [k for k, _d in defaults]
        compiled = _statement(kind, table, dialect).compile(dialect=dialect, column_keys=columns)
        computed = compiled.insert_prefetch or compiled.update_prefetch or compiled.postfetch
        plan = _PREPARED[key] = (None if computed else
                                 _Prepared(compiled, dialect, lastrowid=kind == "insert" and _rowid_key(table, dialect)),
                                 defaults)
    prepared, defaults = plan
    if defaults:
        values = {**values, **{k: d.arg if d.is_scalar else d.arg(None) for k, d in defaults}}
    if prepared is None:
        result = session.execute(_statement(kind, table), values)     # with RETURNING: any dialect
        return result.scalar_one() if kind == "insert" else None
    return prepared.run(session, values, dialect)


@lru_cache(maxsize=None)
def _shape_of(cls: type) -> tuple[Any, tuple[tuple[str, str], ...], str]:
    """(mapper, (attribute, column) names of its own table, primary-key attribute) of a mapped class."""
    mapper = sa_inspect(cls)
    table = mapper.local_table
    columns = tuple((prop.key, col.key) for prop in mapper.column_attrs for col in prop.columns
                    if col.table is table)
    return mapper, columns, mapper.primary_key[0].key


def attach(session: Session, cls: type, values: dict[str, Any]) -> Any:
    """The `cls` instance of a row read or written outside the ORM, persistent in `session`.

    What the ORM's loading does for a row, without the query around it: an instance built
    without running its constructor, its attributes set from `values` (attribute names, the
    primary key among them) as loaded state, and entered in the identity map. A row already in
    the session's identity map is returned as it is there. Attributes missing from `values` are
    marked expired and load on first access; relationships load lazily from the foreign keys.
    """
    mapper, columns, pk = _shape_of(cls)
    key = (cls, (values[pk],), None)
    identity_map = session.identity_map
    existing = identity_map.get(key)
    if existing is not None:
        return existing
    obj = mapper.class_manager.new_instance()
    state = instance_state(obj)
    dict_ = state.dict
    dict_.update(values)
    state.key = key
    state.identity_token = None
    state.session_id = session.hash_key
    identity_map._add_unpresent(state, key)
    if len(values) < len(columns):
        state._expire_attributes(dict_, [attr for attr, _col in columns if attr not in values])
    return obj


def entity_columns(cls: type) -> list[Any]:
    """The table columns of `cls` in the order `attach_row` reads them (for a Core select of whole rows)."""
    mapper, columns, _pk = _shape_of(cls)
    return [mapper.local_table.c[col] for _attr, col in columns]


def attach_row(session: Session, cls: type, row: tuple, start: int = 0) -> Any:
    """`attach` for a row selected with `entity_columns(cls)`, those columns starting at `row[start]`."""
    _mapper, columns, _pk = _shape_of(cls)
    return attach(session, cls, {attr: row[start + i] for i, (attr, _col) in enumerate(columns)})


def insert_row(session: Session, table: Any, values: dict[str, Any]) -> Any:
    """INSERT one row of `table` (values by column name) in the session's transaction; its new primary key."""
    return _run(session, "insert", table, values)


def insert_now(session: Session, cls: type, values: dict[str, Any], **related: Any) -> Any:
    """INSERT a new row of `cls` at once with one Core statement; returns it as a persistent object.

    The unit of work costs far more than the INSERT for rows written once and never changed in
    the same transaction (events, outbound messages, price lines), and so does building the
    object through its constructor's instrumentation: this writes `values` (attribute names;
    foreign keys as ids) in the session's transaction, then attaches the row as if it had been
    loaded (see `attach`), with its new primary key. Relationships given as `related` are set
    as already-loaded values, without backref bookkeeping that would queue a flush. Columns left
    out take their column defaults and are loaded again on first access.
    """
    mapper, columns, pk = _shape_of(cls)
    new_id = insert_row(session, mapper.local_table, {col: values[attr] for attr, col in columns if attr in values})
    return _inserted(session, cls, values, pk, new_id, related)


def _inserted(session: Session, cls: type, values: dict[str, Any], pk: str, new_id: Any,
              related: dict[str, Any]) -> Any:
    """The object of a row just inserted with `values` under key `new_id`, persistent in `session`."""
    obj = attach(session, cls, {**values, pk: new_id})
    _written(session, "inserted", obj)
    for key, value in related.items():
        if key in _scalar_relationships(cls) and key not in obj.__dict__:
            # A freshly attached row has no history and no loader for it: the committed value
            # is just the entry (what set_committed_value would leave, at a fraction of the cost).
            obj.__dict__[key] = value
        else:
            set_committed_value(obj, key, value)
    return obj


@lru_cache(maxsize=None)
def _scalar_relationships(cls: type) -> frozenset[str]:
    return frozenset(r.key for r in sa_inspect(cls).relationships if not r.uselist)


# (class, dialect, the attributes given, number of rows) -> (the statement, where each of its
# parameters comes from: (row, attribute) or (row, None, the column's Python-side default))
_MANY: dict[tuple[Any, ...], tuple[_Prepared, list[tuple[int, str | None, Any]]]] = {}


def insert_many_now(session: Session, cls: type, rows: list[dict[str, Any]], **related: Any) -> list[Any]:
    """`insert_now` for several rows of `cls` (each with the same attributes), in one INSERT.

    One multi-row INSERT ... RETURNING instead of one statement per row. Whatever order RETURNING
    gives them in, the keys are sorted: both databases produce the VALUES rows in order, each
    taking the next key as it is produced (SQLite's next rowid; PostgreSQL's nextval, which only
    grows, even with other transactions drawing from the sequence in between), so the smallest
    key is the first row's. Returns the rows' objects, in order.
    """
    if len(rows) < 2:
        return [insert_now(session, cls, row, **related) for row in rows]
    mapper, columns, pk = _shape_of(cls)
    dialect = driver_connection(session)[1]
    key = (cls, dialect, tuple(rows[0]), len(rows))
    plan = _MANY.get(key)
    if plan is None:
        plan = _MANY[key] = _many_plan(mapper.local_table, columns, rows[0], len(rows), dialect)
    prepared, sources = plan
    raw = [rows[i][attr] if attr is not None else default.arg if default.is_scalar else default.arg(None)
           for i, attr, default in sources]
    ids = sorted(prepared.send(session, raw, dialect, all_rows=True))
    return [_inserted(session, cls, row, pk, new_id, related) for row, new_id in zip(rows, ids)]


def _many_plan(table: Any, columns: tuple[tuple[str, str], ...], first: dict[str, Any], n: int,
               dialect: Any) -> tuple[_Prepared, list[tuple[int, str | None, Any]]]:
    """The INSERT of `n` rows with the attributes of `first` (plus the Python-side defaults of the
    columns left out), and the source of each of its parameters in the driver's order."""
    attr_of = {col: attr for attr, col in columns if attr in first}
    defaults = {k: d for k, d in _python_defaults(table) if k not in attr_of}
    cols = [*attr_of, *defaults]
    params = {f"{c}__{i}": (i, c) for i in range(n) for c in cols}
    stmt = insert(table).values([{c: bindparam(f"{c}__{i}", type_=table.c[c].type) for c in cols}
                                 for i in range(n)]).returning(table.primary_key.columns[0])
    prepared = _Prepared(stmt.compile(dialect=dialect), dialect)
    sources = []
    for name in prepared.names:
        i, col = params[name]
        sources.append((i, attr_of[col], None) if col in attr_of else (i, None, defaults[col]))
    return prepared, sources


def transient(cls: type, values: dict[str, Any], **related: Any) -> Any:
    """A new `cls` instance, not yet in any session, holding `values` (attribute names) and the
    many-to-one objects `related` as its unchanged state; `persist_now` writes it.

    Built without running the constructor's instrumentation, as `attach` builds a loaded row:
    for an object whose fields are all known up front and that changes a few times before it is
    written once (a work order being booked). Changes made to it afterwards through its
    attributes are ordinary attribute sets.
    """
    obj = _shape_of(cls)[0].class_manager.new_instance()
    obj.__dict__.update(values)
    obj.__dict__.update(related)
    return obj


def persist_now(session: Session, obj: Any) -> Any:
    """INSERT an object built by `transient` at once (its column values as they are now), and
    make it persistent in `session` with its new primary key, as `insert_now` does for a row.

    One statement instead of the unit of work's flush; its relationships stay as they were set,
    now as loaded values. Columns it holds no value for take their defaults and load on first
    access. Returns `obj`.
    """
    mapper, columns, pk = _shape_of(type(obj))
    dict_ = obj.__dict__
    new_id = insert_row(session, mapper.local_table,
                        {col: dict_[attr] for attr, col in columns if attr != pk and attr in dict_})
    dict_[pk] = new_id
    state = sa_inspect(obj)
    key = (type(obj), (new_id,), None)
    state.key = key
    state.identity_token = None
    state.session_id = session.hash_key
    session.identity_map._add_unpresent(state, key)
    state._commit_all(dict_, session.identity_map)     # what it holds is now what the row holds
    missing = [attr for attr, _col in columns if attr not in dict_]
    if missing:
        state._expire_attributes(dict_, missing)
    _written(session, "inserted", obj)
    return obj


def update_now(session: Session, obj: Any) -> None:
    """Write the changed columns of a persistent object at once with one Core UPDATE.

    Like `insert_now`, for the hot paths where the unit of work's flush (dependency sorting over
    every mapper, cycles included) costs several times the statement: the changed columns, and
    the foreign keys of changed many-to-one relationships, go out in one UPDATE in the session's
    transaction and are marked as saved. Anything else pending on the object (a collection that
    grew) is left to the next flush, which then writes only that.
    """
    state = sa_inspect(obj)
    if obj.__dict__.get("id") is None or not state.committed_state:
        return
    mapper = state.mapper
    table = mapper.local_table
    dict_ = state.dict
    values: dict[str, Any] = {}
    done: list[str] = []
    for key in list(state.committed_state):
        prop = mapper.attrs.get(key)
        if prop is None:
            continue
        if isinstance(prop, ColumnProperty):
            values[prop.columns[0].key] = dict_.get(key)
            done.append(key)
        elif isinstance(prop, RelationshipProperty) and prop.direction is MANYTOONE:
            target = dict_.get(key)
            target_id = None if target is None else sa_inspect(target).identity
            if target is not None and target_id is None:
                continue                    # a new related row: the flush must write it first
            for (local, remote), value in zip(prop.local_remote_pairs,
                                              target_id or (None,) * len(prop.local_remote_pairs)):
                values[local.key] = value
                dict_[mapper.get_property_by_column(local).key] = value
            done.append(key)
    if not values:
        return
    values[_PK_PARAM] = dict_["id"]
    _run(session, "update", table, values)
    _written(session, "updated", obj)
    for key in done:
        set_committed_value(obj, key, dict_.get(key))
    if not state.committed_state:
        # Nothing left to write: take the object off the session's list of modified ones, as a
        # flush would, so the commit does not run the unit of work for it at all.
        state._commit_all(dict_, session.identity_map)


# What insert_now / update_now wrote, per transaction: the unit of work knows nothing of those
# rows, so when their transaction (or savepoint) rolls back it cannot forget them by itself.
_WRITTEN = "tickets.db.written"


def _written(session: Session, how: str, obj: Any) -> None:
    txn = session._transaction       # the innermost: the savepoint when there is one (SQLAlchemy 2.0)
    session.info.setdefault(_WRITTEN, []).append((txn, how, obj))


def written_in_this_transaction(session: Session, obj: Any) -> bool:
    """True when `obj` was inserted by insert_now in the session's current transaction."""
    return any(o is obj and how == "inserted" for _txn, how, o in session.info.get(_WRITTEN, ()))


def within(txn: Any, ended: Any) -> bool:
    """True when session transaction `txn` is `ended` or nested inside it."""
    while txn is not None:
        if txn is ended:
            return True
        txn = txn.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: Any) -> None:
    """Rows inserted in the rolled-back transaction leave the session; rows updated in it are expired."""
    written = session.info.get(_WRITTEN)
    if not written:
        return
    kept = []
    for txn, how, obj in written:
        if not within(txn, previous_transaction):
            kept.append((txn, how, obj))
        elif how == "inserted":
            if obj in session:
                session.expunge(obj)
        elif obj in session:
            session.expire(obj)
    session.info[_WRITTEN] = kept


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    # Also fired when a savepoint is released: its rows still belong to the enclosing transaction.
    if not session.in_nested_transaction():
        session.info.pop(_WRITTEN, None)
