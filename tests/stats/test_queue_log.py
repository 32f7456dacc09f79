"""Importing Asterisk's queue_log: each line once, resuming, across rotation, bad lines skipped."""
from __future__ import annotations

import logging
import os
import shutil
import threading

from sqlalchemy import func, select

from tickets.metrics import roll_up, service_level
from tickets.models import Call, QueueLogFile, QueueLogLine, StatDirty
from tickets.queue_log import follow, import_file

SAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "asterisk-captures", "queue_log.sample")
SAMPLE_LINES = open(SAMPLE, "rb").read() if os.path.exists(SAMPLE) else None
# The real sample (Asterisk 22.10.1), kept here so the test does not depend on shared/ being there.
CAPTURE = (
    "1795422311|1795422310.5|hotline-agents|NONE|ENTERQUEUE||sipp|1\n"
    "1795422313|1795422310.5|hotline-agents|坐席一|CONNECT|2|1795422311.6|2\n"
    "1795422317|1795422310.5|hotline-agents|坐席一|COMPLETEAGENT|2|4|1\n"
    "1795422317|NONE|hotline-agents|坐席一|PAUSE|lunch\n"
    "1795422318|1795422317.8|hotline-agents|NONE|ENTERQUEUE||13800138000|1\n"
    "1795422322|1795422317.8|hotline-agents|NONE|ABANDON|1|1|4\n"
    "1795422322|NONE|hotline-agents|坐席一|UNPAUSE|\n").encode()


def lines(hl) -> int:
    with hl.session() as s:
        return s.scalar(select(func.count()).select_from(QueueLogLine))


def run(hl, path):
    with hl.session() as s:
        return import_file(s, str(path))


def test_the_captured_sample_is_the_recorded_asterisk_file():
    assert SAMPLE_LINES is None or SAMPLE_LINES == CAPTURE


def test_every_line_of_the_real_sample_is_stored_and_linked_to_its_call(hl, tmp_path):
    with hl.session() as s, s.begin():
        s.add(Call(external_id="1795422310.5", transport="fastagi", caller="+8613800138000", ivr_path=[]))
    (tmp_path / "queue_log").write_bytes(CAPTURE)
    result = run(hl, tmp_path / "queue_log")
    assert (result.lines, result.imported, result.skipped) == (7, 7, 0)
    with hl.session() as s:
        linked = s.scalars(select(QueueLogLine.event).where(QueueLogLine.call_id.is_not(None))
                           .order_by(QueueLogLine.id)).all()
        agent = s.scalar(select(QueueLogLine.agent).where(QueueLogLine.event == "CONNECT"))
    assert linked == ["ENTERQUEUE", "CONNECT", "COMPLETEAGENT"]
    assert agent == "坐席一"


def test_importing_the_same_file_again_stores_nothing_twice(hl, tmp_path):
    (tmp_path / "queue_log").write_bytes(CAPTURE)
    run(hl, tmp_path / "queue_log")
    copy = tmp_path / "elsewhere"
    shutil.copy(tmp_path / "queue_log", copy)
    again = run(hl, copy)                        # another path: read whole, every line known
    assert (again.imported, again.duplicates) == (0, 7)
    assert run(hl, tmp_path / "queue_log").lines == 0    # the same path resumes at its end
    assert lines(hl) == 7


def test_a_line_still_being_written_waits_for_its_newline(hl, tmp_path):
    path = tmp_path / "queue_log"
    first, rest = CAPTURE.split(b"\n", 1)
    path.write_bytes(first + b"\n" + rest[:20])          # the second line half written
    assert run(hl, path).imported == 1
    with open(path, "ab") as f:
        f.write(rest[20:])
    result = run(hl, path)
    assert (result.imported, result.skipped) == (6, 0)
    assert lines(hl) == 7


def test_after_rotation_the_old_file_is_finished_and_the_new_one_read_from_its_start(hl, tmp_path):
    path = tmp_path / "queue_log"
    head = b"".join(CAPTURE.splitlines(keepends=True)[:3])
    tail = b"".join(CAPTURE.splitlines(keepends=True)[3:5])
    new = b"".join(CAPTURE.splitlines(keepends=True)[5:])
    path.write_bytes(head)
    run(hl, path)
    with open(path, "ab") as f:                  # written after our last read, before the rotation
        f.write(tail)
    os.rename(path, tmp_path / "queue_log.1")
    path.write_bytes(new)
    result = run(hl, path)
    assert result.imported == 4
    assert lines(hl) == 7
    with hl.session() as s:
        mark = s.get(QueueLogFile, str(path))
    assert (mark.inode, mark.offset) == (os.stat(path).st_ino, len(new))


def test_a_file_truncated_in_place_is_read_again_from_its_start(hl, tmp_path):
    path = tmp_path / "queue_log"
    path.write_bytes(CAPTURE)
    run(hl, path)
    extra = b"1795422400|1795422399.1|hotline-agents|NONE|ENTERQUEUE||13900139000|1\n"
    path.write_bytes(extra)                      # copytruncate: same inode, shorter
    assert run(hl, path).imported == 1
    assert lines(hl) == 8


def test_unknown_events_are_kept_and_bad_lines_counted_and_skipped_with_their_line_number(hl, tmp_path, caplog):
    path = tmp_path / "queue_log"
    path.write_bytes(b"1795422311|1795422310.5|hotline-agents|NONE|ENTERQUEUE||sipp|1\n"
                     b"this is not a queue_log line\n"
                     b"1795422312|1795422310.5|hotline-agents|NONE|SOMETHINGNEW|a|b|c|d|e|f\n"
                     b"1795422313|x|y|z|\xff\xfe|1\n")
    with caplog.at_level(logging.WARNING, logger="tickets.queue_log"):
        result = run(hl, path)
    assert (result.lines, result.imported, result.skipped) == (4, 2, 2)
    assert "line 2 skipped" in caplog.text and "line 4 skipped" in caplog.text
    with hl.session() as s:
        kept = s.scalar(select(QueueLogLine).where(QueueLogLine.event == "SOMETHINGNEW"))
    assert (kept.data4, kept.data5) == ("d", "e|f")


def test_the_follower_imports_and_rolls_up_the_configured_file(new_hotline, tmp_path):
    path = tmp_path / "queue_log"
    path.write_bytes(CAPTURE)
    hl = new_hotline(QUEUE_LOG_PATH=str(path))
    assert follow(hl).imported == 7
    with hl.session() as s:
        assert s.scalar(select(func.count()).select_from(StatDirty)) == 0
        from datetime import date
        [row] = service_level(s, date(2026, 11, 23), date(2026, 11, 23), "day")
    # The sample (2026-11-23 local): one answered after 2 s, one abandoned after 4 s (a short abandon).
    assert (row["offered"], row["answered"], row["abandoned"], row["short_abandoned"], row["asa"]) == (2, 1, 1, 1, 2.0)


def test_a_missing_file_is_a_warning_not_a_crash(new_hotline, tmp_path, caplog):
    hl = new_hotline(QUEUE_LOG_PATH=str(tmp_path / "nothing-here"))
    with caplog.at_level(logging.WARNING, logger="tickets.queue_log"):
        assert follow(hl) is None
    assert "QUEUE_LOG_PATH" in caplog.text


def test_two_importers_of_one_file_at_once_store_each_line_once_and_roll_up_right(hl, tmp_path):
    """On PostgreSQL both transactions insert the same keys at once; SQLite's are serial."""
    path = tmp_path / "queue_log"
    base = 1795422311
    path.write_text("".join(
        f"{base + i * 30}|call{i}|hotline-agents|NONE|ENTERQUEUE||1380013{i:04d}|1\n"
        f"{base + i * 30 + 5}|call{i}|hotline-agents|NONE|ABANDON|1|1|5\n" for i in range(3000)))
    copy = tmp_path / "queue_log.copy"
    shutil.copy(path, copy)
    barrier = threading.Barrier(2)
    errors = []

    def importer(p):
        try:
            barrier.wait()
            with hl.session() as s:
                import_file(s, str(p))
            roll_up(hl)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=importer, args=(p,)) for p in (path, copy)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert lines(hl) == 6000
    from datetime import date
    with hl.session() as s:
        rows = service_level(s, date(2026, 11, 23), date(2026, 11, 24), "day")
    assert sum(r["offered"] for r in rows) == 3000
    assert sum(r["abandoned"] for r in rows) == 3000
