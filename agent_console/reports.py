"""统计报表: every report of tickets.reports as a page (range, interval, filters, chart, table)
and as CSV / Excel downloads.

A report is defined once in tickets (see tickets/reports.py for the interface); this blueprint
shows whichever reports are registered, to the roles each one names, scoped to the reader
(tickets.reports.scope_for). Bad parameters keep the page and say what is wrong (400); a
filter outside the reader's scope is refused (403). The chart is drawn by
static/js/reports.js with the pinned ECharts copy under static/vendor/echarts/ from the JSON
block the page carries (the CSP allows no inline script).
"""
from __future__ import annotations

import tempfile
from typing import Any

from flask import Blueprint, Response, abort, g, render_template, request, send_file, stream_with_context, url_for

from tickets import reports
from tickets.errors import HotlineError
from tickets.timeutil import to_local

from .app import db, hotline
from .i18n import STRINGS, current_language
from .pages import show_error
from .policy import AREAS
from .security import role_required

bp = Blueprint("reports", __name__, url_prefix="/reports")

REPORT_STRINGS: dict[str, tuple[str, str]] = {
    "nav.reports": ("统计报表", "Reports"),
    "rep.title": ("统计报表", "Statistics and reports"),
    "rep.from": ("开始日期", "From"),
    "rep.to": ("结束日期", "To"),
    "rep.by": ("时间粒度", "Interval"),
    "rep.group": ("分组", "Group by"),
    "rep.group.period": ("按时段", "Period"),
    "rep.all": ("全部", "All"),
    "rep.show": ("查询", "Show"),
    "rep.export_csv": ("导出 CSV", "Export CSV"),
    "rep.export_xlsx": ("导出 Excel", "Export Excel"),
    "rep.empty": ("该范围内没有数据。", "Nothing in this range."),
    "rep.none": ("您的角色没有可查看的报表。", "There are no reports for your role."),
    "rep.max_days": ("最长范围：{rules}", "Longest range: {rules}"),
    "rep.scope": ("仅显示您的范围：{what}", "Only your own figures: {what}"),
    "rep.scope.districts": ("您负责的片区", "your districts"),
    "rep.scope.franchisee": ("本公司", "your company"),
    "rep.scope.user": ("您本人", "yourself"),
    "rep.portal_orders": ("近 {n} 天下单的工单", "Orders booked in the last {n} days"),
    "rep.portal_booked": ("下单", "booked"),
    "rep.portal_accept_on_time": ("按时接单率", "accepted on time"),
    "rep.portal_service_on_time": ("按时上门率", "started on time"),
    "rep.portal_refusals": ("拒单/超时", "refused or let expire"),
    "rep.portal_cancelled": ("取消", "cancelled"),
    "rep.portal_revenue": ("营业额", "revenue"),
    "rep.portal_lead": ("下单→完工 中位数", "booked→completed, median"),
    "rep.portal_more_orders": ("工单统计（图表与导出）", "Work-order statistics (chart and export)"),
    "rep.portal_more_satisfaction": ("满意度统计", "Satisfaction statistics"),
}


@bp.record_once
def _setup(_state) -> None:
    for key, pair in REPORT_STRINGS.items():
        STRINGS.setdefault(key, pair)


def _label(pair: tuple[str, str]) -> str:
    return pair[0] if current_language() == "zh" else pair[1]


def _report_for_reader(name: str) -> reports.Report:
    report = reports.catalogue().get(name)
    if report is None:
        abort(404)
    if not reports.may_read(report, g.actor):
        abort(403)
    return report


def _query(s, report: reports.Report) -> reports.Query:
    hl = hotline()
    args = {k: v for k, v in request.args.items()}
    return reports.parse_query(s, report, args, today=to_local(hl.now(), hl.tz).date(), tz=hl.tz,
                               scope=reports.scope_for(s, g.actor))


def _filter_choices(s, report: reports.Report, scope: reports.Scope) -> dict[str, list[tuple[str, str]]]:
    """The values each filter offers the reader (only those in their scope)."""
    return {name: [(str(v), text) for v, text in reports.filter_choices(s, name, scope, current_language())]
            for name in report.filters}


@bp.get("/", endpoint="index")
@role_required(AREAS["reports"])
def index():
    readable = [r for r in reports.catalogue().values() if reports.may_read(r, g.actor)]
    return render_template("reports/index.html", reports=readable, pick=_label)


@bp.get("/<name>", endpoint="page")
@role_required(AREAS["reports"])
def page(name: str):
    report = _report_for_reader(name)
    s = db()
    code, rows, query, columns = 200, [], None, report.columns
    with s.begin():
        scope = reports.scope_for(s, g.actor)
        try:
            query = _query(s, report)
            columns = report.columns_for(query)
            rows = reports.run(s, report, query)
        except HotlineError as exc:
            code = show_error(exc)
        choices = _filter_choices(s, report, scope)
    lang = current_language()
    chart = {"kind": report.chart.kind, "stack": report.chart.stack, "x": columns[0].key,
             "series": [{"key": c.key, "name": c.label(lang), "kind": c.kind}
                        for c in columns if c.key in report.chart.series],
             "rows": [{c.key: row.get(c.key) for c in columns if c.key == columns[0].key or c.key in report.chart.series}
                      for row in rows]}
    exports = {fmt: url_for("reports.export", name=name, fmt=fmt, **request.args) for fmt in ("csv", "xlsx")}
    return render_template("reports/page.html", report=report, query=query, rows=rows, columns=columns,
                           chart=chart, choices=choices, scope=scope, args=request.args, exports=exports,
                           display=reports.display, pick=_label, limits=_limits(report),
                           interval_labels=reports.INTERVAL_LABELS, group_labels=reports.GROUP_LABELS), code


def _limits(report: reports.Report) -> str:
    """The longest range of each interval the report offers, as the page states it."""
    days = "天" if current_language() == "zh" else " days"
    return ", ".join(f"{_label(reports.INTERVAL_LABELS[i])} {reports.MAX_DAYS[i]}{days}" for i in report.intervals)


@bp.get("/<name>.<any(csv, xlsx):fmt>", endpoint="export")
@role_required(AREAS["reports"])
def export(name: str, fmt: str):
    report = _report_for_reader(name)
    s = db()
    with s.begin():
        try:
            query = _query(s, report)
            rows = reports.run(s, report, query)
        except HotlineError as exc:
            code = show_error(exc)
            return render_template("error.html", message=str(exc), code=code), code
    columns = report.columns_for(query)
    lang = current_language()
    filename = reports.export_name(report, query, fmt)
    if fmt == "csv":
        return Response(stream_with_context(reports.csv_chunks(columns, rows, lang)),
                        mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename={filename}"})
    # write-only workbook to a temporary file, streamed from disk by send_file.
    out: Any = tempfile.TemporaryFile()
    reports.write_xlsx(columns, rows, lang, out, report.title_in(lang))
    out.seek(0)
    return send_file(out, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     as_attachment=True, download_name=filename)

