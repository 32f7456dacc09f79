"""Engine and session factory. One Session per request or job, passed in explicitly.

Everything is read and written through the Session (the ORM's unit of work, or Core statements
the session executes), so SQL logging and engine events see every statement. What SQLite needs
to serve several writers is in tickets/sqlite.py; the concurrency rules are in docs/core-api.md.
"""
from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from . import sqlite


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine; SQLite is set up for concurrent writers (tickets/sqlite.py), other
    databases get pool pre-ping so a restarted server costs no request."""
    if not url.startswith("sqlite"):
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)
    memory = url in ("sqlite://", "sqlite:///:memory:")
    connect_args = {"check_same_thread": False, "timeout": 30}
    factory = sqlite.connection_factory(memory)
    if factory is not None:
        connect_args["factory"] = factory
    options = {"connect_args": connect_args, **({"poolclass": StaticPool} if memory else {}), **kwargs}
    engine = create_engine(url, **options)
    sqlite.configure(engine, memory)
    return engine


def close_engine(engine: Engine) -> None:
    """Close the engine's connections; a SQLite file is left whole, its WAL copied in."""
    engine.dispose()
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        sqlite.checkpoint_on_close(url.database)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
