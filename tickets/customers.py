"""Customers: found by any of their numbers, created on first contact."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from .models import Address, Customer, CustomerPhone
from .phones import ANONYMOUS, normalize


def _by_phone(e164: str):
    return select(Customer).join(CustomerPhone).where(CustomerPhone.e164 == e164)


def find_by_phone(session: Session, phone: str) -> Customer | None:
    """The customer owning `phone` (already E.164, or anything `normalize` accepts)."""
    if not phone or phone == ANONYMOUS:
        return None
    e164 = phone if phone.startswith("+") else normalize(phone)
    return session.scalar(_by_phone(e164))


def get_or_create(session: Session, phone: str, name: str = "") -> Customer:
    """The customer owning `phone`, with their addresses loaded; created when new."""
    e164 = normalize(phone)
    cust = session.scalar(_by_phone(e164).options(selectinload(Customer.addresses)))
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
