"""Customer records (客户档案): finding a customer, their whole history on one timeline, audited
edits, and merging two records of the same person.

The timeline is a list of sources (SOURCES): each reads one kind of history for a customer and
returns TimelineEntry rows; the page shows them merged, newest first. A new kind of history (the
member card's ledger) is one more source appended to SOURCES. Finding works the same way
(FINDERS: order number, phone, name, address, member card number).

Who sees a customer's numbers in full is the console's contact policy; this module returns data.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, selectinload

from . import audit, cards, customers
from .actors import Actor
from .concurrency import CONFLICT
from .dispatch import resolve_district
from .errors import ConcurrentChange, NotFound, ValidationError
from .models import (Address, Call, CallbackRequest, CardLedgerEntry, Complaint, Customer, CustomerPhone, MemberCard,
                     SmsMessage, Survey, WorkOrder)
from .numbers import parse_number
from .phones import normalize

LIMIT = 50              # customers a search lists
PER_SOURCE = 200        # newest entries each timeline source gives
LANGUAGES = ("zh", "en")
EDITABLE = ("name", "language", "notes", "do_not_call", "survey_channel")


# ---------------------------------------------------------------- finding

def _by_order_number(session: Session, text: str):
    try:
        num = parse_number(text)
    except ValidationError:
        return None
    return Customer.id.in_(select(WorkOrder.customer_id).where(WorkOrder.number == num))


def _by_phone(session: Session, text: str):
    try:
        return Customer.id.in_(select(CustomerPhone.customer_id).where(CustomerPhone.e164 == normalize(text)))
    except ValidationError:
        digits = "".join(ch for ch in text if ch.isdigit())
        if len(digits) < 4 or len(digits) != len(text.replace(" ", "").replace("-", "")):
            return None
        return Customer.id.in_(select(CustomerPhone.customer_id).where(CustomerPhone.e164.contains(digits)))


def _by_name(session: Session, text: str):
    return Customer.name.contains(text)


def _by_address(session: Session, text: str):
    return Customer.id.in_(select(Address.customer_id).where(Address.text.contains(text)))


def _by_card_number(session: Session, text: str):
    # The whole number, as on the card: the present one or one a replacement (补卡) retired.
    number = text.replace(" ", "")
    if not number.isdigit():
        return None
    return Customer.id.in_(select(MemberCard.customer_id).where(MemberCard.number == cards.current_number(session, number)))


# Each finder turns the typed text into a condition on customers (None: the text cannot be one).
FINDERS: list[Callable[[Session, str], Any]] = [_by_order_number, _by_phone, _by_name, _by_address, _by_card_number]


def search(session: Session, text: str, limit: int = LIMIT) -> list[Customer]:
    """Customers whose order number, phone (whole, or 4+ digits of it), name, address or member
    card number (present or replaced) matches `text`; records merged into another are left out."""
    text = (text or "").strip()
    if len(text) < 2:
        raise ValidationError("type at least 2 characters: a phone number, a name, an address, an order number or a card number")
    conditions = [c for c in (finder(session, text) for finder in FINDERS) if c is not None]
    return list(session.scalars(
        select(Customer).where(Customer.merged_into_id.is_(None), or_(*conditions))
        .options(selectinload(Customer.phones), selectinload(Customer.addresses))
        .order_by(Customer.name, Customer.id).limit(limit)))


def get(session: Session, customer_id: int) -> Customer:
    """The record `customer_id` (NotFound when there is none); a merged one still answers, with
    `merged_into_id` saying where its history went."""
    cust = session.get(Customer, customer_id)
    if cust is None:
        raise NotFound("no customer {customer_id}", customer_id=customer_id)
    return cust


# ---------------------------------------------------------------- timeline

@dataclass(frozen=True)
class TimelineEntry:
    at: datetime             # naive UTC
    kind: str                # call, sms, order, survey, complaint, card, card_event (a source's own name)
    item: Any                # the row: the page renders each kind its own way


def _phones(customer: Customer) -> list[str]:
    return [p.e164 for p in customer.phones]


def _calls(session: Session, customer: Customer) -> Iterable[TimelineEntry]:
    for c in session.scalars(select(Call).where(Call.customer_id == customer.id)
                             .order_by(Call.started_at.desc()).limit(PER_SOURCE)):
        yield TimelineEntry(c.started_at, "call", c)


def _sms(session: Session, customer: Customer) -> Iterable[TimelineEntry]:
    # Codes are not history: their messages carry the code itself.
    for m in session.scalars(select(SmsMessage).where(SmsMessage.phone.in_(_phones(customer)), SmsMessage.kind != "otp")
                             .order_by(SmsMessage.created_at.desc()).limit(PER_SOURCE)):
        yield TimelineEntry(m.created_at, "sms", m)


def _orders(session: Session, customer: Customer) -> Iterable[TimelineEntry]:
    for o in session.scalars(select(WorkOrder).where(WorkOrder.customer_id == customer.id)
                             .options(selectinload(WorkOrder.service), selectinload(WorkOrder.district))
                             .order_by(WorkOrder.created_at.desc()).limit(PER_SOURCE)):
        yield TimelineEntry(o.created_at, "order", o)


def _surveys(session: Session, customer: Customer) -> Iterable[TimelineEntry]:
    for sv in session.scalars(select(Survey).join(WorkOrder, WorkOrder.id == Survey.order_id)
                              .where(WorkOrder.customer_id == customer.id, Survey.status == "answered")
                              .options(selectinload(Survey.order)).order_by(Survey.answered_at.desc()).limit(PER_SOURCE)):
        yield TimelineEntry(sv.answered_at or sv.asked_at, "survey", sv)


def _complaints(session: Session, customer: Customer) -> Iterable[TimelineEntry]:
    mine = or_(Complaint.customer_id == customer.id, Complaint.phone.in_(_phones(customer)))
    for c in session.scalars(select(Complaint).where(mine).options(selectinload(Complaint.order))
                             .order_by(Complaint.created_at.desc()).limit(PER_SOURCE)):
        yield TimelineEntry(c.created_at, "complaint", c)


def _card(session: Session, customer: Customer) -> Iterable[TimelineEntry]:
    """The member card's ledger rows (`card`: money, with the order a spend paid) and its life
    (`card_event`: opened, level, replaced, frozen, unfrozen, closed), of every card they held."""
    for card in session.scalars(select(MemberCard).where(MemberCard.customer_id == customer.id)):
        for e in session.scalars(select(CardLedgerEntry).where(CardLedgerEntry.card_id == card.id)
                                 .options(selectinload(CardLedgerEntry.order))
                                 .order_by(CardLedgerEntry.id.desc()).limit(PER_SOURCE)):
            yield TimelineEntry(e.created_at, "card", e)
        for a in cards.events(session, card, PER_SOURCE):
            yield TimelineEntry(a.created_at, "card_event", a)


SOURCES: list[Callable[[Session, Customer], Iterable[TimelineEntry]]] = [_calls, _sms, _orders, _surveys, _complaints,
                                                                         _card]


def timeline(session: Session, customer: Customer) -> list[TimelineEntry]:
    """Every source's history of `customer`, newest first."""
    entries = [e for source in SOURCES for e in source(session, customer)]
    return sorted(entries, key=lambda e: e.at, reverse=True)


# ---------------------------------------------------------------- edits

def update_record(session: Session, actor: Actor, customer: Customer, version: int | None, **fields: Any) -> dict:
    """Change EDITABLE fields of `customer` as read at `version` (the form's; ConcurrentChange when
    someone saved in between); audited with each field's old and new value. Returns the changes."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError("cannot edit {fields}; editable: {editable}", fields=", ".join(sorted(unknown)),
                              editable=", ".join(EDITABLE))
    what = f"customer {customer.id}"
    # Locked, then read afresh: of two edits made on one version, the second finds the first's.
    session.refresh(customer, with_for_update=True)
    if version is not None and version != customer.version:
        raise ConcurrentChange(CONFLICT, what=what)
    if "name" in fields:
        fields["name"] = (fields["name"] or "").strip()
        if len(fields["name"]) > 64:
            raise ValidationError("the name is at most 64 characters")
    if "language" in fields:
        fields["language"] = fields["language"] or None
        if fields["language"] not in (None, *LANGUAGES):
            raise ValidationError("language {language!r} is not one of: {languages}, or empty", language=fields["language"],
                                  languages=", ".join(LANGUAGES))
    if "do_not_call" in fields:
        fields["do_not_call"] = bool(fields["do_not_call"])
    if "survey_channel" in fields:
        # Empty: not on the form that was posted, so kept as it is.
        fields["survey_channel"] = fields["survey_channel"] or customer.survey_channel
        if fields["survey_channel"] not in customers.SURVEY_CHANNELS:
            raise ValidationError("survey channel {channel!r} is not one of: {channels}", channel=fields["survey_channel"],
                                  channels=", ".join(customers.SURVEY_CHANNELS))
    changes = {k: [getattr(customer, k), v] for k, v in fields.items() if getattr(customer, k) != v}
    for k, (_, new) in changes.items():
        setattr(customer, k, new)
    if changes:
        customer.version += 1
        audit.record(session, actor, "customer.update", "customer", customer.id, changes)
    return changes


def add_address(session: Session, actor: Actor, customer: Customer, text: str, district_id: int | None,
                default: bool = False) -> Address:
    """A new address on the record (the district as chosen, or found from the text), audited."""
    text = (text or "").strip()[:255]
    if not text:
        raise ValidationError("write the address, e.g. 天山区解放南路88号")
    if district_id is None:
        match = resolve_district(session, text)
        district_id = match.district.id if match.district else None
    addr = customers.add_address(session, customer, text, district_id, default=default)
    audit.record(session, actor, "customer.address", "customer", customer.id,
                 {"address": text, "district_id": district_id, "default": addr.is_default})
    return addr


# ---------------------------------------------------------------- merge

# Rows that belong to a customer and move with a merge (surveys follow their orders; a merged-away
# record holds no open card, so only closed cards move, with their ledger as history).
OWNED = ((CustomerPhone, CustomerPhone.customer_id), (Address, Address.customer_id),
         (WorkOrder, WorkOrder.customer_id), (Call, Call.customer_id), (Complaint, Complaint.customer_id),
         (MemberCard, MemberCard.customer_id), (CallbackRequest, CallbackRequest.customer_id))


def merge(session: Session, actor: Actor, keep_id: int, gone_id: int) -> dict[str, int]:
    """Move everything of record `gone_id` to `keep_id` (phones, addresses, orders, calls, closed cards,
    complaints, callback requests; surveys with their orders; SMS follow the phones) and mark `gone_id` merged; audited on both. Both rows
    are locked first (in id order), so two merges of the same records run one after the other and
    the second finds the first's result."""
    if keep_id == gone_id:
        raise ValidationError("a record cannot be merged with itself; choose the other record of this person")
    rows = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_((keep_id, gone_id)))
                                              .order_by(Customer.id).with_for_update())}
    for cid in (keep_id, gone_id):
        if cid not in rows:
            raise NotFound("no customer {cid}", cid=cid)
        session.refresh(rows[cid])
        if rows[cid].merged_into_id is not None:
            raise ValidationError("customer {cid} was already merged into customer {into}; use that record", cid=cid,
                                  into=rows[cid].merged_into_id)
    keep, gone = rows[keep_id], rows[gone_id]
    if cards.card_of(session, gone) is not None:
        raise ValidationError("customer {gone_id} has a member card; close it (refunding its balance) before merging",
                              gone_id=gone_id)
    if keep.default_address is not None:
        # One default address: the kept record's.
        session.execute(update(Address).where(Address.customer_id == gone_id).values(is_default=False)
                        .execution_options(synchronize_session=False))
    moved = {}
    for model, column in OWNED:
        result = session.execute(update(model).where(column == gone_id).values({column.key: keep_id})
                                 .execution_options(synchronize_session=False))
        moved[model.__tablename__] = result.rowcount
    keep.name = keep.name or gone.name
    keep.language = keep.language or gone.language
    keep.notes = "\n".join(n for n in (keep.notes, gone.notes) if n)
    keep.do_not_call = keep.do_not_call or gone.do_not_call
    gone.merged_into_id = keep_id
    keep.version += 1
    gone.version += 1
    audit.record(session, actor, "customer.merge", "customer", keep_id, {"merged": gone_id, "moved": moved})
    audit.record(session, actor, "customer.merged_into", "customer", gone_id, {"into": keep_id})
    session.flush()
    session.expire(keep)
    session.expire(gone)
    return moved
