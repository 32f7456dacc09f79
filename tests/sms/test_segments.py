"""Segment counting: GSM-7 160/153, UCS-2 70/67, escapes and emoji never split."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms import segments


@pytest.mark.parametrize("text, encoding, count", [
    ("", "gsm7", 1),
    ("A" * 160, "gsm7", 1),
    ("A" * 161, "gsm7", 2),
    ("A" * 306, "gsm7", 2),
    ("A" * 307, "gsm7", 3),
    ("€" * 80, "gsm7", 1),          # an escape-table character takes two septets
    ("€" * 81, "gsm7", 2),
    ("中" * 70, "ucs2", 1),
    ("中" * 71, "ucs2", 2),
    ("中" * 134, "ucs2", 2),
    ("中" * 135, "ucs2", 3),
    ("A" * 69 + "中", "ucs2", 1),    # one Chinese character makes the whole message UCS-2
    ("😀" * 35, "ucs2", 1),         # outside the BMP: two UTF-16 units each
    ("😀" * 36, "ucs2", 2),
])
def test_segments_are_counted_as_the_network_bills_them(text, encoding, count):
    assert segments.encoding(text) == encoding
    assert segments.count(text) == count


def test_an_emoji_is_never_split_between_parts():
    parts = segments.split("中" * 66 + "😀" + "中" * 10)
    assert parts[0] == "中" * 66      # the emoji would straddle the 67-unit boundary
    assert parts[1].startswith("😀")


def test_a_long_reply_is_cut_with_an_ellipsis_to_three_segments():
    out = segments.fit("字" * 500, 3)
    assert out.endswith("…")
    assert segments.count(out) == 3
    assert len(out) == 201


def test_a_short_reply_is_left_alone():
    assert segments.fit("已退订", 3) == "已退订"


@given(st.one_of(
    # Every character one unit (GSM, then UCS-2): count()'s arithmetic, across part boundaries.
    st.text(alphabet=st.sampled_from("Aé \n"), min_size=140, max_size=800),
    st.text(alphabet=st.sampled_from("中A "), min_size=60, max_size=400),
    # Some two-unit characters (escape table, surrogate pairs): count() walks the parts.
    st.text(alphabet=st.sampled_from("A€{ 中😀é\n"), max_size=400)))
def test_the_count_is_the_number_of_parts_split_delivers(text):
    # count() takes an arithmetic shortcut when every character is one unit; split() walks the text.
    parts = segments.split(text)
    assert segments.count(text) == len(parts)
    assert "".join(parts) == text
