"""Call statistics: every definition once, the 15-minute roll-ups, and the reports' queries.

docs/metrics.md gives the exact formula of each figure. The facts come from one model for the
three transports:
- every call has a `calls` row (FastAGI, AGI, Twilio): menu path, outcome, agent, wrap-up;
- its queue entry comes from Asterisk's queue_log when the call has queue_log lines (linked by
  the callid, which is the call's `external_id`), otherwise from the row itself, which the AMI
  listener and Twilio's queue and status callbacks fill in (queue_result, hold_seconds,
  talk_seconds). So an entry is counted once, from the better source.
Calls are dated by their start, queue entries by the time they joined the queue, into 15-minute
intervals stored in UTC; reports group them in local time (TIMEZONE).

`refresh(session)` recomputes the intervals marked in `stat_dirty` (by the queue_log import, in
its own transaction, and by `mark_changed_calls`, which reads calls by `updated_at`), each
interval whole from its facts: idempotent, so a repeated or concurrent run gives the same rows.
"""
from __future__ import annotations

from collections import defaultdict
from operator import add
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import and_, delete, exists, func, insert, or_, select
from sqlalchemy.orm import Session

from .calls import agent_for_member
from .context import hotline_of
from .errors import ValidationError
from .models import Call, CallStat, CallTotal, MenuStat, QueueLogLine, StatDirty, StatWatermark, User
from .reports import INTERVALS, bucket_label
from .timeutil import to_local, to_utc
from .upserts import insert_new, upsert

INTERVAL = timedelta(minutes=15)
# Calls that finished in the voice menu without an agent (IVR containment).
SELF_SERVICE_OUTCOMES = ("booked", "status", "complaint", "callback")
# queue_log end lines of an entry an agent answered, of one the caller abandoned, and of one that
# left the queue unserved otherwise (timeout, empty queue, exit key, withdrawn).
ANSWERED_EVENTS = ("COMPLETEAGENT", "COMPLETECALLER", "BLINDTRANSFER", "ATTENDEDTRANSFER", "TRANSFER")
ABANDON_EVENTS = ("ABANDON",)
UNSERVED_EVENTS = ("EXITWITHTIMEOUT", "EXITEMPTY", "EXITWITHKEY", "WITHDRAW")
# Queue results of a calls row (AMI, Twilio <Enqueue action>) that left the queue unserved.
UNSERVED_RESULTS = ("left", "busy", "failed", "no-answer", "redirected")
# A callback request is "called back" when the caller's number has a call an agent answered this soon after it.
CALLBACK_WINDOW = timedelta(hours=24)
# Member events that open and close an agent's login and pause spans.
LOGIN_EVENTS, LOGOUT_EVENTS = ("ADDMEMBER", "AGENTLOGIN"), ("REMOVEMEMBER", "AGENTLOGOFF")
PAUSE_EVENTS, UNPAUSE_EVENTS = ("PAUSE", "PAUSEALL"), ("UNPAUSE", "UNPAUSEALL")
# A login or pause span is looked for this far before a report's start.
SPAN_LOOKBACK = timedelta(hours=24)
# How far before its newest stamp the roll-up job reads calls again: a transaction that stamped a
# row earlier may commit after a later one was read (idempotent recomputation makes this free).
WATERMARK_OVERLAP = timedelta(minutes=5)
MAX_DAYS = 366

SUMMED = ("calls", "self_served", "menu_abandoned", "failed", "callbacks", "called_back", "offered", "answered",
          "answered_in_sl", "abandoned", "short_abandoned", "timeouts", "wait_sum", "hold_sum", "talk_sum",
          "wrap_sum", "refusals")
DIMENSIONS = ("transport", "queue", "agent_id", "agent", "branch")
FILTERS = ("transport", "queue", "agent_id", "branch")


# ---------------------------------------------------------------- intervals and marks

def bucket_of(dt: datetime) -> datetime:
    """The start of the 15-minute interval (UTC) holding `dt`."""
    return dt.replace(minute=dt.minute - dt.minute % 15, second=0, microsecond=0)


def mark_dirty(session: Session, buckets: Iterable[datetime]) -> None:
    """Have the roll-up of these intervals recomputed (inside the caller's transaction)."""
    insert_new(session, StatDirty.__table__, [{"bucket": b} for b in sorted(set(buckets))], ["bucket"])


def branch_of(path: list[str] | None) -> str:
    """The voice-menu branch a caller chose: the first node after the main menu, by its top-level
    name (book, status, complaint, emergency, agent); "main" for one who never left the main
    menu, "" for a call that never reached it (closed hours, no menu)."""
    seen_main = False
    for node in path or ():
        if node == "main":
            seen_main = True
        elif seen_main:
            return str(node).split(".", 1)[0][:32]
    return "main" if seen_main else ""


def mark_changed_calls(session: Session) -> int:
    """Mark the intervals of calls changed since the last run (and of the callback requests a
    changed call may have answered); the number of calls read."""
    mark = session.get(StatWatermark, "calls")
    since = mark.value - WATERMARK_OVERLAP if mark else datetime(1970, 1, 1)
    rows = session.execute(select(Call.started_at, Call.caller, Call.updated_at)
                           .where(Call.updated_at > since)).all()
    if not rows:
        return 0
    buckets = {bucket_of(r.started_at) for r in rows}
    callers = {r.caller for r in rows if r.caller and r.caller != "anonymous"}
    earliest = min(r.started_at for r in rows) - CALLBACK_WINDOW
    for chunk in chunks(sorted(callers), 500):
        buckets.update(bucket_of(t) for t in session.scalars(select(Call.started_at).where(
            Call.caller.in_(chunk), Call.started_at >= earliest, _callback_request())))
    mark_dirty(session, buckets)
    upsert(session, StatWatermark.__table__, [{"name": "calls", "value": max(r.updated_at for r in rows)}], ["name"])
    return len(rows)


def mark_range(session: Session, start: datetime, end: datetime) -> int:
    """Mark every interval of [start, end) (UTC) for recomputation (after a change of
    SERVICE_LEVEL_SECONDS or SHORT_ABANDON_SECONDS, or to rebuild); how many."""
    buckets = list(_buckets(bucket_of(start), end))
    for chunk in chunks(buckets, 5000):
        mark_dirty(session, chunk)
    return len(buckets)


# ---------------------------------------------------------------- the facts of an interval

def _callback_request():
    return or_(Call.outcome == "callback", Call.disposition == "callback")


def _answered_by_agent():
    return or_(Call.queue_result == "answered", Call.disposition != "")


class Tally:
    """Roll-up rows being summed, by key (the call and the work-order roll-ups)."""

    def __init__(self, keys: tuple[str, ...], measures: tuple[str, ...]) -> None:
        self.keys, self.measures = keys, measures
        self.rows: dict[tuple, dict[str, int]] = {}

    def row(self, key: tuple) -> dict[str, int]:
        got = self.rows.get(key)
        if got is None:
            got = self.rows[key] = dict.fromkeys(self.measures, 0)
        return got

    def as_rows(self) -> list[dict[str, Any]]:
        return [{**dict(zip(self.keys, k)), **v} for k, v in self.rows.items()]


class _Agents:
    """Hotline's agent behind a user id or a queue member name, looked up once per run."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.names = dict(session.execute(select(User.id, User.username)).all())
        self.members: dict[str, tuple[int, str]] = {}

    def of_user(self, user_id: int | None) -> tuple[int, str]:
        return (user_id, self.names.get(user_id, str(user_id))) if user_id else (0, "")

    def of_member(self, member: str) -> tuple[int, str]:
        if member in ("", "NONE"):
            return 0, ""
        if member not in self.members:
            user = agent_for_member(self.session, member)
            self.members[member] = (user.id, user.username) if user else (0, member[:128])
        return self.members[member]


def _queue_entry(t: dict[str, int], wait: int, *, answered: bool = False, abandoned: bool = False,
                 talk: int = 0, sl: int, short: int) -> None:
    """One ended queue entry into a roll-up row (the definitions of docs/metrics.md)."""
    t["wait_sum"] += wait
    t["wait_max"] = max(t["wait_max"], wait)
    if answered:
        t["answered"] += 1
        t["hold_sum"] += wait
        t["talk_sum"] += talk
        t["answered_in_sl"] += wait <= sl
    elif abandoned:
        t["abandoned"] += 1
        t["short_abandoned"] += wait <= short
    else:
        t["timeouts"] += 1


def compute(session: Session, start: datetime, end: datetime) -> tuple[list[dict], list[dict]]:
    """The roll-up rows (call_stats, menu_stats) of the calls and queue entries that began in
    [start, end) (UTC), from the raw facts."""
    settings = hotline_of(session).settings
    sl, short = settings.service_level_seconds, settings.short_abandon_seconds
    agents = _Agents(session)
    stats = Tally(("bucket",) + DIMENSIONS, SUMMED + ("wait_max",))
    menus = Tally(("bucket", "transport", "branch", "outcome", "hangup_node"), ("calls",))
    has_log = exists().where(QueueLogLine.callid == Call.external_id)
    calls = session.execute(select(
        Call.id, Call.caller, Call.transport, Call.queue, Call.agent_user_id, Call.ivr_path, Call.outcome,
        Call.abandoned_at, Call.queue_result, Call.disposition, Call.hold_seconds, Call.talk_seconds,
        Call.wrap_seconds, Call.started_at, has_log.label("has_log"))
        .where(Call.started_at >= start, Call.started_at < end))
    callbacks = []
    for c in calls:
        bucket, branch = bucket_of(c.started_at), branch_of(c.ivr_path)
        t = stats.row((bucket, c.transport, c.queue or "", *agents.of_user(c.agent_user_id), branch))
        t["calls"] += 1
        t["self_served"] += c.outcome in SELF_SERVICE_OUTCOMES
        t["menu_abandoned"] += c.outcome == "abandoned" and c.abandoned_at not in ("", "queue")
        t["failed"] += c.outcome == "failed"
        t["wrap_sum"] += c.wrap_seconds or 0
        if c.outcome == "callback" or c.disposition == "callback":
            t["callbacks"] += 1
            callbacks.append((c, t))
        menus.row((bucket, c.transport, branch, c.outcome or "ongoing",
                   c.abandoned_at[:32] if c.outcome == "abandoned" else ""))["calls"] += 1
        in_queue = c.outcome == "agent" or c.queue_result != "" or c.abandoned_at == "queue"
        if in_queue and not c.has_log:
            t["offered"] += 1
            if c.queue_result == "answered":
                _queue_entry(t, c.hold_seconds or 0, answered=True, talk=c.talk_seconds or 0, sl=sl, short=short)
            elif c.queue_result == "abandoned" or c.abandoned_at == "queue":
                _queue_entry(t, c.hold_seconds or 0, abandoned=True, sl=sl, short=short)
            elif c.queue_result in UNSERVED_RESULTS:
                _queue_entry(t, c.hold_seconds or 0, sl=sl, short=short)
    for c, t in callbacks:
        t["called_back"] += bool(session.scalar(select(exists().where(
            Call.caller == c.caller, Call.id != c.id, Call.started_at > c.started_at,
            Call.started_at <= c.started_at + CALLBACK_WINDOW, _answered_by_agent()))))
    events = ("ENTERQUEUE", "RINGNOANSWER") + ANSWERED_EVENTS + ABANDON_EVENTS + UNSERVED_EVENTS
    lines = session.execute(
        select(QueueLogLine.entered_at, QueueLogLine.queue, QueueLogLine.agent, QueueLogLine.event,
               QueueLogLine.data1, QueueLogLine.data2, QueueLogLine.data3, QueueLogLine.data4,
               Call.transport, Call.ivr_path)
        .outerjoin(Call, Call.external_id == QueueLogLine.callid)
        .where(QueueLogLine.entered_at >= start, QueueLogLine.entered_at < end, QueueLogLine.event.in_(events)))
    for q in lines:
        key = (bucket_of(q.entered_at), q.transport or "asterisk", q.queue[:64], *agents.of_member(q.agent),
               branch_of(q.ivr_path))
        t = stats.row(key)
        ev = q.event
        if ev == "ENTERQUEUE":
            t["offered"] += 1
        elif ev == "RINGNOANSWER":
            t["refusals"] += 1
        elif ev in ("COMPLETEAGENT", "COMPLETECALLER"):
            _queue_entry(t, _secs(q.data1), answered=True, talk=_secs(q.data2), sl=sl, short=short)
        elif ev in ("BLINDTRANSFER", "TRANSFER"):
            _queue_entry(t, _secs(q.data3), answered=True, talk=_secs(q.data4), sl=sl, short=short)
        elif ev == "ATTENDEDTRANSFER":
            # LINK|ch1|ch2|hold|call... has the hold one field later than BRIDGE|uid|hold|call / APP|app|hold|call.
            hold = _secs(q.data4) if q.data1 == "LINK" else _secs(q.data3)
            _queue_entry(t, hold, answered=True, talk=0 if q.data1 == "LINK" else _secs(q.data4), sl=sl, short=short)
        elif ev == "ABANDON":
            _queue_entry(t, _secs(q.data3), abandoned=True, sl=sl, short=short)
        else:
            _queue_entry(t, _secs(q.data4 if ev == "EXITWITHKEY" else q.data3), sl=sl, short=short)
    return stats.as_rows(), menus.as_rows()


def _secs(value: str) -> int:
    return int(value) if value.isdigit() else 0


def refresh(session: Session, *, limit: int = 2000) -> int:
    """Recompute up to `limit` marked intervals (in the caller's transaction); how many.

    The marks are locked first (PostgreSQL: FOR UPDATE SKIP LOCKED), so two runs never write the
    same interval at once, and a fact arriving meanwhile marks its interval again after this
    transaction: it is recomputed by the next run. Each interval's rows are replaced whole.
    """
    buckets = sorted(session.scalars(select(StatDirty.bucket).order_by(StatDirty.bucket).limit(limit)
                                     .with_for_update(skip_locked=True)))
    for lo, hi in runs(buckets):
        stats, menus = compute(session, lo, hi)
        for model in (CallStat, CallTotal, MenuStat):
            session.execute(delete(model).where(model.bucket >= lo, model.bucket < hi))
        for chunk in chunks(stats, 5000):
            session.execute(insert(CallStat), chunk)
        for chunk in chunks(_summed(stats, ("bucket", "transport")), 5000):
            session.execute(insert(CallTotal), chunk)
        for chunk in chunks(menus, 5000):
            session.execute(insert(MenuStat), chunk)
    for chunk in chunks(buckets, 5000):
        session.execute(delete(StatDirty).where(StatDirty.bucket.in_(chunk)))
    return len(buckets)


def _summed(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """Roll-up rows summed over every dimension but `keys`."""
    tally = Tally(keys, SUMMED + ("wait_max",))
    for r in rows:
        t = tally.row(tuple(r[k] for k in keys))
        for m in SUMMED:
            t[m] += r[m]
        t["wait_max"] = max(t["wait_max"], r["wait_max"])
    return tally.as_rows()


def roll_up(hl) -> int:
    """The scheduler's job: mark changed calls, then recompute every marked interval; how many."""
    return run_roll_up(hl, mark_changed_calls, refresh)


def run_roll_up(hl, mark: Callable[[Session], Any], recompute: Callable[[Session], int]) -> int:
    """A roll-up job: mark what changed (one transaction), then recompute the marks a batch per
    transaction until none is left; how many were recomputed."""
    with hl.session() as s, s.begin():
        mark(s)
    done = 0
    while True:
        with hl.session() as s, s.begin():
            n = recompute(s)
        done += n
        if n == 0:
            return done


def runs(starts: list, step=INTERVAL) -> Iterator[tuple]:
    """Sorted interval starts (15-minute buckets, or days with step one day) -> [lo, hi) ranges
    of consecutive intervals."""
    lo = prev = None
    for b in starts:
        if prev is not None and b != prev + step:
            yield lo, prev + step
            lo = None
        lo = b if lo is None else lo
        prev = b
    if lo is not None:
        yield lo, prev + step


def _buckets(start: datetime, end: datetime) -> Iterator[datetime]:
    b = start
    while b < end:
        yield b
        b += INTERVAL


def chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


# ---------------------------------------------------------------- reports

@dataclass(frozen=True)
class Scope:
    """Whose figures a reader may see: everything, or one agent's own (agent_id)."""
    agent_id: int | None = None


EVERYTHING = Scope()


def scope_of(user: User) -> Scope:
    """An agent sees their own figures; every other reader of the call reports sees them all."""
    return Scope(agent_id=user.id) if user.role == "agent" else EVERYTHING


def report_range(session: Session, start: date, end: date) -> tuple[datetime, datetime]:
    """Local days `start`..`end` (inclusive) as [UTC start, UTC end); a clear error for an
    empty, reversed or too long range."""
    if start is None or end is None:
        raise ValidationError("choose a date range: from and to, e.g. 2026-11-01 to 2026-11-30")
    if end < start:
        raise ValidationError("the range {start} to {end} is empty: the end is before the start", start=start, end=end)
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationError("the range {start} to {end} is {value} days; choose at most {max_days} days, e.g. one year", start=start, end=end, value=(end - start).days + 1, max_days=MAX_DAYS)
    tz = hotline_of(session).tz
    return to_utc(datetime.combine(start, time(0)), tz), to_utc(datetime.combine(end + timedelta(days=1), time(0)), tz)


def _conditions(model, filters: dict[str, Any] | None, scope: Scope, allowed: tuple[str, ...]) -> list:
    filters = dict(filters or {})
    unknown = sorted(set(filters) - set(allowed))
    if unknown:
        raise ValidationError("unknown filter {unknown}; the filters are {allowed}", unknown=', '.join(unknown), allowed=', '.join(allowed))
    if scope.agent_id is not None:
        if "agent_id" not in allowed:
            raise ValidationError("this report covers all agents; an agent sees only their own figures")
        filters["agent_id"] = scope.agent_id
    return [getattr(model, k) == v for k, v in filters.items() if v not in (None, "")]


def _totals(session: Session, start: date, end: date, interval: str, filters, scope: Scope) -> list[dict[str, Any]]:
    """The summed roll-up figures per local interval of the range (intervals without calls left out)."""
    if interval not in INTERVALS:
        raise ValidationError("unknown interval {interval!r}; choose one of {intervals}", interval=interval, intervals=', '.join(INTERVALS))
    lo, hi = report_range(session, start, end)
    conditions = _conditions(CallStat, filters, scope, FILTERS)
    # Only the transport asked for: the totals have every figure with far fewer rows.
    table = CallTotal if all(c.left.key == "transport" for c in conditions) else CallStat
    where = [table.bucket >= lo, table.bucket < hi, *_conditions(table, filters, scope, FILTERS)]
    cols = [func.sum(getattr(table, m)).label(m) for m in SUMMED] + [func.max(table.wait_max).label("wait_max")]
    tz = hotline_of(session).tz
    # Plain tuples and list sums: a month of 15-minute rows is folded in a few milliseconds.
    periods: dict[str, list[int]] = {}
    for bucket, *values in session.execute(select(table.bucket, *cols).where(and_(*where))
                                           .group_by(table.bucket)).tuples():
        key = bucket_label(to_local(bucket, tz), interval)
        acc = periods.get(key)
        if acc is None:
            periods[key] = [int(v or 0) for v in values]
        else:
            acc[:-1] = map(add, acc[:-1], (int(v or 0) for v in values[:-1]))
            acc[-1] = max(acc[-1], int(values[-1] or 0))
    names = SUMMED + ("wait_max",)
    return [derive({"period": k, **dict(zip(names, periods[k]))}) for k in sorted(periods)]


def _ratio(num: float, den: float, digits: int = 1, scale: float = 100.0) -> float | None:
    return round(scale * num / den, digits) if den else None


def derive(t: dict[str, Any]) -> dict[str, Any]:
    """The derived figures of summed roll-up figures `t` (docs/metrics.md has each formula)."""
    ended = t["answered"] + t["abandoned"] + t["timeouts"]
    return {**t,
            "service_level": _ratio(t["answered_in_sl"], t["answered"] + t["abandoned"] - t["short_abandoned"]
                                    + t["timeouts"]),
            "abandon_rate": _ratio(t["abandoned"] - t["short_abandoned"], t["offered"] - t["short_abandoned"]),
            "asa": _ratio(t["hold_sum"], t["answered"], scale=1),
            "avg_wait": _ratio(t["wait_sum"], ended, scale=1),
            "longest_wait": t["wait_max"],
            "aht": _ratio(t["talk_sum"] + t["wrap_sum"], t["answered"], scale=1),
            "containment": _ratio(t["self_served"], t["calls"])}


VOLUME_KEYS = ("period", "calls", "self_served", "containment", "menu_abandoned", "failed", "offered", "answered",
               "abandoned", "short_abandoned", "timeouts", "abandon_rate", "callbacks", "called_back")
SERVICE_KEYS = ("period", "offered", "answered", "answered_in_sl", "abandoned", "short_abandoned", "timeouts",
                "service_level", "asa", "avg_wait", "longest_wait", "aht")


def call_volume(session: Session, start: date, end: date, interval: str = "day",
                filters: dict[str, Any] | None = None, scope: Scope = EVERYTHING) -> list[dict[str, Any]]:
    """Calls, self-service, queue entries offered/answered/abandoned and callbacks per interval."""
    return [{k: r[k] for k in VOLUME_KEYS} for r in _totals(session, start, end, interval, filters, scope)]


def service_level(session: Session, start: date, end: date, interval: str = "day",
                  filters: dict[str, Any] | None = None, scope: Scope = EVERYTHING) -> list[dict[str, Any]]:
    """Service level, ASA, average and longest wait and AHT per interval."""
    return [{k: r[k] for k in SERVICE_KEYS} for r in _totals(session, start, end, interval, filters, scope)]


def agent_figures(session: Session, start: date, end: date, filters: dict[str, Any] | None = None,
                  scope: Scope = EVERYTHING) -> list[dict[str, Any]]:
    """Per agent over the range: calls taken, talk, wrap-up, AHT, refusals (RINGNOANSWER), and from
    the queue_log's member events login and pause time and occupancy."""
    lo, hi = report_range(session, start, end)
    where = [CallStat.bucket >= lo, CallStat.bucket < hi, CallStat.agent != "",
             *_conditions(CallStat, filters, scope, FILTERS)]
    measures = ("answered", "talk_sum", "wrap_sum", "hold_sum", "refusals")
    rows = session.execute(select(CallStat.agent_id, CallStat.agent,
                                  *[func.sum(getattr(CallStat, m)).label(m) for m in measures])
                           .where(and_(*where)).group_by(CallStat.agent_id, CallStat.agent)
                           .order_by(CallStat.agent)).all()
    spans = member_spans(session, lo, hi)
    out = []
    for r in rows:
        login, paused = spans.get(r.agent, (0, 0))
        handled = int(r.talk_sum or 0) + int(r.wrap_sum or 0)
        out.append({"agent_id": r.agent_id, "agent": r.agent, "calls_taken": int(r.answered or 0),
                    "talk_seconds": int(r.talk_sum or 0), "wrap_seconds": int(r.wrap_sum or 0),
                    "aht": _ratio(handled, r.answered or 0, scale=1), "refusals": int(r.refusals or 0),
                    "login_seconds": login, "pause_seconds": paused,
                    "occupancy": _ratio(handled, login - paused) if login > paused else None})
    return out


def member_spans(session: Session, lo: datetime, hi: datetime) -> dict[str, tuple[int, int]]:
    """Seconds each agent (by Hotline username or member name) was logged in and paused within
    [lo, hi), from ADDMEMBER/REMOVEMEMBER, AGENTLOGIN/AGENTLOGOFF and PAUSE/UNPAUSE lines. A pause
    is per agent, not per queue (Asterisk writes one line per queue); a span still open at `hi`
    (or at now) counts up to it."""
    events = LOGIN_EVENTS + LOGOUT_EVENTS + PAUSE_EVENTS + UNPAUSE_EVENTS
    now = min(hi, hotline_of(session).now())
    agents = _Agents(session)
    state: dict[str, dict[str, Any]] = defaultdict(lambda: {"login": None, "pause": None, "in": 0, "paused": 0})

    def close(s: dict, which: str, total: str, until: datetime) -> None:
        if s[which] is not None:
            s[total] += max(0, int((min(until, hi) - max(s[which], lo)).total_seconds()))
            s[which] = None

    for at, member, event in session.execute(
            select(QueueLogLine.at, QueueLogLine.agent, QueueLogLine.event)
            .where(QueueLogLine.event.in_(events), QueueLogLine.at >= lo - SPAN_LOOKBACK, QueueLogLine.at < hi)
            .order_by(QueueLogLine.at, QueueLogLine.id)):
        s = state[agents.of_member(member)[1] or member]
        if event in LOGIN_EVENTS and s["login"] is None:
            s["login"] = at
        elif event in LOGOUT_EVENTS:
            close(s, "pause", "paused", at)
            close(s, "login", "in", at)
        elif event in PAUSE_EVENTS and s["pause"] is None:
            s["pause"] = at
        elif event in UNPAUSE_EVENTS:
            close(s, "pause", "paused", at)
    for s in state.values():
        close(s, "pause", "paused", now)
        close(s, "login", "in", now)
    return {name: (s["in"], s["paused"]) for name, s in state.items()}


def menu_outcomes(session: Session, start: date, end: date, filters: dict[str, Any] | None = None,
                  scope: Scope = EVERYTHING) -> list[dict[str, Any]]:
    """Per voice-menu branch and outcome: calls, their share of the branch, and where callers hung up."""
    lo, hi = report_range(session, start, end)
    where = [MenuStat.bucket >= lo, MenuStat.bucket < hi,
             *_conditions(MenuStat, filters, scope, ("transport", "branch"))]
    rows = session.execute(select(MenuStat.branch, MenuStat.outcome, MenuStat.hangup_node,
                                  func.sum(MenuStat.calls).label("calls"))
                           .where(and_(*where)).group_by(MenuStat.branch, MenuStat.outcome, MenuStat.hangup_node)
                           .order_by(MenuStat.branch, MenuStat.outcome, MenuStat.hangup_node)).all()
    per_branch: dict[str, int] = defaultdict(int)
    for r in rows:
        per_branch[r.branch] += int(r.calls)
    return [{"branch": r.branch, "outcome": r.outcome, "hangup_node": r.hangup_node, "calls": int(r.calls),
             "share": _ratio(int(r.calls), per_branch[r.branch])} for r in rows]


def live_figures(session: Session, since: datetime) -> dict[str, Any]:
    """Service level, ASA and abandon rate of the calls and queue entries since `since` (UTC) up to
    now, computed from the raw facts by the roll-up's own definitions (a day's facts, not a year's)."""
    stats, _ = compute(session, since, hotline_of(session).now() + timedelta(seconds=1))
    t = dict.fromkeys(SUMMED, 0) | {"wait_max": 0}
    for row in stats:
        for m in SUMMED:
            t[m] += row[m]
        t["wait_max"] = max(t["wait_max"], row["wait_max"])
    d = derive(t)
    return {k: d[k] for k in ("offered", "answered", "abandoned", "service_level", "asa", "abandon_rate")}
