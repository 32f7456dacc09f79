"""Who is acting: a console user, the customer through a self-service channel, or the system."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass(frozen=True)
class Actor:
    role: str                                  # a User role, or "customer" / "system"
    user_id: Optional[int] = None
    label: str = ""
    franchisee_id: Optional[int] = None        # for role franchisee
    district_ids: frozenset[int] = field(default_factory=frozenset)  # for role district_manager
    remote_addr: str = ""                      # where a console user acts from (the audit trail keeps it)

    @classmethod
    def from_user(cls, user, remote_addr: str = "") -> "Actor":
        return cls(role=user.role, user_id=user.id, label=user.username,
                   franchisee_id=user.franchisee_id,
                   district_ids=frozenset(d.district_id for d in user.districts), remote_addr=remote_addr)


SYSTEM = Actor(role="system", label="system")


def customer(channel: str) -> Actor:
    """The customer acting through a self-service channel (ivr, sms, twilio)."""
    return Actor(role="customer", label=f"customer via {channel}")
