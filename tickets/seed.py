"""Reference data (districts, catalog) and the demo city, loaded idempotently from sql/seed/."""
from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import cards, complaints
from . import orders as orders_mod
from .actors import SYSTEM, Actor
from .context import hotline_of
from .customers import add_address
from .dispatch import resolve_district
from .models import (Customer, CustomerPhone, District, DistrictAlias, Franchisee, FranchiseeDistrict,
                     FranchiseeService, MemberCard, Service, User, UserDistrict, WorkOrder, Worker, WorkerSkill)
from .passwords import DEMO_PASSWORD, hash_password
from .timeutil import to_local, to_utc
from .phones import normalize
from .surveys import record as record_survey
from .workflow import has_skill, transition

log = logging.getLogger(__name__)
SEED_DIR = Path(__file__).resolve().parent.parent / "sql" / "seed"


def _load(name: str) -> dict:
    return json.loads((SEED_DIR / name).read_text(encoding="utf-8"))


def load_reference(session: Session) -> None:
    """Districts with aliases and the service catalog (needed in production too)."""
    for d in _load("districts.json")["districts"]:
        row = session.scalar(select(District).where(District.code == d["code"]))
        if row is None:
            row = District(code=d["code"], name_zh=d["name_zh"], name_en=d["name_en"])
            session.add(row)
            session.flush()
        known = {a.alias for a in row.aliases}
        for alias in d["aliases"]:
            if alias not in known:
                row.aliases.append(DistrictAlias(alias=alias))
    cat = _load("catalog.json")
    digits = {c["key"]: c["digit"] for c in cat["categories"]}
    existing = {row.code: row for row in session.scalars(select(Service))}
    # Menu keys may move between items (two categories swapping digits); park the moved rows on
    # free negative keys first so the (category_digit, menu_digit) constraint holds at every UPDATE.
    for s in cat["services"]:
        row = existing.get(s["code"])
        if row is not None and (row.category_digit, row.menu_digit) != (digits[s["category"]], s["digit"]):
            row.category_digit = -row.id
    session.flush()
    for s in cat["services"]:
        row = existing.get(s["code"])
        if row is None:
            row = Service(code=s["code"])
            session.add(row)
        row.category, row.category_digit, row.menu_digit = s["category"], digits[s["category"]], s["digit"]
        row.name_zh, row.name_en, row.unit = s["name_zh"], s["name_en"], s["unit"]
        if row.guide_price_fen is None:   # an admin's price change is not overwritten by a re-seed
            row.guide_price_fen = s["price"]
        row.default_quantity, row.holiday_pay = s["qty"], s["holiday_pay"]
        row.emergency = s.get("emergency", False)
    session.flush()


def categories() -> list[dict]:
    """The catalog's categories (key, digit, names) for menus and forms."""
    return _load("catalog.json")["categories"]


def catalog() -> dict:
    """The whole seed catalog: `categories` and `services` (code, category, digit, names, unit, ...)."""
    return _load("catalog.json")


def districts() -> list[dict]:
    """The seed districts (code, names, aliases), e.g. for voice prompts naming each district."""
    return _load("districts.json")["districts"]


@contextmanager
def _clock_at(session: Session, when):
    hl = hotline_of(session)
    saved = hl.clock
    hl.clock = lambda: when
    try:
        yield
    finally:
        hl.clock = saved


def load_demo(session: Session) -> dict:
    """The demo city: franchisees, workers, customers with history, one user per role (password `demo`)."""
    hl = hotline_of(session)
    today = hl.now().date()
    demo = _load("demo.json")
    services = {s.code: s for s in session.scalars(select(Service))}
    districts = {d.name_zh: d for d in session.scalars(select(District))}

    frs: dict[str, Franchisee] = {}
    for f in demo["franchisees"]:
        row = session.scalar(select(Franchisee).where(Franchisee.name == f["name"]))
        if row is None:
            row = Franchisee(name=f["name"], contact_phone=normalize(f["phone"]), daily_capacity=f["capacity"],
                             rating_x100=f["rating"], status="active")
            for dname, prio in f["districts"].items():
                row.districts.append(FranchiseeDistrict(district=districts[dname], priority=prio))
            for svc in services.values():
                if f["services"] == "*" or svc.category in f["services"]:
                    row.services.append(FranchiseeService(service=svc))
            session.add(row)
        frs[f["name"]] = row
    session.flush()

    for w in demo["workers"]:
        phone = normalize(w["phone"])
        if session.scalar(select(Worker).where(Worker.phone == phone)) is None:
            wk = Worker(franchisee=frs[w["franchisee"]], name=w["name"], phone=phone, id_verified=True,
                        health_cert_expires=today + timedelta(days=w["health_days"]),
                        training_cert=w["training"], background_checked=w["checked"])
            for svc in services.values():
                if svc.category in w["skills"]:
                    wk.skills.append(WorkerSkill(service_id=svc.id))
            session.add(wk)
    session.flush()

    for u in demo["users"]:
        if session.scalar(select(User).where(User.username == u["username"])) is None:
            user = User(username=u["username"], display_name=u["name"], role=u["role"],
                        password_hash=hash_password(DEMO_PASSWORD), is_demo=True,
                        extension=u.get("extension", ""), phone=normalize(u["phone"]) if u.get("phone") else "",
                        franchisee_id=frs[u["franchisee"]].id if u.get("franchisee") else None)
            for dname in u.get("districts", []):
                user.districts.append(UserDistrict(district_id=districts[dname].id))
            session.add(user)
    session.flush()

    for c in demo["customers"]:
        phones = [normalize(p) for p in c["phones"]]
        if session.scalar(select(CustomerPhone).where(CustomerPhone.e164 == phones[0])) is not None:
            continue
        cust = Customer(name=c["name"], language=c["language"], member_level=c["level"])
        cust.phones.extend(CustomerPhone(e164=p) for p in phones)
        session.add(cust)
        session.flush()
        for a in c["addresses"]:
            match = resolve_district(session, a["text"])
            add_address(session, cust, a["text"], match.district.id if match.district else None,
                        default=a.get("default", False))
        card = _demo_card(session, cust, c["card"]) if c.get("card") else None
        past = []
        for h in c["history"]:
            order = _past_order(session, phones[0], services[h["service"]], h["days_ago"], h["score"],
                                time.fromisoformat(h.get("at", DEMO_SERVICE_AT)))
            past.append(order)
            if card is not None and h.get("card") and order.status in cards.PAYABLE_STATES:
                with _clock_at(session, order.updated_at):
                    cards.pay_order(session, order, SYSTEM, key=f"demo-{order.number}")
        for spec in c.get("complaints", []):
            _demo_complaint(session, phones[0], past[spec["order"]] if "order" in spec else None, spec)
    return {"franchisees": len(frs), "users": session.scalar(select(func.count()).select_from(User))}


DEMO_COMPLAINT_AT = time(10, 0)
DEMO_SUPERVISOR = Actor(role="supervisor", label="demo")


def _demo_complaint(session: Session, phone: str, order: WorkOrder | None, spec: dict) -> None:
    """A complaint walked through the real workflow: opened, the franchisee's account, the decision."""
    hl = hotline_of(session)
    opened = hl.now() - timedelta(hours=spec["hours_ago"]) if "hours_ago" in spec else \
        _local(hl, to_local(hl.now(), hl.tz).date() - timedelta(days=spec["days_ago"]), DEMO_COMPLAINT_AT)
    with _clock_at(session, opened):
        c = complaints.open_complaint(session, actor=Actor(role="agent", label="demo"), source="agent", phone=phone,
                                      order=order, text=spec["text"], category_code=spec["category"])
    if spec.get("account") and c.franchisee_id is not None:
        with _clock_at(session, opened + timedelta(minutes=min(180, spec.get("hours_ago", 6) * 30))):
            complaints.give_account(session, c, spec["account"],
                                    Actor(role="franchisee", label="demo", franchisee_id=c.franchisee_id))
    if spec.get("decision"):
        with _clock_at(session, opened + timedelta(hours=6)):
            complaints.decide(session, c, spec["decision"], DEMO_SUPERVISOR,
                              compensation_kind="refund" if spec.get("refund") else "",
                              compensation_fen=spec.get("refund", 0))


# Demo history happens in working hours (local), whatever the hour the demo is loaded at.
DEMO_SERVICE_AT = "09:00"
DEMO_BOOKED_AT = time(10, 30)       # two days before the service
DEMO_SURVEY_AT = time(10, 0)        # the day after


def _local(hl, day, at: time) -> datetime:
    return to_utc(datetime.combine(day, at), hl.tz)


def _demo_card(session: Session, cust: Customer, spec: dict) -> MemberCard:
    """A demo member's card, topped up `topup_days_ago` days ago (its history pays for past orders)."""
    hl = hotline_of(session)
    card = cards.open_card(session, cust, SYSTEM, number=spec["number"])
    day = to_local(hl.now(), hl.tz).date() - timedelta(days=spec["topup_days_ago"])
    with _clock_at(session, _local(hl, day, DEMO_BOOKED_AT)):
        cards.top_up(session, card, spec["topup_fen"], SYSTEM, reason="demo: paid in cash at the service hall",
                     key=f"demo-topup-{spec['number']}")
    return card


def _past_order(session: Session, phone: str, service: Service, days_ago: int, score: int | None,
                at: time) -> WorkOrder:
    """A finished order in a demo customer's history, walked through the real lifecycle."""
    hl = hotline_of(session)
    day = to_local(hl.now(), hl.tz).date() - timedelta(days=days_ago)
    booked_at = _local(hl, day - timedelta(days=2), DEMO_BOOKED_AT)
    start = _local(hl, day, at)
    with _clock_at(session, booked_at):
        order = orders_mod.book(session, phone=phone, service=service, start=start, channel="agent", actor=SYSTEM)
    if order.franchisee is None:
        return order
    fr_actor = Actor(role="franchisee", label="demo", franchisee_id=order.franchisee_id)
    worker = next((w for w in order.franchisee.workers if has_skill(w, service.id)
                   and w.health_cert_expires and w.health_cert_expires >= start.date()), None)
    if worker is None:
        return order
    with _clock_at(session, booked_at + timedelta(minutes=10)):
        transition(session, order, "accept", fr_actor)
        transition(session, order, "assign_worker", fr_actor, worker=worker)
    with _clock_at(session, start):
        transition(session, order, "start", fr_actor)
    with _clock_at(session, start + timedelta(hours=3)):
        transition(session, order, "complete", fr_actor, final_price_fen=order.price_total_fen, notes="demo")
    if score is not None:
        with _clock_at(session, _local(hl, day + timedelta(days=1), DEMO_SURVEY_AT)):
            record_survey(session, order, score, Actor(role="callback", label="demo"), channel="phone")
    return order
