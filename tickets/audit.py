"""The audit trail of changes that are not work-order transitions (those have their own events),
and of console log-ins; each entry keeps the actor's source address."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .actors import Actor
from .context import hotline_of
from .models import AuditLog


def record(session: Session, actor: Actor, action: str, entity: str, entity_id: Any = "",
           data: dict[str, Any] | None = None) -> AuditLog:
    row = AuditLog(actor_user_id=actor.user_id, actor_label=actor.label or actor.role, action=action,
                   entity=entity, entity_id=str(entity_id), data=data or {}, remote_addr=actor.remote_addr[:64],
                   created_at=hotline_of(session).now())
    session.add(row)
    return row


def recent(session: Session, limit: int = 100) -> list[AuditLog]:
    """The latest entries of the audit trail, newest first."""
    return list(session.scalars(select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)))
