"""The survey's one resend (notice `survey_resend`), its quiet hours, and a survey reply that is
not a score."""
from __future__ import annotations

from sqlalchemy import select

from sms import notices, outbox
from tests.core.helpers import CALLBACK, order_in
from tests.sms.conftest import LI, messages
from tickets.models import Survey, WorkOrderEvent
from tickets.surveys import record


def completed(hl) -> int:
    """A completed order of 李先生, the only survey waiting (the demo's own answered first)."""
    with hl.session() as s, s.begin():
        for waiting in s.scalars(select(Survey).where(Survey.status == "pending")).all():
            record(s, waiting.order, 5, CALLBACK)
        return order_in(s, hl, "completed", phone=LI).id


def test_an_unanswered_survey_is_resent_once_after_the_configured_hours(hl, clock):
    order_id = completed(hl)
    clock.advance(hours=hl.settings.survey_resend_hours - 1)
    assert notices.resend_surveys(hl) == 0
    clock.advance(hours=1)
    assert notices.resend_surveys(hl) == 1
    clock.advance(hours=30)
    assert notices.resend_surveys(hl) == 0            # once, whatever happens later
    (resent,) = messages(hl, kind="survey_resend")
    assert resent.order_id == order_id and resent.phone == LI
    assert resent.body.startswith("订单") and "请回复1-5评分" in resent.body
    with hl.session() as s:
        events = s.scalars(select(WorkOrderEvent).where(WorkOrderEvent.order_id == order_id,
                                                        WorkOrderEvent.action == "survey_resend")).all()
        assert len(events) == 1 and events[0].actor_role == "system"


def test_no_survey_is_resent_in_quiet_hours(hl, clock):
    completed(hl)
    # FIXED_NOW is 10:00 in Shanghai: 24 h + 12 h later it is 22:00, inside 21:00-08:00.
    clock.advance(hours=hl.settings.survey_resend_hours + 12)
    assert notices.resend_surveys(hl) == 0
    clock.advance(hours=11)
    assert notices.resend_surveys(hl) == 1


def test_an_answered_survey_is_not_resent(hl, clock, phone):
    completed(hl)
    phone(LI).text("4")
    clock.advance(hours=hl.settings.survey_resend_hours)
    assert notices.resend_surveys(hl) == 0


def test_a_survey_reply_that_is_not_a_score_is_told_how_to_score(hl, phone):
    order_id = completed(hl)
    reply = phone(LI).text("师傅很好很满意")
    with hl.session() as s:
        number = s.scalar(select(Survey).where(Survey.order_id == order_id)).order.number
    assert reply == f"请只回复一个数字1-5为订单{number}评分（5分最满意），可在数字后附意见，如：5 师傅很准时"
    with hl.session() as s:
        assert s.scalar(select(Survey).where(Survey.order_id == order_id)).status == "pending"


def test_a_job_completed_in_quiet_hours_gets_its_survey_sms_in_the_morning(hl, clock):
    # FIXED_NOW is 10:00 in Shanghai: 12.5 h later it is 22:30, inside 21:00-08:00.
    clock.advance(hours=12, minutes=30)
    order_id = completed(hl)
    (invite,) = messages(hl, kind="completed", order_id=order_id)
    assert (invite.status, invite.sent_at) == ("queued", None), "a survey SMS left at 22:30"
    clock.advance(hours=9, minutes=29)                  # 07:59
    outbox.send_pending(hl)
    assert messages(hl, kind="completed", order_id=order_id)[0].status == "queued"
    clock.advance(minutes=1)                            # 08:00: the outbox job sends it
    outbox.send_pending(hl)
    (invite,) = messages(hl, kind="completed", order_id=order_id)
    assert invite.status == "sent" and invite.sent_at == clock.now
