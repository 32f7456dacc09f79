"""`hotline queue-log import` and `hotline stats rebuild`; the reports themselves are registered
reports (tickets/call_reports.py, tickets/order_reports.py), so `hotline report NAME` prints them."""
from __future__ import annotations

from datetime import date

from .errors import ValidationError
from . import order_rollups
from .metrics import mark_range, report_range, roll_up
from .queue_log import import_file


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
        start, end = _day(args.start, "--from"), _day(args.end, "--to")
        with hl.session() as s, s.begin():
            lo, hi = report_range(s, start, end)
            marked = mark_range(s, lo, hi)
            days = order_rollups.mark_range(s, start, end)
        roll_up(hl)
        order_rollups.roll_up(hl)
    finally:
        hl.close()
    print(f"{marked} intervals of 15 minutes and {days} days of work orders recomputed")
    return 0


def register(sub) -> None:
    """Add `queue-log` and `stats` to the `hotline` parser."""
    ql = sub.add_parser("queue-log", help="Asterisk's queue_log for the call statistics").add_subparsers(
        dest="queue_log_cmd", metavar="ACTION")
    sp = ql.add_parser("import", help="import the new lines of queue_log files (each line once; resumes where it stopped)")
    sp.add_argument("files", nargs="+", metavar="FILE")
    sp.set_defaults(func=cmd_queue_log_import)

    st = sub.add_parser("stats", help="call and work-order statistics roll-ups").add_subparsers(dest="stats_cmd", metavar="ACTION")
    sp = st.add_parser("rebuild", help="recompute the call and work-order roll-ups of a date range (after changing SERVICE_LEVEL_SECONDS, or restoring orders)")
    sp.add_argument("--from", dest="start", required=True, help="first local day, YYYY-MM-DD")
    sp.add_argument("--to", dest="end", required=True, help="last local day, YYYY-MM-DD")
    sp.set_defaults(func=cmd_stats_rebuild)
