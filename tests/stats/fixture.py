"""A small day of calls, worked out by hand in tests/stats/test_call_metrics.py.

Sunday 2026-11-22, 09:00-10:00 Asia/Shanghai (01:00-02:00 UTC), the agents' queue `hotline-agents`:

| call | transport | what happened                                           | queue facts from |
|------|-----------|---------------------------------------------------------|------------------|
| c1   | fastagi   | menu 0 -> queue 01:00:10, agent1 answers after 15 s, talks 60 s, wrap-up 10 s | queue_log |
| c2   | fastagi   | menu 0 -> queue 01:02:10, hangs up after 3 s (a short abandon)                | queue_log |
| c3   | fastagi   | menu 0 -> queue 01:05:10, agent2 does not answer (RINGNOANSWER), then answers after 30 s, talks 120 s, wrap-up 20 s | queue_log |
| c4   | fastagi   | menu 0 -> queue 01:20:05, hangs up after 45 s                                  | queue_log |
| c5   | fastagi   | books a service in the menu (self-served)                                      | - |
| c6   | fastagi   | hangs up in the main menu                                                      | - |
| t1   | twilio    | queue: agent1 answers after 8 s, talks 40 s, wrap-up 5 s                       | calls row |
| t2   | twilio    | asks for a callback in the menu (self-served, a callback request) 01:31        | - |
| t3   | twilio    | the same caller 01:50: agent2 answers after 13 s, talks 30 s, wrap-up 3 s       | calls row |
agent1 (PJSIP/agent1): logged in 00:30 (ADDMEMBER), paused 01:40-01:50 (PAUSE written for two
queues), logged out 02:00 (REMOVEMEMBER).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from tickets.models import Call, User

DAY = datetime(2026, 11, 22, 1, 0)          # naive UTC, 09:00 local
QUEUE = "hotline-agents"
MENU_TO_AGENT = ["start", "greet", "main", "agent", "agent.transfer"]


def epoch(dt: datetime) -> int:
    return int(dt.replace(tzinfo=timezone.utc).timestamp())


def at(minutes: int, seconds: int = 0) -> datetime:
    return DAY + timedelta(minutes=minutes, seconds=seconds)


def queue_log_text() -> str:
    def line(when: datetime, callid: str, agent: str, event: str, *data: str, queue: str = QUEUE) -> str:
        return "|".join([str(epoch(when)), callid, queue, agent, event, *data])
    return "\n".join([
        line(at(-30), "NONE", "PJSIP/agent1", "ADDMEMBER", ""),
        line(at(0, 10), "c1", "NONE", "ENTERQUEUE", "", "13800138001", "1"),
        line(at(0, 25), "c1", "PJSIP/agent1", "CONNECT", "15", "1795.1", "2"),
        line(at(1, 25), "c1", "PJSIP/agent1", "COMPLETEAGENT", "15", "60", "1"),
        line(at(2, 10), "c2", "NONE", "ENTERQUEUE", "", "13800138002", "1"),
        line(at(2, 13), "c2", "NONE", "ABANDON", "1", "1", "3"),
        line(at(5, 10), "c3", "NONE", "ENTERQUEUE", "", "13800138003", "1"),
        line(at(5, 25), "c3", "PJSIP/agent2", "RINGNOANSWER", "15000"),
        line(at(5, 40), "c3", "PJSIP/agent2", "CONNECT", "30", "1795.3", "2"),
        line(at(7, 40), "c3", "PJSIP/agent2", "COMPLETECALLER", "30", "120", "1"),
        line(at(20, 5), "c4", "NONE", "ENTERQUEUE", "", "13800138004", "1"),
        line(at(20, 50), "c4", "NONE", "ABANDON", "1", "1", "45"),
        line(at(40), "NONE", "PJSIP/agent1", "PAUSE", "lunch"),
        line(at(40), "NONE", "PJSIP/agent1", "PAUSE", "lunch", queue="hotline-vip"),
        line(at(50), "NONE", "PJSIP/agent1", "UNPAUSE", ""),
        line(at(50), "NONE", "PJSIP/agent1", "UNPAUSE", "", queue="hotline-vip"),
        line(at(60), "NONE", "PJSIP/agent1", "REMOVEMEMBER", ""),
    ]) + "\n"


def add_calls(session) -> dict[str, int]:
    """The calls' rows; returns the agents' user ids by username."""
    ids = dict(session.execute(select(User.username, User.id).where(User.username.in_(("agent1", "agent2")))).all())

    def call(ext, transport, start, path, outcome, caller, **kw):
        session.add(Call(external_id=ext, transport=transport, caller=caller, ivr_path=path, outcome=outcome,
                         started_at=start, ended_at=start + timedelta(minutes=3), **kw))

    call("c1", "fastagi", at(0), MENU_TO_AGENT, "agent", "+8613800138001", queue=QUEUE,
         agent_user_id=ids["agent1"], queue_result="answered", hold_seconds=15, talk_seconds=60, wrap_seconds=10)
    call("c2", "fastagi", at(2), MENU_TO_AGENT, "abandoned", "+8613800138002", queue=QUEUE,
         abandoned_at="queue", queue_result="abandoned", hold_seconds=3)
    call("c3", "fastagi", at(5), MENU_TO_AGENT, "agent", "+8613800138003", queue=QUEUE,
         agent_user_id=ids["agent2"], queue_result="answered", hold_seconds=30, talk_seconds=120, wrap_seconds=20)
    call("c4", "fastagi", at(20), MENU_TO_AGENT, "abandoned", "+8613800138004", queue=QUEUE,
         abandoned_at="queue", queue_result="abandoned", hold_seconds=45)
    call("c5", "fastagi", at(21), ["start", "greet", "main", "book.category", "book.item.clean", "book.create", "bye"],
         "booked", "+8613800138005")
    call("c6", "fastagi", at(22), ["start", "greet", "main"], "abandoned", "+8613800138006", abandoned_at="main")
    call("t1", "twilio", at(30), MENU_TO_AGENT, "agent", "+8613800138007", queue=QUEUE,
         agent_user_id=ids["agent1"], queue_result="answered", hold_seconds=8, talk_seconds=40, wrap_seconds=5)
    call("t2", "twilio", at(31), ["start", "greet", "main", "agent", "agent.callback", "callback.done"],
         "callback", "+8613800138008")
    call("t3", "twilio", at(50), MENU_TO_AGENT, "agent", "+8613800138008", queue=QUEUE,
         agent_user_id=ids["agent2"], queue_result="answered", hold_seconds=13, talk_seconds=30, wrap_seconds=3)
    session.flush()
    return ids
