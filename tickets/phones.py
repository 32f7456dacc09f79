"""Phone numbers: everything entering Hotline is normalised to E.164 here (default region CN)."""
from __future__ import annotations

from functools import lru_cache

import phonenumbers

from .errors import ValidationError

ANONYMOUS = "anonymous"
_ANON_VALUES = {"", "anonymous", "unknown", "restricted", "private", "unavailable", "0"}


def normalize(raw: str, region: str = "CN") -> str:
    """Return the E.164 form of `raw`, or raise ValidationError saying what a good number looks like."""
    return _normalize((raw or "").strip(), region)


@lru_cache(maxsize=4096)
def _normalize(text: str, region: str) -> str:
    # Cached: every channel normalises the same callers' numbers again and again, and parsing
    # with phonenumbers costs more than the database lookup that follows. Refusals (exceptions)
    # are not cached, so garbage cannot fill the cache.
    try:
        num = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        num = None
    if num is None or not phonenumbers.is_possible_number(num) or not phonenumbers.is_valid_number(num):
        raise ValidationError(
            "{text!r} is not a phone number; give a mainland mobile like 13800138000, a landline with area code like 0991-2345678, or +E.164 like +8613800138000", text=text)
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def normalize_caller(raw: str | None, region: str = "CN") -> str:
    """Caller-ID form: E.164 when it parses, otherwise `anonymous` (withheld or garbage caller ID)."""
    if (raw or "").strip().lower() in _ANON_VALUES:
        return ANONYMOUS
    try:
        return normalize(raw or "", region)
    except ValidationError:
        return ANONYMOUS


def national(e164: str) -> str:
    """The number as a caller would dial it at home (13800138000)."""
    if not e164.startswith("+"):
        return e164
    num = phonenumbers.parse(e164)
    return phonenumbers.national_significant_number(num) if num.country_code == 86 else e164


def mask(e164: str) -> str:
    """Masked for people who may not see it: 138****8000."""
    digits = national(e164)
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "****" + digits[-4:]


def dialable(e164: str) -> str:
    """The digits a mainland trunk dials for `e164`: 13800138000, 09914567890 (trunk prefix
    included for landlines), a foreign number as +CC... (the carrier routes it)."""
    num = phonenumbers.parse(e164)
    return phonenumbers.format_number_for_mobile_dialing(num, "CN", with_formatting=False) or e164
