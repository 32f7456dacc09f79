"""The work-order roll-ups the order, franchisee and satisfaction reports read, kept current.

Per local day (TIMEZONE) of the facts:
- `order_stats`: the orders booked that day, per hour of booking, channel, service, district,
  franchisee and current status, with the summed measures of tickets.order_metrics.order_measures;
- `order_leads`: one slim row per order with its lead times (percentiles do not add up);
- `refusal_stats`: the rejections and expiries of the day, per refusing franchisee;
- `survey_stats`: the surveys asked that day, per the order's service, district, franchisee, worker.

A day is recomputed whole from the raw facts when it is marked in `order_stat_dirty`: by the
roll-up job, which reads the work-order events written since its last run (every change of an
order is an event: booking, dispatch, refusal, completion with its price, the survey's close),
and marks the booking day of each changed order, the day of each new event (its refusals) and
the day its survey was asked; and by `hotline stats rebuild`. The recomputation locks the marks
(PostgreSQL FOR UPDATE SKIP LOCKED) and writes with upserts, so two runs never write one day at
once and a run racing a rebuild leaves the same rows.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .context import hotline_of
from .metrics import WATERMARK_OVERLAP, Tally, chunks, run_roll_up, runs
from .models import (OrderLead, OrderStat, OrderStatDirty, RefusalStat, StatWatermark, Survey, SurveyStat,
                     WorkOrder, WorkOrderEvent)
from .order_metrics import (ORDER_MEASURES, SURVEY_MEASURES, lead_spans, order_facts, order_measures, refusal_facts,
                            survey_facts, survey_measures)
from .reports import Query
from .timeutil import to_local
from .upserts import insert_new, upsert

CHUNK = 5000
ORDER_KEYS = ("day", "hour", "channel", "service_id", "district_id", "franchisee_id", "status")
REFUSAL_KEYS = ("day", "service_id", "district_id", "franchisee_id")
SURVEY_KEYS = ("day", "service_id", "district_id", "franchisee_id", "worker_id")
TABLES = (OrderStat, OrderLead, RefusalStat, SurveyStat)


def mark_days(session: Session, days: Iterable[date]) -> None:
    """Have the roll-ups of these local days recomputed (inside the caller's transaction)."""
    rows = [{"day": d} for d in sorted(set(days))]
    for chunk in chunks(rows, CHUNK):
        insert_new(session, OrderStatDirty.__table__, chunk, ["day"])


def mark_range(session: Session, start: date, end: date) -> int:
    """Mark every local day of start..end (inclusive) for recomputation; how many."""
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    mark_days(session, days)
    return len(days)


def mark_changed_orders(session: Session) -> int:
    """Mark the days touched by the work-order events written since the last run; how many events."""
    mark = session.get(StatWatermark, "orders")
    since = mark.value - WATERMARK_OVERLAP if mark else datetime(1970, 1, 1)
    events = session.execute(select(WorkOrderEvent.order_id, WorkOrderEvent.created_at)
                             .where(WorkOrderEvent.created_at > since)).all()
    if not events:
        return 0
    tz = hotline_of(session).tz
    days = {to_local(e.created_at, tz).date() for e in events}
    ids = sorted({e.order_id for e in events})
    for chunk in chunks(ids, CHUNK):
        for model, column in ((WorkOrder, WorkOrder.created_at), (Survey, Survey.asked_at)):
            key = WorkOrder.id if model is WorkOrder else Survey.order_id
            days.update(to_local(t, tz).date() for t in session.scalars(select(column).where(key.in_(chunk))))
    mark_days(session, days)
    upsert(session, StatWatermark.__table__, [{"name": "orders", "value": max(e.created_at for e in events)}], ["name"])
    return len(events)


def compute(session: Session, start: date, end: date) -> dict[type, list[dict]]:
    """The roll-up rows of the local days start..end (inclusive), from the raw facts."""
    tz = hotline_of(session).tz
    q = Query(start=start, end=end, interval="day", tz=tz)
    lo, hi = q.utc_range()
    orders = Tally(ORDER_KEYS, ORDER_MEASURES)
    leads = []
    for f in order_facts(session, q):
        local = to_local(f.created_at, tz)
        key = (local.date(), local.hour, f.channel, f.service_id, f.district_id or 0, f.franchisee_id or 0, f.status)
        _add(orders, key, order_measures(f))
        leads.append({"order_id": f.id, **dict(zip(ORDER_KEYS, key)), **lead_spans(f)})
    refusals = Tally(REFUSAL_KEYS, ("rejects", "expiries"))
    for r in refusal_facts(session, lo, hi):
        key = (to_local(r.at, tz).date(), r.service_id, r.district_id or 0, r.franchisee_id)
        _add(refusals, key, {"rejects": int(r.action == "reject"), "expiries": int(r.action == "expire")})
    surveys = Tally(SURVEY_KEYS, SURVEY_MEASURES)
    for s in survey_facts(session, lo, hi):
        key = (to_local(s.asked_at, tz).date(), s.service_id, s.district_id or 0, s.franchisee_id or 0,
               s.worker_id or 0)
        _add(surveys, key, survey_measures(s))
    return {OrderStat: orders.as_rows(), OrderLead: leads, RefusalStat: refusals.as_rows(), SurveyStat: surveys.as_rows()}


KEYS = {OrderStat: ORDER_KEYS, OrderLead: ("order_id",), RefusalStat: REFUSAL_KEYS, SurveyStat: SURVEY_KEYS}


def refresh(session: Session, *, limit: int = 400) -> int:
    """Recompute up to `limit` marked days (in the caller's transaction); how many.

    The marks are locked first (PostgreSQL: FOR UPDATE SKIP LOCKED), so two runs never take the
    same day; each day's rows are replaced whole (deleted, then upserted: a row another writer
    left is overwritten, never a duplicate key)."""
    days = sorted(session.scalars(select(OrderStatDirty.day).order_by(OrderStatDirty.day).limit(limit)
                                  .with_for_update(skip_locked=True)))
    for start, after in runs(days, timedelta(days=1)):
        end = after - timedelta(days=1)
        rows = compute(session, start, end)
        for model in TABLES:
            session.execute(delete(model).where(model.day >= start, model.day <= end))
            for chunk in chunks(rows[model], CHUNK):
                upsert(session, model.__table__, chunk, KEYS[model])
    for chunk in chunks(days, CHUNK):
        session.execute(delete(OrderStatDirty).where(OrderStatDirty.day.in_(chunk)))
    return len(days)


def roll_up(hl) -> int:
    """The scheduler's job: mark the days of changed orders, then recompute every marked day; how many."""
    return run_roll_up(hl, mark_changed_orders, refresh)


def rebuild(session: Session, start: date, end: date) -> int:
    """Mark start..end and recompute it in this transaction (the demo history, a backfill); how many days."""
    marked = mark_range(session, start, end)
    mark_changed_orders(session)       # past the job's watermark: its next run does not redo them
    while refresh(session):
        pass
    return marked


def _add(tally: Tally, key: tuple, values: dict[str, int]) -> None:
    row = tally.row(key)
    for m in tally.measures:
        row[m] += values[m]
