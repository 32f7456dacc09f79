"""The step runtime: state, retries, the call record, replays, failures and a slow database."""
from __future__ import annotations

import dataclasses
import json
import threading

import pytest
from sqlalchemy import func, select, text

from ivr.menus import Choice, build_menus
from ivr.runtime import Ivr
from ivr.scenarios import DEMO_PATH, WANG, event_for
from tickets.models import AuditLog, Call, WorkOrder


def start(ivr, caller=WANG, call_id="call-1", **extra):
    return ivr.step(None, {"type": "start", "call_id": call_id, "caller": caller, "transport": "simulator",
                           "dnid": "96156", **extra})


def press(ivr, state, *keys):
    actions = []
    for n, key in enumerate(keys):
        state, acts = ivr.step(state, event_for(key, state["call_id"], n))
        actions += acts
    return state, actions


def call_row(hl, call_id="call-1"):
    with hl.session() as s:
        return s.scalar(select(Call).where(Call.external_id == call_id))


def test_state_survives_a_json_round_trip_at_every_step(hl):
    ivr = Ivr(hl)
    state, _ = start(ivr)
    for n, key in enumerate(DEMO_PATH.split()):
        assert json.loads(json.dumps(state)) == state
        state, _ = ivr.step(json.loads(json.dumps(state)), event_for(key, "call-1", n))
    assert state["outcome"] == "booked"


def test_known_caller_goes_straight_to_the_main_menu_without_a_key(hl):
    _, actions = start(Ivr(hl))
    assert [a["type"] for a in actions] == ["play", "gather"]
    assert actions[0]["text"].startswith("王女士")
    assert actions[1]["segments"] == [{"prompt": "main.menu"}]


def test_unknown_caller_is_asked_for_a_language(hl):
    _, actions = start(Ivr(hl), caller="13512345678")
    assert actions[-1]["segments"] == [{"prompt": "lang.menu"}]


def test_language_in_the_start_event_skips_the_language_menu(hl):
    _, actions = start(Ivr(hl), caller="13512345678", language="en")
    assert actions[-1]["lang"] == "en"
    assert actions[-1]["segments"] == [{"prompt": "main.menu"}]


def test_replayed_start_does_not_create_a_second_call(hl):
    ivr = Ivr(hl)
    first, _ = start(ivr)
    second, _ = start(ivr)
    assert first["call_pk"] == second["call_pk"]
    with hl.session() as s:
        assert s.scalar(select(func.count()).select_from(Call).where(Call.external_id == "call-1")) == 1


def test_wrong_keys_reprompt_up_to_the_nodes_retry_limit_then_go_to_on_fail(hl):
    base = Ivr(hl).menus
    menus = dict(base, main=dataclasses.replace(base["main"], retries=1, on_fail=Choice("bye")))
    ivr = Ivr(hl, menus=menus)
    state, _ = start(ivr)
    state, again = press(ivr, state, "7")
    assert [a["type"] for a in again] == ["play", "gather"]
    assert again[0]["segments"] == [{"prompt": "retry.invalid"}]
    state, last = press(ivr, state, "7")
    assert last[-1]["type"] == "hangup"
    assert state["done"]
    assert call_row(hl).outcome == "ended"


def test_a_good_key_after_a_wrong_one_resets_the_retry_count_for_the_next_node(hl):
    ivr = Ivr(hl)
    state, _ = start(ivr)
    state, _ = press(ivr, state, "7", "7", "1")
    assert state["node"] == "book.category"
    assert state["retries"] == 0


def test_hang_up_records_the_node_and_ends_the_engine(hl):
    ivr = Ivr(hl)
    state, _ = start(ivr)
    state, _ = press(ivr, state, "1")
    state, actions = press(ivr, state, "H")
    assert actions == []
    assert state["done"]
    call = call_row(hl)
    assert (call.outcome, call.abandoned_at) == ("abandoned", "book.category")
    assert call.ivr_path == ["start", "greet", "main", "book.category"]
    assert call.ended_at is not None
    assert ivr.step(state, {"type": "digits", "digits": "1"}) == (state, [])


def test_transfer_names_the_call_customer_path_order_language_and_queue_priority(hl):
    ivr = Ivr(hl)
    state, _ = start(ivr)
    state, actions = press(ivr, state, "0")
    transfer = actions[-1]
    call = call_row(hl)
    assert transfer == {"type": "transfer", "queue": "agents", "variables": {
        "HOTLINE_CALL_ID": str(call.id), "HOTLINE_CUSTOMER_ID": str(call.customer_id),
        "HOTLINE_IVR_PATH": "start>greet>main>agent>agent.transfer", "HOTLINE_ORDER": "", "HOTLINE_LANG": "zh",
        "QUEUE_PRIO": "2"}}           # 王女士 is VIP: CARD_LEVELS gives vip queue priority 2
    assert (call.outcome, call.queue) == ("agent", "agents")


def test_booking_reads_the_order_number_digit_by_digit_and_links_it_to_the_call(hl):
    ivr = Ivr(hl)
    state, _ = start(ivr)
    state, actions = press(ivr, state, *DEMO_PATH.split())
    with hl.session() as s:
        call = s.scalar(select(Call).where(Call.external_id == "call-1"))
        order = s.get(WorkOrder, call.order_id)
        assert order.call_id == call.id
        assert call.order_id == order.id
        assert order.channel == "ivr"
        assert [e.actor_role for e in order.events][0] == "customer"
    spoken = [seg for a in actions for seg in a.get("segments", ())]
    assert spoken.count({"digits": order.number}) == 2


def test_every_action_speaks_in_the_callers_language_with_text_and_segments(hl):
    ivr = Ivr(hl)
    state, actions = start(ivr, caller="13700137000")
    state, more = press(ivr, state, *DEMO_PATH.split())
    for action in actions + more:
        if action["type"] in ("play", "gather", "record"):
            assert action["lang"] == "en"
            assert action["text"]
            assert action["segments"]


def test_a_names_and_addresses_appear_in_the_text_but_only_prompts_are_played(hl):
    ivr = Ivr(hl)
    state, actions = start(ivr)
    state, more = press(ivr, state, "1", "1", "1", "2", "1")
    confirm = more[-1]
    assert "解放南路88号" in confirm["text"]
    assert {"prompt": "district.tianshan"} in confirm["segments"]
    assert all(set(seg) <= {"prompt", "digits", "number"} for a in actions + more for seg in a.get("segments", ()))


def test_callback_request_is_left_on_the_call_record_and_audited(hl, clock):
    clock.advance(hours=12)   # 22:00 local
    ivr = Ivr(hl)
    state, _ = start(ivr)
    press(ivr, state, "0", "1")
    call = call_row(hl)
    assert call.outcome == "callback"
    assert "请求回电" in call.notes
    with hl.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditLog).where(
            AuditLog.action == "call.callback_request", AuditLog.entity_id == str(call.id))) == 1


def test_a_failing_action_apologises_and_falls_back_to_an_agent(hl):
    def broken(turn):
        raise RuntimeError("database went away")

    from ivr.actions import ACTIONS
    ivr = Ivr(hl, actions=dict(ACTIONS, list_orders=broken))
    state, _ = start(ivr)
    state, actions = press(ivr, state, "2")
    assert actions[0]["segments"][0] == {"prompt": "error.system"}
    assert actions[-1]["type"] == "transfer"


def test_menus_naming_a_missing_action_are_refused_at_construction(hl):
    base = build_menus(Ivr(hl).catalog)
    menus = dict(base, status=dataclasses.replace(base["status"], action="no_such_action"))
    with pytest.raises(ValueError, match="no_such_action"):
        Ivr(hl, menus=menus)


def test_an_event_without_state_is_refused_with_what_to_send(hl):
    with pytest.raises(ValueError, match="start"):
        Ivr(hl).step(None, {"type": "digits", "digits": "1"})


def test_an_unknown_event_type_is_refused(hl):
    with pytest.raises(ValueError, match="hangup"):
        Ivr(hl).step(None, {"type": "dtmf"})


def test_a_slow_database_delays_the_booking_but_it_completes(hl):
    """Another writer holds the SQLite write lock while the caller confirms; the step waits for it."""
    ivr = Ivr(hl)
    state, _ = start(ivr)
    state, _ = press(ivr, state, *DEMO_PATH.split()[:-1])
    locked, release = threading.Event(), threading.Event()

    def hold_the_write_lock():
        with hl.engine.begin() as conn:   # BEGIN IMMEDIATE: the database's write lock
            conn.execute(text("UPDATE customers SET notes = notes WHERE id = 1"))
            locked.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    assert locked.wait(timeout=30)
    timer = threading.Timer(0.3, release.set)   # the other writer finishes a little later
    timer.start()
    try:
        state, actions = ivr.step(state, {"type": "digits", "digits": "1"})
    finally:
        release.set()
        holder.join(timeout=30)
        timer.cancel()
    assert state["outcome"] == "booked"
    assert [a["type"] for a in actions] == ["play", "hangup"]
    assert actions[0]["segments"][0] == {"prompt": "book.done"}


def test_concurrent_calls_on_one_engine_each_get_their_own_order(hl):
    ivr = Ivr(hl)
    results, errors = {}, []

    def call(n):
        try:
            state, _ = start(ivr, call_id=f"parallel-{n}")
            # Each on a day of its own: the same booking twice would be refused as a duplicate.
            state, _ = press(ivr, state, *f"1 1 1 4 12{n + 1:02d} 1 1 1".split())
            results[n] = state["vars"]["order"]
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(set(results.values())) == 6


def test_an_order_for_a_service_without_a_prompt_is_read_with_a_generic_word(hl):
    from datetime import timedelta

    from tickets import actors, orders
    from tickets.models import Service
    with hl.session() as s, s.begin():
        s.add(Service(code="ZZ", category="repair", category_digit=3, menu_digit=9, name_zh="新项目",
                      name_en="New item", unit="visit", guide_price_fen=100, default_quantity=1))
        s.flush()
        orders.book(s, phone="13900139000", service="ZZ", start=hl.now() + timedelta(days=2), actor=actors.SYSTEM)
    ivr = Ivr(hl)
    state, _ = start(ivr, caller="13900139000")
    state, actions = press(ivr, state, "2")
    assert {"prompt": "svc.unnamed"} in actions[0]["segments"]
    assert "新项目" in actions[0]["text"]


def test_the_call_record_is_written_the_same_on_sqlite_and_postgresql(hl):
    ivr = Ivr(hl)
    booked, _ = start(ivr, call_id="rec-booked")
    press(ivr, booked, *DEMO_PATH.split())
    left, _ = start(ivr, call_id="rec-left")
    left, _ = press(ivr, left, "1")
    ivr.step(left, {"type": "hangup"})
    with hl.session() as s:
        rows = {c.external_id: c for c in s.scalars(select(Call).where(Call.external_id.like("rec-%")))}
        order = s.get(WorkOrder, rows["rec-booked"].order_id)
    assert (rows["rec-booked"].outcome, rows["rec-booked"].language, order.call_id) == ("booked", "zh",
                                                                                        rows["rec-booked"].id)
    assert rows["rec-booked"].ivr_path[-2:] == ["book.create", "bye"]
    assert rows["rec-booked"].ended_at is not None
    assert (rows["rec-left"].outcome, rows["rec-left"].abandoned_at) == ("abandoned", "book.category")
    assert rows["rec-left"].customer_id == rows["rec-booked"].customer_id is not None


def test_a_hang_up_after_the_outcome_keeps_the_outcome_and_the_object_in_the_session_follows(hl):
    from tickets import calls
    with hl.session() as s, s.begin():
        call = calls.start_call(s, "rec-ended", "simulator", WANG)
        calls.finish_call(s, call, "booked")
        calls.finish_call(s, call.id, "abandoned", abandoned_at="bye")
        assert (call.outcome, call.abandoned_at) == ("booked", "bye")
        assert call.ended_at is not None
        agent = calls.start_call(s, "rec-agent", "simulator", WANG)
        calls.finish_call(s, agent, "agent")
        calls.finish_call(s, agent, "complaint")
        assert agent.outcome == "complaint"


def test_a_service_withdrawn_after_the_menu_was_loaded_is_not_booked_and_the_caller_is_told(hl):
    from tickets.models import Service
    ivr = Ivr(hl)
    state, _ = start(ivr)
    state, _ = press(ivr, state, *DEMO_PATH.split()[:-1])
    with hl.session() as s, s.begin():
        s.get(Service, ivr.catalog.services[state["vars"]["service"]].id).active = False
    state, actions = press(ivr, state, "1")
    assert state["vars"].get("order") is None
    assert {"prompt": "book.failed"} in [seg for a in actions for seg in a.get("segments", ())]
