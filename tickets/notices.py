"""Platform notices to franchisees (公告): posted by admins, read in the franchisee portal."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit
from .actors import Actor
from .context import hotline_of
from .errors import ValidationError
from .models import Notice


def post(session: Session, actor: Actor, title: str, body: str) -> Notice:
    title = (title or "").strip()
    if not title:
        raise ValidationError("a notice needs a title")
    if len(title) > 128:
        raise ValidationError("a notice title has at most 128 characters; this one has {length}", length=len(title))
    n = Notice(title=title, body=(body or "").strip(), created_by=actor.user_id, created_at=hotline_of(session).now())
    session.add(n)
    session.flush()
    audit.record(session, actor, "notice.post", "notice", n.id, {"title": title})
    return n


def recent(session: Session, limit: int = 20) -> list[Notice]:
    return list(session.scalars(select(Notice).order_by(Notice.created_at.desc(), Notice.id.desc()).limit(limit)))
