"""The static catalog the voice menu is built from, read once per `Ivr` and reused by every call.

Services and districts change rarely (an admin edits a price); reading them on every key press
would cost a query per step, so `Ivr` keeps a `Catalog` and reloads it once a catalog change
has committed (`tickets.cache.generation`: at once in this process, over the bus in the others),
and after `CATALOG_TTL` whatever happens.
Only what the menus need is copied out of the ORM rows, so the catalog is safe to share
between threads.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.models import District, Service

CATALOG_TTL = 300.0   # seconds; the longest a voice menu is kept, should a change's bus event be lost


@dataclass(frozen=True)
class MenuService:
    """One bookable item. Has the attributes `tickets.pricing.quote` reads, so it can be quoted."""
    id: int
    code: str
    category: str
    category_digit: int
    menu_digit: int
    name_zh: str
    unit: str
    guide_price_fen: int
    default_quantity: int
    holiday_pay: bool
    emergency: bool


@dataclass(frozen=True)
class MenuCategory:
    key: str
    digit: int
    services: tuple[MenuService, ...]


@dataclass(frozen=True)
class Catalog:
    categories: tuple[MenuCategory, ...]
    services: dict[str, MenuService] = field(default_factory=dict)        # by code, the menu's items
    service_names: dict[int, tuple[str, str]] = field(default_factory=dict)  # any service id -> (code, name_zh)
    district_codes: dict[int, str] = field(default_factory=dict)          # district id -> code

    def emergency_service(self) -> MenuService | None:
        """The item the main menu's emergency key books (水电维修 in the demo catalog)."""
        return next((s for s in self.services.values() if s.emergency), None)


def load_catalog(session: Session, known_prompts: set[str]) -> Catalog:
    """Active services grouped by category in key order; an item without a voice prompt is left
    out of the menu (it can still be booked by an agent or SMS) rather than played as silence."""
    rows = session.scalars(select(Service).order_by(Service.category_digit, Service.menu_digit)).all()
    names = {r.id: (r.code, r.name_zh) for r in rows}   # inactive ones too: old orders name them
    rows = [r for r in rows if r.active]
    services = [MenuService(id=r.id, code=r.code, category=r.category, category_digit=r.category_digit,
                            menu_digit=r.menu_digit, name_zh=r.name_zh, unit=r.unit,
                            guide_price_fen=r.guide_price_fen, default_quantity=r.default_quantity,
                            holiday_pay=r.holiday_pay, emergency=r.emergency)
                for r in rows if f"svc.{r.code}" in known_prompts]
    categories: list[MenuCategory] = []
    for svc in services:
        if f"cat.{svc.category}" not in known_prompts:
            continue
        if not categories or categories[-1].key != svc.category:
            categories.append(MenuCategory(svc.category, svc.category_digit, ()))
        last = categories[-1]
        categories[-1] = MenuCategory(last.key, last.digit, last.services + (svc,))
    districts = {d.id: d.code for d in session.scalars(select(District))}
    return Catalog(categories=tuple(categories), services={s.code: s for s in services},
                   service_names=names, district_codes=districts)
