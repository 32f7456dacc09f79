"""Customers: found by any of their numbers, created on first contact."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from .models import Address, Customer, CustomerPhone
from .phones import ANONYMOUS, normalize


# How a customer's satisfaction survey reaches them (Customer.survey_channel): "sms" is the
# invitation, one resend, then the survey call; "phone" is the survey call at once, no SMS.
SURVEY_CHANNELS = ("sms", "phone")


# Built once: every call, text and booking looks its customer up.
_BY_PHONE = select(Customer).join(CustomerPhone).where(CustomerPhone.e164 == bindparam("e164"))
_WITH_ADDRESSES = _BY_PHONE.options(selectinload(Customer.addresses))


def find_by_phone(session: Session, phone: str) -> Customer | None:
    """The customer owning `phone` (already E.164, or anything `normalize` accepts)."""
    if not phone or phone == ANONYMOUS:
        return None
    e164 = phone if phone.startswith("+") else normalize(phone)
    return session.scalar(_BY_PHONE, {"e164": e164})


def get_or_create(session: Session, phone: str, name: str = "") -> Customer:
    """The customer owning `phone`, with their addresses loaded; created when new."""
    e164 = normalize(phone)
    cust = session.scalar(_WITH_ADDRESSES, {"e164": e164})
    if cust is None:
        cust = Customer(name=name or "")
        cust.phones.append(CustomerPhone(e164=e164))
        session.add(cust)
        session.flush()
    elif name and not cust.name:
        cust.name = name
    return cust


def add_address(session: Session, customer: Customer, text: str, district_id: int | None,
                default: bool = False) -> Address:
    for a in customer.addresses:
        if a.text == text:
            return a
    if default:
        for a in customer.addresses:
            a.is_default = False
    addr = Address(text=text, district_id=district_id, is_default=default or not customer.addresses)
    customer.addresses.append(addr)
    session.flush()
    return addr


def may_contact(session: Session, phone: str) -> bool:
    """Whether the hotline may phone or text `phone` on its own initiative (outbound calls, survey
    invitations): not when its customer's record is marked do-not-call. Answers to what the
    customer asked for (a reply, a one-time code, an order notice) are not outbound contact."""
    cust = find_by_phone(session, phone)
    return cust is None or not cust.do_not_call


def prefers_phone_survey(customer: Customer | None) -> bool:
    """Whether this customer's survey is the outbound survey call at once instead of SMS."""
    return customer is not None and customer.survey_channel == "phone"
