"""One table of phone calls every transport must get right, and a driver to run it.

A scenario is a caller, the keys they press, what they must hear, and how the call ends.
It says nothing about a transport, so the same table runs through the engine directly
(`tests/ivr/`), through AGI/FastAGI with the fake Asterisk, and through Twilio webhooks:

- `keys`: space-separated inputs, one per prompt that waits for the caller: digits of one
  gather ("1", "1205", an order number), `-` no input (timeout), `H` hang up, `R` the caller
  speaks a recording and presses # (a RECORD). `{order0}`, `{order1}`... stand for the numbers
  of the orders the scenario's `orders` books before the call (see `prepare`).
- `expect`: prompt keys (`book.done`) or text fragments (`王女士`), heard in this order.
- `outcome`, `booked`, `abandoned_at`: the call record the call must leave (checked in the
  database by `verify`, so a transport that talks to a separate process is checked the same way).
- `at`: the local time of the call ("YYYY-MM-DD HH:MM"); default Monday 2026-11-23 10:00, in
  business hours.

Driving the engine directly: `result = run_scenario(ivr.step, sc, placeholders)`; another
transport builds its own `heard` list (prompt keys played and the texts said) and calls
`verify(hl, sc, heard, call_id)`.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Callable, Iterable

from sqlalchemy import select

from tickets import actors, orders
from tickets.context import Hotline
from tickets.models import Call, WorkOrder
from tickets.timeutil import to_local, to_utc

StepFn = Callable[[dict[str, Any] | None, dict[str, Any]], tuple[dict[str, Any], list[dict[str, Any]]]]

WANG, LI, SMITH, ZHAO = "13800138000", "13900139000", "13700137000", "13600136000"
NEWCOMER = "13512345678"          # no history: not a customer yet
WITHHELD = ""                      # caller ID withheld
RECORDING_MS = 4000                # how long the scripted caller speaks at an `R`
NIGHT, HOLIDAY = "2026-11-23 21:30", "2026-10-01 10:00"   # outside BUSINESS_HOURS; 国庆 (National Day)


@dataclass(frozen=True)
class Scenario:
    """One call: who calls, what they press, what they must hear, and the record it must leave."""
    name: str
    caller: str
    keys: str
    expect: tuple[str, ...]
    outcome: str
    booked: bool = False
    abandoned_at: str = ""
    absent: tuple[str, ...] = ()                          # prompt keys / fragments that must not be heard
    at: str | None = None
    orders: tuple[tuple, ...] = ()      # (phone, service code, days ahead[, local "HH:MM", default 10:00]) booked before the call
    order: dict[str, Any] = field(default_factory=dict)  # fields the booked order must have (service, urgent, ...)
    language: str | None = None                          # `language` of the start event


DEMO_PATH = "1 1 1 2 1 1 1"   # book, cleaning, home cleaning, tomorrow, morning, confirm address, confirm

SCENARIOS: tuple[Scenario, ...] = (
    # ------------------------------------------------------------ booking
    Scenario("demo booking: 王女士 books home cleaning tomorrow morning at her default address", WANG, DEMO_PATH,
             ("王女士", "main.menu", "book.category", "book.item", "book.date", "book.slot", "book.address.default",
              "天山区解放南路88号", "book.readback", "day.tomorrow", "slot.morning", "svc.BJ.name", "book.done", "bye"),
             "booked", booked=True, absent=("lang.menu",), order={"service": "BJ", "urgent": False, "needs_agent": False}),
    Scenario("the same booking again: the caller hears the order they already have, and nothing is booked", WANG,
             DEMO_PATH, ("book.readback", "book.duplicate", "book.duplicate.agent", "bye"), "ended",
             absent=("book.done",), orders=((WANG, "BJ", 1, "09:00"),)),
    Scenario("booking on a date keyed in as MMDD", WANG, "1 1 1 4 1201 2 1 1",
             ("book.date.enter", "month.12", "slot.afternoon", "book.done"), "booked", booked=True,
             order={"service": "BJ", "local_start": "2026-12-01 14:00"}),
    Scenario("a date more than 90 days ahead is refused", WANG, "1 1 1 4 0301 - - -", ("book.date.enter", "book.date.invalid", "retry.noinput", "retry.transfer"),
             "agent"),
    Scenario("a slot already past today is refused and the caller picks another", WANG, "1 1 1 1 1 3 1 1",
             ("book.slot.past", "slot.evening", "book.done"), "booked", booked=True),
    Scenario("2 at the read-back starts the booking again", WANG, "1 1 1 2 1 1 2 3 1 3 1 1 1",
             ("book.readback", "book.category", "svc.SD.name", "book.done"), "booked", booked=True,
             order={"service": "SD"}),
    Scenario("star goes back to the main menu from inside the booking", WANG, "1 1 * 9 H",
             ("book.item", "main.menu", "main.menu"), "abandoned", abandoned_at="main"),
    Scenario("a new address is recorded as a voice note and the order is flagged for an agent", WANG,
             "1 1 1 2 1 2 R 1", ("book.address.record", "book.readback.voice_address", "book.done", "book.done.agent"),
             "booked", booked=True, order={"needs_agent": True, "address_text": ""}),
    Scenario("caller with no history: language menu, address by voice note, booked and flagged", NEWCOMER,
             "1 1 2 5 2 3 R 1", ("lang.menu", "greet.new", "book.address.record", "book.readback.voice_address",
                                 "book.done.agent"),
             "booked", booked=True, absent=("greet.known",), order={"service": "XSG", "needs_agent": True}),
    Scenario("English caller books in English", SMITH, DEMO_PATH,
             ("Hello Mr. Smith", "To book a service, press 1", "Your booking is confirmed", "Goodbye"),
             "booked", booked=True, absent=("lang.menu",)),
    Scenario("customer of unknown language picks English", ZHAO, "2 9 H",
             ("lang.menu", "Hello 赵阿姨", "To book a service"), "abandoned", abandoned_at="main"),
    Scenario("anonymous caller books with a recorded address and a keyed-in phone number", WITHHELD,
             "1 1 1 1 2 1 R 13912345678 1", ("lang.menu", "book.address.record", "book.phone", "book.done.agent"),
             "booked", booked=True, order={"phone": "+8613912345678", "needs_agent": True}),
    Scenario("anonymous caller keys in a bad phone number and tries again", WITHHELD,
             "1 1 1 1 2 1 R 12345 13912345678 1", ("book.phone", "book.phone.invalid", "book.phone", "book.done"),
             "booked", booked=True),
    Scenario("emergency key books urgent plumbing/electrical repair within the hour", LI, "8 1 1",
             ("emergency.intro", "svc.SD.name", "book.readback.asap", "book.done"), "booked", booked=True,
             order={"service": "SD", "urgent": True}),
    # ------------------------------------------------------------ status
    Scenario("status: the caller's open orders are read out", LI, "2 H",
             ("status.count", "svc.BJ.name", "state.dispatched", "status.menu"), "status",
             orders=((LI, "BJ", 2),)),
    Scenario("status: no open orders", WANG, "2 9 H", ("status.none", "status.menu", "main.menu"), "abandoned",
             abandoned_at="main"),
    Scenario("status: an own order keyed in is read with its number", LI, "2 1 {order0} H",
             ("status.enter", "status.order", "svc.KT.name", "state.dispatched"), "status",
             orders=((LI, "KT", 3),)),
    Scenario("status: another customer's order number is refused", SMITH, "2 1 {order0} H",
             ("status.enter", "status.refused", "status.menu"), "abandoned", abandoned_at="status.menu",
             absent=("status.order",), orders=((WANG, "BJ", 2),)),
    Scenario("status: anonymous caller keys in a real order number and is refused politely", WITHHELD,
             "1 2 {order0} H", ("status.anonymous", "status.enter", "status.refused"), "abandoned",
             abandoned_at="status.menu", absent=("status.order",), orders=((WANG, "BJ", 2),)),
    Scenario("status: a malformed order number is asked again", LI, "2 1 123 - -",
             ("status.enter", "status.invalid", "retry.noinput", "retry.transfer"), "agent"),
    Scenario("status: looking up order numbers stops after three tries", SMITH,
             "2 1 2632799991 1 2632799992 1 2632799993 1 2632799994",
             ("status.refused", "status.refused", "status.refused", "status.too_many", "retry.transfer"), "agent"),
    # ------------------------------------------------------------ complaint
    Scenario("complaint about the caller's latest order, recorded", LI, "3 1 R",
             ("complaint.latest", "svc.SD.name", "complaint.record", "complaint.done", "complaint.due", "bye"),
             "complaint"),
    Scenario("complaint about an order keyed in", LI, "3 2 {order0} R",
             ("complaint.latest", "status.enter", "complaint.record", "complaint.done"), "complaint",
             orders=((LI, "KT", 3),)),
    Scenario("complaint without an order, from a caller with no history", NEWCOMER, "1 3 3 R",
             ("complaint.menu", "complaint.record", "complaint.done"), "complaint"),
    Scenario("complaint menu: 0 goes to an agent", LI, "3 0", ("complaint.latest",), "agent"),
    # ------------------------------------------------------------ agent, hours, callback
    Scenario("agent in business hours: transfer to the queue", WANG, "0", ("main.menu",), "agent",
             absent=("agent.closed",)),
    Scenario("outside business hours: callback request", WANG, "0 1",
             ("agent.closed", "agent.callback", "callback.done", "bye"), "callback", at=NIGHT),
    Scenario("outside business hours: no callback wanted", WANG, "0 2", ("agent.closed", "agent.callback", "bye"),
             "ended", at=NIGHT),
    Scenario("statutory holiday: agents closed, callback offered", WANG, "0 1",
             ("agent.holiday", "agent.callback", "callback.done"), "callback", at=HOLIDAY),
    Scenario("anonymous caller outside hours cannot be called back", WITHHELD, "1 0",
             ("agent.closed", "agent.callback.anonymous", "bye"), "ended", at=NIGHT),
    # ------------------------------------------------------------ wrong keys, silence, hang-ups
    Scenario("garbage digits re-prompt, then an agent in hours", WANG, "7 5 6",
             ("retry.invalid", "main.menu", "retry.invalid", "main.menu", "retry.transfer"), "agent"),
    Scenario("garbage digits outside hours end politely", WANG, "7 5 6",
             ("retry.invalid", "retry.invalid", "retry.goodbye", "bye"), "ended", at=NIGHT),
    Scenario("silence re-prompts, then an agent in hours", WANG, "- - -",
             ("retry.noinput", "main.menu", "retry.noinput", "retry.transfer"), "agent"),
    Scenario("silence at the language menu goes on in Chinese", ZHAO, "- - 9 H",
             ("lang.menu", "retry.noinput", "lang.menu", "greet.known", "main.menu"), "abandoned",
             abandoned_at="main"),
    Scenario("9 repeats the main menu", WANG, "9 H", ("main.menu", "main.menu"), "abandoned", abandoned_at="main"),
    Scenario("a bad key then a good one carries on", WANG, "4 1 H", ("retry.invalid", "book.category"), "abandoned",
             abandoned_at="book.category"),
)

# Hang up at every node that waits for the caller: (node, caller, keys before hanging up, local time).
HANGUP_POINTS: tuple[tuple[str, str, str, str | None], ...] = (
    ("lang", ZHAO, "", None),
    ("main", WANG, "", None),
    ("book.category", WANG, "1", None),
    ("book.item.cleaning", WANG, "1 1", None),
    ("book.item.household", WANG, "1 2", None),
    ("book.item.repair", WANG, "1 3", None),
    ("book.item.moving", WANG, "1 4", None),
    ("book.item.other", WANG, "1 5", None),
    ("book.date", WANG, "1 1 1", None),
    ("book.date.enter", WANG, "1 1 1 4", None),
    ("book.slot", WANG, "1 1 1 2", None),
    ("book.address.confirm", WANG, "1 1 1 2 1", None),
    ("book.address.record", WANG, "1 1 1 2 1 2", None),
    ("book.phone", WITHHELD, "1 1 1 1 2 1 R", None),
    ("book.readback", WANG, "1 1 1 2 1 1", None),
    ("status.menu", WANG, "2", None),
    ("status.enter", WITHHELD, "1 2", None),
    ("complaint.latest", LI, "3", None),
    ("complaint.menu", NEWCOMER, "1 3", None),
    ("complaint.enter", LI, "3 2", None),
    ("complaint.record", LI, "3 1", None),
    ("agent.callback", WANG, "0", NIGHT),
)

SCENARIOS += tuple(
    Scenario(f"hang-up at {node}", caller, f"{keys} H".strip(), (), "abandoned", abandoned_at=node, at=at)
    for node, caller, keys, at in HANGUP_POINTS)


# -------------------------------------------------------------------- running a scenario

@dataclass
class Result:
    """What `run_scenario` saw: every action the engine returned and what the caller heard."""
    call_id: str
    state: dict[str, Any] | None
    actions: list[dict[str, Any]]
    heard: list[str]                 # prompt keys played and texts said, in order

    @property
    def transcript(self) -> str:
        return "\n".join(a.get("text", "") for a in self.actions if a.get("text"))


def set_clock(hl: Hotline, clock: Any, scenario: Scenario) -> None:
    """Move a settable test clock (`clock.now`) to the scenario's local time, if it has one."""
    if scenario.at:
        clock.now = to_utc(datetime.strptime(scenario.at, "%Y-%m-%d %H:%M"), hl.tz)


def prepare(hl: Hotline, scenario: Scenario) -> dict[str, str]:
    """Book the orders the scenario needs before the call; returns the `{orderN}` placeholders."""
    placeholders: dict[str, str] = {}
    if not scenario.orders:
        return placeholders
    with hl.session() as s, s.begin():
        today = to_local(hl.now(), hl.tz).date()
        for n, (phone, code, days, *at) in enumerate(scenario.orders):
            start = to_utc(datetime.combine(today + timedelta(days=days), time.fromisoformat(at[0]) if at else time(10, 0)),
                           hl.tz)
            order = orders.book(s, phone=phone, service=code, start=start, actor=actors.SYSTEM, channel="agent",
                                allow_duplicate=True)
            placeholders[f"order{n}"] = order.number
    return placeholders


def inputs(scenario: Scenario, placeholders: dict[str, str] | None = None) -> list[str]:
    """The scenario's keys with placeholders filled in, one entry per caller input."""
    return [k.format(**(placeholders or {})) for k in scenario.keys.split()]


def event_for(key: str, call_id: str, n: int) -> dict[str, Any]:
    """The engine event a scripted input stands for."""
    if key == "-":
        return {"type": "timeout"}
    if key == "H":
        return {"type": "hangup"}
    if key == "R":
        return {"type": "recorded", "file": f"scenario-{call_id}-{n}.wav", "duration_ms": RECORDING_MS}
    return {"type": "digits", "digits": key}


def heard_in(actions: Iterable[dict[str, Any]]) -> list[str]:
    """Prompt keys and texts of the audible actions, in the order a caller hears them."""
    out: list[str] = []
    for a in actions:
        out.extend(seg["prompt"] for seg in a.get("segments", ()) if "prompt" in seg)
        if a.get("text"):
            out.append(a["text"])
    return out


def run_scenario(step_fn: StepFn, scenario: Scenario, placeholders: dict[str, str] | None = None, *,
                 call_id: str | None = None, transport: str = "simulator") -> Result:
    """Drive `step_fn` (the engine's `step`, or a transport wrapped to look like it) through a scenario.

    Inputs left over once the engine has ended the call are not sent, as a real caller's keys
    after a hang-up go nowhere.
    """
    call_id = call_id or f"scenario-{uuid.uuid4().hex[:16]}"
    start = {"type": "start", "call_id": call_id, "caller": scenario.caller, "transport": transport,
             "dnid": "96156"}
    if scenario.language:
        start["language"] = scenario.language
    state, actions = step_fn(None, start)
    all_actions = list(actions)
    for n, key in enumerate(inputs(scenario, placeholders)):
        if state.get("done"):
            break
        state, actions = step_fn(state, event_for(key, call_id, n))
        all_actions.extend(actions)
    return Result(call_id, state, all_actions, heard_in(all_actions))


def in_order(expected: Iterable[str], heard: list[str]) -> list[str]:
    """Expected items not found in `heard` in order (each item: a prompt key, or a text fragment)."""
    missing, pos, offset = [], 0, 0          # several fragments may follow each other in one text
    for item in expected:
        for i in range(pos, len(heard)):
            start = offset if i == pos else 0
            found = heard[i].find(item, start)
            if heard[i] == item or found >= 0:
                pos, offset = (i + 1, 0) if heard[i] == item else (i, found + len(item))
                break
        else:
            missing.append(item)
    return missing


def verify(hl: Hotline, scenario: Scenario, heard: list[str], call_id: str) -> list[str]:
    """Everything about the call that differs from the scenario; empty when the call went right."""
    problems = [f"did not hear {m!r} (in order)" for m in in_order(scenario.expect, heard)]
    problems += [f"heard {a!r}, which it must not" for a in scenario.absent if any(a == h or a in h for h in heard)]
    with hl.session() as s:
        call = s.scalar(select(Call).where(Call.external_id == call_id))
        if call is None:
            return problems + [f"no call record for {call_id}"]
        if call.outcome != scenario.outcome:
            problems.append(f"outcome {call.outcome!r}, expected {scenario.outcome!r} (path {call.ivr_path})")
        if call.abandoned_at != scenario.abandoned_at:
            problems.append(f"abandoned_at {call.abandoned_at!r}, expected {scenario.abandoned_at!r}")
        if call.ended_at is None:
            problems.append("the call record has no end time")
        order = s.get(WorkOrder, call.order_id) if call.order_id else None
        if scenario.booked != (order is not None):
            problems.append(f"an order was {'not ' if scenario.booked else ''}created")
        if order is not None:
            problems += _order_problems(hl, order, scenario.order)
    return problems


def _order_problems(hl: Hotline, order: WorkOrder, expected: dict[str, Any]) -> list[str]:
    actual = {"service": order.service.code, "urgent": order.urgent, "needs_agent": order.needs_agent,
              "phone": order.phone, "address_text": order.address_text, "channel": order.channel,
              "local_start": to_local(order.scheduled_start, hl.tz).strftime("%Y-%m-%d %H:%M")}
    return [f"order {k} is {actual[k]!r}, expected {v!r}" for k, v in expected.items() if actual[k] != v]
