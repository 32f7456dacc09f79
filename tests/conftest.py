"""Shared fixtures: a real migrated database (SQLite; PostgreSQL too when available), a fixed
clock, real Redis, and the demo city.

Backends: SQLite always. PostgreSQL and Redis when `CI` is set (a failure to start them fails
the run) or when their servers are installed locally; otherwise those tests skip and the
session header says so.
"""
from __future__ import annotations

import os
from datetime import datetime

import pytest

from tests import servers
from tickets.config import load_settings
from tickets.context import Hotline
from tickets.db import make_engine
from tickets.migrate import upgrade
from tickets.seed import load_demo, load_reference

CI = bool(os.environ.get("CI"))
# Monday 2026-11-23 10:00 Asia/Shanghai = 02:00 UTC: a fixed "now" for every test.
FIXED_NOW = datetime(2026, 11, 23, 2, 0, 0)
_BACKENDS: dict[str, str] = {}


class Clock:
    """A settable clock; `hl.clock` is this object."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        from datetime import timedelta
        self.now += timedelta(**kw)


def _server(kind: str, start):
    try:
        srv = start()
        _BACKENDS[kind] = "ran"
        return srv
    except Exception as exc:  # noqa: BLE001
        if CI:
            pytest.fail(f"CI is set but {kind} could not be started: {exc}", pytrace=False)
        _BACKENDS[kind] = f"skipped ({exc})"
        return None


def pytest_report_header(config):
    return [f"backends: sqlite=ran, postgres/redis start on first use (CI={'yes' if CI else 'no'})"]


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line("backends: sqlite=ran, " + ", ".join(
        f"{k}={v}" for k, v in sorted(_BACKENDS.items())) if _BACKENDS else "backends: sqlite=ran only")


@pytest.fixture(scope="session")
def postgres_server():
    srv = _server("postgres", servers.start_postgres)
    if srv is None:
        pytest.skip("PostgreSQL server not available")
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def redis_server():
    srv = _server("redis", servers.start_redis)
    if srv is None:
        pytest.skip("Redis server not available")
    yield srv
    srv.stop()


def make_test_hotline(url: str, *, demo: bool = True, clock: Clock | None = None, engine=None,
                      plugins: bool = True, **env) -> Hotline:
    settings = load_settings({"DATABASE_URL": url, "HOTLINE_DEMO": "1", "SECRET_KEY": "test-secret",
                              "TWILIO_AUTH_TOKEN": "test-twilio-token", "TWILIO_ACCOUNT_SID": "ACtest",
                              "SMS_PROVIDER": "console", **env})
    hl = Hotline(settings, engine=engine or make_engine(url), clock=clock or Clock())
    if plugins:
        hl.load_plugins()
    upgrade(hl.engine)
    with hl.session() as s, s.begin():
        load_reference(s)
        if demo:
            load_demo(s)
    return hl


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated SQLite file with the demo city, built once; each test gets a copy (much faster
    than migrating and hashing demo passwords per test)."""
    path = tmp_path_factory.mktemp("template") / "hotline.db"
    h = make_test_hotline(f"sqlite:///{path}", clock=Clock())
    h.close()   # the last connection closing checkpoints the WAL into the main file
    assert not path.with_name("hotline.db-wal").exists()
    return path


def sqlite_copy(template, dest_dir, clock: Clock | None = None, **env) -> Hotline:
    """A Hotline on a private copy of the template database."""
    import shutil
    dest = dest_dir / "hotline.db"
    shutil.copyfile(template, dest)
    url = f"sqlite:///{dest}"
    settings = load_settings({"DATABASE_URL": url, "HOTLINE_DEMO": "1", "SECRET_KEY": "test-secret",
                              "TWILIO_AUTH_TOKEN": "test-twilio-token", "TWILIO_ACCOUNT_SID": "ACtest",
                              "SMS_PROVIDER": "console", **env})
    return Hotline(settings, clock=clock or Clock()).load_plugins()


@pytest.fixture
def hl(sqlite_template, tmp_path, clock):
    """A Hotline on a fresh, migrated SQLite file with the demo city, clock fixed at FIXED_NOW."""
    h = sqlite_copy(sqlite_template, tmp_path, clock)
    yield h
    h.close()


@pytest.fixture
def pg_hl(postgres_server, clock):
    """The same on the throwaway PostgreSQL (schema dropped and recreated for each test)."""
    from sqlalchemy import text
    engine = make_engine(postgres_server.url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    h = make_test_hotline(postgres_server.url, clock=clock, engine=engine)
    yield h
    h.close()


@pytest.fixture(params=["sqlite", "postgres"])
def any_hl(request, tmp_path, clock):
    """Runs the test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        h = sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path, clock)
        yield h
        h.close()
    else:
        yield request.getfixturevalue("pg_hl")


@pytest.fixture
def session(hl):
    with hl.session() as s:
        yield s
