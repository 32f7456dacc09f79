"""Numbers typed into the console that are not plain, bounded whole numbers (or ids of nothing):
a 400 that names the field, never a 500 from the database."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.console.conftest import text
from tickets.models import User, WorkOrder

ORDER = {"phone": "13900139000", "service": "BJ", "when": "2026-11-30T09:00"}
BAD_IDS = {"zero": "0", "negative": "-1", "twenty digits": "9" * 20, "superscript two": "²",
           "arabic-indic digits": "١٢"}


def orders(hl) -> int:
    with hl.session() as s:
        return s.scalar(select(func.count()).select_from(WorkOrder))


@pytest.mark.parametrize("value", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_a_new_order_with_a_district_that_is_not_one_is_refused(login, hl, value):
    before = orders(hl)
    resp = login("agent1").post("/orders/new", {**ORDER, "district": value})
    assert resp.status_code == 400
    assert "district" in text(resp)
    assert orders(hl) == before


def test_a_new_order_in_the_year_one_is_refused_with_the_format(login, hl):
    resp = login("agent1").post("/orders/new", {**ORDER, "when": "0001-01-01T00:00"})
    assert resp.status_code == 400
    assert "例如 2026-12-01 09:00" in text(resp)


@pytest.mark.parametrize("value", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_a_new_user_with_a_district_that_is_not_one_is_refused(login, hl, value):
    resp = login("admin").post("/admin/users", {"username": "manager9", "role": "district_manager",
                                                "password": "long-enough-pw", "district_ids": value})
    assert resp.status_code == 400
    assert "district" in text(resp)
    with hl.session() as s:
        assert s.scalar(select(User).where(User.username == "manager9")) is None


@pytest.mark.parametrize("value", ["9" * 20, "²", "0"])
def test_searching_by_a_district_that_is_not_one_says_so(login, value):
    resp = login("agent1").get(f"/orders/?district={value}")
    assert resp.status_code == 400
    assert "district" in text(resp)


def test_an_id_in_the_path_too_large_for_the_database_is_not_found(login):
    assert login("admin").get("/admin/users/" + "9" * 20).status_code == 404
