"""Customers: found by any of their numbers, created on first contact."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .db import attach_row, entity_columns
from .models import Address, Customer, CustomerPhone
from .phones import ANONYMOUS, normalize
from .prepared import Prepared


_BY_PHONE = select(Customer).join(CustomerPhone).where(CustomerPhone.e164 == bindparam("e164"))
# The customer's row with each of their addresses (or one row with no address), in address order.
_WITH_ADDRESSES = Prepared(
    select(*entity_columns(Customer), *entity_columns(Address))
    .select_from(CustomerPhone).join(Customer, Customer.id == CustomerPhone.customer_id)
    .outerjoin(Address, Address.customer_id == Customer.id)
    .where(CustomerPhone.e164 == bindparam("e164")).order_by(Address.id))
_CUSTOMER_WIDTH = len(entity_columns(Customer))


def find_by_phone(session: Session, phone: str) -> Customer | None:
    """The customer owning `phone` (already E.164, or anything `normalize` accepts)."""
    if not phone or phone == ANONYMOUS:
        return None
    e164 = phone if phone.startswith("+") else normalize(phone)
    return session.scalar(_BY_PHONE, {"e164": e164})


def get_or_create(session: Session, phone: str, name: str = "") -> Customer:
    """The customer owning `phone`, with their addresses loaded (one query); created when new."""
    e164 = normalize(phone)
    rows = _WITH_ADDRESSES.rows(session, {"e164": e164})
    cust = attach_row(session, Customer, rows[0]) if rows else None
    if cust is not None and "addresses" not in cust.__dict__:
        set_committed_value(cust, "addresses", [attach_row(session, Address, r, _CUSTOMER_WIDTH)
                                                for r in rows if r[_CUSTOMER_WIDTH] is not None])
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
