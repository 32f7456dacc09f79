"""The demo city's call history: 90 days of calls and the agents' queue_log, so every call report
shows something on first run (`hotline init --demo`, `hotline run --demo`).

Deterministic (one seeded random generator): the same days give the same calls. Realistic in the
ways the reports show: fewer calls at weekends, a morning and an afternoon peak, a quiet night;
waits that grow with the hour's load and callers who give up when the wait outlasts their
patience; two thirds of the calls on Asterisk (their queue facts in queue_log lines) and a third
on Twilio (in the call rows, as its callbacks leave them). Written with bulk inserts through the
session, then rolled up like any other facts.
"""
from __future__ import annotations

import logging
import math
import random
from datetime import datetime, time, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from .context import hotline_of
from .metrics import mark_changed_calls, mark_range, refresh
from .models import Call, QueueLogLine, User
from .queue_log import parse_line
from .timeutil import to_local, to_utc

log = logging.getLogger(__name__)

DAYS = 90
PREFIX = "demo-"
QUEUE = "hotline-agents"
WEEKDAY_CALLS = 260
DAY_FACTOR = (1.0, 0.95, 0.95, 0.9, 1.05, 0.7, 0.55)            # Monday .. Sunday
HOUR_SHARE = (0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 2.5, 6.5, 9.5, 10.0, 9.0, 6.0, 6.5,
              8.5, 9.0, 8.0, 7.0, 5.5, 4.5, 3.0, 2.0, 1.0, 0.5)  # % of a day's calls per local hour
# How a call goes in the voice menu: (outcome, path, abandoned_at, weight).
MENU = (
    ("booked", ["start", "greet", "main", "book.category", "book.date", "book.slot", "book.create", "bye"], "", 20),
    ("status", ["start", "greet", "main", "status", "status.menu"], "", 9),
    ("complaint", ["start", "greet", "main", "complaint", "complaint.record"], "", 2),
    ("callback", ["start", "greet", "main", "agent", "agent.callback", "callback.done"], "", 2),
    ("abandoned", ["start", "greet", "main"], "main", 5),
    ("abandoned", ["start", "greet", "main", "book.category"], "book.category", 3),
    ("failed", ["start"], "", 1),
    ("agent", ["start", "greet", "main", "agent", "agent.transfer"], "", 58),
)


def _pick_menu(rnd: random.Random):
    return rnd.choices(MENU, weights=[m[3] for m in MENU])[0]


def load_demo_calls(session: Session, days: int = DAYS, seed: int = 15) -> dict:
    """Add `days` days of calls before today (local) and their queue_log, then roll them up; once."""
    if session.scalar(select(Call.id).where(Call.external_id.like(f"{PREFIX}%")).limit(1)) is not None:
        return {"call_history": "already there"}
    hl = hotline_of(session)
    tz = hl.tz
    rnd = random.Random(seed)
    agents = session.execute(select(User.id, User.extension).where(User.role == "agent", User.active)
                             .order_by(User.id)).all()
    members = [(a.id, a.extension or f"PJSIP/agent{a.id}") for a in agents]
    today = to_local(hl.now(), tz).date()
    first = today - timedelta(days=days)
    calls: list[dict] = []
    lines: list[dict] = []
    n = 0
    for d in range(days):
        day = first + timedelta(days=d)
        for agent_id, member in members:
            for local_t, event, data in ((time(8, 0), "ADDMEMBER", ""), (time(12, 0), "PAUSE", "lunch"),
                                         (time(12, 45), "UNPAUSE", ""), (time(20, 0), "REMOVEMEMBER", "")):
                _line(lines, to_utc(datetime.combine(day, local_t), tz), "NONE", member, event, [data])
        total = WEEKDAY_CALLS * DAY_FACTOR[day.weekday()] * rnd.uniform(0.85, 1.15)
        for hour, share in enumerate(HOUR_SHARE):
            expected = total * share / 100
            load = expected / (WEEKDAY_CALLS * max(HOUR_SHARE) / 100)         # 1.0 at the busiest hour
            for _ in range(_poisson(rnd, expected)):
                n += 1
                start = to_utc(datetime.combine(day, time(hour)) + timedelta(seconds=rnd.randrange(3600)), tz)
                calls.append(_call(rnd, n, start, load, members, lines))
    for chunk in range(0, len(calls), 2000):
        session.execute(insert(Call), calls[chunk:chunk + 2000])
    for chunk in range(0, len(lines), 5000):
        session.execute(insert(QueueLogLine), lines[chunk:chunk + 5000])
    lo = to_utc(datetime.combine(first, time(0)), tz)
    mark_range(session, lo, to_utc(datetime.combine(today, time(0)), tz))
    # Past the roll-up job's watermark too: its first run must not recompute 90 days again.
    mark_changed_calls(session)
    while refresh(session, limit=5000):
        pass
    log.info("demo call history: %d calls and %d queue_log lines over %d days", len(calls), len(lines), days)
    return {"call_history": f"{len(calls)} calls, {len(lines)} queue_log lines, {days} days"}


def _poisson(rnd: random.Random, mean: float) -> int:
    """Poisson-distributed arrivals (Knuth's method; the means here are small)."""
    limit, k, p = math.exp(-mean), 0, rnd.random()
    while p > limit:
        k += 1
        p *= rnd.random()
    return k


def _line(lines: list[dict], at: datetime, callid: str, agent: str, event: str, data: list[str]) -> None:
    """A queue_log line as Asterisk writes it, stored as the import would store it."""
    raw = "|".join([str(int((at - datetime(1970, 1, 1)).total_seconds())), callid, QUEUE, agent, event, *data])
    lines.append(parse_line(raw.encode()))


def _call(rnd: random.Random, n: int, start: datetime, load: float, members, lines: list[dict]) -> dict:
    """One call's row (and, for an Asterisk call that reached the queue, its queue_log lines)."""
    transport = "twilio" if rnd.random() < 0.33 else "fastagi"
    external_id = f"{PREFIX}{n}"
    outcome, path, abandoned_at, _ = _pick_menu(rnd)
    in_menu = rnd.randint(15, 90)
    row = {"external_id": external_id, "transport": transport, "caller": f"+86138{rnd.randrange(10**8):08d}",
           "customer_id": None, "language": "zh", "ivr_path": path, "outcome": outcome, "abandoned_at": abandoned_at,
           "order_id": None, "queue": "", "agent_user_id": None, "agent_member": "", "hold_seconds": None,
           "talk_seconds": None, "queue_result": "", "disposition": "", "notes": "", "started_at": start,
           "ended_at": start + timedelta(seconds=in_menu), "wrap_seconds": None, "updated_at": start}
    if outcome != "agent":
        return row
    joined = start + timedelta(seconds=in_menu)
    wait = int(rnd.expovariate(1 / (6 + 40 * load ** 2)))        # waits grow fast near the peak
    patience = int(rnd.expovariate(1 / 75))
    row.update(queue=QUEUE, hold_seconds=min(wait, patience))
    if patience < wait:
        row.update(outcome="abandoned", abandoned_at="queue", queue_result="abandoned",
                   ended_at=joined + timedelta(seconds=patience))
        if transport == "fastagi":
            _line(lines, joined, external_id, "NONE", "ENTERQUEUE", ["", row["caller"], "1"])
            _line(lines, joined + timedelta(seconds=patience), external_id, "NONE", "ABANDON", ["1", "1", str(patience)])
        return row
    agent_id, member = rnd.choice(members)
    talk = int(rnd.lognormvariate(math.log(150), 0.5))
    row.update(agent_user_id=agent_id, agent_member=member, queue_result="answered", talk_seconds=talk,
               ended_at=joined + timedelta(seconds=wait + talk), wrap_seconds=rnd.randint(5, 30),
               disposition=rnd.choices(("booked", "order_query", "info", "complaint", "callback"), (40, 25, 25, 5, 5))[0])
    if transport == "fastagi":
        _line(lines, joined, external_id, "NONE", "ENTERQUEUE", ["", row["caller"], "1"])
        if wait > 15 and rnd.random() < 0.3:
            other = rnd.choice(members)[1]
            _line(lines, joined + timedelta(seconds=15), external_id, other, "RINGNOANSWER", ["15000"])
        _line(lines, joined + timedelta(seconds=wait), external_id, member, "CONNECT", [str(wait), f"{external_id}.2", "2"])
        end = "COMPLETEAGENT" if rnd.random() < 0.4 else "COMPLETECALLER"
        _line(lines, joined + timedelta(seconds=wait + talk), external_id, member, end, [str(wait), str(talk), "1"])
    return row
