"""Core statements built once and run straight on the DBAPI cursor of a session's transaction.

For the webhooks' hot reads and writes (receipts, call state, flood counts): SQLAlchemy's
execution of a statement it has already compiled and cached still costs 70 to 110 µs (execution
context, result object, events), where SQLite spends 5 to 15 µs on a one-row lookup or write.
A `Prepared` statement is compiled once per dialect and sends the same SQL with the same values:
each column type's own bind and result processors convert them (datetimes, JSON, booleans as the
dialect stores them), and driver errors become SQLAlchemy's (an `IntegrityError` is still one).
`tickets.db.insert_now` does the same for ORM rows.

Reads autoflush, as the session's queries do; writes (`run`) do not: they go out as they are,
like tickets.db.insert_now / update_now, beside whatever the unit of work still holds.

What it does not do: compute Python-side column defaults at execution (give those values in the
statement; a statement that would need one is refused when first run, naming the columns),
expand IN lists, or fire engine events.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from sqlalchemy import Select, literal_column
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .db import bind_processor, driver_connection

Processor = Callable[[Any], Any] | None
_REQUIRED = object()


class Prepared:
    """A Core statement to run many times: `rows`, `first` and `scalar` read, `run` writes."""

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: tuple[Any, _Compiled] | None = None     # (dialect, compiled): one engine per process

    def rows(self, session: Session, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """Every row of the result."""
        return self._execute(session, params, lambda cursor, c: [c.row(r) for r in cursor.fetchall()])

    def first(self, session: Session, params: Mapping[str, Any] | None = None) -> tuple | None:
        """The first row, or None."""
        def fetch(cursor, c: _Compiled) -> tuple | None:
            row = cursor.fetchone()
            return None if row is None else c.row(row)
        return self._execute(session, params, fetch)

    def scalar(self, session: Session, params: Mapping[str, Any] | None = None) -> Any:
        """The first column of the first row, or None."""
        row = self.first(session, params)
        return None if row is None else row[0]

    def run(self, session: Session, params: Mapping[str, Any] | None = None) -> int:
        """Execute an INSERT, UPDATE or DELETE; returns the number of rows it matched."""
        return self._execute(session, params, lambda cursor, c: cursor.rowcount, flush=False)

    def _execute(self, session: Session, params: Mapping[str, Any] | None, fetch: Callable,
                 flush: bool = True) -> Any:
        if flush:
            # As the session's own queries do: pending ORM changes are written first, so a read
            # sees them (a no-op when nothing is pending, and under `session.no_autoflush`).
            session._autoflush()
        dbapi_conn, dialect = driver_connection(session)
        cached = self._compiled
        if cached is None or cached[0] is not dialect:
            cached = self._compiled = (dialect, _Compiled(self.statement, dialect))
        compiled = cached[1]
        values = compiled.parameters(params or {})
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(compiled.sql, values)
            return fetch(cursor, compiled)
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(compiled.sql, values, exc, dialect.loaded_dbapi.Error,
                                      dialect=dialect) from exc
        finally:
            cursor.close()


class _Compiled:
    """One statement compiled for one dialect: its SQL, how to build its parameters, how to read its rows."""

    __slots__ = ("sql", "binds", "positional", "results")

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        computed = [c.key for c in (*compiled.insert_prefetch, *compiled.update_prefetch)]
        if computed:
            raise ValueError(f"the statement leaves {', '.join(computed)} to a Python-side default; "
                             f"give {'them' if len(computed) > 1 else 'it'} in its values to run it prepared")
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        binds = compiled.binds
        if any(binds[name].expanding for name in names):
            raise ValueError("an expanding IN cannot run prepared; use SQLAlchemy's execution for it")
        self.sql = compiled.string
        self.positional = compiled.positional
        # (name, value when the caller gives none, bind processor)
        self.binds: list[tuple[str, Any, Processor]] = [
            (name, _REQUIRED if binds[name].required else binds[name].effective_value,
             bind_processor(binds[name].type, dialect)) for name in names]
        # The columns a row has: a SELECT's, or an INSERT/UPDATE's RETURNING.
        columns = statement.selected_columns if isinstance(statement, Select) else compiled.effective_returning or ()
        results: list[Processor] = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
        self.results = results if any(results) else None

    def parameters(self, params: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
        values = []
        for name, default, proc in self.binds:
            value = params.get(name, default)
            if value is _REQUIRED:
                raise ValueError(f"a value is required for the bind parameter {name!r}")
            values.append(value if proc is None else proc(value))
        return values if self.positional else dict(zip((name for name, _, _ in self.binds), values))

    def row(self, raw: tuple) -> tuple:
        if self.results is None:
            return tuple(raw)
        return tuple(v if proc is None else proc(v) for v, proc in zip(raw, self.results))


def constants(*values: str) -> list[Any]:
    """String constants for an `IN (...)` a prepared statement can carry: written into the SQL,
    where a list of values would become an expanding parameter."""
    return [literal_column("'" + v.replace("'", "''") + "'") for v in values]
