"""Member cards (会员卡): open, edit the level, top up, pay, refund, replace, freeze, close.

Money moves only as rows of `card_ledger`, which are never changed or deleted: a mistake is
corrected by a `reversal` row. `MemberCard.balance_fen` caches the sum of the card's ledger;
`_post` is the only writer of both, and writes them together under the card's row lock
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's transactions are BEGIN IMMEDIATE, so serial),
so two spends on one card queue and the second sees the first's balance. `check_balances` says
whether every cache still equals its ledger.

Every spend carries an idempotency key (unique in the ledger): the same request made twice (a
double click, a client's retry, a replayed webhook) finds the first row and pays once.

Card events (each new ledger row) go to the listeners in `hl.extensions["card_listeners"]`, in the
transaction, in two steps so that the row lock is held for writes only: `listener(session, card,
kind, order)` runs BEFORE the lock and does the listener's reads (the SMS package: which phone,
whether it takes messages); it returns `write(card, entry)`, or None, which runs under the lock
once the entry exists and only adds rows (the customer's notice: amount and remaining balance).
Those rows commit with the entry, so a spend is never without its notice.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable, Optional

from sqlalchemy import case, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from . import audit
from .actors import Actor
from .config import CARD_LEVEL_NAMES, CardLevel, Settings
from .context import hotline_of
from .errors import NotFound, ValidationError
from .models import AuditLog, CardLedgerEntry, Customer, MemberCard, WorkOrder
from .orders import amount_due
from .pricing import yuan
from .timeutil import to_utc
from .workflow import transition

KINDS = ("topup", "spend", "refund", "adjustment", "reversal")
STATUSES = ("active", "frozen", "closed")
# Orders in these states have a final amount due and may be paid by card.
PAYABLE_STATES = ("completed", "closed")
LISTENERS = "card_listeners"

CardWriter = Callable[[MemberCard, CardLedgerEntry], None]
CardListener = Callable[[Session, MemberCard, str, Optional[WorkOrder]], Optional[CardWriter]]


class CardRefused(ValidationError):
    """A card cannot do what was asked; `reason` is one of no_card, frozen, closed, insufficient,
    already_paid, nothing_due, key_reused: each has its own message."""

    def __init__(self, template: str, /, *, reason: str, **params):
        super().__init__(template, **params)
        self.reason = reason


# ---------------------------------------------------------------- levels and amounts

def level_rules(settings: Settings, level: str) -> CardLevel:
    """What `level` gives (discount, queue priority), from CARD_LEVELS."""
    return settings.card_levels.get(level) or settings.card_levels["standard"]


def queue_priority(settings: Settings, customer: Customer | None) -> int:
    """The agents' queue priority of a caller: their level's, 0 for an unknown caller."""
    return level_priority(settings, customer.member_level if customer is not None else None)


def level_priority(settings: Settings, level: str | None) -> int:
    """The agents' queue priority a level gives (higher is answered first); 0 for no level (unknown caller)."""
    return level_rules(settings, level).queue_priority if level is not None else 0


def discounted(settings: Settings, level: str, amount_fen: int) -> int:
    """`amount_fen` less the level's discount, rounded to the nearest fen (half up)."""
    pct = level_rules(settings, level).discount_percent
    return (amount_fen * (100 - pct) + 50) // 100


def check_amount(settings: Settings, amount_fen: object, what: str) -> int:
    """A money amount in fen for a card: a whole number above 0 and at most CARD_MAX_AMOUNT_FEN."""
    limit = settings.card_max_amount_fen
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
        raise ValidationError("the {what} must be a whole number of fen, e.g. 10000 for 100.00 yuan; got {amount_fen!r}", what=what, amount_fen=amount_fen)
    if amount_fen <= 0:
        raise ValidationError("the {what} must be more than 0; got {value} yuan", what=what, value=yuan(amount_fen))
    if amount_fen > limit:
        raise ValidationError("the {what} of {value} yuan is more than the {value2} yuan allowed at once (CARD_MAX_AMOUNT_FEN); check the amount, or split it", what=what, value=yuan(amount_fen), value2=yuan(limit))
    return amount_fen


def _need_reason(reason: str, what: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("a {what} needs a reason (e.g. paid in cash at the service hall, receipt 0123)", what=what)
    return reason[:255]


# ---------------------------------------------------------------- finding cards

def get(session: Session, number: str) -> MemberCard:
    """The card with this number (a replaced card's old number is not found)."""
    card = session.scalar(select(MemberCard).where(MemberCard.number == (number or "").strip()))
    if card is None:
        raise NotFound("there is no member card {number!r}; check the number on the card", number=number)
    return card


def card_of(session: Session, customer: Customer) -> MemberCard | None:
    """The customer's card that is not closed, if any."""
    return session.scalar(select(MemberCard).where(MemberCard.customer_id == customer.id,
                                                   MemberCard.status != "closed").order_by(MemberCard.id.desc()))


# The card's life as the audit trail records it (entity "member_card", id its number then):
# shown on the customer's timeline beside the ledger's money rows.
EVENTS = ("card.open", "card.level", "card.replace", "card.freeze", "card.unfreeze", "card.close")


def current_number(session: Session, number: str) -> str:
    """The number a card has now, given any number it ever had: a replaced card's old number
    leads, through the replacements' audit rows (old -> new), to its present one."""
    number = (number or "").strip()
    for _ in range(_MAX_REPLACEMENTS):
        newer = session.scalar(select(AuditLog.entity_id).where(
            AuditLog.action == "card.replace", AuditLog.entity == "member_card",
            AuditLog.data["old"].as_string() == number).order_by(AuditLog.id.desc()).limit(1))
        if newer is None:
            return number
        number = newer
    return number


def numbers_of(session: Session, card: MemberCard) -> list[str]:
    """Every number `card` has had: its present one first, then the ones it replaced, newest first."""
    numbers = [card.number]
    for _ in range(_MAX_REPLACEMENTS):
        older = session.scalar(select(AuditLog.data["old"].as_string()).where(
            AuditLog.action == "card.replace", AuditLog.entity == "member_card", AuditLog.entity_id == numbers[-1])
            .order_by(AuditLog.id.desc()).limit(1))
        if older is None or older in numbers:
            break
        numbers.append(older)
    return numbers


def events(session: Session, card: MemberCard, limit: int = 200) -> list[AuditLog]:
    """The card's opening, level changes, replacements, freezes and closing, newest first."""
    return list(session.scalars(select(AuditLog).where(
        AuditLog.entity == "member_card", AuditLog.entity_id.in_(numbers_of(session, card)),
        AuditLog.action.in_(EVENTS)).order_by(AuditLog.id.desc()).limit(limit)))


# A card replaced more often than this is a data error, not a chain to follow for ever.
_MAX_REPLACEMENTS = 50


def cards(session: Session, query: str = "", limit: int = 200) -> list[MemberCard]:
    """Cards, newest first; `query` matches a card number or the customer's name."""
    stmt = select(MemberCard).join(Customer, MemberCard.customer_id == Customer.id)
    if query.strip():
        q = f"%{query.strip()}%"
        stmt = stmt.where(MemberCard.number.like(q) | Customer.name.like(q))
    return list(session.scalars(stmt.order_by(MemberCard.id.desc()).limit(limit)))


def _new_number(session: Session) -> str:
    """A fresh 12-digit card number: random, so a lost card's replacement cannot be guessed from it."""
    while True:
        number = f"88{secrets.randbelow(10**10):010d}"
        if session.scalar(select(MemberCard.id).where(MemberCard.number == number)) is None:
            return number


# ---------------------------------------------------------------- card life

def open_card(session: Session, customer: Customer, actor: Actor, *, level: str | None = None,
              number: str | None = None) -> MemberCard:
    """Open a card for `customer` (one open card each), optionally setting their level. The customer's
    row is locked first, so two openings at once (or an opening during a merge of the record) run
    one after the other and the second sees the first's card (or the merge)."""
    customer = session.execute(select(Customer).where(Customer.id == customer.id).with_for_update()
                               .execution_options(populate_existing=True)).scalar_one()
    if customer.merged_into_id is not None:
        raise ValidationError("customer {cid} was already merged into customer {into}; use that record", cid=customer.id,
                              into=customer.merged_into_id)
    existing = card_of(session, customer)
    if existing is not None:
        raise ValidationError("{value} already has card {number}; top it up, or close it first", value=customer.name or 'this customer', number=existing.number)
    if level is not None:
        _set_level(session, customer, level, actor)
    card = MemberCard(customer_id=customer.id, number=number or _new_number(session), status="active",
                      balance_fen=0, opened_at=hotline_of(session).now())
    session.add(card)
    session.flush()
    audit.record(session, actor, "card.open", "member_card", card.number,
                 {"customer_id": customer.id, "level": customer.member_level})
    return card


def set_level(session: Session, card: MemberCard, level: str, actor: Actor) -> None:
    """Edit the card holder's level (普通 standard, 高级 senior, VIP vip)."""
    _check_open(card, "change the level of")
    _set_level(session, card.customer, level, actor, card)


def _set_level(session: Session, customer: Customer, level: str, actor: Actor,
               card: MemberCard | None = None) -> None:
    if level not in CARD_LEVEL_NAMES:
        raise ValidationError("level must be one of {card_level_names}; got {level!r}", card_level_names=', '.join(CARD_LEVEL_NAMES), level=level)
    if level != customer.member_level:
        audit.record(session, actor, "card.level", "member_card", card.number if card else "",
                     {"customer_id": customer.id, "from": customer.member_level, "to": level})
        customer.member_level = level


def replace(session: Session, card: MemberCard, actor: Actor, *, reason: str) -> MemberCard:
    """补卡: the card gets a new number; balance and ledger stay with it, the old number stops working."""
    reason = _need_reason(reason, "card replacement")
    card = _locked(session, card)
    _check_open(card, "replace")
    old = card.number
    card.number = _new_number(session)
    audit.record(session, actor, "card.replace", "member_card", card.number, {"old": old, "reason": reason})
    return card


def freeze(session: Session, card: MemberCard, actor: Actor, *, reason: str) -> None:
    """Freeze a card (reported lost, in dispute): it pays and takes top-ups no more until unfrozen."""
    _set_status(session, card, actor, "frozen", _need_reason(reason, "freeze"))


def unfreeze(session: Session, card: MemberCard, actor: Actor, *, reason: str = "") -> None:
    _set_status(session, card, actor, "active", (reason or "").strip())


def _set_status(session: Session, card: MemberCard, actor: Actor, status: str, reason: str) -> None:
    card = _locked(session, card)
    _check_open(card, "freeze or unfreeze")
    if card.status == status:
        raise ValidationError("card {number} is already {status}", number=card.number, status=status)
    audit.record(session, actor, "card.freeze" if status == "frozen" else "card.unfreeze", "member_card",
                 card.number, {"reason": reason})
    card.status = status


def close(session: Session, card: MemberCard, actor: Actor, *, reason: str,
          key: str | None = None) -> CardLedgerEntry | None:
    """退卡: refund the whole balance (a `refund` row) and close the card; the refund row, if any."""
    reason = _need_reason(reason, "card closing")
    card = _locked(session, card)
    _check_open(card, "close")
    entry = None
    if card.balance_fen > 0:
        entry = _post(session, card, "refund", -card.balance_fen, actor, reason=reason, key=key)
    card.status, card.closed_at = "closed", hotline_of(session).now()
    audit.record(session, actor, "card.close", "member_card", card.number,
                 {"reason": reason, "refunded_fen": -entry.amount_fen if entry else 0})
    return entry


def _check_open(card: MemberCard, what: str) -> None:
    if card.status == "closed":
        raise CardRefused("card {number} is closed (退卡); it cannot {what}: open a new card", number=card.number, what=what, reason="closed")


def _check_active(card: MemberCard, what: str) -> None:
    _check_open(card, what)
    if card.status == "frozen":
        raise CardRefused("card {number} is frozen; it cannot {what} until a supervisor unfreezes it", number=card.number, what=what,
                          reason="frozen")


# ---------------------------------------------------------------- money

def top_up(session: Session, card: MemberCard, amount_fen: int, actor: Actor, *, reason: str,
           key: str | None = None) -> CardLedgerEntry:
    """充值: money paid in (cash, transfer): a `topup` row of +amount."""
    hl = hotline_of(session)
    amount_fen = check_amount(hl.settings, amount_fen, "top-up")
    return _post(session, card, "topup", amount_fen, actor, reason=_need_reason(reason, "top-up"), key=key,
                 check=_check_active, what="take a top-up")


def spend(session: Session, card: MemberCard, amount_fen: int, actor: Actor, *, key: str,
          order: WorkOrder | None = None, reason: str = "") -> CardLedgerEntry:
    """Pay `amount_fen` from the card: a `spend` row of -amount, once per `key`."""
    if not (key or "").strip():
        raise ValidationError("a spend needs an idempotency key, so that a repeated request pays once")
    if order is not None and order.customer_id != card.customer_id:
        raise ValidationError("order {number} is not {value}'s; a card pays only its holder's orders", number=order.number, value=card.customer.name or 'the card holder')
    amount_fen = check_amount(hotline_of(session).settings, amount_fen, "amount to pay")
    return _post(session, card, "spend", -amount_fen, actor, reason=(reason or "").strip()[:255], key=key.strip(),
                 order=order, check=_check_active, what="pay")


def refund(session: Session, card: MemberCard, amount_fen: int, actor: Actor, *, reason: str,
           key: str | None = None) -> CardLedgerEntry:
    """Pay money on the card back to the customer (cash out): a `refund` row of -amount."""
    amount_fen = check_amount(hotline_of(session).settings, amount_fen, "refund")
    return _post(session, card, "refund", -amount_fen, actor, reason=_need_reason(reason, "refund"), key=key,
                 check=_check_open, what="refund")


def credit(session: Session, card: MemberCard, amount_fen: int, actor: Actor, *, reason: str,
           order: WorkOrder | None = None, key: str | None = None) -> CardLedgerEntry:
    """An `adjustment` of +amount that no money came in for: a complaint's compensation, a goodwill gesture."""
    amount_fen = check_amount(hotline_of(session).settings, amount_fen, "credit")
    return _post(session, card, "adjustment", amount_fen, actor, reason=_need_reason(reason, "credit"), order=order,
                 key=key, check=_check_open, what="take a credit")


def reverse(session: Session, entry: CardLedgerEntry, actor: Actor, *, reason: str) -> CardLedgerEntry:
    """Undo a ledger row by a `reversal` row of the opposite amount (each row at most once)."""
    reason = _need_reason(reason, "reversal")
    if entry.kind == "reversal":
        raise ValidationError("ledger row {id} is itself a reversal; make a new top-up, spend or credit instead", id=entry.id)
    card = _locked(session, entry.card)
    _check_open(card, "take a reversal")
    if session.scalar(select(CardLedgerEntry.id).where(CardLedgerEntry.reverses_id == entry.id)) is not None:
        raise ValidationError("ledger row {id} is already reversed", id=entry.id)
    return _post(session, card, "reversal", -entry.amount_fen, actor, reason=reason, order=entry.order,
                 reverses=entry)


def paid_by_card(session: Session, order: WorkOrder) -> int:
    """What the order's card payments come to now, in fen (spends less their reversals)."""
    return -(session.scalar(select(func.coalesce(func.sum(CardLedgerEntry.amount_fen), 0))
                            .where(CardLedgerEntry.order_id == order.id,
                                   CardLedgerEntry.kind.in_(("spend", "reversal")))) or 0)


def pay_order(session: Session, order: WorkOrder, actor: Actor, *, key: str) -> CardLedgerEntry:
    """Pay a completed order's amount due from its customer's card, the level's discount taken off."""
    if order.status not in PAYABLE_STATES:
        raise ValidationError("order {number} is {status}: only a completed order is paid by card", number=order.number, status=order.status)
    hl = hotline_of(session)
    customer = order.customer
    card = card_of(session, customer)
    if card is None:
        raise CardRefused("{value} of order {number} has no member card; take the payment another way", value=customer.name or 'the customer', number=order.number, reason="no_card")
    replay = _by_key(session, key)
    if replay is not None:
        return _replayed(replay, card, "spend", order)
    card = _locked(session, card)
    if paid_by_card(session, order) > 0:
        raise CardRefused("order {number} is already paid by card {number2}", number=order.number, number2=card.number, reason="already_paid")
    due = amount_due(order)
    if due <= 0:
        raise CardRefused("order {number} has nothing to pay", number=order.number, reason="nothing_due")
    amount = discounted(hl.settings, customer.member_level, due)
    pct = level_rules(hl.settings, customer.member_level).discount_percent
    return spend(session, card, amount, actor, key=key, order=order,
                 reason=f"order {order.number}: {yuan(due)} yuan less {pct}% ({customer.member_level})")


def complete_and_pay(session: Session, order: WorkOrder, actor: Actor, *, final_price_fen: int, notes: str = "",
                     key: str) -> CardLedgerEntry:
    """Complete the order and pay it by card in the same transaction: a refused payment
    (no card, frozen, too little on it) leaves the order as it was, to be completed and paid another way."""
    transition(session, order, "complete", actor, final_price_fen=final_price_fen, notes=notes)
    return pay_order(session, order, actor, key=key)


def _by_key(session: Session, key: str | None) -> CardLedgerEntry | None:
    if not key:
        return None
    return session.scalar(select(CardLedgerEntry).where(CardLedgerEntry.idempotency_key == key))


def _replayed(entry: CardLedgerEntry, card: MemberCard, kind: str, order: WorkOrder | None,
              amount_fen: int | None = None) -> CardLedgerEntry:
    """The row a key already made, when this request is that one again (same card, kind, order
    and, once known, amount); a key reused for anything else is refused, never taken as done."""
    if (entry.card_id != card.id or entry.kind != kind or entry.order_id != (order.id if order is not None else None)
            or (amount_fen is not None and entry.amount_fen != amount_fen)):
        raise CardRefused("key {idempotency_key!r} was already used for another {kind} on card {number}", idempotency_key=entry.idempotency_key, kind=entry.kind, number=entry.card.number, reason="key_reused")
    return entry


def _locked(session: Session, card: MemberCard) -> MemberCard:
    """The card read afresh under its row lock, held to the end of the transaction."""
    return session.execute(select(MemberCard).where(MemberCard.id == card.id).with_for_update()
                           .execution_options(populate_existing=True)).scalar_one()


def _post(session: Session, card: MemberCard, kind: str, amount_fen: int, actor: Actor, *, reason: str,
          key: str | None = None, order: WorkOrder | None = None, reverses: CardLedgerEntry | None = None,
          check: Callable[[MemberCard, str], None] | None = None, what: str = "") -> CardLedgerEntry:
    """The one writer of the ledger and the cached balance: both under the card's row lock, after
    `check(card, what)` (closed or frozen cards refused) on the card as locked.

    Spends on one card queue on that lock, so what needs no lock is done before it: the
    listeners' reads. Under the lock: the key's look-up, the ledger row (one INSERT ...
    RETURNING), and rows only added to the session (balance, audit, notice), which the commit
    writes in one flush."""
    hl = hotline_of(session)
    writers = [w for w in (listener(session, card, kind, order) for listener in hl.extensions.get(LISTENERS, ()))
               if w is not None]
    card = _locked(session, card)
    # Under the lock: a request with the same key that got here first has committed its row by now.
    replay = _by_key(session, key)
    if replay is not None:
        return _replayed(replay, card, kind, order, amount_fen)
    if check is not None:
        check(card, what)
    balance = card.balance_fen + amount_fen
    if balance < 0:
        raise CardRefused("card {number} has {value} yuan; {value2} yuan cannot be taken from it: top it up first, or take the payment another way", number=card.number, value=yuan(card.balance_fen), value2=yuan(-amount_fen), reason="insufficient")
    try:
        entry = session.scalars(insert(CardLedgerEntry).returning(CardLedgerEntry), [dict(
            card_id=card.id, kind=kind, amount_fen=amount_fen, balance_after_fen=balance,
            order_id=order.id if order is not None else None, reverses_id=reverses.id if reverses is not None else None,
            idempotency_key=key or None, reason=reason, actor_user_id=actor.user_id,
            actor_label=actor.label or actor.role, created_at=hl.now())]).one()
    except IntegrityError:
        # Only a unique key can fail here: the same key on another card, or a reversal raced.
        raise CardRefused("this {kind} was already recorded (key {key!r} or reversal of row {value}); reload the card", kind=kind, key=key, value=reverses.id if reverses else '-', reason="key_reused") from None
    card.balance_fen = balance
    audit.record(session, actor, f"card.{kind}", "member_card", card.number,
                 {"entry": entry.id, "amount_fen": amount_fen, "balance_fen": balance, "reason": reason,
                  "order": order.number if order is not None else None})
    for write in writers:
        write(card, entry)
    return entry


def add_listener(hl, listener: CardListener) -> None:
    """Tell `listener` of every new ledger row, in its transaction (see the module docstring)."""
    hl.extensions.setdefault(LISTENERS, []).append(listener)


# ---------------------------------------------------------------- checks and statements

@dataclass(frozen=True)
class Mismatch:
    number: str
    cached_fen: int
    ledger_fen: int


def check_balances(session: Session, card_ids: Optional[list[int]] = None) -> list[Mismatch]:
    """Cards whose cached balance is not the sum of their ledger (should always be none)."""
    sums = (select(CardLedgerEntry.card_id, func.sum(CardLedgerEntry.amount_fen).label("total"))
            .group_by(CardLedgerEntry.card_id).subquery())
    stmt = (select(MemberCard.number, MemberCard.balance_fen, func.coalesce(sums.c.total, 0))
            .outerjoin(sums, sums.c.card_id == MemberCard.id)
            .where(MemberCard.balance_fen != func.coalesce(sums.c.total, 0)))
    if card_ids is not None:
        stmt = stmt.where(MemberCard.id.in_(card_ids))
    return [Mismatch(n, c, s) for n, c, s in session.execute(stmt)]


def ledger(session: Session, card: MemberCard, start: datetime | None = None, end: datetime | None = None,
           kinds: tuple[str, ...] = KINDS) -> list[CardLedgerEntry]:
    """The card's ledger rows from `start` (included) to `end` (excluded), naive UTC, oldest first."""
    stmt = select(CardLedgerEntry).where(CardLedgerEntry.card_id == card.id, CardLedgerEntry.kind.in_(kinds))
    return list(session.scalars(_in_range(stmt, start, end).order_by(CardLedgerEntry.id)))


def spend_detail(session: Session, card: MemberCard, start: datetime | None = None,
                 end: datetime | None = None) -> list[CardLedgerEntry]:
    """A member's spends and the reversals of spends in the range, with the orders they paid."""
    stmt = (select(CardLedgerEntry).outerjoin(_REVERSED, CardLedgerEntry.reverses_id == _REVERSED.id)
            .where(CardLedgerEntry.card_id == card.id, _SPENDS))
    return list(session.scalars(_in_range(stmt, start, end).order_by(CardLedgerEntry.id)))


def _in_range(stmt, start: datetime | None, end: datetime | None):
    if start is not None:
        stmt = stmt.where(CardLedgerEntry.created_at >= start)
    if end is not None:
        stmt = stmt.where(CardLedgerEntry.created_at < end)
    return stmt


# The row a reversal undoes: spend figures count spends and the reversals of spends, nothing else.
_REVERSED = aliased(CardLedgerEntry)
_SPENDS = (CardLedgerEntry.kind == "spend") | ((CardLedgerEntry.kind == "reversal") & (_REVERSED.kind == "spend"))


@dataclass(frozen=True)
class SummaryRow:
    number: str
    name: str
    spends: int          # spend rows in the range
    amount_fen: int      # what they came to, less reversals of spends made in the range


def monthly_summary(session: Session, start: datetime, end: datetime) -> tuple[list[SummaryRow], int]:
    """Per card: number of spends and amount spent from `start` to `end` (naive UTC); and the total."""
    spent = case((CardLedgerEntry.kind == "spend", 1), else_=0)
    rows = session.execute(
        select(MemberCard.number, Customer.name, func.sum(spent), -func.sum(CardLedgerEntry.amount_fen))
        .join(MemberCard, CardLedgerEntry.card_id == MemberCard.id)
        .join(Customer, MemberCard.customer_id == Customer.id)
        .outerjoin(_REVERSED, CardLedgerEntry.reverses_id == _REVERSED.id)
        .where(CardLedgerEntry.created_at >= start, CardLedgerEntry.created_at < end, _SPENDS)
        .group_by(MemberCard.number, Customer.name).order_by(MemberCard.number)).all()
    summary = [SummaryRow(n, name, int(c or 0), int(a or 0)) for n, name, c, a in rows]
    return summary, sum(r.amount_fen for r in summary)


def period(tz, date_from: str = "", date_to: str = "", today: date | None = None) -> tuple[datetime, datetime, date, date]:
    """A statement's range from local dates typed as YYYY-MM-DD (both days included; default: this
    month so far): (start, end) in naive UTC with `end` excluded, and the two local days."""
    today = today or datetime.now(tz).date()

    def day(text: str, name: str, default: date) -> date:
        text = (text or "").strip()
        if not text:
            return default
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValidationError("{name} {value!r} is not a date; write YYYY-MM-DD, e.g. {today:%Y-%m-01}", name=name, value=text[:24], today=today) from None

    first, last = day(date_from, "from", today.replace(day=1)), day(date_to, "to", today)
    if last < first:
        raise ValidationError("the end date {last} is before the start date {first}; swap them", last=last, first=first)
    return (to_utc(datetime.combine(first, time.min), tz), to_utc(datetime.combine(last + timedelta(days=1), time.min), tz),
            first, last)
