"""The booking menus generated from the catalog, and the catalog's voice-menu keys."""
from __future__ import annotations

from sqlalchemy import select, update

from ivr.runtime import Ivr
from tickets.models import Service
from tickets.seed import load_reference


def test_category_keys_follow_the_catalog_with_cleaning_on_1(hl):
    menu = Ivr(hl).menus["book.category"]
    assert menu.choices["1"].goto == "book.item.cleaning"
    assert menu.choices["2"].goto == "book.item.household"
    assert menu.prompts[1:3] == ("cat.cleaning", "cat.household")


def test_item_keys_set_the_service_code(hl):
    menu = Ivr(hl).menus["book.item.cleaning"]
    assert menu.choices["1"].set == {"service": "BJ"}
    assert menu.choices["1"].goto == "book.date"


def test_an_inactive_service_is_not_offered(hl):
    with hl.session() as s, s.begin():
        s.execute(update(Service).where(Service.code == "GSBJ").values(active=False))
    menu = Ivr(hl).menus["book.item.cleaning"]
    assert "2" not in menu.choices
    assert "svc.GSBJ" not in menu.prompts


def test_a_service_the_admin_withdraws_leaves_the_running_menu_once_saved(hl):
    # The same Ivr, built before the change (a running FastAGI server): no wait for CATALOG_TTL.
    from tickets import catalog
    from tickets.actors import SYSTEM
    ivr = Ivr(hl)
    assert "2" in ivr.menus["book.item.cleaning"].choices
    with hl.session() as s, s.begin():
        catalog.save_service(s, SYSTEM, "GSBJ", active=False)
    assert "2" not in ivr.menus["book.item.cleaning"].choices


def test_a_service_without_a_voice_prompt_is_left_out_of_the_menu(hl):
    with hl.session() as s, s.begin():
        s.add(Service(code="ZZ", category="cleaning", category_digit=1, menu_digit=9, name_zh="新项目",
                      name_en="New item", unit="visit", guide_price_fen=100, default_quantity=1))
    menu = Ivr(hl).menus["book.item.cleaning"]
    assert "9" not in menu.choices


def test_reseeding_moves_swapped_category_keys_without_breaking_uniqueness(hl):
    with hl.session() as s, s.begin():
        # the keys as they were before cleaning moved to 1: park, then swap household <-> cleaning
        s.execute(update(Service).values(category_digit=Service.category_digit - 100))
        s.execute(update(Service).where(Service.category == "household").values(category_digit=1))
        s.execute(update(Service).where(Service.category == "cleaning").values(category_digit=2))
        s.execute(update(Service).where(Service.category_digit < 0).values(category_digit=Service.category_digit + 100))
    with hl.session() as s, s.begin():
        load_reference(s)
    with hl.session() as s:
        digits = dict(s.execute(select(Service.code, Service.category_digit)).all())
    assert (digits["BJ"], digits["BM"]) == (1, 2)
