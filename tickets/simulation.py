"""`hotline simulate-day`: every registered scheduler job run over one day on a fixed clock.

The clock steps through the local day (00:00 to 24:00) at a fixed interval; at each step every
job the scheduler has registered (the core's and the plugins': reminders, urging, the accept
watchdog, the SMS outbox, and whatever else is installed) runs once, as the leader would run it,
and what the step did is printed: the automatic events of orders (reminders, urgings,
escalations, redispatches), the audit trail's automatic entries, and every SMS queued, with its
recipient. The jobs write to the database as they would on that day; SMS go to the console
provider only (the command sets it), so nothing leaves the machine.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import Callable

from sqlalchemy import func, select

from .context import Hotline
from .models import AuditLog, SmsMessage, WorkOrder, WorkOrderEvent
from .scheduler import acquire_lease, registered_jobs, release_lease
from .timeutil import to_local, to_utc

log = logging.getLogger(__name__)

HOLDER = "simulate-day"


def _last_ids(hl: Hotline) -> dict[type, int]:
    with hl.session() as s:
        return {model: s.scalar(select(func.coalesce(func.max(model.id), 0)))
                for model in (WorkOrderEvent, AuditLog, SmsMessage)}


def _event_line(ev: WorkOrderEvent, number: str) -> str:
    data = ev.data or {}
    shown = {k: data[k] for k in ("overdue", "urge_count", "franchisee", "worker", "reason") if data.get(k)}
    details = " ".join(f"{k}={v}" for k, v in shown.items())
    return f"order {number} {ev.action}" + (f" ({details})" if details else "")


def _news(hl: Hotline, since: dict[type, int]) -> list[str]:
    """What happened after the ids in `since`: automatic order events, audit entries, SMS."""
    lines = []
    with hl.session() as s:
        for ev, number in s.execute(select(WorkOrderEvent, WorkOrder.number).join(WorkOrder)
                                    .where(WorkOrderEvent.id > since[WorkOrderEvent],
                                           WorkOrderEvent.actor_role == "system")
                                    .order_by(WorkOrderEvent.id)):
            lines.append(_event_line(ev, number))
        for row in s.scalars(select(AuditLog).where(AuditLog.id > since[AuditLog], AuditLog.actor_user_id.is_(None))
                             .order_by(AuditLog.id)):
            lines.append(f"{row.entity} {row.entity_id} {row.action}")
        for sms in s.scalars(select(SmsMessage).where(SmsMessage.id > since[SmsMessage], SmsMessage.direction == "out")
                             .order_by(SmsMessage.id)):
            lines.append(f"SMS {sms.kind or 'message'} -> {sms.phone} [{sms.status}]: {sms.body}")
    return lines


def simulate_day(hl: Hotline, day: date, step: timedelta, write: Callable[[str], None] = print) -> int:
    """Run every registered job at each `step` of the local `day`, writing what each step did;
    the number of lines of news. Refused (RuntimeError) while a scheduler holds the jobs lease."""
    if not acquire_lease(hl, HOLDER):
        raise RuntimeError("a running scheduler holds the jobs lease: stop `hotline run` (or wait a minute) "
                           "before simulating a day on this database")
    jobs = registered_jobs(hl)
    saved = hl.clock
    start = to_utc(datetime.combine(day, time()), hl.tz)
    end = to_utc(datetime.combine(day + timedelta(days=1), time()), hl.tz)
    write(f"simulated day {day.isoformat()} ({hl.tz.key}), a step every {int(step.total_seconds() // 60)} min; "
          f"jobs: {', '.join(job.name for job in jobs)}")
    count = 0
    try:
        at = start
        while at < end:
            hl.clock = lambda at=at: at
            since = _last_ids(hl)
            for job in jobs:
                try:
                    job.func(hl)
                except Exception:  # noqa: BLE001 - as in the scheduler: one failing job does not stop the day
                    log.exception("job %s failed at %s", job.name, at)
            stamp = to_local(at, hl.tz).strftime("%H:%M")
            for line in _news(hl, since):
                write(f"{stamp}  {line}")
                count += 1
            at += step
    finally:
        hl.clock = saved
        release_lease(hl, HOLDER)
    write(f"end of {day.isoformat()}: {count} things done")
    return count
