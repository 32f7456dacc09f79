"""Properties of the parser and of segment counting, over generated text."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from sms import segments
from sms.parse import INTENTS, Catalog, parse
from tickets.db import make_engine

NOW = datetime(2026, 11, 23, 10, 0)

# Text as phones send it: CJK, Latin, digits, full-width forms, punctuation, emoji, controls.
ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.text(
    alphabet="BJXSGYDQXCTD明天后周六下午上晚点半号月日时小次 0123456789:-/．：ＢＪ１２３，。!?😀\n\t", max_size=60)


@pytest.fixture(scope="module")
def catalog(sqlite_template) -> Catalog:
    engine = make_engine(f"sqlite:///{sqlite_template}")
    with Session(engine) as s:
        cat = Catalog.load(s)
    engine.dispose()
    return cat


@settings(max_examples=400, deadline=None)
@given(text=ANY_TEXT)
def test_parsing_never_raises_and_always_names_an_intent(catalog, text):
    req = parse(text, catalog, NOW)
    assert req.intent in INTENTS


@settings(max_examples=400, deadline=None)
@given(text=ANY_TEXT)
def test_a_booking_without_problems_is_complete_and_in_the_future(catalog, text):
    req = parse(text, catalog, NOW)
    if req.intent == "book" and req.ok:
        assert req.service in catalog.codes
        assert req.when is not None
        assert req.when > NOW
        assert req.quantity is None or 1 <= req.quantity <= 1000
    if req.intent == "book" and not req.ok:
        assert all(p.code for p in req.problems)


DAY_WORDS = {"明天": 1, "后天": 2, "大后天": 3}


@settings(max_examples=200, deadline=None)
@given(code=st.sampled_from(["BJ", "XSG", "YYJ", "SD", "KT", "BJJ", "JJ"]),
       day=st.sampled_from(sorted(DAY_WORDS)), hour=st.integers(7, 21), minute=st.sampled_from([0, 15, 30, 45]),
       form=st.sampled_from(["{h}:{m:02d}", "{h}点{m}分", "{h12}{ampm}"]),
       fullwidth=st.booleans(), spaced=st.booleans())
def test_generated_bookings_read_back_the_time_written(catalog, code, day, hour, minute, form, fullwidth, spaced):
    h12, ampm = (hour - 12, "pm") if hour > 12 else (hour, "am" if hour < 12 else "pm")
    if form == "{h12}{ampm}" and minute:
        form = "{h12}:{m:02d}{ampm}"
    clock = form.format(h=hour, m=minute, h12=h12, ampm=ampm)
    sep = " " if spaced else ""
    text = f"{code}{sep}{day}{sep}{clock}"
    if fullwidth:
        text = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    req = parse(text, catalog, NOW)
    expected = datetime.combine(NOW.date() + timedelta(days=DAY_WORDS[day]), datetime.min.time()).replace(
        hour=hour, minute=minute)
    assert (req.intent, req.problems, req.service, req.when) == ("book", (), code, expected)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=1200))
def test_fit_never_exceeds_the_segment_limit_and_keeps_a_prefix(text):
    out = segments.fit(text, 3)
    assert segments.count(out) <= 3
    kept = out.rstrip("…").rstrip(".") if out != text else out
    assert text.startswith(kept.rstrip())


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=800))
def test_parts_rebuild_the_text_and_each_fits_a_segment(text):
    parts = segments.split(text)
    assert "".join(parts) == text
    if len(parts) > 1:
        per_part = 153 if segments.encoding(text) == "gsm7" else 67
        units = (lambda p: sum(2 if c in segments.GSM_EXTENDED else 1 for c in p)) \
            if segments.encoding(text) == "gsm7" else (lambda p: len(p.encode("utf-16-le")) // 2)
        assert all(units(p) <= per_part for p in parts)
