"""Complaints (投诉): recorded from any channel, answered within a deadline.

The workflow, one complaint at a time:

- **open** (受理): recorded by an agent, the voice menu, an SMS or a low survey score, in one of
  CATEGORIES; a complaint about an order is assigned to the order's franchisee. It is due
  COMPLAINT_DUE_HOURS later (the 24-hour feedback commitment); the complainant is told it was
  accepted (listener "accepted").
- **replied**: the franchisee concerned gave its account of what happened (`give_account`).
- **resolved**: the platform (supervisor, admin) decided and answered the complainant, with an
  optional compensation (`decide`; listener "answered"). `reopen` sends it back to open with a
  new deadline.
- Past its deadline, an unresolved complaint is escalated once per deadline (`escalate_overdue`,
  a scheduler job) to the supervisors and the district manager of the order's district.

Every change is an audit entry (entity "complaint") with its actor, and each change is flushed
against the complaint's version column, so two people changing one complaint at once cannot both
win: the second gets ConcurrentChange.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit, cards
from .actors import SYSTEM, Actor
from .bus import publish_after_commit
from .concurrency import flush_or_conflict
from .context import hotline_of
from .customers import find_by_phone
from .errors import ConcurrentChange, NotFound, PermissionDenied, ValidationError
from .escalation import managers_to_tell
from .models import AuditLog, Complaint, Customer, MemberCard, User, UserDistrict, WorkOrder
from .pricing import yuan
from .timeutil import in_quiet_hours, to_utc

SOURCES = ("ivr", "sms", "agent", "survey", "twilio")


@dataclass(frozen=True)
class Category:
    code: str
    name_zh: str
    name_en: str


CATEGORIES: tuple[Category, ...] = (
    Category("service", "服务质量", "Service quality"),
    Category("lateness", "迟到/延误", "Lateness"),
    Category("damage", "物品损坏", "Damage"),
    Category("price", "价格收费", "Price"),
    Category("attitude", "服务态度", "Attitude"),
    Category("other", "其他", "Other"),
)
CATEGORY_OF = {c.code: c for c in CATEGORIES}

STATUSES = ("open", "replied", "resolved")
UNRESOLVED = ("open", "replied")
# Who may decide, compensate and reopen: the platform's side. The franchisee concerned answers
# with its account; agents and callback staff open and read complaints.
DECIDERS = frozenset({"supervisor", "admin"})
# Compensation kinds a decision may carry, with its amount in fen: a refund (at most the order's
# price), or a credit on the complainant's open member card (`card_credit`: tickets.cards.credit,
# in the decision's transaction). Both at most COMPLAINT_MAX_REFUND_YUAN.
COMPENSATION_KINDS = ("refund", "card_credit")
ESCALATE_TO_ROLES = ("supervisor",)


def category(code: str) -> Category:
    """The category `code`, or a ValidationError naming the known ones."""
    found = CATEGORY_OF.get((code or "").strip())
    if found is None:
        raise ValidationError("complaint category {code!r} is not one of {categories}", code=code,
                              categories=", ".join(CATEGORY_OF))
    return found


def _notify(session: Session, complaint: Complaint, what: str) -> None:
    for listener in hotline_of(session).complaint_listeners:
        listener(session, complaint, what)


def _record(session: Session, complaint: Complaint, actor: Actor, action: str, data: dict) -> None:
    """Flush the change against the complaint's version, then write it to the audit trail."""
    flush_or_conflict(session, f"complaint {complaint.id}")
    audit.record(session, actor, f"complaint.{action}", "complaint", complaint.id, data)
    publish_after_commit(session, f"complaint.{action}", {"complaint_id": complaint.id, "status": complaint.status})


def open_complaint(session: Session, *, actor: Actor, source: str, phone: str = "", order: WorkOrder | None = None,
                   text: str = "", recording: str = "", category_code: str = "other") -> Complaint:
    """Record a complaint (受理), assigned to the franchisee of its order, due COMPLAINT_DUE_HOURS from now."""
    if source not in SOURCES:
        raise ValidationError("complaint source {source!r} is not one of {sources}", source=source, sources=", ".join(SOURCES))
    if not (text.strip() or recording or order):
        raise ValidationError("a complaint needs a text, a recording or an order")
    cat = category(category_code)
    hl = hotline_of(session)
    now = hl.now()
    cust = order.customer if order else find_by_phone(session, phone)
    c = Complaint(order_id=order.id if order else None, customer_id=cust.id if cust else None,
                  franchisee_id=order.franchisee_id if order else None,
                  phone=phone or (order.phone if order else ""), source=source, text=text.strip()[:4000],
                  recording=recording, status="open", category=cat.code, created_at=now,
                  due_at=now + timedelta(hours=hl.settings.complaint_due_hours))
    session.add(c)
    session.flush()
    audit.record(session, actor, "complaint.open", "complaint", c.id,
                 {"order": order.number if order else None, "source": source, "category": cat.code,
                  "franchisee_id": c.franchisee_id})
    publish_after_commit(session, "complaint.open", {"complaint_id": c.id, "order": order.number if order else None})
    _notify(session, c, "accepted")
    return c


def _visible(actor: Actor):
    """The complaints `actor` may see, as a WHERE condition (None: all): a franchisee the ones
    concerning it, a district manager those about orders of their districts."""
    if actor.role == "franchisee":
        return Complaint.franchisee_id == actor.franchisee_id
    if actor.role == "district_manager":
        return Complaint.order_id.in_(select(WorkOrder.id).where(WorkOrder.district_id.in_(actor.district_ids)))
    return None


def get(session: Session, complaint_id: int, actor: Actor) -> Complaint:
    """The complaint `complaint_id` if `actor` may see it (see `_visible`), else NotFound."""
    where = _visible(actor)
    c = session.get(Complaint, complaint_id)
    if c is None or (where is not None and session.scalar(select(Complaint.id).where(Complaint.id == c.id, where)) is None):
        raise NotFound("no complaint {complaint_id}", complaint_id=complaint_id)
    return c


def set_category(session: Session, complaint: Complaint, code: str, actor: Actor) -> Complaint:
    """File the complaint under another category."""
    cat = category(code)
    if cat.code == complaint.category:
        return complaint
    before, complaint.category = complaint.category, cat.code
    _record(session, complaint, actor, "category", {"before": before, "after": cat.code})
    return complaint


def _unresolved(complaint: Complaint) -> None:
    if complaint.status not in UNRESOLVED:
        raise ValidationError("complaint {id} is already {status}; reopen it first", id=complaint.id,
                              status=complaint.status)


def _first_response(complaint: Complaint, now: datetime) -> None:
    if complaint.first_response_at is None:
        complaint.first_response_at = now


def give_account(session: Session, complaint: Complaint, account: str, actor: Actor) -> Complaint:
    """The franchisee concerned answers with its account of what happened (open -> replied)."""
    if actor.role != "franchisee" or complaint.franchisee_id is None or actor.franchisee_id != complaint.franchisee_id:
        raise PermissionDenied("only the franchisee the complaint concerns gives its account of it")
    _unresolved(complaint)
    if not account.strip():
        raise ValidationError("write your account of what happened: what was done, by whom, and what you propose")
    now = hotline_of(session).now()
    complaint.franchisee_account = account.strip()[:4000]
    complaint.account_at, complaint.account_by, complaint.status = now, actor.user_id, "replied"
    _first_response(complaint, now)
    _record(session, complaint, actor, "account", {"account": complaint.franchisee_account})
    return complaint


def _compensation(complaint: Complaint, kind: str, amount_fen: int, max_refund_fen: int) -> tuple[str, int]:
    kind = (kind or "").strip()
    if not kind:
        if amount_fen:
            raise ValidationError("choose the kind of compensation for the amount, or leave the amount empty")
        return "", 0
    if kind not in COMPENSATION_KINDS:
        raise ValidationError("compensation kind {kind!r} is not one of {kinds}", kind=kind,
                              kinds=", ".join(COMPENSATION_KINDS))
    if amount_fen <= 0:
        raise ValidationError("a compensation needs an amount above 0 yuan, e.g. 50")
    if kind == "card_credit":
        # Goodwill on the card, not the order's money back: only the platform's limit applies.
        if amount_fen > max_refund_fen:
            raise ValidationError("a card credit of {amount} yuan is more than COMPLAINT_MAX_REFUND_YUAN, {limit} yuan",
                                  amount=yuan(amount_fen), limit=yuan(max_refund_fen))
        return kind, amount_fen
    order = complaint.order
    paid = (order.final_price_fen if order.final_price_fen is not None else order.price_total_fen) if order else None
    limit = min(max_refund_fen, paid) if paid else max_refund_fen
    if amount_fen > limit:
        if paid and paid <= max_refund_fen:
            raise ValidationError("a refund of {amount} yuan is more than the order's price, {limit} yuan",
                                  amount=yuan(amount_fen), limit=yuan(limit))
        raise ValidationError("a refund of {amount} yuan is more than COMPLAINT_MAX_REFUND_YUAN, {limit} yuan",
                              amount=yuan(amount_fen), limit=yuan(limit))
    return kind, amount_fen


def decide(session: Session, complaint: Complaint, answer: str, actor: Actor, *, compensation_kind: str = "",
           compensation_fen: int = 0) -> Complaint:
    """The platform's decision, given to the complainant (-> resolved), with an optional compensation."""
    if actor.role not in DECIDERS:
        raise PermissionDenied("only a supervisor or an admin decides a complaint")
    _unresolved(complaint)
    if not answer.strip():
        raise ValidationError("resolving a complaint needs the answer given to the customer")
    hl = hotline_of(session)
    kind, amount = _compensation(complaint, compensation_kind, compensation_fen, hl.settings.complaint_max_refund_fen)
    card = _card_to_credit(session, complaint) if kind == "card_credit" else None
    now = hl.now()
    complaint.status = "resolved"
    complaint.answer = answer.strip()[:4000]
    complaint.compensation_kind, complaint.compensation_fen = kind, amount
    complaint.resolved_at, complaint.resolved_by = now, actor.user_id
    _first_response(complaint, now)
    data = {"answer": complaint.answer, "compensation_kind": kind, "compensation_fen": amount}
    if card is not None:
        data["card"] = card.number
    _record(session, complaint, actor, "decide", data)
    if card is not None:
        # After the version check: a decision that lost a race credits nothing. Keyed per answer,
        # so a reopened complaint decided again may credit again, a replay never.
        cards.credit(session, card, amount, actor, reason=f"complaint {complaint.id} compensation",
                     order=complaint.order, key=f"complaint-{complaint.id}-credit-{complaint.reopen_count}")
    _notify(session, complaint, "answered")
    return complaint


def _card_to_credit(session: Session, complaint: Complaint) -> MemberCard:
    """The complainant's open member card, or a refusal saying why there is none to credit."""
    customer = session.get(Customer, complaint.customer_id) if complaint.customer_id is not None else None
    card = cards.card_of(session, customer) if customer is not None else None
    if card is None:
        raise ValidationError("complaint {id}: the complainant has no open member card to credit; choose a refund, "
                              "or open a card first", id=complaint.id)
    if card.status != "active":
        raise ValidationError("complaint {id}: the complainant's member card {number} is frozen; unfreeze it first, "
                              "or choose a refund", id=complaint.id, number=card.number)
    return card


def reopen(session: Session, complaint: Complaint, reason: str, actor: Actor) -> Complaint:
    """A resolved complaint back to open (the complainant was not satisfied), due again from now."""
    if actor.role not in DECIDERS:
        raise PermissionDenied("only a supervisor or an admin reopens a complaint")
    if complaint.status != "resolved":
        raise ValidationError("complaint {id} is {status}, not resolved: there is nothing to reopen", id=complaint.id,
                              status=complaint.status)
    if not reason.strip():
        raise ValidationError("say why the complaint is reopened, e.g. the customer does not accept the answer")
    hl = hotline_of(session)
    complaint.status, complaint.escalated_at = "open", None
    complaint.due_at = hl.now() + timedelta(hours=hl.settings.complaint_due_hours)
    complaint.reopen_count += 1
    _record(session, complaint, actor, "reopen", {"reason": reason.strip()[:1000], "due_at": complaint.due_at.isoformat()})
    return complaint


def district_of(complaint: Complaint) -> int | None:
    """The district a complaint belongs to: its order's (None for a complaint about no order)."""
    return complaint.order.district_id if complaint.order is not None else None


def escalation_recipients(session: Session, complaint: Complaint) -> list[User]:
    """Who an overdue complaint goes to: the supervisors and the managers of its order's district."""
    district_id = district_of(complaint)
    managers = select(UserDistrict.user_id).where(UserDistrict.district_id == district_id) \
        if district_id is not None else None
    who = User.role.in_(ESCALATE_TO_ROLES)
    if managers is not None:
        who = who | ((User.role == "district_manager") & User.id.in_(managers))
    return list(session.scalars(select(User).where(User.active.is_(True), who).order_by(User.id)))


def escalate_overdue(session: Session, actor: Actor) -> list[int]:
    """Escalate every unresolved complaint past its deadline and not yet escalated for it; the ids.

    Each escalation names whom it tells by SMS (`told`: tickets.escalation) and runs the complaint
    listeners ("escalated": the sms package texts them, once per deadline). Not in QUIET_HOURS:
    what falls due at night escalates in the morning, as late orders do.

    Derived from the rows alone (escalated_at is set in the same flush), so a second run, or a
    run racing another, escalates nothing twice: a complaint changed meanwhile is skipped and
    found again next run if still due.
    """
    hl = hotline_of(session)
    now = hl.now()
    if in_quiet_hours(hl.settings, now):
        return []
    due = session.scalars(select(Complaint).where(Complaint.status.in_(UNRESOLVED), Complaint.due_at < now,
                                                  Complaint.escalated_at.is_(None)).order_by(Complaint.due_at))
    done = []
    for c in due.all():
        try:
            with session.begin_nested():
                to = escalation_recipients(session, c)
                told = managers_to_tell(session, district_of(c))
                c.escalated_at = now
                _record(session, c, actor, "escalate", {"recipients": [u.username for u in to],
                                                        "told": [u.username for u in told],
                                                        "overdue_minutes": int((now - c.due_at).total_seconds() // 60)})
                _notify(session, c, "escalated")
        except ConcurrentChange:
            continue    # changed by someone meanwhile: the next run sees it afresh
        done.append(c.id)
    return done


def open_complaints(session: Session, actor: Actor = SYSTEM) -> list[Complaint]:
    """Unresolved complaints `actor` may see, overdue first (earliest due date first)."""
    where = [Complaint.status.in_(UNRESOLVED)]
    if (visible := _visible(actor)) is not None:
        where.append(visible)
    return list(session.scalars(select(Complaint).where(*where).order_by(Complaint.due_at)))


def history(session: Session, complaint: Complaint) -> list[AuditLog]:
    """Every change of the complaint, oldest first, with its actor (the audit trail's entries)."""
    return list(session.scalars(select(AuditLog).where(AuditLog.entity == "complaint",
                                                       AuditLog.entity_id == str(complaint.id)).order_by(AuditLog.id)))


@dataclass(frozen=True)
class ClosedFilter:
    """The closed-complaints list's filters; empty values filter nothing."""
    category: str = ""
    franchisee_id: int | None = None
    resolved_from: date | None = None     # local days, both included
    resolved_to: date | None = None
    compensated: bool = False


@dataclass(frozen=True)
class Page:
    items: list[Complaint]
    total: int
    page: int
    pages: int


def closed(session: Session, flt: ClosedFilter, actor: Actor, *, page: int = 1, per_page: int = 25) -> Page:
    """Resolved complaints, latest first, filtered and paged; a franchisee sees only its own."""
    if flt.category:
        category(flt.category)
    tz = hotline_of(session).tz
    where = [Complaint.status == "resolved"]
    if (visible := _visible(actor)) is not None:
        where.append(visible)
    if flt.category:
        where.append(Complaint.category == flt.category)
    if flt.franchisee_id is not None:
        where.append(Complaint.franchisee_id == flt.franchisee_id)
    if flt.resolved_from is not None:
        where.append(Complaint.resolved_at >= to_utc(datetime.combine(flt.resolved_from, time()), tz))
    if flt.resolved_to is not None:
        where.append(Complaint.resolved_at < to_utc(datetime.combine(flt.resolved_to + timedelta(days=1), time()), tz))
    if flt.compensated:
        where.append(Complaint.compensation_kind != "")
    total = session.scalar(select(func.count()).select_from(Complaint).where(*where))
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    items = session.scalars(select(Complaint).where(*where).order_by(Complaint.resolved_at.desc(), Complaint.id.desc())
                            .offset((page - 1) * per_page).limit(per_page))
    return Page(list(items), total, page, pages)


# ---------------------------------------------------------------- the 24-hour commitment, measured

def response_and_close(created_at: datetime, first_response_at: datetime | None,
                       closed_at: datetime | None) -> tuple[float | None, float | None]:
    """Seconds from opening to the first response (the franchisee's account or the decision) and
    to the close (`closed_at`: when it was resolved, for a complaint resolved now); None when not yet."""
    return (None if first_response_at is None else (first_response_at - created_at).total_seconds(),
            None if closed_at is None else (closed_at - created_at).total_seconds())


@dataclass(frozen=True)
class HandlingTimes:
    """Complaints opened in a period, and how fast they were answered (minutes)."""
    opened: int
    responded: int
    resolved: int
    responded_in_time: int          # first response within COMPLAINT_DUE_HOURS of opening
    avg_first_response_minutes: int | None
    avg_close_minutes: int | None
    max_close_minutes: int | None


def handling_times(session: Session, start: datetime, end: datetime, *, franchisee_id: int | None = None) -> HandlingTimes:
    """Time to first response and time to close of the complaints opened in [start, end) (UTC),
    optionally of one franchisee: the figures of the 24-hour feedback commitment."""
    where = [Complaint.created_at >= start, Complaint.created_at < end]
    if franchisee_id is not None:
        where.append(Complaint.franchisee_id == franchisee_id)
    rows = session.execute(select(Complaint.created_at, Complaint.first_response_at, Complaint.resolved_at,
                                  Complaint.status).where(*where)).all()
    limit = hotline_of(session).settings.complaint_due_hours * 60
    times = [response_and_close(r.created_at, r.first_response_at, r.resolved_at if r.status == "resolved" else None)
             for r in rows]
    first = [int(a // 60) for a, _ in times if a is not None]
    close = [int(b // 60) for _, b in times if b is not None]
    return HandlingTimes(opened=len(rows), responded=len(first), resolved=len(close),
                         responded_in_time=sum(1 for m in first if m <= limit),
                         avg_first_response_minutes=sum(first) // len(first) if first else None,
                         avg_close_minutes=sum(close) // len(close) if close else None,
                         max_close_minutes=max(close) if close else None)


def recording_source(settings, complaint: Complaint) -> Path | str:
    """Where a voice complaint's recording is: a file under RECORDINGS_DIR (Asterisk), or the URL
    the provider keeps it at (Twilio). A path outside RECORDINGS_DIR is never served."""
    rec = complaint.recording
    if not rec:
        raise NotFound("complaint {id} has no recording", id=complaint.id)
    if rec.startswith(("https://", "http://")):
        return rec
    root = settings.recordings_dir.resolve()
    path = (root / rec).resolve()          # an absolute `rec` stays itself
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound("the recording of complaint {id} is not in RECORDINGS_DIR ({root})", id=complaint.id, root=root)
    return path
