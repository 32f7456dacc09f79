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
    stop: callable                  # for good: the server and its files
    down: callable = None           # shut down, keeping port and data directory (a fault)
    up: callable = None             # start again after `down`, on the same port and data


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

    def up() -> None:
        subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(tmp, "log"), "-w", "-o",
                                  f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off "
                                  "-c max_connections=200", "start"], check=True, capture_output=True)
        _wait_port(port)

    def down() -> None:
        """pg_ctl stop -m fast: open sessions are ended, as for a restart."""
        subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], check=True,
                       capture_output=True)

    up()
    subprocess.run(as_user + [f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "hotline",
                              "hotline_test"], check=True, capture_output=True)

    def stop() -> None:
        subprocess.run(as_user + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    return Server(f"postgresql+psycopg://hotline@127.0.0.1:{port}/hotline_test", stop, down, up)


def start_redis() -> Server:
    exe = shutil.which("redis-server")
    if not exe:
        raise RuntimeError("Redis is not installed (Debian package redis-server); scripts/test.sh installs it")
    tmp = tempfile.mkdtemp(prefix="hotline-redis-")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    procs: list[subprocess.Popen] = []

    def up() -> None:
        procs.append(subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no", "--dir", tmp],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_port(port)

    def down() -> None:
        """SHUTDOWN SAVE: Redis writes its data to the directory (loaded by `up`) and exits."""
        import redis
        try:
            redis.Redis.from_url(url).shutdown(save=True)
        except redis.ConnectionError:
            pass                      # the server hung up as it went: that is the answer
        procs[-1].wait(30)

    def stop() -> None:
        if procs[-1].poll() is None:
            procs[-1].terminate()
            procs[-1].wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    up()
    return Server(url, stop, down, up)
