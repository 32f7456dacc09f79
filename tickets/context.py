"""The running Hotline: settings, database, bus, clock and plugins, built once per process.

Domain functions receive a Session; the Hotline it came from is in `session.info`, so a
function that needs the time zone, the clock or the order listeners finds them there
(`hotline_of(session)`) without any global state.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any, Callable

from sqlalchemy.orm import Session

from .bus import make_bus
from .config import Settings, load_settings
from .db import close_engine, make_engine, make_session_factory
from .models import utcnow

log = logging.getLogger(__name__)

OrderListener = Callable[[Session, Any, Any], None]   # (session, order, event) inside the transaction
# (session, complaint, what) inside the transaction; what: "accepted" or "answered" (tickets.complaints).
ComplaintListener = Callable[[Session, Any, str], None]


@dataclass
class Job:
    name: str
    func: Callable[["Hotline"], Any]
    seconds: int


@dataclass
class Hotline:
    settings: Settings
    engine: Any = None
    bus: Any = None
    clock: Callable[[], datetime] = utcnow
    order_listeners: list[OrderListener] = field(default_factory=list)
    complaint_listeners: list[ComplaintListener] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.engine is None:
            self.engine = make_engine(self.settings.database_url)
        if self.bus is None:
            self.bus = make_bus(self.settings.redis_url)
        self._factory = make_session_factory(self.engine)

    @property
    def tz(self):
        return self.settings.timezone

    def now(self) -> datetime:
        """Naive UTC now, from the clock (tests fix it)."""
        return self.clock()

    def session(self) -> Session:
        s = self._factory()
        s.info["hotline"] = self
        s.info["bus"] = self.bus
        return s

    def load_plugins(self) -> "Hotline":
        """Let the other packages (sms, ...) add their order listeners and jobs."""
        for ep in entry_points(group="hotline.plugins"):
            try:
                install = ep.load()
            except ImportError as exc:
                log.debug("plugin %s not available: %s", ep.name, exc)
                continue
            install(self)
        return self

    def close(self) -> None:
        close = getattr(self.bus, "close", None)
        if close:
            close()
        close_engine(self.engine)


def create_hotline(settings: Settings | None = None, *, plugins: bool = True, **kwargs) -> Hotline:
    h = Hotline(settings or load_settings(), **kwargs)
    return h.load_plugins() if plugins else h


def hotline_of(session: Session) -> Hotline:
    h = session.info.get("hotline")
    if h is None:
        raise RuntimeError("session was not made by Hotline.session()")
    return h
