"""`hotline-agi`: the voice menu as a process-per-call AGI script, for small sites.

Dialplan: `AGI(hotline-agi)` (optionally `AGI(hotline-agi,zh)` to fix the language). Asterisk
starts one process per call with the `agi_*` lines on stdin and reads commands from stdout.

Start-up is kept short: only the standard library and pyst2's small AGI module are loaded
before the first command. The script reads the environment, sends ANSWER, and loads the
database layer and the menu engine (about a second of imports) while Asterisk answers the
channel, which itself waits for the caller's first audio frame (0.5 s in the captures).

SIGHUP (Asterisk's hang-up signal to a spawned script) is handled from the first instruction:
Python's default for it would kill the process without recording where the caller hung up.
"""
from __future__ import annotations

import os
import signal
import sys

from .environment import read_environment

FIRST_COMMAND = b"ANSWER\n"


def main(argv: list[str] | None = None) -> int:
    """Run one call on stdin/stdout; the exit code is 0 unless the menu could not run at all."""
    early_sighup: list[int] = []
    signal.signal(signal.SIGHUP, lambda signum, frame: early_sighup.append(signum))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    try:
        env = read_environment(stdin)
    except EOFError:
        return 0
    # The first command goes out now, written by hand; its reply is read once the heavy
    # imports below are done (Asterisk takes about as long to answer the channel).
    answer_sent = False
    if not early_sighup:
        try:
            stdout.write(FIRST_COMMAND)
            stdout.flush()
            answer_sent = True
        except BrokenPipeError:
            pass

    import logging

    from .channel import AGIAppError, AGIHangup, AgiChannel

    log = logging.getLogger("hotline.agi")
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(), stream=sys.stderr,
                        format="hotline-agi[%(process)d] %(levelname)s %(name)s: %(message)s")
    channel = AgiChannel(stdin, stdout, env)
    signal.signal(signal.SIGHUP, channel._handle_sighup)
    if early_sighup or not answer_sent:
        channel.mark_hungup("SIGHUP" if early_sighup else "connection closed")
    channel.commands_sent = int(answer_sent)
    try:
        from ivr.runtime import Ivr
        from tickets.config import load_settings
        from tickets.context import create_hotline

        from .driver import RESULT_VAR, CallDriver
        from .service import recordings_dir
    except ImportError as exc:
        log.error("hotline-agi cannot load Hotline (%s); install it with `pip install hotline` in the "
                  "Python that runs this script", exc)
        return _give_up(channel, answer_sent)

    if answer_sent:
        try:
            channel.get_result()
        except AGIHangup:
            pass
        except AGIAppError:
            channel.mark_hungup("ANSWER failed")

    try:
        settings = load_settings()
        hl = create_hotline(settings)
        if settings.fixed_now is not None:
            fixed = settings.fixed_now
            hl.clock = lambda: fixed
        ivr = Ivr(hl)
    except Exception as exc:  # noqa: BLE001 - ConfigError, database down: the dialplan sends the caller to the queue
        log.error("hotline-agi cannot start the voice menu for call %s: %s; the caller goes to the agent queue",
                  env.get("agi_uniqueid", "-"), exc)
        if not channel.hungup:
            try:
                channel.set_variable(RESULT_VAR, "failed")
            except Exception:  # noqa: BLE001
                pass
        return 1
    try:
        summary = CallDriver(ivr, channel, "agi", recordings_dir(hl), answered=True).run()
        log.info("call %s %s", summary.uniqueid, summary.log_fields())
    finally:
        hl.close()
    return 0


def _give_up(channel, answer_sent: bool) -> int:
    """Without Hotline there is no menu: read ANSWER's reply, leave HOTLINE_RESULT unset, exit."""
    if answer_sent:
        try:
            channel.get_result()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
    return 1


if __name__ == "__main__":
    sys.exit(main())
