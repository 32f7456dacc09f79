"""Customer records: search, one timeline, audited edits, merging two records of one person."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.core.helpers import AGENT, book, order_in
from tickets import cards, complaints, customer_records, customers, outbound
from tickets.actors import SYSTEM
from tickets.errors import ConcurrentChange, HotlineError, NotFound, ValidationError
from tickets.models import AuditLog, CallbackRequest, Customer, CustomerPhone, WorkOrder

WANG, LI, SMITH = "+8613800138000", "+8613900139000", "+8613700137000"


def cust(s, phone):
    return customers.find_by_phone(s, phone)


@pytest.mark.parametrize("text", ["13800138000", "8000", "王女士", "解放南路"])
def test_a_customer_is_found_by_phone_fragment_name_or_address(session, text):
    assert [c.name for c in customer_records.search(session, text)] == ["王女士"]


def test_a_customer_is_found_by_an_order_number(hl):
    with hl.session() as s, s.begin():
        number = book(s, hl, phone=SMITH).number
    with hl.session() as s:
        assert [c.name for c in customer_records.search(s, number)] == ["Mr. Smith"]


def test_a_search_needs_two_characters(session):
    with pytest.raises(ValidationError, match="at least 2 characters"):
        customer_records.search(session, " 王 ")


def test_the_timeline_holds_orders_surveys_and_complaints_newest_first(hl):
    with hl.session() as s, s.begin():
        complaints.open_complaint(s, actor=AGENT, source="agent", phone=WANG, text="late again")
    with hl.session() as s:
        entries = customer_records.timeline(s, cust(s, WANG))
    kinds = {e.kind for e in entries}
    assert {"order", "survey", "complaint"} <= kinds
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)


def test_the_timeline_is_a_list_of_sources_another_one_adds_its_entries(hl, monkeypatch):
    marker = customer_records.TimelineEntry(hl.now(), "ledger", object())
    monkeypatch.setattr(customer_records, "SOURCES", [*customer_records.SOURCES, lambda s, c: [marker]])
    with hl.session() as s:
        assert marker in customer_records.timeline(s, cust(s, WANG))


def test_an_edit_is_audited_with_old_and_new_values(hl):
    with hl.session() as s, s.begin():
        c = cust(s, SMITH)
        changes = customer_records.update_record(s, AGENT, c, c.version, notes="gate code 1234", do_not_call=True)
    assert changes == {"notes": ["", "gate code 1234"], "do_not_call": [False, True]}
    with hl.session() as s:
        row = s.scalar(select(AuditLog).where(AuditLog.action == "customer.update"))
        assert row.data == {"notes": ["", "gate code 1234"], "do_not_call": [False, True]}
        assert row.actor_label == "agent-test"


def test_an_edit_of_a_record_saved_by_someone_else_meanwhile_is_refused(hl):
    with hl.session() as s, s.begin():
        c = cust(s, SMITH)
        read = c.version
        customer_records.update_record(s, AGENT, c, read, notes="first")
    with hl.session() as s, s.begin():
        with pytest.raises(ConcurrentChange, match="changed by someone else"):
            customer_records.update_record(s, AGENT, cust(s, SMITH), read, notes="second")


def test_an_unknown_language_is_refused(session):
    with pytest.raises(ValidationError, match="language 'fr'"):
        customer_records.update_record(session, AGENT, cust(session, SMITH), None, language="fr")


def test_the_survey_channel_is_sms_by_default_and_its_change_is_audited(hl):
    with hl.session() as s, s.begin():
        c = cust(s, SMITH)
        assert c.survey_channel == "sms"
        changes = customer_records.update_record(s, AGENT, c, c.version, survey_channel="phone")
    assert changes == {"survey_channel": ["sms", "phone"]}
    with hl.session() as s:
        assert customers.prefers_phone_survey(cust(s, SMITH))
        row = s.scalar(select(AuditLog).where(AuditLog.action == "customer.update"))
        assert row.data == {"survey_channel": ["sms", "phone"]}


def test_an_unknown_survey_channel_is_refused_with_the_choices(session):
    with pytest.raises(ValidationError, match="survey channel 'email' is not one of: sms, phone"):
        customer_records.update_record(session, AGENT, cust(session, SMITH), None, survey_channel="email")


def test_an_empty_survey_channel_keeps_the_one_chosen(hl):
    with hl.session() as s, s.begin():
        customer_records.update_record(s, AGENT, cust(s, SMITH), None, survey_channel="phone")
    with hl.session() as s, s.begin():
        assert customer_records.update_record(s, AGENT, cust(s, SMITH), None, survey_channel="") == {}


def test_do_not_call_stops_outbound_contact(hl):
    with hl.session() as s, s.begin():
        assert customers.may_contact(s, SMITH)
        customer_records.update_record(s, AGENT, cust(s, SMITH), None, do_not_call=True)
    with hl.session() as s:
        assert not customers.may_contact(s, SMITH)
        assert customers.may_contact(s, "+8613800000001")      # nobody's number: no record says no


def test_a_merge_moves_phones_addresses_orders_and_complaints(hl):
    with hl.session() as s, s.begin():
        number = book(s, hl, phone=SMITH).number
        complaints.open_complaint(s, actor=AGENT, source="agent", phone=SMITH, text="rude")
        keep, gone = cust(s, LI).id, cust(s, SMITH).id
    with hl.session() as s, s.begin():
        moved = customer_records.merge(s, AGENT, keep, gone)
    assert moved["customer_phones"] == 1 and moved["work_orders"] == 1 and moved["addresses"] == 1
    with hl.session() as s:
        assert cust(s, SMITH).id == keep
        assert s.scalar(select(WorkOrder.customer_id).where(WorkOrder.number == number)) == keep
        assert s.get(Customer, gone).merged_into_id == keep
        kept = s.get(Customer, keep)
        assert [a.is_default for a in kept.addresses].count(True) == 1
        assert customer_records.search(s, "Smith") == []
        actions = set(s.scalars(select(AuditLog.action).where(AuditLog.entity == "customer")))
        assert {"customer.merge", "customer.merged_into"} <= actions


def test_a_record_cannot_be_merged_with_itself(session):
    with pytest.raises(ValidationError, match="cannot be merged with itself"):
        customer_records.merge(session, AGENT, cust(session, SMITH).id, cust(session, SMITH).id)


def test_a_record_with_a_member_card_is_not_merged_away(session):
    # 李先生 holds demo card 880000000002.
    with pytest.raises(ValidationError, match="has a member card"):
        customer_records.merge(session, AGENT, cust(session, SMITH).id, cust(session, LI).id)


def test_a_merged_record_cannot_be_merged_again(hl):
    with hl.session() as s, s.begin():
        keep, gone = cust(s, LI).id, cust(s, SMITH).id
        customer_records.merge(s, AGENT, keep, gone)
    with hl.session() as s, s.begin():
        with pytest.raises(ValidationError, match="already merged"):
            customer_records.merge(s, SYSTEM, keep, gone)


def test_an_unknown_record_is_not_found(session):
    with pytest.raises(NotFound):
        customer_records.merge(session, AGENT, cust(session, SMITH).id, 999999)


def test_two_opposite_merges_at_once_make_one_merge(hl):
    """A into B and B into A at the same moment: the rows are locked, so one merges and the other
    finds it done; never both (which would leave both records merged and the phones lost)."""
    with hl.session() as s, s.begin():
        # Mr. Smith's twin record, with no balance either way.
        twin = Customer(name="Smith")
        twin.phones.append(CustomerPhone(e164="+8613700137001"))
        s.add(twin)
        s.flush()
        a, b = cust(s, SMITH).id, twin.id
    barrier = threading.Barrier(2, timeout=30)
    results: list[object] = []

    def run(keep, gone):
        with hl.session() as s:
            barrier.wait()
            try:
                with s.begin():
                    results.append(customer_records.merge(s, AGENT, keep, gone))
            except HotlineError as exc:
                results.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in ((a, b), (b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(type(r).__name__ for r in results) == ["ValidationError", "dict"]
    with hl.session() as s:
        merged = [c.merged_into_id for c in s.scalars(select(Customer).where(Customer.id.in_((a, b))))]
        assert merged.count(None) == 1
        assert s.scalar(select(CustomerPhone.customer_id).where(CustomerPhone.e164 == SMITH)) \
            == s.scalar(select(CustomerPhone.customer_id).where(CustomerPhone.e164 == "+8613700137001"))


def test_two_edits_made_on_one_version_at_once_save_one(hl):
    """Both staff opened the record at the same version and save at the same moment: the row is
    locked, so the second reads the first's save and is told, never overwriting it."""
    with hl.session() as s:
        cid, read = cust(s, SMITH).id, cust(s, SMITH).version
    barrier = threading.Barrier(2, timeout=30)
    results: list[object] = []

    def edit(notes):
        with hl.session() as s:
            barrier.wait()
            try:
                with s.begin():
                    results.append(customer_records.update_record(s, AGENT, s.get(Customer, cid), read, notes=notes))
            except HotlineError as exc:
                results.append(exc)

    threads = [threading.Thread(target=edit, args=(n,)) for n in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(type(r).__name__ for r in results) == ["ConcurrentChange", "dict"]
    with hl.session() as s:
        assert s.get(Customer, cid).version == read + 1
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "customer.update")) == 1


# ---------------------------------------------------------------- the member card on the record

def test_the_timeline_holds_the_card_ledger_in_fen_with_the_order_a_spend_paid_and_the_cards_life(hl):
    with hl.session() as s, s.begin():
        order = order_in(s, hl, "completed")                # 王女士, who holds demo card 880000000001
        card = cards.get(s, "880000000001")
        top = cards.top_up(s, card, 50000, AGENT, reason="cash at the hall")
        paid = cards.pay_order(s, order, AGENT, key="tl-pay")
        cards.reverse(s, top, AGENT, reason="wrong amount keyed")
        cards.credit(s, card, 40000, AGENT, reason="the right amount")
        cards.replace(s, card, AGENT, reason="lost")
        cards.freeze(s, card, AGENT, reason="reported stolen")
        cards.unfreeze(s, card, AGENT)
        left = card.balance_fen
        cards.close(s, card, AGENT, reason="moving away")
        number, paid_fen, order_number = card.number, -paid.amount_fen, order.number
    with hl.session() as s:
        entries = customer_records.timeline(s, cust(s, WANG))
    money = [(e.item.kind, e.item.amount_fen) for e in entries if e.kind == "card"]
    assert money[:5] == [("refund", -left), ("adjustment", 40000), ("reversal", -50000), ("spend", -paid_fen),
                         ("topup", 50000)]
    assert len(money) == 5 + 3                               # and the demo history: a top-up, two spends
    spend = next(e.item for e in entries if e.kind == "card" and e.item.kind == "spend")
    assert spend.order.number == order_number
    life = [(e.item.action, e.item.entity_id) for e in entries if e.kind == "card_event"]
    assert life[:4] == [("card.close", number), ("card.unfreeze", number), ("card.freeze", number),
                        ("card.replace", number)]
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)


def test_a_customer_is_found_by_the_card_number_they_hold_or_one_it_replaced(hl):
    with hl.session() as s, s.begin():
        card = cards.open_card(s, cust(s, SMITH), AGENT)
        numbers = [card.number]
        for _ in range(2):
            cards.replace(s, card, AGENT, reason="lost")
            numbers.append(card.number)
    with hl.session() as s:
        for number in numbers:
            assert [c.name for c in customer_records.search(s, number)] == ["Mr. Smith"], number
        assert customer_records.search(s, "889999999999") == []
        # 王女士's demo card, by its number
        assert [c.name for c in customer_records.search(s, "880000000001")] == ["王女士"]
        assert cards.numbers_of(s, card) == numbers[::-1]


def test_a_merge_brings_the_closed_card_and_its_ledger_to_the_kept_record(hl):
    with hl.session() as s, s.begin():
        card = cards.open_card(s, cust(s, SMITH), AGENT)
        cards.top_up(s, card, 3000, AGENT, reason="cash")
        cards.close(s, card, AGENT, reason="duplicate record")
        keep, gone = cust(s, LI).id, cust(s, SMITH).id
    with hl.session() as s, s.begin():
        assert customer_records.merge(s, AGENT, keep, gone)["member_cards"] == 1
    with hl.session() as s:
        kinds = [e.item.kind for e in customer_records.timeline(s, s.get(Customer, keep)) if e.kind == "card"
                 and e.item.card_id == card.id]
    assert kinds == ["refund", "topup"]


def test_a_merge_moves_the_callback_requests_too(hl):
    """Everything of the merged-away record moves: a callback it asked for is the kept record's."""
    with hl.session() as s, s.begin():
        keep, gone = cust(s, LI).id, cust(s, SMITH).id
        request_id = outbound.request_callback(s, phone=SMITH, source="after-hours", customer_id=gone).id
    with hl.session() as s, s.begin():
        assert customer_records.merge(s, AGENT, keep, gone)["callback_requests"] == 1
    with hl.session() as s:
        assert s.get(CallbackRequest, request_id).customer_id == keep


def test_a_card_is_not_opened_on_a_merged_away_record(hl):
    """A card opened on a record merged meanwhile (its page open from before) would hold money no
    search finds: it is refused, naming the record to use."""
    with hl.session() as s:
        with s.begin():
            keep, gone = cust(s, LI).id, cust(s, SMITH).id
            stale = s.get(Customer, gone)
        with hl.session() as other, other.begin():
            customer_records.merge(other, AGENT, keep, gone)
        with s.begin(), pytest.raises(ValidationError, match=f"already merged into customer {keep}"):
            cards.open_card(s, stale, AGENT)
