"""`hotline simulate-call`: a phone call in the terminal, over the real FastAGI protocol.

The fake Asterisk (agi_scripts/fake_asterisk.py) dials the running `hotline run`'s FastAGI
port, or, when nothing listens there, a FastAGI server started in this process on a free
port. Each prompt it is asked to play is printed with its text from `ivr.prompts`. When the
call ends in a transfer there is no PBX queue to ring anyone, so the simulator stands in for
it: the call is offered to the available agent who waited longest (the console's screen-pop).
The last line is always `RESULT outcome=<outcome> order=<number or ->`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from .fake_asterisk import Caller, CallResult, FakeAsterisk, Heard, KeySource, Sounds

log = logging.getLogger(__name__)

PROMPT_PREFIX = "hotline/"
JOIN = {"zh": "", "en": " "}


def parse_agi_url(url: str) -> tuple[str, int, str]:
    """agi://host[:port][/script] -> (host, port, script)."""
    parts = urlsplit(url)
    if parts.scheme != "agi" or not parts.hostname:
        raise ValueError(f"--url {url!r} is not agi://HOST:PORT[/SCRIPT], e.g. agi://127.0.0.1:4573/hotline")
    return parts.hostname, parts.port or 4573, parts.path.strip("/") or "hotline"


class ConversationPrinter:
    """Prints what the caller hears, one line per sentence, and what the caller does."""

    def __init__(self, out: Callable[[str], None] = print) -> None:
        self.out = out
        self.pending: list[str] = []
        self.lang = "zh"

    def __call__(self, heard: Heard) -> None:
        kind, value = heard.kind, heard.value
        if kind == "prompt":
            self.pending.append(self._prompt_text(value))
        elif kind == "digits":
            self.pending.append(" ".join(value))
        elif kind == "number":
            self.pending.append(value)
        elif kind == "missing":
            self.pending.append(f"[no sound file {value}]")
        elif kind == "verbose":
            return      # the script's log line; the caller hears the prompts above
        else:
            self.flush()
            self.out({"keys": f"  caller presses {value}",
                      "nokey": "  caller presses nothing",
                      "record": "  caller speaks after the tone (recorded)",
                      "hangup": "  caller hangs up"}.get(kind, f"  {kind} {value}"))

    def _prompt_text(self, name: str) -> str:
        from ivr.prompts import text

        if name.startswith(PROMPT_PREFIX):
            lang, _, key = name[len(PROMPT_PREFIX):].partition("/")
            self.lang = lang
            try:
                return text(key, lang)
            except KeyError:
                return f"[{key}: not in the prompt catalog]"
        return f"[{name}]"

    def flush(self) -> None:
        if self.pending:
            self.out("  IVR: " + JOIN.get(self.lang, " ").join(self.pending))
            self.pending = []


class InteractiveKeys:
    """Asks the person at the terminal for the keys of each input."""

    def __init__(self, printer: ConversationPrinter, ask: Callable[[str], str] = input) -> None:
        self.printer = printer
        self.ask = ask

    def next_input(self, kind: str) -> str | None:
        self.printer.flush()
        try:
            line = self.ask("  keys (Enter = none, q = hang up)> ")
        except EOFError:
            return None
        if line.strip().lower() in ("q", "quit", "exit"):
            return None
        return "".join(line.split())


@dataclass
class Outcome:
    outcome: str
    order: str
    agent: str = ""


def call_outcome(hl, result: CallResult) -> Outcome:
    """What the call record says; the channel variables when the database is out of reach."""
    from tickets import calls
    from tickets.models import WorkOrder

    try:
        with hl.session() as s:
            call = calls.get_call(s, result.uniqueid)
            if call is not None:
                order = s.get(WorkOrder, call.order_id) if call.order_id else None
                return Outcome(call.outcome or "ended", order.number if order else "")
    except Exception as exc:  # noqa: BLE001 - the server's database may be elsewhere
        log.debug("simulate-call: cannot read the call record: %s", exc)
    status = result.variables.get("HOTLINE_RESULT", "")
    fallback = {"transfer": "agent", "abandoned": "abandoned", "hangup": "ended", "failed": "failed"}
    return Outcome(fallback.get(status, "failed"), result.variables.get("HOTLINE_ORDER", ""))


def stand_in_for_queue(hl, result: CallResult, out: Callable[[str], None]) -> str:
    """No PBX: offer the transferred call to an available agent, as the queue would ring one."""
    from tickets import calls

    with hl.session() as s, s.begin():
        call = calls.get_call(s, result.uniqueid)
        if call is None:
            out("  queue: the call has no record, so no agent can be offered it")
            return ""
        agent = calls.pick_available_agent(s)
        if agent is None:
            out("  queue: no agent is available (an agent sets their status to available in the console); "
                "the caller would wait in the queue")
            return ""
        queue = result.variables.get("HOTLINE_QUEUE", "agents")
        calls.offer_call(s, call, agent, ivr={"queue": queue})
        out(f"  queue: offered to {agent.username} ({agent.display_name}); their console shows the caller")
    # The simulated caller has already hung up (its call ended above): the agent's card says so
    # instead of ringing on, as a queue abandon from a PBX would.
    with hl.session() as s, s.begin():
        call = calls.get_call(s, result.uniqueid)
        calls.caller_left_queue(s, call, {"call_id": call.id, "external_id": call.external_id, "queue": queue})
    out("  queue: the simulated caller hangs up; the agent's card shows 客户已挂断 (caller hung up)")
    return agent.username


def sounds_of(hl) -> Sounds:
    """The prompts `hotline prompts build` made, so a stale build shows; every file when none was built."""
    built = hl.settings.prompts_dir
    if any((built / lang).is_dir() for lang in JOIN):
        return Sounds(prompts_dir=built)
    return Sounds(everything=True)


def simulate_call(hl, phone: str, *, keys: KeySource | None, hangup_after: int | None = None,
                  url: str | None = None, barge_in: bool = False,
                  out: Callable[[str], None] = print) -> Outcome:
    """Place one call and print it; returns what the call record says."""
    printer = ConversationPrinter(out)
    source = keys if keys is not None else InteractiveKeys(printer)
    caller = Caller(number=phone, keys=source, barge_in=barge_in, hangup_after=hangup_after)
    fake = FakeAsterisk(caller, sounds_of(hl), on_heard=printer, timeout=600)
    if url:
        host, port, script = parse_agi_url(url)
    else:
        host, port = hl.settings.fastagi_bind
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        script = "hotline"
    out(f"Calling 96156 from {phone}")
    out(f"  (FastAGI agi://{host}:{port}/{script})")
    try:
        result = fake.call_fastagi(host, port, script)
    except ConnectionRefusedError:
        if url:
            raise
        result = call_in_process(hl, fake, script, out)
    printer.flush()
    outcome = call_outcome(hl, result)
    if result.variables.get("HOTLINE_RESULT") == "transfer":
        outcome.agent = stand_in_for_queue(hl, result, out)
    out(f"RESULT outcome={outcome.outcome} order={outcome.order or '-'}")
    return outcome


def call_in_process(hl, fake: FakeAsterisk, script: str, out: Callable[[str], None]) -> CallResult:
    """Nothing listens on FASTAGI_BIND: the call goes to a FastAGI server of our own, on a free port."""
    from .service import menu_server

    server = menu_server(hl, bind=("127.0.0.1", 0), max_calls=4).start()
    host, port = server.address
    out(f"  (nothing listens there: using an in-process FastAGI server on agi://{host}:{port}/{script})")
    try:
        return fake.call_fastagi(host, port, script)
    finally:
        server.stop(grace=5)
