"""Small things people see: ratings with no scores, a district manager's filter, the favicon,
the log-in redirect, table action cells."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import select, update

from tests.console.conftest import text
from tickets.models import District, Franchisee, User, UserDistrict


def test_a_franchisee_with_no_scores_reads_no_ratings_yet_not_a_number(login, hl):
    with hl.session() as s, s.begin():
        fr_id = s.scalar(select(User.franchisee_id).where(User.username == "franchisee2"))
        s.execute(update(Franchisee).where(Franchisee.id == fr_id).values(rating_count=0))
    page = text(login("franchisee2").get("/portal/figures"))
    assert "暂无评价" in page
    assert "（0 次评价）" not in page


def test_a_district_managers_order_filter_lists_only_their_districts(login, hl):
    with hl.session() as s:
        manager = s.scalar(select(User).where(User.username == "manager1"))
        own = set(s.scalars(select(District.name_zh).join(UserDistrict, UserDistrict.district_id == District.id)
                            .where(UserDistrict.user_id == manager.id)))
        others = set(s.scalars(select(District.name_zh))) - own
    page = text(login("manager1").get("/orders/"))
    select_html = page.split('id="search-district"', 1)[1].split("</select>", 1)[0]
    assert own and all(name in select_html for name in own)
    assert not any(name in select_html for name in others)


def test_every_page_links_a_favicon_that_is_served(console):
    page = text(console.get("/login"))
    href = re.search(r'<link rel="icon"[^>]*href="([^"]+)"', page).group(1)
    resp = console.get(href)
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"


def test_the_log_in_redirect_carries_no_bare_question_mark(console):
    resp = console.get("/")
    assert resp.status_code == 302
    assert "next=/%3F" not in resp.headers["Location"] and "next=/?" not in resp.headers["Location"]
    assert console.get("/orders/?status=open").headers["Location"].endswith("next=/orders/?status%3Dopen")


def test_table_action_cells_stay_table_cells():
    css = (Path(__file__).resolve().parents[2] / "agent_console/static/css/console.css").read_text()
    rule = re.search(r"td\.actions\s*\{([^}]*)\}", css)
    assert rule and "display: table-cell" in rule.group(1), "a flex <td> breaks the row's alignment"
