"""Bookings per second of the whole production shape against one process, on PostgreSQL.

    .venv/bin/python bench/cluster.py [--seconds 20]

Starts the shape of tests/cluster.py (throwaway PostgreSQL and Redis, gunicorn with 2 web
workers, 2 FastAGI processes, a scheduler) and loads it for `--seconds` with bookings from every
channel at once (tests/faults/load.py: SMS and Twilio voice by signed webhooks, FastAGI calls
through the fake Asterisk, two threads per channel and port). Then, in the same run and on the
same PostgreSQL server and Redis, one `hotline run` process (console, FastAGI and scheduler
together) on a fresh demo database of its own, under the same load with both FastAGI threads
pairs on its one port. Every acknowledged booking is looked up afterwards in both.

The machine has 2 cores: the shape's 5 processes share them, so the ratio says what the
processes buy on this host, not what more hosts would.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from tests import servers  # noqa: E402
from tests.cluster import BIN, Cluster  # noqa: E402
from tests.faults.load import check_ledger, run_load  # noqa: E402

log = logging.getLogger("bench.cluster")


class OneProcess:
    """`hotline run` alone on its own database of the cluster's PostgreSQL server."""

    def __init__(self, cluster: Cluster) -> None:
        admin = create_engine(cluster.postgres.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE hotline_single"))
        admin.dispose()
        self.database_url = cluster.postgres.url.rsplit("/", 1)[0] + "/hotline_single"
        self.web_port, port = servers.free_port(), servers.free_port()
        self.agi_ports = (port, port)
        self.base_url = f"http://127.0.0.1:{self.web_port}"
        self.env = {**cluster.env, "DATABASE_URL": self.database_url, "WEB_BIND": f"127.0.0.1:{self.web_port}",
                    "FASTAGI_BIND": f"127.0.0.1:{port}", "PUBLIC_BASE_URL": self.base_url,
                    "PROMETHEUS_MULTIPROC_DIR": ""}
        workdir = cluster.workdir / "single"
        workdir.mkdir()
        subprocess.run([str(BIN / "hotline"), "init", "--demo"], env=self.env, check=True, cwd=workdir,
                       capture_output=True)
        self.proc = subprocess.Popen([str(BIN / "hotline"), "run"], env=self.env, cwd=workdir,
                                     stdout=open(workdir / "run.log", "wb"), stderr=subprocess.STDOUT)
        servers._wait_port(port, 60)
        servers._wait_port(self.web_port, 60)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)


def measure(target, seconds: float, database_url: str) -> dict:
    started = time.monotonic()
    ledger = run_load(target, seconds)
    elapsed = time.monotonic() - started
    figures = check_ledger(database_url, ledger)
    figures["per_s"] = ledger.acknowledged / elapsed
    log.info("  %s", " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))
    log.info("  by channel: sms=%d voice=%d fastagi=%d", len(ledger.sms), len(ledger.voice), len(ledger.agi))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cluster = Cluster()
    single = None
    try:
        cluster.start()
        log.info("the shape (2 web workers, 2 FastAGI, scheduler), %ss of mixed bookings:", args.seconds)
        shape = measure(cluster, args.seconds, cluster.postgres.url)
        os.killpg(cluster.honcho.pid, signal.SIGTERM)      # free the cores for the baseline
        cluster.honcho.wait(30)
        single = OneProcess(cluster)
        log.info("one process (hotline run), the same load:")
        alone = measure(single, args.seconds, single.database_url)
    finally:
        if single is not None:
            single.stop()
        cluster.stop()
    lost, duplicated = shape["lost"] + alone["lost"], shape["duplicated"] + alone["duplicated"]
    print(f"BENCH cluster bookings_per_s={shape['per_s']:.1f} single_process_per_s={alone['per_s']:.1f} "
          f"ratio={shape['per_s'] / alone['per_s']:.2f} lost={lost} duplicated={duplicated}")
    return 0 if lost == 0 and duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
