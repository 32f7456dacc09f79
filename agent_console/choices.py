"""The lists forms offer: services by category, districts, order states, franchisees."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.models import District, Franchisee, Service
from tickets.seed import categories
from tickets.workflow import STATES


def form_choices(session: Session) -> dict:
    return {
        "categories": categories(),
        "services": session.scalars(select(Service).where(Service.active.is_(True))
                                    .order_by(Service.category_digit, Service.menu_digit)).all(),
        "districts": session.scalars(select(District).order_by(District.code)).all(),
        "franchisees": session.scalars(select(Franchisee).order_by(Franchisee.name)).all(),
        "states": STATES,
    }
