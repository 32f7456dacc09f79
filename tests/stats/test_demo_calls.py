"""The demo city's call history: deterministic, loaded once, and every call report shows it."""
from __future__ import annotations

from datetime import date

from tickets.demo_calls import load_demo_calls
from tickets.metrics import agent_figures, call_volume, menu_outcomes, service_level


def test_demo_call_history_is_the_same_every_time_and_loaded_once(new_hotline):
    first, second = new_hotline(), new_hotline()
    summaries = []
    for hl in (first, second):
        with hl.session() as s, s.begin():
            summaries.append(load_demo_calls(s, days=7))
    assert summaries[0] == summaries[1]
    with first.session() as s, s.begin():
        assert load_demo_calls(s, days=7) == {"call_history": "already there"}


def test_every_call_report_shows_the_demo_history(hl):
    with hl.session() as s, s.begin():
        load_demo_calls(s, days=7)
    start, end = date(2026, 11, 16), date(2026, 11, 22)      # the 7 days before the fixed today
    with hl.session() as s:
        volume = call_volume(s, start, end, "day")
        service = service_level(s, start, end, "day")
        agents = agent_figures(s, start, end)
        menu = menu_outcomes(s, start, end)
    assert len(volume) == 7 and all(r["calls"] > 0 and r["answered"] > 0 for r in volume)
    # Weekends are quieter: Saturday 21st and Sunday 22nd below the weekdays' mean.
    weekdays = [r["calls"] for r in volume[:5]]
    assert max(volume[5]["calls"], volume[6]["calls"]) < sum(weekdays) / 5
    assert all(r["service_level"] is not None for r in service)
    assert {r["agent"] for r in agents} == {"agent1", "agent2"}
    assert all(r["login_seconds"] > 0 and r["pause_seconds"] > 0 for r in agents)
    assert {r["branch"] for r in menu} >= {"book", "status", "agent", "main"}
