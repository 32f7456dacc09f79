"""Editing the service catalog and the districts (admin); every change is audited.

Prices are integer fen. A new service gets the next free key of its category in the voice
menu unless one is given.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .actors import Actor
from .cache import catalog_changed
from .errors import NotFound, ValidationError
from .models import District, DistrictAlias, Service
from .pricing import UNIT_NAMES, check_fen, check_quantity
from .seed import categories

_CODE = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")
SERVICE_FIELDS = ("name_zh", "name_en", "category", "unit", "guide_price_fen", "default_quantity", "holiday_pay",
                  "emergency", "active")


def services(session: Session) -> list[Service]:
    return list(session.scalars(select(Service).order_by(Service.category_digit, Service.menu_digit)))


def districts(session: Session) -> list[District]:
    return list(session.scalars(select(District).order_by(District.code)))


def _check_service(values: dict[str, Any]) -> None:
    keys = {c["key"] for c in categories()}
    if values["category"] not in keys:
        raise ValidationError("category {category!r} is not one of {categories}", category=values['category'],
                              categories=", ".join(sorted(keys)))
    if values["unit"] not in UNIT_NAMES:
        raise ValidationError("unit {unit!r} is not one of {units}", unit=values['unit'], units=", ".join(UNIT_NAMES))
    if not values["name_zh"].strip() or not values["name_en"].strip():
        raise ValidationError("a service needs its Chinese and English names")
    check_fen(values["guide_price_fen"], "guide price")
    check_quantity(values["default_quantity"])


def save_service(session: Session, actor: Actor, code: str, *, menu_digit: int | None = None,
                 **values: Any) -> Service:
    """Create the service `code` or change it; `values` are SERVICE_FIELDS."""
    code = (code or "").strip().upper()
    if not _CODE.match(code):
        raise ValidationError("a service code is 1 to 8 capital letters or digits starting with a letter, e.g. BJ; got {code!r}", code=code)
    unknown = set(values) - set(SERVICE_FIELDS)
    if unknown:
        raise ValidationError("unknown service fields: {fields}", fields=", ".join(sorted(unknown)))
    svc = session.scalar(select(Service).where(Service.code == code))
    current = {f: getattr(svc, f) for f in SERVICE_FIELDS} if svc else {}
    merged = {**current, **values}
    missing = [f for f in SERVICE_FIELDS if merged.get(f) is None]
    if missing:
        raise ValidationError("a new service needs: {missing}", missing=", ".join(missing))
    _check_service(merged)
    digit = {c["key"]: c["digit"] for c in categories()}[merged["category"]]
    if svc is None or svc.category != merged["category"] or menu_digit is not None:
        taken = set(session.scalars(select(Service.menu_digit).where(Service.category_digit == digit,
                                                                     Service.id != (svc.id if svc else -1))))
        if menu_digit is None:
            free = [d for d in range(1, 10) if d not in taken]
            if not free:
                raise ValidationError("category {category} has no free voice-menu key (1-9)", category=merged['category'])
            menu_digit = free[0]
        elif not 1 <= menu_digit <= 9 or menu_digit in taken:
            raise ValidationError("voice-menu key {menu_digit} is taken or not 1-9 in {category}; free: {free}",
                                  menu_digit=menu_digit, category=merged['category'],
                                  free=", ".join(str(d) for d in range(1, 10) if d not in taken))
    created = svc is None
    if created:
        svc = Service(code=code)
        session.add(svc)
    changed = {f: [current.get(f), merged[f]] for f in SERVICE_FIELDS if current.get(f) != merged[f]}
    for f in SERVICE_FIELDS:
        setattr(svc, f, merged[f])
    svc.category_digit = digit
    if menu_digit is not None:
        changed["menu_digit"] = [svc.menu_digit, menu_digit]
        svc.menu_digit = menu_digit
    session.flush()
    catalog_changed(session)
    audit.record(session, actor, "service.create" if created else "service.update", "service", code, changed)
    return svc


def save_district(session: Session, actor: Actor, code: str, name_zh: str, name_en: str) -> District:
    """Create the district `code`, or rename it."""
    code, name_zh, name_en = (code or "").strip(), (name_zh or "").strip(), (name_en or "").strip()
    if not code or not name_zh or not name_en:
        raise ValidationError("a district needs a code, a Chinese name and an English name, e.g. tianshan, 天山区, Tianshan")
    other = session.scalar(select(District).where(District.name_zh == name_zh, District.code != code))
    if other is not None:
        raise ValidationError("the name {name_zh} is already district {code}", name_zh=name_zh, code=other.code)
    d = session.scalar(select(District).where(District.code == code))
    created = d is None
    before = {} if created else {"name_zh": d.name_zh, "name_en": d.name_en}
    if created:
        d = District(code=code, name_zh=name_zh, name_en=name_en)
        session.add(d)
    d.name_zh, d.name_en = name_zh, name_en
    session.flush()
    catalog_changed(session)
    audit.record(session, actor, "district.create" if created else "district.update", "district", code,
                 {"before": before, "after": {"name_zh": name_zh, "name_en": name_en}})
    return d


def add_alias(session: Session, actor: Actor, district: District, alias: str) -> DistrictAlias:
    """A road, landmark or old name that, found in an address, points at `district`."""
    alias = (alias or "").strip().replace(" ", "")
    if len(alias) < 2:
        raise ValidationError("an alias needs at least 2 characters, e.g. 红山 or 友好路")
    taken = session.scalar(select(DistrictAlias).where(DistrictAlias.alias == alias))
    if taken is not None:
        raise ValidationError("{alias} already points at {name_zh}; remove it there first", alias=alias, name_zh=taken.district.name_zh)
    row = DistrictAlias(alias=alias)
    district.aliases.append(row)
    session.flush()
    catalog_changed(session)
    audit.record(session, actor, "district.alias_add", "district", district.code, {"alias": alias})
    return row


def remove_alias(session: Session, actor: Actor, alias_id: int) -> None:
    row = session.get(DistrictAlias, alias_id)
    if row is None:
        raise NotFound("no district alias {alias_id}", alias_id=alias_id)
    audit.record(session, actor, "district.alias_remove", "district", row.district.code, {"alias": row.alias})
    session.delete(row)
    session.flush()
    catalog_changed(session)
