"""Outbound messaging providers behind one interface: `send(Outgoing) -> Sent`.

- `ConsoleProvider` (the default without Twilio credentials) only logs; the message row is
  what the console shows.
- `TwilioProvider` sends the rendered body through the REST API (`Client.messages.create`) with a
  status callback to PUBLIC_BASE_URL/twilio/sms/status, so delivery and failure come back later.
- `AliyunProvider` and `TencentProvider` (sms/mainland.py) send the notice's approved template
  with its parameters, for mainland phones.

A provider raises `ProviderError` when it could not hand the message over; `transient` says
whether trying again later (or another provider) can help (network trouble, 5xx, 429, quota, a
template or signature not approved yet) or not (a bad number, an unsubscribed recipient).
`ambiguous`: the request may have reached the provider (no answer came back), so sending it
again could deliver it twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tickets.config import Settings
from tickets.context import Hotline

log = logging.getLogger(__name__)

STATUS_CALLBACK_PATH = "/twilio/sms/status"
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Outgoing:
    """One message as a provider needs it: the rendered body, and the notice as (template, params).
    `ref` is our own id for it, echoed by the mainland providers (OutId, SessionContext)."""
    phone: str
    body: str
    template: str = "reply"
    params: dict | None = None
    ref: str = ""


@dataclass(frozen=True)
class Sent:
    sid: str | None
    status: str = "sent"


class ProviderError(Exception):
    def __init__(self, message: str, *, transient: bool, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.transient = transient
        self.ambiguous = ambiguous


class Provider(Protocol):
    name: str

    def send(self, msg: Outgoing) -> Sent: ...


class ConsoleProvider:
    """Stores (the caller keeps the row) and logs; nothing leaves the machine."""
    name = "console"

    def send(self, msg: Outgoing) -> Sent:
        log.info("sms (console provider, not sent) to %s: %s", msg.phone, msg.body)
        return Sent(sid=None, status="sent")


class TwilioProvider:
    """Twilio Programmable Messaging over REST."""
    name = "twilio"

    def __init__(self, settings: Settings, http_client=None) -> None:
        self._settings = settings
        self._client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=http_client)
        if http_client is None:
            self._client.http_client.timeout = TIMEOUT_SECONDS

    def send(self, msg: Outgoing) -> Sent:
        s = self._settings
        if not (s.twilio_account_sid and s.twilio_auth_token and s.twilio_number):
            raise ProviderError("Twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_NUMBER "
                                "(e.g. TWILIO_NUMBER=+8610xxxxxxxx)", transient=False)
        kwargs = {"to": msg.phone, "from_": s.twilio_number, "body": msg.body}
        if s.public_base_url:
            kwargs["status_callback"] = s.public_base_url + STATUS_CALLBACK_PATH
        try:
            msg = self._client.messages.create(**kwargs)
        except TwilioRestException as exc:
            raise ProviderError(f"twilio refused: HTTP {exc.status}, code {exc.code}: {exc.msg}"[:255],
                                transient=exc.status >= 500 or exc.status == 429) from exc
        except requests.RequestException as exc:
            raise ProviderError(f"twilio unreachable: {exc}"[:255], transient=True) from exc
        return Sent(sid=msg.sid, status="sent")


def _mainland_factory(name: str):
    def make(settings: Settings) -> Provider:
        # Imported when first used: the SDKs are only loaded where a mainland provider is configured.
        from . import mainland
        return mainland.PROVIDERS[name](settings.mainland[name])
    return make


FACTORIES = {"console": lambda settings: ConsoleProvider(), "twilio": TwilioProvider,
             "aliyun": _mainland_factory("aliyun"), "tencent": _mainland_factory("tencent")}
_KEY = "sms.providers"


def provider_for(hl: Hotline, name: str) -> Provider:
    """The provider named on a message row, made once per Hotline."""
    cache = hl.extensions.setdefault(_KEY, {})
    if name not in cache:
        factory = FACTORIES.get(name)
        if factory is None:
            raise ProviderError(f"no outbound provider {name!r}; providers are: {', '.join(FACTORIES)}",
                                transient=False)
        cache[name] = factory(hl.settings)
    return cache[name]


def use_provider(hl: Hotline, provider: Provider) -> None:
    """Put a configured provider in place (e.g. Twilio with its own HTTP client)."""
    hl.extensions.setdefault(_KEY, {})[provider.name] = provider


# Twilio's message statuses (status callbacks) in our terms.
TWILIO_STATUSES = {"accepted": "sent", "scheduled": "sent", "queued": "sent", "sending": "sent", "sent": "sent",
                   "delivered": "delivered", "read": "delivered", "undelivered": "failed", "failed": "failed",
                   "canceled": "failed"}
