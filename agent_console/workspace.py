"""The agent workspace: presence, the live screen-pop stream, the caller's card, and wrap-up.

An agent keeps this page open all shift. It shows their presence (available/busy/away, which
routes calls to them, or on a call / wrapping up while a softphone call sets it) and their
extension or Twilio client name, listens on the event stream
(Server-Sent Events, see agent_console.stream) and, when a call is offered to them, fetches the
caller's card (`/workspace/offers/<event id>`) and shows it with a work-order form prefilled
from the card and the IVR. After the call the agent saves a disposition and notes on the call
record (wrap-up).
"""
from __future__ import annotations

import logging

from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)

from ivr import hours
from tickets import agents, holidays
from tickets.errors import HotlineError
from tickets.models import Call
from tickets.phones import ANONYMOUS
from tickets.timeutil import to_local

from . import refusals
from .app import db, hotline
from .i18n import STRINGS, t
from .pages import has_endpoint, show_error, status_of, wants_json
from .security import current_actor, current_user, role_required
from .stream import StreamHub, latest_event_id

log = logging.getLogger(__name__)
bp = Blueprint("workspace", __name__, url_prefix="/workspace")

HUB = "hotline.streams"

# key -> (中文, English); added to the console's table when the blueprint is registered.
WORKSPACE_STRINGS: dict[str, tuple[str, str]] = {
    "ws.title": ("坐席工作台", "Agent workspace"),
    "ws.presence": ("状态", "Presence"),
    "ws.presence.available": ("空闲（接听来电）", "Available (take calls)"),
    "ws.presence.busy": ("忙碌", "Busy"),
    "ws.presence.away": ("离开", "Away"),
    "ws.presence.now": ("当前状态：{state}", "Now: {state}"),
    "ws.presence.saved": ("状态已更新：{state}", "Presence set: {state}"),
    "ws.extension": ("分机 / Twilio 客户端名", "Extension / Twilio client"),
    "ws.extension.hint": ("如 PJSIP/agent1；您的 Twilio 客户端名是 {client}", "e.g. PJSIP/agent1; your Twilio client is {client}"),
    "ws.stream.connecting": ("正在连接…", "Connecting…"),
    "ws.stream.live": ("来电提醒已连接", "Live: calls will pop here"),
    "ws.stream.reconnecting": ("连接中断，正在重连…", "Connection lost, reconnecting…"),
    "ws.stream.closed": ("来电提醒已断开，请刷新页面或重新登录。", "Call pops stopped: reload the page or log in again."),
    "ws.waiting": ("等待来电。将状态设为“空闲”即可接听。", "Waiting for calls. Set yourself available to take them."),
    "ws.incoming": ("来电", "Incoming call"),
    "ws.incoming.keep": ("上一通电话的话后处理尚未保存，已为您保留。", "Your unsaved wrap-up of the last call is kept."),
    "ws.card": ("来电客户", "Caller"),
    "ws.caller": ("来电号码", "Caller number"),
    "ws.anonymous": ("匿名来电（号码未显示）：请询问客户的联系电话。",
                     "Anonymous caller (number withheld): ask the caller for a contact number."),
    "ws.new_caller": ("新客户：此号码没有记录。", "New caller: this number is not on file."),
    "ws.name": ("姓名", "Name"),
    "ws.level": ("会员等级", "Member level"),
    "ws.balance": ("卡余额", "Card balance"),
    "ws.language": ("语言", "Language"),
    "ws.addresses": ("地址", "Addresses"),
    "ws.default_address": ("默认", "default"),
    "ws.open_orders": ("进行中的工单", "Open orders"),
    "ws.recent_orders": ("最近的工单", "Recent orders"),
    "ws.complaints": ("未结投诉", "Open complaints"),
    "ws.complaint_due": ("处理期限 {due}", "due {due}"),
    "ws.last_survey": ("最近回访评分", "Last survey score"),
    "ws.ivr": ("语音导航", "In the voice menu"),
    "ws.ivr.path": ("路径", "Path"),
    "ws.ivr.order": ("涉及工单", "Order in hand"),
    "ws.ivr.lang": ("选择语言", "Language chosen"),
    "ws.order.number": ("工单号", "Order"),
    "ws.order.service": ("服务", "Service"),
    "ws.order.when": ("时间", "When"),
    "ws.order.status": ("状态", "Status"),
    "ws.order.franchisee": ("加盟商", "Franchisee"),
    "ws.new_order": ("新建工单（已预填）", "New order (prefilled)"),
    "ws.new_customer_order": ("新客户 + 新工单", "New customer + new order"),
    "ws.call.ringing": ("振铃中", "Ringing"),
    "ws.call.live": ("通话中", "On the call"),
    "ws.call.ended": ("通话已结束", "Call ended"),
    "ws.call.abandoned": ("客户已挂断", "Caller hung up"),
    "ws.call.missed": ("未接听：队列已将来电转给其他坐席。", "Not answered: the queue offered the call to another agent."),
    "ws.wrapup": ("话后处理", "Wrap-up"),
    "ws.disposition": ("通话结果", "Disposition"),
    "ws.disposition.choose": ("请选择", "Choose"),
    "ws.notes": ("通话备注", "Call notes"),
    "ws.wrapup.save": ("保存话后处理", "Save wrap-up"),
    "ws.wrapup.saved": ("话后处理已保存。", "Wrap-up saved."),
    "ws.recent": ("最近来电", "Recent calls"),
    "ws.recent.none": ("今天还没有来电。", "No calls yet."),
    "ws.recent.open": ("待处理", "to wrap up"),
    "ws.show": ("查看", "Show"),
    "ws.closed": ("现在是非服务时间（服务时间 {start}–{end}），来电按 0 会预约回电，不会弹屏。",
                  "Outside service hours now (service hours {start}–{end}): a caller who presses 0 is offered a "
                  "callback instead of the queue, so no call pops here."),
    "ws.holiday": ("今天是法定节假日（{name}），人工服务暂停：来电按 0 会预约回电，不会弹屏。",
                   "Today is a statutory holiday ({name}) and the agents are closed: a caller who presses 0 is "
                   "offered a callback instead of the queue, so no call pops here."),
    "ws.sim_hint": ("没有电话交换机时：将状态设为“空闲”，再运行 hotline simulate-call 13800138000 --keys \"0\"。",
                    "Without a PBX: set yourself available, then run hotline simulate-call 13800138000 --keys \"0\"."),
    **{f"disposition.{code}": names for code, names in agents.DISPOSITIONS.items()},
    **{f"presence.{p}": names for p, names in {"available": ("空闲", "available"), "busy": ("忙碌", "busy"),
                                              "away": ("离开", "away"), agents.ON_CALL: ("通话中", "on a call"),
                                              agents.WRAP_UP: ("话后处理中", "wrapping up")}.items()},
}


@bp.record_once
def _setup(state) -> None:
    for key, pair in WORKSPACE_STRINGS.items():
        STRINGS.setdefault(key, pair)
    hl = state.app.extensions["hotline"]
    state.app.extensions[HUB] = StreamHub(hl, slots=hl.settings.stream_slots,
                                          max_seconds=hl.settings.stream_max_seconds)


def hub() -> StreamHub:
    """This app's stream hub (slots, relay, stop signal)."""
    return current_app.extensions[HUB]


def _form():
    """The posted fields: a JSON object from the page's script, or the form without JavaScript."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else request.form


def order_prefill(pop: dict) -> dict[str, str]:
    """Query parameters for the work-order form, from the caller's card and what the IVR knows."""
    card, ivr = pop["card"], pop["ivr"]
    params: dict[str, str] = {"call_id": str(pop["call"]["id"])}
    if card["caller"] != ANONYMOUS:
        params["phone"] = card["caller_display"]
    if card.get("known"):
        if card.get("name"):
            params["name"] = card["name"]
        default = next((a for a in card["addresses"] if a["default"]), None) or \
            (card["addresses"][0] if card["addresses"] else None)
        if default:
            params["address"] = default["text"]
    if ivr.get("service"):
        params["service"] = str(ivr["service"])
    return params


def _render_pop(pop: dict) -> str:
    order_url = url_for("orders.new", **order_prefill(pop)) if has_endpoint("orders.new") else None
    return render_template("workspace_card.html", pop=pop, order_url=order_url,
                           dispositions=agents.DISPOSITIONS)


def closed_notice(session) -> str | None:
    """Why no call will pop now, or None while agents answer: outside BUSINESS_HOURS and on statutory
    holidays the voice menu offers a callback at key 0 instead of the queue (ivr.hours decides)."""
    status = hours.agents_status(session)
    if status == hours.OPEN:
        return None
    hl = hotline()
    if status == hours.HOLIDAY:
        today = to_local(hl.now(), hl.tz).date()
        return t("ws.holiday", name=holidays.calendar(session).holiday_name(today) or "")
    start, end = hl.settings.business_hours
    return t("ws.closed", start=start.strftime("%H:%M"), end=end.strftime("%H:%M"))


@bp.get("/")
@role_required(*agents.CALL_TAKING_ROLES)
def index():
    s = db()
    with s.begin():
        desk = agents.desk(s, current_user())
        pop_html = _render_pop(agents.screen_pop(s, current_user(), desk["current_event_id"])) \
            if desk["current_event_id"] else None
        closed = closed_notice(s)
    return render_template("workspace.html", desk=desk, pop_html=pop_html, presences=agents.PRESENCES,
                           call_presences=agents.CALL_PRESENCES, timezone=hotline().settings.timezone.key,
                           closed=closed)


@bp.post("/presence")
@role_required(*agents.CALL_TAKING_ROLES)
def presence():
    form = _form()
    s = db()
    try:
        with s.begin():
            user = agents.set_presence(s, current_user(), current_actor(), form.get("presence", ""),
                                       form.get("extension") if "extension" in form else None)
            out = {"presence": user.presence, "extension": user.extension}
    except HotlineError as exc:
        if wants_json():
            return jsonify(error=refusals.message(exc)), status_of(exc)
        show_error(exc)
        return redirect(url_for(".index"))
    if wants_json():
        return jsonify(out)
    return redirect(url_for(".index"))


@bp.get("/stream")
@role_required(*agents.CALL_TAKING_ROLES)
def stream():
    """Server-Sent Events for this agent: from Last-Event-ID (a reconnect) or ?after= (page load)."""
    raw = request.headers.get("Last-Event-ID") or request.args.get("after", "")
    # Neither: start from now (the page itself passes ?after=, so nothing since it loaded is lost).
    after = int(raw) if raw.isdigit() else latest_event_id(hotline(), current_user().id)
    # waitress tells a stream when its client has hung up (with channel_request_lookahead > 0).
    body = hub().stream(current_user().id, after, request.environ.get("waitress.client_disconnected"))
    return Response(body, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"})


@bp.get("/offers/<int:event_id>")
@role_required(*agents.CALL_TAKING_ROLES)
def offer(event_id: int):
    """The caller's card for one offer, as an HTML fragment the page drops into place."""
    s = db()
    with s.begin():
        return _render_pop(agents.screen_pop(s, current_user(), event_id))


@bp.post("/calls/<int:call_id>/wrap-up")
@role_required(*agents.CALL_TAKING_ROLES)
def wrap_up(call_id: int):
    form = _form()
    s = db()
    try:
        with s.begin():
            call = s.get(Call, call_id)
            if call is None:
                abort(404)
            agents.wrap_up(s, call, current_actor(), form.get("disposition", ""), form.get("notes", ""))
            out = {"call_id": call.id, "disposition": call.disposition}
    except HotlineError as exc:
        if wants_json():
            return jsonify(error=refusals.message(exc)), status_of(exc)
        show_error(exc)
        return redirect(url_for(".index"))
    if wants_json():
        return jsonify(out)
    flash(t("ws.wrapup.saved"), "info")
    return redirect(url_for(".index"))
