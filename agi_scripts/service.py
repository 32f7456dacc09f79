"""The voice menu as a FastAGI service: what `hotline run` and `hotline-fastagi` start.

`menu_server(hl)` is a FastAgiServer whose calls run the voice menu (one `Ivr` shared by all
threads: it is thread-safe, and lets `step_limit` steps into the database at once).
`VoiceService` adds the AMI listener when AMI_URL is set, and is what the
`hotline.services: fastagi` entry point returns.
"""
from __future__ import annotations

import logging
from pathlib import Path

from tickets.context import Hotline
from tickets.monitoring import watch_pool

from .channel import AgiChannel
from .driver import PROMPT_FILE, RESULT_VAR, CallDriver, ensure_recordings_dir, survey_start_event
from .fastagi import FastAgiServer

log = logging.getLogger(__name__)

# The scripts this server answers: agi://host:port/<script>. Empty = agi://host:port.
MENU_SCRIPTS = frozenset({"", "hotline", "menu"})
SURVEY_SCRIPT = "survey"      # the outbound survey call (extensions.conf, hotline-survey)
CALLBACK_SCRIPT = "callback"  # the queue's callback key (extensions.conf, hotline-queue-exit)
STEP_LIMIT_SERVER_DB = 5      # SQLAlchemy's default pool size, when the pool does not say


def recordings_dir(hl: Hotline) -> Path:
    """Where Asterisk writes voice notes; absolute, because Asterisk does not share our cwd."""
    return hl.settings.recordings_dir.expanduser().resolve()


def step_limit(hl: Hotline) -> int:
    """Steps in the database at once: one on SQLite (one writer); on a server database, the
    connection pool's size.

    Calls spend most of their time waiting for the caller, so a server holds many more calls
    (FASTAGI_MAX_CALLS) than its database can usefully run transactions for: unbounded, twenty
    transactions at once already exceed SQLAlchemy's connection pool (5 + 10), and the steps left
    waiting for a connection time out after 30 s (a failed step: the caller is sent to an agent).
    SQLite runs one writer at a time anyway. Steps that need no database (most key presses)
    do not wait for these.
    """
    if hl.engine.dialect.name == "sqlite":
        return 1
    size = getattr(hl.engine.pool, "size", None)
    return max(1, size()) if callable(size) else STEP_LIMIT_SERVER_DB


def menu_handler(hl: Hotline, transport: str = "fastagi"):
    """A FastAGI call handler that runs the voice menu (and, for script `survey`, the survey call's)."""
    from ivr.runtime import Ivr
    from ivr.survey import survey_ivr

    ivr = Ivr(hl, max_transactions=step_limit(hl))
    survey = survey_ivr(hl, max_transactions=step_limit(hl))
    watch_pool(hl.engine)
    recordings = recordings_dir(hl)
    ensure_recordings_dir(recordings)      # at start-up, so a fresh setup's first voice note works

    def handle(channel: AgiChannel) -> str:
        script = channel.env.get("agi_network_script", "")
        if script == CALLBACK_SCRIPT:
            return queue_callback(hl, channel, transport)
        if script == SURVEY_SCRIPT:
            return CallDriver(survey, channel, transport, recordings, start=survey_start_event).run().log_fields()
        if script not in MENU_SCRIPTS:
            log.warning("FastAGI: no script %r here (this server answers %s); sending the call to the queue",
                        script, ", ".join(repr(s) for s in sorted(MENU_SCRIPTS) if s))
            channel.set_variable(RESULT_VAR, "failed")
            return f"ended=failed script={script!r}"
        return CallDriver(ivr, channel, transport, recordings).run().log_fields()

    return handle


def queue_callback(hl: Hotline, channel: AgiChannel, transport: str) -> str:
    """The queue's callback key: the caller keeps their place on the callback worklist, hears so
    and is hung up on; a withheld number cannot be called back and goes back to the queue
    (HOTLINE_RESULT stays unset, extensions.conf's hotline-queue-exit sends it there)."""
    from tickets import outbound
    from tickets.errors import ValidationError

    env = channel.env
    lang = env.get("agi_arg_1", "") if env.get("agi_arg_1", "") in ("zh", "en") else "zh"
    position = env.get("agi_arg_2", "").strip()
    try:
        with hl.session() as s, s.begin():
            request = outbound.callback_from_queue(s, env.get("agi_uniqueid", ""), transport,
                                                   env.get("agi_callerid", ""),
                                                   int(position) if position.isdigit() else None)
            request_id = request.id
    except ValidationError as exc:
        log.info("call %s: no callback: %s", env.get("agi_uniqueid"), exc)
        return "ended=queue callback=refused"
    channel.stream_file_full(PROMPT_FILE.format(lang=lang, key="callback.kept"), "")
    channel.set_variable(RESULT_VAR, "callback")
    channel.hangup()
    return f"ended=callback request={request_id} position={position or '-'}"


def menu_server(hl: Hotline, *, bind: tuple[str, int] | None = None, max_calls: int | None = None) -> FastAgiServer:
    """The FastAGI server for the voice menu, configured from FASTAGI_* (not started)."""
    s = hl.settings
    return FastAgiServer(menu_handler(hl), bind=bind or s.fastagi_bind, allow=s.fastagi_allow,
                         max_calls=max_calls or s.fastagi_max_calls)


class VoiceService:
    """FastAGI, plus the AMI listener when AMI_URL is set: the Asterisk side of `hotline run`."""

    bind_setting = "FASTAGI_BIND"      # named by `hotline run` when the address is taken

    def __init__(self, hl: Hotline) -> None:
        self.hl = hl
        self.server = menu_server(hl)
        self.ami = None
        if hl.settings.ami_url:
            from .ami import AmiListener
            self.ami = AmiListener(hl, hl.settings.ami_url)
            if hl.settings.outbound_voice == "asterisk":
                from tickets.outbound import DIALER

                from .originate import AmiDialer
                # The scheduler's outbound-calls job places survey calls and callbacks with it.
                hl.extensions[DIALER] = AmiDialer(hl, hl.settings.ami_url)

    def start(self) -> None:
        self.server.start()
        if self.ami is not None:
            self.ami.start()

    def stop(self) -> None:
        if self.ami is not None:
            self.ami.stop()
        self.server.stop()

    def describe(self) -> list[str]:
        host, port = self.server.address
        lines = [f"FastAGI:    agi://{host}:{port}/hotline (allowed peers: {', '.join(self.hl.settings.fastagi_allow)})"]
        if self.ami is not None:
            lines.append(f"AMI:        listening to {self.ami.describe()} for queue events (screen-pop)")
            if self.hl.settings.outbound_voice == "asterisk":
                lines.append("Outbound:   survey calls and callbacks by AMI Originate (hotline-survey, hotline-callback)")
        else:
            lines.append("AMI:        not started (set AMI_URL to take queue events from Asterisk)")
        return lines
