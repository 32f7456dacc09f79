"""The call reports of 统计报表 (call volume, service level, agents, menu) on the report framework
(tickets/reports.py): their figures come from tickets.metrics, which reads the roll-ups."""
from __future__ import annotations

from typing import Any, Callable, Iterator

from sqlalchemy.orm import Session

from . import metrics as m
from .reports import Chart, Column, Query, Report, register

CALL_READERS = frozenset({"supervisor", "admin", "agent"})     # an agent: their own figures only
PERIOD = Column("period", "时段", "Period", "text")
INTERVALS = ("15min", "hour", "day", "week", "month", "dow", "hod")
CALL_FILTERS = ("transport", "queue", "agent", "branch")
PCT = frozenset({"containment", "abandon_rate", "service_level", "share", "occupancy"})


def _scope(query: Query) -> m.Scope:
    return m.Scope(agent_id=query.scope.user_id) if query.scope.user_id is not None else m.EVERYTHING


def _filters(query: Query) -> dict[str, Any]:
    return {("agent_id" if k == "agent" else k): v for k, v in query.filters.items()}


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    """Percentages as the ratios the framework's `pct` columns take."""
    return {k: (v / 100 if k in PCT and v is not None else v) for k, v in row.items()}


def _per_period(figures: Callable, columns: tuple[Column, ...]) -> Callable[[Session, Query], Iterator[dict]]:
    """A rows function: one row per bucket of the range, zeros where nothing happened."""
    def rows(session: Session, query: Query) -> Iterator[dict[str, Any]]:
        got = {r["period"]: r for r in figures(session, query.start, query.end, query.interval, _filters(query),
                                                _scope(query))}
        for label in query.buckets():
            row = got.get(label)
            yield _shown(row) if row else {c.key: (label if c.key == "period" else 0 if c.kind == "int" else None)
                                           for c in columns}
    return rows


def _agents(session: Session, query: Query) -> Iterator[dict[str, Any]]:
    return (_shown(r) for r in m.agent_figures(session, query.start, query.end, _filters(query), _scope(query)))


def _menu(session: Session, query: Query) -> Iterator[dict[str, Any]]:
    for r in m.menu_outcomes(session, query.start, query.end, _filters(query), _scope(query)):
        yield _shown({**r, "route": " · ".join(x for x in (r["branch"] or "-", r["outcome"], r["hangup_node"]) if x)})


VOLUME_COLUMNS = (
    PERIOD, Column("calls", "来电", "Calls"), Column("self_served", "自助完成", "Self-served"),
    Column("containment", "自助率", "IVR containment", "pct"), Column("menu_abandoned", "菜单中挂机", "Hung up in menu"),
    Column("failed", "菜单故障", "Menu failed"), Column("offered", "进入队列", "Offered to agents"),
    Column("answered", "接听", "Answered"), Column("abandoned", "放弃", "Abandoned"),
    Column("short_abandoned", "短时放弃", "Short abandons"), Column("timeouts", "超时/无坐席", "Timed out"),
    Column("abandon_rate", "放弃率", "Abandon rate", "pct"), Column("callbacks", "回电请求", "Callback requests"),
    Column("called_back", "已回电", "Called back"))
SERVICE_COLUMNS = (
    PERIOD, Column("offered", "进入队列", "Offered"), Column("answered", "接听", "Answered"),
    Column("answered_in_sl", "及时接听", "Answered within SL"), Column("abandoned", "放弃", "Abandoned"),
    Column("short_abandoned", "短时放弃", "Short abandons"), Column("timeouts", "超时/无坐席", "Timed out"),
    Column("service_level", "服务水平", "Service level", "pct"), Column("asa", "平均应答时间", "ASA", "seconds"),
    Column("avg_wait", "平均等待", "Average wait", "seconds"),
    Column("longest_wait", "最长等待", "Longest wait", "seconds"), Column("aht", "平均处理时长", "AHT", "seconds"))
AGENT_COLUMNS = (
    Column("agent", "坐席", "Agent", "text"), Column("calls_taken", "接听", "Calls taken"),
    Column("talk_seconds", "通话时长", "Talk time", "seconds"), Column("wrap_seconds", "话后处理", "Wrap-up", "seconds"),
    Column("aht", "平均处理时长", "AHT", "seconds"), Column("refusals", "未接(振铃无应答)", "Refusals (no answer)"),
    Column("login_seconds", "签入时长", "Logged in", "seconds"), Column("pause_seconds", "暂停时长", "Paused", "seconds"),
    Column("occupancy", "占用率", "Occupancy", "pct"))
MENU_COLUMNS = (
    Column("route", "分支 · 结果 · 挂机节点", "Branch · outcome · hang-up node", "text"),
    Column("branch", "菜单分支", "Branch", "text"), Column("outcome", "结果", "Outcome", "text"),
    Column("hangup_node", "挂机节点", "Hung up at", "text"), Column("calls", "来电", "Calls"),
    Column("share", "占分支比例", "Share of branch", "pct"))

DEFINITIONS = ("定义见 docs/metrics.md。", "Definitions: docs/metrics.md.")

register(Report(
    name="calls", title=("话务量统计", "Call volume"), roles=CALL_READERS,
    description=("来电、语音自助、进入坐席队列、接听、放弃与回电。" + DEFINITIONS[0],
                 "Calls, self-service, queue entries offered, answered and abandoned, callbacks. " + DEFINITIONS[1]),
    columns=VOLUME_COLUMNS, rows=_per_period(m.call_volume, VOLUME_COLUMNS),
    chart=Chart("bar", x="period", series=("answered", "abandoned", "self_served"), stack=True),
    filters=CALL_FILTERS, intervals=INTERVALS, default_interval="day",
))

register(Report(
    name="service", title=("服务水平", "Service level"), roles=CALL_READERS,
    description=("服务水平、平均应答时间、等待与处理时长（阈值见 SERVICE_LEVEL_SECONDS）。" + DEFINITIONS[0],
                 "Service level, ASA, waits and handling time (threshold: SERVICE_LEVEL_SECONDS). " + DEFINITIONS[1]),
    columns=SERVICE_COLUMNS, rows=_per_period(m.service_level, SERVICE_COLUMNS),
    chart=Chart("line", x="period", series=("service_level",)),
    filters=CALL_FILTERS, intervals=INTERVALS, default_interval="day",
))

register(Report(
    name="agents", title=("坐席统计", "Agents"), roles=CALL_READERS,
    description=("每位坐席的接听、通话、话后处理、暂停、占用率和未接。" + DEFINITIONS[0],
                 "Each agent's calls, talk, wrap-up, pause, occupancy and refusals. " + DEFINITIONS[1]),
    columns=AGENT_COLUMNS, rows=_agents,
    chart=Chart("bar", x="agent", series=("calls_taken", "refusals")),
    filters=("transport", "queue", "agent"), intervals=("day",),
))

register(Report(
    name="menu", title=("语音菜单统计", "Voice menu"), roles=frozenset({"supervisor", "admin"}),
    description=("来电者在语音菜单中的选择、结果和挂机位置。" + DEFINITIONS[0],
                 "What callers chose in the voice menu, how those calls ended and where callers hung up. "
                 + DEFINITIONS[1]),
    columns=MENU_COLUMNS, rows=_menu,
    chart=Chart("bar", x="route", series=("calls",)),
    filters=("transport", "branch"), intervals=("day",),
))
