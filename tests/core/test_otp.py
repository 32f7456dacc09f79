"""One-time codes (tickets.otp): hashed, 5 minutes, 5 tries, one use, limited, no enumeration."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from tests.core.helpers import at_once
from tickets import otp
from tickets.models import OneTimeCode

PHONE = "+8613800138000"


def issue(hl, subject="2632800001", phone=PHONE, addr="203.0.113.5", purpose="lookup"):
    with hl.session() as s, s.begin():
        return otp.issue(s, purpose, subject, phone, addr)


def verify(hl, code, subject="2632800001", purpose="lookup"):
    with hl.session() as s, s.begin():
        return otp.verify(s, purpose, subject, code)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** 6:06d}"


def test_a_code_is_six_digits_and_only_its_hash_is_stored(hl):
    issued = issue(hl)
    assert len(issued.code) == 6 and issued.code.isdigit()
    with hl.session() as s:
        row = s.scalar(select(OneTimeCode))
    assert issued.code not in row.code_hash and len(row.code_hash) == 64


def test_the_right_code_passes_once(hl):
    code = issue(hl).code
    assert verify(hl, code).ok
    assert verify(hl, code) == otp.Check(False, "spent")


def test_a_code_expires_after_five_minutes(hl, clock):
    code = issue(hl).code
    clock.advance(minutes=5)
    assert verify(hl, code).reason == "expired"


def test_five_wrong_tries_spend_the_code(hl):
    code = issue(hl).code
    tries = [verify(hl, wrong(code)) for _ in range(5)]
    assert [c.tries_left for c in tries] == [4, 3, 2, 1, 0]
    assert tries[-1].reason == "spent"
    assert verify(hl, code).reason == "spent"


def test_a_malformed_code_is_refused_without_counting_a_try(hl):
    code = issue(hl).code
    assert verify(hl, "12a456").reason == "format"
    assert verify(hl, "١٢٣٤٥٦").reason == "format"
    assert verify(hl, wrong(code)).tries_left == 4


def test_a_new_code_replaces_the_older_one(hl, clock):
    old = issue(hl).code
    clock.advance(minutes=1)
    new = issue(hl).code
    assert verify(hl, old).ok is (old == new)
    assert verify(hl, new).ok is (old != new)


def test_an_unknown_subject_gets_a_row_but_no_code_and_every_guess_is_wrong(hl):
    issued = issue(hl, phone="")
    assert issued.code is None and issued.phone == ""
    assert verify(hl, "123456") == otp.Check(False, "wrong", 4)


def test_no_code_asked_for_is_its_own_answer(hl):
    assert verify(hl, "123456").reason == "none"


def test_a_second_code_within_a_minute_is_refused(hl, clock):
    issue(hl)
    clock.advance(seconds=30)
    with pytest.raises(otp.TooManyCodes, match="less than a minute ago"):
        issue(hl)


def test_codes_are_limited_per_subject(hl, clock):
    for _ in range(5):
        issue(hl, addr="")
        clock.advance(minutes=2)
    with pytest.raises(otp.TooManyCodes, match="this number"):
        issue(hl, addr="")


def test_codes_are_limited_per_source_address(hl, clock):
    for i in range(20):
        issue(hl, subject=f"26328{i:05d}", phone="")
    with pytest.raises(otp.TooManyCodes, match="this address"):
        issue(hl, subject="2632899999", phone="")


def test_past_the_phone_limit_the_answer_is_the_same_but_nothing_is_sent(hl, clock):
    for i in range(5):
        assert issue(hl, subject=f"26328{i:05d}", addr="").code is not None
    issued = issue(hl, subject="2632800099", addr="")
    assert issued.code is None and issued.phone == PHONE


def test_concurrent_wrong_guesses_count_every_try(hl):
    """Guesses racing each other are counted one by one (the row is locked): never more than 5."""
    code = issue(hl).code
    guesses = [f"{(int(code) + i) % 10 ** 6:06d}" for i in range(1, 9)]
    barrier = threading.Barrier(len(guesses), timeout=30)
    results = []

    def guess(g):
        barrier.wait()
        results.append(verify(hl, g))

    threads = [threading.Thread(target=guess, args=(g,)) for g in guesses]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(r.tries_left for r in results if r.reason in ("wrong", "spent") and r.tries_left) == [1, 2, 3, 4]
    with hl.session() as s:
        assert s.scalar(select(OneTimeCode.attempts)) == 5
    assert verify(hl, code).reason == "spent"


def test_codes_asked_for_at_once_from_many_processes_keep_the_limits(hl):
    """Requests racing each other (several web workers, one attacker) are counted one after the
    other: a phone gets at most its 5 codes an hour, an address at most its 20, however many
    ask at the same moment (on PostgreSQL, READ COMMITTED would let each one count the others
    as not there yet)."""
    def ask(s, subject, phone, addr):
        return otp.issue(s, "lookup", subject, phone, addr)

    sent = at_once(hl, ask, [(f"26328{i:05d}", PHONE, f"203.0.113.{i}") for i in range(10)])
    assert sum(1 for r in sent if isinstance(r, otp.Issued) and r.code is not None) == 5
    refused = at_once(hl, ask, [(f"26329{i:05d}", "", "198.51.100.7") for i in range(26)])
    assert sum(1 for r in refused if isinstance(r, otp.Issued)) == 20
    assert sum(1 for r in refused if isinstance(r, otp.TooManyCodes)) == 6
