"""Numbers as prompt files: the words a number or a string of digits is said with, per language.

Asterisk's SAY DIGITS / SAY NUMBER need its own digit sounds for the channel's language, and
its sound packages have none for Chinese (it then answers success and plays nothing). So the
menu says numbers with prompts of its own catalog (`num.<n>`, rendered by `hotline prompts
build` like every other prompt): `digit_keys("2632700001")` and `number_keys(120, "zh")` give
the keys to play in order. Chinese counts in 十/百/千/万 with 零 for a gap (一百零五); English in
hundreds and thousands (one hundred five).
"""
from __future__ import annotations

ZH_DIGITS = "零一二三四五六七八九"
EN_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
            "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
EN_TENS = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy", 80: "eighty",
           90: "ninety"}
# Place words: (value, zh, en).
PLACES = ((10, "十", "ten"), (100, "百", "hundred"), (1000, "千", "thousand"), (10000, "万", "ten thousand"))
LARGEST = 99_999_999     # zh counts to 9999万; en to 999 thousand 999 is enough for prices and days


def _zh_name(n: int) -> str:
    """What a number prompt says in Chinese (0-19 and the tens are whole words)."""
    if n < 10:
        return ZH_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else ZH_DIGITS[tens]) + "十" + (ZH_DIGITS[ones] if ones else "")


def number_prompts() -> dict[str, dict[str, str]]:
    """The `num.*` prompts of the catalog, in both languages."""
    out = {f"num.{n}": {"zh": _zh_name(n), "en": EN_WORDS[n]} for n in range(20)}
    out.update({f"num.{n}": {"zh": _zh_name(n), "en": word} for n, word in EN_TENS.items()})
    for value, zh, en in PLACES[1:]:
        out[f"num.{value}"] = {"zh": zh, "en": en}
    return out


def digit_keys(digits: str) -> list[str]:
    """A string said digit by digit (an order number); anything but 0-9 is not said."""
    return [f"num.{d}" for d in str(digits) if d.isdigit()]


def number_keys(n: int, lang: str) -> list[str]:
    """The prompts that say `n` as a number in `lang`."""
    n = int(n)
    if not 0 <= n <= LARGEST:
        raise ValueError(f"{n} cannot be said as a number (0 to {LARGEST}); say it digit by digit")
    if n == 0:
        return ["num.0"]
    if lang == "zh":
        out = []
        high, low = divmod(n, 10000)
        if high:
            out += _zh_below_10000(high, first=True) + ["num.10000"]
            if low and low < 1000:
                out.append("num.0")
        if low:
            out += _zh_below_10000(low, first=not high)
        return out
    high, low = divmod(n, 1000)
    if high >= 1000:
        raise ValueError(f"{n} is too large to say in English here; say it digit by digit")
    return (_en_below_1000(high) + ["num.1000"] if high else []) + _en_below_1000(low)


def _zh_below_10000(n: int, first: bool) -> list[str]:
    out: list[str] = []
    gap = False
    for value in (1000, 100, 10):
        d = n // value % 10
        if d:
            if gap:
                out.append("num.0")
                gap = False
            if not (value == 10 and d == 1 and not out and first):   # 十五, not 一十五, at the start
                out.append(f"num.{d}")
            out.append(f"num.{value}")
        elif out:
            gap = True
    if n % 10:
        if gap:
            out.append("num.0")
        out.append(f"num.{n % 10}")
    return out


def _en_below_1000(n: int) -> list[str]:
    out: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        out += [f"num.{hundreds}", "num.100"]
    if rest >= 20:
        out.append(f"num.{rest // 10 * 10}")
        rest %= 10
    if rest:
        out.append(f"num.{rest}")
    return out
