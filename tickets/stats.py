"""Live figures for the supervisor's wallboard: calls waiting, agents by presence, today's calls,
work orders by status, and the live service level, ASA and abandon rate of today and the last
hour (tickets.metrics' definitions over today's facts). Small read-only queries.

"Today" is the local day in the configured zone (TIMEZONE), from local midnight to now.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from .agents import CALL_TAKING_ROLES, PRESENCES
from .context import hotline_of
from .metrics import SELF_SERVICE_OUTCOMES, live_figures
from .models import Call, User, WorkOrder
from .timeutil import to_local, to_utc
from .workflow import STATES

# A call whose hang-up never reached us (a crashed transport, a lost webhook) must not count as
# waiting for ever; nobody stays in a hotline queue this long.
WAITING_HORIZON = timedelta(hours=2)


def today_start(session: Session) -> datetime:
    """Local midnight of today, as naive UTC."""
    hl = hotline_of(session)
    local_today = to_local(hl.now(), hl.tz).date()
    return to_utc(datetime.combine(local_today, time(0, 0)), hl.tz)


@dataclass(frozen=True)
class Waiting:
    count: int
    longest_seconds: int   # 0 when nobody waits


def calls_waiting(session: Session) -> Waiting:
    """Calls handed to the agent queue that no agent has answered yet and the caller has not left.

    The voice menu closes its part of the call record (ended_at) when it hands the caller to the
    queue, so waiting is read from the queue's side: no queue result (answered, abandoned...) and
    no wrap-up yet. The wait is counted from the start of the call.
    """
    now = hotline_of(session).now()
    row = session.execute(
        select(func.count(Call.id), func.min(Call.started_at))
        .where(Call.outcome == "agent", Call.queue_result == "", Call.disposition == "",
               Call.started_at >= now - WAITING_HORIZON)).one()
    count, oldest = row
    return Waiting(count=count, longest_seconds=int((now - oldest).total_seconds()) if oldest else 0)


def agents_by_presence(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Active call-taking users grouped by presence (every presence present, possibly empty)."""
    users = session.scalars(select(User).where(User.role.in_(CALL_TAKING_ROLES), User.active)
                            .order_by(User.display_name, User.username)).all()
    groups: dict[str, list[dict[str, Any]]] = {p: [] for p in PRESENCES}
    for u in users:
        groups.setdefault(u.presence, []).append(
            {"id": u.id, "username": u.username, "name": u.display_name or u.username,
             "role": u.role, "extension": u.extension})
    return groups


def calls_today(session: Session) -> dict[str, int]:
    """Today's calls: offered (every call that reached the hotline), answered by an agent (the queue
    reported it answered, or an agent wrapped it up), abandoned (the caller hung up before being
    served, in the menu or in the queue), self-served (finished in the voice menu), menu failed (the
    voice menu could not run or broke down: the PBX's failure path took the call)."""
    since = today_start(session)
    answered = or_(Call.queue_result == "answered", Call.disposition != "")
    abandoned = or_(Call.outcome == "abandoned", Call.queue_result == "abandoned")
    row = session.execute(
        select(func.count(Call.id),
               func.coalesce(func.sum(case((answered, 1), else_=0)), 0),
               func.coalesce(func.sum(case((abandoned, 1), else_=0)), 0),
               func.coalesce(func.sum(case((Call.outcome.in_(SELF_SERVICE_OUTCOMES), 1), else_=0)), 0),
               func.coalesce(func.sum(case((Call.outcome == "failed", 1), else_=0)), 0))
        .where(Call.started_at >= since)).one()
    return {"offered": row[0], "answered": row[1], "abandoned": row[2], "self_served": row[3], "menu_failed": row[4]}


def orders_by_status(session: Session) -> dict[str, int]:
    """Number of work orders in each state, in lifecycle order (zero rows included)."""
    counts = dict(session.execute(select(WorkOrder.status, func.count(WorkOrder.id))
                                  .group_by(WorkOrder.status)).all())
    return {status: counts.get(status, 0) for status in STATES}


def wallboard(session: Session) -> dict[str, Any]:
    """Everything the wallboard shows, as one dict (what its view and its JSON endpoint return)."""
    hl = hotline_of(session)
    waiting = calls_waiting(session)
    return {"as_of": to_local(hl.now(), hl.tz).strftime("%Y-%m-%d %H:%M:%S"),
            "waiting": {"count": waiting.count, "longest_seconds": waiting.longest_seconds},
            "agents": agents_by_presence(session),
            "calls_today": calls_today(session),
            "service": {"today": live_figures(session, today_start(session)),
                        "last_hour": live_figures(session, hl.now() - timedelta(hours=1))},
            "orders_by_status": orders_by_status(session)}
