"""Outbound SMS: written as a row inside the business transaction, sent once it has committed.

`enqueue` adds a `queued` row (or a `suppressed` one for an opted-out number) in the caller's
transaction; nothing leaves before the commit, and a rollback sends nothing. After the commit
the rows go to the provider: in the committing thread for the console provider (it only logs),
on a small thread pool for network providers, so a web request never waits for Twilio. The
`sms-outbox` job sends whatever is still queued (a crash, a transient failure), so a lost
hand-off is retried from the database.

A message is a notice kind and its parameters (sms/kinds.py): `enqueue(session, phone, kind=...,
params={...})`. The row keeps both beside the rendered body, so a mainland provider sends the
kind's approved template and Twilio or the console the text.

Each send first claims its row (`queued` -> `sending` in one UPDATE), so two senders never
send the same message. With several providers (SMS_PROVIDER=aliyun,tencent) a send tries them in
order: one over its per-number limit (sms/limits.py) or refusing (quota, template, signature,
keys, 5xx, no connection) passes the message to the next; when none takes it, it stays `queued`
with the reasons and `next_attempt_at` (back-off doubling from BACKOFF_FIRST to BACKOFF_MAX, or
when a limit frees), for GIVE_UP_AFTER. A refusal that blames the number is final (`failed`).

Never twice: a send that got no answer (the request may have arrived), or one interrupted
half-way (a crash between the provider's accept and our commit), is not retried and not passed
on, but marked failed; our message id travels with it (OutId / SessionContext), so the provider's
delivery receipt still finds the row and records that it arrived (`record_status`). A send that
got no answer is also asked about by the sms-receipts job, and sent again only when the provider
says it never got it (sms/receipts.py); an interrupted one is not, as with several providers
which one had it is not known.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from tickets.config import MAINLAND_PROVIDERS
from tickets.context import Hotline, hotline_of
from tickets.models import SmsMessage, WorkOrder
from tickets.transactions import after_commit

from . import kinds, limits, segments
from .optout import is_opted_out
from .providers import Outgoing, ProviderError, provider_for

log = logging.getLogger(__name__)

STALE_SENDING = timedelta(minutes=10)
GIVE_UP_AFTER = timedelta(hours=24)    # refused messages are retried for this long
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MAX = timedelta(minutes=30)
REF_PREFIX = "hl-"                     # our id as the providers echo it: OutId, SessionContext
BATCH = 100
_BY_DEDUPE_KEY = select(SmsMessage).where(SmsMessage.dedupe_key == bindparam("key"))
_DUE = or_(SmsMessage.next_attempt_at.is_(None), SmsMessage.next_attempt_at <= bindparam("now"))
# A status only moves forward: a late "sent" callback never undoes "delivered".
STATUS_RANK = {"received": 0, "queued": 0, "sending": 1, "sent": 2, "delivered": 3, "failed": 3, "suppressed": 3}
_SENDER = "sms.sender"


def enqueue(session: Session, phone: str, *, kind: str, params: dict, template: str | None = None,
            order: WorkOrder | None = None, dedupe_key: str | None = None,
            answers_sender: bool = False, not_before: datetime | None = None) -> SmsMessage:
    """Queue the notice `template` (default: `kind`) with `params` in the caller's transaction; one
    row per `dedupe_key`, ever. `kind` is what the row is recorded as (a reply records what it
    answers; its template is "reply"). Raises kinds.BadNotice for params the template does not take.

    An opted-out number gets a `suppressed` row instead of a notice: kept for the record, never
    sent. `answers_sender`: the message answers one the number has just sent (opt-out stops
    notices, not answers), so it is sent whatever the opt-out. `not_before` (naive UTC): the message
    waits in the queue until then (the end of QUIET_HOURS) and the sms-outbox job sends it.
    """
    kinds.checked_params(template or kind, params)
    if dedupe_key:
        # Autoflush writes this transaction's own pending rows first, so they are found too.
        existing = session.scalar(_BY_DEDUPE_KEY, {"key": dedupe_key})
        if existing is not None:
            return existing
    return add(session, phone, kind=kind, params=params, template=template, order=order, dedupe_key=dedupe_key,
               opted_out=not answers_sender and is_opted_out(session, phone), not_before=not_before)


def add(session: Session, phone: str, *, kind: str, params: dict, opted_out: bool, template: str | None = None,
        order: WorkOrder | None = None, dedupe_key: str | None = None,
        not_before: datetime | None = None) -> SmsMessage:
    """`enqueue` without its reads, for a caller that has done them (a card's notice, written under
    the card's row lock): `opted_out` as the caller read it, and a `dedupe_key` no message can
    have yet (it names a row of this transaction)."""
    template = template or kind
    params = kinds.checked_params(template, params)
    hl = hotline_of(session)
    now = hl.now()
    body = kinds.render(template, params)
    # The console provider only logs, so its message is 'sent' with the business transaction and
    # logged after the commit: no second transaction.
    later = not_before is not None and not_before > now
    console = hl.settings.sms_provider == "console" and not later
    status = "suppressed" if opted_out else ("sent" if console else "queued")
    row = SmsMessage(direction="out", provider=hl.settings.sms_provider, phone=phone, body=body,
                     segments=segments.count(body), kind=kind, template=template, params=params,
                     dedupe_key=dedupe_key, order_id=order.id if order is not None else None,
                     status=status, error="recipient opted out (TD/STOP)" if opted_out else "",
                     created_at=now, updated_at=now, sent_at=now if console else None,
                     next_attempt_at=not_before if later else None)
    session.add(row)
    if opted_out or later:
        return row
    if console:
        after_commit(session, lambda: provider_for(hl, "console").send(Outgoing(phone, body, template, params)))
    else:
        after_commit(session, lambda: _hand_to_sender(hl, row.id))
    return row


def record_reply(session: Session, phone: str, body: str, *, provider: str, kind: str = "reply",
                 order: WorkOrder | None = None, dedupe_key: str | None = None) -> SmsMessage:
    """Record a reply that leaves in the webhook's own answer (TwiML): it is sent with the response."""
    now = hotline_of(session).now()
    row = SmsMessage(direction="out", provider=provider, phone=phone, body=body, segments=segments.count(body),
                     kind=kind, dedupe_key=dedupe_key, order_id=order.id if order is not None else None,
                     status="sent", error="", created_at=now, updated_at=now)
    session.add(row)
    return row


def send_one(hl: Hotline, message_id: int) -> str | None:
    """Claim and send one queued message that is due; its new status, or None when someone else has
    it (or it is not due)."""
    now = hl.now()
    with hl.session() as s, s.begin():
        claimed = s.execute(update(SmsMessage).where(SmsMessage.id == message_id, SmsMessage.status == "queued", _DUE)
                            .values(status="sending", attempts=SmsMessage.attempts + 1, updated_at=now),
                            {"now": now}).rowcount
        if not claimed:
            return None
        row = s.get(SmsMessage, message_id)
        msg = Outgoing(row.phone, row.body, row.template or "reply", row.params or {"text": row.body},
                       ref=f"{REF_PREFIX}{row.id}")
        primary, created_at, attempts = row.provider, row.created_at, row.attempts
    values = _try_providers(hl, msg, _order_of(hl, primary), created_at, attempts)
    log_level = logging.INFO if values["status"] == "sent" else logging.WARNING
    log.log(log_level, "sms %s to %s: %s %s", message_id, msg.phone, values["status"], values.get("error", ""))
    with hl.session() as s, s.begin():
        s.execute(update(SmsMessage).where(SmsMessage.id == message_id, SmsMessage.status == "sending")
                  .values(updated_at=hl.now(), **values))
    return values["status"]


def _order_of(hl: Hotline, primary: str) -> tuple[str, ...]:
    """The providers a message may go through, in order: the configured mainland failover order,
    or the one provider it was queued for."""
    order = hl.settings.sms_providers
    return order if primary in order and primary in MAINLAND_PROVIDERS else (primary,)


def _try_providers(hl: Hotline, msg: Outgoing, order: tuple[str, ...], created_at, attempts: int) -> dict:
    """Hand `msg` to the first provider in `order` that takes it; the row's new values."""
    reasons, waits = [], []
    for name in order:
        if name in MAINLAND_PROVIDERS:
            with hl.session() as s:
                blocked = limits.free_at(s, msg.phone, name, hl.settings.mainland[name].limits, hl.now())
            if blocked is not None:
                reasons.append(f"{name}: per-number limit until {blocked:%H:%M} UTC")
                waits.append(blocked)
                continue
        try:
            sent = provider_for(hl, name).send(msg)
        except ProviderError as exc:
            if exc.ambiguous:
                return _unanswered(hl, name, exc)
            if not exc.transient:
                return {"status": "failed", "provider": name, "error": str(exc)[:255]}
            reasons.append(str(exc))
            continue
        return {"status": sent.status, "provider": name, "provider_sid": sent.sid, "sent_at": hl.now(),
                "error": "", "next_attempt_at": None}
    now = hl.now()
    error = "; ".join(reasons)[:255]
    if now - created_at >= GIVE_UP_AFTER:
        return {"status": "failed", "error": f"given up after {GIVE_UP_AFTER}: {error}"[:255]}
    backoff = min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)
    # Only limits in the way: try when the first one frees; a refusal waits its back-off.
    retry_at = min(waits) if len(waits) == len(reasons) else now + backoff
    return {"status": "queued", "error": error, "next_attempt_at": retry_at}


def _unanswered(hl: Hotline, name: str, exc: ProviderError) -> dict:
    """The row's new values after a send to `name` that got no answer: failed, not tried again
    blindly. Where mainland receipts are polled the sms-receipts job asks the provider about it
    (sms/receipts.py), and sent_at counts it against the per-number limits meanwhile, as it may
    have been sent."""
    if name not in MAINLAND_PROVIDERS or hl.settings.sms_receipts == "push":
        return {"status": "failed", "provider": name,
                "error": f"{exc} (may have been sent: not retried, so it cannot arrive twice)"[:255]}
    now = hl.now()
    return {"status": "failed", "provider": name, "sent_at": now, "receipt_check_at": now,
            "error": f"{exc} (may have been sent: not sent again unless {name} says it never got it)"[:255]}


def send_console_batch(hl: Hotline, ids: list[int]) -> int:
    """Console provider: claim and 'send' (log) queued messages in one transaction."""
    provider = provider_for(hl, "console")
    with hl.session() as s, s.begin():
        rows = s.execute(select(SmsMessage.id, SmsMessage.phone, SmsMessage.body, SmsMessage.template).where(
            SmsMessage.id.in_(ids), SmsMessage.status == "queued", SmsMessage.provider == "console")).all()
        if rows:
            s.execute(update(SmsMessage).where(SmsMessage.id.in_([r.id for r in rows]), SmsMessage.status == "queued")
                      .values(status="sent", updated_at=hl.now(), sent_at=hl.now()))
    for row in rows:
        provider.send(Outgoing(row.phone, row.body, row.template))
    return len(rows)


def send_pending(hl: Hotline, limit: int = BATCH) -> int:
    """Send what is still queued (oldest first); returns how many this run handled."""
    now = hl.now()
    with hl.session() as s, s.begin():
        s.execute(update(SmsMessage).where(SmsMessage.status == "sending",
                                           SmsMessage.updated_at < now - STALE_SENDING)
                  .values(status="failed", updated_at=now,
                          error="interrupted while sending; not retried so it cannot arrive twice"))
        ids = s.scalars(select(SmsMessage.id).where(SmsMessage.direction == "out", SmsMessage.status == "queued", _DUE)
                        .order_by(SmsMessage.id).limit(limit), {"now": now}).all()
    return sum(1 for message_id in ids if send_one(hl, message_id) is not None)


def record_status(session: Session, provider: str, sid: str, status: str | None, error: str = "",
                  ref: str = "", phone: str = "") -> SmsMessage | None:
    """Apply a provider's delivery report (status already in our terms); None when unknown or ignored.

    `ref` is our id as the provider echoed it (OutId, SessionContext): it finds a message whose
    provider id we never stored (no answer, or a crash after the send), which then takes the
    receipt's provider, id and status whatever it was marked meanwhile (`phone` must match).
    """
    if not (sid or ref) or status not in STATUS_RANK:
        return None
    row = (session.scalar(select(SmsMessage).where(SmsMessage.provider == provider, SmsMessage.provider_sid == sid))
           if sid else None)
    if row is None and ref.startswith(REF_PREFIX) and ref[len(REF_PREFIX):].isdigit():
        row = session.get(SmsMessage, int(ref[len(REF_PREFIX):]))
        if row is not None and (row.direction != "out" or row.provider_sid is not None or row.phone != phone):
            row = None
        if row is not None:
            # Aliyun's QuerySendDetails names a message by our OutId only: its BizId comes with the receipt.
            row.provider, row.provider_sid, row.status = provider, sid or None, "sent"
            row.sent_at = row.sent_at or hotline_of(session).now()
            row.error = ""
    if row is None:
        log.info("sms status %s for unknown %s message %s ignored", status, provider, sid)
        return None
    if STATUS_RANK[status] > STATUS_RANK.get(row.status, 0):
        row.status = status
        row.updated_at = hotline_of(session).now()
        if error:
            row.error = error[:255]
    return row


class Sender:
    """Hands committed messages to their provider without holding up the committing request."""

    def __init__(self, hl: Hotline, workers: int = 2) -> None:
        self.hl = hl
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None
        # Re-entrant: a future that is already done runs its callback at once, under the lock.
        self._lock = threading.RLock()
        self._in_flight: set[Future] = set()

    def submit(self, ids: list[int]) -> None:
        if self.hl.settings.sms_provider == "console":
            # Nothing leaves the machine: mark the batch sent in one UPDATE and log each, in the
            # committing thread (cheaper than a thread hop, and one write instead of two per message).
            try:
                send_console_batch(self.hl, ids)
            except Exception:  # noqa: BLE001 - a database fault: the outbox job takes the rows later
                log.exception("sms: console send after commit failed; the outbox job takes it from here")
            return
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="sms-send")
            for message_id in ids:
                future = self._pool.submit(self._send, message_id)
                self._in_flight.add(future)
                future.add_done_callback(self._done)

    def _done(self, future: Future) -> None:
        with self._lock:
            self._in_flight.discard(future)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every message handed over so far is sent (or failed); False on timeout."""
        with self._lock:
            pending = set(self._in_flight)
        return not wait(pending, timeout=timeout).not_done

    def _send(self, message_id: int) -> None:
        try:
            send_one(self.hl, message_id)
        except Exception:  # noqa: BLE001 - a database fault: the outbox job finds the row where it stopped
            log.exception("sms %s: send after commit failed; the outbox job takes it from here", message_id)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)


def install_sender(hl: Hotline) -> Sender:
    sender = hl.extensions.get(_SENDER)
    if sender is None:
        sender = hl.extensions[_SENDER] = Sender(hl)
    return sender


def _hand_to_sender(hl: Hotline, message_id: int) -> None:
    sender = hl.extensions.get(_SENDER)
    if sender is None:
        log.debug("sms: no sender installed; message %s waits for the outbox job", message_id)
        return
    sender.submit([message_id])
