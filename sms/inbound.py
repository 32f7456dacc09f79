"""One inbound message model, and the normalisers from each provider's format into it.

Twilio posts a form (MessageSid, From, Body); Aliyun SmsUp pushes a JSON array of
{phone_number, content, send_time, sequence_id, ...}; Tencent Cloud posts one JSON object
{mobile, nationcode, text, time, sign, extend}. Twilio covers numbers abroad; Aliyun and
Tencent are how a mainland number receives replies, since Twilio has no two-way SMS there.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Mapping

from tickets.phones import normalize_caller

from .text import storable

BODY_MAX = 10_000      # longer bodies are cut when stored; no SMS gets near it


class BadPayload(ValueError):
    """A provider's payload lacks what every message has (an id, a sender)."""


@dataclass(frozen=True)
class Inbound:
    """An SMS received, whatever carried it."""
    provider: str      # twilio, aliyun, tencent
    sid: str           # the provider's id of the message (Tencent has none: a digest, see from_tencent)
    phone: str         # sender, E.164, or "anonymous" when the number is unusable
    body: str
    raw_from: str = ""


def _message(provider: str, sid: str, raw_from: str, body: Any) -> Inbound:
    if not sid:
        raise BadPayload(f"{provider}: the message has no id")
    if not raw_from:
        raise BadPayload(f"{provider}: the message has no sender")
    return Inbound(provider=provider, sid=sid[:64], phone=normalize_caller(raw_from),
                   body=storable(str(body or ""))[:BODY_MAX], raw_from=raw_from[:32])


def from_twilio(form: Mapping[str, str]) -> Inbound:
    """A Twilio Messaging webhook form."""
    return _message("twilio", form.get("MessageSid") or form.get("SmsSid") or "", form.get("From") or "",
                    form.get("Body"))


def from_aliyun(item: Mapping[str, Any]) -> Inbound:
    """One element of an Aliyun SmsUp HTTP batch push."""
    if not isinstance(item, Mapping):
        raise BadPayload("aliyun: each SmsUp element must be a JSON object")
    return _message("aliyun", str(item.get("sequence_id") or ""), str(item.get("phone_number") or ""),
                    item.get("content"))


def from_tencent(payload: Mapping[str, Any]) -> Inbound:
    """A Tencent Cloud SMS reply callback.

    Tencent gives the message no id; a retried callback repeats the same sender, time and text,
    so their digest identifies it.
    """
    if not isinstance(payload, Mapping):
        raise BadPayload("tencent: the reply callback must be a JSON object")
    mobile = str(payload.get("mobile") or "")
    nation = str(payload.get("nationcode") or "86").lstrip("+")
    raw_from = mobile if mobile.startswith("+") else f"+{nation}{mobile}" if mobile else ""
    text = str(payload.get("text") or "")
    digest = hashlib.sha256(f"{raw_from}|{payload.get('time')}|{text}".encode("utf-8", "replace")).hexdigest()
    return _message("tencent", digest[:40], raw_from, text)
