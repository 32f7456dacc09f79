"""Where a Twilio call's IVR state waits between webhook requests, keyed by CallSid.

Twilio drives a call as a chain of independent HTTP requests, and any web process may serve
the next one, so the engine's state cannot stay in memory. Each request is one numbered step:
the state saved by step `n` is the input of step `n + 1`, and the TwiML of step `n` names that
number (and a token, below) in its action URLs.

Two stores, one interface:

- `DatabaseCallStates` (default): one `ivr_sessions` row per call, written in the webhook's
  own transaction, so the state, the engine's work and the webhook receipt commit together.
- `RedisCallStates` (when REDIS_URL is set): one immutable snapshot per step under a random
  token, written before the database commit. A snapshot is never overwritten, so a step that
  is run again (its first attempt rolled back, or a concurrent duplicate lost the race for the
  receipt) starts from exactly the same state, and the TwiML that did commit names the token of
  the snapshot that belongs to it. Orphans of rolled-back attempts expire with their TTL.
  While Redis is out of reach, a step's state goes to the database instead (as the default
  store keeps it) and its URLs carry no token, which is how the next step knows where to look:
  calls keep booking through a Redis outage, warned about once (tickets.outage).
"""
from __future__ import annotations

import json
import logging
import secrets
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from tickets.context import Hotline
from tickets.models import IvrSession, utcnow
from tickets.outage import Outage

log = logging.getLogger(__name__)

# A snapshot outlives any real call; after that Redis forgets it on its own.
SNAPSHOT_TTL_SECONDS = 6 * 3600

_EXTENSION = "ivr.callstates"


class CallStates(Protocol):
    """What the Twilio adapter needs from a call-state store."""

    def load(self, session: Session, call_sid: str, step: int, token: str) -> dict[str, Any] | None:
        """The state step `step` starts from, or None when this call has no such step."""

    def save(self, session: Session, call_sid: str, step: int, state: dict[str, Any]) -> str:
        """Keep `state` as the input of step `step`; returns the token the next URLs must carry."""

    def latest(self, session: Session, call_sid: str) -> dict[str, Any] | None:
        """The most recent state of the call (for the status callback), or None."""

    def forget(self, session: Session, call_sid: str) -> None:
        """Drop the call's state once the call is over."""


# On the table, not the mapped class: plain Core statements, with no ORM bulk-write handling.
_SESSIONS = IvrSession.__table__
_LOAD = select(_SESSIONS.c.state, _SESSIONS.c.step).where(_SESSIONS.c.call_key == bindparam("sid"))
_LATEST = select(_SESSIONS.c.state).where(_SESSIONS.c.call_key == bindparam("sid"))
_INSERT = insert(_SESSIONS).values(call_key=bindparam("sid"), state=bindparam("state"), step=bindparam("step"),
                                   updated_at=bindparam("now"))
_UPDATE = (update(_SESSIONS).where(_SESSIONS.c.call_key == bindparam("sid"))
           .values(state=bindparam("state"), step=bindparam("step"), updated_at=bindparam("now")))
_DELETE = delete(_SESSIONS).where(_SESSIONS.c.call_key == bindparam("sid"))


class DatabaseCallStates:
    """Call state in the `ivr_sessions` table, on the connection of the caller's transaction."""

    def load(self, session: Session, call_sid: str, step: int, token: str) -> dict[str, Any] | None:
        row = session.execute(_LOAD, {"sid": call_sid}).first()
        if row is None or row[1] != step:
            return None
        return row[0]

    def save(self, session: Session, call_sid: str, step: int, state: dict[str, Any]) -> str:
        values = {"sid": call_sid, "state": state, "step": step, "now": utcnow()}
        # Step 1's state is the first the call has (the incoming call saves it); a later step's
        # row may be missing only when the call began in Redis (RedisCallStates, an outage).
        if step == 1 or session.execute(_UPDATE, values).rowcount == 0:
            session.execute(_INSERT, values)
        # The row holds exactly one state per step: no token needed.
        return ""

    def latest(self, session: Session, call_sid: str) -> dict[str, Any] | None:
        return session.scalar(_LATEST, {"sid": call_sid})

    def forget(self, session: Session, call_sid: str) -> None:
        session.execute(_DELETE, {"sid": call_sid})


# Stores the snapshot and moves the call's "latest" pointer forward (never back), in one round trip.
_SAVE_SCRIPT = """
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[3])
local cur = redis.call('GET', KEYS[1])
if cur then
  local cur_step = tonumber(string.match(cur, '^(%d+):'))
  if cur_step and cur_step >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
return 1
"""


class RedisCallStates:
    """Call state in Redis: immutable per-step snapshots plus a pointer to the latest one."""

    def __init__(self, url: str, prefix: str = "hotline:ivr:") -> None:
        import redis  # only deployments with REDIS_URL need it

        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix
        self._save = self._redis.register_script(_SAVE_SCRIPT)
        self._errors = (redis.ConnectionError, redis.TimeoutError)
        self._database = DatabaseCallStates()
        self._outage = Outage(log, "twilio call state", "kept in the database until it is back")

    def _snapshot_key(self, call_sid: str, step: int, token: str) -> str:
        return f"{self._prefix}{call_sid}:{step}:{token}"

    def _latest_key(self, call_sid: str) -> str:
        return f"{self._prefix}{call_sid}:latest"

    def load(self, session: Session, call_sid: str, step: int, token: str) -> dict[str, Any] | None:
        if not token:                   # saved while Redis was out of reach
            return self._database.load(session, call_sid, step, token)
        try:
            raw = self._redis.get(self._snapshot_key(call_sid, step, token))
        except self._errors as exc:     # the state is in Redis, out of reach: the caller is handed on
            self._outage.failed(exc)
            return None
        self._outage.answered()
        return json.loads(raw) if raw is not None else None

    def save(self, session: Session, call_sid: str, step: int, state: dict[str, Any]) -> str:
        token = secrets.token_hex(6)
        try:
            self._save(keys=[self._latest_key(call_sid), self._snapshot_key(call_sid, step, token)],
                       args=[step, token, SNAPSHOT_TTL_SECONDS, json.dumps(state, ensure_ascii=False)])
        except self._errors as exc:
            self._outage.failed(exc)
            return self._database.save(session, call_sid, step, state)
        self._outage.answered()
        return token

    def latest(self, session: Session, call_sid: str) -> dict[str, Any] | None:
        # A state saved in the database during an outage counts when it is the later step.
        row = session.execute(_LOAD, {"sid": call_sid}).first()
        try:
            pointer = self._redis.get(self._latest_key(call_sid))
        except self._errors as exc:
            self._outage.failed(exc)
            pointer = None
        if pointer is not None:
            step, _, token = pointer.decode().partition(":")
            state = self.load(session, call_sid, int(step), token) if row is None or int(step) > row[1] else None
            if state is not None:
                return state
        return row[0] if row is not None else None

    def forget(self, session: Session, call_sid: str) -> None:
        # The pointer only: the snapshots expire with their TTL (replays are answered from receipts).
        try:
            self._redis.delete(self._latest_key(call_sid))
        except self._errors as exc:
            self._outage.failed(exc)
        self._database.forget(session, call_sid)

    def close(self) -> None:
        self._redis.close()


def call_states(hl: Hotline) -> CallStates:
    """The Hotline's call-state store (Redis when REDIS_URL is set), made once and shared."""
    store = hl.extensions.get(_EXTENSION)
    if store is None:
        store = RedisCallStates(hl.settings.redis_url) if hl.settings.redis_url else DatabaseCallStates()
        hl.extensions[_EXTENSION] = store
    return store
