"""The work-order, franchisee, satisfaction and complaint reports (definitions in order_metrics; the first
three read the roll-ups of order_rollups)."""
from __future__ import annotations

from . import order_metrics as m
from .reports import Chart, Column, Report, register

MANAGERS = frozenset({"supervisor", "admin", "district_manager"})
PERIOD = Column("period", "时段", "Period", "text")


def _lead_columns() -> tuple[Column, ...]:
    legs = {"book_dispatch": ("下单→派工", "Booked→dispatched"), "dispatch_accept": ("派工→接单", "Dispatched→accepted"),
            "accept_start": ("接单→开始", "Accepted→started"), "start_complete": ("开始→完工", "Started→completed"),
            "book_complete": ("下单→完工", "Booked→completed")}
    cols = []
    for leg, (zh, en) in legs.items():
        cols.append(Column(f"{leg}_median", f"{zh} 中位数", f"{en} median", "seconds"))
        cols.append(Column(f"{leg}_p90", f"{zh} P90", f"{en} p90", "seconds"))
    return tuple(cols)


ORDER_COLUMNS = (
    Column("booked", "下单", "Booked"), Column("dispatched", "已派工", "Dispatched"),
    Column("completed", "完工", "Completed"), Column("cancelled", "取消", "Cancelled"), Column("open", "未完", "Open"),
    Column("refusals", "拒单/超时", "Refused or expired"), Column("redispatches", "改派", "Redispatches"),
    Column("accept_on_time", "按时接单率", "Accepted on time", "pct"),
    Column("service_on_time", "按时上门率", "Started on time", "pct"),
    Column("penalty_fen", "违约金(元)", "Penalties (yuan)", "fen"),
    Column("revenue_fen", "营业额(元)", "Revenue (yuan)", "fen"),
) + _lead_columns()

SURVEY_COLUMNS = (
    Column("surveys", "回访数", "Surveys asked"), Column("answered", "已答", "Answered"),
    Column("response_rate", "回复率", "Response rate", "pct"),
    Column("average_x100", "平均分", "Average score", "score"),
) + tuple(Column(f"score_{n}", f"{n}分", f"{n} ★") for n in range(1, 6))

register(Report(
    name="orders", title=("工单统计", "Work orders"), roles=MANAGERS | {"franchisee"},
    description=("按下单日统计的工单：渠道、服务、片区、加盟商、状态；各环节用时、按时率、违约金与营业额。",
                 "Orders by the day they were booked: channel, service, district, franchisee, status; lead times, "
                 "on-time rates, penalties and revenue."),
    columns=(PERIOD,) + ORDER_COLUMNS, rows=m.order_rows,
    chart=Chart("bar", x="period", series=("booked", "completed", "cancelled")),
    filters=("service", "district", "franchisee", "channel", "status"),
    intervals=("day", "week", "month", "dow", "hod"),
    group_by=("period", "channel", "service", "district", "franchisee", "status"),
))

register(Report(
    name="franchisees", title=("加盟商统计", "Franchisees"), roles=MANAGERS,
    description=("每个加盟商的工单、拒单、按时率、营业额、满意度与投诉。",
                 "Each franchisee's orders, refusals, on-time rates, revenue, satisfaction and complaints."),
    columns=(Column("franchisee", "加盟商", "Franchisee", "text"),) + ORDER_COLUMNS[:11]
    + SURVEY_COLUMNS[:4] + (Column("complaints", "投诉", "Complaints"),),
    rows=m.franchisee_rows,
    chart=Chart("bar", x="franchisee", series=("booked", "completed", "refusals", "complaints")),
    filters=("service", "district"), intervals=("day",),
))

register(Report(
    name="satisfaction", title=("满意度统计", "Satisfaction"), roles=MANAGERS | {"franchisee", "callback"},
    description=("按完工日统计的回访：回复率、平均分和各分数的分布。",
                 "Surveys by the day they were asked (the completion): response rate, average and distribution."),
    columns=(PERIOD,) + SURVEY_COLUMNS, rows=m.satisfaction_rows,
    chart=Chart("bar", x="period", series=tuple(f"score_{n}" for n in range(1, 6)), stack=True),
    filters=("service", "district", "franchisee"),
    intervals=("day", "week", "month", "dow"),
    group_by=("period", "franchisee", "worker", "service", "district"),
))

COMPLAINT_COLUMNS = (
    Column("opened", "受理", "Opened"), Column("responded", "已首次答复", "Answered"),
    Column("responded_in_time", "按时首次答复", "Answered in time"), Column("resolved", "已办结", "Resolved"),
    Column("still_open", "未结", "Unresolved"), Column("overdue_open", "逾期未结", "Overdue, unresolved"),
    Column("resolved_late", "逾期办结", "Resolved late"),
    Column("first_response_median", "首次答复用时 中位数", "Time to first response, median", "seconds"),
    Column("first_response_p90", "首次答复用时 P90", "Time to first response, p90", "seconds"),
    Column("close_median", "办结用时 中位数", "Time to close, median", "seconds"),
    Column("close_p90", "办结用时 P90", "Time to close, p90", "seconds"))

register(Report(
    name="complaints", title=("投诉统计", "Complaints"), roles=MANAGERS | {"callback"},
    description=("按受理日统计的投诉：类别、加盟商、时长；逾期未结、首次答复与办结用时。",
                 "Complaints by the day they were opened: category, franchisee, age; overdue ones, time to first "
                 "response and to close."),
    columns=(PERIOD,) + COMPLAINT_COLUMNS,
    rows=m.complaint_rows,
    chart=Chart("line", x="period", series=("opened", "resolved", "overdue_open")),
    filters=("service", "district", "franchisee"),
    intervals=("day", "week", "month", "dow"),
    group_by=("period", "category", "franchisee", "age"),
))
