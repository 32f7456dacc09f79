"""Serving the console: the `web` service of `hotline run`, and the `hotline web` command.

Both use waitress, a production WSGI server in pure Python, in a thread of the process. Its
threads are WEB_THREADS for pages and webhooks plus STREAM_SLOTS for the agents' event streams
(each open stream holds a thread; see agent_console.stream), so 200 agents streaming never
starve page requests. For several web processes, see agent_console.wsgi (gunicorn + REDIS_URL).
"""
from __future__ import annotations

import argparse
import logging
import os
import secrets
import socket
import threading

from waitress import wasyncore
from waitress.server import create_server

from tickets.context import Hotline
from tickets.errors import HotlineError

from .app import create_app
from .workspace import HUB

log = logging.getLogger(__name__)

# Connections beyond the threads: keep-alive browsers, a burst of reconnecting streams waiting
# for a thread, and the webhooks; waitress's default (100) is below one shift of agents.
CONNECTION_HEADROOM = 200
STOP_SECONDS = 5.0

SCREENPOP_HOWTO = ('Screen-pop without a PBX: log in as agent1 / demo, press 空闲 (available) in the workspace, '
                   'then run: hotline simulate-call 13800138000 --keys "0"')


def waitress_threads(hl: Hotline) -> int:
    return hl.settings.web_threads + hl.settings.stream_slots


class WebService:
    """The console and webhooks, served by waitress in a background thread of this process."""

    bind_setting = "WEB_BIND"          # named by `hotline run` when the address is taken

    def __init__(self, hl: Hotline, app=None) -> None:
        self.hl = hl
        self.app = app if app is not None else create_app(hl)
        self._map: dict = {}
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        host, port = self.hl.settings.web_bind
        threads = waitress_threads(self.hl)
        # Our own socket map, so stop() can close every connection (open streams included).
        # channel_request_lookahead: waitress keeps reading a connection while its request runs,
        # so a stream learns at once that its browser has gone (environ waitress.client_disconnected).
        self._server = create_server(self.app, map=self._map, host=host, port=port, threads=threads,
                                     connection_limit=threads + CONNECTION_HEADROOM, channel_request_lookahead=5,
                                     ident="hotline")
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)
        self._thread.start()
        log.info("console listening on %s (waitress, %d threads: %d for pages + %d for agent streams)",
                 self.url, threads, self.hl.settings.web_threads, self.hl.settings.stream_slots)

    @property
    def port(self) -> int:
        return self._server.effective_port if self._server is not None else self.hl.settings.web_bind[1]

    @property
    def url(self) -> str:
        """The console's URL: PUBLIC_BASE_URL when set, else the address it listens on."""
        if self.hl.settings.public_base_url:
            return self.hl.settings.public_base_url + "/"
        host = self.hl.settings.web_bind[0]
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def stop(self) -> None:
        if self._server is None:
            return
        hub = self.app.extensions.get(HUB)
        if hub is not None and not hub.stop(STOP_SECONDS):
            log.warning("console: %d agent streams still open at shutdown", hub.open_count)
        self._server.task_dispatcher.shutdown(timeout=STOP_SECONDS)
        # Close every socket from inside the server's own loop (its trigger runs the callable
        # there): closing them from this thread would pull them out from under a select().
        try:
            self._server.trigger.pull_trigger(lambda: wasyncore.close_all(self._map))
        except OSError:
            # The loop already closed its trigger (it has stopped): nothing selects any more,
            # so what is left can be closed from here.
            wasyncore.close_all(self._map)
        self._thread.join(STOP_SECONDS)
        self._server = None

    def describe(self) -> list[str]:
        lines = [f"Console:    {self.url}  (waitress, {waitress_threads(self.hl)} threads)"]
        if self.hl.settings.demo:
            lines.append(SCREENPOP_HOWTO)
        return lines


def web_service(hl: Hotline) -> WebService:
    """The `hotline.services: web` entry point: `hotline run` starts it with the others."""
    return WebService(hl)


def require_schema(hl: Hotline) -> None:
    """A web-only process does not migrate (several start at once); it needs `hotline init` first."""
    from tickets.migrate import current

    if current(hl.engine) is None:
        url = hl.engine.url.render_as_string(hide_password=True)
        raise HotlineError(f"the database {url} has no schema yet: run `hotline init` once "
                           "(or `hotline web --demo` for the demo city), then start the web processes")


def cmd_web(args) -> int:
    """Serve the console alone (no FastAGI, no scheduler): one web process of a larger setup."""
    from tickets.cli import init_database, make_hotline, refuse_demo_passwords_in_production, wait_for_stop

    if args.demo:
        os.environ["HOTLINE_DEMO"] = "1"
        os.environ.setdefault("SECRET_KEY", secrets.token_hex(32))
    hl = make_hotline(args)
    if args.demo:
        init_database(hl, True)
    require_schema(hl)
    refuse_demo_passwords_in_production(hl)
    svc = WebService(hl)
    svc.start()
    log.info("\n".join(["", "Hotline console is running (web only)."] + ["  " + x for x in svc.describe()]
                       + ["Stop with Ctrl-C."]))
    wait_for_stop()
    log.info("stopping")
    svc.stop()
    hl.close()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """The `hotline.commands: console` entry point."""
    sp = subparsers.add_parser(
        "web", help="serve the console and webhooks only (waitress; no FastAGI, no scheduler)",
        description="Serve the agent console and the provider webhooks with waitress on WEB_BIND, without the "
                    "FastAGI server or the scheduler: one web process of several (set REDIS_URL so screen-pops "
                    "reach every process quickly, and the same SECRET_KEY everywhere). The database must exist "
                    "(`hotline init`). For gunicorn, see agent_console/wsgi.py.")
    sp.add_argument("--demo", action="store_true", help="demo mode: migrate, load the demo city, demo logins")
    sp.set_defaults(func=cmd_web)
