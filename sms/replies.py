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
    "unavailable": "系统繁忙，您的短信未能处理，请几分钟后重新发送",
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
    "survey_not_score": "请只回复一个数字1-5为订单{number}评分（5分最满意），可在数字后附意见，如：5 师傅很准时",
    "complaint_opened": "已受理您的投诉，编号{id}{order}，我们将在{due}前答复您。",
    "complaint_needs_text": "请写明投诉内容，如：投诉 2632700001 师傅迟到两小时",
    # Follow-through words (sms/notices.py): why a late order is urged, a worker not assigned yet.
    "late_not_accepted": "尚未接单",
    "late_not_started": "已过服务时间仍未开始",
    "late_not_completed": "已过预计完工时间仍未完工",
    "late_complaint": "已过答复期限仍未办结",
    "escalated_order": "工单{number}",
    "escalated_complaint": "投诉{id}",
    "worker_none": "待指派",
    # A complaint's compensation, after the decision in the complaint_answered notice (sms/notices.py).
    "compensation_refund": "，退款{amount}元",
    "compensation_card_credit": "，会员卡补偿{amount}元",
    "check_address": "，客服将致电确认地址",
    # One-time codes (sms/notices.send_code) and the lookup of another number's order by SMS.
    "code_sent": "如订单{number}存在，验证码已发至该订单的手机，5分钟内有效。请回复 CX {number} 验证码，或在网上查询页输入",
    "code_refused": "验证未通过：{why}",
    "code_too_many": "获取验证码太频繁，请稍后再试。",
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

# tickets.otp.Check reasons, in the SMS's words.
CODE_REFUSED = {"format": "验证码是6位数字", "none": "请先发 CX 订单号 获取验证码",
                "wrong": "验证码不对，还可试{tries}次", "expired": "验证码已过期（5分钟有效），请重新获取",
                "spent": "验证码已失效，请重新获取"}

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
