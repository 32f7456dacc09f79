"""An outage of a service the process shares (Redis, the database), said once rather than per request.

A process that meets Redis or the database out of reach keeps serving what it can (the bus drops
events, call state goes to the database, callers hear an apology); its log says so once when the
outage begins and once when it ends, however many requests meet it in between: an outage is not
an error per request, and a storm of tracebacks would hide what else goes wrong.
"""
from __future__ import annotations

import logging
import threading


class Outage:
    """One warning when `service` is first missed and one line when it answers again. `what`
    names the user (the log's prefix), `meanwhile` what happens until the service is back."""

    def __init__(self, logger: logging.Logger, what: str, meanwhile: str, service: str = "Redis") -> None:
        self._log, self._what, self._meanwhile, self._service = logger, what, meanwhile, service
        self._lock = threading.Lock()
        self.down = False

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            if self.down:
                return
            self.down = True
        self._log.warning("%s: %s unreachable (%s); %s", self._what, self._service,
                          str(getattr(exc, "orig", None) or exc).strip(), self._meanwhile)

    def answered(self) -> None:
        if not self.down:            # the usual case: no lock taken
            return
        with self._lock:
            if not self.down:
                return
            self.down = False
        self._log.info("%s: %s reachable again", self._what, self._service)
