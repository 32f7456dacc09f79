"""Text as phones send it, made regular: full-width forms, stray control characters, Chinese numerals."""
from __future__ import annotations

import re
import unicodedata

# Chinese digits as people type them in dates, times and quantities (两 for two of something).
CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6,
             "七": 7, "八": 8, "九": 9}
CN_UNITS = {"十": 10, "百": 100}
# A whole number as a regular expression: all of a run of Arabic digits or of Chinese numerals
# (never a part of one, so "25" cannot be read as "2" followed by "5").
NUMBER = r"(?:\d{1,4}(?!\d)|[零〇一二两兩三四五六七八九十百]{1,5}(?![零〇一二两兩三四五六七八九十百]))"

_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u2028-\u202e\u2060\ufeff]")
_SPACES = re.compile(r"\s+")


def clean(raw: str) -> str:
    """NFKC (full-width letters, digits and punctuation become ASCII), invisible characters dropped,
    lone surrogates replaced, whitespace collapsed."""
    text = (raw or "").encode("utf-8", "replace").decode("utf-8")
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    return _SPACES.sub(" ", text).strip()


def storable(raw: str) -> str:
    """A message body as stored: every character kept except NUL and lone surrogates, which no
    database text column accepts."""
    return (raw or "").encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def to_int(token: str) -> int | None:
    """'25', '二十五', '十一', '两', '二零二六' -> int; None when it is not a number."""
    if not token:
        return None
    if token.isascii() and token.isdigit():
        return int(token)
    if any(ch not in CN_DIGITS and ch not in CN_UNITS for ch in token):
        return None
    if not any(ch in CN_UNITS for ch in token):
        # Digit by digit, the way years and room numbers are written: 二零二六.
        return int("".join(str(CN_DIGITS[ch]) for ch in token))
    total, current = 0, 0
    for ch in token:
        if ch in CN_DIGITS:
            current = CN_DIGITS[ch]
        else:
            total += (current or 1) * CN_UNITS[ch]
            current = 0
    return total + current
