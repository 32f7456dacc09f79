"""kill -9 under booking load: a web worker, a FastAGI process, the scheduler leader."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from sqlalchemy import create_engine, select

from tickets.models import SchedulerLock
from tickets.scheduler import LEASE

from .load import Ledger, check_ledger, run_load

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.faults]


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds}s")
        time.sleep(0.1)


def test_kill_9_of_a_web_worker_and_a_fastagi_process_loses_and_doubles_no_booking(cluster):
    ledger = Ledger()
    load = threading.Thread(target=run_load, args=(cluster, 25), kwargs={"ledger": ledger})
    load.start()
    wait_for(lambda: ledger.acknowledged >= 10, 30, "10 acknowledged bookings")
    os.kill(cluster.web_workers()[0], signal.SIGKILL)
    killed_agi = cluster.fastagi_pid(cluster.agi_ports[0])
    os.kill(killed_agi, signal.SIGKILL)
    at_kill = ledger.acknowledged
    load.join(90)
    assert not load.is_alive()
    figures = check_ledger(cluster.postgres.url, ledger)
    print(f"FAULT kill9 {' '.join(f'{k}={v}' for k, v in figures.items())} hung={len(ledger.hung)}")
    assert figures["lost"] == 0 and figures["duplicated"] == 0
    assert ledger.hung == []                      # every caller of the killed process was answered or fell back
    assert ledger.agi_fell_back                   # ... and some did fall back to the dialplan's failure path
    assert ledger.acknowledged > at_kill          # the shape kept booking after the kills


def lease(database_url: str) -> SchedulerLock | None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(select(SchedulerLock.holder, SchedulerLock.expires_at)
                               .where(SchedulerLock.name == "jobs")).first()
    finally:
        engine.dispose()
    return row


def test_killed_scheduler_leader_is_replaced_after_its_lease_expires_never_before(cluster):
    wait_for(lambda: lease(cluster.postgres.url) is not None, 30, "a scheduler leader")
    holder, expires = lease(cluster.postgres.url)
    os.kill(int(holder.split(":")[1]), signal.SIGKILL)
    wait_for(lambda: lease(cluster.postgres.url).holder != holder, LEASE.total_seconds() + 30, "a new leader")
    new_holder, new_expires = lease(cluster.postgres.url)
    # The lease's own times: the new leader took it (its expiry minus LEASE) after the killed
    # leader's last renewal had expired, so no job ran in two processes at once, and within one
    # run of the most frequent job (5 s) after that.
    expires_now = (lambda row: row.expires_at)(lease(cluster.postgres.url))
    taken = new_expires - LEASE
    print(f"FAULT scheduler old={holder} new={new_holder} taken_after_expiry_s={(taken - expires).total_seconds():.1f}")
    assert taken >= expires
    assert (taken - expires).total_seconds() <= 5 + 1
    assert expires_now >= new_expires
