"""Each work-order, satisfaction and complaint figure against the hand-worked world of
tests/core/report_fixture.py (its docstring shows the working)."""
from __future__ import annotations

from datetime import date

import pytest

from tests.core import report_fixture as world
from tickets import reports
from tickets.errors import PermissionDenied, ValidationError
from tickets.reports import Scope

RANGE = {"from": "2026-12-10", "to": "2026-12-13"}


@pytest.fixture
def built(hl, clock):
    return world.build(hl, clock)


def rows(hl, name, scope=Scope(), **args):
    with hl.session() as s, s.begin():
        report = reports.get(name)
        q = reports.parse_query(s, report, {**RANGE, **args}, today=date(2026, 12, 14), tz=hl.tz, scope=scope)
        return reports.run(s, report, q)


def total(hl, **args):
    (row,) = rows(hl, "orders", by="month", **args)
    return row


def test_orders_booked_dispatched_completed_cancelled_open(hl, built):
    row = total(hl)
    assert (row["booked"], row["dispatched"], row["completed"], row["cancelled"], row["open"]) == (4, 3, 2, 1, 1)


def test_refusals_count_rejections_and_expiries_and_redispatches_the_second_dispatch(hl, built):
    row = total(hl)
    assert (row["refusals"], row["redispatches"]) == (2, 1)


def test_accept_on_time_is_accepted_without_an_expiry_over_orders_accepted_or_expired(hl, built):
    assert total(hl)["accept_on_time"] == pytest.approx(2 / 3)


def test_service_on_time_is_started_within_grace_of_the_booked_time(hl, built):
    assert total(hl)["service_on_time"] == 0.5


def test_penalties_and_revenue_in_fen(hl, built):
    row = total(hl)
    assert built.penalty_fen == 2400
    assert (row["penalty_fen"], row["revenue_fen"]) == (2400, 27000)


def test_lead_times_median_and_nearest_rank_p90(hl, built):
    row = total(hl)
    assert (row["book_dispatch_median"], row["book_dispatch_p90"]) == (0, 0)
    assert (row["dispatch_accept_median"], row["dispatch_accept_p90"]) == (4500, 7200)
    # A: accepted 10:30, started 12-11 10:10; B: accepted 12:00, started 12-12 11:00.
    assert row["accept_start_p90"] == 2 * 86400 - 3600


def test_orders_by_day_count_on_the_booking_day(hl, built):
    by_day = {r["period"]: r["booked"] for r in rows(hl, "orders", by="day")}
    assert by_day == {"2026-12-10": 4, "2026-12-11": 0, "2026-12-12": 0, "2026-12-13": 0}


def test_orders_by_channel(hl, built):
    assert {r["period"]: r["booked"] for r in rows(hl, "orders", group="channel")} == \
        {"agent": 1, "sms": 1, "ivr": 1, "twilio": 1}


def test_orders_by_status(hl, built):
    assert {r["period"]: r["booked"] for r in rows(hl, "orders", group="status")} == \
        {"closed": 2, "cancelled": 1, "confirmed": 1}


def test_orders_by_franchisee_name_the_current_holder(hl, built):
    assert {r["period"]: r["booked"] for r in rows(hl, "orders", group="franchisee")} == \
        {"天山家政服务有限公司": 1, "沙依巴克洁家服务中心": 1, "—": 2}


def test_franchisee_report_counts_refusals_against_the_refusing_franchisee(hl, built):
    by_name = {r["franchisee"]: r for r in rows(hl, "franchisees")}
    tianshan, sayibake = by_name["天山家政服务有限公司"], by_name["沙依巴克洁家服务中心"]
    assert (tianshan["refusals"], sayibake["refusals"]) == (1, 1)      # D expired, B rejected
    assert (tianshan["accept_on_time"], sayibake["accept_on_time"]) == (0.5, 1.0)   # A on time, D expired; B
    assert (tianshan["revenue_fen"], sayibake["revenue_fen"]) == (15000, 12000)
    assert (tianshan["average_x100"], sayibake["average_x100"]) == (500, 200)
    assert (tianshan["complaints"], sayibake["complaints"]) == (0, 1)


def test_satisfaction_response_rate_average_and_distribution(hl, built):
    (row,) = rows(hl, "satisfaction", by="month")
    assert (row["surveys"], row["answered"], row["response_rate"], row["average_x100"]) == (2, 2, 1.0, 350)
    assert [row[f"score_{n}"] for n in range(1, 6)] == [0, 1, 0, 0, 1]


def test_satisfaction_by_worker(hl, built):
    assert sorted(r["average_x100"] for r in rows(hl, "satisfaction", group="worker")) == [200, 500]


def test_complaints_opened_resolved_and_handling_time(hl, built):
    (row,) = rows(hl, "complaints", by="month")
    assert (row["opened"], row["resolved"], row["still_open"], row["close_median"]) == (2, 1, 1, 18000)


def test_complaints_time_to_first_response_is_the_franchisees_account(hl, built):
    (row,) = rows(hl, "complaints", by="month")
    assert (row["responded"], row["responded_in_time"], row["first_response_median"], row["first_response_p90"]) == \
        (1, 1, 7200, 7200)


def test_complaint_figures_agree_with_the_handling_times_of_the_complaint_desk(hl, built):
    from tickets import complaints
    (row,) = rows(hl, "complaints", by="month")
    with hl.session() as s:
        lo, hi = reports.Query(date(2026, 12, 10), date(2026, 12, 13), "month", hl.tz).utc_range()
        desk = complaints.handling_times(s, lo, hi)
    assert (desk.opened, desk.responded, desk.resolved, desk.responded_in_time) == \
        (row["opened"], row["responded"], row["resolved"], row["responded_in_time"])
    assert (desk.avg_first_response_minutes, desk.max_close_minutes) == (row["first_response_median"] // 60,
                                                                          row["close_p90"] // 60)


def test_a_reopened_complaint_is_unresolved_again(hl, built, clock):
    from tickets import complaints
    from tickets.actors import Actor
    with hl.session() as s, s.begin():
        complaints.reopen(s, world._survey_complaint(s), "customer not satisfied", Actor(role="supervisor"))
    (row,) = rows(hl, "complaints", by="month")
    assert (row["resolved"], row["still_open"], row["close_median"]) == (0, 2, None)


def test_overdue_complaints_are_open_past_their_due_time(hl, built, clock):
    # Both complaints are due COMPLAINT_DUE_HOURS after opening; the open one is past due by now.
    (row,) = rows(hl, "complaints", by="month")
    assert (row["overdue_open"], row["resolved_late"]) == (1, 0)


def test_complaints_by_category_list_every_category_in_order(hl, built):
    by_category = [(r["period"], r["opened"], r["resolved"]) for r in rows(hl, "complaints", group="category")]
    assert by_category == [("服务质量", 0, 0), ("迟到/延误", 1, 1), ("物品损坏", 0, 0), ("价格收费", 0, 0),
                           ("服务态度", 1, 0), ("其他", 0, 0)]


def test_complaints_by_franchisee_are_those_it_is_concerned_by(hl, built):
    assert {r["period"]: r["opened"] for r in rows(hl, "complaints", group="franchisee")} == \
        {"沙依巴克洁家服务中心": 1, "—": 1}


def test_complaints_by_age(hl, built):
    # Ages at 12-13 15:00: the open one 3 days 5 h, the survey one resolved within 5 h.
    assert {r["period"]: r["opened"] for r in rows(hl, "complaints", group="age")} == {"<1d": 1, "3-7d": 1}


def test_district_manager_sees_only_their_districts(hl, built):
    scope = Scope(district_ids=frozenset(_district_ids(hl, "天山区", "水磨沟区")))
    assert total(hl, scope=scope)["booked"] == 3                 # B is in 沙依巴克区
    (row,) = rows(hl, "complaints", by="month", scope=scope)
    assert row["opened"] == 0                                      # B's complaint; the other has no order


def test_franchisee_sees_only_its_own_orders_and_surveys(hl, built):
    fr2 = _franchisee_id(hl, "沙依巴克洁家服务中心")
    scope = Scope(franchisee_id=fr2)
    assert total(hl, scope=scope)["booked"] == 1
    (row,) = rows(hl, "satisfaction", by="month", scope=scope)
    assert row["average_x100"] == 200


def test_a_filter_for_another_district_is_refused(hl, built):
    scope = Scope(district_ids=frozenset(_district_ids(hl, "天山区")))
    (other,) = _district_ids(hl, "沙依巴克区")
    with pytest.raises(PermissionDenied):
        rows(hl, "orders", scope=scope, district=str(other))


def test_a_filter_for_another_franchisee_is_refused(hl, built):
    scope = Scope(franchisee_id=_franchisee_id(hl, "沙依巴克洁家服务中心"))
    with pytest.raises(PermissionDenied):
        rows(hl, "orders", scope=scope, franchisee=str(_franchisee_id(hl, "天山家政服务有限公司")))


@pytest.mark.parametrize("args, says", [
    ({"from": "2026-12-13", "to": "2026-12-10"}, "before it starts"),
    ({"from": "2020-01-01", "to": "2026-12-10", "by": "day"}, "at most 366 days"),
    ({"by": "fortnight"}, "interval (by) must be one of"),
    ({"colour": "red"}, "unknown filter 'colour'"),
    ({"from": "10/12/2026"}, "YYYY-MM-DD"),
    ({"service": "ZZZ"}, "no service"),
    ({"district": "99999"}, "no district 99999"),
    ({"group": "weather"}, "group must be one of"),
])
def test_bad_input_is_refused_with_a_message(hl, args, says):
    with pytest.raises(ValidationError, match=says.replace("(", r"\(").replace(")", r"\)")):
        rows(hl, "orders", **args)


def test_an_empty_range_gives_zero_rows_not_an_error(hl):
    by_day = rows(hl, "orders", **{"from": "2027-03-01", "to": "2027-03-02"})
    assert [(r["period"], r["booked"], r["accept_on_time"]) for r in by_day] == \
        [("2027-03-01", 0, None), ("2027-03-02", 0, None)]


def _district_ids(hl, *names):
    from sqlalchemy import select
    from tickets.models import District
    with hl.session() as s:
        return [s.scalar(select(District.id).where(District.name_zh == n)) for n in names]


def _franchisee_id(hl, name):
    from sqlalchemy import select
    from tickets.models import Franchisee
    with hl.session() as s:
        return s.scalar(select(Franchisee.id).where(Franchisee.name == name))
