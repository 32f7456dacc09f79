"""The transport-neutral scenario table (ivr/scenarios.py) through Twilio webhooks.

Each scenario runs twice on identical databases: through signed webhook requests and TwiML,
and through the engine directly. The caller must hear the same sentences, and the calls must
leave the same records, as the table says they should.
"""
from __future__ import annotations

import dataclasses
import json
import sqlite3
from typing import Callable

import pytest
from sqlalchemy import select

from ivr.runtime import Ivr
from ivr.scenarios import SCENARIOS, prepare, run_scenario, set_clock, verify
from tickets.context import Hotline
from tickets.models import Call, WorkOrder

from .phone import TwilioSteps, new_sid


def twin_database(hl: Hotline, clock, tmp_path, request) -> tuple[Hotline, Callable[[], None]]:
    """A second Hotline on a copy of `hl`'s database, on the same clock, and what removes it.

    SQLite: its online backup. PostgreSQL: CREATE DATABASE ... TEMPLATE (the source without
    connections for that moment)."""
    if hl.engine.dialect.name == "sqlite":
        copy = tmp_path / "direct.db"
        source = hl.engine.raw_connection()
        try:
            with sqlite3.connect(copy) as target:
                source.driver_connection.backup(target)
        finally:
            source.close()
        url, remove = f"sqlite:///{copy}", lambda: None
    else:
        databases = request.getfixturevalue("postgres_databases")
        hl.engine.dispose()
        url = databases.clone(hl.settings.database_url)
        remove = lambda: databases.drop(url)        # noqa: E731
    return Hotline(dataclasses.replace(hl.settings, database_url=url), clock=clock), remove


def call_record(hl: Hotline, call_id: str) -> dict:
    with hl.session() as s:
        call = s.scalar(select(Call).where(Call.external_id == call_id))
        order = s.get(WorkOrder, call.order_id) if call.order_id else None
        return {"outcome": call.outcome, "abandoned_at": call.abandoned_at, "path": call.ivr_path,
                "language": call.language, "caller": call.caller, "queue": call.queue,
                "order": order and {"number": order.number, "service": order.service.code, "phone": order.phone,
                                    "start": order.scheduled_start, "urgent": order.urgent,
                                    "needs_agent": order.needs_agent, "status": order.status}}


def said(actions) -> list[str]:
    return [a["text"] for a in actions if a.get("text")]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_through_twilio_matches_the_engine_run_directly(hl, clock, tmp_path, twilio, scenario, request):
    set_clock(hl, clock, scenario)
    placeholders = prepare(hl, scenario)
    direct_hl, remove_twin = twin_database(hl, clock, tmp_path, request)
    call_id = new_sid()
    try:
        ivr = Ivr(direct_hl)
        direct = run_scenario(lambda st, ev: ivr.step(json.loads(json.dumps(st)) if st else st, ev), scenario,
                              placeholders, call_id=call_id, transport="twilio")
        assert verify(direct_hl, scenario, direct.heard, call_id) == []

        steps = TwilioSteps(twilio)
        over_twilio = run_scenario(steps, scenario, placeholders, call_id=call_id, transport="twilio")
        if not steps.call.hung_up:
            steps.call.hang_up()   # Twilio reports the end of every call, however it ended

        assert said(over_twilio.actions) == said(direct.actions)
        assert call_record(hl, call_id) == call_record(direct_hl, call_id)
    finally:
        direct_hl.close()
        remove_twin()
