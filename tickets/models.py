"""The data model: SQLAlchemy 2.0 typed models for every table Hotline keeps.

Times are stored as naive UTC datetimes; money as integer fen; phone numbers as E.164 strings.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Optional

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, false)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Naive UTC now: what every DateTime column holds."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


# ---------------------------------------------------------------- places and catalog

class District(Base):
    __tablename__ = "districts"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64), unique=True)
    name_en: Mapped[str] = mapped_column(String(64))
    aliases: Mapped[list["DistrictAlias"]] = relationship(back_populates="district", cascade="all, delete-orphan")


class DistrictAlias(Base):
    """A string that, found in a free-text address, points at a district (road, landmark, old name)."""
    __tablename__ = "district_aliases"
    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(64), unique=True)
    district: Mapped[District] = relationship(back_populates="aliases")


class Service(Base):
    """A catalog item (服务项目). Prices are demo values in fen."""
    __tablename__ = "services"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)          # SMS code, e.g. BJ
    category: Mapped[str] = mapped_column(String(16), index=True)      # household, cleaning, repair, moving, other
    category_digit: Mapped[int] = mapped_column(Integer)               # voice menu: the category key
    menu_digit: Mapped[int] = mapped_column(Integer)                   # voice menu: the item key in its category
    name_zh: Mapped[str] = mapped_column(String(32))
    name_en: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(8))                       # hour, visit, month, sqm
    guide_price_fen: Mapped[int] = mapped_column(Integer)
    default_quantity: Mapped[int] = mapped_column(Integer, default=1)
    holiday_pay: Mapped[bool] = mapped_column(Boolean, default=False)  # hourly work: holidays charged double
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)    # reachable by the emergency key
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (UniqueConstraint("category_digit", "menu_digit"),)


# ---------------------------------------------------------------- customers

class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    language: Mapped[Optional[str]] = mapped_column(String(2))         # zh, en; None = ask
    # standard 普通, senior 高级, vip: what each gives is CARD_LEVELS (tickets.cards); the money is on MemberCard.
    member_level: Mapped[str] = mapped_column(String(8), default="standard")
    notes: Mapped[str] = mapped_column(Text, default="")
    # Asked not to be phoned: outbound calls and survey messages skip them (tickets.customers.may_contact).
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # How the satisfaction survey reaches them: "sms" (invitation, one resend, then a call) or
    # "phone" (the outbound survey call at once, no SMS): tickets.outbound.SURVEY_CHANNELS.
    survey_channel: Mapped[str] = mapped_column(String(8), default="sms", server_default="sms")
    # Set when merged into another record (tickets.customer_records.merge): old links lead there.
    merged_into_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    phones: Mapped[list["CustomerPhone"]] = relationship(back_populates="customer", cascade="all, delete-orphan")
    addresses: Mapped[list["Address"]] = relationship(back_populates="customer", cascade="all, delete-orphan",
                                                      order_by="Address.id")
    # Bumped by each edit and merge of the record (tickets.customer_records, under a row lock): an
    # edit made on an older version is refused. Not a version_id_col: bookings and calls also
    # write the row (a name given on first contact) and must not fail on a concurrent edit.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")

    @property
    def default_address(self) -> Optional["Address"]:
        for a in self.addresses:
            if a.is_default:
                return a
        return self.addresses[0] if self.addresses else None


class CustomerPhone(Base):
    """One of a customer's numbers; any of them identifies the customer on an incoming call."""
    __tablename__ = "customer_phones"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    e164: Mapped[str] = mapped_column(String(20), unique=True)
    label: Mapped[str] = mapped_column(String(16), default="mobile")
    customer: Mapped[Customer] = relationship(back_populates="phones")


class Address(Base):
    __tablename__ = "addresses"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(255))
    district_id: Mapped[Optional[int]] = mapped_column(ForeignKey("districts.id"))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    customer: Mapped[Customer] = relationship(back_populates="addresses")
    district: Mapped[Optional[District]] = relationship()


# ---------------------------------------------------------------- member cards (会员卡)

class MemberCard(Base):
    """A customer's prepaid card. Its money is the sum of its ledger; `balance_fen` caches that sum
    and is only written by tickets.cards together with a ledger row, under the card's row lock."""
    __tablename__ = "member_cards"
    id: Mapped[int] = mapped_column(primary_key=True)
    # A replaced card (补卡) keeps its row, ledger and balance and gets a new number.
    number: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(8), default="active")    # active, frozen, closed
    balance_fen: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    closed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    customer: Mapped[Customer] = relationship()


class CardLedgerEntry(Base):
    """One money move on a card, never changed or deleted: a mistake gets a reversal row.
    `amount_fen` is signed (top-up and credits +, spend and refund -)."""
    __tablename__ = "card_ledger"
    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("member_cards.id"))
    kind: Mapped[str] = mapped_column(String(12))               # topup, spend, refund, adjustment, reversal
    amount_fen: Mapped[int] = mapped_column(Integer)
    balance_after_fen: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_orders.id"), index=True)
    # A row is reversed at most once: the unique key refuses a second reversal even from a racing session.
    reverses_id: Mapped[Optional[int]] = mapped_column(ForeignKey("card_ledger.id"), unique=True)
    # A repeated request (double click, client retry) finds the first answer instead of paying twice.
    idempotency_key: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    reason: Mapped[str] = mapped_column(String(255), default="")
    actor_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    card: Mapped[MemberCard] = relationship()
    order: Mapped[Optional["WorkOrder"]] = relationship()
    # Statements read a card's rows in a date range, and the monthly summary all spends of a range.
    __table_args__ = (Index("ix_card_ledger_card_created", "card_id", "created_at"),
                      Index("ix_card_ledger_created_kind", "created_at", "kind"))


# ---------------------------------------------------------------- franchisees and workers

class Franchisee(Base):
    __tablename__ = "franchisees"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    contact_phone: Mapped[str] = mapped_column(String(20), default="")
    status: Mapped[str] = mapped_column(String(12), default="active")  # active, suspended
    daily_capacity: Mapped[int] = mapped_column(Integer, default=20)
    # "HH:MM-HH:MM" local, every day; "" = BUSINESS_HOURS. Accept deadlines count only these (tickets.workhours).
    business_hours: Mapped[str] = mapped_column(String(11), default="", server_default="")
    rating_x100: Mapped[int] = mapped_column(Integer, default=400)     # survey average × 100; 4.00 until scored
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    districts: Mapped[list["FranchiseeDistrict"]] = relationship(back_populates="franchisee",
                                                                 cascade="all, delete-orphan")
    services: Mapped[list["FranchiseeService"]] = relationship(cascade="all, delete-orphan")
    workers: Mapped[list["Worker"]] = relationship(back_populates="franchisee")


class FranchiseeDistrict(Base):
    """A district a franchisee serves; priority 1 is the district's protected first choice."""
    __tablename__ = "franchisee_districts"
    franchisee_id: Mapped[int] = mapped_column(ForeignKey("franchisees.id", ondelete="CASCADE"), primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="CASCADE"), primary_key=True)
    priority: Mapped[int] = mapped_column(Integer, default=1)
    franchisee: Mapped[Franchisee] = relationship(back_populates="districts")
    district: Mapped[District] = relationship()


class FranchiseeService(Base):
    __tablename__ = "franchisee_services"
    franchisee_id: Mapped[int] = mapped_column(ForeignKey("franchisees.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    service: Mapped[Service] = relationship()


class Worker(Base):
    """A franchisee's worker (服务人员) with the qualifications dispatch checks."""
    __tablename__ = "workers"
    id: Mapped[int] = mapped_column(primary_key=True)
    franchisee_id: Mapped[int] = mapped_column(ForeignKey("franchisees.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20), default="")
    id_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    health_cert_expires: Mapped[Optional[date]] = mapped_column(Date)
    training_cert: Mapped[str] = mapped_column(String(64), default="")
    background_checked: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    rating_x100: Mapped[int] = mapped_column(Integer, default=400)
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    franchisee: Mapped[Franchisee] = relationship(back_populates="workers")
    skills: Mapped[list["WorkerSkill"]] = relationship(cascade="all, delete-orphan")


class WorkerSkill(Base):
    __tablename__ = "worker_skills"
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)


# ---------------------------------------------------------------- users

ROLES = ("agent", "dispatcher", "district_manager", "callback", "supervisor", "admin", "franchisee")


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), index=True)
    franchisee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("franchisees.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(2), default="zh")
    presence: Mapped[str] = mapped_column(String(12), default="away")  # available, busy, away
    presence_since: Mapped[Optional[datetime]] = mapped_column(DateTime)   # when `presence` last changed
    extension: Mapped[str] = mapped_column(String(32), default="")     # PJSIP endpoint or Twilio client name
    # E.164 or "": where a district manager (or supervisor) is told by SMS of an escalation (tickets.escalation).
    phone: Mapped[str] = mapped_column(String(20), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    franchisee: Mapped[Optional[Franchisee]] = relationship()
    districts: Mapped[list["UserDistrict"]] = relationship(cascade="all, delete-orphan")


class UserDistrict(Base):
    """The districts a district manager is responsible for."""
    __tablename__ = "user_districts"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("districts.id", ondelete="CASCADE"), primary_key=True)


class ConsoleSession(Base):
    """One console log-in (one browser), looked up on every request: ending it ends that
    browser's access at once, whatever cookie it still holds."""
    __tablename__ = "console_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the random token in the cookie: a leaked table does not give working cookies.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    ended_reason: Mapped[str] = mapped_column(String(24), default="")   # logout, admin, password, role...


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


# ---------------------------------------------------------------- work orders

class OrderCounter(Base):
    """Per-day sequence behind work-order numbers; incremented inside the creating transaction."""
    __tablename__ = "order_counters"
    day: Mapped[str] = mapped_column(String(5), primary_key=True)      # YYDDD
    last: Mapped[int] = mapped_column(Integer, default=0)


class WorkOrder(Base):
    __tablename__ = "work_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(10), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(12))                   # ivr, agent, sms, online, twilio
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)         # E.164 number on the order
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    scheduled_start: Mapped[datetime] = mapped_column(DateTime, index=True)
    address_text: Mapped[str] = mapped_column(String(255), default="")
    address_id: Mapped[Optional[int]] = mapped_column(ForeignKey("addresses.id"))
    district_id: Mapped[Optional[int]] = mapped_column(ForeignKey("districts.id"), index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Indexed by ix_work_orders_franchisee_day and ix_work_orders_franchisee_status, which lead with it.
    franchisee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("franchisees.id"))
    worker_id: Mapped[Optional[int]] = mapped_column(ForeignKey("workers.id"))
    dispatched_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    accept_deadline: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    price_total_fen: Mapped[int] = mapped_column(Integer, default=0)
    final_price_fen: Mapped[Optional[int]] = mapped_column(Integer)
    needs_agent: Mapped[bool] = mapped_column(Boolean, default=False)  # flagged: an agent must look
    flag_reason: Mapped[str] = mapped_column(String(255), default="")
    unassigned_reason: Mapped[str] = mapped_column(String(255), default="")  # why no franchisee was found
    voice_note: Mapped[str] = mapped_column(String(255), default="")   # recorded address/complaint file
    notes: Mapped[str] = mapped_column(Text, default="")
    completion_notes: Mapped[str] = mapped_column(Text, default="")
    call_id: Mapped[Optional[int]] = mapped_column(ForeignKey("calls.id", use_alter=True, name="fk_work_orders_call_id"))
    # Follow-through (tickets.followup). The service time the day-before reminder went out for:
    # a rescheduled order no longer matches it and is reminded again.
    reminded_for: Mapped[Optional[datetime]] = mapped_column(DateTime)
    # Urging (催办) of the order's current lateness: why it is late (not_accepted, not_started,
    # not_completed), how often its franchisee was urged for it, when last, and when it went to
    # the district manager. A new kind of lateness starts the count again.
    urge_reason: Mapped[str] = mapped_column(String(16), default="", server_default="")
    urge_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    urged_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    escalated_at: Mapped[Optional[datetime]] = mapped_column(DateTime, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    customer: Mapped[Customer] = relationship()
    service: Mapped[Service] = relationship()
    district: Mapped[Optional[District]] = relationship()
    franchisee: Mapped[Optional[Franchisee]] = relationship()
    worker: Mapped[Optional[Worker]] = relationship()
    price_lines: Mapped[list["PriceLine"]] = relationship(back_populates="order", cascade="all, delete-orphan",
                                                          order_by="PriceLine.id")
    events: Mapped[list["WorkOrderEvent"]] = relationship(back_populates="order", cascade="all, delete-orphan",
                                                          order_by="WorkOrderEvent.id")
    # Dispatch counts a franchisee's orders on the service day and its open orders with each
    # booking: both are index range scans, whatever the size of the order history.
    # Optimistic concurrency: every UPDATE says which version it read, so of two people changing
    # one order at once (accept vs expire) the second is refused instead of silently winning.
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    __table_args__ = (Index("ix_work_orders_franchisee_day", "franchisee_id", "scheduled_start", "status"),
                      Index("ix_work_orders_franchisee_status", "franchisee_id", "status"))
    __mapper_args__ = {"version_id_col": version}


class PriceLine(Base):
    """One line of an order's price; the order's total is always the sum of its lines."""
    __tablename__ = "price_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(12))                      # base, holiday, penalty, final
    description: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    unit_price_fen: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer)
    order: Mapped[WorkOrder] = relationship(back_populates="price_lines")


class WorkOrderEvent(Base):
    """The audit trail: every change of a work order, who made it and when."""
    __tablename__ = "work_order_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[Optional[str]] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(64), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    order: Mapped[WorkOrder] = relationship(back_populates="events")


class Complaint(Base):
    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_orders.id"), index=True)
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"), index=True)
    phone: Mapped[str] = mapped_column(String(20), default="")
    source: Mapped[str] = mapped_column(String(12))                    # ivr, sms, agent, survey, twilio
    text: Mapped[str] = mapped_column(Text, default="")
    recording: Mapped[str] = mapped_column(String(255), default="")
    status: Mapped[str] = mapped_column(String(12), default="open")    # open, replied, resolved (tickets.complaints)
    category: Mapped[str] = mapped_column(String(16), default="other", server_default="other")
    # The franchisee concerned (the order's), who gives its account of what happened.
    franchisee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("franchisees.id"), index=True)
    franchisee_account: Mapped[str] = mapped_column(Text, default="", server_default="")
    account_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    account_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    escalated_at: Mapped[Optional[datetime]] = mapped_column(DateTime)    # cleared by a reopen, with a new due_at
    # The 24-hour commitment's measures: the first answer (the franchisee's account or the platform's decision).
    first_response_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    answer: Mapped[str] = mapped_column(Text, default="")
    compensation_kind: Mapped[str] = mapped_column(String(16), default="", server_default="")   # "", refund
    compensation_fen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    resolved_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    resolved_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    order: Mapped[Optional[WorkOrder]] = relationship()
    customer: Mapped[Optional[Customer]] = relationship()
    franchisee: Mapped[Optional[Franchisee]] = relationship()
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    __mapper_args__ = {"version_id_col": version}


class Survey(Base):
    """The satisfaction survey (回访) of one completed order: pending until answered."""
    __tablename__ = "surveys"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), unique=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, answered
    score: Mapped[Optional[int]] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(12), default="")        # phone, sms
    asked_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    answered_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    answered_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    order: Mapped[WorkOrder] = relationship()
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    __mapper_args__ = {"version_id_col": version}


# ---------------------------------------------------------------- calls, messages, events

class Call(Base):
    """One row per call: where the caller went in the IVR and how the call ended."""
    __tablename__ = "calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)  # Asterisk uniqueid or Twilio CallSid
    transport: Mapped[str] = mapped_column(String(12))                 # agi, fastagi, twilio, simulator
    caller: Mapped[str] = mapped_column(String(32), default="")        # E.164, or "anonymous"
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"), index=True)
    language: Mapped[str] = mapped_column(String(2), default="")
    ivr_path: Mapped[list[Any]] = mapped_column(default=list)           # node names in order
    outcome: Mapped[str] = mapped_column(String(16), default="")       # booked, status, complaint, agent, callback, abandoned, ...
    abandoned_at: Mapped[str] = mapped_column(String(32), default="")  # the node a caller hung up in
    order_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_orders.id"))
    queue: Mapped[str] = mapped_column(String(32), default="")
    agent_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    agent_member: Mapped[str] = mapped_column(String(64), default="")  # queue member interface, e.g. PJSIP/agent1
    hold_seconds: Mapped[Optional[int]] = mapped_column(Integer)
    talk_seconds: Mapped[Optional[int]] = mapped_column(Integer)
    queue_result: Mapped[str] = mapped_column(String(16), default="")  # answered, abandoned, busy, no-answer
    disposition: Mapped[str] = mapped_column(String(32), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    wrap_seconds: Mapped[Optional[int]] = mapped_column(Integer)       # call end -> the agent's wrap-up saved
    # Any change of the row (ORM flush or Core UPDATE) stamps it: the roll-up job finds changed calls by it.
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, index=True)


class IvrSession(Base):
    """IVR state between webhook requests (Twilio), keyed by CallSid; any process can take the next step."""
    __tablename__ = "ivr_sessions"
    call_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    step: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class WebhookReceipt(Base):
    """A processed webhook (by provider and id); a replay gets the stored response, nothing runs twice."""
    __tablename__ = "webhook_receipts"
    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(128))
    status_code: Mapped[int] = mapped_column(Integer, default=200)
    content_type: Mapped[str] = mapped_column(String(64), default="text/xml")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("provider", "key"),)


class SmsMessage(Base):
    __tablename__ = "sms_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))                  # in, out
    provider: Mapped[str] = mapped_column(String(16))                  # twilio, console, aliyun, tencent
    provider_sid: Mapped[Optional[str]] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(Integer, default=1)
    kind: Mapped[str] = mapped_column(String(24), default="")          # reply, booked, dispatched, ...
    dedupe_key: Mapped[Optional[str]] = mapped_column(String(128), unique=True)  # exactly one per event
    order_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_orders.id"))
    status: Mapped[str] = mapped_column(String(16), default="queued")  # received, queued, sent, delivered, failed, suppressed
    error: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    # The notice as data (sms/kinds.py): mainland providers send `template`'s approved template with
    # `params`; `body` is the same text rendered for Twilio and the console. Empty for inbound rows.
    template: Mapped[str] = mapped_column(String(24), default="", server_default="")
    params: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    # Outbound retries: how often a provider was tried, and not before when the next try is.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    # When a provider accepted it: per-number rate limits count these.
    sent_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    # Mainland messages still without a receipt: not before when the provider is asked again.
    receipt_check_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    __table_args__ = (Index("ix_sms_provider_sid", "provider", "provider_sid", unique=True),
                      Index("ix_sms_phone_sent", "phone", "sent_at"))


class SmsOptOut(Base):
    """Numbers that sent TD/STOP; kept until they send START."""
    __tablename__ = "sms_optouts"
    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class SmsConversation(Base):
    """A request read back to a sender and waiting for Y/N, or another pending question."""
    __tablename__ = "sms_conversations"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(16))                      # book, cancel
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, confirmed, declined, expired
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    order_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_orders.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AgentEvent(Base):
    """Events streamed to one agent's console (screen-pops); ids let a reconnecting stream catch up."""
    __tablename__ = "agent_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    call_id: Mapped[Optional[int]] = mapped_column(ForeignKey("calls.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Notice(Base):
    """A platform notice to franchisees (公告)."""
    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditLog(Base):
    """Changes that are not work-order transitions (catalog, users, franchisees...), who and when."""
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    actor_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(48))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(32), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    remote_addr: Mapped[str] = mapped_column(String(64), default="")    # where the actor was; empty for jobs
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class SchedulerLock(Base):
    """Leader lease so exactly one process runs the scheduled jobs."""
    __tablename__ = "scheduler_locks"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class CalendarOverride(Base):
    """An admin's entry for one day, over the chinese-calendar package: from the State Council's
    notice for a year the installed package does not know yet, or a correction.
    `kind`: holiday (a statutory day: surcharged, agents closed), day_off (another day of a holiday
    block: a weekend or a day off in lieu) or workday (a make-up workday, 调休上班)."""
    __tablename__ = "calendar_overrides"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(32), default="")     # 春节, 国庆节 ... (the package's names)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


# ---------------------------------------------------------------- call statistics (tickets/queue_log.py, tickets/metrics.py)

# SQLite's rowid alias must be INTEGER; PostgreSQL gets 64 bits for a log of hundreds of millions of lines.
_BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class QueueLogFile(Base):
    """Where the queue_log follower stopped in one file: the file's identity and the bytes consumed."""
    __tablename__ = "queue_log_files"
    path: Mapped[str] = mapped_column(String(255), primary_key=True)
    device: Mapped[int] = mapped_column(BigInteger, default=0)
    inode: Mapped[int] = mapped_column(BigInteger, default=0)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)         # bytes of whole lines consumed
    line_no: Mapped[int] = mapped_column(Integer, default=0)           # lines consumed (for logged line numbers)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class QueueLogLine(Base):
    """One line of Asterisk's queue_log, kept as written (unknown events too), once."""
    __tablename__ = "queue_log"
    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    line_key: Mapped[int] = mapped_column(BigInteger, unique=True)    # 64-bit hash of the raw line
    at: Mapped[datetime] = mapped_column(DateTime)                     # the line's epoch, UTC
    entered_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # when the queue entry began
    callid: Mapped[str] = mapped_column(String(64), index=True)
    queue: Mapped[str] = mapped_column(String(64))
    agent: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(32))
    data1: Mapped[str] = mapped_column(String(255), default="")
    data2: Mapped[str] = mapped_column(String(255), default="")
    data3: Mapped[str] = mapped_column(String(255), default="")
    data4: Mapped[str] = mapped_column(String(255), default="")
    data5: Mapped[str] = mapped_column(Text, default="")               # the 5th field and any after it, |-joined
    call_id: Mapped[Optional[int]] = mapped_column(ForeignKey("calls.id"), index=True)
    __table_args__ = (Index("ix_queue_log_event_at", "event", "at"),)


class CallFigures:
    """The summed figures of a call roll-up row (docs/metrics.md says what each counts)."""
    calls: Mapped[int] = mapped_column(Integer, default=0)
    self_served: Mapped[int] = mapped_column(Integer, default=0)
    menu_abandoned: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    callbacks: Mapped[int] = mapped_column(Integer, default=0)
    called_back: Mapped[int] = mapped_column(Integer, default=0)
    offered: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    answered_in_sl: Mapped[int] = mapped_column(Integer, default=0)
    abandoned: Mapped[int] = mapped_column(Integer, default=0)
    short_abandoned: Mapped[int] = mapped_column(Integer, default=0)
    timeouts: Mapped[int] = mapped_column(Integer, default=0)
    wait_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    wait_max: Mapped[int] = mapped_column(Integer, default=0)
    hold_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    talk_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    wrap_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    refusals: Mapped[int] = mapped_column(Integer, default=0)


class CallStat(CallFigures, Base):
    """Roll-up of calls and queue entries per 15-minute interval (UTC start) and dimension.
    Absolute figures, recomputed whole for an interval (tickets/metrics.py: refresh)."""
    __tablename__ = "call_stats"
    bucket: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    transport: Mapped[str] = mapped_column(String(12), primary_key=True)
    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(Integer, primary_key=True)   # Hotline user id, 0 for none
    agent: Mapped[str] = mapped_column(String(128), primary_key=True)  # username, or the queue member name
    branch: Mapped[str] = mapped_column(String(32), primary_key=True)  # first voice-menu choice ("" none)


class CallTotal(CallFigures, Base):
    """call_stats summed over queue, agent and branch: what a report without those filters reads
    (a month is 2,880 intervals per transport here, instead of every dimension's row)."""
    __tablename__ = "call_totals"
    bucket: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    transport: Mapped[str] = mapped_column(String(12), primary_key=True)


class MenuStat(Base):
    """Roll-up of voice-menu outcomes per 15-minute interval: the branch chosen, how the call
    ended, and the node a caller hung up in."""
    __tablename__ = "menu_stats"
    bucket: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    transport: Mapped[str] = mapped_column(String(12), primary_key=True)
    branch: Mapped[str] = mapped_column(String(32), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    hangup_node: Mapped[str] = mapped_column(String(32), primary_key=True)
    calls: Mapped[int] = mapped_column(Integer, default=0)


class StatDirty(Base):
    """A 15-minute interval whose roll-up must be recomputed (marked in the transaction that
    changed its facts; the recomputation locks the row, so two never write one interval at once)."""
    __tablename__ = "stat_dirty"
    bucket: Mapped[datetime] = mapped_column(DateTime, primary_key=True)


class StatWatermark(Base):
    """How far the roll-up job has read a source (calls: their newest `updated_at` seen)."""
    __tablename__ = "stat_watermarks"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[datetime] = mapped_column(DateTime)
# ---------------------------------------------------------------- work-order statistics (tickets/order_rollups.py)

class OrderFigures:
    """The summed figures of one work-order roll-up row (docs/metrics.md says what each counts)."""
    booked: Mapped[int] = mapped_column(Integer, default=0)
    dispatched: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    open: Mapped[int] = mapped_column(Integer, default=0)
    refusals: Mapped[int] = mapped_column(Integer, default=0)
    redispatches: Mapped[int] = mapped_column(Integer, default=0)
    accept_known: Mapped[int] = mapped_column(Integer, default=0)      # accepted, or let expire
    accepted_in_time: Mapped[int] = mapped_column(Integer, default=0)  # accepted with no expiry
    started: Mapped[int] = mapped_column(Integer, default=0)
    started_in_time: Mapped[int] = mapped_column(Integer, default=0)
    penalty_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    revenue_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class OrderStat(OrderFigures, Base):
    """Roll-up of the orders booked on a local day (and hour of it), per channel, service,
    district, franchisee and current status. 0 stands for no district or franchisee."""
    __tablename__ = "order_stats"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)             # local hour of the booking
    channel: Mapped[str] = mapped_column(String(12), primary_key=True)
    service_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    franchisee_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)


class OrderLead(Base):
    """One booked order's lead times in seconds (None: the leg has not happened), with the keys the
    reports filter on: percentiles do not add up, so the work-orders page reads these slim rows."""
    __tablename__ = "order_leads"
    order_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    hour: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(12))
    service_id: Mapped[int] = mapped_column(Integer)
    district_id: Mapped[int] = mapped_column(Integer)
    franchisee_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    book_dispatch: Mapped[Optional[float]] = mapped_column(Float)
    dispatch_accept: Mapped[Optional[float]] = mapped_column(Float)
    accept_start: Mapped[Optional[float]] = mapped_column(Float)
    start_complete: Mapped[Optional[float]] = mapped_column(Float)
    book_complete: Mapped[Optional[float]] = mapped_column(Float)


class RefusalStat(Base):
    """Rejections and expiries per local day of the refusal, counted against the franchisee that
    refused (the order has left it by then), per service and district of the order."""
    __tablename__ = "refusal_stats"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    service_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    franchisee_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rejects: Mapped[int] = mapped_column(Integer, default=0)
    expiries: Mapped[int] = mapped_column(Integer, default=0)


class SurveyStat(Base):
    """Surveys per local day they were asked (the completion), per the order's service, district,
    franchisee and worker (0: none)."""
    __tablename__ = "survey_stats"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    service_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    franchisee_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    worker_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    surveys: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    score_sum: Mapped[int] = mapped_column(Integer, default=0)
    score_1: Mapped[int] = mapped_column(Integer, default=0)
    score_2: Mapped[int] = mapped_column(Integer, default=0)
    score_3: Mapped[int] = mapped_column(Integer, default=0)
    score_4: Mapped[int] = mapped_column(Integer, default=0)
    score_5: Mapped[int] = mapped_column(Integer, default=0)


class OrderStatDirty(Base):
    """A local day whose work-order roll-ups must be recomputed (the recomputation locks the row,
    so two runs never write one day at once)."""
    __tablename__ = "order_stat_dirty"
    day: Mapped[date] = mapped_column(Date, primary_key=True)


# ---------------------------------------------------------------- outbound calls and callbacks

class CallbackRequest(Base):
    """A caller who asked to be called back: after hours, or instead of holding in the queue.

    `queued_at` is when they would have been answered in turn (when they entered the queue, or
    asked after hours): the worklist serves requests in that order. `version` guards against two
    agents taking the same request at once."""
    __tablename__ = "callback_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"))
    call_id: Mapped[Optional[int]] = mapped_column(ForeignKey("calls.id"), unique=True)   # one request per call
    source: Mapped[str] = mapped_column(String(12))                   # after-hours, queue
    position: Mapped[Optional[int]] = mapped_column(Integer)          # place in the queue when they left it
    queued_at: Mapped[datetime] = mapped_column(DateTime)
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(12), default="waiting")   # waiting, calling, done, given-up
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    outcome: Mapped[str] = mapped_column(String(16), default="")       # last outcome: reached, no-answer, busy, ...
    notes: Mapped[str] = mapped_column(Text, default="")
    handled_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    __table_args__ = (Index("ix_callback_requests_worklist", "status", "queued_at"),)
    __mapper_args__ = {"version_id_col": version}


class OutboundCall(Base):
    """One call the platform places: a survey call, or a click-to-call of a callback request.

    `key` (`survey-<id>-<attempt>`, `callback-<id>-<attempt>`) is unique, so a job that runs twice
    (a leader change) cannot make a second row for the same attempt; a row is placed only by the
    one process that moves it from `queued` to `placing`."""
    __tablename__ = "outbound_calls"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(48), unique=True)
    purpose: Mapped[str] = mapped_column(String(12))                  # survey, callback
    survey_id: Mapped[Optional[int]] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    callback_id: Mapped[Optional[int]] = mapped_column(ForeignKey("callback_requests.id", ondelete="CASCADE"),
                                                       index=True)
    order_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_orders.id"))
    phone: Mapped[str] = mapped_column(String(20))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    agent_user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))   # click-to-call: who rings first
    backend: Mapped[str] = mapped_column(String(12), default="")       # asterisk, twilio
    external_id: Mapped[Optional[str]] = mapped_column(String(64), unique=True)   # Asterisk ChannelId or Twilio CallSid
    status: Mapped[str] = mapped_column(String(12), default="queued", index=True)
    # queued, placing, answered, no-answer, busy, machine, failed, done, cancelled (not placed: not wanted any more)
    reason: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    placed_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    ended_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
class OneTimeCode(Base):
    """A 6-digit code sent by SMS (self-service lookup, online booking): only its keyed hash is kept
    (tickets.otp). `subject` is what it unlocks: an order number, or the phone being verified."""
    __tablename__ = "one_time_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(12))                   # lookup, booking
    subject: Mapped[str] = mapped_column(String(32))
    phone: Mapped[str] = mapped_column(String(20), default="", index=True)  # "" when the subject is unknown
    code_hash: Mapped[str] = mapped_column(String(64))
    remote_addr: Mapped[str] = mapped_column(String(64), default="", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[Optional[datetime]] = mapped_column(DateTime)
    __table_args__ = (Index("ix_one_time_codes_subject", "purpose", "subject", "created_at"),)
