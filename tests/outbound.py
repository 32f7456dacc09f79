"""Builders shared by the survey-call and callback tests of both voice transports."""
from __future__ import annotations

from sqlalchemy import select

from sms import notices
from tests.core.helpers import AGENT, CALLBACK, order_in
from tickets import customer_records
from tickets.customers import find_by_phone
from tickets.models import OutboundCall, Survey
from tickets.surveys import record


def only_survey_waiting(hl, **customer) -> int:
    """A completed order of 王女士 (13800138000), the only survey waiting: the demo city's own
    unanswered surveys are answered first. `customer`: her record's fields set first
    (survey_channel, do_not_call). Its id."""
    with hl.session() as s, s.begin():
        for waiting in s.scalars(select(Survey).where(Survey.status == "pending")).all():
            record(s, waiting.order, 5, CALLBACK)
        if customer:
            customer_records.update_record(s, AGENT, find_by_phone(s, "13800138000"), None, **customer)
        return order_in(s, hl, "completed").id


def survey_waiting_for_a_call(hl, clock) -> int:
    """A completed order whose SMS survey and its one resend went unanswered long enough (the
    only survey waiting); its id."""
    order_id = only_survey_waiting(hl)
    clock.advance(hours=hl.settings.survey_resend_hours)
    assert notices.resend_surveys(hl) == 1
    clock.advance(hours=hl.settings.survey_call_after_hours)
    return order_id


def calls_of(hl, order_id: int) -> list[OutboundCall]:
    """The survey calls of an order, first attempt first."""
    with hl.session() as s:
        return list(s.scalars(select(OutboundCall).where(OutboundCall.order_id == order_id)
                              .order_by(OutboundCall.attempt)))


def survey_of(hl, order_id: int) -> Survey:
    with hl.session() as s:
        return s.scalar(select(Survey).where(Survey.order_id == order_id))
