"""The production shape on one machine, for scripts/cluster.sh, the fault suite and bench/cluster.py.

Throwaway PostgreSQL and Redis (tests/servers.py), `hotline init --demo`, then the Procfile under
honcho: gunicorn with 2 web workers, 2 FastAGI processes on their own ports, and a scheduler,
all sharing the database, Redis and a PROMETHEUS_MULTIPROC_DIR.

    python -m tests.cluster          # runs until Ctrl-C; prints the URLs
"""
from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests import servers

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def children(pid: int) -> list[int]:
    """Direct children of `pid` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def command_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    for child in children(pid):
        out += [child] + descendants(child)
    return out


class Cluster:
    """Start with `start()`, stop with `stop()`; `env` is what every process got."""

    def __init__(self, workdir: Path | str | None = None, **env: str) -> None:
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="hotline-cluster-"))
        self.extra_env = env
        self.postgres = self.redis = None
        self.honcho: subprocess.Popen | None = None
        self.web_port = servers.free_port()
        self.agi_ports = (servers.free_port(), servers.free_port())

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start(self) -> "Cluster":
        self.postgres = servers.start_postgres()
        self.redis = servers.start_redis()
        metrics = self.workdir / "metrics"
        metrics.mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", "PYTHONPATH": str(ROOT),
                    "DATABASE_URL": self.postgres.url, "REDIS_URL": self.redis.url,
                    "SECRET_KEY": "cluster-secret", "HOTLINE_DEMO": "1", "SMS_PROVIDER": "console",
                    "TWILIO_AUTH_TOKEN": "cluster-twilio-token", "TWILIO_ACCOUNT_SID": "ACcluster",
                    "PUBLIC_BASE_URL": self.base_url,
                    "WEB_BIND": f"127.0.0.1:{self.web_port}", "WEB_THREADS": "8", "STREAM_SLOTS": "8",
                    "FASTAGI_BIND_1": f"127.0.0.1:{self.agi_ports[0]}",
                    "FASTAGI_BIND_2": f"127.0.0.1:{self.agi_ports[1]}",
                    "PROMETHEUS_MULTIPROC_DIR": str(metrics), "RECORDINGS_DIR": str(self.workdir / "recordings"),
                    **self.extra_env}
        subprocess.run([str(BIN / "hotline"), "init", "--demo"], env=self.env, check=True, cwd=self.workdir,
                       capture_output=True)
        self.log_path = self.workdir / "cluster.log"
        self.honcho = subprocess.Popen([str(BIN / "honcho"), "-f", str(ROOT / "Procfile"), "-d", str(self.workdir),
                                        "start"], env=self.env, cwd=self.workdir, start_new_session=True,
                                       stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT)
        self.wait_ready()
        return self

    def wait_ready(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        for port in self.agi_ports:
            servers._wait_port(port, max(1, deadline - time.monotonic()))
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base_url + "/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the cluster did not become ready in {seconds}s; see {self.log_path}")

    def pids(self, marker: str) -> list[int]:
        """The shape's processes (not their shells) whose command line contains `marker`."""
        return [p for p in descendants(self.honcho.pid) if marker in command_of(p) and not children(p)]

    def web_workers(self) -> list[int]:
        """gunicorn's worker processes (the master's children)."""
        return self.pids("gunicorn")

    def fastagi_pid(self, port: int) -> int:
        """The FastAGI process listening on `port`."""
        bind = f"FASTAGI_BIND=127.0.0.1:{port}".encode()
        return next(p for p in self.pids("--only fastagi") if bind in Path(f"/proc/{p}/environ").read_bytes().split(b"\0"))

    def stop(self) -> None:
        if self.honcho is not None and self.honcho.poll() is None:
            os.killpg(self.honcho.pid, signal.SIGTERM)
            try:
                self.honcho.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.honcho.pid, signal.SIGKILL)
                self.honcho.wait(10)
        for srv in (self.redis, self.postgres):
            if srv is not None:
                srv.stop()


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cluster = Cluster(os.environ.get("CLUSTER_DIR"))
    try:
        cluster.start()
        log.info("Hotline cluster is running (log: %s)\n  console and webhooks: %s (2 gunicorn workers)\n"
                 "  FastAGI: agi://127.0.0.1:%d/hotline and agi://127.0.0.1:%d/hotline\n  scheduler: 1 process\n"
                 "  PostgreSQL: %s\n  Redis: %s\nStop with Ctrl-C.", cluster.log_path, cluster.base_url,
                 *cluster.agi_ports, cluster.postgres.url, cluster.redis.url)
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    sys.exit(main())
