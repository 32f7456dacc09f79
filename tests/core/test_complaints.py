"""The complaint workflow (tickets.complaints): categories, the franchisee concerned and its account,
the platform's decision with compensation, reopen, escalation past the deadline, the closed list,
the notices to the complainant, and the 24-hour commitment measured."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.core.helpers import AGENT, CALLBACK, franchisee_actor, order_in
from tickets import complaints
from tickets.actors import SYSTEM, Actor
from tickets.errors import NotFound, PermissionDenied, ValidationError
from tickets.models import AuditLog, Complaint, SmsMessage, User
from tickets.scheduler import CORE_JOBS

SUPERVISOR = Actor(role="supervisor", label="supervisor-test")


def _complaint(session, hl, state: str = "completed", **kw):
    order = order_in(session, hl, state)
    c = complaints.open_complaint(session, actor=AGENT, source="agent", order=order, text="the worker was two hours late",
                                  category_code=kw.pop("category_code", "lateness"), **kw)
    return order, c


def _notices(session, kind: str, c: Complaint) -> list[SmsMessage]:
    """The notices of `kind` about `c` (the demo city has complaints and notices of its own)."""
    return [m for m in session.scalars(select(SmsMessage).where(SmsMessage.kind == kind))
            if str((m.params or {}).get("id")) == str(c.id)]


def test_a_complaint_about_an_order_is_assigned_to_the_orders_franchisee(session, hl):
    order, c = _complaint(session, hl)
    assert (c.franchisee_id, c.category, c.status) == (order.franchisee_id, "lateness", "open")


def test_an_unknown_category_is_refused_with_the_known_ones(session, hl):
    with pytest.raises(ValidationError, match="service, lateness, damage, price, attitude, other"):
        complaints.open_complaint(session, actor=AGENT, source="agent", phone="13800138000", text="x",
                                  category_code="weather")


def test_every_category_has_a_chinese_and_an_english_name():
    assert [c.code for c in complaints.CATEGORIES] == ["service", "lateness", "damage", "price", "attitude", "other"]
    assert all(c.name_zh and c.name_en for c in complaints.CATEGORIES)


def test_the_franchisee_concerned_gives_its_account_and_that_is_the_first_response(session, hl, clock):
    order, c = _complaint(session, hl)
    clock.advance(hours=3)
    complaints.give_account(session, c, "the worker's bus broke down; we apologised", franchisee_actor(order))
    assert (c.status, c.first_response_at, c.account_at) == ("replied", hl.now(), hl.now())


def test_another_franchisee_cannot_answer_a_complaint(session, hl):
    order, c = _complaint(session, hl)
    other = Actor(role="franchisee", label="other", franchisee_id=order.franchisee_id + 1000)
    with pytest.raises(PermissionDenied):
        complaints.give_account(session, c, "not ours", other)


def test_another_franchisee_cannot_read_a_complaint(session, hl):
    order, c = _complaint(session, hl)
    with pytest.raises(NotFound):
        complaints.get(session, c.id, Actor(role="franchisee", franchisee_id=order.franchisee_id + 1000))
    assert complaints.get(session, c.id, franchisee_actor(order)) is c


def test_an_empty_account_is_refused(session, hl):
    order, c = _complaint(session, hl)
    with pytest.raises(ValidationError, match="write your account"):
        complaints.give_account(session, c, "   ", franchisee_actor(order))


def test_only_a_supervisor_or_admin_decides(session, hl):
    _, c = _complaint(session, hl)
    with pytest.raises(PermissionDenied):
        complaints.decide(session, c, "sorry", CALLBACK)


def test_a_decision_with_a_refund_records_the_amount_in_fen_and_closes_it(session, hl):
    _, c = _complaint(session, hl)
    complaints.decide(session, c, "we refund the visit fee", SUPERVISOR, compensation_kind="refund",
                      compensation_fen=3000)
    assert (c.status, c.compensation_kind, c.compensation_fen, c.resolved_at) == ("resolved", "refund", 3000, hl.now())
    entry = complaints.history(session, c)[-1]
    assert (entry.action, entry.actor_label, entry.data["compensation_fen"]) == ("complaint.decide", "supervisor-test", 3000)


@pytest.mark.parametrize("kind, fen, message", [
    ("refund", 0, "an amount above 0"),
    ("refund", -500, "an amount above 0"),
    ("refund", 10_000_000, "more than"),
    ("voucher", 500, "not one of refund"),
    ("", 500, "choose the kind"),
])
def test_a_bad_compensation_is_refused_with_a_reason(session, hl, kind, fen, message):
    _, c = _complaint(session, hl)
    with pytest.raises(ValidationError, match=message):
        complaints.decide(session, c, "ok", SUPERVISOR, compensation_kind=kind, compensation_fen=fen)
    assert c.status == "open"


def test_a_refund_cannot_exceed_the_orders_price(session, hl):
    order, c = _complaint(session, hl)
    paid = order.final_price_fen or order.price_total_fen
    with pytest.raises(ValidationError, match="the order's price"):
        complaints.decide(session, c, "ok", SUPERVISOR, compensation_kind="refund", compensation_fen=paid + 1)


def test_a_resolved_complaint_cannot_be_answered_again(session, hl):
    order, c = _complaint(session, hl)
    complaints.decide(session, c, "sorry", SUPERVISOR)
    with pytest.raises(ValidationError, match="already resolved; reopen it first"):
        complaints.give_account(session, c, "late reply", franchisee_actor(order))


def test_reopen_gives_a_new_deadline_and_a_new_escalation(session, hl, clock):
    _, c = _complaint(session, hl)
    complaints.decide(session, c, "sorry", SUPERVISOR)
    clock.advance(days=2)
    complaints.reopen(session, c, "the customer does not accept the answer", SUPERVISOR)
    assert (c.status, c.reopen_count, c.escalated_at) == ("open", 1, None)
    assert c.due_at == hl.now() + timedelta(hours=hl.settings.complaint_due_hours)


def test_only_a_resolved_complaint_is_reopened(session, hl):
    _, c = _complaint(session, hl)
    with pytest.raises(ValidationError, match="nothing to reopen"):
        complaints.reopen(session, c, "why", SUPERVISOR)


def test_an_overdue_complaint_escalates_once_to_the_supervisors_and_district_manager(session, hl, clock):
    _, c = _complaint(session, hl)        # booked in 天山区, managed by manager1
    clock.advance(hours=hl.settings.complaint_due_hours, minutes=1)
    assert c.id in complaints.escalate_overdue(session, SYSTEM)      # with the demo's overdue one
    assert complaints.escalate_overdue(session, SYSTEM) == []
    [entry] = [e for e in complaints.history(session, c) if e.action == "complaint.escalate"]
    assert set(entry.data["recipients"]) == {"supervisor1", "manager1"}
    assert c.escalated_at == hl.now()


def test_a_complaint_within_its_deadline_is_not_escalated(session, hl, clock):
    _, c = _complaint(session, hl)
    clock.advance(hours=hl.settings.complaint_due_hours - 1)
    assert c.id not in complaints.escalate_overdue(session, SYSTEM)


def test_the_escalation_job_runs_in_the_scheduler_and_twice_escalates_once(hl, clock):
    with hl.session() as s, s.begin():
        _, c = _complaint(s, hl)
        cid = c.id
    clock.advance(days=3)
    job = next(j for j in CORE_JOBS if j.name == "complaint-escalation")
    job.func(hl)
    job.func(hl)
    with hl.session() as s:
        escalations = s.scalars(select(AuditLog).where(AuditLog.action == "complaint.escalate",
                                                       AuditLog.entity_id == str(cid))).all()
    assert len(escalations) == 1


def test_the_demo_overdue_complaint_escalates(hl):
    with hl.session() as s, s.begin():
        escalated = complaints.escalate_overdue(s, SYSTEM)
        overdue = s.scalars(select(Complaint.id).where(Complaint.status != "resolved",
                                                       Complaint.due_at < hl.now())).all()
    assert escalated and set(escalated) == set(overdue)


def test_every_change_is_in_the_complaints_history_with_its_actor(session, hl):
    order, c = _complaint(session, hl)
    complaints.set_category(session, c, "attitude", CALLBACK)
    complaints.give_account(session, c, "we spoke to the worker", franchisee_actor(order))
    complaints.decide(session, c, "apology and a refund", SUPERVISOR, compensation_kind="refund", compensation_fen=100)
    complaints.reopen(session, c, "not satisfied", SUPERVISOR)
    trail = [(e.action, e.actor_label) for e in complaints.history(session, c)]
    assert trail == [("complaint.open", "agent-test"), ("complaint.category", "callback-test"),
                     ("complaint.account", "fr-test"), ("complaint.decide", "supervisor-test"),
                     ("complaint.reopen", "supervisor-test")]


def test_the_complainant_is_told_it_was_accepted_and_answered(session, hl):
    _, c = _complaint(session, hl)
    complaints.decide(session, c, "we refund the visit fee", SUPERVISOR, compensation_kind="refund",
                      compensation_fen=3000)
    session.flush()
    [accepted] = _notices(session, "complaint_accepted", c)
    [answered] = _notices(session, "complaint_answered", c)
    assert accepted.body.startswith(f"已受理您的投诉，编号{c.id}，我们将在")
    assert answered.params["result"] == "we refund the visit fee，退款30.00元"
    assert answered.body == f"您的投诉{c.id}已处理：we refund the visit fee，退款30.00元。如有疑问请致电热线。"
    assert accepted.phone == answered.phone == c.phone


def test_an_sms_complaint_gets_no_second_acceptance_notice(session, hl):
    c = complaints.open_complaint(session, actor=SYSTEM, source="sms", phone="+8613800138000", text="late")
    session.flush()
    assert _notices(session, "complaint_accepted", c) == []


def test_a_reopened_complaint_answered_again_is_told_again(session, hl):
    _, c = _complaint(session, hl)
    complaints.decide(session, c, "sorry", SUPERVISOR)
    complaints.reopen(session, c, "not satisfied", SUPERVISOR)
    complaints.decide(session, c, "a full refund", SUPERVISOR, compensation_kind="refund", compensation_fen=100)
    session.flush()
    assert len(_notices(session, "complaint_answered", c)) == 2


def test_the_closed_list_filters_by_category_and_pages(session, hl):
    for i in range(3):
        _, c = _complaint(session, hl, category_code="service" if i else "price")
        complaints.decide(session, c, "done", SUPERVISOR)
    page = complaints.closed(session, complaints.ClosedFilter(category="service"), SUPERVISOR, per_page=1)
    assert (page.total, page.pages, len(page.items)) == (2, 2, 1)
    assert all(c.category == "service" for c in page.items)


def test_a_franchisee_lists_only_its_own_closed_complaints(session, hl):
    order, c = _complaint(session, hl)
    complaints.decide(session, c, "done", SUPERVISOR)
    other = Actor(role="franchisee", franchisee_id=order.franchisee_id + 1000)
    assert complaints.closed(session, complaints.ClosedFilter(), other).total == 0
    assert c in complaints.closed(session, complaints.ClosedFilter(), franchisee_actor(order)).items


def test_handling_times_measure_first_response_and_close(session, hl, clock):
    start = hl.now()
    order, c = _complaint(session, hl)
    clock.advance(hours=2)
    complaints.give_account(session, c, "our account", franchisee_actor(order))
    clock.advance(hours=30)
    complaints.decide(session, c, "sorry", SUPERVISOR)
    figures = complaints.handling_times(session, start, hl.now())
    assert (figures.opened, figures.responded, figures.resolved) == (1, 1, 1)
    assert (figures.avg_first_response_minutes, figures.avg_close_minutes, figures.responded_in_time) == (120, 1920, 1)


def test_escalation_goes_to_active_users_only(session, hl, clock):
    _, c = _complaint(session, hl)
    session.scalar(select(User).where(User.username == "manager1")).active = False
    assert [u.username for u in complaints.escalation_recipients(session, c)] == ["supervisor1"]


# ---------------------------------------------------------------- escalation SMS to the district manager

def _manager_notices(session, c: Complaint) -> list[SmsMessage]:
    return [m for m in session.scalars(select(SmsMessage).where(SmsMessage.kind == "manager_escalation"))
            if m.params["subject"] == f"投诉{c.id}"]


def test_an_overdue_complaint_texts_the_district_manager_once_per_deadline(session, hl, clock):
    _, c = _complaint(session, hl)        # 天山区: manager1 (demo phone 13999300001)
    clock.advance(hours=hl.settings.complaint_due_hours, minutes=1)
    complaints.escalate_overdue(session, SYSTEM)
    complaints.escalate_overdue(session, SYSTEM)
    session.flush()
    [sms] = _manager_notices(session, c)
    assert sms.phone == "+8613999300001"
    assert sms.body == f"超时升级：天山区投诉{c.id}已过答复期限仍未办结，已转您处理，请尽快跟进。"
    [entry] = [e for e in complaints.history(session, c) if e.action == "complaint.escalate"]
    assert entry.data["told"] == ["manager1"]
    # Reopened, it has a new deadline: past that one the manager is told again.
    complaints.decide(session, c, "sorry", SUPERVISOR)
    complaints.reopen(session, c, "not satisfied", SUPERVISOR)
    clock.advance(hours=hl.settings.complaint_due_hours, minutes=1)
    complaints.escalate_overdue(session, SYSTEM)
    session.flush()
    assert len(_manager_notices(session, c)) == 2


def test_a_complaint_about_no_order_escalates_to_the_supervisors_by_sms(session, hl, clock):
    c = complaints.open_complaint(session, actor=AGENT, source="agent", phone="13900139000", text="rude on the phone")
    clock.advance(hours=hl.settings.complaint_due_hours, minutes=1)
    complaints.escalate_overdue(session, SYSTEM)
    session.flush()
    assert [m.phone for m in _manager_notices(session, c)] == ["+8613999300002"]


def test_a_complaint_due_at_night_escalates_in_the_morning(session, hl, clock):
    _, c = _complaint(session, hl)
    clock.advance(hours=hl.settings.complaint_due_hours + 12)     # Tuesday 22:00 local: quiet hours
    assert complaints.escalate_overdue(session, SYSTEM) == []
    assert c.escalated_at is None
    clock.advance(hours=10)                                        # 08:00
    assert c.id in complaints.escalate_overdue(session, SYSTEM)
    session.flush()
    assert len(_manager_notices(session, c)) == 1


# ---------------------------------------------------------------- compensation as a member-card credit

def _card_notices(session, card) -> list[SmsMessage]:
    return [m for m in session.scalars(select(SmsMessage).where(SmsMessage.kind == "card_credit"))
            if m.params["card"] == card.number[-4:]]


def test_a_card_credit_compensation_credits_the_complainants_card_in_the_decision(session, hl):
    from tickets import cards
    _, c = _complaint(session, hl)        # 王女士, VIP card 880000000001
    card = cards.get(session, "880000000001")
    before = card.balance_fen
    complaints.decide(session, c, "sorry for the wait", SUPERVISOR, compensation_kind="card_credit",
                      compensation_fen=5000)
    session.flush()
    assert card.balance_fen == before + 5000 and cards.check_balances(session) == []
    entry = cards.ledger(session, card)[-1]
    assert (entry.kind, entry.amount_fen, entry.reason) == ("adjustment", 5000, f"complaint {c.id} compensation")
    decided = complaints.history(session, c)[-1]
    assert (decided.data["compensation_kind"], decided.data["card"]) == ("card_credit", "880000000001")
    assert session.scalar(select(AuditLog).where(AuditLog.action == "card.adjustment",
                                                 AuditLog.entity_id == card.number)).data["amount_fen"] == 5000
    [sms] = _card_notices(session, card)
    assert sms.phone == c.phone and sms.body == f"会员卡0001补偿入账¥50.00，余额¥{before / 100 + 50:.2f}。"
    [answered] = _notices(session, "complaint_answered", c)
    assert answered.params["result"] == "sorry for the wait，会员卡补偿50.00元"


def test_a_card_credit_is_refused_when_the_complainant_has_no_card(session, hl):
    c = complaints.open_complaint(session, actor=AGENT, source="agent", phone="+8613700137000", text="rude")  # Mr. Smith
    assert c.customer_id is not None
    with pytest.raises(ValidationError, match="has no open member card to credit"):
        complaints.decide(session, c, "ok", SUPERVISOR, compensation_kind="card_credit", compensation_fen=500)
    assert (c.status, c.compensation_kind) == ("open", "")


@pytest.mark.parametrize("state, message", [("frozen", "is frozen; unfreeze it first"),
                                            ("closed", "has no open member card")])
def test_a_card_credit_is_refused_on_a_frozen_or_closed_card_and_nothing_is_written(session, hl, state, message):
    from tickets import cards
    _, c = _complaint(session, hl)
    card = cards.get(session, "880000000001")
    if state == "frozen":
        cards.freeze(session, card, SUPERVISOR, reason="reported lost")
    else:
        cards.close(session, card, SUPERVISOR, reason="moving away", key="close-test")
    rows = len(cards.ledger(session, card))
    with pytest.raises(ValidationError, match=message):
        complaints.decide(session, c, "ok", SUPERVISOR, compensation_kind="card_credit", compensation_fen=500)
    assert c.status == "open" and len(cards.ledger(session, card)) == rows


def test_a_card_credit_above_the_compensation_limit_is_refused(session, hl):
    _, c = _complaint(session, hl)
    with pytest.raises(ValidationError, match="card credit of .* COMPLAINT_MAX_REFUND_YUAN"):
        complaints.decide(session, c, "ok", SUPERVISOR, compensation_kind="card_credit",
                          compensation_fen=hl.settings.complaint_max_refund_fen + 1)
