"""The report framework: one small definition per report, read by the console, the CLI and the exports.

A report is a `Report`: a name, zh/en titles, the roles that may read it, the filters it takes,
the intervals it offers, its columns, a `rows` function and a chart spec. Adding one is one
call of `register()` in a module listed in REPORT_MODULES:

    register(Report(
        name="calls", title=("话务量", "Call volume"), roles=frozenset({"supervisor", "admin"}),
        filters=("service",),
        columns=(Column("period", "时段", "Period", "text"),
                 Column("offered", "来电", "Offered", "int"),
                 Column("service_level", "服务水平", "Service level", "pct")),
        rows=call_rows,                          # rows(session, query) -> iterable of dicts
        chart=Chart("bar", x="period", series=("offered",)),
        group_by=("period",),                    # optional: what a row is (see below)
    ))

- `Column.kind` says how a value is shown and exported: text, int, pct (a ratio 0..1 or None,
  shown as 12.5%), fen (integer fen, shown in yuan), seconds (shown as m:ss), score (x100 int,
  shown as 4.25). Values stay raw in the rows; `display()` formats them.
- `rows(session, query)` receives a checked `Query`: local `start`/`end` dates (inclusive),
  `utc_range()` for SQL, an `interval`, a `group` (one of the report's `group_by`, "period" by
  default: a row per interval bucket, otherwise a row per value of that dimension), the
  `filters` (already checked: ids exist, codes exist), and the reader's `scope`. It must apply
  `query.scope` itself (`Scope.orders` gives the WHERE clause for work orders) and return the
  rows in display order; `query.buckets()` lists every bucket of the range so empty ones show
  as zeros, `query.bucket_of(utc_datetime)` says which bucket a moment falls in.
- `Chart(kind, x, series, stack)`: kind bar, line or pie; `x` is the column along the axis (or
  the slice names), `series` the numeric columns drawn. The console turns it into an ECharts
  option in agent_console/static/js/reports.js.

Bad input never reaches a `rows` function: `parse_query()` refuses an end before the start, a
range longer than the interval allows (MAX_DAYS), a date that is not YYYY-MM-DD, an unknown
interval, group or filter, and a filter value that does not exist, each with a message that
says what would be right. A filter outside the reader's scope (another district, another
franchisee) is refused with PermissionDenied: the scope is enforced here and in `rows`.

Exports stream: `csv_chunks()` yields the CSV (UTF-8 with a BOM so Excel reads the Chinese) row
by row; `write_xlsx()` writes with openpyxl's write-only workbook, which keeps rows on disk, not
in memory. `export_name()` puts the report, the range, the interval and the filters in the file name.
"""
from __future__ import annotations

import csv
import importlib
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Iterable, Iterator, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import false, select, true
from sqlalchemy.orm import Session

from .actors import Actor
from .errors import PermissionDenied, ValidationError
from .inputs import existing_id
from .models import CallStat, District, Franchisee, Service, User, UserDistrict, WorkOrder
from .pricing import yuan
from .timeutil import to_local, to_utc

# Modules whose import registers reports (the call reports add theirs here).
REPORT_MODULES = ("tickets.order_reports", "tickets.call_reports")

INTERVALS = ("15min", "hour", "day", "week", "month", "dow", "hod")
INTERVAL_LABELS: dict[str, tuple[str, str]] = {
    "15min": ("15分钟", "15 minutes"), "hour": ("小时", "Hour"), "day": ("日", "Day"), "week": ("周", "Week"),
    "month": ("月", "Month"), "dow": ("星期分布", "Day-of-week profile"), "hod": ("时段分布", "Hour-of-day profile"),
}
# The longest range each interval takes: enough for its use, small enough that a page is a
# readable chart and a quick query (a year of 15-minute buckets is 35,040 rows nobody reads).
MAX_DAYS: dict[str, int] = {"15min": 7, "hour": 31, "day": 366, "week": 731, "month": 1096,
                            "dow": 366, "hod": 366}
DEFAULT_DAYS = 30
WEEKDAYS = (("周一", "Mon"), ("周二", "Tue"), ("周三", "Wed"), ("周四", "Thu"), ("周五", "Fri"),
            ("周六", "Sat"), ("周日", "Sun"))

# Filters a report may take: name -> (zh, en) label. Values are checked by _check_filter.
FILTERS: dict[str, tuple[str, str]] = {
    "service": ("服务项目", "Service"), "district": ("片区", "District"), "franchisee": ("加盟商", "Franchisee"),
    "channel": ("渠道", "Channel"), "status": ("状态", "Status"),
    "transport": ("接入方式", "Transport"), "queue": ("队列", "Queue"), "agent": ("坐席", "Agent"),
    "branch": ("菜单分支", "Menu branch"),
}
# Column heading of a grouped report's first column: the filters' labels and these.
GROUP_LABELS: dict[str, tuple[str, str]] = {
    **FILTERS, "worker": ("服务人员", "Worker"), "category": ("类别", "Category"), "age": ("时长", "Age"),
}
CHANNELS = ("ivr", "twilio", "sms", "agent", "online")
# Call transports as call records name them, and the voice menu's branches (tickets.metrics.branch_of).
TRANSPORTS = ("fastagi", "agi", "twilio", "simulator", "asterisk")
BRANCHES = ("book", "status", "complaint", "emergency", "agent", "main")
KINDS = ("text", "int", "pct", "fen", "seconds", "score")
# Request parameters that are not filters.
PARAMETERS = frozenset({"from", "to", "by", "group", "format"})


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    kind: str = "int"

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Chart:
    kind: str                      # bar, line, pie
    x: str                         # column along the axis (pie: slice names)
    series: tuple[str, ...]        # numeric columns drawn
    stack: bool = False


@dataclass(frozen=True)
class Scope:
    """What a reader may see: None = everything of that kind."""
    district_ids: frozenset[int] | None = None
    franchisee_id: int | None = None
    user_id: int | None = None          # an agent: their own figures only
    nothing: bool = False               # a role with no figures of this kind (a manager with no districts)

    def orders(self):
        """WHERE clause limiting work orders to this scope."""
        if self.nothing:
            return false()
        clause = true()
        if self.district_ids is not None:
            clause = WorkOrder.district_id.in_(sorted(self.district_ids))
        if self.franchisee_id is not None:
            clause = clause & (WorkOrder.franchisee_id == self.franchisee_id)
        return clause


def scope_for(session: Session, actor: Actor) -> Scope:
    """The reader's scope, from the database (not from anything the request says)."""
    if actor.role in ("supervisor", "admin"):
        return Scope()
    if actor.role == "district_manager":
        ids = frozenset(session.scalars(select(UserDistrict.district_id).where(UserDistrict.user_id == actor.user_id)))
        return Scope(district_ids=ids, nothing=not ids)
    if actor.role == "franchisee":
        return Scope(franchisee_id=actor.franchisee_id, nothing=actor.franchisee_id is None)
    return Scope(user_id=actor.user_id)


@dataclass(frozen=True)
class Query:
    start: date                    # local, inclusive
    end: date                      # local, inclusive
    interval: str
    tz: ZoneInfo
    scope: Scope = field(default_factory=Scope)
    filters: Mapping[str, Any] = field(default_factory=dict)
    group: str = "period"

    def utc_range(self) -> tuple[datetime, datetime]:
        """[local midnight of start, local midnight after end) as naive UTC."""
        return (to_utc(datetime.combine(self.start, time(0)), self.tz),
                to_utc(datetime.combine(self.end + timedelta(days=1), time(0)), self.tz))

    def bucket_of(self, when: datetime) -> str:
        """The label of the interval bucket a naive-UTC moment falls in (local time)."""
        return bucket_label(to_local(when, self.tz), self.interval)

    def buckets(self) -> list[str]:
        """Every bucket label of the range, in order (profiles: all 7 days or 24 hours)."""
        if self.interval == "dow":
            return [bucket_label(datetime(2024, 1, 1 + d), "dow") for d in range(7)]   # 2024-01-01 is a Monday
        if self.interval == "hod":
            return [f"{h:02d}:00" for h in range(24)]
        step = timedelta(minutes=15) if self.interval == "15min" else timedelta(hours=1)
        if self.interval in ("day", "week", "month"):
            step = timedelta(days=1)
        labels: list[str] = []
        moment = datetime.combine(self.start, time(0))
        stop = datetime.combine(self.end + timedelta(days=1), time(0))
        while moment < stop:
            label = bucket_label(moment, self.interval)
            if not labels or labels[-1] != label:
                labels.append(label)
            moment += step
        return labels

    def describe(self) -> str:
        """Range, interval and filters, for a file name: 2026-11-01_2026-11-30_day_service-BJ."""
        parts = [self.start.isoformat(), self.end.isoformat(), self.interval]
        if self.group != "period":
            parts.append(f"by-{self.group}")
        parts += [f"{k}-{v}" for k, v in sorted(self.filters.items())]
        return "_".join(str(p) for p in parts)


def bucket_label(local: datetime, interval: str) -> str:
    """The bucket a local moment falls in, as the label shown and exported."""
    if interval == "15min":
        return local.strftime("%Y-%m-%d %H:") + f"{local.minute - local.minute % 15:02d}"
    if interval == "hour":
        return local.strftime("%Y-%m-%d %H:00")
    if interval == "day":
        return local.strftime("%Y-%m-%d")
    if interval == "week":    # the week's Monday
        return (local.date() - timedelta(days=local.weekday())).isoformat()
    if interval == "month":
        return local.strftime("%Y-%m")
    if interval == "dow":
        return f"{local.isoweekday()} {WEEKDAYS[local.weekday()][1]}"
    return local.strftime("%H:00")


@dataclass(frozen=True)
class Report:
    name: str
    title: tuple[str, str]                 # zh, en
    roles: frozenset[str]
    columns: tuple[Column, ...]
    rows: Callable[[Session, Query], Iterable[dict[str, Any]]]
    chart: Chart
    filters: tuple[str, ...] = ()
    intervals: tuple[str, ...] = ("day", "week", "month")
    group_by: tuple[str, ...] = ("period",)
    default_interval: str = "day"
    description: tuple[str, str] = ("", "")

    def title_in(self, lang: str) -> str:
        return self.title[0] if lang == "zh" else self.title[1]

    def columns_for(self, query: Query) -> tuple[Column, ...]:
        """The columns of this query: the first column is the period or the chosen group."""
        first = self.columns[0]
        if query.group != "period":
            label = GROUP_LABELS.get(query.group, (query.group, query.group))
            first = Column(first.key, label[0], label[1], "text")
        return (first,) + self.columns[1:]


REPORTS: dict[str, Report] = {}


def register(report: Report) -> Report:
    """Add a report to the catalogue (its module must be in REPORT_MODULES to be loaded)."""
    for c in report.columns:
        if c.kind not in KINDS:
            raise ValueError(f"report {report.name}: column {c.key} has kind {c.kind!r}, not one of {KINDS}")
    unknown = set(report.filters) - set(FILTERS)
    if unknown:
        raise ValueError(f"report {report.name}: unknown filters {sorted(unknown)}; known: {sorted(FILTERS)}")
    REPORTS[report.name] = report
    return report


def catalogue() -> dict[str, Report]:
    """Every registered report, in registration order."""
    for module in REPORT_MODULES:
        importlib.import_module(module)
    return REPORTS


def get(name: str) -> Report:
    reports = catalogue()
    if name not in reports:
        raise ValidationError("there is no report {name!r}; reports: {reports}", name=name, reports=', '.join(reports))
    return reports[name]


def may_read(report: Report, actor: Actor) -> bool:
    return actor.role in report.roles


def _date(value: str | None, name: str, default: date) -> date:
    text = (value or "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError("{name} must be a date written YYYY-MM-DD, e.g. 2026-11-01; got {value!r}", name=name, value=text[:24]) from None


def _check_filter(session: Session, name: str, value: str, scope: Scope) -> Any:
    """A filter value as the rows functions use it, or a ValidationError naming the right values."""
    if name == "service":
        code = value.strip().upper()
        found = session.scalar(select(Service.id).where(Service.code == code))
        if found is None:
            raise ValidationError("there is no service {value!r}; give its code, e.g. BJ", value=value)
        return code
    if name == "channel":
        if value not in CHANNELS:
            raise ValidationError("channel must be one of {channels}; got {value!r}", channels=', '.join(CHANNELS), value=value[:24])
        return value
    if name == "status":
        from .workflow import STATES
        if value not in STATES:
            raise ValidationError("status must be one of {states}; got {value!r}", states=', '.join(STATES), value=value[:24])
        return value
    if name in ("transport", "branch"):
        allowed = TRANSPORTS if name == "transport" else BRANCHES
        if value not in allowed:
            raise ValidationError("{name} must be one of {allowed}; got {value!r}", name=name, allowed=', '.join(allowed), value=value[:24])
        return value
    if name == "queue":
        if len(value) > 64:
            raise ValidationError("a queue name has at most 64 characters, e.g. hotline-agents")
        return value
    if name == "agent":
        agent_id = existing_id(session, User, value, name)
        if scope.user_id is not None and agent_id != scope.user_id:
            raise PermissionDenied("an agent reads their own figures only")
        return agent_id
    model = {"district": District, "franchisee": Franchisee}[name]
    row_id = existing_id(session, model, value, name)
    # Asking for another district's or franchisee's figures is refused, not silently emptied.
    if name == "district" and scope.district_ids is not None and row_id not in scope.district_ids:
        raise PermissionDenied("district {row_id} is not one of your districts", row_id=row_id)
    if name == "franchisee" and scope.franchisee_id is not None and row_id != scope.franchisee_id:
        raise PermissionDenied("a franchisee reads its own figures only")
    return row_id


def parse_query(session: Session, report: Report, args: Mapping[str, str], *, today: date, tz: ZoneInfo,
                scope: Scope) -> Query:
    """A checked Query from request or command-line parameters (from, to, by, group, filters)."""
    interval = (args.get("by") or report.default_interval).strip()
    if interval not in report.intervals:
        raise ValidationError("interval (by) must be one of {intervals} for this report; got {value!r}", intervals=', '.join(report.intervals), value=interval[:24])
    end = _date(args.get("to"), "to", today)
    start = _date(args.get("from"), "from", end - timedelta(days=min(DEFAULT_DAYS, MAX_DAYS[interval]) - 1))
    if end < start:
        raise ValidationError("the range ends ({end}) before it starts ({start}); put the earlier date in 'from'", end=end, start=start)
    days = (end - start).days + 1
    if days > MAX_DAYS[interval]:
        raise ValidationError("a range of {days} days is too long for interval {interval}: at most {value} days; choose a shorter range or a longer interval ({value2})", days=days, interval=interval, value=MAX_DAYS[interval], value2=', '.join(i for i in report.intervals if MAX_DAYS[i] >= days) or 'none fits')
    group = (args.get("group") or "period").strip()
    if group not in report.group_by:
        raise ValidationError("group must be one of {group_by}; got {value!r}", group_by=', '.join(report.group_by), value=group[:24])
    filters: dict[str, Any] = {}
    for key, value in args.items():
        if key in PARAMETERS or key == "lang":
            continue
        if key not in report.filters:
            raise ValidationError("unknown filter {value!r}; this report takes: {value2}", value=key[:24], value2=', '.join(report.filters) or 'no filters')
        if value is not None and str(value).strip():
            filters[key] = _check_filter(session, key, str(value), scope)
    return Query(start=start, end=end, interval=interval, tz=tz, scope=scope, filters=filters, group=group)


def filter_choices(session: Session, name: str, scope: Scope, lang: str) -> list[tuple[Any, str]]:
    """The values a filter offers this reader: (value, text), only those within their scope."""
    if name == "service":
        return [(code, f"{code} {zh if lang == 'zh' else en}") for code, zh, en in
                session.execute(select(Service.code, Service.name_zh, Service.name_en).order_by(Service.code))]
    if name == "district":
        stmt = select(District.id, District.name_zh, District.name_en).order_by(District.code)
        if scope.district_ids is not None:
            stmt = stmt.where(District.id.in_(sorted(scope.district_ids)))
        return [(i, zh if lang == "zh" else en) for i, zh, en in session.execute(stmt)]
    if name == "franchisee":
        stmt = select(Franchisee.id, Franchisee.name).order_by(Franchisee.name)
        if scope.franchisee_id is not None:
            stmt = stmt.where(Franchisee.id == scope.franchisee_id)
        return list(session.execute(stmt).tuples())
    if name == "channel":
        return [(c, c) for c in CHANNELS]
    if name in ("transport", "branch"):
        return [(c, c) for c in (TRANSPORTS if name == "transport" else BRANCHES)]
    if name == "queue":
        return [(q, q) for q in session.scalars(select(CallStat.queue).where(CallStat.queue != "").distinct()
                                                .order_by(CallStat.queue))]
    if name == "agent":
        stmt = select(User.id, User.display_name, User.username).where(User.role == "agent").order_by(User.username)
        if scope.user_id is not None:
            stmt = stmt.where(User.id == scope.user_id)
        return [(i, display or username) for i, display, username in session.execute(stmt)]
    from .workflow import STATES
    return [(st, st) for st in STATES]


def run(session: Session, report: Report, query: Query) -> list[dict[str, Any]]:
    """The report's rows for a checked query."""
    return list(report.rows(session, query))


# ---------------------------------------------------------------- showing and exporting

def display(value: Any, kind: str) -> str:
    """A raw value as a person reads it (tables, CSV, the command line)."""
    if value is None:
        return "—" if kind in ("pct", "seconds", "score") else ""
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "fen":
        return yuan(int(value))
    if kind == "seconds":
        seconds = int(round(value))
        hours, rest = divmod(seconds, 3600)
        return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
    if kind == "score":
        return f"{value / 100:.2f}"
    return str(value)


def cell(value: Any, kind: str) -> Any:
    """A raw value as a spreadsheet cell: numbers stay numbers (yuan, ratio, seconds, score)."""
    if value is None:
        return None
    if kind == "fen":
        return int(value) / 100
    if kind == "score":
        return int(value) / 100
    return value


def export_name(report: Report, query: Query, ext: str) -> str:
    return f"{report.name}_{query.describe()}.{ext}"


def csv_chunks(columns: tuple[Column, ...], rows: Iterable[dict[str, Any]], lang: str) -> Iterator[str]:
    """The table as CSV text, one chunk per row, starting with a BOM so Excel reads UTF-8."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([c.label(lang) for c in columns])
    yield "\ufeff" + buf.getvalue()
    for row in rows:
        buf.seek(0)
        buf.truncate()
        writer.writerow([display(row.get(c.key), c.kind) for c in columns])
        yield buf.getvalue()


XLSX_FORMATS = {"pct": "0.0%", "fen": "#,##0.00", "score": "0.00"}


def write_xlsx(columns: tuple[Column, ...], rows: Iterable[dict[str, Any]], lang: str, target, title: str) -> None:
    """The table as an .xlsx written to `target` (a path or binary file), with openpyxl's
    write-only workbook: rows go to a temporary file as they come, not into memory."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.append([c.label(lang) for c in columns])
    for row in rows:
        out = []
        for c in columns:
            value = cell(row.get(c.key), c.kind)
            if c.kind == "seconds" and value is not None:
                value = round(value, 1)
            wc = WriteOnlyCell(ws, value=value)
            if c.kind in XLSX_FORMATS:
                wc.number_format = XLSX_FORMATS[c.kind]
            out.append(wc)
        ws.append(out)
    wb.save(target)
