"""Delivery receipts of the mainland providers, pushed or polled, applied one way.

Pushed (SMS_RECEIPTS=push or both): Aliyun's SmsReport and Tencent's status callback post them to
our public URL (agent_console/sms_hooks.py; parsed by sms.mainland). Polled (SMS_RECEIPTS=poll or
both; a hotline behind NAT has no public URL): the `sms-receipts` job, on the scheduler's leader
every SMS_RECEIPT_POLL_SECONDS, asks about every mainland message still `sent`, GRACE after its
send and for POLL_FOR: Aliyun `QuerySendDetails` per message (PhoneNumber, SendDate in Beijing
time, BizId), Tencent `PullSmsSendStatusByPhoneNumber` per number (the span of its messages).
A message the provider has no receipt for yet is asked about again after as long as it has
waited (at most ASK_AT_LEAST_EVERY): most receipts come in minutes, and a phone switched off
for days should not cost a question every run against the provider's query quota.

Either way each receipt goes through `apply_receipt`, so a status only moves forward and a
message receipted twice (pushed and polled, or polled twice) is changed once.

The same job settles the messages a provider may or may not have taken (the send got no answer:
sms/outbox.py marks them failed rather than send them twice). They are asked about like the
others, by our id (OutId, SessionContext) as there is no provider id: found, they take the
provider's status; not found, Aliyun's word is final (QuerySendDetails lists every message it
took, receipted or not), so NOT_SENT_AFTER after the try the message is queued and sent again.
Tencent's pull lists receipts only, so there an unanswered send stays failed unless its receipt
turns up.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tickets.config import MAINLAND_PROVIDERS
from tickets.context import Hotline
from tickets.models import SmsMessage

from . import outbox
from .providers import ProviderError, provider_for

log = logging.getLogger(__name__)

# A pushed receipt usually comes within seconds: with SMS_RECEIPTS=both nothing is asked sooner.
GRACE = timedelta(minutes=2)
# Carriers retry a switched-off phone for up to 72 hours; after that no receipt will come.
POLL_FOR = timedelta(days=3)
# The longest wait between two questions about one message once it has waited hours.
ASK_AT_LEAST_EVERY = timedelta(hours=6)
# A message Aliyun still does not list this long after a send that got no answer never reached it.
NOT_SENT_AFTER = timedelta(minutes=10)


@dataclass(frozen=True)
class Receipt:
    """A delivery receipt in our terms: `sid` is the provider's id of the message (BizId,
    SerialNo), `ref` our id as the provider echoes it (OutId, SessionContext), `status`
    delivered or failed, `error` the carrier's reason of a failure."""
    provider: str
    phone: str
    sid: str
    ref: str
    status: str
    error: str = ""


@dataclass(frozen=True)
class Pending:
    """A message waiting for its receipt, as a provider is asked about it. `unsure`: its send got
    no answer, so whether the provider has it at all is the question (`sid` is None then)."""
    id: int
    phone: str
    sid: str | None
    sent_at: datetime
    unsure: bool = False

    @property
    def ref(self) -> str:
        return f"{outbox.REF_PREFIX}{self.id}"


def apply_receipt(session: Session, receipt: Receipt) -> SmsMessage | None:
    """Apply one receipt, pushed or polled (in the caller's transaction); the message, or None
    when it names none of ours."""
    return outbox.record_status(session, receipt.provider, receipt.sid, receipt.status, receipt.error,
                                ref=receipt.ref, phone=receipt.phone)


def pending(session: Session, provider: str, now: datetime) -> list[Pending]:
    """`provider`'s messages still `sent` without a receipt or unsure whether it has them, tried
    between POLL_FOR and GRACE ago, whose next question is due."""
    unsure = (SmsMessage.status == "failed") & SmsMessage.provider_sid.is_(None) & SmsMessage.receipt_check_at.is_not(None)
    rows = session.execute(select(SmsMessage.id, SmsMessage.phone, SmsMessage.provider_sid, SmsMessage.sent_at,
                                  SmsMessage.status).where(
        SmsMessage.direction == "out", SmsMessage.provider == provider,
        (SmsMessage.status == "sent") | unsure, SmsMessage.sent_at <= now - GRACE,
        SmsMessage.sent_at >= now - POLL_FOR,
        SmsMessage.receipt_check_at.is_(None) | (SmsMessage.receipt_check_at <= now)).order_by(SmsMessage.id))
    return [Pending(id, phone, sid, sent_at, unsure=status == "failed") for id, phone, sid, sent_at, status in rows]


def next_question(row: Pending, now: datetime) -> datetime:
    """When to ask about `row` again after an answer without its receipt: after as long again as
    it has waited, GRACE at least and ASK_AT_LEAST_EVERY at most."""
    return now + min(max(now - row.sent_at, GRACE), ASK_AT_LEAST_EVERY)


def _ask(provider, rows: list[Pending], now: datetime) -> tuple[list[Receipt], list[Pending]]:
    """The receipts `provider` has for `rows`, and the rows it answered about: one question per
    message (Aliyun) or per number (Tencent). A question that fails is logged and asked again
    next run."""
    questions = ([[row] for row in rows] if provider.name == "aliyun"
                 else list(_by_phone(rows).values()))
    found: list[Receipt] = []
    answered: list[Pending] = []
    for group in questions:
        try:
            found += provider.receipts(group, now)
        except ProviderError as exc:
            log.warning("sms receipts: %s could not say how %s fared: %s", provider.name,
                        ", ".join(str(r.id) for r in group), exc)
        else:
            answered += group
    return found, answered


def _by_phone(rows: list[Pending]) -> dict[str, list[Pending]]:
    grouped: dict[str, list[Pending]] = defaultdict(list)
    for row in rows:
        grouped[row.phone].append(row)
    return grouped


def poll(hl: Hotline) -> int:
    """The `sms-receipts` job: ask each configured mainland provider about its messages still
    waiting for a receipt and apply what it says; how many receipts named a message of ours."""
    matched = 0
    for name in (n for n in hl.settings.sms_providers if n in MAINLAND_PROVIDERS):
        now = hl.now()
        with hl.session() as s:
            rows = pending(s, name, now)
        if not rows:
            continue
        provider = provider_for(hl, name)
        receipts, answered = _ask(provider, rows, now)
        with hl.session() as s, s.begin():
            if answered:     # a message receipted now is not waiting any more: its next question is never read
                s.execute(update(SmsMessage), [{"id": row.id, "receipt_check_at": next_question(row, now)}
                                               for row in answered])
            for receipt in receipts:
                matched += apply_receipt(s, receipt) is not None
            if provider.lists_unreceipted:
                found = {receipt.ref for receipt in receipts}
                for row in answered:
                    if row.unsure and row.ref not in found and now - row.sent_at >= NOT_SENT_AFTER:
                        send_again(s, row, name, now)
        log.info("sms receipts: asked %s about %d messages, %d receipts", name, len(rows), len(receipts))
    return matched


def send_again(session: Session, row: Pending, provider: str, now: datetime) -> None:
    """Queue an unsure message again: `provider` says it never got it. Only while it is still
    unsure (a receipt pushed meanwhile wins)."""
    requeued = session.execute(update(SmsMessage).where(
        SmsMessage.id == row.id, SmsMessage.status == "failed", SmsMessage.provider_sid.is_(None))
        .values(status="queued", next_attempt_at=None, sent_at=None, receipt_check_at=None, updated_at=now,
                error=f"{provider} never got the try of {row.sent_at:%H:%M} UTC that had no answer: sent again"))
    if requeued.rowcount:
        log.warning("sms %s: %s never got the send that had no answer; queued to be sent again", row.id, provider)
