"""SMS test helpers: a phone texting the hotline through the signed Twilio webhook, and readers
of what the hotline stored.

Requests are signed exactly as Twilio signs them (RequestValidator.compute_signature over the
URL and the form) and every answer is parsed as TwiML.
"""
from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from twilio.request_validator import RequestValidator

from agent_console.app import create_app
from tickets.models import SmsMessage, WorkOrder

TOKEN = "test-twilio-token"
SMS_URL = "http://localhost/twilio/sms"
STATUS_URL = "http://localhost/twilio/sms/status"
WANG = "+8613800138000"         # 王女士: demo customer with a default address in 天山区
LI = "+8613900139000"           # 李先生: another customer
ZHAO = "+8613600136000"         # 赵阿姨: a completed order waiting for its survey
STRANGER = "+8613800000001"     # no customer record, no address
# Messages from one phone are spaced like a person typing, so ordinary conversations stay under
# the flood limit (sms/ratelimit.py: 6 a minute).
TYPING = timedelta(seconds=10)

_sids = itertools.count(1)


def new_sid() -> str:
    return f"SM{next(_sids):032d}"


def sign(url: str, params: dict, token: str = TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def twiml_messages(response) -> list[str]:
    """The <Message> texts of a TwiML answer (asserting it is one <Response> of <Message>s)."""
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    assert all(child.tag == "Message" for child in root)
    return [child.text or "" for child in root]


class Phone:
    """A customer's phone texting the hotline."""

    def __init__(self, client, clock, number: str) -> None:
        self.client, self.clock, self.number = client, clock, number

    def post(self, body: str, sid: str | None = None, *, url: str = SMS_URL, signature: str | None = None):
        params = {"MessageSid": sid or new_sid(), "AccountSid": "ACtest", "From": self.number,
                  "To": "+8610000000", "Body": body, "NumMedia": "0"}
        headers = {"X-Twilio-Signature": signature if signature is not None else sign(url, params)}
        return self.client.post("/twilio/sms", data=params, headers=headers)

    def text(self, body: str) -> str:
        """Send `body` and return the reply ('' when none); the clock moves on like a person typing."""
        self.clock.advance(seconds=TYPING.total_seconds())
        response = self.post(body)
        assert response.status_code == 200, response.get_data(as_text=True)
        return "\n".join(twiml_messages(response))


@pytest.fixture
def app(hl):
    return create_app(hl)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def phone(client, clock):
    """phone(number) -> Phone."""
    return lambda number: Phone(client, clock, number)


def messages(hl, **where) -> list[SmsMessage]:
    """Stored SMS rows matching column=value filters, oldest first."""
    with hl.session() as s:
        stmt = select(SmsMessage).order_by(SmsMessage.id)
        for column, value in where.items():
            stmt = stmt.where(getattr(SmsMessage, column) == value)
        return list(s.scalars(stmt))


def sms_orders(hl, number: str) -> list[WorkOrder]:
    with hl.session() as s:
        return list(s.scalars(select(WorkOrder).where(WorkOrder.phone == number, WorkOrder.channel == "sms")
                              .options(selectinload(WorkOrder.events)).order_by(WorkOrder.id)))


def count(hl, model) -> int:
    with hl.session() as s:
        return s.scalar(select(func.count()).select_from(model))
