"""Reading amounts of money typed by people: yuan text -> integer fen, exactly (no floats).

The other direction, fen -> "120.00", is `pricing.yuan`.
"""
from __future__ import annotations

import re

from .errors import ValidationError

_YUAN = re.compile(r"^(\d{1,9})(?:\.(\d{1,2}))?$")


def parse_yuan(text: str, name: str = "amount") -> int:
    """'120', '120.5', '¥120.50' -> 12000, 12050, 12050 fen; anything else is a ValidationError."""
    raw = (text or "").strip().lstrip("¥￥").strip()
    m = _YUAN.match(raw)
    if m is None:
        raise ValidationError("{name} must be an amount in yuan with at most 2 decimals, e.g. 120 or 120.50; got {text!r}", name=name, text=text)
    whole, frac = m.group(1), (m.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(frac)
