"""Each call-statistics definition against figures worked out by hand (tests/stats/fixture.py).

SERVICE_LEVEL_SECONDS = 20, SHORT_ABANDON_SECONDS = 5 (the defaults). The hand calculation:

queue entries (4 from queue_log: c1-c4; 2 from calls rows: t1, t3)
  c1 answered, wait 15 <= 20 (in SL), talk 60, wrap 10     t1 answered, wait 8 (in SL), talk 40, wrap 5
  c2 abandoned after 3 s: a short abandon (3 <= 5)          t3 answered, wait 13 (in SL), talk 30, wrap 3
  c3 answered, wait 30 (not in SL), talk 120, wrap 20       c4 abandoned after 45 s
  offered 6, answered 4, abandoned 2 (1 short), timeouts 0, answered in SL 3
  service level = 3 / (4 + 2 - 1 + 0) = 60.0 %
  abandon rate  = (2 - 1) / (6 - 1) = 20.0 %
  ASA           = (15 + 30 + 8 + 13) / 4 = 16.5 s
  average wait  = (15 + 3 + 30 + 45 + 8 + 13) / 6 = 19.0 s;  longest wait 45 s
  AHT           = (60 + 120 + 40 + 30 + 10 + 20 + 5 + 3) / 4 = 72.0 s
calls 9; self-served c5 (booked) + t2 (callback) = 2, containment 2/9 = 22.2 %; hung up in the
menu: c6 = 1; callback requests 1 (t2), called back 1 (t3: the same number answered 19 min later).
agents: agent1 took c1, t1: talk 100, wrap 15, AHT 57.5, 0 refusals, logged in 00:30-02:00 = 5400 s,
  paused 01:40-01:50 = 600 s (the second queue's PAUSE line is the same pause),
  occupancy = (100 + 15) / (5400 - 600) = 2.4 %;
agent2 took c3, t3: talk 150, wrap 23, AHT 86.5, 1 refusal (RINGNOANSWER), no login line: no occupancy.
menu branches: agent 7 calls (agent 4, abandoned in the queue 2, callback 1), book 1, main 1.
15-minute intervals (local): 09:00 c1-c3: offered 3, answered 2, abandoned 1;
  09:15 c4-c6: offered 1, abandoned 1; 09:30 t1, t2: offered 1, answered 1; 09:45 t3: offered 1, answered 1.
"""
from __future__ import annotations

from datetime import date

import pytest

from tests.stats.fixture import add_calls, queue_log_text
from tickets import metrics
from tickets.errors import ValidationError
from tickets.metrics import agent_figures, call_volume, menu_outcomes, roll_up, service_level
from tickets.queue_log import import_file

DAY = date(2026, 11, 22)


@pytest.fixture
def day(hl, tmp_path):
    """The fixture day in the database, its queue_log imported, rolled up; the agents' user ids."""
    with hl.session() as s, s.begin():
        ids = add_calls(s)
    path = tmp_path / "queue_log"
    path.write_text(queue_log_text(), encoding="utf-8")
    with hl.session() as s:
        import_file(s, str(path))
    roll_up(hl)
    return ids


def test_call_volume_of_the_day_matches_the_hand_calculation(hl, day):
    with hl.session() as s:
        [row] = call_volume(s, DAY, DAY, "day")
    assert row == {"period": "2026-11-22", "calls": 9, "self_served": 2, "containment": 22.2, "menu_abandoned": 1,
                   "failed": 0, "offered": 6, "answered": 4, "abandoned": 2, "short_abandoned": 1, "timeouts": 0,
                   "abandon_rate": 20.0, "callbacks": 1, "called_back": 1}


def test_service_level_asa_waits_and_aht_match_the_hand_calculation(hl, day):
    with hl.session() as s:
        [row] = service_level(s, DAY, DAY, "hour")
    assert row == {"period": "2026-11-22 09:00", "offered": 6, "answered": 4, "answered_in_sl": 3, "abandoned": 2,
                   "short_abandoned": 1, "timeouts": 0, "service_level": 60.0, "asa": 16.5, "avg_wait": 19.0,
                   "longest_wait": 45, "aht": 72.0}


def test_fifteen_minute_intervals_date_entries_by_when_they_joined_the_queue(hl, day):
    with hl.session() as s:
        rows = call_volume(s, DAY, DAY, "15min")
    assert [(r["period"][-5:], r["offered"], r["answered"], r["abandoned"]) for r in rows] == [
        ("09:00", 3, 2, 1), ("09:15", 1, 0, 1), ("09:30", 1, 1, 0), ("09:45", 1, 1, 0)]


def test_agent_figures_match_the_hand_calculation(hl, day):
    with hl.session() as s:
        rows = {r["agent"]: r for r in agent_figures(s, DAY, DAY)}
    assert rows["agent1"] == {"agent_id": day["agent1"], "agent": "agent1", "calls_taken": 2, "talk_seconds": 100,
                              "wrap_seconds": 15, "aht": 57.5, "refusals": 0, "login_seconds": 5400,
                              "pause_seconds": 600, "occupancy": 2.4}
    assert rows["agent2"] == {"agent_id": day["agent2"], "agent": "agent2", "calls_taken": 2, "talk_seconds": 150,
                              "wrap_seconds": 23, "aht": 86.5, "refusals": 1, "login_seconds": 0,
                              "pause_seconds": 0, "occupancy": None}


def test_menu_outcomes_say_which_branch_callers_chose_and_where_they_hung_up(hl, day):
    with hl.session() as s:
        rows = [(r["branch"], r["outcome"], r["hangup_node"], r["calls"], r["share"]) for r in menu_outcomes(s, DAY, DAY)]
    assert rows == [("agent", "abandoned", "queue", 2, 28.6), ("agent", "agent", "", 4, 57.1),
                    ("agent", "callback", "", 1, 14.3), ("book", "booked", "", 1, 100.0),
                    ("main", "abandoned", "main", 1, 100.0)]


def test_twilio_calls_count_by_the_same_definitions(hl, day):
    with hl.session() as s:
        [row] = service_level(s, DAY, DAY, "day", {"transport": "twilio"})
    assert (row["offered"], row["answered"], row["answered_in_sl"], row["asa"]) == (2, 2, 2, 10.5)


def test_an_agent_sees_only_their_own_figures(hl, day):
    with hl.session() as s:
        rows = agent_figures(s, DAY, DAY, scope=metrics.Scope(agent_id=day["agent2"]))
        [volume] = service_level(s, DAY, DAY, "day", scope=metrics.Scope(agent_id=day["agent2"]))
    assert [r["agent"] for r in rows] == ["agent2"]
    assert volume["answered"] == 2


def test_a_short_abandon_threshold_of_zero_counts_every_abandon(new_hotline, tmp_path):
    hl = new_hotline(SHORT_ABANDON_SECONDS="0")
    with hl.session() as s, s.begin():
        add_calls(s)
    (tmp_path / "ql").write_text(queue_log_text(), encoding="utf-8")
    with hl.session() as s:
        import_file(s, str(tmp_path / "ql"))
    roll_up(hl)
    with hl.session() as s:
        [row] = service_level(s, DAY, DAY, "day")
    # 3 in SL / (4 answered + 2 abandoned) = 50.0 %
    assert (row["short_abandoned"], row["service_level"]) == (0, 50.0)


def test_rolling_up_again_changes_nothing(hl, day):
    with hl.session() as s:
        before = call_volume(s, DAY, DAY, "15min")
    with hl.session() as s, s.begin():
        metrics.mark_range(s, *metrics.report_range(s, DAY, DAY))
    assert roll_up(hl) > 0
    with hl.session() as s:
        assert call_volume(s, DAY, DAY, "15min") == before


def test_a_call_that_changes_later_is_rolled_up_again(hl, day):
    from sqlalchemy import update

    from tickets.models import Call
    with hl.session() as s, s.begin():
        s.execute(update(Call).where(Call.external_id == "c6").values(outcome="failed"))
    roll_up(hl)
    with hl.session() as s:
        [row] = call_volume(s, DAY, DAY, "day")
    assert (row["menu_abandoned"], row["failed"]) == (0, 1)


def test_profiles_group_by_weekday_and_hour_of_day(hl, day):
    with hl.session() as s:
        assert [(r["period"], r["calls"]) for r in call_volume(s, DAY, DAY, "dow")] == [("7 Sun", 9)]
        assert [(r["period"], r["calls"]) for r in call_volume(s, DAY, DAY, "hod")] == [("09:00", 9)]


@pytest.mark.parametrize("start, end, interval, filters, message", [
    (date(2026, 11, 22), date(2026, 11, 21), "day", None, "empty"),
    (date(2024, 1, 1), date(2026, 11, 22), "day", None, "at most 366 days"),
    (DAY, DAY, "day", {"district": "1"}, "unknown filter district"),
    (DAY, DAY, "fortnight", None, "unknown interval"),
])
def test_bad_report_requests_get_a_clear_message(hl, start, end, interval, filters, message):
    with hl.session() as s, pytest.raises(ValidationError, match=message):
        call_volume(s, start, end, interval, filters)


def test_a_range_without_calls_gives_no_rows(hl):
    with hl.session() as s:
        assert call_volume(s, date(2026, 1, 1), date(2026, 1, 31), "day") == []
