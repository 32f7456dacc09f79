"""Shared fixtures: a real migrated database with the demo city, a fixed clock, real Redis.

Every test that takes `hl` (or `new_hotline`) runs twice: on SQLite and on PostgreSQL, each time
on a database of its own made from a template built once per run (a file copy; CREATE DATABASE
... TEMPLATE). `--backends=sqlite` runs the SQLite half only. PostgreSQL and Redis start when
`CI` is set (a failure to start them fails the run) or when their servers are installed
locally; otherwise those tests skip and the summary line says so.
"""
from __future__ import annotations

import itertools
import os
import shutil
from datetime import datetime

import pytest

from sqlalchemy import create_engine, text

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


BACKENDS = ("sqlite", "postgres")


def pytest_addoption(parser):
    parser.addoption("--backends", default=",".join(BACKENDS),
                     help="comma-separated databases to run the database tests on (default: sqlite,postgres)")


def pytest_collection_modifyitems(config, items):
    wanted = set(config.getoption("--backends").split(","))
    keep, drop = [], []
    for item in items:
        backend = getattr(item, "callspec", None) and item.callspec.params.get("backend")
        (drop if backend and backend not in wanted else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


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


def test_settings(url: str, **env):
    return load_settings({"DATABASE_URL": url, "HOTLINE_DEMO": "1", "SECRET_KEY": "test-secret",
                          "TWILIO_AUTH_TOKEN": "test-twilio-token", "TWILIO_ACCOUNT_SID": "ACtest",
                          "SMS_PROVIDER": "console", **env})


def make_test_hotline(url: str, *, demo: bool = True, clock: Clock | None = None, engine=None,
                      plugins: bool = True, **env) -> Hotline:
    hl = Hotline(test_settings(url, **env), engine=engine or make_engine(url), clock=clock or Clock())
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


def sqlite_copy(template, dest_dir, clock: Clock | None = None, name: str = "hotline.db", **env) -> Hotline:
    """A Hotline on a private copy of the SQLite template database."""
    dest = dest_dir / name
    shutil.copyfile(template, dest)
    return Hotline(test_settings(f"sqlite:///{dest}", **env), clock=clock or Clock()).load_plugins()


class PostgresDatabases:
    """Databases on the throwaway PostgreSQL server, each a copy of one migrated demo template."""

    TEMPLATE = "hotline_template"

    def __init__(self, server) -> None:
        self._server = server
        self._admin = create_engine(server.url, isolation_level="AUTOCOMMIT")
        self._numbers = itertools.count(1)
        with self._admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {self.TEMPLATE}"))
        template = make_test_hotline(self.url_of(self.TEMPLATE), clock=Clock())
        template.close()            # CREATE DATABASE ... TEMPLATE needs it without connections

    def url_of(self, name: str) -> str:
        return self._server.url.rsplit("/", 1)[0] + "/" + name

    def create(self) -> str:
        name = f"hotline_test_{next(self._numbers)}"
        with self._admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {self.TEMPLATE}"))
        return self.url_of(name)

    def clone(self, url: str) -> str:
        """A new database holding what the database `url` holds now (it must have no connections:
        dispose of its engine first)."""
        name = f"hotline_test_{next(self._numbers)}"
        with self._admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {url.rsplit('/', 1)[1]}"))
        return self.url_of(name)

    def drop(self, url: str) -> None:
        with self._admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)"))

    def close(self) -> None:
        self._admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases(postgres_server):
    databases = PostgresDatabases(postgres_server)
    yield databases
    databases.close()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """The database a test runs on; every test using `hl` or `new_hotline` runs on each."""
    return request.param


@pytest.fixture
def new_hotline(backend, request, tmp_path, clock):
    """`new_hotline(**settings)`: a Hotline on a database of its own (the demo city, this test's
    backend), closed and removed after the test. `clock=` another clock."""
    made: list[tuple[Hotline, str | None]] = []

    def make(*, clock: Clock = clock, **env) -> Hotline:
        if backend == "sqlite":
            name = f"hotline{len(made) or ''}.db"
            h = sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path, clock, name=name, **env)
            made.append((h, None))
        else:
            databases = request.getfixturevalue("postgres_databases")
            url = databases.create()
            h = Hotline(test_settings(url, **env), clock=clock).load_plugins()
            made.append((h, url))
        return h

    yield make
    for h, url in made:
        h.close()
        if url is not None:
            request.getfixturevalue("postgres_databases").drop(url)


@pytest.fixture
def hl(new_hotline):
    """A Hotline on a fresh, migrated database with the demo city, clock fixed at FIXED_NOW."""
    return new_hotline()


@pytest.fixture
def pg_hl(postgres_databases, clock):
    """A Hotline on a fresh PostgreSQL database with the demo city (for tests of PostgreSQL itself)."""
    url = postgres_databases.create()
    h = Hotline(test_settings(url), clock=clock).load_plugins()
    yield h
    h.close()
    postgres_databases.drop(url)


@pytest.fixture
def session(hl):
    with hl.session() as s:
        yield s
