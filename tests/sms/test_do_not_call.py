"""A do-not-call record gets no survey invitation by SMS; its other notices go on as usual."""
from __future__ import annotations

from tests.core.helpers import AGENT, order_in
from tests.sms.conftest import LI, messages
from tickets import customer_records, customers


def mark_do_not_call(hl, phone: str) -> None:
    with hl.session() as s, s.begin():
        customer_records.update_record(s, AGENT, customers.find_by_phone(s, phone), None, do_not_call=True)


def test_a_do_not_call_customer_gets_no_survey_invitation(hl):
    mark_do_not_call(hl, LI)
    with hl.session() as s, s.begin():
        order = order_in(s, hl, "completed", phone=LI)
    kinds = [m.kind for m in messages(hl, order_id=order.id)]
    assert "completed" not in kinds and "booked" in kinds


def test_without_the_flag_the_survey_invitation_is_sent(hl):
    with hl.session() as s, s.begin():
        order = order_in(s, hl, "completed", phone=LI)
    assert "completed" in [m.kind for m in messages(hl, order_id=order.id)]
