"""Member cards: money moves only as ledger rows, the balance is their sum, a spend pays once."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.core.helpers import AGENT, at_once, franchisee_actor, order_in
from tickets import cards, orders
from tickets.actors import Actor
from tickets.customers import find_by_phone
from tickets.errors import HotlineError, ValidationError
from tickets.models import AuditLog, CardLedgerEntry, MemberCard, SmsMessage

CASHIER = Actor(role="supervisor", user_id=None, label="supervisor-test")
WANG = "+8613800138000"       # demo VIP with card 880000000001
SMITH = "+8613700137000"      # demo standard member without a card


def smith_card(s, fen: int = 0) -> MemberCard:
    card = cards.open_card(s, find_by_phone(s, SMITH), CASHIER)
    if fen:
        cards.top_up(s, card, fen, CASHIER, reason="cash at the hall")
    return card


def ledger_sum(s, card) -> int:
    return s.scalar(select(func.coalesce(func.sum(CardLedgerEntry.amount_fen), 0))
                    .where(CardLedgerEntry.card_id == card.id))


def test_demo_cards_have_a_history_whose_sum_is_the_balance(session):
    card = cards.get(session, "880000000001")
    kinds = [e.kind for e in cards.ledger(session, card)]
    assert kinds == ["topup", "spend", "spend"]
    assert card.balance_fen == ledger_sum(session, card) > 0
    assert cards.check_balances(session) == []


def test_every_money_move_keeps_balance_equal_to_the_ledger_sum(session):
    card = smith_card(session, 50000)
    spent = cards.spend(session, card, 12000, AGENT, key="t-1")
    cards.credit(session, card, 3000, CASHIER, reason="complaint 7 compensation")
    cards.refund(session, card, 1000, CASHIER, reason="customer asked for cash back")
    cards.reverse(session, spent, CASHIER, reason="charged the wrong card")
    assert card.balance_fen == 50000 - 12000 + 3000 - 1000 + 12000 == ledger_sum(session, card)
    assert [e.balance_after_fen for e in cards.ledger(session, card)] == [50000, 38000, 41000, 40000, 52000]
    assert cards.check_balances(session) == []


def test_check_balances_names_a_card_whose_cached_balance_drifted(session):
    card = smith_card(session, 10000)
    card.balance_fen = 99999          # what an edit behind the ledger's back would do
    session.flush()
    assert cards.check_balances(session) == [cards.Mismatch(card.number, 99999, 10000)]


def test_the_same_spend_key_pays_once(session):
    card = smith_card(session, 10000)
    first = cards.spend(session, card, 3000, AGENT, key="order-1:click")
    again = cards.spend(session, card, 3000, AGENT, key="order-1:click")
    assert again.id == first.id
    assert card.balance_fen == 7000
    assert session.scalar(select(func.count()).select_from(CardLedgerEntry)
                          .where(CardLedgerEntry.card_id == card.id, CardLedgerEntry.kind == "spend")) == 1


def test_a_spend_key_used_on_another_card_is_refused(session):
    wang = cards.get(session, "880000000001")
    cards.spend(session, wang, 100, AGENT, key="k-shared")
    with pytest.raises(cards.CardRefused) as exc:
        cards.spend(session, smith_card(session, 10000), 100, AGENT, key="k-shared")
    assert exc.value.reason == "key_reused"


def test_a_spend_larger_than_the_balance_is_refused_and_writes_nothing(session):
    card = smith_card(session, 5000)
    with pytest.raises(cards.CardRefused, match="has 50.00 yuan") as exc:
        cards.spend(session, card, 5001, AGENT, key="too-much")
    assert exc.value.reason == "insufficient"
    assert card.balance_fen == 5000 and len(cards.ledger(session, card)) == 1


@pytest.mark.parametrize("amount", [0, -100, 1.5, "100", True, 5_000_001])
def test_money_amounts_must_be_whole_positive_fen_within_the_limit(session, amount):
    card = smith_card(session)
    with pytest.raises(ValidationError):
        cards.top_up(session, card, amount, CASHIER, reason="cash")
    assert cards.ledger(session, card) == []


@pytest.mark.parametrize("move", ["top_up", "refund", "credit", "close", "freeze"])
def test_a_top_up_refund_credit_close_or_freeze_needs_a_reason(session, move):
    card = smith_card(session, 1000)
    with pytest.raises(ValidationError, match="needs a reason"):
        if move in ("close", "freeze"):
            getattr(cards, move)(session, card, CASHIER, reason="  ")
        else:
            getattr(cards, move)(session, card, 100, CASHIER, reason="  ")


def test_a_frozen_card_refuses_spends_and_top_ups_until_unfrozen(session):
    card = smith_card(session, 5000)
    cards.freeze(session, card, CASHIER, reason="reported lost")
    for attempt in (lambda: cards.spend(session, card, 100, AGENT, key="f-1"),
                    lambda: cards.top_up(session, card, 100, CASHIER, reason="cash")):
        with pytest.raises(cards.CardRefused, match="frozen") as exc:
            attempt()
        assert exc.value.reason == "frozen"
    cards.unfreeze(session, card, CASHIER)
    cards.spend(session, card, 100, AGENT, key="f-1")
    assert card.balance_fen == 4900


def test_closing_refunds_the_balance_and_a_closed_card_refuses_everything(session):
    card = smith_card(session, 5000)
    refund = cards.close(session, card, CASHIER, reason="customer moved away")
    assert (refund.kind, refund.amount_fen, card.balance_fen, card.status) == ("refund", -5000, 0, "closed")
    with pytest.raises(cards.CardRefused, match="closed") as exc:
        cards.spend(session, card, 100, AGENT, key="c-1")
    assert exc.value.reason == "closed"
    with pytest.raises(cards.CardRefused, match="closed"):
        cards.top_up(session, card, 100, CASHIER, reason="cash")


def test_a_replaced_card_keeps_balance_and_history_under_a_new_number(session):
    card = cards.get(session, "880000000001")
    balance, rows = card.balance_fen, len(cards.ledger(session, card))
    cards.replace(session, card, CASHIER, reason="lost on the bus")
    assert card.number != "880000000001" and len(card.number) == 12
    assert (card.balance_fen, len(cards.ledger(session, card))) == (balance, rows)
    with pytest.raises(HotlineError):
        cards.get(session, "880000000001")
    assert session.scalar(select(AuditLog).where(AuditLog.action == "card.replace")).data["old"] == "880000000001"


def test_a_row_is_reversed_once_and_a_reversal_is_not_reversed(session):
    card = smith_card(session, 5000)
    top_up = cards.ledger(session, card)[0]
    reversal = cards.reverse(session, top_up, CASHIER, reason="typed 50 instead of 5")
    with pytest.raises(ValidationError, match="already reversed"):
        cards.reverse(session, top_up, CASHIER, reason="again")
    with pytest.raises(ValidationError, match="itself a reversal"):
        cards.reverse(session, reversal, CASHIER, reason="undo")
    assert card.balance_fen == 0


def test_every_money_move_is_in_the_audit_trail_with_its_actor(session):
    card = smith_card(session, 5000)
    cards.spend(session, card, 100, AGENT, key="a-1")
    rows = session.scalars(select(AuditLog).where(AuditLog.entity == "member_card", AuditLog.entity_id == card.number)
                           .order_by(AuditLog.id)).all()
    assert [(r.action, r.actor_label) for r in rows] == [
        ("card.open", "supervisor-test"), ("card.topup", "supervisor-test"), ("card.spend", "agent-test")]


def test_paying_a_completed_order_takes_the_level_discount_and_sends_amount_and_balance(session, hl):
    order = order_in(session, hl, "completed")          # 王女士, VIP: 10% off by default
    card = cards.get(session, "880000000001")
    before = card.balance_fen
    entry = cards.pay_order(session, order, franchisee_actor(order), key=f"pay-{order.number}")
    expected = (order.price_total_fen * 90 + 50) // 100
    assert (entry.amount_fen, entry.order_id, card.balance_fen) == (-expected, order.id, before - expected)
    sms = session.scalar(select(SmsMessage).where(SmsMessage.kind == "card_spend", SmsMessage.order_id == order.id))
    assert f"{expected // 100}.{expected % 100:02d}" in sms.body and f"余额¥{card.balance_fen // 100}." in sms.body
    assert sms.phone == WANG


def test_an_order_paid_by_card_cannot_be_paid_again_with_another_key(session, hl):
    order = order_in(session, hl, "completed")
    cards.pay_order(session, order, franchisee_actor(order), key="pay-a")
    with pytest.raises(cards.CardRefused, match="already paid") as exc:
        cards.pay_order(session, order, franchisee_actor(order), key="pay-b")
    assert exc.value.reason == "already_paid"


def test_a_key_replayed_for_another_order_or_amount_is_refused_not_taken_for_paid(session, hl):
    """A replay is the same request again: a key that paid order A does not make order B "paid"
    (B would be marked paid with nothing taken), and a spend key comes back only for its amount."""
    first = order_in(session, hl, "completed")
    second = order_in(session, hl, "completed", days=6)
    card = cards.get(session, "880000000001")
    paid = cards.pay_order(session, first, franchisee_actor(first), key="pay-once")
    balance = card.balance_fen
    with pytest.raises(cards.CardRefused, match="already used") as exc:
        cards.pay_order(session, second, franchisee_actor(second), key="pay-once")
    assert exc.value.reason == "key_reused" and cards.paid_by_card(session, second) == 0
    assert cards.pay_order(session, first, franchisee_actor(first), key="pay-once").id == paid.id
    spent = cards.spend(session, card, 500, AGENT, key="s-1")
    with pytest.raises(cards.CardRefused, match="already used"):
        cards.spend(session, card, 700, AGENT, key="s-1")
    assert cards.spend(session, card, 500, AGENT, key="s-1").id == spent.id
    assert card.balance_fen == balance - 500 == ledger_sum(session, card)


def test_completing_with_a_refused_card_payment_leaves_the_order_in_service(hl):
    with hl.session() as s, s.begin():
        order = order_in(s, hl, "in_service")
        number, fr = order.number, franchisee_actor(order)
        cards.freeze(s, cards.get(s, "880000000001"), CASHIER, reason="in dispute")
    with hl.session() as s:
        with pytest.raises(cards.CardRefused, match="frozen"):
            with s.begin():
                o = orders.get(s, number)
                cards.complete_and_pay(s, o, fr, final_price_fen=o.price_total_fen, key="k-frozen")
    with hl.session() as s:
        assert orders.get(s, number).status == "in_service"
        assert s.scalar(select(func.count()).select_from(CardLedgerEntry).where(
            CardLedgerEntry.idempotency_key == "k-frozen")) == 0


def test_top_up_and_refund_send_the_amount_and_balance(session):
    card = smith_card(session, 20000)
    cards.refund(session, card, 5000, CASHIER, reason="cash back")
    bodies = {m.kind: m.body for m in session.scalars(select(SmsMessage).where(SmsMessage.phone == SMITH))}
    assert "充值¥200.00，余额¥200.00" in bodies["card_topup"]
    assert "退款¥50.00，余额¥150.00" in bodies["card_refund"]


def test_a_credit_tells_the_holder_the_amount_and_balance_and_a_reversal_sends_nothing(session):
    card = smith_card(session, 20000)
    credited = cards.credit(session, card, 3000, CASHIER, reason="complaint 7 compensation")
    cards.reverse(session, credited, CASHIER, reason="credited twice")
    kinds = [m.kind for m in session.scalars(select(SmsMessage).where(SmsMessage.phone == SMITH,
                                                                      SmsMessage.kind.like("card_%")).order_by(SmsMessage.id))]
    assert kinds == ["card_topup", "card_credit"]
    body = session.scalar(select(SmsMessage.body).where(SmsMessage.kind == "card_credit"))
    assert body == f"会员卡{card.number[-4:]}补偿入账¥30.00，余额¥230.00。"


def test_monthly_summary_counts_spends_and_nets_their_reversals(session, hl):
    card = smith_card(session, 50000)
    cards.spend(session, card, 1000, AGENT, key="m-1")
    wrong = cards.spend(session, card, 2000, AGENT, key="m-2")
    cards.reverse(session, wrong, CASHIER, reason="double charge")
    start, end = hl.now() - timedelta(days=1), hl.now() + timedelta(days=1)
    rows, total = cards.monthly_summary(session, start, end)
    mine = next(r for r in rows if r.number == card.number)
    assert (mine.name, mine.spends, mine.amount_fen) == ("Mr. Smith", 2, 1000)
    assert total == sum(r.amount_fen for r in rows)


ROUNDS = 4


def test_concurrent_spends_on_one_card_never_overdraw_and_each_key_pays_once(hl):
    """Many sessions spend on one card at once, some replaying a key: on PostgreSQL the row lock
    serializes them; the card ends at exactly its ledger sum, never below zero."""
    for round_ in range(ROUNDS):
        with hl.session() as s, s.begin():
            card = cards.open_card(s, find_by_phone(s, SMITH), CASHIER) if round_ == 0 else \
                cards.card_of(s, find_by_phone(s, SMITH))
            cards.top_up(s, card, 1000, CASHIER, reason="race")
            number = card.number
        clients = 8
        barrier = threading.Barrier(clients, timeout=30)
        results: list[object] = [None] * clients

        def run(i: int) -> None:
            try:
                with hl.session() as s:
                    barrier.wait()
                    with s.begin():
                        # two clients per key: a replayed request must pay once
                        results[i] = cards.spend(s, cards.get(s, number), 300, AGENT,
                                                 key=f"race-{round_}-{i // 2}").id
            except HotlineError as exc:
                results[i] = exc

        threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        paid = {r for r in results if isinstance(r, int)}
        refused = [r for r in results if isinstance(r, cards.CardRefused)]
        assert len(paid) == 3 and all(r.reason == "insufficient" for r in refused), results
        with hl.session() as s:
            card = cards.get(s, number)
            assert card.balance_fen == 100 == ledger_sum(s, card)
            assert cards.check_balances(s) == []
            spends = s.scalars(select(CardLedgerEntry.idempotency_key).where(
                CardLedgerEntry.card_id == card.id, CardLedgerEntry.idempotency_key.like(f"race-{round_}-%"))).all()
            assert len(spends) == len(set(spends)) == 3
        with hl.session() as s, s.begin():
            cards.spend(s, cards.get(s, number), 100, AGENT, key=f"empty-{round_}")


def test_spend_detail_shows_spends_and_their_reversals_but_not_top_ups(session):
    card = smith_card(session, 5000)
    wrong = cards.spend(session, card, 700, AGENT, key="d-1")
    cards.reverse(session, wrong, CASHIER, reason="wrong card")
    cards.reverse(session, cards.ledger(session, card)[0], CASHIER, reason="top-up typed twice")
    assert [(e.kind, e.amount_fen) for e in cards.spend_detail(session, card)] == [("spend", -700), ("reversal", 700)]


def test_two_cards_opened_for_one_customer_at_once_make_one_card(hl):
    """Agents open a card for the same caller at the same moment: one card, and the others are
    told the customer has it (two open cards would split the money between them)."""
    results = at_once(hl, lambda s: cards.open_card(s, find_by_phone(s, SMITH), CASHIER).number, [()] * 4)
    assert sorted(type(r).__name__ for r in results) == ["ValidationError"] * 3 + ["str"], results
    with hl.session() as s:
        holder = find_by_phone(s, SMITH)
        assert s.scalar(select(func.count()).select_from(MemberCard).where(MemberCard.customer_id == holder.id)) == 1
