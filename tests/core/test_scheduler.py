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
        assert order.status == "dispatched"
        assert order.franchisee.name == "沙依巴克洁家服务中心"


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


def test_the_wrap_up_timer_job_frees_an_agent_in_wrap_up_when_the_time_is_over(hl, clock):
    from sqlalchemy import select

    from tickets.agents import WRAP_UP, call_ended
    from tickets.models import Call, User
    with hl.session() as s, s.begin():
        user = s.scalar(select(User).where(User.username == "agent1"))
        user.presence = "on_call"
        call = Call(external_id="CA-wrap-up-timer", transport="twilio", caller="+8613800138000",
                    started_at=hl.now(), ivr_path=[])
        s.add(call)
        s.flush()
        call_ended(s, user, call)
        assert user.presence == WRAP_UP
    timer = next(j for j in CORE_JOBS if j.name == "wrap-up-timer")
    sched = Scheduler(hl)
    sched.run_job(timer)

    def presence():
        with hl.session() as s:
            return s.scalar(select(User.presence).where(User.username == "agent1"))
    assert presence() == WRAP_UP
    clock.advance(seconds=hl.settings.wrap_up_seconds)
    sched.run_job(timer)
    sched.run_job(timer)
    assert presence() == "available"
