"""Backups of a running hotline and their restore, on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import json
import tarfile
import threading
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, select, text

from tests.core.helpers import book
from tickets import migrate
from tickets.backup import MANIFEST, BackupError, create_backup, daily_backup, read_manifest, restore_backup
from tickets.models import WorkOrder, WorkOrderEvent


def table_rows(engine) -> dict[str, list[tuple]]:
    """Every row of every table, sorted, for comparing two databases."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return {name: sorted(map(tuple, conn.execute(select(table)).all()), key=repr)
                for name, table in meta.tables.items()}


def with_files(new_hotline, tmp_path, name: str):
    """A hotline whose recordings and prompts folders hold a file each."""
    rec, prompts = tmp_path / f"{name}-rec", tmp_path / f"{name}-prompts"
    (rec / "2026").mkdir(parents=True)
    prompts.mkdir()
    (rec / "2026" / "note-1.wav").write_bytes(b"RIFF voice note")
    (prompts / "welcome.wav").write_bytes(b"RIFF welcome")
    return new_hotline(RECORDINGS_DIR=str(rec), PROMPTS_DIR=str(prompts))


def rewrite_archive(archive: Path, change) -> None:
    """Rebuild `archive` with `change(name, data) -> data` applied to each member."""
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar.getmembers()]
    with tarfile.open(archive, "w") as tar:
        for info, data in members:
            data = change(info.name, data)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_backup_taken_during_bookings_restores_every_acknowledged_booking(new_hotline, tmp_path):
    live = new_hotline()
    with live.session() as s:
        demo_orders = set(s.scalars(select(WorkOrder.number)))
    acknowledged: list[str] = []
    stop = threading.Event()
    failures: list[BaseException] = []

    def keep_booking() -> None:
        day = 1
        while not stop.is_set():
            try:
                with live.session() as s, s.begin():
                    number = book(s, live, days=1 + day % 30, phone=f"1380013{day % 10000:04d}").number
                acknowledged.append(number)      # after the commit: the caller was told
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                failures.append(exc)
                return
            day += 1

    worker = threading.Thread(target=keep_booking)
    worker.start()
    try:
        while len(acknowledged) < 5 and not failures:
            threading.Event().wait(0.05)
        before = list(acknowledged)
        archive = create_backup(live, tmp_path / "backups")
        while len(acknowledged) < len(before) + 3 and not failures:
            threading.Event().wait(0.05)
    finally:
        stop.set()
        worker.join(60)
    assert not failures
    manifest = read_manifest(archive)

    fresh = new_hotline()
    restore_backup(fresh, archive)
    with fresh.session() as s:
        restored = set(s.scalars(select(WorkOrder.number)))
        created = s.scalars(select(WorkOrderEvent.order_id).where(WorkOrderEvent.action == "create")).all()
        assert set(before) <= restored                   # acknowledged before the backup began
        assert restored - demo_orders <= set(acknowledged)
        assert len(created) == len(restored)             # no order without its history: one snapshot
    assert {t: len(r) for t, r in table_rows(fresh.engine).items()} == manifest["rows"]


def test_quiet_hotline_restores_identical_in_every_table_with_its_files(new_hotline, tmp_path):
    live = with_files(new_hotline, tmp_path, "live")
    with live.session() as s, s.begin():
        book(s, live)
    archive = create_backup(live, tmp_path / "backups")

    fresh = with_files(new_hotline, tmp_path, "fresh")
    for path in Path(fresh.settings.recordings_dir).rglob("*.wav"):
        path.unlink()
    done = restore_backup(fresh, archive)
    assert table_rows(fresh.engine) == table_rows(live.engine)
    assert (Path(fresh.settings.recordings_dir) / "2026" / "note-1.wav").read_bytes() == b"RIFF voice note"
    assert done.files == 2


def test_manifest_names_version_schema_rows_and_checksums(hl, tmp_path):
    manifest = read_manifest(create_backup(hl, tmp_path))
    assert manifest["schema_revision"] == migrate.current(hl.engine)
    assert manifest["backend"] == hl.engine.dialect.name
    with hl.session() as s:
        assert manifest["rows"]["work_orders"] == len(s.scalars(select(WorkOrder.id)).all())
    assert set(manifest["sha256"]) == {manifest["database"]}
    assert manifest["hotline_version"]


def test_restore_refuses_an_archive_with_a_damaged_member(new_hotline, tmp_path):
    live = with_files(new_hotline, tmp_path, "live")
    archive = create_backup(live, tmp_path / "backups")
    rewrite_archive(archive, lambda name, data: b"RIFF altered" if name.endswith("note-1.wav") else data)
    fresh = new_hotline()
    with pytest.raises(BackupError, match="checksum mismatch for recordings/2026/note-1.wav"):
        restore_backup(fresh, archive)


def test_restore_refuses_an_archive_from_a_newer_schema(new_hotline, tmp_path):
    archive = create_backup(new_hotline(), tmp_path)

    def newer(name, data):
        if name != MANIFEST:
            return data
        manifest = json.loads(data)
        manifest["schema_revision"] = "0099"
        return json.dumps(manifest).encode()

    rewrite_archive(archive, newer)
    fresh = new_hotline()
    with pytest.raises(BackupError, match="0099 is newer than this hotline"):
        restore_backup(fresh, archive)
    assert migrate.current(fresh.engine) is not None     # the target was left alone


def test_restore_migrates_an_archive_of_an_older_schema(new_hotline, tmp_path):
    old = new_hotline()
    head = migrate.current(old.engine)
    previous = ScriptDirectory.from_config(migrate.alembic_config()).get_revision(head).down_revision
    # A database of the release before this one, made from nothing by its migrations.
    if old.engine.dialect.name == "sqlite":
        old.engine.dispose()
        Path(old.engine.url.database).unlink()
    else:
        with old.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(old.engine, previous)
    archive = create_backup(old, tmp_path)
    assert read_manifest(archive)["schema_revision"] == previous != head

    fresh = new_hotline()
    done = restore_backup(fresh, archive)
    assert (done.schema_from, done.schema_to) == (previous, head)
    assert migrate.current(fresh.engine) == head


def test_daily_backup_runs_once_a_day_and_keeps_the_newest(new_hotline, tmp_path, clock):
    hl = new_hotline(BACKUP_DIR=str(tmp_path / "daily"), BACKUP_KEEP="2")
    made = [daily_backup(hl)]
    assert daily_backup(hl) is None                       # a second run the same day makes nothing
    for _ in range(2):
        clock.advance(days=1)
        made.append(daily_backup(hl))
    assert sorted((tmp_path / "daily").iterdir()) == made[1:]


def test_restore_refuses_an_archive_of_the_other_backend(new_hotline, tmp_path):
    hl = new_hotline()
    archive = create_backup(hl, tmp_path)
    other = "postgresql" if hl.engine.dialect.name == "sqlite" else "sqlite"
    rewrite_archive(archive, lambda name, data: data.replace(
        f'"backend": "{hl.engine.dialect.name}"'.encode(), f'"backend": "{other}"'.encode())
        if name == MANIFEST else data)
    with pytest.raises(BackupError, match=f"holds a {other} database"):
        restore_backup(new_hotline(), archive)
