"""The lists forms offer: services by category, districts, order states, franchisees."""
from __future__ import annotations

from sqlalchemy.orm import Session

from tickets import catalog, franchisees
from tickets.seed import categories
from tickets.workflow import STATES


def form_choices(session: Session) -> dict:
    return {
        "categories": categories(),
        "services": [svc for svc in catalog.services(session) if svc.active],
        "districts": catalog.districts(session),
        "franchisees": franchisees.franchisees(session),
        "states": STATES,
    }
