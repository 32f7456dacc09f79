"""`hotline queue-log ...` and `hotline report calls`: the call statistics from the command line."""
from __future__ import annotations

import csv
import io
import logging
from datetime import date

from .errors import ValidationError
from .metrics import SERVICE_KEYS, VOLUME_KEYS, call_volume, mark_range, report_range, roll_up, service_level
from .queue_log import import_file

log = logging.getLogger(__name__)

REPORT_BY = ("15min", "hour", "day", "week", "month", "weekday", "hour_of_day")


def _day(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"{flag} {value!r} is not a date; write YYYY-MM-DD, e.g. 2026-11-01") from None


def cmd_queue_log_import(args) -> int:
    from .cli import make_hotline
    hl = make_hotline(args)
    total = 0
    try:
        for path in args.files:
            with hl.session() as s:
                result = import_file(s, path)
            total += result.imported
            print(f"{path}: {result.lines} lines, {result.imported} new, {result.duplicates} already imported, "
                  f"{result.skipped} skipped")
        if total:
            roll_up(hl)
    finally:
        hl.close()
    return 0


def cmd_stats_rebuild(args) -> int:
    from .cli import make_hotline
    hl = make_hotline(args)
    try:
        with hl.session() as s, s.begin():
            lo, hi = report_range(s, _day(args.start, "--from"), _day(args.end, "--to"))
            marked = mark_range(s, lo, hi)
        roll_up(hl)
    finally:
        hl.close()
    print(f"{marked} intervals of 15 minutes recomputed")
    return 0


def report_rows(session, start: date, end: date, by: str) -> list[dict]:
    """The call report's rows: volume and service figures per interval, one row each."""
    volume = call_volume(session, start, end, by)
    service = {r["period"]: r for r in service_level(session, start, end, by)}
    return [{**row, **service[row["period"]]} for row in volume]


def report_calls(args) -> int:
    """`hotline report calls`: call volume and service level per hour, day, week or month."""
    from .cli import make_hotline
    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    hl = make_hotline(args)
    try:
        with hl.session() as s:
            rows = report_rows(s, start, end, args.by)
    finally:
        hl.close()
    keys = list(dict.fromkeys(VOLUME_KEYS + SERVICE_KEYS))
    if args.format == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        print(out.getvalue(), end="")
        return 0
    if not rows:
        print(f"no calls from {start} to {end}")
        return 0
    shown = [[("" if r[k] is None else str(r[k])) for k in keys] for r in rows]
    widths = [max(len(k), *(len(row[i]) for row in shown)) for i, k in enumerate(keys)]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths)))
    for row in shown:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths)))
    return 0


def register(sub) -> None:
    """Add `queue-log`, `stats` and `report calls` to the `hotline` parser."""
    ql = sub.add_parser("queue-log", help="Asterisk's queue_log for the call statistics").add_subparsers(
        dest="queue_log_cmd", metavar="ACTION")
    sp = ql.add_parser("import", help="import the new lines of queue_log files (each line once; resumes where it stopped)")
    sp.add_argument("files", nargs="+", metavar="FILE")
    sp.set_defaults(func=cmd_queue_log_import)

    st = sub.add_parser("stats", help="call statistics roll-ups").add_subparsers(dest="stats_cmd", metavar="ACTION")
    sp = st.add_parser("rebuild", help="recompute the roll-ups of a date range (after changing SERVICE_LEVEL_SECONDS)")
    sp.add_argument("--from", dest="start", required=True, help="first local day, YYYY-MM-DD")
    sp.add_argument("--to", dest="end", required=True, help="last local day, YYYY-MM-DD")
    sp.set_defaults(func=cmd_stats_rebuild)

    report = sub.add_parser("report", help="statistics reports").add_subparsers(dest="report_cmd", metavar="REPORT")
    sp = report.add_parser("calls", help="call volume and service level per interval")
    sp.add_argument("--from", dest="start", required=True, help="first local day, YYYY-MM-DD")
    sp.add_argument("--to", dest="end", required=True, help="last local day, YYYY-MM-DD")
    sp.add_argument("--by", choices=REPORT_BY, default="day")
    sp.add_argument("--format", choices=("table", "csv"), default="table")
    sp.set_defaults(func=report_calls)



