"""The supervisor's wallboard: calls waiting now, agents by presence, today's calls, orders by status.

A first live version: the page refreshes its figures every few seconds (a fragment rendered by
the same template the page includes), and `/wallboard/data` gives the same figures as JSON. The numbers
come from tickets.stats, where what each one counts is defined.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from tickets import stats

from .app import db
from .i18n import STRINGS
from .security import role_required

bp = Blueprint("wallboard", __name__, url_prefix="/wallboard")

ROLES = ("supervisor", "admin")
REFRESH_SECONDS = 5

WALLBOARD_STRINGS: dict[str, tuple[str, str]] = {
    "wb.title": ("监控大屏", "Wallboard"),
    "wb.as_of": ("更新于 {time}，每 {n} 秒刷新", "As of {time}, refreshed every {n} s"),
    "wb.waiting": ("排队等待", "Waiting now"),
    "wb.longest": ("最长 {n} 秒", "longest {n} s"),
    "wb.offered": ("今日来电", "Calls today"),
    "wb.answered": ("坐席接听", "Answered by agents"),
    "wb.abandoned": ("放弃", "Abandoned"),
    "wb.self_served": ("语音自助完成", "Self-served (voice menu)"),
    "wb.menu_failed": ("语音菜单故障", "Voice menu failed"),
    "wb.agents": ("坐席状态", "Agents"),
    "wb.orders": ("工单状态", "Work orders by status"),
    "wb.status": ("状态", "Status"),
    "wb.count": ("数量", "Count"),
    "wb.nobody": ("无", "nobody"),
    "wb.service_level": ("服务水平", "Service level"),
    "wb.asa": ("平均应答时间", "ASA"),
    "wb.abandon_rate": ("放弃率", "Abandon rate"),
    "wb.today": ("今日", "Today"),
    "wb.last_hour": ("最近一小时", "Last hour"),
}


@bp.record_once
def _setup(_state) -> None:
    for key, pair in WALLBOARD_STRINGS.items():
        STRINGS.setdefault(key, pair)


def _figures() -> dict:
    s = db()
    with s.begin():
        return stats.wallboard(s)


@bp.get("/")
@role_required(*ROLES)
def index():
    return render_template("wallboard.html", board=_figures(), refresh=REFRESH_SECONDS)


@bp.get("/figures")
@role_required(*ROLES)
def figures():
    """The figures block alone, for the page's refresh."""
    return render_template("wallboard_figures.html", board=_figures(), refresh=REFRESH_SECONDS)


@bp.get("/data")
@role_required(*ROLES)
def data():
    return jsonify(_figures())
