"""`hotline report NAME --from ... --to ... --by ...`: any registered report from the command line.

The operator running the command reads everything (no role scope); the same checks as the
console's pages refuse a bad range, interval or filter with a message and exit status 1.
"""
from __future__ import annotations

import argparse
import sys

from . import reports
from .errors import ValidationError
from .timeutil import to_local

FORMATS = ("table", "csv", "xlsx")


def add_parser(sub) -> None:
    """Register the `report` subcommand on the `hotline` parser."""
    sp = sub.add_parser("report", help="statistics: work orders, franchisees, satisfaction, complaints "
                                       "(the console's 统计报表) as a table, CSV or Excel")
    sp.add_argument("name", help="report name: " + ", ".join(reports.catalogue()))
    sp.add_argument("--from", dest="start", help="first local day, YYYY-MM-DD (default: 30 days before --to)")
    sp.add_argument("--to", dest="end", help="last local day, YYYY-MM-DD (default: today)")
    sp.add_argument("--by", help="interval: 15min, hour, day, week, month, dow, hod (what the report offers)")
    sp.add_argument("--group", help="one row per value of: channel, service, district, franchisee, status, ...")
    sp.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                    help="service=BJ, district=ID, franchisee=ID, channel=sms, status=closed (repeatable)")
    sp.add_argument("--format", choices=FORMATS, default="table")
    sp.add_argument("--out", help="write to this file (needed for xlsx); default standard output")
    sp.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the headings")
    sp.set_defaults(func=cmd_report)


def parameters(args: argparse.Namespace) -> dict[str, str]:
    """The command line as the query parameters the console's pages take."""
    params = {"from": args.start, "to": args.end, "by": args.by, "group": args.group}
    for item in args.filter:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValidationError(f"--filter takes KEY=VALUE, e.g. --filter service=BJ; got {item!r}")
        params[key.strip()] = value.strip()
    return {k: v for k, v in params.items() if v is not None}


def table(columns, rows, lang: str) -> str:
    """The rows as aligned text columns."""
    grid = [[c.label(lang) for c in columns]] + [[reports.display(r.get(c.key), c.kind) for c in columns] for r in rows]
    widths = [max(_width(line[i]) for line in grid) for i in range(len(columns))]
    return "\n".join("  ".join(cell + " " * (w - _width(cell)) for cell, w in zip(line, widths)).rstrip()
                     for line in grid)


def _width(text: str) -> int:
    # A Chinese character takes two columns of a terminal.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def cmd_report(args) -> int:
    from .cli import make_hotline
    if args.format == "xlsx" and not args.out:
        raise ValidationError("--format xlsx writes a binary file: give --out FILE.xlsx")
    report = reports.get(args.name)
    hl = make_hotline(args)
    with hl.session() as s, s.begin():
        query = reports.parse_query(s, report, parameters(args), today=to_local(hl.now(), hl.tz).date(),
                                    tz=hl.tz, scope=reports.Scope())
        rows = reports.run(s, report, query)
    columns = report.columns_for(query)
    if args.format == "xlsx":
        reports.write_xlsx(columns, rows, args.lang, args.out, report.title_in(args.lang))
        print(f"wrote {len(rows)} rows to {args.out}")
        return 0
    out = open(args.out, "w", encoding="utf-8", newline="") if args.out else sys.stdout
    try:
        if args.format == "csv":
            for chunk in reports.csv_chunks(columns, rows, args.lang):
                out.write(chunk if args.out else chunk.lstrip("\ufeff"))
        else:
            out.write(table(columns, rows, args.lang) + "\n")
    finally:
        if args.out:
            out.close()
    return 0
