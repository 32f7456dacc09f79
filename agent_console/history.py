"""How an order's history reads: one place that turns an event's stored data into words.

Events keep what the core wrote (ids, fen, naive UTC, the dispatch engine's English reasons) so
the audit trail stays exact; the page shows names, yuan, local time and the page's language.
Old events are read the same way, which is why reasons are matched by pattern, not re-derived.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tickets.models import District, Franchisee, WorkOrderEvent
from tickets.pricing import yuan
from tickets.timeutil import to_local
from tickets.workflow import EVENT_TIMES

from .i18n import current_language, label, t

# Data keys in the order they are shown; anything else is shown under its own name.
ORDER = ("channel", "price_total_fen", "franchisee_id", "franchisee", "accept_deadline", "reasons", "worker",
         "district_id", "old", "new", "final_price_fen", "penalty_fen", "score", "reason", "text", "notes",
         "flags", "cleared_flag", "service_time", "overdue", "since", "urge_count", "told")
# Shown through another key (the name next to the id) or not at all.
HIDDEN = {"franchisee", "worker_id"}
MONEY = {"price_total_fen", "final_price_fen", "penalty_fen"}

# The core's English phrases (dispatch reasons, booking flags) -> i18n key; groups fill {a} {b} {c}.
PHRASES: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), k) for p, k in (
    (r"^district priority (\d+)$", "why.priority"),
    (r"^rating ([\d.]+)$", "why.rating"),
    (r"^open orders (\d+)$", "why.load"),
    (r"^(\d+)/(\d+) booked on (\S+)$", "why.booked"),
    (r"^address matches no district$", "why.no_district"),
    (r"^address matches several districts: (.+)$", "why.several_districts"),
    (r"^no address given \(voice note recorded\)$", "why.no_address_voice"),
    (r"^no address given$", "why.no_address"),
    (r"^default address has no district$", "why.default_no_district"),
))


def phrase(text: str, table: tuple[tuple[re.Pattern, str], ...] = PHRASES) -> str:
    """One of the core's English phrases (of `table`) in the page's language (unknown text as written)."""
    for pattern, key in table:
        m = pattern.match(text)
        if m:
            return t(key, **dict(zip("abc", m.groups())))
    return text


def actor_of(event: WorkOrderEvent) -> str:
    """Who made the change, as a person reads it: 系统, 客户（短信）, or agent1（坐席）."""
    if event.actor_role == "system":
        return t("who.system")
    if event.actor_role == "customer":
        channel = (event.actor_label or "").rpartition(" via ")[2]
        return t("who.customer", channel=label("channel", channel)) if channel else t("who.customer_plain")
    return t("who.user", name=event.actor_label or event.actor_user_id, role=label("role", event.actor_role))


def _value(session, key: str, value: Any, data: dict, tz) -> str:
    if key in MONEY:
        return t("money.yuan", amount=yuan(int(value)))
    if key in EVENT_TIMES:
        return to_local(datetime.fromisoformat(str(value)), tz).strftime("%Y-%m-%d %H:%M")
    if key == "franchisee_id":
        fr = session.get(Franchisee, value)
        return data.get("franchisee") or (fr.name if fr else str(value))
    if key == "district_id":
        d = session.get(District, value)
        return (d.name_en if current_language() == "en" and d.name_en else d.name_zh) if d else str(value)
    if key == "channel":
        return label("channel", value)
    if key == "overdue":
        return label("overdue", value)
    if key == "told":
        return t("common.sep").join(value)
    if key in ("reasons", "flags"):
        return t("common.sep").join(phrase(str(v)) for v in value)
    if key == "cleared_flag":
        return t("common.sep").join(phrase(p) for p in str(value).split("; "))
    return str(value)


def audit_details(data: dict | None) -> list[tuple[str, str]]:
    """(label, value) lines of an audit row's data, as the admin overview shows them (not raw JSON)."""
    def show(key: str, value: Any) -> str:
        if isinstance(value, bool):
            return t("common.yes") if value else t("common.no")
        if key.endswith("_fen") and isinstance(value, int):
            return t("money.yuan", amount=yuan(value))
        if isinstance(value, dict):
            return t("common.sep").join(f"{label('field', k)}: {show(k, v)}" for k, v in value.items())
        if isinstance(value, list):
            return t("common.sep").join(show(key, v) for v in value)
        return "" if value is None else str(value)
    return [(label("field", k), show(k, v)) for k, v in (data or {}).items()]


def event_details(session, event: WorkOrderEvent, tz) -> list[tuple[str, str]]:
    """(label, value) lines of an event's data, empty values left out."""
    data = event.data or {}
    keys = [k for k in ORDER if k in data] + sorted(k for k in data if k not in ORDER)
    return [(label("field", k), _value(session, k, data[k], data, tz))
            for k in keys if k not in HIDDEN and data[k] not in (None, "", [], {})]
