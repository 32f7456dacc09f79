"""`hotline simulate-day`: the registered jobs over one day on a fixed clock, and what they sent."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.core.helpers import order_in
from tickets.cli import main
from tickets.scheduler import acquire_lease
from tickets.simulation import simulate_day

TUESDAY = date(2026, 11, 24)        # the day after the fixed clock's Monday


@pytest.fixture
def tuesday_orders(hl):
    """An accepted order with a worker on Tuesday 10:00 local, nobody ever starting it."""
    with hl.session() as s, s.begin():
        o = order_in(s, hl, "accepted", days=1)
        return {"number": o.number, "customer": o.phone, "franchisee": o.franchisee.contact_phone,
                "worker": o.worker.phone}


def _day(hl, step_minutes=15):
    lines = []
    simulate_day(hl, TUESDAY, timedelta(minutes=step_minutes), lines.append)
    return lines


def test_a_simulated_day_prints_the_reminders_urgings_and_escalation_with_their_sms(hl, tuesday_orders):
    o = tuesday_orders
    lines = _day(hl)
    assert lines[0].startswith("simulated day 2026-11-24 (Asia/Shanghai), a step every 15 min; jobs: ")
    assert "service-reminders" in lines[0] and "urging" in lines[0] and "sms-outbox" in lines[0]
    # Quiet until 08:00, then the reminders the day before could not send after its 18:00.
    assert any(line.startswith(f"08:00  order {o['number']} remind") for line in lines)
    for phone in (o["customer"], o["franchisee"], o["worker"]):
        assert any(line.startswith(f"08:00  SMS reminder -> {phone} [sent]: 提醒：订单{o['number']}") for line in lines)
    assert f"10:15  order {o['number']} urge (overdue=not_started urge_count=1)" in lines
    assert any(line.startswith(f"10:15  SMS urging -> {o['franchisee']} [sent]: 催办：订单{o['number']}")
               for line in lines)
    assert f"11:45  order {o['number']} escalate (overdue=not_started urge_count=3)" in lines
    assert lines[-1] == f"end of 2026-11-24: {len(lines) - 2} things done"


def test_simulating_the_same_day_again_sends_nothing_twice(hl, tuesday_orders):
    _day(hl)
    lines = _day(hl)
    assert not any("remind" in line or "urg" in line or "escalat" in line for line in lines[1:-1])


def test_a_day_is_not_simulated_while_a_scheduler_holds_the_lease(hl):
    assert acquire_lease(hl, "host-a:1")
    with pytest.raises(RuntimeError, match="running scheduler"):
        _day(hl)


def test_the_command_simulates_the_given_day(hl, tuesday_orders, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", hl.settings.database_url)
    monkeypatch.setenv("HOTLINE_FIXED_NOW", "2026-11-23T02:00:00")
    assert main(["simulate-day", "--date", "2026-11-24", "--step", "60"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("simulated day 2026-11-24 (Asia/Shanghai), a step every 60 min")
    assert f"11:00  order {tuesday_orders['number']} urge (overdue=not_started urge_count=1)" in out


def test_the_command_refuses_a_date_that_is_not_one(hl, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", hl.settings.database_url)
    assert main(["simulate-day", "--date", "24/11"]) == 1
    assert "is not a date, e.g. --date 2026-11-24" in capsys.readouterr().err
