"""Serving for real, in separate processes: `hotline run --demo` (waitress with FastAGI and the
scheduler, in-process bus), `hotline web`, and gunicorn with two workers sharing Redis. In each, a
screen-pop made by another process reaches an agent's open stream."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from tests.console.live import (Browser, SseStream, agents_answer_now, demo_template, offer_to,  # noqa: F401
                                wait_until)
from tests.servers import free_port
from tickets.config import load_settings
from tickets.context import Hotline

BIN = Path(sys.executable).parent
START_SECONDS = 120      # a cold `run --demo` migrates and hashes the demo passwords first


class Proc:
    """A command of ours running in the background, its output collected line by line."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.lines: list[str] = []
        self.proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, encoding="utf-8", errors="replace")
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines[-60:])

    def wait_for(self, text: str, count: int = 1, timeout: float = START_SECONDS) -> None:
        def seen():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.proc.args} exited with {self.proc.returncode}:\n{self.output()}")
            return sum(text in line for line in self.lines) >= count
        try:
            wait_until(seen, timeout, f"{text!r} in the output")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.output()}") from None

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError(f"{self.proc.args} did not stop on signal {sig}:\n{self.output()}") from None
        return self.proc.returncode


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a spawned hotline: ours, minus any Redis/database of the caller's shell."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL", "SECRET_KEY", "HOTLINE_DEMO")}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path}/hotline.db", "WEB_BIND": f"127.0.0.1:{free_port()}",
                "FASTAGI_BIND": f"127.0.0.1:{free_port()}", "PROMPTS_DIR": str(tmp_path / "sounds"),
                "RECORDINGS_DIR": str(tmp_path / "recordings"), "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
                "STREAM_SLOTS": "16", "WEB_THREADS": "4"})
    env.update(extra)
    return env


def console_url(env: dict[str, str]) -> str:
    return f"http://{env['WEB_BIND']}"


def port_of(bind: str) -> int:
    return int(bind.rpartition(":")[2])


def test_hotline_run_demo_pops_a_simulated_callers_card_on_the_available_agent(tmp_path):
    env = base_env(tmp_path, **agents_answer_now())
    run = Proc([str(BIN / "hotline"), "run", "--demo"], env, tmp_path)
    try:
        run.wait_for("Stop with Ctrl-C.")
        assert f"Console:    {console_url(env)}/" in run.output()
        agent = Browser(console_url(env)).login("agent1")
        agent.set_presence("available")
        stream = SseStream(agent, "/workspace/stream").open()
        # The simulator is another process: it offers the call in its own transaction, which the
        # console's process hears about through the database (no Redis here).
        sim = subprocess.run([str(BIN / "hotline"), "simulate-call", "13800138000", "--keys", "0"], env=env,
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert sim.returncode == 0, sim.stdout + sim.stderr
        assert "RESULT outcome=agent" in sim.stdout, sim.stdout + sim.stderr
        pop = stream.next_of("offer", timeout=10).data["payload"]
        assert pop["card"]["name"] == "王女士"
        assert pop["card"]["member_level"] == "vip"
        assert pop["ivr"]["path"][-1].startswith("agent")
        assert pop["ivr"]["language"] == "zh"
        stream.close()
    finally:
        code = run.stop()
    assert code == 0, run.output()


def test_hotline_web_serves_the_console_alone(tmp_path, demo_template):
    shutil.copyfile(demo_template, tmp_path / "hotline.db")
    env = base_env(tmp_path, HOTLINE_DEMO="1", SECRET_KEY="web-test-secret")
    web = Proc([str(BIN / "hotline"), "web"], env, tmp_path)
    try:
        web.wait_for("Stop with Ctrl-C.")
        assert requests.get(console_url(env) + "/login", timeout=10).status_code == 200
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port_of(env["FASTAGI_BIND"])), timeout=2).close()
    finally:
        code = web.stop(signal.SIGTERM)
    assert code == 0, web.output()


def test_hotline_web_refuses_a_database_without_schema_and_says_what_to_run(tmp_path):
    env = base_env(tmp_path, SECRET_KEY="web-test-secret")
    done = subprocess.run([str(BIN / "hotline"), "web"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "run `hotline init` once" in done.stderr


def test_gunicorn_refuses_a_database_without_schema_before_starting_workers(tmp_path):
    env = base_env(tmp_path, SECRET_KEY="web-test-secret")
    done = subprocess.run([str(BIN / "gunicorn"), "-c", "python:agent_console.wsgi", "--workers", "2",
                           "--bind", env["WEB_BIND"]], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0
    assert "run `hotline init` once" in done.stderr
    assert "Booting worker" not in done.stderr


@pytest.mark.redis
def test_gunicorn_workers_deliver_screen_pops_to_streams_served_by_each_other(tmp_path, demo_template,
                                                                              redis_server):
    shutil.copyfile(demo_template, tmp_path / "hotline.db")
    env = base_env(tmp_path, HOTLINE_DEMO="1", SECRET_KEY="gunicorn-test-secret", REDIS_URL=redis_server.url)
    gunicorn = Proc([str(BIN / "gunicorn"), "-c", "python:agent_console.wsgi", "--workers", "2",
                     "--bind", env["WEB_BIND"]], env, tmp_path)
    streams: list[SseStream] = []
    try:
        gunicorn.wait_for("Booting worker", count=2)
        wait_until(lambda: _responds(console_url(env) + "/login"), 60, "gunicorn to answer")
        agent = Browser(console_url(env)).login("agent1")
        # The kernel hands each new connection to either worker: open streams until both serve some.
        workers: set[str] = set()
        while len(workers) < 2:
            assert len(streams) < 14, f"every stream landed on one worker: {workers}\n{gunicorn.output()}"
            stream = SseStream(agent, "/workspace/stream").open()
            streams.append(stream)
            hello = wait_until(lambda: [c for c in stream.comments if c.startswith("hello")], what="hello")
            workers.add(hello[0].split()[1])

        # A presence change POSTed to one worker reaches the agent's streams on both.
        agent.set_presence("available")
        for stream in streams:
            assert stream.next_of("presence", timeout=5).data["payload"]["presence"] == "available"

        # An offer from another process (as the AMI listener or the simulator makes it) reaches all.
        other = Hotline(load_settings({"DATABASE_URL": env["DATABASE_URL"], "REDIS_URL": redis_server.url}))
        try:
            event_id = offer_to(other, "agent1", external_id="gunicorn-offer")
        finally:
            other.close()
        for stream in streams:
            assert stream.next_of("offer", timeout=5).data["id"] == event_id
    finally:
        for stream in streams:
            stream.close()
        code = gunicorn.stop(signal.SIGTERM)
    assert code == 0, gunicorn.output()


def _responds(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False
