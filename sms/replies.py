"""Every text Hotline sends by SMS, as a table, and the helpers that fill it in.

Texts are short on purpose: a Chinese SMS is 70 characters a segment (67 when concatenated),
and `render` cuts anything past MAX_REPLY_SEGMENTS with an ellipsis. Values typed by a sender
are quoted at most QUOTE_MAX characters long.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tickets.models import WorkOrder
from tickets.orders import amount_due
from tickets.pricing import UNIT_NAMES, yuan
from tickets.timeutil import to_local

from .parse import Catalog, Request
from .segments import MAX_REPLY_SEGMENTS, fit

QUOTE_MAX = 20
WEEKDAYS_ZH = "一二三四五六日"
EXAMPLE = "BJ 明天上午3小时"

TEXTS = {
    "help": "家政热线：发 代码+时间 预约，如 " + EXAMPLE + "。代码：{codes}。查询CX 取消QX+单号 退订TD",
    "format": "没看懂您的短信。预约请发：代码 日期 时间，如 " + EXAMPLE + " 或 预约 保洁 周六9点。发HELP看全部代码",
    "problems": "{problems}。格式：代码 日期 时间，如 " + EXAMPLE,
    "missing_service": "{problems}。如 " + EXAMPLE + "。代码：{codes}",
    "need_address": "请加上服务地址，如：{code} 明天上午 天山区解放南路88号",
    "readback": "预约{service}{quantity}，{when}，约¥{price}{holiday}，地址：{address}{check}。回复Y确认，N取消",
    "booked": "预约成功！订单号{number}：{service} {when}{check}。查询回复CX {number}",
    "book_failed": "预约未成功：{why}。请重新发送，或致电热线",
    "duplicate": "您已预约{service} {when}，订单号{number}，未重复预约。如需再订一单请致电热线。查询回复CX {number}",
    "expired": "您的预约超过30分钟未确认，已失效。请重新发送，如 " + EXAMPLE,
    "nothing_pending": "没有待确认的预约。预约请发如 " + EXAMPLE,
    "declined_book": "好的，本次预约已取消。",
    "declined_cancel": "好的，订单{number}保留不变。",
    "already_booked": "已确认，订单号{number}。查询回复CX {number}",
    "already_cancelled": "订单{number}已取消。",
    "status": "订单{number}：{service}{quantity}，{when}，{status}{franchisee}，金额¥{amount}",
    "open_orders": "您有{count}个进行中的订单：{lines}。详情回复CX 订单号",
    "no_open_orders": "您没有进行中的订单。预约请发如 " + EXAMPLE,
    "not_found": "未找到订单{number}（只能查询本机号码的订单）",
    "cancel_readback": "取消订单{number}（{service} {when}）？{penalty}回复Y确认取消，N保留",
    "cancel_penalty": "不足72小时，需付违约金¥{amount}。",
    "cancel_free": "无违约金。",
    "cannot_cancel": "订单{number}{status}，不能短信取消，请致电热线",
    "cancel_which": "请发 QX 订单号，如 QX {first}。可取消：{lines}",
    "nothing_to_cancel": "您没有可取消的订单。",
    "cancelled": "订单{number}（{service}）已取消{penalty}。",
    "penalty_suffix": "，违约金¥{amount}（72小时内变更）",
    "optout": "已退订，您将不再收到本热线的通知短信，您发来的短信仍会回复。发送“订阅”或START恢复通知",
    "optin": "已恢复订阅。回复HELP查看服务代码",
    "optout_resume": "（您已退订通知，发送“订阅”恢复通知）",
    "flood": "短信太频繁，请1分钟后再发。",
    "thanks": "感谢您的评价（{score}分）！",
    "thanks_low": "已记录您的评价（{score}分），客服会尽快联系您。",
    "no_survey": "没有待评价的订单。预约请发如 " + EXAMPLE,
    "survey_failed": "评价未能记录，请致电热线。",
    "complaint_opened": "已受理您的投诉，编号{id}{order}，我们将在{due}前答复您。",
    "complaint_needs_text": "请写明投诉内容，如：投诉 2632700001 师傅迟到两小时",
    # Notices of order events (sms/notices.py).
    "notice_booked": "已受理预约，订单号{number}：{service} {when}{check}。查询回复CX {number}",
    "notice_dispatched": "订单{number}已派给{franchisee}，服务时间{when}。查询回复CX {number}",
    "notice_rescheduled": "订单{number}已改期至{when}{penalty}。",
    "notice_cancelled": "订单{number}（{service}）已取消{penalty}。",
    "notice_completed": "订单{number}已完工，请回复1-5为服务评分（5分最满意）。",
    "notice_unassigned": "订单{number}（{service} {when}）暂时没有服务商能接，客服会尽快与您联系另行安排。查询回复CX {number}",
    "check_address": "，客服将致电确认地址",
    # Notices of member card money (sms/notices.py on_card_entry): every spend, top-up and refund.
    "notice_card_spend": "您尾号{card_tail}的会员卡消费{amount}元{order}，余额{balance}元。",
    "notice_card_topup": "您尾号{card_tail}的会员卡充值{amount}元，余额{balance}元。",
    "notice_card_refund": "您尾号{card_tail}的会员卡退款{amount}元，余额{balance}元。",
    "card_order": "（订单{number}）",
    "too_far": "只能预约{days}天内的服务（{last}前），请改一个日期，如 " + EXAMPLE,
}

PROBLEMS = {
    "missing_service": "请写服务代码",
    "unknown_code": "没有服务代码“{text}”",
    "two_services": "一次只能约一项服务（{text}）",
    "missing_time": "请写日期和时间，如 明天上午、11月25日下午3点",
    "missing_time_of_day": "请写{text}几点，如 {text}上午、{text}14:30",
    "bad_date": "没有“{text}”这一天",
    "past_date": "“{text}”已过",
    "holiday_out_of_range": "“{text}”不在可预约的日期内，请写具体日期，如 1月1日上午",
    "past_time": "“{text}”已过，请写以后的时间",
    "bad_time": "时间“{text}”不对，如 9点半、14:30",
    "bad_quantity": "数量“{text}”不对，请写1-1000的整数",
    "unit_mismatch": "此项按{unit}计，“{text}”不对",
    "bad_number": "订单号是10位数字，如 CX 2632700001",
}

STATUS_ZH = {"new": "待确认", "confirmed": "待派工", "dispatched": "已派工", "accepted": "已接单",
             "in_service": "服务中", "completed": "已完工", "closed": "已结案", "cancelled": "已取消",
             "rework": "返工中"}


def render(key: str, **values) -> str:
    """TEXTS[key] filled in and cut to the segment limit."""
    return fit(TEXTS[key].format(**values), MAX_REPLY_SEGMENTS)


def quote(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= QUOTE_MAX else text[:QUOTE_MAX - 1] + "…"


def when_text(start_utc: datetime, tz: ZoneInfo, now_utc: datetime) -> str:
    """'11月24日(周二)09:00', with the year when it is not this year's."""
    local, today = to_local(start_utc, tz), to_local(now_utc, tz)
    year = f"{local.year}年" if local.year != today.year else ""
    return f"{year}{local.month}月{local.day}日(周{WEEKDAYS_ZH[local.weekday()]}){local.hour:02d}:{local.minute:02d}"


def quantity_text(quantity: int, unit: str) -> str:
    return f"{quantity}{UNIT_NAMES.get(unit, (unit,))[0]}"


def code_list(catalog: Catalog) -> str:
    return " ".join(f"{code}{name}" for code, name in catalog.short_names.items())


def problems_text(req: Request, catalog: Catalog) -> str:
    """What is wrong with a booking request, and the right format."""
    parts = []
    for p in req.problems:
        code = "missing_time_of_day" if p.code == "missing_time" and p.text else p.code
        unit = UNIT_NAMES.get(catalog.units.get(req.service or "", ""), ("",))[0]
        parts.append(PROBLEMS[code].format(text=quote(p.text), unit=unit))
    joined = "；".join(parts)
    if any(p.code in ("missing_service", "unknown_code") for p in req.problems):
        return render("missing_service", problems=joined, codes=code_list(catalog))
    return render("problems", problems=joined)


def penalty_suffix(penalty_fen: int | None) -> str:
    return TEXTS["penalty_suffix"].format(amount=yuan(penalty_fen)) if penalty_fen else ""


def order_line(order: WorkOrder, tz: ZoneInfo, now_utc: datetime) -> str:
    """One order in a list: number, service, time, status."""
    return (f"{order.number} {order.service.name_zh} {when_text(order.scheduled_start, tz, now_utc)} "
            f"{STATUS_ZH.get(order.status, order.status)}")


def status_text(order: WorkOrder, tz: ZoneInfo, now_utc: datetime) -> str:
    return render("status", number=order.number, service=order.service.name_zh,
                  quantity=quantity_text(order.quantity, order.service.unit),
                  when=when_text(order.scheduled_start, tz, now_utc),
                  status=STATUS_ZH.get(order.status, order.status),
                  franchisee=f"({order.franchisee.name})" if order.franchisee else "",
                  amount=yuan(amount_due(order)))
