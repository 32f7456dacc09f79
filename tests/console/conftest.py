"""Console fixtures: the real app on the test Hotline (real SQLite, demo city), and a logged-in
browser-like client that carries the CSRF token the pages hand out."""
from __future__ import annotations

import re

import pytest

from agent_console.app import create_app

DEMO_PASSWORD = "demo"
_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


class Console:
    """A Flask test client used the way a person uses the console: log in, open pages, submit forms."""

    def __init__(self, app, remote_addr: str = "127.0.0.1"):
        self.app = app
        self.client = app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = remote_addr
        self._token: str | None = None

    def token(self) -> str:
        """The CSRF token of this browser's session, as every page's <meta name=csrf-token> carries it."""
        if self._token is None:
            page = self.client.get("/login")
            if page.status_code == 302:
                page = self.client.get(page.headers["Location"], follow_redirects=True)
            found = _TOKEN.search(page.get_data(as_text=True))
            assert found, "no csrf-token meta on the page"
            self._token = found.group(1)
        return self._token

    def login(self, username: str, password: str = DEMO_PASSWORD):
        self._token = None
        resp = self.post("/login", {"username": username, "password": password})
        self._token = None     # a new session gets a new token
        return resp

    def logout(self):
        resp = self.post("/logout")
        self._token = None
        return resp

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict | None = None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token())
        return self.client.post(url, data=data, **kw)

    def post_without_token(self, url: str, data: dict | None = None, **kw):
        return self.client.post(url, data=data or {}, **kw)


@pytest.fixture
def app(hl):
    return create_app(hl, {"TESTING": True})


@pytest.fixture
def console(app):
    """A not-yet-logged-in console browser."""
    return Console(app)


@pytest.fixture
def login(app):
    """`login("agent1")` -> a Console logged in as that demo user."""
    def _login(username: str, remote_addr: str = "127.0.0.1") -> Console:
        c = Console(app, remote_addr)
        resp = c.login(username)
        assert resp.status_code == 302, f"log-in of {username} failed: {resp.status_code}"
        return c
    return _login


def text(resp) -> str:
    return resp.get_data(as_text=True)
