"""Backups of a running hotline and their restore: the database, the voice recordings and the
prompts in one tar archive with a manifest.

The database copy is consistent while bookings go on: on SQLite through SQLite's online backup
API, on PostgreSQL through `pg_dump --format=custom` run in a snapshot exported by a REPEATABLE
READ transaction, in which the manifest's row counts are taken too, so the counts describe
exactly the dump. `pg_dump` and `pg_restore` come with Debian's `postgresql` (or
`postgresql-client`) package.

The manifest (`manifest.json`, first member) names the hotline version, the backend, the schema
revision (Alembic), the row count of every table and the sha256 of every other member. A
restore refuses an archive whose checksums do not match or whose schema is newer than this
hotline knows, and migrates an older one after loading it.
"""
from __future__ import annotations

import glob
import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import Connection, Engine

from . import migrate
from .errors import HotlineError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
PREFIX = "hotline-backup-"
SUFFIX = ".tar"
# Folders kept beside the database, by their member prefix in the archive.
FILE_TREES = ("recordings", "prompts")


class BackupError(HotlineError):
    """A backup cannot be made or an archive cannot be restored; the message says why."""


@dataclass(frozen=True)
class Restored:
    schema_from: str
    schema_to: str
    rows: dict[str, int]
    files: int


def _hotline_version() -> str:
    try:
        return version("hotline")
    except PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _count_rows(conn: Connection) -> dict[str, int]:
    """Rows of every table the database holds (alembic_version included: it is data too)."""
    names = sorted(inspect(conn).get_table_names())
    return {name: conn.execute(select(text("count(*)")).select_from(text(conn.dialect.identifier_preparer
                                                                          .quote(name)))).scalar_one()
            for name in names}


def _pg_tool(name: str) -> str:
    """Path of a PostgreSQL client program (Debian: /usr/bin wrapper, or the version's bin folder)."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise BackupError(f"{name} is not installed: install Debian's postgresql-client (or postgresql) package")
    return found


def _libpq(engine: Engine) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for pg_dump/pg_restore; the password goes in the environment, not argv."""
    url = engine.url
    args = ["--dbname", url.database or ""]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode:
        raise BackupError(f"{Path(cmd[0]).name} failed: {done.stderr.strip() or done.returncode}")


def _copy_sqlite(engine: Engine, dest: Path) -> tuple[str | None, dict[str, int]]:
    """SQLite's online backup API: a consistent copy of the live file, WAL included."""
    raw = engine.raw_connection()
    try:
        target = sqlite3.connect(dest)
        try:
            raw.driver_connection.backup(target)
        finally:
            target.close()
    finally:
        raw.close()
    copy = create_engine(f"sqlite:///{dest}")
    try:
        with copy.connect() as conn:
            return _revision(conn), _count_rows(conn)
    finally:
        copy.dispose()


def _dump_postgres(engine: Engine, dest: Path) -> tuple[str | None, dict[str, int]]:
    """pg_dump in the snapshot of an open REPEATABLE READ transaction that also counts the rows."""
    args, env = _libpq(engine)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        revision, rows = _revision(conn), _count_rows(conn)
        _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
              f"--snapshot={snapshot}", "--file", str(dest), *args], env)
    return revision, rows


def _revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext
    return MigrationContext.configure(conn).get_current_revision()


def _file_trees(settings) -> dict[str, Path]:
    return {"recordings": Path(settings.recordings_dir), "prompts": Path(settings.prompts_dir)}


def backup_name(now) -> str:
    return f"{PREFIX}{now:%Y%m%dT%H%M%S}Z{SUFFIX}"


def create_backup(hl, dest_dir: Path | str) -> Path:
    """Write one archive of the database, recordings and prompts into `dest_dir`; returns its path.

    Safe while the hotline runs: the database copy is one consistent snapshot. The archive is
    written under a temporary name and renamed when complete, so a crash leaves no half archive
    that looks whole.
    """
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    backend = hl.engine.url.get_backend_name()
    with tempfile.TemporaryDirectory(prefix="hotline-backup-") as tmp:
        member = SQLITE_MEMBER if backend == "sqlite" else POSTGRES_MEMBER
        db_copy = Path(tmp) / member
        if backend == "sqlite":
            revision, rows = _copy_sqlite(hl.engine, db_copy)
        elif backend == "postgresql":
            revision, rows = _dump_postgres(hl.engine, db_copy)
        else:
            raise BackupError(f"backups of {backend} databases are not supported (sqlite, postgresql)")
        members: dict[str, Path] = {member: db_copy}
        for prefix, root in _file_trees(hl.settings).items():
            if root.is_dir():
                for path in sorted(p for p in root.rglob("*") if p.is_file()):
                    members[f"{prefix}/{path.relative_to(root).as_posix()}"] = path
        manifest = {"format": 1, "hotline_version": _hotline_version(), "backend": backend,
                    "schema_revision": revision, "created_at": hl.now().isoformat() + "Z",
                    "database": member, "rows": rows,
                    "sha256": {name: _sha256(path) for name, path in members.items()}}
        final = dest_dir / backup_name(hl.now())
        partial = final.with_name(final.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
            for name, path in members.items():
                tar.add(path, arcname=name, recursive=False)
        os.replace(partial, final)
    log.info("backup written: %s (%s, schema %s, %d tables, %d files)", final, backend, revision,
             len(rows), len(members) - 1)
    return final


def read_manifest(archive: Path | str) -> dict:
    with tarfile.open(archive) as tar:
        try:
            return json.load(tar.extractfile(MANIFEST))
        except KeyError:
            raise BackupError(f"{archive} is not a hotline backup: it has no {MANIFEST}") from None


def _check_schema(revision: str | None) -> str:
    """The head this hotline migrates to; refuses a revision it does not know (a newer hotline's)."""
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    head = migrate.head()
    if revision is None:
        raise BackupError("the archive's database has no schema revision: it is not a hotline database")
    try:
        scripts.get_revision(revision)
    except CommandError:
        raise BackupError(f"the archive's schema revision {revision} is newer than this hotline's "
                          f"({head}): restore it with the hotline version that made it "
                          "(or a later one)") from None
    return head


def _verify(tmp: Path, manifest: dict) -> None:
    for name, expected in manifest["sha256"].items():
        path = tmp / name
        if not path.is_file():
            raise BackupError(f"the archive lacks {name}, which its manifest lists: refused")
        if _sha256(path) != expected:
            raise BackupError(f"checksum mismatch for {name}: the archive is damaged or altered; refused")


def _load_sqlite(engine: Engine, source: Path) -> None:
    """Replace the target SQLite database's content with `source`'s, through the backup API."""
    engine.dispose()
    src = sqlite3.connect(source)
    try:
        target = sqlite3.connect(engine.url.database, timeout=30)
        try:
            src.backup(target)
        finally:
            target.close()
    finally:
        src.close()


def _load_postgres(engine: Engine, source: Path) -> None:
    """pg_restore into the target database, dropping what it holds first (--clean)."""
    engine.dispose()
    args, env = _libpq(engine)
    with engine.begin() as conn:
        # --clean drops only what the dump holds; a table added by a later migration would
        # survive with its rows, so the public schema is emptied first.
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    _run([_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
          "--single-transaction", *args, str(source)], env)


def restore_backup(hl, archive: Path | str) -> Restored:
    """Load `archive` into the hotline's database (replacing its content), put its recordings and
    prompts back, and migrate an older schema to this hotline's head.

    Stop the hotline's processes first: the database is replaced underneath them.
    """
    archive = Path(archive)
    manifest = read_manifest(archive)
    backend = hl.engine.url.get_backend_name()
    if manifest.get("backend") != backend:
        raise BackupError(f"the archive holds a {manifest.get('backend')} database and DATABASE_URL is "
                          f"{backend}: restore it into a {manifest.get('backend')} database "
                          "(a dump of one cannot be loaded into the other; see README, Operations)")
    head = _check_schema(manifest.get("schema_revision"))
    with tempfile.TemporaryDirectory(prefix="hotline-restore-") as tmp_name:
        tmp = Path(tmp_name)
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        _verify(tmp, manifest)
        source = tmp / manifest["database"]
        if backend == "sqlite":
            _load_sqlite(hl.engine, source)
        else:
            _load_postgres(hl.engine, source)
        with hl.engine.connect() as conn:
            rows = _count_rows(conn)
        if rows != manifest["rows"]:
            differ = sorted(k for k in set(rows) | set(manifest["rows"]) if rows.get(k) != manifest["rows"].get(k))
            raise BackupError(f"the restored database does not hold the manifest's rows (tables {', '.join(differ)})")
        files = 0
        for prefix, root in _file_trees(hl.settings).items():
            tree = tmp / prefix
            if tree.is_dir():
                shutil.copytree(tree, root, dirs_exist_ok=True)
                files += sum(1 for p in tree.rglob("*") if p.is_file())
    if manifest["schema_revision"] != head:
        migrate.upgrade(hl.engine)
    log.info("restored %s: schema %s -> %s, %d tables, %d files", archive, manifest["schema_revision"], head,
             len(rows), files)
    return Restored(manifest["schema_revision"], head, rows, files)


def prune(dest_dir: Path | str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` archives in `dest_dir` (by the time in their names)."""
    archives = sorted(Path(dest_dir).glob(f"{PREFIX}*{SUFFIX}"))
    doomed = archives[:-keep] if keep > 0 else []
    for path in doomed:
        path.unlink()
    return doomed


def daily_backup(hl) -> Path | None:
    """The scheduler's job: a backup when the newest archive in BACKUP_DIR is a day old or there is
    none, then keep the newest BACKUP_KEEP. The archives are the state, so a second run the same
    day (another leader, a restart) makes nothing."""
    settings = hl.settings
    if settings.backup_keep <= 0:
        return None
    dest = Path(settings.backup_dir)
    newest = max(dest.glob(f"{PREFIX}*{SUFFIX}"), default=None)
    if newest is not None and newest.name > backup_name(hl.now() - timedelta(days=1)):
        return None
    made = create_backup(hl, dest)
    for path in prune(dest, settings.backup_keep):
        log.info("old backup removed (BACKUP_KEEP=%d): %s", settings.backup_keep, path)
    return made
