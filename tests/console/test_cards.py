"""Member cards in the console: money typed in yuan, refused clearly, written once, exported."""
from __future__ import annotations

import codecs
import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.console.conftest import text
from tests.console.helpers import make_order
from tickets import cards, orders
from tickets.actors import SYSTEM
from tickets.models import CardLedgerEntry, SmsMessage

LI = "880000000002"       # demo: 李先生, senior, 500.00 yuan topped up, one order paid


def balance(hl, number: str = LI) -> int:
    with hl.session() as s:
        return cards.get(s, number).balance_fen


def rows(hl, number: str = LI) -> int:
    with hl.session() as s:
        return s.scalar(select(func.count()).select_from(CardLedgerEntry)
                        .where(CardLedgerEntry.card_id == cards.get(s, number).id))


def test_a_top_up_typed_in_yuan_is_a_ledger_row_in_fen(login, hl):
    before = balance(hl)
    resp = login("supervisor1").post(f"/cards/{LI}/topup", {"amount": "100.50", "reason": "cash, receipt 0042",
                                                            "key": "t-1"})
    assert resp.status_code == 302
    assert balance(hl) == before + 10050
    page = text(login("agent1").get(f"/cards/{LI}"))
    assert "cash, receipt 0042" in page and f"{(before + 10050) / 100:.2f}" in page


@pytest.mark.parametrize("amount", ["abc", "-5", "0", "1.234", "99999999", ""])
def test_a_bad_amount_is_refused_with_a_message_and_writes_nothing(login, hl, amount):
    before, count = balance(hl), rows(hl)
    resp = login("supervisor1").post(f"/cards/{LI}/topup", {"amount": amount, "reason": "cash"})
    assert resp.status_code == 400
    assert "amount" in text(resp) or "金额" in text(resp)
    assert (balance(hl), rows(hl)) == (before, count)


def test_a_top_up_without_a_reason_is_refused(login, hl):
    resp = login("supervisor1").post(f"/cards/{LI}/topup", {"amount": "10", "reason": " "})
    assert resp.status_code == 400 and "需要填写原因" in text(resp)


def test_a_double_submitted_spend_pays_once(login, hl):
    agent = login("agent1")
    before = balance(hl)
    for _ in range(2):
        assert agent.post(f"/cards/{LI}/spend", {"amount": "20", "key": "form-abc"}).status_code == 302
    assert balance(hl) == before - 2000


def test_a_frozen_card_says_so_when_asked_to_pay(login, hl):
    with hl.session() as s, s.begin():
        cards.freeze(s, cards.get(s, LI), SYSTEM, reason="reported lost")
    resp = login("agent1").post(f"/cards/{LI}/spend", {"amount": "20", "key": "form-frozen"})
    assert resp.status_code == 400 and f"会员卡 {LI} 已冻结" in text(resp)


def test_refusals_are_in_english_in_the_english_view(login, hl):
    agent = login("agent1")
    agent.post("/language", {"lang": "en"})
    resp = agent.post(f"/cards/{LI}/spend", {"amount": "40000", "key": "form-en"})
    assert resp.status_code == 400 and f"has {balance(hl) / 100:.2f} yuan" in text(resp)


def test_a_spend_beyond_the_balance_names_the_balance(login, hl):
    resp = login("agent1").post(f"/cards/{LI}/spend", {"amount": "40000", "key": "form-big"})
    assert resp.status_code == 400 and f"余额 {balance(hl) / 100:.2f} 元，不足以扣除 40000.00 元" in text(resp)


def test_the_ledger_csv_is_utf8_with_a_bom_and_one_line_per_row(login, hl):
    resp = login("agent1").get(f"/cards/{LI}/ledger.csv?from=2026-01-01&to=2026-12-31")
    assert resp.status_code == 200 and resp.data.startswith(codecs.BOM_UTF8)
    lines = list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))
    assert lines[0][0] == "时间" and len(lines) == 1 + rows(hl)
    assert [line[1] for line in lines[1:]] == ["充值", "消费"]


def test_the_ledger_in_excel_has_the_amounts_as_numbers(login, hl):
    resp = login("agent1").get(f"/cards/{LI}/ledger.xlsx?from=2026-01-01&to=2026-12-31")
    sheet = load_workbook(io.BytesIO(resp.data)).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 1 + rows(hl)
    assert values[1][2] == 500 and isinstance(values[2][2], (int, float)) and values[2][2] < 0


def test_a_statement_range_with_the_end_before_the_start_is_refused(login):
    resp = login("agent1").get(f"/cards/{LI}?from=2026-12-01&to=2026-11-01")
    assert resp.status_code == 400 and "早于开始日期" in text(resp)


def test_the_monthly_summary_lists_each_member_and_the_total(login, hl):
    page = text(login("supervisor1").get("/cards/summary?from=2026-10-01&to=2026-11-30"))
    assert "880000000001" in page and LI in page
    rows_, total = None, None
    with hl.session() as s:
        rows_, total = cards.monthly_summary(s, *cards.period(hl.tz, "2026-10-01", "2026-11-30")[:2])
    assert {r.number for r in rows_} == {"880000000001", LI}
    assert f'id="summary-total">{total / 100:.2f}' in page.replace("\n", "")


def test_completing_in_the_portal_with_pay_by_card_pays_in_the_same_move(login, hl):
    number = make_order(hl, "in_service")       # 王女士, VIP card 880000000001
    before = balance(hl, "880000000001")
    resp = login("franchisee1").post(f"/orders/{number}/act", {"action": "complete", "final_price": "100",
                                                               "pay_by_card": "1"})
    assert resp.status_code == 302
    assert balance(hl, "880000000001") == before - 9000          # VIP: 10% off
    with hl.session() as s:
        order = orders.get(s, number)
        assert order.status == "completed" and cards.paid_by_card(s, order) == 9000
        sms = s.scalar(select(SmsMessage).where(SmsMessage.kind == "card_spend", SmsMessage.order_id == order.id))
        assert "消费¥90.00" in sms.body and f"余额¥{(before - 9000) / 100:.2f}" in sms.body


def test_a_refused_card_payment_leaves_the_order_in_service_to_be_paid_another_way(login, hl):
    number = make_order(hl, "in_service")
    with hl.session() as s, s.begin():
        cards.freeze(s, cards.get(s, "880000000001"), SYSTEM, reason="dispute")
    resp = login("franchisee1").post(f"/orders/{number}/act", {"action": "complete", "final_price": "100",
                                                               "pay_by_card": "1"})
    assert resp.status_code == 400 and "已冻结" in text(resp)
    with hl.session() as s:
        assert orders.get(s, number).status == "in_service"
    resp = login("franchisee1").post(f"/orders/{number}/act", {"action": "complete", "final_price": "100"})
    assert resp.status_code == 302


def test_the_screen_pop_shows_the_card_number_and_its_balance(hl):
    from tickets.calls import customer_card
    with hl.session() as s:
        card = customer_card(s, "+8613900139000")
        assert (card["card_number"], card["balance_fen"]) == (LI, cards.get(s, LI).balance_fen)
        assert card["queue_priority"] == hl.settings.card_levels["senior"].queue_priority


def test_opening_a_card_for_a_new_phone_creates_the_customer(login, hl):
    resp = login("agent1").post("/cards/open", {"phone": "13500135000", "name": "周先生", "level": "vip"})
    assert resp.status_code == 302
    number = resp.headers["Location"].rsplit("/", 1)[1]
    with hl.session() as s:
        card = cards.get(s, number)
        assert (card.customer.name, card.customer.member_level, card.balance_fen) == ("周先生", "vip", 0)
