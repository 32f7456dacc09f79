"""INSERT ... ON CONFLICT in the session's dialect (PostgreSQL and SQLite spell it alike).

Core statements the session executes, so a list of rows goes as one executemany (SQLAlchemy's
insertmanyvalues batches it), not as an ORM object per row.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def insert_for(session: Session, table: Table):
    """The dialect's `insert(table)`, which has `on_conflict_do_nothing` / `on_conflict_do_update`."""
    name = session.get_bind().dialect.name
    try:
        return _INSERTS[name](table)
    except KeyError:
        raise RuntimeError(f"upserts are written for PostgreSQL and SQLite, not {name}") from None


def insert_new(session: Session, table: Table, rows: list[dict[str, Any]], keys: Iterable[str]) -> int:
    """Insert the rows whose `keys` are not there yet (the others are left as they are); how many were new."""
    if not rows:
        return 0
    keys = list(keys)
    stmt = insert_for(session, table).on_conflict_do_nothing(index_elements=keys)
    return len(session.execute(stmt.returning(*(table.c[k] for k in keys)), rows).all())


def upsert(session: Session, table: Table, rows: list[dict[str, Any]], keys: Iterable[str]) -> None:
    """Insert the rows, or overwrite the other columns of the row with the same `keys`."""
    if not rows:
        return
    keys = list(keys)
    stmt = insert_for(session, table)
    stmt = stmt.on_conflict_do_update(index_elements=keys, set_={
        c: getattr(stmt.excluded, c) for c in rows[0] if c not in keys})
    session.execute(stmt, rows)
