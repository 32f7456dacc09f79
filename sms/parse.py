"""Turning the text of an SMS into a request: what the sender wants, and what is missing or wrong.

`parse(text, catalog, now)` never raises. It returns a `Request` whose `intent` is one of
INTENTS; a booking carries the service code, the local start time and the quantity, or the
`problems` that stop it (missing service, unknown code, past date...), which the reply turns
into a message showing the right format.

Decisions a reader should know:
- `YD` is not a service: it is read as 预订 (yù dìng, "book"), a booking keyword like 预约, so
  `YD BJ 11-25 AM` books home cleaning and `YD 11-25 AM` is answered with "which service?" and
  the code list. A catalog service with the code YD would take precedence.
- `QX` is both the cancel command and the code of 清洗保洁 (deep cleaning): `QX 2632700001` and
  a bare `QX` cancel, `QX 明天上午` books deep cleaning. 取消 always means cancel.
- A bare 10-digit order number is a status query (CX).
- `投诉 ...` is a complaint: the rest of the message is its text, and an order number in it names
  the order complained about.
"""
from __future__ import annotations

import functools
import re
from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickets.errors import ValidationError
from tickets.models import Service
from tickets.pricing import check_quantity

from . import when as when_mod
from .text import NUMBER, clean, to_int

INTENTS = ("book", "yes", "no", "query", "cancel", "complaint", "optout", "optin", "help", "score", "empty",
           "unknown")

# Whole-message keywords (compared upper-cased, trailing punctuation ignored).
KEYWORDS: dict[str, str] = {
    **dict.fromkeys(("Y", "YES", "是", "是的", "确认", "確認", "确定", "好", "好的", "OK", "对", "可以"), "yes"),
    **dict.fromkeys(("N", "NO", "否", "不", "不要", "不用", "不用了", "算了"), "no"),
    # Twilio's standard opt-out words too, so the behaviour matches what Twilio itself does.
    **dict.fromkeys(("TD", "退订", "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"), "optout"),
    **dict.fromkeys(("START", "UNSTOP", "订阅", "DY"), "optin"),
    **dict.fromkeys(("HELP", "INFO", "帮助", "?", "BZ"), "help"),
}
QUERY_WORDS = ("CX", "查询", "查單", "查单", "查")
CANCEL_WORDS = ("QX", "取消", "退单")
COMPLAINT_WORDS = ("投诉", "投訴")
BOOK_WORDS = ("预约", "預約", "预订", "预定", "我要", "帮我", "需要", "YD")
# Words around an order number that carry no meaning of their own.
FILLER = re.compile(r"订单号?|訂單號?|单号|進度|进度|状态|號碼|号码|[#:：,，.。!！\s]")

# Chinese words that name a service, beside the catalog's own names (which always count).
SERVICE_ALIASES: dict[str, str] = {
    "保洁": "BJ", "打扫": "BJ", "打扫卫生": "BJ", "做卫生": "BJ", "家庭清洁": "BJ", "家政保洁": "BJ",
    "办公室保洁": "GSBJ", "单位保洁": "GSBJ",
    "油烟机": "YYJ", "抽油烟机": "YYJ", "洗油烟机": "YYJ",
    "深度保洁": "QX", "深度清洁": "QX", "开荒保洁": "QX",
    "钟点工": "XSG",
    "护工": "PH", "厨师": "ZF",
    "水电": "SD", "水管": "SD", "电路": "SD",
    "疏通": "GD", "下水道": "GD",
    "空调": "KT", "电脑": "DN", "门窗": "MC", "家电": "JD", "冰箱": "JD", "洗衣机": "JD", "热水器": "JD",
    "搬家": "BJJ", "办公室搬家": "GSBJJ", "单位搬家": "GSBJJ",
    "辅导": "JJ", "宠物": "CW", "婚庆": "HQ", "婚礼": "HQ",
}

# Unit words after a number -> the catalog unit they count.
UNIT_WORDS = {"小时": "hour", "小時": "hour", "个小时": "hour", "個小時": "hour", "钟头": "hour", "个钟头": "hour",
              "个钟": "hour", "H": "hour", "HR": "hour", "HRS": "hour", "HOUR": "hour", "HOURS": "hour",
              "次": "visit", "趟": "visit", "个月": "month", "個月": "month",
              "平米": "sqm", "平方米": "sqm", "平方": "sqm", "平": "sqm", "M2": "sqm"}
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNIT_WORDS, key=len, reverse=True))
QUANTITY = re.compile(r"(" + NUMBER + r")\s*(" + _UNIT_ALT + r")(?![A-Z])", re.IGNORECASE)
FRACTION = re.compile(r"(\d+\.\d+)\s*(" + _UNIT_ALT + r")(?![A-Z])", re.IGNORECASE)
ASCII_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{2,6}(?![A-Za-z])")
ORDER_NUMBER = re.compile(r"(?<!\d)\d{10}(?!\d)")
CODED_QUERY = re.compile(r"^\D*?(\d{10})\D+(\d{6})\D*$")
SCORE = re.compile(r"^([1-5一二三四五])(?:\s*[分星])?(?:$|[\s,，.。!！:：]+(.*)$)", re.DOTALL)
ADDRESS_LABEL = re.compile(r"^(?:地址|住址|addr(?:ess)?)\s*[:：]?\s*", re.IGNORECASE)
_TRIM = " ,，.。;；:：!！?？、~-"
# The booking words, compiled once; an ASCII one counts only where no other letter touches it.
_BOOK_PATTERNS = tuple((word, re.compile(rf"(?<![A-Za-z]){word}(?![A-Za-z])" if word.isascii() else re.escape(word),
                                         re.IGNORECASE)) for word in BOOK_WORDS)


@dataclass(frozen=True)
class Problem:
    """Something that stops a request: `code` (see replies.PROBLEMS) and the words concerned."""
    code: str
    text: str = ""


@dataclass(frozen=True)
class Request:
    """What a message asks for."""
    intent: str
    service: str | None = None          # catalog code
    when: datetime | None = None        # local, naive
    quantity: int | None = None
    number: str | None = None           # work-order number (query, cancel)
    code: str = ""                      # one-time code after a queried number ("CX 2632700001 123456")
    score: int | None = None            # survey answer 1..5
    comment: str = ""
    rest: str = ""                       # words not understood (an address, a note)
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Catalog:
    """The active services as the parser needs them."""
    codes: frozenset[str]
    names: tuple[tuple[str, str], ...]   # (Chinese word, code), longest first
    units: dict[str, str]
    short_names: dict[str, str]          # code -> a short Chinese name, in catalog order

    @classmethod
    def from_services(cls, services: Iterable) -> "Catalog":
        services = list(services)
        codes = frozenset(s.code for s in services)
        words = {s.name_zh: s.code for s in services}
        words.update({w: c for w, c in SERVICE_ALIASES.items() if c in codes and w not in words})
        # The shortest word for each code (the catalog's own name on a tie) keeps the code list short.
        short = {s.code: min([s.name_zh] + [w for w, c in SERVICE_ALIASES.items() if c == s.code], key=len)
                 for s in services}
        return cls(codes=codes, names=tuple(sorted(words.items(), key=lambda kv: -len(kv[0]))),
                   units={s.code: s.unit for s in services}, short_names=short)

    @classmethod
    def load(cls, session: Session) -> "Catalog":
        """The active catalog, in menu order (built once per distinct catalog, then reused)."""
        return _catalog_of(tuple(tuple(row) for row in session.execute(_ACTIVE_SERVICES)))


_CatalogRow = namedtuple("_CatalogRow", "code name_zh unit")
_ACTIVE_SERVICES = (select(Service.code, Service.name_zh, Service.unit).where(Service.active)
                    .order_by(Service.category_digit, Service.menu_digit))


@functools.lru_cache(maxsize=8)
def _catalog_of(rows: tuple[tuple[str, str, str], ...]) -> Catalog:
    # Keyed by the rows themselves, so an admin's change to the catalog is seen at once.
    return Catalog.from_services(_CatalogRow(*row) for row in rows)


def parse(text: str, catalog: Catalog, now: datetime, holiday_day: when_mod.HolidayDay | None = None) -> Request:
    """Read one message against the catalog and local naive `now` (`holiday_day`: how holiday
    names become dates, see sms.when); never raises."""
    t = clean(text)
    if not t:
        return Request("empty")
    key = t.upper().rstrip(_TRIM) or t
    if key in KEYWORDS:
        return Request(KEYWORDS[key])
    m = SCORE.match(t)
    if m:
        return Request("score", score=to_int(m.group(1)), comment=(m.group(2) or "").strip())
    if ORDER_NUMBER.fullmatch(t):
        return Request("query", number=t)
    for word in COMPLAINT_WORDS:
        if t.startswith(word):
            return _complaint(t[len(word):])
    upper = t.upper()
    for word in QUERY_WORDS:
        if upper.startswith(word):
            coded = CODED_QUERY.match(t[len(word):])
            if coded:
                return Request("query", number=coded.group(1), code=coded.group(2))
            return _with_number("query", t[len(word):])
    for word in CANCEL_WORDS:
        if upper.startswith(word):
            rest = t[len(word):]
            if word == "QX" and "QX" in catalog.codes and not _number_or_nothing(rest):
                break   # QX followed by a time: a deep-cleaning booking
            return _with_number("cancel", rest)
    return _booking(t, catalog, now, holiday_day)


def _complaint(rest: str) -> Request:
    text = rest.strip(_TRIM)
    m = ORDER_NUMBER.search(text)
    return Request("complaint", number=m.group(0) if m else None, comment=text[:1000])


def _number_or_nothing(rest: str) -> bool:
    leftover = FILLER.sub("", rest)
    return not leftover or bool(ORDER_NUMBER.fullmatch(leftover))


def _with_number(intent: str, rest: str) -> Request:
    leftover = FILLER.sub("", rest)
    if not leftover:
        return Request(intent)
    m = ORDER_NUMBER.search(leftover)
    if m:
        return Request(intent, number=m.group(0))
    return Request(intent, problems=(Problem("bad_number", rest.strip(_TRIM)[:20]),))


def _booking(t: str, catalog: Catalog, now: datetime, holiday_day: when_mod.HolidayDay | None) -> Request:
    blanks = when_mod.Blanks(t)
    problems: list[Problem] = []
    for word, pattern in _BOOK_PATTERNS:
        if word.isascii() and word in catalog.codes:
            continue
        for m in list(pattern.finditer(blanks.text)):
            blanks.consume(m)

    found: list[tuple[int, str, str]] = []      # (position, code, as written)
    for word, code in catalog.names:
        if word not in blanks.text:     # most names are not in the message: skip the regex
            continue
        for m in list(re.finditer(re.escape(word), blanks.text)):
            found.append((m.start(), code, word))
            blanks.consume(m)

    reading = when_mod.read(blanks, now, holiday_day)
    problems += [Problem(code, text) for code, text in reading.problems]

    quantity, unit, unit_phrase = None, None, ""
    for m in list(FRACTION.finditer(blanks.text)):
        blanks.consume(m)
        problems.append(Problem("bad_quantity", m.group(0).strip()))
    for m in list(QUANTITY.finditer(blanks.text)):
        blanks.consume(m)
        if quantity is not None or unit is not None:
            continue
        n = to_int(m.group(1))
        unit, unit_phrase = UNIT_WORDS[m.group(2).upper()], m.group(0).strip()
        try:
            quantity = check_quantity(n)
        except ValidationError:
            problems.append(Problem("bad_quantity", unit_phrase))

    unknown: list[str] = []
    for m in list(ASCII_WORD.finditer(blanks.text)):
        token = m.group(0).upper()
        if token in catalog.codes:
            found.append((m.start(), token, token))
            blanks.consume(m)
        else:
            unknown.append(token)

    codes = list(dict.fromkeys(code for _, code, _ in sorted(found)))
    service = codes[0] if len(codes) == 1 else None
    if len(codes) > 1:
        problems.insert(0, Problem("two_services", "/".join(dict.fromkeys(w for _, _, w in sorted(found)))))
    elif not codes:
        if unknown:
            problems.insert(0, Problem("unknown_code", unknown[0]))
        elif not (reading.found or unit):
            # Nothing but words like 预约: "how do I book?" is answered with the format.
            return Request("unknown", rest=blanks.rest()[:200])
        else:
            problems.insert(0, Problem("missing_service"))
    if service and unit and catalog.units.get(service) != unit:
        problems.append(Problem("unit_mismatch", unit_phrase))
    if reading.when is None and not reading.problems:
        problems.append(Problem("missing_time"))
    rest = ADDRESS_LABEL.sub("", blanks.rest().strip(_TRIM)).strip(_TRIM)
    return Request("book", service=service, when=reading.when, quantity=quantity, rest=rest[:200],
                   problems=tuple(problems))
