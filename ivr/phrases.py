"""Sentences built from prompts and values: dates, times, prices, order numbers.

A phrase is a list of segments as in docs/ivr-contract.md (`{"prompt": key}`, `{"digits": s}`,
`{"number": n}`). A segment may also carry `"text"`: what the transcript shows instead of the
prompt's own text, for things a pre-rendered prompt cannot say (a customer's name, a full
street address). `render()` drops that field from what the adapter plays, so Asterisk plays
the prompt and Twilio's `<Say>` reads the fuller text.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from . import prompts

Segment = dict[str, Any]

# Word order per language, as data: a date is said "11月24日星期二" or "Tuesday November 24".
DATE_ORDER = {"zh": ("month", "day", "day_word", "weekday"), "en": ("weekday", "month", "day")}
# A clock time: "下午2点30分" / "2 30 p.m."; the evening starts at 18:00.
TIME_ORDER = {"zh": ("ampm", "hour", "oclock", "minute", "minute_word"), "en": ("hour", "minute", "ampm")}
EVENING_FROM = 18
JOIN = {"zh": "", "en": " "}
NO_SPACE_BEFORE = ".,;:!?，。；：！？"
# After a number said digit by digit, the words that follow are a new phrase: a comma gives the
# pause (<Say> and espeak read "2 6 3 2 7 0 0 0 1 2空调维修" as one run otherwise).
AFTER_DIGITS = {"zh": "，", "en": ","}


def prompt(key: str, text: str | None = None) -> Segment:
    """A catalog prompt; `text` replaces its transcript text (see the module docstring)."""
    return {"prompt": key} if text is None else {"prompt": key, "text": text}


def digits(value: str) -> Segment:
    """Said digit by digit (an order number, a phone number)."""
    return {"digits": value}


def number(value: int) -> Segment:
    """Said as a number (a day of the month, an amount)."""
    return {"number": int(value)}


def say_date(day: date, lang: str) -> list[Segment]:
    """A calendar day with its weekday."""
    parts = {"month": prompt(f"month.{day.month}"), "day": number(day.day), "day_word": prompt("date.day"),
             "weekday": prompt(f"weekday.{day.weekday()}")}
    return [parts[p] for p in DATE_ORDER[lang]]


def say_time(local: datetime, lang: str) -> list[Segment]:
    """A clock time in the 12-hour form people say on the phone."""
    hour = local.hour % 12 or 12
    ampm = "time.am" if local.hour < 12 else ("time.evening" if local.hour >= EVENING_FROM else "time.pm")
    parts = {"ampm": prompt(ampm), "hour": number(hour), "oclock": prompt("time.oclock"),
             "minute": number(local.minute) if local.minute else None,
             "minute_word": prompt("time.minutes") if local.minute else None}
    return [parts[p] for p in TIME_ORDER[lang] if parts[p] is not None]


def say_money(fen: int) -> list[Segment]:
    """An amount in yuan, with the fen when there are any."""
    out = [number(fen // 100), prompt("money.yuan")]
    if fen % 100:
        out += [number(fen % 100), prompt("money.fen")]
    return out


def segment_text(seg: Segment, lang: str) -> str:
    if "text" in seg:
        return seg["text"]
    if "prompt" in seg:
        return prompts.text(seg["prompt"], lang)
    if "digits" in seg:
        return " ".join(seg["digits"])
    return str(seg["number"])


def render(segments: list[Segment], lang: str) -> tuple[list[Segment], str]:
    """The segments an adapter plays and the same sentence as text."""
    played = [{k: v for k, v in seg.items() if k != "text"} for seg in segments]
    out = ""
    after_digits = False
    for seg in segments:
        piece = segment_text(seg, lang)
        if not piece:
            continue
        if out and piece[0] in NO_SPACE_BEFORE:
            # No space before punctuation that a prompt starts with ("..., 80 yuan. To confirm"),
            # and one full stop where a phrase ends with the mark the next starts with ("8 p.m." ". They").
            out += piece[1:] if out[-1] == piece[0] else piece
        elif out:
            out += (AFTER_DIGITS[lang] if after_digits else "") + JOIN[lang] + piece
        else:
            out = piece
        after_digits = "digits" in seg
    return played, out.strip()
