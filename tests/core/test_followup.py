"""Follow-through of work orders: day-before reminders, urging (催办) and escalation, the overdue list."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.core.helpers import AGENT, DISPATCHER, order_in
from tickets import orders
from tickets.actors import Actor
from tickets.followup import overdue_orders, send_reminders, urge_overdue
from tickets.models import District, SmsMessage, WorkOrderEvent
from tickets.scheduler import CORE_JOBS, Scheduler, expire_overdue
from tickets.workflow import transition

# The fixed clock is Monday 10:00 local; REMINDER_HOUR is 18: the reminders of Tuesday's orders
# go out 8 hours later (clock.advance(hours=8)).


def _job(name):
    return next(j for j in CORE_JOBS if j.name == name)


def _sms(hl, kind):
    with hl.session() as s:
        return [(m.phone, m.body) for m in s.scalars(select(SmsMessage).where(SmsMessage.kind == kind)
                                                      .order_by(SmsMessage.id))]


def _events(hl, number, action):
    with hl.session() as s:
        return [e.data for e in orders.get(s, number).events if e.action == action]


def _accepted_tomorrow(hl, **kw):
    with hl.session() as s, s.begin():
        o = order_in(s, hl, "accepted", days=1, **kw)
        return o.number, o.phone, o.franchisee.contact_phone, o.worker.phone if o.worker else None


def test_reminder_goes_to_customer_franchisee_and_worker_from_the_reminder_hour_of_the_day_before(hl, clock):
    number, customer, franchisee, worker = _accepted_tomorrow(hl)
    with hl.session() as s, s.begin():
        assert send_reminders(s) == []
    clock.advance(hours=8)
    with hl.session() as s, s.begin():
        assert send_reminders(s) == [number]
    sent = _sms(hl, "reminder")
    assert sorted(p for p, _ in sent) == sorted([customer, franchisee, worker])
    to_customer = next(body for p, body in sent if p == customer)
    assert number in to_customer and "天山家政服务有限公司" in to_customer and "改约请致电热线" in to_customer


def test_reminder_job_run_twice_reminds_once(hl, clock):
    number, *_ = _accepted_tomorrow(hl)
    clock.advance(hours=8)
    sched = Scheduler(hl)
    sched.run_job(_job("service-reminders"))
    sched.run_job(_job("service-reminders"))
    assert len(_events(hl, number, "remind")) == 1
    assert len(_sms(hl, "reminder")) == 3


def test_order_rescheduled_after_its_reminder_is_reminded_again_for_the_new_day(hl, clock):
    number, *_ = _accepted_tomorrow(hl)
    clock.advance(hours=8)
    with hl.session() as s, s.begin():
        send_reminders(s)
        order = orders.get(s, number)
        transition(s, order, "reschedule", AGENT, when=order.scheduled_start + timedelta(days=2))
    with hl.session() as s, s.begin():
        assert send_reminders(s) == []            # its new day is not tomorrow
    clock.advance(days=2)
    with hl.session() as s, s.begin():
        assert send_reminders(s) == [number]
    assert len(_events(hl, number, "remind")) == 2


def test_cancelled_order_gets_no_reminder(hl, clock):
    number, *_ = _accepted_tomorrow(hl)
    with hl.session() as s, s.begin():
        transition(s, orders.get(s, number), "cancel", AGENT, reason="plans changed")
    clock.advance(hours=8)
    with hl.session() as s, s.begin():
        assert send_reminders(s) == []
    assert _sms(hl, "reminder") == []


def test_no_reminder_is_sent_in_quiet_hours_it_waits_for_the_morning(hl, clock):
    with hl.session() as s, s.begin():
        number = order_in(s, hl, "accepted", days=1).number
    clock.advance(hours=12)                       # 22:00 local: quiet
    with hl.session() as s, s.begin():
        assert send_reminders(s) == []
    clock.advance(hours=10)                       # 08:00 local, the service at 10:00
    with hl.session() as s, s.begin():
        assert send_reminders(s) == [number]


def test_order_without_a_worker_reminds_customer_and_franchisee(hl, clock):
    number, customer, franchisee, _ = _accepted_tomorrow(hl, worker=False)
    clock.advance(hours=8)
    with hl.session() as s, s.begin():
        send_reminders(s)
    assert sorted(p for p, _ in _sms(hl, "reminder")) == sorted([customer, franchisee])


def _to_start_deadline(hl, clock):
    clock.advance(days=1, minutes=hl.settings.urge_start_grace_minutes)


def _urge(hl):
    with hl.session() as s, s.begin():
        return urge_overdue(s)


def test_accepted_order_not_started_by_its_service_time_is_urged_by_sms_to_its_franchisee(hl, clock):
    number, _, franchisee, _ = _accepted_tomorrow(hl)
    clock.advance(days=1, minutes=hl.settings.urge_start_grace_minutes - 1)
    assert _urge(hl) == []
    clock.advance(minutes=1)
    assert _urge(hl) == [(number, "urge")]
    [(phone, body)] = _sms(hl, "urging")
    assert phone == franchisee and number in body and "未开始" in body
    [data] = _events(hl, number, "urge")
    assert data["overdue"] == "not_started" and data["urge_count"] == 1
    with hl.session() as s:
        assert orders.get(s, number).urge_count == 1


def test_urging_repeats_every_interval_then_escalates_after_the_configured_count(new_hotline, clock):
    hl = new_hotline(URGE_EVERY_MINUTES="30", ESCALATE_AFTER_URGINGS="2", ESCALATE_AFTER_MINUTES="600")
    number, *_ = _accepted_tomorrow(hl)
    _to_start_deadline(hl, clock)
    assert _urge(hl) == [(number, "urge")]
    clock.advance(minutes=29)
    assert _urge(hl) == []
    clock.advance(minutes=1)
    assert _urge(hl) == [(number, "urge")]
    clock.advance(minutes=30)
    assert _urge(hl) == [(number, "escalate")]
    clock.advance(minutes=30)
    assert _urge(hl) == []                        # escalated: the district manager has it now
    assert len(_sms(hl, "urging")) == 2 and len(_sms(hl, "escalation")) == 1
    with hl.session() as s:
        assert orders.get(s, number).escalated_at == clock.now - timedelta(minutes=30)


def test_order_late_past_the_second_deadline_escalates_whatever_the_count(new_hotline, clock):
    hl = new_hotline(URGE_EVERY_MINUTES="30", ESCALATE_AFTER_URGINGS="5", ESCALATE_AFTER_MINUTES="60")
    number, *_ = _accepted_tomorrow(hl)
    _to_start_deadline(hl, clock)
    assert _urge(hl) == [(number, "urge")]
    clock.advance(minutes=30)
    assert _urge(hl) == [(number, "urge")]
    clock.advance(minutes=30)
    assert _urge(hl) == [(number, "escalate")]
    [data] = _events(hl, number, "escalate")
    assert data["urge_count"] == 2 and data["overdue"] == "not_started"


def test_order_late_overnight_is_urged_in_the_morning_before_it_escalates(hl, clock):
    with hl.session() as s, s.begin():
        number = order_in(s, hl, "accepted", days=1).number
    clock.advance(days=1, hours=12)               # Tuesday 22:00, twelve hours late, quiet hours
    assert _urge(hl) == []
    clock.advance(hours=10)                       # 08:00
    assert _urge(hl) == [(number, "urge")]
    clock.advance(minutes=hl.settings.urge_every_minutes - 1)
    assert _urge(hl) == []                        # the holder has an interval to act
    clock.advance(minutes=1)
    assert _urge(hl) == [(number, "escalate")]


def test_urging_job_run_twice_urges_once(hl, clock):
    number, *_ = _accepted_tomorrow(hl)
    _to_start_deadline(hl, clock)
    sched = Scheduler(hl)
    sched.run_job(_job("urging"))
    sched.run_job(_job("urging"))
    assert len(_events(hl, number, "urge")) == 1 and len(_sms(hl, "urging")) == 1


def test_no_urging_in_quiet_hours(hl, clock):
    with hl.session() as s, s.begin():
        o = order_in(s, hl, "accepted", days=1)
        o.scheduled_start = clock.now + timedelta(hours=10, minutes=30)    # 20:30 local
    clock.advance(hours=11)                       # 21:00 local, 15 minutes late: quiet
    assert _urge(hl) == []
    clock.advance(hours=11)                       # 08:00
    assert [a for _, a in _urge(hl)] == ["urge"]


def test_order_missing_its_accept_deadline_goes_to_the_next_franchisee_who_is_urged_to_accept(hl, clock):
    with hl.session() as s, s.begin():
        number = order_in(s, hl, "dispatched").number
    clock.advance(minutes=hl.settings.accept_deadline_minutes + 1)
    with hl.session() as s, s.begin():
        assert expire_overdue(s) == [number]      # the watchdog's rule is kept
        [late] = overdue_orders(s)
        assert (late.order.number, late.reason) == (number, "not_accepted")
        assert late.since == orders.get(s, number).events[-2].created_at
        next_holder = late.order.franchisee.contact_phone
    assert _urge(hl) == [(number, "urge")]
    [(phone, body)] = _sms(hl, "urging")
    assert phone == next_holder and "尚未接单" in body


def test_order_accepted_after_missing_a_deadline_and_then_recalled_waits_afresh(hl, clock):
    with hl.session() as s, s.begin():
        number = order_in(s, hl, "dispatched").number
    clock.advance(minutes=hl.settings.accept_deadline_minutes + 1)
    with hl.session() as s, s.begin():
        expire_overdue(s)
        order = orders.get(s, number)
        transition(s, order, "accept", Actor(role="franchisee", label="fr", franchisee_id=order.franchisee_id))
        transition(s, order, "recall", DISPATCHER, reason="customer asked for another")
    with hl.session() as s:
        assert orders.get(s, number).status == "confirmed"
        assert overdue_orders(s) == []


def test_order_in_service_past_its_expected_end_is_overdue_not_completed(hl, clock):
    with hl.session() as s, s.begin():
        o = order_in(s, hl, "in_service", days=1)
        number, hours = o.number, o.quantity        # BJ is sold by the hour
    clock.advance(days=1, hours=hours)
    with hl.session() as s:
        [late] = overdue_orders(s)
        assert (late.order.number, late.reason) == (number, "not_completed")


def test_overdue_list_of_a_district_manager_holds_only_their_districts(hl, clock):
    number, *_ = _accepted_tomorrow(hl)
    _to_start_deadline(hl, clock)
    with hl.session() as s:
        order = orders.get(s, number)
        other = s.scalar(select(District.id).where(District.id != order.district_id).limit(1))
        mine = Actor(role="district_manager", label="m", district_ids=frozenset({order.district_id}))
        theirs = Actor(role="district_manager", label="m", district_ids=frozenset({other}))
        assert [late.order.number for late in overdue_orders(s, mine)] == [number]
        assert overdue_orders(s, theirs) == []
        assert [late.order.number for late in overdue_orders(s, DISPATCHER)] == [number]


def test_two_job_runners_at_once_on_postgresql_urge_and_remind_once(pg_hl, clock):
    hl, rounds = pg_hl, 4
    numbers = []
    for _ in range(rounds):
        with hl.session() as s, s.begin():
            numbers.append(order_in(s, hl, "accepted", days=1).number)
    clock.advance(hours=8)

    errors = []

    def both(job):
        barrier = threading.Barrier(2, timeout=30)

        def run():
            barrier.wait()
            try:
                with hl.session() as s, s.begin():
                    job(s)
            except Exception as exc:  # noqa: BLE001 - a runner that fails instead of standing back fails the test
                errors.append(exc)
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

    both(send_reminders)
    clock.advance(hours=16, minutes=hl.settings.urge_start_grace_minutes)
    both(urge_overdue)
    assert errors == []
    with hl.session() as s:
        for action in ("remind", "urge"):
            counts = s.execute(select(WorkOrderEvent.order_id, func.count()).where(WorkOrderEvent.action == action)
                               .group_by(WorkOrderEvent.order_id)).all()
            assert len(counts) == rounds and {n for _, n in counts} == {1}, action
        assert s.scalar(select(func.count()).select_from(SmsMessage).where(SmsMessage.kind == "urging")) == rounds


def test_follow_through_settings_that_are_unusable_name_the_variable_and_an_example():
    from tickets.config import ConfigError, load_settings
    for env, says in (({"QUIET_HOURS": "9pm-8am"}, "QUIET_HOURS='9pm-8am' is not HH:MM-HH:MM, e.g. 22:00-07:30"),
                      ({"REMINDER_HOUR": "24"}, "REMINDER_HOUR='24' must be an hour from 0 to 23"),
                      ({"URGE_EVERY_MINUTES": "0"}, "URGE_EVERY_MINUTES='0' must be from 1 to 1440")):
        with pytest.raises(ConfigError) as refused:
            load_settings(env)
        assert says in str(refused.value)


def test_empty_quiet_hours_let_reminders_go_at_night(new_hotline, clock):
    hl = new_hotline(QUIET_HOURS="")
    with hl.session() as s, s.begin():
        number = order_in(s, hl, "accepted", days=1).number
    clock.advance(hours=13)                       # 23:00 local
    with hl.session() as s, s.begin():
        assert send_reminders(s) == [number]


# ---------------------------------------------------------------- escalation reaches the district manager by SMS

MANAGER1 = "+8613999300001"       # the demo's manager of 天山区 and 水磨沟区
SUPERVISOR1 = "+8613999300002"


def _escalated(hl, clock):
    """An accepted order of 天山区 left to escalate (two urgings, then the interval)."""
    number, *_ = _accepted_tomorrow(hl)
    _to_start_deadline(hl, clock)
    for _ in range(hl.settings.escalate_after_urgings + 1):
        _urge(hl)
        clock.advance(minutes=hl.settings.urge_every_minutes)
    return number


def _set_user(hl, username, **fields):
    from tickets.models import User
    with hl.session() as s, s.begin():
        user = s.scalar(select(User).where(User.username == username))
        for k, v in fields.items():
            setattr(user, k, v)


def test_an_escalated_order_texts_the_district_manager_once_and_its_history_says_so(hl, clock):
    number = _escalated(hl, clock)
    [data] = _events(hl, number, "escalate")
    assert data["told"] == ["manager1"]
    [(phone, body)] = _sms(hl, "manager_escalation")
    assert phone == MANAGER1
    assert body.startswith(f"超时升级：天山区工单{number}已过服务时间仍未开始")
    sched = Scheduler(hl)
    for _ in range(3):
        clock.advance(minutes=hl.settings.urge_every_minutes)
        sched.run_job(_job("urging"))
    assert len(_sms(hl, "manager_escalation")) == 1 and len(_events(hl, number, "escalate")) == 1


def test_when_no_manager_of_the_district_has_a_phone_the_supervisors_are_told(hl, clock):
    _set_user(hl, "manager1", phone="")
    number = _escalated(hl, clock)
    assert _events(hl, number, "escalate")[0]["told"] == ["supervisor1"]
    assert [p for p, _ in _sms(hl, "manager_escalation")] == [SUPERVISOR1]


def test_an_inactive_manager_is_not_told(hl, clock):
    _set_user(hl, "manager1", active=False)
    number = _escalated(hl, clock)
    assert _events(hl, number, "escalate")[0]["told"] == ["supervisor1"]


def test_an_escalation_nobody_has_a_phone_for_is_recorded_and_texts_nobody(hl, clock):
    _set_user(hl, "manager1", phone="")
    _set_user(hl, "supervisor1", phone="")
    number = _escalated(hl, clock)
    assert _events(hl, number, "escalate")[0]["told"] == []
    assert _sms(hl, "manager_escalation") == []


@pytest.mark.parametrize("zone, utc_now, quiet, end", [
    # Urumqi (UTC+6, no DST): 21:30 local, quiet until 08:00 the next morning
    ("Asia/Urumqi", datetime(2026, 11, 23, 15, 30), True, datetime(2026, 11, 24, 2, 0)),
    # Urumqi 00:30 local, after midnight: until 08:00 the same day
    ("Asia/Urumqi", datetime(2026, 11, 23, 18, 30), True, datetime(2026, 11, 24, 2, 0)),
    ("Asia/Urumqi", datetime(2026, 11, 24, 2, 0), False, None),          # 08:00: the window has ended
    ("Asia/Shanghai", datetime(2026, 11, 23, 12, 59), False, None),      # 20:59
    ("Asia/Shanghai", datetime(2026, 11, 23, 13, 0), True, datetime(2026, 11, 24, 0, 0)),   # 21:00
    ("Asia/Shanghai", datetime(2026, 11, 23, 23, 59), True, datetime(2026, 11, 24, 0, 0)),  # 07:59
])
def test_quiet_hours_span_midnight_in_local_time_and_end_at_their_configured_hour(zone, utc_now, quiet, end):
    from tickets.config import load_settings
    from tickets.timeutil import in_quiet_hours, quiet_hours_end
    settings = load_settings({"TIMEZONE": zone, "QUIET_HOURS": "21:00-08:00"})
    assert in_quiet_hours(settings, utc_now) is quiet
    assert quiet_hours_end(settings, utc_now) == end
