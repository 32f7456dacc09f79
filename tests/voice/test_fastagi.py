"""The FastAGI server running the voice menu: refusals, bounds, shutdown, logging, robustness."""
from __future__ import annotations

import logging
import socket
import threading

import pytest

from agi_scripts.fake_asterisk import Caller, FakeAsterisk, ScriptedKeys, Sounds
from agi_scripts.fastagi import FastAgiServer, parse_allow, peer_allowed
from agi_scripts.service import menu_handler, menu_server
from ivr.scenarios import DEMO_PATH, WANG
from tickets import calls
from tickets.models import WorkOrder

from .conftest import catalog_sounds

DEADLINE = 30.0


class HeldKeys:
    """A caller who, at the first input, waits until the test lets them go on."""

    def __init__(self, text: str) -> None:
        self.keys = ScriptedKeys.parse(text)
        self.waiting = threading.Event()
        self.release = threading.Event()

    def next_input(self, kind: str):
        if not self.waiting.is_set():
            self.waiting.set()
            assert self.release.wait(DEADLINE), "the test never released the caller"
        return self.keys.next_input(kind)


def place(server, caller: Caller, sounds: Sounds | None = None):
    return FakeAsterisk(caller, sounds or catalog_sounds()).call_fastagi(*server.address)


def place_in_thread(server, caller: Caller) -> tuple[threading.Thread, dict]:
    box: dict = {}
    t = threading.Thread(target=lambda: box.setdefault("result", place(server, caller)))
    t.start()
    return t, box


def record_of(hl, result):
    with hl.session() as s:
        return calls.get_call(s, result.uniqueid)


def test_the_demo_booking_over_fastagi_books_and_says_goodbye(hl, fastagi):
    result = place(fastagi, Caller(WANG, keys=ScriptedKeys.parse(DEMO_PATH)))
    assert result.variables["HOTLINE_RESULT"] == "hangup"
    assert record_of(hl, result).outcome == "booked"
    assert result.hung_up_by == "script"


def test_a_peer_outside_the_allow_list_is_refused_before_any_command(hl):
    server = menu_server(hl, bind=("127.0.0.1", 0))
    server.allow = parse_allow(["10.0.0.0/8"])
    server.start()
    try:
        result = place(server, Caller(WANG, keys=ScriptedKeys.parse("1")))
    finally:
        server.stop(grace=5)
    assert result.commands == 0
    assert "HOTLINE_RESULT" not in result.variables      # the dialplan's failure path takes the call
    assert server.refused == 1
    assert record_of(hl, result) is None


@pytest.mark.parametrize("peer, allowed", [("127.0.0.1", True), ("10.0.0.7", True), ("10.1.0.7", False),
                                           ("::1", True), ("::ffff:10.0.0.9", True), ("192.168.1.1", False)])
def test_the_allow_list_takes_addresses_and_networks(peer, allowed):
    assert peer_allowed(peer, parse_allow(["127.0.0.1", "::1", "10.0.0.0/24"])) is allowed


def test_a_bad_allow_list_entry_names_the_variable():
    with pytest.raises(ValueError, match="FASTAGI_ALLOW"):
        parse_allow(["10.0.0.0/33"])


def test_calls_beyond_the_limit_are_refused_and_the_others_carry_on(hl):
    server = menu_server(hl, bind=("127.0.0.1", 0), max_calls=2).start()
    # Morning and afternoon: the same booking twice would be refused as a duplicate.
    held = [HeldKeys(DEMO_PATH), HeldKeys("1 1 1 2 2 1 1")]
    try:
        running = [place_in_thread(server, Caller(WANG, keys=h)) for h in held]
        for h in held:
            assert h.waiting.wait(DEADLINE)
        refused = place(server, Caller(WANG, keys=ScriptedKeys.parse("1")))
        for h in held:
            h.release.set()
        for t, _ in running:
            t.join(DEADLINE)
    finally:
        for h in held:
            h.release.set()
        server.stop(grace=5)
    assert refused.commands == 0
    assert server.refused == 1
    assert [box["result"].variables["HOTLINE_RESULT"] for _, box in running] == ["hangup", "hangup"]
    assert [record_of(hl, box["result"]).outcome for _, box in running] == ["booked", "booked"]


def test_stopping_lets_a_call_in_progress_finish_and_accepts_no_new_one(hl):
    server = menu_server(hl, bind=("127.0.0.1", 0)).start()
    address = server.address
    held = HeldKeys(DEMO_PATH)
    t, box = place_in_thread(server, Caller(WANG, keys=held))
    assert held.waiting.wait(DEADLINE)
    stopper = threading.Thread(target=server.stop, kwargs={"grace": DEADLINE})
    stopper.start()
    server._thread.join(DEADLINE)          # the accept loop has ended: the port is closed
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=5).close()
    held.release.set()
    t.join(DEADLINE)
    stopper.join(DEADLINE)
    assert not stopper.is_alive()
    assert record_of(hl, box["result"]).outcome == "booked"


def test_a_call_still_running_after_the_grace_period_is_cut_and_recorded_as_abandoned(hl):
    server = menu_server(hl, bind=("127.0.0.1", 0)).start()
    held = HeldKeys(DEMO_PATH)
    t, box = place_in_thread(server, Caller(WANG, keys=held))
    assert held.waiting.wait(DEADLINE)
    server.stop(grace=0)
    held.release.set()
    t.join(DEADLINE)
    record = record_of(hl, box["result"])
    assert record.outcome == "abandoned"
    assert record.abandoned_at == "main"


def test_each_call_leaves_one_log_line_with_its_uniqueid(hl, fastagi, caplog):
    with caplog.at_level(logging.INFO, logger="agi_scripts.fastagi"):
        result = place(fastagi, Caller(WANG, keys=ScriptedKeys.parse("0")))
        fastagi.stop(grace=5)
    lines = [r.getMessage() for r in caplog.records if result.uniqueid in r.getMessage()]
    assert len(lines) == 1
    assert "outcome=agent" in lines[0]
    assert "ended=transfer" in lines[0]


def test_a_missing_prompt_file_is_skipped_not_taken_for_a_hang_up(hl, fastagi):
    sounds = catalog_sounds()
    sounds.missing = {"hotline/zh/main.menu", "hotline/zh/book.category"}
    result = place(fastagi, Caller(WANG, keys=ScriptedKeys.parse(DEMO_PATH)), sounds)
    assert [h.value for h in result.heard if h.kind == "missing"] == ["hotline/zh/main.menu",
                                                                        "hotline/zh/book.category"]
    assert "CHANNEL STATUS" in result.commands_sent()
    assert record_of(hl, result).outcome == "booked"


def test_a_key_pressed_during_a_prompt_stops_it_and_counts_as_the_choice(hl, fastagi):
    result = place(fastagi, Caller(WANG, keys=ScriptedKeys.parse(DEMO_PATH), barge_in=True))
    assert record_of(hl, result).outcome == "booked"
    assert not any(c.startswith("GET DATA") for c in result.commands_sent())   # one-key menus need no GET DATA


def test_a_number_keyed_over_a_prompt_joins_the_rest_typed_after_it(hl, fastagi):
    # the MMDD date: its first digit stops the prompt, GET DATA reads the other three
    result = place(fastagi, Caller(WANG, keys=ScriptedKeys.parse("1 1 1 4 1201 2 1 1"), barge_in=True))
    gets = [c.rsplit(" ", 1)[1] for c in result.commands_sent() if c.startswith("GET DATA")]
    assert gets == ["3"]                     # one GET DATA, for the three keys after the first
    with hl.session() as s:
        order = s.get(WorkOrder, calls.get_call(s, result.uniqueid).order_id)
        assert order.scheduled_start.strftime("%m%d") == "1201"


def test_a_menu_that_cannot_reach_its_database_sends_the_caller_to_the_queue(hl, tmp_path, request):
    handler = menu_handler(hl)
    hl.engine.dispose()
    # The database is gone under the running server.
    if hl.engine.dialect.name == "sqlite":
        (tmp_path / "hotline.db").unlink()
    else:
        request.getfixturevalue("postgres_databases").drop(hl.settings.database_url)
    server = FastAgiServer(handler, bind=("127.0.0.1", 0)).start()
    try:
        result = place(server, Caller(WANG, keys=ScriptedKeys.parse("1")))
    finally:
        server.stop(grace=5)
    # In business hours (by the clock; the holiday calendar is out of reach too): the apology, then the queue.
    played = [c for c in result.commands_sent() if c.startswith("STREAM FILE")]
    assert any("error.system" in c for c in played) and any("retry.transfer" in c for c in played)
    assert result.variables["HOTLINE_RESULT"] == "transfer"


def test_an_unknown_script_name_sends_the_caller_to_the_queue(hl, fastagi):
    result = FakeAsterisk(Caller(WANG), catalog_sounds()).call_fastagi(*fastagi.address, script="nosuch")
    assert result.variables["HOTLINE_RESULT"] == "failed"


class SlowFor:
    """The engine, with every step of one caller's call held until the test lets it go
    (a database that is slow for that call)."""

    def __init__(self, ivr, caller: str) -> None:
        self.ivr, self.caller = ivr, caller
        self.held = threading.Event()
        self.release = threading.Event()
        self.slow_calls: set[str] = set()

    def step(self, state, event):
        if event["type"] == "start" and event["caller"] == self.caller:
            self.slow_calls.add(event["call_id"])
        if (event.get("call_id") or (state or {}).get("call_id")) in self.slow_calls and event["type"] == "digits":
            self.held.set()
            assert self.release.wait(DEADLINE), "the test never released the slow call"
        return self.ivr.step(state, event)


def test_a_call_stuck_on_a_slow_step_does_not_hold_up_the_others(hl):
    from agi_scripts.driver import CallDriver
    from ivr.runtime import Ivr

    slow = SlowFor(Ivr(hl), WANG)
    server = FastAgiServer(lambda ch: CallDriver(slow, ch, "fastagi", hl.settings.recordings_dir).run().log_fields(),
                           bind=("127.0.0.1", 0)).start()
    try:
        stuck, box = place_in_thread(server, Caller(WANG, keys=ScriptedKeys.parse(DEMO_PATH)))
        assert slow.held.wait(DEADLINE)
        other = place(server, Caller("13900139000", keys=ScriptedKeys.parse("0")))
        assert other.variables["HOTLINE_RESULT"] == "transfer"
        assert stuck.is_alive()
        slow.release.set()
        stuck.join(DEADLINE)
    finally:
        slow.release.set()
        server.stop(grace=5)
    assert record_of(hl, box["result"]).outcome == "booked"


def test_hotline_fastagi_serves_calls_and_stops_cleanly_on_sigterm(hl, clock):
    import queue
    import signal
    import subprocess

    from .conftest import agi_environment, hotline_agi

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**agi_environment(hl, clock), "FASTAGI_BIND": f"127.0.0.1:{port}", "LOG_LEVEL": "INFO"}
    exe = hotline_agi()[0].replace("hotline-agi", "hotline-fastagi")
    proc = subprocess.Popen([exe], env=env, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True)
    reader.start()
    try:
        while "FastAGI listening on" not in lines.get(timeout=DEADLINE):
            pass
        result = FakeAsterisk(Caller(WANG, keys=ScriptedKeys.parse(DEMO_PATH)), catalog_sounds()).call_fastagi(
            "127.0.0.1", port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(DEADLINE)
    log = []
    while not lines.empty():
        log.append(lines.get())
    assert result.variables["HOTLINE_RESULT"] == "hangup"
    assert record_of(hl, result).outcome == "booked"
    assert any(f"call {result.uniqueid} " in line for line in log)
    assert any("FastAGI stopped after 1 calls (0 refused)" in line for line in log)


def test_a_caller_gone_during_the_answer_still_leaves_an_abandoned_call_record(hl, fastagi):
    result = place(fastagi, Caller(WANG, keys=ScriptedKeys.parse("1"), hangup_before_answer=True))
    assert result.commands_sent()[0] == "ANSWER"
    assert result.variables["HOTLINE_RESULT"] == "abandoned"
    record = record_of(hl, result)
    # gone before the greeting's first word: the greeting is where the caller left
    assert (record.outcome, record.abandoned_at, record.ivr_path) == ("abandoned", "greet", ["start", "greet", "main"])
    assert record.ended_at is not None


def test_twenty_calls_at_once_on_sqlite_all_book(hl):
    # Without a limit on concurrent engine steps, SQLite's single writer makes some of them
    # time out under this load, and those callers end up with an agent instead of an order.
    server = menu_server(hl, bind=("127.0.0.1", 0), max_calls=20).start()
    try:
        # Each on a day of its own (December 1-20): the same booking twice would be refused as a duplicate.
        running = [place_in_thread(server, Caller(WANG, keys=ScriptedKeys.parse(f"1 1 1 4 12{n + 1:02d} 1 1 1")))
                   for n in range(20)]
        for t, _ in running:
            t.join(DEADLINE * 4)
    finally:
        server.stop(grace=5)
    assert [record_of(hl, box["result"]).outcome for _, box in running] == ["booked"] * 20


@pytest.mark.parametrize("caller, keys, priority", [
    (WANG, "0", "2"),                     # 王女士, VIP: CARD_LEVELS' vip priority
    ("13900139000", "0", "1"),            # 李先生, senior
    ("13700137000", "0", None),           # Mr. Smith, standard: priority 0
    ("13511112222", "1 0", None)])        # nobody we know (chooses a language first)
def test_the_transfer_sets_queue_prio_to_the_callers_level_priority(hl, fastagi, caller, keys, priority):
    result = place(fastagi, Caller(caller, keys=ScriptedKeys.parse(keys)))
    assert result.variables["HOTLINE_RESULT"] == "transfer"
    lines = [line for _, direction, line in result.transcript if direction == "agi>"]
    sent = [line for line in lines if "QUEUE_PRIO" in line]
    if priority is None:
        assert sent == [] and "QUEUE_PRIO" not in result.variables
    else:
        assert sent == [f'SET VARIABLE "QUEUE_PRIO" "{priority}"'] and result.variables["QUEUE_PRIO"] == priority
        # set before the menu hands the call back to the dialplan's Queue()
        assert lines.index(sent[0]) < lines.index('SET VARIABLE "HOTLINE_RESULT" "transfer"')
