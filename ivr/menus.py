"""The voice menus as data: nodes, the keys each accepts, where each key goes.

Read a node as: say `prompts` (or what the named `render` action composes), wait `timeout_ms`
for up to `max_digits` keys, go where `choices` says (setting `set` in the call's variables on
the way); a wrong key or silence re-prompts up to `retries` times, then goes to `on_fail`.
Kinds:
- MENU: a gather whose keys are looked up in `choices`.
- INPUT: a gather of several keys (a date, an order number) handed to the named `action`,
  which returns the next node, or None when the keys are not acceptable.
- RECORD: records the caller; the named `action` gets the file and returns the next node.
- ACTION: runs the named `action` on entry (it may speak) and goes where it returns.
- TRANSFER: hands the call to the agent queue. HANGUP: says `prompts` and ends the call.
Named actions live in `ivr/actions.py`; the booking's category and item menus are generated
from the catalog, so a new service in the seed catalog is a new key with no code change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType
from typing import Any, Mapping

from tickets import bookable

from .catalog import Catalog

MENU, INPUT, RECORD, ACTION, TRANSFER, HANGUP = "menu", "input", "record", "action", "transfer", "hangup"
KINDS = (MENU, INPUT, RECORD, ACTION, TRANSFER, HANGUP)
GATHERS = (MENU, INPUT)

ENTRY = "start"          # every call begins here
FALLBACK = "fallback"    # where a node goes when the caller ran out of retries

# The time slots a caller can pick (1 morning, 2 afternoon, 3 evening): every channel's, in tickets.
SLOTS = bookable.SLOTS
# How soon an emergency visit is booked for (how far ahead one may book: tickets.bookable).
EMERGENCY_LEAD = timedelta(minutes=60)
# Attempts at looking up an order number in one call (stops guessing other people's numbers).
MAX_LOOKUPS = 3
QUEUE = "agents"


@dataclass(frozen=True)
class Choice:
    goto: str
    set: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Node:
    name: str
    kind: str
    prompts: tuple[str, ...] = ()
    render: str | None = None
    choices: Mapping[str, Choice] = field(default_factory=dict)
    action: str | None = None
    max_digits: int = 1
    timeout_ms: int = 5000
    retries: int = 2
    on_fail: Choice = Choice(FALLBACK)
    max_seconds: int = 60
    outcome: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"node {self.name}: kind {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.kind in (INPUT, RECORD, ACTION) and not self.action:
            raise ValueError(f"node {self.name}: a {self.kind} node needs a named action")
        object.__setattr__(self, "choices", MappingProxyType(dict(self.choices)))


def _menu(name: str, prompts: tuple[str, ...], choices: dict[str, Choice | str], **kw) -> Node:
    return Node(name, MENU, prompts, choices={k: v if isinstance(v, Choice) else Choice(v)
                                               for k, v in choices.items()}, **kw)


BACK = {"*": Choice("main")}


def build_menus(catalog: Catalog) -> dict[str, Node]:
    """The hotline's menu tree for `catalog`."""
    booking_reset = {"category": None, "service": None, "urgent": False, "asap": False, "day": None,
                     "date": None, "slot": None, "address_choice": None, "voice_note": None}
    nodes = [
        # ------------------------------------------------------------ language, greeting, main menu
        Node(ENTRY, ACTION, action="route_start"),
        _menu("lang", ("lang.menu",), {"1": Choice("greet", {"lang": "zh"}), "2": Choice("greet", {"lang": "en"})},
              retries=1, on_fail=Choice("greet", {"lang": "zh"})),
        Node("greet", ACTION, action="greet"),
        _menu("main", ("main.menu",), {"1": Choice("book.category", booking_reset), "2": "status",
                                       "3": "complaint", "8": Choice("emergency", booking_reset),
                                       "0": "agent", "9": "main"}),
        # ------------------------------------------------------------ booking
        _menu("book.category", ("book.category",) + tuple(f"cat.{c.key}" for c in catalog.categories) + ("menu.back",),
              {**{str(c.digit): Choice(f"book.item.{c.key}", {"category": c.key}) for c in catalog.categories}, **BACK}),
        *(_menu(f"book.item.{c.key}", ("book.item",) + tuple(f"svc.{s.code}" for s in c.services) + ("menu.back",),
                {**{str(s.menu_digit): Choice("book.date", {"service": s.code}) for s in c.services}, **BACK})
          for c in catalog.categories),
        _menu("book.date", ("book.date", "menu.back"),
              {"1": Choice("book.slot", {"day": 0}), "2": Choice("book.slot", {"day": 1}),
               "3": Choice("book.slot", {"day": 2}), "4": "book.date.enter", **BACK}),
        Node("book.date.enter", INPUT, ("book.date.enter",), action="take_date", max_digits=4, timeout_ms=8000),
        _menu("book.slot", ("book.slot", "menu.back"),
              {"1": Choice("book.slot.check", {"slot": "morning"}), "2": Choice("book.slot.check", {"slot": "afternoon"}),
               "3": Choice("book.slot.check", {"slot": "evening"}), **BACK}),
        Node("book.slot.check", ACTION, action="check_slot"),
        Node("book.address", ACTION, action="route_address"),
        _menu("book.address.confirm", (), {"1": Choice("book.phone.check", {"address_choice": "default"}),
                                           "2": "book.address.record"}, render="address_prompt"),
        Node("book.address.record", RECORD, ("book.address.record",), action="take_address_note", max_seconds=60),
        Node("book.phone.check", ACTION, action="route_phone"),
        Node("book.phone", INPUT, ("book.phone",), action="take_phone", max_digits=12, timeout_ms=10000),
        _menu("book.readback", (), {"1": "book.create", "2": "book.restart"}, render="readback"),
        Node("book.restart", ACTION, action="restart_booking"),
        Node("book.create", ACTION, action="create_order"),
        Node("emergency", ACTION, action="start_emergency"),
        # ------------------------------------------------------------ order status
        Node("status", ACTION, action="list_orders"),
        _menu("status.menu", ("status.menu",), {"1": "status.enter", "0": "agent", "9": "main"}),
        Node("status.enter", INPUT, ("status.enter",), action="look_up_order", max_digits=10, timeout_ms=10000),
        # ------------------------------------------------------------ complaint
        Node("complaint", ACTION, action="route_complaint"),
        _menu("complaint.latest", (), {"1": "complaint.record", "2": "complaint.enter",
                                       "3": Choice("complaint.record", {"complaint_order": None}), "0": "agent"},
              render="latest_order_prompt"),
        _menu("complaint.menu", ("complaint.menu",), {"2": "complaint.enter", "3": "complaint.record", "0": "agent"}),
        Node("complaint.enter", INPUT, ("status.enter",), action="take_complaint_order", max_digits=10,
             timeout_ms=10000),
        Node("complaint.record", RECORD, ("complaint.record",), action="file_complaint", max_seconds=120),
        # ------------------------------------------------------------ agent, callback, endings
        Node("agent", ACTION, action="route_agent"),
        Node("agent.transfer", TRANSFER, outcome="agent"),
        _menu("agent.callback", ("agent.callback",), {"1": "callback.request", "2": "bye"},
              on_fail=Choice("bye")),
        Node("callback.request", ACTION, action="request_callback"),
        Node(FALLBACK, ACTION, action="fallback"),
        Node("bye", HANGUP, ("bye",), outcome="ended"),
    ]
    return {n.name: n for n in nodes}


def prompt_keys(menus: Mapping[str, Node]) -> set[str]:
    """Every prompt key the menus name directly (renders add dynamic ones from prompts.py)."""
    return {key for node in menus.values() for key in node.prompts}
