"""Dates and times as customers text them, read against the local "now".

Chinese and numeric forms: 今天/明天/后天, 周六/下周一/这周五, 11月25日/11-25/2026-11-25/25号,
上午/下午/晚上/AM/PM, 3点/9点半/十点一刻/14:30/3pm. The words are tables below; the functions
only apply them. Nothing here raises: what cannot be read becomes a (code, text) problem.

Rules a reader should know:
- A clock hour 1-6 with no part of the day is afternoon (3点 = 15:00): home services are not
  booked for three in the morning, and people rarely write 下午 when they mean it.
- A part of the day alone is its usual start (上午 = 09:00, 下午 = 14:00, 晚上 = 19:00).
- A time with no date is the next such time (today if still ahead, else tomorrow).
- A month and day with no year is this year's, or next year's when it is more than
  `ROLL_OVER_DAYS` ago (1月5日 written in December); a date a few days ago is reported as past.
- 周六 is the next Saturday (today on a Saturday); 这周六 is this week's; 下周一 is next week's
  Monday (weeks start on Monday).
- A holiday's name (元旦, 春节, 五一, 国庆 ...) is the first day of its next occurrence in the
  statutory calendar within the bookable window (the `holiday_day` function the caller passes:
  tickets.bookable.holiday_first_day); outside it, or with no calendar, it is a problem, never a
  guess.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Callable

from .text import NUMBER, to_int

RELATIVE_DAYS = {"今天": 0, "今日": 0, "今儿": 0, "明天": 1, "明日": 1, "明儿": 1, "后天": 2, "後天": 2,
                 "大后天": 3, "大後天": 3, "today": 0, "tomorrow": 1}
# A day and a part of it in one word.
DAY_AND_PERIOD = {"今晚": (0, "晚上"), "今早": (0, "早上"), "明早": (1, "早上"), "明晚": (1, "晚上")}
WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
            "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
# Prefix before 周X -> weeks after this one; None: the next such weekday, today included.
WEEK_PREFIXES = {"": None, "这": 0, "这个": 0, "本": 0, "下": 1, "下个": 1, "下下": 2, "下下个": 2}
# Part of the day -> (hour when no clock is given, how a clock hour is read in it).
PERIODS = {"凌晨": (6, "am"), "早上": (8, "am"), "早晨": (8, "am"), "上午": (9, "am"), "中午": (12, "noon"),
           "午后": (14, "pm"), "下午": (14, "pm"), "傍晚": (18, "pm"), "晚上": (19, "evening"),
           "AM": (9, "am"), "A.M.": (9, "am"), "PM": (14, "pm"), "P.M.": (14, "pm")}
MINUTE_WORDS = {"半": 30, "一刻": 15, "三刻": 45}
NEXT_MONTH_WORDS = {"下月": 1, "下个月": 1, "本月": 0, "这月": 0, "这个月": 0}
# Holiday words -> the calendar's names (tickets.holidays.HOLIDAY_NAMES).
HOLIDAY_WORDS = {"元旦": "元旦", "春节": "春节", "春節": "春节", "过年": "春节", "清明": "清明", "清明节": "清明",
                 "五一": "劳动节", "劳动节": "劳动节", "勞動節": "劳动节", "端午": "端午", "端午节": "端午",
                 "中秋": "中秋", "中秋节": "中秋", "国庆": "国庆节", "国庆节": "国庆节", "國慶": "国庆节"}
AFTERNOON_UP_TO = 6          # bare hours 1..6 are read as afternoon
ROLL_OVER_DAYS = 60

_MINUTE = r"(?:\d{1,2}(?!\d)|[零〇一二两三四五六七八九十]{1,3}(?![零〇一二两三四五六七八九十]))"
_DAY_END = r"[日号號]"
_F = re.IGNORECASE

# Each date pattern, tried over the whole message; the earliest match in the text is the date.
DATE_PATTERNS = {
    "holiday": re.compile("|".join(sorted(HOLIDAY_WORDS, key=len, reverse=True))),
    "ymd": re.compile(r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*" + _DAY_END + "?"),
    "next_month_day": re.compile(r"(" + "|".join(sorted(NEXT_MONTH_WORDS, key=len, reverse=True)) + r")\s*("
                                 + NUMBER + r")\s*" + _DAY_END),
    # 11月25日, 11月 25号, 十一月二十五; not "1月3点" (a month of work, then a time).
    "md_cn": re.compile(r"(" + NUMBER + r")\s*月(?:\s*(" + NUMBER + r")\s*" + _DAY_END + r"|(" + NUMBER
                        + r")(?!\s*(?:[点點时時:]|小时|个|次)))"),
    "md_num": re.compile(r"(?<![\d:./-])(\d{1,2})\s*[-/]\s*(\d{1,2})(?![\d:/-])"),
    "weekday": re.compile(r"(" + "|".join(sorted((p for p in WEEK_PREFIXES if p), key=len, reverse=True))
                          + r")?\s*(?:周|星期|礼拜|禮拜)\s*([一二三四五六日天1-7])"),
    "weekend": re.compile(r"(这|本|下)?\s*(?:个)?周末"),
    "relative": re.compile("|".join(sorted(RELATIVE_DAYS, key=len, reverse=True)), _F),
    # A bare "25号" only at the start of a word: "解放南路88号" is an address, not a date.
    "day_only": re.compile(r"(?:(?<=\s)|^)(" + NUMBER + r")\s*" + _DAY_END + r"(?![楼樓栋棟院单元室层])"),
}
CLOCK_PATTERNS = {
    "colon": re.compile(r"(?<![\d:])(\d{1,2})\s*:\s*(\d{2})(?![\d:])(?:\s*(AM|PM|A\.M\.|P\.M\.)(?![A-Z]))?", _F),
    "ampm": re.compile(r"(?<![\d:])(\d{1,2})\s*(AM|PM|A\.M\.|P\.M\.)(?![A-Z])", _F),
    "dian": re.compile(r"(" + NUMBER + r")\s*(?:点钟|點鐘|点|點|时|時)(?:(半|一刻|三刻)|(" + _MINUTE
                       + r")(?!\s*(?:个|個|小时|小時|钟头|次|h|平|天|号|日))\s*分?)?", _F),
}
PERIOD_PATTERN = re.compile(
    r"(?<![A-Z.])(" + "|".join(re.escape(p) for p in sorted(PERIODS, key=len, reverse=True)) + r")(?![A-Z])", _F)
DAY_AND_PERIOD_PATTERN = re.compile("|".join(DAY_AND_PERIOD))


@dataclass
class Reading:
    """What the dates and times of a message say."""
    when: datetime | None = None            # local, naive
    problems: list[tuple[str, str]] = field(default_factory=list)
    found: bool = False                      # the message named a date or a time at all


class Blanks:
    """The message with the parts already understood blanked out (positions are kept)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def consume(self, m: re.Match) -> None:
        self.text = self.text[:m.start()] + " " * (m.end() - m.start()) + self.text[m.end():]

    def rest(self) -> str:
        return re.sub(r"\s+", " ", self.text).strip()


def _valid(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _month_day(today: date, m: int | None, d: int | None, phrase: str) -> tuple[date | None, tuple | None]:
    if m is None or d is None:
        return None, ("bad_date", phrase)
    day = _valid(today.year, m, d)
    if day is None:
        # 2月29日 in a year without one may still be next year's.
        day = _valid(today.year + 1, m, d) if m == 2 and d == 29 else None
        return (day, None) if day else (None, ("bad_date", phrase))
    if day < today:
        if (today - day).days <= ROLL_OVER_DAYS:
            return None, ("past_date", phrase)
        day = _valid(today.year + 1, m, d)
        if day is None:
            return None, ("bad_date", phrase)
    return day, None


# How each date pattern's match becomes a day: (day, None), or (None, (problem, phrase)).
DateRead = tuple[date | None, tuple[str, str] | None]


def _phrase(m: re.Match) -> str:
    return m.group(0).strip()


def _not_past(day: date | None, today: date, m: re.Match) -> DateRead:
    if day is None:
        return None, ("bad_date", _phrase(m))
    return (None, ("past_date", _phrase(m))) if day < today else (day, None)


def _ymd(m: re.Match, today: date) -> DateRead:
    return _not_past(_valid(int(m.group(1)), int(m.group(2)), int(m.group(3))), today, m)


def _md_cn(m: re.Match, today: date) -> DateRead:
    return _month_day(today, to_int(m.group(1)), to_int(m.group(2) or m.group(3)), _phrase(m))


def _md_num(m: re.Match, today: date) -> DateRead:
    return _month_day(today, to_int(m.group(1)), to_int(m.group(2)), _phrase(m))


def _next_month_day(m: re.Match, today: date) -> DateRead:
    ahead, d = NEXT_MONTH_WORDS[m.group(1)], to_int(m.group(2))
    year, month = today.year + (today.month + ahead - 1) // 12, (today.month + ahead - 1) % 12 + 1
    return _not_past(_valid(year, month, d) if d is not None else None, today, m)


def _day_only(m: re.Match, today: date) -> DateRead:
    d = to_int(m.group(1))
    if d is None or not 1 <= d <= 31:
        return None, ("bad_date", _phrase(m))
    day = _valid(today.year, today.month, d)
    if day is None or day < today:   # the 5th, written on the 23rd: next month's
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        day = _valid(year, month, d)
    return (day, None) if day else (None, ("bad_date", _phrase(m)))


def _weekday(m: re.Match, today: date) -> DateRead:
    weeks, wd = WEEK_PREFIXES[m.group(1) or ""], WEEKDAYS[m.group(2)]
    if weeks is None:
        return today + timedelta(days=(wd - today.weekday()) % 7), None
    monday = today - timedelta(days=today.weekday())
    return _not_past(monday + timedelta(days=7 * weeks + wd), today, m)


def _weekend(m: re.Match, today: date) -> DateRead:
    monday = today - timedelta(days=today.weekday())
    saturday = monday + timedelta(days=7 * (m.group(1) == "下") + 5)
    return max(saturday, today), None     # on a Sunday "周末" is still today


def _relative(m: re.Match, today: date) -> DateRead:
    return today + timedelta(days=RELATIVE_DAYS[m.group(0).lower()]), None


DATE_READERS = {"ymd": _ymd, "next_month_day": _next_month_day, "md_cn": _md_cn, "md_num": _md_num,
                "weekday": _weekday, "weekend": _weekend, "relative": _relative, "day_only": _day_only}


def _hour_in(period_kind: str | None, hour: int) -> int | None:
    """A clock hour read in a part of the day -> 0..23, or None when it cannot be in it."""
    if period_kind is None:
        if 1 <= hour <= AFTERNOON_UP_TO:
            return hour + 12
        return hour if 0 <= hour <= 23 else None
    if period_kind == "am":
        return hour if 0 <= hour <= 12 else None
    if period_kind == "noon":
        return hour if hour in (11, 12) else hour + 12 if 1 <= hour <= 2 else None
    if period_kind == "pm":
        return hour + 12 if 1 <= hour <= 11 else hour if hour == 12 or 13 <= hour <= 23 else None
    if period_kind == "evening":
        return hour + 12 if 1 <= hour <= 11 else hour if 13 <= hour <= 23 else None
    raise ValueError(period_kind)


def _clock_from(kind: str, m: re.Match) -> tuple[int | None, int | None, str | None]:
    """(hour, minute, period kind written with the clock) of a clock match."""
    if kind == "colon":
        ampm = m.group(3)
        return int(m.group(1)), int(m.group(2)), PERIODS[ampm.upper()][1] if ampm else None
    if kind == "ampm":
        return int(m.group(1)), 0, PERIODS[m.group(2).upper()][1]
    hour = to_int(m.group(1))
    if m.group(2):
        minute = MINUTE_WORDS[m.group(2)]
    elif m.group(3):
        minute = to_int(m.group(3))
    else:
        minute = 0
    return hour, minute, None


HolidayDay = Callable[[str], date | None]     # a holiday's name -> its next first day, or None


def _holiday(m: re.Match, holiday_day: HolidayDay | None) -> DateRead:
    day = holiday_day(HOLIDAY_WORDS[m.group(0)]) if holiday_day else None
    return (day, None) if day else (None, ("holiday_out_of_range", _phrase(m)))


def read(blanks: Blanks, now: datetime, holiday_day: HolidayDay | None = None) -> Reading:
    """Take the date and time phrases out of `blanks` and resolve them against local `now`
    (`holiday_day`: see the module's text)."""
    out = Reading()
    today = now.date()
    day: date | None = None
    day_phrase = ""
    period: str | None = None

    m = DAY_AND_PERIOD_PATTERN.search(blanks.text)
    if m:
        offset, period = DAY_AND_PERIOD[m.group(0)]
        day, day_phrase = today + timedelta(days=offset), m.group(0)
        blanks.consume(m)
        out.found = True

    dates = []
    for kind, pattern in DATE_PATTERNS.items():
        for dm in list(pattern.finditer(blanks.text)):
            dates.append((dm.start(), kind, dm))
            blanks.consume(dm)
    for _, kind, dm in sorted(dates, key=lambda t: t[0]):
        out.found = True
        if day is not None:
            break
        got, problem = _holiday(dm, holiday_day) if kind == "holiday" else DATE_READERS[kind](dm, today)
        if problem:
            out.problems.append(problem)
            break
        day, day_phrase = got, dm.group(0).strip()

    hour = minute = None
    clock_period = None
    clock_phrase = ""
    for kind, pattern in CLOCK_PATTERNS.items():
        cm = pattern.search(blanks.text)
        if cm:
            blanks.consume(cm)
            out.found = True
            if hour is None and minute is None:
                hour, minute, clock_period = _clock_from(kind, cm)
                clock_phrase = cm.group(0).strip()
    pm = PERIOD_PATTERN.search(blanks.text)
    if pm:
        blanks.consume(pm)
        out.found = True
        word = pm.group(1).upper() if pm.group(1).isascii() else pm.group(1)
        period = period or word
    period_kind = clock_period or (PERIODS[period][1] if period else None)

    clock: time | None = None
    if hour is not None or minute is not None:
        phrase = ((period or "") + clock_phrase) if period and not clock_period else clock_phrase
        h = _hour_in(period_kind, hour) if hour is not None else None
        if h is None or minute is None or not 0 <= minute <= 59:
            out.problems.append(("bad_time", phrase))
            return out
        clock = time(h, minute)
    elif period:
        clock = time(PERIODS[period][0], 0)

    if out.problems:
        return out
    if day is not None and clock is None:
        out.problems.append(("missing_time", day_phrase))
        return out
    if clock is None:
        return out
    if day is None:
        when = datetime.combine(today, clock)
        out.when = when if when > now else when + timedelta(days=1)
        return out
    out.when = datetime.combine(day, clock)
    if out.when <= now:
        out.problems.append(("past_time", f"{day_phrase}{period or ''}{clock_phrase}".strip()))
        out.when = None
    return out
