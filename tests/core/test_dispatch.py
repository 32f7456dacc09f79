"""Dispatch by district: who gets an order, and what happens when nobody can take it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.core.helpers import AGENT, DISPATCHER, book, franchisee_actor, franchisee_named, order_in
from tickets import dispatch
from tickets.actors import SYSTEM
from tickets.errors import ValidationError
from tickets.models import District, Worker
from tickets.workflow import transition


def district(session, name):
    return session.scalar(select(District).where(District.name_zh == name))


@pytest.mark.parametrize("address, expected", [
    ("天山区解放南路88号", "天山区"),
    ("友好北路6号院", "沙依巴克区"),        # a road alias
    ("米泉古牧地东路3号", "米东区"),         # old name + neighbourhood, same district
    ("乌鲁木齐县水西沟镇", "乌鲁木齐县"),
    ("经济技术开发区 玄武湖路", "头屯河区"),
])
def test_address_resolves_to_its_district(session, address, expected):
    assert dispatch.resolve_district(session, address).district.name_zh == expected


def test_address_naming_two_districts_equally_is_ambiguous(session):
    match = dispatch.resolve_district(session, "南湖路与友好路交叉口")
    assert match.district is None
    assert match.ambiguous
    assert {d.name_zh for d in match.candidates} == {"水磨沟区", "沙依巴克区"}


def test_address_matching_no_district_flags_the_order_for_an_agent(session, hl):
    order = book(session, hl, address="火星路1号")
    assert order.status == "new"
    assert order.needs_agent
    assert "no district" in order.flag_reason
    assert order.franchisee_id is None


def test_order_goes_to_the_districts_first_priority_franchisee(session, hl):
    order = book(session, hl)
    assert order.status == "dispatched"
    assert order.district.name_zh == "天山区"
    assert order.franchisee.name == "天山家政服务有限公司"
    assert order.accept_deadline == hl.now() + timedelta(minutes=hl.settings.accept_deadline_minutes)
    assert "district priority 1" in order.events[-1].data["reasons"]


def test_only_franchisees_offering_the_service_are_candidates(session, hl):
    # 新市区快修 (priority 1 in 新市区) does no household work; 水磨沟安居 (priority 2) does.
    order = book(session, hl, phone="13700137000", service="XSG")
    assert order.district.name_zh == "新市区"
    assert order.franchisee.name == "水磨沟安居家政"


def test_refused_order_goes_to_next_franchisee_in_district_never_back(session, hl):
    order = book(session, hl)
    first = order.franchisee
    dispatch.release_and_redispatch(session, order, "reject", franchisee_actor(order), reason="no staff that day")
    assert order.status == "dispatched"
    assert order.franchisee.name == "沙依巴克洁家服务中心"
    second = order.franchisee
    dispatch.release_and_redispatch(session, order, "reject", franchisee_actor(order), reason="too far")
    # Both candidates of 天山区 refused: the order waits, unassigned, and is never dropped.
    assert order.status == "confirmed"
    assert order.franchisee_id is None
    assert "refused" in order.unassigned_reason
    assert order in dispatch.unassigned_queue(session)
    ranked, _ = dispatch.candidates(session, order)
    assert first.id not in {c.franchisee.id for c in ranked}
    assert second.id not in {c.franchisee.id for c in ranked}


def test_full_franchisee_is_skipped_for_that_day(session, hl):
    fr = franchisee_named(session, "天山家政服务有限公司")
    fr.daily_capacity = 1
    book(session, hl)                         # takes the only slot on that day
    order = book(session, hl)
    assert order.franchisee.name == "沙依巴克洁家服务中心"
    other_day = book(session, hl, days=6)
    assert other_day.franchisee.name == "天山家政服务有限公司"


def test_suspended_franchisee_gets_nothing(session, hl):
    franchisee_named(session, "天山家政服务有限公司").status = "suspended"
    assert book(session, hl).franchisee.name == "沙依巴克洁家服务中心"


def test_equal_priority_prefers_rating_then_load(session, hl):
    # 达坂城区: 头屯河利民 (priority 1, rating 4.00) and ... only one priority-1; make a tie.
    a = franchisee_named(session, "天山家政服务有限公司")
    b = franchisee_named(session, "沙依巴克洁家服务中心")
    for link in b.districts:
        if link.district.name_zh == "天山区":
            link.priority = 1
    a.rating_x100, b.rating_x100 = 450, 470
    assert book(session, hl).franchisee.name == b.name
    b.rating_x100 = 450
    # equal rating: b now has one open order, a has none -> a
    assert book(session, hl).franchisee.name == a.name


def test_no_franchisee_for_service_in_district_waits_unassigned(session, hl):
    # Nobody does office moving in 达坂城 except 头屯河利民 and 米东县域 (both "*"); suspend both.
    franchisee_named(session, "头屯河利民服务社").status = "suspended"
    franchisee_named(session, "米东县域便民服务").status = "suspended"
    order = book(session, hl, address="达坂城区盐湖路1号", service="GSBJJ")
    assert order.status == "confirmed"
    assert "suspended" in order.unassigned_reason


def test_an_order_nobody_can_take_records_why_once_and_a_later_batch_adds_nothing(session, hl):
    franchisee_named(session, "头屯河利民服务社").status = "suspended"
    franchisee_named(session, "米东县域便民服务").status = "suspended"
    order = book(session, hl, address="达坂城区盐湖路1号", service="GSBJJ")
    [ev] = [e for e in order.events if e.action == "unassigned"]
    assert (ev.actor_role, ev.to_status) == ("system", "confirmed")
    assert "suspended" in ev.data["reason"]
    dispatch.batch_dispatch(session, [order], DISPATCHER)
    assert [e.action for e in order.events].count("unassigned") == 1


def test_accept_deadline_missed_goes_to_next_candidate(session, hl, clock):
    order = book(session, hl)
    first = order.franchisee_id
    clock.advance(minutes=hl.settings.accept_deadline_minutes + 1)
    assert dispatch.expire_overdue(session) == [order.number]
    assert order.status == "dispatched"
    assert order.franchisee_id != first
    assert [e.action for e in order.events][-2:] == ["expire", "dispatch"]


def test_manual_dispatch_to_a_non_candidate_is_refused_with_the_candidates(session, hl):
    order = book(session, hl, auto_dispatch=False)
    outsider = franchisee_named(session, "米东县域便民服务")
    with pytest.raises(ValidationError, match="candidates: 天山家政服务有限公司"):
        dispatch.dispatch(session, order, DISPATCHER, franchisee=outsider)
    assert order.status == "confirmed"


def test_batch_dispatch_takes_urgent_orders_first(session, hl):
    fr = franchisee_named(session, "天山家政服务有限公司")
    fr.daily_capacity = 1
    routine = book(session, hl, auto_dispatch=False)
    urgent = book(session, hl, auto_dispatch=False, urgent=True)
    result = dispatch.batch_dispatch(session, [routine, urgent], DISPATCHER)
    assert result[urgent.number] == "天山家政服务有限公司"
    assert result[routine.number] == "沙依巴克洁家服务中心"


def test_worker_with_expired_health_certificate_can_never_be_assigned(session, hl):
    order = order_in(session, hl, "accepted", worker=False)
    expired = session.scalar(select(Worker).where(Worker.name == "阿依古丽"))
    assert expired.franchisee_id == order.franchisee_id
    assert expired.health_cert_expires < hl.now().date()
    with pytest.raises(ValidationError, match="健康证.*expired"):
        transition(session, order, "assign_worker", franchisee_actor(order), worker=expired)
    assert order.worker_id is None


def test_certificate_expiring_before_the_service_day_blocks_too(session, hl):
    order = order_in(session, hl, "accepted", worker=False)
    w = session.scalar(select(Worker).where(Worker.name == "李桂兰"))
    w.health_cert_expires = order.scheduled_start.date() - timedelta(days=1)
    with pytest.raises(ValidationError, match="before the service day"):
        transition(session, order, "assign_worker", franchisee_actor(order), worker=w)


def test_a_worker_whose_skills_do_not_cover_the_service_cannot_be_assigned(session, hl):
    order = order_in(session, hl, "accepted", worker=False)       # BJ, home cleaning
    electrician = session.scalar(select(Worker).where(Worker.name == "马建国"))   # repair only, valid certificate
    assert electrician.franchisee_id == order.franchisee_id
    with pytest.raises(ValidationError, match="马建国 cannot be assigned: their skills do not cover 家庭保洁"):
        transition(session, order, "assign_worker", franchisee_actor(order), worker=electrician)
    assert order.worker_id is None


def test_only_workers_with_the_services_skill_are_offered(session, hl):
    from tickets.franchisees import workers_for
    order = order_in(session, hl, "accepted", worker=False)
    names = [w.name for w in workers_for(session, order)]
    assert "马建国" not in names and "李桂兰" in names


def test_emergency_service_is_urgent(session, hl):
    assert book(session, hl, service="SD", days=1).urgent is True
    assert book(session, hl, service="BJ").urgent is False


def test_alias_added_by_an_admin_is_used_at_once(session, hl):
    from tickets.actors import Actor
    from tickets.catalog import add_alias
    assert dispatch.resolve_district(session, "雪莲山小区").district is None
    add_alias(session, Actor(role="admin", label="admin"), district(session, "米东区"), "雪莲山")
    assert dispatch.resolve_district(session, "雪莲山小区").district.name_zh == "米东区"


def test_open_orders_break_a_tie_of_priority_and_rating(session, hl):
    order = book(session, hl)
    everyone, _ = dispatch.candidates(session, order)
    b = franchisee_named(session, "沙依巴克洁家服务中心")
    for link in b.districts:
        if link.district.name_zh == "天山区":
            link.priority = 1
    b.rating_x100 = everyone[0].franchisee.rating_x100
    tied, _ = dispatch.candidates(session, order)
    assert {c.franchisee.name for c in tied[:2]} == {"天山家政服务有限公司", b.name}
    assert tied[0].load <= tied[1].load
    assert f"open orders {tied[0].load}" in tied[0].reasons


# ---------------------------------------------------------------- accept deadlines in working hours

def _local(hl, order_time):
    from tickets.timeutil import to_local
    return to_local(order_time, hl.tz).strftime("%m-%d %H:%M")


def test_an_order_dispatched_at_night_is_due_30_working_minutes_after_the_next_opening(session, hl, clock):
    clock.advance(hours=13, minutes=38)                  # Monday 23:38 local; BUSINESS_HOURS 08:00-20:00
    order = book(session, hl)
    assert order.status == "dispatched"
    assert _local(hl, order.accept_deadline) == "11-24 08:30"


def test_a_deadline_that_reaches_the_closing_time_goes_on_at_the_next_opening(session, hl, clock):
    clock.advance(hours=9, minutes=50)                   # Monday 19:50 local: 10 minutes today, 20 tomorrow
    assert _local(hl, book(session, hl).accept_deadline) == "11-24 08:20"


def test_inside_working_hours_the_deadline_is_30_minutes_away(session, hl):
    assert _local(hl, book(session, hl).accept_deadline) == "11-23 10:30"


def test_a_franchisee_with_hours_of_its_own_has_deadlines_in_them(session, hl, clock):
    from tickets.franchisees import save_franchisee
    from tickets.actors import Actor
    fr = franchisee_named(session, "天山家政服务有限公司")
    save_franchisee(session, Actor(role="admin", label="admin"), fr, name=fr.name, contact_phone=fr.contact_phone,
                    status=fr.status, daily_capacity=fr.daily_capacity, business_hours="07:00-23:45")
    clock.advance(hours=13, minutes=38)                  # 23:38: 7 minutes tonight, 23 from 07:00
    order = book(session, hl)
    assert order.franchisee_id == fr.id
    assert _local(hl, order.accept_deadline) == "11-24 07:23"


def test_the_watchdog_leaves_an_order_dispatched_at_night_alone_until_the_morning(session, hl, clock):
    clock.advance(hours=13, minutes=38)
    order = book(session, hl)
    holder = order.franchisee_id
    clock.advance(minutes=40)                            # 00:18, past the old wall-clock deadline
    assert dispatch.expire_overdue(session) == []
    assert (order.status, order.franchisee_id) == ("dispatched", holder)
    clock.advance(hours=8, minutes=13)                   # 08:31
    assert dispatch.expire_overdue(session) == [order.number]


@pytest.mark.parametrize("hours", ["8-20", "08:00-25:00", "morning"])
def test_malformed_working_hours_are_refused_with_the_format(session, hours):
    from tickets.franchisees import save_franchisee
    from tickets.actors import Actor
    fr = franchisee_named(session, "天山家政服务有限公司")
    with pytest.raises(ValidationError, match=r"not HH:MM-HH:MM \(local time\), e.g. 08:00-20:00"):
        save_franchisee(session, Actor(role="admin", label="admin"), fr, name=fr.name, contact_phone="",
                        status="active", daily_capacity=20, business_hours=hours)
