"""Redis going away and coming back: the bus rides it out and hears the other processes again."""
from __future__ import annotations

import logging
import shutil
import subprocess
import time

import pytest

from tests import servers
from tickets.bus import RedisBus

pytestmark = pytest.mark.redis


class RestartableRedis:
    """A redis-server on a fixed port that the test stops (kill -9) and starts again."""

    def __init__(self, tmp_path) -> None:
        self.exe = shutil.which("redis-server")
        if self.exe is None:
            pytest.skip("Redis is not installed (scripts/test.sh installs it)")
        self.port, self.dir, self.proc = servers.free_port(), tmp_path, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen([self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.dir)], stdout=subprocess.DEVNULL)
        servers._wait_port(self.port)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def redis_restartable(tmp_path):
    server = RestartableRedis(tmp_path)
    server.start()
    yield server
    server.kill()


def arrives(bus: RedisBus, sub, topic: str, seconds: float) -> bool:
    """Publish `topic` until a subscriber of this process hears it back through Redis, or give up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        bus.publish(topic, {"ping": True})
        if sub.get(timeout=0.25) is not None:
            return True
    return False


def test_bus_hears_other_processes_again_within_5_s_of_redis_returning(redis_restartable):
    bus = RedisBus(redis_restartable.url)
    sub = bus.subscribe("catalog.*")
    try:
        assert arrives(bus, sub, "catalog.changed", 5)
        redis_restartable.kill()
        time.sleep(1)
        redis_restartable.start()
        assert arrives(bus, sub, "catalog.changed", 5)
    finally:
        bus.close()


def test_publishing_during_a_redis_outage_warns_once_and_raises_nothing(redis_restartable, caplog):
    bus = RedisBus(redis_restartable.url)
    try:
        redis_restartable.kill()
        with caplog.at_level(logging.WARNING, logger="tickets.bus"):
            for _ in range(20):
                bus.publish("agent.screenpop", {"call_id": 1})
            time.sleep(1)                              # the listener notices too
        assert [r.getMessage()[:26] for r in caplog.records] == ["bus: Redis unreachable (Er"]
        assert all(r.exc_info is None for r in caplog.records)
    finally:
        bus.close()


def test_a_bus_made_while_redis_is_down_hears_other_processes_once_it_is_up(tmp_path):
    """A process started during the outage (gunicorn replacing a worker) boots, deaf until Redis is back."""
    server = RestartableRedis(tmp_path)
    bus = RedisBus(server.url)
    sub = bus.subscribe("catalog.*")
    try:
        server.start()
        assert arrives(bus, sub, "catalog.changed", 5)
    finally:
        bus.close()
        server.kill()
