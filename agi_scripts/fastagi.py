"""`hotline-fastagi`: the FastAGI server Asterisk connects to with `AGI(agi://host:4573/hotline)`.

Threaded like wazo-agid: one listening socket, one worker thread per call from a pool, at
most FASTAGI_MAX_CALLS calls at once. A peer outside FASTAGI_ALLOW, or a call beyond the
limit, is refused by closing the connection at once: the dialplan sees no HOTLINE_RESULT and
sends the caller to the agent queue instead of dead air. Bound to 127.0.0.1:4573 by default.
Stopping waits for calls in progress (a grace period), then closes what is left. One log line
per call, with its uniqueid.
"""
from __future__ import annotations

import argparse
import logging
import selectors
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable

from tickets.config import in_networks as peer_allowed, parse_networks

from .channel import AgiChannel, ChannelHungUp
from .environment import read_environment

log = logging.getLogger(__name__)

ENV_TIMEOUT_S = 10        # Asterisk sends the environment at once; a peer that does not is broken
REPLY_TIMEOUT_S = 900     # longest wait for one reply (a long recording); then the call is dropped
STOP_GRACE_S = 30.0
BACKLOG = 512

CallHandler = Callable[[AgiChannel], str]     # runs one call; returns the fields of its log line


class SocketWriter:
    """The `write`/`flush` file interface AgiChannel needs, on `sendall` (no partial writes)."""

    __slots__ = ("_sock",)

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def write(self, data: bytes) -> None:
        self._sock.sendall(data)

    def flush(self) -> None:
        """Nothing is buffered."""


def parse_allow(entries: Iterable[str]) -> tuple:
    """FASTAGI_ALLOW's addresses or CIDR networks -> ip_network objects; a bad entry names the variable."""
    return parse_networks(entries, "FASTAGI_ALLOW")


class FastAgiServer:
    """A bounded, threaded FastAGI server; `handle_call(channel) -> log fields` runs each call."""

    def __init__(self, handle_call: CallHandler, bind: tuple[str, int] = ("127.0.0.1", 4573),
                 allow: Iterable[str] = ("127.0.0.1", "::1"), max_calls: int = 200) -> None:
        if max_calls < 1:
            raise ValueError(f"FASTAGI_MAX_CALLS must be at least 1, not {max_calls}")
        self.handle_call = handle_call
        self.bind = bind
        self.allow = parse_allow(allow)
        self.max_calls = max_calls
        self.refused = 0
        self.served = 0
        self._slots = threading.BoundedSemaphore(max_calls)
        self._active: dict[int, socket.socket] = {}
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._listener: socket.socket | None = None
        self._bound: tuple[str, int] = bind
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()

    @property
    def address(self) -> tuple[str, int]:
        """Where the server listens (the real port when bound to port 0)."""
        return self._bound

    @property
    def active_calls(self) -> int:
        with self._lock:
            return len(self._active)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "FastAgiServer":
        host, port = self.bind
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            self._listener = socket.create_server((host, port), family=family, backlog=BACKLOG)
        except OSError as exc:
            raise OSError(exc.errno, f"FastAGI cannot listen on {host}:{port} ({exc.strerror}); "
                                     "set FASTAGI_BIND to a free HOST:PORT") from None
        self._bound = self._listener.getsockname()[:2]
        self._pool = ThreadPoolExecutor(max_workers=self.max_calls, thread_name_prefix="fastagi-call")
        self._thread = threading.Thread(target=self._accept_loop, name="fastagi-accept", daemon=True)
        self._thread.start()
        log.info("FastAGI listening on %s:%s (max %d calls, allowed %s)", *self.address, self.max_calls,
                 ", ".join(map(str, self.allow)))
        return self

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop accepting, let calls in progress finish for `grace` seconds, then cut the rest."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._wake_w.send(b"x")
        if self._thread is not None:
            self._thread.join()
        deadline = time.monotonic() + grace
        with self._idle:
            while self._active and time.monotonic() < deadline:
                self._idle.wait(deadline - time.monotonic())
            left = list(self._active.values())
        if left:
            log.warning("FastAGI stopping: cutting %d calls still in progress after %.0f s", len(left), grace)
            for conn in left:
                try:
                    conn.shutdown(socket.SHUT_RDWR)   # wakes the call's thread, which closes it
                except OSError:
                    pass
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._wake_r.close()
        self._wake_w.close()
        log.info("FastAGI stopped after %d calls (%d refused)", self.served, self.refused)

    # ------------------------------------------------------------------ accepting

    def _accept_loop(self) -> None:
        assert self._listener is not None
        sel = selectors.DefaultSelector()
        sel.register(self._listener, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                for key, _ in sel.select():
                    if key.fileobj is self._wake_r:
                        return
                    try:
                        conn, peer = self._listener.accept()
                    except OSError:
                        continue
                    self._admit(conn, peer)
        finally:
            sel.close()
            self._listener.close()

    def _admit(self, conn: socket.socket, peer) -> None:
        if not peer_allowed(peer[0], self.allow):
            self.refused += 1
            log.warning("FastAGI refused %s: not in FASTAGI_ALLOW (%s)", peer[0], ", ".join(map(str, self.allow)))
            _shutdown(conn)
            return
        if not self._slots.acquire(blocking=False):
            self.refused += 1
            log.warning("FastAGI refused a call from %s: %d calls in progress (FASTAGI_MAX_CALLS); "
                        "the dialplan sends it to the agent queue", peer[0], self.max_calls)
            _shutdown(conn)
            return
        with self._lock:
            self._active[id(conn)] = conn
        try:
            self._pool.submit(self._serve, conn, peer)
        except RuntimeError:         # the pool is shutting down
            with self._idle:
                self._active.pop(id(conn), None)
                self._idle.notify_all()
            self._slots.release()
            _shutdown(conn)

    def _release(self, conn: socket.socket) -> None:
        with self._idle:
            self._active.pop(id(conn), None)
            self.served += 1
            self._idle.notify_all()
        self._slots.release()

    # ------------------------------------------------------------------ one call

    def _serve(self, conn: socket.socket, peer) -> None:
        started = time.monotonic()
        uniqueid = "-"
        fields = ""
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(ENV_TIMEOUT_S)
            rfile = conn.makefile("rb")
            try:
                env = read_environment(rfile)
                uniqueid = env.get("agi_uniqueid", "-")
                conn.settimeout(REPLY_TIMEOUT_S)
                channel = AgiChannel(rfile, SocketWriter(conn), env)
                fields = self.handle_call(channel)
            finally:
                rfile.close()
        except (ChannelHungUp, EOFError, OSError) as exc:
            fields = f"ended=dropped reason={exc.__class__.__name__} ms={(time.monotonic() - started) * 1000:.0f}"
        except Exception:  # noqa: BLE001 - one broken call must not stop the server
            log.exception("FastAGI call %s from %s failed", uniqueid, peer[0])
            fields = f"ended=failed ms={(time.monotonic() - started) * 1000:.0f}"
        finally:
            self._release(conn)
            _shutdown(conn)
        log.info("call %s peer=%s %s", uniqueid, peer[0], fields or f"ms={(time.monotonic() - started) * 1000:.0f}")


def _shutdown(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()


# ---------------------------------------------------------------------- hotline-fastagi

def main(argv: list[str] | None = None) -> int:
    """Run the FastAGI server on its own (without the web console) until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="hotline-fastagi", description=(
        "FastAGI server for the Hotline voice menu. Configuration from the environment "
        "(DATABASE_URL, FASTAGI_BIND, FASTAGI_ALLOW, FASTAGI_MAX_CALLS, RECORDINGS_DIR; see README)."))
    parser.add_argument("--bind", help="HOST:PORT to listen on (default: FASTAGI_BIND)")
    parser.add_argument("--max-calls", type=int, help="concurrent calls (default: FASTAGI_MAX_CALLS)")
    parser.add_argument("--grace", type=float, default=STOP_GRACE_S,
                        help="seconds calls in progress get to finish on shutdown (default %(default)s)")
    args = parser.parse_args(argv)

    from tickets.cli import setup_logging, wait_for_stop
    from tickets.config import ConfigError, load_settings
    from tickets.context import create_hotline

    overrides = {}
    if args.bind:
        overrides["FASTAGI_BIND"] = args.bind
    if args.max_calls:
        overrides["FASTAGI_MAX_CALLS"] = str(args.max_calls)
    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        print(f"hotline-fastagi: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    hl = create_hotline(settings)

    from .service import menu_server
    try:
        server = menu_server(hl).start()
    except (OSError, ValueError) as exc:
        print(f"hotline-fastagi: {exc}", file=sys.stderr)
        return 1
    wait_for_stop()
    server.stop(args.grace)
    hl.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
