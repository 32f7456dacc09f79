"""How the sms package plugs into a Hotline (entry point `hotline.plugins: sms`)."""
from __future__ import annotations

import logging

from tickets import cards
from tickets.context import Hotline, Job

from . import conversation, notices, outbox

log = logging.getLogger(__name__)

OUTBOX_EVERY_SECONDS = 15
_INSTALLED = "sms"


def outbox_job(hl: Hotline) -> None:
    """Send what is still queued and expire unanswered read-backs; safe to run twice."""
    sent = outbox.send_pending(hl)
    expired = conversation.expire_stale(hl)
    if sent or expired:
        log.info("sms outbox: %d messages handled, %d requests expired", sent, expired)


def install(hl: Hotline) -> None:
    """Order notices as an order listener, card notices as a card listener, the outbox job, and the
    after-commit sender."""
    if hl.extensions.get(_INSTALLED):
        return
    hl.extensions[_INSTALLED] = True
    hl.order_listeners.append(notices.on_order_event)
    cards.add_listener(hl, notices.on_card_entry)
    hl.jobs.append(Job("sms-outbox", outbox_job, OUTBOX_EVERY_SECONDS))
    outbox.install_sender(hl)
