"""Member cards in the console: find and open cards, the card page (ledger, top-up, spend,
refund, credit, reversal, freeze, replace, close, level), statements (printable, CSV, Excel) and
the monthly summary. Every rule is tickets.cards; each view reads its form and calls one function.
Who may do what is policy.AREAS ("cards.read", "cards.manage", "cards.money", "cards.pay").
"""
from __future__ import annotations

import csv
import io
import secrets
from decimal import Decimal
from typing import Callable

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from openpyxl import Workbook

from tickets import cards, customers, orders
from tickets.errors import HotlineError, NotFound, ValidationError
from tickets.models import CardLedgerEntry, WorkOrder
from tickets.pricing import yuan
from tickets.search import visible_order
from tickets.timeutil import to_local

from .app import db, hotline
from .forms import CardActionForm, CardMoneyForm, OpenCardForm
from .i18n import STRINGS, label, t
from .pages import safe_path, show_error
from .policy import AREAS
from .security import role_required

bp = Blueprint("cards", __name__, url_prefix="/cards")

# key -> (中文, English); added to the console's table when the blueprint is registered.
CARD_STRINGS: dict[str, tuple[str, str]] = {
    "nav.cards": ("会员卡", "Member cards"),
    "cards.title": ("会员卡", "Member cards"),
    "cards.search": ("卡号或姓名", "Card number or name"),
    "cards.find": ("查找", "Find"),
    "cards.open": ("开卡", "Open a card"),
    "cards.phone": ("客户电话", "Customer phone"),
    "cards.name": ("姓名（新客户）", "Name (new customer)"),
    "cards.level": ("会员等级", "Member level"),
    "cards.number": ("卡号", "Card number"),
    "cards.holder": ("持卡人", "Card holder"),
    "cards.status": ("状态", "Status"),
    "cards.balance": ("余额", "Balance"),
    "cards.benefits": ("折扣 {discount}% · 排队优先级 {priority}", "{discount}% off · queue priority {priority}"),
    "cards.none": ("没有会员卡。", "No cards."),
    "cards.ledger": ("流水", "Ledger"),
    "cards.spends": ("消费明细", "Spend detail"),
    "cards.when": ("时间", "When"),
    "cards.kind": ("类型", "Kind"),
    "cards.amount": ("金额（元）", "Amount (yuan)"),
    "cards.balance_after": ("余额（元）", "Balance (yuan)"),
    "cards.order": ("工单", "Order"),
    "cards.reason": ("原因", "Reason"),
    "cards.who": ("经办人", "By"),
    "cards.from": ("从", "From"),
    "cards.to": ("到", "To"),
    "cards.show": ("显示", "Show"),
    "cards.print": ("打印", "Print"),
    "cards.csv": ("导出 CSV", "CSV"),
    "cards.xlsx": ("导出 Excel", "Excel"),
    "cards.topup": ("充值", "Top up"),
    "cards.spend": ("消费", "Spend"),
    "cards.refund": ("退款", "Refund"),
    "cards.credit": ("补偿入账", "Credit"),
    "cards.reverse": ("冲正", "Reverse"),
    "cards.freeze": ("冻结", "Freeze"),
    "cards.unfreeze": ("解冻", "Unfreeze"),
    "cards.replace": ("补卡", "Replace card"),
    "cards.close": ("退卡", "Close and refund"),
    "cards.set_level": ("修改等级", "Change level"),
    "cards.order_optional": ("工单号（可选）", "Order number (optional)"),
    "cards.done": ("已完成：{what}，卡 {number}，余额 {balance} 元。", "Done: {what}, card {number}, balance {balance} yuan."),
    "cards.summary": ("月度汇总", "Monthly summary"),
    "cards.count": ("消费笔数", "Spends"),
    "cards.total": ("合计", "Total"),
    "cards.statement": ("会员卡对账单", "Card statement"),
    "cards.pay": ("会员卡支付", "Pay by card"),
    "cards.paid": ("工单 {order} 已用会员卡支付 {amount} 元，余额 {balance} 元。",
                   "Order {order} paid {amount} yuan by card; {balance} yuan left."),
    "kind.topup": ("充值", "top-up"),
    "kind.spend": ("消费", "spend"),
    "kind.refund": ("退款", "refund"),
    "kind.adjustment": ("调整", "adjustment"),
    "kind.reversal": ("冲正", "reversal"),
    "card_status.active": ("正常", "active"),
    "card_status.frozen": ("已冻结", "frozen"),
    "card_status.closed": ("已退卡", "closed"),
    "ws.member_card": ("会员卡", "Member card"),
    "area.cards.read": ("会员卡：查看、对账单、月度汇总", "Member cards: read, statements, monthly summary"),
    "area.cards.manage": ("会员卡：开卡、改等级、冻结、补卡、消费", "Member cards: open, level, freeze, replace, spend"),
    "area.cards.money": ("会员卡：充值、退款、补偿、冲正、解冻、退卡", "Member cards: top-up, refund, credit, reversal, unfreeze, close"),
    "area.cards.pay": ("工单用会员卡支付", "Pay an order by card"),
    # Chinese words of tickets/cards.py's refusals (refusals.py); the English view shows tickets' own.
    "refusal.card_frozen": ("会员卡 {a} 已冻结，暂不能消费或充值；请主管解冻后再试。", "Card {a} is frozen."),
    "refusal.card_closed": ("会员卡 {a} 已退卡，不能再使用；请为客户重新开卡。", "Card {a} is closed."),
    "refusal.card_insufficient": ("会员卡 {a} 余额 {b} 元，不足支付 {c} 元：请先充值，或用其他方式付款。",
                                  "Card {a} has {b} yuan; {c} yuan cannot be taken from it."),
    "refusal.card_none": ("工单 {a} 的客户没有会员卡，请用其他方式收款。", "The customer of order {a} has no card."),
    "refusal.card_paid": ("工单 {a} 已用会员卡 {b} 支付过。", "Order {a} is already paid by card {b}."),
    "refusal.card_reason": ("请填写原因（如：服务大厅现金充值，收据 0123）。", "Give a reason."),
    "refusal.card_too_much": ("金额 {a} 元超过单笔上限 {b} 元，请核对金额或分笔办理。",
                              "{a} yuan is more than the {b} yuan allowed at once."),
}


@bp.record_once
def _setup(state) -> None:
    for key, pair in CARD_STRINGS.items():
        STRINGS.setdefault(key, pair)


def _key() -> str:
    """A fresh idempotency key for one drawn form: submitting it twice pays once."""
    return secrets.token_hex(16)


# ---------------------------------------------------------------- pages

@bp.get("/")
@role_required(AREAS["cards.read"])
def index():
    query = request.args.get("q", "")
    return render_template("cards/index.html", cards=cards.cards(db(), query), query=query,
                           levels=hotline().settings.card_levels)


@bp.get("/<number>")
@role_required(AREAS["cards.read"])
def detail(number: str):
    return _render_detail(number)


def _render_detail(number: str, code: int = 200, spends_only: bool = False):
    s = db()
    hl = hotline()
    try:
        card = cards.get(s, number)
    except NotFound:
        abort(404)
    try:
        start, end, first, last = cards.period(hl.tz, request.args.get("from", ""), request.args.get("to", ""),
                                               today=to_local(hl.now(), hl.tz).date())
    except ValidationError as exc:
        code = show_error(exc)
        start = end = first = last = None
    rows = (cards.spend_detail if spends_only else cards.ledger)(s, card, start, end)
    reversed_ids = {e.reverses_id for e in cards.ledger(s, card, kinds=("reversal",))}
    rules = cards.level_rules(hl.settings, card.customer.member_level)
    return render_template("cards/detail.html", card=card, rows=rows, first=first, last=last, rules=rules,
                           levels=hl.settings.card_levels, reversed_ids=reversed_ids, spends_only=spends_only,
                           key=_key(), may_money=g.user.role in AREAS["cards.money"],
                           may_manage=g.user.role in AREAS["cards.manage"]), code


@bp.get("/<number>/spends")
@role_required(AREAS["cards.read"])
def spends(number: str):
    return _render_detail(number, spends_only=True)


# ---------------------------------------------------------------- changes

def _change(number: str, form_class, apply: Callable, what: str):
    """Read the form, apply it to the card in one transaction, then back to the card page."""
    s = db()
    try:
        form = form_class().checked()
        with s.begin():
            card = cards.get(s, number)
            apply(s, card, form)
            number, balance = card.number, card.balance_fen
    except NotFound:
        abort(404)
    except HotlineError as exc:
        return _render_detail(number, show_error(exc))
    flash(t("cards.done", what=t(what), number=number, balance=yuan(balance)), "success")
    return redirect(url_for("cards.detail", number=number))


def _order_of(s, form) -> WorkOrder | None:
    if not form.order.data:
        return None
    try:
        return orders.get(s, form.order.data)
    except NotFound:
        raise ValidationError("there is no order {value!r}; check the number, or leave it empty", value=form.order.data[:24]) from None


@bp.post("/open")
@role_required(AREAS["cards.manage"])
def open_card():
    s = db()
    try:
        form = OpenCardForm().checked()
        with s.begin():
            customer = customers.get_or_create(s, form.phone.data, form.name.data)
            s.flush()
            number = cards.open_card(s, customer, g.actor, level=form.level.data or None).number
    except HotlineError as exc:
        show_error(exc)
        return render_template("cards/index.html", cards=cards.cards(s), query="",
                               levels=hotline().settings.card_levels, typed=request.form), 400
    flash(t("cards.done", what=t("cards.open"), number=number, balance=yuan(0)), "success")
    return redirect(url_for("cards.detail", number=number))


@bp.post("/<number>/topup")
@role_required(AREAS["cards.money"])
def top_up(number: str):
    return _change(number, CardMoneyForm, lambda s, c, f: cards.top_up(
        s, c, f.amount.data, g.actor, reason=f.reason.data, key=f.key.data or None), "cards.topup")


@bp.post("/<number>/spend")
@role_required(AREAS["cards.manage"])
def spend(number: str):
    return _change(number, CardMoneyForm, lambda s, c, f: cards.spend(
        s, c, f.amount.data, g.actor, key=f.key.data, order=_order_of(s, f), reason=f.reason.data), "cards.spend")


@bp.post("/<number>/refund")
@role_required(AREAS["cards.money"])
def refund(number: str):
    return _change(number, CardMoneyForm, lambda s, c, f: cards.refund(
        s, c, f.amount.data, g.actor, reason=f.reason.data, key=f.key.data or None), "cards.refund")


@bp.post("/<number>/credit")
@role_required(AREAS["cards.money"])
def credit(number: str):
    return _change(number, CardMoneyForm, lambda s, c, f: cards.credit(
        s, c, f.amount.data, g.actor, reason=f.reason.data, order=_order_of(s, f), key=f.key.data or None),
        "cards.credit")


def _entry(s, card, form):
    entry = s.get(CardLedgerEntry, form.entry.data) if form.entry.data else None
    if entry is None or entry.card_id != card.id:
        raise ValidationError("choose a row of this card's ledger to reverse")
    return entry


@bp.post("/<number>/reverse")
@role_required(AREAS["cards.money"])
def reverse(number: str):
    return _change(number, CardActionForm, lambda s, c, f: cards.reverse(
        s, _entry(s, c, f), g.actor, reason=f.reason.data), "cards.reverse")


@bp.post("/<number>/freeze")
@role_required(AREAS["cards.manage"])
def freeze(number: str):
    return _change(number, CardActionForm, lambda s, c, f: cards.freeze(s, c, g.actor, reason=f.reason.data),
                   "cards.freeze")


@bp.post("/<number>/unfreeze")
@role_required(AREAS["cards.money"])
def unfreeze(number: str):
    return _change(number, CardActionForm, lambda s, c, f: cards.unfreeze(s, c, g.actor, reason=f.reason.data),
                   "cards.unfreeze")


@bp.post("/<number>/replace")
@role_required(AREAS["cards.manage"])
def replace(number: str):
    return _change(number, CardActionForm, lambda s, c, f: cards.replace(s, c, g.actor, reason=f.reason.data),
                   "cards.replace")


@bp.post("/<number>/close")
@role_required(AREAS["cards.money"])
def close(number: str):
    return _change(number, CardActionForm, lambda s, c, f: cards.close(
        s, c, g.actor, reason=f.reason.data, key=f.key.data or None), "cards.close")


@bp.post("/<number>/level")
@role_required(AREAS["cards.manage"])
def set_level(number: str):
    return _change(number, CardActionForm, lambda s, c, f: cards.set_level(s, c, f.level.data, g.actor),
                   "cards.set_level")


@bp.post("/pay/<order_number>")
@role_required(AREAS["cards.pay"])
def pay_order(order_number: str):
    """Pay a completed order from its customer's card (order page, franchisee portal)."""
    s = db()
    back = safe_path(request.form.get("back")) or url_for("orders.detail", number=order_number)
    try:
        form = CardActionForm().checked()
        with s.begin():
            order = visible_order(s, order_number, g.actor)
            entry = cards.pay_order(s, order, g.actor, key=form.key.data)
            paid, balance = -entry.amount_fen, entry.balance_after_fen
    except NotFound:
        abort(404)
    except HotlineError as exc:
        show_error(exc)
        return redirect(back)
    flash(t("cards.paid", order=order_number, amount=yuan(paid), balance=yuan(balance)), "success")
    return redirect(back)


# ---------------------------------------------------------------- statements

def _statement(number: str):
    s = db()
    hl = hotline()
    try:
        card = cards.get(s, number)
        start, end, first, last = cards.period(hl.tz, request.args.get("from", ""), request.args.get("to", ""),
                                               today=to_local(hl.now(), hl.tz).date())
    except NotFound:
        abort(404)
    except ValidationError as exc:
        return None, _render_detail(number, show_error(exc))
    spends_only = request.args.get("only") == "spends"
    rows = (cards.spend_detail if spends_only else cards.ledger)(s, card, start, end)
    header = [t("cards.when"), t("cards.kind"), t("cards.amount"), t("cards.balance_after"), t("cards.order"),
              t("cards.reason"), t("cards.who")]
    body = [[to_local(e.created_at, hl.tz).strftime("%Y-%m-%d %H:%M"), label("kind", e.kind), _money(e.amount_fen),
             _money(e.balance_after_fen), e.order.number if e.order else "", e.reason, e.actor_label] for e in rows]
    name = f"card-{card.number}-{first:%Y%m%d}-{last:%Y%m%d}"
    return (card, first, last, rows, header, body, name), None


@bp.get("/<number>/print")
@role_required(AREAS["cards.read"])
def print_statement(number: str):
    data, refused = _statement(number)
    if refused:
        return refused
    card, first, last, rows, header, body, _ = data
    return render_template("cards/statement.html", card=card, first=first, last=last, header=header, body=body)


@bp.get("/<number>/ledger.csv", defaults={"fmt": "csv"})
@bp.get("/<number>/ledger.xlsx", defaults={"fmt": "xlsx"})
@role_required(AREAS["cards.read"])
def export_ledger(number: str, fmt: str):
    data, refused = _statement(number)
    if refused:
        return refused
    *_, header, body, name = data
    return _export(fmt, header, body, name)


def _summary_data():
    hl = hotline()
    start, end, first, last = cards.period(hl.tz, request.args.get("from", ""), request.args.get("to", ""),
                                           today=to_local(hl.now(), hl.tz).date())
    rows, total = cards.monthly_summary(db(), start, end)
    return rows, total, first, last


@bp.get("/summary")
@role_required(AREAS["cards.read"])
def summary():
    try:
        rows, total, first, last = _summary_data()
    except ValidationError as exc:
        code = show_error(exc)
        return render_template("cards/summary.html", rows=[], total=0, first=None, last=None), code
    return render_template("cards/summary.html", rows=rows, total=total, first=first, last=last)


@bp.get("/summary.csv", defaults={"fmt": "csv"})
@bp.get("/summary.xlsx", defaults={"fmt": "xlsx"})
@role_required(AREAS["cards.read"])
def export_summary(fmt: str):
    try:
        rows, total, first, last = _summary_data()
    except ValidationError as exc:
        show_error(exc)
        return redirect(url_for("cards.summary"))
    header = [t("cards.number"), t("cards.holder"), t("cards.count"), t("cards.amount")]
    body = [[r.number, r.name, r.spends, _money(r.amount_fen)] for r in rows]
    body.append([t("cards.total"), "", sum(r.spends for r in rows), _money(total)])
    return _export(fmt, header, body, f"card-summary-{first:%Y%m%d}-{last:%Y%m%d}")


def _money(fen: int) -> Decimal:
    """Yuan as an exact decimal: "120.50" in a CSV, a number (not text) in an Excel cell."""
    return Decimal(yuan(fen))


def _export(fmt: str, header: list, body: list[list], name: str) -> Response:
    """The table as CSV (UTF-8 with a BOM, so Excel reads the Chinese) or as an Excel workbook."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(body)
        return Response(out.getvalue().encode("utf-8-sig"), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    if fmt == "xlsx":
        book = Workbook()
        sheet = book.active
        sheet.append(header)
        for row in body:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return Response(out.getvalue(),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})
    abort(404)
