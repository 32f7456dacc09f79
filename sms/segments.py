"""How many SMS segments a text costs, and shortening a text to a number of segments.

A message in the GSM 03.38 alphabet takes 160 septets alone or 153 per part when concatenated
(the rest of each part is the concatenation header); escape-table characters (€, [, ] ...)
take two septets and are never split across parts. Anything else goes as UCS-2: 70 UTF-16
code units alone or 67 per part; a character outside the BMP (most emoji) is two code units
and is never split either.
"""
from __future__ import annotations

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")
GSM_ALL = GSM_BASIC | GSM_EXTENDED

# encoding -> (units in a single message, units per part of a concatenated one)
LIMITS = {"gsm7": (160, 153), "ucs2": (70, 67)}
MAX_REPLY_SEGMENTS = 3


def encoding(text: str) -> str:
    """'gsm7' when every character is in the GSM alphabet, else 'ucs2'."""
    return "gsm7" if GSM_ALL.issuperset(text) else "ucs2"


def _units(ch: str, enc: str) -> int:
    if enc == "gsm7":
        return 2 if ch in GSM_EXTENDED else 1
    return 2 if ord(ch) > 0xFFFF else 1


def _length(text: str, enc: str) -> int:
    """Units `text` takes in `enc`, counted without looking at each character in Python."""
    if enc == "ucs2":
        return len(text.encode("utf-16-le", "surrogatepass")) // 2
    return len(text) + sum(text.count(ch) for ch in GSM_EXTENDED)


def split(text: str) -> list[str]:
    """The parts a phone network would deliver `text` in (one part for a short or empty text)."""
    enc = encoding(text)
    single, per_part = LIMITS[enc]
    if _length(text, enc) <= single:
        return [text]
    return _parts(text, enc, per_part)


def _parts(text: str, enc: str, per_part: int) -> list[str]:
    parts, current, used = [], [], 0
    for ch in text:
        n = _units(ch, enc)
        if used + n > per_part:
            parts.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += n
    parts.append("".join(current))
    return parts


def count(text: str) -> int:
    """Number of segments `text` is billed as."""
    enc = encoding(text)
    single, per_part = LIMITS[enc]
    units = _length(text, enc)
    if units <= single:
        return 1
    if units == len(text):
        # Every character takes one unit, so none straddles a part boundary: the parts are
        # plain slices and their number is arithmetic (what `split` would find, without it).
        return -(-units // per_part)
    return len(_parts(text, enc, per_part))


def fit(text: str, max_segments: int = MAX_REPLY_SEGMENTS, tail: str = "") -> str:
    """`text` + `tail`, `text` cut with an ellipsis when the whole would take more than `max_segments`
    segments (`tail` is kept whole)."""
    if count(text + tail) <= max_segments:
        return text + tail
    mark = "..." if encoding(text + tail) == "gsm7" else "…"
    lo, hi = 0, len(text)
    while lo < hi:   # the longest prefix that still fits with the mark
        mid = (lo + hi + 1) // 2
        if count(text[:mid].rstrip() + mark + tail) <= max_segments:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + mark + tail
