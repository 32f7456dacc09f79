"""Asterisk's queue_log, imported line by line into `queue_log` for the call statistics.

`import_file(session, path)` reads from where the last import of `path` stopped: the file's
identity (device, inode) and the byte offset of the last whole line consumed are stored with
the lines of each batch, in one transaction, so a crash loses nothing and repeats nothing.
- Rotation: a different inode at `path`, or a file shorter than the offset, is a new file, read
  from its start; the rotated predecessor (`queue_log.1`, or `queue_log-*` of logrotate's
  dateext), when it is still there with the stored inode, is finished first.
- A last line without its newline is being written: it is left for the next run.
- Each line once, however often a file is imported (by the follower, by hand, a rotated copy):
  every line has a unique 64-bit hash of its bytes (`line_key`); a second insert does nothing.
  Two byte-identical lines are one fact (same second, call, queue, agent, event and data).
- Unknown events are kept as they are; a corrupt or foreign line (not `epoch|callid|queue|agent|
  EVENT|...`, not UTF-8) is counted and skipped, its line number logged.
Each queue entry is linked to Hotline's call record by the caller channel's uniqueid (the
callid field is the call's `external_id`), and the 15-minute intervals the new lines fall in are
marked for the roll-up (tickets/metrics.py).
"""
from __future__ import annotations

import glob
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator
from hashlib import blake2b

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import NotFound
from .metrics import bucket_of, mark_dirty, roll_up
from .models import Call, QueueLogFile, QueueLogLine
from .timeutil import utcnow
from .upserts import insert_new, upsert

log = logging.getLogger(__name__)

BATCH_LINES = 5000
READ_BYTES = 4 << 20
_EVENT = re.compile(r"[A-Z][A-Z0-9_]*").fullmatch
_EPOCH = datetime(1970, 1, 1)
_QUEUE_LINES = QueueLogLine.__table__


def _num(value: str) -> int:
    """A seconds field; an empty or garbled one (seen in the wild) counts as 0."""
    return int(value) if value.isdigit() else 0


def entered_at(at: datetime, event: str, d: list[str]) -> datetime:
    """When the queue entry a line belongs to began, from the line alone: its time minus the wait
    (and talk) it reports. Every figure of an entry is dated by this (docs/metrics.md)."""
    if event in ("COMPLETEAGENT", "COMPLETECALLER"):
        back = _num(d[0]) + _num(d[1])
    elif event in ("BLINDTRANSFER", "TRANSFER"):
        back = _num(d[2]) + _num(d[3])
    elif event == "ATTENDEDTRANSFER":
        # BRIDGE|uid|hold|call|pos, APP|app|hold|call|pos, LINK|ch1|ch2|hold|call|pos
        back = _num(d[3]) + _num(d[4].split("|")[0]) if d[0] == "LINK" else _num(d[2]) + _num(d[3])
    elif event == "CONNECT":
        back = _num(d[0])
    elif event in ("ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY", "WITHDRAW"):
        back = _num(d[2])
    elif event == "EXITWITHKEY":
        back = _num(d[3])
    else:
        back = 0
    return at - timedelta(seconds=back)


def parse_line(raw: bytes) -> dict | None:
    """One queue_log line -> the row to store; None for a corrupt or foreign line."""
    try:
        fields = raw.decode("utf-8").rstrip("\r").split("|", 9)
    except UnicodeDecodeError:
        return None
    if len(fields) < 5:
        return None
    epoch, callid, queue, agent, event = fields[:5]
    data = fields[5:9] + [""] * (9 - len(fields[:9]))
    data.append(fields[9] if len(fields) > 9 else "")
    if not (epoch.isdigit() and 9 <= len(epoch) <= 11 and _EVENT(event) and len(callid) <= 64
            and len(queue) <= 64 and len(agent) <= 128 and len(event) <= 32 and max(map(len, data[:4])) <= 255):
        return None
    at = _EPOCH + timedelta(seconds=int(epoch))
    return {"line_key": int.from_bytes(blake2b(raw, digest_size=8).digest(), "big", signed=True),
            "at": at, "entered_at": entered_at(at, event, data), "callid": callid, "queue": queue,
            "agent": agent, "event": event, "data1": data[0], "data2": data[1], "data3": data[2],
            "data4": data[3], "data5": data[4], "call_id": None}


@dataclass
class ImportResult:
    lines: int = 0          # whole lines read
    imported: int = 0       # new lines stored
    duplicates: int = 0     # lines stored before (a re-import, an overlapping rotated copy)
    skipped: int = 0        # corrupt or foreign lines

    def add(self, other: "ImportResult") -> None:
        for name in ("lines", "imported", "duplicates", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


# PostgreSQL: the batch is COPYed into a temporary table and moved across in one INSERT ... SELECT
# that links the calls by a join and skips the lines already there. A multi-row INSERT of
# thousands of parameters costs more client CPU to build than the server spends storing it.
_LINE_COLUMNS = ("line_key", "at", "entered_at", "callid", "queue", "agent", "event",
                 "data1", "data2", "data3", "data4", "data5")
_STAGING = ("CREATE TEMPORARY TABLE IF NOT EXISTS queue_log_incoming (n integer, line_key bigint, at timestamp, "
            "entered_at timestamp, callid varchar(64), queue varchar(64), agent varchar(128), event varchar(32), "
            "data1 varchar(255), data2 varchar(255), data3 varchar(255), data4 varchar(255), data5 text) "
            "ON COMMIT DELETE ROWS")
_COLUMNS = ", ".join(_LINE_COLUMNS)
_MOVE = (f"INSERT INTO queue_log ({_COLUMNS}, call_id) "
         f"SELECT {', '.join('i.' + c for c in _LINE_COLUMNS)}, calls.id FROM queue_log_incoming i "
         "LEFT JOIN calls ON calls.external_id = i.callid ORDER BY i.n ON CONFLICT (line_key) DO NOTHING")


def _insert_copy(session: Session, rows: list[dict]) -> int:
    """Insert the new ones of `rows` on PostgreSQL (see _MOVE); how many were new."""
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor:
        cursor.execute(_STAGING)
        # `n` keeps the file's order in the ids (the join would not).
        with cursor.copy(f"COPY queue_log_incoming (n, {_COLUMNS}) FROM STDIN") as copy:
            for n, r in enumerate(rows):
                copy.write_row([n, *(r[c] for c in _LINE_COLUMNS)])
        cursor.execute(_MOVE)
        return cursor.rowcount      # the batch's transaction ends by commit: ON COMMIT DELETE ROWS empties it


def _insert_linked(session: Session, rows: list[dict]) -> int:
    """Insert the new ones of `rows` (SQLite), linked to their calls; how many were new."""
    callids = {r["callid"] for r in rows}
    links = dict(session.execute(select(Call.external_id, Call.id).where(Call.external_id.in_(callids))).all())
    for r in rows:
        r["call_id"] = links.get(r["callid"])
    return insert_new(session, _QUEUE_LINES, rows, ["line_key"])


def _store(session: Session, rows: list[dict]) -> int:
    """Insert the new ones of `rows`, linked to their calls; mark their intervals. How many were new."""
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        new = _insert_copy(session, rows)
    else:
        new = _insert_linked(session, rows)
    mark_dirty(session, {bucket_of(r["entered_at"]) for r in rows})
    return new


@dataclass
class _Batch:
    rows: list[dict]        # the parsed lines to store
    lines: int              # whole lines read, the skipped ones included
    offset: int             # the byte offset after the batch's last line
    line_no: int            # the number of its last line


def _batches(path: str, offset: int, line_no: int, result: ImportResult) -> Iterator[_Batch]:
    """The whole lines of `path` from `offset`, parsed, BATCH_LINES at a time; skipped lines
    are counted in `result` and logged."""
    with open(path, "rb") as f:
        f.seek(offset)
        rest = b""
        while True:
            chunk = f.read(READ_BYTES)
            if not chunk:
                return
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()          # no newline yet: maybe still being written
            for start in range(0, len(lines), BATCH_LINES):
                batch = lines[start:start + BATCH_LINES]
                rows = []
                for raw in batch:
                    line_no += 1
                    offset += len(raw) + 1
                    row = parse_line(raw)
                    if row is None:
                        if raw.strip():
                            result.skipped += 1
                            log.warning("queue_log %s line %d skipped: not a queue_log line: %r",
                                        path, line_no, raw[:120])
                        continue
                    rows.append(row)
                yield _Batch(rows, len(batch), offset, line_no)


def _read(session: Session, path: str, name: str, stat: os.stat_result, offset: int, line_no: int) -> ImportResult:
    """Import the whole lines of `path` from `offset`, committing each batch with the position
    reached, recorded under `name` with the file's identity.

    One thread parses the next batch while another stores this one (the database's work and
    the parsing then overlap; each takes about half the time of an import). Batches commit one
    after the other, in the file's order, and the session is used by the storing thread only."""
    result = ImportResult()

    def store(batch: _Batch) -> None:
        with session.begin():
            new = _store(session, batch.rows)
            upsert(session, QueueLogFile.__table__, [{
                "path": name, "device": stat.st_dev, "inode": stat.st_ino, "offset": batch.offset,
                "line_no": batch.line_no, "updated_at": utcnow()}], ["path"])
        result.lines += batch.lines
        result.imported += new
        result.duplicates += len(batch.rows) - new

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="queue-log-store") as storer:
        stored = None
        for batch in _batches(path, offset, line_no, result):
            if stored is not None:
                stored.result()         # the previous batch committed (or its error raised here)
            stored = storer.submit(store, batch)
        if stored is not None:
            stored.result()
    return result


def _predecessor(path: str, device: int, inode: int) -> str | None:
    """The rotated copy of `path` that is the file read last time, if it is still there."""
    for candidate in [f"{path}.1", *sorted(glob.glob(f"{glob.escape(path)}-*"), reverse=True)]:
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (device, inode):
            return candidate
    return None


def import_file(session: Session, path: str) -> ImportResult:
    """Import the new whole lines of the queue_log at `path` (see the module's docstring).
    `session` must not be in a transaction: each batch commits on its own."""
    name = os.path.abspath(path)
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise NotFound("queue_log {path} cannot be read: {strerror}; check QUEUE_LOG_PATH", path=path, strerror=exc.strerror) from None
    with session.begin():   # the look-up's own transaction; each batch opens one
        mark = session.execute(select(QueueLogFile.device, QueueLogFile.inode, QueueLogFile.offset,
                                      QueueLogFile.line_no).where(QueueLogFile.path == name)).first()
    result = ImportResult()
    offset, line_no = 0, 0
    if mark is not None:
        same = (mark.device, mark.inode) == (stat.st_dev, stat.st_ino)
        if same and stat.st_size >= mark.offset:
            offset, line_no = mark.offset, mark.line_no
        else:
            old = None if same else _predecessor(path, mark.device, mark.inode)
            if old is not None:
                result.add(_read(session, old, name, os.stat(old), mark.offset, mark.line_no))
            log.info("queue_log %s was rotated or truncated; reading the new file from its start", path)
    result.add(_read(session, path, name, stat, offset, line_no))
    return result



def follow(hl) -> ImportResult | None:
    """One run of the follower (a scheduler job, so one process reads the file however many run):
    import the new lines of QUEUE_LOG_PATH, then recompute the intervals they fall in."""
    path = hl.settings.queue_log_path
    try:
        with hl.session() as s:
            result = import_file(s, path)
    except NotFound as exc:
        log.warning("%s", exc)
        return None
    if result.imported or result.skipped:
        log.info("queue_log %s: %d new lines, %d already imported, %d skipped", path, result.imported,
                 result.duplicates, result.skipped)
    if result.imported:
        roll_up(hl)
    return result
