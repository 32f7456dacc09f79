"""Throwaway PostgreSQL and Redis servers for the test suite, on free loopback ports.

Like pytest-postgresql / pytest-redis: each test session starts its own instances in a temp
directory and removes them afterwards. The Debian packages are installed by scripts/test.sh.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not come up in {seconds}s")


def pg_bindir() -> str | None:
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(cand, "initdb")):
            return cand
    path = shutil.which("initdb")
    return os.path.dirname(path) if path else None


@dataclass
class Server:
    url: str
    stop: callable


def start_postgres() -> Server:
    bindir = pg_bindir()
    if not bindir:
        raise RuntimeError("PostgreSQL is not installed (Debian package postgresql); scripts/test.sh installs it")
    tmp = tempfile.mkdtemp(prefix="hotline-pg-")
    port = free_port()
    as_user: list[str] = []
    if os.geteuid() == 0:
        # initdb refuses to run as root: run the throwaway cluster as the postgres system user.
        pw = pwd.getpwnam("postgres")
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = os.path.join(tmp, "data")
    subprocess.run(as_user + [f"{bindir}/initdb", "-D", data, "-U", "hotline", "--auth=trust", "-E", "UTF8",
                              "--locale=C.UTF-8"], check=True, capture_output=True)
    subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(tmp, "log"), "-w", "-o",
                              f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off "
                              "-c max_connections=200", "start"], check=True, capture_output=True)
    _wait_port(port)
    subprocess.run(as_user + [f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "hotline",
                              "hotline_test"], check=True, capture_output=True)

    def stop() -> None:
        subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    return Server(f"postgresql+psycopg://hotline@127.0.0.1:{port}/hotline_test", stop)


def start_redis() -> Server:
    exe = shutil.which("redis-server")
    if not exe:
        raise RuntimeError("Redis is not installed (Debian package redis-server); scripts/test.sh installs it")
    tmp = tempfile.mkdtemp(prefix="hotline-redis-")
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_port(port)

    def stop() -> None:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    return Server(f"redis://127.0.0.1:{port}/0", stop)
