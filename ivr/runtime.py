"""The IVR runtime: `Ivr(hl).step(state, event) -> (state, actions)`, as docs/ivr-contract.md says.

`step` is a pure function of the state and the event apart from the named actions
(`ivr/actions.py`), which read and write `tickets` in one short transaction per step, opened
only when a step needs the database. So most key presses cost no query, a booking session
costs two transactions (the start; the booking with the end of the call), and any process can
take the next step of a call because everything it needs is in the JSON state. A step copies
only the parts of the state it changes (the path and the variables; their values are replaced,
never changed in place), so the caller's state is left as it was.

The call record (`tickets.calls`) is written by the engine, one statement each time: `open_call`
on start, the IVR path whenever a step touches the database anyway, `finish_call` with the
outcome, path and language on hang-up, transfer or the goodbye. The record is never read back:
what the engine needs of it is in the state.
"""
from __future__ import annotations

import logging
import threading
import time as _time
from typing import Any, Callable, Mapping

from sqlalchemy.exc import DBAPIError, PendingRollbackError
from sqlalchemy.orm import Session

from tickets import cache, calls, cards
from tickets.context import Hotline
from tickets.models import Call
from tickets.outage import Outage
from tickets.phones import ANONYMOUS

from . import hours, phrases, prompts
from .catalog import CATALOG_TTL, Catalog, load_catalog
from .menus import (ACTION, ENTRY, FALLBACK, GATHERS, HANGUP, INPUT, MENU, QUEUE, RECORD, TRANSFER, Choice,
                    Node, build_menus)

log = logging.getLogger(__name__)

STATE_VERSION = 1
LANGS = prompts.LANGS
EVENTS = ("start", "digits", "timeout", "recorded", "hangup")
MAX_HOPS = 40   # nodes entered in one step; more means a loop in the menu data
OUTBOUND_VARS = ("outbound", "answered_by")   # start-event fields an outbound call's menu reads
# The transfer's channel variable for a member's priority in the agents' queue: Asterisk's own
# (app_queue's Queue() reads ${QUEUE_PRIO}); set only for callers whose level gives one.
PRIORITY_VAR = "QUEUE_PRIO"


class Turn:
    """One step of one call: the state being changed, the actions produced, a lazy transaction."""

    def __init__(self, ivr: "Ivr", state: dict[str, Any], menus: Mapping[str, Node],
                 outer: Session | None = None) -> None:
        self.ivr = ivr
        self.hl: Hotline = ivr.hl
        self.catalog: Catalog = ivr.catalog
        self.menus = menus
        self.state = state
        self.vars: dict[str, Any] = state["vars"]
        self.actions: list[dict[str, Any]] = []
        self._said: list[phrases.Segment] = []
        self._said_at = ""          # the node that began the words in _said
        self._session: Session | None = None
        # The adapter's own transaction, when it has one (Twilio stores its exactly-once receipt
        # and the call state in it): the step then works in a savepoint of it and commits with it.
        self._outer = outer
        self._savepoint = None
        self._gated = False

    # ---------------------------------------------------------------- speaking
    @property
    def lang(self) -> str:
        """The caller's language; Chinese until they choose (the language menu itself is bilingual)."""
        return self.vars.get("lang") or "zh"

    def say(self, *segments: phrases.Segment | str) -> None:
        """Queue words to play before the next gather/record/transfer/hangup; a str is a prompt key."""
        if not self._said:
            self._said_at = self.state["node"]
        self._said.extend(phrases.prompt(s) if isinstance(s, str) else s for s in segments)

    def audible(self, segments: list[phrases.Segment]) -> dict[str, Any]:
        """The `segments`/`text`/`lang` fields every audible action carries."""
        played, text = phrases.render(segments, self.lang)
        return {"segments": played, "text": text, "lang": self.lang}

    def _flush_said(self) -> None:
        if self._said:
            # `node`: where a caller who hangs up during these words left (the greeting, not the
            # main menu that follows it in the same step).
            self.actions.append({"type": "play", **self.audible(self._said), "node": self._said_at})
            self._said = []

    @property
    def said_anything(self) -> bool:
        """Whether this step has queued words not yet played (an action explained itself)."""
        return bool(self._said)

    # ---------------------------------------------------------------- database
    @property
    def in_database(self) -> bool:
        """Whether this step has begun its transaction."""
        return self._session is not None

    @property
    def session(self) -> Session:
        """This step's transaction, begun on first use and committed when the step ends."""
        if self._session is None:
            if self._outer is not None:
                self._savepoint = self._outer.begin_nested()
                self._session = self._outer
            else:
                self._gated = self.ivr.enter_database()
                try:
                    self._session = self.hl.session()
                    self._session.begin()
                except BaseException:
                    self._end(None)
                    raise
        return self._session

    def call(self) -> Call:
        """The call's record as an object of this step's session."""
        return self.session.get(Call, self.state["call_pk"])

    def commit(self) -> None:
        """End the step's transaction, if it began one, storing the IVR path with it."""
        if self._session is not None:
            self._end("commit")

    def rollback(self) -> None:
        """Drop the step's database work (a failed step)."""
        if self._session is not None:
            self._end("rollback")

    def _end(self, how: str | None) -> None:
        transaction = self._savepoint if self._savepoint is not None else self._session
        try:
            if how == "commit" and not self.state.get("done"):
                # Keep the stored path current whenever we write anyway, so a transport that dies
                # without a hang-up event still leaves the caller's route on the record.
                calls.update_call(self._session, self.state["call_pk"], ivr_path=list(self.state["path"]))
            if how is not None:
                getattr(transaction, how)()
        finally:
            if self._session is not None and self._savepoint is None:
                self._session.close()
            self._session, self._savepoint = None, None
            if self._gated:
                self._gated = False
                self.ivr.leave_database()

    # ---------------------------------------------------------------- ending
    def finish(self, outcome: str, abandoned_at: str = "", **columns: Any) -> None:
        """Write how the call ended (and its path, language and `columns`) on the call record;
        the engine is done after this."""
        if self.vars.get("lang"):
            columns["language"] = self.lang
        calls.finish_call(self.session, self.state["call_pk"], outcome, abandoned_at=abandoned_at,
                          ivr_path=list(self.state["path"]), **columns)
        self.state["done"] = True
        self.state["outcome"] = outcome

    # ---------------------------------------------------------------- moving through the menu
    def goto(self, target: str) -> None:
        """Enter `target` and run through action nodes until one waits for the caller or ends the call."""
        for _ in range(MAX_HOPS):
            node = self.menus[target]
            self.state["node"] = node.name
            self.state["retries"] = 0
            self.state["path"].append(node.name)
            if node.kind == ACTION:
                target = self.ivr.action(node.action)(self)
                continue
            if node.kind in GATHERS or node.kind == RECORD:
                self.prompt(node)
            elif node.kind == TRANSFER:
                self.transfer(node)
            elif node.kind == HANGUP:
                self.say(*node.prompts)
                self._flush_said()
                self.finish(self.vars.get("outcome") or node.outcome or "ended")
                self.actions.append({"type": "hangup"})
            return
        raise RuntimeError(f"menu loop: more than {MAX_HOPS} nodes entered in one step, last {target!r}")

    def choose(self, choice: Choice) -> None:
        """Follow a menu choice: set its variables, enter its node."""
        self.vars.update(choice.set)
        self.goto(choice.goto)

    def prompt(self, node: Node) -> None:
        """Ask the caller: the node's gather or record, after anything queued by `say`."""
        self._flush_said()
        audible = (self.audible(self.ivr.action(node.render)(self)) if node.render
                   else self.ivr.fixed_prompts(node, self.lang))
        if node.kind == RECORD:
            self.vars["recordings"] = self.vars.get("recordings", 0) + 1
            name = f"call{self.state['call_pk']}-{node.name.replace('.', '-')}-{self.vars['recordings']}"
            self.actions.append({"type": "record", **audible, "name": name, "max_seconds": node.max_seconds})
        else:
            self.actions.append({"type": "gather", **audible, "max_digits": node.max_digits,
                                 "timeout_ms": node.timeout_ms, "finish_on_key": "#"})

    def retry(self, reason_prompt: str | None) -> None:
        """A wrong key or no input: say why and ask again, or give up on this node."""
        node = self.menus[self.state["node"]]
        self.state["retries"] += 1
        if self.state["retries"] > node.retries:
            self.choose(node.on_fail)
            return
        if reason_prompt and not self.said_anything:
            self.say(reason_prompt)
        self.prompt(node)

    def transfer(self, node: Node) -> None:
        """Hand the call to the agent queue with the channel variables the screen-pop reads."""
        self._flush_said()
        self.finish(node.outcome or "agent", queue=QUEUE)
        self.actions.append({"type": "transfer", "queue": QUEUE, "variables": {
            "HOTLINE_CALL_ID": str(self.state["call_pk"]),
            "HOTLINE_CUSTOMER_ID": str(self.vars.get("customer_id") or ""),
            "HOTLINE_IVR_PATH": ">".join(self.state["path"]),
            "HOTLINE_ORDER": self.vars.get("order") or "",
            "HOTLINE_LANG": self.lang,
            # app_queue reads QUEUE_PRIO when the caller joins: a higher number waits ahead of lower ones.
            **({PRIORITY_VAR: str(self.vars["priority"])} if self.vars.get("priority") else {}),
        }})


class Ivr:
    """The voice-menu engine for one Hotline; thread-safe, one instance per process is enough."""

    def __init__(self, hl: Hotline, menus: Mapping[str, Node] | None = None,
                 actions: Mapping[str, Callable[[Turn], Any]] | None = None, *,
                 max_transactions: int | None = None) -> None:
        """`max_transactions`: at most that many steps in the database at once (the steps of an
        adapter that brings its own transaction are not counted); steps that need no database
        never wait for them."""
        from .actions import ACTIONS   # actions import runtime helpers; import here to keep one direction

        self.hl = hl
        self._gate = threading.BoundedSemaphore(max_transactions) if max_transactions else None
        self._fixed_menus = dict(menus) if menus is not None else None
        self._actions = dict(ACTIONS if actions is None else actions)
        self._lock = threading.Lock()
        self._catalog: Catalog | None = None
        self._menus: dict[str, Node] = {}
        self._loaded_at = 0.0
        self._generation = -1           # nothing loaded yet: stale whatever the cache's generation
        self._database = Outage(log, "voice menu", "callers hear an apology and go on as the fallback says",
                                service="the database")
        try:
            self._refresh()
        except DBAPIError as exc:
            # A process started (or a web worker replaced) during a database outage: the catalog
            # is read on the first call instead (_stale: nothing loaded yet).
            self._database.failed(exc)

    # ---------------------------------------------------------------- cached catalog and menus
    def _refresh(self, session: Session | None = None) -> None:
        generation = cache.generation(self.hl)      # before the read: a change during it reloads again
        if session is not None:
            catalog = load_catalog(session, set(prompts.all_prompts()))
        else:
            with self.hl.session() as s:
                catalog = load_catalog(s, set(prompts.all_prompts()))
        menus = self._fixed_menus if self._fixed_menus is not None else build_menus(catalog)
        named = {n.action for n in menus.values() if n.action} | {n.render for n in menus.values() if n.render}
        missing = sorted(named - set(self._actions))
        if missing:
            raise ValueError(f"the menus name actions that do not exist: {', '.join(missing)}; "
                             f"add them to ivr/actions.py ACTIONS")
        self._catalog, self._menus, self._loaded_at = catalog, menus, _time.monotonic()
        self._generation = generation
        self._rendered: dict[tuple[str, str], tuple[tuple[phrases.Segment, ...], str]] = {}

    def _stale(self) -> bool:
        return (cache.generation(self.hl) != self._generation
                or _time.monotonic() - self._loaded_at > CATALOG_TTL)

    def _current(self, session: Session | None = None) -> tuple[Catalog, dict[str, Node]]:
        if self._stale():
            with self._lock:
                if self._stale():
                    # In the adapter's transaction when there is one: on SQLite a second
                    # connection would wait for the write lock that transaction holds.
                    self._refresh(session)
        return self._catalog, self._menus   # type: ignore[return-value]

    @property
    def catalog(self) -> Catalog:
        """The cached catalog, reloaded once a catalog change commits (tickets.cache), or after CATALOG_TTL."""
        return self._current()[0]

    @property
    def menus(self) -> dict[str, Node]:
        """The menu nodes by name (built from the catalog unless given to the constructor)."""
        return self._current()[1]

    def action(self, name: str) -> Callable[[Turn], Any]:
        """The named action (see ivr/actions.py)."""
        return self._actions[name]

    def fixed_prompts(self, node: Node, lang: str) -> dict[str, Any]:
        """The audible fields of a node's own prompts, rendered once per language until the
        menus are reloaded (they are the same for every caller)."""
        rendered = self._rendered.get((node.name, lang))
        if rendered is None:
            played, text = phrases.render([phrases.prompt(k) for k in node.prompts], lang)
            rendered = self._rendered[(node.name, lang)] = (tuple(played), text)
        return {"segments": list(rendered[0]), "text": rendered[1], "lang": lang}

    def enter_database(self) -> bool:
        """Wait for a turn in the database (see max_transactions); whether there was one to take."""
        if self._gate is None:
            return False
        self._gate.acquire()
        return True

    def leave_database(self) -> None:
        self._gate.release()

    # ---------------------------------------------------------------- the step function
    def step(self, state: dict[str, Any] | None, event: dict[str, Any],
             session: Session | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Advance one call by one event; returns the new state and the actions for the adapter.

        With `session` (an open transaction of the adapter's), the step's database work joins it
        in a savepoint and commits when the adapter commits; without, the step commits its own.
        """
        kind = (event or {}).get("type")
        if kind not in EVENTS:
            raise ValueError(f"event type {kind!r} is not one of {', '.join(EVENTS)}")
        if kind == "start":
            return self._start(event, session)
        if not state:
            raise ValueError(f"a {kind!r} event needs the state returned by the previous step; "
                             "send a 'start' event first")
        state = {**state, "path": list(state["path"]), "vars": dict(state["vars"])}
        if state.get("done"):
            return state, []
        try:
            menus = self._current(session)[1]
        except DBAPIError as exc:      # the catalog was due for a reload, from a database out of reach
            return self.unavailable(state, exc)
        turn = Turn(self, state, menus, session)
        try:
            self._dispatch(turn, kind, event)
            answered = turn.in_database
            turn.commit()
        except Exception as exc:  # noqa: BLE001 - a broken step must not leave the caller in dead air
            if isinstance(exc, DBAPIError):
                self._database.failed(exc)      # an outage, said once (the fallback below tries again)
            else:
                log.exception("ivr call %s: step %s at node %s failed", state.get("call_id"), kind, state.get("node"))
            turn.rollback()
            return self._recover(state, session)
        if answered:
            self._database.answered()
        return turn.state, turn.actions

    def _dispatch(self, turn: Turn, kind: str, event: dict[str, Any]) -> None:
        state = turn.state
        node = self.menus[state["node"]]
        if kind == "hangup":
            outcome = turn.vars.get("outcome")
            at = event.get("at")
            where = at if at in state["path"] else node.name     # only a node this call went through
            turn.finish(outcome or "abandoned", abandoned_at="" if outcome else where)
            return
        if kind == "timeout":
            turn.retry("retry.noinput")
            return
        if kind == "recorded":
            file, duration = str(event.get("file") or ""), int(event.get("duration_ms") or 0)
            if node.kind != RECORD or not file or duration <= 0:
                turn.retry("retry.noinput")
                return
            target = self.action(node.action)(turn, file)
            if target:
                turn.goto(target)
            else:
                turn.retry(None)
            return
        keys = str(event.get("digits") or "").replace("#", "").strip()
        if not keys:
            turn.retry("retry.noinput")
        elif node.kind == MENU and keys in node.choices:
            turn.choose(node.choices[keys])
        elif node.kind == INPUT:
            target = self.action(node.action)(turn, keys)
            if target:
                turn.goto(target)
            else:
                turn.retry("retry.invalid")
        else:
            turn.retry("retry.invalid")

    def _recover(self, state: dict[str, Any],
                 session: Session | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """After an error: apologise and go to the fallback (an agent in hours, else a polite end)."""
        turn = Turn(self, state, self.menus, session)
        turn.say("error.system")
        turn.state["outcome"] = None
        turn.vars["outcome"] = "failed"
        try:
            turn.goto(FALLBACK)
            turn.commit()
        except Exception as exc:  # noqa: BLE001 - the database itself is down
            turn.rollback()
            return self.unavailable(state, exc)
        return turn.state, turn.actions

    def unavailable(self, state: dict[str, Any], exc: Exception) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The end of a call the menu cannot serve, the database out of reach (unavailable_actions);
        the call is over for the engine, its record stays as it was."""
        if isinstance(exc, (DBAPIError, PendingRollbackError)):      # the latter: the adapter's, lost before
            self._database.failed(exc)
        else:
            log.error("ivr call %s: could not recover (%s: %s)", state.get("call_id"), type(exc).__name__, exc)
        state = {**state, "done": True, "outcome": "failed"}
        return state, unavailable_actions(self.hl, state["vars"].get("lang") or "zh", state.get("call_pk"))

    def _start(self, event: dict[str, Any],
               session: Session | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        call_id = str(event.get("call_id") or "").strip()
        if not call_id:
            raise ValueError("a start event needs call_id (Asterisk agi_uniqueid or Twilio CallSid)")
        state: dict[str, Any] = {"v": STATE_VERSION, "call_id": call_id, "call_pk": None, "caller": ANONYMOUS,
                                 "node": ENTRY, "retries": 0, "path": [], "done": False, "outcome": None,
                                 "vars": {"lang": None}}
        turn = None
        try:
            turn = Turn(self, state, self._current(session)[1], session)
            call = calls.open_call(turn.session, call_id, str(event.get("transport") or "simulator"),
                                   event.get("caller"))
        except DBAPIError as exc:
            # Not even the call's record: the caller hears why and goes on as the fallback says.
            if turn is not None:
                turn.rollback()
            return self.unavailable(state, exc)
        state["call_pk"], state["caller"] = call.id, call.caller
        wanted = str(event.get("language") or "").lower()[:2]
        turn.vars.update(customer_vars(call, self.catalog))
        # The member level's place in the agents' queue, read once with the caller (0: unknown caller).
        turn.vars["priority"] = cards.level_priority(self.hl.settings, call.member_level if call.customer_id else None)
        if wanted in LANGS:
            turn.vars["lang"] = wanted
        # A call the platform placed names its outbound row, and who answered (a machine?).
        turn.vars.update({k: event[k] for k in OUTBOUND_VARS if event.get(k)})
        try:
            turn.goto(ENTRY)
            turn.commit()
        except DBAPIError as exc:
            turn.rollback()
            return self.unavailable(state, exc)
        except Exception:  # noqa: BLE001
            log.exception("ivr call %s: start failed", call_id)
            turn.rollback()
            raise
        self._database.answered()
        return turn.state, turn.actions


def unavailable_actions(hl: Hotline, lang: str = "zh", call_pk: int | None = None) -> list[dict[str, Any]]:
    """What a caller hears with the database out of reach: an apology, then the agents' queue when
    the clock says they answer (the holiday calendar is out of reach too, as it is to the dialplan's
    failure path), else a polite goodbye."""
    if hours.by_clock(hl) == hours.OPEN:
        said = ["error.system", "retry.transfer"]
        end = {"type": "transfer", "queue": QUEUE,
               "variables": {"HOTLINE_CALL_ID": str(call_pk or ""), "HOTLINE_LANG": lang}}
    else:
        said, end = ["error.system", "retry.goodbye"], {"type": "hangup"}
    segments, text = phrases.render([phrases.prompt(k) for k in said], lang)
    return [{"type": "play", "segments": segments, "text": text, "lang": lang}, end]


def customer_vars(call: calls.OpenedCall, catalog: Catalog) -> dict[str, Any]:
    """What the menu needs to know about a known caller, as JSON-ready values."""
    if call.customer_id is None:
        return {"customer_id": None, "name": "", "lang": None, "address": None}
    address = None if call.address is None else {"text": call.address,
                                                  "district": catalog.district_codes.get(call.district_id)}
    return {"customer_id": call.customer_id, "name": call.name, "lang": call.language or None, "address": address}
