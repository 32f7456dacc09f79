"""The scheduler: one leader at a time, and the SLA watchdog is safe to run twice."""
from __future__ import annotations

from tests.core.helpers import book
from tickets.scheduler import CORE_JOBS, Scheduler, acquire_lease, release_lease


def test_only_one_process_holds_the_jobs_lease(hl):
    assert acquire_lease(hl, "host-a:1")
    assert not acquire_lease(hl, "host-b:2")
    assert acquire_lease(hl, "host-a:1")          # renewal by the holder


def test_expired_lease_passes_to_another_process(hl, clock):
    assert acquire_lease(hl, "host-a:1")
    clock.advance(minutes=2)                      # host-a died and stopped renewing
    assert acquire_lease(hl, "host-b:2")
    assert not acquire_lease(hl, "host-a:1")


def test_released_lease_is_free(hl):
    assert acquire_lease(hl, "host-a:1")
    release_lease(hl, "host-a:1")
    assert acquire_lease(hl, "host-b:2")


def test_watchdog_redispatches_late_orders_once_even_when_run_twice(hl, clock):
    with hl.session() as s, s.begin():
        number = book(s, hl).number
    clock.advance(minutes=hl.settings.accept_deadline_minutes + 1)
    sched = Scheduler(hl)
    watchdog = next(j for j in CORE_JOBS if j.name == "accept-deadline-watchdog")
    sched.run_job(watchdog)
    sched.run_job(watchdog)                       # a double run changes nothing more
    from tickets.orders import get
    with hl.session() as s:
        order = get(s, number)
        assert [e.action for e in order.events].count("expire") == 1
        assert order.status == "dispatched" and order.franchisee.name == "沙依巴克洁家服务中心"


def test_follower_does_not_run_jobs(hl, clock):
    with hl.session() as s, s.begin():
        number = book(s, hl).number
    clock.advance(minutes=hl.settings.accept_deadline_minutes + 1)
    assert acquire_lease(hl, "someone-else")      # another process leads now
    Scheduler(hl).run_job(CORE_JOBS[0])
    from tickets.orders import get
    with hl.session() as s:
        assert get(s, number).status == "dispatched"
        assert "expire" not in [e.action for e in get(s, number).events]
