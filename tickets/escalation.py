"""Who is told by SMS that an order or a complaint escalated (升级): the district's managers.

The rule, one place for both (tickets.followup escalates late orders, tickets.complaints overdue
complaints): every active district manager of the district who has a phone number. When no such
manager has the district (none is assigned, none is active, or none has a phone), the active
supervisors with a phone are told instead, so an escalation always reaches a person who can act.
An escalation with no district (a complaint about no order) goes to the supervisors.

The escalation itself records whom it told (the order's `escalate` event, the complaint's audit
entry: `told`, their user names); the sms package sends each of them one `manager_escalation`
notice keyed on that escalation, so a second run of a job tells nobody twice.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import User, UserDistrict


def _reachable(role: str, *where):
    return select(User).where(User.active.is_(True), User.phone != "", User.role == role, *where).order_by(User.id)


def managers_to_tell(session: Session, district_id: int | None) -> list[User]:
    """The users to text about an escalation in `district_id`: its active district managers with a
    phone, or else the active supervisors with a phone (see the module docstring)."""
    if district_id is not None:
        managers = session.scalars(_reachable("district_manager", User.id.in_(
            select(UserDistrict.user_id).where(UserDistrict.district_id == district_id)))).all()
        if managers:
            return list(managers)
    return list(session.scalars(_reachable("supervisor")))


def users_named(session: Session, usernames: list[str]) -> list[User]:
    """The users an escalation recorded as told (its `told` list), in that order."""
    found = {u.username: u for u in session.scalars(select(User).where(User.username.in_(usernames or [])))}
    return [found[name] for name in usernames or [] if name in found]
