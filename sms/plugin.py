"""How the sms package plugs into a Hotline (entry point `hotline.plugins: sms`)."""
from __future__ import annotations

import logging

from tickets import cards
from tickets.config import MAINLAND_PROVIDERS
from tickets.context import Hotline, Job

from . import conversation, kinds, notices, outbox, receipts

log = logging.getLogger(__name__)

OUTBOX_EVERY_SECONDS = 15
SURVEY_RESEND_EVERY_SECONDS = 300
_INSTALLED = "sms"


def outbox_job(hl: Hotline) -> None:
    """Send what is still queued and expire unanswered read-backs; safe to run twice."""
    sent = outbox.send_pending(hl)
    expired = conversation.expire_stale(hl)
    if sent or expired:
        log.info("sms outbox: %d messages handled, %d requests expired", sent, expired)


def install(hl: Hotline) -> None:
    """Order, complaint and member card notices as listeners, the outbox job, the receipts job
    (SMS_RECEIPTS poll or both, with a mainland provider), and the after-commit sender.

    Checks first that every notice kind has a template at each configured mainland provider
    (ConfigError naming the variables otherwise): `hotline run`, `hotline config` and the console
    app all build their Hotline through here.
    """
    if hl.extensions.get(_INSTALLED):
        return
    kinds.check_config(hl.settings)
    hl.extensions[_INSTALLED] = True
    hl.order_listeners.append(notices.on_order_event)
    hl.complaint_listeners.append(notices.on_complaint_event)
    cards.add_listener(hl, notices.on_card_entry)
    hl.jobs.append(Job("sms-outbox", outbox_job, OUTBOX_EVERY_SECONDS))
    hl.jobs.append(Job("survey-resend", notices.resend_surveys, SURVEY_RESEND_EVERY_SECONDS))
    s = hl.settings
    if s.sms_receipts in ("poll", "both") and any(p in MAINLAND_PROVIDERS for p in s.sms_providers):
        hl.jobs.append(Job("sms-receipts", receipts.poll, s.sms_receipt_poll_seconds))
    outbox.install_sender(hl)
