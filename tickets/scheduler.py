"""The in-process scheduler (APScheduler) with a leader lease in the database.

Every process may start a scheduler; only the one holding the `jobs` lease runs the jobs, so
several web/FastAGI processes never run the SLA watchdog twice at once. Jobs derive their work
from database state, so a lost or repeated run loses or duplicates nothing.
"""
from __future__ import annotations

import logging
import os
import socket
import uuid
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from .actors import SYSTEM
from .agents import end_due_wrap_ups
from .backup import daily_backup
from .complaints import escalate_overdue
from .context import Hotline, Job
from .dispatch import expire_overdue
from .followup import send_reminders, urge_overdue
from .metrics import roll_up
from .order_rollups import roll_up as order_roll_up
from .models import SchedulerLock
from .monitoring import JOB_FAILURES, JOB_RUNS
from .outage import Outage
from .outbound import follow_through
from .queue_log import follow

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)


def _watchdog(hl: Hotline) -> None:
    with hl.session() as s, s.begin():
        expired = expire_overdue(s)
    if expired:
        log.info("watchdog: %d orders not accepted in time went to the next franchisee: %s",
                 len(expired), ", ".join(expired))


def _wrap_up_timer(hl: Hotline) -> None:
    with hl.session() as s, s.begin():
        freed = end_due_wrap_ups(s)
    if freed:
        log.info("wrap-up time over, available again: %s", ", ".join(freed))


def _reminders(hl: Hotline) -> None:
    with hl.session() as s, s.begin():
        reminded = send_reminders(s)
    if reminded:
        log.info("reminders: %d orders reminded of tomorrow's service: %s", len(reminded), ", ".join(reminded))


def _urging(hl: Hotline) -> None:
    with hl.session() as s, s.begin():
        done = urge_overdue(s)
    if done:
        log.info("urging: %s", ", ".join(f"{number} {action}" for number, action in done))
def _complaint_escalation(hl: Hotline) -> None:
    with hl.session() as s, s.begin():
        escalated = escalate_overdue(s, SYSTEM)
    if escalated:
        log.info("complaints past their deadline escalated: %s", ", ".join(map(str, escalated)))


# The wrap-up timer runs every 5 s: an agent is offered calls again 0-5 s after WRAP_UP_SECONDS.
# The daily backup looks every hour whether the newest archive is a day old.
CORE_JOBS = [Job("accept-deadline-watchdog", _watchdog, 30), Job("wrap-up-timer", _wrap_up_timer, 5),
             Job("service-reminders", _reminders, 60), Job("urging", _urging, 60),
             Job("complaint-escalation", _complaint_escalation, 60), Job("call-stats-roll-up", roll_up, 60),
             Job("order-stats-roll-up", order_roll_up, 60),
             Job("outbound-calls", follow_through, 5), Job("daily-backup", daily_backup, 3600)]


def registered_jobs(hl: Hotline) -> list[Job]:
    """Every job the scheduler runs: the core's, the queue_log follower when QUEUE_LOG_PATH is set, and
    those the plugins added. The follower is a job, not a thread of its own, so the leader lease makes
    one process its only reader, and its position is in the database: a new leader goes on where the
    last one stopped."""
    follower = [Job("queue-log-follower", follow, 5)] if hl.settings.queue_log_path else []
    return CORE_JOBS + follower + hl.jobs
# Survey calls and click-to-call callbacks are placed within 5 s of being queued.
def acquire_lease(hl: Hotline, holder: str, name: str = "jobs") -> bool:
    """Take or renew the lease; True when `holder` is the leader now."""
    now = hl.now()
    with hl.session() as s, s.begin():
        got = s.execute(update(SchedulerLock).where(
            SchedulerLock.name == name,
            (SchedulerLock.holder == holder) | (SchedulerLock.expires_at < now))
            .values(holder=holder, expires_at=now + LEASE)).rowcount
        if got:
            return True
        if s.scalar(select(SchedulerLock).where(SchedulerLock.name == name)) is not None:
            return False
    try:
        with hl.session() as s, s.begin():
            s.add(SchedulerLock(name=name, holder=holder, expires_at=now + LEASE))
        return True
    except IntegrityError:
        return False


def release_lease(hl: Hotline, holder: str, name: str = "jobs") -> None:
    with hl.session() as s, s.begin():
        s.execute(delete(SchedulerLock).where(SchedulerLock.name == name, SchedulerLock.holder == holder))


class Scheduler:
    def __init__(self, hl: Hotline) -> None:
        self.hl = hl
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._sched = BackgroundScheduler(timezone="UTC")
        self._database = Outage(log, "scheduler", "no job runs until it is back", service="the database")

    def run_job(self, job: Job) -> None:
        # Taking the lease is the first thing every run asks of the database, so it is where an
        # outage shows: said once for all jobs, not as a traceback per job every few seconds.
        try:
            leader = acquire_lease(self.hl, self.holder)
        except (OperationalError, InterfaceError) as exc:
            self._database.failed(exc)
            return
        self._database.answered()
        if not leader:
            return
        JOB_RUNS.labels(job.name).inc()
        try:
            job.func(self.hl)
        except OperationalError as exc:
            JOB_FAILURES.labels(job.name).inc()
            if exc.connection_invalidated:     # the database went away during the run
                self._database.failed(exc)
            else:                              # e.g. SQLite busy beyond its timeout: an error of this run
                log.exception("job %s failed; it runs again in %ss", job.name, job.seconds)
        except Exception:  # noqa: BLE001 - one failing run must not stop the schedule
            JOB_FAILURES.labels(job.name).inc()
            log.exception("job %s failed; it runs again in %ss", job.name, job.seconds)

    def start(self) -> None:
        jobs = registered_jobs(self.hl)
        for job in jobs:
            self._sched.add_job(self.run_job, "interval", args=[job], seconds=job.seconds, id=job.name,
                                max_instances=1, coalesce=True)
        self._sched.start()
        log.info("scheduler started (%d jobs, lease holder %s)", len(jobs), self.holder)

    def stop(self) -> None:
        self._sched.shutdown(wait=True)
        release_lease(self.hl, self.holder)

    def describe(self) -> list[str]:
        return [f"scheduler: {', '.join(j.name for j in registered_jobs(self.hl))}"]
