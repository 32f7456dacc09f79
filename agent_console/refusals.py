"""Tickets' refusals in the page's language: the core words them once, in English (they also go to
logs, the CLI and SMS staff tools); the Chinese view shows the common ones in Chinese.

Matched by pattern, as history.PHRASES reads the core's dispatch reasons; a refusal not listed is
shown as tickets wrote it. State and move names inside a message are shown by their labels.
"""
from __future__ import annotations

import re

from tickets.errors import HotlineError

from . import history
from .i18n import current_language, label, t

# The core's wording (tickets/search.py, orders.py, phones.py, workflow.py, concurrency.py) -> i18n key.
REFUSALS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), k) for p, k in (
    (r"^no work order '(.*)'; order numbers are 10 digits, like (\d+)$", "refusal.bad_order_number"),
    (r"^no work order (\d+)$", "refusal.no_order"),
    (r"^'(.*)' is not a phone number; .*$", "refusal.bad_phone"),
    (r"^order (\d+) is (\w+); it cannot (\w+) \(from \w+ the allowed moves are: (.*)\)$", "refusal.transition"),
    (r"^role (\w+) may not (\w+) order (\d+) \(you may: (.*)\)$", "refusal.not_allowed"),
    (r"^(.+) was changed by someone else a moment ago; reload it and try again$", "refusal.concurrent"),
    # tickets/cards.py
    (r"^card (\d+) is frozen; .*$", "refusal.card_frozen"),
    (r"^card (\d+) is closed \(退卡\); .*$", "refusal.card_closed"),
    (r"^card (\d+) has ([\d.]+) yuan; ([\d.]+) yuan cannot be taken from it.*$", "refusal.card_insufficient"),
    (r"^.* of order (\d+) has no member card; .*$", "refusal.card_none"),
    (r"^order (\d+) is already paid by card (\d+)$", "refusal.card_paid"),
    (r"^a [\w -]+ needs a reason .*$", "refusal.card_reason"),
    (r"^the [\w -]+ of ([\d.]+) yuan is more than the ([\d.]+) yuan allowed at once.*$", "refusal.card_too_much"),
))
# What a concurrent-change message names (tickets' `what`), in words.
THINGS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), k) for p, k in (
    (r"^order (\d+)$", "refusal.thing.order"),
    (r"^the survey of order (\d+)$", "refusal.thing.survey"),
    (r"^complaint (\d+)$", "refusal.thing.complaint"),
    (r"^this record$", "refusal.thing.record"),
))


def _moves(text: str) -> str:
    """"accept, reject" or tickets' "none"/"nothing on this order" as labelled moves."""
    names = [m for m in text.split(", ") if m and m not in ("none", "nothing on this order")]
    return t("common.sep").join(label("action", m) for m in names) or t("common.none")


def _params(key: str, groups: tuple[str, ...]) -> dict[str, str]:
    if key == "refusal.transition":
        number, status, action, allowed = groups
        return {"number": number, "status": label("status", status), "action": label("action", action),
                "allowed": _moves(allowed)}
    if key == "refusal.not_allowed":
        role, action, number, mine = groups
        return {"role": label("role", role), "action": label("action", action), "number": number,
                "allowed": _moves(mine)}
    if key == "refusal.concurrent":
        return {"what": history.phrase(groups[0], THINGS)}
    return dict(zip("abc", groups))


def message(exc: HotlineError | str) -> str:
    """The refusal as the page's reader should read it."""
    text = str(exc)
    if current_language() == "en":
        return text
    for pattern, key in REFUSALS:
        m = pattern.match(text)
        if m:
            return t(key, **_params(key, m.groups()))
    return text
