"""The cached catalog: kept until a catalog change commits, in this process and (over Redis) in the others."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.console.live import wait_until
from tickets import cache, catalog
from tickets.actors import SYSTEM
from tickets.context import Hotline
from tickets.dispatch import resolve_district
from tickets.errors import ValidationError
from tickets.models import District
from tickets.orders import service_by_code


class Loader:
    """A catalog read that counts how often it ran."""

    def __init__(self, during=None) -> None:
        self.calls = 0
        self.during = during

    def __call__(self, session):
        self.calls += 1
        if self.during:
            self.during()
        return self.calls


def test_a_copy_is_read_once_and_kept_across_sessions(hl):
    load = Loader()
    for _ in range(3):
        with hl.session() as s:
            assert cache.cached(s, "probe", load) == 1
    assert load.calls == 1


def test_a_committed_change_drops_the_copy_and_a_rolled_back_one_keeps_it(hl):
    load = Loader()
    with hl.session() as s:
        cache.cached(s, "probe", load)
    with hl.session() as s, s.begin():
        cache.catalog_changed(s)
        s.rollback()
    with hl.session() as s:
        assert cache.cached(s, "probe", load) == 1
    with hl.session() as s, s.begin():
        cache.catalog_changed(s)
        assert cache.cached(s, "probe", load) == 2      # the changing transaction reads afresh...
        with hl.session() as other:
            assert cache.cached(other, "probe", load) == 1      # ...the others not before the commit
    with hl.session() as s:
        assert cache.cached(s, "probe", load) == 3
    with hl.session() as s:
        assert cache.cached(s, "probe", load) == 3


def test_a_copy_read_while_a_change_arrives_is_not_kept(hl):
    # Another process commits a change while this one is reading the catalog: what was read may
    # predate the change, so it serves this read only.
    load = Loader(during=lambda: hl.bus.publish(cache.CHANGED, {}) if load.calls == 1 else None)
    with hl.session() as s:
        assert cache.cached(s, "probe", load) == 1
    with hl.session() as s:
        assert cache.cached(s, "probe", load) == 2
    with hl.session() as s:
        assert cache.cached(s, "probe", load) == 2


def test_a_copy_older_than_its_age_limit_is_read_again(hl, monkeypatch):
    load = Loader()
    with hl.session() as s:
        cache.cached(s, "probe", load)
    monkeypatch.setattr(cache, "MAX_AGE_SECONDS", 0.0)
    with hl.session() as s:
        assert cache.cached(s, "probe", load) == 2


def test_a_new_price_is_charged_and_a_new_alias_matched_as_soon_as_the_admin_saves(hl):
    with hl.session() as s:
        old = service_by_code(s, "BJ").guide_price_fen
        assert resolve_district(s, "高铁新城某小区").district is None
    with hl.session() as s, s.begin():
        catalog.save_service(s, SYSTEM, "BJ", guide_price_fen=old + 500)
        catalog.add_alias(s, SYSTEM, s.scalar(select(District).where(District.name_zh == "天山区")), "高铁新城")
    with hl.session() as s:
        assert service_by_code(s, "BJ").guide_price_fen == old + 500
        assert resolve_district(s, "高铁新城某小区").district.name_zh == "天山区"


@pytest.mark.redis
def test_a_change_committed_by_another_process_reaches_this_one_over_redis(new_hotline, tmp_path, redis_server):
    # Two Hotlines on one database and one Redis: what two processes of a deployment are.
    here = new_hotline(REDIS_URL=redis_server.url)
    there = Hotline(here.settings).load_plugins()
    try:
        for a, b in ((here, there), (there, here)):                   # both subscriptions attached
            probe = b.bus.subscribe("probe.*")
            wait_until(lambda: a.bus.publish("probe.ready", {}) or probe.get(timeout=0.1),
                       what="the Redis subscription of each process")
            probe.close()
        with here.session() as s:
            old = service_by_code(s, "BJ").guide_price_fen            # cached here
        with here.session() as s, s.begin():
            catalog.save_service(s, SYSTEM, "BJ", guide_price_fen=old + 100)
        with here.session() as s:                                     # here at once, not when Redis echoes it
            assert service_by_code(s, "BJ").guide_price_fen == old + 100
        with there.session() as s:
            assert service_by_code(s, "BJ").active                  # cached there
        with here.session() as s, s.begin():
            catalog.save_service(s, SYSTEM, "BJ", active=False)

        def refused() -> bool:
            with there.session() as s:
                try:
                    service_by_code(s, "BJ")
                except ValidationError:
                    return True
            return False
        wait_until(refused, timeout=5, what="the withdrawal to reach the other process's catalog")
    finally:
        there.close()
        here.close()
