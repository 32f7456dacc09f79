"""The core functions added for the console (tickets.money, search, scorecard, catalog,
franchisees, notices, accounts), tested directly on the real database."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.console.helpers import actor, make_order
from tickets import accounts, catalog, console_sessions, franchisees, notices, scorecard, search, surveys
from tickets.actors import SYSTEM
from tickets.errors import NotFound, ValidationError
from tickets.models import Franchisee, User
from tickets.money import parse_yuan


@pytest.mark.parametrize("typed, fen", [("120", 12000), ("120.5", 12050), ("120.50", 12050), ("0.01", 1),
                                         ("¥99.99", 9999), (" ￥3 ", 300), ("0", 0)])
def test_yuan_text_becomes_exact_fen(typed, fen):
    assert parse_yuan(typed) == fen


@pytest.mark.parametrize("typed", ["", "abc", "1.234", "-5", "1,200", "1e3", "12.", ".5"])
def test_anything_but_yuan_is_refused_with_the_format(typed):
    with pytest.raises(ValidationError, match="e.g. 120 or 120.50"):
        parse_yuan(typed)


def test_search_scope_limits_a_franchisee_to_its_orders(hl):
    mine = make_order(hl, "dispatched")
    with hl.session() as s:
        found = search.find_orders(s, search.OrderFilter(), actor(s, "franchisee2"))
        assert mine not in {o.number for o in found}
        assert all(o.franchisee.name == "沙依巴克洁家服务中心" for o in found)


def test_an_order_someone_may_not_see_is_reported_like_a_missing_one(hl):
    number = make_order(hl, "dispatched")
    with hl.session() as s:
        with pytest.raises(NotFound) as hidden:
            search.visible_order(s, number, actor(s, "franchisee2"))
        with pytest.raises(NotFound) as missing:
            search.visible_order(s, "2632799999", actor(s, "franchisee2"))
    assert str(hidden.value).replace(number, "N") == str(missing.value).replace("2632799999", "N")


def test_search_refuses_an_end_date_before_the_start(hl):
    with hl.session() as s:
        with pytest.raises(ValidationError, match="swap them"):
            search.find_orders(s, search.OrderFilter(date_from=date(2026, 12, 2), date_to=date(2026, 12, 1)),
                               actor(s, "agent1"))


def test_the_scorecard_counts_open_work_and_answered_scores(hl):
    make_order(hl, "dispatched")
    done = make_order(hl, "completed")
    with hl.session() as s, s.begin():
        fr_id = s.scalar(select(Franchisee.id).where(Franchisee.name == "天山家政服务有限公司"))
        before = scorecard.scorecard(s, fr_id)
        surveys.record(s, search.visible_order(s, done, actor(s, "admin")), 2, actor(s, "callback1"))
        after = scorecard.scorecard(s, fr_id)
    assert before.by_status["dispatched"] == 1
    assert after.scores[2] == before.scores[2] + 1
    assert after.complaints_open == before.complaints_open + 1


def test_a_service_code_must_be_short_capitals(hl):
    with hl.session() as s:
        with pytest.raises(ValidationError, match="capital letters"):
            catalog.save_service(s, SYSTEM, "bad code", name_zh="x", name_en="x", category="other", unit="visit",
                                 guide_price_fen=1, default_quantity=1, holiday_pay=False, emergency=False,
                                 active=True)


def test_a_taken_voice_menu_key_is_refused_with_the_free_ones(hl):
    with hl.session() as s:
        with pytest.raises(ValidationError, match="free:"):
            catalog.save_service(s, SYSTEM, "BJ", menu_digit=2)         # 2 in cleaning is 公司保洁


def test_a_franchisee_capacity_must_be_a_whole_number(hl):
    with hl.session() as s:
        with pytest.raises(ValidationError, match="daily capacity"):
            franchisees.save_franchisee(s, SYSTEM, None, name="新加盟", contact_phone="", status="active",
                                        daily_capacity=-1)


def test_a_notice_needs_a_title(hl):
    with hl.session() as s:
        with pytest.raises(ValidationError, match="needs a title"):
            notices.post(s, SYSTEM, "  ", "body")


def test_log_out_everywhere_ends_every_session_of_the_user_only(hl):
    with hl.session() as s, s.begin():
        user = s.scalar(select(User).where(User.username == "agent1"))
        other = s.scalar(select(User).where(User.username == "agent2"))
        desk, phone = console_sessions.start(s, user), console_sessions.start(s, user)
        elsewhere = console_sessions.start(s, other)
        accounts.logout_everywhere(s, user, actor(s, "agent1"))
        assert console_sessions.user_of(s, desk) is None
        assert console_sessions.user_of(s, phone) is None
        assert console_sessions.user_of(s, elsewhere)[0] is other


def test_a_session_ends_after_one_shift(hl, clock):
    with hl.session() as s, s.begin():
        token = console_sessions.start(s, s.scalar(select(User).where(User.username == "agent1")))
    clock.advance(hours=11, minutes=59)
    with hl.session() as s, s.begin():
        assert console_sessions.user_of(s, token) is not None
    clock.advance(minutes=1)
    with hl.session() as s, s.begin():
        assert console_sessions.user_of(s, token) is None


def test_search_and_scorecard_run_on_sqlite_and_postgresql(hl):
    number = make_order(hl, "completed")
    with hl.session() as s:
        agent = actor(s, "agent1")
        found = search.find_orders(s, search.OrderFilter(number=number[-5:], phone="8000", name="王",
                                                         status="completed", service="BJ",
                                                         date_from=date(2026, 11, 30), date_to=date(2026, 11, 30)),
                                   agent)
        assert [o.number for o in found] == [number]
        fr_id = s.scalar(select(Franchisee.id).where(Franchisee.name == "天山家政服务有限公司"))
        assert scorecard.scorecard(s, fr_id).completed_in_window >= 1


def test_a_service_the_admin_withdraws_cannot_be_booked_the_moment_it_is_saved(hl):
    # service_by_code reads a catalog cached on the Hotline: saving a service must drop it.
    from tickets.orders import service_by_code
    with hl.session() as s, s.begin():
        assert service_by_code(s, "bj").code == "BJ"            # the catalog is now cached
        catalog.save_service(s, SYSTEM, "BJ", active=False)
    with hl.session() as s:
        with pytest.raises(ValidationError, match="unknown service code 'BJ'"):
            service_by_code(s, "BJ")
    with hl.session() as s, s.begin():
        catalog.save_service(s, SYSTEM, "BJ", active=True)
    with hl.session() as s:
        assert service_by_code(s, "BJ").active
