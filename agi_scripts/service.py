"""The voice menu as a FastAGI service: what `hotline run` and `hotline-fastagi` start.

`menu_server(hl)` is a FastAgiServer whose calls run the voice menu (one `Ivr` shared by all
threads: it is thread-safe, and lets `step_limit` steps into the database at once).
`VoiceService` adds the AMI listener when AMI_URL is set, and is what the
`hotline.services: fastagi` entry point returns.
"""
from __future__ import annotations

import logging
from pathlib import Path

from tickets.context import Hotline
from tickets.metrics import watch_pool

from .channel import AgiChannel
from .driver import RESULT_VAR, CallDriver, ensure_recordings_dir
from .fastagi import FastAgiServer

log = logging.getLogger(__name__)

# The scripts this server answers: agi://host:port/<script>. Empty = agi://host:port.
MENU_SCRIPTS = frozenset({"", "hotline", "menu"})
STEP_LIMIT_SERVER_DB = 5      # SQLAlchemy's default pool size, when the pool does not say


def recordings_dir(hl: Hotline) -> Path:
    """Where Asterisk writes voice notes; absolute, because Asterisk does not share our cwd."""
    return hl.settings.recordings_dir.expanduser().resolve()


def step_limit(hl: Hotline) -> int:
    """Steps in the database at once: one on SQLite (one writer); on a server database, the
    connection pool's size.

    Calls spend most of their time waiting for the caller, so a server holds many more calls
    (FASTAGI_MAX_CALLS) than its database can usefully run transactions for: unbounded, twenty
    transactions at once already exceed SQLAlchemy's connection pool (5 + 10), and the steps left
    waiting for a connection time out after 30 s (a failed step: the caller is sent to an agent).
    SQLite runs one writer at a time anyway. Steps that need no database (most key presses)
    do not wait for these.
    """
    if hl.engine.dialect.name == "sqlite":
        return 1
    size = getattr(hl.engine.pool, "size", None)
    return max(1, size()) if callable(size) else STEP_LIMIT_SERVER_DB


def menu_handler(hl: Hotline, transport: str = "fastagi"):
    """A FastAGI call handler that runs the voice menu."""
    from ivr.runtime import Ivr

    ivr = Ivr(hl, max_transactions=step_limit(hl))
    watch_pool(hl.engine)
    recordings = recordings_dir(hl)
    ensure_recordings_dir(recordings)      # at start-up, so a fresh setup's first voice note works

    def handle(channel: AgiChannel) -> str:
        script = channel.env.get("agi_network_script", "")
        if script not in MENU_SCRIPTS:
            log.warning("FastAGI: no script %r here (this server answers %s); sending the call to the queue",
                        script, ", ".join(repr(s) for s in sorted(MENU_SCRIPTS) if s))
            channel.set_variable(RESULT_VAR, "failed")
            return f"ended=failed script={script!r}"
        return CallDriver(ivr, channel, transport, recordings).run().log_fields()

    return handle


def menu_server(hl: Hotline, *, bind: tuple[str, int] | None = None, max_calls: int | None = None) -> FastAgiServer:
    """The FastAGI server for the voice menu, configured from FASTAGI_* (not started)."""
    s = hl.settings
    return FastAgiServer(menu_handler(hl), bind=bind or s.fastagi_bind, allow=s.fastagi_allow,
                         max_calls=max_calls or s.fastagi_max_calls)


class VoiceService:
    """FastAGI, plus the AMI listener when AMI_URL is set: the Asterisk side of `hotline run`."""

    bind_setting = "FASTAGI_BIND"      # named by `hotline run` when the address is taken

    def __init__(self, hl: Hotline) -> None:
        self.hl = hl
        self.server = menu_server(hl)
        self.ami = None
        if hl.settings.ami_url:
            from .ami import AmiListener
            self.ami = AmiListener(hl, hl.settings.ami_url)

    def start(self) -> None:
        self.server.start()
        if self.ami is not None:
            self.ami.start()

    def stop(self) -> None:
        if self.ami is not None:
            self.ami.stop()
        self.server.stop()

    def describe(self) -> list[str]:
        host, port = self.server.address
        lines = [f"FastAGI:    agi://{host}:{port}/hotline (allowed peers: {', '.join(self.hl.settings.fastagi_allow)})"]
        if self.ami is not None:
            lines.append(f"AMI:        listening to {self.ami.describe()} for queue events (screen-pop)")
        else:
            lines.append("AMI:        not started (set AMI_URL to take queue events from Asterisk)")
        return lines
